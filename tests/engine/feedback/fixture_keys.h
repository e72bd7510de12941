// The keys tests/fixtures' webhook payloads were signed with (see tests/fixtures/SIGNATURES.md),
// and a Mailgun fixture signed afresh (a new delivery: current timestamp, new token).
#pragma once

#include <cstdint>
#include <string>

#include "engine/feedback/webhook_signature.h"

namespace salvo::test {

inline constexpr char kMailgunKey[] = "fixture-mailgun-signing-key-do-not-use-0001";
inline constexpr char kSendGridKey[] =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+"
    "2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
// The time of the SendGrid SDK vector's X-Twilio-Email-Event-Webhook-Timestamp.
inline constexpr int64_t kSendGridVectorTime = 1600112502;

// `body` (a Mailgun fixture: its "signature" object comes first) with signature.timestamp,
// token and signature replaced: signed with `key` at `timestamp` with `token`.
inline std::string ResignMailgun(std::string body, int64_t timestamp, const std::string& token,
                                 const std::string& key = kMailgunKey) {
  auto set = [&body](const std::string& field, const std::string& value) {
    const std::string k = "\"" + field + "\": \"";  // "signature": { does not match
    const size_t start = body.find(k) + k.size();
    body.replace(start, body.find('"', start) - start, value);
  };
  const std::string ts = std::to_string(timestamp);
  set("timestamp", ts);
  set("token", token);
  set("signature", MailgunSign(key, ts, token));
  return body;
}

}  // namespace salvo::test
