#include "engine/preflight/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/json.h"
#include "engine/base/strings.h"

namespace salvo {

const char* CheckStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPass: return "pass";
    case CheckStatus::kWarn: return "warn";
    case CheckStatus::kFail: return "fail";
  }
  return "?";
}

void PreflightReport::Add(CheckResult r) {
  // Found and fix come partly from DNS and config: one printable line each, bounded.
  r.found = SanitizeForLog(r.found, 2000);
  r.fix = SanitizeForLog(r.fix, 2000);
  checks_.push_back(std::move(r));
}
void PreflightReport::Pass(std::string id, std::string found) {
  Add({std::move(id), CheckStatus::kPass, std::move(found), ""});
}
void PreflightReport::Warn(std::string id, std::string found, std::string fix) {
  Add({std::move(id), CheckStatus::kWarn, std::move(found), std::move(fix)});
}
void PreflightReport::Fail(std::string id, std::string found, std::string fix) {
  Add({std::move(id), CheckStatus::kFail, std::move(found), std::move(fix)});
}
void PreflightReport::Append(const std::vector<CheckResult>& rs) {
  for (const auto& r : rs) Add(r);
}

int PreflightReport::fails() const {
  int n = 0;
  for (const auto& c : checks_) n += c.status == CheckStatus::kFail;
  return n;
}
int PreflightReport::warns() const {
  int n = 0;
  for (const auto& c : checks_) n += c.status == CheckStatus::kWarn;
  return n;
}

const CheckResult* PreflightReport::Find(std::string_view id) const {
  for (const auto& c : checks_)
    if (c.id == id) return &c;
  return nullptr;
}

std::string PreflightReport::ToText() const {
  std::string out;
  for (const auto& c : checks_) {
    absl::StrAppendFormat(&out, "%-4s  %-24s %s\n", CheckStatusName(c.status), c.id, c.found);
    if (c.status != CheckStatus::kPass && !c.fix.empty())
      absl::StrAppend(&out, "      fix: ", c.fix, "\n");
  }
  absl::StrAppendFormat(&out, "%d checks: %d fail, %d warn\n", checks_.size(), fails(), warns());
  return out;
}

std::string PreflightReport::ToJson() const {
  std::string out = "{\"checks\":[";
  bool first = true;
  for (const auto& c : checks_) {
    absl::StrAppend(&out, first ? "" : ",", "{\"id\":", JsonString(c.id), ",\"status\":\"",
                    CheckStatusName(c.status), "\",\"found\":", JsonString(c.found),
                    ",\"fix\":", JsonString(c.fix), "}");
    first = false;
  }
  absl::StrAppend(&out, "],\"fails\":", fails(), ",\"warns\":", warns(), "}");
  return out;
}

}  // namespace salvo
