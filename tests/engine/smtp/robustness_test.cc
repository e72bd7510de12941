// Deterministic randomized robustness test: random bytes and random plausible replies fed to the
// reply parser and to SmtpSession in every state. Checks: no crash (ASan/UBSan in CI), bounded
// output, exactly one outcome per recipient of every Send(), nothing after kClose, and no bare
// CR/LF in anything the client writes.
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/smtp/raw_message.h"
#include "engine/smtp/reply_parser.h"
#include "engine/smtp/session.h"
#include "gtest/gtest.h"

namespace salvo {
namespace {

TEST(Robustness, ParserRandomBytes) {
  std::mt19937 rng(42);
  const char alphabet[] = "0123455-  \r\n\r\nabc.\x01\xff";
  for (int iter = 0; iter < 2000; ++iter) {
    ReplyParser p;
    p.set_enhanced_status_codes(iter % 2);
    size_t len = rng() % 600;
    std::string in;
    for (size_t i = 0; i < len; ++i) {
      in += (rng() % 4 == 0) ? static_cast<char>(rng() % 256)
                             : alphabet[rng() % (sizeof(alphabet) - 1)];
    }
    std::string_view rest = in;
    while (!rest.empty()) {
      size_t used = 0;
      auto s = p.Feed(rest.substr(0, 1 + rng() % 40), &used);
      if (s == ReplyParser::Status::kError) {
        EXPECT_NE(p.error(), ReplyError::kNone);
        break;
      }
      if (s == ReplyParser::Status::kReply) {
        const SmtpReply& r = p.reply();
        EXPECT_GE(r.code, 200);
        EXPECT_LT(r.code, 600);
        EXPECT_LE(r.text.size(), kMaxReplyBytes);
        for (unsigned char c : r.text) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f));
      }
      rest.remove_prefix(used);
    }
  }
}

// A reply that fits the state (so the random walk gets deep into transactions).
std::string Plausible(SmtpState st, std::mt19937& rng) {
  switch (st) {
    case SmtpState::kGreeting: return "220 hi\r\n";
    case SmtpState::kEhlo:
      return rng() % 2 ? "250-x\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n"
                       : "250-x\r\n250-CHUNKING\r\n250-PIPELINING\r\n250-STARTTLS\r\n"
                         "250 AUTH LOGIN\r\n";
    case SmtpState::kStartTls: return "220 go\r\n";
    case SmtpState::kAuth: return rng() % 4 ? "334 x\r\n" : "235 ok\r\n";
    case SmtpState::kData: return rng() % 5 ? "354 go\r\n" : "554 no\r\n";
    case SmtpState::kQuit: return "221 bye\r\n";
    case SmtpState::kIdle: return rng() % 50 ? "" : "421 idle\r\n";
    default: {
      const char* r[] = {"250 ok\r\n", "250 ok\r\n", "250 ok\r\n", "550 no\r\n", "451 later\r\n"};
      return r[rng() % 5];
    }
  }
}

void ExpectNoBareCrLf(const std::string& w) {
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == '\r') {
      ASSERT_TRUE(i + 1 < w.size() && w[i + 1] == '\n');
    }
    if (w[i] == '\n') {
      ASSERT_TRUE(i > 0 && w[i - 1] == '\r');
    }
  }
}

