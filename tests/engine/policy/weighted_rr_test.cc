// engine/policy/weighted_rr.h: smooth weighted round-robin. Every window of sum(weights) picks
// gives each item exactly its weight, picks are spread out (no item twice in a row while a
// lighter one waits longer than its turn), unavailable items are skipped and the others keep
// their relative shares, weight 0 counts as 1, and nothing available gives -1.
// (routing_test.cc checks the nginx sequence and long-run totals; this checks every window.)
#include "engine/policy/weighted_rr.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace salvo {
namespace {

// Counts per item in each consecutive window of `window` picks.
std::vector<std::vector<int>> WindowCounts(SmoothWrr& w, size_t items, int window, int windows) {
  std::vector<std::vector<int>> out;
  for (int k = 0; k < windows; ++k) {
    std::vector<int> n(items, 0);
    for (int i = 0; i < window; ++i) {
      int pick = w.Next();
      EXPECT_GE(pick, 0);
      EXPECT_LT(pick, static_cast<int>(items));
      if (pick >= 0 && pick < static_cast<int>(items)) ++n[static_cast<size_t>(pick)];
    }
    out.push_back(n);
  }
  return out;
}

TEST(SmoothWrrTest, EveryWindowOfTotalWeightGivesEachItsWeight) {
  const std::vector<uint32_t> weights = {7, 3, 1, 5, 2};
  const int total = std::accumulate(weights.begin(), weights.end(), 0);
  SmoothWrr w(weights);
  EXPECT_EQ(w.size(), weights.size());
  for (const std::vector<int>& n : WindowCounts(w, weights.size(), total, 50)) {
    for (size_t i = 0; i < weights.size(); ++i) EXPECT_EQ(n[i], static_cast<int>(weights[i])) << i;
  }
}

TEST(SmoothWrrTest, EqualWeightsRotateStrictly) {
  SmoothWrr w({4, 4, 4});
  std::vector<int> seq;
  for (int i = 0; i < 9; ++i) seq.push_back(w.Next());
  EXPECT_EQ(seq, (std::vector<int>{0, 1, 2, 0, 1, 2, 0, 1, 2}));
}

TEST(SmoothWrrTest, PicksAreSpreadNotBursted) {
  // {a:2, b:2, c:1}: a naive WRR would send a,a,b,b,c; the smooth one never repeats an item
  // while another of the same weight is waiting.
  SmoothWrr w({2, 2, 1});
  std::vector<int> seq;
  for (int i = 0; i < 10; ++i) seq.push_back(w.Next());
  for (size_t i = 1; i < seq.size(); ++i) EXPECT_NE(seq[i], seq[i - 1]) << "at " << i;
}

TEST(SmoothWrrTest, ZeroWeightCountsAsOne) {
  SmoothWrr w({0, 3});
  for (const std::vector<int>& n : WindowCounts(w, 2, 4, 10)) {
    EXPECT_EQ(n[0], 1);
    EXPECT_EQ(n[1], 3);
  }
}

TEST(SmoothWrrTest, RemainingItemsKeepTheirSharesWhileOneIsUnavailable) {
  SmoothWrr w({4, 2, 1});
  // Item 0 (a paused account) is skipped for a while: 1 and 2 share 2:1 in every window of 3.
  for (int k = 0; k < 20; ++k) {
    int n[3] = {0, 0, 0};
    for (int i = 0; i < 3; ++i) {
      int pick = w.Next([](size_t i) { return i != 0; });
      ASSERT_GE(pick, 1);
      ++n[pick];
    }
    EXPECT_EQ(n[1], 2);
    EXPECT_EQ(n[2], 1);
  }
  // Back in service: over a long run every item again gets its weight's share.
  int n[3] = {0, 0, 0};
  for (int i = 0; i < 7 * 100; ++i) ++n[w.Next()];
  EXPECT_NEAR(n[0], 400, 4);
  EXPECT_NEAR(n[1], 200, 4);
  EXPECT_NEAR(n[2], 100, 4);
}

TEST(SmoothWrrTest, NothingAvailableOrNothingAtAll) {
  SmoothWrr empty;
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.Next(), -1);
  SmoothWrr w({1, 1});
  EXPECT_EQ(w.Next([](size_t) { return false; }), -1);
  // A pick that found nothing does not disturb the rotation.
  EXPECT_EQ(w.Next(), 0);
  EXPECT_EQ(w.Next(), 1);
  EXPECT_EQ(w.Next(), 0);
}

TEST(SmoothWrrTest, OnlyAvailableItemIsAlwaysPicked) {
  SmoothWrr w({1, 100, 1});
  for (int i = 0; i < 50; ++i) EXPECT_EQ(w.Next([](size_t i) { return i == 2; }), 2);
}

}  // namespace
}  // namespace salvo
