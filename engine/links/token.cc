// Tracking tokens: compact binary payload + truncated HMAC-SHA256, URL-safe base64 without
// padding. Layout (before base64):
//   version(1)=3 | key_id u32 BE | purpose(1) | issued_at u32 BE (unix s) | recipient_id u64 BE
//   | [link_index u32 BE: click] | len(1) campaign_id | tag(12)
//   tag = HMAC-SHA256(key, everything before the tag)[0..12)   (96 bits)
// Mail sent before key ids existed carries version 1 tokens
//   version(1)=1 | kind(1) | len(1) campaign_id | len(1) address_key | [link_index u32: click]
//   | tag(12)
// which still verify (against every key of the ring); their address becomes a recipient id.
// Trust: Verify takes hostile input (URLs, bounce addresses): it is bounded (<= 1024 chars),
// checks every length, and compares the tag in constant time before returning any data.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "engine/links/token.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <cstring>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "absl/status/status.h"
#include "engine/base/base64.h"
#include "engine/base/cpu_features.h"
#include "engine/base/shard.h"

namespace salvo {
namespace {

constexpr uint8_t kLegacyVersion = 1;
constexpr uint8_t kVersion = 3;
constexpr uint8_t kLegacyBounceVersion = 2;  // no key id: 40 characters
constexpr uint8_t kBounceVersion = 3;
constexpr size_t kLegacyBounceRaw = 1 + 4 + 8 + 12;
constexpr size_t kLegacyBounceChars = 40;
constexpr size_t kBounceSigned = 1 + 4 + 4 + 8;
constexpr size_t kBounceRaw = kBounceSigned + 13;
static_assert(kBounceRaw * 8 == kBounceTagChars * 5, "bounce tag is whole base32 groups");
static_assert(kLegacyBounceRaw * 8 == kLegacyBounceChars * 5, "old tag is whole base32 groups");
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

#if defined(__x86_64__) && defined(__GNUC__)
#define SALVO_TOKEN_SHA_NI 1

alignas(16) constexpr uint32_t kSha256K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// Unless turned off (engine/base/cpu_features.h; the tests run both against OpenSSL's HMAC).
bool CpuHasShaNi() {
  if (CpuFeatureDisabled(CpuFeature::kShaNi)) return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  const bool ssse3_sse41 = (c & bit_SSSE3) != 0 && (c & bit_SSE4_1) != 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
  return ssse3_sse41 && (b & bit_SHA) != 0;
}

// One SHA-256 compression with the SHA extensions. The state is kept as the instructions want
// it (abef = {F, E, B, A}, cdgh = {H, G, D, C} from lane 0); w0..w3 are the 16 message words,
// lane 0 first.
__attribute__((target("sha,sse4.1,ssse3"))) inline void ShaNiRounds(__m128i* abef, __m128i* cdgh,
                                                                    __m128i w0, __m128i w1,
                                                                    __m128i w2, __m128i w3) {
  __m128i s0 = *abef, s1 = *cdgh;
  __m128i w[4] = {w0, w1, w2, w3};
#pragma GCC unroll 16
  for (int g = 0; g < 16; ++g) {
    const auto* k = reinterpret_cast<const __m128i*>(kSha256K + 4 * g);
    __m128i t = _mm_add_epi32(w[g & 3], _mm_load_si128(k));
    s1 = _mm_sha256rnds2_epu32(s1, s0, t);
    s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(t, 0x0E));
    if (g < 12) {  // words 4(g+4) .. 4(g+4)+3 replace those just used
      __m128i x = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
      x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
      w[g & 3] = _mm_sha256msg2_epu32(x, w[(g + 3) & 3]);
    }
  }
  *abef = _mm_add_epi32(*abef, s0);
  *cdgh = _mm_add_epi32(*cdgh, s1);
}

// HMAC-SHA256 of a message already padded into `blocks` 64-byte blocks (the ipad block counted
// in the length), from the inner and outer midstates in the SHA extensions' layout. The inner
// digest goes to the outer compression in registers.
__attribute__((target("sha,sse4.1,ssse3"))) void HmacShaNi(const __m128i mid[4],
                                                           const uint8_t* blk, size_t blocks,
                                                           uint8_t tag[32]) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i abef = mid[0], cdgh = mid[1];
  for (size_t b = 0; b < blocks; ++b) {
    const auto* p = reinterpret_cast<const __m128i*>(blk + 64 * b);
    ShaNiRounds(&abef, &cdgh, _mm_shuffle_epi8(_mm_loadu_si128(p), bswap),
                _mm_shuffle_epi8(_mm_loadu_si128(p + 1), bswap),
                _mm_shuffle_epi8(_mm_loadu_si128(p + 2), bswap),
                _mm_shuffle_epi8(_mm_loadu_si128(p + 3), bswap));
  }
  // {F, E, B, A} / {H, G, D, C} -> {A, B, C, D} / {E, F, G, H}: the inner digest as words.
  __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
  __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  __m128i abcd = _mm_blend_epi16(feba, dchg, 0xF0);
  __m128i efgh = _mm_alignr_epi8(dchg, feba, 8);
  // Outer block: digest, 0x80, zeros, length (64 + 32) * 8 = 768 bits.
  abef = mid[2];
  cdgh = mid[3];
  ShaNiRounds(&abef, &cdgh, abcd, efgh, _mm_set_epi32(0, 0, 0, static_cast<int>(0x80000000u)),
              _mm_set_epi32(768, 0, 0, 0));
  feba = _mm_shuffle_epi32(abef, 0x1B);
  dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  abcd = _mm_blend_epi16(feba, dchg, 0xF0);
  efgh = _mm_alignr_epi8(dchg, feba, 8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(tag), _mm_shuffle_epi8(abcd, bswap));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(tag + 16), _mm_shuffle_epi8(efgh, bswap));
}

