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
#include <emmintrin.h>
#endif

namespace salvo {
namespace {

constexpr char kLf[] = "\n";
constexpr char kCr[] = "\r";
constexpr char kDot[] = ".";
constexpr char kCrLf[] = "\r\n";
constexpr char kEndData[] = ".\r\n";

struct Masks {
  uint64_t cr, lf, dot;
};

inline Masks LoadTail(const char* p, size_t n) {
  Masks m{0, 0, 0};
  for (size_t i = 0; i < n; ++i) {
    const uint64_t bit = uint64_t{1} << i;
    if (p[i] == '\r') m.cr |= bit;
    else if (p[i] == '\n') m.lf |= bit;
    else if (p[i] == '.') m.dot |= bit;
  }
  return m;
}

inline Masks Load64(const char* p) {
#if defined(__SSE2__)
  const __m128i vcr = _mm_set1_epi8('\r');
  const __m128i vlf = _mm_set1_epi8('\n');
  const __m128i vdot = _mm_set1_epi8('.');
  Masks m{0, 0, 0};
  for (int k = 0; k < 4; ++k) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    m.cr |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vcr))))
            << (16 * k);
    m.lf |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vlf))))
            << (16 * k);
    m.dot |= static_cast<uint64_t>(
                 static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vdot))))
             << (16 * k);
  }
  return m;
#else
  return LoadTail(p, 64);
#endif
}

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
      const size_t n = size - off < 64 ? size - off : 64;
      const Masks m = n == 64 ? Load64(p + off) : LoadTail(p + off, n);
      const uint64_t valid = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
      const uint64_t prev_cr = (m.cr << 1) | st->carry_cr;
      const uint64_t prev_lf = (m.lf << 1) | st->carry_lf;
      const uint64_t a = prev_cr & ~m.lf & valid;
      const uint64_t b = m.lf & ~prev_cr;
      const uint64_t c = m.dot & (prev_cr | prev_lf) & dot_enable;
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
