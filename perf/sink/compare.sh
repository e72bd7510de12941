#!/usr/bin/env bash
# perf/sink/compare.sh — Postfix smtp-sink vs salvo-sink under the same Postfix smtp-source load.
#   perf/sink/compare.sh [BUILD_DIR] [--messages 20000] [--sessions 20] [--size 20480] [--threads N]
# Prints msgs/s for both sinks, the CPU seconds each sink used, and smtp-source's CPU µs/msg.
# Loopback only; picks free ports; leaves nothing running.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
[ $# -gt 0 ] && [[ "$1" != --* ]] && shift
MESSAGES=20000 SESSIONS=20 SIZE=20480 THREADS=$(nproc)
# shellcheck source=perf/lib.sh
. "$ROOT/perf/lib.sh"
parse_opts messages=MESSAGES sessions=SESSIONS size=SIZE threads=THREADS -- "$@"
SINK=$BUILD/perf/sink/salvo-sink
SOURCE=/usr/sbin/smtp-source
PSINK=/usr/sbin/smtp-sink
for b in "$SINK" "$SOURCE" "$PSINK"; do [ -x "$b" ] || { echo "missing $b (tools/dev setup / build)" >&2; exit 1; }; done
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
TCK=$(getconf CLK_TCK)

cpu_s() { awk -v t="$TCK" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat"; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# run_source PORT -> "wall_s source_cpu_s"
run_source() {
  /usr/bin/time -f "%e %U %S" -o "$TMP/time" "$SOURCE" -d -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" \
    -f sender@salvo.test -t rcpt@salvo.test "127.0.0.1:$1" >/dev/null
  awk '{printf "%s %.2f\n", $1, $2+$3}' "$TMP/time"
}

report() {  # name wall source_cpu sink_cpu
  awk -v n="$1" -v w="$2" -v sc="$3" -v k="$4" -v m="$MESSAGES" \
    'BEGIN{printf "%-22s %10.0f %14.2f %16.1f %14.1f\n", n, m/w, k, k*1e6/m, sc*1e6/m}'
}

echo "smtp-source -d -s $SESSIONS -m $MESSAGES -l $SIZE on $(nproc) cores"
printf "%-22s %10s %14s %16s %14s\n" sink msgs/s sink_cpu_s sink_cpu_us/msg source_us/msg

# Postfix smtp-sink (single process, event loop). A warm-up connection is not needed.
P=$(free_port)
USER_OPT=(); [ "$(id -u)" = 0 ] && USER_OPT=(-u nobody)
"$PSINK" "${USER_OPT[@]}" "127.0.0.1:$P" 1000 >/dev/null 2>&1 & PIDS+=($!); PP=$!
wait_port "$P"
read -r W SC < <(run_source "$P")
K=$(cpu_s "$PP")
kill "$PP"; wait "$PP" 2>/dev/null || true
report "postfix smtp-sink" "$W" "$SC" "$K"

# salvo-sink with 1 thread and with THREADS threads.
for T in 1 "$THREADS"; do
  P=$(free_port)
  "$SINK" --listen "127.0.0.1:$P" --threads "$T" --quiet --stats-json "$TMP/stats.json" >/dev/null & PIDS+=($!); SP=$!
  wait_port "$P"
  read -r W SC < <(run_source "$P")
  K=$(cpu_s "$SP")
  kill "$SP"; wait "$SP" || true
  report "salvo-sink --threads $T" "$W" "$SC" "$K"
  [ "$T" = 1 ] && [ "$THREADS" = 1 ] && break
done
/usr/bin/python3 - "$TMP/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
l = s["latency_us"].get("END_OF_DATA", {})
print(f"salvo-sink end-of-data reply latency (last run): p50 {l.get('p50', 0)} us, p99 {l.get('p99', 0)} us; "
      f"messages {s['messages']}, connections {s['connections']}")
PY
