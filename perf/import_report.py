#!/usr/bin/python3
"""Reads perf/import_bench's output on stdin and passes its closing JSON line (the figures, keys
as in perf/out/report.json) to perf/report_section.py as the "import" section, with the flat keys
import_rows, import_rows_per_s, import_cpu_us_per_row, reimport_rows_per_s,
reimport_cpu_us_per_row, update_rows_per_s, update_cpu_us_per_row, import_peak_rss_mb and
import_load_avg."""
import json
import sys


def main():
    lines = [l for l in sys.stdin if l.startswith("{")]
    if not lines:
        print("import_report.py: no JSON line in import_bench's output", file=sys.stderr)
        return 1
    figures = json.loads(lines[-1])
    flat = {("import_rows" if k == "rows" else "import_load_avg" if k == "loadavg" else k): v
            for k, v in figures.items()}
    print(json.dumps(dict(figures, flat=flat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
