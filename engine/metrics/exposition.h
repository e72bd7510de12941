// Prometheus text exposition format 0.0.4 of a registry snapshot: # HELP / # TYPE lines, escaped
// label values, histograms as _bucket{le=...} (cumulative, ending in +Inf), _sum and _count.
// No I/O: callers (the /metrics listeners, the metrics file writer) write the text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/metrics/registry.h"

namespace salvo::metrics {

// The Content-Type to send with the text.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Renders snapshots / a whole registry as exposition text (ends with '\n').
std::string RenderText(const std::vector<FamilySnapshot>& families);
std::string RenderText(const Registry& registry);

// Formats a sample value the way Prometheus parses it: integers without exponent, "+Inf",
// "-Inf", "NaN", otherwise shortest round-trip decimal.
std::string FormatValue(double v);

}  // namespace salvo::metrics
