// One import row into a Recipient: the checks and normalization shared by `salvo import` (CSV
// columns, JSONL lines) and the leads API (POST /api/v1/lists/{list}/leads), so that a lead
// is accepted or rejected exactly as the same row in a file would be. Trust: values are hostile;
// every one is bounded (store/importer.h limits) and a bad one gives the reason to report, such
// as `invalid address "bob@@x": two '@'`. No I/O.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/recipient.h"
#include "simdjson.h"

namespace salvo {

// What a column (or JSON key) of a row is; `lower` is its ASCII-lowercased name.
enum class ColumnKind { kEmail, kOptedInAt, kConsentSource, kConsentIp, kField };
ColumnKind ColumnKindOf(std::string_view lower);

bool HasControlChar(std::string_view s);

// Sets one special or named value on *r (fields at *field_slot, which advances); returns the
// reject reason, or "" when the value is good. The address is normalized (key set).
std::string SetRecipientValue(ColumnKind kind, std::string_view name, std::string_view value,
                              Recipient* r, size_t* field_slot);

// A JSONL row / lead: `email`, `opted_in_at`, `consent_source`, `consent_ip` and named fields
// (strings as they are, other JSON values as their JSON text, null = absent). *r must be fresh
// (address, key and consent empty); `fields` is scratch. Returns the reject reason or "".
std::string RecipientFromJsonObject(simdjson::dom::object obj, Recipient* r,
                                    std::vector<std::pair<std::string, std::string>>* fields);

}  // namespace salvo
