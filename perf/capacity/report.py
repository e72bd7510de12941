#!/usr/bin/python3
"""Capacity report: turns the per-case JSON of perf/capacity/run.sh into a table, report.json and
a throughput-over-time plot (gnuplot SVG). Input is our own files; missing fields are shown as -."""
import argparse
import json
import os
import shutil
import subprocess
import sys

SENDERS = (("salvo", "salvo"), ("smtp_source", "smtp-source"), ("nodemailer", "nodemailer"))


def fmt(v, spec="{:.0f}"):
    return "-" if v is None else spec.format(v)


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def per_cpu_second(s):
    c = s.get("cpu_us_per_msg")
    return None if not c else 1e6 / c


def table(case):
    faults = f", faults {case['faults']}" if case.get("faults") else ""
    print(f"\n{case['label']}: {case['recipients']} recipients, {case['size']}, {case['connections']} "
          f"connections, {case['workers']} workers, DKIM {case['dkim']}, sink {case['sink']}{faults}")
    print(f"{'sender':<12} {'msgs/s':>9} {'cpu us/msg':>11} {'peak RSS MB':>12} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'finish s':>9}  notes")
    for key, name in SENDERS:
        s = case[key]
        if s.get("status") != "ok":
            print(f"{name:<12} {'-':>9} {'-':>11} {'-':>12} {'-':>8} {'-':>8} {'-':>9}  skipped: {s.get('reason')}")
            continue
        notes = f"{s.get('messages')} msgs in {s.get('wall_s'):.1f}s wall"
        if s.get("sink_messages") is not None and s["sink_messages"] != s.get("messages"):
            notes += f", sink accepted {s['sink_messages']}"
        if (s.get("stage_cpu_us_per_msg") or {}).get("smtp") is not None:
            notes += f", smtp workers {s['stage_cpu_us_per_msg']['smtp']:.1f} us/msg"
        if s.get("context_switches_per_msg") is not None:
            notes += f", {s['context_switches_per_msg']:.2f} ctx sw/msg"
        if s.get("load_avg"):
            notes += f", load {s['load_avg']}"
        if s.get("faults_applied") is False:
            notes += (f"; sink WITHOUT faults: under the mix it stopped after "
                      f"{s.get('faults_accepted_before_exit')} msgs ({s.get('faults_exit')})")
        print(f"{name:<12} {fmt(s.get('msgs_per_s')):>9} {fmt(s.get('cpu_us_per_msg'), '{:.1f}'):>11} "
              f"{fmt(s.get('peak_rss_mb'), '{:.1f}'):>12} {fmt(s.get('latency_p50_ms'), '{:.2f}'):>8} "
              f"{fmt(s.get('latency_p99_ms'), '{:.2f}'):>8} {fmt(s.get('time_to_finish_s'), '{:.1f}'):>9}  {notes}")
    sv, ss, sn = (case[k] for k, _ in SENDERS)
    if sv.get("exactly_once") is not None:
        print(f"salvo deliveries: {sv['sink_unique_recipients']} recipients accepted by the sink of "
              f"{sv['expected_accepted']} expected (recipients - bounced {sv.get('bounced')} - failed "
              f"{sv.get('failed')}), {sv['sink_duplicate_deliveries']} duplicates, deferred_final "
              f"{sv.get('deferred_final')}, throttle_events {sv.get('throttle_events')}: "
              + ("exactly once" if sv["exactly_once"] else "NOT exactly once"))
    r = {
        "salvo_vs_smtp_source_rate": ratio(sv.get("msgs_per_s"), ss.get("msgs_per_s")),
        "salvo_vs_smtp_source_cpu_per_msg": ratio(sv.get("cpu_us_per_msg"), ss.get("cpu_us_per_msg")),
        "salvo_vs_nodemailer_rate": ratio(sv.get("msgs_per_s"), sn.get("msgs_per_s")),
        "salvo_vs_nodemailer_msgs_per_cpu_s": ratio(per_cpu_second(sv), per_cpu_second(sn)),
    }
    case["ratios"] = r
    print("ratios: salvo/smtp-source rate {}  cpu/msg {};  salvo/nodemailer rate {}  msgs per CPU-second {}".format(
        *(fmt(v, "{:.2f}") for v in r.values())))


