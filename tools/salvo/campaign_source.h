// What a campaign is sent from: its files as they are now (`salvo send`, `campaign schedule`),
// or the snapshot stored when it was first scheduled or started (the daemon's runs, `campaign
// resume`), so that editing the files later changes nothing already under way.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/config/campaign.h"
#include "engine/config/config.h"
#include "engine/mime/compiled_campaign.h"
#include "store/campaign_store.h"
#include "store/store.h"

namespace salvo {

struct LoadedCampaign {
  CampaignConfig campaign;
  std::shared_ptr<const CompiledCampaign> compiled;
  CampaignSnapshot snapshot;  // what it was loaded from
};

// Reads the campaign file at `path` (absolute) and the files it names, validates and compiles.
[[nodiscard]] absl::StatusOr<LoadedCampaign> LoadCampaignFiles(const std::string& path,
                                                               const Config& config,
                                                               const std::string& config_file);

// The same from a stored snapshot.
[[nodiscard]] absl::StatusOr<LoadedCampaign> LoadCampaignSnapshot(const CampaignSnapshot& s,
                                                                  const Config& config);

// The campaign `id` as stored: its snapshot, or (records from before snapshots) its
// campaign_file. NotFound when there is neither.
[[nodiscard]] absl::StatusOr<LoadedCampaign> LoadStoredCampaign(Store* store, const std::string& id,
                                                                const Config& config);

}  // namespace salvo
