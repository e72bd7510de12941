// A campaign's send window (`window = { days = "mon-fri", from = "09:00", to = "17:00",
// tz = "Europe/Copenhagen" }`): the local days and hours in which mail may be handed to SMTP.
// The math is pure (a time and a zone in, a time out); the zone is loaded from the system's
// tzdata by LoadWindowZone, the one place that reads it. DST: an opening that falls in a
// skipped hour (spring forward) happens at the transition, one in a repeated hour (fall back)
// at its first occurrence.
// Trust: names of zones may come from recipient data (per_recipient_tz): they are checked
// before any file is looked up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace salvo {

struct SendWindow {
  uint8_t days = 0x7f;  // bit 0 = Monday ... bit 6 = Sunday: the days the window opens
  int from_min = 0;     // minutes after local midnight; from > to: overnight (22:00-06:00)
  int to_min = 0;
  std::string tz_name;  // IANA name, e.g. "Europe/Copenhagen"
  absl::TimeZone tz;
  std::string per_recipient_tz;  // recipient field holding the zone; empty: tz for everyone

  // "mon-fri 09:00-17:00 Europe/Copenhagen"
  std::string Describe() const;
};

// Parses the window's fields. days: "mon-fri", "mon,wed,fri", "sat-sun", "daily"; from / to
// "HH:MM" (to may be "24:00"; from == to is refused). Errors name the field.
[[nodiscard]] absl::StatusOr<SendWindow> ParseSendWindow(std::string_view days,
                                                         std::string_view from,
                                                         std::string_view to,
                                                         std::string_view tz);

// The zone named `name` from the system's tzdata; errors for names that are not of the form
// Area/Location (letters, digits, "_+-/", no "..", at most 64 bytes) or not found.
[[nodiscard]] absl::StatusOr<absl::TimeZone> LoadWindowZone(std::string_view name);

// Whether the window is open at `t` in zone `tz` (the window's own tz, or a recipient's).
bool WindowOpenAt(const SendWindow& w, absl::TimeZone tz, absl::Time t);
// `t` itself when open; else the next instant it opens (in zone `tz`).
absl::Time NextWindowOpening(const SendWindow& w, absl::TimeZone tz, absl::Time t);

}  // namespace salvo
