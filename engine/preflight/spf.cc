#include "engine/preflight/spf.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/base/strings.h"

namespace salvo {

const char* SpfResultName(SpfResult r) {
  switch (r) {
    case SpfResult::kNone: return "none";
    case SpfResult::kNeutral: return "neutral";
    case SpfResult::kPass: return "pass";
    case SpfResult::kFail: return "fail";
    case SpfResult::kSoftFail: return "softfail";
    case SpfResult::kTempError: return "temperror";
    case SpfResult::kPermError: return "permerror";
  }
  return "?";
}

bool IsSpfRecord(std::string_view txt) {
  if (txt.size() < 6 || !EqualsAsciiNoCase(txt.substr(0, 6), "v=spf1")) return false;
  return txt.size() == 6 || txt[6] == ' ';
}

namespace {

constexpr int kMaxLookups = 10;
constexpr int kMaxVoidLookups = 2;
constexpr size_t kMaxMxNames = 10;
constexpr int kMaxDepth = 20;  // the lookup limit ends deeper trees first; this is a backstop

absl::Status BadTerm(std::string_view term, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("SPF term \"", SanitizeForLog(term, 80), "\": ", Av(why)));
}

// "/24" or "//64" or "/24//64" suffixes of a, mx, ip4, ip6.
bool ParseCidr(std::string_view* spec, int* c4, int* c6) {
  size_t dd = spec->find("//");
  if (dd != std::string_view::npos) {
    int v;
    if (!absl::SimpleAtoi(Av(spec->substr(dd + 2)), &v) || v < 0 || v > 128) return false;
    *c6 = v;
    *spec = spec->substr(0, dd);
  }
  size_t s = spec->rfind('/');
  if (s != std::string_view::npos) {
    int v;
    if (!absl::SimpleAtoi(Av(spec->substr(s + 1)), &v) || v < 0 || v > 32) return false;
    *c4 = v;
    *spec = spec->substr(0, s);
  }
  return true;
}

struct Ip {
  bool v6 = false;
  unsigned char b[16] = {};
};

bool ParseIp(std::string_view text, Ip* out) {
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), out->b) == 1) {
    out->v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out->b) == 1) {
    out->v6 = true;
    return true;
  }
  return false;
}

bool InCidr(const Ip& ip, const Ip& net, int bits) {
  if (ip.v6 != net.v6) return false;
  const int max = ip.v6 ? 128 : 32;
  if (bits < 0 || bits > max) bits = max;
  int full = bits / 8, rest = bits % 8;
  if (std::memcmp(ip.b, net.b, full) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (ip.b[full] & mask) == (net.b[full] & mask);
}

}  // namespace

