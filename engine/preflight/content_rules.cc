#include "engine/preflight/content_rules.h"

#include <gumbo.h>

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/base/strings.h"
#include "engine/preflight/content_rules_tsv.h"

namespace salvo {
namespace {

struct Rules {
  std::map<std::string, double> weight;  // structural rule -> weight
  std::vector<std::pair<std::string, double>> phrases;
  std::vector<std::string> shorteners;
};

const Rules& BuiltinRules() {
  static const Rules* rules = [] {
    auto* r = new Rules;
    for (absl::string_view line : absl::StrSplit(kContentRulesTsv, '\n')) {
      if (line.empty() || line[0] == '#') continue;
      std::vector<std::string> f = absl::StrSplit(line, '\t');
      double w = 0;
      if (f.size() < 3 || !absl::SimpleAtod(f[2], &w)) continue;
      if (f[0] == "rule") r->weight[f[1]] = w;
      if (f[0] == "phrase" && f.size() == 4) r->phrases.emplace_back(AsciiLower(f[3]), w);
      if (f[0] == "shortener" && f.size() == 4) r->shorteners.push_back(AsciiLower(f[3]));
    }
    return r;
  }();
  return *rules;
}

struct Link {
  std::string href;
  std::string text;
};

struct HtmlFacts {
  std::vector<Link> links;
  int images = 0;
  std::string text;  // visible text
};

void Walk(const GumboNode* n, HtmlFacts* f, std::string* link_text, int depth) {
  if (depth > 2000) return;
  if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE) {
    f->text += n->v.text.text;
    if (link_text) *link_text += n->v.text.text;
    return;
  }
  if (n->type != GUMBO_NODE_ELEMENT) return;
  const GumboElement& e = n->v.element;
  if (e.tag == GUMBO_TAG_SCRIPT || e.tag == GUMBO_TAG_STYLE || e.tag == GUMBO_TAG_HEAD) return;
  if (e.tag == GUMBO_TAG_IMG) ++f->images;
  std::string* inner = link_text;
  size_t link_at = 0;
  if (e.tag == GUMBO_TAG_A) {
    const GumboAttribute* href = gumbo_get_attribute(&e.attributes, "href");
    f->links.push_back({href ? href->value : "", ""});
    link_at = f->links.size() - 1;
    inner = &f->links[link_at].text;
  }
  std::string own;
  if (e.tag == GUMBO_TAG_A) inner = &own;
  for (unsigned i = 0; i < e.children.length; ++i)
    Walk(static_cast<const GumboNode*>(e.children.data[i]), f, inner, depth + 1);
  if (e.tag == GUMBO_TAG_A) f->links[link_at].text = own;
  f->text += ' ';
}

// The host of "https://user@Host:443/x" or of a bare "host.tld/path" shown as link text;
// empty when `s` does not look like one.
std::string HostOf(std::string_view s, bool need_scheme) {
  s = Trim(s, kAsciiSpace);
  size_t scheme = s.find("://");
  if (scheme != std::string_view::npos) {
    s = s.substr(scheme + 3);
  } else if (need_scheme) {
    return "";
  } else if (absl::StartsWithIgnoreCase(Av(s), "www.") == false) {
    // Bare text: only a single token with a dot counts ("paypal.com", "example.org/login").
    if (s.find_first_of(kAsciiSpace) != std::string_view::npos) return "";
  }
  s = s.substr(0, s.find_first_of("/?#"));
  if (size_t at = s.rfind('@'); at != std::string_view::npos) s = s.substr(at + 1);
  s = s.substr(0, s.find(':'));
  std::string h = AsciiLower(TrimRight(s, "."));
  if (h.find('.') == std::string::npos) return "";
  for (char c : h)
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return "";
  // The last label is a TLD: letters only (so "3.5" or "v1.2" are not hosts).
  std::string_view tld = std::string_view(h).substr(h.rfind('.') + 1);
  if (tld.size() < 2) return "";
  for (char c : tld)
    if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return "";
  return h;
}

std::string StripWww(std::string h) { return absl::StartsWith(h, "www.") ? h.substr(4) : h; }

bool SameOrSub(std::string_view a, std::string_view b) {
  return a == b || absl::EndsWith(Av(a), absl::StrCat(".", Av(b)));
}

}  // namespace

