// Webhook authentication. See webhook_auth.h.
#include "tools/salvo/webhook_auth.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

[[nodiscard]] absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  return ReadFile(path, 64 * 1024, "key file");
}

std::string TrimNl(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

[[nodiscard]] absl::StatusOr<std::string> SecretFrom(std::string_view what, const std::string& env,
                                                     const std::string& file) {
  if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (!v || !*v)
      return absl::FailedPreconditionError(
          absl::StrCat(Av(what), ": environment variable ", env, " is not set"));
    return std::string(v);
  }
  if (!file.empty()) {
    auto s = ReadSmallFile(file);
    if (!s.ok()) return absl::FailedPreconditionError(absl::StrCat(Av(what), ": ", s.status().message()));
    return TrimNl(*s);
  }
  return std::string();
}

bool ConstantEq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// True when `ts` (decimal unix seconds) is within kWebhookMaxSkew of `now`.
bool Fresh(std::string_view ts, absl::Time now) {
  int64_t s = 0;
  if (ts.empty() || ts.size() > 20 || !absl::SimpleAtoi(Av(ts), &s)) return false;
  return absl::AbsDuration(absl::FromUnixSeconds(s) - now) <= kWebhookMaxSkew;
}

constexpr WebhookRefusal kUnsigned{401, "auth",
                                   "webhook not verified: configure its signing key or basic auth "
                                   "(or allow_unsigned)"};
constexpr WebhookRefusal kBadAuth{401, "auth", "authentication required"};
constexpr WebhookRefusal kBadSignature{401, "signature", "bad or missing signature"};
constexpr WebhookRefusal kStale{401, "stale", "signed timestamp too old or in the future"};
constexpr WebhookRefusal kTopic{403, "topic", "SNS TopicArn not accepted"};

}  // namespace

absl::StatusOr<WebhookAuth> LoadWebhookAuth(WebhookProvider p, const WebhookConfig& w,
                                            std::string_view what_view) {
  const std::string what(what_view);
  WebhookAuth a;
  a.allow_unsigned = w.allow_unsigned;
  if (!w.signing_key_env.empty() || !w.signing_key_file.empty()) {
    if (p != WebhookProvider::kMailgun)
      return absl::InvalidArgumentError(absl::StrCat(what, ": signing_key_* is for mailgun only"));
    ASSIGN_OR_RETURN(a.mailgun_key, SecretFrom(what, w.signing_key_env, w.signing_key_file));
    if (a.mailgun_key.empty())
      return absl::FailedPreconditionError(absl::StrCat(what, ": the mailgun signing key is empty"));
    a.verified = true;
  }
  if (!w.public_key.empty() || !w.public_key_file.empty()) {
    if (p != WebhookProvider::kSendGrid)
      return absl::InvalidArgumentError(absl::StrCat(what, ": public_key* is for sendgrid only"));
    std::string text = w.public_key;
    if (text.empty()) {
      auto f = ReadSmallFile(w.public_key_file);
      if (!f.ok())
        return absl::FailedPreconditionError(
            absl::StrCat(what, " public_key_file: ", f.status().message()));
      text = *f;
    }
    auto v = SendGridVerifier::Create(text);
    if (!v.ok()) return absl::InvalidArgumentError(absl::StrCat(what, ": ", v.status().message()));
    a.sendgrid = *v;
    a.verified = true;
  }
  if (!w.cert_file.empty()) {
    if (p != WebhookProvider::kSes)
      return absl::InvalidArgumentError(absl::StrCat(what, ": cert_file is for ses only"));
    auto f = ReadSmallFile(w.cert_file);
    if (!f.ok())
      return absl::FailedPreconditionError(absl::StrCat(what, " cert_file: ", f.status().message()));
    auto v = SnsVerifier::Create(*f);
    if (!v.ok())
      return absl::InvalidArgumentError(absl::StrCat(what, " cert_file: ", v.status().message()));
    a.sns = *v;
    a.verified = true;
  }
  if (!w.topic_arns.empty() && p != WebhookProvider::kSes)
    return absl::InvalidArgumentError(absl::StrCat(what, ": topic_arns is for ses only"));
  a.topic_arns = w.topic_arns;
  if (!w.basic_auth_user.empty()) {
    a.basic_user = w.basic_auth_user;
    ASSIGN_OR_RETURN(a.basic_password,
                     SecretFrom(what, w.basic_auth_password_env, w.basic_auth_password_file));
    if (a.basic_password.empty())
      return absl::FailedPreconditionError(
          absl::StrCat(what, ": basic_auth_user needs basic_auth_password_env or _file"));
    a.verified = true;
  }
  return a;
}

std::optional<WebhookRefusal> CheckBeforeParse(const WebhookAuth& a, const HttpRequest& req,
                                               absl::Time now) {
  if (!a.verified) {
    if (a.allow_unsigned) return std::nullopt;
    return kUnsigned;
  }
  if (!a.basic_user.empty()) {
    std::string_view h = req.header("Authorization");
    std::string decoded;
    bool ok = h.size() > 6 && h.size() < 1024 &&
              absl::EqualsIgnoreCase(Av(h.substr(0, 6)), "Basic ") &&
              absl::Base64Unescape(Av(h.substr(6)), &decoded);
    if (!ok || !ConstantEq(decoded, absl::StrCat(a.basic_user, ":", a.basic_password)))
      return kBadAuth;
  }
  if (a.sendgrid) {
    const std::string_view ts = req.header("X-Twilio-Email-Event-Webhook-Timestamp");
    if (!a.sendgrid->Verify(ts, req.body, req.header("X-Twilio-Email-Event-Webhook-Signature")).ok())
      return kBadSignature;
    if (!Fresh(ts, now)) return kStale;
  }
  return std::nullopt;
}

std::optional<WebhookRefusal> CheckAfterParse(const WebhookAuth& a, const WebhookPayload& payload,
                                              absl::Time now) {
  if (!a.mailgun_key.empty()) {
    // Mailgun's tokens are 50 characters; a longer one is never stored as a claim.
    if (!payload.mailgun_signature || payload.mailgun_signature->token.size() > 256 ||
        !VerifyMailgunSignature(a.mailgun_key, *payload.mailgun_signature))
      return kBadSignature;
    if (!Fresh(payload.mailgun_signature->timestamp, now)) return kStale;
  }
  if (a.sns && (!payload.sns || !a.sns->Verify(*payload.sns).ok())) return kBadSignature;
  // Checked also without a certificate (allow_unsigned with topic_arns).
  if (!a.topic_arns.empty() &&
      (!payload.sns || std::find(a.topic_arns.begin(), a.topic_arns.end(), payload.sns->topic_arn) ==
                           a.topic_arns.end()))
    return kTopic;
  return std::nullopt;
}

}  // namespace salvo
