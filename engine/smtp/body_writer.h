// engine/smtp/body_writer.h — streams a message's segments into an OutputQueue for DATA
// (dot-stuffed, terminated by CRLF.CRLF) or for BDAT (no stuffing), normalizing line endings on
// the way: a bare CR or a bare LF becomes CRLF, a missing final CRLF is added. Untouched runs of
// the segments are passed through as zero-copy views; inserts are static bytes.
//
// Trust: message bytes are treated as hostile: whatever they contain, the output holds no bare CR,
// no bare LF and (for DATA) no line starting with "." that was not stuffed, so "\n.\n", "\r.\r",
// "\r\n.\n" and friends cannot end the data early (SMTP smuggling, CVE-2023-51766 class).
// The scan skips clean 64-byte blocks with AVX2 (or SSE2 when the CPU lacks it or CpuFeature::kAvx2 is disabled), and
// works out the inserts of the other blocks from CR/LF bit masks.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "engine/smtp/output_queue.h"

namespace salvo {

enum class BodyMode : uint8_t {
  kData,  // dot-stuff and append ".\r\n" after the (CRLF-terminated) content
  kBdat,  // normalize only
};

// Appends the normalized segments to `out`. Returns the number of bytes appended.
size_t AppendBody(std::span<const std::string_view> segments, BodyMode mode, OutputQueue* out);

// Number of bytes AppendBody would append, without appending (BDAT needs the size first).
size_t NormalizedBodySize(std::span<const std::string_view> segments, BodyMode mode);

}  // namespace salvo
