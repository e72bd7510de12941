// STARTTLS for salvo-sink: OpenSSL over memory BIOs, so the io_uring loop keeps owning the socket.
// Ciphertext from the client is untrusted and goes only to OpenSSL; the layer never buffers more
// than one received chunk of plaintext beyond what the caller consumes.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace salvo::sink {

// A server SSL_CTX loaded from a PEM certificate chain and key.
class TlsContext {
 public:
  [[nodiscard]]
  static absl::StatusOr<std::unique_ptr<TlsContext>> Load(const std::string& cert_file,
                                                          const std::string& key_file);
  ~TlsContext();
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* c) : ctx_(c) {}
  SSL_CTX* ctx_;
};

// One server-side TLS session over memory BIOs.
class TlsConn {
 public:
  explicit TlsConn(SSL_CTX* ctx);
  ~TlsConn();
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;
  // Feeds ciphertext; appends decrypted bytes to *plain and any TLS records to send (handshake,
  // alerts) to *wire. False when the session failed or the peer closed it.
  bool Decrypt(std::string_view cipher, std::string* plain, std::string* wire);
  // Encrypts `plain` into *wire (data written before the handshake ends is kept until it does).
  bool Encrypt(std::string_view plain, std::string* wire);

 private:
  void Drain(std::string* wire);
  SSL* ssl_;
  BIO* rbio_;
  BIO* wbio_;
  std::string pending_;  // plaintext waiting for the handshake
};

}  // namespace salvo::sink
