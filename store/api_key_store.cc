// API key records in the meta family (see api_key_store.h). Value: u8 version = 1,
// varint scopes, lp route, zigzag-varint created_at, 32 bytes SHA-256 of the key.
#include "store/api_key_store.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "rocksdb/db.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {
namespace {

constexpr uint8_t kApiKeyVersion = 1;
constexpr size_t kMaxNameBytes = 64;
constexpr size_t kMaxKeyBytes = 256;  // longer presented keys are rejected before hashing
constexpr std::string_view kKeyPrefix = "salvo_";
constexpr std::string_view kScopeNames[] = {"leads", "messages", "submission"};

std::string Prefix() { return std::string("apikey\0", 7); }
std::string Key(std::string_view name) { return Prefix() + std::string(name); }

std::string Sha256(std::string_view s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return std::string(reinterpret_cast<const char*>(d), sizeof d);
}

bool ValidName(std::string_view n) {
  if (n.empty() || n.size() > kMaxNameBytes) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

}  // namespace

absl::StatusOr<uint32_t> ParseApiScopes(std::string_view text) {
  uint32_t bits = 0;
  for (absl::string_view part : absl::StrSplit(Av(text), ',')) {
    uint32_t bit = 0;
    for (size_t i = 0; i < std::size(kScopeNames); ++i)
      if (Sv(part) == kScopeNames[i]) bit = 1u << i;
    if (bit == 0)
      return absl::InvalidArgumentError(absl::StrCat("unknown scope \"", SanitizeForLog(Sv(part), 64),
                                                     "\" (known: leads, messages, submission)"));
    if (bits & bit)
      return absl::InvalidArgumentError(absl::StrCat("scope \"", part, "\" given twice"));
    bits |= bit;
  }
  return bits;
}

std::string ApiScopesText(uint32_t scopes) {
  std::string out;
  for (size_t i = 0; i < std::size(kScopeNames); ++i)
    if (scopes & (1u << i)) absl::StrAppend(&out, out.empty() ? "" : ",", Av(kScopeNames[i]));
  return out;
}

void EncodeApiKey(const ApiKey& k, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kApiKeyVersion));
  PutVarint64(out, k.scopes);
  PutLengthPrefixed(out, k.route);
  PutVarint64(out, ZigZag(k.created_at));
  out->append(k.sha256);
}

absl::Status DecodeApiKey(std::string_view name, std::string_view v, ApiKey* k) {
  auto bad = [&] {
    return absl::DataLossError(
        absl::StrCat("damaged api key record \"", SanitizeForLog(name, 64), "\""));
  };
  if (v.empty() || static_cast<uint8_t>(v[0]) != kApiKeyVersion) return bad();
  v.remove_prefix(1);
  uint64_t scopes, created;
  std::string_view route;
  if (!GetVarint64(&v, &scopes) || scopes > kAllApiScopes || !GetLengthPrefixed(&v, &route) ||
      !GetVarint64(&v, &created) || v.size() != kApiKeyHashBytes)
    return bad();
  k->name = std::string(name);
  k->scopes = static_cast<uint32_t>(scopes);
  k->route = std::string(route);
  k->created_at = UnZigZag(created);
  k->sha256 = std::string(v);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ApiKeyStore::Create(std::string_view name, uint32_t scopes,
                                                std::string_view route, int64_t now) {
  if (!ValidName(name))
    return absl::InvalidArgumentError(absl::StrCat("invalid api key name \"", SanitizeForLog(name, 80),
                                                   "\" (1..64 of A-Z a-z 0-9 . _ -)"));
  if (scopes == 0 || (scopes & ~kAllApiScopes) != 0)
    return absl::InvalidArgumentError("an api key needs at least one scope (leads, messages, submission)");
  if (route.size() > 200 || SanitizeForLog(route, 200) != route)
    return absl::InvalidArgumentError(absl::StrCat("invalid route \"", SanitizeForLog(route, 64), "\""));
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return absl::InternalError("OpenSSL's random generator failed; no key created");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key(kKeyPrefix);
  for (unsigned char b : raw) {
    key.push_back(kHex[b >> 4]);
    key.push_back(kHex[b & 0xF]);
  }
  OPENSSL_cleanse(raw, sizeof raw);
  ApiKey k;
  k.name = std::string(name);
  k.scopes = scopes;
  k.route = std::string(route);
  k.created_at = now;
  k.sha256 = Sha256(key);
  std::string v;
  EncodeApiKey(k, &v);

  std::lock_guard<std::mutex> lock(WriteMutexOf(store_));
  ASSIGN_OR_RETURN(std::vector<ApiKey> all, List());
  for (const ApiKey& other : all)
    if (other.name == name)
      return absl::AlreadyExistsError(absl::StrCat("api key \"", Av(name), "\" already exists"));
  if (all.size() >= kMaxApiKeys)
    return absl::ResourceExhaustedError(absl::StrCat("already ", all.size(), " api keys (the limit)"));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  RETURN_IF_ERROR(FromRocks(DbOf(store_)->Put(wo, CfOf(store_, Cf::kMeta), Key(name), v),
                            "writing api key"));
  return key;
}

absl::StatusOr<std::vector<ApiKey>> ApiKeyStore::List() {
  PrefixScan scan(store_, Cf::kMeta, Prefix());
  std::vector<ApiKey> out;
  for (; scan.Valid() && out.size() <= kMaxApiKeys; scan.Next()) {
    ApiKey key;
    RETURN_IF_ERROR(DecodeApiKey(scan.rest(), scan.value(), &key));
    out.push_back(std::move(key));
  }
  RETURN_IF_ERROR(scan.status("listing api keys"));
  return out;
}

absl::Status ApiKeyStore::Revoke(std::string_view name) {
  std::lock_guard<std::mutex> lock(WriteMutexOf(store_));
  std::string v;
  rocksdb::Status s = DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kMeta), Key(name), &v);
  if (s.IsNotFound())
    return absl::NotFoundError(absl::StrCat("no api key \"", SanitizeForLog(name, 80), "\""));
  if (!s.ok()) return FromRocks(s, "reading api key");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(DbOf(store_)->Delete(wo, CfOf(store_, Cf::kMeta), Key(name)), "revoking api key");
}

absl::StatusOr<ApiKey> ApiKeyStore::Verify(std::string_view key) {
  const absl::Status denied = absl::UnauthenticatedError("unknown api key");
  if (key.size() > kMaxKeyBytes) return denied;
  const std::string hash = Sha256(key);
  ASSIGN_OR_RETURN(std::vector<ApiKey> all, List());
  const ApiKey* match = nullptr;
  for (const ApiKey& k : all) {
    // Every stored hash is compared (no early exit), each in constant time.
    if (CRYPTO_memcmp(k.sha256.data(), hash.data(), kApiKeyHashBytes) == 0) match = &k;
  }
  if (match == nullptr) return denied;
  return *match;
}

}  // namespace salvo
