// Webhook token claims in the meta family. See webhook_nonce_store.h.
#include "store/webhook_nonce_store.h"

#include <memory>
#include <string>

#include "engine/base/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {
namespace {

constexpr uint64_t kSweepEvery = 256;

std::string ClaimKey(std::string_view scope, std::string_view token) {
  std::string k("whnonce\0", 8);
  k.append(scope);
  k.push_back('\0');
  k.append(token);
  return k;
}

std::string ExpiryPrefix() { return std::string("whnonce_exp\0", 12); }

std::string ExpiryKey(int64_t expires_at, std::string_view scope, std::string_view token) {
  std::string k = ExpiryPrefix();
  PutBe64(&k, static_cast<uint64_t>(expires_at));
  k.append(scope);
  k.push_back('\0');
  k.append(token);
  return k;
}

}  // namespace

absl::StatusOr<bool> WebhookNonceStore::Claim(std::string_view scope, std::string_view token,
                                              int64_t now, int64_t expires_at) {
  rocksdb::DB* db = DbOf(store_);
  rocksdb::ColumnFamilyHandle* meta = CfOf(store_, Cf::kMeta);
  const std::string key = ClaimKey(scope, token);
  std::lock_guard<std::mutex> lock(mu_);
  std::string v;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, key, &v);
  if (s.ok() && static_cast<int64_t>(GetFixed64(v)) >= now) return false;
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "webhook token lookup");
  rocksdb::WriteBatch batch;
  std::string value;
  PutFixed64(&value, static_cast<uint64_t>(expires_at));
  batch.Put(meta, key, value);
  batch.Put(meta, ExpiryKey(expires_at, scope, token), "");
  RETURN_IF_ERROR(FromRocks(db->Write(rocksdb::WriteOptions(), &batch), "webhook token claim"));
  if (++claims_ % kSweepEvery == 0) RETURN_IF_ERROR(SweepExpired(now));
  return true;
}

absl::Status WebhookNonceStore::Release(std::string_view scope, std::string_view token) {
  std::lock_guard<std::mutex> lock(mu_);
  // The expiry index entry stays; the sweep deletes it (and finds no claim to delete).
  return FromRocks(DbOf(store_)->Delete(rocksdb::WriteOptions(), CfOf(store_, Cf::kMeta),
                                        ClaimKey(scope, token)),
                   "webhook token release");
}

absl::Status WebhookNonceStore::SweepExpired(int64_t now) {
  rocksdb::DB* db = DbOf(store_);
  rocksdb::ColumnFamilyHandle* meta = CfOf(store_, Cf::kMeta);
  const std::string prefix = ExpiryPrefix();
  std::string end = prefix;
  PutBe64(&end, static_cast<uint64_t>(now));
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, meta));
  rocksdb::WriteBatch batch;
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    if (k.size() < prefix.size() + 8) continue;
    // scope '\0' token after the 8-byte expiry: the claim key to delete with it.
    std::string claim("whnonce\0", 8);
    claim.append(k.data() + prefix.size() + 8, k.size() - prefix.size() - 8);
    // A token claimed again later has a newer expiry: keep its claim.
    std::string v;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, claim, &v);
    if (s.ok() && static_cast<int64_t>(GetFixed64(v)) < now) batch.Delete(meta, claim);
    batch.Delete(meta, k);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "webhook token sweep"));
  return FromRocks(db->Write(rocksdb::WriteOptions(), &batch), "webhook token sweep");
}

}  // namespace salvo
