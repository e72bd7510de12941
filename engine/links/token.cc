// Tracking tokens: compact binary payload + truncated HMAC-SHA256, URL-safe base64 without
// padding. Layout (before base64):
//   version(1)=1 | kind(1) | len(1) campaign_id | len(1) address_key | [link_index u32 BE: click]
//   | tag(12) = HMAC-SHA256(secret, everything before the tag)[0..12)   (96 bits)
// Trust: VerifyToken takes hostile input (URLs, bounce addresses): it is bounded (<= 1024 chars),
// checks every length, and compares the tag in constant time before returning any data.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "engine/links/token.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstring>

#include "absl/status/status.h"
#include "engine/base/shard.h"

namespace salvo {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kBounceVersion = 2;
constexpr size_t kBounceRaw = 1 + 4 + 8 + 12;
static_assert(kBounceRaw * 8 == kBounceTagChars * 5, "bounce tag is whole base32 groups");
constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";

int B32Val(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

void PutBe(uint64_t v, int bytes, uint8_t* p) {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint64_t GetBe(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}
constexpr size_t kTagLen = 12;
constexpr size_t kMaxTokenChars = 1024;

int B64Val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Strict decode: rejects padding, foreign characters, a dangling sextet and non-zero unused
// bits (so every token has exactly one encoding and any changed character changes the bytes).
bool DecodeB64Url(std::string_view s, std::string* out) {
  if (s.size() % 4 == 1) return false;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = B64Val(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return false;
  return true;
}

// Copies n bytes (n small, unknown at compile time) without GCC's inline `rep movsq`, whose
// start-up cost dominates copies of a few dozen bytes.
inline void CopySmall(uint8_t* dst, const void* src_v, size_t n) {
  const auto* src = static_cast<const uint8_t*>(src_v);
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, src + i, 8);
      std::memcpy(dst + i, &w, 8);
    }
    if (i < n) {  // last 8 bytes, overlapping what is already copied
      uint64_t w;
      std::memcpy(&w, src + n - 8, 8);
      std::memcpy(dst + n - 8, &w, 8);
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) dst[i] = src[i];
}

// URL-safe base64 without padding, written in place (the output length is known up front).
void AppendB64Url(const uint8_t* p, size_t n, std::string* out) {
  static constexpr char kAbc[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const size_t at = out->size();
  out->resize(at + (n * 4 + 2) / 3);
  char* o = out->data() + at;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    o[0] = kAbc[v >> 18];
    o[1] = kAbc[(v >> 12) & 63];
    o[2] = kAbc[(v >> 6) & 63];
    o[3] = kAbc[v & 63];
    o += 4;
  }
  if (i < n) {
    uint32_t v = uint32_t{p[i]} << 16;
    if (n - i == 2) v |= uint32_t{p[i + 1]} << 8;
    *o++ = kAbc[v >> 18];
    *o++ = kAbc[(v >> 12) & 63];
    if (n - i == 2) *o++ = kAbc[(v >> 6) & 63];
  }
}

void PutBe32(uint32_t v, uint8_t* p) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace

struct TokenSigner::State {
  SHA256_CTX inner;  // after absorbing key ^ ipad
  SHA256_CTX outer;  // after absorbing key ^ opad

  // Messages of up to kDirectMax bytes (every token of a normal-length campaign id and address):
  // `blk` holds the message in its first n bytes and has room for 128; it is padded in place and
  // run through the compression function from the precomputed midstates (SHA256_Transform, one
  // call per 64-byte block), which is what SHA256_Update + SHA256_Final do for such a message
  // minus the buffering, length bookkeeping and clean-up.
  static constexpr size_t kDirectMax = 128 - 9;
  void TagDirect(uint8_t* blk, size_t n, uint8_t tag[SHA256_DIGEST_LENGTH]) const {
    const size_t blocks = n <= 55 ? 1 : 2;
    const size_t end = blocks * 64;
    blk[n] = 0x80;
    std::memset(blk + n + 1, 0, end - 8 - (n + 1));
    const uint64_t bits = (uint64_t{SHA256_CBLOCK} + n) * 8;  // the ipad block comes first
    PutBe32(static_cast<uint32_t>(bits >> 32), blk + end - 8);
    PutBe32(static_cast<uint32_t>(bits), blk + end - 4);
    SHA256_CTX c = inner;
    for (size_t b = 0; b < blocks; ++b) SHA256_Transform(&c, blk + b * 64);
    uint8_t ob[64];
    for (int i = 0; i < 8; ++i) PutBe32(c.h[i], ob + 4 * i);
    ob[32] = 0x80;
    std::memset(ob + 33, 0, 64 - 8 - 33);
    const uint64_t obits = (uint64_t{SHA256_CBLOCK} + SHA256_DIGEST_LENGTH) * 8;
    PutBe32(static_cast<uint32_t>(obits >> 32), ob + 56);
    PutBe32(static_cast<uint32_t>(obits), ob + 60);
    c = outer;
    SHA256_Transform(&c, ob);
    for (int i = 0; i < 8; ++i) PutBe32(c.h[i], tag + 4 * i);
  }

  void Tag(const uint8_t* msg, size_t n, uint8_t tag[SHA256_DIGEST_LENGTH]) const {
    if (n <= kDirectMax) {
      uint8_t blk[128];
      CopySmall(blk, msg, n);
      TagDirect(blk, n, tag);
      return;
    }
    SHA256_CTX c = inner;
    SHA256_Update(&c, msg, n);
    uint8_t ih[SHA256_DIGEST_LENGTH];
    SHA256_Final(ih, &c);
    c = outer;
    SHA256_Update(&c, ih, sizeof ih);
    SHA256_Final(tag, &c);
  }
};

TokenSigner::TokenSigner(std::string_view secret) : state_(std::make_unique<State>()) {
  uint8_t key[SHA256_CBLOCK] = {0};
  if (secret.size() > SHA256_CBLOCK) {
    SHA256(reinterpret_cast<const uint8_t*>(secret.data()), secret.size(), key);
  } else {
    std::memcpy(key, secret.data(), secret.size());
  }
  uint8_t ipad[SHA256_CBLOCK], opad[SHA256_CBLOCK];
  for (size_t i = 0; i < SHA256_CBLOCK; ++i) {
    ipad[i] = key[i] ^ 0x36;
    opad[i] = key[i] ^ 0x5c;
  }
  SHA256_Init(&state_->inner);
  SHA256_Update(&state_->inner, ipad, sizeof ipad);
  SHA256_Init(&state_->outer);
  SHA256_Update(&state_->outer, opad, sizeof opad);
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
}

TokenSigner::~TokenSigner() { OPENSSL_cleanse(state_.get(), sizeof(State)); }

void TokenSigner::Append(const TokenData& data, std::string* out) const {
  // Room for the longest payload plus the tag, and at least 128 bytes for the padded block(s)
  // of the direct HMAC path.
  uint8_t buf[4 + 255 + 255 + 4 + 128];
  size_t n = 0;
  size_t clen = data.campaign_id.size() > 255 ? 255 : data.campaign_id.size();
  size_t klen = data.address_key.size() > 255 ? 255 : data.address_key.size();
  buf[n++] = kVersion;
  buf[n++] = static_cast<uint8_t>(data.kind);
  buf[n++] = static_cast<uint8_t>(clen);
  CopySmall(buf + n, data.campaign_id.data(), clen);
  n += clen;
  buf[n++] = static_cast<uint8_t>(klen);
  CopySmall(buf + n, data.address_key.data(), klen);
  n += klen;
  if (data.kind == TokenKind::kClick) {
    PutBe32(data.link_index, buf + n);
    n += 4;
  }
  uint8_t tag[SHA256_DIGEST_LENGTH];
  if (n <= State::kDirectMax) {
    state_->TagDirect(buf, n, tag);  // pads buf[n..] in place; the tag overwrites it below
  } else {
    state_->Tag(buf, n, tag);
  }
  std::memcpy(buf + n, tag, kTagLen);
  n += kTagLen;
  AppendB64Url(buf, n, out);
}

absl::StatusOr<TokenData> TokenSigner::Verify(std::string_view token) const {
  if (token.size() > kMaxTokenChars) return absl::InvalidArgumentError("token too long");
  std::string raw;
  if (!DecodeB64Url(token, &raw)) return absl::InvalidArgumentError("token is not base64url");
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  const size_t n = raw.size();
  if (n < 4 + kTagLen) return absl::InvalidArgumentError("token too short");
  const size_t body = n - kTagLen;
  uint8_t tag[SHA256_DIGEST_LENGTH];
  state_->Tag(p, body, tag);
  if (CRYPTO_memcmp(tag, p + body, kTagLen) != 0)
    return absl::PermissionDeniedError("token signature mismatch");
  // Authentic from here on; still parse defensively.
  size_t i = 0;
  if (p[i++] != kVersion) return absl::InvalidArgumentError("unknown token version");
  TokenData d;
  uint8_t k = p[i++];
  switch (k) {
    case 'c': case 'o': case 'u': case 'b': d.kind = static_cast<TokenKind>(k); break;
    default: return absl::InvalidArgumentError("unknown token kind");
  }
  size_t clen = p[i++];
  if (i + clen + 1 > body) return absl::InvalidArgumentError("token truncated");
  d.campaign_id.assign(raw.data() + i, clen);
  i += clen;
  size_t klen = p[i++];
  if (i + klen > body) return absl::InvalidArgumentError("token truncated");
  d.address_key.assign(raw.data() + i, klen);
  i += klen;
  if (d.kind == TokenKind::kClick) {
    if (i + 4 > body) return absl::InvalidArgumentError("token truncated");
    d.link_index = (uint32_t{p[i]} << 24) | (uint32_t{p[i + 1]} << 16) |
                   (uint32_t{p[i + 2]} << 8) | p[i + 3];
    i += 4;
  }
  if (i != body) return absl::InvalidArgumentError("token has trailing bytes");
  return d;
}

uint32_t CampaignRef(std::string_view campaign_id) {
  return static_cast<uint32_t>(AddressHash(campaign_id) >> 32);
}

void TokenSigner::AppendBounceTag(std::string_view campaign_id, std::string_view address_key,
                                  std::string* out) const {
  uint8_t buf[128];  // the padded HMAC block, then the tag over the padding
  buf[0] = kBounceVersion;
  PutBe(CampaignRef(campaign_id), 4, buf + 1);
  PutBe(AddressHash(address_key), 8, buf + 5);
  uint8_t tag[SHA256_DIGEST_LENGTH];
  state_->TagDirect(buf, 13, tag);
  std::memcpy(buf + 13, tag, kBounceRaw - 13);
  // 25 bytes -> 40 characters, 5 bytes (8 characters) at a time.
  const size_t at = out->size();
  out->resize(at + kBounceTagChars);
  char* o = out->data() + at;
  for (size_t i = 0; i < kBounceRaw; i += 5) {
    uint64_t g = GetBe(buf + i, 5);
    for (int k = 7; k >= 0; --k) {
      o[k] = kBase32[g & 31];
      g >>= 5;
    }
    o += 8;
  }
}

absl::StatusOr<BounceTag> TokenSigner::VerifyBounceTag(std::string_view t) const {
  if (t.size() != kBounceTagChars)
    return absl::InvalidArgumentError("bounce tag has the wrong length");
  uint8_t raw[kBounceRaw];
  for (size_t i = 0; i < kBounceRaw / 5; ++i) {
    uint64_t g = 0;
    for (size_t k = 0; k < 8; ++k) {
      int v = B32Val(t[i * 8 + k]);
      if (v < 0) return absl::InvalidArgumentError("bounce tag is not base32");
      g = (g << 5) | static_cast<uint64_t>(v);
    }
    PutBe(g, 5, raw + i * 5);
  }
  uint8_t tag[SHA256_DIGEST_LENGTH];
  state_->Tag(raw, 13, tag);
  if (CRYPTO_memcmp(tag, raw + 13, kBounceRaw - 13) != 0)
    return absl::PermissionDeniedError("bounce tag signature mismatch");
  if (raw[0] != kBounceVersion) return absl::InvalidArgumentError("unknown bounce tag version");
  BounceTag b;
  b.campaign_ref = static_cast<uint32_t>(GetBe(raw + 1, 4));
  b.address_hash = GetBe(raw + 5, 8);
  return b;
}

void AppendToken(const TokenData& data, std::string_view secret, std::string* out) {
  TokenSigner(secret).Append(data, out);
}

std::string MakeToken(const TokenData& data, std::string_view secret) {
  std::string s;
  AppendToken(data, secret, &s);
  return s;
}

absl::StatusOr<TokenData> VerifyToken(std::string_view token, std::string_view secret) {
  return TokenSigner(secret).Verify(token);
}

}  // namespace salvo
