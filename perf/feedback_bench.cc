// Feedback service benchmarks (not tests; figures for the issue's closing note):
//   feedback_bench ingest [EVENTS] [BATCH] [THREADS]   webhook events/s through FeedbackService
//                                                      (parse + classify + store), in process
//   feedback_bench gen-batches DIR COUNT BATCH         SendGrid batch bodies for HTTP posting
//   feedback_bench click-token DATA_DIR SECRET_FILE    puts a link table for campaign "bench" and
//                                                      prints a click token (for wrk on /c/...)
// perf/feedback_bench.sh runs the HTTP variants (salvo serve + wrk / a Python poster).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/config/config.h"
#include "engine/base/clock.h"
#include "engine/links/token.h"
#include "store/link_store.h"
#include "store/store.h"
#include "tools/salvo/feedback_service.h"

namespace salvo {
namespace {

// One SendGrid batch: mostly delivered / open events, some bounces, drops and unsubscribes.
std::string Batch(uint64_t first, int n) {
  static const char* kEvents[] = {"delivered", "open", "click", "processed", "delivered",
                                  "bounce", "deferred", "open", "dropped", "unsubscribe"};
  std::string b = "[";
  for (int i = 0; i < n; ++i) {
    uint64_t id = first + i;
    const char* ev = kEvents[id % 10];
    if (i) b += ",";
    absl::StrAppend(&b, "{\"email\":\"user", id, "@example", id % 97, ".com\",\"timestamp\":1718262000,",
                    "\"event\":\"", ev, "\",\"sg_event_id\":\"bench-", id,
                    "\",\"sg_message_id\":\"m", id, ".recvd-1\",\"category\":\"weekly\"");
    if (std::string(ev) == "bounce")
      b += ",\"type\":\"bounce\",\"status\":\"5.1.1\",\"reason\":\"550 5.1.1 user unknown\"";
    if (std::string(ev) == "dropped") b += ",\"reason\":\"Bounced Address\",\"status\":\"5.0.0\"";
    b += "}";
  }
  b += "]";
  return b;
}

int Ingest(int argc, char** argv) {
  const uint64_t events = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 200000;
  const int batch = argc > 3 ? std::atoi(argv[3]) : 1000;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  std::string dir = absl::StrCat(std::filesystem::temp_directory_path().string(), "/feedback_bench.",
                                 getpid());
  Config config;
  config.data_dir = dir;
  config.http.max_body_bytes = 64 << 20;
  config.webhooks["sendgrid"].allow_unsigned = true;  // unsigned batches: ingestion is measured
  auto store = Store::Open({dir, true});
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  auto svc = FeedbackService::Create(config, store->get());
  if (!svc.ok()) return 1;
  const uint64_t nbatches = (events + batch - 1) / batch;
  std::vector<std::string> bodies;
  for (uint64_t i = 0; i < nbatches; ++i) bodies.push_back(Batch(i * batch, batch));
  size_t bytes = 0;
  for (auto& b : bodies) bytes += b.size();
  auto header = [](std::string_view n) -> std::string_view {
    return n == "Content-Type" ? "application/json" : "";
  };
  std::atomic<uint64_t> next{0}, failed{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      for (uint64_t i; (i = next.fetch_add(1)) < bodies.size();) {
        HttpRequest req{"POST", "/webhooks/sendgrid", header, bodies[i]};
        if ((*svc)->Handle(req).status != 200) failed.fetch_add(1);
      }
    });
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("webhook ingest (in process, SendGrid batches of %d, %d threads): %llu events in "
              "%.2f s = %.0f events/s (%.1f MB/s of JSON), failed batches %llu\n",
              batch, threads, (unsigned long long)(nbatches * batch), secs, nbatches * batch / secs,
              bytes / secs / 1e6, (unsigned long long)failed.load());
  // Redelivery of the same events: idempotency path.
  next = 0;
  t0 = std::chrono::steady_clock::now();
  ts.clear();
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      for (uint64_t i; (i = next.fetch_add(1)) < bodies.size();) {
        HttpRequest req{"POST", "/webhooks/sendgrid", header, bodies[i]};
        (*svc)->Handle(req);
      }
    });
  for (auto& t : ts) t.join();
  secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("webhook redelivery (all duplicates): %.0f events/s\n", nbatches * batch / secs);
  svc->reset();
  store->reset();
  std::filesystem::remove_all(dir);
  return 0;
}

int GenBatches(int argc, char** argv) {
  if (argc < 5) return 2;
  std::string dir = argv[2];
  int count = std::atoi(argv[3]), batch = std::atoi(argv[4]);
  std::filesystem::create_directories(dir);
  for (int i = 0; i < count; ++i) {
    std::ofstream out(absl::StrCat(dir, "/batch", i, ".json"));
    out << Batch(static_cast<uint64_t>(i) * batch, batch);
  }
  return 0;
}

int ClickToken(int argc, char** argv) {
  if (argc < 4) return 2;
  std::ifstream in(argv[3]);
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  {
    auto store = Store::Open({argv[2], true});
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
      return 1;
    }
    if (!LinkStore(store->get()).Put("bench", {"https://www.example.com/landing?utm=bench"}).ok())
      return 1;
  }
  TokenClaims d;
  d.purpose = TokenPurpose::kClick;
  d.campaign_id = "bench";
  d.recipient_id = RecipientId("reader@example.com");
  d.issued_at = NowUnixSeconds();
  std::printf("%s\n", TokenKeyRing(secret).Issue(d).c_str());
  return 0;
}

}  // namespace
}  // namespace salvo

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "ingest";
  if (mode == "ingest") return salvo::Ingest(argc, argv);
  if (mode == "gen-batches") return salvo::GenBatches(argc, argv);
  if (mode == "click-token") return salvo::ClickToken(argc, argv);
  std::fprintf(stderr, "usage: feedback_bench ingest|gen-batches|click-token ...\n");
  return 2;
}
