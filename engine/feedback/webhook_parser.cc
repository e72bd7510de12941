// Webhook body -> classified events, per provider. See webhook_parser.h for the trust model.
#include "engine/feedback/webhook_parser.h"

#include <simdjson.h>

#include <cstdio>
#include <functional>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/base/enum_names.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "engine/feedback/webhook_event_rules.h"

namespace salvo {
namespace {

namespace dom = simdjson::dom;

// A bounded, sanitized copy of an outside string.
std::string Clean(std::string_view s, size_t max = kMaxReasonBytes) { return SanitizeForLog(s, max); }

// The value of `key` as text: strings as they are, numbers and booleans formatted; "" otherwise.
std::string Scalar(dom::element e, std::string_view key, size_t max = kMaxReasonBytes) {
  dom::element v;
  if (e[key].get(v)) return "";
  switch (v.type()) {
    case dom::element_type::STRING: {
      std::string_view sv;
      if (v.get_string().get(sv)) return "";
      return Clean(sv, max);
    }
    case dom::element_type::INT64: return std::to_string(int64_t(v));
    case dom::element_type::UINT64: return std::to_string(uint64_t(v));
    case dom::element_type::DOUBLE: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6f", double(v));
      return buf;
    }
    case dom::element_type::BOOL: return bool(v) ? "true" : "false";
    default: return "";
  }
}

// Raw (unsanitized) string value, for signature inputs that must stay byte-exact.
std::string RawStr(dom::element e, std::string_view key) {
  std::string_view sv;
  if (e[key].get_string().get(sv)) return "";
  return std::string(sv);
}

bool Bool(dom::element e, std::string_view key) {
  bool b = false;
  if (e[key].get_bool().get(b)) return false;
  return b;
}

int64_t Int(dom::element e, std::string_view key, int64_t dflt) {
  dom::element v;
  if (e[key].get(v)) return dflt;
  int64_t i;
  if (!v.get_int64().get(i)) return i;
  std::string_view sv;
  if (!v.get_string().get(sv)) {
    int64_t out = 0;
    if (sv.empty() || sv.size() > 18) return dflt;
    for (char c : sv) {
      if (c < '0' || c > '9') return dflt;
      out = out * 10 + (c - '0');
    }
    return out;
  }
  return dflt;
}

// An event's fields for the rule table (webhook_event_rules.h), as Scalar() reads them.
std::function<std::string(std::string_view)> Fields(dom::element e) {
  return [e](std::string_view key) { return Scalar(e, key, 256); };
}
std::function<std::string(std::string_view)> NoFields() {
  return [](std::string_view) { return std::string(); };
}

std::string JoinReason(std::initializer_list<std::string> parts) {
  std::string out;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += "; ";
    out += p;
  }
  if (out.size() > kMaxReasonBytes) out = SanitizeForLog(out, kMaxReasonBytes);
  return out;
}

FeedbackEvent NewEvent(WebhookProvider p) {
  FeedbackEvent ev;
  ev.provider = std::string(WebhookProviderName(p));
  return ev;
}

[[nodiscard]] absl::Status Shape(WebhookProvider p, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(Av(WebhookProviderName(p)), " webhook: ", Av(what)));
}

// A flat event as Mailjet and Brevo post it: type from "event" (required), recipient from
// "email"; neither sends an event id, so it is "<message id>:<type>:<recipient>:<time>" from the
// fields named `id_key` (at most `id_max` bytes) and `time_key`.
[[nodiscard]] absl::Status FlatEvent(WebhookProvider p, dom::element e, std::string_view id_key,
                                     size_t id_max, std::string_view time_key, FeedbackEvent* ev) {
  *ev = NewEvent(p);
  ev->type = Scalar(e, "event", 64);
  if (ev->type.empty()) return Shape(p, "event without \"event\"");
  ev->recipient = Scalar(e, "email", 320);
  ev->event_id = absl::StrCat(Scalar(e, id_key, id_max), ":", ev->type, ":", ev->recipient, ":",
                              Scalar(e, time_key, 32));
  return absl::OkStatus();
}

