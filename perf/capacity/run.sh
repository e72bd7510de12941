#!/usr/bin/env bash
# perf/capacity/run.sh — salvo's capacity report (what `tools/dev bench` runs).
#   perf/capacity/run.sh BUILD_DIR [--recipients 100000] [--size 20k] [--connections 20] [--workers 2]
#       [--dkim none|rsa|ed25519] [--sink salvo|postfix] [--sweep size|connections|recipients|workers]
#       [--faults SPEC] [--out DIR]
# Runs, one after the other on this machine and against the same kind of sink (a fresh instance
# each time): (1) salvo sending a personalized campaign (HTML with 10 tracked links) from a real
# store, (2) Postfix smtp-source with pre-made messages of the same size over the same number of
# sessions, (3) nodemailer's pooled transport sending the same personalized content. Prints a
# table (msgs/s, sender CPU µs/msg, peak RSS, transaction latency p50/p99) with the ratios, and
# writes perf/out/report.json and a throughput-over-time plot (perf/out/throughput.svg).
# --faults SPEC (e.g. 421-4.7.28:2%,450-4.2.1:1%,550-5.1.1:1%,drop-in-data:0.5%,tarpit:0.1%) is
# salvo-sink's fault mix: salvo retries its deferrals (retry_base 1s, retry_max 4s, so that the
# time to finish measures the sender, not a 60 s backoff) and every recipient not refused with a
# 5xx must reach the sink exactly once (checked per address with salvo-sink --record); nodemailer
# does not retry and is reported with the count the sink accepted; smtp-source exits at its first
# refused reply, so what it sent under faults is recorded and its figures come from a fault-free
# sink. With --dkim, `openssl speed -multi $(nproc)` runs
# in the same run and the report carries salvo_vs_openssl_sign_rate.
# A sender that cannot run (e.g. `salvo send` not built yet, npm packages missing) is reported as
# skipped with the reason; the others still run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
BUILD=$(cd "$1" && pwd); shift
RECIPIENTS=100000 SIZE=20k CONNECTIONS=20 WORKERS=2 DKIM=none SINK_KIND=salvo SWEEP="" OUT=$ROOT/perf/out
FAULTS=
# shellcheck source=perf/lib.sh
. "$ROOT/perf/lib.sh"
parse_opts recipients=RECIPIENTS size=SIZE connections=CONNECTIONS workers=WORKERS dkim=DKIM \
  sink=SINK_KIND sweep=SWEEP faults=FAULTS out=OUT -- "$@"
case "$DKIM" in none|rsa|ed25519) ;; *) echo "--dkim must be none, rsa or ed25519" >&2; exit 2 ;; esac
case "$SINK_KIND" in salvo|postfix) ;; *) echo "--sink must be salvo or postfix" >&2; exit 2 ;; esac
case "$SWEEP" in ""|size|connections|recipients|workers) ;; *) echo "--sweep: size|connections|recipients|workers" >&2; exit 2 ;; esac
if [ -n "$FAULTS" ] && [ "$SINK_KIND" != salvo ]; then echo "--faults needs --sink salvo (salvo-sink injects them)" >&2; exit 2; fi

SALVO=$BUILD/tools/salvo
SINK_BIN=$BUILD/perf/sink/salvo-sink
GEN=$BUILD/perf/gen_recipients
PY=/usr/bin/python3
# shellcheck source=perf/capacity/bench_setup.sh
. "$(dirname "$0")/bench_setup.sh"
if [ "$SINK_KIND" = salvo ] && [ ! -x "$SINK_BIN" ]; then
  echo "run.sh: $SINK_BIN is not built (tools/dev build, or ninja -C $BUILD perf/sink/salvo-sink)" >&2; exit 1
fi
for b in /usr/sbin/smtp-source /usr/sbin/smtp-sink $PY; do
  [ -x "$b" ] || { echo "run.sh: $b is missing (tools/dev setup)" >&2; exit 1; }
done
mkdir -p "$OUT"
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

