// Command-line parsing for salvo-sink. Input is operator text: every value is validated and
// errors name the option.
#include "perf/sink/sink_config.h"

#include <unistd.h>

#include <charconv>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"

namespace salvo::sink {
namespace {

std::string DefaultText(int code) {
  switch (code) {
    case 421: return "Service not available, closing transmission channel (injected)";
    case 450: return "Mailbox temporarily unavailable (injected)";
    case 451: return "Local error in processing (injected)";
    case 452: return "Insufficient system storage (injected)";
    case 550: return "Mailbox unavailable: user unknown (injected)";
    case 551: return "User not local (injected)";
    case 552: return "Mailbox full (injected)";
    case 553: return "Mailbox name not allowed (injected)";
    case 554: return "Transaction failed (injected)";
    default: return "Injected reply";
  }
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

[[nodiscard]] absl::StatusOr<double> ParsePercent(std::string_view s) {
  if (s.empty() || s.back() != '%') {
    return absl::InvalidArgumentError(absl::StrCat("probability '", Av(s), "' must end in %"));
  }
  s.remove_suffix(1);
  double v = 0;
  if (!absl::SimpleAtod(Av(s), &v) || v < 0 || v > 100) {
    return absl::InvalidArgumentError(absl::StrCat("bad percentage '", Av(s), "%'"));
  }
  return v / 100.0;
}

[[nodiscard]] absl::StatusOr<AccountLimit> ParseLimit(std::string_view opt, std::string_view v) {
  AccountLimit l;
  size_t eq = v.rfind('=');
  std::string_view num = v;
  if (eq != std::string_view::npos) {
    l.user = std::string(v.substr(0, eq));
    num = v.substr(eq + 1);
  }
  if (!ParseInt64(num, &l.messages) || l.messages < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(Av(opt), ": '", Av(v), "' is not a count (N or USER=N)"));
  }
  return l;
}

// The field of an option whose value is a path taken as given; null for other options.
std::string* PathOption(SinkConfig* c, std::string_view opt) {
  if (opt == "--tls-cert") return &c->tls_cert;
  if (opt == "--tls-key") return &c->tls_key;
  if (opt == "--record") return &c->record_path;
  if (opt == "--stats-json") return &c->stats_json_path;
  if (opt == "--timeline") return &c->timeline_path;
  if (opt == "--arrivals") return &c->arrivals_path;
  return nullptr;
}

}  // namespace

[[nodiscard]] absl::StatusOr<FaultReply> ParseFaultReply(std::string_view spec) {
  FaultReply r;
  std::string_view code = spec.substr(0, spec.find('-'));
  int64_t c = 0;
  if (code.size() != 3 || !ParseInt64(code, &c) || c < 200 || c > 599) {
    return absl::InvalidArgumentError(absl::StrCat("bad reply code in '", Av(spec), "'"));
  }
  r.code = static_cast<int>(c);
  if (code.size() < spec.size()) {
    r.enhanced = std::string(spec.substr(code.size() + 1));
    // class.subject.detail, digits only, class equal to the code's first digit.
    std::vector<std::string> parts = absl::StrSplit(r.enhanced, '.');
    bool ok = parts.size() == 3 && r.enhanced[0] == spec[0];
    for (const auto& p : parts) {
      ok = ok && !p.empty() && p.size() <= 3 && p.find_first_not_of("0123456789") == std::string::npos;
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("bad enhanced status code in '", Av(spec), "'"));
    }
  }
  r.text = DefaultText(r.code);
  return r;
}