// Calls fn(element) for each element of an array body, or once for an object body.
template <typename Fn>
[[nodiscard]] absl::Status ForEachItem(WebhookProvider p, dom::element root, Fn fn) {
  if (root.is_array()) {
    size_t n = 0;
    dom::array arr;
    if (root.get_array().get(arr)) return Shape(p, "body is not an array");
    for (dom::element item : arr) {
      if (++n > kMaxEventsPerPayload) return Shape(p, "too many events in one body");
      if (!item.is_object()) return Shape(p, absl::StrCat("item ", n, " is not an object"));
      absl::Status st = fn(item);
      if (!st.ok()) return st;
    }
    return absl::OkStatus();
  }
  if (root.is_object()) return fn(root);
  return Shape(p, "body is neither a JSON object nor an array");
}

// ---------------- SendGrid ----------------
[[nodiscard]] absl::Status SendGridItem(dom::element e, WebhookPayload* out) {
  FeedbackEvent ev = NewEvent(WebhookProvider::kSendGrid);
  ev.type = Scalar(e, "event", 64);
  ev.recipient = Scalar(e, "email", 320);
  if (ev.type.empty()) return Shape(WebhookProvider::kSendGrid, "event without \"event\"");
  ev.event_id = Scalar(e, "sg_event_id", kMaxIdBytes);
  if (ev.event_id.empty())
    ev.event_id = absl::StrCat(Scalar(e, "sg_message_id", 200), ":", ev.type, ":", ev.recipient,
                               ":", Scalar(e, "timestamp", 32));
  const std::string reason = Scalar(e, "reason");
  const std::string& t = ev.type;
  ev.klass = ClassifyWebhookEvent(WebhookProvider::kSendGrid, t, Fields(e));
  std::string group = Scalar(e, "asm_group_id", 32);
  ev.reason = JoinReason({t, Scalar(e, "type", 32), Scalar(e, "status", 32), reason,
                          Scalar(e, "response"), Scalar(e, "bounce_classification", 64),
                          group.empty() ? "" : "asm_group_id " + group});
  out->events.push_back(std::move(ev));
  return absl::OkStatus();
}

// ---------------- Mailgun ----------------
[[nodiscard]] absl::Status MailgunItem(dom::element e, WebhookPayload* out) {
  const WebhookProvider p = WebhookProvider::kMailgun;
  dom::element sig;
  if (!e["signature"].get(sig) && sig.is_object()) {
    MailgunSignature s;
    s.timestamp = Scalar(sig, "timestamp", 32);
    s.token = RawStr(sig, "token").substr(0, 256);
    s.signature = RawStr(sig, "signature").substr(0, 128);
    out->mailgun_signature = std::move(s);
  }
  dom::element d;
  if (e["event-data"].get(d) || !d.is_object()) return Shape(p, "no \"event-data\" object");
  FeedbackEvent ev = NewEvent(p);
  ev.type = Scalar(d, "event", 64);
  if (ev.type.empty()) return Shape(p, "event-data without \"event\"");
  ev.recipient = Scalar(d, "recipient", 320);
  ev.event_id = Scalar(d, "id", kMaxIdBytes);
  if (ev.event_id.empty())
    ev.event_id = absl::StrCat(ev.type, ":", ev.recipient, ":", Scalar(d, "timestamp", 32));
  const std::string severity = Scalar(d, "severity", 32);
  ev.klass = ClassifyWebhookEvent(p, ev.type, Fields(d));
  dom::element ds;
  std::string code, enhanced, msg;
  if (!d["delivery-status"].get(ds) && ds.is_object()) {
    code = Scalar(ds, "code", 16);
    enhanced = Scalar(ds, "enhanced-code", 16);
    msg = Scalar(ds, "message");
    if (msg.empty()) msg = Scalar(ds, "description");
  }
  ev.reason = JoinReason({ev.type, severity, Scalar(d, "reason", 64), code, enhanced, msg});
  out->events.push_back(std::move(ev));
  return absl::OkStatus();
}

