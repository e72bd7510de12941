// shard/runner: CPU time of a send per stage (scan, decide, render, sign, progress; the SMTP
// workers' threads are read from their CPU clocks), summed over every thread of the run. Cheap:
// one thread-CPU clock read per stage and batch, never per message (except when helpers render).
#pragma once

#include <atomic>
#include <cstdint>

#include "engine/base/thread_cpu.h"

namespace salvo {

enum class Stage : int {
  kScan = 0,   // members range scan, record MultiGet, progress MultiGet, reloads
  kDecide,     // segment, consent, suppression at send time, egress, applying replies
  kRender,     // personalization and MIME (signing excluded)
  kSign,       // DKIM signing (the renderer's own timing of the signature)
  kProgress,   // attempt markers, outcome records and daily counts written to the store
  kCount
};

struct StageCpu {
  std::atomic<uint64_t> ns[static_cast<int>(Stage::kCount)] = {};

  void Add(Stage s, uint64_t n) { ns[static_cast<int>(s)].fetch_add(n, std::memory_order_relaxed); }
  uint64_t Get(Stage s) const { return ns[static_cast<int>(s)].load(std::memory_order_relaxed); }
};

// Adds the calling thread's CPU time from construction to destruction (or Stop()) to a stage.
class StageTimer {
 public:
  StageTimer(StageCpu* cpu, Stage s) : cpu_(cpu), stage_(s), t0_(ThreadCpuNs()) {}
  ~StageTimer() { Stop(); }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;
  void Stop() {
    if (cpu_ == nullptr) return;
    cpu_->Add(stage_, ThreadCpuNs() - t0_);
    cpu_ = nullptr;
  }

 private:
  StageCpu* cpu_;
  Stage stage_;
  uint64_t t0_;
};

}  // namespace salvo
