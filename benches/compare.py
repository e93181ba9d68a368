#!/usr/bin/env python3
"""Before/after table from benches/compare.sh's raw results (one metric per test).

    benches/compare.py DIR      (DIR/before/results.txt, DIR/after/results.txt, DIR/meta.txt)

For each (test, lib, size, clients, loss) measured on both sides: the median of the
headline metric, after/before, each side's spread ((max - min) / median), and a verdict:
"worse" only when after is worse than before by more than both spreads and by more than
5 %; "better" symmetrically; otherwise "same (noise)".
"""
import statistics
import sys

# test -> (metric, higher is better, label)
METRICS = {
    "T1": [("msgs_per_s", True, "msgs/s")],
    "T2": [("p50_us", False, "p50 RTT µs"), ("p99_us", False, "p99 RTT µs")],
    "T3": [("rss_kb_per_conn", False, "KiB/conn"), ("cpu_us_per_msg", False, "CPU µs/msg")],
    "T4": [("mb_per_s", True, "MB/s")],
    "T5": [("mean_us", False, "mean latency µs")],
    "T6": [("mb_per_s", True, "goodput MB/s")],
}


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("BENCH "):
                continue
            kv = dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
            test = kv["test"].split("-")[0]
            key = (kv["test"], kv["lib"], kv["size"], kv["clients"], kv["loss_pct"])
            for metric, _, _ in METRICS.get(test, []):
                v = kv.get(metric, "-")
                if v not in ("-", ""):
                    rows.setdefault(key + (metric,), []).append(float(v))
    return rows


def spread(vals):
    m = statistics.median(vals)
    return (max(vals) - min(vals)) / m if m else 0.0


def main():
    d = sys.argv[1]
    meta = {}
    try:
        with open(f"{d}/meta.txt") as f:
            meta = dict(l.strip().split("=", 1) for l in f if "=" in l)
    except OSError:
        pass
    before, after = load(f"{d}/before/results.txt"), load(f"{d}/after/results.txt")
    print(f"# Before/after: {meta.get('before', '?')} -> {meta.get('after', '?')}\n")
    print(f"{meta.get('started', '?')} to {meta.get('ended', '?')}, {meta.get('runs', '?')} interleaved "
          "run(s) per side; medians; spread = (max - min) / median.\n")
    print("| test | lib | size | clients | loss % | metric | before | after | after/before | spread before | spread after | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    worse = 0
    for key in sorted(set(before) & set(after)):
        test, lib, size, clients, loss, metric = key
        higher = next(h for m, h, _ in METRICS[test.split("-")[0]] if m == metric)
        label = next(l for m, _, l in METRICS[test.split("-")[0]] if m == metric)
        b, a = statistics.median(before[key]), statistics.median(after[key])
        ratio = a / b if b else float("nan")
        noise = max(spread(before[key]), spread(after[key]), 0.05)
        change = (ratio - 1) if higher else (1 - ratio)   # > 0 is better
        verdict = "same (noise)"
        if change < -noise:
            verdict, worse = "**worse**", worse + 1
        elif change > noise:
            verdict = "better"
        print(f"| {test} | {lib} | {size} | {clients} | {loss} | {label} | {b:,.2f} | {a:,.2f} | "
              f"{ratio:.3f} | {spread(before[key]):.0%} | {spread(after[key]):.0%} | {verdict} |")
    print(f"\n{worse} figure(s) worse beyond noise.")


if __name__ == "__main__":
    main()
