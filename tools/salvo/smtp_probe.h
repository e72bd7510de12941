// One connection to an [[account]] without sending: connect, greeting, EHLO, TLS, AUTH, then QUIT.
// Shared by `salvo smtp-check` (prints each step) and `salvo preflight` (one check per account).
// Server replies are hostile: callers print them through SanitizeForLog.
#pragma once

#include <cstdio>
#include <string>

#include "engine/config/config.h"
#include "shard/sender.h"

namespace salvo {

// The one-worker runtime options of the probe and of `salvo send-one`; log lines go to `log`.
SenderOptions SmtpProbeOptions(const Config& config, FILE* log);

struct SmtpProbeResult {
  std::string error;  // empty: connected, TLS and AUTH (when configured) succeeded
  std::string greeting, caps, tls, peer;
  bool authenticated = false;
  bool have_session = false;
};

// Runs one shard worker in-process for the probe (timeouts from config.smtp_timeouts, capped at
// `max_timeout` when non-zero). `log` gets the runtime's log lines (may be null).
SmtpProbeResult ProbeAccount(const Config& config, const AccountConfig& account, FILE* log,
                             absl::Duration max_timeout = absl::ZeroDuration());

// A connection-level failure in plain words with a hint ("port closed: ...").
std::string ExplainSmtpFailure(const std::string& reason, const AccountConfig& a);

}  // namespace salvo
