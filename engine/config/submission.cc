// [submission] of salvo.toml (see submission.h).
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include "engine/config/submission.h"

#include "engine/config/config.h"
#include "engine/config/table_reader.h"

namespace salvo {

void ReadSubmission(TableReader& r, const Config& config, std::optional<SubmissionConfig>* out) {
  SubmissionConfig s;
  const toml::table& t = r.table();
  r.Str("listen", &s.listen);
  r.Str("tls_listen", &s.tls_listen);
  r.Str("tls_cert_file", &s.tls_cert_file);
  r.Str("tls_key_file", &s.tls_key_file);
  r.UInt("max_message_bytes", &s.max_message_bytes);
  r.UInt("max_recipients", &s.max_recipients);
  r.Dur("timeout", &s.timeout);
  r.Dur("data_timeout", &s.data_timeout);
  r.Str("hostname", &s.hostname);
  r.Finish();
  if (!r.ok()) return;
  auto error = [&](const char* key, const std::string& what) {
    const toml::node* n = t.get(key);
    r.Error(n ? *n : static_cast<const toml::node&>(t), key, what);
  };
  if (s.listen.empty() && s.tls_listen.empty())
    return error("listen", "is empty and there is no tls_listen: nothing would listen");
  if (s.tls_cert_file.empty() != s.tls_key_file.empty())
    return error(s.tls_cert_file.empty() ? "tls_key_file" : "tls_cert_file",
                 "needs both tls_cert_file and tls_key_file");
  if (!s.tls_listen.empty() && s.tls_cert_file.empty())
    return error("tls_listen", "needs tls_cert_file and tls_key_file");
  if (s.max_message_bytes == 0 || s.max_message_bytes > kMaxSubmissionMessageBytes)
    return error("max_message_bytes",
                 absl::StrCat("must be 1..", kMaxSubmissionMessageBytes, " (the queue's limit)"));
  if (s.max_recipients == 0 || s.max_recipients > kMaxSubmissionRecipients)
    return error("max_recipients", absl::StrCat("must be 1..", kMaxSubmissionRecipients));
  if (s.timeout <= absl::ZeroDuration()) return error("timeout", "must be more than 0");
  if (s.data_timeout <= absl::ZeroDuration()) return error("data_timeout", "must be more than 0");
  for (char c : s.hostname)
    if (c <= ' ' || c == 0x7f) return error("hostname", "must not contain spaces or control bytes");
  s.tls_cert_file = config.Resolve(s.tls_cert_file);
  s.tls_key_file = config.Resolve(s.tls_key_file);
  *out = std::move(s);
}

}  // namespace salvo
