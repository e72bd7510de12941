// Rendering single messages for the daemon's queue (responders, deliveries, the inject API) with
// the campaign compiler (engine/mime/compiled_campaign.h): the same personalization, tracked
// links, open pixel and one-click unsubscribe as a broadcast, but unsigned and without
// X-Salvo-ID, because the delivery loop signs (DKIM) and tags (X-Salvo-ID, VERP) each queue entry
// at send time.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/base/recipient.h"
#include "engine/config/campaign.h"
#include "engine/config/config.h"
#include "engine/mime/compiled_campaign.h"

namespace salvo {

// Compiles `campaign` (template files, or html/text given) for queued mail: [[dkim]] is left out.
// `keys`: the daemon's tracking key ring, whose current key then signs every rendered message's
// tokens (a SIGHUP reload applies to templates compiled before it); null: config's secret.
[[nodiscard]] absl::StatusOr<std::shared_ptr<const CompiledCampaign>> CompileForQueue(
    const CampaignConfig& campaign, const Config& config, const KeyRingSlot* keys = nullptr);
[[nodiscard]] absl::StatusOr<std::shared_ptr<const CompiledCampaign>> CompileForQueueFromSources(
    const CampaignConfig& campaign, const Config& config, std::string html,
    std::optional<std::string> text, const KeyRingSlot* keys = nullptr);

// The message for `r` as queue body bytes: CRLF, no DKIM-Signature, no X-Salvo-ID.
[[nodiscard]] absl::StatusOr<std::string> RenderForQueue(const CompiledCampaign& c,
                                                         const Recipient& r);

// The address of a From value ("Name <a@b>" or "a@b"), normalized: the envelope sender of
// queued mail (the delivery loop turns it into a VERP address).
[[nodiscard]] absl::StatusOr<std::string> EnvelopeSenderOf(std::string_view from);

}  // namespace salvo
