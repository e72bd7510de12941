// Feedback events and idempotency markers in RocksDB. See event_store.h.
#include "engine/base/clock.h"
#include "store/event_store.h"

#include <algorithm>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {
namespace {

constexpr uint8_t kEventRecordVersion = 1;
constexpr size_t kMaxField = 2048;

int64_t NowUs() {
  return NowUnixMicros();
}

std::string MarkerKey(std::string_view source, std::string_view event_id) {
  std::string k = "dedup";
  k.push_back('\0');
  k.append(source.substr(0, 64));
  k.push_back('\0');
  k.append(event_id.substr(0, 512));
  return k;
}

std::string_view Bound(std::string_view s) { return s.substr(0, kMaxField); }

}  // namespace

void EncodeEvent(const StoredEvent& e, std::string* out) {
  out->push_back(static_cast<char>(kEventRecordVersion));
  PutVarint64(out, static_cast<uint64_t>(e.at_us));
  PutVarint64(out, e.link_index);
  for (std::string_view f : {std::string_view(e.kind), std::string_view(e.source),
                             std::string_view(e.event_id), std::string_view(e.campaign_id),
                             std::string_view(e.address), std::string_view(e.klass),
                             std::string_view(e.detail)})
    PutLengthPrefixed(out, Bound(f));
}

[[nodiscard]] absl::Status DecodeEvent(std::string_view v, StoredEvent* e) {
  if (v.empty() || static_cast<uint8_t>(v[0]) != kEventRecordVersion)
    return absl::DataLossError("event record: unknown version");
  v.remove_prefix(1);
  uint64_t at = 0, link = 0;
  if (!GetVarint64(&v, &at) || !GetVarint64(&v, &link))
    return absl::DataLossError("event record: truncated header");
  e->at_us = static_cast<int64_t>(at);
  e->link_index = static_cast<uint32_t>(link);
  for (std::string* f : {&e->kind, &e->source, &e->event_id, &e->campaign_id, &e->address,
                         &e->klass, &e->detail}) {
    std::string_view s;
    if (!GetLengthPrefixed(&v, &s)) return absl::DataLossError("event record: truncated field");
    f->assign(s.data(), s.size());
  }
  return absl::OkStatus();
}

std::string EventStore::NextKey(int64_t at_us) {
  std::string k = "ev";
  PutBe64(&k, static_cast<uint64_t>(at_us));
  PutBe64(&k, seq_.fetch_add(1, std::memory_order_relaxed));
  return k;
}

absl::Status EventStore::Append(const StoredEvent& ev) { return AppendBatch({ev}); }

absl::Status EventStore::AppendBatch(const std::vector<StoredEvent>& events) {
  if (events.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  std::string value;
  const int64_t now = NowUs();
  for (const StoredEvent& ev : events) {
    const int64_t at = ev.at_us != 0 ? ev.at_us : now;
    value.clear();
    if (ev.at_us != 0) {
      EncodeEvent(ev, &value);
    } else {
      StoredEvent e = ev;
      e.at_us = at;
      EncodeEvent(e, &value);
    }
    batch.Put(CfOf(store_, Cf::kEvents), NextKey(at), value);
  }
  return FromRocks(DbOf(store_)->Write(rocksdb::WriteOptions(), &batch), "event store: append");
}

absl::StatusOr<bool> EventStore::Seen(std::string_view source, std::string_view event_id) {
  std::string v;
  rocksdb::Status s = DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kMeta),
                                        MarkerKey(source, event_id), &v);
  if (s.IsNotFound()) return false;
  RETURN_IF_ERROR(FromRocks(s, "event store: marker lookup"));
  return true;
}

absl::StatusOr<bool> EventStore::ApplyOnce(const StoredEvent& ev, const SuppressionEntry* suppress) {
  std::vector<bool> applied;
  RETURN_IF_ERROR(ApplyBatch({ev}, {suppress}, &applied));
  return bool{applied[0]};
}

absl::Status EventStore::ApplyBatch(const std::vector<StoredEvent>& events,
                                const std::vector<const SuppressionEntry*>& suppress,
                                std::vector<bool>* applied) {
  if (suppress.size() != events.size())
    return absl::InvalidArgumentError("ApplyBatch: one suppression slot per event");
  applied->assign(events.size(), false);
  if (events.empty()) return absl::OkStatus();
  std::vector<std::string> keys(events.size());
  std::vector<rocksdb::Slice> slices(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].source.empty() || events[i].event_id.empty())
      return absl::InvalidArgumentError("event without source or id cannot be applied once");
    keys[i] = MarkerKey(events[i].source, events[i].event_id);
    slices[i] = rocksdb::Slice(keys[i]);
  }
  std::lock_guard<std::mutex> lock(apply_mu_);
  std::vector<rocksdb::PinnableSlice> values(events.size());
  std::vector<rocksdb::Status> statuses(events.size());
  DbOf(store_)->MultiGet(rocksdb::ReadOptions(), CfOf(store_, Cf::kMeta), slices.size(),
                         slices.data(), values.data(), statuses.data());
  absl::flat_hash_set<std::string_view> in_batch;
  const int64_t now = NowUs();
  rocksdb::WriteBatch batch;
  std::string value, stamp;
  std::vector<size_t> todo;
  std::vector<SuppressionEntry> entries;
  for (size_t i = 0; i < events.size(); ++i) {
    if (statuses[i].ok()) continue;  // seen before
    if (!statuses[i].IsNotFound()) return FromRocks(statuses[i], "event store: marker lookup");
    if (!in_batch.insert(keys[i]).second) continue;  // repeated within this batch
    todo.push_back(i);
    if (suppress[i]) entries.push_back(*suppress[i]);
  }
  // Suppression first (one batch), then events and markers: a crash in between re-applies the
  // idempotent suppression on redelivery.
  RETURN_IF_ERROR(suppression_.AddBatch(entries));
  for (size_t i : todo) {
    StoredEvent e = events[i];
    if (e.at_us == 0) e.at_us = now;
    value.clear();
    EncodeEvent(e, &value);
    stamp.clear();
    PutBe64(&stamp, static_cast<uint64_t>(e.at_us));
    batch.Put(CfOf(store_, Cf::kEvents), NextKey(e.at_us), value);
    batch.Put(CfOf(store_, Cf::kMeta), keys[i], stamp);
    (*applied)[i] = true;
  }
  if (batch.Count() == 0) return absl::OkStatus();
  return FromRocks(DbOf(store_)->Write(rocksdb::WriteOptions(), &batch),
                   "event store: apply batch");
}

absl::Status EventStore::ForEach(const std::function<bool(const StoredEvent&)>& fn) {
  return ForEachSince(0, fn);
}

absl::Status EventStore::ForEachSince(int64_t since_us,
                                      const std::function<bool(const StoredEvent&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      DbOf(store_)->NewIterator(rocksdb::ReadOptions(), CfOf(store_, Cf::kEvents)));
  std::string start = "ev";
  PutBe64(&start, static_cast<uint64_t>(std::max<int64_t>(0, since_us)));
  for (it->Seek(start); it->Valid() && it->key().starts_with("ev"); it->Next()) {
    StoredEvent e;
    RETURN_IF_ERROR(DecodeEvent(std::string_view(it->value().data(), it->value().size()), &e));
    if (!fn(e)) break;
  }
  return FromRocks(it->status(), "event store: scan");
}

}  // namespace salvo