// ---------------- Amazon SES (SNS) ----------------
void SesRecipients(dom::element list, const char* field, std::vector<std::string>* out) {
  dom::array arr;
  if (list.get_array().get(arr)) return;
  for (dom::element r : arr) {
    if (out->size() >= kMaxEventsPerPayload) return;
    if (field) {
      std::string a = Scalar(r, field, 320);
      if (!a.empty()) out->push_back(std::move(a));
    } else {
      std::string_view sv;
      if (!r.get_string().get(sv)) out->push_back(Clean(sv, 320));
    }
  }
}

// Parses the SES notification (the JSON in Message, or the raw body) into events.
[[nodiscard]]
absl::Status SesNotification(dom::element m, std::string_view id_prefix, WebhookPayload* out) {
  const WebhookProvider p = WebhookProvider::kSes;
  if (!m.is_object()) return Shape(p, "Message is not a JSON object");
  std::string type = Scalar(m, "notificationType", 64);
  if (type.empty()) type = Scalar(m, "eventType", 64);
  if (type.empty()) return Shape(p, "notification without notificationType / eventType");
  std::vector<std::string> rcpts;
  FeedbackClass klass = FeedbackClass::kIgnore;
  std::string reason;
  dom::element sub;
  if (type == "Bounce") {
    if (m["bounce"].get(sub) || !sub.is_object()) return Shape(p, "Bounce without \"bounce\"");
    const std::string bt = Scalar(sub, "bounceType", 64);
    klass = ClassifyWebhookEvent(p, type, Fields(sub));
    dom::element list;
    dom::array arr;
    if (!sub["bouncedRecipients"].get(list) && !list.get_array().get(arr)) {
      // Per-recipient status and diagnostic when present.
      for (dom::element r : arr) {
        if (out->events.size() >= kMaxEventsPerPayload) break;
        FeedbackEvent ev = NewEvent(p);
        ev.type = type;
        ev.recipient = Scalar(r, "emailAddress", 320);
        ev.klass = klass;
        ev.event_id = absl::StrCat(Av(id_prefix), ":", ev.recipient);
        ev.reason = JoinReason({bt, Scalar(sub, "bounceSubType", 64), Scalar(r, "status", 16),
                                Scalar(r, "diagnosticCode")});
        out->events.push_back(std::move(ev));
      }
    }
    return absl::OkStatus();
  } else if (type == "Complaint") {
    if (m["complaint"].get(sub) || !sub.is_object())
      return Shape(p, "Complaint without \"complaint\"");
    dom::element list;
    if (!sub["complainedRecipients"].get(list)) SesRecipients(list, "emailAddress", &rcpts);
    const std::string fb = Scalar(sub, "complaintFeedbackType", 64);
    klass = ClassifyWebhookEvent(p, type, Fields(sub));
    reason = JoinReason({type, fb, Scalar(sub, "userAgent", 128)});
  } else if (type == "Delivery") {
    if (!m["delivery"].get(sub)) {
      dom::element list;
      if (!sub["recipients"].get(list)) SesRecipients(list, nullptr, &rcpts);
      reason = JoinReason({type, Scalar(sub, "smtpResponse")});
    }
  } else if (type == "DeliveryDelay") {
    klass = ClassifyWebhookEvent(p, type, NoFields());
    if (!m["deliveryDelay"].get(sub)) {
      dom::element list;
      if (!sub["delayedRecipients"].get(list)) SesRecipients(list, "emailAddress", &rcpts);
      reason = JoinReason({type, Scalar(sub, "delayType", 64)});
    }
  } else {
    // Subscription, Send, Open, Click, Reject, Rendering Failure: the message's destination.
    dom::element mail, list;
    if (!m["mail"].get(mail) && !mail["destination"].get(list)) SesRecipients(list, nullptr, &rcpts);
    reason = type;
    if (type == "Subscription" && !m["subscription"].get(sub)) {
      dom::element prefs;
      bool opt_out = false;
      if (!sub["newTopicPreferences"].get(prefs)) {
        opt_out = Bool(prefs, "unsubscribeAll");
        dom::element topics;
        dom::array tarr;
        if (!prefs["topicSubscriptionStatus"].get(topics) && !topics.get_array().get(tarr)) {
          for (dom::element t : tarr)
            if (Scalar(t, "subscriptionStatus", 32) == "OptOut") opt_out = true;
        }
      }
      klass = ClassifyWebhookEvent(p, type, [opt_out](std::string_view f) {
        return std::string(f == "opt_out" && opt_out ? "true" : "");
      });
      reason = JoinReason({type, Scalar(sub, "source", 64), Scalar(sub, "contactList", 128)});
    }
  }
  for (std::string& r : rcpts) {
    FeedbackEvent ev = NewEvent(p);
    ev.type = type;
    ev.klass = klass;
    ev.event_id = absl::StrCat(Av(id_prefix), ":", r);
    ev.recipient = std::move(r);
    ev.reason = reason;
    out->events.push_back(std::move(ev));
  }
  return absl::OkStatus();
}

