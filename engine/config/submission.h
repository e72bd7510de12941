// engine/config: [submission] of salvo.toml — the SMTP submission listener of `salvo serve`
// (shard/submission_server.h). Read by ReadSubmission.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace salvo {

struct SubmissionConfig {
  std::string listen = "127.0.0.1:2587";  // plaintext + STARTTLS (when a certificate is set)
  std::string tls_listen;                 // implicit TLS ("127.0.0.1:2465"); empty: none
  std::string tls_cert_file;              // PEM chain; resolved against the config's directory
  std::string tls_key_file;
  uint64_t max_message_bytes = 10u << 20;  // SIZE advertised; larger messages get 552
  uint32_t max_recipients = 1000;          // per message; more get 452
  absl::Duration timeout = absl::Minutes(5);        // per command (idle or slow client: 421)
  absl::Duration data_timeout = absl::Minutes(10);  // for the whole DATA of one message
  std::string hostname;                    // greeting and Received: by; empty: the machine's name
};

// Hard bounds of the keys above (the queue stores bodies up to 25 MB).
inline constexpr uint64_t kMaxSubmissionMessageBytes = 25u << 20;
inline constexpr uint32_t kMaxSubmissionRecipients = 10000;

struct Config;
class TableReader;
// Reads the [submission] table (paths resolved against `config`'s directory); the first error
// goes to the reader's status, naming file, line and key.
void ReadSubmission(TableReader& r, const Config& config, std::optional<SubmissionConfig>* out);

}  // namespace salvo
