// Account records in the meta family (see account_store.h). Value: u8 version = 1, u8 flags
// (bit 0 paused), lp reason, lp reply, zigzag-varint changed_at, zigzag-varint until.
#include "store/account_store.h"

#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "rocksdb/db.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {
namespace {

constexpr uint8_t kAccountRecordVersion = 1;
constexpr size_t kMaxText = 1024;

std::string Key(std::string_view account) {
  std::string k("account");
  k.push_back('\0');
  k.append(account);
  return k;
}

std::string WebhookKey(std::string_view account) {
  std::string k("account_webhook");
  k.push_back('\0');
  k.append(account);
  return k;
}

}  // namespace

void EncodeAccountRecord(const AccountRecord& r, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kAccountRecordVersion));
  out->push_back(static_cast<char>(r.paused ? 1 : 0));
  PutLengthPrefixed(out, std::string_view(r.reason).substr(0, kMaxText));
  PutLengthPrefixed(out, std::string_view(r.reply).substr(0, kMaxText));
  PutVarint64(out, ZigZag(r.changed_at));
  PutVarint64(out, ZigZag(r.until));
}

absl::Status DecodeAccountRecord(std::string_view account, std::string_view value,
                                 AccountRecord* r) {
  auto bad = [&] {
    return absl::DataLossError(
        absl::StrCat("damaged account record for \"", SanitizeForLog(account, 200), "\""));
  };
  if (value.size() < 2 || static_cast<uint8_t>(value[0]) != kAccountRecordVersion) return bad();
  r->paused = (static_cast<uint8_t>(value[1]) & 1) != 0;
  value.remove_prefix(2);
  std::string_view reason, reply;
  uint64_t changed = 0, until = 0;
  if (!GetLengthPrefixed(&value, &reason) || !GetLengthPrefixed(&value, &reply) ||
      !GetVarint64(&value, &changed) || !GetVarint64(&value, &until) || !value.empty())
    return bad();
  r->reason = std::string(reason);
  r->reply = std::string(reply);
  r->changed_at = UnZigZag(changed);
  r->until = UnZigZag(until);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<AccountRecord>> AccountStore::Get(std::string_view account) {
  std::string v;
  rocksdb::Status s = DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kMeta),
                                        Key(account), &v);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "reading account record");
  AccountRecord r;
  absl::Status st = DecodeAccountRecord(account, v, &r);
  if (!st.ok()) return st;
  return r;
}

absl::Status AccountStore::Put(std::string_view account, const AccountRecord& rec) {
  std::string v;
  EncodeAccountRecord(rec, &v);
  rocksdb::WriteOptions wo;
  wo.sync = true;  // a pause must survive a crash of the machine, not only of the process
  return FromRocks(DbOf(store_)->Put(wo, CfOf(store_, Cf::kMeta), Key(account), v),
                   "writing account record");
}

absl::Status AccountStore::AddWebhookEvents(std::string_view account, uint64_t n) {
  std::string v;
  PutVarint64(&v, n);
  return FromRocks(DbOf(store_)->Merge(rocksdb::WriteOptions(), CfOf(store_, Cf::kMeta),
                                       WebhookKey(account), v),
                   "counting account webhook events");
}

absl::StatusOr<uint64_t> AccountStore::WebhookEvents(std::string_view account) {
  std::string v;
  rocksdb::Status s = DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kMeta),
                                        WebhookKey(account), &v);
  if (s.IsNotFound()) return uint64_t{0};
  if (!s.ok()) return FromRocks(s, "reading account webhook events");
  std::string_view in(v);
  uint64_t n = 0;
  if (!GetVarint64(&in, &n) || !in.empty())
    return absl::DataLossError(absl::StrCat("damaged webhook event count of account \"",
                                            SanitizeForLog(account, 64), "\""));
  return n;
}

}  // namespace salvo
