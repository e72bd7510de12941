// Smooth weighted round-robin (the nginx upstream algorithm): over any window of
// sum(weights) picks, each item is chosen exactly `weight` times, interleaved as evenly as
// possible. Items can be marked unavailable (paused account, over its limit) and are skipped;
// the remaining items keep their relative shares.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace salvo {

class SmoothWrr {
 public:
  SmoothWrr() = default;
  explicit SmoothWrr(std::vector<uint32_t> weights);

  size_t size() const { return items_.size(); }
  // The next item among those for which available(i) is true, or -1 when none is.
  template <typename Pred>
  int Next(Pred available) {
    int64_t total = 0;
    int best = -1;
    for (size_t i = 0; i < items_.size(); ++i) {
      if (!available(i)) continue;
      Item& it = items_[i];
      it.current += it.weight;
      total += it.weight;
      if (best < 0 || it.current > items_[best].current) best = static_cast<int>(i);
    }
    if (best >= 0) items_[best].current -= total;
    return best;
  }
  int Next() {
    return Next([](size_t) { return true; });
  }

 private:
  struct Item {
    int64_t weight;
    int64_t current = 0;
  };
  std::vector<Item> items_;
};

}  // namespace salvo
