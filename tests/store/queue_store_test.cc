// store/queue_store.h: every state transition, due order, group commit (concurrent enqueues all
// durable with fewer fsyncs than calls), in_flight recovery after a reopen, sweep, bounded
// attempt history, and hostile input rejected before anything is written.
#include "store/queue_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "absl/time/clock.h"
#include "engine/base/shard.h"
#include "store/recipient_store.h"
#include "tests/store/store_fixture.h"

namespace salvo {
namespace {

constexpr int64_t kSec = 1'000'000;

NewMessage Msg(std::vector<std::string> rcpts, std::string route = "transactional",
               int64_t not_before_us = 0) {
  NewMessage m;
  m.route = std::move(route);
  m.sender = "bounces@example.com";
  m.recipients = std::move(rcpts);
  m.body = "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n";
  m.origin = "api-key:shop";
  m.not_before_us = not_before_us;
  return m;
}

QueueAttempt Attempt(QueueState result, int64_t at_us, std::string reply = "250 2.0.0 ok") {
  QueueAttempt a;
  a.at_us = at_us;
  a.account = "sg-tx";
  a.reply = std::move(reply);
  a.result = result;
  return a;
}

int64_t Now() { return absl::ToUnixMicros(absl::Now()); }

class QueueStoreTest : public StoreFixture {
 protected:
  // Enqueues one message to `rcpt` and takes it: returns its id, now in_flight.
  std::string InFlight(const std::string& rcpt) {
    QueueStore q(store_.get());
    auto ids = q.Enqueue({Msg({rcpt})});
    EXPECT_TRUE(ids.ok()) << ids.status();
    auto taken = q.TakeDue(Now() + kSec, 1000);
    EXPECT_TRUE(taken.ok()) << taken.status();
    return ids->at(0);
  }
  QueueState StateOf(const std::string& id) {
    auto e = QueueStore(store_.get()).Get(id);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? e->state : QueueState::kQueued;
  }
};

TEST_F(QueueStoreTest, EnqueueStoresOneEntryPerRecipientSharingOneBody) {
  QueueStore q(store_.get());
  auto ids = q.Enqueue({Msg({"Ann@Example.COM", "bob@example.org"}), Msg({"carol@example.net"})});
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->size(), 3u);
  EXPECT_LT((*ids)[0], (*ids)[1]);
  EXPECT_LT((*ids)[1], (*ids)[2]);
  EXPECT_EQ((*ids)[0].size(), 16u);

