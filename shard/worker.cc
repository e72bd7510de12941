// shard/: WorkerImpl and WorkerGroup — see worker.h and sender.h.
#include "shard/worker.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"

namespace salvo {

namespace {
constexpr absl::Duration kStopPoll = absl::Milliseconds(5);
constexpr absl::Duration kLoadGaugePeriod = absl::Milliseconds(250);

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}
}  // namespace

WorkerImpl::WorkerImpl(int index, const SenderOptions& options, Resolver* resolver)
    : index_(index), options_(options), resolver_(resolver) {
  ehlo_name_ = options_.default_ehlo_name.empty() ? HostName() : options_.default_ehlo_name;
}

WorkerImpl::~WorkerImpl() {
  loop_.StopAndJoin();
  pools_.clear();
}

absl::Status WorkerImpl::Start() {
  auto& m = metrics::Metrics();
  queue_depth_ = m.queue_depth->WithLabels({std::string(metrics::WorkerLabel(index_))});
  in_flight_ = m.in_flight->WithLabels({std::string(metrics::WorkerLabel(index_))});
  // Metric updates of this worker's thread go to its own slot (no shared cache lines).
  loop_.SetCompletionBatch(options_.completion_batch, options_.completion_wait);
  absl::Status st = loop_.Start(options_.ring_entries, [this] {
    metrics::SetThreadWorker(index_);
    if (pthread_getcpuclockid(pthread_self(), &cpu_clock_) == 0)
      has_cpu_clock_.store(true, std::memory_order_release);
  });
  if (st.ok()) Post([this] { UpdateLoadGauges(); });
  return st;
}

