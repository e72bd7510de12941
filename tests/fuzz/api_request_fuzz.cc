// libFuzzer target: the HTTP API's request bodies — the inject request (engine/api/
// inject_request.h) and the leads request (store/leads_request.h). Any crash, hang, sanitizer
// report or broken invariant (a limit exceeded, a lead without a normalized key) is a bug.
// Build: see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/api/inject_request.h"
#include "store/leads_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto r = salvo::ParseInjectRequest(in); r.ok()) {
    if (r->recipients.empty() || r->recipients.size() > salvo::kInjectMaxRecipients) std::abort();
    if (!r->raw && (r->from.empty() || r->subject.empty())) std::abort();
    for (const auto& rc : r->recipients)
      if (rc.substitutions.size() > salvo::kInjectMaxSubstitutions) std::abort();
  }
  if (auto r = salvo::ParseLeadsRequest(in); r.ok()) {
    if (r->leads.size() != r->index.size()) std::abort();
    if (r->leads.size() + r->rejected.size() > salvo::kMaxLeadsPerRequest) std::abort();
    for (const auto& l : r->leads)
      if (l.key.empty() || l.address.empty()) std::abort();
  }
  return 0;
}
