// Tests for store/record_codec.cc: round trips and damaged records.
#include "store/record_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/base/shard.h"

namespace salvo {
namespace {

Recipient Sample() {
  Recipient r;
  r.key = "ann@example.com";
  r.address = "Ann@example.com";
  r.shard = ShardOf(r.key);
  r.consent = {"2024-01-02T03:04:05Z", "signup-form", "192.0.2.1"};
  r.fields = {{"country", "DE"}, {"first_name", std::string("A\0nn", 4)}, {"plan", ""}};
  return r;
}

TEST(RecordCodec, RecipientRoundTrip) {
  Recipient r = Sample();
  std::string v;
  EncodeRecipient(r, &v);
  EXPECT_TRUE(RecipientHasConsent(v));
  Recipient back;
  ASSERT_TRUE(DecodeRecipient(r.key, v, &back).ok());
  EXPECT_EQ(back.key, r.key);
  EXPECT_EQ(back.address, r.address);
  EXPECT_EQ(back.shard, r.shard);
  EXPECT_EQ(back.consent.opted_in_at, r.consent.opted_in_at);
  EXPECT_EQ(back.consent.source, r.consent.source);
  EXPECT_EQ(back.consent.ip, r.consent.ip);
  EXPECT_EQ(back.fields, r.fields);
  r.consent = {};
  EncodeRecipient(r, &v);
  EXPECT_FALSE(RecipientHasConsent(v));
}

TEST(RecordCodec, DamagedRecipientIsAnErrorForEveryTruncation) {
  std::string v;
  EncodeRecipient(Sample(), &v);
  Recipient back;
  for (size_t n = 0; n < v.size(); ++n) {
    EXPECT_FALSE(DecodeRecipient("k", std::string_view(v).substr(0, n), &back).ok()) << n;
  }
  std::string bad = v;
  bad[0] = 9;  // unknown version
  EXPECT_EQ(DecodeRecipient("k", bad, &back).code(), absl::StatusCode::kDataLoss);
  bad = v + "x";  // trailing garbage
  EXPECT_FALSE(DecodeRecipient("k", bad, &back).ok());
  bad = v;
  bad[2] = static_cast<char>(0x7f);  // address length beyond the record
  EXPECT_FALSE(DecodeRecipient("k", bad, &back).ok());
}

TEST(RecordCodec, SuppressionRoundTrip) {
  SuppressionEntry e{"@example.com", SuppressionReason::kComplaint, "arf", 1700000000, 1700000500,
                     "feedback-id 42"};
  std::string v;
  EncodeSuppression(e, &v);
  SuppressionEntry back;
  ASSERT_TRUE(DecodeSuppression(e.key, v, &back).ok());
  EXPECT_EQ(back.key, e.key);
  EXPECT_EQ(back.reason, e.reason);
  EXPECT_EQ(back.source, e.source);
  EXPECT_EQ(back.first_seen, e.first_seen);
  EXPECT_EQ(back.last_seen, e.last_seen);
  EXPECT_EQ(back.detail, e.detail);
  for (size_t n = 0; n < v.size(); ++n) {
    EXPECT_FALSE(DecodeSuppression("k", std::string_view(v).substr(0, n), &back).ok()) << n;
  }
  std::string bad = v;
  bad[1] = 17;  // unknown reason
  EXPECT_FALSE(DecodeSuppression("k", bad, &back).ok());
}

TEST(RecordCodec, VarintsAndMembersKey) {
  std::string s;
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 1ull << 40, ~0ull}) {
    s.clear();
    PutVarint64(&s, v);
    std::string_view in = s;
    uint64_t out = 0;
    ASSERT_TRUE(GetVarint64(&in, &out));
    EXPECT_EQ(out, v);
    EXPECT_TRUE(in.empty());
  }
  std::string k;
  MembersKey("news", 7, "a@b.c", &k);
  EXPECT_EQ(k, std::string("news\0\x07" "a@b.c", 11));
}

}  // namespace
}  // namespace salvo
