// The daemon's [[responder]] and [[delivery]] sections made ready to send: each template is
// compiled once at start (tools/salvo/queue_render.h) and its link table stored for click
// redirects. Plan() turns the changes of a leads upsert (or of a double opt-in confirmation)
// into the messages to queue in the same write (RecipientStore::UpsertAndEnqueue):
//   lead new to the list  -> every responder of the list without `after` (confirmation: always;
//                            marketing: only with consent; double_opt_in: a {{confirm_url}}
//                            message), and every delivery of the list (to its `to` addresses,
//                            the lead's fields filling the template, {{lead_email}} its address)
//   lead confirmed        -> every marketing responder of the list with after = "confirmed"
//   confirm link again    -> the list's double_opt_in responder, for a lead still without consent
// A responder is never queued to a suppressed address (checked here; the delivery loop checks
// again before sending) nor to a lead outside its segment. Thread-safe after Create.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "engine/links/key_ring_slot.h"
#include "engine/links/token.h"
#include "engine/mime/compiled_campaign.h"
#include "engine/policy/segment.h"
#include "store/recipient_store.h"
#include "store/store.h"

namespace salvo {

// kConfirmAgain: a lead without consent asked for a new confirm link (its old one expired).
enum class LeadTrigger { kArrived, kConfirmed, kConfirmAgain };

// One planned message: which upserted row and which responder / delivery it is for.
struct PlannedMessage {
  uint32_t row = 0;
  std::string name;  // responder or delivery name
  bool delivery = false;
};

class Responders {
 public:
  // Compiles every template (errors name the responder) and stores the link tables. Needs
  // [tracking] (base_url, secret) when any responder or delivery is configured. `keys`: the
  // daemon's tracking key ring (reloaded on SIGHUP; it outlives this), which signs and verifies
  // confirm tokens; null: a ring of config's [tracking] keys, fixed.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Responders>> Create(
      const Config& config, Store* store, const KeyRingSlot* keys = nullptr);

  // The list has a double_opt_in responder: posted consent is not taken, confirmation gives it.
  bool DoubleOptIn(std::string_view list) const;

  // The messages for `changes` (see the header comment); planned[i] says what messages[i] is.
  [[nodiscard]] absl::StatusOr<std::vector<NewMessage>> Plan(
      std::string_view list, LeadTrigger trigger, const std::vector<UpsertRowChange>& changes,
      std::vector<PlannedMessage>* planned) const;

  // {base_url}/confirm/{token} for a lead of `list`.
  std::string ConfirmUrl(std::string_view list, std::string_view address_key) const;
  // The list and address key of a confirmation token (its recipient id resolved through the
  // store's address-hash index); an error when it is not one or names no stored lead. `expired`:
  // issued longer than [tracking] confirm_max_age ago (by the process clock).
  struct Confirmation {
    std::string list;
    std::string address_key;
    bool expired = false;
  };
  [[nodiscard]] absl::StatusOr<Confirmation> VerifyConfirmToken(std::string_view token) const;

 private:
  struct Compiled {
    std::string name;
    std::string list;
    std::string route;
    std::string sender;
    std::string origin;           // "responder:NAME" / "delivery:NAME"
    ResponderKind kind = ResponderKind::kConfirmation;
    bool after_confirmed = false;
    bool delivery = false;
    int64_t delay_us = 0;
    std::vector<std::pair<std::string, std::string>> to;  // deliveries: (address, key)
    Segment segment;
    std::shared_ptr<const CompiledCampaign> campaign;
  };

  Responders(const Config& config, Store* store) : config_(config), store_(store) {}
  // Appends the message of `c` for `lead` (a responder) or for each `to` (a delivery).
  [[nodiscard]] absl::Status Add(const Compiled& c, const Recipient& lead, uint32_t row,
                                 int64_t now_us, std::vector<NewMessage>* out,
                                 std::vector<PlannedMessage>* planned) const;

  const Config& config_;
  Store* store_;
  std::vector<Compiled> items_;
  KeyRingSlot own_keys_;                  // without a daemon's slot: config's keys
  const KeyRingSlot* keys_ = &own_keys_;  // confirm tokens: the current key signs
  std::string base_url_;
};

}  // namespace salvo
