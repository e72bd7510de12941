// Content scoring of a campaign's sample message: built-in rules with weights as data
// (engine/preflight/content_rules.tsv, embedded at build time): spam phrases in subject and body,
// an ALL CAPS subject, runs of "!!!", link text showing another domain than its target, URL
// shorteners, image-only HTML, no text part, a message over 102 KB (Gmail clips it), no physical
// address line when one is required. No I/O; the HTML is parsed with gumbo, never with regex.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace salvo {

struct ContentSample {
  std::string subject;           // as the recipient sees it (rendered)
  std::string html;              // the template's HTML before link rewriting (targets as written)
  std::string text;              // the text part (as sent)
  bool has_text_part = true;
  size_t message_bytes = 0;      // the rendered message
  std::string physical_address;  // required line ([preflight] physical_address); empty: not required
};

struct RuleHit {
  std::string rule;    // "SPAM_PHRASE"
  double weight = 0;
  std::string detail;  // "\"act now\"" / "text shows paypal.com, link goes to evil.example"
};

struct ContentScore {
  double score = 0;
  std::vector<RuleHit> hits;
  std::string Summary() const;  // "SUBJECT_ALL_CAPS 3.0, SPAM_PHRASE(\"act now\") 1.5, ..."
};

inline constexpr size_t kGmailClipBytes = 102 * 1024;

[[nodiscard]] absl::StatusOr<ContentScore> ScoreContent(const ContentSample& sample);

}  // namespace salvo
