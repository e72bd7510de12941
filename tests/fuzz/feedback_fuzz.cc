// libFuzzer target: what the feedback service takes from outside — DSN / ARF mails
// (ParseReport, with a tag verifier), provider webhook bodies (all 7 parsers) and tracking
// tokens / VERP tags (TokenKeyRing::Verify, VerifyBounceTag) and unsubscribe mails
// (ParseUnsubscribeMail). Any crash, hang, sanitizer report or
// broken bound is a bug. Build: see tests/fuzz/README.md.
// Seed corpus: tests/fixtures/dsn and tests/fixtures/webhooks/*.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/feedback/report_parser.h"
#include "engine/feedback/unsubscribe_mail.h"
#include "engine/feedback/webhook_parser.h"
#include "engine/links/token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static salvo::TokenKeyRing* signer =
      new salvo::TokenKeyRing("fuzz-tracking-secret", {"fuzz-previous-secret"});
  static salvo::WebhookParser* webhooks = new salvo::WebhookParser(1 << 20);
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // 1) A report, with a verifier that accepts what the signer accepts.
  auto verify = [](std::string_view tag, std::string* campaign, std::string* address) {
    if (signer->VerifyBounceTag(tag).ok()) {
      *campaign = "c";
      *address = "someone@example.com";
      return true;
    }
    return false;
  };
  auto report = salvo::ParseReport(in, verify, 1 << 20);
  if (report.ok()) {
    if (report->events.empty() || report->events.size() > 10000 || report->tags.size() > 8)
      __builtin_trap();
    for (const auto& e : report->events)
      if (e.recipient.size() > 1024 || e.reason.find('\n') != std::string::npos) __builtin_trap();
  }

  // 2) Every webhook parser (the first byte picks which one goes first; all run).
  for (int i = 0; i < salvo::kWebhookProviderCount; ++i) {
    auto p = static_cast<salvo::WebhookProvider>((i + (size ? data[0] : 0)) %
                                                 salvo::kWebhookProviderCount);
    auto payload = webhooks->Parse(p, in);
    if (payload.ok() && payload->events.size() > size + 1) __builtin_trap();
  }

  // 3) Tokens and tags: hostile URLs and bounce addresses.
  auto token = signer->Verify(in, salvo::TokenPurpose::kClick);
  if (token.ok() && token->campaign_id.size() > 255) __builtin_trap();
  auto unsub = salvo::ParseUnsubscribeMail(in, "unsubscribe@example.com");
  if (unsub && unsub->tags.size() > 4) __builtin_trap();
  (void)signer->VerifyBounceTag(in);
  (void)salvo::VerpTag(in);
  return 0;
}
