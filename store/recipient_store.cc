// Recipients and list membership in RocksDB. Upserts are one WriteBatch per call (atomic, WAL on);
// existing state is read with batched MultiGet. Trust: callers pass normalized keys; list names
// are validated here; stored records are decoded defensively (record_codec).
#include "store/recipient_store.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "engine/base/shard.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/record_codec.h"

namespace salvo {
namespace {

constexpr size_t kMaxListName = 200;

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  return absl::InternalError(absl::StrCat(Av(what), ": ", s.ToString()));
}

void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out->append(buf, 8);
}
uint64_t GetFixed64(std::string_view in) {
  if (in.size() != 8) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

// Merges `in` onto `stored` (see Upsert's merge rule) into *out.
void MergeRecipient(const Recipient& stored, const Recipient& in, Recipient* out) {
  out->key = in.key;
  out->address = in.address;
  out->consent.opted_in_at =
      in.consent.opted_in_at.empty() ? stored.consent.opted_in_at : in.consent.opted_in_at;
  out->consent.source = in.consent.source.empty() ? stored.consent.source : in.consent.source;
  out->consent.ip = in.consent.ip.empty() ? stored.consent.ip : in.consent.ip;
  out->fields.clear();
  auto a = stored.fields.begin();
  auto b = in.fields.begin();
  while (a != stored.fields.end() || b != in.fields.end()) {
    if (b == in.fields.end() || (a != stored.fields.end() && a->first < b->first)) {
      out->fields.push_back(*a++);
    } else {
      if (a != stored.fields.end() && a->first == b->first) ++a;
      out->fields.push_back(*b++);
    }
  }
}

// Buffers of one Upsert call, allocated per batch (not per row).
struct UpsertScratch {
  std::vector<std::string> member_keys;
  std::vector<rocksdb::Slice> rkeys, mkeys;
  std::vector<rocksdb::PinnableSlice> rvals, mvals;
  std::vector<rocksdb::Status> rstat, mstat;
  std::string encoded, marker;
  Recipient stored, merged;
  rocksdb::WriteBatch wb;
};

}  // namespace

