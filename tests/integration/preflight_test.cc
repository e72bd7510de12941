// `salvo preflight` against real servers on loopback: dnsmasq serving a good zone and broken
// variants, salvo-sink as the accounts' SMTP servers, a Python HTTPS server for the tracking host
// (its certificate signed by a CA made here, trusted through SSL_CERT_FILE). Each broken variant
// fails exactly the check that should fail, with the fix naming the record.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/base/clock.h"
#include "store/account_store.h"
#include "tests/integration/campaign_fixture.h"

namespace salvo::test {
namespace {

using Zone = std::vector<std::string>;  // dnsmasq options

// The good zone for From shop.test, DKIM s1 (key `dkim_p`), tracking click.shop.test,
// own IP 127.0.0.1 (PTR mta.shop.test), partner account smtp.sendgrid.net.
Zone GoodZone(const std::string& dkim_p) {
  return {
      "--txt-record=shop.test,v=spf1 ip4:127.0.0.1 include:sendgrid.net -all",
      "--txt-record=sendgrid.net,v=spf1 ip4:167.89.0.0/17 ~all",
      "--txt-record=s1._domainkey.shop.test,v=DKIM1; k=ed25519; p=" + dkim_p,
      "--txt-record=_dmarc.shop.test,v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.test",
      "--address=/click.shop.test/127.0.0.1",
      "--address=/mx.shop.test/127.0.0.1",
      "--address=/mta.shop.test/127.0.0.1",
      "--address=/smtp.sendgrid.net/127.0.0.1",
      "--mx-host=shop.test,mx.shop.test,10",
      "--mx-host=customers.test,mx.shop.test,10",
      "--ptr-record=1.0.0.127.in-addr.arpa,mta.shop.test",
  };
}

// The zone without the options starting with `prefix`, plus `add`.
Zone Without(Zone z, const std::string& prefix, const Zone& add = {}) {
  std::erase_if(z, [&](const std::string& o) { return absl::StartsWith(o, prefix); });
  z.insert(z.end(), add.begin(), add.end());
  return z;
}

Zone With(Zone z, const Zone& add) {
  z.insert(z.end(), add.begin(), add.end());
  return z;
}

class Dnsmasq {
 public:
  Dnsmasq(const TempDir& dir, const std::string& name, const Zone& zone) {
    port_ = FreePort("127.0.0.1");
    std::vector<std::string> argv = {"/usr/sbin/dnsmasq", "--keep-in-foreground", "--no-resolv",
                                     "--no-hosts", "--conf-file=/dev/null",
                                     absl::StrCat("--port=", port_), "--listen-address=127.0.0.1",
                                     "--bind-interfaces", "--local=/test/", "--local=/sendgrid.net/",
                                     "--local=/in-addr.arpa/", "--pid-file=", "--user=root"};
    argv.insert(argv.end(), zone.begin(), zone.end());
    proc_ = std::make_unique<Subprocess>(argv, std::map<std::string, std::string>{},
                                         dir.File(name + ".dnsmasq.log"));
    EXPECT_TRUE(WaitForUdp()) << proc_->Log();
  }
  int port() const { return port_; }

