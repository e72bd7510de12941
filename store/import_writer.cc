// Writing import batches: an exact existence check, the merge rule, then one WriteBatch or one
// atomic ingestion of sorted SST files. See import_writer.h.
#include "store/import_writer.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {

// The options SST files of each column family are written with: the column family's own (table
// format, bloom filter), changed for the recipient column families by ImportFileOptions.
struct ImportWriter::CfFiles {
  rocksdb::Options records, members, hashes, lists;
};

namespace {

// An import's files land in level 0 (each spans the whole key range; only a batch ingested into
// an empty column family goes to the bottom level, and the next level-0 compaction, which
// overlaps it, rewrites it too) and are read only until a compaction merges them into the levels
// below, which writes them again with the column family's own options. So they are written for
// that short life: uncompressed (no LZ4 when writing them,
// none when the next batches' existence checks and that compaction read them), and with one
// whole filter and index per file instead of partitioned ones (level-0 filters and indexes stay
// pinned in the block cache: a lookup probes each file's filter without a cache lookup for the
// partition; at 64 Ki keys per batch a file's filter is ~80 KB).
void ImportFileOptions(rocksdb::Options* o) {
  o->compression = rocksdb::kNoCompression;
  const auto* t = o->table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
  if (t == nullptr) return;
  rocksdb::BlockBasedTableOptions whole = *t;
  whole.index_type = rocksdb::BlockBasedTableOptions::kBinarySearch;
  whole.partition_filters = false;
  o->table_factory.reset(rocksdb::NewBlockBasedTableFactory(whole));
}

// Keys per MultiGet: RocksDB copies its key contexts into vectors per call; one call for a whole
// batch reallocated megabytes per batch.
constexpr size_t kReadChunk = 2048;

// Reads the values of `rows` (in the column family's key order) from `cf`, kReadChunk keys per
// sorted MultiGet, and calls on_value(row, status, value) for each in turn; stops at the first
// error on_value returns.
template <typename KeyOf, typename OnValue>
absl::Status ChunkedMultiGet(rocksdb::DB* db, const rocksdb::ReadOptions& ro,
                             rocksdb::ColumnFamilyHandle* cf, const std::vector<uint32_t>& rows,
                             KeyOf key_of, OnValue on_value) {
  std::vector<rocksdb::Slice> keys(kReadChunk);
  std::vector<rocksdb::PinnableSlice> vals(kReadChunk);
  std::vector<rocksdb::Status> stat(kReadChunk);
  for (size_t from = 0; from < rows.size(); from += kReadChunk) {
    const size_t m = std::min(kReadChunk, rows.size() - from);
    for (size_t k = 0; k < m; ++k) {
      std::string_view key = key_of(rows[from + k]);
      keys[k] = rocksdb::Slice(key.data(), key.size());
      vals[k].Reset();
    }
    db->MultiGet(ro, cf, m, keys.data(), vals.data(), stat.data(), /*sorted_input=*/true);
    for (size_t k = 0; k < m; ++k)
      RETURN_IF_ERROR(on_value(rows[from + k], stat[k], vals[k].ToStringView()));
  }
  return absl::OkStatus();
}

// The column families an import writes per row, whose files it ingests: level-0 waits and the
// compaction trigger apply to these.
constexpr std::array<Cf, 3> kIngestedCfs = {Cf::kRecipients, Cf::kMembers, Cf::kAddrHash};

// This run's writes remembered for the checks made ahead (more than the jobs an import keeps in
// flight: a check is at most that many writes old).
constexpr size_t kRecentWrites = 24;

// While an import runs, compactions of the recipient column families start at this many level-0
// files instead of the column family's own trigger (RocksDB's default, 4). Each ingested batch is
// a level-0 file spanning the whole key range, so every level-0 compaction rewrites the whole
// level below: starting one per 4 files rewrote the store several times over an import (1 M new
// rows: 4.1 us CPU/row during the import plus 2.0-2.3 s of compaction left after it, against
// 3.4 us/row plus 1.6 s at 16). The import's own lookups probe the files' whole filters, pinned
// in the cache (ImportFileOptions), so more level-0 files cost them little.
constexpr int kImportL0CompactionTrigger = 16;

// Ingestions wait while a recipient column family has this many level-0 files: below RocksDB's
// level0_slowdown_writes_trigger (20), so other writers (a send's progress, leads) are not slowed.
constexpr uint64_t kIngestMaxL0Files = 18;

// What a batch's row is to the list before the write.
enum : uint8_t {
  kNotMember = 0,
  kMember = 1,            // marked with this writer's marker (run id 0 only)
  kMemberThisRun = 2,     // written by an earlier batch of this run: a duplicate
  kMemberOtherMarker = 3,
  kUnreadable = 4,        // the read failed
};

// One SST file being written, entries in key order. Errors are kept until Finish.
class SstOut {
 public:
  SstOut(const rocksdb::Options& o, rocksdb::ColumnFamilyHandle* cf)
      : w_(rocksdb::EnvOptions(), o, cf, /*invalidate_page_cache=*/false) {}
  [[nodiscard]] absl::Status Open(const std::string& path) {
    path_ = path;
    return FromRocks(w_.Open(path), absl::StrCat("creating ", path));
  }
  void Put(std::string_view key, std::string_view value) {
    if (s_.ok()) s_ = w_.Put(rocksdb::Slice(key.data(), key.size()),
                             rocksdb::Slice(value.data(), value.size()));
  }
  // Writes the index and filter, fsyncs and closes the file.
  [[nodiscard]] absl::Status Finish() {
    if (s_.ok()) s_ = w_.Finish();
    return FromRocks(s_, absl::StrCat("writing ", path_));
  }

