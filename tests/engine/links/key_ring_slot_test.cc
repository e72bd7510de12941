// engine/links/key_ring_slot.h: a slot without a secret holds no ring; Set swaps the ring that
// signs while a reader's reference keeps the old one usable; concurrent readers and a writer.
#include "engine/links/key_ring_slot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace salvo {
namespace {

TEST(KeyRingSlotTest, SwapsTheSigningRingReadersKeepTheirs) {
  EXPECT_EQ(KeyRingSlot::MakeRing("", {"old"}), nullptr);
  KeyRingSlot empty;
  EXPECT_EQ(empty.Get(), nullptr);

  KeyRingSlot slot(KeyRingSlot::MakeRing("key-one-0123456789", {}));
  std::shared_ptr<const TokenKeyRing> held = slot.Get();
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->current_key_id(), TokenKeyId("key-one-0123456789"));
  slot.Set(KeyRingSlot::MakeRing("key-two-0123456789", {"key-one-0123456789"}));
  EXPECT_EQ(slot.Get()->current_key_id(), TokenKeyId("key-two-0123456789"));
  EXPECT_EQ(slot.Get()->size(), 2u);
  // The reader's ring is still whole: it signs with the old key.
  TokenClaims c;
  c.purpose = TokenPurpose::kConfirm;
  c.campaign_id = "list";
  c.recipient_id = 7;
  const std::string token = held->Issue(c);
  auto claims = slot.Get()->Verify(token, TokenPurpose::kConfirm);  // the old key still verifies
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->key_id, TokenKeyId("key-one-0123456789"));
}

TEST(KeyRingSlotTest, ConcurrentReadersAndReloads) {
  KeyRingSlot slot(KeyRingSlot::MakeRing("key-0-0123456789", {}));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      TokenClaims c;
      c.purpose = TokenPurpose::kOpen;
      c.campaign_id = "x";
      while (!stop.load()) {
        auto ring = slot.Get();
        if (!ring || !ring->Verify(ring->Issue(c), TokenPurpose::kOpen).ok()) ++bad;
      }
    });
  }
  for (int i = 1; i <= 200; ++i)
    slot.Set(KeyRingSlot::MakeRing("key-" + std::to_string(i) + "-0123456789", {}));
  stop.store(true);
  for (auto& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(slot.Get()->current_key_id(), TokenKeyId("key-200-0123456789"));
}

}  // namespace
}  // namespace salvo