 private:
  // dnsmasq binds UDP and TCP together: TCP accepting means it answers.
  bool WaitForUdp() { return WaitForPort("127.0.0.1", port_, std::chrono::seconds(10)); }
  int port_;
  std::unique_ptr<Subprocess> proc_;
};

struct Report {
  int exit_code = -1;
  std::string json, err;
  // "id:status" of every check.
  std::vector<std::string> Fails() const {
    std::vector<std::string> out;
    for (absl::string_view part : absl::StrSplit(json, "{\"id\":\"")) {
      size_t q = part.find('"');
      if (q == absl::string_view::npos) continue;
      if (absl::StrContains(part.substr(0, 120), "\"status\":\"fail\""))
        out.push_back(std::string(part.substr(0, q)));
    }
    return out;
  }
  // The JSON object of the first check `id`.
  std::string Check(const std::string& id) const {
    size_t p = json.find("{\"id\":\"" + id + "\"");
    if (p == std::string::npos) return "";
    return json.substr(p, json.find('}', p) - p + 1);
  }
};

class Preflight : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::make_unique<Sink>(dir_, "sink");
    // DKIM key (ed25519: its TXT fits one string) and its p=.
    RunResult k = Salvo({"dkim", "keygen", "--type", "ed25519", "--selector", "s1", "--domain",
                         "shop.test", "--out", dir_.File("dkim.pem")});
    ASSERT_EQ(k.exit_code, 0) << k.err;
    size_t p = k.out.find("p=");
    ASSERT_NE(p, std::string::npos);
    dkim_p_ = k.out.substr(p + 2, k.out.find('"', p) - p - 2);
    RunResult other = Salvo({"dkim", "keygen", "--type", "ed25519", "--selector", "s1", "--domain",
                             "shop.test", "--out", dir_.File("other.pem")});
    p = other.out.find("p=");
    other_p_ = other.out.substr(p + 2, other.out.find('"', p) - p - 2);
    MakeHttps();
    AddMembers("news", 200, 0);
    good_campaign_ = WriteCampaign("good", "Our December newsletter",
        "<html><body><h1>News from the shop</h1><p>This month we opened a second store and added "
        "winter opening hours. Read <a href=\"https://click.shop.test/news\">the details</a>.</p>"
        "</body></html>");
  }

  // `n` members of `list` at customers.test; those with i % 10 < no_consent_per_10 without consent.
  void AddMembers(const std::string& list, int n, int no_consent_per_10) {
    auto store = Store::Open({dir_.File("data")});
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<Recipient> batch;
    for (int i = 0; i < n; ++i) {
      Recipient r;
      r.address = absl::StrCat(list, i, "@customers.test");
      r.key = r.address;
      r.shard = ShardOf(r.key);
      if (i % 10 >= no_consent_per_10) r.consent.opted_in_at = "2026-01-01T00:00:00Z";
      batch.push_back(r);
    }
    ASSERT_TRUE(RecipientStore(store->get()).Upsert(list, batch).ok());
  }

  // A CA and a certificate for click.shop.test; an HTTPS server with it.
  void MakeHttps() {
    const std::string d = dir_.path();
    auto run = [&](const std::string& cmd) {
      RunResult r = RunProcess({"/bin/sh", "-c", cmd});
      ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
    };
    run("cd " + d + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem "
        "-days 2 -subj /CN=preflight-test-ca 2>/dev/null");
    run("cd " + d + " && openssl req -newkey rsa:2048 -nodes -keyout web.key -out web.csr "
        "-subj /CN=click.shop.test 2>/dev/null && printf 'subjectAltName=DNS:click.shop.test' > ext "
        "&& openssl x509 -req -in web.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out web.pem "
        "-days 2 -extfile ext 2>/dev/null");
    https_port_ = FreePort("127.0.0.1");
    https_ = std::make_unique<Subprocess>(
        std::vector<std::string>{"/usr/bin/python3", SourceRoot() + "/tests/integration/https_server.py",
                                 std::to_string(https_port_), dir_.File("web.pem"), dir_.File("web.key")},
        std::map<std::string, std::string>{}, dir_.File("https.log"));
    ASSERT_TRUE(WaitForPort("127.0.0.1", https_port_, std::chrono::seconds(10))) << https_->Log();
  }

  std::string WriteCampaign(const std::string& id, const std::string& subject, const std::string& html) {
    dir_.Write(id + ".html", html);
    return dir_.Write(id + ".toml", absl::StrCat("id = \"", id, "\"\nlist = \"news\"\n"
                                                 "from = \"Shop <news@shop.test>\"\nsubject = \"",
                                                 subject, "\"\nhtml_file = \"", dir_.File(id + ".html"),
                                                 "\"\n"));
  }

