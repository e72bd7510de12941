// Queue rendering; see queue_render.h.
#include "tools/salvo/queue_render.h"

#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

Config WithoutDkim(const Config& config) {
  Config c = config;
  c.dkim.clear();
  return c;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CompiledCampaign>> CompileForQueue(
    const CampaignConfig& campaign, const Config& config, const KeyRingSlot* keys) {
  RenderEnv env;
  env.keys = keys;
  return CompileCampaign(campaign, WithoutDkim(config), env);
}

absl::StatusOr<std::shared_ptr<const CompiledCampaign>> CompileForQueueFromSources(
    const CampaignConfig& campaign, const Config& config, std::string html,
    std::optional<std::string> text, const KeyRingSlot* keys) {
  RenderEnv env;
  env.keys = keys;
  return CompileCampaignFromSources(campaign, WithoutDkim(config), std::move(html),
                                    std::move(text), env);
}

absl::StatusOr<std::string> RenderForQueue(const CompiledCampaign& c, const Recipient& r) {
  thread_local RenderedMessage m;
  if (absl::Status st = c.Render(r, &m); !st.ok()) return st;
  std::string body = m.Flatten();
  // The header block ends at the first empty line; X-Salvo-ID is one line in it (ours).
  const size_t end = body.find("\r\n\r\n");
  const size_t at = body.rfind("\r\nX-Salvo-ID: ", end);
  if (at != std::string::npos && end != std::string::npos) {
    const size_t eol = body.find("\r\n", at + 2);
    body.erase(at, eol - at);
  }
  return body;
}

absl::StatusOr<std::string> EnvelopeSenderOf(std::string_view from) {
  std::string_view a = from;
  const size_t lt = from.rfind('<');
  if (lt != std::string_view::npos) {
    const size_t gt = from.find('>', lt);
    if (gt == std::string_view::npos)
      return absl::InvalidArgumentError(absl::StrCat("from \"", Av(from), "\": no closing '>'"));
    a = from.substr(lt + 1, gt - lt - 1);
  }
  auto n = NormalizeAddress(a);
  if (!n.ok()) return absl::InvalidArgumentError(absl::StrCat("from: ", n.status().message()));
  return n->address;
}

}  // namespace salvo
