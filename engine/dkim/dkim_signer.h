// DKIM signing (RFC 6376, c=relaxed/relaxed; a=rsa-sha256 per RFC 8301, a=ed25519-sha256 per
// RFC 8463). The caller supplies the SHA-256 of the relaxed-canonical body (the MIME renderer
// produces bodies that relaxed canonicalization leaves unchanged, so it hashes its segments as they
// are) and the header block; Sign() returns the DKIM-Signature field to put in front of it.
// Signed headers: From, To, Subject, Date, Message-ID, MIME-Version, Content-Type, Reply-To,
// List-Unsubscribe, List-Unsubscribe-Post; From and Subject are oversigned (listed once more
// than they occur, so none can be added later).
// Trust: the header block is ours (built by the renderer); parsing it is still bounded.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/dkim/dkim_key.h"

namespace salvo {

class DkimSigner {
 public:
  // Validates domain and selector (DNS labels) and keeps the key.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DkimSigner>> Create(std::string domain,
                                                            std::string selector,
                                                            std::shared_ptr<const DkimKey> key);

  // Appends "DKIM-Signature: ...\r\n" to *out. `headers` is the message's header block: complete
  // fields each ending in CRLF (folded lines allowed), without the empty separator line.
  // Thread-safe.
  [[nodiscard]] absl::Status Sign(std::string_view headers, const unsigned char body_hash[32],
                    std::string* out) const;

  const DkimKey& key() const { return *key_; }
  const std::string& domain() const { return domain_; }
  const std::string& selector() const { return selector_; }

 private:
  DkimSigner() = default;
  std::string domain_;
  std::string selector_;
  std::shared_ptr<const DkimKey> key_;
  std::string prefix_;            // "DKIM-Signature: v=1; ...; bh="
  std::string canonical_prefix_;  // its relaxed canonical form
};

// Appends the relaxed canonical form of one header field (RFC 6376 §3.4.2), without CRLF:
// lowercased name, ':', value unfolded with WSP runs reduced to one SP and trimmed.
void AppendRelaxedHeader(std::string_view name, std::string_view value, std::string* out);

}  // namespace salvo
