// The durable queue in RocksDB (see queue_store.h; key layout in store/README.md). Enqueue goes
// through the Store's GroupCommit (fsynced, shared); every state change is one WriteBatch that
// rewrites the entry and moves its index keys, under the Store's queue mutex so that concurrent
// handles (delivery loop, forwarded CLI commands) never lose each other's changes.
#include "store/queue_store.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/address.h"
#include "engine/base/clock.h"
#include "engine/base/shard.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/group_commit.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {

// Per-Store queue state, shared by every QueueStore handle on the Store.
class QueueShared {
 public:
  explicit QueueShared(rocksdb::DB* db) : commit(db), wal_sync(db) {}
  GroupCommit commit;
  WalSync wal_sync;       // UpsertAndEnqueue's shared fsync (store/group_commit.h)
  std::mutex mu;          // serializes state changes (read-modify-write of an entry + indexes)
  // No due key is earlier than this (guarded by mu): TakeDue seeks here instead of walking
  // the deletion markers of every entry it took before (quadratic in a long-lived memtable).
  int64_t due_floor = 0;
  void LowerDueFloor(int64_t due_us) { due_floor = std::min(due_floor, due_us); }
  // Called (under mu) after every Enqueued(): the delivery loop's wake-up. Empty: none.
  std::function<void(int64_t)> enqueue_listener;
  std::mutex id_mu;
  uint64_t last_id = 0;   // guarded by id_mu; the highest id handed out
};

