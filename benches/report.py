#!/usr/bin/env python3
"""Turns the suite's BENCH lines into benches/report/REPORT.md and PNG plots.

    benches/report.py --dir benches/report        (reads results.txt and meta.json there)

The tables hold medians over the runs of each (lib, test, size, clients, loss) and the
spread (max - min) / median of the headline number. The goals of issue 7 are checked
against the medians as ratios libraknet / ENet and libraknet / raw UDP; secure mode
(lib=libraknet-secure) against plain libraknet from the same run, with the bytes per
datagram from the drivers' WIRE lines. Plots need matplotlib; without it the report is
written without them.
"""

import argparse
import json
import math
import os
import statistics
import sys

LIBS = ("libraknet", "libraknet-secure", "enet", "udp", "udp-mmsg")
NUMERIC = ("size", "count", "delivered", "clients", "loss_pct", "seconds", "msgs_per_s",
           "mb_per_s", "mean_us", "p50_us", "p99_us", "max_us", "connect_s",
           "rss_kb_per_conn", "cpu_us_per_msg")


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith("BENCH "):
                continue
            r = {}
            for tok in line.split()[1:]:
                k, _, v = tok.partition("=")
                if k in NUMERIC:
                    r[k] = float("nan") if v == "-" else float(v)
                else:
                    r[k] = v
            rows.append(r)
    return rows


def parse_wire(path):
    """WIRE lines: {(lib, test, size): [(datagrams_sent, bytes_sent, datagrams_received,
    bytes_received), ...]}."""
    out = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("WIRE "):
                continue
            kv = dict(tok.partition("=")[::2] for tok in line.split()[1:])
            try:
                k = (kv["lib"], kv["test"], int(kv["size"]))
                v = tuple(int(kv[f]) for f in ("datagrams_sent", "bytes_sent",
                                               "datagrams_received", "bytes_received"))
            except (KeyError, ValueError):
                continue
            out.setdefault(k, []).append(v)
    return out


def wire_per_datagram(wire, lib, test, size):
    """Median UDP payload bytes per datagram, both directions of the driver's peer."""
    vals = [(bs + br) / (ds + dr) for ds, bs, dr, br in wire.get((lib, test, size), [])
            if ds + dr > 0]
    return statistics.median(vals) if vals else None


def secure_section(meds, wire):
    """Markdown lines comparing libraknet-secure with plain libraknet (same run)."""
    rows = []

    def ratio(a, b):
        if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
            return "–"
        return f"{a / b:.2f}×"

    for test, size, field, what in (("T1", 64, "msgs_per_s", "T1 64 B msgs/s"),
                                    ("T1", 1024, "mb_per_s", "T1 1 KiB MB/s"),
                                    ("T2", 64, "p50_us", "T2 p50 RTT (µs)"),
                                    ("T2", 64, "p99_us", "T2 p99 RTT (µs)")):
        plain = get(find(meds, "libraknet", test, size), field)
        sec = get(find(meds, "libraknet-secure", test, size), field)
        if sec is None:
            continue
        wp = wire_per_datagram(wire, "libraknet", test, size)
        ws = wire_per_datagram(wire, "libraknet-secure", test, size)
        rows.append((what, fmt(plain), fmt(sec), ratio(sec, plain),
                     fmt(wp), fmt(ws), "–" if wp is None or ws is None else f"{ws - wp:+.1f}"))
    if not rows:
        return []
    return ["## Secure mode vs plain", "",
            table(["measure", "plain", "secure", "secure / plain", "plain B/datagram",
                   "secure B/datagram", "difference (B)"], rows), "",
            "Secure mode adds 24 bytes to every datagram after the handshake (8-byte nonce, "
            "16-byte Poly1305 tag) and lowers the MTU budget by as much. Both rows of a "
            "measure come from the same suite run, runs interleaved. *B/datagram* is the "
            "driver peer's UDP payload bytes (sent and received, handshake included) per "
            "datagram, from its WIRE line (`rak_peer_stats()`); in T2 every datagram "
            "carries one probe or one acknowledgement either way, so the difference is the "
            "per-datagram overhead; in T1 the smaller budget also packs fewer messages per "
            "datagram.", ""]


def key_of(r):
    return (r["lib"], r["test"], int(r["size"]), r.get("clients"), r.get("loss_pct"))


