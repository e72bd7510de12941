// Synthetic recipient rows: small name/country tables indexed by a per-row hash. Trusts its
// options (a developer tool), nothing else comes in.
#include "perf/recipient_gen.h"

#include <charconv>
#include <string_view>

namespace salvo::perf {
namespace {

constexpr std::string_view kFirst[] = {
    "Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jonas",
    "Klara", "Liam", "Mia", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Sami", "Tara",
    "Umar", "Vera", "Wei", "Xenia", "Yusuf", "Zoe", "Léa", "José", "Zoë", "Søren"};
constexpr std::string_view kLast[] = {
    "Schmidt", "Smith", "Garcia", "Rossi", "Dubois", "Nowak", "Jensen", "Silva", "Kim", "Chen",
    "Müller", "Novak", "Haddad", "Okafor", "Tanaka", "Larsen", "Costa", "Weber", "Brown", "Ivanova"};
constexpr std::string_view kCountry[] = {"DE", "US", "FR", "GB", "ES", "IT", "NL", "PL", "SE",
                                         "BR", "JP", "IN", "CA", "AU", "DK", "AT"};
constexpr std::string_view kPlan[] = {"free", "free", "free", "pro", "pro", "team", "enterprise"};
constexpr std::string_view kSource[] = {"signup-form", "checkout", "webinar", "double-opt-in"};

uint64_t Mix(uint64_t x) {  // splitmix64 finalizer
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

template <size_t N>
std::string_view Pick(const std::string_view (&table)[N], uint64_t h) {
  return table[h % N];
}

void AppendInt(std::string* out, uint64_t v, int width = 0) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  for (int pad = width - static_cast<int>(r.ptr - buf); pad > 0; --pad) out->push_back('0');
  out->append(buf, r.ptr - buf);
}

// YYYY-MM-DD then `sep`.
void AppendDate(std::string* out, uint64_t year, uint64_t month, uint64_t day, char sep) {
  AppendInt(out, year);
  out->push_back('-');
  AppendInt(out, month, 2);
  out->push_back('-');
  AppendInt(out, day, 2);
  out->push_back(sep);
}

// Lowercase ASCII local part: the few Latin-1 letters of the tables are transliterated.
void AppendLower(std::string* out, std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char u = static_cast<unsigned char>(s[i]);
    if (u < 0x80) {
      out->push_back(u >= 'A' && u <= 'Z' ? static_cast<char>(u + 32) : static_cast<char>(u));
      continue;
    }
    if (u == 0xC3 && i + 1 < s.size()) {
      switch (static_cast<unsigned char>(s[++i])) {
        case 0xBC: out->append("ue"); break;  // ü
        case 0xB6: out->append("oe"); break;  // ö
        case 0xA9: case 0xAB: out->push_back('e'); break;  // é ë
        case 0xB8: out->push_back('o'); break;  // ø
        default: break;
      }
    }
  }
}

}  // namespace

void AppendCsvHeader(std::string* out) {
  out->append(
      "email,first_name,last_name,country,plan,signup_date,opted_in_at,consent_source,"
      "consent_ip\n");
}

void AppendCsvRows(const GenOptions& o, uint64_t from, uint64_t to, std::string* out) {
  for (uint64_t i = from; i < to; ++i) {
    uint64_t h = Mix(o.seed * 0x100000001B3ull ^ i);
    std::string_view first = Pick(kFirst, h);
    std::string_view last = Pick(kLast, h >> 8);
    const std::string& domain = o.domains[(h >> 16) % o.domains.size()];
    uint64_t year = 2019 + (h >> 24) % 6, month = 1 + (h >> 28) % 12, day = 1 + (h >> 32) % 28;
    uint64_t hour = (h >> 37) % 24, minute = (h >> 42) % 60, second = (h >> 48) % 60;
    bool consent = !(o.no_consent_every > 0 && i % o.no_consent_every == o.no_consent_every - 1);

    AppendLower(out, first);
    out->push_back('.');
    AppendLower(out, last);
    out->push_back('.');
    AppendInt(out, i);
    out->push_back('@');
    out->append(domain);
    out->push_back(',');
    out->append(first);
    out->push_back(',');
    out->append(last);
    out->push_back(',');
    out->append(Pick(kCountry, h >> 52));
    out->push_back(',');
    out->append(Pick(kPlan, h >> 56));
    out->push_back(',');
    AppendDate(out, year, month, day, ',');
    if (consent) {
      AppendDate(out, year, month, day, 'T');
      AppendInt(out, hour, 2);
      out->push_back(':');
      AppendInt(out, minute, 2);
      out->push_back(':');
      AppendInt(out, second, 2);
      out->append("Z,");
      out->append(Pick(kSource, h >> 60));
      out->append(",203.0.113.");
      AppendInt(out, 1 + (h >> 4) % 254);
    } else {
      out->append(",,");
    }
    out->push_back('\n');
  }
}

}  // namespace salvo::perf