namespace {

constexpr uint8_t kEntryVersion = 1;
constexpr size_t kIdChars = 16;
constexpr size_t kChunk = 1000;        // entries per batch of the bulk operations
constexpr size_t kMaxListLimit = 10000;
constexpr size_t kMaxAccountBytes = 128;
constexpr std::string_view kStateNames[kQueueStateCount] = {
    "queued", "in_flight", "deferred", "delivered", "bounced",
    "failed", "suppressed", "expired",  "cancelled"};

std::string FormatId(uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(kIdChars, '0');
  for (int i = static_cast<int>(kIdChars) - 1; i >= 0; --i, v >>= 4) s[i] = kHex[v & 0xF];
  return s;
}

std::optional<uint64_t> ParseId(std::string_view s) {
  if (s.size() != kIdChars) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

[[nodiscard]] absl::Status CheckId(std::string_view id) {
  if (ParseId(id)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("invalid message id \"", SanitizeForLog(id, 64),
                                                 "\" (16 lowercase hex digits)"));
}

uint64_t TimeKey(int64_t us) { return us < 0 ? 0 : static_cast<uint64_t>(us); }

std::string DueKey(int64_t due_us, std::string_view id) {
  std::string k;
  PutBe64(&k, TimeKey(due_us));
  k.append(id);
  return k;
}

std::string StateKey(QueueState s, std::string_view id) {
  std::string k(1, static_cast<char>(s));
  k.append(id);
  return k;
}

std::string AddrKey(std::string_view address_key, std::string_view id) {
  std::string k;
  PutBe64(&k, AddressHash(address_key));
  k.append(id);
  return k;
}

bool IsWaiting(QueueState s) { return s == QueueState::kQueued || s == QueueState::kDeferred; }

// Printable text without control characters, for names that end up in logs and keys.
bool PlainText(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

[[nodiscard]] absl::Status WrongState(std::string_view id, QueueState s, std::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("message ", Av(id), " is ", Av(QueueStateName(s)), ": ", Av(what)));
}

// Handles for the queue's column families, resolved once per call.
struct Cfs {
  explicit Cfs(Store* s)
      : db(DbOf(s)), entries(CfOf(s, Cf::kQueue)), bodies(CfOf(s, Cf::kQueueBody)),
        due(CfOf(s, Cf::kQueueDue)), state(CfOf(s, Cf::kQueueState)),
        addr(CfOf(s, Cf::kQueueAddr)), shared(&QueueSharedOf(s)) {}
  rocksdb::DB* db;
  rocksdb::ColumnFamilyHandle *entries, *bodies, *due, *state, *addr;
  QueueShared* shared;
};

[[nodiscard]] absl::StatusOr<std::optional<QueueEntry>> ReadEntry(const Cfs& c,
                                                                  std::string_view id) {
  std::string v;
  rocksdb::Status s = c.db->Get(rocksdb::ReadOptions(), c.entries, rocksdb::Slice(id.data(), id.size()), &v);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "reading queue entry");
  QueueEntry e;
  RETURN_IF_ERROR(DecodeQueueEntry(id, v, &e));
  return e;
}

[[nodiscard]] absl::StatusOr<QueueEntry> MustReadEntry(const Cfs& c, std::string_view id) {
  RETURN_IF_ERROR(CheckId(id));
  ASSIGN_OR_RETURN(std::optional<QueueEntry> e, ReadEntry(c, id));
  if (!e) return absl::NotFoundError(absl::StrCat("no queued message \"", Av(id), "\""));
  return *std::move(e);
}

// Moves `e` to state `to` in `batch`: the entry record and its due / state index keys.
void Transition(const Cfs& c, rocksdb::WriteBatch* batch, QueueEntry* e, QueueState to,
                int64_t now_us, int64_t next_attempt_us) {
  batch->Delete(c.state, StateKey(e->state, e->id));
  if (IsWaiting(e->state)) batch->Delete(c.due, DueKey(e->next_attempt_us, e->id));
  e->state = to;
  e->state_since_us = now_us;
  e->next_attempt_us = IsWaiting(to) ? next_attempt_us : 0;
  batch->Put(c.state, StateKey(to, e->id), rocksdb::Slice());
  if (IsWaiting(to)) {
    batch->Put(c.due, DueKey(e->next_attempt_us, e->id), rocksdb::Slice());
    c.shared->LowerDueFloor(e->next_attempt_us);  // the caller holds shared->mu
  }
  std::string v;
  EncodeQueueEntry(*e, &v);
  batch->Put(c.entries, e->id, v);
}

// Appends `a` (bounded, sanitized) to e's history, dropping the oldest beyond kMaxKeptAttempts.
void AppendHistory(const QueueAttempt& attempt, QueueEntry* e) {
  QueueAttempt a = attempt;
  a.account = std::string(std::string_view(a.account).substr(0, kMaxAccountBytes));
  a.reply = SanitizeForLog(a.reply, kMaxReplyBytes);
  e->history.push_back(std::move(a));
  if (e->history.size() > kMaxKeptAttempts)
    e->history.erase(e->history.begin(), e->history.end() - kMaxKeptAttempts);
}

[[nodiscard]] absl::Status Commit(const Cfs& c, rocksdb::WriteBatch* batch, std::string_view what) {
  if (batch->Count() == 0) return absl::OkStatus();
  return FromRocks(c.db->Write(rocksdb::WriteOptions(), batch), what);
}

// Walks the state index of `s` from `from` (exclusive when `exclusive`), below `upper` when not
// empty, in chunks: fn(entry, batch) decides per entry; each chunk is committed before the next
// is read. Index keys whose entry is gone or in another state are removed.
[[nodiscard]] absl::Status ForStateChunks(
    const Cfs& c, QueueState s, std::string_view upper_id,
    const std::function<void(QueueEntry&, rocksdb::WriteBatch*)>& fn,
    const std::function<void(rocksdb::WriteBatch*)>& chunk_done,
    std::string_view what) {
  const std::string prefix(1, static_cast<char>(s));
  std::string upper = upper_id.empty() ? std::string(1, static_cast<char>(static_cast<uint8_t>(s) + 1))
                                       : prefix + std::string(upper_id);
  std::string from = prefix;
  for (;;) {
    std::vector<std::string> ids;
    {
      rocksdb::ReadOptions ro;
      rocksdb::Slice ub(upper);
      ro.iterate_upper_bound = &ub;
      std::unique_ptr<rocksdb::Iterator> it(c.db->NewIterator(ro, c.state));
      for (it->Seek(from); it->Valid() && ids.size() < kChunk; it->Next()) {
        std::string_view k(it->key().data(), it->key().size());
        if (k == from && from.size() > prefix.size()) continue;  // the last one of the chunk before
        ids.emplace_back(k.substr(1));
      }
      if (!it->status().ok()) return FromRocks(it->status(), what);
    }
    if (ids.empty()) return absl::OkStatus();
    rocksdb::WriteBatch batch;
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(std::optional<QueueEntry> e, ReadEntry(c, id));
      if (!e || e->state != s) {
        batch.Delete(c.state, StateKey(s, id));  // stale index key
        continue;
      }
      fn(*e, &batch);
    }
    if (chunk_done) chunk_done(&batch);
    RETURN_IF_ERROR(Commit(c, &batch, what));
    from = prefix + ids.back();
  }
}

}  // namespace

