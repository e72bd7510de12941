// Link discovery and HTML-to-text over gumbo's parse tree; see html_links.h.
#include "engine/links/html_links.h"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "absl/status/status.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

// ASCII whitespace as HTML defines it (space, tab, LF, CR, FF).
constexpr std::string_view kHtmlSpace = " \t\n\r\f";

bool StartsWithNoCase(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != p[i]) return false;
  }
  return true;
}

bool IsBlock(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_H1: case GUMBO_TAG_H2:
    case GUMBO_TAG_H3: case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6:
    case GUMBO_TAG_TR: case GUMBO_TAG_TABLE: case GUMBO_TAG_UL: case GUMBO_TAG_OL:
    case GUMBO_TAG_LI: case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_HR: case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE: case GUMBO_TAG_HEADER: case GUMBO_TAG_FOOTER: case GUMBO_TAG_PRE:
      return true;
    default:
      return false;
  }
}

class Walker {
 public:
  Walker(std::string_view src, HtmlAnalysis* a) : src_(src), a_(a) {}

  void Walk(const GumboNode* n) {
    if (++depth_ > 2000) {  // gumbo caps nesting itself; stay safe on the stack anyway
      --depth_;
      return;
    }
    switch (n->type) {
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_CDATA:
      case GUMBO_NODE_WHITESPACE:
        AppendText(n->v.text.text);
        break;
      case GUMBO_NODE_DOCUMENT:
        Children(&n->v.document.children);
        break;
      case GUMBO_NODE_ELEMENT:
      case GUMBO_NODE_TEMPLATE:
        Element(n);
        break;
      default:
        break;
    }
    --depth_;
  }

  void Finish() {
    // Trim each line, collapse runs of blank lines to one.
    std::string out;
    size_t blank = 0;
    size_t i = 0;
    while (i <= text_.size()) {
      size_t nl = text_.find('\n', i);
      if (nl == std::string::npos) nl = text_.size();
      std::string_view line = Trim(std::string_view(text_).substr(i, nl - i), kHtmlSpace);
      if (line.empty()) {
        ++blank;
      } else {
        if (!out.empty()) out.append(blank > 0 ? "\n\n" : "\n");
        blank = 0;
        out.append(line);
      }
      i = nl + 1;
    }
    out.push_back('\n');
    a_->text = std::move(out);
  }

 private:
  void Children(const GumboVector* v) {
    for (unsigned i = 0; i < v->length; ++i) Walk(static_cast<const GumboNode*>(v->data[i]));
  }

  void AppendText(const char* t) {
    for (const char* p = t; *p; ++p) {
      char c = *p;
      bool ws = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
      if (pre_ > 0 && (c == '\n')) {
        text_.push_back('\n');
        continue;
      }
      if (ws) {
        if (!text_.empty() && text_.back() != ' ' && text_.back() != '\n') text_.push_back(' ');
      } else {
        text_.push_back(c);
      }
    }
  }

  void Element(const GumboNode* n) {
    const GumboElement& e = n->v.element;
    switch (e.tag) {
      case GUMBO_TAG_HEAD: case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_TITLE:
        return;  // no links worth tracking, no visible text
      case GUMBO_TAG_BR:
        text_.push_back('\n');
        return;
      case GUMBO_TAG_BODY:
        if (e.original_end_tag.length > 0 && e.original_end_tag.data != nullptr)
          a_->pixel_at = static_cast<size_t>(e.original_end_tag.data - src_.data());
        break;
      default:
        break;
    }
    bool block = IsBlock(e.tag);
    if (block) text_.append("\n\n");
    if (e.tag == GUMBO_TAG_PRE) ++pre_;
    std::string label_url;
    if (e.tag == GUMBO_TAG_A || e.tag == GUMBO_TAG_AREA) label_url = Link(e);
    size_t label_start = text_.size();
    Children(&e.children);
    if (e.tag == GUMBO_TAG_PRE) --pre_;
    if (!label_url.empty()) {
      std::string_view label = Trim(std::string_view(text_).substr(label_start), kHtmlSpace);
      if (label != label_url) {
        if (label.empty()) text_.append(label_url);
        else text_.append(" (" + label_url + ")");
      }
    }
    if (block) text_.append("\n\n");
  }