absl::StatusOr<SpfRecord> ParseSpfRecord(std::string_view txt) {
  if (txt.size() > kMaxSpfRecordBytes) return absl::InvalidArgumentError("SPF record over 4096 bytes");
  if (!IsSpfRecord(txt)) return absl::InvalidArgumentError("not an SPF record (no \"v=spf1\")");
  SpfRecord rec;
  bool redirect = false, exp = false;
  for (absl::string_view t : absl::StrSplit(Av(txt.substr(6)), ' ', absl::SkipEmpty())) {
    std::string_view term = Sv(t);
    SpfTerm st;
    st.text = std::string(term);
    // Modifier: name "=" value, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
    size_t eq = term.find('=');
    size_t colon = term.find_first_of(":/");
    if (eq != std::string_view::npos && (colon == std::string_view::npos || eq < colon)) {
      std::string name = AsciiLower(term.substr(0, eq));
      if (name.empty() || !absl::ascii_isalpha(name[0])) return BadTerm(term, "bad modifier name");
      st.domain_spec = std::string(term.substr(eq + 1));
      if (name == "redirect") {
        if (redirect) return BadTerm(term, "redirect= twice");
        redirect = true;
        st.kind = SpfTerm::Kind::kRedirect;
      } else if (name == "exp") {
        if (exp) return BadTerm(term, "exp= twice");
        exp = true;
        st.kind = SpfTerm::Kind::kExp;
      } else {
        st.kind = SpfTerm::Kind::kOther;  // unknown modifiers are ignored (§6)
      }
      rec.terms.push_back(std::move(st));
      continue;
    }
    if (term[0] == '+' || term[0] == '-' || term[0] == '~' || term[0] == '?') {
      st.qualifier = term[0];
      term.remove_prefix(1);
    }
    size_t name_end = term.find_first_of(":/");
    std::string name = AsciiLower(term.substr(0, name_end));
    std::string_view arg = name_end == std::string_view::npos ? "" : term.substr(name_end);
    bool has_domain = !arg.empty() && arg[0] == ':';
    if (has_domain) arg.remove_prefix(1);
    if (name == "all") {
      if (!arg.empty() || has_domain) return BadTerm(term, "all takes no argument");
      st.kind = SpfTerm::Kind::kAll;
    } else if (name == "include" || name == "exists") {
      if (!has_domain || arg.empty()) return BadTerm(term, "needs a domain");
      st.kind = name == "include" ? SpfTerm::Kind::kInclude : SpfTerm::Kind::kExists;
      st.domain_spec = std::string(arg);
    } else if (name == "a" || name == "mx") {
      st.kind = name == "a" ? SpfTerm::Kind::kA : SpfTerm::Kind::kMx;
      if (!ParseCidr(&arg, &st.cidr4, &st.cidr6)) return BadTerm(term, "bad CIDR length");
      if (has_domain && arg.empty()) return BadTerm(term, "empty domain");
      st.domain_spec = std::string(arg);
    } else if (name == "ptr") {
      st.kind = SpfTerm::Kind::kPtr;
      st.domain_spec = std::string(arg);
    } else if (name == "ip4" || name == "ip6") {
      if (!has_domain) return BadTerm(term, "needs an address");
      int c4 = -1, c6 = -1;
      std::string_view a = arg;
      size_t slash = a.find('/');
      int bits = -1;
      if (slash != std::string_view::npos) {
        if (!absl::SimpleAtoi(Av(a.substr(slash + 1)), &bits)) return BadTerm(term, "bad CIDR length");
        a = a.substr(0, slash);
      }
      Ip ip;
      const bool v6 = name == "ip6";
      if (!ParseIp(a, &ip) || ip.v6 != v6) return BadTerm(term, "bad address");
      if (bits > (v6 ? 128 : 32) || (slash != std::string_view::npos && bits < 0))
        return BadTerm(term, "bad CIDR length");
      (v6 ? c6 : c4) = bits;
      st.kind = v6 ? SpfTerm::Kind::kIp6 : SpfTerm::Kind::kIp4;
      st.ip = std::string(a);
      st.cidr4 = c4;
      st.cidr6 = c6;
    } else {
      return BadTerm(term, "unknown mechanism");
    }
    rec.terms.push_back(std::move(st));
  }
  return rec;
}

namespace {

SpfResult QualifierResult(char q) {
  switch (q) {
    case '-': return SpfResult::kFail;
    case '~': return SpfResult::kSoftFail;
    case '?': return SpfResult::kNeutral;
    default: return SpfResult::kPass;
  }
}

class Evaluator {
 public:
  Evaluator(DnsLookup& dns, std::string_view ip, std::string_view sender, bool walk)
      : dns_(dns), sender_(sender), walk_(walk) {
    have_ip_ = ParseIp(ip, &ip_);
    ip_text_ = std::string(ip);
  }

  SpfEvaluation Run(std::string_view domain) {
    SpfEvaluation e;
    e.result = Eval(AsciiLower(domain), &e.detail);
    e.lookups = lookups_;
    e.void_lookups = voids_;
    e.domains = std::move(domains_);
    return e;
  }

 private:
  struct Outcome {
    bool matched = false;
    bool error = false;
    SpfResult error_result = SpfResult::kNone;
  };