WalSync& WalSyncOf(Store* s) { return QueueSharedOf(s).wal_sync; }

QueueShared& QueueSharedOf(Store* s) {
  std::call_once(s->queue_once_, [s] {
    auto shared = std::make_shared<QueueShared>(s->db_);
    // Ids continue after the highest stored one (the clock may be behind it after a restart).
    std::unique_ptr<rocksdb::Iterator> it(
        s->db_->NewIterator(rocksdb::ReadOptions(), s->cf(Cf::kQueue)));
    it->SeekToLast();
    if (it->Valid()) {
      if (auto v = ParseId(std::string_view(it->key().data(), it->key().size()))) shared->last_id = *v;
    }
    s->queue_ = std::move(shared);
  });
  return *s->queue_;
}

std::string_view QueueStateName(QueueState s) {
  const auto i = static_cast<size_t>(s);
  return i < kQueueStateCount ? kStateNames[i] : "unknown";
}

absl::StatusOr<QueueState> ParseQueueState(std::string_view name) {
  for (int i = 0; i < kQueueStateCount; ++i)
    if (kStateNames[i] == name) return static_cast<QueueState>(i);
  std::vector<std::string> known(std::begin(kStateNames), std::end(kStateNames));
  return absl::InvalidArgumentError(absl::StrCat("unknown queue state \"", SanitizeForLog(name, 64),
                                                 "\" (known: ", absl::StrJoin(known, ", "), ")"));
}

void EncodeQueueEntry(const QueueEntry& e, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kEntryVersion));
  out->push_back(static_cast<char>(e.state));
  PutVarint64(out, ZigZag(e.created_us));
  PutVarint64(out, ZigZag(e.state_since_us));
  PutVarint64(out, ZigZag(e.next_attempt_us));
  PutVarint64(out, ZigZag(e.first_attempt_us));
  PutVarint64(out, e.attempts);
  PutLengthPrefixed(out, e.route);
  PutLengthPrefixed(out, e.sender);
  PutLengthPrefixed(out, e.recipient);
  PutLengthPrefixed(out, e.address_key);
  PutLengthPrefixed(out, e.origin);
  PutLengthPrefixed(out, e.body_id);
  PutVarint64(out, e.body_entries);
  PutVarint64(out, e.body_bytes);
  const size_t skip = e.history.size() > kMaxKeptAttempts ? e.history.size() - kMaxKeptAttempts : 0;
  PutVarint64(out, e.history.size() - skip);
  for (size_t i = skip; i < e.history.size(); ++i) {
    const QueueAttempt& a = e.history[i];
    PutVarint64(out, ZigZag(a.at_us));
    out->push_back(static_cast<char>(a.result));
    PutLengthPrefixed(out, std::string_view(a.account).substr(0, kMaxAccountBytes));
    PutLengthPrefixed(out, std::string_view(a.reply).substr(0, kMaxReplyBytes + 3));
  }
}

