#include "engine/base/base64.h"

#include <cstdint>

namespace salvo {
namespace {

constexpr char kStandard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlSafe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void Encode(const unsigned char* p, size_t n, const char* abc, bool pad, std::string* out) {
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    char c[4] = {abc[v >> 18], abc[(v >> 12) & 63], abc[(v >> 6) & 63], abc[v & 63]};
    out->append(c, 4);
  }
  const size_t rest = n - i;
  if (rest == 0) return;
  uint32_t v = uint32_t{p[i]} << 16;
  if (rest == 2) v |= uint32_t{p[i + 1]} << 8;
  out->push_back(abc[v >> 18]);
  out->push_back(abc[(v >> 12) & 63]);
  if (rest == 2) out->push_back(abc[(v >> 6) & 63]);
  if (pad) out->append(rest == 1 ? "==" : "=");
}

}  // namespace

void AppendBase64(const unsigned char* p, size_t n, std::string* out) {
  Encode(p, n, kStandard, true, out);
}

void AppendBase64Url(const unsigned char* p, size_t n, std::string* out) {
  Encode(p, n, kUrlSafe, false, out);
}

}  // namespace salvo
