// Delivery status notifications (RFC 3464 multipart/report, plus the plain-text Postfix /
// Sendmail / Exchange wording when no machine-readable part exists) and abuse feedback reports
// (ARF, RFC 5965) -> classified events. Pure: no I/O. Trust: the mail is hostile; it is bounded in
// size, parsed by the bounded reader in mail_reader.h, and every copied value is sanitized.
//
// The recipient comes from Original-Recipient / Final-Recipient (DSN) or Original-Rcpt-To (ARF);
// salvo's own tag in the returned headers (VERP Return-Path / To `bounces+TOKEN@domain`,
// X-Salvo-ID) is checked with the caller's verifier and gives the campaign, or the recipient when
// the report names none.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/feedback/feedback_event.h"

namespace salvo {

inline constexpr size_t kMaxReportBytes = 10 << 20;

enum class ReportKind : uint8_t { kDsn, kArf };

// Verifies one of salvo's bounce tags; on success fills campaign id and case-folded address.
// The feedback service passes its BounceTagResolver (tools/salvo/bounce_tag_resolver.h).
using BounceTagVerifier =
    std::function<bool(std::string_view tag, std::string* campaign_id, std::string* address_key)>;

struct ParsedReport {
  ReportKind kind = ReportKind::kDsn;
  std::vector<FeedbackEvent> events;  // per-recipient blocks in document order
  std::vector<std::string> tags;      // salvo tags seen (VERP local-part suffixes, X-Salvo-ID)
  bool tag_verified = false;
};

// InvalidArgument naming the reason when the mail is neither a DSN nor an ARF report, or names
// no recipient; OutOfRange when it is larger than `max_bytes`.
[[nodiscard]] absl::StatusOr<ParsedReport> ParseReport(std::string_view mail,
                                         const BounceTagVerifier& verify = nullptr,
                                         size_t max_bytes = kMaxReportBytes);

// Classifies one DSN recipient from Action, Status and the diagnostic text.
FeedbackClass ClassifyDsn(std::string_view action, std::string_view status,
                          std::string_view diagnostic);

// The address of a header value: "a@b", "<a@b>", "rfc822; a@b", "Name <a@b>"; "" when none.
std::string HeaderAddress(std::string_view value);

// Extracts the tag from "bounces+TAG@domain" (with or without <>, any case of "bounces"); "" if
// the address is not a VERP bounce address.
std::string VerpTag(std::string_view address);

}  // namespace salvo
