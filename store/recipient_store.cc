// Recipients and list membership in RocksDB. Upserts are one WriteBatch per call (atomic, WAL on);
// existing state is read with batched MultiGet. Trust: callers pass normalized keys; list names
// are validated here; stored records are decoded defensively (record_codec).
#include "store/recipient_store.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "engine/base/shard.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/group_commit.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {
namespace {

constexpr size_t kMaxListName = 200;

}  // namespace

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
  PreparedBatch prepared;
  RETURN_IF_ERROR(Prepare(list, batch, &prepared));
  return UpsertPrepared(prepared, options);
}

absl::Status RecipientStore::Prepare(std::string_view list, const std::vector<Recipient>& batch,
                                     PreparedBatch* out) {
  RETURN_IF_ERROR(ValidateListName(list));
  out->list.assign(list);
  out->rows = &batch;
  out->duplicate = 0;
  out->order.clear();
  out->member_order.clear();
  out->arena.clear();
  out->record_key_at.clear();
  out->member_key_at.clear();
  out->encoded_at.clear();
  const size_t n = batch.size();
  std::vector<uint8_t> shard(n);
  for (size_t i = 0; i < n; ++i) {
    if (batch[i].key.empty() || batch[i].address.empty()) {
      return absl::InvalidArgumentError("recipient without address key in upsert batch");
    }
    out->order.push_back(static_cast<uint32_t>(i));
    shard[i] = static_cast<uint8_t>(ShardOf(batch[i].key));
  }
  // Sorted by recipients key (shard, key), then by position: a key's first occurrence comes
  // first and is kept.
  std::sort(out->order.begin(), out->order.end(), [&](uint32_t a, uint32_t b) {
    if (shard[a] != shard[b]) return shard[a] < shard[b];
    int c = batch[a].key.compare(batch[b].key);
    return c < 0 || (c == 0 && a < b);
  });
  size_t kept = 0;
  for (size_t j = 0; j < out->order.size(); ++j) {
    if (kept > 0 && batch[out->order[kept - 1]].key == batch[out->order[j]].key) {
      ++out->duplicate;
      continue;
    }
    out->order[kept++] = out->order[j];
  }
  out->order.resize(kept);
  std::string scratch;
  for (uint32_t i : out->order) {
    const Recipient& r = batch[i];
    RecipientKey(shard[i], r.key, &scratch);
    out->record_key_at.emplace_back(out->arena.size(), scratch.size());
    out->arena.append(scratch);
    MembersKey(list, shard[i], r.key, &scratch);
    out->member_key_at.emplace_back(out->arena.size(), scratch.size());
    out->arena.append(scratch);
    EncodeRecipient(r, &scratch);
    out->encoded_at.emplace_back(out->arena.size(), scratch.size());
    out->arena.append(scratch);
  }
  auto mkey = [&](uint32_t j) {
    return std::string_view(out->arena).substr(out->member_key_at[j].first,
                                               out->member_key_at[j].second);
  };
  for (uint32_t j = 0; j < kept; ++j) out->member_order.push_back(j);
  std::sort(out->member_order.begin(), out->member_order.end(),
            [&](uint32_t a, uint32_t b) { return mkey(a) < mkey(b); });
  return absl::OkStatus();
}

absl::StatusOr<UpsertCounts> RecipientStore::UpsertPrepared(const PreparedBatch& pb,
                                                            const UpsertOptions& options) {
  UpsertCounts counts;
  counts.duplicate = pb.duplicate;
  if (pb.order.empty()) return counts;
  rocksdb::WriteBatch wb(pb.arena.size() + 2 * pb.order.size() * (32 + pb.list.size()) + 1024);
  std::lock_guard<std::mutex> lock(WriteMutexOf(store_));
  RETURN_IF_ERROR(BuildUpsert(pb, options, &wb, &counts, nullptr, nullptr));
  if (wb.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options.sync;
    rocksdb::Status s = DbOf(store_)->Write(wo, &wb);
    if (!s.ok()) return FromRocks(s, "writing recipients");
  }
  return counts;
}

