#include "engine/preflight/list_hygiene.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace salvo {
namespace {

Recipient Member(const std::string& addr, const std::string& opted_in) {
  Recipient r;
  r.address = r.key = addr;
  r.consent.opted_in_at = opted_in;
  return r;
}

TEST(ListHygiene, CountsAndReport) {
  // now = 2026-12-01, max age 365 days.
  const int64_t now = 1796083200LL * 1000000;
  ListHygiene h(now, 365LL * 86400 * 1000000);
  for (int i = 0; i < 7; ++i) h.Add(Member(absl::StrCat("u", i, "@a.test"), "2026-06-01T00:00:00Z"), false);
  for (int i = 0; i < 3; ++i) h.Add(Member(absl::StrCat("n", i, "@b.test"), ""), false);
  h.Add(Member("old@a.test", "2020-01-01T00:00:00Z"), false);
  h.Add(Member("Postmaster@c.test", "2026-06-01T00:00:00Z"), false);
  h.Add(Member("gone@a.test", "2026-06-01T00:00:00Z"), true);
  EXPECT_EQ(h.members(), 13u);
  EXPECT_EQ(h.no_consent(), 3u);
  EXPECT_EQ(h.old_consent(), 1u);  // old@ (2020); the others consented in June
  EXPECT_EQ(h.roles(), 1u);
  EXPECT_EQ(h.suppressed(), 1u);
  EXPECT_EQ(h.eligible(), 9u);
  auto top = h.TopDomains(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].first, "a.test");
  EXPECT_EQ(top[0].second, 8u);
  PreflightReport rep;
  h.Report(&rep);
  EXPECT_TRUE(absl::StrContains(rep.Find("list.consent")->found, "3 of 13 in the segment (23 %)"))
      << rep.ToText();
  EXPECT_EQ(rep.Find("list.roles")->status, CheckStatus::kWarn);
  EXPECT_TRUE(absl::StrContains(rep.Find("list.roles")->found, "Postmaster@c.test"));
}

TEST(ListHygiene, RoleAddresses) {
  EXPECT_TRUE(IsRoleAddress("info@x.test"));
  EXPECT_TRUE(IsRoleAddress("NoReply@x.test"));
  EXPECT_FALSE(IsRoleAddress("ann@x.test"));
  EXPECT_FALSE(IsRoleAddress("info"));
}

}  // namespace
}  // namespace salvo
