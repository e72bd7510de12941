// Replies that are about the sending ACCOUNT (out of quota or credit, refused credentials,
// suspended, rate limited), as data: engine/policy/provider_replies.tsv, compiled in. Such a
// reply pauses the account for its rule's time and never fails or suppresses the recipient.
// Pure: no I/O; the table is parsed and checked once, on first use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/smtp/reply.h"

namespace salvo {

enum class AccountReplyClass : uint8_t {
  kQuota,      // account_quota: a daily / monthly sending quota is used up
  kCredit,     // account_credit: the plan's credits are used up
  kAuth,       // account_auth: credentials refused
  kSuspended,  // account_suspended: the partner disabled the account or its domain
  kRateLimited,  // rate_limited: the account sends faster than its plan allows
};
std::string_view AccountReplyClassName(AccountReplyClass c);  // "account_quota", ...

enum class PauseUntil : uint8_t { kNextUtcDay, kManual, kFor };

struct ProviderReplyRule {
  std::string provider;   // documentation only: rules apply to every account
  int code = 0;           // 0: any
  std::string enhanced;   // "": any
  std::string pattern;    // lowercase substring of the reply text
  AccountReplyClass klass = AccountReplyClass::kQuota;
  PauseUntil until = PauseUntil::kManual;
  absl::Duration pause;   // with PauseUntil::kFor
  std::string source;
  int line = 0;           // in provider_replies.tsv

  // Unix seconds the pause that starts at `now` ends; 0: until resumed by hand.
  int64_t PauseEnd(int64_t now) const;
};

class ProviderReplyTable {
 public:
  // Parses TSV text (the format of provider_replies.tsv). Errors name the line and column.
  [[nodiscard]] static absl::StatusOr<ProviderReplyTable> Parse(std::string_view tsv);
  // The compiled-in table (a broken table fails the unit tests, and aborts at first use).
  static const ProviderReplyTable& Default();

  // The first rule matching `reply`, or nullptr.
  const ProviderReplyRule* Match(const SmtpReply& reply) const;
  const std::vector<ProviderReplyRule>& rules() const { return rules_; }

 private:
  std::vector<ProviderReplyRule> rules_;
};

}  // namespace salvo
