// gen_recipients: writes N synthetic opt-in recipients as CSV to stdout (demos, campaign tests,
// import benchmarks).
//   gen_recipients --count N [--no-consent-every K] [--domains a.test,b.test] [--seed S]
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "perf/recipient_gen.h"

namespace {

void Usage() {
  std::fputs(
      "usage: gen_recipients --count N [--no-consent-every K] [--domains a.test,b.test] "
      "[--seed S] > out.csv\n"
      "Columns: email,first_name,last_name,country,plan,signup_date,opted_in_at,"
      "consent_source,consent_ip\n",
      stderr);
}

bool ParseU64(const char* s, uint64_t* v) {
  char* end = nullptr;
  errno = 0;
  unsigned long long x = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-') return false;
  *v = x;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  salvo::perf::GenOptions o;
  bool have_count = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    } else if (a == "--count" && (v = value())) {
      if (!ParseU64(v, &o.count)) return Usage(), 2;
      have_count = true;
    } else if (a == "--no-consent-every" && (v = value())) {
      if (!ParseU64(v, &o.no_consent_every)) return Usage(), 2;
    } else if (a == "--seed" && (v = value())) {
      if (!ParseU64(v, &o.seed)) return Usage(), 2;
    } else if (a == "--domains" && (v = value())) {
      o.domains.clear();
      std::string s = v;
      size_t start = 0;
      while (start <= s.size()) {
        size_t comma = s.find(',', start);
        if (comma == std::string::npos) comma = s.size();
        if (comma > start) o.domains.push_back(s.substr(start, comma - start));
        start = comma + 1;
      }
      if (o.domains.empty()) return Usage(), 2;
    } else {
      std::fprintf(stderr, "gen_recipients: unknown or incomplete argument %s\n", a.c_str());
      Usage();
      return 2;
    }
  }
  if (!have_count) {
    Usage();
    return 2;
  }
  std::string buf;
  buf.reserve(2 << 20);
  salvo::perf::AppendCsvHeader(&buf);
  constexpr uint64_t kChunk = 8192;
  for (uint64_t from = 0; from < o.count; from += kChunk) {
    uint64_t to = from + kChunk < o.count ? from + kChunk : o.count;
    salvo::perf::AppendCsvRows(o, from, to, &buf);
    if (std::fwrite(buf.data(), 1, buf.size(), stdout) != buf.size()) {
      std::perror("gen_recipients: write");
      return 1;
    }
    buf.clear();
  }
  if (!buf.empty() && std::fwrite(buf.data(), 1, buf.size(), stdout) != buf.size()) return 1;
  return std::fflush(stdout) == 0 ? 0 : 1;
}
