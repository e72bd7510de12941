#include "engine/policy/routing.h"

#include <gtest/gtest.h>

#include <map>

#include "engine/policy/weighted_rr.h"

namespace salvo {
namespace {

TEST(SmoothWrr, NginxSequenceAndShares) {
  SmoothWrr w({5, 1, 1});
  std::string seq;
  for (int i = 0; i < 7; ++i) seq.push_back(static_cast<char>('a' + w.Next()));
  EXPECT_EQ(seq, "aabacaa");  // nginx's documented order for {a:5, b:1, c:1}
  SmoothWrr w2({3, 1});
  std::map<int, int> n;
  for (int i = 0; i < 4000; ++i) n[w2.Next()]++;
  EXPECT_EQ(n[0], 3000);
  EXPECT_EQ(n[1], 1000);
}

TEST(SmoothWrr, SkipsUnavailable) {
  SmoothWrr w({3, 1, 2});
  std::map<int, int> n;
  for (int i = 0; i < 3000; ++i) n[w.Next([](size_t i) { return i != 0; })]++;
  EXPECT_EQ(n[0], 0);
  EXPECT_EQ(n[1], 1000);
  EXPECT_EQ(n[2], 2000);
  EXPECT_EQ(w.Next([](size_t) { return false; }), -1);
}

TEST(EgressPicker, TwoLevelShares) {
  EgressPicker p({3, 1}, {2, 1});
  std::map<std::pair<int, int>, int> n;
  for (int i = 0; i < 4000; ++i) {
    Egress e = p.Next([](size_t) { return true; }, [](size_t, int) { return true; });
    n[{e.account, e.ip}]++;
  }
  EXPECT_EQ(n[std::make_pair(0, 0)], 1500);
  EXPECT_EQ(n[std::make_pair(0, 1)], 1500);
  EXPECT_EQ(n[std::make_pair(1, 0)], 1000);
  // Account 0's IP 1 unavailable: account 0 keeps its share through IP 0.
  n.clear();
  for (int i = 0; i < 4000; ++i) {
    Egress e = p.Next([](size_t) { return true; }, [](size_t a, int ip) { return !(a == 0 && ip == 1); });
    n[{e.account, e.ip}]++;
  }
  EXPECT_EQ(n[std::make_pair(0, 0)], 3000);
  EXPECT_EQ(n[std::make_pair(1, 0)], 1000);
  // No IPs configured: ip = -1.
  EgressPicker q({1}, {0});
  Egress e = q.Next([](size_t) { return true; }, [](size_t, int) { return true; });
  EXPECT_EQ(e.account, 0);
  EXPECT_EQ(e.ip, -1);
  e = q.Next([](size_t) { return false; }, [](size_t, int) { return true; });
  EXPECT_EQ(e.account, -1);
}

Config TestConfig() {
  Config c;
  c.path = "salvo.toml";
  RouteConfig dk{"denmark", {"dk-leads"}, "bulk", false, {{"sg-dk", 1}}};
  RouteConfig def{"default", {}, "bulk", true, {{"sg-bulk", 3}, {"mg-bulk", 1}}};
  RouteConfig resp{"responder", {"signups"}, "responder", false, {{"pm-tx", 1}}};
  c.routes = {dk, def, resp};
  return c;
}

TEST(SelectRoute, ExplicitThenListThenDefault) {
  Config c = TestConfig();
  EXPECT_EQ((*SelectRoute(c, "responder", "dk-leads"))->name, "responder");
  EXPECT_EQ((*SelectRoute(c, "", "dk-leads"))->name, "denmark");
  EXPECT_EQ((*SelectRoute(c, "", "signups"))->name, "responder");
  EXPECT_EQ((*SelectRoute(c, "", "other"))->name, "default");
  auto bad = SelectRoute(c, "nope", "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"nope\""), std::string::npos);
  c.routes.erase(c.routes.begin() + 1);
  auto none = SelectRoute(c, "", "other");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("\"other\""), std::string::npos);
}

}  // namespace
}  // namespace salvo
