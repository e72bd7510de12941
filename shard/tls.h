// shard/: TLS over memory BIOs (OpenSSL 3). The ring moves ciphertext; this class only
// transforms bytes: FeedCiphertext() what the socket received, Handshake()/ReadPlain() to make
// progress, WritePlain() to encrypt, TakeOutput() for what must go to the socket.
// Verification by default: certificate chain against the system CA store (or the account's
// ca_file) and the host name (or IP literal) of the account. The peer is hostile: errors are
// reported in plain words ("certificate verify failed: self-signed certificate").
#pragma once

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/config/config.h"

namespace salvo {

// SSL_CTX per (ca_file, verify) — one cache per worker thread.
class TlsContextCache {
 public:
  TlsContextCache() = default;
  ~TlsContextCache();
  TlsContextCache(const TlsContextCache&) = delete;
  TlsContextCache& operator=(const TlsContextCache&) = delete;
  // Errors: ca_file unreadable or not PEM (names the file).
  [[nodiscard]] absl::StatusOr<SSL_CTX*> Get(const AccountConfig& account);

 private:
  std::map<std::pair<std::string, bool>, SSL_CTX*> ctxs_;
};

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// A server context (TLS 1.2+) from a PEM certificate chain and its key. Errors name the files.
[[nodiscard]] absl::StatusOr<SslCtxPtr> LoadServerTlsContext(const std::string& cert_file,
                                                             const std::string& key_file);

class TlsSession {
 public:
  enum class Progress { kDone, kWantRead };

  TlsSession() = default;
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Prepares a client session for `host` (SNI unless an IP literal; verified when `verify`).
  [[nodiscard]] absl::Status Init(SSL_CTX* ctx, const std::string& host, bool verify);
  // Prepares a server session (the client's certificate is not asked for).
  [[nodiscard]] absl::Status InitServer(SSL_CTX* ctx);
  void FeedCiphertext(std::string_view bytes);
  // Drives the handshake. Errors describe why it failed (verification, protocol).
  [[nodiscard]] absl::StatusOr<Progress> Handshake();
  // Appends decrypted bytes to *out. Errors: protocol failure; OutOfRange on close_notify.
  [[nodiscard]] absl::Status ReadPlain(std::string* out);
  [[nodiscard]] absl::Status WritePlain(std::string_view bytes);
  // Ciphertext to send, appended to *out; true when anything was appended.
  bool TakeOutput(std::string* out);
  bool established() const { return established_; }
  std::string Describe() const;  // "TLSv1.3 TLS_AES_256_GCM_SHA384"

 private:
  std::string ErrorText(int ssl_ret, const char* what);
  [[nodiscard]] absl::Status NewSsl(SSL_CTX* ctx);  // ssl_ over two memory BIOs
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // network -> SSL (owned by ssl_)
  BIO* wbio_ = nullptr;  // SSL -> network (owned by ssl_)
  bool established_ = false;
};

// True when `host` is an IPv4 or IPv6 literal.
bool IsIpLiteral(const std::string& host);

}  // namespace salvo