  SpfResult Eval(const std::string& domain, std::string* detail) {
    if (stack_.size() >= kMaxDepth) {
      *detail = "SPF nesting too deep";
      return SpfResult::kPermError;
    }
    domains_.push_back(domain);
    DnsAnswer txt = dns_.Txt(domain);
    if (txt.failed()) {
      *detail = absl::StrCat("TXT lookup of ", domain, ": ", txt.Describe());
      return SpfResult::kTempError;
    }
    std::vector<std::string> spf;
    for (const auto& r : txt.records)
      if (IsSpfRecord(r)) spf.push_back(r);
    if (spf.empty()) {
      *detail = absl::StrCat("no SPF record at ", domain);
      return SpfResult::kNone;
    }
    if (spf.size() > 1) {
      *detail = absl::StrCat(spf.size(), " SPF records at ", domain, " (exactly one allowed)");
      return SpfResult::kPermError;
    }
    auto rec = ParseSpfRecord(spf[0]);
    if (!rec.ok()) {
      *detail = absl::StrCat(domain, ": ", rec.status().message());
      return SpfResult::kPermError;
    }
    stack_.push_back(domain);
    SpfResult r = EvalRecord(domain, *rec, detail);
    stack_.pop_back();
    return r;
  }

  SpfResult EvalRecord(const std::string& domain, const SpfRecord& rec, std::string* detail) {
    const SpfTerm* redirect = nullptr;
    for (const SpfTerm& t : rec.terms) {
      if (t.kind == SpfTerm::Kind::kRedirect) redirect = &t;
      if (t.kind == SpfTerm::Kind::kRedirect || t.kind == SpfTerm::Kind::kExp ||
          t.kind == SpfTerm::Kind::kOther)
        continue;
      Outcome o = Mechanism(domain, t, detail);
      if (o.error) return o.error_result;
      if (o.matched || t.kind == SpfTerm::Kind::kAll) {
        if (!walk_ || t.kind == SpfTerm::Kind::kAll) {
          if (detail->empty()) *detail = absl::StrCat("matched \"", t.text, "\" at ", domain);
          return QualifierResult(t.qualifier);
        }
      }
    }
    if (redirect != nullptr) {
      if (!CountLookup(detail)) return SpfResult::kPermError;
      std::string target = AsciiLower(Expand(redirect->domain_spec, domain));
      if (Loops(target, detail)) return SpfResult::kPermError;
      SpfResult r = Eval(target, detail);
      if (r == SpfResult::kNone) {
        *detail = absl::StrCat("redirect=", target, " has no SPF record");
        return SpfResult::kPermError;
      }
      return r;
    }
    if (detail->empty()) *detail = absl::StrCat("no term matched at ", domain);
    return SpfResult::kNeutral;
  }

  bool CountLookup(std::string* detail) {
    if (++lookups_ > kMaxLookups) {
      *detail = absl::StrCat("more than ", kMaxLookups,
                             " DNS lookups (include, a, mx, ptr, exists, redirect; RFC 7208 §4.6.4)");
      return false;
    }
    return true;
  }
  bool CountVoid(std::string* detail) {
    if (++voids_ > kMaxVoidLookups) {
      *detail = absl::StrCat("more than ", kMaxVoidLookups,
                             " void lookups (names without records; RFC 7208 §4.6.4)");
      return false;
    }
    return true;
  }
  bool Loops(const std::string& target, std::string* detail) {
    if (std::find(stack_.begin(), stack_.end(), target) == stack_.end()) return false;
    *detail = absl::StrCat("include loop: ", absl::StrJoin(stack_, " -> "), " -> ", target);
    return true;
  }

  static Outcome Err(SpfResult r) { return {false, true, r}; }

