#!/usr/bin/env bash
# perf/scale.sh — how a send's cost and memory grow with the list (issue 19).
#   perf/scale.sh BUILD_DIR [N ...]        (default N: 10000 100000 1000000 10000000)
# For each N: generates N recipients (BUILD_DIR/perf/gen_recipients), imports them and sends the
# capacity campaign (20 KB HTML, 10 tracked links, 20 connections, 2 workers) into salvo-sink,
# with perf/send_rss.sh. Prints one JSON line per N:
#   {"recipients":N,"msgs_per_s":...,"cpu_us_per_msg":...,"peak_rss_mb":...,"wall_s":...,
#    "import_s":...,"load_avg":"1m 5m 15m"}
# then writes OUT/scale.jsonl and a plot of CPU per message and peak RSS against N
# (OUT/scale.svg and .png; OUT defaults to perf/out). salvo.toml's [store] defaults apply; add
# settings with TOML_EXTRA (e.g. '\n[store]\nblock_cache = "64MB"\nmemtables = "32MB"').
# Environment: OUT, SCALE_WORK (stores, default /tmp/salvo-scale; removed at the end unless
# SCALE_KEEP=1, when a later run reuses the imports), and send_rss.sh's SALVO_BIN, SINK_EXTRA.
# Disk: about 2 x 150 bytes per recipient (the store and its copy for the send).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
BUILD=$(cd "$1" && pwd); shift
NS=("$@"); [ ${#NS[@]} -gt 0 ] || NS=(10000 100000 1000000 10000000)
OUT=${OUT:-$ROOT/perf/out}
for n in "${NS[@]}"; do [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || { echo "scale.sh: N must be a positive integer, not $n" >&2; exit 2; }; done
for b in tools/salvo perf/sink/salvo-sink perf/gen_recipients; do
  [ -x "$BUILD/$b" ] || { echo "build first: ninja -C $BUILD $b" >&2; exit 2; }
done
export RSS_WORK=${SCALE_WORK:-/tmp/salvo-scale}
[ "${SCALE_KEEP:-0}" = 1 ] || trap 'rm -rf "$RSS_WORK"' EXIT
mkdir -p "$OUT" "$RSS_WORK"
JSONL=$OUT/scale.jsonl
: > "$JSONL"
for n in "${NS[@]}"; do
  out=$("$ROOT/perf/send_rss.sh" "$BUILD" "$n" scale)
  line=$(grep '^N=' <<<"$out" | tail -1)
  stages=$(grep '^stages_us/msg' <<<"$out" | tail -1 || true)
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/python3 - "$line" "$load" "$stages" <<'PY' | tee -a "$JSONL"
import json, sys
kv = dict(f.split("=", 1) for f in sys.argv[1].split() if "=" in f)
stages = {k: float(v) for k, v in (f.split("=", 1) for f in sys.argv[3].split()[1:] if "=" in f)}
num = lambda v: None if v in (None, "?") else float(v.rstrip("s"))
print(json.dumps({"recipients": int(kv["N"]), "msgs_per_s": num(kv.get("msgs/s")),
                  "cpu_us_per_msg": num(kv.get("cpu_us/msg")), "peak_rss_mb": num(kv.get("rss_mb")),
                  "wall_s": num(kv.get("wall")), "import_s": num(kv.get("import_s")),
                  "load_avg": sys.argv[2], "stage_cpu_us_per_msg": stages or None},
                 separators=(",", ":")))
PY
  # The next N needs the disk more than a later run needs this import.
  [ "${SCALE_KEEP:-0}" = 1 ] || rm -rf "$RSS_WORK/w$n"
done

# The plot: CPU µs per message (left axis) and peak RSS (right axis) against N (log scale).
/usr/bin/python3 - "$JSONL" "$OUT" <<'PY'
import json, os, shutil, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out = sys.argv[2]
if not rows or not shutil.which("gnuplot"):
    sys.exit(0)
dat = os.path.join(out, "scale.dat")
with open(dat, "w") as f:
    for r in rows:
        f.write(f"{r['recipients']} {r['cpu_us_per_msg'] or 0} {r['peak_rss_mb'] or 0}\n")
base = rows[0]
flat = [f"{r['recipients']}: {r['cpu_us_per_msg'] / base['cpu_us_per_msg']:.2f}x"
        for r in rows[1:] if r["cpu_us_per_msg"] and base["cpu_us_per_msg"]]
script = ("set title 'salvo send into salvo-sink: cost and memory against list size' noenhanced;"
          "set xlabel 'recipients'; set logscale x; set grid;"
          "set ylabel 'CPU us per message'; set y2label 'peak RSS (MB)'; set ytics nomirror; set y2tics;"
          "set yrange [0:*]; set y2range [0:*]; set key top left;"
          "set arrow from graph 0, second 256 to graph 1, second 256 nohead dt 2 lc rgb 'red';"
          f"plot '{dat}' using 1:2 with linespoints lw 2 title 'CPU us/msg' axes x1y1,"
          f"     '{dat}' using 1:3 with linespoints lw 2 title 'peak RSS MB (256 MB bound dashed)' axes x1y2")
for term, ext in (("svg size 900,450 dynamic", "svg"), ("png size 900,450", "png")):
    path = os.path.join(out, f"scale.{ext}")
    subprocess.run(["gnuplot", "-e", f"set terminal {term}; set output '{path}'; {script}"],
                   check=False, stderr=subprocess.DEVNULL)
print(f"cost relative to N={base['recipients']}: " + (", ".join(flat) or "-"), file=sys.stderr)
print(f"wrote {sys.argv[1]}, {os.path.join(out, 'scale.svg')} and .png", file=sys.stderr)
PY

# report.json's "scale" section: every row, and flat keys for the issue's figures.
/usr/bin/python3 - "$JSONL" <<'PY' | /usr/bin/python3 "$ROOT/perf/report_section.py" "$OUT/report.json" scale
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by_n = {r["recipients"]: r for r in rows}
def cpu(n):
    return (by_n.get(n) or {}).get("cpu_us_per_msg")
flat = {"scale_cpu_us_per_msg_100k": cpu(100000), "scale_cpu_us_per_msg_10m": cpu(10000000),
        "scale_peak_rss_mb_10m": (by_n.get(10000000) or {}).get("peak_rss_mb"),
        "scale_peak_rss_mb_max": max((r["peak_rss_mb"] or 0 for r in rows), default=None),
        "scale_cpu_10m_vs_100k": (cpu(10000000) / cpu(100000)
                                  if cpu(10000000) and cpu(100000) else None)}
print(json.dumps({"rows": rows, "flat": flat}))
PY
echo "report.json: scale section and scale_* keys updated" >&2
