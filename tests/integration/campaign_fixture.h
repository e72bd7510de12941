// Shared setup for the campaign runner integration tests: a data_dir populated directly through
// the store API (recipients, consent, suppression), salvo-sink instances on loopback with
// --record, config and campaign files, and readers for what the sinks recorded.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/base/shard.h"
#include "store/campaign_store.h"
#include "store/recipient_store.h"
#include "store/suppression_store.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {

inline std::string BuildRoot() {
  const char* b = std::getenv("SALVO_BUILD_ROOT");
  return b ? b : ".";
}
inline std::string SinkBin() { return BuildRoot() + "/perf/sink/salvo-sink"; }

// A salvo-sink on 127.0.0.1:port recording accepted recipients.
class Sink {
 public:
  // `port` 0: the sink binds port 0 and the kernel picks a free one, read back from the sink's
  // "listening on" line. (A port from FreePort() could be taken by a parallel test before the
  // sink binds it, and salvo-sink's SO_REUSEPORT sockets would then share it with another sink.)
  Sink(const TempDir& dir, const std::string& name, std::vector<std::string> extra = {},
       int port = 0)
      : record_(dir.File(name + ".record.tsv")) {
    const std::string log = dir.File(name + ".log");
    const size_t log_start = ReadFile(log).size();  // a restarted sink appends to its log
    std::vector<std::string> argv = {SinkBin(), "--listen", absl::StrCat("127.0.0.1:", port),
                                     "--threads", "1", "--record", record_, "--quiet"};
    for (auto& e : extra) argv.push_back(e);
    proc_ = std::make_unique<Subprocess>(argv, std::map<std::string, std::string>{}, log);
    if (auto rest = WaitForLogLine(*proc_, log_start, "listening on 127.0.0.1:",
                                   std::chrono::seconds(10)))
      port_ = std::atoi(rest->c_str());
    EXPECT_NE(port_, 0) << proc_->Log();
    EXPECT_TRUE(port_ != 0 && WaitForPort("127.0.0.1", port_, std::chrono::seconds(10)))
        << proc_->Log();
  }
  int port() const { return port_; }
  // Stops the sink (SIGTERM: it writes --record) and returns address -> (count, peers).
  std::map<std::string, std::pair<int, std::string>> StopAndRead() {
    proc_->Stop(SIGTERM, std::chrono::seconds(20));
    std::map<std::string, std::pair<int, std::string>> out;
    std::ifstream f(record_);
    std::string line;
    while (std::getline(f, line)) {
      std::vector<std::string> p = absl::StrSplit(line, '\t');
      if (p.size() < 2) continue;
      out[p[0]] = {std::atoi(p[1].c_str()), p.size() > 2 ? p[2] : ""};
    }
    return out;
  }

 private:
  int port_ = 0;
  std::string record_;
  std::unique_ptr<Subprocess> proc_;
};

struct Population {
  std::set<std::string> eligible, suppressed, no_consent, outside_segment;
};

// Writes `n` recipients to `list` in data_dir: every 100th (offset 7) suppressed beforehand,
// every 100th (offset 13) without consent, field `tier` = "gold" for every 10th.
inline Population Populate(const std::string& data_dir, const std::string& list, int n,
                           const std::string& prefix, const std::string& domain = "example.test",
                           bool gold_only = false) {
  Population pop;
  auto store = Store::Open({data_dir});
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return pop;
  RecipientStore rs(store->get());
  SuppressionStore ss(store->get());
  std::vector<Recipient> batch;
  for (int i = 0; i < n; ++i) {
    Recipient r;
    r.address = absl::StrCat(prefix, i, "@", domain);
    r.key = r.address;
    r.shard = ShardOf(r.key);
    if (i % 100 != 13) {
      r.consent.opted_in_at = "2026-01-01T00:00:00Z";
      r.consent.source = "test";
    }
    r.fields = {{"first_name", absl::StrCat("N", i)}, {"tier", i % 10 == 0 ? "gold" : "basic"}};
    if (i % 100 == 7) {
      SuppressionEntry e;
      e.key = r.key;
      e.reason = SuppressionReason::kUnsubscribe;
      e.source = "test";
      EXPECT_TRUE(ss.Add(e).ok());
    }
    // The runner's order: segment, consent, then suppression (at send time).
    if (gold_only && i % 10 != 0) {
      pop.outside_segment.insert(r.address);
    } else if (i % 100 == 7) {
      pop.suppressed.insert(r.address);
    } else if (i % 100 == 13) {
      pop.no_consent.insert(r.address);
    } else {
      pop.eligible.insert(r.address);
    }
    batch.push_back(std::move(r));
    if (batch.size() == 1000) {
      EXPECT_TRUE(rs.Upsert(list, batch).ok());
      batch.clear();
    }
  }
  if (!batch.empty()) {
    EXPECT_TRUE(rs.Upsert(list, batch).ok());
  }
  return pop;
}

