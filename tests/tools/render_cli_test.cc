// salvo render / salvo dkim keygen end to end: keys from `dkim keygen`, recipients from
// `salvo import`, messages from `salvo render` (one and --all), checked by Python email + dkimpy;
// the link table is in the store afterwards.
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "store/link_store.h"
#include "store/store.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {
namespace {

// The TXT value printed by `dkim keygen` ("name. IN TXT ( "chunk" "chunk" )").
std::string TxtValue(const std::string& out) {
  size_t open = out.find("IN TXT ( ");
  size_t close = out.find(" )", open);
  std::string v;
  bool in = false;
  for (size_t i = open + 9; i < close; ++i) {
    if (out[i] == '"') in = !in;
    else if (in) v.push_back(out[i]);
  }
  return v;
}

TEST(RenderCli, KeygenImportRenderVerify) {
  TempDir d;
  RunResult rsa = RunProcess({SalvoBin(), "dkim", "keygen", "--type", "rsa", "--selector", "r1",
                              "--domain", "example.com", "--out", d.File("rsa.pem")});
  ASSERT_EQ(rsa.exit_code, 0) << rsa.err;
  EXPECT_NE(rsa.out.find("r1._domainkey.example.com. IN TXT"), std::string::npos) << rsa.out;
  RunResult ed = RunProcess({SalvoBin(), "dkim", "keygen", "--type", "ed25519", "--selector",
                             "e1", "--domain", "example.com", "--out", d.File("ed.pem")});
  ASSERT_EQ(ed.exit_code, 0) << ed.err;
  // Never overwrites a key silently.
  RunResult again = RunProcess({SalvoBin(), "dkim", "keygen", "--type", "ed25519", "--selector",
                                "e1", "--domain", "example.com", "--out", d.File("ed.pem")});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_EQ(std::filesystem::status(d.File("rsa.pem")).permissions() &
                std::filesystem::perms::group_read,
            std::filesystem::perms::none);

  d.Write("tk", "cli-test-secret-0123456789\n");
  d.Write("salvo.toml",
          "data_dir = \"data\"\n[tracking]\nbase_url = \"https://click.example.com\"\n"
          "secret_file = \"tk\"\nunsubscribe_mailto = \"unsubscribe@example.com\"\n"
          "[[dkim]]\ndomain = \"example.com\"\nselector = \"r1\"\nkey_file = \"rsa.pem\"\n"
          "[[dkim]]\ndomain = \"example.com\"\nselector = \"e1\"\nkey_file = \"ed.pem\"\n");
  std::filesystem::create_directories(d.File("camp"));
  d.Write("camp/nov.toml",
          "id = \"nov-promo\"\nlist = \"dk-leads\"\nfrom = \"Acme News <news@example.com>\"\n"
          "subject = \"Hi {{first_name|there}}, your picks\"\nhtml_file = \"nov.html\"\n"
          "track_opens = true\n");
  d.Write("camp/nov.html",
          "<html><body><p>Hi {{first_name|there}} from {{city}}</p>"
          "<a href=\"https://shop.example.com/x\">Shop</a> <a href=\"https://shop.example.com/y\">Y</a>"
          "<a href=\"{{unsubscribe_url}}\">Unsubscribe</a></body></html>");
  d.Write("l.csv",
          "email,first_name,city,opted_in_at,consent_source\n"
          "anna@example.org,Anna,Aarhus,2026-01-01T00:00:00Z,form\n"
          "\"bob@example.org\",\"Bob \"\"the\"\"\nBcc: x@y\",Odense,2026-01-01T00:00:00Z,form\n"
          "eve@example.net,=?utf-8?q?evil?=,K\xC3\xB8ge,2026-01-01T00:00:00Z,form\n");
  RunResult imp = RunProcess({SalvoBin(), "import", "-c", d.File("salvo.toml"), "--list",
                              "dk-leads", d.File("l.csv")});
  ASSERT_EQ(imp.exit_code, 0) << imp.out << imp.err;

  RunResult one = RunProcess({SalvoBin(), "render", "-c", d.File("salvo.toml"), "--campaign",
                              d.File("camp/nov.toml"), "--to", "Anna@Example.org"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out.rfind("Return-Path: <bounces+", 0), 0u) << one.out.substr(0, 200);
  EXPECT_NE(one.out.find("Subject: Hi Anna, your picks\r\n"), std::string::npos);
  EXPECT_EQ(one.err, "");

  RunResult unknown = RunProcess({SalvoBin(), "render", "-c", d.File("salvo.toml"), "--campaign",
                                  d.File("camp/nov.toml"), "--to", "nobody@example.org",
                                  "--out", d.File("nobody.eml")});
  ASSERT_EQ(unknown.exit_code, 0) << unknown.err;
  EXPECT_NE(unknown.err.find("not in the store"), std::string::npos);
  EXPECT_NE(ReadFile(d.File("nobody.eml")).find("Subject: Hi there, your picks"),
            std::string::npos);

  RunResult all = RunProcess({SalvoBin(), "render", "-c", d.File("salvo.toml"), "--campaign",
                              d.File("camp/nov.toml"), "--all", "--out-dir", d.File("out")});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("rendered 3 messages"), std::string::npos) << all.out;
  RunResult lim = RunProcess({SalvoBin(), "render", "-c", d.File("salvo.toml"), "--campaign",
                              d.File("camp/nov.toml"), "--all", "--out-dir", d.File("out2"),
                              "--limit", "2"});
  EXPECT_NE(lim.out.find("rendered 2 messages"), std::string::npos) << lim.out;

  // Independent check of the --all output (the Return-Path line is a header to Python).
  std::ofstream(d.File("out/check.json"))
      << "{\"base_url\": \"https://click.example.com\", \"signatures\": 2, \"dns\": {"
      << "\"r1._domainkey.example.com\": \"" << TxtValue(rsa.out) << "\", "
      << "\"e1._domainkey.example.com\": \"" << TxtValue(ed.out) << "\"}}";
  RunResult py = RunProcess({"/usr/bin/python3", SourceRoot() + "/tests/engine/mime/check_messages.py",
                             d.File("out")});
  EXPECT_EQ(py.exit_code, 0) << py.out << py.err;
  EXPECT_NE(py.out.find("checked 3 messages, 0 failed"), std::string::npos) << py.out;

  // The link table is stored for the click redirector.
  auto store = Store::Open({d.File("data")});
  ASSERT_TRUE(store.ok()) << store.status();
  LinkStore links(store->get());
  auto l0 = links.Get("nov-promo", 0);
  ASSERT_TRUE(l0.ok());
  ASSERT_TRUE(l0->has_value());
  EXPECT_EQ(**l0, "https://shop.example.com/x");
  auto l1 = links.Get("nov-promo", 1);
  ASSERT_TRUE(l1.ok() && l1->has_value());
  EXPECT_EQ(**l1, "https://shop.example.com/y");
  auto l2 = links.Get("nov-promo", 2);
  ASSERT_TRUE(l2.ok());
  EXPECT_FALSE(l2->has_value());
}

TEST(RenderCli, BadKeyIsAClearStartupError) {
  TempDir d;
  d.Write("tk", "secret-secret-secret\n");
  d.Write("bad.pem", "not a key\n");
  d.Write("salvo.toml",
          "data_dir = \"data\"\n[tracking]\nbase_url = \"https://click.example.com\"\n"
          "secret_file = \"tk\"\n[[dkim]]\ndomain = \"example.com\"\nselector = \"s\"\n"
          "key_file = \"bad.pem\"\n");
  d.Write("c.toml", "id = \"c\"\nlist = \"l\"\nfrom = \"a@example.com\"\nsubject = \"s\"\n"
                    "html_file = \"c.html\"\n");
  d.Write("c.html", "<p>x</p>");
  RunResult r = RunProcess({SalvoBin(), "render", "-c", d.File("salvo.toml"), "--campaign",
                            d.File("c.toml"), "--to", "x@example.org"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bad.pem"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace salvo::test
