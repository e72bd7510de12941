#!/usr/bin/python3
"""Folds one benchmark's figures into perf/out/report.json, so that the file carries the latest
figure of every benchmark (capacity, scale, import) under stable keys.

    perf/report_section.py REPORT_JSON SECTION < figures.json

SECTION's object replaces report[SECTION]; its "flat" member, if any, is also copied to the top
level (e.g. import_rows_per_s), where the capacity report's own keys already live. The capacity
report (perf/capacity/report.py) rewrites report.json and keeps these sections.
"""
import json
import os
import sys


def merge(path, section, data):
    report = {}
    if os.path.exists(path):
        try:
            with open(path) as f:
                report = json.load(f)
        except (OSError, ValueError):
            report = {}  # unreadable: start over rather than fail the benchmark
    flat = data.pop("flat", {}) or {}
    report[section] = data
    report.update(flat)
    # The sections and their flat keys, for perf/capacity/report.py to keep.
    report.setdefault("flat_keys", {})[section] = sorted(flat)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 2
    os.makedirs(os.path.dirname(os.path.abspath(sys.argv[1])), exist_ok=True)
    merge(sys.argv[1], sys.argv[2], json.load(sys.stdin))
    return 0


if __name__ == "__main__":
    sys.exit(main())
