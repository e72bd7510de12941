// Campaign link tables in Cf::kCampaigns: "links\0<campaign_id>\0<index u32 BE>" -> URL.
// Trust: campaign ids and URLs come from our own compiled templates; Get() is called by the
// click redirector with values from a verified token, still bounded (id <= 255 bytes).
#include "store/link_store.h"

#include <memory>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {
namespace {

std::string Prefix(std::string_view campaign_id) {
  std::string k("links");
  k.push_back('\0');
  k.append(campaign_id);
  k.push_back('\0');
  return k;
}

std::string Key(std::string_view campaign_id, uint32_t index) {
  std::string k = Prefix(campaign_id);
  k.push_back(static_cast<char>(index >> 24));
  k.push_back(static_cast<char>(index >> 16));
  k.push_back(static_cast<char>(index >> 8));
  k.push_back(static_cast<char>(index));
  return k;
}

std::string StampKey(std::string_view campaign_id) {
  std::string k("linkstamp");
  k.push_back('\0');
  k.append(campaign_id);
  return k;
}

std::string Stamp(int64_t us) {
  std::string v;
  PutBe64(&v, static_cast<uint64_t>(us));
  return v;
}

}  // namespace

absl::Status LinkStore::Put(std::string_view campaign_id, const std::vector<std::string>& urls) {
  if (campaign_id.empty() || campaign_id.size() > 255)
    return absl::InvalidArgumentError("campaign id must be 1-255 bytes");
  rocksdb::WriteBatch batch;
  std::string begin = Prefix(campaign_id);
  std::string end = begin;
  end.back() = '\1';  // just past every "links\0id\0..." key
  rocksdb::Status s = batch.DeleteRange(CfOf(store_, Cf::kCampaigns), begin, end);
  if (!s.ok()) return FromRocks(s, "link store delete");
  for (size_t i = 0; i < urls.size(); ++i) {
    s = batch.Put(CfOf(store_, Cf::kCampaigns), Key(campaign_id, static_cast<uint32_t>(i)), urls[i]);
    if (!s.ok()) return FromRocks(s, "link store put");
  }
  rocksdb::WriteOptions wo;
  wo.sync = false;
  return FromRocks(DbOf(store_)->Write(wo, &batch), "link store write");
}

absl::StatusOr<std::optional<std::string>> LinkStore::Get(std::string_view campaign_id,
                                                          uint32_t index) {
  if (campaign_id.empty() || campaign_id.size() > 255) return std::optional<std::string>();
  std::string value;
  rocksdb::Status s = DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kCampaigns),
                                        Key(campaign_id, index), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "link store get");
  return std::optional<std::string>(std::move(value));
}

absl::Status LinkStore::PutShared(std::string_view id, const std::vector<std::string>& urls,
                                  int64_t now_us) {
  if (id.empty() || id.size() > 255)
    return absl::InvalidArgumentError("campaign id must be 1-255 bytes");
  rocksdb::DB* db = DbOf(store_);
  rocksdb::ColumnFamilyHandle* cf = CfOf(store_, Cf::kCampaigns);
  std::string stamp;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, StampKey(id), &stamp);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "link stamp get");
  rocksdb::WriteBatch batch;
  if (s.IsNotFound()) {
    for (size_t i = 0; i < urls.size(); ++i) {
      s = batch.Put(cf, Key(id, static_cast<uint32_t>(i)), urls[i]);
      if (!s.ok()) return FromRocks(s, "link store put");
    }
  } else if (stamp.size() == 8 &&
             now_us - static_cast<int64_t>(GetBe64(stamp)) <
                 absl::ToInt64Microseconds(kSharedStampRefresh)) {
    return absl::OkStatus();  // the same URLs (same id), stamped recently
  }
  s = batch.Put(cf, StampKey(id), Stamp(now_us));
  if (!s.ok()) return FromRocks(s, "link stamp put");
  rocksdb::WriteOptions wo;
  wo.sync = false;  // the caller's queue write that follows is synced, and syncs this WAL too
  return FromRocks(db->Write(wo, &batch), "link store write");
}

absl::StatusOr<uint64_t> LinkStore::SweepShared(std::string_view id_prefix, int64_t before_us,
                                                int64_t now_us) {
  rocksdb::DB* db = DbOf(store_);
  rocksdb::ColumnFamilyHandle* cf = CfOf(store_, Cf::kCampaigns);
  std::string first("links");
  first.push_back('\0');
  first.append(id_prefix);
  std::string end("links");
  end.push_back('\1');  // past every "links\0..." key
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  rocksdb::WriteBatch batch;
  uint64_t deleted = 0;
  auto flush = [&]() -> absl::Status {
    if (batch.Count() == 0) return absl::OkStatus();
    RETURN_IF_ERROR(FromRocks(db->Write(rocksdb::WriteOptions(), &batch), "link table sweep"));
    batch.Clear();
    return absl::OkStatus();
  };
  it->Seek(first);
  while (it->Valid()) {
    // Key: "links\0" id "\0" index(4).
    const std::string_view key(it->key().data(), it->key().size());
    if (key.size() < first.size() || key.substr(0, first.size()) != first) break;
    const size_t id_end = key.size() - 5;  // the '\0' before the 4 index bytes
    if (key.size() < 6 + 5 || key[id_end] != '\0') {
      it->Next();  // not a table entry this version wrote
      continue;
    }
    const std::string id(key.substr(6, id_end - 6));
    std::string stamp;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, StampKey(id), &stamp);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "link stamp get");
    const std::string table = Prefix(id);
    std::string next = table;
    next.back() = '\1';  // just past this table
    if (s.IsNotFound() || stamp.size() != 8) {
      RETURN_IF_ERROR(FromRocks(batch.Put(cf, StampKey(id), Stamp(now_us)), "link table sweep"));
    } else if (static_cast<int64_t>(GetBe64(stamp)) < before_us) {
      for (; it->Valid() && it->key().starts_with(table); it->Next())
        RETURN_IF_ERROR(FromRocks(batch.Delete(cf, it->key()), "link table sweep"));
      RETURN_IF_ERROR(FromRocks(it->status(), "link table sweep"));
      RETURN_IF_ERROR(FromRocks(batch.Delete(cf, StampKey(id)), "link table sweep"));
      ++deleted;
    }
    if (batch.Count() >= 1000) RETURN_IF_ERROR(flush());
    it->Seek(next);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "link table sweep"));
  RETURN_IF_ERROR(flush());
  return deleted;
}

}  // namespace salvo