  auto ann = q.Get((*ids)[0]);
  ASSERT_TRUE(ann.ok()) << ann.status();
  EXPECT_EQ(ann->state, QueueState::kQueued);
  EXPECT_EQ(ann->recipient, "Ann@example.com");
  EXPECT_EQ(ann->address_key, "ann@example.com");
  EXPECT_EQ(ann->route, "transactional");
  EXPECT_EQ(ann->sender, "bounces@example.com");
  EXPECT_EQ(ann->origin, "api-key:shop");
  EXPECT_EQ(ann->attempts, 0u);
  EXPECT_EQ(ann->body_entries, 2u);
  EXPECT_GT(ann->created_us, 0);
  EXPECT_EQ(ann->next_attempt_us, ann->created_us);
  auto bob = q.Get((*ids)[1]);
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->body_id, ann->body_id);
  auto carol = q.Get((*ids)[2]);
  ASSERT_TRUE(carol.ok());
  EXPECT_NE(carol->body_id, ann->body_id);
  auto body = q.GetBody(ann->body_id);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, Msg({}).body);
  EXPECT_EQ(ann->body_bytes, body->size());

  auto by_addr = q.ByAddressHash(AddressHash("bob@example.org"));
  ASSERT_TRUE(by_addr.ok());
  EXPECT_EQ(*by_addr, std::vector<std::string>{(*ids)[1]});

  EXPECT_EQ(q.Get("0000000000000000").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(q.Get("0000000000000000").status().message(), "no queued message \"0000000000000000\"");
  EXPECT_EQ(q.Get("nope").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(q.Get("nope").status().message().find("\"nope\""), absl::string_view::npos);
}

TEST_F(QueueStoreTest, HostileInputIsRejectedAndNothingIsWritten) {
  QueueLimits limits;
  limits.max_message_bytes = 1000;
  limits.max_call_bytes = 1500;
  limits.max_recipients = 3;
  limits.max_entries = 4;
  QueueStore q(store_.get(), limits);
  auto expect = [&](std::vector<NewMessage> msgs, absl::StatusCode code, std::string text) {
    auto r = q.Enqueue(msgs);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_NE(r.status().message().find(text), absl::string_view::npos) << r.status();
  };
  NewMessage huge = Msg({"a@example.com"});
  huge.body.assign(1001, 'x');
  expect({Msg({"a@example.com"}), huge}, absl::StatusCode::kResourceExhausted,
         "message 1: 1001 bytes is over the queue's limit of 1000 bytes");
  NewMessage big = Msg({"a@example.com"});
  big.body.assign(800, 'x');
  expect({big, big}, absl::StatusCode::kResourceExhausted, "1600 bytes in one call");
  expect({Msg({"bob@@x"})}, absl::StatusCode::kInvalidArgument,
         "message 0: recipient: invalid address \"bob@@x\"");
  expect({Msg({"a@example.com", "A@EXAMPLE.com"})}, absl::StatusCode::kInvalidArgument,
         "given twice");
  expect({Msg({"a@x.com", "b@x.com", "c@x.com", "d@x.com"})}, absl::StatusCode::kInvalidArgument,
         "4 recipients is over the limit of 3");
  expect({Msg({"a@x.com", "b@x.com"}), Msg({"c@x.com", "d@x.com", "e@x.com"})},
         absl::StatusCode::kInvalidArgument, "5 recipients in one call");
  expect({Msg({})}, absl::StatusCode::kInvalidArgument, "no recipients");
  expect({Msg({"a@x.com"}, "")}, absl::StatusCode::kInvalidArgument, "invalid route");
  expect({Msg({"a@x.com"}, "tx\r\nX-Evil: 1")}, absl::StatusCode::kInvalidArgument, "invalid route");
  NewMessage empty = Msg({"a@x.com"});
  empty.body.clear();
  expect({empty}, absl::StatusCode::kInvalidArgument, "empty body");
  NewMessage sender = Msg({"a@x.com"});
  sender.sender = "not an address";
  expect({sender}, absl::StatusCode::kInvalidArgument, "message 0: sender: invalid address");

  // The default limit: 25 MB a body.
  NewMessage over = Msg({"a@example.com"});
  over.body.assign((25u << 20) + 1, 'x');
  auto r = QueueStore(store_.get()).Enqueue({over});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();

  auto all = q.List({});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  EXPECT_EQ(q.Stats().enqueue_calls, 0u);
  // The null sender is allowed (DSNs, auto-replies).
  NewMessage null_sender = Msg({"a@x.com"});
  null_sender.sender.clear();
  EXPECT_TRUE(q.Enqueue({null_sender}).ok());
}

TEST_F(QueueStoreTest, TakeDueReturnsDueEntriesEarliestFirstAndMarksThemInFlight) {
  QueueStore q(store_.get());
  const int64_t t0 = Now();
  auto late = q.Enqueue({Msg({"late@x.com"}, "tx", t0 + 100 * kSec)});
  auto later = q.Enqueue({Msg({"later@x.com"}, "tx", t0 + 200 * kSec)});
  auto now = q.Enqueue({Msg({"now@x.com"})});
  ASSERT_TRUE(late.ok() && later.ok() && now.ok());

  auto taken = q.TakeDue(t0 + 150 * kSec, 1);
  ASSERT_TRUE(taken.ok()) << taken.status();
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].recipient, "now@x.com");  // due at creation, before t0 + 100 s
  EXPECT_EQ((*taken)[0].state, QueueState::kInFlight);
  EXPECT_EQ(StateOf(now->at(0)), QueueState::kInFlight);

  taken = q.TakeDue(t0 + 150 * kSec, 10);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].recipient, "late@x.com");
  // Nothing else is due yet; an in_flight entry is never handed out twice.
  taken = q.TakeDue(t0 + 150 * kSec, 10);
  ASSERT_TRUE(taken.ok());
  EXPECT_TRUE(taken->empty());
  taken = q.TakeDue(t0 + 300 * kSec, 10);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].id, later->at(0));
}