absl::Status RecipientStore::ValidateListName(std::string_view list) {
  if (list.empty()) return absl::InvalidArgumentError("list name is empty");
  if (list.size() > kMaxListName) {
    return absl::InvalidArgumentError(absl::StrCat("list name \"", SanitizeForLog(list, 60),
                                                   "\" is longer than 200 bytes"));
  }
  for (unsigned char c : list) {
    if (c < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError(absl::StrCat(
          "list name \"", SanitizeForLog(list, 60), "\" contains a control character"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<UpsertCounts> RecipientStore::Upsert(std::string_view list,
                                                    const std::vector<Recipient>& batch) {
  return Upsert(list, batch, UpsertOptions{});
}

absl::StatusOr<UpsertCounts> RecipientStore::Upsert(std::string_view list,
                                                    const std::vector<Recipient>& batch,
                                                    const UpsertOptions& options) {
  RETURN_IF_ERROR(ValidateListName(list));
  UpsertCounts counts;
  if (batch.empty()) return counts;
  const size_t n = batch.size();
  UpsertScratch sc;
  sc.member_keys.resize(n);
  sc.rkeys.resize(n);
  sc.mkeys.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const Recipient& r = batch[i];
    if (r.key.empty() || r.address.empty()) {
      return absl::InvalidArgumentError("recipient without address key in upsert batch");
    }
    MembersKey(list, ShardOf(r.key), r.key, &sc.member_keys[i]);
    sc.rkeys[i] = rocksdb::Slice(r.key);
    sc.mkeys[i] = rocksdb::Slice(sc.member_keys[i]);
  }
  sc.rvals.resize(n);
  sc.mvals.resize(n);
  sc.rstat.assign(n, rocksdb::Status());
  sc.mstat.assign(n, rocksdb::Status());
  PutFixed64(&sc.marker, options.run_id);

  rocksdb::DB* db = store_->db();
  std::lock_guard<std::mutex> lock(store_->write_mutex());
  rocksdb::ReadOptions ro;
  db->MultiGet(ro, store_->cf(Cf::kRecipients), n, sc.rkeys.data(), sc.rvals.data(),
               sc.rstat.data());
  db->MultiGet(ro, store_->cf(Cf::kMembers), n, sc.mkeys.data(), sc.mvals.data(), sc.mstat.data());

  absl::flat_hash_set<std::string_view> seen;
  seen.reserve(n);
  uint64_t new_members = 0;
  for (size_t i = 0; i < n; ++i) {
    const Recipient& in = batch[i];
    if (!seen.insert(in.key).second) {
      ++counts.duplicate;
      continue;
    }
    const rocksdb::Status& rs = sc.rstat[i];
    const rocksdb::Status& ms = sc.mstat[i];
    if (!rs.ok() && !rs.IsNotFound()) return FromRocks(rs, "reading recipients");
    if (!ms.ok() && !ms.IsNotFound()) return FromRocks(ms, "reading members");
    bool is_member = ms.ok();
    if (is_member && options.run_id != 0 && GetFixed64(sc.mvals[i].ToStringView()) ==
                                                options.run_id) {
      ++counts.duplicate;  // already written by an earlier batch of this run
      continue;
    }
    bool record_changed;
    if (rs.ok()) {
      RETURN_IF_ERROR(DecodeRecipient(in.key, sc.rvals[i].ToStringView(), &sc.stored));
      MergeRecipient(sc.stored, in, &sc.merged);
      EncodeRecipient(sc.merged, &sc.encoded);
      record_changed = sc.encoded != sc.rvals[i].ToStringView();
    } else {
      EncodeRecipient(in, &sc.encoded);
      record_changed = true;
    }
    if (record_changed) sc.wb.Put(store_->cf(Cf::kRecipients), in.key, sc.encoded);
    if (!is_member || sc.mvals[i].ToStringView() != sc.marker) {
      sc.wb.Put(store_->cf(Cf::kMembers), sc.member_keys[i], sc.marker);
    }
    if (!is_member) ++new_members;
    if (!rs.ok()) {
      ++counts.imported;
    } else if (record_changed || !is_member) {
      ++counts.updated;
    } else {
      ++counts.unchanged;
    }
  }
  if (new_members > 0) {
    std::string count;
    rocksdb::Status s = db->Get(ro, store_->cf(Cf::kLists), rocksdb::Slice(list.data(), list.size()),
                                &count);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading lists");
    uint64_t members = s.ok() ? GetFixed64(count) : 0;
    count.clear();
    PutFixed64(&count, members + new_members);
    sc.wb.Put(store_->cf(Cf::kLists), rocksdb::Slice(list.data(), list.size()), count);
  }
  if (sc.wb.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options.sync;
    rocksdb::Status s = db->Write(wo, &sc.wb);
    if (!s.ok()) return FromRocks(s, "writing recipients");
  }
  return counts;
}

absl::StatusOr<std::optional<Recipient>> RecipientStore::Get(std::string_view address_key) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = store_->db()->Get(rocksdb::ReadOptions(), store_->cf(Cf::kRecipients),
                                        rocksdb::Slice(address_key.data(), address_key.size()),
                                        &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "reading recipient");
  Recipient r;
  RETURN_IF_ERROR(DecodeRecipient(address_key, value.ToStringView(), &r));
  return r;
}

absl::Status RecipientStore::ScanListShard(std::string_view list, uint32_t shard,
                                           std::string_view after_key, size_t limit,
                                           std::vector<Recipient>* out) {
  out->clear();
  RETURN_IF_ERROR(ValidateListName(list));
  if (shard >= kVirtualShards) {
    return absl::InvalidArgumentError(absl::StrCat("shard ", shard, " out of range"));
  }
  if (limit == 0) return absl::OkStatus();
  std::string lower, upper;
  MembersKey(list, shard, after_key, &lower);
  MembersKey(list, shard + 1, "", &upper);
  const size_t prefix = list.size() + 2;
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(ro, store_->cf(Cf::kMembers)));
  std::vector<std::string> keys;
  for (it->Seek(lower); it->Valid() && keys.size() < limit; it->Next()) {
    std::string_view k = it->key().ToStringView();
    if (k.size() <= prefix) continue;
    std::string_view addr = k.substr(prefix);
    if (!after_key.empty() && addr == after_key) continue;
    keys.emplace_back(addr);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning members");
  if (keys.empty()) return absl::OkStatus();
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> vals(keys.size());
  std::vector<rocksdb::Status> stats(keys.size());
  store_->db()->MultiGet(rocksdb::ReadOptions(), store_->cf(Cf::kRecipients), keys.size(),
                         slices.data(), vals.data(), stats.data(), /*sorted_input=*/true);
  out->reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (stats[i].IsNotFound()) {
      return absl::DataLossError(absl::StrCat("list \"", SanitizeForLog(list, 60), "\" member \"",
                                              SanitizeForLog(keys[i], 200), "\" has no record"));
    }
    if (!stats[i].ok()) return FromRocks(stats[i], "reading recipients");
    Recipient r;
    RETURN_IF_ERROR(DecodeRecipient(keys[i], vals[i].ToStringView(), &r));
    out->push_back(std::move(r));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ListInfo>> RecipientStore::Lists() {
  std::vector<ListInfo> lists;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->cf(Cf::kLists)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    lists.push_back(ListInfo{it->key().ToString(), GetFixed64(it->value().ToStringView())});
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading lists");
  return lists;
}

absl::StatusOr<uint64_t> RecipientStore::ListSize(std::string_view list) {
  std::string value;
  rocksdb::Status s = store_->db()->Get(rocksdb::ReadOptions(), store_->cf(Cf::kLists),
                                        rocksdb::Slice(list.data(), list.size()), &value);
  if (s.IsNotFound()) return 0;
  if (!s.ok()) return FromRocks(s, "reading lists");
  return GetFixed64(value);
}

}  // namespace salvo
