// OpenSSL memory-BIO TLS for salvo-sink (see tls_layer.h).
#include "perf/sink/tls_layer.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"

namespace salvo::sink {

absl::StatusOr<std::unique_ptr<TlsContext>> TlsContext::Load(const std::string& cert_file,
                                                             const std::string& key_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
  std::unique_ptr<TlsContext> c(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("--tls-cert: cannot load ", cert_file));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-key: cannot load ", key_file, " (or it does not match the certificate)"));
  }
  return c;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsConn::TlsConn(SSL_CTX* ctx) : ssl_(SSL_new(ctx)), rbio_(BIO_new(BIO_s_mem())), wbio_(BIO_new(BIO_s_mem())) {
  SSL_set_bio(ssl_, rbio_, wbio_);  // ssl_ owns both
  SSL_set_accept_state(ssl_);
}

TlsConn::~TlsConn() { SSL_free(ssl_); }

void TlsConn::Drain(std::string* wire) {
  char buf[16384];
  int n;
  while ((n = BIO_read(wbio_, buf, sizeof buf)) > 0) wire->append(buf, static_cast<size_t>(n));
}

bool TlsConn::Decrypt(std::string_view cipher, std::string* plain, std::string* wire) {
  if (!cipher.empty() && BIO_write(rbio_, cipher.data(), static_cast<int>(cipher.size())) <= 0) {
    return false;
  }
  char buf[16384];
  bool ok = true;
  for (;;) {
    int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      plain->append(buf, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) ok = false;
    break;
  }
  ERR_clear_error();
  if (ok && !pending_.empty() && SSL_is_init_finished(ssl_)) {
    std::string p = std::move(pending_);
    pending_.clear();
    ok = Encrypt(p, wire);
  }
  Drain(wire);
  return ok;
}

bool TlsConn::Encrypt(std::string_view plain, std::string* wire) {
  if (!SSL_is_init_finished(ssl_)) {
    pending_.append(plain);
    return pending_.size() < (1u << 20);
  }
  while (!plain.empty()) {
    int n = SSL_write(ssl_, plain.data(), static_cast<int>(plain.size()));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    plain.remove_prefix(static_cast<size_t>(n));
  }
  Drain(wire);
  return true;
}

}  // namespace salvo::sink
