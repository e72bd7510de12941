#include "store/leads_request.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace salvo {
namespace {

TEST(LeadsRequestTest, OneLeadIsNormalizedLikeAnImportRow) {
  auto r = ParseLeadsRequest(
      R"({"email": " Ann@BÜCHER.de ", "opted_in_at": "2026-11-01T10:00:00Z",
          "consent_source": "form", "consent_ip": "192.0.2.1", "country": "DK", "score": 7,
          "gone": null})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->leads.size(), 1u);
  const Recipient& l = r->leads[0];
  EXPECT_EQ(l.address, "Ann@xn--bcher-kva.de");
  EXPECT_EQ(l.key, "ann@xn--bcher-kva.de");
  EXPECT_TRUE(l.HasConsent());
  EXPECT_EQ(l.consent.ip, "192.0.2.1");
  ASSERT_EQ(l.fields.size(), 2u);
  EXPECT_EQ(l.fields[0], (std::pair<std::string, std::string>("country", "DK")));
  EXPECT_EQ(l.fields[1], (std::pair<std::string, std::string>("score", "7")));
  EXPECT_EQ(r->index, std::vector<uint32_t>{0});
  EXPECT_TRUE(r->rejected.empty());
}

TEST(LeadsRequestTest, BadLeadsAreRejectedWithIndexAndReason) {
  auto r = ParseLeadsRequest(
      R"([{"email": "a@x.example"}, {"email": "bob@@x"}, 5, {"name": "no email"},
          {"email": "c@x.example", "opted_in_at": "yesterday"}, {"email": "d@x.example"}])");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->index, (std::vector<uint32_t>{0, 5}));
  ASSERT_EQ(r->rejected.size(), 4u);
  EXPECT_EQ(r->rejected[0].index, 1u);
  EXPECT_EQ(r->rejected[0].error, "invalid address \"bob@@x\": two '@'");
  EXPECT_EQ(r->rejected[1].index, 2u);
  EXPECT_EQ(r->rejected[1].error, "not a JSON object");
  EXPECT_EQ(r->rejected[2].error, "no \"email\" key");
  EXPECT_TRUE(absl::StrContains(r->rejected[3].error, "invalid opted_in_at")) << r->rejected[3].error;
}

TEST(LeadsRequestTest, MalformedRequestsAreErrors) {
  EXPECT_TRUE(absl::StrContains(ParseLeadsRequest("{").status().message(), "body: malformed JSON"));
  EXPECT_FALSE(ParseLeadsRequest("[]").ok());
  EXPECT_FALSE(ParseLeadsRequest("\"a@b.c\"").ok());
  std::string many = "[";
  for (size_t i = 0; i <= kMaxLeadsPerRequest; ++i)
    absl::StrAppend(&many, i ? "," : "", "{\"email\":\"a", i, "@x.example\"}");
  many += "]";
  auto r = ParseLeadsRequest(many);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "more than 1000")) << r.status();
}

}  // namespace
}  // namespace salvo
