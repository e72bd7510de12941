// Time and randomness for engine/, injected so that tests (and a test clock for the daemon's
// schedule) control them. SystemClock() and SystemRandom64() are the only places where engine/
// reads the wall clock or the system's randomness.
#pragma once

#include <cstdint>

#include "absl/time/time.h"

namespace salvo {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;       // wall clock: Date headers, UTC days
  virtual int64_t MonotonicNs() const = 0;  // durations (render and signing times)
};

// The machine's clocks (CLOCK_REALTIME, CLOCK_MONOTONIC).
const Clock& SystemClock();

// 64 random bits for identifiers (Message-IDs); not secret. SystemRandom64 is a per-thread
// generator seeded from OpenSSL's CSPRNG.
using RandomSource = uint64_t (*)();
uint64_t SystemRandom64();

}  // namespace salvo
