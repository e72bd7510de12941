// shard/runner: the render board of a campaign run (used by shard/campaign_runner.cc).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "engine/base/recipient.h"
#include "engine/base/thread_cpu.h"
#include "engine/mime/compiled_campaign.h"
#include "engine/mime/rendered_message.h"
#include "shard/runner/stage_cpu.h"

namespace salvo {

// Rendering (with DKIM signing, ~0.3 ms per message with RSA-2048) is most of a message's CPU.
// Each feeder renders the messages it hands off itself, without a lock while nobody is idle. A
// thread with nothing else to do (a feeder whose shards are done, or a helper thread when there
// are fewer workers than cores) waits here and renders messages of the hand-offs published while
// it waits, so every core keeps signing until the last message (and `--workers 1` still signs on
// all cores).
class RenderBoard {
 public:
  struct Job {
    const CompiledCampaign* compiled = nullptr;
    std::vector<const Recipient*> in;
    std::vector<RenderedMessage*> out;
    std::vector<absl::Status> status;
    std::atomic<size_t> next{0};  // next message to claim
    std::atomic<size_t> done{0};  // messages rendered
  };

  // Renders every message of *job (status[i] per message). Other threads may render some of them;
  // returns when all are rendered.
  void Render(Job* job) {
    const size_t n = job->in.size();
    job->status.assign(n, absl::OkStatus());
    // Waking a helper costs more than it saves when the whole batch renders in a millisecond or
    // two (no DKIM): share only batches expected to take longer, or messages that each take many
    // wake-ups' time (RSA signing), so that the small refills of a run's tail, while a feeder
    // whose shards are done waits here, are signed on every core too.
    const uint64_t avg = avg_ns_.load(std::memory_order_relaxed);
    const bool shared = n > 1 && idle_.load(std::memory_order_relaxed) > 0 &&
                        (n * avg >= kShareNs || avg >= kShareEachNs);
    if (shared) {
      std::lock_guard<std::mutex> l(mu_);
      jobs_.push_back(job);
      work_cv_.notify_all();
    }
    const uint64_t t0 = ThreadCpuNs();
    size_t mine = 0;
    uint64_t sign_ns = 0;
    for (size_t i; (i = job->next.fetch_add(1)) < n; ++mine) {
      sign_ns += RenderOne(job, i);
      job->done.fetch_add(1);
    }
    if (mine > 0) {  // running average of one message's render CPU time
      const uint64_t all = ThreadCpuNs() - t0;
      AddCpu(all, sign_ns);
      const uint64_t ns = all / mine;
      avg_ns_.store((avg_ns_.load(std::memory_order_relaxed) * 3 + ns) / 4,
                    std::memory_order_relaxed);
    }
    if (!shared) return;
    std::unique_lock<std::mutex> l(mu_);
    jobs_.erase(std::find(jobs_.begin(), jobs_.end(), job));
    // Helpers that claimed a message before the erase finish it; after that nothing touches job.
    done_cv_.wait(l, [&] { return job->done.load() == n; });
  }

  // Renders messages of published jobs until Stop().
  void Help() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      Job* job = nullptr;
      size_t i = 0, n = 0;
      for (Job* j : jobs_) {
        n = j->in.size();
        if ((i = j->next.fetch_add(1)) < n) {
          job = j;
          break;
        }
      }
      if (job == nullptr) {
        idle_++;
        work_cv_.wait(l);
        idle_--;
        continue;
      }
      l.unlock();
      const uint64_t t0 = ThreadCpuNs();
      const uint64_t sign_ns = RenderOne(job, i);
      AddCpu(ThreadCpuNs() - t0, sign_ns);
      // The owner may return (and free *job) as soon as done reaches n: job is not used after.
      const bool last = job->done.fetch_add(1) + 1 == n;
      l.lock();
      if (last) done_cv_.notify_all();
    }
  }

  // Where the CPU time of rendering (kRender) and signing (kSign) is added; null: nowhere.
  void set_stage_cpu(StageCpu* cpu) { cpu_ = cpu; }

  void Stop() {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    work_cv_.notify_all();
  }

 private:
  // Renders message i and observes salvo_render_seconds (the whole render, signing included)
  // and salvo_dkim_sign_seconds{algorithm} (the signing alone, timed by the renderer). Returns
  // the nanoseconds spent signing.
  static uint64_t RenderOne(Job* job, size_t i);
  void AddCpu(uint64_t all_ns, uint64_t sign_ns) {
    if (cpu_ == nullptr) return;
    sign_ns = std::min(sign_ns, all_ns);
    cpu_->Add(Stage::kRender, all_ns - sign_ns);
    cpu_->Add(Stage::kSign, sign_ns);
  }

  static constexpr uint64_t kShareNs = 4'000'000;
  static constexpr uint64_t kShareEachNs = 100'000;

  std::atomic<uint64_t> avg_ns_{0};  // render time per message (feeders' own, recent batches)
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::vector<Job*> jobs_;  // published, guarded by mu_
  bool stop_ = false;       // guarded by mu_
  std::atomic<int> idle_{0};
  StageCpu* cpu_ = nullptr;
};

}  // namespace salvo
