// tools/grafana/salvo-dashboard.json: valid JSON with a Prometheus datasource variable; every
// PromQL expression parses (`promtool check rules` on the expressions as recording rules) and
// names only metrics that salvo actually exports (engine/metrics/salvo_metrics.h).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "engine/metrics/salvo_metrics.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

void CollectExprs(simdjson::dom::element e, std::vector<std::string>* out) {
  if (e.is_object()) {
    for (auto field : e.get_object()) {
      if (field.key == "expr" && field.value.is_string()) {
        out->emplace_back(std::string_view(field.value.get_string().value()));
      } else {
        CollectExprs(field.value, out);
      }
    }
  } else if (e.is_array()) {
    for (auto child : e.get_array()) CollectExprs(child, out);
  }
}

std::string Substitute(std::string s) {
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"$__rate_interval", "5m"}, {"$__range", "1h"}, {"$campaign", ".*"},
           {"$account", ".*"}}) {
    for (size_t p; (p = s.find(from)) != std::string::npos;) s.replace(p, from.size(), to);
  }
  return s;
}

TEST(GrafanaDashboardTest, ValidAndOverSalvoMetrics) {
  const std::string path = test::SourceRoot() + "/tools/grafana/salvo-dashboard.json";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.load(path).get(doc), simdjson::SUCCESS) << path;
  int64_t schema = 0;
  ASSERT_EQ(doc["schemaVersion"].get(schema), simdjson::SUCCESS);
  EXPECT_GE(schema, 36);
  bool has_ds_var = false;
  for (auto v : doc["templating"]["list"].get_array()) {
    std::string_view type, query;
    if (v["type"].get(type) == simdjson::SUCCESS && type == "datasource" &&
        v["query"].get(query) == simdjson::SUCCESS && query == "prometheus") {
      has_ds_var = true;
    }
  }
  EXPECT_TRUE(has_ds_var) << "needs a Prometheus datasource variable";

  std::vector<std::string> exprs;
  CollectExprs(doc, &exprs);
  ASSERT_GE(exprs.size(), 15u);

  // Every metric name must be one salvo exports.
  std::set<std::string> known;
  metrics::Registry r;
  metrics::SalvoMetrics m(r);
  for (const auto& f : r.Snapshot()) {
    known.insert(f.name);
    if (f.type == metrics::MetricType::kHistogram) {
      for (const char* s : {"_bucket", "_sum", "_count"}) known.insert(f.name + s);
    }
  }
  std::set<std::string> used;
  const std::regex name_re("salvo_[a-z_]+");
  for (const std::string& e : exprs) {
    for (std::sregex_iterator it(e.begin(), e.end(), name_re), end; it != end; ++it) {
      EXPECT_TRUE(known.count(it->str())) << it->str() << " in " << e;
      used.insert(it->str());
    }
  }
  // Labels: every label an expression groups by or selects on is a label of a family it uses
  // (a wrong label name gives an empty panel, not an error).
  std::map<std::string, std::set<std::string>> labels_of;
  for (const auto& f : r.Snapshot()) {
    std::set<std::string> l(f.label_names.begin(), f.label_names.end());
    if (f.type == metrics::MetricType::kHistogram) l.insert("le");
    for (const char* s : {"", "_bucket", "_sum", "_count"}) labels_of[f.name + s] = l;
  }
  const std::regex by_re("by \\(([a-z_, ]+)\\)"), sel_re("([a-z_]+)(=~|!=|!~|=)\"");
  for (const std::string& e : exprs) {
    std::set<std::string> allowed;
    for (std::sregex_iterator it(e.begin(), e.end(), name_re), end; it != end; ++it)
      for (const std::string& l : labels_of[it->str()]) allowed.insert(l);
    std::vector<std::string> labels;
    for (std::sregex_iterator it(e.begin(), e.end(), by_re), end; it != end; ++it)
      for (auto l : absl::StrSplit((*it)[1].str(), ',', absl::SkipWhitespace()))
        labels.emplace_back(absl::StripAsciiWhitespace(l));
    for (std::sregex_iterator it(e.begin(), e.end(), sel_re), end; it != end; ++it)
      labels.push_back((*it)[1].str());
    for (const std::string& l : labels) EXPECT_TRUE(allowed.count(l)) << l << " in " << e;
  }
  // Every registered family is on the dashboard (build info aside: it labels, it is not plotted).
  for (const auto& [name, l] : labels_of) {
    if (name == "salvo_build_info" || absl::EndsWith(name, "_bucket") ||
        absl::EndsWith(name, "_sum") || absl::EndsWith(name, "_count"))
      continue;
    bool shown = used.count(name) || used.count(name + "_bucket");
    EXPECT_TRUE(shown) << "dashboard does not show " << name;
  }
  for (const char* needed : {"salvo_messages_total", "salvo_accounts_paused",
                             "salvo_smtp_auth_failures_total", "salvo_throttle_events_total",
                             "salvo_smtp_transaction_seconds_bucket", "salvo_sent_bytes_total",
                             "salvo_webhook_events_total", "salvo_clicks_total",
                             "salvo_opens_total", "salvo_unsubscribes_total"}) {
    EXPECT_TRUE(used.count(needed)) << "dashboard does not show " << needed;
  }

  // Every expression parses: promtool checks them as recording rules.
  std::string rules = "groups:\n- name: dashboard\n  rules:\n";
  for (size_t i = 0; i < exprs.size(); ++i) {
    std::string quoted;
    for (char c : Substitute(exprs[i])) {
      if (c == '\'') quoted += "''";
      else quoted.push_back(c);
    }
    rules += "  - record: dashboard:expr" + std::to_string(i) + "\n    expr: '" + quoted + "'\n";
  }
  test::TempDir dir;
  const std::string file = dir.Write("rules.yml", rules);
  const test::RunResult res = test::RunProcess({"/usr/bin/promtool", "check", "rules", file}, "",
                                               std::chrono::seconds(60));
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err << rules;
}

}  // namespace
}  // namespace salvo
