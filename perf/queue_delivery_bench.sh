#!/bin/bash
# perf/queue_delivery_bench.sh — queue -> sink delivery throughput of `salvo serve` (issue 14).
#
#   perf/queue_delivery_bench.sh [BUILD_DIR] [--messages 20000] [--size 2048] [--connections 20]
#                                [--workers 2] [--batch 1000]
#
# Queues MESSAGES entries with `salvo inject` (BATCH recipients a call, into the store while no
# daemon runs), starts salvo-sink and `salvo serve` on them and waits until nothing is queued,
# deferred or in flight. Prints the sink's rate from its first to its last accepted message, the
# wall time from the daemon's start, and the daemon's CPU µs per message (utime+stime from /proc,
# which includes its start and its idle polling while the script waits).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:-build}
[ $# -gt 0 ] && shift
messages=20000 size=2048 connections=20 workers=2 batch=1000
parse_opts messages=messages size=size connections=connections workers=workers batch=batch -- "$@"
bench_setup qbench "$build" tools/salvo perf/sink/salvo-sink

sink_port=$(free_port)
http_port=$(free_port)
cat > "$tmp/salvo.toml" <<TOML
data_dir = "$tmp/data"
workers = $workers
[http]
listen = "127.0.0.1:$http_port"
[[account]]
name = "bench"
host = "127.0.0.1"
port = $sink_port
tls = "none"
max_connections = $connections
messages_per_connection = 100000
ehlo_name = "bench.example"
[[route]]
name = "tx"
purpose = "responder"
accounts = [ { name = "bench" } ]
TOML
# A 2 KB-ish message (the body padded to --size).
{
  printf 'From: Shop <shop@example.test>\r\nSubject: Your order\r\nMIME-Version: 1.0\r\n'
  printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
  /usr/bin/python3 -c "import sys; n=int(sys.argv[1]); l='Thanks for your order, this line pads the message body.\r\n'; sys.stdout.write((l*(n//len(l)+1))[:n])" "$size"
} > "$tmp/msg.eml"

t0=$(date +%s.%N)
for ((start = 0; start < messages; start += batch)); do
  args=()
  for ((i = start; i < start + batch && i < messages; i++)); do args+=(--to "r$i@example.test"); done
  "$salvo" inject -c "$tmp/salvo.toml" --from shop@example.test --file "$tmp/msg.eml" "${args[@]}" \
    > /dev/null 2> "$tmp/inject.err" || { cat "$tmp/inject.err" >&2; exit 1; }
done
t1=$(date +%s.%N)

"$sink" --listen "127.0.0.1:$sink_port" --threads 1 --quiet --stats-json "$tmp/sink.json" \
  2> "$tmp/sink.log" &
sink_pid=$!
wait_listen "$sink_port"
s0=$(date +%s.%N)
"$salvo" serve -c "$tmp/salvo.toml" > "$tmp/serve.log" 2>&1 &
serve_pid=$!
wait_listen "$http_port"
pending() {
  local n=0 s
  for s in queued in_flight deferred; do
    "$salvo" queue list -c "$tmp/salvo.toml" --state $s --limit 1 --json | grep -q '"id"' && n=1
  done
  echo $n
}
while [ "$(pending)" = 1 ]; do sleep 0.2; done
s1=$(date +%s.%N)
read -r utime stime < <(awk '{print $14, $15}' "/proc/$serve_pid/stat")
tck=$(getconf CLK_TCK)
kill "$serve_pid"; wait "$serve_pid" || true; serve_pid=
kill "$sink_pid"; wait "$sink_pid" || true; sink_pid=
delivered=$("$salvo" queue list -c "$tmp/salvo.toml" --state delivered --limit 10000 --json |
            grep -o '"id"' | wc -l)
/usr/bin/python3 - "$tmp/sink.json" "$messages" "$t0" "$t1" "$s0" "$s1" "$utime" "$stime" "$tck" \
  "$delivered" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
n = int(sys.argv[2]); t0, t1, s0, s1 = map(float, sys.argv[3:7])
cpu = (int(sys.argv[7]) + int(sys.argv[8])) / int(sys.argv[9])
print(f"queued {n} entries with salvo inject: {n / (t1 - t0):.0f} entries/s")
print(f"sink accepted {st['messages']} messages (delivered in the queue, first page: {sys.argv[10]})")
print(f"queue -> sink: {st.get('active_msgs_per_s', 0):.0f} msgs/s (sink, first to last accepted); "
      f"{n / (s1 - s0):.0f} msgs/s over {s1 - s0:.1f} s from the daemon's start")
print(f"salvo serve CPU: {cpu:.2f} s = {cpu * 1e6 / max(1, st['messages']):.0f} us/msg")
PY