// {A..H} -> the SHA extensions' {F, E, B, A}, {H, G, D, C}.
__attribute__((target("sha,sse4.1,ssse3"))) void ToShaNiState(const uint32_t h[8],
                                                              __m128i out[2]) {
  __m128i abcd = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h));
  __m128i efgh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 4));
  __m128i cdab = _mm_shuffle_epi32(abcd, 0xB1);
  __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1B);
  out[0] = _mm_alignr_epi8(cdab, hgfe, 8);      // ABEF
  out[1] = _mm_blend_epi16(hgfe, cdab, 0xF0);   // CDGH
}
#endif

}  // namespace

class TokenKeyRing::Key {
 public:
  explicit Key(std::string_view secret) : id(TokenKeyId(secret)) {
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
    SHA256_Init(&inner);
    SHA256_Update(&inner, ipad, sizeof ipad);
    SHA256_Init(&outer);
    SHA256_Update(&outer, opad, sizeof opad);
#ifdef SALVO_TOKEN_SHA_NI
    sha_ni = CpuHasShaNi();
    if (sha_ni) {
      ToShaNiState(inner.h, &mid[0]);
      ToShaNiState(outer.h, &mid[2]);
    }
#endif
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(ipad, sizeof ipad);
    OPENSSL_cleanse(opad, sizeof opad);
  }
  ~Key() {
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);
#ifdef SALVO_TOKEN_SHA_NI
    OPENSSL_cleanse(mid, sizeof mid);
#endif
  }

  // Messages of up to kDirectMax bytes (every token of a normal-length campaign id) are padded
  // in place and run through the compression function from the precomputed midstates: with the
  // SHA extensions directly (the inner digest handed to the outer block in registers), else with
  // SHA256_Transform per 64-byte block. Same result as SHA256_Update + SHA256_Final, without
  // their buffering, length bookkeeping and clean-up.
  // `blk` holds the message in its first n bytes, has room for 128, and blk[n..128) is zero.
  static constexpr size_t kDirectMax = 128 - 9;
  void TagDirect(uint8_t* blk, size_t n, uint8_t tag[SHA256_DIGEST_LENGTH]) const {
    const size_t blocks = n <= 55 ? 1 : 2;
    const size_t end = blocks * 64;
    blk[n] = 0x80;
    const uint64_t bits = (uint64_t{SHA256_CBLOCK} + n) * 8;  // the ipad block comes first
    PutBe(bits, 8, blk + end - 8);
#ifdef SALVO_TOKEN_SHA_NI
    if (sha_ni) {
      HmacShaNi(mid, blk, blocks, tag);
      return;
    }
#endif
    SHA256_CTX c = inner;
    for (size_t b = 0; b < blocks; ++b) SHA256_Transform(&c, blk + b * 64);
    uint8_t ob[64] = {};
    for (int i = 0; i < 8; ++i) PutBe(c.h[i], 4, ob + 4 * i);
    ob[32] = 0x80;
    const uint64_t obits = (uint64_t{SHA256_CBLOCK} + SHA256_DIGEST_LENGTH) * 8;
    PutBe(obits, 8, ob + 56);
    c = outer;
    SHA256_Transform(&c, ob);
    for (int i = 0; i < 8; ++i) PutBe(c.h[i], 4, tag + 4 * i);
  }

  void Tag(const uint8_t* msg, size_t n, uint8_t tag[SHA256_DIGEST_LENGTH]) const {
    if (n <= kDirectMax) {
      uint8_t blk[128] = {};
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

  // True when the first `len` bytes of HMAC(msg[0..n)) equal `expect` (constant time).
  bool Matches(const uint8_t* msg, size_t n, const uint8_t* expect, size_t len) const {
    uint8_t tag[SHA256_DIGEST_LENGTH];
    Tag(msg, n, tag);
    return CRYPTO_memcmp(tag, expect, len) == 0;
  }

  const uint32_t id;

 private:
  SHA256_CTX inner;  // after absorbing key ^ ipad
  SHA256_CTX outer;  // after absorbing key ^ opad
#ifdef SALVO_TOKEN_SHA_NI
  bool sha_ni = false;
  __m128i mid[4];    // inner, outer midstates in the SHA extensions' layout (when sha_ni)
#endif
};

uint64_t RecipientId(std::string_view address_key) { return AddressHash(address_key); }

uint32_t TokenKeyId(std::string_view secret) {
  static constexpr char kLabel[] = "salvo tracking key id\n";
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, kLabel, sizeof kLabel - 1);
  SHA256_Update(&c, secret.data(), secret.size());
  uint8_t d[SHA256_DIGEST_LENGTH];
  SHA256_Final(d, &c);
  return static_cast<uint32_t>(GetBe(d, 4));
}

