// Time and randomness for engine/, injected so that tests (and a test clock for the daemon's
// schedule) control them. SystemClock() and SystemRandom64() are the only places where engine/
// reads the wall clock or the system's randomness.
#pragma once

#include <cstdint>
#include <string>

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

// The wall clock every part of the process reads for "now" (progress times, UTC days, pauses,
// schedules, Date headers): SystemClock() unless the program installed another at start, before
// any thread (tools/salvo: SALVO_FAKE_NOW). The clock is passed in; engine/ never reads the
// environment.
const Clock& ProcessClock();
void SetProcessClock(const Clock* clock);  // null: back to SystemClock()

// `base` shifted so that it reads `start` at construction and runs on from there.
class ShiftedClock : public Clock {
 public:
  ShiftedClock(const Clock& base, absl::Time start) : base_(base), offset_(start - base.Now()) {}
  absl::Time Now() const override { return base_.Now() + offset_; }
  int64_t MonotonicNs() const override { return base_.MonotonicNs(); }

 private:
  const Clock& base_;
  const absl::Duration offset_;
};

// "2026-12-07T08:59:57Z": unix seconds as RFC 3339 in UTC, as every command and log prints them.
std::string FormatUnixTime(int64_t unix_s);

// "Fri, 04 Dec 2026 08:59:57 +0000": unix seconds as an RFC 5322 date-time in UTC (Date: and
// Received: headers).
std::string FormatRfc5322Date(int64_t unix_s);

// Unix microseconds / seconds of ProcessClock().
int64_t NowUnixMicros();
int64_t NowUnixSeconds();

// 64 random bits for identifiers (Message-IDs); not secret. SystemRandom64 is a per-thread
// generator seeded from OpenSSL's CSPRNG.
using RandomSource = uint64_t (*)();
uint64_t SystemRandom64();

}  // namespace salvo
