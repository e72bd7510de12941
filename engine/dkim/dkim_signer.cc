// DKIM-Signature construction; see dkim_signer.h.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "engine/dkim/dkim_signer.h"

#include <openssl/sha.h>

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/base/base64.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

// h= order; the trailing from/subject are the oversigned copies.
constexpr const char* kSigned[] = {"from",         "to",           "subject",
                                   "date",         "message-id",   "mime-version",
                                   "content-type", "reply-to",     "list-unsubscribe",
                                   "list-unsubscribe-post", "from", "subject"};
constexpr size_t kSignedCount = sizeof(kSigned) / sizeof(kSigned[0]);
constexpr size_t kMaxFields = 64;

bool ValidLabelChars(std::string_view s) {
  return IsNameToken(s, 253) && s.front() != '.' && s.back() != '.';
}


struct Field {
  std::string_view name;
  std::string_view value;  // after ':' up to (not including) the final CRLF
  bool used;
};

}  // namespace

void AppendRelaxedHeader(std::string_view name, std::string_view value, std::string* out) {
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  for (char c : name) out->push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  out->push_back(':');
  // Unfold (drop CR/LF), reduce WSP runs to one SP, drop leading and trailing WSP; the text
  // between is copied a run at a time.
  bool wsp = false;
  bool any = false;
  const size_t n = value.size();
  size_t i = 0;
  while (i < n) {
    char c = value[i];
    if (c == '\r' || c == '\n') {
      ++i;
      continue;
    }
    if (c == ' ' || c == '\t') {
      wsp = true;
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < n && value[j] != ' ' && value[j] != '\t' && value[j] != '\r' && value[j] != '\n')
      ++j;
    if (wsp && any) out->push_back(' ');
    wsp = false;
    any = true;
    AppendOpaque(out, value.data() + i, j - i);
    i = j;
  }
}

absl::StatusOr<std::unique_ptr<DkimSigner>> DkimSigner::Create(
    std::string domain, std::string selector, std::shared_ptr<const DkimKey> key) {
  if (!ValidLabelChars(domain))
    return absl::InvalidArgumentError(absl::StrCat("DKIM domain \"", domain, "\" is not valid"));
  if (!ValidLabelChars(selector))
    return absl::InvalidArgumentError(
        absl::StrCat("DKIM selector \"", selector, "\" is not valid"));
  if (!key) return absl::InvalidArgumentError("DKIM signer needs a key");
  std::unique_ptr<DkimSigner> s(new DkimSigner());
  s->domain_ = std::move(domain);
  s->selector_ = std::move(selector);
  s->key_ = std::move(key);
  std::string h;
  for (size_t i = 0; i < kSignedCount; ++i) {
    if (i) h.push_back(':');
    if (i == 7) h.append("\r\n ");  // keep lines short
    h.append(kSigned[i]);
  }
  s->prefix_ = absl::StrCat("DKIM-Signature: v=1; a=", s->key_->algorithm_name(),
                            "; c=relaxed/relaxed; d=", s->domain_, "; s=", s->selector_,
                            ";\r\n h=", h, ";\r\n bh=");
  std::string_view p = s->prefix_;
  size_t colon = p.find(':');
  AppendRelaxedHeader(p.substr(0, colon), p.substr(colon + 1), &s->canonical_prefix_);
  return s;
}

absl::Status DkimSigner::Sign(std::string_view headers, const unsigned char body_hash[32],
                              std::string* out) const {
  // Split the block into fields.
  Field fields[kMaxFields];
  size_t n = 0;
  size_t i = 0;
  while (i < headers.size()) {
    size_t end = i;
    // A field ends at a CRLF not followed by WSP.
    for (;;) {
      size_t crlf = headers.find("\r\n", end);
      if (crlf == std::string_view::npos) {
        end = headers.size();
        break;
      }
      end = crlf + 2;
      if (end >= headers.size() || (headers[end] != ' ' && headers[end] != '\t')) break;
    }
    std::string_view f = headers.substr(i, end - i);
    size_t colon = f.find(':');
    if (colon != std::string_view::npos && n < kMaxFields) {
      std::string_view v = f.substr(colon + 1);
      if (v.size() >= 2 && v.substr(v.size() - 2) == "\r\n") v.remove_suffix(2);
      fields[n++] = Field{f.substr(0, colon), v, false};
    }
    i = end;
  }
  // Per-thread buffers: their capacity is reused from one signature to the next.
  thread_local std::string data, sig, b64;
  data.clear();
  data.reserve(headers.size() + 512);
  for (const char* want : kSigned) {
    for (size_t k = n; k-- > 0;) {  // last unused instance first (RFC 6376 §5.4.2)
      if (!fields[k].used && EqualsAsciiNoCase(fields[k].name, want)) {
        fields[k].used = true;
        AppendRelaxedHeader(fields[k].name, fields[k].value, &data);
        data.append("\r\n");
        break;
      }
    }
  }
  char bh[44];  // base64 of 32 bytes
  EncodeBase64(body_hash, 32, bh);
  data.append(canonical_prefix_);
  data.append(bh, sizeof bh);
  data.append("; b=");
  // The low-level SHA-256 directly: OpenSSL 3's one-shot SHA256() goes through EVP_Q_digest,
  // which fetches the algorithm by name (locks, a hash table walk) on every call.
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(digest, &ctx);
  if (absl::Status st = key_->SignDigest(digest, &sig); !st.ok()) return st;
  b64.resize((sig.size() + 2) / 3 * 4);
  const size_t b64_len =
      EncodeBase64(reinterpret_cast<const unsigned char*>(sig.data()), sig.size(), b64.data());
  out->reserve(out->size() + prefix_.size() + sizeof bh + 8 + b64_len + b64_len / 72 * 3 + 2);
  out->append(prefix_);
  out->append(bh, sizeof bh);
  out->append(";\r\n b=");
  for (size_t k = 0; k < b64_len; k += 72) {
    if (k) out->append("\r\n ");
    out->append(b64, k, 72);
  }
  out->append("\r\n");
  return absl::OkStatus();
}

}  // namespace salvo
