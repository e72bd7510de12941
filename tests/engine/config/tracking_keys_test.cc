#include "engine/config/tracking_keys.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

TEST(TrackingKeys, CurrentPreviousFilesAndTheKeyRingFile) {
  test::TempDir dir;
  dir.Write("tracking.key", "current-key\n");
  dir.Write("old.key", "listed-in-config\n");
  dir.Write("tracking.key.previous", "rotated-2\n\n  rotated-1  \n");
  dir.Write("salvo.toml",
            "[tracking]\nbase_url = \"https://t.example.com\"\nsecret_file = \"tracking.key\"\n"
            "previous_secret_files = [\"old.key\"]\ntoken_max_age = \"400d\"\n"
            "expired_url = \"https://www.example.com/expired\"\nconfirm_max_age = \"7d\"\n");
  auto c = LoadConfig(dir.File("salvo.toml"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tracking->secret, "current-key");
  EXPECT_EQ(c->tracking->previous_secrets,
            (std::vector<std::string>{"listed-in-config", "rotated-2", "rotated-1"}));
  EXPECT_EQ(c->tracking->token_max_age, absl::Hours(24 * 400));
  EXPECT_EQ(c->tracking->expired_url, "https://www.example.com/expired");
  EXPECT_EQ(c->tracking->confirm_max_age, absl::Hours(24 * 7));
  EXPECT_EQ(PreviousKeysPath(dir.File("tracking.key")), dir.File("tracking.key.previous"));
}

TEST(TrackingKeys, ConfirmLinksLiveThirtyDaysUnlessSet) {
  EXPECT_EQ(TrackingConfig().confirm_max_age, absl::Hours(24 * 30));
  EXPECT_EQ(TrackingConfig().token_max_age, absl::ZeroDuration());  // click tokens: never
}

TEST(TrackingKeys, ErrorsNameTheFileAndTheKey) {
  test::TempDir dir;
  dir.Write("tracking.key", "current-key\n");
  dir.Write("salvo.toml",
            "[tracking]\nbase_url = \"https://t.example.com\"\nsecret_file = \"tracking.key\"\n"
            "previous_secret_files = [\"missing.key\"]\n");
  auto c = LoadConfig(dir.File("salvo.toml"));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "previous_secret_files")) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "missing.key")) << c.status();
  dir.Write("salvo.toml",
            "[tracking]\nbase_url = \"https://t.example.com\"\nsecret_file = \"tracking.key\"\n"
            "expired_url = \"javascript:alert(1)\"\n");
  c = LoadConfig(dir.File("salvo.toml"));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "expired_url")) << c.status();
}

}  // namespace
}  // namespace salvo
