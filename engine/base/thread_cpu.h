// CPU time of the calling thread, for measuring work where wall time would count waits and other
// threads (the runner's render-sharing estimate, benchmarks that pair two operations), and of the
// whole process (user + system, all threads: a run's CPU per message).
#pragma once

#include <time.h>

#include <cstdint>

namespace salvo {

inline uint64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t ProcessCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace salvo