[[nodiscard]] absl::StatusOr<std::vector<FaultSpec>> ParseFaults(std::string_view spec) {
  std::vector<FaultSpec> out;
  double total_rcpt = 0;
  for (absl::string_view item : absl::StrSplit(Av(spec), ',', absl::SkipWhitespace())) {
    size_t colon = item.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--faults: '", item, "' needs KIND:PERCENT%"));
    }
    std::string_view kind = Sv(item.substr(0, colon));
    auto p = ParsePercent(Sv(item.substr(colon + 1)));
    if (!p.ok()) return absl::InvalidArgumentError(absl::StrCat("--faults: ", p.status().message()));
    FaultSpec f;
    f.probability = *p;
    if (kind == "drop-in-data") {
      f.kind = FaultSpec::Kind::kDropInData;
    } else if (kind == "tarpit") {
      f.kind = FaultSpec::Kind::kTarpit;
      total_rcpt += f.probability;
    } else {
      auto r = ParseFaultReply(kind);
      if (!r.ok()) return absl::InvalidArgumentError(absl::StrCat("--faults: ", r.status().message()));
      if (r->code < 400) {
        return absl::InvalidArgumentError(
            absl::StrCat("--faults: '", Av(kind), "' is not a 4xx/5xx reply"));
      }
      f.reply = *r;
      total_rcpt += f.probability;
    }
    out.push_back(std::move(f));
  }
  if (total_rcpt > 1.0 + 1e-9) {
    return absl::InvalidArgumentError("--faults: per-RCPT percentages add up to more than 100%");
  }
  return out;
}

[[nodiscard]] absl::StatusOr<ListenAddr> ParseListen(std::string_view spec) {
  ListenAddr a;
  size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("--listen: '", Av(spec), "' needs ADDR:PORT"));
  }
  std::string_view host = spec.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int64_t port = 0;
  if (!ParseInt64(spec.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--listen: bad port in '", Av(spec), "'"));
  }
  a.host = std::string(host);
  a.port = static_cast<int>(port);
  return a;
}

std::string SinkUsage() {
  return R"(usage: salvo-sink --listen ADDR:PORT [--listen ...] [options]
  --threads N               worker threads, one io_uring each (default: nproc)
  --hostname NAME           name in the greeting and EHLO reply
  --tls-cert FILE --tls-key FILE   offer STARTTLS
  --auth USER:PASS          offer AUTH PLAIN/LOGIN and require it before MAIL (repeatable)
  --auth-fail-after [USER=]N   after N accepted messages (per account), AUTH and MAIL get 535 5.7.8
  --credit-limit [USER=]N      after N accepted messages (per account), MAIL gets
                               "451 Authentication failed: Maximum credits exceeded"
  --faults SPEC             e.g. 421-4.7.28:2%,450-4.2.1:1%,550-5.1.1:1%,drop-in-data:0.5%,tarpit:0.1%
  --fault-rcpt PATTERN=CODE[*N]  recipients containing PATTERN get CODE (e.g. bad=550-5.1.1);
                            with *N only their first N attempts (e.g. retry=450-4.2.1*2)
  --tarpit-ms MS            delay of a tarpitted reply (default 3000)
  --seed S                  seed of the fault dice (default 1)
  --max-size BYTES          advertised SIZE (default 52428800)
  --max-recipients N        per transaction (default 1000)
  --record FILE             at exit: address<TAB>count<TAB>peers for every accepted recipient
  --stats-json FILE         at exit: counters, replies by code, per-command latency
  --timeline FILE           at exit: "seconds<TAB>messages accepted so far", sampled every 250 ms
  --arrivals FILE           at exit: address<TAB>unix_us (CLOCK_REALTIME) of every accepted
                            recipient's end of data, one line per delivery (at most 10 M a thread)
  --quiet                   no summary line on stderr
)";
}

