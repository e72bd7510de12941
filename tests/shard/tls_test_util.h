// Test-only TLS material made in memory with OpenSSL: a self-signed certificate (EC P-256) for
// chosen DNS names / IP addresses and validity, written as PEM where a ca_file is needed, and a
// server SSL_CTX using it. No files are read; nothing leaves the process.
#pragma once

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "engine/config/config.h"
#include "shard/tls.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {

struct TestCert {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string pem;  // the certificate, PEM (to be used as a ca_file)

  TestCert() = default;
  TestCert(const TestCert&) = delete;
  TestCert& operator=(const TestCert&) = delete;
  ~TestCert() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

// A self-signed CA-capable certificate with subjectAltName entries "DNS:..." / "IP:..." (`san`,
// comma-separated as in openssl's config syntax), valid from now + `not_before_s` to now +
// `not_after_s`. Returns false (and leaves *out partly filled) on an OpenSSL failure.
inline bool MakeSelfSignedCert(const std::string& cn, const std::string& san, TestCert* out,
                               long not_before_s = -3600, long not_after_s = 86400) {
  out->key = EVP_EC_gen("P-256");
  if (!out->key) return false;
  out->cert = X509_new();
  X509* x = out->cert;
  if (!x || X509_set_version(x, 2) != 1) return false;
  ASN1_INTEGER_set(X509_get_serialNumber(x), 18);
  X509_gmtime_adj(X509_getm_notBefore(x), not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(x), not_after_s);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, out->key);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_subject_alt_name, san}, {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (!ext) return false;
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x, out->key, EVP_sha256()) <= 0) return false;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  out->pem.assign(data, static_cast<size_t>(n));
  BIO_free(bio);
  return true;
}

// A server context presenting `cert` (TLS 1.2+). Caller frees it with SSL_CTX_free.
inline SSL_CTX* MakeServerCtx(const TestCert& cert) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate(ctx, cert.cert) != 1 || SSL_CTX_use_PrivateKey(ctx, cert.key) != 1) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

// Both ends of a verified TLS connection to `name`: a self-signed certificate for it in *cert, a
// server context presenting it in *server_ctx (the caller frees it), and in *client_ctx the
// context `cache` makes for an account whose ca_file (written into `dir`) is that certificate.
// Failures are gtest failures (wrap the call in ASSERT_NO_FATAL_FAILURE).
inline void MakeTrustedPair(const std::string& name, const TempDir& dir, TlsContextCache* cache,
                            TestCert* cert, SSL_CTX** server_ctx, SSL_CTX** client_ctx) {
  ASSERT_TRUE(MakeSelfSignedCert(name, "DNS:" + name, cert));
  *server_ctx = MakeServerCtx(*cert);
  ASSERT_NE(*server_ctx, nullptr);
  AccountConfig a;
  a.name = "t";
  a.ca_file = dir.Write("ca.pem", cert->pem);
  auto ctx = cache->Get(a);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  *client_ctx = *ctx;
}

}  // namespace salvo::test