uint32_t CampaignRef(std::string_view campaign_id) {
  return static_cast<uint32_t>(AddressHash(campaign_id) >> 32);
}

TokenKeyRing::TokenKeyRing(std::string_view current, const std::vector<std::string>& previous) {
  keys_.push_back(std::make_unique<Key>(current));
  for (const std::string& p : previous) keys_.push_back(std::make_unique<Key>(p));
}

TokenKeyRing::~TokenKeyRing() = default;

uint32_t TokenKeyRing::current_key_id() const { return keys_[0]->id; }

const TokenKeyRing::Key* TokenKeyRing::Find(uint32_t key_id) const {
  for (const auto& k : keys_)
    if (k->id == key_id) return k.get();
  return nullptr;
}

void TokenKeyRing::Issue(const TokenClaims& c, std::string* out) const {
  const Key& key = *keys_[0];
  // Room for the longest payload plus the tag, and at least 128 bytes for the padded block(s)
  // of the direct HMAC path.
  uint8_t buf[24 + 255 + 128];
  std::memset(buf, 0, 128);  // the direct path's padding (fixed size: a few vector stores)
  size_t n = 0;
  const size_t clen = c.campaign_id.size() > 255 ? 255 : c.campaign_id.size();
  buf[n++] = kVersion;
  PutBe(key.id, 4, buf + n);
  n += 4;
  buf[n++] = static_cast<uint8_t>(c.purpose);
  PutBe(static_cast<uint64_t>(c.issued_at), 4, buf + n);
  n += 4;
  PutBe(c.recipient_id, 8, buf + n);
  n += 8;
  if (c.purpose == TokenPurpose::kClick) {
    PutBe(c.link_index, 4, buf + n);
    n += 4;
  }
  buf[n++] = static_cast<uint8_t>(clen);
  CopySmall(buf + n, c.campaign_id.data(), clen);
  n += clen;
  uint8_t tag[SHA256_DIGEST_LENGTH];
  if (n <= Key::kDirectMax) {
    key.TagDirect(buf, n, tag);  // pads buf[n..] in place; the tag overwrites it below
  } else {
    key.Tag(buf, n, tag);
  }
  std::memcpy(buf + n, tag, kTagLen);
  n += kTagLen;
  AppendBase64Url(buf, n, out);
}

