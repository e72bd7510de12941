// Idempotency-Key replies in the meta family; see idempotency_store.h.
#include "store/idempotency_store.h"

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {
namespace {

constexpr uint8_t kVersion = 1;

constexpr std::string_view kPrefix("idem\0", 5);

// The stored_at of a value, or nullopt when the record is not one this version wrote.
std::optional<int64_t> StoredAt(std::string_view in) {
  uint64_t at = 0;
  if (in.empty() || static_cast<uint8_t>(in[0]) != kVersion) return std::nullopt;
  in.remove_prefix(1);
  if (!GetVarint64(&in, &at)) return std::nullopt;
  return UnZigZag(at);
}

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

absl::StatusOr<uint64_t> IdempotencyStore::Sweep(int64_t now_us) {
  rocksdb::DB* db = DbOf(store_);
  rocksdb::ColumnFamilyHandle* meta = CfOf(store_, Cf::kMeta);
  std::string end(kPrefix);
  end.back() = '\1';  // "idem\1": just past every "idem\0..." key
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, meta));
  const int64_t window_us = absl::ToInt64Microseconds(window_);
  rocksdb::WriteBatch batch;
  uint64_t deleted = 0;
  for (it->Seek(rocksdb::Slice(kPrefix.data(), kPrefix.size())); it->Valid(); it->Next()) {
    const rocksdb::Slice v = it->value();
    std::optional<int64_t> at = StoredAt(std::string_view(v.data(), v.size()));
    // A record this version cannot read is treated as absent by Get: delete it too.
    if (at && now_us - *at < window_us) continue;
    batch.Delete(meta, it->key());
    if (++deleted % 1000 == 0) {
      RETURN_IF_ERROR(FromRocks(db->Write(rocksdb::WriteOptions(), &batch), "idempotency sweep"));
      batch.Clear();
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "idempotency sweep"));
  RETURN_IF_ERROR(FromRocks(db->Write(rocksdb::WriteOptions(), &batch), "idempotency sweep"));
  return deleted;
}

}  // namespace salvo
