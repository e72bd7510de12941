// Inject request parser; see inject_request.h.
#include "engine/api/inject_request.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "simdjson.h"

namespace salvo {
namespace {

namespace dom = simdjson::dom;

absl::Status Bad(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(Av(field), ": ", Av(what)));
}

// A string member, at most `max` bytes.
absl::Status GetString(dom::element v, std::string_view field, size_t max, std::string* out) {
  std::string_view s;
  if (v.get_string().get(s)) return Bad(field, "must be a string");
  if (s.size() > max) return Bad(field, absl::StrCat("longer than ", max, " bytes"));
  out->assign(s);
  return absl::OkStatus();
}

// A scalar as text: strings as they are, numbers and booleans as their JSON text.
absl::Status GetScalarText(dom::element v, std::string_view field, size_t max, std::string* out) {
  if (v.is_string()) return GetString(v, field, max, out);
  if (v.is_number() || v.is_bool()) {
    *out = simdjson::minify(v);
    return absl::OkStatus();
  }
  return Bad(field, "must be a string, number or boolean");
}

absl::Status GetPairs(dom::element v, std::string_view field, size_t max_count,
                      std::vector<std::pair<std::string, std::string>>* out) {
  dom::object obj;
  if (v.get_object().get(obj)) return Bad(field, "must be an object");
  for (auto [k, value] : obj) {
    std::string_view name(k.data(), k.size());
    const std::string where = absl::StrCat(Av(field), ".", SanitizeForLog(name, 64));
    if (out->size() >= max_count) return Bad(field, absl::StrCat("more than ", max_count, " entries"));
    if (name.empty() || name.size() > kInjectMaxNameBytes)
      return Bad(where, absl::StrCat("name must be 1..", kInjectMaxNameBytes, " bytes"));
    std::string text;
    if (auto st = GetScalarText(value, where, kInjectMaxValueBytes, &text); !st.ok()) return st;
    out->emplace_back(std::string(name), std::move(text));
  }
  return absl::OkStatus();
}

absl::Status ParseContent(dom::element v, InjectRequest* r) {
  std::string_view s;
  if (!v.get_string().get(s)) {
    r->raw = true;
    if (s.empty()) return Bad("content", "must not be empty");
    r->raw_content.assign(s);
    return absl::OkStatus();
  }
  dom::object obj;
  if (v.get_object().get(obj)) return Bad("content", "must be a string (RFC 5322) or an object");
  for (auto [k, value] : obj) {
    std::string_view key(k.data(), k.size());
    absl::Status st;
    if (key == "from") st = GetString(value, "content.from", kInjectMaxShortBytes, &r->from);
    else if (key == "reply_to") st = GetString(value, "content.reply_to", kInjectMaxShortBytes, &r->reply_to);
    else if (key == "subject") st = GetString(value, "content.subject", kInjectMaxShortBytes, &r->subject);
    else if (key == "text_body") st = GetString(value, "content.text_body", 4u << 20, &r->text_body);
    else if (key == "html_body") st = GetString(value, "content.html_body", 4u << 20, &r->html_body);
    else if (key == "headers") st = GetPairs(value, "content.headers", kInjectMaxHeaders, &r->headers);
    else return Bad(absl::StrCat("content.", SanitizeForLog(key, 64)), "unknown key");
    if (!st.ok()) return st;
  }
  if (r->from.empty()) return Bad("content.from", "is required");
  if (r->subject.empty()) return Bad("content.subject", "is required");
  if (r->text_body.empty() && r->html_body.empty())
    return Bad("content", "needs text_body or html_body");
  return absl::OkStatus();
}

absl::Status ParseRecipients(dom::element v, InjectRequest* r) {
  dom::array arr;
  if (v.get_array().get(arr)) return Bad("recipients", "must be an array");
  if (arr.size() == 0) return Bad("recipients", "must not be empty");
  if (arr.size() > kInjectMaxRecipients)
    return Bad("recipients", absl::StrCat("more than ", kInjectMaxRecipients, " entries"));
  r->recipients.reserve(arr.size());
  size_t i = 0;
  for (dom::element e : arr) {
    const std::string where = absl::StrCat("recipients[", i++, "]");
    InjectRecipient rc;
    dom::object obj;
    if (e.get_object().get(obj)) return Bad(where, "must be an object with \"email\"");
    bool has_email = false;
    for (auto [k, value] : obj) {
      std::string_view key(k.data(), k.size());
      absl::Status st;
      if (key == "email") {
        has_email = true;
        st = GetString(value, where + ".email", 320, &rc.email);
      } else if (key == "substitutions") {
        st = GetPairs(value, where + ".substitutions", kInjectMaxSubstitutions, &rc.substitutions);
      } else {
        return Bad(absl::StrCat(where, ".", SanitizeForLog(key, 64)), "unknown key");
      }
      if (!st.ok()) return st;
    }
    if (!has_email) return Bad(where + ".email", "is required");
    // Sorted, unique names (Recipient::fields' order); a repeated name: the last one wins.
    auto& s = rc.substitutions;
    std::stable_sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::pair<std::string, std::string>> unique;
    for (auto& p : s) {
      if (!unique.empty() && unique.back().first == p.first) unique.back().second = std::move(p.second);
      else unique.push_back(std::move(p));
    }
    s = std::move(unique);
    r->recipients.push_back(std::move(rc));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<InjectRequest> ParseInjectRequest(std::string_view body) {
  dom::parser parser;
  dom::element doc;
  if (auto err = parser.parse(body.data(), body.size(), true).get(doc))
    return Bad("body", absl::StrCat("malformed JSON: ", simdjson::error_message(err)));
  dom::object obj;
  if (doc.get_object().get(obj)) return Bad("body", "must be a JSON object");
  InjectRequest r;
  bool has_content = false, has_recipients = false;
  for (auto [k, value] : obj) {
    std::string_view key(k.data(), k.size());
    absl::Status st;
    if (key == "envelope_sender") {
      st = GetString(value, "envelope_sender", kInjectMaxShortBytes, &r.envelope_sender);
    } else if (key == "content") {
      has_content = true;
      st = ParseContent(value, &r);
    } else if (key == "recipients") {
      has_recipients = true;
      st = ParseRecipients(value, &r);
    } else if (key == "route") {
      st = GetString(value, "route", 200, &r.route);
    } else if (key == "track") {
      if (value.get_bool().get(r.track)) st = Bad("track", "must be true or false");
    } else {
      st = Bad(SanitizeForLog(key, 64), "unknown key");
    }
    if (!st.ok()) return st;
  }
  if (!has_content) return Bad("content", "is required");
  if (!has_recipients) return Bad("recipients", "is required");
  return r;
}

}  // namespace salvo