  // `extra`: keys added to the partner account `sg`.
  // `partner`: the route also sends through `sg` (smtp.sendgrid.net, which only our dnsmasq
  // resolves: preflight probes it there, but a real send could not reach it).
  std::string WriteConfig(int dns_port, const std::string& dkim_domain = "shop.test",
                          const std::string& extra = "", bool partner = true,
                          const std::string& tables = "") {
    dir_.Write("tracking.key", "0123456789abcdef0123456789abcdef");
    std::string t = absl::StrCat(
        "data_dir = \"", dir_.File("data"), "\"\n",
        "[tracking]\nbase_url = \"https://click.shop.test:", https_port_, "\"\nsecret_file = \"",
        dir_.File("tracking.key"), "\"\n",
        "[dns]\nservers = [\"127.0.0.1:", dns_port, "\"]\ntimeout = \"1s\"\n",
        "[[dkim]]\ndomain = \"", dkim_domain, "\"\nselector = \"s1\"\nkey_file = \"",
        dir_.File("dkim.pem"), "\"\n",
        "[[account]]\nname = \"own\"\nhost = \"127.0.0.1\"\nport = ", sink_->port(),
        "\ntls = \"none\"\nsource_ips = [\"127.0.0.1\"]\nehlo_name = \"mta.shop.test\"\n",
        "[[account]]\nname = \"sg\"\nhost = \"smtp.sendgrid.net\"\nport = ", sink_->port(),
        "\ntls = \"none\"\n", extra,
        "[[route]]\nname = \"r\"\ndefault = true\naccounts = [ { name = \"own\", weight = 1 }",
        partner ? ", { name = \"sg\", weight = 1 }" : "", " ]\n", tables);
    return dir_.Write("salvo.toml", t);
  }

  // `extra`: keys of the partner account; `tables`: TOML tables appended to the config.
  Report Run(const Zone& zone, const std::string& dkim_domain = "shop.test",
             const std::string& campaign = "", const std::string& extra = "",
             const std::string& tables = "") {
    Dnsmasq dns(dir_, "dns" + std::to_string(++runs_), zone);
    const std::string cfg = WriteConfig(dns.port(), dkim_domain, extra, true, tables);
    RunResult r = RunProcess({SalvoBin(), "preflight", "-c", cfg, "--campaign",
                              campaign.empty() ? good_campaign_ : campaign, "--json"},
                             "", std::chrono::seconds(120), {{"SSL_CERT_FILE", dir_.File("ca.pem")}});
    return {r.exit_code, r.out, r.err};
  }

  TempDir dir_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<Subprocess> https_;
  int https_port_ = 0;
  int runs_ = 0;
  std::string dkim_p_, other_p_, good_campaign_;
};

TEST_F(Preflight, GoodSetupPassesEveryCheck) {
  Report r = Run(GoodZone(dkim_p_));
  EXPECT_EQ(r.exit_code, 0) << r.json << r.err;
  EXPECT_TRUE(absl::StrContains(r.json, "\"fails\":0,\"warns\":0")) << r.json;
  for (const char* id : {"spf.record", "spf.limits", "spf.ip", "spf.partner", "dkim.record",
                         "dmarc.record", "dmarc.alignment", "tracking.dns", "tracking.domain",
                         "tracking.https", "mx.bounce", "mx.from", "ptr.ip", "ehlo.name",
                         "unsubscribe.headers", "content.score", "list.consent", "list.mx",
                         "account.smtp", "account.state", "capacity.today"})
    EXPECT_TRUE(absl::StrContains(r.Check(id), "\"status\":\"pass\"")) << id << ": " << r.json;
}

struct Variant {
  std::string name;
  std::function<Zone(const std::string& p, const std::string& other)> zone;
  std::string dkim_domain;
  std::string fails;     // the one check that must fail
  std::string fix_has;   // what its fix must name
};

