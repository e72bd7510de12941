// Tests for engine/smtp/body_writer (+ output_queue): CRLF normalization and dot-stuffing with
// hostile bodies (SMTP smuggling), zero-copy pass-through, random segmentation vs a reference.
#include "engine/smtp/body_writer.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/base/cpu_features.h"
#include "engine/smtp/output_queue.h"
#include "engine/smtp/raw_message.h"
#include "gtest/gtest.h"

namespace salvo {
namespace {

#ifdef SALVO_TEST_DISABLE_AVX2
// engine_smtp_body_writer_sse2 (meson.build): the same tests on the SSE2 path.
[[maybe_unused]] const bool kSse2Only = (DisableCpuFeature(CpuFeature::kAvx2), true);
#endif

// Straightforward reference: normalize, then stuff every line starting with '.'.
std::string Reference(std::string_view flat, BodyMode mode) {
  std::string n = NormalizeCrlf(flat);
  std::string out;
  bool line_start = true;
  for (char c : n) {
    if (line_start && c == '.' && mode == BodyMode::kData) out += '.';
    out += c;
    line_start = c == '\n';
  }
  if (mode == BodyMode::kData) out += ".\r\n";
  return out;
}

std::string Write(const std::vector<std::string_view>& segs, BodyMode mode) {
  OutputQueue q;
  size_t n = AppendBody(segs, mode, &q);
  EXPECT_EQ(n, q.bytes());
  EXPECT_EQ(n, NormalizedBodySize(segs, mode));
  return q.Flatten();
}

// Asserts the wire form of DATA content is safe: every CR is followed by LF and every LF is
// preceded by CR, the only lone "." line is the final one, and no lenient end-of-data pattern
// ("\n.\n", "\r.\r", "\n.\r", ...) occurs before the end.
void ExpectSafeData(const std::string& w) {
  ASSERT_GE(w.size(), 3u);
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == '\r') {
      ASSERT_TRUE(i + 1 < w.size() && w[i + 1] == '\n') << "bare CR at " << i;
    }
    if (w[i] == '\n') {
      ASSERT_TRUE(i > 0 && w[i - 1] == '\r') << "bare LF at " << i;
    }
  }
  ASSERT_EQ(w.substr(w.size() - 3), ".\r\n");
  const std::string body = w.substr(0, w.size() - 3);
  size_t pos = 0;
  while (pos < body.size()) {  // every line starting with "." must start with ".."
    size_t e = body.find("\r\n", pos);
    ASSERT_NE(e, std::string::npos) << "content does not end with CRLF";
    if (e > pos && body[pos] == '.') {
      ASSERT_TRUE(e - pos >= 2 && body[pos + 1] == '.') << "unstuffed dot line at " << pos;
    }
    pos = e + 2;
  }
  for (const char* pat : {"\n.\n", "\r.\r", "\n.\r", "\r.\n", "\r\n.\r\n"}) {
    size_t at = w.find(pat);  // only inside the final "\r\n.\r\n" (or a lone ".\r\n")
    if (at != std::string::npos) {
      EXPECT_GE(at + 5, w.size()) << "early end-of-data pattern " << at;
    }
  }
}

TEST(BodyWriter, CleanMessagePassesThroughAsViews) {
  std::string a = "Subject: hi\r\n\r\n", b = "Hello\r\nWorld\r\n";
  std::vector<std::string_view> segs{a, b};
  OutputQueue q;
  AppendBody(segs, BodyMode::kData, &q);
  auto iov = q.iovecs();
  ASSERT_EQ(iov.size(), 3u);  // two segments untouched + ".\r\n"
  EXPECT_EQ(iov[0].iov_base, a.data());
  EXPECT_EQ(iov[0].iov_len, a.size());
  EXPECT_EQ(iov[1].iov_base, b.data());
  EXPECT_EQ(q.Flatten(), a + b + ".\r\n");
}

TEST(BodyWriter, DotStuffingAndLineEnds) {
  struct Case {
    std::string in, data, bdat;
  } cases[] = {
      {"", ".\r\n", ""},
      {".", "..\r\n.\r\n", ".\r\n"},
      {".\r\n", "..\r\n.\r\n", ".\r\n"},
      {"a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n"},
      {"a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n"},
      {"a\r.\rb", "a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n"},
      {"a\r\n.\nb", "a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n"},
      {"a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n"},
      {"x\r\r\n..y\r", "x\r\n\r\n...y\r\n.\r\n", "x\r\n\r\n..y\r\n"},
      {"no end", "no end\r\n.\r\n", "no end\r\n"},
      {"a.b\r\n.x\r\n", "a.b\r\n..x\r\n.\r\n", "a.b\r\n.x\r\n"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Write({c.in}, BodyMode::kData), c.data) << c.in;
    EXPECT_EQ(Write({c.in}, BodyMode::kBdat), c.bdat) << c.in;
    ExpectSafeData(Write({c.in}, BodyMode::kData));
  }
}

TEST(BodyWriter, HostileSmugglingBodies) {
  const char* hostile[] = {
      "Subject: x\r\n\r\nhello\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\nspoof\r\n.\r\n",
      "hello\r.\rMAIL FROM:<evil@x>\r\n",
      "hello\r\n.\nMAIL FROM:<evil@x>\r\n",
      "hello\n.\r\nMAIL FROM:<evil@x>\r\n",
      "hello\r\n.\r\nQUIT\r\n",
      "\r\n.\r\n",
      ".\n.\r.\r\n.",
      "\n\n\r\r..\r\n\r.\n",
  };
  for (const char* h : hostile) {
    std::string w = Write({h}, BodyMode::kData);
    ExpectSafeData(w);
    EXPECT_EQ(w, Reference(h, BodyMode::kData)) << h;
  }
}

