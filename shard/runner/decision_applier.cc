#include "shard/runner/decision_applier.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/base/strings.h"
#include "engine/policy/outcome.h"
#include "store/suppression_store.h"

namespace salvo {

void DecisionApplier::Record(RunItem* item, Outcome o, bool final, std::string reply) {
  ProgressRecord p = item->prog.value_or(ProgressRecord{});
  s_->Change(item->prog, o, o == Outcome::kDeferred && final);
  p.outcome = o;
  p.final = final;
  p.in_flight = false;
  p.reply = SanitizeForLog(reply, 512);
  if (item->acct >= 0) p.account = s_->accounts[item->acct]->cfg->name;
  if (item->batch != 0) p.batch = item->batch;
  item->prog = p;
  if (!s_->dry_run) {
    Counters(item->acct, item->ip).For(o).Inc();
    writes_.push_back({item->r.shard, item->r.key, std::move(p)});
  }
}

void DecisionApplier::Guard(const RunItem* item, bool bounced, int64_t now) {
  if (item->acct < 0) return;
  AccountState& st = *s_->accounts[item->acct]->state;
  if (st.warmup() != nullptr) {
    if (absl::Status e = st.OnVerdict(s_->store, bounced, now); !e.ok()) s_->Fatal(e);
  }
  std::string why;
  if (IpWarmup* w = st.ip_warmup(item->ip); w && w->OnVerdict(bounced, now, &why))
    std::fprintf(stderr, "salvo: source IP %s halted until the next UTC day (warm-up): %s\n",
                 w->ip.c_str(), why.c_str());
}

bool DecisionApplier::Flush() {
  if (writes_.empty() && done_batches_.empty()) return true;
  StageTimer progress_cpu(&s_->cpu, Stage::kProgress);
  absl::Status st = s_->cstore->PutProgress(s_->campaign->id, writes_, {}, done_batches_);
  writes_.clear();
  done_batches_.clear();
  if (!st.ok()) {
    s_->Fatal(st);
    return false;
  }
  return true;
}

void DecisionApplier::Defer(RunItem* item, ProgressRecord p, bool give_up, int64_t next_retry_us,
                            const std::string& reply) {
  s_->Change(item->prog, Outcome::kDeferred, give_up);
  p.outcome = Outcome::kDeferred;
  p.final = give_up;
  p.in_flight = false;
  p.next_retry_us = give_up ? 0 : next_retry_us;
  p.reply = SanitizeForLog(reply, 512);
  if (item->acct >= 0) p.account = s_->accounts[item->acct]->cfg->name;
  if (item->batch != 0) p.batch = item->batch;
  item->prog = p;
  Counters(item->acct, item->ip).For(Outcome::kDeferred).Inc();
  writes_.push_back({item->r.shard, item->r.key, std::move(p)});
}

std::optional<int64_t> DecisionApplier::Apply(RunItem* item, const SendReport& rep, int64_t now,
                                              double unit_random) {
  const RcptOutcome& out = rep.outcome;
  const std::string reply = AttemptReplyText(out);
  const ProgressRecord before = item->prog.value_or(ProgressRecord{});
  const Decision d = Decide(
      {out, rep.account_unusable, before.attempts, before.first_attempt_us, now, unit_random},
      s_->config->sending);
  if (d.action != Action::kPauseAccount && d.action != Action::kThrottle) s_->verdicts++;
  switch (d.action) {
    case Action::kDelivered:
      Record(item, Outcome::kDelivered, true, reply);
      Guard(item, false, now);
      return std::nullopt;
    case Action::kBounce: {
      Record(item, Outcome::kBounced, true, reply);
      Guard(item, true, now);
      SuppressionEntry e;
      e.key = item->r.key;
      e.reason = SuppressionReason::kHardBounce;
      e.source = "smtp";
      e.detail = reply;
      if (absl::Status st = s_->sstore->Add(e); !st.ok()) s_->Fatal(st);
      return std::nullopt;
    }
    case Action::kFail:
      Record(item, Outcome::kFailed, true, reply);
      return std::nullopt;
    case Action::kPauseAccount: {
      // About our account, not the recipient: the account pauses (for every campaign of the
      // process, and stored), the recipient is retried at once on another account of the
      // route, or when this one resumes.
      AccountState& st = *s_->accounts[item->acct]->state;
      const std::string& why =
          rep.account_unusable && !rep.account_reason.empty() ? rep.account_reason : reply;
      absl::StatusOr<bool> changed =
          st.Pause(s_->store, d.pause_reason, why, now / 1'000'000, d.pause_until);
      if (!changed.ok()) s_->Fatal(changed.status());
      item->acct = -1;
      if (item->prog) {  // the message was not accepted: its attempt is concluded
        item->prog->in_flight = false;
        if (item->batch != 0) item->prog->batch = item->batch;
        writes_.push_back({item->r.shard, item->r.key, *item->prog});
      }
      return now;
    }
    case Action::kThrottle: {
      s_->throttle_events++;
      AdaptiveRate& rate = egress_->Throttled(*item, now);
      const std::string_view domain = DomainOf(item->r.key);
      const RunAccount& acct = *s_->accounts[item->acct];
      metrics::Metrics()
          .throttle_events
          ->WithLabels({acct.cfg->name, std::string(metrics::Metrics().Domain(domain))})
          .Inc();
      {
        std::lock_guard<std::mutex> l(s_->mu);
        ThrottleInfo& ti = s_->throttles[absl::StrCat(
            index_, "|", EgressChooser::DomKey(item->acct, item->ip, domain))];
        ti.account = acct.cfg->name;
        ti.source_ip = item->ip >= 0 ? acct.cfg->source_ips[item->ip] : "";
        ti.domain = std::string(domain);
        ti.events++;
        ti.rate = rate.current_rate();
      }
      ProgressRecord p = item->prog.value_or(ProgressRecord{});
      p.first_attempt_us = d.first_attempt_us;
      Defer(item, std::move(p), d.give_up, d.give_up ? 0 : rate.RetryAt(now), reply);
      if (d.give_up) return std::nullopt;
      item->acct = -1;
      return item->prog->next_retry_us;
    }
    case Action::kRetry:
      break;
  }
  // Deferred: retried after the backoff, or final once retry_for is over.
  ProgressRecord p = before;
  p.attempts = d.attempts;
  p.first_attempt_us = d.first_attempt_us;
  Defer(item, std::move(p), d.give_up, d.retry_at_us, reply);
  if (d.give_up) return std::nullopt;
  if (item->acct >= 0) {  // a retry is scheduled after a backoff
    metrics::Metrics()
        .backoff_events
        ->WithLabels({s_->accounts[item->acct]->cfg->name,
                      std::string(metrics::Metrics().Domain(DomainOf(item->r.key)))})
        .Inc();
  }
  item->acct = -1;
  return d.retry_at_us;
}

const metrics::MessageCounters& DecisionApplier::Counters(int acct, int ip) {
  const int key = (acct + 1) * 1024 + (ip + 1);
  auto it = counters_.find(key);
  if (it == counters_.end()) {
    const std::string_view account =
        acct >= 0 ? std::string_view(s_->accounts[acct]->cfg->name) : "";
    const std::string_view sip =
        acct >= 0 && ip >= 0 ? std::string_view(s_->accounts[acct]->cfg->source_ips[ip]) : "";
    it = counters_
             .emplace(key, metrics::Metrics().Messages(s_->campaign->id, s_->route->name,
                                                       account, sip))
             .first;
  }
  return it->second;
}

}  // namespace salvo
