#!/bin/bash
# Feedback service benchmarks (figures, not tests):
#   1. webhook events ingested per second, in process (perf/feedback_bench ingest)
#   2. webhook events per second over HTTP: batched SendGrid posts to a running `salvo serve`
#      (keep-alive connections from a Python poster)
#   3. click redirects per second with wrk on loopback (GET /c/{token} -> 302), with p99 latency
# Usage: perf/feedback_bench.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
# shellcheck source=perf/lib.sh
source "$root/perf/lib.sh"
bench_setup feedback-bench "$build" tools/salvo perf/feedback_bench
events="${EVENTS:-200000}"
batch="${BATCH:-1000}"
duration="${DURATION:-10}"

echo "== 1. in process"
"$bench" ingest "$events" "$batch" 2

echo "== 2. HTTP: salvo serve + batched SendGrid posts"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
head -c 32 /dev/urandom | base64 | tr -d '\n' > "$work/tracking.key"
cat > "$work/salvo.toml" <<CONF
data_dir = "$work/data"
[http]
listen = "127.0.0.1:$port"
threads = 2
max_body_bytes = 16777216
[tracking]
base_url = "http://127.0.0.1:$port"
secret_file = "tracking.key"
[webhooks.sendgrid]
allow_unsigned = true   # the generated batches are unsigned: this measures ingestion
CONF
token=$("$bench" click-token "$work/data" "$work/tracking.key")
"$bench" gen-batches "$work/batches" $((events / batch)) "$batch"
"$salvo" serve -c "$work/salvo.toml" > "$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
/usr/bin/python3 - "$port" "$work/batches" "$batch" <<'PY'
import glob, http.client, sys, threading, time
port, d, batch = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
bodies = [open(f, "rb").read() for f in sorted(glob.glob(d + "/*.json"))]
lock = threading.Lock(); idx = [0]; bad = [0]
def worker():
    c = http.client.HTTPConnection("127.0.0.1", port)
    while True:
        with lock:
            i = idx[0]; idx[0] += 1
        if i >= len(bodies): return
        c.request("POST", "/webhooks/sendgrid", bodies[i], {"Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        if r.status != 200:
            bad[0] += 1
t0 = time.time()
ts = [threading.Thread(target=worker) for _ in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
dt = time.time() - t0
n = len(bodies) * batch
print(f"webhook ingest over HTTP (batches of {batch}, 4 keep-alive connections): {n} events in {dt:.2f} s = {n/dt:.0f} events/s, failed posts {bad[0]}")
PY

echo "== 3. click redirects with wrk (${duration}s, 2 threads, 64 connections)"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/c/$token")
echo "GET /c/{token} -> $code"
wrk -t2 -c64 -d"${duration}s" --latency "http://127.0.0.1:$port/c/$token" | sed -n '1,20p'
