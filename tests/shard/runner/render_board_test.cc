// shard/runner/render_board.h: every message of a job is rendered exactly once, by the owner or
// by helper threads, and each message's status comes back in its place.
#include "shard/runner/render_board.h"

#include <gtest/gtest.h>

#include <thread>

namespace salvo {
namespace {

// Renders nothing real: counts renders per recipient and fails the ones named "bad".
class CountingCampaign : public CompiledCampaign {
 public:
  explicit CountingCampaign(size_t n) : counts_(n) {}
  const CampaignConfig& campaign() const override { return config_; }
  const std::vector<std::string>& links() const override { return links_; }
  absl::Status Render(const Recipient& r, RenderedMessage* out) const override {
    counts_[r.shard].fetch_add(1);
    if (r.key == "bad") return absl::InvalidArgumentError("bad recipient");
    // Slow enough (0.2 ms) that a job is shared with the helpers.
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    while (std::chrono::steady_clock::now() < until) {
    }
    out->recipient = r.key;
    return absl::OkStatus();
  }
  int count(size_t i) const { return counts_[i].load(); }

 private:
  CampaignConfig config_;
  std::vector<std::string> links_;
  mutable std::vector<std::atomic<int>> counts_;
};

TEST(RenderBoard, EveryMessageOnceWithHelpersAndStatusesInPlace) {
  constexpr size_t kN = 400;
  CountingCampaign campaign(kN);
  std::vector<Recipient> rs(kN);
  std::vector<RenderedMessage> out(kN);
  RenderBoard board;
  std::vector<std::thread> helpers;
  for (int i = 0; i < 2; ++i) helpers.emplace_back([&] { board.Help(); });
  for (int round = 0; round < 3; ++round) {
    RenderBoard::Job job;
    job.compiled = &campaign;
    for (size_t i = 0; i < kN; ++i) {
      rs[i].shard = static_cast<uint32_t>(i);
      rs[i].key = i == 7 ? "bad" : "r" + std::to_string(i) + "@example.test";
      job.in.push_back(&rs[i]);
      job.out.push_back(&out[i]);
    }
    board.Render(&job);
    ASSERT_EQ(job.status.size(), kN);
    for (size_t i = 0; i < kN; ++i) {
      EXPECT_EQ(campaign.count(i), round + 1) << i;
      EXPECT_EQ(job.status[i].ok(), i != 7) << i;
      if (i != 7) {
        EXPECT_EQ(out[i].recipient, rs[i].key);
      }
    }
  }
  board.Stop();
  for (auto& t : helpers) t.join();
}

}  // namespace
}  // namespace salvo