  // Address match of `name`'s A/AAAA records; nullopt-like through `out`.
  Outcome MatchAddresses(const std::string& name, const SpfTerm& t, bool count_void,
                         std::string* detail) {
    DnsAnswer a = dns_.Addresses(name, ip_.v6);
    if (a.failed()) {
      *detail = absl::StrCat("address lookup of ", name, ": ", a.Describe());
      return Err(SpfResult::kTempError);
    }
    if (a.missing()) {
      if (count_void && !CountVoid(detail)) return Err(SpfResult::kPermError);
      return {};
    }
    for (const auto& rec : a.records) {
      Ip net;
      if (have_ip_ && ParseIp(rec, &net) && InCidr(ip_, net, ip_.v6 ? t.cidr6 : t.cidr4))
        return {true};
    }
    return {};
  }

  Outcome Mechanism(const std::string& domain, const SpfTerm& t, std::string* detail) {
    using K = SpfTerm::Kind;
    switch (t.kind) {
      case K::kAll: return {true};
      case K::kIp4:
      case K::kIp6: {
        Ip net;
        if (walk_ || !have_ip_ || !ParseIp(t.ip, &net)) return {};
        return {InCidr(ip_, net, t.kind == K::kIp4 ? t.cidr4 : t.cidr6)};
      }
      case K::kInclude: {
        if (!CountLookup(detail)) return Err(SpfResult::kPermError);
        std::string target = AsciiLower(Expand(t.domain_spec, domain));
        if (Loops(target, detail)) return Err(SpfResult::kPermError);
        std::string sub;
        SpfResult r = Eval(target, &sub);
        switch (r) {
          case SpfResult::kPass: return {!walk_};
          case SpfResult::kFail:
          case SpfResult::kSoftFail:
          case SpfResult::kNeutral: return {};
          case SpfResult::kTempError: *detail = sub; return Err(r);
          case SpfResult::kNone:
            *detail = absl::StrCat("include:", target, " has no SPF record");
            return Err(SpfResult::kPermError);
          case SpfResult::kPermError: *detail = sub; return Err(r);
        }
        return {};
      }
      case K::kA: {
        if (!CountLookup(detail)) return Err(SpfResult::kPermError);
        std::string target = t.domain_spec.empty() ? domain : Expand(t.domain_spec, domain);
        Outcome o = MatchAddresses(target, t, true, detail);
        if (walk_) o.matched = false;
        return o;
      }
      case K::kMx: {
        if (!CountLookup(detail)) return Err(SpfResult::kPermError);
        std::string target = t.domain_spec.empty() ? domain : Expand(t.domain_spec, domain);
        DnsAnswer mx = dns_.Mx(target);
        if (mx.failed()) {
          *detail = absl::StrCat("MX lookup of ", target, ": ", mx.Describe());
          return Err(SpfResult::kTempError);
        }
        if (mx.missing()) {
          if (!CountVoid(detail)) return Err(SpfResult::kPermError);
          return {};
        }
        if (mx.records.size() > kMaxMxNames) {
          *detail = absl::StrCat(target, " has more than 10 MX names (RFC 7208 §4.6.4)");
          return Err(SpfResult::kPermError);
        }
        for (const auto& host : mx.records) {
          Outcome o = MatchAddresses(host, t, false, detail);
          if (o.error) return o;
          if (o.matched && !walk_) return o;
        }
        return {};
      }
      case K::kPtr: {
        if (!CountLookup(detail)) return Err(SpfResult::kPermError);
        if (walk_ || !have_ip_) return {};
        std::string target = AsciiLower(t.domain_spec.empty() ? domain : Expand(t.domain_spec, domain));
        DnsAnswer ptr = dns_.Ptr(ip_text_);
        if (!ptr.ok()) return {};  // ptr errors are no match (§5.5)
        for (const auto& name : ptr.records) {
          std::string n = AsciiLower(name);
          if (n != target && !absl::EndsWith(n, absl::StrCat(".", target))) continue;
          Outcome o = MatchAddresses(n, t, false, detail);
          if (o.matched) return o;
        }
        return {};
      }
      case K::kExists: {
        if (!CountLookup(detail)) return Err(SpfResult::kPermError);
        std::string target = Expand(t.domain_spec, domain);
        DnsAnswer a = dns_.Addresses(target, false);
        if (a.failed()) {
          *detail = absl::StrCat("exists lookup of ", target, ": ", a.Describe());
          return Err(SpfResult::kTempError);
        }
        if (a.missing()) {
          if (!CountVoid(detail)) return Err(SpfResult::kPermError);
          return {};
        }
        return {!walk_};
      }
      default: return {};
    }
  }

