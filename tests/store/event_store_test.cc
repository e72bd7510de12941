// Events are appended in order and round-trip; ApplyOnce suppresses once and a redelivery of the
// same (source, event id) changes nothing.
#include "store/event_store.h"

#include <gtest/gtest.h>

#include <optional>

#include "tests/store/store_fixture.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

// A fresh store with its event and suppression views.
class EventStoreTest : public StoreFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StoreFixture::SetUp());
    events.emplace(store_.get());
    supp.emplace(store_.get());
  }
  std::optional<EventStore> events;
  std::optional<SuppressionStore> supp;
};

// A webhook event from `source`.
StoredEvent Webhook(std::string source, std::string id, std::string address) {
  StoredEvent e;
  e.kind = "webhook";
  e.source = std::move(source);
  e.event_id = std::move(id);
  e.address = std::move(address);
  return e;
}

TEST_F(EventStoreTest, AppendAndScanInOrder) {
  for (int i = 0; i < 3; ++i) {
    StoredEvent e;
    e.kind = "click";
    e.source = "tracking";
    e.campaign_id = "c1";
    e.address = "a@example.com";
    e.link_index = i;
    e.at_us = 1000 + i;
    ASSERT_TRUE(events->Append(e).ok());
  }
  std::vector<uint32_t> links;
  ASSERT_TRUE(events->ForEach([&](const StoredEvent& e) {
    links.push_back(e.link_index);
    EXPECT_EQ(e.campaign_id, "c1");
    return true;
  }).ok());
  EXPECT_EQ(links, (std::vector<uint32_t>{0, 1, 2}));
}

TEST_F(EventStoreTest, ApplyOnceIsIdempotent) {
  StoredEvent e = Webhook("sendgrid", "ev-1", "x@example.com");
  e.klass = "hard_bounce";
  SuppressionEntry s;
  s.key = "x@example.com";
  s.reason = SuppressionReason::kHardBounce;
  s.source = "sendgrid";
  s.detail = "ev-1; 550 5.1.1";
  auto first = events->ApplyOnce(e, &s);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(*first);
  auto entry = supp->Check("x@example.com");
  ASSERT_TRUE(entry.ok() && entry->has_value());
  int64_t last_seen = (*entry)->last_seen;
  s.reason = SuppressionReason::kComplaint;  // a redelivery must not change anything
  auto second = events->ApplyOnce(e, &s);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  entry = supp->Check("x@example.com");
  EXPECT_EQ((*entry)->reason, SuppressionReason::kHardBounce);
  EXPECT_EQ((*entry)->last_seen, last_seen);
  int n = 0;
  ASSERT_TRUE(events->ForEach([&](const StoredEvent&) { return ++n; }).ok());
  EXPECT_EQ(n, 1);
  EXPECT_TRUE(*events->Seen("sendgrid", "ev-1"));
  EXPECT_FALSE(*events->Seen("mailgun", "ev-1"));
  EXPECT_FALSE(events->ApplyOnce(StoredEvent{}, nullptr).ok());
}

TEST_F(EventStoreTest, ApplyBatchSkipsSeenAndRepeatedEvents) {
  auto ev = [](const std::string& id, const std::string& addr) {
    return Webhook("mailgun", id, addr);
  };
  SuppressionEntry s;
  s.key = "b@example.com";
  s.reason = SuppressionReason::kComplaint;
  s.source = "mailgun";
  ASSERT_TRUE(*events->ApplyOnce(ev("1", "a@example.com"), nullptr));
  std::vector<StoredEvent> batch = {ev("1", "a@example.com"), ev("2", "b@example.com"),
                                    ev("2", "b@example.com"), ev("3", "c@example.com")};
  std::vector<bool> applied;
  ASSERT_TRUE(events->ApplyBatch(batch, {nullptr, &s, &s, nullptr}, &applied).ok());
  EXPECT_EQ(applied, (std::vector<bool>{false, true, false, true}));
  EXPECT_TRUE(supp->Check("b@example.com")->has_value());
  ASSERT_TRUE(events->ApplyBatch(batch, {nullptr, &s, &s, nullptr}, &applied).ok());
  EXPECT_EQ(applied, (std::vector<bool>{false, false, false, false}));
  int n = 0;
  ASSERT_TRUE(events->ForEach([&](const StoredEvent&) { return ++n; }).ok());
  EXPECT_EQ(n, 3);
  EXPECT_FALSE(events->ApplyBatch(batch, {nullptr}, &applied).ok());
}

TEST_F(EventStoreTest, DamagedRecordIsAnError) {
  StoredEvent e;
  EXPECT_FALSE(DecodeEvent("", &e).ok());
  std::string v;
  e.kind = "open";
  EncodeEvent(e, &v);
  EXPECT_FALSE(DecodeEvent(v.substr(0, v.size() - 3), &e).ok());
  EXPECT_TRUE(DecodeEvent(v, &e).ok());
}

}  // namespace
}  // namespace salvo