bytes_of() {  # 20k -> 20480, 2K -> 2048, 1m -> 1048576, 500 -> 500
  local s=${1,,}
  case "$s" in *k) echo $(( ${s%k} * 1024 )) ;; *m) echo $(( ${s%m} * 1048576 )) ;; *) echo "$s" ;; esac
}

# --- sink ------------------------------------------------------------------------------------
# start_sink NAME -> sets SINK_PORT, SINK_PID; salvo-sink writes $WORK/NAME.{stats.json,timeline.tsv}
start_sink() {
  SINK_PORT=$(free_port)
  if [ "$SINK_KIND" = salvo ]; then
    local faults=(); [ -n "$FAULTS" ] && faults=(--faults "$FAULTS")
    # Under faults, salvo's deliveries are checked one by one (exactly once, none lost).
    [ -n "$FAULTS" ] && [ "$1" = salvo ] && faults+=(--record "$WORK/$1.record.tsv")
    "$SINK_BIN" --listen "127.0.0.1:$SINK_PORT" --quiet --stats-json "$WORK/$1.stats.json" \
      --timeline "$WORK/$1.timeline.tsv" --max-size 209715200 "${faults[@]}" >/dev/null &
  else
    local user=(); [ "$(id -u)" = 0 ] && user=(-u nobody)
    /usr/sbin/smtp-sink "${user[@]}" "127.0.0.1:$SINK_PORT" 1000 >/dev/null 2>&1 &
  fi
  SINK_PID=$!
  PIDS+=("$SINK_PID")
  wait_listen "$SINK_PORT" || { echo "sink did not start" >&2; exit 1; }
}
stop_sink() {
  kill -TERM "$SINK_PID" 2>/dev/null || true
  wait "$SINK_PID" 2>/dev/null || true
}
sink_cpu_s() { awk -v t="$(getconf CLK_TCK)" '{printf "%.3f", ($14+$15)/t}' "/proc/$SINK_PID/stat"; }

# --- content ---------------------------------------------------------------------------------
gen_recipients() {  # gen_recipients N FILE
  if [ -x "$GEN" ]; then
    "$GEN" --count "$1" --domains bench.test > "$2"
  else
    $PY -c "
import sys
print('email,first_name,opted_in_at,consent_source')
for i in range(int(sys.argv[1])): print(f'r{i}@bench.test,Name{i},2024-01-01T00:00:00Z,bench')" "$1" > "$2"
  fi
}

make_dkim_key() {  # make_dkim_key FILE
  case "$DKIM" in
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$1" 2>/dev/null ;;
  esac
}

# time_run OUTFILE cmd... : writes "wall user sys maxrss_kb" of cmd to OUTFILE.time (measure.py)
time_run() {
  local out=$1; shift
  $PY "$ROOT/perf/capacity/measure.py" "$out.time" "$@" > "$out.stdout" 2> "$out.stderr"
}

