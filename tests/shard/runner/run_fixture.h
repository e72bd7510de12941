// A campaign run's state without a network: a store in a temp dir, a config with accounts and
// a route, a campaign, a list of recipients, and a RunState wired to them (what RunCampaign sets
// up), for the unit tests of shard/runner/.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/base/shard.h"
#include "shard/account_state.h"
#include "shard/runner/run_state.h"
#include "store/campaign_store.h"
#include "store/recipient_store.h"
#include "store/store.h"
#include "store/suppression_store.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {

// Renders a stub message per recipient; fails for the keys starting with "bad-render".
class StubCampaign : public CompiledCampaign {
 public:
  explicit StubCampaign(const CampaignConfig& c) : config_(c) {}
  const CampaignConfig& campaign() const override { return config_; }
  const std::vector<std::string>& links() const override { return links_; }
  absl::Status Render(const Recipient& r, RenderedMessage* out) const override {
    if (r.key.rfind("bad-render", 0) == 0) return absl::InvalidArgumentError("stub render failure");
    out->recipient = r.key;
    return absl::OkStatus();
  }

 private:
  CampaignConfig config_;
  std::vector<std::string> links_;
};

struct RunFixture {
  TempDir dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<CampaignStore> cstore;
  std::unique_ptr<RecipientStore> rstore;
  std::unique_ptr<SuppressionStore> sstore;
  Config config;
  CampaignConfig campaign;
  std::vector<std::unique_ptr<AccountState>> states;  // not the process's: each test its own
  std::unique_ptr<RunState> s;

  // Accounts "a0", "a1", ... with the given weights, on route "r" of list "l", campaign "c".
  explicit RunFixture(std::vector<uint32_t> weights = {1}) {
    auto opened = Store::Open({dir.path()});
    EXPECT_TRUE(opened.ok()) << opened.status();
    store = std::move(*opened);
    cstore = std::make_unique<CampaignStore>(store.get());
    rstore = std::make_unique<RecipientStore>(store.get());
    sstore = std::make_unique<SuppressionStore>(store.get());
    RouteConfig route;
    route.name = "r";
    route.lists = {"l"};
    for (size_t i = 0; i < weights.size(); ++i) {
      AccountConfig a;
      a.name = "a" + std::to_string(i);
      a.host = "127.0.0.1";
      a.max_connections = 2;
      config.accounts.push_back(a);
      route.accounts.push_back({a.name, weights[i]});
    }
    config.routes.push_back(route);
    config.sending.retry_base = absl::Seconds(60);
    campaign.id = "c";
    campaign.list = "l";
    Rebuild();
  }

  // A fresh RunState over the current config (after a test changed accounts or throttles).
  void Rebuild() {
    s = std::make_unique<RunState>();
    s->config = &config;
    s->campaign = &campaign;
    s->route = &config.routes[0];
    s->compiled = std::make_shared<StubCampaign>(campaign);
    s->store = store.get();
    s->cstore = cstore.get();
    s->rstore = rstore.get();
    s->sstore = sstore.get();
    s->domains = DomainThrottles(config.throttles);
    states.clear();
    for (const auto& ra : config.routes[0].accounts) {
      const AccountConfig* ac = config.FindAccount(ra.name);
      auto st = std::make_unique<AccountState>(ac->name);
      st->rate().Set(ac->rate_per_second, 1);
      st->daily().SetLimit(ac->daily_limit);
      auto a = std::make_unique<RunAccount>();
      a->cfg = ac;
      a->weight = ra.weight;
      a->state = st.get();
      s->accounts.push_back(std::move(a));
      states.push_back(std::move(st));
    }
  }

  static Recipient MakeRecipient(const std::string& key, bool consent = true) {
    Recipient r;
    r.address = key;
    r.key = key;
    r.shard = ShardOf(key);
    if (consent) r.consent.opted_in_at = "2026-01-01T00:00:00Z";
    return r;
  }

  // Adds recipients to list "l".
  void AddMembers(const std::vector<Recipient>& rs) {
    auto counts = rstore->Upsert("l", rs);
    ASSERT_TRUE(counts.ok()) << counts.status();
  }

  std::optional<ProgressRecord> Progress(const std::string& key) {
    std::vector<std::optional<ProgressRecord>> out;
    const std::vector<uint32_t> shards = {ShardOf(key)};
    const std::vector<std::string_view> keys = {key};
    EXPECT_TRUE(cstore->GetProgress(campaign.id, shards, keys, &out).ok());
    return out.empty() ? std::nullopt : out[0];
  }
};

}  // namespace salvo::test