def plot(cases, out):
    """Throughput over time (msgs/s per 250 ms sample, from salvo-sink's --timeline) per sender."""
    series = []
    for case in cases:
        for key, name in SENDERS:
            tl = case[key].get("timeline")
            if case[key].get("status") != "ok" or not tl or not os.path.exists(tl):
                continue
            rows = [tuple(map(float, l.split("\t"))) for l in open(tl) if l.strip()]
            # From the sample before the first message to the first sample at the final count.
            final = rows[-1][1] if rows else 0
            first = next((i for i, (_, m) in enumerate(rows) if m > 0), None)
            last = next((i for i, (_, m) in enumerate(rows) if m >= final), None)
            pts = []
            if first is not None and final > 0:
                first = max(first - 1, 0)
                t0 = rows[first][0]
                for (ta, ma), (tb, mb) in zip(rows[first:last], rows[first + 1:last + 1]):
                    pts.append((tb - t0, (mb - ma) / (tb - ta)))
            if not pts:
                continue
            kept = os.path.join(out, f"timeline-{case['label']}-{key}.tsv")
            shutil.copyfile(tl, kept)
            case[key]["timeline"] = kept
            label = f"{name} ({case['label']})" if len(cases) > 1 else name
            if case[key].get("faults_applied") is False:
                label += " (sink without faults)"
            dat = os.path.join(out, f"timeline-{case['label']}-{key}.dat")
            with open(dat, "w") as f:
                f.writelines(f"{t:.3f} {r:.1f}\n" for t, r in pts)
            series.append((dat, label))
    if not series or not shutil.which("gnuplot"):
        return None
    svg = os.path.join(out, "throughput.svg")
    plots = ", ".join(f"'{d}' using 1:2 with lines lw 2 title '{l}'" for d, l in series)
    faults = cases[0].get("faults")
    # Under faults the samples of the retry tail may be 0 (not drawn on the log scale).
    title = "Throughput over time (messages accepted by salvo-sink)" + (f"\\nfaults {faults}" if faults else "")
    script = (f"set terminal svg size 900,450 dynamic; set output '{svg}';"
              f"set title \"{title}\" noenhanced;"
              "set xlabel 'seconds since first message'; set ylabel 'msgs/s (log scale)'; set logscale y; set grid; set key top right;"
              f"plot {plots}")
    subprocess.run(["gnuplot", "-e", script], check=False)
    png = os.path.join(out, "throughput.png")
    subprocess.run(["gnuplot", "-e", script.replace("set terminal svg size 900,450 dynamic", "set terminal png size 900,450")
                    .replace(svg, png)], check=False, stderr=subprocess.DEVNULL)
    return svg if os.path.exists(svg) else None


