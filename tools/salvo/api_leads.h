// POST /api/v1/lists/{list}/leads (scope `leads`) and the double opt-in page /confirm/{token}.
//
// Leads: the body is one lead or an array of up to 1,000 (store/leads_request.h), each checked
// like an import row. The good ones are upserted into the list and, for each lead new to the
// list, the messages of its responders and deliveries (tools/salvo/responders.h) are queued in
// the same fsynced write (RecipientStore::UpsertAndEnqueue): all of it or none. Reply 202
//   {"accepted":N,"rejected":[{"index":I,"error":"..."}],
//    "queued":[{"index":I,"responder":"dk-welcome","id":"..."}, {"index":I,"delivery":"..."...}]}
// On a list with a double_opt_in responder the posted consent is not taken: the lead has consent
// once it confirms.
//
// Confirm: GET shows a page with a button that POSTs (link scanners only GET); the POST records
// consent (opted_in_at = now, consent_source = "double_opt_in", consent_ip = the client) and
// queues the list's marketing responders with after = "confirmed", in one write. Confirming
// again changes nothing. A link older than [tracking] confirm_max_age confirms nothing: its page
// (410) has a button whose POST queues the list's double_opt_in message again with a new link,
// at most once per kConfirmResendEvery for a lead (remembered in the idempotency family under
// the name "@confirm-again", which no API key can have), so a leaked link cannot flood a mailbox.
// Trust: bodies and tokens are hostile (tokens are HMAC-verified).
#pragma once

#include <mutex>
#include <string_view>

#include "absl/time/time.h"

#include "engine/config/config.h"
#include "store/api_key_store.h"
#include "store/store.h"
#include "tools/salvo/http_reply.h"
#include "tools/salvo/responders.h"

namespace salvo {

class LeadsApi {
 public:
  LeadsApi(Store* store, const Responders* responders) : store_(store), responders_(responders) {}

  HttpResponse Post(const HttpRequest& req, std::string_view list);
  HttpResponse Confirm(const HttpRequest& req, std::string_view token);

  static constexpr absl::Duration kConfirmResendEvery = absl::Hours(1);

 private:
  HttpResponse ConfirmExpired(const HttpRequest& req, std::string_view token,
                              const Responders::Confirmation& d);

  Store* store_;
  const Responders* responders_;
  std::mutex resend_mu_;  // one resend decision at a time: two clicks send one message
};

}  // namespace salvo