TEST_F(Preflight, EachBrokenVariantFailsExactlyItsCheck) {
  std::string incl;
  for (int i = 1; i <= 10; ++i) absl::StrAppend(&incl, " include:i", i, ".shop.test");
  Zone eleven;
  for (int i = 1; i <= 10; ++i)
    eleven.push_back(absl::StrCat("--txt-record=i", i, ".shop.test,v=spf1 -all"));
  eleven.push_back("--txt-record=shop.test,v=spf1 ip4:127.0.0.1 include:sendgrid.net" + incl + " -all");
  const std::vector<Variant> variants = {
      {"no SPF", [](auto p, auto) { return Without(GoodZone(p), "--txt-record=shop.test,"); }, "",
       "spf.record", "publish TXT at shop.test: \\\"v=spf1 ip4:127.0.0.1 include:sendgrid.net -all\\\""},
      {"SPF without the partner's include",
       [](auto p, auto) {
         return Without(GoodZone(p), "--txt-record=shop.test,", {"--txt-record=shop.test,v=spf1 ip4:127.0.0.1 -all"});
       }, "", "spf.partner", "add include:sendgrid.net to the TXT at shop.test"},
      {"two SPF records",
       [](auto p, auto) { return With(GoodZone(p), {"--txt-record=shop.test,v=spf1 -all"}); }, "",
       "spf.record", "merge them into one TXT at shop.test"},
      {"SPF needing 11 lookups",
       [&](auto p, auto) { return Without(GoodZone(p), "--txt-record=shop.test,", eleven); }, "",
       "spf.limits", "at most 10 lookups"},
      {"SPF include loop",
       [](auto p, auto) {
         return Without(GoodZone(p), "--txt-record=shop.test,",
                        {"--txt-record=shop.test,v=spf1 ip4:127.0.0.1 include:sendgrid.net include:loop.shop.test -all",
                         "--txt-record=loop.shop.test,v=spf1 include:shop.test -all"});
       }, "", "spf.limits", "remove the include"},
      {"DKIM TXT holding another key",
       [](auto p, auto other) {
         return Without(GoodZone(p), "--txt-record=s1._domainkey",
                        {"--txt-record=s1._domainkey.shop.test,v=DKIM1; k=ed25519; p=" + other});
       }, "", "dkim.record", "publish TXT at s1._domainkey.shop.test"},
      {"no DKIM TXT", [](auto p, auto) { return Without(GoodZone(p), "--txt-record=s1._domainkey"); }, "",
       "dkim.record", "publish TXT at s1._domainkey.shop.test"},
      {"no DMARC", [](auto p, auto) { return Without(GoodZone(p), "--txt-record=_dmarc"); }, "",
       "dmarc.record", "publish TXT at _dmarc.shop.test"},
      {"DMARC adkim=s with a DKIM subdomain",
       [](auto p, auto) {
         return Without(GoodZone(p), "--txt-record=_dmarc",
                        {"--txt-record=_dmarc.shop.test,v=DMARC1; p=reject; adkim=s",
                         "--txt-record=s1._domainkey.mail.shop.test,v=DKIM1; k=ed25519; p=" + p});
       }, "mail.shop.test", "dmarc.alignment", "adkim=r"},
      {"tracking host that does not resolve",
       [](auto p, auto) { return Without(GoodZone(p), "--address=/click.shop.test/"); }, "",
       "tracking.dns", "click.shop.test"},
      {"PTR missing for a source IP",
       [](auto p, auto) { return Without(GoodZone(p), "--ptr-record=1.0.0.127"); }, "", "ptr.ip",
       "set its PTR to mta.shop.test"},
  };
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    Report r = Run(v.zone(dkim_p_, other_p_), v.dkim_domain.empty() ? "shop.test" : v.dkim_domain);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(absl::StrJoin(r.Fails(), ","), v.fails) << r.json << r.err;
    EXPECT_TRUE(absl::StrContains(r.Check(v.fails), v.fix_has)) << v.fix_has << "\n" << r.Check(v.fails);
  }
}

