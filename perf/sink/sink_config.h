// salvo-sink configuration: the parsed command line (listen addresses, TLS, AUTH accounts, fault
// mix, failover limits). Parses untrusted command-line text into validated values; every bad
// option is an error naming the option and its value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace salvo::sink {

// One canned reply such as "550 5.1.1": code 200..599 and an enhanced status code (may be empty).
struct FaultReply {
  int code = 0;
  std::string enhanced;  // "5.1.1"
  std::string text;      // reply text after the codes
};

// One entry of --faults: a reply (per RCPT), drop-in-data (per DATA) or tarpit (per RCPT).
struct FaultSpec {
  enum class Kind { kReply, kDropInData, kTarpit };
  Kind kind = Kind::kReply;
  FaultReply reply;        // for kReply
  double probability = 0;  // 0..1
};

// --fault-rcpt PATTERN=550-5.1.1[*N]: every recipient containing PATTERN gets that reply (with *N:
// only its first N attempts, counted per address across all connections; then it is accepted).
struct RcptFault {
  std::string pattern;
  FaultReply reply;
  int times = 0;  // 0 = always
};

// --auth user:pass
struct Account {
  std::string user;
  std::string password;
};

struct ListenAddr {
  std::string host;  // numeric IPv4 or IPv6 address
  int port = 0;
};

// A per-account limit; user empty = every account (and the unauthenticated pool) separately.
struct AccountLimit {
  std::string user;
  int64_t messages = -1;  // -1 = unlimited
};

struct SinkConfig {
  std::vector<ListenAddr> listen;
  int threads = 0;                   // 0 = nproc
  std::string hostname = "salvo-sink.test";
  std::string tls_cert, tls_key;     // both set = STARTTLS offered
  std::vector<Account> accounts;     // non-empty = AUTH offered and required before MAIL
  std::vector<AccountLimit> auth_fail_after;  // 535 5.7.8 after N accepted messages
  std::vector<AccountLimit> credit_limit;     // 451 "Maximum credits exceeded" after N
  std::vector<FaultSpec> faults;
  std::vector<RcptFault> rcpt_faults;
  uint64_t seed = 1;
  int tarpit_ms = 3000;
  int64_t max_size = 50 * 1024 * 1024;  // advertised SIZE; larger messages get 552 5.3.4
  int max_recipients = 1000;            // per transaction; more get 452 4.5.3
  std::string record_path;              // --record FILE
  std::string stats_json_path;          // --stats-json FILE
  std::string timeline_path;            // --timeline FILE: seconds<TAB>messages, every 250 ms
  std::string arrivals_path;            // --arrivals FILE: address<TAB>unix_us per accepted rcpt
  bool quiet = false;
};

// Parses argv (without argv[0]). Errors name the option.
[[nodiscard]] absl::StatusOr<SinkConfig> ParseSinkArgs(const std::vector<std::string>& args);

// "550-5.1.1" / "550" / "421-4.7.28" -> FaultReply with default text for the class.
[[nodiscard]] absl::StatusOr<FaultReply> ParseFaultReply(std::string_view spec);

// "421-4.7.28:2%,drop-in-data:0.5%,tarpit:0.1%"
[[nodiscard]] absl::StatusOr<std::vector<FaultSpec>> ParseFaults(std::string_view spec);

// "127.0.0.1:2525", "[::1]:2525"
[[nodiscard]] absl::StatusOr<ListenAddr> ParseListen(std::string_view spec);

std::string SinkUsage();

}  // namespace salvo::sink
