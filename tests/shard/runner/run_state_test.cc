// shard/runner/run_state.h: how a run stops, how outcome counts move, and the snapshot.
#include "shard/runner/run_state.h"

#include <gtest/gtest.h>

#include "tests/shard/runner/run_fixture.h"

namespace salvo {
namespace {

TEST(RunState, TheStrongerStopWinsAndTheFirstReasonOfAKindStays) {
  test::RunFixture f;
  RunState& s = *f.s;
  EXPECT_EQ(s.stop_kind(), StopKind::kNone);
  s.RequestStop(StopKind::kPause, "paused by operator");
  s.RequestStop(StopKind::kPause, "interrupted");
  EXPECT_EQ(s.stop_kind(), StopKind::kPause);
  EXPECT_EQ(s.stop_reason, "paused by operator");
  s.RequestStop(StopKind::kCancel, "cancelled by operator");
  EXPECT_EQ(s.stop_kind(), StopKind::kCancel);
  EXPECT_EQ(s.stop_reason, "cancelled by operator");
  s.RequestStop(StopKind::kPause, "too late");
  EXPECT_EQ(s.stop_kind(), StopKind::kCancel);
  EXPECT_EQ(s.stop_reason, "cancelled by operator");
}

TEST(RunState, TheKeptReasonKeepsHowItsPauseEnds) {
  test::RunFixture f;
  RunState& s = *f.s;
  EXPECT_EQ(s.stop_pause_end, PauseEnd::kByHand);
  s.RequestStop(StopKind::kPause, "no usable account left", PauseEnd::kAccountsBack);
  s.RequestStop(StopKind::kPause, "salvo serve stopped", PauseEnd::kRestart);
  EXPECT_EQ(s.stop_reason, "no usable account left");
  EXPECT_EQ(s.stop_pause_end, PauseEnd::kAccountsBack);
  s.RequestStop(StopKind::kCancel, "cancelled by operator");
  EXPECT_EQ(s.stop_pause_end, PauseEnd::kByHand);
}

TEST(RunState, AStoreErrorPausesTheRunAndKeepsTheFirstError) {
  test::RunFixture f;
  RunState& s = *f.s;
  s.Fatal(absl::UnavailableError("disk gone"));
  s.Fatal(absl::DataLossError("later"));
  EXPECT_EQ(s.fatal, "disk gone");
  EXPECT_EQ(s.stop_kind(), StopKind::kPause);
  EXPECT_EQ(s.stop_reason, "error: disk gone");
}

TEST(RunState, ChangeMovesARecipientBetweenOutcomes) {
  test::RunFixture f;
  RunState& s = *f.s;
  auto n = [&](Outcome o) { return s.count[static_cast<int>(o)].load(); };
  s.Change(std::nullopt, Outcome::kDeferred, false);
  EXPECT_EQ(n(Outcome::kDeferred), 1);
  ProgressRecord deferred;
  deferred.outcome = Outcome::kDeferred;
  s.Change(deferred, Outcome::kDeferred, true);  // gave up: still deferred, now final
  EXPECT_EQ(n(Outcome::kDeferred), 1);
  EXPECT_EQ(s.deferred_final.load(), 1);
  deferred.final = true;
  s.Change(deferred, Outcome::kDelivered, false);
  EXPECT_EQ(n(Outcome::kDeferred), 0);
  EXPECT_EQ(s.deferred_final.load(), 0);
  EXPECT_EQ(n(Outcome::kDelivered), 1);
  ProgressRecord pending;  // a marker of an earlier run: not counted anywhere
  s.Change(pending, Outcome::kBounced, false);
  EXPECT_EQ(n(Outcome::kBounced), 1);
  EXPECT_EQ(n(Outcome::kPending), 0);
}

TEST(RunState, FillSaysWhichAccountIsPausedAndSortsThrottles) {
  test::RunFixture f({1, 1});
  RunState& s = *f.s;
  const int64_t now_s = RunnerNowUs() / 1'000'000;
  auto paused = f.states[1]->Pause(f.store.get(), "account_quota", "550 5.4.5 Daily limit", now_s,
                                   0);
  ASSERT_TRUE(paused.ok()) << paused.status();
  s.accounts[0]->attempts = 7;
  s.count[static_cast<int>(Outcome::kDelivered)] = 5;
  s.count[static_cast<int>(Outcome::kFailed)] = -1;  // never shown below 0
  s.throttles["1|z"] = {"a1", "", "z.test", 2, 1.5};
  s.throttles["0|b"] = {"a0", "", "b.test", 1, 3};
  s.RequestStop(StopKind::kPause, "why");
  CampaignProgress p;
  s.Fill(&p);
  EXPECT_EQ(p.delivered, 5u);
  EXPECT_EQ(p.failed, 0u);
  ASSERT_EQ(p.accounts.size(), 2u);
  EXPECT_FALSE(p.accounts[0].paused);
  EXPECT_EQ(p.accounts[0].attempts, 7u);
  EXPECT_TRUE(p.accounts[1].paused);
  EXPECT_EQ(p.accounts[1].reason, "account_quota until resumed: 550 5.4.5 Daily limit");
  ASSERT_EQ(p.throttles.size(), 2u);
  EXPECT_EQ(p.throttles[0].domain, "b.test");
  EXPECT_EQ(p.throttles[1].domain, "z.test");
  EXPECT_EQ(p.pause_reason, "why");
}

TEST(RunState, PauseEndText) {
  EXPECT_EQ(PauseEndText(0), "until resumed");
  EXPECT_EQ(PauseEndText(AccountState::kManual), "until resumed");
  EXPECT_EQ(PauseEndText(1796083200), "until 2026-12-01T00:00:00Z");
}

}  // namespace
}  // namespace salvo