// TakeDue starts where the last walk ended (not at the deletion markers of everything taken
// before); entries put back or queued earlier than that are still found.
TEST_F(QueueStoreTest, TakeDueFindsEntriesDueBeforeItsLastWalk) {
  QueueStore q(store_.get());
  const int64_t t0 = Now();
  ASSERT_TRUE(q.Enqueue({Msg({"a@x.com", "b@x.com"})}).ok());
  auto taken = q.TakeDue(t0 + 100 * kSec, 10);  // the walk ends at t0 + 100 s
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 2u);
  // Released to an earlier time, retried, and a new message due before the last walk.
  ASSERT_TRUE(q.Release((*taken)[0].id, t0, t0 + 10 * kSec).ok());
  ASSERT_TRUE(q.RecordAttempt((*taken)[1].id, Attempt(QueueState::kDeferred, t0, "451 later"),
                              t0 + 20 * kSec).ok());
  ASSERT_TRUE(q.Enqueue({Msg({"c@x.com"}, "tx", t0 + 30 * kSec)}).ok());
  taken = q.TakeDue(t0 + 100 * kSec, 10);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 3u);
  EXPECT_EQ((*taken)[0].recipient, "a@x.com");
  EXPECT_EQ((*taken)[1].recipient, "b@x.com");
  EXPECT_EQ((*taken)[2].recipient, "c@x.com");
  // A walk cut by its limit resumes at the last entry's time.
  ASSERT_TRUE(q.Enqueue({Msg({"d@x.com", "e@x.com", "f@x.com"}, "tx", t0 + 50 * kSec)}).ok());
  taken = q.TakeDue(t0 + 100 * kSec, 2);
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->size(), 2u);
  taken = q.TakeDue(t0 + 100 * kSec, 10);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].recipient, "f@x.com");
}

