// The daemon's calendar: starts scheduled campaigns when due, resumes on start every campaign
// that was running when the daemon stopped (kill -9 included), goes on with waiting campaigns
// (only deferred recipients left) when their first retry is due, and resumes pauses that end by
// themselves (an account's quota or daily limit at the next UTC day, or the pause's end). Each
// run is RunCampaign on the process's shared workers, from the campaign's stored snapshot, with
// the same exactly-once guarantees as `salvo send` (the campaign's run lock, progress markers).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/config/config.h"
#include "store/campaign_store.h"
#include "store/run_control.h"
#include "store/store.h"

namespace salvo {

class Scheduler {
 public:
  enum class Due { kNothing, kStart, kResume };
  // What the calendar does with `rec` at unix second `now`; *next is set to when it will have
  // something to do (0: nothing planned).
  static Due WhatNow(const CampaignRecord& rec, int64_t now, int64_t* next);

  Scheduler(const Config& config, Store* store, FILE* log)
      : config_(config), store_(store), log_(log) {}
  ~Scheduler() { Stop(); }

  void Start();
  // Looks at the calendar now (a campaign was scheduled or resumed).
  void Wake();
  // Asks every run it started to pause, waits for them (they record themselves to be resumed
  // when the daemon starts again: PauseEnd::kRestart). Returns their ids.
  std::vector<std::string> Stop();

  // Ids of the runs it has going.
  std::vector<std::string> Running();

 private:
  void Loop();
  // One look at the calendar; returns the unix second of the next planned action (0: none).
  int64_t Tick();
  void Run(std::string id, CampaignRunLock lock, Due why);
  void PauseForError(const std::string& id, const std::string& reason);
  void Log(const std::string& line);

  const Config& config_;
  Store* store_;
  FILE* log_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  std::atomic<bool> stopping_{false};
  std::map<std::string, std::thread> runs_;   // guarded by mu_
  std::set<std::string> finished_;            // runs whose thread can be joined; guarded by mu_
};

}  // namespace salvo