# --- senders ---------------------------------------------------------------------------------
# Each writes $WORK/case/NAME.json: {"status":"ok"|"skipped","reason":..,"messages":..,"wall_s":..,
#   "cpu_s":..,"peak_rss_kb":..,"latency_p50_ms":..,"latency_p99_ms":..,"sink_*":..}
result_json() {  # NAME STATUS REASON MESSAGES [p50 p99 time_to_finish_s transactions]
  local name=$1 status=$2 reason=$3 msgs=$4 p50=${5:-null} p99=${6:-null} ttf=${7:-null} tx=${8:-null} dir=$CASE
  FAULTS=$FAULTS $PY - "$dir" "$name" "$status" "$reason" "$msgs" "$p50" "$p99" "$SINK_KIND" "${SINK_CPU:-0}" "$ttf" "$tx" <<'PY'
import json, os, sys
d, name, status, reason, msgs, p50, p99, sink_kind, sink_cpu, ttf, tx = sys.argv[1:]
r = {"status": status, "reason": reason or None,
     "load_avg": " ".join(open("/proc/loadavg").read().split()[:3])}  # when this sender ended
t = os.path.join(d, name + ".time")
if status == "ok" and os.path.exists(t):
    f = open(t).read().split()
    wall, user, sys_, rss = (float(x) for x in f[-4:])
    msgs = int(msgs)
    r.update(messages=msgs, wall_s=wall, cpu_s=user + sys_, peak_rss_mb=rss / 1024.0,
             cpu_us_per_msg=(user + sys_) * 1e6 / msgs if msgs else None,
             latency_p50_ms=None if p50 == "null" else float(p50),
             latency_p99_ms=None if p99 == "null" else float(p99),
             transactions=None if tx == "null" else int(tx),
             time_to_finish_s=wall if ttf == "null" else float(ttf),
             sink_cpu_s=float(sink_cpu))
    c = os.path.join(d, name + ".csw")  # context switches (measure.py)
    if os.path.exists(c):
        vol, invol = (int(x) for x in open(c).read().split())
        r.update(context_switches=vol + invol, context_switches_per_msg=(vol + invol) / msgs if msgs else None)
    x = os.path.join(d, name + ".extra.json")  # sender-specific figures (salvo's delivery check)
    if os.path.exists(x):
        r.update(json.load(open(x)))
    s = os.path.join(d, name + ".stats.json")
    if sink_kind == "salvo" and os.path.exists(s):
        st = json.load(open(s))
        r["sink_messages"] = st["messages"]
        r["accepted"] = st["messages"]  # what the sink took (smtp-source cannot retry the rest)
        r["msgs_per_s"] = st["active_msgs_per_s"] if st["messages"] > 1 else msgs / wall
        lat = st["latency_us"].get("END_OF_DATA") or st["latency_us"].get("BDAT") or {}
        r["sink_end_of_data_p99_us"] = lat.get("p99")
        r["timeline"] = os.path.join(d, name + ".timeline.tsv")
        if os.environ.get("FAULTS") and name == "smtp_source" and r.get("faults_applied", True):
            # It cannot retry: its messages are those the sink accepted (of `attempted`), so
            # that CPU per message is per delivered message for every sender.
            r.update(attempted=msgs, messages=st["messages"],
                     cpu_us_per_msg=(user + sys_) * 1e6 / st["messages"] if st["messages"] else None)
    else:
        r["msgs_per_s"] = msgs / wall if wall > 0 else None
json.dump(r, open(os.path.join(d, name + ".json"), "w"))
PY
}

run_smtp_source() {
  local n=$1 bytes=$2
  if [ -n "$FAULTS" ]; then
    # Postfix smtp-source exits at its first refused reply (450, 421, 550, a dropped DATA are
    # fatal to it), so under the fault mix it sends a few dozen messages: that is recorded, and
    # its figures come from the same run against a sink without faults (faults_applied false).
    start_sink smtp_source
    /usr/sbin/smtp-source -d -s "$CONNECTIONS" -m "$n" -l "$bytes" -f news@bench.test \
      -t rcpt@bench.test "127.0.0.1:$SINK_PORT" > "$CASE/smtp_source_faults.out" 2>&1 || true
    stop_sink
    $PY - "$WORK/smtp_source.stats.json" "$CASE/smtp_source_faults.out" > "$CASE/smtp_source.extra.json" <<'PY'
import json, sys
try:
    accepted = json.load(open(sys.argv[1]))["messages"]
except Exception:
    accepted = None
why = open(sys.argv[2]).read().strip().splitlines()
print(json.dumps({"faults_applied": False, "faults_accepted_before_exit": accepted,
                  "faults_exit": why[-1][:300] if why else None}))
PY
    rm -f "$WORK/smtp_source.stats.json" "$WORK/smtp_source.timeline.tsv"
    local saved=$FAULTS; FAULTS=
    start_sink smtp_source
    FAULTS=$saved
  else
    start_sink smtp_source
  fi
  cp /dev/null "$CASE/smtp_source.stats.json" 2>/dev/null || true
  time_run "$CASE/smtp_source" /usr/sbin/smtp-source -d -s "$CONNECTIONS" -m "$n" -l "$bytes" \
    -f news@bench.test -t rcpt@bench.test "127.0.0.1:$SINK_PORT" || true
  SINK_CPU=$(sink_cpu_s); stop_sink
  [ -f "$WORK/smtp_source.stats.json" ] && mv "$WORK/smtp_source.stats.json" "$CASE/" && mv "$WORK/smtp_source.timeline.tsv" "$CASE/"
  result_json smtp_source ok "" "$n"
}

