#!/usr/bin/env bash
# perf/send_rss.sh — peak RSS, msgs/s and CPU µs/msg of one `salvo send` against salvo-sink.
#   perf/send_rss.sh BUILD_DIR N [TAG]
# Imports N generated recipients once per N into $RSS_WORK/wN/base (default
# ${TMPDIR:-/tmp}/salvo-send-rss), opens that store once more (`salvo lists`) so that the send
# does not pay for replaying the import's WAL, then sends a copy of it: 20 KB HTML with 10
# tracked links, 20 connections, 2 workers (as perf/capacity/run.sh). Prints one line:
#   N=... tag=... rss_mb=... wall=...s msgs/s=... cpu_us/msg=... import_s=... load=...
# (import_s: the import's wall time when this N was imported, ? for a store made by an older run)
# and, from `salvo send --json` (stage_cpu_us_per_msg), where the CPU per message went:
#   stages_us/msg scan=... decide=... render=... sign=... smtp=... progress=... other=...
# Environment: SALVO_BIN (salvo binary to send with, e.g. an older build to compare),
# SINK_EXTRA (more salvo-sink options, e.g. "--fault-rcpt bench.test=451-4.3.0*1"),
# TOML_EXTRA (appended to salvo.toml, e.g. '\n[sending]\nretry_base = "3s"'),
# PERF_RECORD=FILE (the send runs under `perf record -g -o FILE`; see `perf report -i FILE`).
# Where the memory goes (1M recipients, this setup): ~45 MB base, the 64 MB RocksDB block cache
# (filled by the list scan) and the `progress` memtables (32 MB, a second one while flushing).
set -euo pipefail
[ $# -ge 2 ] || { sed -n "2,3p" "$0" | sed "s/^# //"; exit 2; }
BUILD=$(cd "$1" && pwd) N=$2 TAG=${3:-x}
SALVO=${SALVO_BIN:-$BUILD/tools/salvo}
SINK=$BUILD/perf/sink/salvo-sink GEN=$BUILD/perf/gen_recipients
# shellcheck source=perf/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=perf/capacity/bench_setup.sh
. "$(dirname "$0")/capacity/bench_setup.sh"
W=${RSS_WORK:-${TMPDIR:-/tmp}/salvo-send-rss}/w$N
if [ ! -d $W/base ]; then
  mkdir -p $W/base; cd $W/base
  make_html campaign.html 20480
  write_bench_toml "$PWD/salvo.toml" 25 20 2
  $GEN --count $N --domains bench.test > r.csv
  is=$(date +%s.%N)
  $SALVO import -c salvo.toml --list bench r.csv --json > import.out
  python3 -c "print(f'{$(date +%s.%N) - $is:.1f}')" > import_s
  rm r.csv; $SALVO lists -c salvo.toml >/dev/null
fi
R=$W/run-$TAG; rm -rf $R; cp -a $W/base $R; cd $R
PORT=$(free_port)
sed -i "s/^port = .*/port = $PORT/" salvo.toml
[ -n "${TOML_EXTRA:-}" ] && printf "%b\n" "$TOML_EXTRA" >> salvo.toml
write_bench_campaign campaign.toml "bench-$TAG"
$SINK --listen 127.0.0.1:$PORT ${SINK_EXTRA:-} --quiet --max-size 209715200 >/dev/null &
SP=$!
wait_listen $PORT || true
s=$(date +%s.%N)
# An older SALVO_BIN may predate preflight (and its --skip-preflight flag).
SKIP_PF=$($SALVO send --help 2>&1 | grep -q -- --skip-preflight && echo --skip-preflight || true)
PERF=()
[ -n "${PERF_RECORD:-}" ] && PERF=(perf record -q -g -o "$PERF_RECORD" --)
"${PERF[@]}" /usr/bin/time -v $SALVO send $SKIP_PF -c salvo.toml --campaign campaign.toml \
  --workers 2 --json > send.out 2> send.err || { tail send.err; kill $SP; exit 1; }
e=$(date +%s.%N)
kill $SP; wait $SP 2>/dev/null || true
rss=$(grep 'Maximum resident' send.err | awk '{print $NF}')
u=$(grep 'User time' send.err | awk '{print $NF}')
sy=$(grep 'System time' send.err | awk '{print $NF}')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
python3 -c "
import json
n=$N; el=$e-$s; cpu=$u+$sy
print(f'N={n} tag=$TAG rss_mb={$rss/1024:.1f} wall={el:.1f}s msgs/s={n/el:.0f}',
      f'cpu_us/msg={cpu*1e6/n:.1f} import_s=$(cat import_s 2>/dev/null || echo ?) load=$LOAD')
try:
    st = json.loads(open('send.out').read().strip().splitlines()[-1]).get('stage_cpu_us_per_msg')
except Exception:
    st = None
if st:
    print('stages_us/msg', ' '.join(f'{k}={st[k]:.2f}' for k in
          ('scan', 'decide', 'render', 'sign', 'smtp', 'progress', 'other', 'total')))"
rm -rf $R/data
