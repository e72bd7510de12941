// The render board's per-message step (see render_board.h).
#include "shard/runner/render_board.h"

#include "engine/metrics/salvo_metrics.h"
#include "shard/ring_worker.h"

namespace salvo {

uint64_t RenderBoard::RenderOne(Job* job, size_t i) {
  static const metrics::Histogram render = metrics::Metrics().render_seconds->WithLabels({});
  static const metrics::Histogram sign[2] = {
      metrics::Metrics().dkim_sign_seconds->WithLabels({"rsa-sha256"}),
      metrics::Metrics().dkim_sign_seconds->WithLabels({"ed25519-sha256"})};
  const int64_t t0 = MonoNowNs();
  job->status[i] = job->compiled->Render(*job->in[i], job->out[i]);
  render.Observe(static_cast<double>(MonoNowNs() - t0) / 1e9);
  uint64_t sign_ns = 0;
  for (int a = 0; a < 2; ++a)
    if (job->out[i]->dkim_sign_ns[a] > 0) {
      sign[a].Observe(static_cast<double>(job->out[i]->dkim_sign_ns[a]) / 1e9);
      sign_ns += static_cast<uint64_t>(job->out[i]->dkim_sign_ns[a]);
    }
  return sign_ns;
}

}  // namespace salvo
