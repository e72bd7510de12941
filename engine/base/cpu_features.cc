// Switches for the CPU fast paths (see cpu_features.h).
#include "engine/base/cpu_features.h"

#include <atomic>

namespace salvo {
namespace {

std::atomic<bool> g_disabled[2];

}  // namespace

void DisableCpuFeature(CpuFeature f) {
  g_disabled[static_cast<int>(f)].store(true, std::memory_order_relaxed);
}

bool CpuFeatureDisabled(CpuFeature f) {
  return g_disabled[static_cast<int>(f)].load(std::memory_order_relaxed);
}

}  // namespace salvo
