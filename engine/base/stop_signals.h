// Signal set-up of the long-running programs (`salvo serve`, salvo-sink): SIGTERM and SIGINT are
// taken by one thread that waits for them (sigwait), never by a worker; SIGPIPE is ignored so a
// peer that goes away is an EPIPE, not a dead process.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace salvo {

// {SIGTERM, SIGINT}: what the waiting thread passes to sigwait / sigtimedwait.
inline sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Blocks StopSignals() in the calling thread (threads started later inherit the mask) and
// ignores SIGPIPE. Call it before starting any thread.
inline void BlockStopSignals() {
  const sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// Blocks SIGHUP likewise (`salvo serve` reloads its certificate on it, in the thread that
// waits for the stop signals). Call it before starting any thread.
inline void BlockReloadSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace salvo
