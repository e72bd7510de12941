#include "engine/preflight/dkim_record.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "engine/preflight/tag_list.h"

namespace salvo {

absl::StatusOr<DkimKeyRecord> ParseDkimKeyRecord(std::string_view txt) {
  auto tags = ParseTagList(txt);
  if (!tags.ok()) return tags.status();
  DkimKeyRecord r;
  if (const std::string* v = tags->Get("v"); v != nullptr && *v != "DKIM1")
    return absl::InvalidArgumentError(absl::StrCat("v=", SanitizeForLog(*v, 40), " is not DKIM1"));
  if (!tags->tags.empty() && tags->tags[0].first != "v" && tags->Get("v") != nullptr)
    return absl::InvalidArgumentError("v= is not the first tag");
  const std::string* p = tags->Get("p");
  if (p == nullptr) return absl::InvalidArgumentError("no p= tag");
  for (char c : *p)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') r.p += c;
  if (const std::string* k = tags->Get("k")) r.k = AsciiLower(*k);
  if (r.k != "rsa" && r.k != "ed25519")
    return absl::InvalidArgumentError(absl::StrCat("k=", SanitizeForLog(r.k, 40), " is not rsa or ed25519"));
  if (const std::string* t = tags->Get("t")) {
    for (absl::string_view flag : absl::StrSplit(Av(*t), ':'))
      if (Trim(Sv(flag), kAsciiSpace) == "y") r.testing = true;
  }
  if (const std::string* h = tags->Get("h")) r.h = *h;
  std::string raw;
  if (!r.p.empty() && !absl::Base64Unescape(r.p, &raw))
    return absl::InvalidArgumentError("p= is not base64");
  return r;
}

int RsaPublicKeyBits(std::string_view p_base64) {
  std::string der;
  if (!absl::Base64Unescape(Av(p_base64), &der)) return 0;
  const unsigned char* q = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &q, static_cast<long>(der.size()));
  if (key == nullptr) return 0;
  int bits = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? EVP_PKEY_get_bits(key) : 0;
  EVP_PKEY_free(key);
  return bits;
}

}  // namespace salvo
