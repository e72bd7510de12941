// Global suppression list in RocksDB (column family "suppression"). Lookups at send time are
// batched MultiGets answered mostly by bloom filters. Trust: keys are validated for size and
// control characters; source and detail are sanitized and bounded before they are stored.
#include "engine/base/clock.h"
#include "store/suppression_store.h"

#include <ctime>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {
namespace {

constexpr size_t kMaxKey = 300;
constexpr size_t kMaxSource = 64;
constexpr size_t kMaxDetail = 512;
constexpr size_t kCheckChunk = 1024;

[[nodiscard]] absl::Status ValidateKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKey || key.find('@') == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid suppression key \"", SanitizeForLog(key, 80), "\""));
  }
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7F || (c >= 'A' && c <= 'Z')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "suppression key \"", SanitizeForLog(key, 80), "\" is not normalized"));
    }
  }
  return absl::OkStatus();
}

// "@dom" for "user@dom"; empty for a domain key itself.
std::string_view DomainKeyOf(std::string_view key) {
  if (!key.empty() && key.front() == '@') return {};
  size_t at = key.rfind('@');
  if (at == std::string_view::npos) return {};
  return key.substr(at);
}

// The number of entries, kept in Cf::kMeta and updated in the same batch as every change, so
// Count() (the salvo_suppression_list_size gauge) does not walk millions of entries. Absent in
// stores from before it existed: the first Count() walks once and stores it.
const std::string& CountKey() {
  static const std::string k = std::string("count", 5) + '\0' + "suppression";
  return k;
}

void PutCount(uint64_t n, std::string* out) {
  out->clear();
  PutFixed64(out, n);
}

// Caller holds the write mutex. nullopt: no count kept yet.
[[nodiscard]] absl::StatusOr<std::optional<uint64_t>> ReadCount(Store* store) {
  std::string v;
  rocksdb::Status s = DbOf(store)->Get(rocksdb::ReadOptions(), CfOf(store, Cf::kMeta), CountKey(), &v);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  if (!s.ok()) return FromRocks(s, "reading the suppression count");
  if (v.size() != 8) return absl::DataLossError("damaged suppression count in meta");
  return std::optional<uint64_t>(GetFixed64(v));
}

}  // namespace

SuppressionStore::SuppressionStore(Store* store) : store_(store) {}

absl::Status SuppressionStore::Add(const SuppressionEntry& entry) {
  std::vector<SuppressionEntry> one{entry};
  return AddBatch(one);
}

absl::Status SuppressionStore::AddBatch(const std::vector<SuppressionEntry>& entries) {
  if (entries.empty()) return absl::OkStatus();
  const int64_t now = NowUnixSeconds();
  std::vector<SuppressionEntry> es(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const SuppressionEntry& entry = entries[i];
    RETURN_IF_ERROR(ValidateKey(entry.key));
    SuppressionEntry& e = es[i];
    e.key = entry.key;
    e.reason = entry.reason;
    e.source = SanitizeForLog(entry.source, kMaxSource);
    e.detail = SanitizeForLog(entry.detail, kMaxDetail);
    e.first_seen = entry.first_seen != 0 ? entry.first_seen : now;
    e.last_seen =
        entry.last_seen != 0 ? entry.last_seen : (entry.first_seen != 0 ? entry.first_seen : now);
    if (e.last_seen < e.first_seen) e.last_seen = e.first_seen;
  }
  std::vector<rocksdb::Slice> keys;
  keys.reserve(es.size());
  for (const SuppressionEntry& e : es) keys.emplace_back(e.key);
  std::vector<rocksdb::PinnableSlice> values(es.size());
  std::vector<rocksdb::Status> status(es.size());

  std::lock_guard<std::mutex> lock(WriteMutexOf(store_));
  DbOf(store_)->MultiGet(rocksdb::ReadOptions(), CfOf(store_, Cf::kSuppression), keys.size(),
                         keys.data(), values.data(), status.data());
  // A key repeated within the batch: later rows merge over earlier ones, as separate Adds would.
  std::unordered_map<std::string_view, size_t> latest;
  rocksdb::WriteBatch wb;
  std::string value;
  uint64_t new_keys = 0;
  for (size_t i = 0; i < es.size(); ++i) {
    SuppressionEntry& e = es[i];
    if (!status[i].ok() && !status[i].IsNotFound()) return FromRocks(status[i], "reading suppression");
    const SuppressionEntry* prev = nullptr;
    SuppressionEntry old;
    if (auto it = latest.find(e.key); it != latest.end()) {
      prev = &es[it->second];
    } else if (status[i].ok()) {
      RETURN_IF_ERROR(DecodeSuppression(e.key, values[i].ToStringView(), &old));
      prev = &old;
    } else {
      ++new_keys;
    }
    if (prev != nullptr) {
      if (prev->first_seen != 0 && prev->first_seen < e.first_seen) e.first_seen = prev->first_seen;
      if (prev->last_seen > e.last_seen) e.last_seen = prev->last_seen;  // events may arrive late
    }
    latest[e.key] = i;
    EncodeSuppression(e, &value);
    wb.Put(CfOf(store_, Cf::kSuppression), e.key, value);
  }
  values.clear();
  ASSIGN_OR_RETURN(std::optional<uint64_t> count, ReadCount(store_));
  if (count && new_keys > 0) {
    PutCount(*count + new_keys, &value);
    wb.Put(CfOf(store_, Cf::kMeta), CountKey(), value);
  }
  rocksdb::Status s = DbOf(store_)->Write(rocksdb::WriteOptions(), &wb);
  if (!s.ok()) return FromRocks(s, "writing suppression");
  return absl::OkStatus();
}

