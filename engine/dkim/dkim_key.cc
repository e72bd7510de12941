// DKIM keys over OpenSSL 3 EVP; see dkim_key.h.
#include "engine/dkim/dkim_key.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <atomic>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/base64.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"

namespace salvo {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

// RSA signing contexts set up once (sign_init, padding, digest) and reused by their thread:
// creating one per signature costs OpenSSL 3 a provider fetch each time, work that `openssl
// speed` (our yardstick) does not repeat. A few keys per thread, the least recent evicted; a
// context holds its own reference to the key, so an evicted or stale one is always safe to free.
class RsaSignContexts {
 public:
  EVP_PKEY_CTX* Get(uint64_t key_id, EVP_PKEY* pkey) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].first == key_id) {
        if (i != 0) std::swap(slots_[i], slots_[0]);
        return slots_[0].second.get();
      }
    }
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new(pkey, nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) <= 0)
      return nullptr;
    if (slots_.size() == kMaxKeys) slots_.pop_back();
    slots_.emplace(slots_.begin(), key_id, std::move(ctx));
    return slots_[0].second.get();
  }
  // After a failed signature the context is not trusted again.
  void Drop(uint64_t key_id) {
    for (size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].first == key_id) {
        slots_.erase(slots_.begin() + static_cast<ptrdiff_t>(i));
        return;
      }
  }

 private:
  static constexpr size_t kMaxKeys = 8;
  std::vector<std::pair<uint64_t, PkeyCtxPtr>> slots_;
};

thread_local RsaSignContexts rsa_contexts;

uint64_t NextKeyId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

DkimKey::DkimKey() : id_(NextKeyId()) {}

DkimKey::~DkimKey() { EVP_PKEY_free(pkey_); }

const char* DkimKey::algorithm_name() const {
  return alg_ == DkimAlgorithm::kRsaSha256 ? "rsa-sha256" : "ed25519-sha256";
}

absl::StatusOr<std::shared_ptr<const DkimKey>> DkimKey::FromPem(std::string_view pem,
                                                                const std::string& name) {
  if (pem.size() > 64 * 1024)
    return absl::InvalidArgumentError(absl::StrCat("DKIM key ", name, ": file larger than 64 KB"));
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("DKIM key ", name,
                                                   ": not a PEM private key (", OpenSslError(),
                                                   ")"));
  std::shared_ptr<DkimKey> k(new DkimKey());
  k->pkey_ = pkey;
  int id = EVP_PKEY_get_base_id(pkey);
  if (id == EVP_PKEY_RSA) {
    k->alg_ = DkimAlgorithm::kRsaSha256;
    k->bits_ = EVP_PKEY_get_bits(pkey);
    if (k->bits_ < 2048)
      return absl::InvalidArgumentError(absl::StrCat("DKIM key ", name, ": RSA key of ", k->bits_,
                                                     " bits; at least 2048 required (RFC 8301)"));
  } else if (id == EVP_PKEY_ED25519) {
    k->alg_ = DkimAlgorithm::kEd25519Sha256;
    k->bits_ = 256;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("DKIM key ", name, ": unsupported key type (need RSA or Ed25519)"));
  }
  return std::shared_ptr<const DkimKey>(std::move(k));
}

absl::StatusOr<std::shared_ptr<const DkimKey>> DkimKey::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path, 64 * 1024, "DKIM key"));
  return FromPem(pem, path);
}

absl::StatusOr<std::shared_ptr<const DkimKey>> DkimKey::Generate(DkimAlgorithm alg,
                                                                 int rsa_bits) {
  if (alg == DkimAlgorithm::kRsaSha256 && (rsa_bits < 2048 || rsa_bits > 8192))
    return absl::InvalidArgumentError("RSA DKIM keys must have 2048 to 8192 bits");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(
      alg == DkimAlgorithm::kRsaSha256 ? EVP_PKEY_RSA : EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
      (alg == DkimAlgorithm::kRsaSha256 &&
       EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), rsa_bits) <= 0) ||
      EVP_PKEY_keygen(ctx.get(), &pkey) <= 0)
    return absl::InternalError(absl::StrCat("key generation failed: ", OpenSslError()));
  std::shared_ptr<DkimKey> k(new DkimKey());
  k->pkey_ = pkey;
  k->alg_ = alg;
  k->bits_ = alg == DkimAlgorithm::kRsaSha256 ? EVP_PKEY_get_bits(pkey) : 256;
  return std::shared_ptr<const DkimKey>(std::move(k));
}

absl::StatusOr<std::string> DkimKey::PrivatePem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return absl::InternalError("BIO_new failed");
  std::string out;
  if (PEM_write_bio_PrivateKey(bio, pkey_, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  if (out.empty()) return absl::InternalError(absl::StrCat("PEM write failed: ", OpenSslError()));
  return out;
}

absl::StatusOr<std::string> DkimKey::DnsTxtRecord() const {
  std::string raw;
  if (alg_ == DkimAlgorithm::kEd25519Sha256) {
    unsigned char pub[64];
    size_t len = sizeof pub;
    if (EVP_PKEY_get_raw_public_key(pkey_, pub, &len) != 1)
      return absl::InternalError(absl::StrCat("public key export failed: ", OpenSslError()));
    raw.assign(reinterpret_cast<char*>(pub), len);
  } else {
    int n = i2d_PUBKEY(pkey_, nullptr);
    if (n <= 0) return absl::InternalError("public key export failed");
    raw.resize(static_cast<size_t>(n));
    unsigned char* p = reinterpret_cast<unsigned char*>(raw.data());
    i2d_PUBKEY(pkey_, &p);
  }
  std::string txt = alg_ == DkimAlgorithm::kEd25519Sha256 ? "v=DKIM1; k=ed25519; p="
                                                          : "v=DKIM1; k=rsa; p=";
  AppendBase64(reinterpret_cast<const unsigned char*>(raw.data()), raw.size(), &txt);
  return txt;
}

absl::Status DkimKey::SignDigest(const unsigned char digest[32], std::string* sig) const {
  if (alg_ == DkimAlgorithm::kRsaSha256) {
    EVP_PKEY_CTX* ctx = rsa_contexts.Get(id_, pkey_);
    size_t len = 0;
    if (!ctx || EVP_PKEY_sign(ctx, nullptr, &len, digest, 32) <= 0) {
      rsa_contexts.Drop(id_);
      return absl::InternalError(absl::StrCat("RSA sign setup failed: ", OpenSslError()));
    }
    sig->resize(len);
    if (EVP_PKEY_sign(ctx, reinterpret_cast<unsigned char*>(sig->data()), &len, digest, 32) <=
        0) {
      rsa_contexts.Drop(id_);
      return absl::InternalError(absl::StrCat("RSA sign failed: ", OpenSslError()));
    }
    sig->resize(len);
    return absl::OkStatus();
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  size_t len = 64;
  sig->resize(len);
  if (!md || EVP_DigestSignInit(md.get(), nullptr, nullptr, nullptr, pkey_) <= 0 ||
      EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig->data()), &len, digest, 32) <=
          0)
    return absl::InternalError(absl::StrCat("Ed25519 sign failed: ", OpenSslError()));
  sig->resize(len);
  return absl::OkStatus();
}

}  // namespace salvo