absl::Status DecodeQueueEntry(std::string_view id, std::string_view v, QueueEntry* e) {
  auto bad = [&] {
    return absl::DataLossError(
        absl::StrCat("damaged queue entry \"", SanitizeForLog(id, 64), "\""));
  };
  if (v.size() < 2 || static_cast<uint8_t>(v[0]) != kEntryVersion ||
      static_cast<uint8_t>(v[1]) >= kQueueStateCount)
    return bad();
  e->id = std::string(id);
  e->state = static_cast<QueueState>(v[1]);
  v.remove_prefix(2);
  uint64_t created, since, next, first, attempts, entries, bytes, n;
  std::string_view route, sender, rcpt, key, origin, body;
  if (!GetVarint64(&v, &created) || !GetVarint64(&v, &since) || !GetVarint64(&v, &next) ||
      !GetVarint64(&v, &first) || !GetVarint64(&v, &attempts) || !GetLengthPrefixed(&v, &route) ||
      !GetLengthPrefixed(&v, &sender) || !GetLengthPrefixed(&v, &rcpt) ||
      !GetLengthPrefixed(&v, &key) || !GetLengthPrefixed(&v, &origin) ||
      !GetLengthPrefixed(&v, &body) || !GetVarint64(&v, &entries) || !GetVarint64(&v, &bytes) ||
      !GetVarint64(&v, &n) || n > kMaxKeptAttempts || attempts > UINT32_MAX ||
      entries > UINT32_MAX)
    return bad();
  e->created_us = UnZigZag(created);
  e->state_since_us = UnZigZag(since);
  e->next_attempt_us = UnZigZag(next);
  e->first_attempt_us = UnZigZag(first);
  e->attempts = static_cast<uint32_t>(attempts);
  e->route = std::string(route);
  e->sender = std::string(sender);
  e->recipient = std::string(rcpt);
  e->address_key = std::string(key);
  e->origin = std::string(origin);
  e->body_id = std::string(body);
  e->body_entries = static_cast<uint32_t>(entries);
  e->body_bytes = bytes;
  e->history.clear();
  for (uint64_t i = 0; i < n; ++i) {
    QueueAttempt a;
    uint64_t at;
    std::string_view account, reply;
    if (!GetVarint64(&v, &at) || v.empty() || static_cast<uint8_t>(v[0]) >= kQueueStateCount)
      return bad();
    a.result = static_cast<QueueState>(v[0]);
    v.remove_prefix(1);
    if (!GetLengthPrefixed(&v, &account) || !GetLengthPrefixed(&v, &reply)) return bad();
    a.at_us = UnZigZag(at);
    a.account = std::string(account);
    a.reply = std::string(reply);
    e->history.push_back(std::move(a));
  }
  if (!v.empty()) return bad();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> QueueStore::Enqueue(
    const std::vector<NewMessage>& messages) {
  std::vector<GroupCommitOp> ops;
  int64_t earliest_due_us = 0;
  ASSIGN_OR_RETURN(std::vector<std::string> ids, PrepareEnqueue(messages, &ops, &earliest_due_us));
  if (ids.empty()) return ids;
  RETURN_IF_ERROR(QueueSharedOf(store_).commit.Write(ops));
  Enqueued(earliest_due_us);
  return ids;
}

void QueueStore::Enqueued(int64_t earliest_due_us) {
  QueueShared& shared = QueueSharedOf(store_);
  std::lock_guard<std::mutex> lock(shared.mu);
  shared.LowerDueFloor(earliest_due_us);
  if (shared.enqueue_listener) shared.enqueue_listener(earliest_due_us);
}

void QueueStore::SetEnqueueListener(std::function<void(int64_t earliest_due_us)> listener) {
  QueueShared& shared = QueueSharedOf(store_);
  std::lock_guard<std::mutex> lock(shared.mu);
  shared.enqueue_listener = std::move(listener);
}

absl::StatusOr<std::vector<std::string>> QueueStore::PrepareEnqueue(
    const std::vector<NewMessage>& messages, std::vector<GroupCommitOp>* out,
    int64_t* earliest_due_us) {
  // Check everything first: a bad message fails the call before anything is written.
  uint64_t entries = 0, bytes = 0;
  std::vector<std::vector<NormalizedAddress>> rcpts(messages.size());
  std::vector<std::string> senders(messages.size());
  for (size_t m = 0; m < messages.size(); ++m) {
    const NewMessage& msg = messages[m];
    const std::string where = absl::StrCat("message ", m, ": ");
    if (msg.route.empty() || msg.route.size() > kMaxRouteBytes || !PlainText(msg.route))
      return absl::InvalidArgumentError(absl::StrCat(where, "invalid route \"",
                                                     SanitizeForLog(msg.route, 64),
                                                     "\" (1..200 bytes, no control characters)"));
    if (msg.origin.size() > kMaxOriginBytes || !PlainText(msg.origin))
      return absl::InvalidArgumentError(absl::StrCat(where, "invalid origin \"",
                                                     SanitizeForLog(msg.origin, 64),
                                                     "\" (0..200 bytes, no control characters)"));
    if (msg.body.empty()) return absl::InvalidArgumentError(absl::StrCat(where, "empty body"));
    if (msg.body.size() > limits_.max_message_bytes)
      return absl::ResourceExhaustedError(absl::StrCat(where, msg.body.size(),
                                                       " bytes is over the queue's limit of ",
                                                       limits_.max_message_bytes, " bytes"));
    if (msg.recipients.empty())
      return absl::InvalidArgumentError(absl::StrCat(where, "no recipients"));
    if (msg.recipients.size() > limits_.max_recipients)
      return absl::InvalidArgumentError(absl::StrCat(where, msg.recipients.size(),
                                                     " recipients is over the limit of ",
                                                     limits_.max_recipients));
    if (!msg.sender.empty()) {
      auto s = NormalizeAddress(msg.sender);
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(where, "sender: ", s.status().message()));
      senders[m] = s->address;
    }
    std::set<std::string> seen;
    for (const std::string& r : msg.recipients) {
      auto a = NormalizeAddress(r);
      if (!a.ok())
        return absl::InvalidArgumentError(absl::StrCat(where, "recipient: ", a.status().message()));
      if (!seen.insert(a->key).second)
        return absl::InvalidArgumentError(
            absl::StrCat(where, "recipient \"", SanitizeForLog(a->address, 254), "\" given twice"));
      rcpts[m].push_back(*std::move(a));
    }
    entries += msg.recipients.size();
    bytes += msg.body.size();
  }
  if (entries > limits_.max_entries)
    return absl::InvalidArgumentError(absl::StrCat(entries, " recipients in one call is over the limit of ",
                                                   limits_.max_entries));
  if (bytes > limits_.max_call_bytes)
    return absl::ResourceExhaustedError(absl::StrCat(bytes, " bytes in one call is over the queue's limit of ",
                                                     limits_.max_call_bytes, " bytes"));
  std::vector<std::string> ids;
  if (entries == 0) return ids;

  QueueShared& shared = QueueSharedOf(store_);
  const int64_t now_us = NowUnixMicros();  // the process clock, as the delivery loop's
  uint64_t first;
  {
    std::lock_guard<std::mutex> lock(shared.id_mu);
    first = std::max<uint64_t>(TimeKey(now_us), shared.last_id + 1);
    shared.last_id = first + entries - 1;
  }
  const Cfs c(store_);
  std::vector<GroupCommitOp>& ops = *out;
  ops.reserve(ops.size() + messages.size() + entries * 4);
  uint64_t next = first;
  std::string value;
  for (size_t m = 0; m < messages.size(); ++m) {
    const NewMessage& msg = messages[m];
    const std::string body_id = FormatId(next);
    ops.push_back({GroupCommitOp::Kind::kPut, c.bodies, body_id, msg.body});
    QueueEntry e;
    e.state = QueueState::kQueued;
    e.created_us = now_us;
    e.state_since_us = now_us;
    e.next_attempt_us = msg.not_before_us > 0 ? msg.not_before_us : now_us;
    e.route = msg.route;
    e.sender = senders[m];
    e.origin = msg.origin;
    e.body_id = body_id;
    e.body_entries = static_cast<uint32_t>(rcpts[m].size());
    e.body_bytes = msg.body.size();
    for (NormalizedAddress& a : rcpts[m]) {
      e.id = FormatId(next++);
      e.recipient = std::move(a.address);
      e.address_key = std::move(a.key);
      EncodeQueueEntry(e, &value);
      ops.push_back({GroupCommitOp::Kind::kPut, c.entries, e.id, value});
      ops.push_back({GroupCommitOp::Kind::kPut, c.due, DueKey(e.next_attempt_us, e.id), ""});
      ops.push_back({GroupCommitOp::Kind::kPut, c.state, StateKey(e.state, e.id), ""});
      ops.push_back({GroupCommitOp::Kind::kPut, c.addr, AddrKey(e.address_key, e.id), ""});
      ids.push_back(e.id);
    }
  }
  // Not written yet: the caller lowers the due floor (Enqueued) after its write, so that a TakeDue
  // in between cannot raise it past these entries.
  *earliest_due_us = now_us;
  for (const NewMessage& msg : messages)
    if (msg.not_before_us > 0) *earliest_due_us = std::min(*earliest_due_us, msg.not_before_us);
  return ids;
}

