#include "tools/salvo/preflight_run.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/base/address.h"
#include "engine/base/clock.h"
#include "engine/base/file.h"
#include "engine/base/shard.h"
#include "engine/base/strings.h"
#include "engine/dkim/dkim_key.h"
#include "engine/links/html_links.h"
#include "engine/policy/routing.h"
#include "engine/policy/segment.h"
#include "engine/preflight/content_rules.h"
#include "engine/preflight/dns_checks.h"
#include "engine/preflight/capacity.h"
#include "engine/preflight/list_hygiene.h"
#include "engine/preflight/partners.h"
#include "engine/preflight/psl.h"
#include "engine/preflight/rspamd_reply.h"
#include "engine/preflight/sample_message.h"
#include "shard/dns_client.h"
#include "shard/resolver.h"
#include "store/account_store.h"
#include "store/campaign_store.h"
#include "store/recipient_store.h"
#include "store/suppression_store.h"
#include "tools/salvo/preflight_http.h"
#include "tools/salvo/smtp_probe.h"

namespace salvo {
namespace {

constexpr char kPslPath[] = "/usr/share/publicsuffix/public_suffix_list.dat";
constexpr size_t kScanBatch = 4096;
const absl::Duration kNetTimeout = absl::Seconds(5);

// "Name <a@b.example>" or "a@b.example" -> "b.example" (lowercase).
std::string MailboxDomain(std::string_view mailbox) {
  size_t lt = mailbox.rfind('<');
  std::string_view addr = mailbox;
  if (lt != std::string_view::npos) addr = mailbox.substr(lt + 1, mailbox.find('>', lt) - lt - 1);
  return AsciiLower(DomainOf(Trim(addr, kAsciiSpace)));
}

// "https://host:port/path" -> host, port.
void UrlHost(const std::string& url, std::string* host, uint16_t* port) {
  std::string_view u = url;
  const bool https = absl::StartsWith(url, "https://");
  u.remove_prefix(https ? 8 : 7);
  u = u.substr(0, u.find_first_of("/?#"));
  *port = https ? 443 : 80;
  if (size_t c = u.rfind(':'); c != std::string_view::npos && u.find(']') == std::string_view::npos) {
    uint32_t p;
    if (absl::SimpleAtoi(Av(u.substr(c + 1)), &p) && p > 0 && p < 65536) *port = static_cast<uint16_t>(p);
    u = u.substr(0, c);
  }
  *host = AsciiLower(u);
}

PublicSuffixList LoadPsl(PreflightReport* rep) {
  auto text = ReadFile(kPslPath, 8u << 20, "public suffix list");
  if (text.ok()) {
    auto psl = PublicSuffixList::Parse(*text);
    if (psl.ok()) return *std::move(psl);
  }
  rep->Warn("psl", absl::StrCat("cannot read ", kPslPath, ": organizational domains are the last two labels"),
            "apt-get install publicsuffix");
  return *PublicSuffixList::Parse("// none\n*\n");
}

DnsSetup BuildDnsSetup(const PreflightInput& in, PreflightReport* rep) {
  const Config& c = *in.config;
  DnsSetup s;
  if (in.campaign != nullptr) {
    s.from_domain = MailboxDomain(in.campaign->campaign.from);
    if (!in.campaign->campaign.reply_to.empty())
      s.reply_to_domain = MailboxDomain(in.campaign->campaign.reply_to);
  } else if (!c.dkim.empty()) {
    // --account / --responder: the signing domain stands for the From domain.
    s.from_domain = AsciiLower(c.dkim.front().domain);
    s.require_dmarc = false;
  }
  s.envelope_domain = c.tracking && !c.tracking->bounce_domain.empty()
                          ? AsciiLower(c.tracking->bounce_domain)
                          : s.from_domain;
  for (const AccountConfig* a : in.senders)
    s.senders.push_back({a->name, a->host, a->source_ips, a->ehlo_name});
  for (const DkimConfig& d : c.dkim) {
    auto key = DkimKey::LoadFile(d.key_file);
    if (!key.ok()) {
      rep->Fail("dkim.key", std::string(key.status().message()), "salvo dkim keygen, then publish its record");
      continue;
    }
    auto txt = (*key)->DnsTxtRecord();
    if (!txt.ok()) continue;
    s.dkim.push_back({AsciiLower(d.domain), d.selector, *txt,
                      (*key)->algorithm() == DkimAlgorithm::kRsaSha256 ? (*key)->bits() : 0});
  }
  if (c.tracking && !c.tracking->base_url.empty()) {
    uint16_t port;
    UrlHost(c.tracking->base_url, &s.tracking_host, &port);
    s.cname_target = AsciiLower(TrimRight(c.tracking->cname_target, "."));
  }
  return s;
}

void CheckTrackingHttps(const Config& c, DnsClient& dns, PreflightReport* rep) {
  if (!c.tracking || !absl::StartsWith(c.tracking->base_url, "https://")) return;
  const CheckResult* dnsr = rep->Find("tracking.dns");
  if (dnsr == nullptr || dnsr->status == CheckStatus::kFail) return;  // already reported
  std::string host;
  uint16_t port;
  UrlHost(c.tracking->base_url, &host, &port);
  DnsAnswer a = dns.Addresses(host, false);
  if (!a.ok()) a = dns.Addresses(host, true);
  if (!a.ok()) return;
  HttpsProbe p = ProbeHttps(host, a.records[0], port, kNetTimeout);
  const std::string where = absl::StrCat("https://", host, port == 443 ? "" : absl::StrCat(":", port));
  switch (p.state) {
    case HttpsProbe::State::kOk: rep->Pass("tracking.https", absl::StrCat(where, ": ", p.detail)); break;
    case HttpsProbe::State::kUnreachable:
      rep->Warn("tracking.https", absl::StrCat(where, " unreachable from here: ", p.detail),
                "start salvo serve behind an HTTPS proxy for this host, then run preflight again");
      break;
    default:
      rep->Fail("tracking.https", absl::StrCat(where, ": ", p.detail),
                absl::StrCat("install a certificate valid for ", host, " (e.g. Let's Encrypt)"));
  }
}

// Content and unsubscribe headers of a sample rendered for `sample`.
void CheckContent(const PreflightInput& in, const Recipient& sample, PreflightReport* rep) {
  const Config& c = *in.config;
  const LoadedCampaign& lc = *in.campaign;
  RenderedMessage msg;
  if (absl::Status st = lc.compiled->Render(sample, &msg); !st.ok()) {
    rep->Fail("content.render", std::string(st.message()), "correct the campaign's template");
    return;
  }
  const std::string bytes = msg.Flatten();
  SampleMessage m = ParseSampleMessage(bytes);
  rep->Add(CheckUnsubscribeHeaders(m));

  ContentSample s;
  s.subject = lc.campaign.subject;
  auto html = ReadFile(lc.campaign.html_file, 4u << 20, "html_file");
  if (html.ok()) s.html = *html;
  if (!lc.campaign.text_file.empty()) {
    auto text = ReadFile(lc.campaign.text_file, 4u << 20, "text_file");
    if (text.ok()) s.text = *text;
  } else if (!s.html.empty()) {
    auto a = AnalyzeHtml(s.html);
    if (a.ok()) s.text = a->text;
  }
  s.has_text_part = m.has_text_part;
  s.message_bytes = bytes.size();
  s.physical_address = c.preflight.physical_address;
  auto score = ScoreContent(s);
  if (!score.ok()) {
    rep->Fail("content.score", std::string(score.status().message()), "correct the template");
  } else {
    const std::string found = absl::StrFormat("score %.1f (warn %.1f, fail %.1f): %s", score->score,
                                              c.preflight.warn_score, c.preflight.fail_score,
                                              score->Summary());
    const std::string fix = "rewrite what the rules name (phrases, capitals, link text, shorteners)";
    if (score->score >= c.preflight.fail_score)
      rep->Fail("content.score", found, fix);
    else if (score->score >= c.preflight.warn_score)
      rep->Warn("content.score", found, fix);
    else
      rep->Pass("content.score", found);
  }
  if (c.preflight.rspamd_url.empty()) return;
  auto body = HttpPost(c.preflight.rspamd_url, "/checkv2", bytes, kNetTimeout);
  absl::StatusOr<RspamdReply> reply = body.ok() ? ParseRspamdReply(*body) : body.status();
  if (!reply.ok()) {
    rep->Warn("content.rspamd", std::string(reply.status().message()),
              "start rspamd or correct [preflight] rspamd_url");
    return;
  }
  const std::string found = absl::StrFormat("rspamd score %.2f of %.2f (action %s): %s", reply->score,
                                            reply->required_score, reply->action, reply->Summary());
  const std::string fix = "rewrite what rspamd's symbols name";
  // rspamd's own scale: its action says what a receiver running it would do.
  if (reply->action == "reject" || (reply->required_score > 0 && reply->score >= reply->required_score))
    rep->Fail("content.rspamd", found, fix);
  else if (reply->action != "no action")
    rep->Warn("content.rspamd", found, fix);
  else
    rep->Pass("content.rspamd", found);
}

// Scans the campaign's list: segment, consent, suppression, domains. Sets *sample to the first
// eligible member (or leaves it). Returns the eligible count.
absl::StatusOr<uint64_t> CheckList(const PreflightInput& in, DnsClient& dns, Recipient* sample,
                                   PreflightReport* rep) {
  const Config& c = *in.config;
  const CampaignConfig& camp = in.campaign->campaign;
  auto segment = Segment::Compile(camp.segment);
  if (!segment.ok()) return segment.status();
  RecipientStore recipients(in.store);
  SuppressionStore suppression(in.store);
  ListHygiene hygiene(NowUnixSeconds() * 1000000,
                      absl::ToInt64Microseconds(c.preflight.consent_max_age));
  std::vector<Recipient> batch;
  std::vector<std::string_view> keys;
  std::vector<bool> suppressed;
  bool have_sample = false;
  for (uint32_t shard = 0; shard < kVirtualShards; ++shard) {
    std::string after;
    for (;;) {
      batch.clear();
      if (absl::Status st = recipients.ScanListShard(camp.list, shard, after, kScanBatch, &batch); !st.ok())
        return st;
      if (batch.empty()) break;
      after = batch.back().key;
      keys.clear();
      for (const Recipient& r : batch) keys.push_back(r.key);
      if (absl::Status st = suppression.CheckBatch(keys, &suppressed); !st.ok()) return st;
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!segment->Matches(batch[i])) continue;
        hygiene.Add(batch[i], suppressed[i]);
        if (!have_sample && !suppressed[i] && batch[i].HasConsent()) {
          *sample = batch[i];
          have_sample = true;
        }
      }
      if (batch.size() < kScanBatch) break;
    }
  }
  hygiene.Report(rep);
  // Recipient domains: the most frequent ones, asked all at once.
  auto top = hygiene.TopDomains(c.preflight.mx_sample);
  std::vector<std::pair<DnsClient::Type, std::string>> q;
  for (const auto& [d, n] : top) q.emplace_back(DnsClient::Type::kMx, d);
  dns.Prefetch(q);
  q.clear();
  for (const auto& [d, n] : top)
    if (dns.Mx(d).missing()) q.emplace_back(DnsClient::Type::kA, d);
  dns.Prefetch(q);
  std::vector<std::pair<std::string, uint64_t>> without;
  for (const auto& [d, n] : top)
    if (dns.Mx(d).missing() && dns.Addresses(d, false).missing()) without.emplace_back(d, n);
  if (!top.empty()) hygiene.ReportMx(top.size(), without, rep);
  return hygiene.eligible();
}