absl::StatusOr<UpsertCounts> RecipientStore::UpsertAndEnqueue(std::string_view list,
                                                              const std::vector<Recipient>& batch,
                                                              const EnqueuePlan& plan,
                                                              std::vector<std::string>* ids) {
  ids->clear();
  PreparedBatch pb;
  RETURN_IF_ERROR(Prepare(list, batch, &pb));
  UpsertCounts counts;
  counts.duplicate = pb.duplicate;
  if (pb.order.empty()) return counts;
  rocksdb::WriteBatch wb;
  std::vector<UpsertRowChange> changes;
  std::deque<Recipient> merged;
  // Held from the membership reads to the write: a concurrent post of the same lead sees it as a
  // member and queues nothing. Not held across the fsync: the write goes to the WAL unsynced and
  // the caller then waits for a WAL sync shared with every concurrent post (WalSync), so posts
  // are not serialized on one fsync each. (A concurrent post may see the lead as a member before
  // that sync ends; neither gets its reply before it has.)
  std::unique_lock<std::mutex> lock(WriteMutexOf(store_));
  RETURN_IF_ERROR(BuildUpsert(pb, UpsertOptions{}, &wb, &counts, &changes, &merged));
  ASSIGN_OR_RETURN(std::vector<NewMessage> messages, plan(changes));
  std::vector<GroupCommitOp> ops;
  QueueStore queue(store_);
  int64_t earliest_due_us = 0;
  ASSIGN_OR_RETURN(*ids, queue.PrepareEnqueue(messages, &ops, &earliest_due_us));
  for (const GroupCommitOp& op : ops) {
    if (op.kind == GroupCommitOp::Kind::kPut) wb.Put(op.cf, op.key, op.value);
    else wb.Delete(op.cf, op.key);
  }
  if (wb.Count() == 0) return counts;
  rocksdb::Status s = DbOf(store_)->Write(rocksdb::WriteOptions(), &wb);
  if (!s.ok()) {
    ids->clear();
    return FromRocks(s, "writing leads and their queued messages");
  }
  WalSync& wal = WalSyncOf(store_);
  const uint64_t ticket = wal.Ticket();
  lock.unlock();
  // Queued mail is durable before the 202, as with QueueStore::Enqueue.
  if (absl::Status st = wal.WaitDurable(ticket); !st.ok()) {
    ids->clear();
    return st;
  }
  if (!ids->empty()) queue.Enqueued(earliest_due_us);
  return counts;
}