absl::StatusOr<std::vector<QueueEntry>> QueueStore::TakeDue(int64_t now_us, size_t limit) {
  std::vector<QueueEntry> out;
  if (now_us < 0 || limit == 0) return out;
  const Cfs c(store_);
  std::lock_guard<std::mutex> lock(c.shared->mu);
  std::string upper, from;
  PutBe64(&upper, TimeKey(now_us) + 1);
  PutBe64(&from, TimeKey(c.shared->due_floor));
  rocksdb::ReadOptions ro;
  rocksdb::Slice ub(upper);
  ro.iterate_upper_bound = &ub;
  std::unique_ptr<rocksdb::Iterator> it(c.db->NewIterator(ro, c.due));
  rocksdb::WriteBatch batch;
  int64_t last_due = c.shared->due_floor;
  for (it->Seek(from); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.size() != 8 + kIdChars) {
      batch.Delete(c.due, it->key());
      continue;
    }
    const std::string id(k.substr(8));
    ASSIGN_OR_RETURN(std::optional<QueueEntry> e, ReadEntry(c, id));
    if (!e || !IsWaiting(e->state) || DueKey(e->next_attempt_us, id) != k) {
      batch.Delete(c.due, it->key());  // stale: the entry moved on
      continue;
    }
    last_due = e->next_attempt_us;
    Transition(c, &batch, &*e, QueueState::kInFlight, now_us, 0);
    out.push_back(*std::move(e));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning due queue entries");
  const bool exhausted = !it->Valid();
  RETURN_IF_ERROR(Commit(c, &batch, "taking due queue entries"));
  // Every key before where the walk stopped is gone now (taken or stale).
  c.shared->due_floor = exhausted ? now_us + 1 : std::max(c.shared->due_floor, last_due);
  return out;
}

