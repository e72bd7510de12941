// store/link_store.h: a campaign's link table (index -> URL) for the click redirector. Put
// replaces the whole table (stale indexes disappear), tables of other campaigns are untouched
// (also when one id is a prefix of another), unknown campaigns / indexes read as absent, ids
// outside 1-255 bytes are refused on write and absent on read, and the table survives a reopen.
// Shared tables (the inject API's): written once, their stamp refreshed only a day later, swept
// when not used since the cut-off (only under the prefix, and stampless old tables adopted).
#include "store/link_store.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "store/record_codec.h"
#include "tests/store/store_fixture.h"

namespace salvo {
namespace {

class LinkStoreTest : public StoreFixture {
 protected:
  std::optional<std::string> Get(std::string_view campaign, uint32_t index) {
    auto r = LinkStore(store_.get()).Get(campaign, index);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::nullopt;
  }
};

TEST_F(LinkStoreTest, PutThenGetEveryIndex) {
  LinkStore links(store_.get());
  const std::vector<std::string> urls = {"https://example.com/a", "https://example.com/b?x=1&y=2",
                                         "https://example.org/"};
  ASSERT_TRUE(links.Put("spring", urls).ok());
  for (uint32_t i = 0; i < urls.size(); ++i) EXPECT_EQ(Get("spring", i), urls[i]) << i;
  EXPECT_EQ(Get("spring", 3), std::nullopt);
  EXPECT_EQ(Get("spring", 0xffffffffu), std::nullopt);
  EXPECT_EQ(Get("autumn", 0), std::nullopt);
}

TEST_F(LinkStoreTest, PutReplacesTheWholeTable) {
  LinkStore links(store_.get());
  ASSERT_TRUE(links.Put("c1", {"https://old.example/0", "https://old.example/1",
                               "https://old.example/2"}).ok());
  ASSERT_TRUE(links.Put("c1", {"https://new.example/0"}).ok());
  EXPECT_EQ(Get("c1", 0), "https://new.example/0");
  EXPECT_EQ(Get("c1", 1), std::nullopt);  // stale entries of the longer table are gone
  EXPECT_EQ(Get("c1", 2), std::nullopt);
  // Idempotent for the same URLs.
  ASSERT_TRUE(links.Put("c1", {"https://new.example/0"}).ok());
  EXPECT_EQ(Get("c1", 0), "https://new.example/0");
  // An empty table clears it.
  ASSERT_TRUE(links.Put("c1", {}).ok());
  EXPECT_EQ(Get("c1", 0), std::nullopt);
}

TEST_F(LinkStoreTest, CampaignsDoNotShareEntriesEvenWithPrefixIds) {
  LinkStore links(store_.get());
  ASSERT_TRUE(links.Put("news", {"https://a.example/", "https://b.example/"}).ok());
  ASSERT_TRUE(links.Put("news2", {"https://c.example/"}).ok());
  ASSERT_TRUE(links.Put("new", {"https://d.example/"}).ok());
  // Replacing "new" and "news2" leaves "news" alone, and the other way round.
  ASSERT_TRUE(links.Put("new", {}).ok());
  ASSERT_TRUE(links.Put("news", {"https://e.example/"}).ok());
  EXPECT_EQ(Get("news", 0), "https://e.example/");
  EXPECT_EQ(Get("news", 1), std::nullopt);
  EXPECT_EQ(Get("news2", 0), "https://c.example/");
  EXPECT_EQ(Get("new", 0), std::nullopt);
}

TEST_F(LinkStoreTest, IndexesBeyondOneByteAndBinarySafeUrls) {
  LinkStore links(store_.get());
  std::vector<std::string> urls;
  for (int i = 0; i < 300; ++i) urls.push_back("https://example.com/l" + std::to_string(i));
  urls[256] = std::string("https://example.com/with\0nul", 28);  // stored as given
  ASSERT_TRUE(links.Put("many", urls).ok());
  EXPECT_EQ(Get("many", 0), urls[0]);
  EXPECT_EQ(Get("many", 255), urls[255]);
  EXPECT_EQ(Get("many", 256), urls[256]);
  EXPECT_EQ(Get("many", 299), urls[299]);
  EXPECT_EQ(Get("many", 300), std::nullopt);
}

TEST_F(LinkStoreTest, CampaignIdLengthIsBounded) {
  LinkStore links(store_.get());
  EXPECT_TRUE(absl::IsInvalidArgument(links.Put("", {"https://x.example/"})));
  const std::string longest(255, 'c');
  const std::string too_long(256, 'c');
  EXPECT_TRUE(absl::IsInvalidArgument(links.Put(too_long, {"https://x.example/"})));
  ASSERT_TRUE(links.Put(longest, {"https://x.example/"}).ok());
  EXPECT_EQ(Get(longest, 0), "https://x.example/");
  // Reads with such ids are simply absent (the redirector answers 404).
  EXPECT_EQ(Get("", 0), std::nullopt);
  EXPECT_EQ(Get(too_long, 0), std::nullopt);
}

TEST_F(LinkStoreTest, TableSurvivesReopen) {
  ASSERT_TRUE(LinkStore(store_.get()).Put("kept", {"https://kept.example/"}).ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Get("kept", 0), "https://kept.example/");
}

constexpr int64_t kDay = 86'400'000'000;

TEST_F(LinkStoreTest, SharedTableIsWrittenOnceAndRestampedADayLater) {
  LinkStore links(store_.get());
  const std::string stamp_key = std::string("linkstamp\0api.t", 15);
  const std::vector<std::string> urls = {"https://a.example/", "https://b.example/"};
  ASSERT_TRUE(links.PutShared("api.t", urls, 10 * kDay).ok());
  EXPECT_EQ(Get("api.t", 1), "https://b.example/");
  auto stamp = [&] {
    std::string v;
    EXPECT_TRUE(DbOf(store_.get())
                    ->Get(rocksdb::ReadOptions(), CfOf(store_.get(), Cf::kCampaigns), stamp_key, &v)
                    .ok());
    return GetBe64(v);
  };
  EXPECT_EQ(stamp(), static_cast<uint64_t>(10 * kDay));
  // Within the refresh nothing is written; a day later only the stamp moves.
  ASSERT_TRUE(links.PutShared("api.t", urls, 10 * kDay + 5).ok());
  EXPECT_EQ(stamp(), static_cast<uint64_t>(10 * kDay));
  ASSERT_TRUE(links.PutShared("api.t", urls, 11 * kDay).ok());
  EXPECT_EQ(stamp(), static_cast<uint64_t>(11 * kDay));
  EXPECT_EQ(Get("api.t", 0), "https://a.example/");
  EXPECT_EQ(CountKeys(Cf::kCampaigns, std::string("links\0api.t\0", 12)), 2);
  EXPECT_TRUE(absl::IsInvalidArgument(links.PutShared("", {"https://x.example/"}, 0)));
}

TEST_F(LinkStoreTest, SweepDeletesSharedTablesUnusedSinceTheCutOff) {
  LinkStore links(store_.get());
  ASSERT_TRUE(links.PutShared("api.old", {"https://old.example/0", "https://old.example/1"}, kDay)
                  .ok());
  ASSERT_TRUE(links.PutShared("api.new", {"https://new.example/"}, 5 * kDay).ok());
  ASSERT_TRUE(links.Put("api.legacy", {"https://legacy.example/"}).ok());  // no stamp
  ASSERT_TRUE(links.Put("campaign", {"https://campaign.example/"}).ok());  // not under "api."
  auto n = links.SweepShared("api.", 3 * kDay, 6 * kDay);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(Get("api.old", 0), std::nullopt);
  EXPECT_EQ(Get("api.old", 1), std::nullopt);
  EXPECT_EQ(CountKeys(Cf::kCampaigns, std::string("linkstamp\0api.old", 17)), 0);
  EXPECT_EQ(Get("api.new", 0), "https://new.example/");
  EXPECT_EQ(Get("api.legacy", 0), "https://legacy.example/");  // adopted: stamped 6 days
  EXPECT_EQ(Get("campaign", 0), "https://campaign.example/");
  // Later, past both stamps: the adopted table goes too; the campaign's table stays.
  n = links.SweepShared("api.", 7 * kDay, 8 * kDay);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(Get("api.new", 0), std::nullopt);
  EXPECT_EQ(Get("api.legacy", 0), std::nullopt);
  EXPECT_EQ(Get("campaign", 0), "https://campaign.example/");
  EXPECT_EQ(CountKeys(Cf::kCampaigns, "linkstamp"), 0);
}

}  // namespace
}  // namespace salvo
