// See bounce_tag_resolver.h.
#include "tools/salvo/bounce_tag_resolver.h"

#include <optional>
#include <vector>

#include "engine/base/shard.h"
#include "store/campaign_store.h"
#include "store/queue_store.h"
#include "store/recipient_store.h"

namespace salvo {

bool BounceTagResolver::Resolve(std::string_view tag, std::string* campaign_id,
                                std::string* address_key) {
  campaign_id->clear();
  address_key->clear();
  if (tag.size() == kBounceTagChars) {
    auto b = signer_->VerifyBounceTag(tag);
    if (!b.ok()) return false;
    *campaign_id = CampaignFor(b->campaign_ref);
    if (campaign_id->empty() && QueueEntryFor(*b, campaign_id, address_key)) return true;
    *address_key = AddressFor(b->address_hash, *campaign_id);
    return true;
  }
  auto d = signer_->Verify(tag);  // the full token of mail sent before the compact tag
  if (!d.ok() || d->kind != TokenKind::kBounce) return false;
  *campaign_id = d->campaign_id;
  *address_key = d->address_key;
  return true;
}

std::string BounceTagResolver::CampaignFor(uint32_t ref) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = campaigns_.find(ref);
  if (it != campaigns_.end()) return it->second;
  auto list = CampaignStore(store_).List();
  if (!list.ok()) return "";
  campaigns_.clear();
  for (const CampaignRecord& c : *list) {
    uint32_t r = CampaignRef(c.id);
    // Two ids sharing a 32-bit ref (vanishingly rare): neither is named.
    auto [at, fresh] = campaigns_.emplace(r, c.id);
    if (!fresh) at->second.clear();
  }
  it = campaigns_.find(ref);
  return it != campaigns_.end() ? it->second : "";
}

bool BounceTagResolver::QueueEntryFor(const BounceTag& tag, std::string* id,
                                      std::string* address_key) {
  QueueStore queue(store_);
  auto ids = queue.ByAddressHash(tag.address_hash, 10000);
  if (!ids.ok()) return false;
  for (auto it = ids->rbegin(); it != ids->rend(); ++it) {  // newest first
    if (CampaignRef(*it) != tag.campaign_ref) continue;
    auto e = queue.Get(*it);
    if (!e.ok()) return false;
    *id = e->id;
    *address_key = e->address_key;
    return true;
  }
  return false;
}

std::string BounceTagResolver::AddressFor(uint64_t hash, std::string_view campaign_id) {
  auto keys = RecipientStore(store_).KeysWithHash(hash);
  if (!keys.ok() || keys->empty()) return "";
  if (keys->size() == 1) return keys->front();
  // A 64-bit collision among stored recipients: take the one this campaign sent to.
  if (campaign_id.empty()) return "";
  std::vector<uint32_t> shards(keys->size(), static_cast<uint32_t>(hash % kVirtualShards));
  std::vector<std::string_view> views(keys->begin(), keys->end());
  std::vector<std::optional<ProgressRecord>> progress;
  if (!CampaignStore(store_).GetProgress(campaign_id, shards, views, &progress).ok()) return "";
  std::string found;
  for (size_t i = 0; i < progress.size(); ++i) {
    if (!progress[i]) continue;
    if (!found.empty()) return "";  // still ambiguous
    found = (*keys)[i];
  }
  return found;
}

}  // namespace salvo
