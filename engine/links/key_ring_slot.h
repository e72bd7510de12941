// A tracking key ring (engine/links/token.h) that can be replaced while readers use it: `salvo
// serve` owns one slot, loaded from [tracking] at start and again on SIGHUP after `salvo tracking
// rotate-key`, and everything of the daemon that signs or verifies with the tracking keys reads
// it (the feedback endpoints' tokens and tags, the responders' confirm tokens, the queue's VERP
// tags), so a reload changes the signing key for all of them at once. A reader takes a
// reference for the duration of one use (a request, a message), so a swap never pulls a ring
// from under it. No I/O; thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "engine/links/token.h"

namespace salvo {

class KeyRingSlot {
 public:
  KeyRingSlot() = default;
  explicit KeyRingSlot(std::shared_ptr<const TokenKeyRing> ring) : ring_(std::move(ring)) {}
  KeyRingSlot(const KeyRingSlot&) = delete;
  KeyRingSlot& operator=(const KeyRingSlot&) = delete;

  // The ring of `current` (signs and verifies) and `previous` (verify only); null when `current`
  // is empty (no [tracking] secret).
  static std::shared_ptr<const TokenKeyRing> MakeRing(std::string_view current,
                                                      const std::vector<std::string>& previous) {
    if (current.empty()) return nullptr;
    return std::make_shared<const TokenKeyRing>(current, previous);
  }

  // Null: no [tracking] secret.
  std::shared_ptr<const TokenKeyRing> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ring_;
  }
  void Set(std::shared_ptr<const TokenKeyRing> ring) {
    std::lock_guard<std::mutex> lock(mu_);
    ring_ = std::move(ring);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const TokenKeyRing> ring_;
};

}  // namespace salvo
