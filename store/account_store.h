// What the store keeps about each SMTP account beyond a run: whether it is paused (why, by which
// reply, until when) and the last reply or operator action that changed its state. Every run
// and campaign reads it before using the account; `salvo account list|pause|resume` shows and
// changes it. Key in the meta family: "account" '\0' NAME. Daily counts are in
// store/campaign_store.h (DailyKey). Feedback events received on the account's own webhook URL
// (/webhooks/{provider}/{account}): "account_webhook" '\0' NAME -> varint, merged (summed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace salvo {

struct AccountRecord {
  bool paused = false;
  // account_quota | account_credit | account_auth | account_suspended | rate_limited | manual
  std::string reason;
  std::string reply;         // the server's reply (sanitized) or "paused by operator", ...
  int64_t changed_at = 0;    // unix seconds of the last change
  int64_t until = 0;         // unix seconds the pause ends by itself; 0: until resumed by hand

  // Paused at unix second `now` (a pause whose `until` has passed has ended).
  bool PausedAt(int64_t now) const { return paused && (until == 0 || now < until); }
};

class AccountStore {
 public:
  explicit AccountStore(Store* store) : store_(store) {}

  // nullopt: nothing recorded (the account is active).
  [[nodiscard]] absl::StatusOr<std::optional<AccountRecord>> Get(std::string_view account);
  [[nodiscard]] absl::Status Put(std::string_view account, const AccountRecord& rec);

  // Feedback events applied from the account's webhook URL (0 when none).
  [[nodiscard]] absl::Status AddWebhookEvents(std::string_view account, uint64_t n);
  [[nodiscard]] absl::StatusOr<uint64_t> WebhookEvents(std::string_view account);

 private:
  Store* store_;
};

void EncodeAccountRecord(const AccountRecord& r, std::string* out);
[[nodiscard]] absl::Status DecodeAccountRecord(std::string_view account, std::string_view value,
                                               AccountRecord* r);

}  // namespace salvo
