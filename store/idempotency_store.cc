// Idempotency-Key replies in the meta family; see idempotency_store.h.
#include "store/idempotency_store.h"

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {
namespace {

constexpr uint8_t kVersion = 1;

std::string Key(std::string_view api_key_name, std::string_view key) {
  std::string k("idem");
  k.push_back('\0');
  k.append(api_key_name);
  k.push_back('\0');
  k.append(key);
  return k;
}

}  // namespace

bool IdempotencyStore::ValidKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyBytes) return false;
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

absl::StatusOr<std::optional<StoredReply>> IdempotencyStore::Get(std::string_view api_key_name,
                                                                 std::string_view key,
                                                                 int64_t now_us) {
  std::string v;
  rocksdb::Status s = DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kMeta),
                                        Key(api_key_name, key), &v);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "reading an idempotency key");
  std::string_view in(v);
  uint64_t at = 0, status = 0;
  std::string_view body;
  if (in.empty() || static_cast<uint8_t>(in[0]) != kVersion) return std::nullopt;
  in.remove_prefix(1);
  if (!GetVarint64(&in, &at) || !GetVarint64(&in, &status) || !GetLengthPrefixed(&in, &body))
    return absl::DataLossError("damaged idempotency record");
  if (now_us - UnZigZag(at) >= absl::ToInt64Microseconds(window_)) return std::nullopt;
  return StoredReply{static_cast<int>(status), std::string(body)};
}

absl::Status IdempotencyStore::Put(std::string_view api_key_name, std::string_view key,
                                   int64_t now_us, const StoredReply& reply) {
  std::string v(1, static_cast<char>(kVersion));
  PutVarint64(&v, ZigZag(now_us));
  PutVarint64(&v, static_cast<uint64_t>(reply.status));
  PutLengthPrefixed(&v, reply.body);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(
      DbOf(store_)->Put(wo, CfOf(store_, Cf::kMeta), Key(api_key_name, key), v),
      "writing an idempotency key");
}

}  // namespace salvo
