// Campaign records and per-recipient progress (column families "campaigns" and "progress").
//
//   campaigns  campaign_id -> CampaignRecord (state, pause reason, timestamps, file paths,
//                             in-flight counts found at each resume)
//   progress   campaign_id '\0' shard(1 byte) address_key -> ProgressRecord
//   meta       "daily" '\0' account '\0' YYYY-MM-DD -> varint count: messages handed to the
//              account on that UTC day, over all runs and campaigns (AccountConfig::daily_limit)
//
//   meta       "attempt" '\0' campaign_id '\0' batch(8 bytes BE) -> (u8 shard, lp address_key)*:
//              the "attempt started" marker of one batch of messages
//
// A progress record is written only after the server's reply (or the runner's decision to skip
// a recipient). Before a batch of messages is handed to the SMTP runtime the runner writes one
// "attempt started" marker for the whole batch (MarkAttempts, with the accounts' daily counts);
// each outcome record names the batch of its attempt (ProgressRecord::batch), and the marker is
// deleted in the write of the batch's last outcome. After kill -9, the entries of the markers
// left whose progress record does not name the marker's batch are the messages that may have
// been delivered without their outcome being recorded (Count().in_flight); they are re-sent.
// Stores written before batch markers may hold per-recipient markers (ProgressRecord::in_flight);
// they are counted the same way.
// All writes are WriteBatches with the WAL on. Trust: records are read back from disk and decoded
// with bounds checks (a damaged record is an error naming the key).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/types.h"
#include "store/store.h"

namespace salvo {

// scheduled: stored, waiting for its start time (the daemon starts it); waiting: only deferred
// recipients (or a closed send window) left, the daemon goes on at next_action_at.
enum class CampaignState : uint8_t { kRunning = 0, kPaused, kCancelled, kDone, kScheduled, kWaiting };
// running | paused | cancelled | done | scheduled | waiting
std::string_view CampaignStateName(CampaignState s);

struct CampaignRecord {
  std::string id;
  std::string list;
  CampaignState state = CampaignState::kRunning;
  std::string pause_reason;      // why it paused (SIGINT, accounts failed, operator) — plain words
  std::string campaign_file;     // absolute path of the campaign TOML (for `campaign resume`)
  std::string config_file;       // absolute path of salvo.toml it was started with
  int64_t started_at = 0;        // unix seconds (first start)
  int64_t finished_at = 0;       // 0 while not done/cancelled
  uint64_t list_size = 0;        // at the last start
  uint64_t runs = 0;             // starts + resumes
  uint64_t in_flight_at_resume = 0;  // total "attempt started" markers found on resumes
  std::string route;             // route chosen at the last start (empty in older records)
  int64_t scheduled_at = 0;      // unix seconds: when a scheduled campaign starts (0: not scheduled)
  // Unix seconds when the daemon acts next: starts a scheduled campaign, goes on with a waiting
  // one, resumes a pause that ends by itself (0 with auto_resume: at once). 0 otherwise.
  int64_t next_action_at = 0;
  bool auto_resume = false;      // paused for a reason that ends by itself: the daemon resumes it
  bool skip_preflight = false;   // scheduled with --skip-preflight
};

// What a scheduled (or daemon-resumed) campaign is sent from: the campaign file's text and the
// files it names, as they were when it was scheduled, so later edits change nothing.
struct CampaignSnapshot {
  std::string campaign_path;     // absolute path of the campaign file (messages, relative paths)
  std::string campaign_toml;
  std::string html;              // html_file's content
  std::optional<std::string> text;  // text_file's content, when it names one
  std::string config_file;       // absolute path of salvo.toml it was scheduled with
};

struct ProgressRecord {
  Outcome outcome = Outcome::kPending;
  bool final = false;            // true once decided (false: pending, retryable deferred)
  bool in_flight = false;        // attempt started, no reply recorded yet
  uint32_t attempts = 0;         // SMTP attempts that got a verdict (throttles do not count)
  int64_t first_attempt_us = 0;  // unix microseconds; retry_for counts from here
  int64_t next_retry_us = 0;     // deferred: when to retry
  std::string account;           // the account that produced the last reply
  std::string reply;             // last reply or reason, sanitized, <= 512 bytes
  uint64_t batch = 0;            // the attempt batch (marker) this outcome concludes (0: none)
};

struct ProgressCounts {
  uint64_t total = 0;
  uint64_t by_outcome[8] = {};   // indexed by Outcome (final and interim)
  uint64_t deferred_final = 0;   // kDeferred that gave up (retry_for exceeded)
  uint64_t in_flight = 0;        // attempts marked and not concluded (markers of a dead run)
};

// `n` more messages handed to `account` on UTC day `day` ("YYYY-MM-DD").
struct DailyIncrement {
  std::string account;
  std::string day;
  uint64_t n = 0;
};

class CampaignStore {
 public:
  explicit CampaignStore(Store* store) : store_(store) {}

