// Shared setup of the HTTP API integration tests (tools/salvo/api_*.cc): a salvo.toml with a
// responder route, a bulk route through a salvo-sink, [[responder]] / [[delivery]] sections and
// their templates, api keys created through the CLI, and readers of `salvo queue list --json`.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "simdjson.h"
#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {

inline bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// One queue entry as `salvo queue list --json` prints it.
struct QueuedEntry {
  std::string id, recipient, origin, route, state;
};

// Writes the templates (responders/*.toml, deliveries/*.toml and their HTML) into dir.
inline void WriteTemplates(const TempDir& dir) {
  auto tmpl = [&](const std::string& name, const std::string& subject, const std::string& html) {
    dir.Write(name + ".html", html);
    dir.Write(name + ".toml", absl::StrCat("from = \"Acme <hello@acme.example>\"\nsubject = \"",
                                           subject, "\"\nhtml_file = \"", dir.File(name + ".html"),
                                           "\"\ntrack_opens = true\n"));
  };
  tmpl("welcome", "Welcome {{first_name|there}}",
       "<html><body><p>Hi {{first_name|there}}</p><a href=\"https://acme.example/start\">start</a>"
       "</body></html>");
  tmpl("offer", "An offer for {{first_name|you}}",
       "<html><body><p>Offer</p><a href=\"https://acme.example/offer\">buy</a></body></html>");
  tmpl("doi", "Please confirm",
       "<html><body><p>Confirm: <a href=\"{{confirm_url}}\">yes</a></p></body></html>");
  tmpl("new_lead", "New lead {{lead_email}}",
       "<html><body><p>Lead {{lead_email}} from {{country|?}}</p></body></html>");
}

// salvo.toml (ServeProcess fills PORT and DATA): account "tx" (responder route
// "transactional"), account "acct" on the bulk route "r" (default) at `bulk_port`, the
// responders and deliveries of lists "dk-leads" and "doi-leads".
inline std::string ApiConfig(const TempDir& dir, int tx_port, int bulk_port,
                             uint64_t max_body = 1 << 20) {
  WriteTemplates(dir);
  dir.Write("tracking.key", "0123456789abcdef0123456789abcdef");
  return absl::StrCat(
      "data_dir = \"DATA\"\nworkers = 1\n[tracking]\nbase_url = \"https://click.example.test\"\n",
      "secret_file = \"", dir.File("tracking.key"), "\"\n[http]\nlisten = \"127.0.0.1:PORT\"\n",
      "threads = 2\nmax_body_bytes = ", max_body, "\n",
      "[[account]]\nname = \"tx\"\nhost = \"127.0.0.1\"\nport = ", tx_port, "\ntls = \"none\"\n",
      "ehlo_name = \"test.example\"\n",
      "[[account]]\nname = \"acct\"\nhost = \"127.0.0.1\"\nport = ", bulk_port,
      "\ntls = \"none\"\nehlo_name = \"test.example\"\n",
      "[[route]]\nname = \"transactional\"\npurpose = \"responder\"\naccounts = [ { name = \"tx\" } ]\n",
      "[[route]]\nname = \"r\"\ndefault = true\naccounts = [ { name = \"acct\" } ]\n",
      "[[responder]]\nname = \"dk-welcome\"\nlist = \"dk-leads\"\ntemplate = \"welcome.toml\"\n"
      "route = \"transactional\"\nkind = \"confirmation\"\ndelay = \"0s\"\n"
      "segment = 'country = \"DK\"'\n",
      "[[responder]]\nname = \"dk-offer\"\nlist = \"dk-leads\"\ntemplate = \"offer.toml\"\n"
      "route = \"transactional\"\nkind = \"marketing\"\ndelay = \"2d\"\n",
      "[[delivery]]\nname = \"buyer-notify\"\nlist = \"dk-leads\"\nto = [\"buyer@acme.example\"]\n"
      "template = \"new_lead.toml\"\nroute = \"transactional\"\n",
      "[[responder]]\nname = \"doi-ask\"\nlist = \"doi-leads\"\ntemplate = \"doi.toml\"\n"
      "route = \"transactional\"\nkind = \"double_opt_in\"\n",
      "[[responder]]\nname = \"doi-welcome\"\nlist = \"doi-leads\"\ntemplate = \"welcome.toml\"\n"
      "route = \"transactional\"\nkind = \"marketing\"\nafter = \"confirmed\"\n");
}

// `salvo api-key create` (through the daemon when it runs); returns the key.
inline std::string CreateKey(const std::string& config, const std::string& name,
                             const std::string& scopes, const std::string& route = "") {
  std::vector<std::string> args = {"api-key", "create", "-c", config, "--name", name, "--scopes",
                                   scopes};
  if (!route.empty()) {
    args.push_back("--route");
    args.push_back(route);
  }
  RunResult r = Salvo(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string key = r.out;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  return key;
}

// Every entry of the queue (`salvo queue list --json --limit 10000`).
inline std::vector<QueuedEntry> QueueList(const std::string& config) {
  std::vector<QueuedEntry> out;
  RunResult r = Salvo({"queue", "list", "-c", config, "--json", "--limit", "10000"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(r.out).get(doc)) {
    ADD_FAILURE() << "queue list --json: " << r.out.substr(0, 300);
    return out;
  }
  simdjson::dom::array arr;
  if (doc["messages"].get_array().get(arr)) return out;
  for (simdjson::dom::element e : arr) {
    QueuedEntry q;
    std::string_view s;
    if (!e["id"].get_string().get(s)) q.id = s;
    if (!e["recipient"].get_string().get(s)) q.recipient = s;
    if (!e["origin"].get_string().get(s)) q.origin = s;
    if (!e["route"].get_string().get(s)) q.route = s;
    if (!e["state"].get_string().get(s)) q.state = s;
    out.push_back(std::move(q));
  }
  return out;
}

// origin -> recipient -> count.
inline std::map<std::string, std::map<std::string, int>> ByOrigin(
    const std::vector<QueuedEntry>& entries) {
  std::map<std::string, std::map<std::string, int>> m;
  for (const QueuedEntry& e : entries) ++m[e.origin][e.recipient];
  return m;
}

// Polls `salvo queue list` until `n` entries are delivered (at most `limit`); false on time out.
inline bool WaitDelivered(const std::string& config, size_t n,
                          std::chrono::seconds limit = std::chrono::seconds(180)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    size_t delivered = 0;
    for (const QueuedEntry& e : QueueList(config)) delivered += e.state == "delivered";
    if (delivered >= n) return delivered == n;
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

inline std::vector<std::pair<std::string, std::string>> Bearer(const std::string& key) {
  return {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};
}

}  // namespace salvo::test
