// The metric handles of one pool (one account x source IP on one worker), resolved once when
// the pool is created so that the send path updates them without a lock
// (engine/metrics/salvo_metrics.h): connections, TLS handshakes, AUTH failures, SMTP replies,
// transaction time and bytes written.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "engine/metrics/salvo_metrics.h"

namespace salvo {

class PoolMetrics {
 public:
  PoolMetrics(std::string account, std::string source_ip);

  void ConnectionOpened() const {
    opened_.Inc();
    open_.Inc();
  }
  // A connection ended: `failure` is empty after a clean QUIT, else why it failed.
  void ConnectionClosed(std::string_view failure);
  void TlsStarted() const { tls_.Inc(); }
  void TlsFailed() const { tls_failed_.Inc(); }
  void AuthFailed() const { auth_failed_.Inc(); }
  // A reply that decided a recipient (code 0: none, the connection failed).
  void Reply(int code, std::string_view enhanced);
  // A message handed to a connection (its bytes are written from then on).
  void BytesWritten(size_t bytes) const { sent_bytes_.Add(bytes); }
  // Hand-off to a connection (MAIL FROM written) to the message's first verdict.
  void Transaction(double seconds) const { transaction_.Observe(seconds); }

  // connection_errors kind of a failure text: connect|timeout|tls|auth|protocol|closed|dns.
  static std::string_view ErrorKind(std::string_view failure);

 private:
  std::string account_, source_ip_;
  metrics::Counter opened_, tls_, tls_failed_, auth_failed_, sent_bytes_;
  metrics::Gauge open_;
  metrics::Histogram transaction_;
  std::array<metrics::Counter, 7> errors_;            // by ErrorKind, resolved on first use
  std::array<bool, 7> errors_resolved_{};
  std::array<metrics::Counter, 6 * 4> replies_;       // [code class][enhanced class]
  std::array<bool, 6 * 4> replies_resolved_{};
};

}  // namespace salvo