TEST_F(QueueStoreTest, EveryTransition) {
  QueueStore q(store_.get());
  const int64_t t = Now();
  // in_flight -> deferred -> (due) in_flight -> delivered
  std::string id = InFlight("d@x.com");
  ASSERT_TRUE(q.RecordAttempt(id, Attempt(QueueState::kDeferred, t, "451 4.7.1 try later"),
                              t + 60 * kSec).ok());
  auto e = q.Get(id);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->state, QueueState::kDeferred);
  EXPECT_EQ(e->next_attempt_us, t + 60 * kSec);
  EXPECT_EQ(e->first_attempt_us, t);
  auto taken = q.TakeDue(t + 59 * kSec, 10);
  ASSERT_TRUE(taken.ok());
  EXPECT_TRUE(taken->empty());
  taken = q.TakeDue(t + 60 * kSec, 10);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  ASSERT_TRUE(q.RecordAttempt(id, Attempt(QueueState::kDelivered, t + 61 * kSec)).ok());
  e = q.Get(id);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->state, QueueState::kDelivered);
  EXPECT_EQ(e->attempts, 2u);
  ASSERT_EQ(e->history.size(), 2u);
  EXPECT_EQ(e->history[0].reply, "451 4.7.1 try later");
  EXPECT_EQ(e->history[0].result, QueueState::kDeferred);
  EXPECT_EQ(e->history[1].account, "sg-tx");
  EXPECT_EQ(e->next_attempt_us, 0);
  EXPECT_EQ(e->state_since_us, t + 61 * kSec);

  // in_flight -> bounced | failed | suppressed | expired
  for (QueueState end : {QueueState::kBounced, QueueState::kFailed, QueueState::kSuppressed,
                         QueueState::kExpired}) {
    std::string x = InFlight(std::string(QueueStateName(end)) + "@x.com");
    ASSERT_TRUE(q.RecordAttempt(x, Attempt(end, t, "550 5.1.1 no such user")).ok());
    EXPECT_EQ(StateOf(x), end);
  }
  // in_flight -> queued without an attempt (Release)
  std::string r = InFlight("r@x.com");
  ASSERT_TRUE(q.Release(r, t, t + 5 * kSec).ok());
  e = q.Get(r);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->state, QueueState::kQueued);
  EXPECT_EQ(e->attempts, 0u);
  EXPECT_EQ(e->next_attempt_us, t + 5 * kSec);
  // queued (due later) -> Retry -> due now
  ASSERT_TRUE(q.Retry(r, t + kSec).ok());
  e = q.Get(r);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->next_attempt_us, t + kSec);
  // queued -> cancelled; a cancelled entry is never due
  ASSERT_TRUE(q.Cancel(r, t + 2 * kSec).ok());
  EXPECT_EQ(StateOf(r), QueueState::kCancelled);
  taken = q.TakeDue(t + 1000 * kSec, 100);
  ASSERT_TRUE(taken.ok());
  EXPECT_TRUE(taken->empty());

  // Wrong states name the id and the state.
  absl::Status st = q.Cancel(id, t);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), "message " + id + " is delivered: only queued or deferred messages can be cancelled");
  st = q.Retry(id, t);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("is delivered"), absl::string_view::npos);
  st = q.RecordAttempt(id, Attempt(QueueState::kDelivered, t));
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  st = q.Release(id, t, t);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  std::string f = InFlight("f@x.com");
  st = q.Cancel(f, t);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("in_flight"), absl::string_view::npos);
  // An attempt cannot end queued / in_flight / cancelled; a deferral needs its time.
  EXPECT_EQ(q.RecordAttempt(f, Attempt(QueueState::kCancelled, t)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(q.RecordAttempt(f, Attempt(QueueState::kDeferred, t), 0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StateOf(f), QueueState::kInFlight);
}

TEST_F(QueueStoreTest, RetryAllDeferredAndCountByState) {
  QueueStore q(store_.get());
  const int64_t t = Now();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(InFlight("u" + std::to_string(i) + "@x.com"));
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(q.RecordAttempt(ids[i], Attempt(QueueState::kDeferred, t, "421 busy"),
                                t + 3600 * kSec).ok());
  ASSERT_TRUE(q.RecordAttempt(ids[3], Attempt(QueueState::kDelivered, t)).ok());
  auto counts = q.CountByState();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[static_cast<int>(QueueState::kDeferred)], 3u);
  EXPECT_EQ((*counts)[static_cast<int>(QueueState::kDelivered)], 1u);
  EXPECT_EQ((*counts)[static_cast<int>(QueueState::kInFlight)], 1u);

  auto n = q.RetryAllDeferred(t + kSec);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 3u);
  auto taken = q.TakeDue(t + kSec, 100);
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->size(), 3u);
  n = q.RetryAllDeferred(t + kSec);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(QueueStoreTest, ListFiltersByStateAndRouteAndPages) {
  QueueStore q(store_.get());
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    auto r = q.Enqueue({Msg({"p" + std::to_string(i) + "@x.com"}, i % 2 ? "bulk" : "tx")});
    ASSERT_TRUE(r.ok());
    ids.push_back(r->at(0));
  }
  ASSERT_TRUE(q.Cancel(ids[0], Now()).ok());
  // The ids List(f) returns, in order.
  auto listed = [&q](const QueueFilter& f) {
    std::vector<std::string> out;
    auto entries = q.List(f);
    EXPECT_TRUE(entries.ok()) << entries.status();
    if (entries.ok())
      for (const QueueEntry& e : *entries) out.push_back(e.id);
    return out;
  };
  QueueFilter f;
  EXPECT_EQ(listed(f), ids);
  f.state = QueueState::kQueued;
  f.route = "tx";
  EXPECT_EQ(listed(f), (std::vector<std::string>{ids[2], ids[4]}));
  QueueFilter page;
  page.limit = 2;
  page.after = ids[1];
  EXPECT_EQ(listed(page), (std::vector<std::string>{ids[2], ids[3]}));
  QueueFilter cancelled;
  cancelled.state = QueueState::kCancelled;
  EXPECT_EQ(listed(cancelled), std::vector<std::string>{ids[0]});
  page.after = "zz";
  EXPECT_EQ(q.List(page).status().code(), absl::StatusCode::kInvalidArgument);

  auto bad = ParseQueueState("sent");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "unknown queue state \"sent\" (known: queued, in_flight, deferred, delivered, "
            "bounced, failed, suppressed, expired, cancelled)");
  for (int i = 0; i < kQueueStateCount; ++i) {
    auto s = ParseQueueState(QueueStateName(static_cast<QueueState>(i)));
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(static_cast<int>(*s), i);
  }
}

