// Base64 encoders (RFC 4648): the standard padded alphabet for MIME and DKIM, the URL-safe
// unpadded one for tracking tokens. They write in place (the output length is known up front):
// these run per message and per token on the render path.
#pragma once

#include <cstddef>
#include <string>

namespace salvo {

// Output lengths for n input bytes.
constexpr size_t Base64Length(size_t n) { return (n + 2) / 3 * 4; }
constexpr size_t Base64UrlLength(size_t n) { return (n * 4 + 2) / 3; }

// Writes the standard, '='-padded base64 of p[0..n) to o (Base64Length(n) bytes); returns that.
size_t EncodeBase64(const unsigned char* p, size_t n, char* o);
// Appends the standard, '='-padded base64 of p[0..n) to *out.
void AppendBase64(const unsigned char* p, size_t n, std::string* out);
// Appends the URL-safe ('-', '_'), unpadded base64 of p[0..n) to *out.
void AppendBase64Url(const unsigned char* p, size_t n, std::string* out);

}  // namespace salvo
