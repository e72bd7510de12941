// Template compiler and per-recipient renderer; see compiled_campaign.h.
//
// Layout of a rendered message (segments):
//   [DKIM-Signature fields]  owned, one per [[dkim]] key
//   [header block + CRLF]    owned: constant fields copied, To/Subject/Date/Message-ID/
//                            List-Unsubscribe/X-Salvo-ID filled
//   body: constant segments (views into the compiled campaign, QP-encoded once) and filled slots
//         (views into one owned arena), multipart/alternative: text, then HTML.
// Every QP segment starts at a line start: a constant segment that precedes a slot ends with a
// soft line break, and a slot ends with one, so each piece keeps the 76-octet rule on its own.
// QpEncoder's output is invariant under DKIM relaxed body canonicalization, so the body hash is a
// plain SHA-256 over the body segments (the constant prefix before the first slot is hashed once).
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "engine/mime/compiled_campaign.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "engine/dkim/dkim_signer.h"
#include "engine/links/html_links.h"
#include "engine/links/token.h"
#include "engine/mime/encoding.h"

namespace salvo {
namespace {

constexpr size_t kMaxTemplateBytes = 4u << 20;
constexpr size_t kMaxFieldBytes = 8 * 1024;
constexpr size_t kMaxPlaceholder = 200;

enum class SlotKind : uint8_t { kField, kLink, kUnsub, kOpen };
enum class Ctx : uint8_t { kText, kHtml };

struct Piece {
  bool is_slot = false;
  std::string text;   // literal text, or the default of a field slot
  SlotKind kind = SlotKind::kField;
  std::string field;  // field name
  uint32_t link = 0;
};

struct BodySeg {
  bool is_slot = false;
  std::string bytes;  // constant: encoded bytes
  SlotKind kind = SlotKind::kField;
  Ctx ctx = Ctx::kText;
  std::string field;
  std::string def;
  uint32_t link = 0;
};

void AddLiteral(std::string_view s, std::vector<Piece>* out) {
  if (s.empty()) return;
  if (!out->empty() && !out->back().is_slot) {
    out->back().text.append(s);
    return;
  }
  Piece p;
  p.text = std::string(s);
  out->push_back(std::move(p));
}

void AddSlot(SlotKind kind, std::vector<Piece>* out, uint32_t link = 0) {
  Piece p;
  p.is_slot = true;
  p.kind = kind;
  p.link = link;
  out->push_back(std::move(p));
}

// Splits `s` into literal pieces and {{field}} / {{field|default}} / {{unsubscribe_url}} slots.
// Anything that is not a well-formed placeholder stays literal text.
void SplitPlaceholders(std::string_view s, std::vector<Piece>* out) {
  size_t i = 0;
  while (i < s.size()) {
    size_t open = s.find("{{", i);
    if (open == std::string_view::npos) break;
    size_t close = s.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    if (close - open > kMaxPlaceholder) {
      AddLiteral(s.substr(i, open + 2 - i), out);
      i = open + 2;
      continue;
    }
    std::string_view inner = s.substr(open + 2, close - open - 2);
    size_t bar = inner.find('|');
    std::string_view name = Trim(inner.substr(0, bar), kBlanks);
    if (!IsNameToken(name, 64)) {
      AddLiteral(s.substr(i, open + 2 - i), out);
      i = open + 2;
      continue;
    }
    AddLiteral(s.substr(i, open - i), out);
    if (name == "unsubscribe_url") {
      AddSlot(SlotKind::kUnsub, out);
    } else {
      Piece p;
      p.is_slot = true;
      p.kind = SlotKind::kField;
      p.field = std::string(name);
      if (bar != std::string_view::npos) p.text = std::string(Trim(inner.substr(bar + 1), kBlanks));
      out->push_back(std::move(p));
    }
    i = close + 2;
  }
  AddLiteral(s.substr(i), out);
}

struct ParsedAddress {
  std::string display;
  NormalizedAddress addr;
};

[[nodiscard]] absl::StatusOr<ParsedAddress> ParseMailbox(std::string_view in, std::string_view what,
                                           const std::string& file) {
  ParsedAddress p;
  std::string_view a = Trim(in, kBlanks);
  size_t lt = a.rfind('<');
  if (lt != std::string_view::npos) {
    if (a.back() != '>')
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": \"", Av(what), "\": expected \"Name <address>\""));
    std::string_view name = Trim(a.substr(0, lt), kBlanks);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      std::string unq;
      for (size_t i = 1; i + 1 < name.size(); ++i) {
        if (name[i] == '\\' && i + 2 < name.size()) ++i;
        unq.push_back(name[i]);
      }
      p.display = SanitizeUtf8(unq, true, 512);
    } else {
      p.display = SanitizeUtf8(name, true, 512);
    }
    a = a.substr(lt + 1, a.size() - lt - 2);
  }
  auto n = NormalizeAddress(a);
  if (!n.ok())
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": \"", Av(what), "\": ", n.status().message()));
  p.addr = std::move(*n);
  return p;
}

