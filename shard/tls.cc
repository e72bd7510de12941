// shard/: TLS over memory BIOs — see tls.h.
#include "shard/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"

namespace salvo {

bool IsIpLiteral(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

namespace {
std::string OpenSslErrors() {
  std::string s;
  while (unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    if (!s.empty()) s += "; ";
    s += reason ? reason : absl::StrCat("error ", e);
  }
  return s;
}
}  // namespace

TlsContextCache::~TlsContextCache() {
  for (auto& [key, ctx] : ctxs_) SSL_CTX_free(ctx);
}

absl::StatusOr<SSL_CTX*> TlsContextCache::Get(const AccountConfig& account) {
  auto key = std::make_pair(account.ca_file, account.tls_verify);
  auto it = ctxs_.find(key);
  if (it != ctxs_.end()) return it->second;
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return absl::InternalError("TLS: cannot create context: " + OpenSslErrors());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (account.tls_verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (!account.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, account.ca_file.c_str(), nullptr) != 1) {
        std::string why = OpenSslErrors();
        SSL_CTX_free(ctx);
        return absl::FailedPreconditionError(absl::StrCat(
            "account \"", account.name, "\": cannot load ca_file ", account.ca_file, ": ", why));
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      std::string why = OpenSslErrors();
      SSL_CTX_free(ctx);
      return absl::InternalError("TLS: cannot load the system CA store: " + why);
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  ctxs_.emplace(key, ctx);
  return ctx;
}

absl::StatusOr<SslCtxPtr> LoadServerTlsContext(const std::string& cert_file,
                                               const std::string& key_file) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return absl::InternalError("TLS: cannot create context: " + OpenSslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1)
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load certificate ", cert_file, ": ", OpenSslErrors()));
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load private key ", key_file, ": ", OpenSslErrors()));
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return absl::FailedPreconditionError(absl::StrCat(
        "private key ", key_file, " does not match certificate ", cert_file));
  return ctx;
}

TlsSession::~TlsSession() {
  if (ssl_) SSL_free(ssl_);
}

absl::Status TlsSession::NewSsl(SSL_CTX* ctx) {
  ERR_clear_error();
  ssl_ = SSL_new(ctx);
  if (!ssl_) return absl::InternalError("TLS: SSL_new failed: " + OpenSslErrors());
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (!rbio_ || !wbio_) {
    if (rbio_) BIO_free(rbio_);
    if (wbio_) BIO_free(wbio_);
    rbio_ = wbio_ = nullptr;
    return absl::InternalError("TLS: BIO_new failed");
  }
  BIO_set_mem_eof_return(rbio_, -1);  // empty = "want read", not EOF
  SSL_set_bio(ssl_, rbio_, wbio_);
  return absl::OkStatus();
}

absl::Status TlsSession::InitServer(SSL_CTX* ctx) {
  if (absl::Status st = NewSsl(ctx); !st.ok()) return st;
  SSL_set_accept_state(ssl_);
  return absl::OkStatus();
}

absl::Status TlsSession::Init(SSL_CTX* ctx, const std::string& host, bool verify) {
  if (absl::Status st = NewSsl(ctx); !st.ok()) return st;
  SSL_set_connect_state(ssl_);
  bool ip = IsIpLiteral(host);
  if (!ip) SSL_set_tlsext_host_name(ssl_, host.c_str());
  if (verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    if (ok != 1) return absl::InvalidArgumentError("TLS: cannot verify against host " + host);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  return absl::OkStatus();
}

void TlsSession::FeedCiphertext(std::string_view bytes) {
  while (!bytes.empty()) {
    int n = BIO_write(rbio_, bytes.data(), static_cast<int>(std::min<size_t>(bytes.size(), 1 << 30)));
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

std::string TlsSession::ErrorText(int ssl_ret, const char* what) {
  int err = SSL_get_error(ssl_, ssl_ret);
  long verify = SSL_get_verify_result(ssl_);
  std::string ssl_errors = OpenSslErrors();
  if (verify != X509_V_OK && !established_) {
    return absl::StrCat("certificate verify failed: ", X509_verify_cert_error_string(verify));
  }
  if (err == SSL_ERROR_ZERO_RETURN) return absl::StrCat(what, ": peer closed the TLS session");
  if (!ssl_errors.empty()) return absl::StrCat(what, " failed: ", ssl_errors);
  if (err == SSL_ERROR_SYSCALL) return absl::StrCat(what, " failed: unexpected end of stream");
  return absl::StrCat(what, " failed (SSL error ", err, ")");
}

absl::StatusOr<TlsSession::Progress> TlsSession::Handshake() {
  if (established_) return Progress::kDone;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    established_ = true;
    return Progress::kDone;
  }
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Progress::kWantRead;
  return absl::UnavailableError(ErrorText(r, "TLS handshake"));
}

absl::Status TlsSession::ReadPlain(std::string* out) {
  char buf[16384];
  while (true) {
    ERR_clear_error();
    int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return absl::OkStatus();
    if (err == SSL_ERROR_ZERO_RETURN) return absl::OutOfRangeError("peer closed the TLS session");
    return absl::UnavailableError(ErrorText(n, "TLS read"));
  }
}

absl::Status TlsSession::WritePlain(std::string_view bytes) {
  while (!bytes.empty()) {
    ERR_clear_error();
    int n = SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<size_t>(bytes.size(), 1 << 30)));
    if (n <= 0) return absl::UnavailableError(ErrorText(n, "TLS write"));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

bool TlsSession::TakeOutput(std::string* out) {
  size_t pending = BIO_ctrl_pending(wbio_);
  if (pending == 0) return false;
  size_t old = out->size();
  out->resize(old + pending);
  int n = BIO_read(wbio_, out->data() + old, static_cast<int>(pending));
  out->resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
  return n > 0;
}

std::string TlsSession::Describe() const {
  if (!ssl_ || !established_) return "";
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_);
  return absl::StrCat(SSL_get_version(ssl_), " ", c ? SSL_CIPHER_get_name(c) : "");
}

}  // namespace salvo
