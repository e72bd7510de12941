// Pool metric handles (see pool_metrics.h).
#include "shard/pool_metrics.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

constexpr std::string_view kKinds[] = {"connect", "timeout", "tls", "auth",
                                       "protocol", "closed", "dns"};

}  // namespace

PoolMetrics::PoolMetrics(std::string account, std::string source_ip)
    : account_(std::move(account)), source_ip_(std::move(source_ip)) {
  auto& m = metrics::Metrics();
  opened_ = m.connections_opened->WithLabels({account_, source_ip_});
  open_ = m.connections_open->WithLabels({account_, source_ip_});
  tls_ = m.tls_handshakes->WithLabels({account_});
  tls_failed_ = m.tls_handshake_failures->WithLabels({account_});
  auth_failed_ = m.auth_failures->WithLabels({account_});
  sent_bytes_ = m.sent_bytes->WithLabels({account_, source_ip_});
  transaction_ = m.smtp_transaction_seconds->WithLabels({account_});
}

std::string_view PoolMetrics::ErrorKind(std::string_view failure) {
  const std::string f = AsciiLower(failure);
  auto has = [&](std::string_view s) { return f.find(s) != std::string::npos; };
  if (has("tls") || has("certificate") || has("starttls")) return "tls";
  if (has("authentication") || has("auth ") || has("password") || has("535")) return "auth";
  if (has("timeout") || has("timed out")) return "timeout";
  if (has("resolve") || has("dns") || has("unknown host") || has("name or service")) return "dns";
  if (has("connect") || has("refused") || has("unreachable") || has("nothing accepts"))
    return "connect";
  if (has("closed") || has("reset")) return "closed";
  return "protocol";
}

void PoolMetrics::ConnectionClosed(std::string_view failure) {
  open_.Dec();
  if (failure.empty()) return;
  const std::string_view kind = ErrorKind(failure);
  size_t i = 0;
  while (kKinds[i] != kind) ++i;
  if (!errors_resolved_[i]) {
    errors_[i] = metrics::Metrics().connection_errors->WithLabels(
        {account_, source_ip_, std::string(kind)});
    errors_resolved_[i] = true;
  }
  errors_[i].Inc();
}

void PoolMetrics::Reply(int code, std::string_view enhanced) {
  const int c = code >= 200 && code < 600 ? code / 100 : 0;   // 0, 2..5
  const int e = enhanced.empty() ? 0 : enhanced[0] - '0';    // 0, 2, 4, 5
  const size_t i = static_cast<size_t>(c) * 4 + (e == 2 ? 1 : e == 4 ? 2 : e == 5 ? 3 : 0);
  if (i >= replies_.size()) return;
  if (!replies_resolved_[i]) {
    replies_[i] = metrics::SmtpReplyCounter(metrics::Metrics(), account_, code, enhanced);
    replies_resolved_[i] = true;
  }
  replies_[i].Inc();
}

}  // namespace salvo
