// Compact binary encoding of the store's values (format documented in store/README.md).
// Trust: decoders read bytes from disk that may be damaged: every length is checked against the
// remaining input and a bad record is an error naming what is wrong, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/base/recipient.h"
#include "engine/base/shard.h"
#include "store/suppression_store.h"

namespace salvo {

inline constexpr uint8_t kRecipientRecordVersion = 1;
inline constexpr uint8_t kSuppressionRecordVersion = 1;
inline constexpr uint8_t kRecipientFlagConsent = 0x01;

// Varint (LEB128, as RocksDB's) helpers.
void PutVarint64(std::string* out, uint64_t v);
bool GetVarint64(std::string_view* in, uint64_t* v);
void PutLengthPrefixed(std::string* out, std::string_view s);
// Zigzag mapping of signed values (times, which may be negative) onto varints.
constexpr uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}
bool GetLengthPrefixed(std::string_view* in, std::string_view* s);

// Fixed-width integers: little endian for values (counts, run markers), big endian for key
// parts that must sort by number (times, hashes).
void PutFixed64(std::string* out, uint64_t v);
uint64_t GetFixed64(std::string_view in);  // 0 unless `in` is exactly 8 bytes
void PutBe64(std::string* out, uint64_t v);
uint64_t GetBe64(std::string_view in);  // the first 8 bytes, big-endian (0 if shorter)

// Recipient value: version, flags, address, opted_in_at, consent_source, consent_ip, field count,
// then (name, value) pairs in name order. r.fields must be sorted with unique names.
// The key (r.key) and shard are not part of the value: they come from the RocksDB key.
void EncodeRecipient(const Recipient& r, std::string* out);
[[nodiscard]]
absl::Status DecodeRecipient(std::string_view key, std::string_view value, Recipient* r);
// Reads only the flags byte: "has consent" without decoding the record.
bool RecipientHasConsent(std::string_view value);

// Suppression value: version, reason, first_seen, last_seen (zigzag varints), source, detail.
void EncodeSuppression(const SuppressionEntry& e, std::string* out);
[[nodiscard]]
absl::Status DecodeSuppression(std::string_view key, std::string_view value, SuppressionEntry* e);

// Recipients key (store schema 2): shard(1 byte) address_key, so that one shard's recipients
// are contiguous in key order and a send's scan of a shard reads neighbouring blocks. The one
// encoder of Cf::kRecipients keys: upserts, reads, the importer and the migration all use it.
void RecipientKey(uint32_t shard, std::string_view address_key, std::string* out);
inline void RecipientKey(std::string_view address_key, std::string* out) {
  RecipientKey(ShardOf(address_key), address_key, out);
}
// The address key inside a recipients key (empty when the key is too short).
inline std::string_view AddressKeyOfRecipientKey(std::string_view key) {
  return key.size() < 2 ? std::string_view() : key.substr(1);
}

// Members key: list '\0' shard(1 byte) address_key. List names never contain '\0'.
void MembersKey(std::string_view list, uint32_t shard, std::string_view address_key,
                std::string* out);

}  // namespace salvo