TEST_F(Preflight, SpammyContentFailsNamingTheRules) {
  const std::string spam = WriteCampaign(
      "spam", "ACT NOW: FREE MONEY WINNER!!!",
      "<html><body><p>Dear friend, this limited time offer is guaranteed. Click here:</p>"
      "<a href=\"https://evil.example.net/login\">www.paypal.com/account</a></body></html>");
  Report r = Run(GoodZone(dkim_p_), "shop.test", spam);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(absl::StrJoin(r.Fails(), ","), "content.score") << r.json;
  const std::string c = r.Check("content.score");
  for (const char* rule : {"SUBJECT_ALL_CAPS", "SPAM_PHRASE", "LINK_TEXT_OTHER_DOMAIN", "EXCLAMATION_RUN",
                           "paypal.com"})
    EXPECT_TRUE(absl::StrContains(c, rule)) << rule << ": " << c;
  // The plain newsletter of the good setup scores below warn_score.
  Report good = Run(GoodZone(dkim_p_));
  EXPECT_TRUE(absl::StrContains(good.Check("content.score"), "\"status\":\"pass\"")) << good.json;
}

TEST_F(Preflight, ConsentPauseAndCapacity) {
  AddMembers("thirty", 100, 3);  // 30 of 100 without consent
  {
    auto store = Store::Open({dir_.File("data")});
    ASSERT_TRUE(store.ok());
    AccountRecord paused;
    paused.paused = true;
    paused.reason = "account_credit";
    paused.reply = "550 5.7.1 out of credit";
    paused.changed_at = NowUnixSeconds();
    ASSERT_TRUE(AccountStore(store->get()).Put("own", paused).ok());
  }
  dir_.Write("thirty.html", "<html><body><p>Hello, here is our news for this month.</p></body></html>");
  const std::string c = dir_.Write("thirty.toml", absl::StrCat(
      "id = \"thirty\"\nlist = \"thirty\"\nfrom = \"Shop <news@shop.test>\"\nsubject = \"News\"\n"
      "html_file = \"", dir_.File("thirty.html"), "\"\n"));
  // `sg` may send 20 a day: 70 eligible take 4 days.
  Report r = Run(GoodZone(dkim_p_), "shop.test", c, "daily_limit = 20\n");
  const std::string consent = r.Check("list.consent");
  EXPECT_TRUE(absl::StrContains(consent, "\"status\":\"warn\"")) << r.json;
  EXPECT_TRUE(absl::StrContains(consent, "30 of 100 in the segment (30 %) have no consent")) << consent;
  const std::string state = r.Check("account.state");
  EXPECT_TRUE(absl::StrContains(state, "account own is paused: account_credit")) << r.json;
  EXPECT_TRUE(absl::StrContains(state, "top up the credit")) << state;
  EXPECT_TRUE(absl::StrContains(r.Check("capacity.today"), "70 eligible, 20 sendable today: about 4 days"))
      << r.json;
  // `sg` in warm-up since today: 5 today, 10 tomorrow, then warm (no cap): 3 days.
  const std::string today = absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  Report warm = Run(GoodZone(dkim_p_), "shop.test", c, "",
                    absl::StrCat("[[warmup]]\naccount = \"sg\"\nstart = \"", today,
                                 "\"\ndaily = [5, 10]\n"));
  const std::string capacity = warm.Check("capacity.today");
  EXPECT_TRUE(absl::StrContains(capacity, "\"status\":\"warn\"")) << warm.json;
  EXPECT_TRUE(absl::StrContains(
      capacity, "70 eligible, 5 sendable today: about 3 days; warm-up: sg day 1 of 2 (5 a day)"))
      << warm.json;
}

