// How the posts of one webhook URL are authenticated: /webhooks/{provider} with the
// [webhooks.<provider>] section, /webhooks/{provider}/{account} with that [[account]]'s webhook.
// Closed by default: without a verification method every post is refused (401) unless the
// section says allow_unsigned = true. Checks (tests/fixtures/SIGNATURES.md): SendGrid ECDSA over
// timestamp + raw body and Mailgun HMAC over timestamp + token, each with the timestamp within
// kWebhookMaxSkew of now; SNS signature with the configured certificate and TopicArn one of
// topic_arns (403 otherwise); HTTP Basic auth for any provider (the documented way for Postmark,
// SparkPost, Mailjet and Brevo). Mailgun's one-time tokens are claimed by the caller (store).
// Trust: every request is hostile; secrets are compared in constant time and never logged.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/config/config.h"
#include "engine/feedback/webhook_parser.h"
#include "engine/feedback/webhook_signature.h"
#include "tools/salvo/http_reply.h"

namespace salvo {

// How far a signed timestamp may be from now (either way).
inline constexpr absl::Duration kWebhookMaxSkew = absl::Minutes(15);

struct WebhookAuth {
  bool verified = false;        // at least one verification method configured
  bool allow_unsigned = false;  // posts without one are accepted (warned)
  std::string mailgun_key;
  std::optional<SendGridVerifier> sendgrid;
  std::optional<SnsVerifier> sns;
  std::vector<std::string> topic_arns;
  std::string basic_user, basic_password;
};

// Reads the keys `w` names (env / files). `what` names the section in errors
// ("[webhooks.mailgun]", "account \"bulk\" webhook").
[[nodiscard]] absl::StatusOr<WebhookAuth> LoadWebhookAuth(WebhookProvider p,
                                                          const WebhookConfig& w,
                                                          std::string_view what);

// A refused post: HTTP status, metrics reason label, message for the body.
struct WebhookRefusal {
  int status;
  std::string_view reason;  // auth | signature | stale | topic
  std::string_view message;
};

// Before the body is parsed: closed-by-default, Basic auth, SendGrid's signature and timestamp.
std::optional<WebhookRefusal> CheckBeforeParse(const WebhookAuth& a, const HttpRequest& req,
                                               absl::Time now);
// After: Mailgun's signature and timestamp, SNS signature and TopicArn.
std::optional<WebhookRefusal> CheckAfterParse(const WebhookAuth& a, const WebhookPayload& payload,
                                              absl::Time now);

}  // namespace salvo