TEST_F(QueueStoreTest, AttemptHistoryIsBounded) {
  QueueStore q(store_.get());
  const int64_t t = Now();
  std::string id = InFlight("busy@x.com");
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(q.RecordAttempt(id, Attempt(QueueState::kDeferred, t + i * kSec,
                                            "451 attempt " + std::to_string(i) + "\r\n" +
                                                std::string(2000, 'z')),
                                t + i * kSec).ok());
    auto taken = q.TakeDue(t + i * kSec, 10);
    ASSERT_TRUE(taken.ok());
    ASSERT_EQ(taken->size(), 1u);
  }
  auto e = q.Get(id);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->attempts, 25u);
  ASSERT_EQ(e->history.size(), kMaxKeptAttempts);
  EXPECT_EQ(e->history.front().reply.substr(0, 16), "451 attempt 5??z");  // CRLF sanitized
  EXPECT_EQ(e->history.back().reply.substr(0, 14), "451 attempt 24");
  EXPECT_LE(e->history.back().reply.size(), kMaxReplyBytes + 3);
  EXPECT_EQ(e->first_attempt_us, t);
}

TEST_F(QueueStoreTest, InFlightIsRecoveredAfterReopenAndIdsKeepGrowing) {
  std::vector<std::string> ids;
  {
    QueueStore q(store_.get());
    auto r = q.Enqueue({Msg({"a@x.com", "b@x.com", "c@x.com"})});
    ASSERT_TRUE(r.ok());
    ids = *r;
    auto taken = q.TakeDue(Now() + kSec, 2);
    ASSERT_TRUE(taken.ok());
    ASSERT_EQ(taken->size(), 2u);
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());  // the daemon dies with two messages in flight
  QueueStore q(store_.get());
  EXPECT_EQ(StateOf(ids[0]), QueueState::kInFlight);
  auto n = q.RecoverInFlight(Now());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(StateOf(ids[0]), QueueState::kQueued);
  EXPECT_EQ(StateOf(ids[1]), QueueState::kQueued);
  auto taken = q.TakeDue(Now() + kSec, 10);
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->size(), 3u);
  // New ids sort after the old ones even if the clock were behind them.
  auto more = q.Enqueue({Msg({"d@x.com"})});
  ASSERT_TRUE(more.ok());
  EXPECT_GT(more->at(0), ids.back());
}

TEST_F(QueueStoreTest, SweepDeletesOldFinishedEntriesAndUnusedBodies) {
  QueueStore q(store_.get());
  auto r = q.Enqueue({Msg({"old@x.com", "new@x.com"}), Msg({"waiting@x.com"})});
  ASSERT_TRUE(r.ok());
  const std::string old_id = (*r)[0], new_id = (*r)[1], waiting = (*r)[2];
  auto body_id = q.Get(old_id)->body_id;
  const int64_t t = Now() + 10 * kSec;  // after creation: ids are below the sweep's cutoff
  auto taken = q.TakeDue(t, 2);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 2u);
  ASSERT_TRUE(q.RecordAttempt(old_id, Attempt(QueueState::kDelivered, t)).ok());
  ASSERT_TRUE(q.RecordAttempt(new_id, Attempt(QueueState::kBounced, t + 3600 * kSec)).ok());

  const absl::Duration keep = absl::Hours(24);
  auto n = q.Sweep(t + 3600 * kSec, keep);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);  // nothing final for a day yet
  n = q.Sweep(t + 25 * 3600 * kSec, keep);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(q.Get(old_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(q.Get(new_id).ok());
  EXPECT_TRUE(q.GetBody(body_id).ok());  // still used by new_id
  auto idx = q.ByAddressHash(AddressHash("old@x.com"));
  ASSERT_TRUE(idx.ok());
  EXPECT_TRUE(idx->empty());

  n = q.Sweep(t + 26 * 3600 * kSec, keep);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(q.GetBody(body_id).status().code(), absl::StatusCode::kNotFound);
  // A queued entry is never swept, however old.
  EXPECT_EQ(StateOf(waiting), QueueState::kQueued);
  n = q.Sweep(t + 1000 * 24 * 3600 * kSec, keep);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  auto counts = q.CountByState();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[static_cast<int>(QueueState::kQueued)], 1u);
}

