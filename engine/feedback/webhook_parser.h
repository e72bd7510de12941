// Parsers for the bounce / complaint / unsubscribe webhooks of seven providers (SendGrid, Mailgun,
// Amazon SES via SNS, Postmark, SparkPost, Mailjet, Brevo). Pure: bytes in, classified events out,
// no I/O. Trust: the body is hostile. It is size-checked before parsing (simdjson, bounded
// capacity), every copied string is sanitized and bounded, and a body that is not what the
// provider sends yields an error naming what is wrong, never a partial result.
// Classification follows tests/fixtures/README.md ("Rules behind the expected classes").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/feedback/feedback_event.h"

namespace salvo {

enum class WebhookProvider : uint8_t {
  kSendGrid, kMailgun, kSes, kPostmark, kSparkPost, kMailjet, kBrevo
};
inline constexpr int kWebhookProviderCount = 7;

// "sendgrid", "mailgun", "ses", "postmark", "sparkpost", "mailjet", "brevo" (also the name used as
// suppression source and in [webhooks.<name>]).
std::string_view WebhookProviderName(WebhookProvider p);
// Accepts the names above, plus "amazon_ses" as an alias of "ses".
bool ParseWebhookProvider(std::string_view name, WebhookProvider* out);

// Mailgun puts its signature inside the body.
struct MailgunSignature {
  std::string timestamp;  // decimal seconds (string or number in the JSON)
  std::string token;
  std::string signature;  // lowercase hex HMAC-SHA256
};

// The SNS envelope fields that enter the signature's canonical string (values JSON-unescaped).
struct SnsEnvelope {
  std::string type;  // Notification | SubscriptionConfirmation | UnsubscribeConfirmation
  std::string message_id, topic_arn, message, timestamp, token, subscribe_url;
  std::string subject;
  bool has_subject = false;
  std::string signature_version, signature, signing_cert_url;
};

struct WebhookPayload {
  std::vector<FeedbackEvent> events;           // in document order
  std::optional<MailgunSignature> mailgun_signature;
  std::optional<SnsEnvelope> sns;              // SES only (absent for raw message delivery)
  std::string note;  // for the operator, e.g. the SubscribeURL of an SNS SubscriptionConfirmation
};

// One parser per thread (it keeps simdjson buffers between calls).
class WebhookParser {
 public:
  explicit WebhookParser(size_t max_body_bytes = 1 << 20);
  ~WebhookParser();
  WebhookParser(const WebhookParser&) = delete;
  WebhookParser& operator=(const WebhookParser&) = delete;

  // InvalidArgument for malformed JSON or a shape the provider does not send; OutOfRange for a
  // body larger than max_body_bytes.
  [[nodiscard]]
  absl::StatusOr<WebhookPayload> Parse(WebhookProvider provider, std::string_view body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace salvo