TEST(BodyWriter, SegmentBoundariesAndBlockBoundaries) {
  // Patterns placed across segment and 64-byte block boundaries.
  for (size_t pad = 0; pad < 140; ++pad) {
    std::string flat = std::string(pad, 'a') + "\r\n.\r\n" + std::string(pad % 7, 'b') + "\r" +
                       ".\n\n.x" + std::string(pad, 'c') + "\r";
    for (size_t cut = 0; cut <= flat.size(); cut += 3) {
      std::string s1 = flat.substr(0, cut), s2 = flat.substr(cut);
      std::vector<std::string_view> segs{s1, std::string_view(), s2};
      std::string w = Write(segs, BodyMode::kData);
      ASSERT_EQ(w, Reference(flat, BodyMode::kData)) << pad << " " << cut;
      ExpectSafeData(w);
      ASSERT_EQ(Write(segs, BodyMode::kBdat), Reference(flat, BodyMode::kBdat));
    }
  }
}

TEST(BodyWriter, RandomBodiesMatchReference) {
  std::mt19937 rng(12345);
  const char alphabet[] = {'\r', '\n', '.', 'a', ' ', '\0', '\xff'};
  for (int iter = 0; iter < 3000; ++iter) {
    size_t len = rng() % 300;
    std::string flat;
    for (size_t i = 0; i < len; ++i) flat += alphabet[rng() % sizeof(alphabet)];
    std::vector<std::string> parts;
    for (size_t off = 0; off < flat.size();) {
      size_t n = std::min<size_t>(flat.size() - off, rng() % 90);
      parts.push_back(flat.substr(off, n));
      off += n;
    }
    std::vector<std::string_view> segs(parts.begin(), parts.end());
    std::string w = Write(segs, BodyMode::kData);
    ASSERT_EQ(w, Reference(flat, BodyMode::kData)) << iter;
    ExpectSafeData(w);
    ASSERT_EQ(Write(segs, BodyMode::kBdat), Reference(flat, BodyMode::kBdat)) << iter;
  }
}

TEST(BodyWriter, LongCleanSegmentsWithSparseHostileBytes) {
  // Exercises the 64-byte fast path: long CRLF text with a few CR, LF or '.' dropped anywhere.
  std::mt19937 rng(99);
  std::string clean;
  for (int i = 0; i < 40; ++i) clean += std::string(10 + i % 70, 'w') + "\r\n";
  for (int iter = 0; iter < 3000; ++iter) {
    std::string flat = clean;
    const int hits = static_cast<int>(rng() % 4);
    for (int h = 0; h < hits; ++h) {
      const char bad[] = {'\r', '\n', '.', 'q'};
      flat[rng() % flat.size()] = bad[rng() % 4];
    }
    if (rng() % 3 == 0) flat.resize(rng() % flat.size());
    const size_t cut = flat.empty() ? 0 : rng() % flat.size();
    std::string s1 = flat.substr(0, cut), s2 = flat.substr(cut);
    std::vector<std::string_view> segs{s1, s2};
    std::string w = Write(segs, BodyMode::kData);
    ASSERT_EQ(w, Reference(flat, BodyMode::kData)) << iter;
    ExpectSafeData(w);
    ASSERT_EQ(Write(segs, BodyMode::kBdat), Reference(flat, BodyMode::kBdat)) << iter;
  }
}

TEST(OutputQueue, PartialConsumeAndStableCopies) {
  OutputQueue q;
  q.AppendCopy("MAIL FROM:<a@b>\r\n");
  q.AppendCopy("RCPT TO:<c@d>\r\n");  // contiguous in the arena: merged into one iovec
  EXPECT_EQ(q.iovecs().size(), 1u);
  std::string body = "body";
  q.AppendView(body);
  const void* first = q.iovecs()[0].iov_base;
  // Many more copies must not move bytes already queued.
  for (int i = 0; i < 3000; ++i) q.AppendCopy("DATA\r\n");
  EXPECT_EQ(q.iovecs()[0].iov_base, first);
  const std::string all = q.Flatten();
  EXPECT_EQ(all.substr(0, 36), "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nbody");
  q.Consume(5);
  EXPECT_EQ(q.Flatten(), all.substr(5));
  q.Consume(q.bytes() - 6);
  EXPECT_EQ(q.Flatten(), "DATA\r\n");
  q.Consume(6);
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.iovecs().empty());
  // A slot filled after the body (BDAT's size).
  std::string body2 = "xyz";
  const size_t slot = q.AppendSlot();
  q.AppendView(body2);
  q.FillSlotCopy(slot, "BDAT 3 LAST\r\n");
  EXPECT_EQ(q.Flatten(), "BDAT 3 LAST\r\nxyz");
  EXPECT_EQ(q.bytes(), 16u);
  q.Consume(16);
  EXPECT_TRUE(q.empty());
  char* p = q.ReserveCopy(100);
  std::memcpy(p, "QUIT\r\n", 6);
  q.CommitCopy(6);
  EXPECT_EQ(q.Flatten(), "QUIT\r\n");
}

}  // namespace
}  // namespace salvo