std::string ContentScore::Summary() const {
  std::string out;
  for (const auto& h : hits)
    absl::StrAppendFormat(&out, "%s%s%s %.1f", out.empty() ? "" : ", ", h.rule,
                          h.detail.empty() ? "" : absl::StrCat("(", h.detail, ")"), h.weight);
  return out.empty() ? "no rule hit" : out;
}

absl::StatusOr<ContentScore> ScoreContent(const ContentSample& s) {
  const Rules& rules = BuiltinRules();
  ContentScore out;
  auto hit = [&](const std::string& rule, std::string detail, double weight = -1) {
    if (weight < 0) {
      auto it = rules.weight.find(rule);
      weight = it == rules.weight.end() ? 0 : it->second;
    }
    out.score += weight;
    out.hits.push_back({rule, weight, std::move(detail)});
  };

  HtmlFacts html;
  if (!s.html.empty()) {
    GumboOutput* g = gumbo_parse_with_options(&kGumboDefaultOptions, s.html.data(), s.html.size());
    if (g == nullptr) return absl::InternalError("HTML parser failed");
    Walk(g->root, &html, nullptr, 0);
    gumbo_destroy_output(&kGumboDefaultOptions, g);
  }

  // Subject in capitals: at least 8 letters, 80 % of them upper case.
  int letters = 0, upper = 0;
  for (unsigned char c : s.subject) {
    if (!absl::ascii_isalpha(c)) continue;
    ++letters;
    upper += absl::ascii_isupper(c) ? 1 : 0;
  }
  if (letters >= 8 && upper * 5 >= letters * 4) hit("SUBJECT_ALL_CAPS", "");

  const std::string body = absl::StrCat(html.text, "\n", s.text);
  if (absl::StrContains(s.subject, "!!!") || absl::StrContains(body, "!!!"))
    hit("EXCLAMATION_RUN", absl::StrContains(s.subject, "!!!") ? "subject" : "body");

  const std::string hay = AsciiLower(absl::StrCat(s.subject, "\n", body));
  for (const auto& [phrase, w] : rules.phrases)
    if (absl::StrContains(hay, phrase)) hit("SPAM_PHRASE", absl::StrCat("\"", phrase, "\""), w);

  bool shortener = false;
  for (const Link& l : html.links) {
    const std::string target = HostOf(l.href, true);
    if (target.empty()) continue;
    const std::string shown = HostOf(l.text, false);
    if (!shown.empty() && !SameOrSub(StripWww(target), StripWww(shown)) &&
        !SameOrSub(StripWww(shown), StripWww(target)))
      hit("LINK_TEXT_OTHER_DOMAIN", absl::StrCat("text shows ", shown, ", link goes to ", target));
    for (const auto& sh : rules.shorteners)
      if (!shortener && SameOrSub(target, sh)) {
        shortener = true;
        hit("URL_SHORTENER", target);
      }
  }

  size_t visible = 0;
  for (unsigned char c : html.text) visible += absl::ascii_isspace(c) ? 0 : 1;
  if (!s.html.empty() && html.images > 0 && visible < 100)
    hit("IMAGE_ONLY_HTML", absl::StrCat(html.images, " images, ", visible, " characters of text"));
  if (!s.has_text_part) hit("NO_TEXT_PART", "");
  if (s.message_bytes > kGmailClipBytes)
    hit("MESSAGE_OVER_102KB", absl::StrCat(s.message_bytes, " bytes; Gmail clips over 102 KB"));
  if (!s.physical_address.empty() && !absl::StrContains(body, s.physical_address))
    hit("NO_PHYSICAL_ADDRESS", absl::StrCat("\"", s.physical_address, "\" not in the body"));
  return out;
}

}  // namespace salvo