  [[nodiscard]] absl::Status Put(const CampaignRecord& rec);
  [[nodiscard]] absl::StatusOr<std::optional<CampaignRecord>> Get(std::string_view id);
  [[nodiscard]] absl::StatusOr<std::vector<CampaignRecord>> List();
  // The campaign's snapshot (at most 16 MiB in all), kept under "snapshot\0" id.
  [[nodiscard]] absl::Status PutSnapshot(std::string_view id, const CampaignSnapshot& s);
  [[nodiscard]] absl::StatusOr<std::optional<CampaignSnapshot>> GetSnapshot(std::string_view id);

  static void ProgressKey(std::string_view campaign, uint32_t shard, std::string_view address_key,
                          std::string* out);

  // Reads the progress of many recipients of one campaign (nullopt: no record).
  [[nodiscard]]
  absl::Status GetProgress(std::string_view campaign, const std::vector<uint32_t>& shards,
                           const std::vector<std::string_view>& keys,
                           std::vector<std::optional<ProgressRecord>>* out);

  // One atomic batch of progress writes.
  struct Write {
    uint32_t shard;
    std::string key;
    ProgressRecord rec;
  };
  // The `daily` increments are added (a RocksDB merge: never an overwrite, so runs that share an
  // account in one process, or one after another, add up) in the same batch, and the attempt
  // markers of `done_batches` (every outcome of theirs is in `writes` or written before) deleted.
  [[nodiscard]]
  absl::Status PutProgress(std::string_view campaign, const std::vector<Write>& writes,
                           const std::vector<DailyIncrement>& daily = {},
                           const std::vector<uint64_t>& done_batches = {});

  // The "attempt started" marker of batch `batch` (non-zero, unique in the campaign: the runner
  // uses run number << 32 | sequence) for the messages `attempts`, with the daily increments,
  // in one write.
  struct Attempt {
    uint32_t shard;
    std::string_view key;
  };
  [[nodiscard]]
  absl::Status MarkAttempts(std::string_view campaign, uint64_t batch,
                            const std::vector<Attempt>& attempts,
                            const std::vector<DailyIncrement>& daily);
  // Put(rec) and the deletion of every attempt marker of the campaign, in one write: a run
  // starts with the markers of the runs before it counted (CampaignRecord::in_flight_at_resume).
  [[nodiscard]] absl::Status PutClearingAttempts(const CampaignRecord& rec);

  // Daily per-account send counts (0 when none recorded), kept as the sum of the increments.
  [[nodiscard]]
  absl::StatusOr<uint64_t> GetDailyCount(std::string_view account, std::string_view day);
  [[nodiscard]] absl::Status AddDailyCounts(const std::vector<DailyIncrement>& daily);
  static std::string DailyKey(std::string_view account, std::string_view day);
  static std::string UtcDay(int64_t unix_seconds);  // "YYYY-MM-DD"

  // Iterates the progress of one campaign in key order; fn returns false to stop.
  [[nodiscard]] absl::Status ForEachProgress(
      std::string_view campaign,
      const std::function<bool(uint32_t shard, std::string_view key, const ProgressRecord&)>& fn);
  [[nodiscard]] absl::StatusOr<ProgressCounts> Count(std::string_view campaign);

  // Deletes the campaign record and all its progress (tests, re-running an id from scratch).
  [[nodiscard]] absl::Status Delete(std::string_view id);

 private:
  // Messages of the campaign's attempt markers whose outcome does not name the marker's batch.
  [[nodiscard]] absl::StatusOr<uint64_t> OpenAttempts(std::string_view campaign);

  Store* store_;
};

void EncodeProgress(const ProgressRecord& r, std::string* out);
[[nodiscard]] absl::Status DecodeProgress(std::string_view value, ProgressRecord* r);

}  // namespace salvo
