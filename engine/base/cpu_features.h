// Optional CPU fast paths (AVX2 for the dot-stuffing scan, the SHA extensions for token HMACs)
// and a switch to turn each off, so that the portable paths are tested on machines that have the
// fast ones and a machine without them can be reproduced. engine/ reads no environment: `salvo`
// turns a path off when SALVO_NO_AVX2 / SALVO_NO_SHA_NI is set, tests call DisableCpuFeature.
#pragma once

namespace salvo {

enum class CpuFeature { kAvx2, kShaNi };

// Turns the feature's fast path off for the rest of the process. Call before worker threads start
// (a message rendered while it changes takes either path; both give the same bytes).
void DisableCpuFeature(CpuFeature f);
// True once DisableCpuFeature(f) was called.
bool CpuFeatureDisabled(CpuFeature f);

}  // namespace salvo
