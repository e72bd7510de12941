// Preparing an import batch: encode, sort, dedupe, order the member and addr_hash keys. See
// import_batch.h. No I/O.
#include "store/import_batch.h"

#include <algorithm>
#include <cassert>
#include <utility>
#include <vector>

#include "engine/base/shard.h"
#include "store/record_codec.h"

namespace salvo {

void ImportBatch::Reset(std::string_view list) {
  list_.assign(list);
  arena_.clear();
  rows_.clear();
  member_order_.clear();
  hash_order_.clear();
  duplicate_ = 0;
  records_file.clear();
  members_file.clear();
  hashes_file.clear();
  check.Reset(0);
}

absl::Status ImportBatch::Add(const Recipient& r) {
  if (r.key.empty() || r.address.empty()) {
    return absl::InvalidArgumentError("recipient without address key in import batch");
  }
  EncodeRecipient(r, &scratch_);
  if (arena_.size() + 3 * r.key.size() + 1 + scratch_.size() + list_.size() + 10 >
      kImportBatchMaxBytes) {
    return absl::InvalidArgumentError("import batch larger than its byte bound");
  }
  Row row;
  const uint64_t hash = AddressHash(r.key);
  const uint32_t shard = static_cast<uint32_t>(hash % kVirtualShards);  // ShardOf(r.key)
  row.rec_at = static_cast<uint32_t>(arena_.size());
  row.rec_len = static_cast<uint32_t>(scratch_.size());
  arena_.append(scratch_);
  RecipientKey(shard, r.key, &scratch_);
  row.key_at = static_cast<uint32_t>(arena_.size());
  row.key_len = static_cast<uint32_t>(r.key.size());
  arena_.append(scratch_);
  MembersKey(list_, shard, r.key, &scratch_);
  row.mkey_at = static_cast<uint32_t>(arena_.size());
  row.mkey_len = static_cast<uint32_t>(scratch_.size());
  arena_.append(scratch_);
  row.hkey_at = static_cast<uint32_t>(arena_.size());
  for (int s = 56; s >= 0; s -= 8) arena_.push_back(static_cast<char>(hash >> s));
  arena_.append(r.key);
  rows_.push_back(row);
  return absl::OkStatus();
}

void ImportBatch::Finish() {
  // By recipients key, i.e. by (shard, address key) bytes: the order of the recipients column
  // family's bytewise comparator, which SST files must follow. Stable: a key's first occurrence
  // comes first and is kept.
  auto full = [&](const Row& r) { return At(r.key_at, 1 + r.key_len); };
  std::stable_sort(rows_.begin(), rows_.end(),
                   [&](const Row& a, const Row& b) { return full(a) < full(b); });
  size_t kept = 0;
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (kept > 0 && full(rows_[kept - 1]) == full(rows_[i])) {
      ++duplicate_;
      continue;
    }
    rows_[kept++] = rows_[i];
  }
  rows_.resize(kept);
  const uint32_t m = static_cast<uint32_t>(kept);
  member_order_.resize(m);
  hash_order_.resize(m);
  for (uint32_t j = 0; j < m; ++j) member_order_[j] = hash_order_[j] = j;
  // MembersKey(list, shard, key) is the list, a NUL, then RecipientKey(shard, key): for the one
  // list of a batch, member-key order is recipients key order.
  assert(std::is_sorted(member_order_.begin(), member_order_.end(),
                        [&](uint32_t a, uint32_t b) { return MemberKey(a) < MemberKey(b); }));
  // HashKey is the big-endian AddressHash, then the key: by the hash as a number, then the key.
  std::vector<std::pair<uint64_t, uint32_t>> by_hash(m);
  for (uint32_t j = 0; j < m; ++j) by_hash[j] = {AddressHashOf(j), j};
  std::sort(by_hash.begin(), by_hash.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return AddressKey(a.second) < AddressKey(b.second);
  });
  for (uint32_t j = 0; j < m; ++j) hash_order_[j] = by_hash[j].second;
}

}  // namespace salvo
