// Campaign records and per-recipient progress in RocksDB (see campaign_store.h). Values use the
// varint helpers of store/record_codec.h; decoders bound-check everything they read.
#include "store/campaign_store.h"

#include <ctime>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "engine/base/enum_names.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"
#include "store/store_internals.h"

namespace salvo {
namespace {

constexpr uint8_t kCampaignVersion = 1;
constexpr uint8_t kProgressVersion = 2;  // 2: ends with the attempt batch; 1 (older): without
constexpr uint8_t kFlagFinal = 1, kFlagInFlight = 2;


[[nodiscard]] absl::Status Bad(std::string_view what, std::string_view key) {
  return absl::DataLossError(
      absl::StrCat("damaged ", Av(what), " record for \"", SanitizeForLog(key, 80), "\""));
}

std::string Prefix(std::string_view campaign) {
  std::string p(campaign);
  p.push_back('\0');
  return p;
}

// meta: "attempt" '\0' campaign '\0' [batch (8 bytes BE)]
std::string AttemptPrefix(std::string_view campaign) {
  std::string k("attempt", 7);
  k.push_back('\0');
  k.append(campaign);
  k.push_back('\0');
  return k;
}
std::string AttemptKey(std::string_view campaign, uint64_t batch) {
  std::string k = AttemptPrefix(campaign);
  PutBe64(&k, batch);
  return k;
}
constexpr size_t kMaxAttemptsPerMarker = 1u << 20;

using S = CampaignState;
constexpr EnumName<S> kStates[] = {
    {S::kRunning, "running"}, {S::kPaused, "paused"}, {S::kCancelled, "cancelled"},
    {S::kDone, "done"}, {S::kScheduled, "scheduled"}, {S::kWaiting, "waiting"}};
static_assert(std::size(kStates) == static_cast<size_t>(S::kWaiting) + 1);

}  // namespace

std::string_view CampaignStateName(CampaignState s) { return NameIn(kStates, s, "running"); }

void EncodeProgress(const ProgressRecord& r, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kProgressVersion));
  out->push_back(static_cast<char>(r.outcome));
  out->push_back(static_cast<char>((r.final ? kFlagFinal : 0) | (r.in_flight ? kFlagInFlight : 0)));
  PutVarint64(out, r.attempts);
  PutVarint64(out, ZigZag(r.first_attempt_us));
  PutVarint64(out, ZigZag(r.next_retry_us));
  PutLengthPrefixed(out, std::string_view(r.account).substr(0, 128));
  PutLengthPrefixed(out, std::string_view(r.reply).substr(0, 512));
  PutVarint64(out, r.batch);  // version 2
}

[[nodiscard]] absl::Status DecodeProgress(std::string_view v, ProgressRecord* r) {
  const uint8_t version = v.empty() ? 0 : static_cast<uint8_t>(v[0]);
  if (v.size() < 3 || version < 1 || version > kProgressVersion ||
      static_cast<uint8_t>(v[1]) > static_cast<uint8_t>(Outcome::kOutsideSegment))
    return Bad("progress", "");
  r->outcome = static_cast<Outcome>(v[1]);
  uint8_t flags = static_cast<uint8_t>(v[2]);
  r->final = flags & kFlagFinal;
  r->in_flight = flags & kFlagInFlight;
  v.remove_prefix(3);
  uint64_t a, f, n;
  std::string_view acct, reply;
  if (!GetVarint64(&v, &a) || !GetVarint64(&v, &f) || !GetVarint64(&v, &n) ||
      !GetLengthPrefixed(&v, &acct) || !GetLengthPrefixed(&v, &reply))
    return Bad("progress", "");
  r->attempts = static_cast<uint32_t>(a);
  r->first_attempt_us = UnZigZag(f);
  r->next_retry_us = UnZigZag(n);
  r->account = std::string(acct);
  r->reply = std::string(reply);
  r->batch = 0;
  if (version >= 2 && (!GetVarint64(&v, &r->batch) || !v.empty())) return Bad("progress", "");
  return absl::OkStatus();
}

