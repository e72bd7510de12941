// libFuzzer target: the SMTP reply parser and the session's reply handling with hostile input.
// Build: CXX=clang++ meson setup build-fuzz -Dfuzz=true -Dmimalloc=false
//        -Db_sanitize=address,undefined -Db_lundef=false && ninja -C build-fuzz smtp_reply_fuzz
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/smtp/reply_parser.h"
#include "engine/smtp/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // 1) The parser alone, fed in pieces whose sizes come from the first byte.
  salvo::ReplyParser p;
  const size_t step = size ? 1 + data[0] % 64 : 1;
  p.set_enhanced_status_codes(size && (data[0] & 0x80));
  for (std::string_view rest = in; !rest.empty();) {
    size_t used = 0;
    auto s = p.Feed(rest.substr(0, step), &used);
    if (s == salvo::ReplyParser::Status::kError) break;
    if (s == salvo::ReplyParser::Status::kReply && p.reply().text.size() > salvo::kMaxReplyBytes)
      __builtin_trap();
    rest.remove_prefix(used);
  }
  // 2) A session: the input as the server's side of a dialog, sending when ready.
  salvo::SmtpSessionOptions o;
  o.ehlo_name = "fuzz.example";
  o.tls = salvo::TlsMode::kNone;
  auto session = salvo::SmtpSession::Create(o);
  if (!session.ok()) __builtin_trap();
  salvo::SmtpSession& s = **session;
  salvo::RenderedMessage m;
  m.envelope_from = "f@x";
  m.recipient = "t@y";
  m.segments = {std::string_view("a\n.\r\nb")};
  m.size = 7;
  std::vector<salvo::SmtpEvent> ev;
  for (std::string_view rest = in; !rest.empty() && s.state() != salvo::SmtpState::kClosed;) {
    std::string_view piece = rest.substr(0, step);
    rest.remove_prefix(piece.size());
    s.OnBytes(piece);
    s.OnWritten(s.output_bytes());
    s.TakeEvents(&ev);
    for (const auto& e : ev) {
      if (e.kind == salvo::SmtpEventKind::kReady) (void)s.Send(m, 1);
    }
  }
  s.OnPeerClosed();
  return 0;
}
