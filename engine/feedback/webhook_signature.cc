// Webhook signature verification with OpenSSL 3. See webhook_signature.h.
#include "engine/feedback/webhook_signature.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

constexpr size_t kMaxKeyText = 16 * 1024;
constexpr size_t kMaxSignatureB64 = 2048;

std::shared_ptr<void> WrapKey(EVP_PKEY* k) {
  return std::shared_ptr<void>(k, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}

// Takes ownership of `key` (null when it could not be read) and keeps it when it is of `type`
// (EVP_PKEY_EC, EVP_PKEY_RSA); else the error `unreadable` or `wrong_type`.
absl::StatusOr<std::shared_ptr<void>> KeyOfType(EVP_PKEY* key, int type, const char* unreadable,
                                                const char* wrong_type) {
  if (!key) return absl::InvalidArgumentError(unreadable);
  std::shared_ptr<void> owned = WrapKey(key);
  if (EVP_PKEY_base_id(key) != type) return absl::InvalidArgumentError(wrong_type);
  return owned;
}

bool DecodeB64(std::string_view in, std::string* out) {
  std::string clean;
  clean.reserve(in.size());
  for (char c : in)
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') clean.push_back(c);
  return absl::Base64Unescape(Av(clean), out);
}

// Verifies `sig` over `data` with `key` and `md`.
[[nodiscard]] absl::Status VerifyWith(EVP_PKEY* key, const EVP_MD* md, std::string_view data,
                        std::string_view sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return absl::ResourceExhaustedError("EVP_MD_CTX_new failed");
  int ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
           EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return absl::PermissionDeniedError("signature does not verify");
  return absl::OkStatus();
}

}  // namespace

std::string MailgunSign(std::string_view signing_key, std::string_view timestamp,
                        std::string_view token) {
  std::string msg = absl::StrCat(Av(timestamp), Av(token));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), signing_key.data(), static_cast<int>(signing_key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 15]);
  }
  return hex;
}

bool VerifyMailgunSignature(std::string_view signing_key, const MailgunSignature& sig) {
  if (signing_key.empty() || sig.timestamp.empty() || sig.token.empty() ||
      sig.signature.size() != 64)
    return false;
  std::string expect = MailgunSign(signing_key, sig.timestamp, sig.token);
  return CRYPTO_memcmp(expect.data(), sig.signature.data(), 64) == 0;
}

absl::StatusOr<SendGridVerifier> SendGridVerifier::Create(std::string_view key_text) {
  if (key_text.size() > kMaxKeyText) return absl::InvalidArgumentError("SendGrid public key is too long");
  std::string text(Trim(key_text, " \t\r\n"));
  EVP_PKEY* key = nullptr;
  if (text.rfind("-----BEGIN", 0) == 0) {
    BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
    key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
  } else {
    std::string der;
    if (!DecodeB64(text, &der))
      return absl::InvalidArgumentError("SendGrid public key is neither PEM nor base64 DER");
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  }
  SendGridVerifier v;
  ASSIGN_OR_RETURN(v.key_, KeyOfType(key, EVP_PKEY_EC, "SendGrid public key could not be parsed",
                                     "SendGrid public key is not an elliptic-curve key"));
  return v;
}

absl::Status SendGridVerifier::Verify(std::string_view timestamp, std::string_view body,
                                      std::string_view signature_b64) const {
  if (timestamp.empty() || signature_b64.empty())
    return absl::PermissionDeniedError("missing SendGrid signature or timestamp header");
  if (signature_b64.size() > kMaxSignatureB64 || timestamp.size() > 32)
    return absl::PermissionDeniedError("SendGrid signature header too long");
  std::string sig;
  if (!DecodeB64(signature_b64, &sig)) return absl::PermissionDeniedError("signature is not base64");
  std::string data;
  data.reserve(timestamp.size() + body.size());
  data.append(timestamp);
  data.append(body);
  return VerifyWith(static_cast<EVP_PKEY*>(key_.get()), EVP_sha256(), data, sig);
}

std::string SnsStringToSign(const SnsEnvelope& env) {
  std::string out;
  auto add = [&out](std::string_view name, std::string_view value) {
    out.append(name);
    out.push_back('\n');
    out.append(value);
    out.push_back('\n');
  };
  add("Message", env.message);
  add("MessageId", env.message_id);
  if (env.type == "Notification") {
    if (env.has_subject) add("Subject", env.subject);
  } else {
    add("SubscribeURL", env.subscribe_url);
  }
  add("Timestamp", env.timestamp);
  if (env.type != "Notification") add("Token", env.token);
  add("TopicArn", env.topic_arn);
  add("Type", env.type);
  return out;
}

bool IsSnsCertUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://sns.";
  if (url.substr(0, kScheme.size()) != kScheme) return false;
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view host_rest = rest.substr(0, slash);  // "<region>.amazonaws.com"
  constexpr std::string_view kSuffix = ".amazonaws.com";
  if (host_rest.size() <= kSuffix.size() ||
      host_rest.substr(host_rest.size() - kSuffix.size()) != kSuffix)
    return false;
  std::string_view region = host_rest.substr(0, host_rest.size() - kSuffix.size());
  for (char c : region)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return url.size() < 1024 && url.find_first_of("@?# \r\n") == std::string_view::npos;
}

absl::StatusOr<SnsVerifier> SnsVerifier::Create(std::string_view cert_pem) {
  if (cert_pem.size() > kMaxKeyText) return absl::InvalidArgumentError("SNS certificate is too long");
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!cert) return absl::InvalidArgumentError("SNS signing certificate is not a PEM certificate");
  EVP_PKEY* key = X509_get_pubkey(cert);
  X509_free(cert);
  SnsVerifier v;
  ASSIGN_OR_RETURN(v.key_,
                   KeyOfType(key, EVP_PKEY_RSA, "SNS signing certificate has no usable public key",
                             "SNS signing certificate key is not RSA"));
  return v;
}

absl::Status SnsVerifier::Verify(const SnsEnvelope& env) const {
  const EVP_MD* md = nullptr;
  if (env.signature_version == "1") md = EVP_sha1();
  else if (env.signature_version == "2") md = EVP_sha256();
  else return absl::PermissionDeniedError("unknown SNS SignatureVersion");
  if (!IsSnsCertUrl(env.signing_cert_url))
    return absl::PermissionDeniedError("SigningCertURL is not an https SNS URL");
  if (env.signature.empty() || env.signature.size() > kMaxSignatureB64)
    return absl::PermissionDeniedError("missing or oversized SNS Signature");
  std::string sig;
  if (!DecodeB64(env.signature, &sig)) return absl::PermissionDeniedError("Signature is not base64");
  return VerifyWith(static_cast<EVP_PKEY*>(key_.get()), md, SnsStringToSign(env), sig);
}

}  // namespace salvo
