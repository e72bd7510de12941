// The process's SMTP runtime, shared by every campaign that runs in it (`salvo serve` runs
// several at once): one WorkerGroup while at least one run holds it, so that the connection pools
// of an (account, source IP), and with them max_connections, belong to the process and not to
// each run. Pools are keyed by the AccountConfig pointer, so accounts are interned: runs whose
// configs define an account identically get the same pointer, which lives as long as the process
// (a pool never points into the Config of a run that has ended).
//
// Thread-safe. The first acquirer's SenderOptions start the group; later acquirers share it as
// it is (its size decides their number of feeders).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "shard/sender.h"

namespace salvo {

// The running shared group, or a new one started with `options`. Dropping the last reference
// stops it with StopMode::kDrain (every submitted message is reported first).
[[nodiscard]] absl::StatusOr<std::shared_ptr<WorkerGroup>> AcquireSharedWorkers(
    const SenderOptions& options);

// The process-lifetime copy of `account` (equal definitions give the same pointer).
const AccountConfig* InternAccount(const AccountConfig& account);

}  // namespace salvo
