// Cross-process control of a campaign that `salvo send` runs in-process (and so holds the
// data_dir's RocksDB lock). Plain files under data_dir/run/:
//
//   run/<campaign>.lock            flock'ed by the run of the campaign in progress (any process,
//                                  the daemon included): "pid since\n"; a campaign id runs at
//                                  most once at a time on a data_dir
//   run/<campaign>.status.json     written by the running send every second (atomic rename);
//                                  `campaign status` reads it when the store is busy
//   run/control/<campaign>.pause   request: pause (content: reason, optional)
//   run/control/<campaign>.cancel  request: cancel
//   run/control/suppress-*.tsv     suppression additions (key TAB reason TAB source TAB detail),
//                                  applied to the store by the running send within ~1 s and
//                                  honoured by it from then on
//
// Who calls what: the campaign runner writes the status file and takes requests; `salvo campaign
// pause|cancel|status` and `salvo suppress add` call the Request*/Queue*/Read* functions when
// Store::Open reports the data_dir busy. Trust: files in run/ are written by local salvo
// processes, still read with size limits and validated field by field.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/suppression_store.h"

namespace salvo {

std::string RunDir(const std::string& data_dir);
std::string StatusFilePath(const std::string& data_dir, const std::string& campaign);

// Writes `json` to run/<campaign>.status.json atomically.
[[nodiscard]] absl::Status WriteStatusFile(const std::string& data_dir, const std::string& campaign,
                             const std::string& json);
void RemoveStatusFile(const std::string& data_dir, const std::string& campaign);
// The status file's content, or NotFound.
[[nodiscard]]
absl::StatusOr<std::string> ReadStatusFile(const std::string& data_dir, const std::string& campaign);
// Campaign ids with a status file whose writer (the "pid" key) is still alive.
std::vector<std::string> RunningSends(const std::string& data_dir);

// Held while one run of a campaign is in progress; released on destruction (the kernel also drops
// it when the process dies, kill -9 included, so a held lock always means a live run). flock
// locks belong to the open file, so a second run in the same process is refused too.
class CampaignRunLock {
 public:
  CampaignRunLock() = default;
  CampaignRunLock(CampaignRunLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  CampaignRunLock& operator=(CampaignRunLock&& o) noexcept;
  CampaignRunLock(const CampaignRunLock&) = delete;
  CampaignRunLock& operator=(const CampaignRunLock&) = delete;
  ~CampaignRunLock() { Release(); }

  bool held() const { return fd_ >= 0; }
  void Release();

 private:
  friend absl::StatusOr<CampaignRunLock> LockCampaignRun(const std::string&, const std::string&,
                                                         absl::Time);
  explicit CampaignRunLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Takes run/<campaign>.lock for a run starting at `now`. Errors: FailedPrecondition
// "campaign ID is already running (since T, pid P)" while another run holds it (this process or
// another); InvalidArgument for an id that cannot name a file; Unavailable for I/O errors.
[[nodiscard]] absl::StatusOr<CampaignRunLock> LockCampaignRun(const std::string& data_dir,
                                                              const std::string& campaign,
                                                              absl::Time now);

// action: "pause" or "cancel".
[[nodiscard]]
absl::Status RequestCampaignControl(const std::string& data_dir, const std::string& campaign,
                                    const std::string& action, const std::string& reason = "");
// Queues suppression additions for the running send (keys must be normalized).
[[nodiscard]] absl::Status QueueSuppressions(const std::string& data_dir,
                               const std::vector<SuppressionEntry>& entries);

struct ControlRequests {
  bool pause = false;
  std::string pause_reason;
  bool cancel = false;
  std::vector<SuppressionEntry> suppressions;
};
// Reads and removes the pending requests for `campaign` and every queued suppression file.
[[nodiscard]] absl::StatusOr<ControlRequests> TakeControlRequests(const std::string& data_dir,
                                                    const std::string& campaign);

}  // namespace salvo