def nan_eq(a, b):
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def medians(rows):
    """{key: {"n": runs, field: median, field+"_spread": (max-min)/median}}."""
    groups = {}
    for r in rows:
        k = key_of(r)
        # clients/loss may be NaN: normalise so equal keys group together
        k = tuple("-" if isinstance(x, float) and math.isnan(x) else x for x in k)
        groups.setdefault(k, []).append(r)
    out = {}
    for k, rs in groups.items():
        m = {"n": len(rs), "lib": rs[0]["lib"], "test": rs[0]["test"]}
        for f in NUMERIC:
            vals = [r[f] for r in rs if f in r and not math.isnan(r[f])]
            if vals:
                med = statistics.median(vals)
                m[f] = med
                m[f + "_spread"] = (max(vals) - min(vals)) / med if med else 0.0
            else:
                m[f] = float("nan")
        out[k] = m
    return out


def find(meds, lib, test, size=None, clients=None, loss=None):
    for k, m in meds.items():
        if m["lib"] != lib or m["test"] != test:
            continue
        if size is not None and int(m["size"]) != size:
            continue
        if clients is not None and m.get("clients") != clients:
            continue
        if loss is not None and m.get("loss_pct") != loss:
            continue
        return m
    return None


def fmt(v, digits=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if abs(v) >= 1e5:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def pct(v):
    return "–" if v is None or math.isnan(v) else f"{100 * v:.0f} %"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(lines)


def get(m, f):
    return None if m is None else m.get(f)


def goals(meds):
    """[(goal, libraknet value, baseline value, ratio, target text, met or None)]."""
    out = []

    def ratio(a, b):
        if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
            return None
        return a / b

    def row(goal, a, b, target, ok, unit="", digits=1):
        r = ratio(a, b)
        met = None if r is None else ok(r)
        out.append((goal, fmt(a, digits) + unit, fmt(b, digits) + unit, "–" if r is None else f"{r:.2f}×",
                    target, met))

    rak64 = find(meds, "libraknet", "T1", 64)
    row("T1 64 B msgs/s vs ENet", get(rak64, "msgs_per_s"),
        get(find(meds, "enet", "T1", 64), "msgs_per_s"), "≥ 1.5×", lambda r: r >= 1.5)
    rak1k = find(meds, "libraknet", "T1", 1024)
    row("T1 1 KiB MB/s vs ENet", get(rak1k, "mb_per_s"),
        get(find(meds, "enet", "T1", 1024), "mb_per_s"), "≥ 1.0×", lambda r: r >= 1.0)
    udp = [get(find(meds, l, "T1", 1024), "mb_per_s") for l in ("udp", "udp-mmsg")]
    udp = [u for u in udp if u is not None and not math.isnan(u)]
    row("T1 1 KiB MB/s vs raw UDP (best of udp, udp-mmsg)", get(rak1k, "mb_per_s"),
        max(udp) if udp else None, "≥ 0.8×", lambda r: r >= 0.8)
    rak2 = find(meds, "libraknet", "T2")
    row("T2 p50 RTT vs raw UDP p50 (µs)", get(rak2, "p50_us"),
        get(find(meds, "udp", "T2"), "p50_us"), "≤ 1.5×", lambda r: r <= 1.5)
    p99 = get(rak2, "p99_us")
    # Raw UDP's own p99 in the same run as the baseline column: on a host where even
    # that is above 100 µs, the absolute goal says more about the host than the library.
    udp99 = get(find(meds, "udp", "T2"), "p99_us")
    out.append(("T2 p99 RTT (µs; baseline: raw UDP p99)", fmt(p99), fmt(udp99),
                "–" if p99 is None or udp99 in (None, 0) or math.isnan(udp99)
                else f"{p99 / udp99:.2f}×", "≤ 100 µs",
                None if p99 is None or math.isnan(p99) else p99 <= 100))
    row("T4 16 MiB MB/s vs ENet", get(find(meds, "libraknet", "T4"), "mb_per_s"),
        get(find(meds, "enet", "T4"), "mb_per_s"), "≥ 1.0×", lambda r: r >= 1.0)
    t3 = sorted((m for m in meds.values() if m["lib"] == "libraknet" and m["test"] == "T3"),
                key=lambda m: m["clients"])
    if t3:
        # The goal is per connection at 10,000 (the figure), i.e. the largest K
        # run; at small K the peer's fixed buffers (socket batches, pools) divided by few
        # connections dominate, so that row is shown for information, not judged.
        big = t3[-1]
        rss = big["rss_kb_per_conn"]
        out.append((f"T3 RSS per idle connection at {int(big['clients']):,} clients (KiB)",
                    fmt(rss, 2), "–", "–", "≤ 4 KiB", rss <= 4))
        worst = max(t3, key=lambda m: m["rss_kb_per_conn"])
        out.append((f"T3 RSS per connection, worst K = {int(worst['clients']):,} (KiB, "
                    "fixed per-peer memory included)", fmt(worst["rss_kb_per_conn"], 2),
                    "–", "–", "information", None))
        lo, hi = t3[0], t3[-1]
        row(f"T3 CPU/msg at {int(hi['clients']):,} vs {int(lo['clients']):,} clients (µs)",
            hi["cpu_us_per_msg"], lo["cpu_us_per_msg"], "≤ 1.25× (flat)", lambda r: r <= 1.25)
    for loss in (5.0, 20.0):
        row(f"T6 1 MiB goodput at {loss:.0f} % loss vs RakNet 4 C++ (MB/s)",
            get(find(meds, "libraknet", "T6", loss=loss), "mb_per_s"),
            get(find(meds, "raknet4", "T6", loss=loss), "mb_per_s"), "≥ 5×", lambda r: r >= 5,
            digits=2)
    t5 = find(meds, "libraknet", "T5", loss=5.0)
    mean = None if t5 is None else t5["mean_us"] / 1000
    out.append(("T5 mean delivery latency at 5 % loss, 20 ms RTT (ms)", fmt(mean), "–", "–",
                "≤ 60 ms", None if mean is None or math.isnan(mean) else mean <= 60))
    return out


def plots(meds, outdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    made = []
    colors = {"libraknet": "tab:red", "libraknet-secure": "tab:orange", "enet": "tab:blue",
              "udp": "tab:gray", "udp-mmsg": "tab:green"}

    # Throughput vs message size.
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for lib in LIBS:
        pts = sorted((m["size"], m["msgs_per_s"], m["mb_per_s"]) for m in meds.values()
                     if m["lib"] == lib and m["test"] == "T1")
        if pts:
            xs = [p[0] for p in pts]
            a1.plot(xs, [p[1] for p in pts], "o-", label=lib, color=colors[lib])
            a2.plot(xs, [p[2] for p in pts], "o-", label=lib, color=colors[lib])
    for ax, title in ((a1, "messages/s"), (a2, "MB/s (payload)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("message size (bytes)")
        ax.set_title(f"T1 one-way throughput, {title}")
        ax.grid(True, alpha=0.3)
        ax.legend()
    a1.set_yscale("log")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "throughput_vs_size.png"), dpi=110)
    plt.close(fig)
    made.append("throughput_vs_size.png")

    # Latency percentiles: T2 round trips per lib, T5 delivery latency vs loss.
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    libs = [l for l in LIBS if find(meds, l, "T2")]
    fields = ("p50_us", "mean_us", "p99_us")
    width = 0.25
    for j, f in enumerate(fields):
        vals = [find(meds, l, "T2")[f] for l in libs]
        a1.bar([i + (j - 1) * width for i in range(len(libs))], vals, width, label=f[:-3])
    a1.set_xticks(range(len(libs)))
    a1.set_xticklabels(libs)
    a1.set_ylabel("µs")
    a1.set_title("T2 64 B round trip")
    a1.axhline(100, color="tab:red", ls="--", lw=0.8)
    a1.legend()
    t5 = sorted((m for m in meds.values() if m["lib"] == "libraknet" and m["test"] == "T5"),
                key=lambda m: m["loss_pct"])
    if t5:
        xs = [m["loss_pct"] for m in t5]
        for f, st in (("p50_us", "o-"), ("mean_us", "s-"), ("p99_us", "^-")):
            a2.plot(xs, [m[f] / 1000 for m in t5], st, label=f[:-3])
        a2.axhline(60, color="tab:red", ls="--", lw=0.8)
        a2.set_xlabel("simulated loss (%)")
        a2.set_ylabel("ms")
        a2.set_title("T5 400 B delivery latency, 20 ms RTT")
        a2.legend()
    for ax in (a1, a2):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "latency.png"), dpi=110)
    plt.close(fig)
    made.append("latency.png")

    # Cost vs connection count.
    t3 = sorted((m for m in meds.values() if m["lib"] == "libraknet" and m["test"] == "T3"),
                key=lambda m: m["clients"])
    if t3:
        fig, axes = plt.subplots(1, 3, figsize=(13, 4))
        xs = [m["clients"] for m in t3]
        for ax, f, title, goal in ((axes[0], "rss_kb_per_conn", "server RSS per connection (KiB)", 4),
                                   (axes[1], "cpu_us_per_msg", "server CPU per message (µs)", None),
                                   (axes[2], "connect_s", "time until all connected (s)", None)):
            ax.plot(xs, [m[f] for m in t3], "o-", color="tab:red")
            if goal:
                ax.axhline(goal, color="tab:red", ls="--", lw=0.8)
            ax.set_xscale("log")
            ax.set_xlabel("clients")
            ax.set_title(title)
            ax.grid(True, alpha=0.3)
            ax.set_ylim(bottom=0)
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, "conns.png"), dpi=110)
        plt.close(fig)
        made.append("conns.png")
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="directory with results.txt and meta.json")
    args = ap.parse_args()
    rows = parse(os.path.join(args.dir, "results.txt"))
    if not rows:
        sys.exit("no BENCH lines in results.txt")
    meta = {}
    try:
        with open(os.path.join(args.dir, "meta.json")) as f:
            meta = json.load(f)
    except OSError:
        pass
    meds = medians(rows)
    wire = parse_wire(os.path.join(args.dir, "results.txt"))
    md = ["# libraknet benchmark report", ""]
    if meta:
        la0, la1 = meta.get("loadavg_start", [0])[0], meta.get("loadavg_end", [0])[0]
        md.append(f"{meta.get('date')}, commit `{meta.get('commit')}`, {meta.get('cpu')} "
                  f"({meta.get('cpus')} CPUs), Linux {meta.get('kernel')}, "
                  f"{'quick mode, ' if meta.get('quick') else ''}{meta.get('runs')} run(s) per "
                  f"test (fewer for T1 sweep sizes, T3, T5), suite took {meta.get('seconds')} s, "
                  f"load average {la0:.2f} at start and {la1:.2f} at the end, "
                  f"{meta.get('failures', 0)} failed run(s)"
                  + (f"; groups re-run and appended: {', '.join(meta['appended'])}"
                     if meta.get("appended") else "") + ".")
        md.append("")
    md += ["All numbers are medians over the runs; *spread* is (max − min) / median of the "
           "headline number. Loopback (127.0.0.1), sender and receiver in separate processes. "
           "MB = 10⁶ bytes of payload. How each test is run: `benches/README.md`.", ""]

    md += ["## Goals", ""]
    grows = []
    for goal, a, b, r, target, met in goals(meds):
        grows.append((goal, a, b, r, target, "–" if met is None else ("**met**" if met else "not met")))
    md += [table(["goal", "libraknet", "baseline", "ratio", "target", "status"], grows), ""]

    md += secure_section(meds, wire)

    md += ["## T1: one-way throughput, one connection, reliable ordered", ""]
    rows_t1 = []
    for m in sorted((m for m in meds.values() if m["test"] == "T1"),
                    key=lambda m: (m["size"], LIBS.index(m["lib"]) if m["lib"] in LIBS else 9)):
        loss = 1 - m["delivered"] / m["count"] if m["count"] else float("nan")
        rows_t1.append((int(m["size"]), m["lib"], f"{int(m['count']):,}", fmt(m["msgs_per_s"], 0),
                        fmt(m["mb_per_s"]), fmt(m["p50_us"] / 1000, 2), pct(loss),
                        m["n"], pct(m.get("msgs_per_s_spread", float("nan")))))
    md += [table(["size (B)", "lib", "count", "msgs/s", "MB/s", "p50 one-way delay (ms)",
                  "lost", "runs", "spread"], rows_t1), ""]
    md += ["The one-way delay is from the send call to the receiver's application, so under "
           "saturation it is queueing delay. raw UDP has no flow control: *lost* is what the "
           "receiver's socket dropped.", ""]

    md += ["## T2: 64 B round trips, sequential, reliable ordered, default priority", ""]
    rows_t2 = []
    for lib in LIBS:
        m = find(meds, lib, "T2")
        if m:
            rows_t2.append((lib, fmt(m["p50_us"]), fmt(m["p99_us"]), fmt(m["mean_us"]),
                            fmt(m["max_us"]), fmt(m["msgs_per_s"], 0), m["n"],
                            pct(m.get("p50_us_spread", float("nan")))))
    md += [table(["lib", "p50 (µs)", "p99 (µs)", "mean (µs)", "max (µs)", "round trips/s",
                  "runs", "spread (p50)"], rows_t2), ""]

    md += ["## T3: many clients, one server", ""]
    rows_t3 = []
    for m in sorted((m for m in meds.values() if m["test"].startswith("T3")),
                    key=lambda m: (m["test"], m["clients"])):
        target = m["clients"] * 10
        rows_t3.append((m["test"], f"{int(m['clients']):,}", fmt(m["connect_s"], 3),
                        fmt(m["rss_kb_per_conn"], 2), fmt(m["cpu_us_per_msg"], 2),
                        f"{target:,.0f}", fmt(m["count"] / m["seconds"], 0),
                        fmt(m["msgs_per_s"], 0), m["n"],
                        pct(m.get("cpu_us_per_msg_spread", float("nan")))))
    md += [table(["test", "clients", "all connected (s)", "server RSS / conn (KiB)",
                  "server CPU / msg (µs)", "msgs/s asked", "sent", "received", "runs",
                  "spread (CPU)"], rows_t3), ""]
    md += ["T3 is driven by `rak_loadgen` (one thread, one sans-IO endpoint and socket per "
           "client); T3-peers by `rak_bench conns` (one `rak_peer` per client). RSS and CPU are "
           "the server's own (VmRSS, getrusage of all its threads), asked over a control "
           "connection before the clients connect, after they are connected and idle, and "
           "after the load phase. CPU per message includes the server's timer work for the "
           "idle connections over the same period. *asked* is 10 per client per second; *sent* is "
           "what the load generator managed (it shares the CPUs with the server); *received* "
           "is what reached the server's application during the phase and the 0.5 s after.", ""]

    md += ["## T4: one 16 MiB message", ""]
    rows_t4 = []
    for lib in LIBS:
        m = find(meds, lib, "T4")
        if m:
            rows_t4.append((lib, fmt(m["seconds"] * 1000), fmt(m["mb_per_s"]), m["n"],
                            pct(m.get("mb_per_s_spread", float("nan")))))
    md += [table(["lib", "ms until delivered", "MB/s", "runs", "spread"], rows_t4), ""]

    md += ["## T5: 400 B at 100 msgs/s, 20 ms simulated RTT", ""]
    rows_t5 = []
    for m in sorted((m for m in meds.values() if m["test"] == "T5"), key=lambda m: m["loss_pct"]):
        rows_t5.append((fmt(m["loss_pct"]), fmt(m["mean_us"] / 1000, 2), fmt(m["p50_us"] / 1000, 2),
                        fmt(m["p99_us"] / 1000, 2), fmt(m["max_us"] / 1000, 2), m["n"]))
    if rows_t5:
        md += [table(["loss (%)", "mean (ms)", "p50 (ms)", "p99 (ms)", "max (ms)", "runs"], rows_t5), ""]
    else:
        md += ["Not run (no network simulator in this build).", ""]

    md += ["## T6: 1 MiB reliable ordered through a lossy relay, 20 ms RTT", ""]
    rows_t6 = []
    for lib in ("libraknet", "enet", "raknet4"):
        cells = []
        for loss in (1.0, 5.0, 20.0):
            m = find(meds, lib, "T6", loss=loss)
            cells.append("–" if m is None else
                         f"{fmt(m['mb_per_s'], 2)} ({pct(m.get('mb_per_s_spread', float('nan')))}, "
                         f"{m['n']})")
        if any(c != "–" for c in cells):
            rows_t6.append((lib, *cells))
    if rows_t6:
        md += [table(["lib", "1 % loss", "5 % loss", "20 % loss"], rows_t6), "",
               "Goodput in MB/s (median; spread, runs) from the first send until the receiver "
               "has the message. `rak_lossy_relay` sits between driver and receiver on "
               "127.0.0.1: 10 ms each way and the stated random loss each way, seeded per run "
               "and the same for every library. raknet4 is C++ RakNet 4.081 (npm "
               "raknet-native, `benches/raknet4_bench.js`), present when "
               "`tests/interop/setup.sh raknet-native` has built it.", ""]
    else:
        md += ["Not run.", ""]

    made = plots(meds, args.dir)
    if made:
        md += ["## Plots", ""] + [f"![{p}]({p})" for p in made] + [""]
    else:
        md += ["(matplotlib not available: no plots)", ""]
    with open(os.path.join(args.dir, "REPORT.md"), "w") as f:
        f.write("\n".join(md))
    print(os.path.join(args.dir, "REPORT.md"))


if __name__ == "__main__":
    main()