using P = WebhookProvider;
constexpr EnumName<P> kProviders[] = {
    {P::kSendGrid, "sendgrid"}, {P::kMailgun, "mailgun"},     {P::kSes, "ses"},
    {P::kPostmark, "postmark"}, {P::kSparkPost, "sparkpost"}, {P::kMailjet, "mailjet"},
    {P::kBrevo, "brevo"}};
static_assert(std::size(kProviders) == kWebhookProviderCount);

}  // namespace

std::string_view WebhookProviderName(WebhookProvider p) { return NameIn(kProviders, p, "?"); }

bool ParseWebhookProvider(std::string_view name, WebhookProvider* out) {
  return ValueIn(kProviders, name == "amazon_ses" ? "ses" : name, out);
}

struct WebhookParser::Impl {
  size_t max_body;
  dom::parser parser;
  dom::parser inner;  // second parse of the SES Message string
  explicit Impl(size_t max) : max_body(max), parser(max + 64), inner(max + 64) {}

  absl::Status Ses(dom::element root, WebhookPayload* out);
  absl::Status Postmark(dom::element e, WebhookPayload* out);
  absl::Status SparkPost(dom::element e, WebhookPayload* out);
  absl::Status Mailjet(dom::element e, WebhookPayload* out);
  absl::Status Brevo(dom::element e, WebhookPayload* out);
};

