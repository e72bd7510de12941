// Responder and delivery planning; see responders.h.
#include "tools/salvo/responders.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/base/address.h"
#include "engine/base/clock.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "store/link_store.h"
#include "store/recipient_store.h"
#include "store/suppression_store.h"
#include "tools/salvo/queue_render.h"

namespace salvo {
namespace {

// Sets field `name` of r (fields stay sorted by name, names unique).
void SetField(Recipient* r, std::string_view name, std::string value) {
  auto it = std::lower_bound(r->fields.begin(), r->fields.end(), name,
                             [](const auto& f, std::string_view n) { return f.first < n; });
  if (it != r->fields.end() && it->first == name) it->second = std::move(value);
  else r->fields.emplace(it, std::string(name), std::move(value));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Responders>> Responders::Create(const Config& config, Store* store,
                                                               const KeyRingSlot* keys) {
  std::unique_ptr<Responders> rs(new Responders(config, store));
  if (config.responders.empty() && config.deliveries.empty()) return rs;
  if (!config.tracking || config.tracking->secret.empty())
    return absl::FailedPreconditionError(absl::StrCat(
        config.path, ": [[responder]] / [[delivery]] need [tracking] with base_url and secret_file"));
  if (keys != nullptr) rs->keys_ = keys;
  else rs->own_keys_.Set(KeyRingSlot::MakeRing(config.tracking->secret, config.tracking->previous_secrets));
  if (rs->keys_->Get() == nullptr)
    return absl::FailedPreconditionError(
        absl::StrCat(config.path, ": [[responder]] / [[delivery]] need the [tracking] keys"));
  rs->base_url_ = config.tracking->base_url;
  LinkStore links(store);
  auto compile = [&](std::string_view section, const std::string& name, const std::string& file,
                     CampaignConfig tmpl, Compiled* c) -> absl::Status {
    const std::string where = absl::StrCat("[[", Av(section), "]] \"", name, "\": ");
    if (tmpl.html_file.empty()) {  // a config from ParseConfig (no files read yet)
      auto t = LoadCampaignTemplate(file, name);
      if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat(where, t.status().message()));
      tmpl = *std::move(t);
    }
    auto sender = EnvelopeSenderOf(tmpl.from);
    if (!sender.ok()) return absl::InvalidArgumentError(absl::StrCat(where, sender.status().message()));
    c->sender = *std::move(sender);
    auto compiled = CompileForQueue(tmpl, config, rs->keys_);
    if (!compiled.ok())
      return absl::InvalidArgumentError(absl::StrCat(where, compiled.status().message()));
    c->campaign = *std::move(compiled);
    c->name = name;
    c->origin = absl::StrCat(Av(section), ":", name);
    return links.Put(c->campaign->campaign().id, c->campaign->links());
  };
  for (const ResponderConfig& r : config.responders) {
    Compiled c;
    RETURN_IF_ERROR(compile("responder", r.name, r.template_file, r.tmpl, &c));
    c.list = r.list;
    c.route = r.route;
    c.kind = r.kind;
    c.after_confirmed = r.after == "confirmed";
    c.delay_us = absl::ToInt64Microseconds(r.delay);
    ASSIGN_OR_RETURN(c.segment, Segment::Compile(r.segment));
    rs->items_.push_back(std::move(c));
  }
  for (const DeliveryConfig& d : config.deliveries) {
    Compiled c;
    RETURN_IF_ERROR(compile("delivery", d.name, d.template_file, d.tmpl, &c));
    c.list = d.list;
    c.route = d.route;
    c.delivery = true;
    for (const std::string& to : d.to) {
      auto a = NormalizeAddress(to);
      if (!a.ok())
        return absl::InvalidArgumentError(
            absl::StrCat("[[delivery]] \"", d.name, "\": to: ", a.status().message()));
      c.to.emplace_back(a->address, a->key);
    }
    rs->items_.push_back(std::move(c));
  }
  return rs;
}

bool Responders::DoubleOptIn(std::string_view list) const {
  for (const Compiled& c : items_)
    if (!c.delivery && c.kind == ResponderKind::kDoubleOptIn && c.list == list) return true;
  return false;
}

std::string Responders::ConfirmUrl(std::string_view list, std::string_view address_key) const {
  TokenClaims d;
  d.purpose = TokenPurpose::kConfirm;
  d.campaign_id = std::string(list);
  d.recipient_id = RecipientId(address_key);
  d.issued_at = NowUnixSeconds();
  std::string url = absl::StrCat(base_url_, "/confirm/");
  // Never null after Create: a reload replaces the ring, it never clears it.
  if (const std::shared_ptr<const TokenKeyRing> ring = keys_->Get()) ring->Issue(d, &url);
  return url;
}

absl::StatusOr<Responders::Confirmation> Responders::VerifyConfirmToken(
    std::string_view token) const {
  const std::shared_ptr<const TokenKeyRing> ring = keys_->Get();
  if (!ring || items_.empty()) return absl::NotFoundError("no responders");
  ASSIGN_OR_RETURN(TokenClaims d, ring->Verify(token, TokenPurpose::kConfirm));
  // The token names the lead by hash: the lead stored with it (a 64-bit collision among stored
  // leads is refused rather than guessed).
  ASSIGN_OR_RETURN(std::vector<std::string> keys, RecipientStore(store_).KeysWithHash(d.recipient_id, 2));
  if (keys.size() != 1) return absl::NotFoundError("no single lead for the token");
  const absl::Duration max_age =
      config_.tracking ? config_.tracking->confirm_max_age : absl::ZeroDuration();
  const bool expired = max_age > absl::ZeroDuration() &&
                       ProcessClock().Now() - absl::FromUnixSeconds(d.issued_at) > max_age;
  return Confirmation{std::move(d.campaign_id), std::move(keys[0]), expired};
}

absl::Status Responders::Add(const Compiled& c, const Recipient& lead, uint32_t row,
                             int64_t now_us, std::vector<NewMessage>* out,
                             std::vector<PlannedMessage>* planned) const {
  auto queue = [&](const Recipient& r) -> absl::Status {
    ASSIGN_OR_RETURN(std::string body, RenderForQueue(*c.campaign, r));
    NewMessage m;
    m.route = c.route;
    m.sender = c.sender;
    m.recipients = {r.address};
    m.body = std::move(body);
    m.origin = c.origin;
    m.not_before_us = c.delay_us > 0 ? now_us + c.delay_us : 0;
    out->push_back(std::move(m));
    planned->push_back({row, c.name, c.delivery});
    return absl::OkStatus();
  };
  if (!c.delivery) {
    if (c.kind != ResponderKind::kDoubleOptIn) return queue(lead);
    Recipient r = lead;
    SetField(&r, "confirm_url", ConfirmUrl(c.list, lead.key));
    return queue(r);
  }
  Recipient r;
  r.fields = lead.fields;
  SetField(&r, "lead_email", lead.address);
  for (const auto& [address, key] : c.to) {
    r.address = address;
    r.key = key;
    RETURN_IF_ERROR(queue(r));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<NewMessage>> Responders::Plan(
    std::string_view list, LeadTrigger trigger, const std::vector<UpsertRowChange>& changes,
    std::vector<PlannedMessage>* planned) const {
  std::vector<NewMessage> out;
  planned->clear();
  const bool arrived = trigger == LeadTrigger::kArrived;
  const bool again = trigger == LeadTrigger::kConfirmAgain;
  std::vector<const UpsertRowChange*> due;
  for (const UpsertRowChange& ch : changes)
    if (again ? !ch.merged->HasConsent() : arrived ? ch.new_member : ch.gained_consent)
      due.push_back(&ch);
  if (due.empty() || items_.empty()) return out;
  std::vector<std::string_view> keys;
  for (const UpsertRowChange* ch : due) keys.push_back(ch->merged->key);
  std::vector<bool> suppressed;
  RETURN_IF_ERROR(SuppressionStore(store_).CheckBatch(keys, &suppressed));
  const int64_t now_us = NowUnixMicros();
  for (size_t k = 0; k < due.size(); ++k) {
    const Recipient& lead = *due[k]->merged;
    for (const Compiled& c : items_) {
      if (c.list != list) continue;
      if (again && (c.delivery || c.kind != ResponderKind::kDoubleOptIn)) continue;
      if (c.delivery) {
        if (arrived) RETURN_IF_ERROR(Add(c, lead, due[k]->row, now_us, &out, planned));
        continue;
      }
      if (!again && c.after_confirmed == arrived) continue;
      if (suppressed[k]) continue;
      if (c.kind == ResponderKind::kMarketing && !lead.HasConsent()) continue;
      if (!c.segment.empty() && !c.segment.Matches(lead)) continue;
      RETURN_IF_ERROR(Add(c, lead, due[k]->row, now_us, &out, planned));
    }
  }
  return out;
}

}  // namespace salvo