absl::Status QueueStore::RecordAttempt(std::string_view id, const QueueAttempt& attempt,
                                       int64_t next_attempt_us) {
  switch (attempt.result) {
    case QueueState::kDeferred:
      if (next_attempt_us <= 0)
        return absl::InvalidArgumentError(
            absl::StrCat("message ", Av(id), ": a deferral needs the next attempt's time"));
      break;
    case QueueState::kDelivered:
    case QueueState::kBounced:
    case QueueState::kFailed:
    case QueueState::kSuppressed:
    case QueueState::kExpired:
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("message ", Av(id), ": an attempt cannot end ",
                                                     Av(QueueStateName(attempt.result))));
  }
  const Cfs c(store_);
  std::lock_guard<std::mutex> lock(QueueSharedOf(store_).mu);
  ASSIGN_OR_RETURN(QueueEntry e, MustReadEntry(c, id));
  if (e.state != QueueState::kInFlight)
    return WrongState(id, e.state, "an attempt is recorded only for an in_flight message");
  if (e.first_attempt_us == 0) e.first_attempt_us = attempt.at_us;
  ++e.attempts;
  AppendHistory(attempt, &e);
  rocksdb::WriteBatch batch;
  Transition(c, &batch, &e, attempt.result, attempt.at_us, next_attempt_us);
  return Commit(c, &batch, "recording a queue attempt");
}

absl::Status QueueStore::RecordBounceReport(std::string_view id, const QueueAttempt& report) {
  const Cfs c(store_);
  std::lock_guard<std::mutex> lock(QueueSharedOf(store_).mu);
  ASSIGN_OR_RETURN(QueueEntry e, MustReadEntry(c, id));
  if (e.state == QueueState::kBounced) return absl::OkStatus();
  if (e.state != QueueState::kDelivered && !IsWaiting(e.state))
    return WrongState(id, e.state, "a bounce report applies to a delivered, queued or deferred message");
  QueueAttempt a = report;
  a.result = QueueState::kBounced;
  AppendHistory(a, &e);
  rocksdb::WriteBatch batch;
  Transition(c, &batch, &e, QueueState::kBounced, report.at_us, 0);
  return Commit(c, &batch, "recording a bounce report");
}

absl::Status QueueStore::Release(std::string_view id, int64_t now_us, int64_t not_before_us) {
  const Cfs c(store_);
  std::lock_guard<std::mutex> lock(QueueSharedOf(store_).mu);
  ASSIGN_OR_RETURN(QueueEntry e, MustReadEntry(c, id));
  if (e.state != QueueState::kInFlight)
    return WrongState(id, e.state, "only an in_flight message can be released");
  rocksdb::WriteBatch batch;
  Transition(c, &batch, &e, QueueState::kQueued, now_us, not_before_us);
  return Commit(c, &batch, "releasing a queue entry");
}

