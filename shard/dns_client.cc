#include "shard/dns_client.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/strings.h"

namespace salvo {

namespace {

constexpr size_t kMaxTxtBytes = 16 * 1024;  // joined strings of one TXT record
constexpr size_t kMaxRecords = 64;           // per answer

int QType(DnsClient::Type t) {
  switch (t) {
    case DnsClient::Type::kTxt: return ns_t_txt;
    case DnsClient::Type::kMx: return ns_t_mx;
    case DnsClient::Type::kA: return ns_t_a;
    case DnsClient::Type::kAaaa: return ns_t_aaaa;
    case DnsClient::Type::kPtr: return ns_t_ptr;
    case DnsClient::Type::kCname: return ns_t_a;  // the chain comes with the A answer
  }
  return ns_t_a;
}

DnsAnswer FromAresStatus(int status) {
  DnsAnswer a;
  switch (status) {
    case ARES_ENODATA: a.status = DnsStatus::kNoData; break;
    case ARES_ENOTFOUND: a.status = DnsStatus::kNxDomain; break;
    case ARES_ESERVFAIL:
    case ARES_EREFUSED: a.status = DnsStatus::kServFail; break;
    case ARES_ETIMEOUT: a.status = DnsStatus::kTimeout; break;
    default:
      a.status = DnsStatus::kError;
      a.error = ares_strerror(status);
  }
  return a;
}

std::string HostName(const char* s) { return SanitizeForLog(AsciiLower(TrimRight(s, ".")), 255); }

void ParseAddresses(const hostent* h, int family, DnsAnswer* out) {
  for (char** p = h->h_addr_list; p != nullptr && *p != nullptr && out->records.size() < kMaxRecords; ++p) {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(family, *p, buf, sizeof buf) != nullptr) out->records.push_back(buf);
  }
}

// CNAME records of an answer section, in order: owner -> target pairs walked from `name`.
void ParseCnameChain(const unsigned char* abuf, int alen, const std::string& name, DnsAnswer* out) {
  if (alen < 12) return;
  const int qd = (abuf[4] << 8) | abuf[5], an = (abuf[6] << 8) | abuf[7];
  const unsigned char* p = abuf + 12;
  const unsigned char* end = abuf + alen;
  for (int i = 0; i < qd; ++i) {
    char* q = nullptr;
    long len = 0;
    if (ares_expand_name(p, abuf, alen, &q, &len) != ARES_SUCCESS) return;
    ares_free_string(q);
    p += len + 4;
    if (p > end) return;
  }
  std::vector<std::pair<std::string, std::string>> links;
  for (int i = 0; i < an && p < end; ++i) {
    char* owner = nullptr;
    long len = 0;
    if (ares_expand_name(p, abuf, alen, &owner, &len) != ARES_SUCCESS) return;
    std::string o = HostName(owner);
    ares_free_string(owner);
    p += len;
    if (end - p < 10) return;
    const int type = (p[0] << 8) | p[1];
    const int rdlen = (p[8] << 8) | p[9];
    p += 10;
    if (end - p < rdlen) return;
    if (type == ns_t_cname) {
      char* target = nullptr;
      if (ares_expand_name(p, abuf, alen, &target, &len) == ARES_SUCCESS) {
        links.emplace_back(o, HostName(target));
        ares_free_string(target);
      }
    }
    p += rdlen;
  }
  std::string cur = name;
  for (size_t hops = 0; hops < links.size(); ++hops) {
    auto it = std::find_if(links.begin(), links.end(), [&](const auto& l) { return l.first == cur; });
    if (it == links.end()) break;
    cur = it->second;
    out->records.push_back(cur);
  }
}

DnsAnswer Parse(DnsClient::Type type, const std::string& name, const unsigned char* abuf, int alen) {
  DnsAnswer out;
  switch (type) {
    case DnsClient::Type::kTxt: {
      ares_txt_ext* txt = nullptr;
      int st = ares_parse_txt_reply_ext(abuf, alen, &txt);
      if (st != ARES_SUCCESS) return FromAresStatus(st);
      for (ares_txt_ext* t = txt; t != nullptr; t = t->next) {
        if (t->record_start || out.records.empty()) {
          if (out.records.size() >= kMaxRecords) break;
          out.records.emplace_back();
        }
        std::string& rec = out.records.back();
        if (rec.size() + t->length <= kMaxTxtBytes)
          rec.append(reinterpret_cast<const char*>(t->txt), t->length);
      }
      ares_free_data(txt);
      return out;
    }
    case DnsClient::Type::kMx: {
      ares_mx_reply* mx = nullptr;
      int st = ares_parse_mx_reply(abuf, alen, &mx);
      if (st != ARES_SUCCESS) return FromAresStatus(st);
      std::vector<std::pair<int, std::string>> hosts;
      for (ares_mx_reply* m = mx; m != nullptr && hosts.size() < kMaxRecords; m = m->next)
        hosts.emplace_back(m->priority, HostName(m->host));
      ares_free_data(mx);
      std::stable_sort(hosts.begin(), hosts.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (auto& h : hosts) out.records.push_back(std::move(h.second));
      return out;
    }
    case DnsClient::Type::kA:
    case DnsClient::Type::kAaaa: {
      hostent* h = nullptr;
      const bool v6 = type == DnsClient::Type::kAaaa;
      int st = v6 ? ares_parse_aaaa_reply(abuf, alen, &h, nullptr, nullptr)
                  : ares_parse_a_reply(abuf, alen, &h, nullptr, nullptr);
      if (st != ARES_SUCCESS) return FromAresStatus(st);
      ParseAddresses(h, v6 ? AF_INET6 : AF_INET, &out);
      ares_free_hostent(h);
      return out;
    }
    case DnsClient::Type::kPtr: {
      hostent* h = nullptr;
      int st = ares_parse_ptr_reply(abuf, alen, nullptr, 0, AF_INET, &h);
      if (st != ARES_SUCCESS) return FromAresStatus(st);
      if (h->h_name) out.records.push_back(HostName(h->h_name));
      for (char** a = h->h_aliases; a && *a && out.records.size() < kMaxRecords; ++a) {
        std::string n = HostName(*a);
        if (std::find(out.records.begin(), out.records.end(), n) == out.records.end())
          out.records.push_back(n);
      }
      ares_free_hostent(h);
      return out;
    }
    case DnsClient::Type::kCname:
      ParseCnameChain(abuf, alen, name, &out);
      return out;
  }
  return out;
}

// "192.0.2.1" -> "1.2.0.192.in-addr.arpa"; IPv6 -> nibbles under ip6.arpa. Empty if not an IP.
std::string ReverseName(std::string_view ip) {
  unsigned char b[16];
  std::string s(ip);
  if (inet_pton(AF_INET, s.c_str(), b) == 1)
    return absl::StrCat(b[3], ".", b[2], ".", b[1], ".", b[0], ".in-addr.arpa");
  if (inet_pton(AF_INET6, s.c_str(), b) != 1) return "";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 15; i >= 0; --i) {
    out += hex[b[i] & 15];
    out += '.';
    out += hex[b[i] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

}  // namespace

struct DnsClient::Impl {
  ares_channel channel = nullptr;
  std::map<std::pair<Type, std::string>, DnsAnswer> cache;

  struct Pending {
    Impl* impl;
    Type type;
    std::string name;
  };

  static void Done(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<Pending> p(static_cast<Pending*>(arg));
    DnsAnswer a = status == ARES_SUCCESS ? Parse(p->type, p->name, abuf, alen) : FromAresStatus(status);
    // A CNAME chain query that found no CNAME is simply an empty chain.
    if (p->type == Type::kCname && status != ARES_SUCCESS && a.status != DnsStatus::kTimeout &&
        a.status != DnsStatus::kServFail)
      a = DnsAnswer{};
    p->impl->cache[{p->type, p->name}] = std::move(a);
  }

  void Send(Type type, const std::string& name) {
    std::string qname = type == Type::kPtr ? ReverseName(name) : name;
    if (qname.empty() || qname.size() > 253) {
      cache[{type, name}] = DnsAnswer{DnsStatus::kError, {}, "not a valid query name"};
      return;
    }
    cache[{type, name}] = DnsAnswer{DnsStatus::kTimeout, {}, ""};  // until answered
    ares_query(channel, qname.c_str(), ns_c_in, QType(type), &Impl::Done,
               new Pending{this, type, name});
  }

  // Runs c-ares until every query sent has completed (c-ares bounds each by timeout x tries).
  void Wait() {
    for (;;) {
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      pollfd fds[ARES_GETSOCK_MAXNUM];
      int n = 0;
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short ev = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
        if (ev) fds[n++] = {socks[i], ev, 0};
      }
      if (n == 0) return;
      timeval tv{};
      timeval* tvp = ares_timeout(channel, nullptr, &tv);
      const int ms = tvp ? static_cast<int>(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 1000;
      poll(fds, n, ms);
      for (int i = 0; i < n; ++i) {
        const ares_socket_t r = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD;
        const ares_socket_t w = (fds[i].revents & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD;
        ares_process_fd(channel, r, w);
      }
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
    }
  }
};

absl::StatusOr<std::unique_ptr<DnsClient>> DnsClient::Create(const DnsClientOptions& options) {
  static std::once_flag once;
  static int init_status = ARES_SUCCESS;
  std::call_once(once, [] { init_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (init_status != ARES_SUCCESS)
    return absl::InternalError(absl::StrCat("c-ares: ", ares_strerror(init_status)));
  auto impl = std::make_unique<Impl>();
  ares_options opts{};
  opts.timeout = options.timeout_ms;
  opts.tries = options.tries;
  int st = ares_init_options(&impl->channel, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (st != ARES_SUCCESS)
    return absl::InternalError(absl::StrCat("c-ares: ", ares_strerror(st)));
  if (!options.servers.empty()) {
    const std::string csv = absl::StrJoin(options.servers, ",");
    st = ares_set_servers_ports_csv(impl->channel, csv.c_str());
    if (st != ARES_SUCCESS) {
      ares_destroy(impl->channel);
      return absl::InvalidArgumentError(
          absl::StrCat("[dns] servers \"", csv, "\": ", ares_strerror(st)));
    }
  }
  return std::unique_ptr<DnsClient>(new DnsClient(std::move(impl)));
}

DnsClient::DnsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DnsClient::~DnsClient() {
  if (impl_->channel) ares_destroy(impl_->channel);  // runs pending callbacks (cancelled)
}

void DnsClient::Prefetch(const std::vector<std::pair<Type, std::string>>& queries) {
  for (const auto& [type, name] : queries) {
    std::string n = AsciiLower(TrimRight(name, "."));
    if (!impl_->cache.contains({type, n})) impl_->Send(type, n);
  }
  impl_->Wait();
}

DnsAnswer DnsClient::Ask(Type type, std::string_view name) {
  std::string n = AsciiLower(TrimRight(name, "."));
  auto it = impl_->cache.find({type, n});
  if (it != impl_->cache.end()) return it->second;
  impl_->Send(type, n);
  impl_->Wait();
  return impl_->cache[{type, n}];
}

DnsAnswer DnsClient::Txt(std::string_view name) { return Ask(Type::kTxt, name); }
DnsAnswer DnsClient::Mx(std::string_view name) { return Ask(Type::kMx, name); }
DnsAnswer DnsClient::Addresses(std::string_view name, bool v6) {
  return Ask(v6 ? Type::kAaaa : Type::kA, name);
}
DnsAnswer DnsClient::Ptr(std::string_view ip) { return Ask(Type::kPtr, ip); }
DnsAnswer DnsClient::CnameChain(std::string_view name) { return Ask(Type::kCname, name); }

}  // namespace salvo
