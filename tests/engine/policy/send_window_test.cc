#include "engine/policy/send_window.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace salvo {
namespace {

absl::Time Utc(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone());
}

SendWindow Window(const char* days, const char* from, const char* to, const char* tz) {
  auto w = ParseSendWindow(days, from, to, tz);
  EXPECT_TRUE(w.ok()) << w.status();
  return w.ok() ? *w : SendWindow{};
}

TEST(SendWindow, OfficeHoursInCopenhagenAcrossTheSpringChange) {
  const SendWindow w = Window("mon-fri", "09:00", "17:00", "Europe/Copenhagen");
  // Friday 2026-03-27 is still CET (UTC+1): open 08:00Z-16:00Z.
  EXPECT_FALSE(WindowOpenAt(w, w.tz, Utc(2026, 3, 27, 7, 59)));
  EXPECT_TRUE(WindowOpenAt(w, w.tz, Utc(2026, 3, 27, 8, 0)));
  EXPECT_TRUE(WindowOpenAt(w, w.tz, Utc(2026, 3, 27, 15, 59)));
  EXPECT_FALSE(WindowOpenAt(w, w.tz, Utc(2026, 3, 27, 16, 0)));
  // Clocks go forward on Sunday the 29th: Monday's 09:00 is CEST, 07:00Z.
  EXPECT_EQ(NextWindowOpening(w, w.tz, Utc(2026, 3, 27, 16, 30)), Utc(2026, 3, 30, 7, 0));
  EXPECT_FALSE(WindowOpenAt(w, w.tz, Utc(2026, 3, 28, 10, 0)));  // Saturday
  // Open: the time itself.
  EXPECT_EQ(NextWindowOpening(w, w.tz, Utc(2026, 3, 30, 9, 0)), Utc(2026, 3, 30, 9, 0));
}

TEST(SendWindow, OfficeHoursInCopenhagenAcrossTheAutumnChange) {
  const SendWindow w = Window("mon-fri", "09:00", "17:00", "Europe/Copenhagen");
  EXPECT_TRUE(WindowOpenAt(w, w.tz, Utc(2026, 10, 23, 7, 0)));  // Friday, CEST
  EXPECT_FALSE(WindowOpenAt(w, w.tz, Utc(2026, 10, 23, 15, 0)));
  // Clocks go back on Sunday the 25th: Monday's 09:00 is CET, 08:00Z.
  EXPECT_EQ(NextWindowOpening(w, w.tz, Utc(2026, 10, 23, 15, 0)), Utc(2026, 10, 26, 8, 0));
}

TEST(SendWindow, AnOpeningInTheSkippedHourIsTheTransition) {
  // 02:30 does not exist in Copenhagen on 2026-03-29 (02:00 CET -> 03:00 CEST at 01:00Z).
  const SendWindow w = Window("daily", "02:30", "05:00", "Europe/Copenhagen");
  EXPECT_EQ(NextWindowOpening(w, w.tz, Utc(2026, 3, 29, 0, 15)), Utc(2026, 3, 29, 1, 0));
  EXPECT_TRUE(WindowOpenAt(w, w.tz, Utc(2026, 3, 29, 1, 0)));
  EXPECT_FALSE(WindowOpenAt(w, w.tz, Utc(2026, 3, 29, 0, 59)));
  // The day after: 02:30 CEST = 00:30Z.
  EXPECT_EQ(NextWindowOpening(w, w.tz, Utc(2026, 3, 29, 4, 0)), Utc(2026, 3, 30, 0, 30));
}

TEST(SendWindow, AnOpeningInTheRepeatedHourIsItsFirstOccurrence) {
  // 02:30 happens twice in Copenhagen on 2026-10-25: 00:30Z (CEST) and 01:30Z (CET).
  const SendWindow w = Window("sun", "02:30", "04:00", "Europe/Copenhagen");
  EXPECT_EQ(NextWindowOpening(w, w.tz, Utc(2026, 10, 25, 0, 0)), Utc(2026, 10, 25, 0, 30));
  EXPECT_TRUE(WindowOpenAt(w, w.tz, Utc(2026, 10, 25, 1, 45)));  // 02:45 CET, the second time
  EXPECT_FALSE(WindowOpenAt(w, w.tz, Utc(2026, 10, 25, 3, 0)));   // 04:00 CET
}