run_nodemailer() {
  local n=$1 html=$2 csv=$3 key=$4
  if [ ! -d "$ROOT/perf/node_modules/nodemailer" ]; then
    result_json nodemailer skipped "nodemailer not installed (tools/dev setup runs npm install in perf/)" 0
    return
  fi
  if [ "$DKIM" = ed25519 ]; then
    result_json nodemailer skipped "nodemailer does not sign ed25519-sha256" 0
    return
  fi
  local dk=()
  [ "$DKIM" = rsa ] && dk=(--dkim-key "$key" --dkim-domain bench.test --dkim-selector bench)
  start_sink nodemailer
  if time_run "$CASE/nodemailer" node "$ROOT/perf/nodemailer_send.js" --host 127.0.0.1 --port "$SINK_PORT" \
      --connections "$CONNECTIONS" --recipients "$csv" --html "$html" --count "$n" "${dk[@]}"; then
    SINK_CPU=$(sink_cpu_s); stop_sink
    [ -f "$WORK/nodemailer.stats.json" ] && mv "$WORK/nodemailer.stats.json" "$WORK/nodemailer.timeline.tsv" "$CASE/"
    local j; j=$(tail -1 "$CASE/nodemailer.stdout")
    local sent p50 p99
    read -r sent p50 p99 < <($PY -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["sent"], j["latency_p50_ms"], j["latency_p99_ms"])' "$j")
    result_json nodemailer ok "" "$sent" "$p50" "$p99"
  else
    stop_sink
    result_json nodemailer skipped "nodemailer failed: $(head -c 300 "$CASE/nodemailer.stderr" | tr '\n' ' ')" 0
  fi
}

