#include "engine/dkim/dkim_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "engine/dkim/dkim_signer.h"
#include "gtest/gtest.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

TEST(DkimKey, GenerateLoadAndPublish) {
  for (auto alg : {DkimAlgorithm::kRsaSha256, DkimAlgorithm::kEd25519Sha256}) {
    auto k = DkimKey::Generate(alg);
    ASSERT_TRUE(k.ok()) << k.status();
    test::TempDir dir;
    std::string path = dir.Write("k.pem", *(*k)->PrivatePem());
    auto loaded = DkimKey::LoadFile(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ((*loaded)->algorithm(), alg);
    auto txt = (*loaded)->DnsTxtRecord();
    ASSERT_TRUE(txt.ok());
    EXPECT_EQ(*txt, *(*k)->DnsTxtRecord());
    EXPECT_EQ(txt->rfind(alg == DkimAlgorithm::kRsaSha256 ? "v=DKIM1; k=rsa; p=MII"
                                                          : "v=DKIM1; k=ed25519; p=",
                         0),
              0u)
        << *txt;
    if (alg == DkimAlgorithm::kEd25519Sha256) { EXPECT_EQ(txt->size(), 22u + 44u); }
  }
}

TEST(DkimKey, ErrorsNameTheFile) {
  test::TempDir dir;
  auto missing = DkimKey::LoadFile(dir.File("nope.pem"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.pem"), std::string::npos);
  auto garbage = DkimKey::LoadFile(dir.Write("bad.pem", "-----BEGIN PRIVATE KEY-----\nxx\n"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("bad.pem"), std::string::npos);
}

TEST(DkimKey, WeakRsaRefused) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr);
  ASSERT_NE(ctx, nullptr);
  EVP_PKEY* pkey = nullptr;
  ASSERT_EQ(EVP_PKEY_keygen_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 1024), 1);
  ASSERT_EQ(EVP_PKEY_keygen(ctx, &pkey), 1);
  EVP_PKEY_CTX_free(ctx);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  auto k = DkimKey::FromPem(pem, "weak.pem");
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("weak.pem"), std::string::npos);
  EXPECT_NE(k.status().message().find("2048"), std::string::npos);
  EXPECT_FALSE(DkimKey::Generate(DkimAlgorithm::kRsaSha256, 1024).ok());
}

TEST(DkimSigner, RelaxedHeaderCanonicalization) {
  std::string out;
  AppendRelaxedHeader("SubJect ", " Hello \t world\r\n  again  ", &out);
  EXPECT_EQ(out, "subject:Hello world again");
}

TEST(DkimSigner, RejectsBadDomainOrSelector) {
  auto k = DkimKey::Generate(DkimAlgorithm::kEd25519Sha256);
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(DkimSigner::Create("exa mple.com", "s", *k).ok());
  EXPECT_FALSE(DkimSigner::Create("example.com", "s;x=1", *k).ok());
  EXPECT_TRUE(DkimSigner::Create("example.com", "s2026", *k).ok());
}

}  // namespace
}  // namespace salvo
