#include "engine/base/base64.h"

#include <cstdint>

namespace salvo {
namespace {

constexpr char kStandard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlSafe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Encodes p[0..n) into o; returns the number of characters written.
size_t Encode(const unsigned char* p, size_t n, const char* abc, bool pad, char* o) {
  char* start = o;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    o[0] = abc[v >> 18];
    o[1] = abc[(v >> 12) & 63];
    o[2] = abc[(v >> 6) & 63];
    o[3] = abc[v & 63];
    o += 4;
  }
  const size_t rest = n - i;
  if (rest != 0) {
    uint32_t v = uint32_t{p[i]} << 16;
    if (rest == 2) v |= uint32_t{p[i + 1]} << 8;
    *o++ = abc[v >> 18];
    *o++ = abc[(v >> 12) & 63];
    if (rest == 2) *o++ = abc[(v >> 6) & 63];
    if (pad) {
      *o++ = '=';
      if (rest == 1) *o++ = '=';
    }
  }
  return static_cast<size_t>(o - start);
}

}  // namespace

size_t EncodeBase64(const unsigned char* p, size_t n, char* o) {
  return Encode(p, n, kStandard, true, o);
}

void AppendBase64(const unsigned char* p, size_t n, std::string* out) {
  const size_t at = out->size();
  out->resize(at + Base64Length(n));
  Encode(p, n, kStandard, true, out->data() + at);
}

void AppendBase64Url(const unsigned char* p, size_t n, std::string* out) {
  const size_t at = out->size();
  out->resize(at + Base64UrlLength(n));
  Encode(p, n, kUrlSafe, false, out->data() + at);
}

}  // namespace salvo