TEST(SendWindow, NewYorkChangesOnItsOwnDate) {
  const SendWindow w = Window("daily", "09:00", "17:00", "America/New_York");
  // 2026-03-08: EST -> EDT. Saturday 09:00 EST = 14:00Z, Monday 09:00 EDT = 13:00Z.
  EXPECT_EQ(NextWindowOpening(w, w.tz, Utc(2026, 3, 7, 12, 0)), Utc(2026, 3, 7, 14, 0));
  EXPECT_EQ(NextWindowOpening(w, w.tz, Utc(2026, 3, 8, 22, 0)), Utc(2026, 3, 9, 13, 0));
  EXPECT_EQ(NextWindowOpening(w, w.tz, Utc(2026, 3, 8, 2, 0)), Utc(2026, 3, 8, 13, 0));
}

TEST(SendWindow, OvernightWindowBelongsToTheDayItOpens) {
  const SendWindow w = Window("mon-fri", "22:00", "06:00", "UTC");
  EXPECT_TRUE(WindowOpenAt(w, w.tz, Utc(2026, 12, 4, 23, 0)));   // Friday night
  EXPECT_TRUE(WindowOpenAt(w, w.tz, Utc(2026, 12, 5, 5, 59)));   // Saturday morning, Friday's
  EXPECT_FALSE(WindowOpenAt(w, w.tz, Utc(2026, 12, 5, 6, 0)));
  EXPECT_FALSE(WindowOpenAt(w, w.tz, Utc(2026, 12, 5, 23, 0)));  // Saturday night
  EXPECT_FALSE(WindowOpenAt(w, w.tz, Utc(2026, 12, 7, 3, 0)));   // Sunday's night: not open
  EXPECT_EQ(NextWindowOpening(w, w.tz, Utc(2026, 12, 5, 7, 0)), Utc(2026, 12, 7, 22, 0));
}

TEST(SendWindow, DaysListsRangesAndWraps) {
  EXPECT_EQ(Window("mon-fri", "09:00", "17:00", "UTC").days, 0x1f);
  EXPECT_EQ(Window("sat-sun", "09:00", "17:00", "UTC").days, 0x60);
  EXPECT_EQ(Window("fri-mon", "09:00", "17:00", "UTC").days, 0x71);
  EXPECT_EQ(Window("Mon, Wed,fri", "09:00", "17:00", "UTC").days, 0x15);
  EXPECT_EQ(Window("daily", "00:00", "24:00", "UTC").days, 0x7f);
  EXPECT_EQ(Window("mon-fri", "09:00", "17:00", "Europe/Copenhagen").Describe(),
            "mon,tue,wed,thu,fri 09:00-17:00 Europe/Copenhagen");
}

TEST(SendWindow, BadFieldsAreNamed) {
  auto bad = [](const char* d, const char* f, const char* t, const char* z) {
    auto w = ParseSendWindow(d, f, t, z);
    return w.ok() ? std::string("ok") : std::string(w.status().message());
  };
  EXPECT_TRUE(absl::StrContains(bad("mon-fir", "09:00", "17:00", "UTC"), "window.days"));
  EXPECT_TRUE(absl::StrContains(bad("mon", "9:00", "17:00", "UTC"), "window.from \"9:00\""));
  EXPECT_TRUE(absl::StrContains(bad("mon", "09:00", "25:00", "UTC"), "window.to"));
  EXPECT_TRUE(absl::StrContains(bad("mon", "09:00", "09:00", "UTC"), "same time"));
  EXPECT_TRUE(absl::StrContains(bad("mon", "09:00", "17:00", "Mars/Olympus"), "unknown time zone"));
  EXPECT_TRUE(absl::StrContains(bad("mon", "09:00", "17:00", "../../etc/passwd"),
                                "not an IANA time zone name"));
  EXPECT_FALSE(LoadWindowZone("/etc/localtime").ok());
  EXPECT_TRUE(LoadWindowZone("Asia/Kolkata").ok());
}

}  // namespace
}  // namespace salvo
