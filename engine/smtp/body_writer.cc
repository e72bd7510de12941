// engine/smtp/body_writer.cc — streaming CRLF normalization and dot-stuffing (see body_writer.h).
//
// The logical stream is the concatenation of the segments. An "insert" goes before stream byte j:
//   "\n" when byte j-1 is CR and byte j is not LF        (bare CR -> CRLF)
//   "\r" when byte j is LF and byte j-1 is not CR        (bare LF -> CRLF)
//   "."  when byte j is '.' at the start of a line       (after LF, after a bare CR, or at j = 0)
// Everything else passes through as views. Bit masks over 64-byte blocks find insert positions.
#include "engine/smtp/body_writer.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "engine/base/cpu_features.h"

namespace salvo {
namespace {

constexpr char kLf[] = "\n";
constexpr char kCr[] = "\r";
constexpr char kDot[] = ".";
constexpr char kCrLf[] = "\r\n";
constexpr char kEndData[] = ".\r\n";

struct Masks {
  uint64_t cr, lf;
};

// CR and LF bit masks of 64 bytes at p.
inline Masks Load64(const char* p) {
#if defined(__SSE2__)
  const __m128i vcr = _mm_set1_epi8('\r');
  const __m128i vlf = _mm_set1_epi8('\n');
  Masks m{0, 0};
  for (int k = 0; k < 4; ++k) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    m.cr |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vcr))))
            << (16 * k);
    m.lf |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vlf))))
            << (16 * k);
  }
  return m;
#else
  Masks m{0, 0};
  for (int i = 0; i < 64; ++i) {
    if (p[i] == '\r') m.cr |= uint64_t{1} << i;
    if (p[i] == '\n') m.lf |= uint64_t{1} << i;
  }
  return m;
#endif
}

// Same for the last n < 64 bytes of a segment (copied into a zero-padded block).
inline Masks LoadTail(const char* p, size_t n) {
  alignas(16) char buf[64] = {};
  std::memcpy(buf, p, n);
  return Load64(buf);
}

// The fast path: starting at `off` (> 0, so p[off - 1] is readable), skips 64-byte blocks that
// need no insert — every LF preceded by CR, every CR followed by LF (a CR at a block's last byte
// is checked with the next block, or by the slow path), and, when stuffing, no '.' right after an
// LF. Returns the offset of the first block that is not clean or has fewer than 64 bytes left.
#if defined(__SSE2__)
size_t SkipCleanSse2(const char* p, size_t off, size_t size, bool stuff) {
  const __m128i vcr = _mm_set1_epi8('\r');
  const __m128i vlf = _mm_set1_epi8('\n');
  const __m128i vdot = _mm_set1_epi8('.');
  for (; size - off >= 64; off += 64) {
    __m128i acc = _mm_setzero_si128();
    for (int k = 0; k < 4; ++k) {
      const char* q = p + off + 16 * k;
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
      const __m128i vp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q - 1));
      acc = _mm_or_si128(acc, _mm_xor_si128(_mm_cmpeq_epi8(v, vlf), _mm_cmpeq_epi8(vp, vcr)));
      if (stuff) {
        acc = _mm_or_si128(acc,
                           _mm_and_si128(_mm_cmpeq_epi8(v, vdot), _mm_cmpeq_epi8(vp, vlf)));
      }
    }
    if (_mm_movemask_epi8(acc) != 0) break;
  }
  return off;
}

__attribute__((target("avx2"))) size_t SkipCleanAvx2(const char* p, size_t off, size_t size,
                                                      bool stuff) {
  const __m256i vcr = _mm256_set1_epi8('\r');
  const __m256i vlf = _mm256_set1_epi8('\n');
  const __m256i vdot = _mm256_set1_epi8('.');
  for (; size - off >= 64; off += 64) {
    __m256i acc = _mm256_setzero_si256();
    for (int k = 0; k < 2; ++k) {
      const char* q = p + off + 32 * k;
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
      const __m256i vp = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q - 1));
      const __m256i pair = _mm256_xor_si256(_mm256_cmpeq_epi8(v, vlf), _mm256_cmpeq_epi8(vp, vcr));
      acc = _mm256_or_si256(acc, pair);
      if (stuff) {
        acc = _mm256_or_si256(
            acc, _mm256_and_si256(_mm256_cmpeq_epi8(v, vdot), _mm256_cmpeq_epi8(vp, vlf)));
      }
    }
    if (!_mm256_testz_si256(acc, acc)) break;
  }
  return off;
}

// AVX2 when the CPU has it, unless turned off (engine/base/cpu_features.h; tests run both).
const bool kCpuHasAvx2 = __builtin_cpu_supports("avx2");