struct AccountSpec {
  std::string name;
  int port;
  std::vector<std::string> source_ips;
  int max_connections = 4;
  std::string user;  // AUTH user (password "pw" via password_env SALVO_TEST_PW)
  double rate_per_second = 0;  // > 0: the account's rate limit (makes a send last)
};

// The `routes` of a test with one account named "acct": a default route sending through it.
inline constexpr char kOneAccountRoute[] =
    "[[route]]\nname = \"r\"\ndefault = true\naccounts = [ { name = \"acct\", weight = 1 } ]\n";

// salvo.toml text. `routes` and `extra` are TOML appended verbatim.
inline std::string ConfigText(const TempDir& dir, const std::vector<AccountSpec>& accounts,
                              const std::string& routes, const std::string& extra = "") {
  dir.Write("tracking.key", "0123456789abcdef0123456789abcdef");
  std::string t = absl::StrCat("data_dir = \"", dir.File("data"), "\"\n",
                               "[tracking]\nbase_url = \"https://click.example.test\"\n",
                               "secret_file = \"", dir.File("tracking.key"), "\"\n");
  for (const auto& a : accounts) {
    absl::StrAppend(&t, "[[account]]\nname = \"", a.name, "\"\nhost = \"127.0.0.1\"\nport = ",
                    a.port, "\ntls = \"none\"\nmax_connections = ", a.max_connections,
                    "\nmessages_per_connection = 500\n");
    if (a.rate_per_second > 0)
      absl::StrAppend(&t, absl::StrFormat("rate_per_second = %.1f\n", a.rate_per_second));
    t += "ehlo_name = \"test.example\"\n";
    if (!a.user.empty())
      absl::StrAppend(&t, "username = \"", a.user, "\"\npassword_env = \"SALVO_TEST_PW\"\n",
                      "allow_plaintext_auth = true\n");  // loopback test servers without TLS
    if (!a.source_ips.empty()) {
      t += "source_ips = [";
      for (size_t i = 0; i < a.source_ips.size(); ++i)
        absl::StrAppend(&t, i ? ", " : "", "\"", a.source_ips[i], "\"");
      t += "]\n";
    }
  }
  absl::StrAppend(&t, routes, "\n", extra, "\n");
  return t;
}

// Writes dir/salvo.toml with the one account `acct` (named "acct") behind kOneAccountRoute and
// returns its path.
inline std::string WriteOneAccountConfig(const TempDir& dir, const AccountSpec& acct) {
  return dir.Write("salvo.toml", ConfigText(dir, {acct}, kOneAccountRoute));
}

// Writes a campaign file (and its HTML) and returns its path.
inline std::string CampaignFile(const TempDir& dir, const std::string& id, const std::string& list,
                                const std::string& extra = "") {
  dir.Write(id + ".html", "<html><body><p>Hi {{first_name|there}}</p>"
                          "<a href=\"https://shop.example.test/a\">shop</a></body></html>");
  return dir.Write(id + ".toml",
                   absl::StrCat("id = \"", id, "\"\nlist = \"", list,
                                "\"\nfrom = \"Test <news@example.test>\"\n"
                                "subject = \"Hello {{first_name|there}}\"\nhtml_file = \"",
                                dir.File(id + ".html"), "\"\ntrack_opens = false\n", extra));
}

