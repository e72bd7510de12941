// Signature checks: Mailgun fixtures verify with the fixture key and fail when tampered; the
// SendGrid SDK test vector verifies and its negative cases fail; SNS verifies with a certificate
// made here (the fixtures' own signatures are placeholders) and fails when tampered.
#include "engine/feedback/webhook_signature.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "absl/strings/escaping.h"
#include "tests/engine/feedback/fixture_keys.h"
#include "tests/engine/feedback/manifest.h"

namespace salvo {
namespace {

using test::kMailgunKey;
using test::kSendGridKey;
constexpr char kSendGridSig[] =
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";

TEST(MailgunSignatureTest, AllFixturesVerifyAndTamperingFails) {
  WebhookParser parser;
  int n = 0;
  for (const test::ManifestRow& row : test::ReadManifest()) {
    if (row.provider != "mailgun") continue;
    SCOPED_TRACE(row.path);
    auto got = parser.Parse(WebhookProvider::kMailgun,
                            test::ReadFile(test::FixturesDir() + "/" + row.path));
    ASSERT_TRUE(got.ok());
    ASSERT_TRUE(got->mailgun_signature.has_value());
    MailgunSignature sig = *got->mailgun_signature;
    EXPECT_TRUE(VerifyMailgunSignature(kMailgunKey, sig));
    EXPECT_FALSE(VerifyMailgunSignature("another-key", sig));
    MailgunSignature t = sig;
    t.token[0] = t.token[0] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(VerifyMailgunSignature(kMailgunKey, t));
    t = sig;
    t.timestamp.back() = t.timestamp.back() == '1' ? '2' : '1';
    EXPECT_FALSE(VerifyMailgunSignature(kMailgunKey, t));
    t = sig;
    t.signature.clear();
    EXPECT_FALSE(VerifyMailgunSignature(kMailgunKey, t));
    ++n;
  }
  EXPECT_EQ(n, 7);
  EXPECT_EQ(MailgunSign(kMailgunKey, "1718262502", "b73a75bf4ebfbb6089ed4427f499ac4e85c04d6db01ae2fb43"),
            "ded23c8f09566191e61a6ab4a4c308f51b02300f89028ec0f9c6779a30af09ad");
}

TEST(SendGridSignatureTest, SdkVectorVerifiesAndNegativeCasesFail) {
  std::string body = test::ReadFile(test::FixturesDir() +
                                    "/webhooks/sendgrid/signed_dropped_bounced_address.json");
  auto v = SendGridVerifier::Create(kSendGridKey);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->Verify("1600112502", body, kSendGridSig).ok());
  EXPECT_FALSE(v->Verify("1600112502", "payload", kSendGridSig).ok());
  EXPECT_FALSE(v->Verify("timestamp", body, kSendGridSig).ok());
  EXPECT_FALSE(v->Verify("1600112502", body,
                         "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=")
                   .ok());
  EXPECT_FALSE(v->Verify("1600112502", body.substr(0, body.size() - 2), kSendGridSig).ok());
  EXPECT_FALSE(v->Verify("1600112502", body, "").ok());
  EXPECT_FALSE(v->Verify("1600112502", body, "!!!notbase64").ok());
  // The same key as PEM.
  std::string pem = std::string("-----BEGIN PUBLIC KEY-----\n") + kSendGridKey +
                    "\n-----END PUBLIC KEY-----\n";
  auto v2 = SendGridVerifier::Create(pem);
  ASSERT_TRUE(v2.ok());
  EXPECT_TRUE(v2->Verify("1600112502", body, kSendGridSig).ok());
  // A different key.
  EVP_PKEY* k = EVP_EC_gen("P-256");
  ASSERT_NE(k, nullptr);
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(k, &der);
  std::string b64;
  absl::Base64Escape(std::string(reinterpret_cast<char*>(der), len), &b64);
  OPENSSL_free(der);
  EVP_PKEY_free(k);
  auto other = SendGridVerifier::Create(b64);
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_FALSE(other->Verify("1600112502", body, kSendGridSig).ok());
  EXPECT_FALSE(SendGridVerifier::Create("not a key").ok());
}

// A throwaway RSA key and self-signed certificate, standing in for AWS's.
struct TestSigner {
  EVP_PKEY* key = nullptr;
  std::string cert_pem;
  TestSigner() {
    key = EVP_RSA_gen(2048);
    X509* x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("sns.amazonaws.com"), -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_sign(x, key, EVP_sha256());
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char* data;
    long len = BIO_get_mem_data(b, &data);
    cert_pem.assign(data, len);
    BIO_free(b);
    X509_free(x);
  }
  ~TestSigner() { EVP_PKEY_free(key); }
  std::string Sign(const std::string& text, const EVP_MD* md) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, md, nullptr, key);
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(text.data()), text.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    std::string b64;
    absl::Base64Escape(sig, &b64);
    return b64;
  }
};

