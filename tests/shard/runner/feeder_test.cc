// shard/runner/feeder.h: a feeder against a scripted worker (no network): every eligible member
// is handed over exactly once, the rest is recorded with its reason, retries come back when due,
// a resumed run sends nothing twice, and a route without a usable account pauses the run.
#include "shard/runner/feeder.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "engine/policy/reply_class.h"
#include "tests/shard/runner/run_fixture.h"

namespace salvo {
namespace {

// Answers each message at once with the reply `script` gives for its recipient and attempt.
class ScriptedWorker : public Worker {
 public:
  using Script = std::function<std::string(const std::string& rcpt, int attempt)>;
  explicit ScriptedWorker(Script script) : script_(std::move(script)) {}

  int index() const override { return 0; }
  bool InWorkerThread() const override { return true; }
  void Post(std::function<void()> fn) override { fn(); }
  void Submit(SendRequest req, SendCallback done) override {
    const std::string rcpt = req.message->recipient;
    int attempt;
    {
      std::lock_guard<std::mutex> l(mu_);
      attempt = ++attempts_[rcpt];
    }
    SendReport rep;
    rep.id = req.id;
    rep.account = req.account;
    rep.outcome.reply = ParseLoggedReply(script_(rcpt, attempt));
    const int code = rep.outcome.reply.code;
    rep.outcome.result = code < 300   ? RcptResult::kDelivered
                         : code >= 500 ? RcptResult::kRejected
                                       : RcptResult::kDeferred;
    done(rep);
  }
  bool HasCapacity(const AccountConfig*, std::string_view) const override { return true; }
  size_t Capacity(const AccountConfig*, std::string_view) const override { return 100; }
  size_t Outstanding() const override { return 0; }
  std::vector<PoolStats> Stats() const override { return {}; }
  uint64_t AddTimer(absl::Duration, std::function<void()>) override { return 0; }
  void CancelTimer(uint64_t) override {}

  std::map<std::string, int> attempts() {
    std::lock_guard<std::mutex> l(mu_);
    return attempts_;
  }

 private:
  Script script_;
  std::mutex mu_;
  std::map<std::string, int> attempts_;
};

std::string Key(int i) { return "r" + std::to_string(i) + "@example.test"; }

TEST(Feeder, EveryEligibleMemberOnceAndTheRestWithItsReason) {
  test::RunFixture f;
  std::vector<Recipient> rs;
  for (int i = 0; i < 300; ++i) rs.push_back(test::RunFixture::MakeRecipient(Key(i), i % 30 != 0));
  rs.push_back(test::RunFixture::MakeRecipient("bad-render@example.test"));
  f.AddMembers(rs);
  for (int i = 1; i < 300; i += 60) {  // 5 suppressed, all with consent
    SuppressionEntry e;
    e.key = Key(i);
    e.reason = SuppressionReason::kUnsubscribe;
    ASSERT_TRUE(f.sstore->Add(e).ok());
  }
  ScriptedWorker worker([](const std::string&, int) { return "250 2.0.0 OK"; });
  Feeder feeder(f.s.get(), 0, &worker);
  feeder.Run();
  EXPECT_TRUE(feeder.scan_done());
  const auto sent = worker.attempts();
  EXPECT_EQ(sent.size(), 300u - 10 - 5);
  for (const auto& [rcpt, n] : sent) EXPECT_EQ(n, 1) << rcpt;
  auto n = [&](Outcome o) { return f.s->count[static_cast<int>(o)].load(); };
  EXPECT_EQ(n(Outcome::kDelivered), 285);
  EXPECT_EQ(n(Outcome::kNoConsent), 10);
  EXPECT_EQ(n(Outcome::kSuppressed), 5);
  EXPECT_EQ(n(Outcome::kFailed), 1);  // the render failure
  EXPECT_EQ(f.s->in_flight.load(), 0);
  EXPECT_EQ(f.Progress(Key(0))->outcome, Outcome::kNoConsent);
  EXPECT_EQ(f.Progress(Key(1))->outcome, Outcome::kSuppressed);
  EXPECT_EQ(f.Progress(Key(2))->outcome, Outcome::kDelivered);
  EXPECT_EQ(f.Progress("bad-render@example.test")->reply, "render: stub render failure");
  // The account's daily count is stored with the markers: one per message handed over.
  auto day = f.cstore->GetDailyCount("a0", CampaignStore::UtcDay(RunnerNowUs() / 1000000));
  ASSERT_TRUE(day.ok());
  EXPECT_EQ(*day, 285u);

  // A second run of the same campaign finds every outcome final: nothing is sent again.
  f.Rebuild();
  ScriptedWorker again([](const std::string&, int) { return "250 2.0.0 OK"; });
  Feeder second(f.s.get(), 0, &again);
  second.Run();
  EXPECT_TRUE(again.attempts().empty());
}

TEST(Feeder, DeferredRecipientsComeBackWhenDue) {
  test::RunFixture f;
  f.config.sending.retry_base = absl::Milliseconds(100);
  f.config.sending.retry_max = absl::Milliseconds(200);
  f.Rebuild();
  std::vector<Recipient> rs;
  for (int i = 0; i < 20; ++i) rs.push_back(test::RunFixture::MakeRecipient(Key(i)));
  f.AddMembers(rs);
  // Every third recipient is deferred twice, then accepted.
  ScriptedWorker worker([](const std::string& rcpt, int attempt) {
    const bool slow = std::stoi(rcpt.substr(1)) % 3 == 0;
    return slow && attempt <= 2 ? "451 4.3.0 Try again later" : "250 2.0.0 OK";
  });
  Feeder feeder(f.s.get(), 0, &worker);
  feeder.Run();
  const auto sent = worker.attempts();
  ASSERT_EQ(sent.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sent.at(Key(i)), i % 3 == 0 ? 3 : 1) << i;
  EXPECT_EQ(f.s->count[static_cast<int>(Outcome::kDelivered)].load(), 20);
  EXPECT_EQ(f.s->count[static_cast<int>(Outcome::kDeferred)].load(), 0);
  auto p = f.Progress(Key(0));
  EXPECT_EQ(p->outcome, Outcome::kDelivered);
  EXPECT_EQ(p->attempts, 2u);
}

TEST(Feeder, NoUsableAccountPausesTheRunSayingWhy) {
  test::RunFixture f;
  f.AddMembers({test::RunFixture::MakeRecipient(Key(1))});
  ASSERT_TRUE(f.states[0]->Pause(f.store.get(), "manual", "paused by operator",
                                 RunnerNowUs() / 1000000, 0).ok());
  ScriptedWorker worker([](const std::string&, int) { return "250 2.0.0 OK"; });
  Feeder feeder(f.s.get(), 0, &worker);
  feeder.Run();
  EXPECT_TRUE(worker.attempts().empty());
  EXPECT_EQ(f.s->stop_kind(), StopKind::kPause);
  EXPECT_EQ(f.s->stop_reason,
            "no usable account left on route \"r\": a0 (manual until resumed: paused by operator)");
}

TEST(Feeder, AStoppedRunHandsNothingOver) {
  test::RunFixture f;
  f.AddMembers({test::RunFixture::MakeRecipient(Key(1))});
  f.s->RequestStop(StopKind::kCancel, "cancelled by operator");
  ScriptedWorker worker([](const std::string&, int) { return "250 2.0.0 OK"; });
  Feeder feeder(f.s.get(), 0, &worker);
  feeder.Run();
  EXPECT_TRUE(worker.attempts().empty());
  EXPECT_FALSE(f.Progress(Key(1)).has_value());
}

}  // namespace
}  // namespace salvo
