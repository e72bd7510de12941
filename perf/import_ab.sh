#!/bin/bash
# Runs two import_bench binaries alternately (before / after a change) on the same machine in the
# same minutes, so that a shared machine's load hits both alike, and prints one line per run with
# the load average: rows/s and CPU µs/row of the first import and the re-import, peak RSS.
#   perf/import_ab.sh BEFORE_BENCH AFTER_BENCH [RUNS (3)] [import_bench args (--rows 1000000 --no-update)]
# e.g. perf/import_ab.sh /tmp/main-import_bench build/perf/import_bench 3
set -euo pipefail
before=$1 after=$2 runs=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--rows 1000000 --no-update)
for ((i = 1; i <= runs; i++)); do
  for side in before after; do
    bin=${!side}
    "$bin" "${args[@]}" | /usr/bin/python3 -c '
import json, sys
line = [l for l in sys.stdin if l.startswith("{")][-1]
f = json.loads(line)
print("%-6s import %4.0f k rows/s %5.2f us/row  re-import %4.0f k rows/s %5.2f us/row  "
      "peak RSS %d MB  load %s" % (sys.argv[1], f["import_rows_per_s"] / 1e3,
      f["import_cpu_us_per_row"], f["reimport_rows_per_s"] / 1e3, f["reimport_cpu_us_per_row"],
      f["import_peak_rss_mb"], f["loadavg"]))
' "$side"
  done
done