  // Macro expansion (RFC 7208 §7): %{s l o d i p v h} with digits, 'r' and delimiters.
  std::string Expand(std::string_view spec, std::string_view domain) const {
    std::string out;
    for (size_t i = 0; i < spec.size(); ++i) {
      if (spec[i] != '%' || i + 1 >= spec.size()) {
        out += spec[i];
        continue;
      }
      char c = spec[++i];
      if (c == '%') { out += '%'; continue; }
      if (c == '_') { out += ' '; continue; }
      if (c == '-') { out += "%20"; continue; }
      if (c != '{') continue;
      size_t close = spec.find('}', i);
      if (close == std::string_view::npos) break;
      std::string_view m = spec.substr(i + 1, close - i - 1);
      i = close;
      if (m.empty()) continue;
      std::string value = MacroValue(absl::ascii_tolower(m[0]), domain);
      m.remove_prefix(1);
      size_t digits = 0;
      while (digits < m.size() && absl::ascii_isdigit(m[digits])) ++digits;
      int keep = 0;
      if (digits) (void)absl::SimpleAtoi(Av(m.substr(0, digits)), &keep);
      m.remove_prefix(digits);
      bool reverse = !m.empty() && (m[0] == 'r' || m[0] == 'R');
      if (reverse) m.remove_prefix(1);
      std::string delims = m.empty() ? "." : std::string(m);
      std::vector<std::string> parts = absl::StrSplit(value, absl::ByAnyChar(delims));
      if (reverse) std::reverse(parts.begin(), parts.end());
      if (keep > 0 && static_cast<size_t>(keep) < parts.size())
        parts.erase(parts.begin(), parts.end() - keep);
      out += absl::StrJoin(parts, ".");
    }
    return out;
  }

  std::string MacroValue(char c, std::string_view domain) const {
    std::string_view sender = sender_;
    size_t at = sender.rfind('@');
    switch (c) {
      case 's': return std::string(sender);
      case 'l': return at == std::string_view::npos ? "postmaster" : std::string(sender.substr(0, at));
      case 'o': return at == std::string_view::npos ? std::string(sender) : std::string(sender.substr(at + 1));
      case 'd': return std::string(domain);
      case 'i': {
        if (!ip_.v6) return ip_text_;
        std::string nibbles;
        static const char* hex = "0123456789abcdef";
        for (int k = 0; k < 16; ++k) {
          if (k) nibbles += '.';
          nibbles += hex[ip_.b[k] >> 4];
          nibbles += '.';
          nibbles += hex[ip_.b[k] & 15];
        }
        return nibbles;
      }
      case 'p': return "unknown";
      case 'v': return ip_.v6 ? "ip6" : "in-addr";
      case 'h': return std::string(domain);
      default: return "";
    }
  }

  DnsLookup& dns_;
  std::string sender_;
  bool walk_;
  Ip ip_;
  bool have_ip_ = false;
  std::string ip_text_;
  int lookups_ = 0;
  int voids_ = 0;
  std::vector<std::string> stack_;
  std::vector<std::string> domains_;
};

}  // namespace

SpfEvaluation CheckHost(DnsLookup& dns, std::string_view ip, std::string_view domain,
                        std::string_view sender) {
  return Evaluator(dns, ip, sender, false).Run(domain);
}

SpfEvaluation WalkSpf(DnsLookup& dns, std::string_view domain) {
  return Evaluator(dns, "0.0.0.0", absl::StrCat("postmaster@", Av(domain)), true).Run(domain);
}

}  // namespace salvo