absl::Status WebhookParser::Impl::Ses(dom::element root, WebhookPayload* out) {
  const WebhookProvider p = WebhookProvider::kSes;
  if (!root.is_object()) return Shape(p, "body is not a JSON object");
  std::string type = RawStr(root, "Type");
  if (type.empty()) {
    // Raw message delivery: the body is the SES notification itself.
    dom::element mail;
    std::string id;
    if (!root["mail"].get(mail)) id = Scalar(mail, "messageId", kMaxIdBytes);
    return SesNotification(root, id.empty() ? "raw" : id, out);
  }
  SnsEnvelope env;
  env.type = type;
  env.message_id = RawStr(root, "MessageId");
  env.topic_arn = RawStr(root, "TopicArn");
  env.message = RawStr(root, "Message");
  env.timestamp = RawStr(root, "Timestamp");
  env.token = RawStr(root, "Token");
  env.subscribe_url = RawStr(root, "SubscribeURL");
  dom::element subj;
  env.has_subject = !root["Subject"].get(subj) && subj.is_string();
  if (env.has_subject) env.subject = RawStr(root, "Subject");
  env.signature_version = RawStr(root, "SignatureVersion");
  env.signature = RawStr(root, "Signature");
  env.signing_cert_url = RawStr(root, "SigningCertURL");
  if (env.message_id.empty()) return Shape(p, "SNS message without MessageId");
  const std::string msg_id = Clean(env.message_id, kMaxIdBytes);
  if (type == "SubscriptionConfirmation" || type == "UnsubscribeConfirmation") {
    FeedbackEvent ev = NewEvent(p);
    ev.type = type;
    ev.event_id = msg_id;
    ev.klass = FeedbackClass::kIgnore;
    ev.reason = JoinReason({type, Clean(env.topic_arn, 256)});
    out->note = absl::StrCat("SNS ", type, " for ", Clean(env.topic_arn, 256),
                             ": to confirm, visit ", Clean(env.subscribe_url, 1024));
    out->events.push_back(std::move(ev));
    out->sns = std::move(env);
    return absl::OkStatus();
  }
  if (type != "Notification") return Shape(p, absl::StrCat("unknown SNS Type \"", Clean(type, 64), "\""));
  std::string message = env.message;
  out->sns = std::move(env);
  dom::element m;
  if (auto err = inner.parse(message.data(), message.size(), true).get(m))
    return Shape(p, absl::StrCat("Message is not JSON: ", simdjson::error_message(err)));
  return SesNotification(m, msg_id, out);
}

absl::Status WebhookParser::Impl::Postmark(dom::element e, WebhookPayload* out) {
  const WebhookProvider p = WebhookProvider::kPostmark;
  FeedbackEvent ev = NewEvent(p);
  ev.type = Scalar(e, "RecordType", 64);
  if (ev.type.empty()) return Shape(p, "body without \"RecordType\"");
  ev.recipient = Scalar(e, "Email", 320);
  if (ev.recipient.empty()) ev.recipient = Scalar(e, "Recipient", 320);
  std::string id = Scalar(e, "ID", 64);
  ev.event_id = id.empty() ? absl::StrCat(Scalar(e, "MessageID", 128), ":", ev.type, ":",
                                          ev.recipient, ":", Scalar(e, "ChangedAt", 64))
                           : id;
  const int64_t code = Int(e, "TypeCode", -1);
  ev.klass = ClassifyWebhookEvent(p, ev.type, Fields(e));
  ev.reason = JoinReason({ev.type, Scalar(e, "Type", 64),
                          code >= 0 ? absl::StrCat("TypeCode ", code) : "",
                          Scalar(e, "SuppressionReason", 64), Scalar(e, "Details")});
  out->events.push_back(std::move(ev));
  return absl::OkStatus();
}

absl::Status WebhookParser::Impl::SparkPost(dom::element e, WebhookPayload* out) {
  const WebhookProvider p = WebhookProvider::kSparkPost;
  dom::element msys;
  dom::object mobj;
  if (e["msys"].get(msys) || msys.get_object().get(mobj))
    return Shape(p, "item without \"msys\" object");
  for (auto [key, inner_ev] : mobj) {  // one *_event object (none for a ping)
    if (!inner_ev.is_object()) return Shape(p, "msys member is not an object");
    FeedbackEvent ev = NewEvent(p);
    ev.type = Scalar(inner_ev, "type", 64);
    ev.recipient = Scalar(inner_ev, "rcpt_to", 320);
    if (ev.recipient.empty()) ev.recipient = Scalar(inner_ev, "raw_rcpt_to", 320);
    ev.event_id = Scalar(inner_ev, "event_id", kMaxIdBytes);
    if (ev.event_id.empty())
      ev.event_id = absl::StrCat(ev.type, ":", ev.recipient, ":", Scalar(inner_ev, "timestamp", 32));
    const int64_t bclass = Int(inner_ev, "bounce_class", -1);
    const std::string& t = ev.type;
    ev.klass = ClassifyWebhookEvent(p, t, Fields(inner_ev));
    ev.reason = JoinReason({t, bclass >= 0 ? absl::StrCat("bounce_class ", bclass) : "",
                            Scalar(inner_ev, "raw_reason"), Scalar(inner_ev, "fbtype", 32)});
    out->events.push_back(std::move(ev));
    (void)key;
  }
  return absl::OkStatus();
}