def keep_other_sections(path, report):
    """The scale and import benchmarks' figures (perf/report_section.py) survive a new capacity
    report: report.json carries the latest figure of every benchmark."""
    try:
        with open(path) as f:
            old = json.load(f)
    except (OSError, ValueError):
        return
    flat_keys = old.get("flat_keys", {})
    for section, keys in flat_keys.items():
        if section in old:
            report[section] = old[section]
        for k in keys:
            if k in old:
                report[k] = old[k]
    if flat_keys:
        report["flat_keys"] = flat_keys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("cases", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    cases = [json.load(open(p)) for p in a.cases]
    for c in cases:
        table(c)
    if len(cases) > 1:  # a sweep: how rate, cost per message and memory grow with the parameter
        print(f"\nsweep {'case':<14} {'salvo msgs/s':>13} {'salvo us/msg':>13} {'salvo RSS MB':>13} "
              f"{'smtp-source us/msg':>19} {'nodemailer us/msg':>18}")
        for c in cases:
            sv, ss, sn = (c[k] for k, _ in SENDERS)
            print(f"      {c['label']:<14} {fmt(sv.get('msgs_per_s')):>13} {fmt(sv.get('cpu_us_per_msg'), '{:.1f}'):>13} "
                  f"{fmt(sv.get('peak_rss_mb'), '{:.1f}'):>13} {fmt(ss.get('cpu_us_per_msg'), '{:.1f}'):>19} "
                  f"{fmt(sn.get('cpu_us_per_msg'), '{:.1f}'):>18}")
    base = cases[0]
    report = {}
    for key, _ in SENDERS:
        s = base[key]
        report[f"{key}_msgs_per_s"] = s.get("msgs_per_s")
        report[f"{key}_cpu_us_per_msg"] = s.get("cpu_us_per_msg")
        report[f"{key}_peak_rss_mb"] = s.get("peak_rss_mb")
        report[f"{key}_latency_p50_ms"] = s.get("latency_p50_ms")
        report[f"{key}_latency_p99_ms"] = s.get("latency_p99_ms")
        report[f"{key}_time_to_finish_s"] = s.get("time_to_finish_s")
        report[f"{key}_accepted"] = s.get("accepted")
        report[f"{key}_load_avg"] = s.get("load_avg")
        report[f"{key}_context_switches_per_msg"] = s.get("context_switches_per_msg")
        if s.get("stage_cpu_us_per_msg"):
            report[f"{key}_stage_cpu_us_per_msg"] = s["stage_cpu_us_per_msg"]
        report[f"{key}_status"] = s.get("status")
        if "faults_applied" in s:  # smtp-source under --faults (see run.sh run_smtp_source)
            report[f"{key}_faults_applied"] = s["faults_applied"]
            report[f"{key}_faults_accepted_before_exit"] = s.get("faults_accepted_before_exit")
        if s.get("status") != "ok":
            report[f"{key}_skipped_reason"] = s.get("reason")
    report.update(base.get("ratios", {}))
    report["salvo_transactions"] = base["salvo"].get("transactions")
    # Under faults: salvo's outcomes against salvo-sink's per-address record (run.sh
    # delivery_check); null without faults.
    for k in ("bounced", "failed", "deferred_final", "throttle_events", "expected_accepted",
              "sink_unique_recipients", "sink_duplicate_deliveries", "exactly_once"):
        report[f"salvo_{k}"] = base["salvo"].get(k)
    for k in ("recipients", "size", "connections", "workers", "dkim", "sink"):
        report[k] = base[k]
    report["faults"] = base.get("faults")
    report["load_start"] = os.environ.get("BENCH_LOAD_START")
    report["load_end"] = os.environ.get("BENCH_LOAD_END")
    if os.environ.get("SIGN_RATE_ALL_CORES"):
        # `openssl speed -multi N` over all N cores of the machine, measured in the same run.
        ncpu = int(os.environ.get("SIGN_CORES") or os.cpu_count() or 1)
        total = float(os.environ["SIGN_RATE_ALL_CORES"])
        rate = total / ncpu
        report["openssl_sign_per_s_all_cores"] = total
        report["openssl_sign_cores"] = ncpu
        report["openssl_sign_load_avg"] = os.environ.get("SIGN_LOAD")
        report["openssl_sign_per_s_per_core"] = rate
        sv = base["salvo"]
        report["salvo_vs_openssl_sign_rate"] = ratio(sv.get("msgs_per_s"), total) if sv.get("status") == "ok" else None
        if sv.get("status") == "ok" and sv.get("wall_s"):
            cores = sv["cpu_s"] / sv["wall_s"]
            report["salvo_cores_used"] = cores
            report["salvo_dkim_fraction_of_sign_rate"] = ratio(sv.get("msgs_per_s"), rate * cores)
            report["salvo_dkim_fraction_of_machine_sign_rate"] = ratio(sv.get("msgs_per_s"), rate * ncpu)
            print(f"DKIM: salvo {fmt(sv.get('msgs_per_s'))} msgs/s on {cores:.2f} cores (of {ncpu}); "
                  f"openssl speed -multi {ncpu}: {total:.0f} signs/s (load {report['openssl_sign_load_avg']}) -> "
                  f"salvo_vs_openssl_sign_rate {fmt(report['salvo_vs_openssl_sign_rate'], '{:.0%}')} "
                  f"(target >= 90%); {fmt(report['salvo_dkim_fraction_of_sign_rate'], '{:.0%}')} of the "
                  f"sign rate of the {cores:.2f} cores it used")
    report["cases"] = cases
    report["plot"] = plot(cases, a.out)
    keep_other_sections(os.path.join(a.out, "report.json"), report)
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"\nwrote {os.path.join(a.out, 'report.json')}" + (f" and {report['plot']}" if report["plot"] else ""))


if __name__ == "__main__":
    sys.exit(main())
