// The SMTP server side of salvo-sink as a pure state machine: bytes in, reply bytes out, plus
// flags telling the transport to close, drop, delay or start TLS. No I/O, so it is unit-tested
// with strings. Input comes from arbitrary clients: lines are bounded (kMaxLine), message bodies
// are counted and discarded (never buffered), addresses are checked before they are recorded.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "perf/sink/sink_config.h"
#include "perf/sink/sink_stats.h"

namespace salvo::sink {

inline constexpr size_t kMaxLine = 4096;       // command lines, AUTH responses
inline constexpr size_t kMaxPath = 256;        // RFC 5321 4.5.3.1.3

// Accepted-message counters per account, shared by all workers (atomics); index 0 is the
// unauthenticated pool, index i+1 the account cfg.accounts[i]. Limits are resolved at startup.
class AccountCounters {
 public:
  explicit AccountCounters(const SinkConfig& cfg);
  int Find(std::string_view user, std::string_view password) const;  // account index+1 or -1
  int FindUser(std::string_view user) const;                          // account index+1 or -1
  void Accepted(int slot) { accepted_[slot].fetch_add(1, std::memory_order_relaxed); }
  bool AuthFailed(int slot) const { return Reached(slot, fail_after_); }
  bool OutOfCredit(int slot) const { return Reached(slot, credit_); }

 private:
  bool Reached(int slot, const std::vector<int64_t>& limits) const {
    return limits[slot] >= 0 && accepted_[slot].load(std::memory_order_relaxed) >= limits[slot];
  }
  const SinkConfig& cfg_;
  std::unique_ptr<std::atomic<int64_t>[]> accepted_;
  std::vector<int64_t> fail_after_, credit_;
};

// Attempts per recipient address for --fault-rcpt PATTERN=CODE*N, shared by all workers. Only
// consulted for such patterns (tests), so one mutex is fine.
class FaultAttempts {
 public:
  // Counts one attempt of `address`; true while it is within its first `times` attempts.
  bool Fail(std::string_view address, int times);

 private:
  std::mutex mu_;
  absl::flat_hash_map<std::string, int> attempts_;
};

// Everything a session needs from its worker. One per worker thread; not shared.
struct SessionEnv {
  SessionEnv(const SinkConfig& c, AccountCounters* a, uint64_t seed, FaultAttempts* f = nullptr);
  const SinkConfig& cfg;
  AccountCounters* accounts;
  FaultAttempts* attempts;      // shared; may be null when no --fault-rcpt has *N
  WorkerStats stats;
  // Accepted messages, readable by other threads (single writer: this worker) for --timeline.
  std::atomic<uint64_t> live_messages{0};
  Recorder recorder;            // used only when cfg.record_path is set
  ArrivalLog arrivals;          // used only when cfg.arrivals_path is set
  // CLOCK_REALTIME - CLOCK_MONOTONIC at construction: arrival times from the sessions' now_ns.
  int64_t realtime_offset_ns = 0;
  bool keep_rcpts = false;      // --record or --arrivals: sessions keep the accepted addresses
  bool tls_available = false;   // a TLS context could be loaded
  uint64_t rng_state;
  uint64_t next_queue_id = 1;
  std::string ehlo_plain, ehlo_tls;  // prebuilt EHLO replies (before / after STARTTLS)
  double Uniform();             // [0, 1)
};

class SmtpSession {
 public:
  SmtpSession(SessionEnv* env, std::string peer);
  // Queues the 220 greeting.
  void Greet(uint64_t now_ns);
  // Consumes received plaintext. Returns how many bytes were consumed: all of them unless the
  // session asked to close, drop or start TLS (the rest must then be discarded).
  size_t Feed(std::string_view in, uint64_t now_ns);
  // Replies waiting to be sent. The transport takes them (swap/clear) and then calls MarkFlushed.
  std::string& out() { return out_; }
  // Records the latency of every command answered in out() (now - time received).
  void MarkFlushed(uint64_t now_ns);

  bool close_after_flush() const { return close_; }  // QUIT, 421: send replies, then close
  bool drop_now() const { return drop_; }            // drop-in-data: close without replying
  bool starttls_requested() const { return starttls_; }
  // Tarpit: hold the current replies this long before sending (0 = none). Reading resets it.
  uint32_t TakeDelayMs() { return std::exchange(delay_ms_, 0); }
  // The transport finished the TLS switch: state resets as RFC 3207 requires.
  void OnTlsStarted();
  bool tls_active() const { return tls_active_; }

 private:
  enum class State : uint8_t { kCommand, kData, kBdat, kAuthPlain, kAuthLoginUser, kAuthLoginPass };

  void Reply(Cmd cmd, int code, std::string_view text);  // text includes the enhanced code
  void ReplyRaw(Cmd cmd, int code, std::string_view full_line_without_crlf);
  void OnLine(std::string_view line);
  void OnCommand(std::string_view line);
  void DoEhlo(std::string_view arg, bool extended);
  void DoMail(std::string_view arg);
  void DoRcpt(std::string_view arg);
  void DoData();
  void DoBdat(std::string_view arg);
  void DoAuth(std::string_view arg);
  void AuthPlain(std::string_view b64);
  void AuthFinish(std::string_view user, std::string_view pass);
  void EndOfMessage(Cmd cmd);
  void ResetTransaction();
  size_t FeedData(const char* p, size_t n);
  size_t FeedBdat(const char* p, size_t n);

  SessionEnv* env_;
  std::string peer_;
  std::string out_;
  std::string line_;               // partial command line (bounded by kMaxLine)
  bool line_too_long_ = false;
  std::vector<std::pair<Cmd, uint64_t>> pending_;  // answered commands not yet flushed
  uint64_t now_ns_ = 0;

  State state_ = State::kCommand;
  bool helo_ = false;
  bool tls_active_ = false;
  int account_ = 0;                // 0 = unauthenticated pool
  bool authed_ = false;
  std::string login_user_;
  bool in_mail_ = false;
  bool drop_pending_ = false;
  std::vector<std::string> rcpts_;  // accepted in this transaction (addresses only if recording)
  size_t rcpt_count_ = 0;
  int64_t msg_bytes_ = 0;
  int data_state_ = 0;             // end-of-data scanner, see FeedData
  uint64_t bdat_remaining_ = 0;
  bool bdat_last_ = false;
  bool bdat_ok_ = false;
  bool bdat_used_ = false;

  bool close_ = false;
  bool drop_ = false;
  bool starttls_ = false;
  uint32_t delay_ms_ = 0;
};

}  // namespace salvo::sink