TEST(Robustness, SessionRandomDialogs) {
  std::mt19937 rng(7);
  const std::vector<std::string> replies = {
      "220 hi\r\n", "250 ok\r\n", "250-x\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n",
      "250-x\r\n250-CHUNKING\r\n250-PIPELINING\r\n250 AUTH LOGIN\r\n", "354 go\r\n",
      "550 5.1.1 no\r\n", "451 4.3.0 later\r\n", "421 bye\r\n", "334 VXNlcm5hbWU6\r\n",
      "235 ok\r\n", "221 bye\r\n", "502 no\r\n", "503 bad sequence\r\n", "250-a\r\n",
      "garbage\r\n", "250 2.0.0 queued\n", "25", "0 ok\r\n"};
  // Bodies with hostile line ends.
  std::vector<RenderedMessage> msgs;
  for (const char* b : {"a\n.\nb", "\r.\r", ".", "x\r\n.\r\n", ""}) {
    msgs.push_back(MessageFromBytes("", "f@x", "t@y"));
    msgs.back().owned.reserve(1);
    msgs.back().owned[0] = b;  // raw (not normalized) bytes: the session must fix them
    msgs.back().segments = {msgs.back().owned[0]};
    msgs.back().size = msgs.back().owned[0].size();
  }
  uint64_t sends = 0, dones = 0, outcomes = 0, expected_outcomes = 0, behind = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    SmtpSessionOptions o;
    o.ehlo_name = "c.example";
    o.tls = static_cast<TlsMode>(rng() % 3);
    if (rng() % 2) {
      o.username = "u";
      o.password = "p";
    }
    o.pipelining = rng() % 4 != 0;
    o.pipeline_transactions = rng() % 2 != 0;  // the next message behind the end of data
    auto created = SmtpSession::Create(o);
    ASSERT_TRUE(created.ok());
    SmtpSession& s = **created;
    bool closed = false;
    std::string written, snapshot;  // snapshot: all the client generated (closing drops the rest)
    std::vector<SmtpEvent> ev;
    uint64_t next_done = sends;  // kMessageDone comes in Send() order
    for (int step = 0; step < 150 && !closed; ++step) {
      const int action = static_cast<int>(rng() % 100);
      if (s.state() == SmtpState::kTlsHandshake && action < 50) {
        s.OnTlsEstablished();
      } else if (action < 55) {
        std::string in = replies[rng() % replies.size()];
        if (rng() % 100 < 97) in = Plausible(s.state(), rng);  // mostly the expected reply
        if (rng() % 20 == 0) in = std::string(1 + rng() % 50, static_cast<char>(rng() % 256));
        s.OnBytes(in);
      } else if (action < 95) {
        size_t n = s.output_bytes();
        if (n) {
          size_t w = rng() % 2 ? n : 1 + rng() % n;
          written += s.OutputString().substr(0, w);
          s.OnWritten(w);
        }
      } else if (action < 97) {
        s.OnTimeout();
      } else if (action == 97) {
        s.OnPeerClosed();
      } else if (action == 98) {
        s.OnConnectionError("random failure");
      }
      ASSERT_LE(s.output_bytes(), 1u << 16);
      if (s.state() != SmtpState::kClosed) snapshot = written + s.OutputString();
      s.TakeEvents(&ev);
      for (const auto& e : ev) {
        ASSERT_FALSE(closed) << "event after close";
        if (e.kind == SmtpEventKind::kClose) closed = true;
        if (e.kind == SmtpEventKind::kMessageDone) {
          ASSERT_EQ(e.tag, next_done++);
          ++dones;
          outcomes += e.outcomes.size();
        }
        if (e.kind == SmtpEventKind::kReadyNext) {
          ASSERT_TRUE(o.pipeline_transactions);
        }
      }
      ASSERT_LE(s.transactions_in_flight(), 2u);
      if (!closed && s.can_send() && rng() % 4 != 0) {
        if (s.state() == SmtpState::kIdle && rng() % 200 == 0) {
          ASSERT_TRUE(s.Quit().ok());
          continue;
        }
        static constexpr std::string_view kRcpts[] = {"a@y", "b@y"};
        const auto& m = msgs[rng() % msgs.size()];
        const size_t nr = 1 + rng() % 2;
        if (s.Send(m, std::span(kRcpts, nr), sends).ok()) {
          ++sends;
          expected_outcomes += nr;
          if (s.transactions_in_flight() == 2) ++behind;
        }
      }
    }
    if (!closed) {
      s.OnPeerClosed();  // every session ends; pending recipients must be settled
      s.TakeEvents(&ev);
      for (const auto& e : ev) {
        if (e.kind == SmtpEventKind::kMessageDone) {
          ++dones;
          outcomes += e.outcomes.size();
        }
      }
    }
    ExpectNoBareCrLf(snapshot);
    ASSERT_EQ(dones, sends) << "iteration " << iter;
    ASSERT_EQ(outcomes, expected_outcomes) << "iteration " << iter;
  }
  std::printf("random dialogs: %llu messages sent (%llu behind another), %llu outcomes\n",
              static_cast<unsigned long long>(sends), static_cast<unsigned long long>(behind),
              static_cast<unsigned long long>(outcomes));
  EXPECT_GT(behind, 50u);  // pipelined transactions were exercised too
  EXPECT_GT(sends, 1000u);  // the random walk really exercised transactions
}

}  // namespace
}  // namespace salvo
