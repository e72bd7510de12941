// Leads request parser; see leads_request.h.
#include "store/leads_request.h"

#include "absl/strings/str_cat.h"
#include "engine/base/shard.h"
#include "simdjson.h"
#include "store/recipient_row.h"

namespace salvo {

absl::StatusOr<LeadsRequest> ParseLeadsRequest(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(body.data(), body.size(), true).get(doc))
    return absl::InvalidArgumentError(
        absl::StrCat("body: malformed JSON: ", simdjson::error_message(err)));
  LeadsRequest out;
  std::vector<std::pair<std::string, std::string>> scratch;
  auto one = [&](uint32_t i, simdjson::dom::element e) {
    simdjson::dom::object obj;
    if (e.get_object().get(obj)) {
      out.rejected.push_back({i, "not a JSON object"});
      return;
    }
    Recipient r;
    std::string why = RecipientFromJsonObject(obj, &r, &scratch);
    if (!why.empty()) {
      out.rejected.push_back({i, std::move(why)});
      return;
    }
    r.shard = ShardOf(r.key);
    out.leads.push_back(std::move(r));
    out.index.push_back(i);
  };
  simdjson::dom::array arr;
  if (!doc.get_array().get(arr)) {
    if (arr.size() == 0) return absl::InvalidArgumentError("body: empty array (no leads)");
    if (arr.size() > kMaxLeadsPerRequest)
      return absl::InvalidArgumentError(absl::StrCat("body: ", arr.size(), " leads, more than ",
                                                     kMaxLeadsPerRequest, " in one request"));
    uint32_t i = 0;
    for (simdjson::dom::element e : arr) one(i++, e);
    return out;
  }
  if (!doc.is_object())
    return absl::InvalidArgumentError("body: must be a JSON object (a lead) or an array of them");
  one(0, doc);
  return out;
}

}  // namespace salvo
