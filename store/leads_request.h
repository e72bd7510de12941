// The body of POST /api/v1/lists/{list}/leads: one JSON object or an array of up to
// kMaxLeadsPerRequest, each with the keys of a JSONL import row (`email`, `opted_in_at`,
// `consent_source`, `consent_ip`, fields). Each lead is checked and normalized exactly like an
// import row (store/recipient_row.h); a bad lead is rejected with its index and reason and the
// others go on. Trust: the body is hostile (bounded by the HTTP layer, every value by the import
// limits). No I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/recipient.h"

namespace salvo {

inline constexpr size_t kMaxLeadsPerRequest = 1000;

struct LeadReject {
  uint32_t index = 0;
  std::string error;  // e.g. `invalid address "bob@@x": two '@'`
};

struct LeadsRequest {
  std::vector<Recipient> leads;   // the good ones (shard set), in request order
  std::vector<uint32_t> index;    // their index in the request
  std::vector<LeadReject> rejected;
};

// InvalidArgument (the whole request is refused, the message names the field) when the body is
// not JSON, neither an object nor an array, an empty array or more than kMaxLeadsPerRequest.
// Array elements that are not objects are rejected one by one, like bad leads.
[[nodiscard]] absl::StatusOr<LeadsRequest> ParseLeadsRequest(std::string_view body);

}  // namespace salvo
