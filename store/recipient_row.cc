// Converting one import row (CSV columns or a JSON object) into a Recipient; see recipient_row.h.
#include "store/recipient_row.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/base/rfc3339.h"
#include "engine/base/strings.h"
#include "store/importer.h"

namespace salvo {
namespace {
constexpr size_t kMaxConsentSource = 200;
}  // namespace

bool HasControlChar(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

ColumnKind ColumnKindOf(std::string_view lower) {
  if (lower == "email") return ColumnKind::kEmail;
  if (lower == "opted_in_at") return ColumnKind::kOptedInAt;
  if (lower == "consent_source") return ColumnKind::kConsentSource;
  if (lower == "consent_ip") return ColumnKind::kConsentIp;
  return ColumnKind::kField;
}

// Sets one special or named value on *r; returns the reject reason or "".
std::string SetRecipientValue(ColumnKind kind, std::string_view name, std::string_view value, Recipient* r,
                     size_t* field_slot) {
  if (value.size() > kImportMaxFieldBytes) {
    return absl::StrCat("value of \"", Av(name), "\" longer than ", kImportMaxFieldBytes,
                        " bytes");
  }
  switch (kind) {
    case ColumnKind::kEmail: {
      auto a = NormalizeAddress(value);
      if (!a.ok()) return std::string(a.status().message());
      r->address = std::move(a->address);
      r->key = std::move(a->key);
      return "";
    }
    case ColumnKind::kOptedInAt: {
      std::string_view v = Trim(value, kBlanks);
      if (!v.empty() && !IsRfc3339(v)) {
        return absl::StrCat("invalid opted_in_at \"", SanitizeForLog(v, 60),
                            "\" (want RFC 3339, e.g. 2024-05-01T10:00:00Z)");
      }
      r->consent.opted_in_at.assign(v);
      return "";
    }
    case ColumnKind::kConsentSource: {
      std::string_view v = Trim(value, kBlanks);
      if (v.size() > kMaxConsentSource || HasControlChar(v)) {
        return absl::StrCat("invalid consent_source \"", SanitizeForLog(v, 60), "\"");
      }
      r->consent.source.assign(v);
      return "";
    }
    case ColumnKind::kConsentIp: {
      std::string_view v = Trim(value, kBlanks);
      if (!v.empty()) {
        char buf[64];
        unsigned char addr[16];
        bool ok = v.size() < sizeof(buf);
        if (ok) {
          std::memcpy(buf, v.data(), v.size());
          buf[v.size()] = '\0';
          ok = inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
        }
        if (!ok) return absl::StrCat("invalid consent_ip \"", SanitizeForLog(v, 60), "\"");
      }
      r->consent.ip.assign(v);
      return "";
    }
    case ColumnKind::kField: {
      size_t i = (*field_slot)++;
      if (i < r->fields.size()) {
        r->fields[i].first.assign(name);
        r->fields[i].second.assign(value);
      } else {
        r->fields.emplace_back(std::string(name), std::string(value));
      }
      return "";
    }
  }
  return "";
}

std::string RecipientFromJsonObject(simdjson::dom::object obj, Recipient* r,
                                    std::vector<std::pair<std::string, std::string>>* fields) {
  fields->clear();
  bool has_email = false;
  size_t unused = 0;
  for (auto [key, value] : obj) {
    std::string_view k(key.data(), key.size());
    std::string lower = AsciiLower(k);
    ColumnKind kind = ColumnKindOf(lower);
    std::string v;
    if (value.is_null()) continue;
    if (value.is_string()) {
      std::string_view sv;
      if (!value.get_string().get(sv)) v.assign(sv);
    } else {
      v = simdjson::minify(value);
    }
    if (kind == ColumnKind::kField) {
      if (k.empty() || k.size() > kImportMaxFieldName || HasControlChar(k)) {
        return absl::StrCat("invalid field name \"", SanitizeForLog(k, 60), "\"");
      }
      if (v.size() > kImportMaxFieldBytes) {
        return absl::StrCat("value of \"", SanitizeForLog(k, 60), "\" longer than ",
                                  kImportMaxFieldBytes, " bytes");
      }
      if (fields->size() >= kImportMaxColumns) {
        return absl::StrCat("more than ", kImportMaxColumns, " fields");
      }
      fields->emplace_back(std::string(k), std::move(v));
      continue;
    }
    if (kind == ColumnKind::kEmail) has_email = true;
    std::string why = SetRecipientValue(kind, lower, v, r, &unused);
    if (!why.empty()) {
      return why;
    }
  }
  if (!has_email) {
    return "no \"email\" key";
  }
  // Sorted, unique names (a repeated key: the last one wins).
  std::stable_sort(fields->begin(), fields->end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  r->fields.clear();
  for (auto& f : *fields) {
    if (!r->fields.empty() && r->fields.back().first == f.first) {
      r->fields.back().second = std::move(f.second);
    } else {
      r->fields.push_back(std::move(f));
    }
  }
  return "";
}

}  // namespace salvo