absl::StatusOr<bool> SuppressionStore::Remove(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard<std::mutex> lock(WriteMutexOf(store_));
  rocksdb::Slice k(key.data(), key.size());
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kSuppression), k, &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return FromRocks(s, "reading suppression");
  value.Reset();
  rocksdb::WriteBatch wb;
  wb.Delete(CfOf(store_, Cf::kSuppression), k);
  ASSIGN_OR_RETURN(std::optional<uint64_t> count, ReadCount(store_));
  if (count) {
    std::string v;
    PutCount(*count > 0 ? *count - 1 : 0, &v);
    wb.Put(CfOf(store_, Cf::kMeta), CountKey(), v);
  }
  s = DbOf(store_)->Write(rocksdb::WriteOptions(), &wb);
  if (!s.ok()) return FromRocks(s, "removing suppression");
  return true;
}

absl::StatusOr<std::optional<SuppressionEntry>> SuppressionStore::Check(
    std::string_view address_key) {
  std::string_view candidates[2] = {address_key, DomainKeyOf(address_key)};
  for (std::string_view k : candidates) {
    if (k.empty()) continue;
    rocksdb::PinnableSlice value;
    rocksdb::Status s = DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kSuppression),
                                          rocksdb::Slice(k.data(), k.size()), &value);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return FromRocks(s, "reading suppression");
    SuppressionEntry e;
    RETURN_IF_ERROR(DecodeSuppression(k, value.ToStringView(), &e));
    return e;
  }
  return std::nullopt;
}

absl::Status SuppressionStore::CheckBatch(const std::vector<std::string_view>& keys,
                                          std::vector<bool>* out) {
  out->assign(keys.size(), false);
  std::vector<rocksdb::Slice> slices;
  std::vector<size_t> owner;
  std::vector<rocksdb::PinnableSlice> values;
  std::vector<rocksdb::Status> stats;
  for (size_t start = 0; start < keys.size(); start += kCheckChunk) {
    size_t end = std::min(keys.size(), start + kCheckChunk);
    slices.clear();
    owner.clear();
    for (size_t i = start; i < end; ++i) {
      slices.emplace_back(keys[i].data(), keys[i].size());
      owner.push_back(i);
      std::string_view dom = DomainKeyOf(keys[i]);
      if (!dom.empty()) {
        slices.emplace_back(dom.data(), dom.size());
        owner.push_back(i);
      }
    }
    values.clear();
    values.resize(slices.size());
    stats.assign(slices.size(), rocksdb::Status());
    DbOf(store_)->MultiGet(rocksdb::ReadOptions(), CfOf(store_, Cf::kSuppression), slices.size(),
                           slices.data(), values.data(), stats.data());
    for (size_t j = 0; j < slices.size(); ++j) {
      if (stats[j].ok()) {
        (*out)[owner[j]] = true;
      } else if (!stats[j].IsNotFound()) {
        return FromRocks(stats[j], "reading suppression");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status SuppressionStore::ForEach(const std::function<bool(const SuppressionEntry&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      DbOf(store_)->NewIterator(rocksdb::ReadOptions(), CfOf(store_, Cf::kSuppression)));
  SuppressionEntry e;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    RETURN_IF_ERROR(DecodeSuppression(it->key().ToStringView(), it->value().ToStringView(), &e));
    if (!fn(e)) break;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading suppression");
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> SuppressionStore::Count() {
  std::lock_guard<std::mutex> lock(WriteMutexOf(store_));
  ASSIGN_OR_RETURN(std::optional<uint64_t> kept, ReadCount(store_));
  if (kept) return *kept;
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      DbOf(store_)->NewIterator(rocksdb::ReadOptions(), CfOf(store_, Cf::kSuppression)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  if (!it->status().ok()) return FromRocks(it->status(), "reading suppression");
  std::string v;
  PutCount(n, &v);
  rocksdb::Status s = DbOf(store_)->Put(rocksdb::WriteOptions(), CfOf(store_, Cf::kMeta), CountKey(), v);
  if (!s.ok()) return FromRocks(s, "writing the suppression count");
  return n;
}

}  // namespace salvo
