#include "engine/config/responder_config.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "engine/config/config.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

constexpr char kBase[] = R"(
[[account]]
name = "tx"
host = "smtp.example.com"
[[route]]
name = "transactional"
purpose = "responder"
accounts = [ { name = "tx" } ]
[[route]]
name = "bulk"
accounts = [ { name = "tx" } ]
)";

absl::StatusOr<Config> Parse(const std::string& extra) {
  return ParseConfig(std::string(kBase) + extra, "/etc/salvo/salvo.toml");
}

TEST(ResponderConfigTest, ParsesRespondersAndDeliveries) {
  auto c = Parse(R"(
[[responder]]
name = "dk-welcome"
list = "dk-leads"
template = "responders/welcome.toml"
route = "transactional"
kind = "confirmation"
delay = "0s"
segment = 'country = "DK"'
[[responder]]
name = "dk-follow-up"
list = "dk-leads"
template = "/abs/follow.toml"
route = "transactional"
kind = "marketing"
delay = "2d"
[[responder]]
name = "doi"
list = "doi-leads"
template = "doi.toml"
route = "transactional"
kind = "double_opt_in"
[[responder]]
name = "doi-welcome"
list = "doi-leads"
template = "doi.toml"
route = "transactional"
kind = "marketing"
after = "confirmed"
[[delivery]]
name = "buyer-notify"
list = "dk-leads"
to = ["buyer@acme.example"]
template = "deliveries/new_lead.toml"
route = "transactional"
)");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->responders.size(), 4u);
  const ResponderConfig& w = c->responders[0];
  EXPECT_EQ(w.name, "dk-welcome");
  EXPECT_EQ(w.list, "dk-leads");
  EXPECT_EQ(w.template_file, "/etc/salvo/responders/welcome.toml");
  EXPECT_EQ(w.kind, ResponderKind::kConfirmation);
  EXPECT_EQ(w.delay, absl::ZeroDuration());
  EXPECT_EQ(w.segment, "country = \"DK\"");
  EXPECT_EQ(c->responders[1].kind, ResponderKind::kMarketing);
  EXPECT_EQ(c->responders[1].delay, absl::Hours(48));
  EXPECT_EQ(c->responders[1].template_file, "/abs/follow.toml");
  EXPECT_EQ(c->responders[2].kind, ResponderKind::kDoubleOptIn);
  EXPECT_EQ(c->responders[3].after, "confirmed");
  ASSERT_EQ(c->deliveries.size(), 1u);
  EXPECT_EQ(c->deliveries[0].to, std::vector<std::string>{"buyer@acme.example"});
  EXPECT_EQ(c->deliveries[0].template_file, "/etc/salvo/deliveries/new_lead.toml");
}

void ExpectError(const std::string& extra, const std::string& part) {
  auto c = Parse(extra);
  ASSERT_FALSE(c.ok()) << extra;
  EXPECT_TRUE(absl::StrContains(c.status().message(), part)) << c.status();
}

TEST(ResponderConfigTest, ErrorsNameFileLineAndKey) {
  const std::string ok_head =
      "[[responder]]\nname = \"r1\"\nlist = \"l\"\ntemplate = \"t.toml\"\n";
  ExpectError(ok_head + "route = \"bulk\"\n",
              "salvo.toml:12: [[responder]] \"r1\": \"route\" \"bulk\" has purpose = \"bulk\"");
  ExpectError(ok_head + "route = \"nope\"\n", "\"route\" names \"nope\", which no [[route]] defines");
  ExpectError(ok_head + "route = \"transactional\"\nkind = \"spam\"\n",
              "salvo.toml:17: \"responder.kind\": must be confirmation, marketing or double_opt_in");
  ExpectError(ok_head + "route = \"transactional\"\ncolour = \"red\"\n",
              "unknown key \"responder.colour\"");
  ExpectError(ok_head + "route = \"transactional\"\ndelay = \"soon\"\n", "responder.delay");
  ExpectError(ok_head + "route = \"transactional\"\nsegment = 'country ='\n", "responder.segment");
  ExpectError("[[responder]]\nname = \"r1\"\ntemplate = \"t.toml\"\nroute = \"transactional\"\n",
              "[[responder]] \"r1\": needs \"list\"");
  ExpectError("[[responder]]\nname = \"r1\"\nlist = \"l\"\nroute = \"transactional\"\n",
              "needs \"template\"");
  ExpectError(ok_head + "route = \"transactional\"\n" + ok_head + "route = \"transactional\"\n",
              "\"r1\": defined twice");
  ExpectError(ok_head + "route = \"transactional\"\nkind = \"marketing\"\nafter = \"confirmed\"\n",
              "list \"l\" has no double_opt_in responder");
  ExpectError("[[delivery]]\nname = \"d\"\nlist = \"l\"\ntemplate = \"t.toml\"\n"
              "route = \"transactional\"\n",
              "[[delivery]] \"d\": needs \"to\"");
}

TEST(ResponderConfigTest, LoadConfigReadsTheTemplates) {
  test::TempDir dir;
  dir.Write("t.html", "<p>hi</p>");
  dir.Write("welcome.toml", "from = \"a@example.com\"\nsubject = \"Hi\"\nhtml_file = \"t.html\"\n");
  dir.Write("listed.toml", "list = \"x\"\nfrom = \"a@example.com\"\nsubject = \"Hi\"\nhtml_file = \"t.html\"\n");
  const std::string head = std::string(kBase) +
                           "[[responder]]\nname = \"w\"\nlist = \"l\"\nroute = \"transactional\"\n";
  auto c = LoadConfig(dir.Write("a.toml", head + "template = \"welcome.toml\"\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->responders[0].tmpl.id, "w");  // the responder's name when the template has no id
  EXPECT_EQ(c->responders[0].tmpl.html_file, dir.File("t.html"));
  auto missing = LoadConfig(dir.Write("b.toml", head + "template = \"nope.toml\"\n"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "[[responder]] \"w\": template:"))
      << missing.status();
  auto listed = LoadConfig(dir.Write("c.toml", head + "template = \"listed.toml\"\n"));
  ASSERT_FALSE(listed.ok());
  EXPECT_TRUE(absl::StrContains(listed.status().message(), "\"list\" is set by the [[responder]]"))
      << listed.status();
}

}  // namespace
}  // namespace salvo