namespace {
void EncodeCampaign(const CampaignRecord& c, std::string* out) {
  std::string& v = *out;
  v.clear();
  v.push_back(static_cast<char>(kCampaignVersion));
  v.push_back(static_cast<char>(c.state));
  PutLengthPrefixed(&v, c.list);
  PutLengthPrefixed(&v, std::string_view(c.pause_reason).substr(0, 2048));
  PutLengthPrefixed(&v, c.campaign_file);
  PutLengthPrefixed(&v, c.config_file);
  PutVarint64(&v, ZigZag(c.started_at));
  PutVarint64(&v, ZigZag(c.finished_at));
  PutVarint64(&v, c.list_size);
  PutVarint64(&v, c.runs);
  PutVarint64(&v, c.in_flight_at_resume);
  PutLengthPrefixed(&v, std::string_view(c.route).substr(0, 256));
  PutVarint64(&v, ZigZag(c.scheduled_at));
  PutVarint64(&v, ZigZag(c.next_action_at));
  v.push_back(static_cast<char>((c.auto_resume ? 1 : 0) | (c.skip_preflight ? 2 : 0)));
}
}  // namespace

absl::Status CampaignStore::Put(const CampaignRecord& c) {
  std::string v;
  EncodeCampaign(c, &v);
  rocksdb::Status s = DbOf(store_)->Put(rocksdb::WriteOptions(), CfOf(store_, Cf::kCampaigns), c.id, v);
  if (!s.ok()) return FromRocks(s, "writing campaign record");
  return absl::OkStatus();
}

absl::Status CampaignStore::PutClearingAttempts(const CampaignRecord& c) {
  std::string v;
  EncodeCampaign(c, &v);
  std::string lower = AttemptPrefix(c.id), upper = lower;
  upper.back() = '\1';
  rocksdb::WriteBatch batch;
  batch.Put(CfOf(store_, Cf::kCampaigns), c.id, v);
  batch.DeleteRange(CfOf(store_, Cf::kMeta), lower, upper);
  rocksdb::Status s = DbOf(store_)->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return FromRocks(s, "writing campaign record");
  return absl::OkStatus();
}

