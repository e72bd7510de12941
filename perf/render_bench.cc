// Render cost per personalized message (engine/mime): 2 / 20 / 100 KB messages with 10 tracked
// links, open pixel and one-click unsubscribe, without DKIM, with rsa-2048 and with ed25519; and
// the bare RSA-2048 / Ed25519 sign of a digest in the same run, for comparison.
// Run: build-*/perf/render_bench   (figures in README "Campaigns, rendering and DKIM").
// BM_DkimOverheadPaired is the DKIM target's figure (render+sign vs bare sign, paired per
// iteration, so machine load hits both alike).
// The DKIM cost of a message is BM_Render/KB:N/dkim:1 minus BM_BareSign/alg:1 of the same run;
// on a shared machine add --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
// so both see the same load.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/base/thread_cpu.h"
#include "engine/dkim/dkim_key.h"
#include "engine/mime/compiled_campaign.h"

namespace salvo {
namespace {

const char* kWords[] = {"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing",
                        "elit", "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore"};

// HTML of about `bytes` with 10 links spread evenly and a few placeholders. The text part is
// generated from it, so the message is a bit under 2x the HTML; the HTML is sized so the whole
// message lands near the target.
std::string MakeHtml(size_t target_message_bytes) {
  size_t html_bytes = target_message_bytes * 55 / 100;
  std::string h = "<html><body><p>Hi {{first_name|there}}, picks for {{city}}.</p>\n";
  size_t per_link = html_bytes / 10;
  unsigned w = 0;
  for (int link = 0; link < 10; ++link) {
    h += "<p>";
    size_t start = h.size();
    while (h.size() - start < per_link) {
      h += kWords[w++ % 15];
      h += (w % 12 == 0) ? "\n" : " ";
    }
    h += "<a href=\"https://shop.example.com/p/" + std::to_string(link) +
         "?utm_source=nov\">Offer " + std::to_string(link) + "</a></p>\n";
  }
  h += "<p><a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p></body></html>\n";
  return h;
}

struct Env {
  std::string dir;
  std::string rsa_pem, ed_pem;
  Env() {
    char t[] = "/tmp/salvo-render-bench-XXXXXX";
    dir = mkdtemp(t);
    rsa_pem = dir + "/rsa.pem";
    ed_pem = dir + "/ed.pem";
    std::ofstream(rsa_pem) << *(*DkimKey::Generate(DkimAlgorithm::kRsaSha256, 2048))->PrivatePem();
    std::ofstream(ed_pem) << *(*DkimKey::Generate(DkimAlgorithm::kEd25519Sha256))->PrivatePem();
  }
  ~Env() { std::filesystem::remove_all(dir); }
};

Env& TheEnv() {
  static Env env;
  return env;
}

std::shared_ptr<const CompiledCampaign> Compile(size_t kb, int dkim) {
  Config config;
  config.path = "bench.toml";
  TrackingConfig t;
  t.base_url = "https://click.example.com";
  t.secret = "bench-secret-0123456789";
  t.unsubscribe_mailto = "unsubscribe@example.com";
  config.tracking = t;
  if (dkim == 1) config.dkim.push_back(DkimConfig{"example.com", "rsa", TheEnv().rsa_pem});
  if (dkim == 2) config.dkim.push_back(DkimConfig{"example.com", "ed", TheEnv().ed_pem});
  CampaignConfig c;
  c.path = "bench-campaign.toml";
  c.id = "nov-promo";
  c.list = "l";
  c.from = "Acme News <news@example.com>";
  c.reply_to = "support@example.com";
  c.subject = "Hi {{first_name|there}}, your November picks";
  c.headers = {{"X-Campaign", "nov-promo"}};
  c.track_clicks = true;
  c.track_opens = true;
  auto r = CompileCampaignFromSources(c, config, MakeHtml(kb * 1024), std::nullopt);
  if (!r.ok()) {
    std::fprintf(stderr, "compile: %s\n", std::string(r.status().message()).c_str());
    std::abort();
  }
  return *r;
}

void BM_Render(benchmark::State& state) {
  const size_t kb = static_cast<size_t>(state.range(0));
  auto c = Compile(kb, static_cast<int>(state.range(1)));
  // Recipients as the runner gets them from the store (built outside the timed loop).
  std::vector<Recipient> rs(1000);
  for (size_t k = 0; k < rs.size(); ++k) {
    rs[k].address = "user" + std::to_string(k) + "@example.org";
    rs[k].key = rs[k].address;
    rs[k].fields = {{"city", "Aarhus"}, {"first_name", k % 2 ? "Anna" : "J\xC3\xB6rg"}};
  }
  RenderedMessage m;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    if (!c->Render(rs[i % rs.size()], &m).ok()) std::abort();
    benchmark::DoNotOptimize(m.segments.data());
    bytes += m.size;
    ++i;
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["msg_bytes"] = static_cast<double>(m.size);
  state.counters["segments"] = static_cast<double>(m.segments.size());
  state.SetLabel(state.range(1) == 0 ? "no DKIM" : state.range(1) == 1 ? "rsa-2048" : "ed25519");
}
BENCHMARK(BM_Render)
    ->ArgNames({"KB", "dkim"})
    ->ArgsProduct({{2, 20, 100}, {0, 1, 2}})
    ->Unit(benchmark::kNanosecond);

void BM_BareSign(benchmark::State& state) {
  auto key = DkimKey::LoadFile(state.range(0) == 1 ? TheEnv().rsa_pem : TheEnv().ed_pem);
  if (!key.ok()) std::abort();
  unsigned char digest[32] = {1, 2, 3};
  std::string sig;
  for (auto _ : state) {
    if (!(*key)->SignDigest(digest, &sig).ok()) std::abort();
    benchmark::DoNotOptimize(sig.data());
    digest[0]++;
  }
  state.SetLabel(state.range(0) == 1 ? "rsa-2048 sign of a digest" : "ed25519 sign of a digest");
}
BENCHMARK(BM_BareSign)->ArgName("alg")->Arg(1)->Arg(2)->Unit(benchmark::kNanosecond);

// The DKIM target ("render with rsa-2048 within 10 % of the bare RSA sign in the same run") as one
// figure that load cannot skew: each iteration renders + signs one 20 KB message and then does one
// bare sign with the same key, each timed by the thread's CPU clock, so both halves of every pair
// see the same machine. Reports the medians and overhead_pct = median(render+sign) /
// median(bare sign) - 1 (and the overhead in µs).
void BM_DkimOverheadPaired(benchmark::State& state) {
  const int alg = static_cast<int>(state.range(1));
  auto c = Compile(static_cast<size_t>(state.range(0)), alg);
  auto key = DkimKey::LoadFile(alg == 1 ? TheEnv().rsa_pem : TheEnv().ed_pem);
  if (!key.ok()) std::abort();
  Recipient r;
  r.address = "user1@example.org";
  r.key = r.address;
  r.fields = {{"city", "Aarhus"}, {"first_name", "Anna"}};
  RenderedMessage m;
  unsigned char digest[32] = {1, 2, 3};
  std::string sig;
  std::vector<int64_t> rendered, bare;
  for (auto _ : state) {
    const int64_t t0 = static_cast<int64_t>(ThreadCpuNs());
    if (!c->Render(r, &m).ok()) std::abort();
    const int64_t t1 = static_cast<int64_t>(ThreadCpuNs());
    if (!(*key)->SignDigest(digest, &sig).ok()) std::abort();
    const int64_t t2 = static_cast<int64_t>(ThreadCpuNs());
    digest[0]++;
    rendered.push_back(t1 - t0);
    bare.push_back(t2 - t1);
  }
  auto median = [](std::vector<int64_t> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return static_cast<double>(v[v.size() / 2]);
  };
  const double mr = median(rendered), mb = median(bare);
  state.counters["render_sign_us"] = mr / 1000;
  state.counters["bare_sign_us"] = mb / 1000;
  state.counters["overhead_us"] = (mr - mb) / 1000;
  state.counters["overhead_pct"] = 100.0 * (mr / mb - 1);
  state.SetLabel(alg == 1 ? "rsa-2048, paired" : "ed25519, paired");
}
BENCHMARK(BM_DkimOverheadPaired)
    ->ArgNames({"KB", "dkim"})
    ->Args({20, 1})
    ->Args({20, 2})
    ->Iterations(2000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace salvo
