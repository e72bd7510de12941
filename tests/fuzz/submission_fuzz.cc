// libFuzzer target: the SMTP submission server session (engine/smtp/server_session.h) and the
// route header / Received: handling of what it accepts, with hostile client bytes fed in pieces.
// Checks: the reply bytes never hold a bare CR or LF, the body stays within max_message_bytes
// and is CRLF-only, the session never waits without saying for what.
// Build: as smtp_reply_fuzz (tests/fuzz/README.md); ninja -C build-fuzz submission_fuzz
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/smtp/server_session.h"
#include "engine/smtp/submission_message.h"

namespace {

void CheckWire(const std::string& out) {
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r')) __builtin_trap();
    if (out[i] == '\r' && (i + 1 == out.size() || out[i + 1] != '\n')) __builtin_trap();
  }
}

void CheckBody(const std::string& body, uint64_t max) {
  if (body.size() > max) __builtin_trap();
  CheckWire(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  salvo::ServerSessionOptions o;
  o.hostname = "fuzz.test";
  o.max_message_bytes = 4096;
  o.max_recipients = 5;
  o.starttls_available = size && (data[0] & 1);
  o.auth_requires_tls = size && (data[0] & 2);
  salvo::SmtpServerSession s(o, size && (data[0] & 4));
  s.Greet();
  const size_t step = size ? 1 + data[0] % 64 : 1;
  std::string pending(in);
  int rounds = 0;
  while (!pending.empty() && !s.close_after_flush() && ++rounds < 100000) {
    std::string_view piece = std::string_view(pending).substr(0, step);
    size_t used = s.Feed(piece);
    if (s.starttls_requested()) {
      s.OnTlsStarted();
      used = piece.size();  // what followed STARTTLS is dropped
    }
    switch (s.waiting()) {
      case salvo::ServerWait::kNone:
        break;
      case salvo::ServerWait::kAuth:
        s.Resolve(s.auth_password().size() % 2 ? 235 : 535, "5.7.8 no");
        break;
      case salvo::ServerWait::kRecipient:
        s.Resolve(s.recipient().size() % 3 ? 250 : 550, "5.7.1 suppressed\r\nX");
        break;
      case salvo::ServerWait::kMessage: {
        CheckBody(s.body(), o.max_message_bytes);
        std::string body = s.body();
        auto route = salvo::TakeRouteHeader(&body);
        if (route.ok() && body.size() > s.body().size()) __builtin_trap();
        s.Resolve(250, "2.0.0 queued");
        break;
      }
    }
    pending.erase(0, used);
    CheckWire(s.out());
    s.out().clear();
  }
  return 0;
}