std::string TokenKeyRing::Issue(const TokenClaims& claims) const {
  std::string s;
  Issue(claims, &s);
  return s;
}

namespace {

bool KnownPurpose(uint8_t p) { return p == 'c' || p == 'o' || p == 'u' || p == 'k'; }

// The fields of a version 1 token (already authenticated). Its address becomes the recipient id.
absl::StatusOr<TokenClaims> ParseLegacy(const uint8_t* p, size_t body) {
  size_t i = 1;
  TokenClaims d;
  const uint8_t k = p[i++];
  if (!KnownPurpose(k)) return absl::InvalidArgumentError("unknown token purpose");
  d.purpose = static_cast<TokenPurpose>(k);
  const size_t clen = p[i++];
  if (i + clen + 1 > body) return absl::InvalidArgumentError("token truncated");
  d.campaign_id.assign(reinterpret_cast<const char*>(p + i), clen);
  i += clen;
  const size_t klen = p[i++];
  if (i + klen > body) return absl::InvalidArgumentError("token truncated");
  d.recipient_id = RecipientId(std::string_view(reinterpret_cast<const char*>(p + i), klen));
  i += klen;
  if (d.purpose == TokenPurpose::kClick) {
    if (i + 4 > body) return absl::InvalidArgumentError("token truncated");
    d.link_index = static_cast<uint32_t>(GetBe(p + i, 4));
    i += 4;
  }
  if (i != body) return absl::InvalidArgumentError("token has trailing bytes");
  return d;
}

absl::StatusOr<TokenClaims> ParseCurrent(const uint8_t* p, size_t body) {
  size_t i = 1;
  TokenClaims d;
  if (body < 1 + 4 + 1 + 4 + 8 + 1) return absl::InvalidArgumentError("token truncated");
  d.key_id = static_cast<uint32_t>(GetBe(p + i, 4));
  i += 4;
  const uint8_t k = p[i++];
  if (!KnownPurpose(k)) return absl::InvalidArgumentError("unknown token purpose");
  d.purpose = static_cast<TokenPurpose>(k);
  d.issued_at = static_cast<int64_t>(GetBe(p + i, 4));
  i += 4;
  d.recipient_id = GetBe(p + i, 8);
  i += 8;
  if (d.purpose == TokenPurpose::kClick) {
    if (i + 4 > body) return absl::InvalidArgumentError("token truncated");
    d.link_index = static_cast<uint32_t>(GetBe(p + i, 4));
    i += 4;
  }
  if (i + 1 > body) return absl::InvalidArgumentError("token truncated");
  const size_t clen = p[i++];
  if (i + clen != body) return absl::InvalidArgumentError("token length mismatch");
  d.campaign_id.assign(reinterpret_cast<const char*>(p + i), clen);
  return d;
}

}  // namespace