absl::Status RecipientStore::BuildUpsert(const PreparedBatch& pb, const UpsertOptions& options,
                                         rocksdb::WriteBatch* out, UpsertCounts* counts_out,
                                         std::vector<UpsertRowChange>* changes,
                                         std::deque<Recipient>* merged_rows) {
  UpsertCounts& counts = *counts_out;
  const std::vector<Recipient>& rows = *pb.rows;
  const size_t n = pb.order.size();
  auto slice_at = [&](const std::pair<uint32_t, uint32_t>& at) {
    return rocksdb::Slice(pb.arena.data() + at.first, at.second);
  };
  std::string marker;
  PutFixed64(&marker, options.run_id);

  rocksdb::DB* db = DbOf(store_);
  rocksdb::ReadOptions ro;

  // 1. Which recipients exist (keys sorted: one sorted MultiGet).
  std::vector<rocksdb::Slice> keys(n);
  for (size_t j = 0; j < n; ++j) keys[j] = slice_at(pb.record_key_at[j]);
  std::vector<rocksdb::PinnableSlice> rvals(n);
  std::vector<rocksdb::Status> rstat(n);
  db->MultiGet(ro, CfOf(store_, Cf::kRecipients), n, keys.data(), rvals.data(), rstat.data(),
               /*sorted_input=*/true);

  // 2. Memberships, only of recipients that exist (a member always has a record).
  std::vector<uint32_t> probe;  // positions, in member key order
  for (uint32_t j : pb.member_order) {
    if (rstat[j].ok()) {
      probe.push_back(j);
    } else if (!rstat[j].IsNotFound()) {
      return FromRocks(rstat[j], "reading recipients");
    }
  }
  std::vector<rocksdb::Slice> mkeys(probe.size());
  for (size_t k = 0; k < probe.size(); ++k) mkeys[k] = slice_at(pb.member_key_at[probe[k]]);
  std::vector<rocksdb::PinnableSlice> mvals(probe.size());
  std::vector<rocksdb::Status> mstat(probe.size());
  if (!probe.empty()) {
    db->MultiGet(ro, CfOf(store_, Cf::kMembers), probe.size(), mkeys.data(), mvals.data(),
                 mstat.data(), /*sorted_input=*/true);
  }
  enum : uint8_t { kNotMember = 0, kMember = 1, kMemberThisRun = 2, kMemberOtherMarker = 3 };
  std::vector<uint8_t> member(n, kNotMember);
  for (size_t k = 0; k < probe.size(); ++k) {
    if (mstat[k].IsNotFound()) continue;
    if (!mstat[k].ok()) return FromRocks(mstat[k], "reading members");
    uint64_t mark = GetFixed64(mvals[k].ToStringView());
    if (options.run_id != 0 && mark == options.run_id) {
      member[probe[k]] = kMemberThisRun;
    } else {
      member[probe[k]] = mvals[k].ToStringView() == marker ? kMember : kMemberOtherMarker;
    }
  }

  // 3. Decide per row, then write records (key order) and memberships (member key order).
  // The caller reserved *out up front: growing a large batch by doubling would copy it.
  rocksdb::WriteBatch& wb = *out;
  Recipient stored, merged;
  std::string encoded;
  std::vector<std::string> hash_keys;  // new recipients' addr_hash keys
  std::vector<uint8_t> write_member(n, 0);
  uint64_t new_members = 0;
  for (size_t j = 0; j < n; ++j) {
    const Recipient& in = rows[pb.order[j]];
    if (member[j] == kMemberThisRun) {
      ++counts.duplicate;  // written by an earlier batch of this run: first occurrence wins
      continue;
    }
    bool exists = rstat[j].ok();
    bool record_changed = true;
    bool decoded = false;  // stored / merged hold this row's record
    if (exists && slice_at(pb.encoded_at[j]) == rvals[j]) {
      record_changed = false;  // the row as stored, byte for byte (a re-import): merging is a no-op
    } else if (exists) {
      RETURN_IF_ERROR(DecodeRecipient(in.key, rvals[j].ToStringView(), &stored));
      MergeRecipient(stored, in, &merged);
      decoded = true;
      EncodeRecipient(merged, &encoded);
      record_changed = encoded != rvals[j].ToStringView();
      if (record_changed) wb.Put(CfOf(store_, Cf::kRecipients), keys[j], encoded);
    } else {
      wb.Put(CfOf(store_, Cf::kRecipients), keys[j], slice_at(pb.encoded_at[j]));
      hash_keys.emplace_back();
      AddressHashKey(in.key, &hash_keys.back());
    }
    bool is_member = member[j] != kNotMember;
    write_member[j] = member[j] != kMember;
    if (changes != nullptr) {
      const Recipient* after = &in;
      bool had_consent = false;
      if (decoded) {
        merged_rows->push_back(merged);
        after = &merged_rows->back();
        had_consent = stored.HasConsent();
      } else if (exists) {
        had_consent = in.HasConsent();  // stored byte for byte as `in`
      }
      changes->push_back({pb.order[j], !is_member, !had_consent && after->HasConsent(), after});
    }
    if (!is_member) ++new_members;
    if (!exists) {
      ++counts.imported;
    } else if (record_changed || !is_member) {
      ++counts.updated;
    } else {
      ++counts.unchanged;
    }
  }
  for (uint32_t j : pb.member_order) {
    if (write_member[j]) wb.Put(CfOf(store_, Cf::kMembers), slice_at(pb.member_key_at[j]), marker);
  }
  // In key order, like the other column families: sorted memtable inserts are cheaper.
  std::sort(hash_keys.begin(), hash_keys.end());
  for (const std::string& k : hash_keys) wb.Put(CfOf(store_, Cf::kAddrHash), k, rocksdb::Slice());
  // Release pinned blocks before writing.
  rvals.clear();
  mvals.clear();
  if (new_members > 0) {
    rocksdb::Slice list(pb.list);
    std::string count;
    rocksdb::Status s = db->Get(ro, CfOf(store_, Cf::kLists), list, &count);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading lists");
    uint64_t members = s.ok() ? GetFixed64(count) : 0;
    count.clear();
    PutFixed64(&count, members + new_members);
    wb.Put(CfOf(store_, Cf::kLists), list, count);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RecipientStore::KeysWithHash(uint64_t hash,
                                                                     size_t limit) {
  std::string prefix;
  PutBe64(&prefix, hash);
  rocksdb::Slice p(prefix);
  std::unique_ptr<rocksdb::Iterator> it(
      DbOf(store_)->NewIterator(rocksdb::ReadOptions(), CfOf(store_, Cf::kAddrHash)));
  std::vector<std::string> out;
  for (it->Seek(p); it->Valid() && it->key().starts_with(p) && out.size() < limit; it->Next())
    out.emplace_back(it->key().data() + 8, it->key().size() - 8);
  if (!it->status().ok()) return FromRocks(it->status(), "reading the address-hash index");
  return out;
}

absl::StatusOr<std::optional<Recipient>> RecipientStore::Get(std::string_view address_key) {
  rocksdb::PinnableSlice value;
  std::string key;
  RecipientKey(address_key, &key);
  rocksdb::Status s =
      DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kRecipients), key, &value);
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
  std::unique_ptr<rocksdb::Iterator> it(DbOf(store_)->NewIterator(ro, CfOf(store_, Cf::kMembers)));
  // Recipients keys (shard, address key): the members' order, so one sorted MultiGet reads
  // neighbouring blocks of this shard.
  std::vector<std::string> keys;
  for (it->Seek(lower); it->Valid() && keys.size() < limit; it->Next()) {
    std::string_view k = it->key().ToStringView();
    if (k.size() <= prefix) continue;
    std::string_view addr = k.substr(prefix);
    if (!after_key.empty() && addr == after_key) continue;
    keys.emplace_back();
    RecipientKey(shard, addr, &keys.back());
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning members");
  if (keys.empty()) return absl::OkStatus();
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> vals(keys.size());
  std::vector<rocksdb::Status> stats(keys.size());
  DbOf(store_)->MultiGet(rocksdb::ReadOptions(), CfOf(store_, Cf::kRecipients), keys.size(),
                         slices.data(), vals.data(), stats.data(), /*sorted_input=*/true);
  out->reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string_view addr = AddressKeyOfRecipientKey(keys[i]);
    if (stats[i].IsNotFound()) {
      return absl::DataLossError(absl::StrCat("list \"", SanitizeForLog(list, 60), "\" member \"",
                                              SanitizeForLog(addr, 200), "\" has no record"));
    }
    if (!stats[i].ok()) return FromRocks(stats[i], "reading recipients");
    Recipient r;
    RETURN_IF_ERROR(DecodeRecipient(addr, vals[i].ToStringView(), &r));
    out->push_back(std::move(r));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ListInfo>> RecipientStore::Lists() {
  std::vector<ListInfo> lists;
  std::unique_ptr<rocksdb::Iterator> it(
      DbOf(store_)->NewIterator(rocksdb::ReadOptions(), CfOf(store_, Cf::kLists)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    lists.push_back(ListInfo{it->key().ToString(), GetFixed64(it->value().ToStringView())});
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading lists");
  return lists;
}

absl::StatusOr<uint64_t> RecipientStore::ListSize(std::string_view list) {
  std::string value;
  rocksdb::Status s = DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kLists),
                                        rocksdb::Slice(list.data(), list.size()), &value);
  if (s.IsNotFound()) return 0;
  if (!s.ok()) return FromRocks(s, "reading lists");
  return GetFixed64(value);
}

}  // namespace salvo
