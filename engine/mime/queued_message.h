// A queued message (store/queue_store.h: RFC 5322 bytes, stored once for all its recipients,
// unsigned) made ready for the wire for one entry: "X-Salvo-ID: <entry id>" prepended and DKIM
// signed (relaxed/relaxed, the broadcasts' signer and header list) with the keys of the From
// domain. The stored bytes are not copied: the message views them and keeps them alive.
//
// Trust: the stored body comes from API callers and SMTP submission (hostile): it is CRLF-
// normalized on the way in (NormalizeCrlf) and again here when it is not, so a bare CR or LF
// never reaches the wire; headers are only read (bounded by the signer's field limit).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/dkim/dkim_signer.h"
#include "engine/mime/rendered_message.h"

namespace salvo {

// The domain of the first From: address of `message`'s header block, lowercased ("" when there
// is no From field or no address in it). Accepts `Name <a@b>`, `a@b`, folded lines.
std::string FromDomain(std::string_view message);

// SHA-256 of the RFC 6376 §3.4.4 relaxed canonical form of `body` (CRLF line endings): WSP runs
// become one SP, WSP at line ends and empty lines at the end are removed.
void RelaxedBodyHash(std::string_view body, unsigned char out[32]);

// The [[dkim]] signers for a From domain: those whose domain is the From domain or a parent of
// it (DMARC relaxed alignment).
std::vector<const DkimSigner*> SignersFor(const std::vector<std::unique_ptr<DkimSigner>>& all,
                                          std::string_view from_domain);

// A RenderedMessage that keeps the shared stored body alive.
struct QueuedMessage : RenderedMessage {
  std::shared_ptr<const std::string> body;
};

// The wire form of entry `id` for `recipient` with envelope sender `envelope_from`: the
// signatures (one per signer) and the X-Salvo-ID header, then the stored bytes. `body` must be
// CRLF-normalized (NormalizeCrlf). Errors: a signature could not be made (names the domain).
[[nodiscard]] absl::StatusOr<std::shared_ptr<QueuedMessage>> BuildQueuedMessage(
    std::shared_ptr<const std::string> body, std::string_view id, std::string envelope_from,
    std::string recipient, const std::vector<const DkimSigner*>& signers);

}  // namespace salvo