 private:
  rocksdb::SstFileWriter w_;
  rocksdb::Status s_;
  std::string path_;
};

// Writes the SST file `path` of column family `cf` with what `fill` puts into it (in key order).
template <typename Fill>
absl::Status WriteSst(const rocksdb::Options& o, rocksdb::ColumnFamilyHandle* cf,
                      const std::string& path, const Fill& fill) {
  SstOut out(o, cf);
  RETURN_IF_ERROR(out.Open(path));
  fill(&out);
  return out.Finish();
}

// The exact existence checks read a batch's keys in sorted chunks spread over the whole store: a
// data block read for one chunk is rarely read again before a store larger than the block cache
// has evicted it, so caching it only evicts the index and filter partitions the next chunk needs.
rocksdb::ReadOptions BulkRead() {
  rocksdb::ReadOptions o;
  o.fill_cache = false;
  return o;
}

void RemoveFile(std::string* path) {
  if (path->empty()) return;
  ::unlink(path->c_str());
  path->clear();
}

}  // namespace

ImportWriter::ImportWriter(Store* store, const UpsertOptions& options, size_t ingest_min_rows,
                           size_t max_kept)
    : store_(store), options_(options), ingest_min_rows_(ingest_min_rows), max_kept_(max_kept) {}

ImportWriter::~ImportWriter() {
  RestoreL0Triggers();
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

absl::Status ImportWriter::Init() {
  rocksdb::DB* db = DbOf(store_);
  cf_ = std::make_unique<CfFiles>();
  cf_->records = db->GetOptions(CfOf(store_, Cf::kRecipients));
  cf_->members = db->GetOptions(CfOf(store_, Cf::kMembers));
  cf_->hashes = db->GetOptions(CfOf(store_, Cf::kAddrHash));
  cf_->lists = db->GetOptions(CfOf(store_, Cf::kLists));
  for (rocksdb::Options* o : {&cf_->records, &cf_->members, &cf_->hashes}) ImportFileOptions(o);
  RaiseL0Triggers({&cf_->records, &cf_->members, &cf_->hashes});
  dir_ = absl::StrFormat("%s/%s/%016x-%d", store_->data_dir(), kImportTmpDir, options_.run_id,
                         static_cast<int>(::getpid()));
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    std::string dir = dir_;
    dir_.clear();
    return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

absl::Status ImportWriter::Prebuild(ImportBatch* b) const {
  const uint32_t n = static_cast<uint32_t>(b->size());
  if (n == 0 || n < ingest_min_rows_ || dir_.empty() || !b->check.done) return absl::OkStatus();
  for (uint32_t j = 0; j < n; ++j) {
    if (b->check.exists[j] || b->check.member[j] != kNotMember) return absl::OkStatus();
  }
  std::string marker;
  PutFixed64(&marker, options_.run_id);
  const uint64_t seq = file_seq_.fetch_add(1);
  // Each path is recorded before its file is written, so that Discard removes a partial one.
  b->members_file = absl::StrCat(dir_, "/", seq, "-members.sst");
  RETURN_IF_ERROR(WriteSst(cf_->members, CfOf(store_, Cf::kMembers), b->members_file,
                           [&](SstOut* out) {
                             for (uint32_t j : b->member_order()) out->Put(b->MemberKey(j), marker);
                           }));
  b->records_file = absl::StrCat(dir_, "/", seq, "-records.sst");
  RETURN_IF_ERROR(WriteSst(cf_->records, CfOf(store_, Cf::kRecipients), b->records_file,
                           [&](SstOut* out) {
                             for (uint32_t j = 0; j < n; ++j) out->Put(b->Key(j), b->Record(j));
                           }));
  b->hashes_file = absl::StrCat(dir_, "/", seq, "-hashes.sst");
  RETURN_IF_ERROR(WriteSst(cf_->hashes, CfOf(store_, Cf::kAddrHash), b->hashes_file,
                           [&](SstOut* out) {
                             for (uint32_t j : b->hash_order()) out->Put(b->HashKey(j), "");
                           }));
  return absl::OkStatus();
}

absl::Status ImportWriter::ReadMembers(const ImportBatch& b, const rocksdb::ReadOptions& ro,
                                       const std::vector<uint32_t>& rows,
                                       const std::string& marker,
                                       std::vector<uint8_t>* member) const {
  absl::Status first;
  RETURN_IF_ERROR(ChunkedMultiGet(
      DbOf(store_), ro, CfOf(store_, Cf::kMembers), rows,
      [&](uint32_t j) { return b.MemberKey(j); },
      [&](uint32_t j, const rocksdb::Status& got, std::string_view value) {
        uint8_t& state = (*member)[j];
        if (got.IsNotFound()) {
          state = kNotMember;
        } else if (!got.ok()) {
          state = kUnreadable;
          if (first.ok()) first = FromRocks(got, "reading members");
        } else if (options_.run_id != 0 && GetFixed64(value) == options_.run_id) {
          state = kMemberThisRun;
        } else {
          state = value == marker ? kMember : kMemberOtherMarker;
        }
        return absl::OkStatus();  // every row gets a state; the first error is returned below
      }));
  return first;
}

absl::Status ImportWriter::ReadRecords(const ImportBatch& b, const rocksdb::ReadOptions& ro,
                                       const std::vector<uint32_t>& rows, ImportCheck* c) const {
  Recipient stored, in, merged;
  std::string encoded;
  return ChunkedMultiGet(
      DbOf(store_), ro, CfOf(store_, Cf::kRecipients), rows,
      [&](uint32_t j) { return b.Key(j); },
      [&](uint32_t j, const rocksdb::Status& got, std::string_view value) -> absl::Status {
        c->exists[j] = 0;
        c->record[j] = 0;
        if (got.IsNotFound()) {
          c->record[j] = 1;  // kPutEncoded: new
          return absl::OkStatus();
        }
        if (!got.ok()) return FromRocks(got, "reading recipients");
        c->exists[j] = 1;
        // The row as stored, byte for byte (a re-import).
        if (b.Record(j) == value) return absl::OkStatus();
        RETURN_IF_ERROR(DecodeRecipient(b.AddressKey(j), value, &stored));
        RETURN_IF_ERROR(DecodeRecipient(b.AddressKey(j), b.Record(j), &in));
        MergeRecipient(stored, in, &merged);
        EncodeRecipient(merged, &encoded);
        if (encoded == value) return absl::OkStatus();
        c->record[j] = 2;  // kPutMerged
        c->merged_at[j] = {static_cast<uint32_t>(c->merged_arena.size()),
                           static_cast<uint32_t>(encoded.size())};
        c->merged_arena.append(encoded);
        return absl::OkStatus();
      });
}

void ImportWriter::Check(ImportBatch* b) const {
  ImportCheck* c = &b->check;
  const uint32_t n = static_cast<uint32_t>(b->size());
  c->Reset(n);
  if (n == 0) return;
  rocksdb::DB* db = DbOf(store_);
  const rocksdb::Snapshot* snap = db->GetSnapshot();
  rocksdb::ReadOptions ro = BulkRead();
  ro.snapshot = snap;
  std::vector<uint32_t> rows(n);
  for (uint32_t j = 0; j < n; ++j) rows[j] = j;
  absl::Status s = ReadRecords(*b, ro, rows, c);
  if (s.ok()) {
    rows.clear();
    for (uint32_t j : b->member_order()) {
      if (c->exists[j]) rows.push_back(j);
    }
    std::string marker;
    PutFixed64(&marker, options_.run_id);
    s = ReadMembers(*b, ro, rows, marker, &c->member);
  }
  c->seq = snap->GetSequenceNumber();
  db->ReleaseSnapshot(snap);
  c->done = s.ok();
}

bool ImportWriter::CheckUsable(const ImportBatch& b, uint64_t now,
                               std::vector<uint32_t>* stale) const {
  stale->clear();
  const ImportCheck& c = b.check;
  if (!c.done || c.seq < valid_from_ || c.seq > now) return false;
  // A write of this run after the check that is no longer in recent_: its keys are unknown.
  if (dropped_before_ > 0 && dropped_before_ - 1 >= c.seq) return false;
  std::vector<const std::vector<uint64_t>*> since;
  for (const OwnWrite& w : recent_) {
    if (w.before >= c.seq) since.push_back(&w.hashes);
  }
  if (since.empty()) return true;
  // One merge per write: the batch's rows in hash order against the write's sorted hashes.
  const uint32_t n = static_cast<uint32_t>(b.size());
  std::vector<uint8_t> written(n, 0);
  for (const std::vector<uint64_t>* hs : since) {
    size_t p = 0;
    for (uint32_t j : b.hash_order()) {
      const uint64_t h = b.AddressHashOf(j);
      while (p < hs->size() && (*hs)[p] < h) ++p;
      if (p == hs->size()) break;
      if ((*hs)[p] == h) written[j] = 1;
    }
  }
  for (uint32_t j = 0; j < n; ++j) {
    if (written[j]) stale->push_back(j);
  }
  return true;
}

void ImportWriter::NoteWrite(const ImportBatch& b, uint64_t before, uint64_t after, uint64_t ops,
                             uint64_t max_ops) {
  // Anything else written in the same span (the sequence number moved more than this write
  // does) invalidates the checks made before it.
  if (ops > 0 ? after - before != ops : after - before > max_ops) valid_from_ = after;
  last_after_ = after;
  if (recent_.size() >= kRecentWrites) {
    dropped_before_ = recent_.front().before + 1;
    recent_.erase(recent_.begin());
  }
  OwnWrite w;
  w.before = before;
  const uint32_t n = static_cast<uint32_t>(b.size());
  w.hashes.reserve(n);
  for (uint32_t j : b.hash_order()) w.hashes.push_back(b.AddressHashOf(j));  // sorted
  recent_.push_back(std::move(w));
}

void ImportWriter::RaiseL0Triggers(const std::array<const rocksdb::Options*, 3>& now) {
  for (size_t i = 0; i < kIngestedCfs.size(); ++i) {
    const int own = now[i]->level0_file_num_compaction_trigger;
    if (own >= kImportL0CompactionTrigger) continue;
    if (SetL0Trigger(kIngestedCfs[i], kImportL0CompactionTrigger)) saved_l0_trigger_[i] = own;
  }
}

void ImportWriter::RestoreL0Triggers() {
  for (size_t i = 0; i < kIngestedCfs.size(); ++i) {
    if (saved_l0_trigger_[i] > 0) SetL0Trigger(kIngestedCfs[i], saved_l0_trigger_[i]);
    saved_l0_trigger_[i] = 0;
  }
}

bool ImportWriter::SetL0Trigger(Cf cf, int files) {
  rocksdb::Status s = DbOf(store_)->SetOptions(
      CfOf(store_, cf), {{"level0_file_num_compaction_trigger", absl::StrCat(files)}});
  // Only when compactions start changes; a store reopened gets its own options back anyway.
  if (!s.ok()) ++trigger_failures_;
  return s.ok();
}

void ImportWriter::WaitForCompactions() {
  // RocksDB does not hold back ingestions for its level-0 limits (only writes): without this,
  // ingested files could pile up in L0 faster than compactions merge them, slowing every read
  // and stalling other writers (a send's progress) at level0_slowdown_writes_trigger (20).
  rocksdb::DB* db = DbOf(store_);
  auto l0_files = [&] {
    uint64_t most = 0;
    for (Cf cf : kIngestedCfs) {
      // A string property: GetIntProperty does not answer it (it always failed here, so the
      // wait never happened before).
      std::string text;
      uint64_t v = 0;
      if (db->GetProperty(CfOf(store_, cf), "rocksdb.num-files-at-level0", &text) &&
          absl::SimpleAtoi(text, &v)) {
        most = std::max(most, v);
      }
    }
    return most;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (l0_files() >= kIngestMaxL0Files && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ++l0_waits_;
  }
}

void ImportWriter::Discard(ImportBatch* b) const {
  RemoveFile(&b->records_file);
  RemoveFile(&b->members_file);
  RemoveFile(&b->hashes_file);
}

absl::StatusOr<UpsertCounts> ImportWriter::Write(ImportBatch* b) {
  UpsertCounts counts;
  counts.duplicate = b->duplicate();
  const uint32_t n = static_cast<uint32_t>(b->size());
  if (n == 0) {
    Discard(b);
    return counts;
  }
  std::string marker;
  PutFixed64(&marker, options_.run_id);
  rocksdb::DB* db = DbOf(store_);
  WaitForCompactions();
  std::lock_guard<std::mutex> lock(WriteMutexOf(store_));
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };

  // 1. Which recipients exist and what their records become, 2. the memberships of those that
  // exist (a member always has a record): as a worker read them ahead (Check) for the rows no
  // write changed since, read now (sorted MultiGets of kReadChunk keys) for the others, or for
  // every row when something other than this run wrote to the store since the check.
  enum : uint8_t { kKeep = 0, kPutEncoded = 1, kPutMerged = 2 };
  const uint64_t now = db->GetLatestSequenceNumber();
  if (now != last_after_) valid_from_ = now;  // not only this run wrote since its last write
  ImportCheck& c = b->check;
  std::vector<uint32_t> rows;  // to read now, ascending
  if (!CheckUsable(*b, now, &rows)) {
    c.Reset(n);
    rows.resize(n);
    for (uint32_t j = 0; j < n; ++j) rows[j] = j;
  }
  absl::Status records_status;
  if (!rows.empty()) {
    rechecked_ += rows.size();
    records_status = ReadRecords(*b, BulkRead(), rows, &c);
    if (records_status.ok()) {
      std::vector<uint8_t> read(n, 0);
      for (uint32_t j : rows) {
        read[j] = 1;
        c.member[j] = kNotMember;
      }
      std::vector<uint32_t> probe;  // rows that exist, in member key order
      for (uint32_t j : b->member_order()) {
        if (read[j] && c.exists[j]) probe.push_back(j);
      }
      records_status = ReadMembers(*b, BulkRead(), probe, marker, &c.member);
    }
  }
  std::vector<uint8_t>& exists = c.exists;
  std::vector<uint8_t>& record = c.record;
  std::vector<uint8_t>& member = c.member;
  std::vector<std::pair<uint32_t, uint32_t>>& merged_at = c.merged_at;
  std::string& merged_arena = c.merged_arena;
  RETURN_IF_ERROR(records_status);
  check_s_ += since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  struct AddTime {
    double* to;
    std::function<double()> f;
    ~AddTime() { *to += f(); }
  } add_time{&store_s_, [&] { return since(t1); }};

  // 3. Decide per row (RecipientStore::Upsert's rule and counts).
  std::vector<uint8_t> write_member(n, 0);
  size_t record_writes = 0, member_writes = 0, new_rows = 0;
  size_t existing = 0;
  uint64_t new_members = 0;
  const bool track = options_.run_id != 0;
  auto kept_key = [&](uint32_t j) {
    return std::make_pair(b->AddressHashOf(j), absl::Hash<std::string_view>()(b->AddressKey(j)));
  };
  for (uint32_t j = 0; j < n; ++j) {
    // A member of an earlier batch of this run: re-marked with the run id, or left as it was
    // (then in kept_: one probe both asks and records).
    bool duplicate = member[j] == kMemberThisRun;
    bool left_as_it_was = false;
    if (!duplicate && track && member[j] == kMemberOtherMarker) {
      if (kept_.size() < max_kept_) {
        left_as_it_was = kept_.insert(kept_key(j)).second;
        duplicate = !left_as_it_was;
      } else {
        duplicate = kept_.contains(kept_key(j));
      }
    }
    if (duplicate) {
      ++counts.duplicate;  // first occurrence wins
      record[j] = kKeep;
      continue;
    }
    existing += exists[j];
    bool record_changed = record[j] != kKeep;
    record_writes += record_changed;
    new_rows += record[j] == kPutEncoded;
    bool is_member = member[j] != kNotMember;
    write_member[j] = member[j] != kMember;
    if (left_as_it_was) write_member[j] = 0;  // a member already: its membership stays as it is
    member_writes += write_member[j];
    if (!is_member) ++new_members;
    if (!exists[j]) {
      ++counts.imported;
    } else if (record_changed || !is_member) {
      ++counts.updated;
    } else {
      ++counts.unchanged;
    }
  }
  auto record_value = [&](uint32_t j) {
    return record[j] == kPutEncoded
               ? b->Record(j)
               : std::string_view(merged_arena).substr(merged_at[j].first, merged_at[j].second);
  };
  std::string count;
  if (new_members > 0) {
    rocksdb::Slice list(b->list());
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kLists), list, &count);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading lists");
    uint64_t members = s.ok() ? GetFixed64(count) : 0;
    count.clear();
    PutFixed64(&count, members + new_members);
  }
  const size_t writes = record_writes + member_writes + new_rows + (new_members > 0);
  if (writes == 0) {
    Discard(b);
    return counts;
  }

  // 4a. Few new recipients: one WriteBatch (memtables, WAL). A batch of existing recipients (a
  // re-import rewriting run markers, merges) goes here too: ingesting it would add a level-0 file
  // over the whole key range per batch, and compacting those cost more than the memtable.
  if (new_rows == 0 || new_rows < ingest_min_rows_) {
    Discard(b);
    rocksdb::WriteBatch wb;
    for (uint32_t j = 0; j < n; ++j) {
      if (record[j] != kKeep) {
        std::string_view v = record_value(j);
        std::string_view k = b->Key(j);
        wb.Put(CfOf(store_, Cf::kRecipients), rocksdb::Slice(k.data(), k.size()),
               rocksdb::Slice(v.data(), v.size()));
      }
    }
    for (uint32_t j : b->member_order()) {
      if (!write_member[j]) continue;
      std::string_view mk = b->MemberKey(j);
      wb.Put(CfOf(store_, Cf::kMembers), rocksdb::Slice(mk.data(), mk.size()), marker);
    }
    for (uint32_t j : b->hash_order()) {
      if (record[j] != kPutEncoded) continue;
      std::string_view hk = b->HashKey(j);
      wb.Put(CfOf(store_, Cf::kAddrHash), rocksdb::Slice(hk.data(), hk.size()), rocksdb::Slice());
    }
    if (new_members > 0) wb.Put(CfOf(store_, Cf::kLists), b->list(), count);
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync;
    rocksdb::Status s = db->Write(wo, &wb);
    if (!s.ok()) return FromRocks(s, "writing recipients");
    NoteWrite(*b, now, db->GetLatestSequenceNumber(), wb.Count());
    ++write_batches_;
    return counts;
  }

  // 4b. Many keys: sorted SST files, one per column family, ingested atomically. Files prebuilt
  // for "every row new" are used when that is what happened.
  const uint64_t seq = file_seq_.fetch_add(1);
  std::vector<std::string> built;  // files written here (removed after the ingestion)
  auto build = [&](const rocksdb::Options& o, Cf cf, const char* name,
                   const auto& fill) -> absl::StatusOr<std::string> {
    std::string path = absl::StrCat(dir_, "/", seq, "-w-", name, ".sst");
    built.push_back(path);
    RETURN_IF_ERROR(WriteSst(o, CfOf(store_, cf), path, fill));
    return path;
  };
  auto cleanup = [&] {
    Discard(b);
    for (std::string& p : built) RemoveFile(&p);
  };
  std::vector<rocksdb::IngestExternalFileArg> args;
  auto add = [&](Cf cf, std::string path) {
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = CfOf(store_, cf);
    arg.external_files.push_back(std::move(path));
    arg.options.move_files = true;             // hard links: the files are ours, not copied
    arg.options.write_global_seqno = false;    // no write into the file after it is built
    arg.options.snapshot_consistency = true;
    arg.options.allow_global_seqno = true;     // overlapping existing keys: newest wins
    arg.options.allow_blocking_flush = true;   // overlapping a memtable: flush it first
    args.push_back(std::move(arg));
  };
  // One column family's file: the prebuilt one when every row of the batch needs it, else one
  // built now from what this batch writes.
  absl::Status st;
  auto add_or_build = [&](bool all_rows, const std::string& prebuilt, const rocksdb::Options& o,
                          Cf cf, const char* name, const auto& fill) {
    if (!st.ok()) return;
    if (all_rows && !prebuilt.empty()) {
      add(cf, prebuilt);
      return;
    }
    auto p = build(o, cf, name, fill);
    if (!p.ok()) st = p.status(); else add(cf, *p);
  };
  if (record_writes > 0) {
    add_or_build(new_rows == n, b->records_file, cf_->records, Cf::kRecipients, "records",
                 [&](SstOut* out) {
                   for (uint32_t j = 0; j < n; ++j) {
                     if (record[j] != kKeep) out->Put(b->Key(j), record_value(j));
                   }
                 });
  }
  if (member_writes > 0) {
    add_or_build(member_writes == n, b->members_file, cf_->members, Cf::kMembers, "members",
                 [&](SstOut* out) {
                   for (uint32_t j : b->member_order()) {
                     if (write_member[j]) out->Put(b->MemberKey(j), marker);
                   }
                 });
  }
  if (new_rows > 0) {
    add_or_build(new_rows == n, b->hashes_file, cf_->hashes, Cf::kAddrHash, "hashes",
                 [&](SstOut* out) {
                   for (uint32_t j : b->hash_order()) {
                     if (record[j] == kPutEncoded) out->Put(b->HashKey(j), "");
                   }
                 });
  }
  if (st.ok() && new_members > 0) {
    auto p = build(cf_->lists, Cf::kLists, "lists",
                   [&](SstOut* out) { out->Put(b->list(), count); });
    if (!p.ok()) st = p.status(); else add(Cf::kLists, *p);
  }
  if (st.ok()) {
    rocksdb::Status s = db->IngestExternalFiles(args);
    if (!s.ok()) st = FromRocks(s, "ingesting recipients");
    else NoteWrite(*b, now, db->GetLatestSequenceNumber(), 0, args.size());
  }
  cleanup();
  if (!st.ok()) return st;
  ++ingested_;
  return counts;
}

}  // namespace salvo