// salvo.toml for a `salvo serve` test (tests/integration/feedback_http.h ServeProcess fills in
// PORT): `workers = 1` first (a top-level key), the accounts with `account_extra` in each, the
// one-account route, an [http] listener and `extra`.
inline std::string ServeConfig(const TempDir& dir, const std::vector<AccountSpec>& accounts,
                               const std::string& account_extra = "",
                               const std::string& extra = "") {
  std::string t = ConfigText(dir, accounts, kOneAccountRoute,
                             "[http]\nlisten = \"127.0.0.1:PORT\"\n" + extra);
  if (!account_extra.empty()) {
    size_t p = t.find("ehlo_name = \"test.example\"\n");
    t.insert(p, account_extra);
  }
  return "workers = 1\n" + t;
}

// `salvo ARGS...` in the background, its output in dir/NAME.log.
inline std::unique_ptr<Subprocess> SalvoAsync(const TempDir& dir, const std::string& name,
                                              const std::vector<std::string>& args,
                                              const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv = {SalvoBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<Subprocess>(argv, env, dir.File(name + ".log"));
}

// What a sink recorded is exactly one message for every eligible recipient and nothing else.
inline void ExpectExactlyOnce(const std::map<std::string, std::pair<int, std::string>>& got,
                       const Population& pop) {
  EXPECT_EQ(got.size(), pop.eligible.size());
  int twice = 0, unexpected = 0;
  for (const auto& [addr, v] : got) {
    if (v.first != 1) ++twice;
    if (!pop.eligible.count(addr)) ++unexpected;
  }
  EXPECT_EQ(twice, 0);
  EXPECT_EQ(unexpected, 0);
}

// Outcome of every recipient of a campaign, from the store.
inline std::map<std::string, ProgressRecord> ReadProgress(const std::string& data_dir,
                                                          const std::string& id) {
  std::map<std::string, ProgressRecord> out;
  auto store = Store::Open({data_dir});
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return out;
  CampaignStore cs(store->get());
  EXPECT_TRUE(cs.ForEachProgress(id, [&](uint32_t, std::string_view k, const ProgressRecord& r) {
                  out[std::string(k)] = r;
                  return true;
                }).ok());
  return out;
}

// A JSON integer field of a flat summary ("\"delivered\":123").
inline int64_t JsonInt(const std::string& json, const std::string& key) {
  size_t p = json.find("\"" + key + "\":");
  if (p == std::string::npos) return -1;
  return std::atoll(json.c_str() + p + key.size() + 3);
}

// `campaign list --json`'s object for `id` ("" when absent).
inline std::string ListEntry(const std::string& config, const std::string& id) {
  auto r = Salvo({"campaign", "list", "-c", config, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const size_t p = r.out.find(absl::StrCat("{\"id\":\"", id, "\""));
  if (p == std::string::npos) return "";
  return r.out.substr(p, r.out.find('}', p) - p + 1);
}

// Waits until `campaign list` shows `id` in `state`; returns its entry (or the last one seen).
inline std::string WaitForState(const std::string& config, const std::string& id,
                         const std::string& state, std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  std::string e;
  do {
    e = ListEntry(config, id);
    if (absl::StrContains(e, absl::StrCat("\"state\":\"", state, "\""))) return e;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (std::chrono::steady_clock::now() < until);
  return e;
}

// Seconds (since the sink started) of the first sample of its --timeline with a message.
inline double FirstMessageAt(const std::string& timeline) {
  std::ifstream f(timeline);
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> p = absl::StrSplit(line, '\t');
    if (p.size() == 2 && std::atoll(p[1].c_str()) > 0) return std::atof(p[0].c_str());
  }
  return -1;
}

}  // namespace salvo::test