absl::Status CampaignStore::MarkAttempts(std::string_view campaign, uint64_t batch,
                                         const std::vector<Attempt>& attempts,
                                         const std::vector<DailyIncrement>& daily) {
  if (attempts.size() > kMaxAttemptsPerMarker)
    return absl::InvalidArgumentError("too many messages in one attempt batch");
  rocksdb::WriteBatch wb;
  std::string value;
  for (const Attempt& a : attempts) {
    value.push_back(static_cast<char>(a.shard & 0xFF));
    PutLengthPrefixed(&value, a.key);
  }
  if (!attempts.empty()) wb.Put(CfOf(store_, Cf::kMeta), AttemptKey(campaign, batch), value);
  for (const auto& d : daily) {
    if (d.n == 0) continue;
    value.clear();
    PutVarint64(&value, d.n);
    wb.Merge(CfOf(store_, Cf::kMeta), DailyKey(d.account, d.day), value);
  }
  if (wb.Count() == 0) return absl::OkStatus();
  rocksdb::Status s = DbOf(store_)->Write(rocksdb::WriteOptions(), &wb);
  if (!s.ok()) return FromRocks(s, "writing attempt markers");
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> CampaignStore::OpenAttempts(std::string_view campaign) {
  uint64_t open = 0;
  PrefixScan scan(store_, Cf::kMeta, AttemptPrefix(campaign));
  for (; scan.Valid(); scan.Next()) {
    std::string_view id = scan.rest();
    if (id.size() != 8) continue;
    const uint64_t batch = GetBe64(id);
    std::vector<uint32_t> shards;
    std::vector<std::string_view> keys;
    std::string_view v = scan.value();
    while (!v.empty()) {
      const uint32_t shard = static_cast<uint8_t>(v[0]);
      v.remove_prefix(1);
      std::string_view key;
      if (!GetLengthPrefixed(&v, &key)) return Bad("attempt marker", campaign);
      shards.push_back(shard);
      keys.push_back(key);
    }
    std::vector<std::optional<ProgressRecord>> recs;
    RETURN_IF_ERROR(GetProgress(campaign, shards, keys, &recs));
    for (const auto& r : recs)
      if (!r || r->batch != batch) ++open;
  }
  RETURN_IF_ERROR(scan.status("scanning attempt markers"));
  return open;
}

namespace {
[[nodiscard]]
absl::Status DecodeCampaign(std::string_view id, std::string_view v, CampaignRecord* c) {
  if (v.size() < 2 || static_cast<uint8_t>(v[0]) != kCampaignVersion ||
      static_cast<uint8_t>(v[1]) > static_cast<uint8_t>(CampaignState::kWaiting))
    return Bad("campaign", id);
  c->id = std::string(id);
  c->state = static_cast<CampaignState>(v[1]);
  v.remove_prefix(2);
  std::string_view list, reason, cf, conf;
  uint64_t st, fin, size, runs, inflight;
  if (!GetLengthPrefixed(&v, &list) || !GetLengthPrefixed(&v, &reason) ||
      !GetLengthPrefixed(&v, &cf) || !GetLengthPrefixed(&v, &conf) || !GetVarint64(&v, &st) ||
      !GetVarint64(&v, &fin) || !GetVarint64(&v, &size) || !GetVarint64(&v, &runs) ||
      !GetVarint64(&v, &inflight))
    return Bad("campaign", id);
  c->list = std::string(list);
  c->pause_reason = std::string(reason);
  c->campaign_file = std::string(cf);
  c->config_file = std::string(conf);
  c->started_at = UnZigZag(st);
  c->finished_at = UnZigZag(fin);
  c->list_size = size;
  c->runs = runs;
  c->in_flight_at_resume = inflight;
  c->route.clear();
  if (!v.empty()) {  // records written before the route was kept end here
    std::string_view route;
    if (!GetLengthPrefixed(&v, &route)) return Bad("campaign", id);
    c->route = std::string(route);
  }
  c->scheduled_at = c->next_action_at = 0;
  c->auto_resume = c->skip_preflight = false;
  if (!v.empty()) {  // records written before schedules end here
    uint64_t at, next;
    if (!GetVarint64(&v, &at) || !GetVarint64(&v, &next) || v.size() != 1)
      return Bad("campaign", id);
    c->scheduled_at = UnZigZag(at);
    c->next_action_at = UnZigZag(next);
    c->auto_resume = v[0] & 1;
    c->skip_preflight = v[0] & 2;
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<std::optional<CampaignRecord>> CampaignStore::Get(std::string_view id) {
  std::string v;
  rocksdb::Status s = DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kCampaigns),
                                        rocksdb::Slice(id.data(), id.size()), &v);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "reading campaign record");
  CampaignRecord c;
  RETURN_IF_ERROR(DecodeCampaign(id, v, &c));
  return c;
}

absl::StatusOr<std::vector<CampaignRecord>> CampaignStore::List() {
  std::vector<CampaignRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(
      DbOf(store_)->NewIterator(rocksdb::ReadOptions(), CfOf(store_, Cf::kCampaigns)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    // Link tables share this column family under "links\0..." keys; campaign ids have no NUL.
    if (std::string_view(it->key().data(), it->key().size()).find('\0') != std::string_view::npos)
      continue;
    CampaignRecord c;
    RETURN_IF_ERROR(DecodeCampaign(Sv(absl::string_view(it->key().data(), it->key().size())),
                                   std::string_view(it->value().data(), it->value().size()), &c));
    out.push_back(std::move(c));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing campaigns");
  return out;
}

namespace {
constexpr size_t kMaxSnapshot = 16u << 20;
constexpr uint8_t kSnapshotVersion = 1;
std::string SnapshotKey(std::string_view id) {
  std::string k("snapshot", 8);
  k.push_back('\0');
  k.append(id);
  return k;
}
}  // namespace

absl::Status CampaignStore::PutSnapshot(std::string_view id, const CampaignSnapshot& s) {
  const size_t size = s.campaign_path.size() + s.campaign_toml.size() + s.html.size() +
                      (s.text ? s.text->size() : 0) + s.config_file.size();
  if (size > kMaxSnapshot)
    return absl::InvalidArgumentError(absl::StrCat("campaign \"", Av(id), "\": its files (", size,
                                                   " bytes) are over the 16 MiB a schedule keeps"));
  std::string v;
  v.push_back(static_cast<char>(kSnapshotVersion));
  PutLengthPrefixed(&v, s.campaign_path);
  PutLengthPrefixed(&v, s.campaign_toml);
  PutLengthPrefixed(&v, s.html);
  v.push_back(s.text ? 1 : 0);
  PutLengthPrefixed(&v, s.text ? *s.text : std::string());
  PutLengthPrefixed(&v, s.config_file);
  rocksdb::WriteOptions wo;
  wo.sync = true;  // a schedule is a promise: it survives a power loss
  rocksdb::Status st = DbOf(store_)->Put(wo, CfOf(store_, Cf::kCampaigns), SnapshotKey(id), v);
  if (!st.ok()) return FromRocks(st, "writing campaign snapshot");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<CampaignSnapshot>> CampaignStore::GetSnapshot(std::string_view id) {
  std::string v;
  rocksdb::Status st =
      DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kCampaigns), SnapshotKey(id), &v);
  if (st.IsNotFound()) return std::nullopt;
  if (!st.ok()) return FromRocks(st, "reading campaign snapshot");
  std::string_view in(v);
  CampaignSnapshot s;
  std::string_view path, toml, html, text, conf;
  if (in.size() < 1 || static_cast<uint8_t>(in[0]) != kSnapshotVersion) return Bad("snapshot", id);
  in.remove_prefix(1);
  if (!GetLengthPrefixed(&in, &path) || !GetLengthPrefixed(&in, &toml) ||
      !GetLengthPrefixed(&in, &html) || in.empty())
    return Bad("snapshot", id);
  const bool has_text = in[0] == 1;
  in.remove_prefix(1);
  if (!GetLengthPrefixed(&in, &text) || !GetLengthPrefixed(&in, &conf) || !in.empty())
    return Bad("snapshot", id);
  s.campaign_path = std::string(path);
  s.campaign_toml = std::string(toml);
  s.html = std::string(html);
  if (has_text) s.text = std::string(text);
  s.config_file = std::string(conf);
  return s;
}

void CampaignStore::ProgressKey(std::string_view campaign, uint32_t shard,
                                std::string_view address_key, std::string* out) {
  out->assign(campaign);
  out->push_back('\0');
  out->push_back(static_cast<char>(shard & 0xFF));
  out->append(address_key);
}

absl::Status CampaignStore::GetProgress(std::string_view campaign,
                                        const std::vector<uint32_t>& shards,
                                        const std::vector<std::string_view>& keys,
                                        std::vector<std::optional<ProgressRecord>>* out) {
  const size_t n = keys.size();
  out->assign(n, std::nullopt);
  if (n == 0) return absl::OkStatus();
  std::vector<std::string> full(n);
  std::vector<rocksdb::Slice> slices(n);
  for (size_t i = 0; i < n; ++i) {
    ProgressKey(campaign, shards[i], keys[i], &full[i]);
    slices[i] = full[i];
  }
  std::vector<rocksdb::PinnableSlice> values(n);
  std::vector<rocksdb::Status> stats(n);
  DbOf(store_)->MultiGet(rocksdb::ReadOptions(), CfOf(store_, Cf::kProgress), n, slices.data(),
                         values.data(), stats.data());
  for (size_t i = 0; i < n; ++i) {
    if (stats[i].IsNotFound()) continue;
    if (!stats[i].ok()) return FromRocks(stats[i], "reading progress");
    ProgressRecord r;
    absl::Status st = DecodeProgress(values[i].ToStringView(), &r);
    if (!st.ok()) return Bad("progress", keys[i]);
    (*out)[i] = std::move(r);
  }
  return absl::OkStatus();
}

absl::Status CampaignStore::PutProgress(std::string_view campaign, const std::vector<Write>& writes,
                                        const std::vector<DailyIncrement>& daily,
                                        const std::vector<uint64_t>& done_batches) {
  if (writes.empty() && daily.empty() && done_batches.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  std::string key, value;
  for (const auto& w : writes) {
    ProgressKey(campaign, w.shard, w.key, &key);
    EncodeProgress(w.rec, &value);
    batch.Put(CfOf(store_, Cf::kProgress), key, value);
  }
  for (const auto& d : daily) {
    if (d.n == 0) continue;
    value.clear();
    PutVarint64(&value, d.n);
    batch.Merge(CfOf(store_, Cf::kMeta), DailyKey(d.account, d.day), value);
  }
  for (uint64_t b : done_batches) batch.Delete(CfOf(store_, Cf::kMeta), AttemptKey(campaign, b));
  rocksdb::Status s = DbOf(store_)->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return FromRocks(s, "writing progress");
  return absl::OkStatus();
}

std::string CampaignStore::DailyKey(std::string_view account, std::string_view day) {
  std::string k("daily");
  k.push_back('\0');
  k.append(account);
  k.push_back('\0');
  k.append(day);
  return k;
}

std::string CampaignStore::UtcDay(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16] = {};
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

absl::StatusOr<uint64_t> CampaignStore::GetDailyCount(std::string_view account, std::string_view day) {
  std::string v;
  rocksdb::Status s = DbOf(store_)->Get(rocksdb::ReadOptions(), CfOf(store_, Cf::kMeta),
                                        DailyKey(account, day), &v);
  if (s.IsNotFound()) return uint64_t{0};
  if (!s.ok()) return FromRocks(s, "reading daily count");
  std::string_view in(v);
  uint64_t n = 0;
  if (!GetVarint64(&in, &n) || !in.empty()) return Bad("daily count", account);
  return n;
}

absl::Status CampaignStore::AddDailyCounts(const std::vector<DailyIncrement>& daily) {
  return PutProgress("", {}, daily);
}

absl::Status CampaignStore::ForEachProgress(
    std::string_view campaign,
    const std::function<bool(uint32_t, std::string_view, const ProgressRecord&)>& fn) {
  PrefixScan scan(store_, Cf::kProgress, Prefix(campaign));
  for (; scan.Valid(); scan.Next()) {
    std::string_view k = scan.rest();  // shard (1 byte), address key
    if (k.empty()) continue;
    uint32_t shard = static_cast<uint8_t>(k[0]);
    std::string_view addr = k.substr(1);
    ProgressRecord r;
    absl::Status st = DecodeProgress(scan.value(), &r);
    if (!st.ok()) return Bad("progress", addr);
    if (!fn(shard, addr, r)) break;
  }
  return scan.status("scanning progress");
}

absl::StatusOr<ProgressCounts> CampaignStore::Count(std::string_view campaign) {
  ProgressCounts c;
  RETURN_IF_ERROR(ForEachProgress(campaign, [&](uint32_t, std::string_view, const ProgressRecord& r) {
    ++c.total;
    ++c.by_outcome[static_cast<int>(r.outcome)];
    if (r.outcome == Outcome::kDeferred && r.final) ++c.deferred_final;
    if (r.in_flight) ++c.in_flight;  // a per-recipient marker (stores before batch markers)
    return true;
  }));
  ASSIGN_OR_RETURN(uint64_t open, OpenAttempts(campaign));
  c.in_flight += open;
  return c;
}

absl::Status CampaignStore::Delete(std::string_view id) {
  const std::string prefix = Prefix(id);
  std::string upper = prefix;
  upper.back() = '\1';
  std::string attempts = AttemptPrefix(id), attempts_end = attempts;
  attempts_end.back() = '\1';
  rocksdb::WriteBatch batch;
  batch.DeleteRange(CfOf(store_, Cf::kProgress), prefix, upper);
  batch.DeleteRange(CfOf(store_, Cf::kMeta), attempts, attempts_end);
  batch.Delete(CfOf(store_, Cf::kCampaigns), rocksdb::Slice(id.data(), id.size()));
  batch.Delete(CfOf(store_, Cf::kCampaigns), SnapshotKey(id));
  rocksdb::Status s = DbOf(store_)->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return FromRocks(s, "deleting campaign");
  return absl::OkStatus();
}

}  // namespace salvo
