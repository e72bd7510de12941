#!/bin/bash
# perf/lead_latency_bench.sh — lead → responder latency of `salvo serve` (issue 14): the time from
# `POST /api/v1/lists/{list}/leads` to the confirmation message's end of data at salvo-sink.
#
#   perf/lead_latency_bench.sh [BUILD_DIR] [--rate 1000] [--seconds 10] [--connections 16]
#
# A fresh data_dir; salvo-sink on a free loopback port with --arrivals (per recipient: the
# wall-clock time of its end of data, written at exit); `salvo serve` with one confirmation
# [[responder]] (delay 0s) on a responder route to that sink and an api key of scope `leads`;
# perf/lead_latency_load.py POSTs one new lead per request at a constant rate (open loop over
# keep-alive HTTP/1.1 connections; a request never waits for another's reply) and records each
# send time (CLOCK_REALTIME). Once the queue is empty the sink is stopped and the two files are
# joined. Prints the load average, the load generator's JSON line (achieved rate, POST reply
# p50/p99) and the latency JSON line (p50/p90/p99/max in ms). Target: p50 <= 50 ms, p99 <= 250 ms
# at 1,000 leads/s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=perf/lib.sh
. "$here/lib.sh"
build=build
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then build=$1; shift; fi
rate=1000 seconds=10 connections=16
parse_opts rate=rate seconds=seconds connections=connections -- "$@"
bench_setup leadlat "$build" tools/salvo perf/sink/salvo-sink

sink_port=$(free_port)
http_port=$(free_port)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tmp/tracking.key"
cat > "$tmp/welcome.html" <<'HTML'
<html><body><p>Hi {{first_name|there}}, thanks for your interest.</p>
<p><a href="https://acme.example/start">Get started</a></p></body></html>
HTML
cat > "$tmp/welcome.toml" <<TOML
from = "Acme <hello@acme.example>"
subject = "Welcome {{first_name|there}}"
html_file = "$tmp/welcome.html"
TOML
cat > "$tmp/salvo.toml" <<TOML
data_dir = "$tmp/data"
workers = 1
[http]
listen = "127.0.0.1:$http_port"
max_connections_per_ip = 1024
[tracking]
base_url = "https://click.example.test"
secret_file = "$tmp/tracking.key"
[[account]]
name = "bench"
host = "127.0.0.1"
port = $sink_port
tls = "none"
max_connections = 8
messages_per_connection = 1000000
ehlo_name = "bench.example"
[[route]]
name = "tx"
purpose = "responder"
accounts = [ { name = "bench" } ]
[[responder]]
name = "welcome"
list = "leads"
template = "$tmp/welcome.toml"
route = "tx"
kind = "confirmation"
delay = "0s"
TOML
"$sink" --listen "127.0.0.1:$sink_port" --threads 1 --quiet --arrivals "$tmp/arrivals.tsv" \
  > "$tmp/sink.log" 2>&1 &
sink_pid=$!
"$salvo" api-key create -c "$tmp/salvo.toml" --name bench --scopes leads > "$tmp/key" 2>/dev/null
"$salvo" serve -c "$tmp/salvo.toml" > "$tmp/serve.log" 2>&1 &
serve_pid=$!
wait_listen "$http_port" || { cat "$tmp/serve.log"; exit 1; }
wait_listen "$sink_port" || { cat "$tmp/sink.log"; exit 1; }

echo "lead -> responder latency, $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 "$here/lead_latency_load.py" load --port "$http_port" --key-file "$tmp/key" \
  --list leads --rate "$rate" --seconds "$seconds" --connections "$connections" \
  --sends "$tmp/sends.tsv"
# Until nothing is queued or in flight (at most 60 s), then the sink writes its arrivals.
for _ in $(seq 600); do
  left=$("$salvo" queue list -c "$tmp/salvo.toml" --json --limit 1 --state queued 2>/dev/null |
         grep -c '"id"' || true)
  flying=$("$salvo" queue list -c "$tmp/salvo.toml" --json --limit 1 --state in_flight 2>/dev/null |
           grep -c '"id"' || true)
  [ "$left" = 0 ] && [ "$flying" = 0 ] && break
  sleep 0.1
done
kill -TERM "$sink_pid"; wait "$sink_pid" || true; sink_pid=""
/usr/bin/python3 "$here/lead_latency_load.py" join "$tmp/sends.tsv" "$tmp/arrivals.tsv"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