absl::StatusOr<QueueEntry> QueueStore::Get(std::string_view id) {
  return MustReadEntry(Cfs(store_), id);
}

absl::StatusOr<std::string> QueueStore::GetBody(std::string_view body_id) {
  RETURN_IF_ERROR(CheckId(body_id));
  const Cfs c(store_);
  std::string v;
  rocksdb::Status s = c.db->Get(rocksdb::ReadOptions(), c.bodies,
                                rocksdb::Slice(body_id.data(), body_id.size()), &v);
  if (s.IsNotFound())
    return absl::NotFoundError(absl::StrCat("no queued message body \"", Av(body_id), "\""));
  if (!s.ok()) return FromRocks(s, "reading a queued message body");
  return v;
}

absl::StatusOr<std::vector<QueueEntry>> QueueStore::List(const QueueFilter& f) {
  if (!f.after.empty()) RETURN_IF_ERROR(CheckId(f.after));
  const size_t limit = std::min(f.limit, kMaxListLimit);
  const Cfs c(store_);
  std::vector<QueueEntry> out;
  if (limit == 0) return out;
  rocksdb::ReadOptions ro;
  std::string upper;
  rocksdb::Slice ub;
  std::string start;
  rocksdb::ColumnFamilyHandle* cf = c.entries;
  size_t skip = 0;  // bytes of index prefix before the id
  if (f.state) {
    cf = c.state;
    skip = 1;
    start = std::string(1, static_cast<char>(*f.state));
    upper = std::string(1, static_cast<char>(static_cast<uint8_t>(*f.state) + 1));
    ub = rocksdb::Slice(upper);
    ro.iterate_upper_bound = &ub;
  }
  start += f.after;
  std::unique_ptr<rocksdb::Iterator> it(c.db->NewIterator(ro, cf));
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.size() != skip + kIdChars) continue;
    const std::string_view id = k.substr(skip);
    if (!f.after.empty() && id == f.after) continue;
    QueueEntry e;
    if (f.state) {
      ASSIGN_OR_RETURN(std::optional<QueueEntry> got, ReadEntry(c, id));
      if (!got || got->state != *f.state) continue;  // index key of a change in progress
      e = *std::move(got);
    } else {
      RETURN_IF_ERROR(DecodeQueueEntry(id, std::string_view(it->value().data(), it->value().size()), &e));
    }
    if (!f.route.empty() && e.route != f.route) continue;
    out.push_back(std::move(e));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing the queue");
  return out;
}

absl::StatusOr<std::vector<std::string>> QueueStore::ByAddressHash(uint64_t hash, size_t limit) {
  const Cfs c(store_);
  std::string prefix, upper;
  PutBe64(&prefix, hash);
  upper = prefix + std::string(kIdChars, '\xff');
  rocksdb::ReadOptions ro;
  rocksdb::Slice ub(upper);
  ro.iterate_upper_bound = &ub;
  std::unique_ptr<rocksdb::Iterator> it(c.db->NewIterator(ro, c.addr));
  std::vector<std::string> out;
  for (it->Seek(prefix); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.size() == 8 + kIdChars) out.emplace_back(k.substr(8));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the queue's address index");
  return out;
}

absl::StatusOr<std::vector<uint64_t>> QueueStore::CountByState() {
  const Cfs c(store_);
  std::vector<uint64_t> n(kQueueStateCount, 0);
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(c.db->NewIterator(ro, c.state));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto s = static_cast<uint8_t>(it->key()[0]);
    if (it->key().size() == 1 + kIdChars && s < kQueueStateCount) ++n[s];
  }
  if (!it->status().ok()) return FromRocks(it->status(), "counting the queue");
  return n;
}

absl::Status QueueStore::Retry(std::string_view id, int64_t now_us) {
  const Cfs c(store_);
  std::lock_guard<std::mutex> lock(QueueSharedOf(store_).mu);
  ASSIGN_OR_RETURN(QueueEntry e, MustReadEntry(c, id));
  if (!IsWaiting(e.state))
    return WrongState(id, e.state, "only queued or deferred messages can be retried");
  rocksdb::WriteBatch batch;
  Transition(c, &batch, &e, QueueState::kQueued, now_us, now_us);
  return Commit(c, &batch, "retrying a queue entry");
}