TEST(SnsSignatureTest, CanonicalStringMatchesTheDocumentedStart) {
  WebhookParser parser;
  auto got = parser.Parse(WebhookProvider::kSes,
                          test::ReadFile(test::FixturesDir() +
                                         "/webhooks/amazon_ses/sns_subscription_confirmation.json"));
  ASSERT_TRUE(got.ok());
  std::string s = SnsStringToSign(*got->sns);
  EXPECT_EQ(s.rfind("Message\nYou have chosen to subscribe to the topic "
                    "arn:aws:sns:us-east-1:123456789012:ses-feedback.\nTo confirm the subscription, "
                    "visit the SubscribeURL included in this message.\nMessageId\n"
                    "85484e75-4e6f-99d7-6018-bbbe6ee06768\nSubscribeURL\n"
                    "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&",
                    0),
            0u);
}

TEST(SnsSignatureTest, SignedWithConfiguredCertVerifiesTamperedFails) {
  TestSigner signer;
  auto verifier = SnsVerifier::Create(signer.cert_pem);
  ASSERT_TRUE(verifier.ok()) << verifier.status().message();
  WebhookParser parser;
  for (const char* f : {"sns_bounce_permanent_with_dsn.json", "sns_subscription_confirmation.json"}) {
    SCOPED_TRACE(f);
    auto got = parser.Parse(WebhookProvider::kSes,
                            test::ReadFile(test::FixturesDir() + "/webhooks/amazon_ses/" + f));
    ASSERT_TRUE(got.ok());
    SnsEnvelope env = *got->sns;
    EXPECT_FALSE(verifier->Verify(env).ok()) << "the fixture's placeholder signature";
    env.signature = signer.Sign(SnsStringToSign(env), EVP_sha1());
    EXPECT_TRUE(verifier->Verify(env).ok());
    SnsEnvelope v2 = env;
    v2.signature_version = "2";
    EXPECT_FALSE(verifier->Verify(v2).ok());
    v2.signature = signer.Sign(SnsStringToSign(v2), EVP_sha256());
    EXPECT_TRUE(verifier->Verify(v2).ok());
    SnsEnvelope t = env;
    t.message[5] ^= 1;
    EXPECT_FALSE(verifier->Verify(t).ok());
    t = env;
    t.signing_cert_url = "https://evil.example.com/cert.pem";
    EXPECT_FALSE(verifier->Verify(t).ok());
  }
  EXPECT_FALSE(SnsVerifier::Create("garbage").ok());
}

TEST(SnsSignatureTest, CertUrlMustBeAnSnsHost) {
  EXPECT_TRUE(IsSnsCertUrl("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem"));
  EXPECT_FALSE(IsSnsCertUrl("http://sns.us-east-1.amazonaws.com/x.pem"));
  EXPECT_FALSE(IsSnsCertUrl("https://sns.us-east-1.amazonaws.com.evil.example/x.pem"));
  EXPECT_FALSE(IsSnsCertUrl("https://sns.evil.example/x.amazonaws.com/x.pem"));
  EXPECT_FALSE(IsSnsCertUrl("https://sns.us-east-1.amazonaws.com@evil.example/x.pem"));
}

}  // namespace
}  // namespace salvo
