// Campaign file parser (TOML via header-only toml++, exceptions off so errors stay values).
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include "engine/config/campaign.h"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <set>
#include <toml++/toml.h>

#include "absl/strings/str_cat.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

constexpr size_t kMaxCampaignFile = 1 << 20;

std::string LineOf(const toml::node& n) { return std::to_string(n.source().begin.line); }

std::string ResolveAgainst(const std::string& dir, const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  return (std::filesystem::path(dir) / p).lexically_normal().string();
}

// window = { days = "mon-fri", from = "09:00", to = "17:00", tz = "Europe/Copenhagen" }
absl::StatusOr<SendWindow> ParseWindow(const toml::node& v, const std::string& path) {
  auto err = [&](const toml::node& n, std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", LineOf(n), ": ", Av(what)));
  };
  const toml::table* t = v.as_table();
  if (!t) return err(v, "\"window\" must be a table { days, from, to, tz }");
  std::string fields[5];  // days, from, to, tz, per_recipient_tz
  static constexpr const char* kKeys[5] = {"days", "from", "to", "tz", "per_recipient_tz"};
  for (const auto& [k, f] : *t) {
    const std::string key(k.str());
    const auto* pos = std::find(std::begin(kKeys), std::end(kKeys), key);
    if (pos == std::end(kKeys)) return err(f, absl::StrCat("unknown key \"window.", key, "\""));
    auto s = f.value<std::string>();
    if (!s || !f.is_string() || s->size() > 128)
      return err(f, absl::StrCat("\"window.", key, "\" must be a string"));
    fields[pos - std::begin(kKeys)] = *s;
  }
  if (fields[1].empty() || fields[2].empty())
    return err(v, "\"window\" needs from and to (\"HH:MM\")");
  auto w = ParseSendWindow(fields[0], fields[1], fields[2], fields[3]);
  if (!w.ok()) return err(v, Sv(w.status().message()));
  w->per_recipient_tz = fields[4];
  return w;
}

// A template (responders) leaves out what its section names: list, segment, route.
[[nodiscard]] absl::StatusOr<CampaignConfig> ParseCampaignFile(std::string_view text,
                                                               const std::string& path,
                                                               const std::string* template_id) {
  if (text.size() > kMaxCampaignFile)
    return absl::InvalidArgumentError(absl::StrCat(path, ": campaign file larger than 1 MB"));
  toml::parse_result res = toml::parse(text, path);
  if (!res) {
    const auto& e = res.error();
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.source().begin.line, ": ",
                                                   Av(e.description())));
  }
  const toml::table& t = res.table();
  CampaignConfig c;
  c.path = path;
  std::string per_recipient_tz;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  c.base_dir = dir.empty() ? "." : dir.string();

  auto err = [&](const toml::node& n, std::string_view key, std::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", LineOf(n), ": \"", Av(key), "\" ", Av(what)));
  };
  const std::set<std::string> kStrings = {"id",      "list",      "segment",  "route", "from",
                                          "reply_to", "subject", "html_file", "text_file"};
  for (const auto& [k, v] : t) {
    std::string key(k.str());
    if (template_id != nullptr && (key == "list" || key == "segment" || key == "route"))
      return err(v, key, "is set by the [[responder]] / [[delivery]] section, not the template");
    if (kStrings.count(key)) {
      auto s = v.value<std::string>();
      if (!s || !v.is_string()) return err(v, key, "must be a string");
      if (s->size() > 64 * 1024) return err(v, key, "is longer than 64 KB");
      if (key == "id") c.id = *s;
      else if (key == "list") c.list = *s;
      else if (key == "segment") c.segment = *s;
      else if (key == "route") c.route = *s;
      else if (key == "from") c.from = *s;
      else if (key == "reply_to") c.reply_to = *s;
      else if (key == "subject") c.subject = *s;
      else if (key == "html_file") c.html_file = *s;
      else if (key == "text_file") c.text_file = *s;
      if (key != "segment" && key != "subject" && HasLineBreak(*s))
        return err(v, key, "must not contain a line break");
    } else if (key == "track_clicks" || key == "track_opens") {
      auto b = v.value<bool>();
      if (!b || !v.is_boolean()) return err(v, key, "must be true or false");
      (key == "track_clicks" ? c.track_clicks : c.track_opens) = *b;
    } else if (key == "window") {
      ASSIGN_OR_RETURN(c.window, ParseWindow(v, path));
    } else if (key == "per_recipient_tz") {
      auto s = v.value<std::string>();
      if (!s || !v.is_string() || s->empty() || s->size() > 64)
        return err(v, key, "must be the name of a recipient field");
      per_recipient_tz = *s;
    } else if (key == "headers") {
      const toml::table* h = v.as_table();
      if (!h) return err(v, key, "must be a table of strings");
      for (const auto& [hk, hv] : *h) {
        std::string name(hk.str());
        auto s = hv.value<std::string>();
        if (!s || !hv.is_string()) return err(hv, "headers." + name, "must be a string");
        if (!ValidHeaderName(name)) return err(hv, "headers." + name, "is not a valid header name");
        if (HasLineBreak(*s)) return err(hv, "headers." + name, "must not contain a line break");
        if (s->size() > 900) return err(hv, "headers." + name, "is longer than 900 bytes");
        c.headers.emplace_back(name, *s);
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", LineOf(v), ": unknown key \"", key, "\""));
    }
  }
  auto missing = [&](const char* key) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": missing required key \"", key, "\""));
  };
  if (c.id.empty() && template_id != nullptr) c.id = *template_id;
  if (c.id.empty()) return missing("id");
  if (!IsNameToken(c.id, 64))
    return err(*t.get("id"), "id", "must be 1-64 characters of A-Z a-z 0-9 . _ -");
  if (c.list.empty() && template_id == nullptr) return missing("list");
  if (c.from.empty()) return missing("from");
  if (c.subject.empty()) return missing("subject");
  if (c.html_file.empty()) return missing("html_file");
  if (!per_recipient_tz.empty()) {
    if (!c.window)
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": \"per_recipient_tz\" needs a \"window\""));
    c.window->per_recipient_tz = per_recipient_tz;
  }
  c.html_file = ResolveAgainst(c.base_dir, c.html_file);
  c.text_file = ResolveAgainst(c.base_dir, c.text_file);
  return c;
}

}  // namespace

bool ValidHeaderName(std::string_view s) {
  if (s.empty() || s.size() > 76) return false;
  for (char c : s)
    if (c <= 32 || c >= 127 || c == ':') return false;
  return true;
}

[[nodiscard]]
absl::StatusOr<CampaignConfig> ParseCampaign(std::string_view text, const std::string& path) {
  return ParseCampaignFile(text, path, nullptr);
}

[[nodiscard]] absl::StatusOr<CampaignConfig> LoadCampaign(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4u << 20, "campaign file"));
  return ParseCampaign(text, path);
}

absl::StatusOr<CampaignConfig> ParseCampaignTemplate(std::string_view text, const std::string& path,
                                                     const std::string& default_id) {
  return ParseCampaignFile(text, path, &default_id);
}

absl::StatusOr<CampaignConfig> LoadCampaignTemplate(const std::string& path,
                                                    const std::string& default_id) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4u << 20, "template file"));
  return ParseCampaignTemplate(text, path, default_id);
}

}  // namespace salvo
