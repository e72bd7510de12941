// The system clock and random source (see clock.h).
#include "engine/base/clock.h"

#include <openssl/rand.h>
#include <time.h>

#include <atomic>
#include <functional>
#include <thread>

#include "absl/time/clock.h"

namespace salvo {
namespace {

class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  int64_t MonotonicNs() const override {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }
};

}  // namespace

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

namespace {
std::atomic<const Clock*> g_process_clock{nullptr};
}  // namespace

const Clock& ProcessClock() {
  const Clock* c = g_process_clock.load(std::memory_order_acquire);
  return c ? *c : SystemClock();
}

void SetProcessClock(const Clock* clock) { g_process_clock.store(clock, std::memory_order_release); }

std::string FormatUnixTime(int64_t unix_s) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_s), absl::UTCTimeZone());
}

std::string FormatRfc5322Date(int64_t unix_s) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", absl::FromUnixSeconds(unix_s),
                          absl::UTCTimeZone());
}

int64_t NowUnixMicros() { return absl::ToUnixMicros(ProcessClock().Now()); }
int64_t NowUnixSeconds() { return absl::ToUnixSeconds(ProcessClock().Now()); }

uint64_t SystemRandom64() {
  thread_local uint64_t state = [] {
    uint64_t seed = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1) {
      // No CSPRNG output (never seen): time and thread still make Message-IDs unique enough.
      seed = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
    }
    return seed ^ std::hash<std::thread::id>{}(std::this_thread::get_id());
  }();
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);  // SplitMix64
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace salvo
