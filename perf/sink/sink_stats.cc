// Stats and record merging/writing for salvo-sink. Addresses in the record came from clients:
// they are written as received, but a TAB, CR or LF can never reach the file (the session
// rejects such paths).
#include "perf/sink/sink_stats.h"

#include <algorithm>
#include <bit>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/strings.h"

namespace salvo::sink {

std::string_view CmdName(Cmd c) {
  static constexpr std::string_view kNames[] = {"CONNECT", "EHLO", "HELO", "MAIL", "RCPT", "DATA",
                                                "END_OF_DATA", "BDAT", "RSET", "NOOP", "QUIT",
                                                "AUTH", "STARTTLS", "OTHER"};
  return kNames[static_cast<size_t>(c)];
}

int LatencyHistogram::Index(uint64_t v) {
  if (v < 16) return static_cast<int>(v);
  int e = 63 - std::countl_zero(v);  // >= 4
  int sub = static_cast<int>((v >> (e - 3)) & 7);
  return 16 + (e - 4) * 8 + sub;
}

uint64_t LatencyHistogram::Mid(int idx) {
  if (idx < 16) return static_cast<uint64_t>(idx);
  int e = (idx - 16) / 8 + 4;
  uint64_t sub = static_cast<uint64_t>((idx - 16) % 8);
  uint64_t lo = (uint64_t{1} << e) + (sub << (e - 3));
  return lo + (uint64_t{1} << (e - 4));
}

void LatencyHistogram::Add(uint64_t ns) {
  ++buckets_[Index(ns)];
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& o) {
  for (int i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
}

uint64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return Mid(i);
  }
  return Mid(kBuckets - 1);
}

uint32_t Recorder::PeerId(std::string_view peer) {
  auto it = peer_ids_.find(Av(peer));
  if (it != peer_ids_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(peers_.size());
  peers_.emplace_back(peer);
  peer_ids_.emplace(std::string(peer), id);
  return id;
}

void Recorder::Accept(std::string_view address, std::string_view peer) {
  uint32_t pid = PeerId(peer);
  auto it = entries_.find(Av(address));
  if (it == entries_.end()) it = entries_.try_emplace(std::string(address)).first;
  Entry& e = it->second;
  ++e.count;
  if (std::find(e.peers.begin(), e.peers.end(), pid) == e.peers.end()) e.peers.push_back(pid);
}

void Recorder::Merge(const Recorder& o) {
  for (const auto& [addr, oe] : o.entries_) {
    auto it = entries_.find(addr);
    if (it == entries_.end()) it = entries_.try_emplace(addr).first;
    Entry& e = it->second;
    e.count += oe.count;
    for (uint32_t op : oe.peers) {
      uint32_t pid = PeerId(o.peers_[op]);
      if (std::find(e.peers.begin(), e.peers.end(), pid) == e.peers.end()) e.peers.push_back(pid);
    }
  }
}

absl::Status Recorder::WriteTsv(const std::string& path) const {
  std::vector<const std::pair<const std::string, Entry>*> rows;
  rows.reserve(entries_.size());
  for (const auto& kv : entries_) rows.push_back(&kv);
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->first < b->first; });
  std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "w");
  if (f == nullptr) return absl::InternalError(absl::StrCat("--record: cannot write ", tmp));
  std::string line;
  for (const auto* r : rows) {
    std::vector<std::string_view> names;
    for (uint32_t p : r->second.peers) names.push_back(peers_[p]);
    std::sort(names.begin(), names.end());
    line.clear();
    absl::StrAppend(&line, r->first, "\t", r->second.count, "\t");
    for (size_t i = 0; i < names.size(); ++i) {
      if (i) line += ',';
      line.append(names[i]);
    }
    line += '\n';
    fwrite(line.data(), 1, line.size(), f);
  }
  bool ok = fflush(f) == 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("--record: cannot write ", path));
  }
  return absl::OkStatus();
}

absl::Status ArrivalLog::WriteTsv(const std::string& path, const std::vector<const ArrivalLog*>& logs) {
  std::vector<const Row*> rows;
  for (const ArrivalLog* l : logs)
    for (const Row& r : l->rows_) rows.push_back(&r);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row* a, const Row* b) { return a->unix_us < b->unix_us; });
  const std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "w");
  if (f == nullptr) return absl::InternalError(absl::StrCat("--arrivals: cannot write ", tmp));
  std::string buf;
  for (const Row* r : rows) {
    absl::StrAppend(&buf, r->address, "\t", r->unix_us, "\n");
    if (buf.size() >= (1u << 16)) {
      fwrite(buf.data(), 1, buf.size(), f);
      buf.clear();
    }
  }
  fwrite(buf.data(), 1, buf.size(), f);
  bool ok = fflush(f) == 0 && ferror(f) == 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0)
    return absl::InternalError(absl::StrCat("--arrivals: cannot write ", path));
  return absl::OkStatus();
}

