#include "engine/preflight/dkim_record.h"

#include <gtest/gtest.h>

#include "engine/dkim/dkim_key.h"

namespace salvo {
namespace {

TEST(DkimRecord, ParsesWhatKeygenPublishes) {
  auto key = DkimKey::Generate(DkimAlgorithm::kRsaSha256, 2048);
  ASSERT_TRUE(key.ok());
  auto txt = (*key)->DnsTxtRecord();
  ASSERT_TRUE(txt.ok());
  auto r = ParseDkimKeyRecord(*txt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->k, "rsa");
  EXPECT_FALSE(r->testing);
  EXPECT_EQ(RsaPublicKeyBits(r->p), 2048);
}

TEST(DkimRecord, FlagsAndErrors) {
  auto r = ParseDkimKeyRecord("v=DKIM1; k=ed25519; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->testing);
  EXPECT_EQ(RsaPublicKeyBits(r->p), 0);
  EXPECT_TRUE(ParseDkimKeyRecord("v=DKIM1; p=").ok());  // revoked
  EXPECT_FALSE(ParseDkimKeyRecord("v=DKIM1; k=dsa; p=AAAA").ok());
  EXPECT_FALSE(ParseDkimKeyRecord("v=DKIM1; k=rsa").ok());
  EXPECT_FALSE(ParseDkimKeyRecord("v=DKIM2; p=AAAA").ok());
  EXPECT_FALSE(ParseDkimKeyRecord("p=!!!!").ok());
}

}  // namespace
}  // namespace salvo
