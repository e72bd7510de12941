// Leads API and confirmation page; see api_leads.h.
#include "tools/salvo/api_leads.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "engine/base/clock.h"
#include "engine/base/json.h"
#include "engine/base/shard.h"
#include "engine/base/strings.h"
#include "store/idempotency_store.h"
#include "store/leads_request.h"
#include "store/queue_store.h"
#include "store/recipient_store.h"

namespace salvo {
namespace {

HttpResponse ConfirmPage(int status, std::string_view title, std::string_view text) {
  return Html(status, title, absl::StrCat("<h1>", Av(title), "</h1><p>", Av(text), "</p>"));
}

bool TokenChars(std::string_view t) {
  for (char c : t)
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return !t.empty() && t.size() <= 1024;
}

}  // namespace

HttpResponse LeadsApi::Post(const HttpRequest& req, std::string_view list) {
  if (absl::Status st = RecipientStore::ValidateListName(list); !st.ok())
    return JsonError(400, absl::StrCat("list: ", st.message()));
  auto parsed = ParseLeadsRequest(req.body);
  if (!parsed.ok()) return JsonError(400, parsed.status());
  LeadsRequest& in = *parsed;
  if (responders_->DoubleOptIn(list))
    for (Recipient& r : in.leads) r.consent = Consent{};
  std::vector<PlannedMessage> planned;
  std::vector<std::string> ids;
  const EnqueuePlan plan = [&](const std::vector<UpsertRowChange>& changes) {
    return responders_->Plan(list, LeadTrigger::kArrived, changes, &planned);
  };
  auto counts = RecipientStore(store_).UpsertAndEnqueue(list, in.leads, plan, &ids);
  if (!counts.ok())
    return JsonError(absl::IsInvalidArgument(counts.status()) ? 400 : 503, counts.status());
  std::string j = absl::StrCat("{\"accepted\":", in.leads.size(), ",\"rejected\":[");
  for (size_t i = 0; i < in.rejected.size(); ++i) {
    absl::StrAppend(&j, i ? "," : "", "{\"index\":", in.rejected[i].index, ",\"error\":");
    AppendJsonString(&j, in.rejected[i].error);
    j.push_back('}');
  }
  j.append("],\"queued\":[");
  for (size_t i = 0; i < planned.size() && i < ids.size(); ++i) {
    absl::StrAppend(&j, i ? "," : "", "{\"index\":", in.index[planned[i].row],
                    planned[i].delivery ? ",\"delivery\":" : ",\"responder\":");
    AppendJsonString(&j, planned[i].name);
    j.append(",\"id\":");
    AppendJsonString(&j, ids[i]);
    j.push_back('}');
  }
  j.append("]}");
  return Json(202, std::move(j));
}

HttpResponse LeadsApi::Confirm(const HttpRequest& req, std::string_view token) {
  auto invalid = [] { return ConfirmPage(404, "Not found", "This confirmation link is not valid."); };
  if (!TokenChars(token)) return invalid();
  auto d = responders_->VerifyConfirmToken(token);
  if (!d.ok()) return invalid();
  if (d->expired) return ConfirmExpired(req, token, *d);
  if (req.method == "GET" || req.method == "HEAD") {
    // The token is URL-safe base64 (checked above): it goes into the page as it is.
    return Html(200, "Confirm your address",
                absl::StrCat("<h1>Confirm your address</h1><p>Confirm <b>", HtmlEscape(d->address_key),
                             "</b> for our mailings?</p><form method=\"post\" action=\"/confirm/",
                             Av(token), "\"><button type=\"submit\">Confirm</button></form>"));
  }
  if (req.method != "POST") return Text(405, "method not allowed");
  RecipientStore rs(store_);
  auto stored = rs.Get(d->address_key);
  if (!stored.ok()) return ConfirmPage(503, "Try again later", "We cannot confirm right now.");
  if (!stored->has_value()) return invalid();
  const Recipient& s = **stored;
  if (s.HasConsent())
    return ConfirmPage(200, "Confirmed", "Your address was already confirmed. Thank you!");
  Recipient r;
  r.address = s.address;
  r.key = s.key.empty() ? d->address_key : s.key;
  r.shard = ShardOf(r.key);
  r.consent.opted_in_at = FormatUnixTime(NowUnixSeconds());
  r.consent.source = "double_opt_in";
  r.consent.ip = std::string(req.client_ip);
  const std::string list = d->list;
  std::vector<PlannedMessage> planned;
  std::vector<std::string> ids;
  const EnqueuePlan plan = [&](const std::vector<UpsertRowChange>& changes) {
    return responders_->Plan(list, LeadTrigger::kConfirmed, changes, &planned);
  };
  auto counts = rs.UpsertAndEnqueue(list, {r}, plan, &ids);
  if (!counts.ok()) return ConfirmPage(503, "Try again later", "We cannot confirm right now.");
  return ConfirmPage(200, "Confirmed", "Thank you: your address is confirmed.");
}

// An expired link confirms nothing: GET offers a new link, POST queues it (the list's
// double_opt_in message with a fresh token) unless the lead meanwhile confirmed or is
// suppressed. Only the holder of the old link can ask, and each ask is one message to them.
HttpResponse LeadsApi::ConfirmExpired(const HttpRequest& req, std::string_view token,
                                      const Responders::Confirmation& d) {
  auto unavailable = [] {
    return ConfirmPage(503, "Try again later", "We cannot confirm right now.");
  };
  auto stored = RecipientStore(store_).Get(d.address_key);
  if (!stored.ok()) return unavailable();
  if (!stored->has_value())
    return ConfirmPage(404, "Not found", "This confirmation link is not valid.");
  if ((*stored)->HasConsent())
    return ConfirmPage(200, "Confirmed", "Your address was already confirmed. Thank you!");
  if (req.method == "GET" || req.method == "HEAD")
    return Html(410, "Link expired",
                absl::StrCat("<h1>Link expired</h1><p>This confirmation link has expired.</p>"
                             "<form method=\"post\" action=\"/confirm/",
                             Av(token),
                             "\"><button type=\"submit\">Send me a new link</button></form>"));
  if (req.method != "POST") return Text(405, "method not allowed");
  auto sent = [] {
    return ConfirmPage(200, "New link sent",
                       "We sent you a new confirmation link: please use the one in that message.");
  };
  std::lock_guard<std::mutex> lock(resend_mu_);
  constexpr std::string_view kResends = "@confirm-again";
  IdempotencyStore resends(store_, kConfirmResendEvery);
  const int64_t now_us = NowUnixMicros();
  auto recent = resends.Get(kResends, d.address_key, now_us);
  if (!recent.ok()) return unavailable();
  if (recent->has_value()) return sent();  // one new link per lead and kConfirmResendEvery
  std::vector<PlannedMessage> planned;
  Recipient lead = **stored;
  if (lead.key.empty()) lead.key = d.address_key;  // as Confirm does: the token's lead
  const UpsertRowChange as_stored{0, false, false, &lead};
  auto messages = responders_->Plan(d.list, LeadTrigger::kConfirmAgain, {as_stored}, &planned);
  if (!messages.ok()) return unavailable();
  if (messages->empty())  // suppressed, or the list no longer asks for confirmation
    return ConfirmPage(410, "Link expired", "This confirmation link has expired.");
  if (!QueueStore(store_).Enqueue(*messages).ok()) return unavailable();
  // Not remembered: one more message at worst, after the next click.
  if (absl::Status st = resends.Put(kResends, d.address_key, now_us, StoredReply{200, ""});
      !st.ok())
    std::fprintf(stderr, "salvo serve: confirm resend not remembered: %s\n",
                 std::string(st.message()).c_str());
  return sent();
}

}  // namespace salvo
