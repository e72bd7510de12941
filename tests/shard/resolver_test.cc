// shard/resolver.h without external DNS: IP literals resolve inline on the caller's thread;
// "localhost" (hosts file) resolves on the resolver thread to loopback addresses with the port;
// names that glibc refuses before any DNS query (empty label, 64-octet label, a space) give
// Unavailable "cannot resolve NAME: ..."; requests are answered in order, and each callback runs
// exactly once, also when the resolver is destroyed with requests still queued.
#include "shard/resolver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"

namespace salvo {
namespace {

using Result = absl::StatusOr<std::vector<ResolvedAddress>>;

bool IsLoopback(const ResolvedAddress& a) {
  if (a.family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&a.addr);
    return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
  }
  auto* s = reinterpret_cast<const sockaddr_in6*>(&a.addr);
  return IN6_IS_ADDR_LOOPBACK(&s->sin6_addr) || IN6_IS_ADDR_V4MAPPED(&s->sin6_addr);
}

uint16_t PortOf(const ResolvedAddress& a) {
  return a.family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in*>(&a.addr)->sin_port)
                             : ntohs(reinterpret_cast<const sockaddr_in6*>(&a.addr)->sin6_port);
}

TEST(ResolverTest, LiteralsResolveInlineOnTheCallersThread) {
  Resolver r;
  for (const auto& [host, text, family, len] :
       std::vector<std::tuple<std::string, std::string, int, socklen_t>>{
           {"192.0.2.7", "192.0.2.7:2525", AF_INET, sizeof(sockaddr_in)},
           {"2001:db8::7", "[2001:db8::7]:2525", AF_INET6, sizeof(sockaddr_in6)}}) {
    bool called = false;
    std::thread::id on;
    r.Resolve(host, 2525, [&](Result res) {
      called = true;
      on = std::this_thread::get_id();
      ASSERT_TRUE(res.ok()) << res.status();
      ASSERT_EQ(res->size(), 1u);
      EXPECT_EQ((*res)[0].family, family);
      EXPECT_EQ((*res)[0].len, len);
      EXPECT_EQ((*res)[0].ToString(), text);
    });
    EXPECT_TRUE(called) << host << ": not answered before Resolve returned";
    EXPECT_EQ(on, std::this_thread::get_id());
  }
}

TEST(ResolverTest, LocalhostResolvesOnTheResolverThread) {
  Resolver r;
  std::promise<std::pair<Result, std::thread::id>> p;
  r.Resolve("localhost", 587, [&](Result res) {
    p.set_value({std::move(res), std::this_thread::get_id()});
  });
  auto [res, on] = p.get_future().get();
  EXPECT_NE(on, std::this_thread::get_id());
  ASSERT_TRUE(res.ok()) << res.status();
  ASSERT_FALSE(res->empty());
  EXPECT_LE(res->size(), 16u);
  for (const ResolvedAddress& a : *res) {
    EXPECT_TRUE(IsLoopback(a)) << a.ToString();
    EXPECT_EQ(PortOf(a), 587) << a.ToString();
    EXPECT_EQ(a.len, a.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  }
}

TEST(ResolverTest, InvalidNamesFailWithTheName) {
  Resolver r;
  const std::string long_label = std::string(64, 'x') + ".test";  // labels are <= 63 octets
  for (const std::string& name : {std::string("a..b"), long_label, std::string("bad name")}) {
    std::promise<Result> p;
    r.Resolve(name, 25, [&](Result res) { p.set_value(std::move(res)); });
    Result res = p.get_future().get();
    ASSERT_FALSE(res.ok()) << name;
    EXPECT_TRUE(absl::IsUnavailable(res.status())) << res.status();
    EXPECT_TRUE(absl::StartsWith(res.status().message(), "cannot resolve " + name + ": "))
        << res.status();
  }
}

TEST(ResolverTest, RequestsAreAnsweredInOrder) {
  Resolver r;
  std::mutex mu;
  std::vector<std::string> order;
  std::promise<void> last;
  const std::vector<std::string> names = {"localhost", "a..b", "localhost", "bad name",
                                          "localhost"};
  for (size_t i = 0; i < names.size(); ++i) {
    r.Resolve(names[i], 25, [&, i](Result res) {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(names[i] + (res.ok() ? ":ok" : ":error"));
      if (i + 1 == names.size()) last.set_value();
    });
  }
  last.get_future().get();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, (std::vector<std::string>{"localhost:ok", "a..b:error", "localhost:ok",
                                             "bad name:error", "localhost:ok"}));
}

TEST(ResolverTest, EveryCallbackRunsOnceWhenDestroyedWithQueuedRequests) {
  auto r = std::make_unique<Resolver>();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> blocked;
  // The first callback holds the resolver thread until released.
  r->Resolve("localhost", 25, [&](Result) {
    blocked.set_value();
    released.wait();
  });
  blocked.get_future().wait();
  constexpr int kQueued = 5;
  std::mutex mu;
  std::vector<int> calls(kQueued, 0);
  std::vector<absl::Status> statuses(kQueued);
  for (int i = 0; i < kQueued; ++i) {
    r->Resolve("localhost", 25, [&, i](Result res) {
      std::lock_guard<std::mutex> lock(mu);
      ++calls[static_cast<size_t>(i)];
      statuses[static_cast<size_t>(i)] = res.status();
    });
  }
  std::thread destroyer([&] { r.reset(); });  // blocks joining the held thread
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // usually: stop is set by now
  release.set_value();
  destroyer.join();
  for (int i = 0; i < kQueued; ++i) {
    EXPECT_EQ(calls[static_cast<size_t>(i)], 1) << i;
    const absl::Status& st = statuses[static_cast<size_t>(i)];
    EXPECT_TRUE(st.ok() || (absl::IsCancelled(st) && st.message() == "resolver stopped")) << st;
  }
}

}  // namespace
}  // namespace salvo
