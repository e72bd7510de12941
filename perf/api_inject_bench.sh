#!/bin/bash
# perf/api_inject_bench.sh — HTTP inject API (POST /api/v1/messages) of `salvo serve`: messages
# accepted durably per second and accept latency (issue 14).
#
#   perf/api_inject_bench.sh [BUILD_DIR] [--seconds 10] [--connections 64] [--threads 2]
#
# Starts salvo-sink and `salvo serve` (its delivery loop sends to the sink while the benchmark
# runs, as in production), creates an api key, and runs wrk with a Lua script that POSTs a raw
# 1 KB message, first with 1 recipient a request, then with 100 (distinct addresses per request).
# A 202 means the entries are in the fsynced WAL. Prints requests/s, messages/s, p50/p99 latency
# (wrk --latency) and the count of non-202 replies for each case.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:-build}
[ $# -gt 0 ] && shift
seconds=10 connections=64 threads=2
parse_opts seconds=seconds connections=connections threads=threads -- "$@"
bench_setup apibench "$build" tools/salvo perf/sink/salvo-sink

sink_port=$(free_port)
http_port=$(free_port)
cat > "$tmp/salvo.toml" <<TOML
data_dir = "$tmp/data"
workers = 1
[http]
listen = "127.0.0.1:$http_port"
threads = 4
max_body_bytes = 4194304
[[account]]
name = "bench"
host = "127.0.0.1"
port = $sink_port
tls = "none"
max_connections = 20
messages_per_connection = 100000
ehlo_name = "bench.example"
[[route]]
name = "tx"
purpose = "responder"
accounts = [ { name = "bench" } ]
TOML
"$sink" --listen "127.0.0.1:$sink_port" --threads 1 --quiet > "$tmp/sink.log" 2>&1 &
sink_pid=$!
key=$("$salvo" api-key create -c "$tmp/salvo.toml" --name bench --scopes messages --route tx 2>/dev/null)
"$salvo" serve -c "$tmp/salvo.toml" > "$tmp/serve.log" 2>&1 &
serve_pid=$!
wait_listen "$http_port" || { cat "$tmp/serve.log"; exit 1; }

cat > "$tmp/inject.lua" <<'LUA'
-- Each request: a raw ~1 KB message to RCPTS distinct addresses (a per-thread counter).
local rcpts = tonumber(os.getenv("RCPTS"))
local key = os.getenv("KEY")
local pad = string.rep("Thanks for your order, this line pads the message body.\\r\\n", 16)
local n = 0
local thread_id = 0
function setup(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
function init(args) n = 0 end
request = function()
  n = n + 1
  local r = {}
  for i = 1, rcpts do r[i] = string.format('{"email":"u%d.%d.%d@bench.test"}', tid, n, i) end
  local body = '{"envelope_sender":"bounces@shop.test","content":"From: shop@shop.test\\r\\n' ..
      'Subject: Order\\r\\n\\r\\n' .. pad .. '","recipients":[' .. table.concat(r, ",") .. ']}'
  return wrk.format("POST", "/api/v1/messages",
      {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.2f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
      summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
      latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect +
      summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

echo "salvo serve inject API, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for rcpts in 1 100; do
  out=$(RCPTS=$rcpts KEY=$key wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency \
        -s "$tmp/inject.lua" "http://127.0.0.1:$http_port" 2>&1)
  line=$(grep '^RESULT' <<<"$out" | tail -1)
  [ -n "$line" ] || { echo "$out"; exit 1; }
  req=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  secs=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$line")
  p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")
  p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
  errs=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
  /usr/bin/python3 -c "import sys; r,s,n=int(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]); print(f'{n:>3} recipient(s)/request: {r/s:8.0f} requests/s  {r*n/s:8.0f} messages/s  p50 {sys.argv[4]} ms  p99 {sys.argv[5]} ms  non-2xx/errors {sys.argv[6]}')" \
    "$req" "$secs" "$rcpts" "$p50" "$p99" "$errs"
done