TEST_F(Preflight, SendStopsOnAFailAndRunsWithSkipPreflight) {
  Dnsmasq dns(dir_, "send", Without(GoodZone(dkim_p_), "--txt-record=_dmarc"));
  const std::string cfg = WriteConfig(dns.port(), "shop.test", "", /*partner=*/false);
  const std::map<std::string, std::string> env = {{"SSL_CERT_FILE", dir_.File("ca.pem")}};
  RunResult stopped = RunProcess({SalvoBin(), "send", "-c", cfg, "--campaign", good_campaign_, "--json"},
                                 "", std::chrono::seconds(120), env);
  EXPECT_EQ(stopped.exit_code, 1) << stopped.err;
  EXPECT_TRUE(absl::StrContains(stopped.out, "dmarc.record")) << stopped.out;
  EXPECT_TRUE(absl::StrContains(stopped.err, "preflight failed")) << stopped.err;
  RunResult sched = RunProcess({SalvoBin(), "campaign", "schedule", "-c", cfg, "--campaign",
                                good_campaign_, "--at", "now"}, "", std::chrono::seconds(120), env);
  EXPECT_EQ(sched.exit_code, 1) << sched.err;
  RunResult sent = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign",
                               good_campaign_, "--json"}, "", std::chrono::seconds(120), env);
  EXPECT_EQ(sent.exit_code, 0) << sent.err;
  EXPECT_GT(JsonInt(sent.out, "delivered"), 0) << sent.out;
  EXPECT_TRUE(sink_->StopAndRead().size() > 0);
  // The skip is recorded with the campaign: its status says so, in JSON and in words.
  EXPECT_TRUE(absl::StrContains(sent.out, "\"preflight_skipped\":true")) << sent.out;
  RunResult status = RunProcess({SalvoBin(), "campaign", "status", "-c", cfg, "--id", "good"}, "",
                                std::chrono::seconds(60), env);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(absl::StrContains(status.out, "preflight: skipped (--skip-preflight)")) << status.out;
}

// rspamd started here with a minimal config (its own run, log and db directories; DNS pointed at
// a closed port so nothing leaves the machine); the sample's score and symbols are reported.
TEST_F(Preflight, RspamdScoreAndSymbolsInTheReport) {
  const int port = FreePort("127.0.0.1");
  const std::string d = dir_.path();
  RunProcess({"/bin/mkdir", "-p", d + "/rspamd-db"});
  dir_.Write("rspamd.conf", absl::StrCat(
      ".include \"$CONFDIR/common.conf\"\n"
      "options {\n  pidfile = \"", d, "/rspamd.pid\";\n  .include \"$CONFDIR/options.inc\"\n"
      "  dns { nameserver = [\"127.0.0.1:9\"]; timeout = 0.5s; retransmits = 1; }\n}\n"
      "logging {\n  type = \"file\";\n  filename = \"", d, "/rspamd.log\";\n  level = \"error\";\n}\n"
      "worker \"normal\" {\n  bind_socket = \"127.0.0.1:", port, "\";\n"
      "  .include \"$CONFDIR/worker-normal.inc\"\n  count = 1;\n}\n"));
  Subprocess rspamd({"/usr/bin/rspamd", "-f", "-i", "-c", dir_.File("rspamd.conf"), "--var",
                     "DBDIR=" + d + "/rspamd-db", "--var", "RUNDIR=" + d, "--var", "LOGDIR=" + d},
                    {}, dir_.File("rspamd.out"));
  // Loading its rules takes long on a busy machine.
  ASSERT_TRUE(WaitForPort("127.0.0.1", port, std::chrono::seconds(240))) << rspamd.Log();
  Report r = Run(GoodZone(dkim_p_), "shop.test", "",
                 "", absl::StrCat("[preflight]\nrspamd_url = \"http://127.0.0.1:", port, "\"\n"));
  const std::string c = r.Check("content.rspamd");
  EXPECT_TRUE(absl::StrContains(c, "rspamd score ")) << r.json;
  EXPECT_TRUE(absl::StrContains(c, "(action ")) << c;
  EXPECT_TRUE(absl::StrContains(c, "MIME_GOOD") || absl::StrContains(c, "DMARC")) << c;
}

}  // namespace
}  // namespace salvo::test
