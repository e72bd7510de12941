// Smooth weighted round-robin (see weighted_rr.h).
#include "engine/policy/weighted_rr.h"

namespace salvo {

SmoothWrr::SmoothWrr(std::vector<uint32_t> weights) {
  items_.reserve(weights.size());
  for (uint32_t w : weights) items_.push_back(Item{w == 0 ? 1 : static_cast<int64_t>(w)});
}

}  // namespace salvo
