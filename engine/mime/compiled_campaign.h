// A campaign compiled once for sending: the template is split into constant byte segments
// (already quoted-printable encoded, header-encoded, and for DKIM pre-hashed where possible) and
// slots (recipient fields, tracking tokens, Message-ID, To, Date). Render() fills the slots for
// one recipient and returns the message as a list of buffers (RenderedMessage::segments).
//
// Thread safety: a CompiledCampaign is immutable after CompileCampaign returns; Render() is const
// and may be called from any number of threads at once. Keep the shared_ptr alive while any
// RenderedMessage produced by it is in use (constant segments point into it).
//
// Trust: recipient fields are hostile (CR/LF, `=?`, invalid UTF-8, huge values): they are
// sanitized and encoded so that they can never create a header line, a bare CR/LF or a line over
// 998 octets. Template files are operator input but are encoded the same way.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/base/clock.h"
#include "engine/base/recipient.h"
#include "engine/config/campaign.h"
#include "engine/links/key_ring_slot.h"
#include "engine/config/config.h"
#include "engine/mime/rendered_message.h"

namespace salvo {

// What rendering takes from outside: the clock (Date header, DKIM signing time) and the
// randomness of Message-IDs. Tests pass their own.
struct RenderEnv {
  const Clock* clock = &ProcessClock();
  RandomSource random = &SystemRandom64;
  // When set (the daemon's responders and inject API), every Render signs its tokens and tag
  // with this slot's current ring, so a key reload applies to templates compiled before it;
  // null: the [tracking] secret at compile time signs. It must outlive the campaign.
  const KeyRingSlot* keys = nullptr;
};

class CompiledCampaign {
 public:
  virtual ~CompiledCampaign() = default;

  virtual const CampaignConfig& campaign() const = 0;

  // The campaign's link table: link index (as carried in click tokens) -> original URL.
  // Store it with LinkStore::Put(campaign().id, links()) before sending.
  virtual const std::vector<std::string>& links() const = 0;

  // Fills *out (cleared first) with the message for `r`: envelope_from (VERP
  // bounces+TOKEN@domain), recipient, segments, size, flags. DKIM-Signature header(s) come first
  // when [[dkim]] is configured. Fails only for an unusable recipient address.
  [[nodiscard]] virtual absl::Status Render(const Recipient& r, RenderedMessage* out) const = 0;
};

// Reads campaign.html_file / text_file, parses the HTML (gumbo), rewrites links, compiles the
// template and loads the DKIM keys of config.dkim. Needs config.tracking with base_url and a
// secret. Errors name the campaign file, template file or key file at fault.
[[nodiscard]] absl::StatusOr<std::shared_ptr<const CompiledCampaign>> CompileCampaign(
    const CampaignConfig& campaign, const Config& config, RenderEnv env = {});

// Same with the template given in memory (tests, benchmarks); html_file / text_file are ignored.
// `text` nullopt: the text part is generated from the HTML.
[[nodiscard]] absl::StatusOr<std::shared_ptr<const CompiledCampaign>> CompileCampaignFromSources(
    const CampaignConfig& campaign, const Config& config, std::string html,
    std::optional<std::string> text, RenderEnv env = {});

}  // namespace salvo
