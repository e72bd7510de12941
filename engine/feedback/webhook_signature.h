// Authenticity checks for provider webhooks (tests/fixtures/SIGNATURES.md): Mailgun
// HMAC-SHA256 over timestamp+token, SendGrid's signed event webhook (ECDSA P-256 / SHA-256 over
// timestamp + raw body), and the SNS message signature (RSA SHA1 / SHA256 over the canonical
// string) with a certificate the operator configured (never fetched). Pure: no I/O; keys come in
// as text. Trust: signatures and payloads are hostile; every comparison is constant time and a
// verifier never accepts what it cannot parse.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/feedback/webhook_parser.h"

namespace salvo {

// Mailgun: HMAC-SHA256(key, timestamp + token) as lowercase hex == signature.
bool VerifyMailgunSignature(std::string_view signing_key, const MailgunSignature& sig);
// The hex signature for (key, timestamp, token): tests and benchmarks sign with it.
std::string MailgunSign(std::string_view signing_key, std::string_view timestamp,
                        std::string_view token);

// An ECDSA public key for SendGrid's signed event webhook.
class SendGridVerifier {
 public:
  // `key_text`: a PEM "PUBLIC KEY" block, or base64 of the DER SubjectPublicKeyInfo as SendGrid
  // shows it. InvalidArgument when it is neither, or not an EC key.
  [[nodiscard]] static absl::StatusOr<SendGridVerifier> Create(std::string_view key_text);
  // PermissionDenied unless `signature_b64` (DER ECDSA, base64) signs timestamp + body.
  [[nodiscard]] absl::Status Verify(std::string_view timestamp, std::string_view body,
                      std::string_view signature_b64) const;

 private:
  std::shared_ptr<void> key_;  // EVP_PKEY
};

// The canonical SNS string to sign ("Name\nvalue\n" in byte order of the required names).
std::string SnsStringToSign(const SnsEnvelope& env);

// The public key of the configured SNS signing certificate.
class SnsVerifier {
 public:
  [[nodiscard]] static absl::StatusOr<SnsVerifier> Create(std::string_view cert_pem);
  // PermissionDenied unless the envelope is signed by the certificate's key with the hash its
  // SignatureVersion names (1: SHA1, 2: SHA256) and SigningCertURL is an https URL of an SNS host.
  [[nodiscard]] absl::Status Verify(const SnsEnvelope& env) const;

 private:
  std::shared_ptr<void> key_;  // EVP_PKEY
};

// True when `url` is https://sns.<region>.amazonaws.com/... (no userinfo, no port tricks).
bool IsSnsCertUrl(std::string_view url);

}  // namespace salvo