uint64_t WorkerImpl::CpuNs() const {
  if (!has_cpu_clock_.load(std::memory_order_acquire)) return 0;
  timespec ts{};
  if (clock_gettime(cpu_clock_, &ts) != 0) return 0;  // the thread has ended
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

void WorkerImpl::SetLoadGauges() {
  size_t queued = 0, in_flight = 0;
  for (const auto& [key, pool] : pools_) {
    queued += pool->queued();
    in_flight += pool->in_flight();
  }
  queue_depth_.Set(static_cast<double>(queued));
  in_flight_.Set(static_cast<double>(in_flight));
}

void WorkerImpl::UpdateLoadGauges() {
  SetLoadGauges();
  if (!stopping_) loop_.AddTimer(kLoadGaugePeriod, [this] { UpdateLoadGauges(); });
}

void WorkerImpl::Stop(StopMode mode) {
  Post([this, mode] {
    stopping_ = true;
    stop_mode_ = mode;
    if (mode == StopMode::kAbort) {
      for (auto& [key, pool] : pools_) pool->Shutdown(StopMode::kAbort);
    }
    CheckStopped();
  });
  loop_.Join();
}

void WorkerImpl::CheckStopped() {
  if (stop_mode_ == StopMode::kDrain && !quit_sent_ && Outstanding() == 0) {
    quit_sent_ = true;
    for (auto& [key, pool] : pools_) pool->Shutdown(StopMode::kDrain);
  }
  size_t open = 0;
  for (auto& [key, pool] : pools_) open += pool->open_connections();
  if ((quit_sent_ || stop_mode_ == StopMode::kAbort) && open == 0) {
    queue_depth_.Set(0);  // nothing waits or flies on a stopped worker
    in_flight_.Set(0);
    loop_.RequestExit();
    return;
  }
  if (stop_mode_ == StopMode::kDrain && quit_sent_) {
    // Connections opened after the QUIT round (none expected) are told too.
    for (auto& [key, pool] : pools_) pool->Shutdown(StopMode::kDrain);
  }
  loop_.AddTimer(kStopPoll, [this] { CheckStopped(); });
}

Pool* WorkerImpl::GetPool(const AccountConfig* account, std::string_view source_ip) {
  PoolKey key(account, std::string(source_ip));
  auto it = pools_.find(key);
  if (it != pools_.end()) return it->second.get();
  auto pool = std::make_unique<Pool>(this, account, std::string(source_ip));
  Pool* p = pool.get();
  pools_.emplace(std::move(key), std::move(pool));
  return p;
}

const Pool* WorkerImpl::FindPool(const AccountConfig* account, std::string_view source_ip) const {
  auto it = pools_.find(PoolKey(account, std::string(source_ip)));
  return it == pools_.end() ? nullptr : it->second.get();
}

void WorkerImpl::Submit(SendRequest req, SendCallback done) {
  SubmitTo(std::move(req), {}, std::move(done));
}

void WorkerImpl::SubmitTo(SendRequest req, std::vector<std::string_view> rcpts,
                          SendCallback done) {
  Pool* pool = GetPool(req.account, req.source_ip);
  PendingSend p;
  p.req = std::move(req);
  p.done = std::move(done);
  p.submitted_ns = MonoNowNs();
  p.rcpts = std::move(rcpts);
  pool->Enqueue(std::move(p));
  SetLoadGauges();
  if (stopping_ && stop_mode_ == StopMode::kAbort) pool->Shutdown(StopMode::kAbort);
}

size_t WorkerImpl::Capacity(const AccountConfig* account, std::string_view source_ip) const {
  size_t max_conn = std::max<uint32_t>(1, account->max_connections);
  size_t limit = max_conn * (1 + options_.queue_per_connection);
  const Pool* p = FindPool(account, source_ip);
  size_t used = p ? p->outstanding() : 0;
  return used >= limit ? 0 : limit - used;
}

bool WorkerImpl::HasCapacity(const AccountConfig* account, std::string_view source_ip) const {
  return Capacity(account, source_ip) > 0;
}

size_t WorkerImpl::Outstanding() const {
  size_t n = 0;
  for (const auto& [key, pool] : pools_) n += pool->outstanding();
  return n;
}

std::vector<PoolStats> WorkerImpl::Stats() const {
  std::vector<PoolStats> out;
  for (const auto& [key, pool] : pools_) out.push_back(pool->Stats());
  return out;
}

void WorkerImpl::Resolve(const std::string& host, uint16_t port, Resolver::Callback done) {
  ResolvedAddress lit;
  if (ParseIpLiteral(host, port, &lit)) {  // no thread hop for literals
    loop_.AddTimer(absl::ZeroDuration(), [lit, done = std::move(done)] {
      done(std::vector<ResolvedAddress>{lit});
    });
    return;
  }
  resolver_->Resolve(host, port, [this, done = std::move(done)](auto result) mutable {
    Post([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  });
}

void WorkerImpl::LogOnce(const std::string& key, const std::string& line) {
  static std::mutex mu;
  static std::set<std::string> seen;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!seen.insert(key).second) return;
  }
  if (options_.log) {
    options_.log(line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

WorkerGroup::WorkerGroup() = default;

WorkerGroup::~WorkerGroup() {
  if (running_) Stop(StopMode::kAbort);
}

absl::Status WorkerGroup::Start(const SenderOptions& options) {
  if (running_) return absl::FailedPreconditionError("worker group already started");
  resolver_ = std::make_unique<Resolver>();
  uint32_t n = options.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  for (uint32_t i = 0; i < n; ++i) {
    auto w = std::make_unique<WorkerImpl>(static_cast<int>(i), options, resolver_.get());
    absl::Status st = w->Start();
    if (!st.ok()) {
      workers_.clear();
      resolver_.reset();
      return st;
    }
    workers_.push_back(std::move(w));
  }
  running_ = true;
  return absl::OkStatus();
}

void WorkerGroup::Stop(StopMode mode) {
  if (!running_) return;
  running_ = false;
  // Stop all in parallel: each Stop() blocks until its loop ended.
  std::vector<std::thread> stoppers;
  for (auto& w : workers_) {
    auto* impl = static_cast<WorkerImpl*>(w.get());
    stoppers.emplace_back([impl, mode] { impl->Stop(mode); });
  }
  for (auto& t : stoppers) t.join();
  resolver_.reset();  // its last callbacks post to the (stopped) workers
  workers_.clear();
}

}  // namespace salvo
