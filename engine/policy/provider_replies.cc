// The provider reply table (see provider_replies.h and provider_replies.tsv).
#include "engine/policy/provider_replies.h"

#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/enum_names.h"
#include "engine/base/strings.h"
#include "engine/config/duration.h"
#include "engine/policy/provider_replies_tsv.h"
#include "engine/smtp/enhanced_code.h"

namespace salvo {
namespace {

constexpr int64_t kDay = 86400;

using A = AccountReplyClass;
constexpr EnumName<A> kClasses[] = {
    {A::kQuota, "account_quota"}, {A::kCredit, "account_credit"}, {A::kAuth, "account_auth"},
    {A::kSuspended, "account_suspended"}, {A::kRateLimited, "rate_limited"}};
static_assert(std::size(kClasses) == static_cast<size_t>(A::kRateLimited) + 1);

}  // namespace

std::string_view AccountReplyClassName(AccountReplyClass c) {
  return NameIn(kClasses, c, "account_auth");
}

int64_t ProviderReplyRule::PauseEnd(int64_t now) const {
  switch (until) {
    case PauseUntil::kNextUtcDay: return (now / kDay + 1) * kDay;
    case PauseUntil::kFor: return now + absl::ToInt64Seconds(pause);
    case PauseUntil::kManual: return 0;
  }
  return 0;
}

absl::StatusOr<ProviderReplyTable> ProviderReplyTable::Parse(std::string_view tsv) {
  ProviderReplyTable t;
  int line_no = 0;
  bool header = true;
  for (absl::string_view raw : absl::StrSplit(Av(tsv), '\n')) {
    ++line_no;
    const std::string_view line = TrimRight(Sv(raw), "\r");
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string_view> col;
    for (absl::string_view c : absl::StrSplit(Av(line), '\t')) col.push_back(Sv(c));
    auto bad = [&](std::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat("provider_replies.tsv:", line_no, ": ", Av(what)));
    };
    if (col.size() != 7) return bad(absl::StrCat("7 columns expected, found ", col.size()));
    if (header) {  // the column names
      if (col[0] != "provider" || col[3] != "pattern") return bad("header row expected first");
      header = false;
      continue;
    }
    ProviderReplyRule r;
    r.line = line_no;
    r.provider = std::string(col[0]);
    if (col[1] != "*") {
      if (!absl::SimpleAtoi(Av(col[1]), &r.code) || r.code < 200 || r.code > 599)
        return bad(absl::StrCat("code: \"", Av(col[1]), "\" is not a reply code or *"));
    }
    if (col[2] != "*") {
      if (EnhancedCodeLength(col[2]) != col[2].size())
        return bad(absl::StrCat("enhanced: \"", Av(col[2]), "\" is not an RFC 3463 code or *"));
      r.enhanced = std::string(col[2]);
    }
    if (col[3] != "*") {
      if (col[3].empty()) return bad("pattern: empty (use * for any text)");
      r.pattern = AsciiLower(col[3]);
    }
    if (r.code == 0 && r.enhanced.empty() && r.pattern.empty()) return bad("matches every reply");
    if (!ValueIn(kClasses, col[4], &r.klass))
      return bad(absl::StrCat("class: \"", Av(col[4]), "\""));
    if (col[5] == "next_utc_day") {
      r.until = PauseUntil::kNextUtcDay;
    } else if (col[5] == "manual") {
      r.until = PauseUntil::kManual;
    } else {
      absl::StatusOr<absl::Duration> d = ParseConfigDuration(col[5]);
      if (!d.ok() || *d <= absl::ZeroDuration())
        return bad(absl::StrCat("pause: \"", Av(col[5]),
                                "\" (next_utc_day, manual or a duration such as 15m)"));
      r.until = PauseUntil::kFor;
      r.pause = *d;
    }
    r.source = std::string(col[6]);
    t.rules_.push_back(std::move(r));
  }
  if (t.rules_.empty()) return absl::InvalidArgumentError("provider_replies.tsv: no rules");
  return t;
}

const ProviderReplyTable& ProviderReplyTable::Default() {
  static const ProviderReplyTable* table = [] {
    absl::StatusOr<ProviderReplyTable> t = Parse(kProviderRepliesTsv);
    if (!t.ok()) {
      std::fprintf(stderr, "salvo: built-in %s\n", std::string(t.status().message()).c_str());
      std::abort();
    }
    return new ProviderReplyTable(*std::move(t));
  }();
  return *table;
}

const ProviderReplyRule* ProviderReplyTable::Match(const SmtpReply& reply) const {
  if (reply.code == 0) return nullptr;
  const std::string text = AsciiLower(std::string_view(reply.text).substr(0, 4096));
  for (const ProviderReplyRule& r : rules_) {
    if (r.code != 0 && r.code != reply.code) continue;
    if (!r.enhanced.empty() && r.enhanced != reply.enhanced) continue;
    if (!r.pattern.empty() && text.find(r.pattern) == std::string::npos) continue;
    return &r;
  }
  return nullptr;
}

}  // namespace salvo
