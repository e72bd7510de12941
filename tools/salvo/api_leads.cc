// Leads API and confirmation page; see api_leads.h.
#include "tools/salvo/api_leads.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "engine/base/clock.h"
#include "engine/base/json.h"
#include "engine/base/shard.h"
#include "engine/base/strings.h"
#include "store/leads_request.h"
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
  r.consent.opted_in_at = FormatUnixTime(absl::ToUnixSeconds(absl::Now()));
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

}  // namespace salvo
