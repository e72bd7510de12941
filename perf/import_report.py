#!/usr/bin/python3
"""Reads perf/import_bench's output on stdin and prints its figures as one JSON object for
perf/report_section.py (section "import"): the header (rows), each pass's line (first import,
re-import, ...: rows/s, seconds, cpu µs/row, rss), the peak RSS, the load average now, and flat
keys import_rows_per_s, import_cpu_us_per_row, reimport_rows_per_s, reimport_cpu_us_per_row,
import_peak_rss_mb."""
import json
import re
import sys

PASS = re.compile(r"^\s+(first import|re-import|[a-z][a-z -]*?)\s+([\d.]+) rows/s\s+([\d.]+) s\b.*?"
                  r"cpu ([\d.]+) us/row(?:.*?rss (\d+) MB)?")


def main():
    out = {"passes": {}}
    for line in sys.stdin:
        m = re.match(r"import_bench: (\d+) rows", line)
        if m:
            out["rows"] = int(m.group(1))
        m = PASS.match(line)
        if m:
            out["passes"][m.group(1)] = {"rows_per_s": float(m.group(2)), "seconds": float(m.group(3)),
                                         "cpu_us_per_row": float(m.group(4)),
                                         "rss_mb": int(m.group(5)) if m.group(5) else None}
        m = re.match(r"\s+peak RSS: (\d+) MB", line)
        if m:
            out["peak_rss_mb"] = int(m.group(1))
    out["load_avg"] = " ".join(open("/proc/loadavg").read().split()[:3])
    first, again = out["passes"].get("first import", {}), out["passes"].get("re-import", {})
    out["flat"] = {"import_rows": out.get("rows"),
                   "import_rows_per_s": first.get("rows_per_s"),
                   "import_cpu_us_per_row": first.get("cpu_us_per_row"),
                   "reimport_rows_per_s": again.get("rows_per_s"),
                   "reimport_cpu_us_per_row": again.get("cpu_us_per_row"),
                   "import_peak_rss_mb": out.get("peak_rss_mb"),
                   "import_load_avg": out["load_avg"]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