void AppendMailboxHeader(std::string_view name, const ParsedAddress& p, std::string* out) {
  out->append(name);
  out->append(": ");
  if (!p.display.empty()) {
    AppendPhrase(p.display, out);
    out->append(" ");
  }
  out->append("<");
  out->append(p.addr.address);
  out->append(">\r\n");
}

void AppendHex64(uint64_t v, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char b[16];
  for (int i = 15; i >= 0; --i) {
    b[i] = kHex[v & 15];
    v >>= 4;
  }
  out->append(b, 16);
}

// "Date: ...\r\n" for `now`, cached per second and thread.
void AppendDateHeader(time_t now, std::string* out) {
  struct Cache {
    time_t sec = -1;
    char buf[64];
    size_t len = 0;
  };
  thread_local Cache c;
  if (now != c.sec) {
    struct tm tm;
    gmtime_r(&now, &tm);
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int n = snprintf(c.buf, sizeof c.buf, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
                     kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
    c.len = n > 0 ? static_cast<size_t>(n) : 0;
    c.sec = now;
  }
  out->append(c.buf, c.len);
}

class CampaignImpl final : public CompiledCampaign {
 public:
  const CampaignConfig& campaign() const override { return campaign_; }
  const std::vector<std::string>& links() const override { return links_; }
  absl::Status Render(const Recipient& r, RenderedMessage* out) const override;

  absl::Status Compile(const CampaignConfig& campaign, const Config& config, std::string html,
                       std::optional<std::string> text);
  void SetEnv(RenderEnv env) { env_ = env; }

 private:
  uint32_t LinkIndex(const std::string& url) {
    auto [it, inserted] = link_index_.emplace(url, static_cast<uint32_t>(links_.size()));
    if (inserted) links_.push_back(url);
    return it->second;
  }
  void BuildHtmlPieces(std::string_view html, const HtmlAnalysis& a, std::vector<Piece>* out);
  void BuildTextPieces(std::string_view text, const std::set<std::string>& notrack,
                       std::vector<Piece>* out);
  void EncodePart(const std::vector<Piece>& pieces, Ctx ctx, std::string_view part_headers);
  void AppendConst(std::string_view bytes);
  struct Scratch;
  void FillSlot(const BodySeg& s, const Recipient& r, Scratch* sc, std::string_view unsub_url,
                std::string_view open_url, std::string* arena) const;

  CampaignConfig campaign_;
  std::string base_url_;
  std::unique_ptr<TokenKeyRing> signer_;  // the current [tracking] key (render only signs)
  std::vector<std::string> links_;
  std::map<std::string, uint32_t> link_index_;
  std::vector<Piece> subject_;
  std::string const_headers_;  // MIME-Version, From, Reply-To, List-Unsubscribe-Post, custom,
                               // Content-Type (each CRLF-terminated)
  std::string unsub_mailto_;   // "mailto:local" of "mailto:local+TAG@domain?subject=..." or empty
  std::string unsub_mailto_domain_;  // "@domain"
  std::string bounce_domain_;
  std::string msgid_suffix_;   // ".campaign@domain>"
  std::string boundary_;
  std::vector<BodySeg> body_;
  size_t first_slot_ = 0;      // index of the first body slot (body_.size() when none)
  SHA256_CTX prefix_hash_;     // after body_[0 .. first_slot_)
  std::vector<std::unique_ptr<DkimSigner>> dkim_;
  RenderEnv env_;  // the clock (Date, signing time) and the Message-ID randomness
};

absl::Status CampaignImpl::Compile(const CampaignConfig& campaign, const Config& config,
                                   std::string html, std::optional<std::string> text) {
  campaign_ = campaign;
  const std::string& file = campaign.path;
  if (!config.tracking || config.tracking->base_url.empty() || config.tracking->secret.empty())
    return absl::FailedPreconditionError(absl::StrCat(
        config.path, ": [tracking] base_url and secret_file are required to send campaign ",
        campaign.id, " (tracking links, one-click unsubscribe, bounce tags)"));
  if (campaign.id.empty() || campaign.id.size() > 64)
    return absl::InvalidArgumentError(absl::StrCat(file, ": campaign id must be 1-64 bytes"));
  base_url_ = config.tracking->base_url;
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  if (HasLineBreak(base_url_) || base_url_.find_first_of(" <>\"") != std::string::npos)
    return absl::InvalidArgumentError(absl::StrCat(config.path, ": [tracking] base_url is invalid"));
  signer_ = std::make_unique<TokenKeyRing>(config.tracking->secret);

  ASSIGN_OR_RETURN(ParsedAddress from, ParseMailbox(campaign.from, "from", file));
  std::optional<ParsedAddress> reply_to;
  if (!campaign.reply_to.empty()) {
    ASSIGN_OR_RETURN(ParsedAddress rt, ParseMailbox(campaign.reply_to, "reply_to", file));
    reply_to = std::move(rt);
  }
  bounce_domain_ = config.tracking->bounce_domain.empty() ? std::string(from.addr.domain())
                                                          : config.tracking->bounce_domain;
  if (!config.tracking->unsubscribe_mailto.empty()) {
    auto m = NormalizeAddress(config.tracking->unsubscribe_mailto);
    if (!m.ok())
      return absl::InvalidArgumentError(absl::StrCat(
          config.path, ": [tracking] unsubscribe_mailto: ", m.status().message()));
    // The tag goes into the local part (unsub+TAG@domain) and the subject, so a reply to either
    // names the recipient (engine/feedback/unsubscribe_mail.h).
    const std::string_view local = m->local();
    if (local.empty() || local[0] == '"')
      return absl::InvalidArgumentError(absl::StrCat(
          config.path, ": [tracking] unsubscribe_mailto: a quoted local part cannot carry a tag"));
    if (local.size() + 1 + kBounceTagChars > 64)
      return absl::InvalidArgumentError(absl::StrCat(
          config.path, ": [tracking] unsubscribe_mailto: local part \"", Av(local),
          "\" is too long to carry the tag (at most ", 64 - 1 - kBounceTagChars, " characters)"));
    unsub_mailto_ = absl::StrCat("mailto:", Av(local));
    unsub_mailto_domain_ = absl::StrCat("@", Av(m->domain()));
  }
  std::string id_for_msgid = campaign.id;
  for (char& c : id_for_msgid)
    if (c == '.') c = '-';
  msgid_suffix_ = absl::StrCat(".", id_for_msgid, "@", Av(from.addr.domain()), ">\r\n");

  // Boundary: "=_" never occurs in quoted-printable output, and the part headers are ours.
  unsigned char rnd[12];
  if (RAND_bytes(rnd, sizeof rnd) != 1) return absl::InternalError("RAND_bytes failed");
  boundary_ = "=_salvo_";
  for (unsigned char b : rnd) absl::StrAppend(&boundary_, absl::Hex(b, absl::kZeroPad2));

  // Headers that are the same for every recipient.
  const_headers_.clear();
  AppendMailboxHeader("From", from, &const_headers_);
  if (reply_to) AppendMailboxHeader("Reply-To", *reply_to, &const_headers_);
  const_headers_.append("MIME-Version: 1.0\r\n");
  const_headers_.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
  static const std::set<std::string> kReserved = {
      "from", "to", "subject", "date", "message-id", "mime-version", "content-type",
      "content-transfer-encoding", "reply-to", "list-unsubscribe", "list-unsubscribe-post",
      "x-salvo-id", "dkim-signature", "return-path", "sender", "bcc", "cc"};
  for (const auto& [name, value] : campaign.headers) {
    std::string lower;
    for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (kReserved.count(lower))
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": headers.", name, ": this header is set by salvo"));
    AppendUnstructuredHeader(name, SanitizeUtf8(value, true, 900), &const_headers_);
  }
  absl::StrAppend(&const_headers_, "Content-Type: multipart/alternative;\r\n boundary=\"",
                  boundary_, "\"\r\n");

  SplitPlaceholders(SanitizeUtf8(campaign.subject, true, 4096), &subject_);

  // HTML: links found with gumbo on the sanitized source (offsets refer to it).
  html = SanitizeUtf8(html, false, kMaxTemplateBytes);
  auto analysis = AnalyzeHtml(html);
  if (!analysis.ok())
    return absl::InvalidArgumentError(
        absl::StrCat(campaign.html_file, ": ", analysis.status().message()));
  std::vector<Piece> html_pieces, text_pieces;
  BuildHtmlPieces(html, *analysis, &html_pieces);
  std::string text_src = text ? SanitizeUtf8(*text, false, kMaxTemplateBytes) : analysis->text;
  std::set<std::string> notrack(analysis->notrack_urls.begin(), analysis->notrack_urls.end());
  BuildTextPieces(text_src, notrack, &text_pieces);

  body_.clear();
  EncodePart(text_pieces, Ctx::kText,
             absl::StrCat("--", boundary_,
                          "\r\nContent-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: quoted-printable\r\n\r\n"));
  EncodePart(html_pieces, Ctx::kHtml,
             absl::StrCat("\r\n--", boundary_,
                          "\r\nContent-Type: text/html; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: quoted-printable\r\n\r\n"));
  AppendConst(absl::StrCat("\r\n--", boundary_, "--\r\n"));

  SHA256_Init(&prefix_hash_);
  first_slot_ = body_.size();
  for (size_t i = 0; i < body_.size(); ++i) {
    if (body_[i].is_slot) {
      first_slot_ = i;
      break;
    }
    SHA256_Update(&prefix_hash_, body_[i].bytes.data(), body_[i].bytes.size());
  }

  for (const DkimConfig& d : config.dkim) {
    ASSIGN_OR_RETURN(auto key, DkimKey::LoadFile(d.key_file));
    auto s = DkimSigner::Create(d.domain, d.selector, std::move(key));
    if (!s.ok())
      return absl::InvalidArgumentError(absl::StrCat(config.path, ": [[dkim]] ",
                                                     s.status().message()));
    dkim_.push_back(std::move(*s));
  }
  return absl::OkStatus();
}

