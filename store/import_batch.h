// One batch of an import made ready for the store away from the writer thread: rows
// deduplicated (first occurrence wins), sorted by recipients key (store schema 2: shard byte then
// address key, RecipientKey in record_codec.h, the order of the column family's bytewise
// comparator), records encoded, member and addr_hash keys
// built and sorted. Compact (the bytes of the keys and records, no Recipient objects), so that
// the few batches an import keeps in flight bound its memory. Trust: rows are import rows already
// checked and normalized (store/recipient_row.h). No I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/base/recipient.h"

namespace salvo {

// What the store held for a batch's rows when a worker read it (ImportWriter::Check), per row in
// recipients key order; the writer uses it for the rows nobody wrote since (see import_writer.h).
struct ImportCheck {
  bool done = false;  // false: not read (the writer reads every row)
  uint64_t seq = 0;   // the store's sequence number the reads saw (a snapshot)
  std::vector<uint8_t> exists;  // 1: the recipient exists
  std::vector<uint8_t> record;  // 0: keep, 1: put the encoded row (new), 2: put the merged record
  std::vector<uint8_t> member;  // the membership's state (ImportWriter's kNotMember...)
  std::vector<std::pair<uint32_t, uint32_t>> merged_at;  // record 2: (offset, length) in arena
  std::string merged_arena;

  // Sizes the vectors for n rows: nothing read yet (not members, records new).
  void Reset(size_t n) {
    done = false;
    seq = 0;
    exists.assign(n, 0);
    record.assign(n, 0);
    member.assign(n, 0);
    merged_at.assign(n, {0, 0});
    merged_arena.clear();
  }
};

class ImportBatch {
 public:
  struct Row {
    uint32_t key_at = 0, key_len = 0;    // RecipientKey(shard, key): shard byte, then key_len
                                         // bytes of address_key
    uint32_t rec_at = 0, rec_len = 0;    // EncodeRecipient(row)
    uint32_t mkey_at = 0, mkey_len = 0;  // MembersKey(list, shard, key)
    uint32_t hkey_at = 0;                // AddressHashKey(key): 8 + key_len bytes
  };

  // Empties the batch for `list` (keeping capacity).
  void Reset(std::string_view list);
  // Appends one row: r.key and r.address set, fields sorted by name with unique names.
  // InvalidArgument if the key is empty or the batch would exceed kImportBatchMaxBytes.
  [[nodiscard]] absl::Status Add(const Recipient& r);
  // Sorts by recipients key (shard, address key), keeps each key's first occurrence (later ones counted in duplicate()) and
  // orders the member and addr_hash keys.
  void Finish();

  const std::string& list() const { return list_; }
  size_t size() const { return rows_.size(); }  // unique rows (after Finish)
  size_t bytes() const { return arena_.size(); }
  uint64_t duplicate() const { return duplicate_; }
  // Indices in member-key order and in addr_hash-key order (after Finish).
  const std::vector<uint32_t>& member_order() const { return member_order_; }
  const std::vector<uint32_t>& hash_order() const { return hash_order_; }

  // The recipients column family's key (shard byte + address key) and the address key in it.
  std::string_view Key(uint32_t j) const { return At(rows_[j].key_at, 1 + rows_[j].key_len); }
  std::string_view AddressKey(uint32_t j) const {
    return At(rows_[j].key_at + 1, rows_[j].key_len);
  }
  std::string_view Record(uint32_t j) const { return At(rows_[j].rec_at, rows_[j].rec_len); }
  std::string_view MemberKey(uint32_t j) const { return At(rows_[j].mkey_at, rows_[j].mkey_len); }
  std::string_view HashKey(uint32_t j) const { return At(rows_[j].hkey_at, 8 + rows_[j].key_len); }
  // AddressHash of the row's address key (the first 8 bytes of HashKey, big-endian).
  uint64_t AddressHashOf(uint32_t j) const {
    uint64_t h = 0;
    for (char c : HashKey(j).substr(0, 8)) h = (h << 8) | static_cast<unsigned char>(c);
    return h;
  }

  // SST files written ahead for the case where every row is new to the store (see
  // ImportWriter::Prebuild); empty when not built.
  std::string records_file, members_file, hashes_file;
  // The existence checks a worker made ahead (ImportWriter::Check).
  ImportCheck check;

 private:
  std::string_view At(uint32_t at, uint32_t len) const {
    return std::string_view(arena_).substr(at, len);
  }
  std::string list_;
  std::string arena_;                   // every key and record of the batch, back to back
  std::vector<Row> rows_;  // in input order; after Finish one per key, in recipients key order
  std::vector<uint32_t> member_order_;
  std::vector<uint32_t> hash_order_;
  uint64_t duplicate_ = 0;
  std::string scratch_;
};

// The most bytes of keys and records one batch may hold (offsets are 32-bit): an import cuts a
// batch earlier when its rows are large.
inline constexpr size_t kImportBatchMaxBytes = 512 << 20;

}  // namespace salvo
