// Process-wide SMTP worker group and interned accounts (see shared_workers.h).
#include "shard/shared_workers.h"

#include <deque>
#include <mutex>

namespace salvo {
namespace {

std::mutex g_mu;
std::weak_ptr<WorkerGroup> g_group;       // guarded by g_mu
std::deque<AccountConfig> g_accounts;     // guarded by g_mu; stable addresses, never shrinks

}  // namespace

[[nodiscard]]
absl::StatusOr<std::shared_ptr<WorkerGroup>> AcquireSharedWorkers(const SenderOptions& options) {
  std::lock_guard<std::mutex> l(g_mu);
  if (std::shared_ptr<WorkerGroup> g = g_group.lock()) return g;
  auto group = std::make_unique<WorkerGroup>();
  absl::Status st = group->Start(options);
  if (!st.ok()) return st;
  std::shared_ptr<WorkerGroup> g(group.release(), [](WorkerGroup* w) {
    w->Stop(StopMode::kDrain);
    delete w;
  });
  g_group = g;
  return g;
}

const AccountConfig* InternAccount(const AccountConfig& account) {
  std::lock_guard<std::mutex> l(g_mu);
  for (const AccountConfig& a : g_accounts)
    if (a == account) return &a;
  g_accounts.push_back(account);
  return &g_accounts.back();
}

}  // namespace salvo
