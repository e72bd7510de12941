// store/api_key_store.h: a key is shown once and verified by its hash; scopes parse strictly;
// revoked and wrong keys do not verify; names are validated.
#include "store/api_key_store.h"

#include <gtest/gtest.h>

#include "tests/store/store_fixture.h"

namespace salvo {
namespace {

using ApiKeyStoreTest = StoreFixture;

TEST_F(ApiKeyStoreTest, CreateVerifyListRevoke) {
  ApiKeyStore keys(store_.get());
  auto shop = keys.Create("shop", kScopeMessages | kScopeSubmission, "transactional", 1796000000);
  ASSERT_TRUE(shop.ok()) << shop.status();
  ASSERT_EQ(shop->size(), 6u + 64u);
  EXPECT_EQ(shop->substr(0, 6), "salvo_");
  EXPECT_EQ(shop->find_first_not_of("0123456789abcdef", 6), std::string::npos);
  auto leads = keys.Create("leads-form", kScopeLeads, "", 1796000001);
  ASSERT_TRUE(leads.ok());
  EXPECT_NE(*shop, *leads);

  auto v = keys.Verify(*shop);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->name, "shop");
  EXPECT_EQ(v->scopes, kScopeMessages | kScopeSubmission);
  EXPECT_EQ(v->route, "transactional");
  EXPECT_EQ(v->created_at, 1796000000);
  v = keys.Verify(*leads);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->name, "leads-form");

  std::string wrong = *shop;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  for (const std::string& k : {wrong, std::string(""), std::string("salvo_"),
                               std::string(100000, 'a')}) {
    auto bad = keys.Verify(k);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(bad.status().message(), "unknown api key");  // never echoes the key
  }

  auto list = keys.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "leads-form");
  EXPECT_EQ((*list)[1].name, "shop");
  // Only the hash is stored, never the key.
  EXPECT_EQ((*list)[1].sha256.size(), kApiKeyHashBytes);
  EXPECT_EQ((*list)[1].sha256.find(shop->substr(6, 16)), std::string::npos);

  auto dup = keys.Create("shop", kScopeLeads, "", 1);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "api key \"shop\" already exists");

  ASSERT_TRUE(keys.Revoke("shop").ok());
  EXPECT_EQ(keys.Verify(*shop).status().code(), absl::StatusCode::kUnauthenticated);
  absl::Status st = keys.Revoke("shop");
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "no api key \"shop\"");
  EXPECT_TRUE(keys.Verify(*leads).ok());
}

TEST_F(ApiKeyStoreTest, NamesAndScopesAreValidated) {
  ApiKeyStore keys(store_.get());
  for (const char* name : {"", "has space", "a/b", "x\n", "é"}) {
    auto r = keys.Create(name, kScopeLeads, "", 1);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_FALSE(keys.Create(std::string(65, 'a'), kScopeLeads, "", 1).ok());
  EXPECT_EQ(keys.Create("ok", 0, "", 1).status().code(), absl::StatusCode::kInvalidArgument);

  auto s = ParseApiScopes("leads,messages,submission");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, kAllApiScopes);
  EXPECT_EQ(ApiScopesText(*s), "leads,messages,submission");
  EXPECT_EQ(ApiScopesText(kScopeSubmission | kScopeLeads), "leads,submission");
  auto bad = ParseApiScopes("leads,admin");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unknown scope \"admin\" (known: leads, messages, submission)");
  EXPECT_FALSE(ParseApiScopes("").ok());
  EXPECT_FALSE(ParseApiScopes("leads,,messages").ok());
  EXPECT_FALSE(ParseApiScopes("leads,leads").ok());
  EXPECT_FALSE(ParseApiScopes("Leads").ok());
}

TEST(ApiKeyCodec, DamagedRecordIsDataLoss) {
  ApiKey k;
  k.scopes = kScopeLeads;
  k.sha256.assign(kApiKeyHashBytes, 'h');
  std::string v;
  EncodeApiKey(k, &v);
  ApiKey back;
  ASSERT_TRUE(DecodeApiKey("n", v, &back).ok());
  EXPECT_EQ(DecodeApiKey("n", v.substr(0, v.size() - 1), &back).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_FALSE(DecodeApiKey("n", v + "x", &back).ok());
  EXPECT_FALSE(DecodeApiKey("n", "", &back).ok());
}

}  // namespace
}  // namespace salvo