void CampaignImpl::BuildHtmlPieces(std::string_view html, const HtmlAnalysis& a,
                                   std::vector<Piece>* out) {
  size_t pos = 0;
  bool pixel_done = !campaign_.track_opens;
  auto pixel = [&] {
    AddLiteral("<img src=\"", out);
    AddSlot(SlotKind::kOpen, out);
    AddLiteral("\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">", out);
    pixel_done = true;
  };
  for (const HtmlLinkEdit& e : a.edits) {
    if (!pixel_done && a.pixel_at <= e.begin) {
      SplitPlaceholders(html.substr(pos, a.pixel_at - pos), out);
      pos = a.pixel_at;
      pixel();
    }
    if (e.kind == HtmlLinkEdit::Kind::kTrack && !campaign_.track_clicks) continue;
    SplitPlaceholders(html.substr(pos, e.begin - pos), out);
    AddLiteral("\"", out);
    if (e.kind == HtmlLinkEdit::Kind::kUnsubscribe) AddSlot(SlotKind::kUnsub, out);
    else AddSlot(SlotKind::kLink, out, LinkIndex(e.url));
    AddLiteral("\"", out);
    pos = e.end;
  }
  if (!pixel_done && a.pixel_at >= pos) {
    SplitPlaceholders(html.substr(pos, a.pixel_at - pos), out);
    pos = a.pixel_at;
    pixel();
  }
  SplitPlaceholders(html.substr(pos), out);
}

void CampaignImpl::BuildTextPieces(std::string_view text, const std::set<std::string>& notrack,
                                   std::vector<Piece>* out) {
  size_t pos = 0;
  if (campaign_.track_clicks) {
    for (const TextSpan& s : FindTextUrls(text)) {
      std::string url(text.substr(s.begin, s.end - s.begin));
      if (url.find("{{") != std::string::npos || notrack.count(url)) continue;
      SplitPlaceholders(text.substr(pos, s.begin - pos), out);
      AddSlot(SlotKind::kLink, out, LinkIndex(url));
      pos = s.end;
    }
  }
  SplitPlaceholders(text.substr(pos), out);
}

void CampaignImpl::AppendConst(std::string_view bytes) {
  if (!body_.empty() && !body_.back().is_slot) {
    body_.back().bytes.append(bytes);
    return;
  }
  BodySeg s;
  s.bytes = std::string(bytes);
  body_.push_back(std::move(s));
}

void CampaignImpl::EncodePart(const std::vector<Piece>& pieces, Ctx ctx,
                              std::string_view part_headers) {
  AppendConst(part_headers);
  std::string cur;
  QpEncoder enc(&cur);
  for (const Piece& p : pieces) {
    if (!p.is_slot) {
      enc.Append(p.text);
      continue;
    }
    enc.SoftBreak();
    AppendConst(cur);
    cur.clear();
    enc = QpEncoder(&cur);
    BodySeg s;
    s.is_slot = true;
    s.kind = p.kind;
    s.ctx = ctx;
    s.field = p.field;
    s.def = p.text;
    s.link = p.link;
    body_.push_back(std::move(s));
  }
  enc.Finish();
  AppendConst(cur);
}

// Per-thread buffers reused from one Render() to the next (their capacity survives), so that
// rendering allocates only what the RenderedMessage keeps.
struct CampaignImpl::Scratch {
  TokenClaims token;          // campaign_id, recipient_id and issued_at set once per message
  std::string url;            // a click URL being built
  std::string unsub_url, open_url;
  std::string clean, esc;     // a sanitized / HTML-escaped field value
  std::string subject, subject_clean;
  std::string key;            // case-folded address when the recipient has no key
  std::vector<std::pair<size_t, size_t>> spans;       // arena span of each body slot
  std::vector<std::pair<size_t, size_t>> link_spans;  // arena span of each link's URL
  const TokenKeyRing* signer = nullptr;               // of the message being rendered
};

void CampaignImpl::FillSlot(const BodySeg& s, const Recipient& r, Scratch* sc,
                            std::string_view unsub_url, std::string_view open_url,
                            std::string* arena) const {
  QpEncoder enc(arena);
  switch (s.kind) {
    case SlotKind::kField: {
      const std::string* v = r.Field(s.field);
      if (v == nullptr || v->empty()) {
        enc.Append(s.def);  // template text: already in the part's syntax
      } else {
        sc->clean.clear();
        AppendSanitizedUtf8(*v, true, kMaxFieldBytes, &sc->clean);
        if (s.ctx == Ctx::kHtml) {
          sc->esc.clear();
          AppendHtmlEscaped(sc->clean, &sc->esc);
          enc.Append(sc->esc);
        } else {
          enc.Append(sc->clean);
        }
      }
      break;
    }
    case SlotKind::kLink: {
      std::string& url = sc->url;
      url.assign(base_url_);
      url.append("/c/");
      sc->token.purpose = TokenPurpose::kClick;
      sc->token.link_index = s.link;
      sc->signer->Issue(sc->token, &url);
      enc.Append(url);
      break;
    }
    case SlotKind::kUnsub:
      enc.Append(unsub_url);
      break;
    case SlotKind::kOpen:
      enc.Append(open_url);
      break;
  }
  enc.SoftBreak();
}

absl::Status CampaignImpl::Render(const Recipient& r, RenderedMessage* out) const {
  out->envelope_from.clear();
  out->recipient.clear();
  out->segments.clear();
  out->size = 0;
  out->dkim_sign_ns[0] = out->dkim_sign_ns[1] = 0;
  out->body_8bit = false;
  out->smtputf8 = false;

  // The address goes into To: and RCPT TO: it must be one clean token. A space is allowed only
  // inside a quoted local part ("john smith"@example.com, which import accepts: RFC 5321 4.1.2).
  const std::string& addr = r.address;
  if (addr.empty() || addr.size() > 254 || addr.find('@') == std::string::npos)
    return absl::InvalidArgumentError(
        absl::StrCat("recipient address \"", SanitizeForLog(addr, 80), "\" is not valid"));
  const size_t quoted_end = addr[0] == '"' ? addr.find('"', 1) : 0;
  for (size_t i = 0; i < addr.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(addr[i]);
    if (c == ' ' && i < quoted_end && quoted_end != std::string::npos) continue;
    if (c <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == ',')
      return absl::InvalidArgumentError(
          absl::StrCat("recipient address \"", SanitizeForLog(addr, 80), "\" is not valid"));
    if (c >= 0x80) out->smtputf8 = true;
  }
  thread_local Scratch sc;
  const std::string* keyp = &r.key;
  if (r.key.empty()) {
    sc.key.clear();
    for (char c : addr)
      sc.key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    keyp = &sc.key;
  }
  const std::string& key = *keyp;
  // Tokens and the tag name the recipient by its opaque id, never by the address.
  const uint64_t recipient_id = RecipientId(key);
  const absl::Time now = env_.clock->Now();
  sc.token.campaign_id.assign(campaign_.id);
  sc.token.recipient_id = recipient_id;
  sc.token.issued_at = absl::ToUnixSeconds(now);
  sc.token.link_index = 0;
  // The ring of RenderEnv::keys when set (held for this message), else the compile-time key.
  std::shared_ptr<const TokenKeyRing> ring = env_.keys != nullptr ? env_.keys->Get() : nullptr;
  sc.signer = ring ? ring.get() : signer_.get();

  // Tokens shared by header and body. The bounce tag is written straight into envelope_from
  // ("bounces+" TAG "@" domain) and used from there.
  std::string& env = out->envelope_from;
  env.reserve(9 + kBounceTagChars + bounce_domain_.size());
  env.append("bounces+");
  sc.signer->AppendBounceTag(campaign_.id, recipient_id, &env);
  const std::string_view bounce_tag(env.data() + 8, kBounceTagChars);
  env.push_back('@');
  env.append(bounce_domain_);
  out->recipient = addr;
  std::string& unsub_url = sc.unsub_url;
  unsub_url.assign(base_url_);
  unsub_url.append("/u/");
  sc.token.purpose = TokenPurpose::kUnsubscribe;
  sc.signer->Issue(sc.token, &unsub_url);
  std::string& open_url = sc.open_url;
  open_url.clear();
  if (campaign_.track_opens) {
    open_url.assign(base_url_);
    open_url.append("/o/");
    sc.token.purpose = TokenPurpose::kOpen;
    sc.signer->Issue(sc.token, &open_url);
  }

  // [0] DKIM-Signature fields, [1] header block, [2] slot arena. Strings left from an earlier
  // Render() into the same message are reused with their capacity.
  out->owned.resize(3);
  std::string& dkim = out->owned[0];
  std::string& hdr = out->owned[1];
  std::string& arena = out->owned[2];
  dkim.clear();
  hdr.clear();
  arena.clear();

  // Body slots into the arena; remember spans.
  // A slot's encoding does not depend on its neighbours (it starts at a line start and ends
  // with a soft break) and URLs need no HTML escaping, so a link, unsubscribe or open URL used
  // twice (text and HTML part) is encoded once and its bytes referenced twice.
  auto& spans = sc.spans;
  auto& link_spans = sc.link_spans;
  constexpr size_t kNone = ~size_t{0};
  link_spans.assign(links_.size(), {kNone, 0});
  std::pair<size_t, size_t> unsub_span{kNone, 0}, open_span{kNone, 0};
  spans.clear();
  arena.reserve(1024 + links_.size() * 160);
  for (const BodySeg& s : body_) {
    if (!s.is_slot) continue;
    std::pair<size_t, size_t>* cache = s.kind == SlotKind::kLink    ? &link_spans[s.link]
                                       : s.kind == SlotKind::kUnsub ? &unsub_span
                                       : s.kind == SlotKind::kOpen  ? &open_span
                                                                    : nullptr;
    if (cache != nullptr && cache->first != kNone) {
      spans.push_back(*cache);
      continue;
    }
    size_t start = arena.size();
    FillSlot(s, r, &sc, unsub_url, open_url, &arena);
    spans.emplace_back(start, arena.size() - start);
    if (cache != nullptr) *cache = spans.back();
  }

  // Header block.
  hdr.reserve(const_headers_.size() + 512);
  hdr.append(const_headers_);
  hdr.append("To: <");
  hdr.append(addr);
  hdr.append(">\r\n");
  std::string& subject = sc.subject;
  subject.clear();
  for (const Piece& p : subject_) {
    if (!p.is_slot) {
      subject.append(p.text);
    } else {
      const std::string* v = p.kind == SlotKind::kField ? r.Field(p.field) : nullptr;
      subject.append(v != nullptr && !v->empty() ? *v : p.text);
    }
  }
  sc.subject_clean.clear();
  AppendSanitizedUtf8(subject, true, 4096, &sc.subject_clean);
  AppendUnstructuredHeader("Subject", sc.subject_clean, &hdr);
  AppendDateHeader(absl::ToTimeT(now), &hdr);
  hdr.append("Message-ID: <");
  AppendHex64(env_.random(), &hdr);
  hdr.push_back('.');
  AppendHex64(std::hash<std::string_view>{}(key), &hdr);
  hdr.append(msgid_suffix_);
  hdr.append("List-Unsubscribe: <");
  hdr.append(unsub_url);
  hdr.push_back('>');
  if (!unsub_mailto_.empty()) {
    hdr.append(",\r\n <");
    hdr.append(unsub_mailto_);
    hdr.push_back('+');
    hdr.append(bounce_tag);
    hdr.append(unsub_mailto_domain_);
    hdr.append("?subject=unsubscribe%20");
    hdr.append(bounce_tag);
    hdr.push_back('>');
  }
  hdr.append("\r\nX-Salvo-ID: ");
  hdr.append(bounce_tag);
  hdr.append("\r\n");

  // DKIM over the header block and the body hash.
  if (!dkim_.empty()) {
    SHA256_CTX ctx = prefix_hash_;
    size_t k = 0;
    for (size_t i = first_slot_; i < body_.size(); ++i) {
      if (body_[i].is_slot) {
        const auto& sp = spans[k++];
        SHA256_Update(&ctx, arena.data() + sp.first, sp.second);
      } else {
        SHA256_Update(&ctx, body_[i].bytes.data(), body_[i].bytes.size());
      }
    }
    unsigned char bh[SHA256_DIGEST_LENGTH];
    SHA256_Final(bh, &ctx);
    for (const auto& signer : dkim_) {
      const int64_t t0 = env_.clock->MonotonicNs();
      RETURN_IF_ERROR(signer->Sign(hdr, bh, &dkim));
      const int alg = signer->key().algorithm() == DkimAlgorithm::kEd25519Sha256 ? 1 : 0;
      out->dkim_sign_ns[alg] += env_.clock->MonotonicNs() - t0;
    }
  }
  hdr.append("\r\n");  // end of header

  out->segments.reserve(body_.size() + 2);
  if (!dkim.empty()) out->segments.emplace_back(dkim);
  out->segments.emplace_back(hdr);
  size_t k = 0;
  for (const BodySeg& s : body_) {
    if (s.is_slot) {
      const auto& sp = spans[k++];
      if (sp.second) out->segments.emplace_back(arena.data() + sp.first, sp.second);
    } else {
      out->segments.emplace_back(s.bytes);
    }
  }
  size_t total = 0;
  for (std::string_view s : out->segments) total += s.size();
  out->size = total;
  return absl::OkStatus();
}

}  // namespace

[[nodiscard]] absl::StatusOr<std::shared_ptr<const CompiledCampaign>> CompileCampaignFromSources(
    const CampaignConfig& campaign, const Config& config, std::string html,
    std::optional<std::string> text, RenderEnv env) {
  auto c = std::make_shared<CampaignImpl>();
  c->SetEnv(env);
  RETURN_IF_ERROR(c->Compile(campaign, config, std::move(html), std::move(text)));
  return std::shared_ptr<const CompiledCampaign>(std::move(c));
}

[[nodiscard]] absl::StatusOr<std::shared_ptr<const CompiledCampaign>> CompileCampaign(
    const CampaignConfig& campaign, const Config& config, RenderEnv env) {
  ASSIGN_OR_RETURN(std::string html, ReadFile(campaign.html_file, kMaxTemplateBytes, "html_file"));
  std::optional<std::string> text;
  if (!campaign.text_file.empty()) {
    ASSIGN_OR_RETURN(std::string t, ReadFile(campaign.text_file, kMaxTemplateBytes, "text_file"));
    text = std::move(t);
  }
  return CompileCampaignFromSources(campaign, config, std::move(html), std::move(text), env);
}

}  // namespace salvo