run_salvo() {
  local n=$1 html=$2 csv=$3 key=$4
  if [ ! -x "$SALVO" ]; then
    result_json salvo skipped "no salvo binary at $SALVO" 0; return
  fi
  if ! "$SALVO" send --help 2>&1 | grep -q -- '--campaign'; then
    result_json salvo skipped "\`salvo send\` is not available in this build yet" 0; return
  fi
  local d=$CASE/salvo-run
  mkdir -p "$d"
  start_sink salvo
  write_bench_toml "$d/salvo.toml" "$SINK_PORT" "$CONNECTIONS" "$WORKERS"
  if [ "$DKIM" != none ]; then
    cp "$key" "$d/dkim.pem"
    printf '\n[[dkim]]\ndomain = "bench.test"\nselector = "bench"\nkey_file = "dkim.pem"\n' >> "$d/salvo.toml"
  fi
  local sending=""
  if [ -n "$FAULTS" ]; then  # retries within seconds: the time to finish measures the sender
    sending+=$'retry_base = "1s"\nretry_max = "4s"\n'
  fi
  # SALVO_SENDING: more [sending] lines, e.g. SALVO_SENDING='completion_batch = 1' (A/B runs).
  [ -n "${SALVO_SENDING:-}" ] && sending+="$SALVO_SENDING"$'\n'
  [ -n "$sending" ] && printf '\n[sending]\n%s' "$sending" >> "$d/salvo.toml"
  cp "$html" "$d/campaign.html"
  write_bench_campaign "$d/campaign.toml" "bench-$(date +%s)"
  if ! "$SALVO" import -c "$d/salvo.toml" --list bench "$csv" --json > "$d/import.out" 2> "$d/import.err"; then
    stop_sink
    result_json salvo skipped "salvo import failed: $(head -c 300 "$d/import.err" | tr '\n' ' ')" 0; return
  fi
  # Open the store once more before the timed send (as perf/send_rss.sh does), so that replaying
  # the import's write-ahead log counts in neither the import's nor the send's figures.
  "$SALVO" lists -c "$d/salvo.toml" >/dev/null 2>&1 || true
  local skip_pf  # builds from before preflight lack the flag
  skip_pf=$("$SALVO" send --help 2>&1 | grep -q -- --skip-preflight && echo --skip-preflight || true)
  # PERF_RECORD=FILE: the send runs under `perf record -g` (its CPU figures then include perf's).
  local wrap=(); [ -n "${PERF_RECORD:-}" ] && wrap=(perf record -g -q -o "$PERF_RECORD" --)
  if time_run "$CASE/salvo" "${wrap[@]}" "$SALVO" send $skip_pf -c "$d/salvo.toml" --campaign "$d/campaign.toml" \
      --workers "$WORKERS" --json; then
    SINK_CPU=$(sink_cpu_s); stop_sink
    [ -f "$WORK/salvo.stats.json" ] && mv "$WORK/salvo.stats.json" "$WORK/salvo.timeline.tsv" "$CASE/"
    [ -f "$WORK/salvo.record.tsv" ] && mv "$WORK/salvo.record.tsv" "$CASE/"
    delivery_check "$CASE/salvo.stdout" "$CASE/salvo.record.tsv" "$n" > "$CASE/salvo.extra.json"
    local delivered p50 p99 ttf tx
    read -r delivered p50 p99 ttf tx < <($PY - "$CASE/salvo.stdout" "$n" <<'PY'
import json, sys
try:
    j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
except Exception:
    j = {}
def find(d, *keys):
    for k in keys:
        if k in d: return d[k]
        for v in d.values():
            if isinstance(v, dict) and k in v: return v[k]
    return None
def num(k):
    v = find(j, k)
    return "null" if v is None else v
print(find(j, "delivered") or sys.argv[2], num("latency_p50_ms"), num("latency_p99_ms"),
      num("time_to_finish_s"), num("transactions"))
PY
)
    result_json salvo ok "" "$delivered" "$p50" "$p99" "$ttf" "$tx"
  else
    stop_sink
    result_json salvo skipped "salvo send failed: $(tail -c 300 "$CASE/salvo.stderr" | tr '\n' ' ')" 0
  fi
}

# delivery_check SALVO_STDOUT RECORD_TSV N: JSON of salvo's outcomes against what the sink took.
# Every recipient not refused with a 5xx must reach the sink exactly once: sink_unique_recipients
# == N - bounced - failed, sink_duplicate_deliveries == 0 (salvo-sink --record counts deliveries
# per address). Without a record (no faults) only salvo's own counts are given.
delivery_check() {
  $PY - "$@" <<'PY'
import json, os, sys
out, rec, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    j = json.loads(open(out).read().strip().splitlines()[-1])
except Exception:
    j = {}
r = {k: j.get(k) for k in ("delivered", "bounced", "failed", "deferred_final", "throttle_events",
                            "stage_cpu_us_per_msg")}
if os.path.exists(rec):
    uniq = dup = 0
    for line in open(rec):
        f = line.rstrip("\n").split("\t")
        if len(f) < 2 or not f[1].isdigit():
            continue
        uniq += 1
        dup += int(f[1]) - 1
    expected = n - (r["bounced"] or 0) - (r["failed"] or 0)
    r.update(sink_unique_recipients=uniq, sink_duplicate_deliveries=dup,
             expected_accepted=expected,
             exactly_once=(uniq == expected and dup == 0 and r["delivered"] == expected
                           and not r["deferred_final"]))
print(json.dumps(r))
PY
}