void WorkerStats::Merge(const WorkerStats& o) {
  connections += o.connections;
  messages += o.messages;
  message_bytes += o.message_bytes;
  rcpt_accepted += o.rcpt_accepted;
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  tls_sessions += o.tls_sessions;
  dropped_in_data += o.dropped_in_data;
  if (o.first_message_ns != 0 && (first_message_ns == 0 || o.first_message_ns < first_message_ns)) {
    first_message_ns = o.first_message_ns;
  }
  if (o.last_message_ns > last_message_ns) last_message_ns = o.last_message_ns;
  for (size_t i = 0; i < replies.size(); ++i) replies[i] += o.replies[i];
  for (size_t i = 0; i < latency.size(); ++i) latency[i].Merge(o.latency[i]);
  for (const auto& [k, v] : o.by_peer) {
    by_peer[k].messages += v.messages;
    by_peer[k].recipients += v.recipients;
  }
  for (const auto& [k, v] : o.by_account) {
    by_account[k].messages += v.messages;
    by_account[k].recipients += v.recipients;
  }
}

namespace {

// {"key":{"messages":n,"recipients":m},...} sorted by key. Keys are IPs and configured user names
// (operator input, but escaped anyway).
std::string SharesJson(const absl::flat_hash_map<std::string, WorkerStats::Share>& m) {
  std::vector<const std::pair<const std::string, WorkerStats::Share>*> rows;
  for (const auto& kv : m) rows.push_back(&kv);
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->first < b->first; });
  std::string j = "{";
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string key;
    for (char c : rows[i]->first) {
      if (c == '"' || c == '\\') key += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) key += c;
    }
    absl::StrAppendFormat(&j, "%s\"%s\":{\"messages\":%d,\"recipients\":%d}", i ? "," : "", key,
                          rows[i]->second.messages, rows[i]->second.recipients);
  }
  return j + "}";
}

}  // namespace

std::string WorkerStats::ToJson(double elapsed_s, int threads) const {
  std::string j = "{";
  absl::StrAppendFormat(&j,
      "\"elapsed_s\":%.3f,\"threads\":%d,\"connections\":%d,\"messages\":%d,\"bytes\":%d,"
      "\"recipients\":%d,\"bytes_in\":%d,\"bytes_out\":%d,\"tls_sessions\":%d,"
      "\"dropped_in_data\":%d,\"msgs_per_s\":%.1f,",
      elapsed_s, threads, connections, messages, message_bytes, rcpt_accepted, bytes_in, bytes_out,
      tls_sessions, dropped_in_data, elapsed_s > 0 ? static_cast<double>(messages) / elapsed_s : 0.0);
  // Between the first and the last accepted message: the sender's rate, without idle time.
  double active_s = static_cast<double>(last_message_ns - first_message_ns) / 1e9;
  absl::StrAppendFormat(&j, "\"active_s\":%.3f,\"active_msgs_per_s\":%.1f,", active_s,
                        active_s > 0 ? static_cast<double>(messages > 0 ? messages - 1 : 0) / active_s : 0.0);
  j += "\"replies\":{";
  bool first = true;
  for (size_t c = 0; c < replies.size(); ++c) {
    if (replies[c] == 0) continue;
    absl::StrAppend(&j, first ? "" : ",", "\"", c, "\":", replies[c]);
    first = false;
  }
  j += "},\"latency_us\":{";
  first = true;
  for (size_t i = 0; i < latency.size(); ++i) {
    const LatencyHistogram& h = latency[i];
    if (h.count() == 0) continue;
    absl::StrAppendFormat(&j, "%s\"%s\":{\"count\":%d,\"p50\":%.1f,\"p99\":%.1f,\"max_bucket\":%.1f}",
                          first ? "" : ",", Av(CmdName(static_cast<Cmd>(i))), h.count(),
                          static_cast<double>(h.Quantile(0.5)) / 1000.0,
                          static_cast<double>(h.Quantile(0.99)) / 1000.0,
                          static_cast<double>(h.Quantile(1.0)) / 1000.0);
    first = false;
  }
  j += "},\"by_peer\":" + SharesJson(by_peer) + ",\"by_account\":" + SharesJson(by_account);
  j += "}\n";
  return j;
}

}  // namespace salvo::sink