absl::StatusOr<TokenClaims> TokenKeyRing::Verify(std::string_view token,
                                                 TokenPurpose purpose) const {
  if (token.size() > kMaxTokenChars) return absl::InvalidArgumentError("token too long");
  std::string raw;
  if (!DecodeB64Url(token, &raw)) return absl::InvalidArgumentError("token is not base64url");
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  const size_t n = raw.size();
  if (n < 4 + kTagLen) return absl::InvalidArgumentError("token too short");
  const size_t body = n - kTagLen;
  absl::StatusOr<TokenClaims> d;
  if (p[0] == kVersion) {
    if (body < 5) return absl::InvalidArgumentError("token too short");
    const Key* key = Find(static_cast<uint32_t>(GetBe(p + 1, 4)));
    if (key == nullptr) return absl::PermissionDeniedError("token signed with an unknown key");
    if (!key->Matches(p, body, p + body, kTagLen))
      return absl::PermissionDeniedError("token signature mismatch");
    d = ParseCurrent(p, body);  // authentic from here on; still parsed defensively
  } else if (p[0] == kLegacyVersion) {
    bool ok = false;
    for (const auto& k : keys_) ok = ok || k->Matches(p, body, p + body, kTagLen);
    if (!ok) return absl::PermissionDeniedError("token signature mismatch");
    d = ParseLegacy(p, body);
  } else {
    return absl::InvalidArgumentError("unknown token version");
  }
  if (d.ok() && d->purpose != purpose)
    return absl::PermissionDeniedError("token issued for another purpose");
  return d;
}

void TokenKeyRing::AppendBounceTag(std::string_view campaign_id, uint64_t recipient_id,
                                   std::string* out) const {
  const Key& key = *keys_[0];
  uint8_t buf[128] = {};  // the padded HMAC block, then the tag over the padding
  buf[0] = kBounceVersion;
  PutBe(key.id, 4, buf + 1);
  PutBe(CampaignRef(campaign_id), 4, buf + 5);
  PutBe(recipient_id, 8, buf + 9);
  uint8_t tag[SHA256_DIGEST_LENGTH];
  key.TagDirect(buf, kBounceSigned, tag);
  std::memcpy(buf + kBounceSigned, tag, kBounceRaw - kBounceSigned);
  // 30 bytes -> 48 characters, 5 bytes (8 characters) at a time.
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

absl::StatusOr<BounceTag> TokenKeyRing::VerifyBounceTag(std::string_view t) const {
  if (t.size() != kBounceTagChars && t.size() != kLegacyBounceChars)
    return absl::InvalidArgumentError("bounce tag has the wrong length");
  uint8_t raw[kBounceRaw];
  const size_t len = t.size() / 8 * 5;
  for (size_t i = 0; i < len / 5; ++i) {
    uint64_t g = 0;
    for (size_t k = 0; k < 8; ++k) {
      int v = B32Val(t[i * 8 + k]);
      if (v < 0) return absl::InvalidArgumentError("bounce tag is not base32");
      g = (g << 5) | static_cast<uint64_t>(v);
    }
    PutBe(g, 5, raw + i * 5);
  }
  BounceTag b;
  if (t.size() == kLegacyBounceChars) {  // version 2: no key id, so every key is tried
    bool ok = false;
    for (const auto& k : keys_) ok = ok || k->Matches(raw, 13, raw + 13, kLegacyBounceRaw - 13);
    if (!ok) return absl::PermissionDeniedError("bounce tag signature mismatch");
    if (raw[0] != kLegacyBounceVersion)
      return absl::InvalidArgumentError("unknown bounce tag version");
    b.campaign_ref = static_cast<uint32_t>(GetBe(raw + 1, 4));
    b.recipient_id = GetBe(raw + 5, 8);
    return b;
  }
  const Key* key = Find(static_cast<uint32_t>(GetBe(raw + 1, 4)));
  if (key == nullptr) return absl::PermissionDeniedError("bounce tag signed with an unknown key");
  if (!key->Matches(raw, kBounceSigned, raw + kBounceSigned, kBounceRaw - kBounceSigned))
    return absl::PermissionDeniedError("bounce tag signature mismatch");
  if (raw[0] != kBounceVersion) return absl::InvalidArgumentError("unknown bounce tag version");
  b.campaign_ref = static_cast<uint32_t>(GetBe(raw + 5, 4));
  b.recipient_id = GetBe(raw + 9, 8);
  return b;
}

}  // namespace salvo
