// A preflight's findings: one line per check, pass / warn / fail, what was found and (warn, fail)
// the fix in one line. Printed as text or as the JSON contract of `salvo preflight --json`:
//   {"checks":[{"id":"dmarc.alignment","status":"fail","found":"...","fix":"..."}],"fails":N,"warns":N}
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace salvo {

enum class CheckStatus { kPass, kWarn, kFail };
const char* CheckStatusName(CheckStatus s);  // "pass" | "warn" | "fail"

struct CheckResult {
  std::string id;     // e.g. "spf.record", "dkim.key", "dmarc.alignment"
  CheckStatus status = CheckStatus::kPass;
  std::string found;  // what was found, one line
  std::string fix;    // warn / fail: what to change, one line (the exact record, ...)
};

class PreflightReport {
 public:
  void Add(CheckResult r);
  void Pass(std::string id, std::string found);
  void Warn(std::string id, std::string found, std::string fix);
  void Fail(std::string id, std::string found, std::string fix);
  void Append(const std::vector<CheckResult>& rs);

  const std::vector<CheckResult>& checks() const { return checks_; }
  int fails() const;
  int warns() const;
  // The first result with this id, or nullptr.
  const CheckResult* Find(std::string_view id) const;

  std::string ToText() const;  // "fail  dmarc.alignment  found  -> fix: ..." lines + a summary
  std::string ToJson() const;

 private:
  std::vector<CheckResult> checks_;
};

}  // namespace salvo