// The enqueue listener (the delivery loop's wake-up) hears every Enqueue and UpsertAndEnqueue
// with the earliest due time of what was written, after the write (TakeDue already sees it),
// and nothing once removed.
TEST_F(QueueStoreTest, EnqueueListenerHearsEveryWriteWithItsEarliestDue) {
  QueueStore q(store_.get());
  std::vector<int64_t> heard;
  q.SetEnqueueListener([&](int64_t due) { heard.push_back(due); });
  const int64_t before = Now();
  ASSERT_TRUE(q.Enqueue({Msg({"now@example.com"})}).ok());
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_GE(heard[0], before);
  EXPECT_LE(heard[0], Now());
  auto taken = q.TakeDue(Now(), 10);
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->size(), 1u);

  const int64_t later = Now() + 3600 * kSec;
  ASSERT_TRUE(q.Enqueue({Msg({"later@example.com"}, "transactional", later)}).ok());
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_LE(heard[1], later);  // no later than anything written (PrepareEnqueue: at most now)

  // A leads upsert that queues (RecipientStore::UpsertAndEnqueue) is heard too.
  Recipient lead;
  lead.address = lead.key = "lead@example.com";
  lead.shard = ShardOf(lead.key);
  std::vector<std::string> ids;
  auto counts = RecipientStore(store_.get()).UpsertAndEnqueue(
      "leads", {lead},
      [](const std::vector<UpsertRowChange>&) -> absl::StatusOr<std::vector<NewMessage>> {
        return std::vector<NewMessage>{Msg({"lead@example.com"})};
      },
      &ids);
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(heard.size(), 3u);

  q.SetEnqueueListener({});
  ASSERT_TRUE(q.Enqueue({Msg({"unheard@example.com"})}).ok());
  EXPECT_EQ(heard.size(), 3u);
}

// N threads enqueue concurrently: every call returns only once durable, every id is there after a
// reopen, and the fsyncs were shared (fewer syncs than calls).
TEST_F(QueueStoreTest, GroupCommitSharesSyncsAcrossConcurrentEnqueues) {
  constexpr int kThreads = 32;
  constexpr int kPerThread = 20;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::atomic<int> failures{0};
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        QueueStore q(store_.get());  // a handle per thread: they share the Store's write group
        for (int i = 0; i < kPerThread; ++i) {
          auto r = q.Enqueue({Msg({"t" + std::to_string(t) + "-" + std::to_string(i) + "@x.com"})});
          if (!r.ok()) {
            ++failures;
            continue;
          }
          ids[t].push_back(r->at(0));
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  ASSERT_EQ(failures.load(), 0);
  QueueStats stats = QueueStore(store_.get()).Stats();
  EXPECT_EQ(stats.enqueue_calls, uint64_t{kThreads * kPerThread});
  EXPECT_LT(stats.syncs, stats.enqueue_calls);
  EXPECT_GE(stats.syncs, 1u);
  std::printf("group commit: %llu enqueues, %llu fsyncs\n",
              static_cast<unsigned long long>(stats.enqueue_calls),
              static_cast<unsigned long long>(stats.syncs));

  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::set<std::string> unique;
  QueueStore q(store_.get());
  for (const auto& v : ids) {
    for (const std::string& id : v) {
      EXPECT_TRUE(unique.insert(id).second) << id;
      EXPECT_EQ(StateOf(id), QueueState::kQueued);
    }
  }
  EXPECT_EQ(unique.size(), size_t{kThreads * kPerThread});
}

TEST(QueueEntryCodec, DamagedRecordsAreDataLossNamingTheId) {
  QueueEntry e;
  e.id = "0123456789abcdef";
  e.route = "tx";
  e.history.push_back(QueueAttempt{1, "acct", "250 ok", QueueState::kDelivered});
  std::string v;
  EncodeQueueEntry(e, &v);
  QueueEntry back;
  ASSERT_TRUE(DecodeQueueEntry(e.id, v, &back).ok());
  EXPECT_EQ(back.history.size(), 1u);
  for (size_t cut = 0; cut < v.size(); ++cut) {
    absl::Status st = DecodeQueueEntry(e.id, v.substr(0, cut), &back);
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << cut;
  }
  absl::Status st = DecodeQueueEntry(e.id, v + "x", &back);
  EXPECT_EQ(st.message(), "damaged queue entry \"0123456789abcdef\"");
  std::string bad_state = v;
  bad_state[1] = 42;
  EXPECT_FALSE(DecodeQueueEntry(e.id, bad_state, &back).ok());
}

}  // namespace
}  // namespace salvo
