// Binary encoding of recipient and suppression records. Trust: decoders treat stored bytes as
// possibly damaged and bound every read by the remaining input.
#include "store/record_codec.h"

#include "absl/strings/str_cat.h"
#include "engine/base/shard.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {


[[nodiscard]] absl::Status Corrupt(std::string_view what, std::string_view key) {
  return absl::DataLossError(
      absl::StrCat("damaged ", Av(what), " record for key \"", SanitizeForLog(key, 200), "\""));
}

}  // namespace

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

uint64_t GetBe64(std::string_view in) {
  if (in.size() < 8) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

void PutBe64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint64(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint64_t byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    result |= (byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

void PutLengthPrefixed(std::string* out, std::string_view s) {
  PutVarint64(out, s.size());
  out->append(s);
}

bool GetLengthPrefixed(std::string_view* in, std::string_view* s) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

void EncodeRecipient(const Recipient& r, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kRecipientRecordVersion));
  out->push_back(static_cast<char>(r.HasConsent() ? kRecipientFlagConsent : 0));
  PutLengthPrefixed(out, r.address);
  PutLengthPrefixed(out, r.consent.opted_in_at);
  PutLengthPrefixed(out, r.consent.source);
  PutLengthPrefixed(out, r.consent.ip);
  PutVarint64(out, r.fields.size());
  for (const auto& [name, value] : r.fields) {
    PutLengthPrefixed(out, name);
    PutLengthPrefixed(out, value);
  }
}

[[nodiscard]]
absl::Status DecodeRecipient(std::string_view key, std::string_view in, Recipient* r) {
  if (in.size() < 2 || static_cast<uint8_t>(in[0]) != kRecipientRecordVersion) {
    return Corrupt("recipient", key);
  }
  in.remove_prefix(2);
  std::string_view address, at, source, ip;
  uint64_t n;
  if (!GetLengthPrefixed(&in, &address) || !GetLengthPrefixed(&in, &at) ||
      !GetLengthPrefixed(&in, &source) || !GetLengthPrefixed(&in, &ip) || !GetVarint64(&in, &n) ||
      n > in.size() / 2) {
    return Corrupt("recipient", key);
  }
  r->key.assign(key);
  r->shard = ShardOf(key);
  r->address.assign(address);
  r->consent.opted_in_at.assign(at);
  r->consent.source.assign(source);
  r->consent.ip.assign(ip);
  r->fields.clear();
  r->fields.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view name, value;
    if (!GetLengthPrefixed(&in, &name) || !GetLengthPrefixed(&in, &value)) {
      return Corrupt("recipient", key);
    }
    r->fields.emplace_back(std::string(name), std::string(value));
  }
  if (!in.empty()) return Corrupt("recipient", key);
  return absl::OkStatus();
}

bool RecipientHasConsent(std::string_view value) {
  return value.size() >= 2 && (static_cast<uint8_t>(value[1]) & kRecipientFlagConsent) != 0;
}

void EncodeSuppression(const SuppressionEntry& e, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kSuppressionRecordVersion));
  out->push_back(static_cast<char>(e.reason));
  PutVarint64(out, ZigZag(e.first_seen));
  PutVarint64(out, ZigZag(e.last_seen));
  PutLengthPrefixed(out, e.source);
  PutLengthPrefixed(out, e.detail);
}

[[nodiscard]]
absl::Status DecodeSuppression(std::string_view key, std::string_view in, SuppressionEntry* e) {
  if (in.size() < 2 || static_cast<uint8_t>(in[0]) != kSuppressionRecordVersion ||
      static_cast<uint8_t>(in[1]) > static_cast<uint8_t>(SuppressionReason::kManual)) {
    return Corrupt("suppression", key);
  }
  e->key.assign(key);
  e->reason = static_cast<SuppressionReason>(in[1]);
  in.remove_prefix(2);
  uint64_t first, last;
  std::string_view source, detail;
  if (!GetVarint64(&in, &first) || !GetVarint64(&in, &last) || !GetLengthPrefixed(&in, &source) ||
      !GetLengthPrefixed(&in, &detail) || !in.empty()) {
    return Corrupt("suppression", key);
  }
  e->first_seen = UnZigZag(first);
  e->last_seen = UnZigZag(last);
  e->source.assign(source);
  e->detail.assign(detail);
  return absl::OkStatus();
}

void RecipientKey(uint32_t shard, std::string_view address_key, std::string* out) {
  out->clear();
  out->reserve(1 + address_key.size());
  out->push_back(static_cast<char>(shard));
  out->append(address_key);
}

void MembersKey(std::string_view list, uint32_t shard, std::string_view address_key,
                std::string* out) {
  out->clear();
  out->reserve(list.size() + 2 + address_key.size());
  out->append(list);
  out->push_back('\0');
  out->push_back(static_cast<char>(shard));
  out->append(address_key);
}

}  // namespace salvo
