// DKIM private keys: loading from PEM (RSA >= 2048 bits or Ed25519), generating new ones, and the
// DNS TXT record that publishes the public key.
// Trust: key files are operator input; a missing, unreadable, malformed, too-weak or
// unsupported key is a clear error naming the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace salvo {

enum class DkimAlgorithm { kRsaSha256, kEd25519Sha256 };

class DkimKey {
 public:
  ~DkimKey();
  DkimKey(const DkimKey&) = delete;
  DkimKey& operator=(const DkimKey&) = delete;

  // `name` is used in error messages (normally the file path).
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<const DkimKey>> FromPem(std::string_view pem,
                                                                const std::string& name);
  [[nodiscard]]
  static absl::StatusOr<std::shared_ptr<const DkimKey>> LoadFile(const std::string& path);
  // A fresh key: RSA of `rsa_bits` (>= 2048) or Ed25519.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<const DkimKey>> Generate(DkimAlgorithm alg,
                                                                 int rsa_bits = 2048);

  DkimAlgorithm algorithm() const { return alg_; }
  const char* algorithm_name() const;  // "rsa-sha256" | "ed25519-sha256"
  int bits() const { return bits_; }
  EVP_PKEY* pkey() const { return pkey_; }

  // PKCS#8 PEM of the private key.
  [[nodiscard]] absl::StatusOr<std::string> PrivatePem() const;
  // "v=DKIM1; k=rsa; p=..." / "v=DKIM1; k=ed25519; p=..." (RFC 6376 / RFC 8463).
  [[nodiscard]] absl::StatusOr<std::string> DnsTxtRecord() const;

  // Signs a 32-byte SHA-256 digest (RSASSA-PKCS1-v1_5 for rsa, PureEdDSA over the digest for
  // ed25519, as RFC 8463 specifies). Thread-safe.
  [[nodiscard]] absl::Status SignDigest(const unsigned char digest[32], std::string* sig) const;

 private:
  DkimKey();
  // Tells this key's prepared signing contexts (cached per thread) from those of a key that
  // once lived at the same address.
  uint64_t id_;
  EVP_PKEY* pkey_ = nullptr;
  DkimAlgorithm alg_ = DkimAlgorithm::kRsaSha256;
  int bits_ = 0;
};

}  // namespace salvo