# run_case LABEL RECIPIENTS SIZE CONNECTIONS WORKERS
run_case() {
  local label=$1 n=$2 size=$3
  CONNECTIONS=$4 WORKERS=$5
  CASE=$WORK/case-$label
  mkdir -p "$CASE"
  local bytes; bytes=$(bytes_of "$size")
  log "case $label: $n recipients, $size, $CONNECTIONS connections, $WORKERS workers, dkim $DKIM, sink $SINK_KIND${FAULTS:+, faults $FAULTS}"
  make_html "$CASE/campaign.html" "$bytes"
  gen_recipients "$n" "$CASE/recipients.csv"
  make_dkim_key "$CASE/dkim.pem"
  log "salvo send";      run_salvo "$n" "$CASE/campaign.html" "$CASE/recipients.csv" "$CASE/dkim.pem"
  log "smtp-source";     run_smtp_source "$n" "$bytes"
  # nodemailer manages 0.2-2k msgs/s here: at most 20k messages keep a case within minutes (its
  # figures are per message, so they stay comparable).
  # NODEMAILER_MAX=0 skips it (e.g. a DKIM run, where it needs minutes for 20 k messages).
  local nm=$n max=${NODEMAILER_MAX:-20000}; [ "$nm" -gt "$max" ] && nm=$max
  if [ "$nm" -gt 0 ]; then
    log "nodemailer ($nm messages)"; run_nodemailer "$nm" "$CASE/campaign.html" "$CASE/recipients.csv" "$CASE/dkim.pem"
  else
    result_json nodemailer skipped "NODEMAILER_MAX=0" 0
  fi
  $PY - "$CASE" "$label" "$n" "$size" "$CONNECTIONS" "$WORKERS" "$DKIM" "$SINK_KIND" "$FAULTS" > "$CASE/case.json" <<'PY'
import json, os, sys
d, label, n, size, conn, workers, dkim, sink, faults = sys.argv[1:]
c = {"label": label, "recipients": int(n), "size": size, "connections": int(conn), "workers": int(workers),
     "dkim": dkim, "sink": sink, "faults": faults or None}
for name in ("salvo", "smtp_source", "nodemailer"):
    p = os.path.join(d, name + ".json")
    c[name] = json.load(open(p)) if os.path.exists(p) else {"status": "skipped", "reason": "not run"}
print(json.dumps(c))
PY
}

log "capacity report: $(nproc) cores, $(uname -r), sink $SINK_KIND, load $(cut -d' ' -f1-3 /proc/loadavg)"
BENCH_LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
CASES=()
case "$SWEEP" in
  "") run_case base "$RECIPIENTS" "$SIZE" "$CONNECTIONS" "$WORKERS"; CASES+=(base) ;;
  size) for s in 2k 20k 100k; do run_case "size-$s" "$RECIPIENTS" "$s" "$CONNECTIONS" "$WORKERS"; CASES+=("size-$s"); done ;;
  connections) for c in 1 5 20 50 100; do run_case "conn-$c" "$RECIPIENTS" "$SIZE" "$c" "$WORKERS"; CASES+=("conn-$c"); done ;;
  recipients) for r in 10000 100000 1000000; do run_case "rcpt-$r" "$r" "$SIZE" "$CONNECTIONS" "$WORKERS"; CASES+=("rcpt-$r"); done ;;
  workers) for w in 1 2; do run_case "workers-$w" "$RECIPIENTS" "$SIZE" "$CONNECTIONS" "$w"; CASES+=("workers-$w"); done ;;
esac

# --- report ----------------------------------------------------------------------------------
if [ "$DKIM" != none ]; then  # the sign rate of all the machine's cores, measured in the same run
  alg=rsa2048; [ "$DKIM" = ed25519 ] && alg=ed25519
  export SIGN_CORES=$(nproc)
  export SIGN_RATE_ALL_CORES=$(openssl speed -multi "$SIGN_CORES" -seconds 3 "$alg" 2>/dev/null | $PY -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"\s*(rsa\s*2048 bits|253 bits EdDSA \(Ed25519\))\s+\S+s\s+\S+s\s+([\d.]+)", line)
    if m: print(m.group(2)); break')
  export SIGN_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
fi
export BENCH_LOAD_START BENCH_LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
CASE_FILES=()
for c in "${CASES[@]}"; do CASE_FILES+=("$WORK/case-$c/case.json"); done
$PY "$ROOT/perf/capacity/report.py" --out "$OUT" "${CASE_FILES[@]}"
