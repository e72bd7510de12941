#include "engine/preflight/rspamd_reply.h"

#include <simdjson.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/strings.h"

namespace salvo {

std::string RspamdReply::Summary(size_t max_symbols) const {
  std::string out;
  for (size_t i = 0; i < symbols.size() && i < max_symbols; ++i)
    absl::StrAppendFormat(&out, "%s%s(%.2f)", i ? ", " : "", symbols[i].first, symbols[i].second);
  if (symbols.size() > max_symbols) absl::StrAppend(&out, ", ...");
  return out.empty() ? "no symbols" : out;
}

absl::StatusOr<RspamdReply> ParseRspamdReply(std::string_view json) {
  if (json.size() > (4u << 20)) return absl::InvalidArgumentError("rspamd reply over 4 MB");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root))
    return absl::InvalidArgumentError(absl::StrCat("rspamd reply is not JSON: ", simdjson::error_message(err)));
  RspamdReply r;
  double v;
  if (root["score"].get_double().get(v) != simdjson::SUCCESS)
    return absl::InvalidArgumentError("rspamd reply has no score");
  r.score = v;
  if (root["required_score"].get_double().get(v) == simdjson::SUCCESS) r.required_score = v;
  std::string_view action;
  if (root["action"].get_string().get(action) == simdjson::SUCCESS)
    r.action = SanitizeForLog(action, 64);
  simdjson::dom::object symbols;
  if (root["symbols"].get_object().get(symbols) == simdjson::SUCCESS) {
    for (auto field : symbols) {
      if (r.symbols.size() >= 256) break;
      double s = 0;
      if (field.value["score"].get_double().get(s) != simdjson::SUCCESS) s = 0;
      r.symbols.emplace_back(SanitizeForLog(field.key, 64), s);
    }
  }
  std::stable_sort(r.symbols.begin(), r.symbols.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return r;
}

}  // namespace salvo