// An account's host for the probe: with [dns] servers, names resolve through them too (split
// horizon, tests) as long as TLS does not need the name for verification.
AccountConfig ProbeTarget(const Config& c, const AccountConfig& a, DnsClient& dns) {
  AccountConfig t = a;
  ResolvedAddress lit;
  if (c.dns.servers.empty() || ParseIpLiteral(a.host, a.port, &lit)) return t;
  if (a.tls != TlsMode::kNone && a.tls_verify) return t;
  DnsAnswer ans = dns.Addresses(a.host, false);
  if (ans.ok()) t.host = ans.records[0];
  return t;
}

absl::Status CheckAccounts(const PreflightInput& in, DnsClient& dns, std::optional<uint64_t> eligible,
                           PreflightReport* rep) {
  const Config& c = *in.config;
  const int64_t now = NowUnixSeconds();
  const std::string today = CampaignStore::UtcDay(now);
  std::vector<AccountCapacity> cap;
  size_t active = 0;
  std::vector<std::pair<const AccountConfig*, AccountRecord>> paused;
  for (const AccountConfig* a : in.senders) {
    AccountCapacity ac{a->name, a->daily_limit, 0, false};
    ac.source_ips = a->source_ips;
    ac.warmup = c.FindWarmup(a->name, "");
    if (in.store != nullptr) {
      auto rec = AccountStore(in.store).Get(a->name);
      if (!rec.ok()) return rec.status();
      auto sent = CampaignStore(in.store).GetDailyCount(a->name, today);
      if (!sent.ok()) return sent.status();
      ac.sent_today = *sent;
      if (*rec && (*rec)->PausedAt(now)) {
        ac.paused = true;
        ac.resumes_day = (*rec)->until == 0 ? -1 : (*rec)->until / 86400;
        paused.emplace_back(a, **rec);
      }
    }
    active += ac.paused ? 0 : 1;
    cap.push_back(ac);
    // Connect, EHLO, TLS, AUTH; nothing is sent.
    SmtpProbeResult p = ProbeAccount(c, ProbeTarget(c, *a, dns), in.log, kNetTimeout);
    const std::string where = absl::StrCat("account ", a->name, " (", a->host, ":", a->port, ")");
    if (!p.error.empty()) {
      rep->Fail("account.smtp", absl::StrCat(where, ": ", ExplainSmtpFailure(p.error, *a)),
                absl::StrCat("run `salvo smtp-check --account ", a->name, "` and correct the [[account]]"));
    } else {
      rep->Pass("account.smtp",
                absl::StrCat(where, ": EHLO ok", p.tls.empty() ? "" : absl::StrCat(", ", p.tls),
                             a->username.empty() ? ", no AUTH configured" : ", AUTH ok"));
    }
  }
  for (const auto& [a, r] : paused) {
    const std::string found =
        absl::StrCat("account ", a->name, " is paused: ", r.reason,
                     r.until ? absl::StrCat(" until ", FormatUnixTime(r.until)) : " until resumed",
                     r.reply.empty() ? "" : absl::StrCat("; last reply: ", r.reply));
    const std::string fix = absl::StrCat(
        r.reason == "account_credit" ? "top up the credit at the partner, then "
        : r.reason == "account_quota" ? "wait for the quota or raise it at the partner, then "
        : r.reason == "account_auth" ? "correct the credentials, then "
                                     : "",
        "`salvo account resume ", a->name, "`");
    if (active == 0)
      rep->Fail("account.state", found, fix);
    else
      rep->Warn("account.state", found, fix);
  }
  if (paused.empty())
    rep->Pass("account.state", absl::StrCat(in.senders.size(), " account(s) active"));
  if (!eligible) return absl::OkStatus();
  // The route's source IPs with a warm-up (each once), and what each sent today.
  std::vector<IpCapacity> ips;
  for (const AccountConfig* a : in.senders) {
    for (const std::string& addr : a->source_ips) {
      const WarmupConfig* w = c.FindWarmup("", addr);
      if (w == nullptr || std::any_of(ips.begin(), ips.end(),
                                      [&](const IpCapacity& ip) { return ip.ip == addr; }))
        continue;
      IpCapacity ip{addr, w, 0};
      if (in.store != nullptr) {
        auto sent = CampaignStore(in.store).GetDailyCount(absl::StrCat("ip:", addr), today);
        if (!sent.ok()) return sent.status();
        ip.sent_today = *sent;
      }
      ips.push_back(std::move(ip));
    }
  }
  ReportCapacity(*eligible, cap, ips, now / 86400, rep);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<const AccountConfig*>> RouteAccounts(const Config& config,
                                                                const RouteConfig& route) {
  std::vector<const AccountConfig*> out;
  for (const RouteAccount& ra : route.accounts) {
    const AccountConfig* a = config.FindAccount(ra.name);
    if (a == nullptr)
      return absl::NotFoundError(absl::StrCat("route \"", route.name, "\": no [[account]] \"", ra.name, "\""));
    out.push_back(a);
  }
  return out;
}

absl::StatusOr<PreflightReport> RunPreflight(const PreflightInput& in) {
  const Config& c = *in.config;
  PreflightReport rep;
  PublicSuffixList psl = LoadPsl(&rep);
  DnsClientOptions dopt;
  dopt.servers = c.dns.servers;
  dopt.timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(c.dns.timeout));
  dopt.tries = static_cast<int>(c.dns.tries);
  auto dns = DnsClient::Create(dopt);
  if (!dns.ok()) return dns.status();
  DnsSetup setup = BuildDnsSetup(in, &rep);
  RunDnsChecks(setup, **dns, psl, &rep);
  CheckTrackingHttps(c, **dns, &rep);
  std::optional<uint64_t> eligible;
  if (in.campaign != nullptr) {
    Recipient sample;
    auto norm = NormalizeAddress("preflight-sample@example.com");
    if (norm.ok()) {
      sample.address = norm->address;
      sample.key = norm->key;
      sample.shard = ShardOf(sample.key);
    }
    if (in.store != nullptr) {
      auto n = CheckList(in, **dns, &sample, &rep);
      if (!n.ok()) return n.status();
      eligible = *n;
    }
    CheckContent(in, sample, &rep);
  }
  if (absl::Status st = CheckAccounts(in, **dns, eligible, &rep); !st.ok()) return st;
  return rep;
}

int PreflightGate(const Config& config, Store* store, const LoadedCampaign& campaign, FILE* out,
                  FILE* err) {
  auto route = SelectRoute(config, campaign.campaign.route, campaign.campaign.list);
  if (!route.ok()) {
    std::fprintf(err, "salvo: %s\n", std::string(route.status().message()).c_str());
    return 2;
  }
  auto senders = RouteAccounts(config, **route);
  if (!senders.ok()) {
    std::fprintf(err, "salvo: %s\n", std::string(senders.status().message()).c_str());
    return 2;
  }
  PreflightInput in{&config, store, &campaign, *senders, err};
  auto rep = RunPreflight(in);
  if (!rep.ok()) {
    std::fprintf(err, "salvo: preflight: %s\n", std::string(rep.status().message()).c_str());
    return 1;
  }
  if (rep->fails() == 0) return 0;
  std::fprintf(out, "preflight of campaign %s:\n%s", campaign.campaign.id.c_str(), rep->ToText().c_str());
  std::fprintf(err, "salvo: preflight failed (%d fail): nothing sent; correct the checks above or "
               "pass --skip-preflight\n", rep->fails());
  return 1;
}

}  // namespace salvo