inline size_t SkipClean(const char* p, size_t off, size_t size, bool stuff) {
  return kCpuHasAvx2 && !CpuFeatureDisabled(CpuFeature::kAvx2)
             ? SkipCleanAvx2(p, off, size, stuff)
             : SkipCleanSse2(p, off, size, stuff);
}
#else
inline size_t SkipClean(const char*, size_t off, size_t, bool) { return off; }
#endif

// Scans the stream; calls sink.Insert(segment, j, A, B, C) for every insert position (in order)
// and sink.EndSegment(segment) after each segment. Returns the final carries.
struct ScanState {
  uint64_t carry_cr = 0;  // previous stream byte was CR
  uint64_t carry_lf = 1;  // previous stream byte was LF (or start of the message)
};

template <typename Sink>
void Scan(std::span<const std::string_view> segments, bool stuff, ScanState* st, Sink& sink) {
  const uint64_t dot_enable = stuff ? ~uint64_t{0} : 0;
  for (std::string_view seg : segments) {
    const char* p = seg.data();
    const size_t size = seg.size();
    size_t off = 0;
    while (off < size) {
      if (off > 0) {
        off = SkipClean(p, off, size, stuff);  // most blocks of a message need nothing
        if (off == size) break;
        st->carry_cr = p[off - 1] == '\r';  // the fast path does not track carries
        st->carry_lf = p[off - 1] == '\n';
      }
      const size_t n = size - off < 64 ? size - off : 64;
      const Masks m = n == 64 ? Load64(p + off) : LoadTail(p + off, n);
      const uint64_t valid = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
      const uint64_t prev_cr = (m.cr << 1) | st->carry_cr;
      const uint64_t prev_lf = (m.lf << 1) | st->carry_lf;
      const uint64_t a = prev_cr & ~m.lf & valid;
      const uint64_t b = m.lf & ~prev_cr;
      // Line starts (after LF or a bare CR) are few: test their bytes for '.' one by one.
      uint64_t c = 0;
      for (uint64_t starts = (prev_cr | prev_lf) & valid & dot_enable; starts;
           starts &= starts - 1) {
        const int j = __builtin_ctzll(starts);
        if (p[off + static_cast<size_t>(j)] == '.') c |= uint64_t{1} << j;
      }
      uint64_t all = a | b | c;
      while (all) {
        const int j = __builtin_ctzll(all);
        const uint64_t bit = uint64_t{1} << j;
        sink.Insert(seg, off + static_cast<size_t>(j), (a & bit) != 0, (b & bit) != 0,
                    (c & bit) != 0);
        all &= all - 1;
      }
      st->carry_cr = (m.cr >> (n - 1)) & 1;
      st->carry_lf = (m.lf >> (n - 1)) & 1;
      off += n;
    }
    if (size > 0) {
      st->carry_cr = p[size - 1] == '\r';
      st->carry_lf = p[size - 1] == '\n';
    }
    sink.EndSegment(seg);
  }
}

struct CountSink {
  size_t inserts = 0;
  void Insert(std::string_view, size_t, bool a, bool b, bool c) { inserts += a + b + c; }
  void EndSegment(std::string_view) {}
};

struct QueueSink {
  OutputQueue* out;
  size_t run = 0;  // start of the not yet appended part of the current segment
  void Insert(std::string_view seg, size_t j, bool a, bool b, bool c) {
    out->AppendView(seg.substr(run, j - run));
    run = j;
    if (a) out->AppendView(std::string_view(kLf, 1));
    if (b) out->AppendView(std::string_view(kCr, 1));
    if (c) out->AppendView(std::string_view(kDot, 1));
  }
  void EndSegment(std::string_view seg) {
    out->AppendView(seg.substr(run));
    run = 0;
  }
};

// Bytes appended after the content: line end fix + ".\r\n" for DATA.
std::string_view Trailer(const ScanState& st) {
  if (st.carry_cr) return std::string_view(kLf, 1);
  if (!st.carry_lf) return std::string_view(kCrLf, 2);
  return {};
}

}  // namespace

size_t AppendBody(std::span<const std::string_view> segments, BodyMode mode, OutputQueue* out) {
  const size_t before = out->bytes();
  ScanState st;
  QueueSink sink{out};
  Scan(segments, mode == BodyMode::kData, &st, sink);
  out->AppendView(Trailer(st));
  if (mode == BodyMode::kData) out->AppendView(std::string_view(kEndData, 3));
  return out->bytes() - before;
}

size_t NormalizedBodySize(std::span<const std::string_view> segments, BodyMode mode) {
  ScanState st;
  CountSink sink;
  Scan(segments, mode == BodyMode::kData, &st, sink);
  size_t total = sink.inserts + Trailer(st).size() + (mode == BodyMode::kData ? 3 : 0);
  for (std::string_view s : segments) total += s.size();
  return total;
}

}  // namespace salvo