absl::Status QueueStore::Cancel(std::string_view id, int64_t now_us) {
  const Cfs c(store_);
  std::lock_guard<std::mutex> lock(QueueSharedOf(store_).mu);
  ASSIGN_OR_RETURN(QueueEntry e, MustReadEntry(c, id));
  if (!IsWaiting(e.state))
    return WrongState(id, e.state,
                      e.state == QueueState::kInFlight
                          ? "it is being delivered; cancel it if it is deferred"
                          : "only queued or deferred messages can be cancelled");
  rocksdb::WriteBatch batch;
  Transition(c, &batch, &e, QueueState::kCancelled, now_us, 0);
  return Commit(c, &batch, "cancelling a queue entry");
}

absl::StatusOr<uint64_t> QueueStore::RetryAllDeferred(int64_t now_us) {
  return RequeueAll(QueueState::kDeferred, now_us, "retrying deferred queue entries");
}

absl::StatusOr<uint64_t> QueueStore::RecoverInFlight(int64_t now_us) {
  return RequeueAll(QueueState::kInFlight, now_us, "recovering in-flight queue entries");
}

absl::StatusOr<uint64_t> QueueStore::RequeueAll(QueueState from, int64_t now_us,
                                                std::string_view what) {
  const Cfs c(store_);
  std::lock_guard<std::mutex> lock(QueueSharedOf(store_).mu);
  uint64_t n = 0;
  RETURN_IF_ERROR(ForStateChunks(
      c, from, "",
      [&](QueueEntry& e, rocksdb::WriteBatch* b) {
        Transition(c, b, &e, QueueState::kQueued, now_us, now_us);
        ++n;
      },
      nullptr, what));
  return n;
}

absl::StatusOr<uint64_t> QueueStore::Sweep(int64_t now_us, absl::Duration keep) {
  const int64_t cutoff = now_us - absl::ToInt64Microseconds(keep);
  if (cutoff <= 0) return uint64_t{0};
  const Cfs c(store_);
  std::lock_guard<std::mutex> lock(QueueSharedOf(store_).mu);
  // An entry's id is >= its creation time, so entries final since before `cutoff` have ids below
  // it: the scan stops there.
  const std::string upper_id = FormatId(TimeKey(cutoff));
  uint64_t deleted = 0;
  for (int s = static_cast<int>(QueueState::kDelivered); s < kQueueStateCount; ++s) {
    std::map<std::string, uint32_t> bodies;  // body id -> its entry count, for this chunk
    std::set<std::string> gone;              // entries deleted in this chunk
    RETURN_IF_ERROR(ForStateChunks(
        c, static_cast<QueueState>(s), upper_id,
        [&](QueueEntry& e, rocksdb::WriteBatch* b) {
          if (e.state_since_us >= cutoff) return;
          b->Delete(c.entries, e.id);
          b->Delete(c.state, StateKey(e.state, e.id));
          b->Delete(c.addr, AddrKey(e.address_key, e.id));
          bodies.emplace(e.body_id, e.body_entries);
          gone.insert(e.id);
          ++deleted;
        },
        [&](rocksdb::WriteBatch* b) {
          // A body goes with the last of its entries: none of ids [body, body + n) left but
          // those deleted in this batch.
          for (const auto& [body, n] : bodies) {
            const uint64_t first = *ParseId(body);
            const std::string end = FormatId(first + n);
            rocksdb::ReadOptions ro;
            rocksdb::Slice ub(end);
            ro.iterate_upper_bound = &ub;
            std::unique_ptr<rocksdb::Iterator> it(c.db->NewIterator(ro, c.entries));
            bool used = false;
            for (it->Seek(body); it->Valid() && !used; it->Next()) {
              std::string_view k(it->key().data(), it->key().size());
              if (!gone.count(std::string(k))) used = true;
            }
            if (it->status().ok() && !used) b->Delete(c.bodies, body);
          }
          bodies.clear();
          gone.clear();
        },
        "sweeping the queue"));
  }
  return deleted;
}

QueueStats QueueStore::Stats() const {
  GroupCommitStats g = QueueSharedOf(store_).commit.Stats();
  return QueueStats{g.writes, g.syncs};
}

}  // namespace salvo
