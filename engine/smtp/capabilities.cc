// engine/smtp/capabilities.cc — parses the EHLO reply's keyword lines (RFC 5321 §4.1.1.1).
// Trust: hostile but already bounded/sanitized text; values are parsed defensively.
#include "engine/smtp/capabilities.h"

#include <string_view>

#include "engine/base/strings.h"

namespace salvo {
namespace {

std::string Upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return u;
}

// Splits off the next space-separated word of *rest.
std::string_view NextWord(std::string_view* rest) {
  size_t b = rest->find_first_not_of(' ');
  if (b == std::string_view::npos) {
    *rest = {};
    return {};
  }
  rest->remove_prefix(b);
  size_t e = rest->find(' ');
  std::string_view w = rest->substr(0, e);
  rest->remove_prefix(e == std::string_view::npos ? rest->size() : e);
  return w;
}

void AddAuth(std::string_view mechs, SmtpCapabilities* caps) {
  std::string_view rest = mechs;
  for (std::string_view w = NextWord(&rest); !w.empty(); w = NextWord(&rest)) {
    if (caps->auth_mechanisms.size() >= 32 || w.size() > 40) break;  // bounded
    std::string m = Upper(w);
    if (m == "PLAIN") caps->auth_plain = true;
    if (m == "LOGIN") caps->auth_login = true;
    bool seen = false;
    for (const auto& x : caps->auth_mechanisms) seen = seen || x == m;
    if (!seen) caps->auth_mechanisms.push_back(std::move(m));
  }
}

}  // namespace

SmtpCapabilities ParseEhloReply(const SmtpReply& r) {
  SmtpCapabilities caps;
  caps.esmtp = r.code / 100 == 2;
  std::string_view text = r.text;
  bool first = true;
  while (!text.empty() || first) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (first) {  // "mx.example.com Hello ..." : not a keyword line
      first = false;
      std::string_view rest = line;
      caps.server_name = std::string(NextWord(&rest).substr(0, 255));
      continue;
    }
    std::string_view rest = line;
    std::string_view kw = NextWord(&rest);
    // Some old servers send "AUTH=LOGIN PLAIN".
    if (kw.size() > 5 && EqualsAsciiNoCase(kw.substr(0, 5), "AUTH=")) {
      AddAuth(line.substr(line.find('=') + 1), &caps);
      continue;
    }
    if (EqualsAsciiNoCase(kw, "PIPELINING")) {
      caps.pipelining = true;
    } else if (EqualsAsciiNoCase(kw, "SIZE")) {
      caps.size = true;
      std::string_view v = NextWord(&rest);
      uint64_t n = 0;
      bool ok = !v.empty() && v.size() <= 19;
      for (char c : v) {
        if (c < '0' || c > '9') ok = false;
        else n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      caps.size_limit = ok ? n : 0;
    } else if (EqualsAsciiNoCase(kw, "8BITMIME")) {
      caps.eightbitmime = true;
    } else if (EqualsAsciiNoCase(kw, "SMTPUTF8")) {
      caps.smtputf8 = true;
    } else if (EqualsAsciiNoCase(kw, "STARTTLS")) {
      caps.starttls = true;
    } else if (EqualsAsciiNoCase(kw, "ENHANCEDSTATUSCODES")) {
      caps.enhanced_status_codes = true;
    } else if (EqualsAsciiNoCase(kw, "CHUNKING")) {
      caps.chunking = true;
    } else if (EqualsAsciiNoCase(kw, "AUTH")) {
      AddAuth(rest, &caps);
    }
  }
  return caps;
}

std::string SmtpCapabilities::ToString() const {
  std::string s;
  auto add = [&s](std::string_view w) {
    if (!s.empty()) s += ' ';
    s += w;
  };
  if (!esmtp) add("(no ESMTP: HELO only)");
  if (pipelining) add("PIPELINING");
  if (size) add(size_limit ? "SIZE=" + std::to_string(size_limit) : std::string("SIZE"));
  if (eightbitmime) add("8BITMIME");
  if (smtputf8) add("SMTPUTF8");
  if (starttls) add("STARTTLS");
  if (enhanced_status_codes) add("ENHANCEDSTATUSCODES");
  if (chunking) add("CHUNKING");
  if (!auth_mechanisms.empty()) {
    std::string a = "AUTH=";
    for (size_t i = 0; i < auth_mechanisms.size(); ++i) {
      if (i) a += ',';
      a += auth_mechanisms[i];
    }
    add(a);
  }
  return s;
}

}  // namespace salvo
