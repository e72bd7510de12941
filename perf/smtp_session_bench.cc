// Google Benchmark: CPU cost of the I/O-free SMTP client per message — building the pipelined
// MAIL/RCPT/DATA commands, parsing the server's replies, dot-stuffing/normalizing a 20 KB body
// into iovecs, and settling the outcome. No sockets: this is the protocol part of the send path
// (target for the whole path: <= 10 us CPU per 20 KB message). The Time column is ns/message.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/smtp/body_writer.h"
#include "engine/smtp/output_queue.h"
#include "engine/smtp/reply_parser.h"
#include "engine/smtp/session.h"

namespace salvo {
namespace {

// A ~20 KB personalized message: constant template segments with filled slots between them,
// 76-column lines, a few lines starting with '.' (stuffed).
struct Message20k {
  std::string tmpl;
  std::vector<std::string> slots;
  RenderedMessage msg;
  Message20k() {
    std::string line(74, 'x');
    for (int i = 0; i < 270; ++i) {
      std::string l = line;
      if (i % 50 == 7) l[0] = '.';
      for (int j = 9; j < 74; j += 10) l[j] = ' ';
      tmpl += l + "\r\n";
    }
    slots = {"Ana Lima", "ana.lima@example.com", "https://click.example.com/t/abcdef0123456789"};
    msg.owned = slots;
    // Template cut in 12 pieces with slots between them.
    const size_t piece = tmpl.size() / 12;
    for (size_t i = 0; i < 12; ++i) {
      msg.segments.push_back(std::string_view(tmpl).substr(i * piece, i == 11 ? std::string::npos
                                                                            : piece));
      if (i < 11) msg.segments.push_back(msg.owned[i % 3]);
    }
    for (auto s : msg.segments) msg.size += s.size();
    msg.envelope_from = "bounces+AbCdEf0123@bounce.example.com";
    msg.recipient = "ana.lima@example.com";
  }
};

std::unique_ptr<SmtpSession> ReadySession(std::string_view ehlo) {
  SmtpSessionOptions o;
  o.ehlo_name = "mta1.example.com";
  o.tls = TlsMode::kNone;
  auto s = std::move(*SmtpSession::Create(o));
  s->OnBytes("220 sink ESMTP\r\n");
  s->OnWritten(s->output_bytes());
  s->OnBytes(ehlo);
  s->ClearEvents();
  return s;
}

// One full message on a reused connection with PIPELINING: Send, write, replies, body, outcome.
void BM_SessionMessage20k(benchmark::State& state, std::string_view ehlo, bool bdat) {
  Message20k m;
  auto s = ReadySession(ehlo);
  std::vector<SmtpEvent> events;
  uint64_t tag = 0;
  size_t iovs = 0;
  for (auto _ : state) {
    if (!s->Send(m.msg, ++tag).ok()) state.SkipWithError("send failed");
    s->OnWritten(s->output_bytes());
    if (bdat) {
      s->OnBytes("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
    } else {
      s->OnBytes("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
      iovs = s->output().size();
      s->OnWritten(s->output_bytes());
    }
    s->OnBytes("250 2.0.0 Ok: queued as 4XyZ12abc\r\n");
    s->TakeEvents(&events);
    if (events.empty() || events[0].outcomes[0].result != RcptResult::kDelivered) {
      state.SkipWithError("not delivered");
    }
    benchmark::DoNotOptimize(events);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * m.msg.size));
  state.counters["iovecs"] = static_cast<double>(iovs);
}
void BM_SessionPipelinedData20k(benchmark::State& state) {
  BM_SessionMessage20k(state, "250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 \r\n", false);
}
void BM_SessionPipelinedBdat20k(benchmark::State& state) {
  BM_SessionMessage20k(state, "250-sink\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n",
                       true);
}
BENCHMARK(BM_SessionPipelinedData20k);
BENCHMARK(BM_SessionPipelinedBdat20k);

// The stuffing/normalizing scan alone (20 KB into iovecs).
void BM_DotStuff20k(benchmark::State& state) {
  Message20k m;
  OutputQueue q;
  for (auto _ : state) {
    AppendBody(m.msg.segments, BodyMode::kData, &q);
    benchmark::DoNotOptimize(q.iovecs().data());
    q.Clear();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * m.msg.size));
}
BENCHMARK(BM_DotStuff20k);

// Baseline on this machine: one memchr pass over the same 20 KB (no match), for comparison.
void BM_MemchrBaseline20k(benchmark::State& state) {
  Message20k m;
  for (auto _ : state) {
    size_t hits = 0;
    for (auto seg : m.msg.segments) hits += std::memchr(seg.data(), '\0', seg.size()) != nullptr;
    benchmark::DoNotOptimize(hits);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * m.msg.size));
}
BENCHMARK(BM_MemchrBaseline20k);

// Parsing a typical pipelined reply batch.
void BM_ParseReplies(benchmark::State& state) {
  const std::string in =
      "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
      "250 2.0.0 Ok: queued as 4XyZ12abc\r\n";
  ReplyParser p;
  p.set_enhanced_status_codes(true);
  for (auto _ : state) {
    std::string_view rest = in;
    while (!rest.empty()) {
      size_t used = 0;
      p.Feed(rest, &used);
      rest.remove_prefix(used);
    }
    benchmark::DoNotOptimize(p.reply().code);
  }
}
BENCHMARK(BM_ParseReplies);

}  // namespace
}  // namespace salvo
