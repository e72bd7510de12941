// Resolves salvo's VERP / X-Salvo-ID / mailto bounce tags to (campaign id, recipient address
// key), or for mail of the durable queue to (entry id, address key) through
// QueueStore::ByAddressHash; and the opaque recipient id of tracking tokens to the address. Tags
// and tokens (engine/links/token.h) name the recipient by its address hash, so after the HMAC check the
// campaign is looked up among the store's campaign records and the recipient in the address-hash
// index (store/recipient_store.h KeysWithHash). Thread-safe; the campaign table is cached and
// re-read when a tag names an unknown campaign.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/links/key_ring_slot.h"
#include "engine/links/token.h"
#include "store/store.h"

namespace salvo {

class BounceTagResolver {
 public:
  BounceTagResolver(Store* store, const KeyRingSlot* keys) : store_(store), keys_(keys) {}

  // True when `tag` is authentic. *campaign_id is "" when no stored campaign matches the tag
  // (deleted, or a `salvo render` preview); *address_key is "" when no stored recipient does.
  bool Resolve(std::string_view tag, std::string* campaign_id, std::string* address_key);

  // The stored recipient whose RecipientId is `id` ("" when none, or when several share it and
  // `campaign_id` did not send to exactly one of them).
  std::string AddressFor(uint64_t id, std::string_view campaign_id);

 private:
  std::string CampaignFor(uint32_t ref);
  // A queued message's tag (campaign = entry id, store/queue_store.h): its id and address key.
  bool QueueEntryFor(const BounceTag& tag, std::string* id, std::string* address_key);

  Store* store_;
  const KeyRingSlot* keys_;
  std::mutex mu_;
  std::unordered_map<uint32_t, std::string> campaigns_;  // CampaignRef -> id (guarded by mu_)
};

}  // namespace salvo
