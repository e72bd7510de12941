// Base64 encoders (RFC 4648): the standard padded alphabet for MIME and DKIM, the URL-safe
// unpadded one for tracking tokens.
#pragma once

#include <cstddef>
#include <string>

namespace salvo {

// Appends the standard, '='-padded base64 of p[0..n) to *out.
void AppendBase64(const unsigned char* p, size_t n, std::string* out);
// Appends the URL-safe ('-', '_'), unpadded base64 of p[0..n) to *out.
void AppendBase64Url(const unsigned char* p, size_t n, std::string* out);

}  // namespace salvo
