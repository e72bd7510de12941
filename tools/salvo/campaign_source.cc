#include "tools/salvo/campaign_source.h"

#include "absl/strings/str_cat.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"

namespace salvo {
namespace {
constexpr size_t kMaxCampaignFile = 4u << 20;
constexpr size_t kMaxTemplate = 4u << 20;
}  // namespace

absl::StatusOr<LoadedCampaign> LoadCampaignSnapshot(const CampaignSnapshot& s,
                                                    const Config& config) {
  LoadedCampaign out;
  ASSIGN_OR_RETURN(out.campaign, ParseCampaign(s.campaign_toml, s.campaign_path));
  ASSIGN_OR_RETURN(out.compiled,
                   CompileCampaignFromSources(out.campaign, config, s.html, s.text));
  out.snapshot = s;
  return out;
}

absl::StatusOr<LoadedCampaign> LoadCampaignFiles(const std::string& path, const Config& config,
                                                 const std::string& config_file) {
  CampaignSnapshot s;
  s.campaign_path = path;
  s.config_file = config_file;
  ASSIGN_OR_RETURN(s.campaign_toml, ReadFile(path, kMaxCampaignFile, "campaign file"));
  // Parsed once to learn the template files' paths (resolved against the campaign file).
  ASSIGN_OR_RETURN(CampaignConfig c, ParseCampaign(s.campaign_toml, path));
  ASSIGN_OR_RETURN(s.html, ReadFile(c.html_file, kMaxTemplate, "html_file"));
  if (!c.text_file.empty()) {
    ASSIGN_OR_RETURN(std::string t, ReadFile(c.text_file, kMaxTemplate, "text_file"));
    s.text = std::move(t);
  }
  return LoadCampaignSnapshot(s, config);
}

absl::StatusOr<LoadedCampaign> LoadStoredCampaign(Store* store, const std::string& id,
                                                  const Config& config) {
  CampaignStore cs(store);
  ASSIGN_OR_RETURN(std::optional<CampaignSnapshot> snap, cs.GetSnapshot(id));
  if (snap) return LoadCampaignSnapshot(*snap, config);
  ASSIGN_OR_RETURN(std::optional<CampaignRecord> rec, cs.Get(id));
  if (!rec) return absl::NotFoundError(absl::StrCat("no campaign \"", id, "\""));
  if (rec->campaign_file.empty())
    return absl::NotFoundError(
        absl::StrCat("campaign \"", id, "\" has neither a stored snapshot nor a campaign file"));
  return LoadCampaignFiles(rec->campaign_file, config, rec->config_file);
}

}  // namespace salvo
