// The daemon's current tracking key ring (engine/links/token.h), replaceable while requests use
// it: `salvo serve` loads a new ring on SIGHUP after `salvo tracking rotate-key`. A request
// takes a reference for its duration, so a swap never pulls a ring from under it.
#pragma once

#include <memory>
#include <mutex>

#include "engine/links/token.h"

namespace salvo {

class KeyRingSlot {
 public:
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
  std::shared_ptr<const TokenKeyRing> ring_;  // null: no [tracking] secret
};

}  // namespace salvo
