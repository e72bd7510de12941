// Finds the links of an HTML template with a real HTML5 tokenizer (gumbo, source offsets), never
// with regex, and renders the HTML as plain text for a generated text part. Also finds http(s)
// URLs in a plain-text part.
// Trust: templates are operator input but may be large or malformed; gumbo never fails on
// malformed HTML; input is bounded by the caller (<= 4 MB).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace salvo {

struct HtmlLinkEdit {
  enum class Kind { kTrack, kUnsubscribe };
  size_t begin = 0;  // the attribute value in the source, quotes included: [begin, end)
  size_t end = 0;
  Kind kind = Kind::kTrack;
  std::string url;   // decoded href (kTrack)
};

struct HtmlAnalysis {
  std::vector<HtmlLinkEdit> edits;        // sorted by begin, non-overlapping
  size_t pixel_at = 0;                    // before </body>, or the end of the document
  std::vector<std::string> notrack_urls;  // hrefs of links marked data-salvo-notrack
  std::string text;                       // plain-text rendering (links as "label (url)")
};

// An href is tracked when it is http:// or https:// (case-insensitive, after trimming), carries
// no {{placeholder}}, and its <a>/<area> has no data-salvo-notrack attribute. An href equal to
// {{unsubscribe_url}} is reported as kUnsubscribe. mailto:, tel:, #anchors are left alone.
[[nodiscard]] absl::StatusOr<HtmlAnalysis> AnalyzeHtml(std::string_view html);

// http(s) URLs in plain text: [begin, end) spans, ending at white space, <, >, ", ' or a
// trailing punctuation mark (.,;:!?) and unbalanced ')'.
struct TextSpan {
  size_t begin = 0;
  size_t end = 0;
};
std::vector<TextSpan> FindTextUrls(std::string_view text);

// True for "http://..." / "https://..." (case-insensitive scheme).
bool IsHttpUrl(std::string_view url);

}  // namespace salvo
