// Counters of one salvo-sink worker (messages, bytes, replies by code, per-command latency
// histograms) and the recipient record behind --record. Each worker owns its own instance (no
// locks); they are merged once, at exit, and written as JSON / TSV.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"

namespace salvo::sink {

// Commands whose latency (command received -> reply queued for sending) is measured.
enum class Cmd : uint8_t {
  kConnect, kEhlo, kHelo, kMail, kRcpt, kData, kEndOfData, kBdat, kRset, kNoop, kQuit,
  kAuth, kStartTls, kOther, kCount
};
std::string_view CmdName(Cmd c);

// Log-linear histogram of nanosecond values: 8 sub-buckets per power of two (about 12 % error).
class LatencyHistogram {
 public:
  void Add(uint64_t ns);
  void Merge(const LatencyHistogram& o);
  uint64_t count() const { return count_; }
  // Value at quantile q (0..1), in nanoseconds; 0 when empty.
  uint64_t Quantile(double q) const;

 private:
  static constexpr int kBuckets = 16 + 60 * 8 + 8;
  static int Index(uint64_t v);
  static uint64_t Mid(int idx);
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
};

// For every recipient accepted at end of data: how often, and from which peer IPs.
class Recorder {
 public:
  void Accept(std::string_view address, std::string_view peer);
  void Merge(const Recorder& o);
  size_t size() const { return entries_.size(); }
  // Lines "address\tcount\tpeer1,peer2\n", sorted by address, to `path`.
  [[nodiscard]] absl::Status WriteTsv(const std::string& path) const;

 private:
  struct Entry {
    uint64_t count = 0;
    absl::InlinedVector<uint32_t, 2> peers;  // indexes into peers_
  };
  uint32_t PeerId(std::string_view peer);
  absl::flat_hash_map<std::string, Entry> entries_;
  std::vector<std::string> peers_;
  absl::flat_hash_map<std::string, uint32_t> peer_ids_;
};

// Behind --arrivals: when each accepted recipient's end of data came (unix microseconds,
// CLOCK_REALTIME), one row per delivery, for latency benchmarks that join it with their own send
// times. One worker appends (no locks, no I/O on the hot path); written once, at exit.
class ArrivalLog {
 public:
  static constexpr size_t kMaxRows = 10'000'000;  // per worker; more are counted, not kept
  void Add(std::string_view address, int64_t unix_us) {
    if (rows_.size() >= kMaxRows) {
      ++dropped_;
      return;
    }
    rows_.push_back({std::string(address), unix_us});
  }
  size_t size() const { return rows_.size(); }
  uint64_t dropped() const { return dropped_; }
  // Lines "address\tunix_us\n" of every log, oldest first, to `path` (via path.tmp + rename).
  [[nodiscard]] static absl::Status WriteTsv(const std::string& path,
                                             const std::vector<const ArrivalLog*>& logs);

 private:
  struct Row {
    std::string address;
    int64_t unix_us = 0;
  };
  std::vector<Row> rows_;
  uint64_t dropped_ = 0;
};

struct WorkerStats {
  uint64_t connections = 0;
  uint64_t messages = 0;        // accepted at end of data (or BDAT LAST)
  uint64_t message_bytes = 0;   // body bytes of accepted messages
  uint64_t rcpt_accepted = 0;   // recipients accepted at end of data
  uint64_t bytes_in = 0;        // all bytes received (wire)
  uint64_t bytes_out = 0;
  uint64_t tls_sessions = 0;
  uint64_t dropped_in_data = 0;
  uint64_t first_message_ns = 0;  // CLOCK_MONOTONIC of the first / last accepted message (0 = none)
  uint64_t last_message_ns = 0;
  std::array<uint64_t, 600> replies{};  // by reply code
  std::array<LatencyHistogram, static_cast<size_t>(Cmd::kCount)> latency;
  struct Share {
    uint64_t messages = 0;
    uint64_t recipients = 0;
  };
  absl::flat_hash_map<std::string, Share> by_peer;     // client IP -> accepted
  absl::flat_hash_map<std::string, Share> by_account;  // AUTH user ("" = none) -> accepted

  void Merge(const WorkerStats& o);
  // {"messages":..,"bytes":..,"connections":..,"replies":{"250":..},"latency_us":{"MAIL":{..}},
  //  "by_peer":{"127.0.0.2":{"messages":..,"recipients":..}},"by_account":{..}}
  std::string ToJson(double elapsed_s, int threads) const;
};

}  // namespace salvo::sink
