// `salvo preflight`: gathers what will actually send (the route's accounts, the campaign's From,
// DKIM keys, tracking host, segment) from config, campaign and store, asks DNS (shard/dns_client)
// and the servers (SMTP probe, HTTPS, rspamd), and lets engine/preflight evaluate. Also the gate
// `salvo send` and `salvo campaign schedule` run first.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "engine/preflight/report.h"
#include "store/store.h"
#include "tools/salvo/campaign_source.h"

namespace salvo {

struct PreflightInput {
  const Config* config = nullptr;
  Store* store = nullptr;
  const LoadedCampaign* campaign = nullptr;   // --campaign: every check
  std::vector<const AccountConfig*> senders;  // the accounts that will send
  FILE* log = nullptr;                        // runtime log lines of the SMTP probes
};

// The accounts of the campaign's route, of --responder ROUTE, or --account NAME.
[[nodiscard]] absl::StatusOr<std::vector<const AccountConfig*>> RouteAccounts(
    const Config& config, const RouteConfig& route);

// Runs every check that applies. Errors only when it cannot run at all.
[[nodiscard]] absl::StatusOr<PreflightReport> RunPreflight(const PreflightInput& in);

// The gate of `salvo send` / `salvo campaign schedule`: runs preflight for `campaign`, prints the
// report to `out`, and returns 0, or 1 with a message on `err` when a check failed.
int PreflightGate(const Config& config, Store* store, const LoadedCampaign& campaign, FILE* out,
                  FILE* err);

}  // namespace salvo
