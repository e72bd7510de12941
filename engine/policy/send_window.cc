// Send window math (see send_window.h).
#include "engine/policy/send_window.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

constexpr const char* kDayNames[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

int DayIndex(std::string_view s) {
  for (int i = 0; i < 7; ++i)
    if (s == kDayNames[i]) return i;
  return -1;
}

// Monday = 0 ... Sunday = 6.
int WeekdayIndex(absl::CivilDay d) {
  switch (absl::GetWeekday(d)) {
    case absl::Weekday::monday: return 0;
    case absl::Weekday::tuesday: return 1;
    case absl::Weekday::wednesday: return 2;
    case absl::Weekday::thursday: return 3;
    case absl::Weekday::friday: return 4;
    case absl::Weekday::saturday: return 5;
    case absl::Weekday::sunday: return 6;
  }
  return 0;
}

bool DayOn(const SendWindow& w, absl::CivilDay d) { return (w.days >> WeekdayIndex(d)) & 1; }

// "HH:MM" -> minutes; -1 when malformed. "24:00" only when `allow_24`.
int ParseClock(std::string_view s, bool allow_24) {
  if (s.size() != 5 || s[2] != ':') return -1;
  for (size_t i : {0, 1, 3, 4})
    if (s[i] < '0' || s[i] > '9') return -1;
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59) return -1;
  if (h == 24 && m == 0 && allow_24) return 24 * 60;
  if (h > 23) return -1;
  return h * 60 + m;
}

// The instant local civil minute `m` of day `d` happens in `tz` (see the DST rule above).
absl::Time LocalInstant(absl::TimeZone tz, absl::CivilDay d, int m) {
  const absl::TimeZone::TimeInfo ti = tz.At(absl::CivilSecond(d) + m * 60);
  return ti.kind == absl::TimeZone::TimeInfo::SKIPPED ? ti.trans : ti.pre;
}

}  // namespace

std::string SendWindow::Describe() const {
  std::string d;
  if (days == 0x7f) {
    d = "daily";
  } else {
    for (int i = 0; i < 7; ++i)
      if ((days >> i) & 1) absl::StrAppend(&d, d.empty() ? "" : ",", kDayNames[i]);
  }
  return absl::StrFormat("%s %02d:%02d-%02d:%02d %s", d, from_min / 60, from_min % 60,
                         to_min / 60, to_min % 60, tz_name);
}

absl::StatusOr<SendWindow> ParseSendWindow(std::string_view days, std::string_view from,
                                           std::string_view to, std::string_view tz) {
  SendWindow w;
  const std::string lower = AsciiLower(days);
  if (lower.empty() || lower == "daily") {
    w.days = 0x7f;
  } else {
    w.days = 0;
    for (absl::string_view part : absl::StrSplit(Av(lower), ',')) {
      part = absl::StripAsciiWhitespace(part);
      std::vector<absl::string_view> ends = absl::StrSplit(part, '-');
      const int a = ends.empty() ? -1 : DayIndex(Sv(ends[0]));
      const int b = ends.size() == 2 ? DayIndex(Sv(ends[1])) : a;
      if (a < 0 || b < 0 || ends.size() > 2)
        return absl::InvalidArgumentError(absl::StrCat(
            "window.days \"", Av(days), "\": expected days such as \"mon-fri\" or \"mon,wed,sat\""));
      // A range may wrap the week ("fri-mon").
      for (int i = a;; i = (i + 1) % 7) {
        w.days |= static_cast<uint8_t>(1u << i);
        if (i == b) break;
      }
    }
  }
  w.from_min = ParseClock(from, false);
  if (w.from_min < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("window.from \"", Av(from), "\" is not a time of day \"HH:MM\""));
  w.to_min = ParseClock(to, true);
  if (w.to_min < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("window.to \"", Av(to), "\" is not a time of day \"HH:MM\" (or \"24:00\")"));
  if (w.from_min == w.to_min)
    return absl::InvalidArgumentError("window.from and window.to are the same time");
  if (tz.empty()) tz = "UTC";
  auto zone = LoadWindowZone(tz);
  if (!zone.ok())
    return absl::InvalidArgumentError(absl::StrCat("window.tz: ", zone.status().message()));
  w.tz = *zone;
  w.tz_name = std::string(tz);
  return w;
}

absl::StatusOr<absl::TimeZone> LoadWindowZone(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '/' &&
            name.find("..") == std::string_view::npos;
  for (char c : name)
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' ||
                c == '-' || c == '/');
  if (!ok)
    return absl::InvalidArgumentError(
        absl::StrCat("\"", SanitizeForLog(name, 64), "\" is not an IANA time zone name"));
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(std::string(name), &tz))
    return absl::InvalidArgumentError(
        absl::StrCat("unknown time zone \"", Av(name), "\" (not in the system's tzdata)"));
  return tz;
}

bool WindowOpenAt(const SendWindow& w, absl::TimeZone tz, absl::Time t) {
  const absl::CivilMinute local = absl::ToCivilMinute(t, tz);
  const absl::CivilDay day(local);
  const int m = static_cast<int>((local - absl::CivilMinute(day)));
  if (w.from_min < w.to_min) return DayOn(w, day) && m >= w.from_min && m < w.to_min;
  // Overnight: opened this evening, or opened yesterday evening and not closed yet.
  return (DayOn(w, day) && m >= w.from_min) || (DayOn(w, day - 1) && m < w.to_min);
}

absl::Time NextWindowOpening(const SendWindow& w, absl::TimeZone tz, absl::Time t) {
  if (WindowOpenAt(w, tz, t)) return t;
  const absl::CivilDay today(absl::ToCivilDay(t, tz));
  for (int i = -1; i <= 8; ++i) {
    const absl::CivilDay d = today + i;
    if (!DayOn(w, d)) continue;
    const absl::Time open = LocalInstant(tz, d, w.from_min);
    if (open > t) return open;
  }
  return absl::InfiniteFuture();  // no day in the window (ParseSendWindow refuses that)
}

}  // namespace salvo