  // Records the edit for an <a>/<area> href; returns the URL to show in the text rendering.
  std::string Link(const GumboElement& e) {
    const GumboAttribute* href = gumbo_get_attribute(&e.attributes, "href");
    if (href == nullptr) return "";
    std::string_view value = Trim(href->value, kHtmlSpace);
    if (value == "{{unsubscribe_url}}" || value == "{{ unsubscribe_url }}") {
      AddEdit(href, HtmlLinkEdit::Kind::kUnsubscribe, "");
      return "{{unsubscribe_url}}";
    }
    if (!IsHttpUrl(value)) return "";
    if (gumbo_get_attribute(&e.attributes, "data-salvo-notrack") != nullptr ||
        value.find("{{") != std::string_view::npos) {
      a_->notrack_urls.emplace_back(value);
      return std::string(value);
    }
    AddEdit(href, HtmlLinkEdit::Kind::kTrack, value);
    return std::string(value);
  }

  void AddEdit(const GumboAttribute* href, HtmlLinkEdit::Kind kind, std::string_view url) {
    const GumboStringPiece& ov = href->original_value;
    if (ov.data == nullptr || ov.length == 0) return;
    if (ov.data < src_.data() || ov.data + ov.length > src_.data() + src_.size()) return;
    HtmlLinkEdit edit;
    edit.begin = static_cast<size_t>(ov.data - src_.data());
    edit.end = edit.begin + ov.length;
    edit.kind = kind;
    edit.url = std::string(url);
    a_->edits.push_back(std::move(edit));
  }

  std::string_view src_;
  HtmlAnalysis* a_;
  std::string text_;
  int pre_ = 0;
  int depth_ = 0;
};

}  // namespace

bool IsHttpUrl(std::string_view url) {
  return (StartsWithNoCase(url, "http://") && url.size() > 7) ||
         (StartsWithNoCase(url, "https://") && url.size() > 8);
}

[[nodiscard]] absl::StatusOr<HtmlAnalysis> AnalyzeHtml(std::string_view html) {
  if (html.size() > (4u << 20)) return absl::InvalidArgumentError("HTML larger than 4 MB");
  HtmlAnalysis a;
  a.pixel_at = html.size();
  GumboOutput* out = gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size());
  if (out == nullptr) return absl::InternalError("HTML parser failed");
  Walker w(html, &a);
  w.Walk(out->document);
  w.Finish();
  gumbo_destroy_output(&kGumboDefaultOptions, out);
  std::sort(a.edits.begin(), a.edits.end(),
            [](const HtmlLinkEdit& x, const HtmlLinkEdit& y) { return x.begin < y.begin; });
  // Drop any overlap (cannot happen with distinct attributes; be safe).
  std::vector<HtmlLinkEdit> kept;
  size_t last_end = 0;
  for (auto& e : a.edits) {
    if (e.begin >= last_end) {
      last_end = e.end;
      kept.push_back(std::move(e));
    }
  }
  a.edits = std::move(kept);
  if (a.pixel_at > html.size()) a.pixel_at = html.size();
  for (const auto& e : a.edits)  // never insert the pixel inside an attribute
    if (a.pixel_at > e.begin && a.pixel_at < e.end) a.pixel_at = html.size();
  return a;
}

std::vector<TextSpan> FindTextUrls(std::string_view text) {
  std::vector<TextSpan> spans;
  size_t i = 0;
  while (i < text.size()) {
    size_t h = text.find_first_of("hH", i);
    if (h == std::string_view::npos) break;
    std::string_view rest = text.substr(h);
    bool is_url = StartsWithNoCase(rest, "http://") || StartsWithNoCase(rest, "https://");
    // Must not be the middle of a word (e.g. "xhttp://").
    if (!is_url || (h > 0 && (std::isalnum(static_cast<unsigned char>(text[h - 1]))))) {
      i = h + 1;
      continue;
    }
    size_t e = h;
    int depth = 0;  // an unbalanced ')' ends the URL: "(see https://x.example/)next"
    while (e < text.size()) {
      unsigned char c = static_cast<unsigned char>(text[e]);
      if (c <= ' ' || c == '<' || c == '>' || c == '"' || c == '\'' || c == 0x7F) break;
      if (c == '(') ++depth;
      if (c == ')' && depth-- == 0) break;
      ++e;
    }
    // Trailing punctuation and an unbalanced ')' belong to the sentence.
    while (e > h) {
      char c = text[e - 1];
      if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?') {
        --e;
      } else if (c == ')') {
        std::string_view u = text.substr(h, e - h);
        if (std::count(u.begin(), u.end(), '(') < std::count(u.begin(), u.end(), ')')) --e;
        else break;
      } else {
        break;
      }
    }
    if (IsHttpUrl(text.substr(h, e - h))) spans.push_back({h, e});
    i = e > h ? e : h + 1;
  }
  return spans;
}

}  // namespace salvo