[[nodiscard]] absl::StatusOr<SinkConfig> ParseSinkArgs(const std::vector<std::string>& args) {
  SinkConfig c;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string opt = args[i];
    std::string val;
    bool has_inline = false;
    if (size_t eq = opt.find('='); opt.rfind("--", 0) == 0 && eq != std::string::npos) {
      val = opt.substr(eq + 1);
      opt = opt.substr(0, eq);
      has_inline = true;
    }
    auto need = [&]() -> absl::StatusOr<std::string> {
      if (has_inline) return val;
      if (i + 1 >= args.size()) return absl::InvalidArgumentError(absl::StrCat(opt, " needs a value"));
      return args[++i];
    };
    auto need_int = [&](int64_t lo, int64_t hi) -> absl::StatusOr<int64_t> {
      ASSIGN_OR_RETURN(const std::string v, need());
      int64_t n = 0;
      if (!ParseInt64(v, &n) || n < lo || n > hi) {
        return absl::InvalidArgumentError(absl::StrCat(opt, ": bad number '", v, "'"));
      }
      return n;
    };
    if (opt == "--listen") {
      ASSIGN_OR_RETURN(const std::string v, need());
      ASSIGN_OR_RETURN(auto listen, ParseListen(v));
      c.listen.push_back(std::move(listen));
    } else if (opt == "--threads") {
      ASSIGN_OR_RETURN(const int64_t n, need_int(0, 1024));
      c.threads = static_cast<int>(n);
    } else if (opt == "--hostname") {
      ASSIGN_OR_RETURN(const std::string v, need());
      if (v.empty() || v.find_first_of(" \r\n\t") != std::string::npos) {
        return absl::InvalidArgumentError("--hostname: must be one word");
      }
      c.hostname = v;
    } else if (opt == "--auth") {
      ASSIGN_OR_RETURN(const std::string v, need());
      size_t colon = v.find(':');
      if (colon == std::string::npos || colon == 0) {
        return absl::InvalidArgumentError(absl::StrCat("--auth: '", v, "' needs USER:PASS"));
      }
      c.accounts.push_back({v.substr(0, colon), v.substr(colon + 1)});
    } else if (opt == "--auth-fail-after" || opt == "--credit-limit") {
      ASSIGN_OR_RETURN(const std::string v, need());
      ASSIGN_OR_RETURN(auto limit, ParseLimit(opt, v));
      (opt == "--credit-limit" ? c.credit_limit : c.auth_fail_after).push_back(std::move(limit));
    } else if (opt == "--faults") {
      ASSIGN_OR_RETURN(const std::string v, need());
      ASSIGN_OR_RETURN(auto faults, ParseFaults(v));
      c.faults.insert(c.faults.end(), faults.begin(), faults.end());
    } else if (opt == "--fault-rcpt") {
      ASSIGN_OR_RETURN(const std::string v, need());
      size_t eq = v.rfind('=');
      if (eq == std::string::npos || eq == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--fault-rcpt: '", v, "' needs PATTERN=CODE[-X.Y.Z]"));
      }
      std::string_view code = std::string_view(v).substr(eq + 1);
      int64_t times = 0;
      if (size_t star = code.find('*'); star != std::string_view::npos) {
        if (!ParseInt64(code.substr(star + 1), &times) || times < 1 || times > 1000000) {
          return absl::InvalidArgumentError(absl::StrCat("--fault-rcpt: bad count in '", v, "'"));
        }
        code = code.substr(0, star);
      }
      auto r = ParseFaultReply(code);
      if (!r.ok()) return absl::InvalidArgumentError(absl::StrCat("--fault-rcpt: ", r.status().message()));
      c.rcpt_faults.push_back({v.substr(0, eq), *r, static_cast<int>(times)});
    } else if (opt == "--tarpit-ms") {
      ASSIGN_OR_RETURN(const int64_t n, need_int(0, 600000));
      c.tarpit_ms = static_cast<int>(n);
    } else if (opt == "--seed") {
      ASSIGN_OR_RETURN(const int64_t n, need_int(0, INT64_MAX));
      c.seed = static_cast<uint64_t>(n);
    } else if (opt == "--max-size") {
      ASSIGN_OR_RETURN(const int64_t n, need_int(1, INT64_MAX));
      c.max_size = n;
    } else if (opt == "--max-recipients") {
      ASSIGN_OR_RETURN(const int64_t n, need_int(1, 1000000));
      c.max_recipients = static_cast<int>(n);
    } else if (std::string* path = PathOption(&c, opt)) {
      ASSIGN_OR_RETURN(*path, need());
      if (path->empty()) return absl::InvalidArgumentError(absl::StrCat(opt, " needs a file name"));
    } else if (opt == "--quiet") {
      c.quiet = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown option '", args[i], "'"));
    }
  }
  if (c.listen.empty()) return absl::InvalidArgumentError("at least one --listen ADDR:PORT is needed");
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (c.accounts.empty() && !c.auth_fail_after.empty()) {
    // Without accounts the limit applies to the anonymous pool; that is allowed.
  }
  if (c.threads == 0) c.threads = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  if (c.threads < 1) c.threads = 1;
  return c;
}

}  // namespace salvo::sink