absl::Status WebhookParser::Impl::Mailjet(dom::element e, WebhookPayload* out) {
  const WebhookProvider p = WebhookProvider::kMailjet;
  FeedbackEvent ev;
  RETURN_IF_ERROR(FlatEvent(p, e, "MessageID", 64, "time", &ev));
  const std::string related = Scalar(e, "error_related_to", 64);
  const std::string error = Scalar(e, "error", 128);
  const std::string& t = ev.type;
  ev.klass = ClassifyWebhookEvent(p, t, Fields(e));
  ev.reason = JoinReason({t, related, error, Scalar(e, "smtp_reply"), Scalar(e, "source", 64)});
  out->events.push_back(std::move(ev));
  return absl::OkStatus();
}

absl::Status WebhookParser::Impl::Brevo(dom::element e, WebhookPayload* out) {
  const WebhookProvider p = WebhookProvider::kBrevo;
  FeedbackEvent ev;
  RETURN_IF_ERROR(FlatEvent(p, e, "message-id", 200, "ts_event", &ev));
  const std::string& t = ev.type;
  ev.klass = ClassifyWebhookEvent(p, t, NoFields());
  ev.reason = JoinReason({t, Scalar(e, "reason")});
  out->events.push_back(std::move(ev));
  return absl::OkStatus();
}

WebhookParser::WebhookParser(size_t max_body_bytes)
    : impl_(std::make_unique<Impl>(max_body_bytes)) {}
WebhookParser::~WebhookParser() = default;

absl::StatusOr<WebhookPayload> WebhookParser::Parse(WebhookProvider provider,
                                                    std::string_view body) {
  if (body.size() > impl_->max_body)
    return absl::OutOfRangeError(absl::StrCat(Av(WebhookProviderName(provider)),
                                              " webhook: body of ", body.size(),
                                              " bytes exceeds the limit of ", impl_->max_body));
  dom::element root;
  if (auto err = impl_->parser.parse(body.data(), body.size(), true).get(root))
    return Shape(provider, absl::StrCat("malformed JSON: ", simdjson::error_message(err)));
  WebhookPayload out;
  absl::Status st;
  // One event per item of an array body (or a lone object), read by `item`.
  auto each = [&](absl::Status (Impl::*item)(dom::element, WebhookPayload*)) {
    Impl* impl = impl_.get();
    return ForEachItem(provider, root, [&](dom::element e) { return (impl->*item)(e, &out); });
  };
  switch (provider) {
    case WebhookProvider::kSendGrid:
      if (!root.is_array()) return Shape(provider, "body is not a JSON array of events");
      st = ForEachItem(provider, root, [&](dom::element e) { return SendGridItem(e, &out); });
      break;
    case WebhookProvider::kMailgun:
      if (!root.is_object()) return Shape(provider, "body is not a JSON object");
      st = MailgunItem(root, &out);
      break;
    case WebhookProvider::kSes:
      st = impl_->Ses(root, &out);
      break;
    case WebhookProvider::kPostmark: st = each(&Impl::Postmark); break;
    case WebhookProvider::kSparkPost: st = each(&Impl::SparkPost); break;
    case WebhookProvider::kMailjet: st = each(&Impl::Mailjet); break;
    case WebhookProvider::kBrevo: st = each(&Impl::Brevo); break;
  }
  if (!st.ok()) return st;
  return out;
}

}  // namespace salvo
