// Mails to the [tracking] unsubscribe_mailto mailbox: List-Unsubscribe's mailto URI (RFC 2369,
// RFC 6068) is `mailto:LOCAL+TAG@DOMAIN?subject=unsubscribe%20TAG`, so a mail client's request
// names the recipient by salvo's tag (engine/links/token.h) in the address, the subject, or
// both. This finds the mails meant for that mailbox and the tag candidates in them; verifying a
// tag and resolving it to a recipient is the caller's (the feedback service's). Pure: no I/O.
// Trust: the mail is hostile (anyone can write to the mailbox): it is parsed by the bounded
// reader in mail_reader.h and only tag-shaped words are returned, at most a few.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace salvo {

struct UnsubscribeMail {
  std::vector<std::string> tags;  // distinct candidates: address suffixes first, then subject
  std::string message_id;         // sanitized, "" when absent
};

// nullopt when `mail` is not addressed (To, Cc, Delivered-To, X-Original-To, Envelope-To) to
// `mailbox` ("unsubscribe@example.com", with or without "+TAG"; case-insensitive) or is a
// delivery report (multipart/report). An unsubscribe mail without any tag has no candidates.
std::optional<UnsubscribeMail> ParseUnsubscribeMail(std::string_view mail,
                                                    std::string_view mailbox);

}  // namespace salvo
