#!/usr/bin/env python3
"""Runs the libraknet benchmark suite (issue 7) and collects the BENCH lines.

Called by benches/run.sh after the build; usable alone:

    benches/suite.py --bin build-bench/bin --out benches/report [--quick] [--runs N]

Every run starts a fresh receiver on 127.0.0.1 (port 0, read back from its
"listening port=P" line), runs one driver against it and keeps the driver's BENCH line
(and its WIRE line, the driver's UDP datagrams and bytes, where it prints one).
libraknet-secure is libraknet in secure mode: a receiver with `recv --secure` (a fresh
key pair each run, printed as "public-key: HEX") and a driver pinning that key with
`--server-key`; it runs next to plain libraknet in the T1 contract sizes and T2, so the
two are compared within the same run.
T6 puts rak_lossy_relay (loopback only: 10 ms each way, seeded random loss each way)
between each driver and its receiver, so every library sees the same loss; raknet4 is
C++ RakNet 4.081 through npm raknet-native (benches/raknet4_bench.js), included when
tests/interop/setup.sh raknet-native has built it.
Runs of the same test are interleaved across libraries (run 1 of each, then run 2, ...)
so that a burst of load from elsewhere on the host does not hit one library only.
Writes OUT/results.txt (every BENCH and WIRE line, raw) and OUT/meta.json (host, commit,
settings); benches/report.py turns them into REPORT.md and plots.
"""

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time

HOST = "127.0.0.1"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Receiver:
    """A receiver process (rak_bench / rak_bench_udp / rak_bench_enet recv)."""

    def __init__(self, argv, want_key=False, host_arg=True):
        self.proc = subprocess.Popen(argv + ["--port", "0"] + (["--host", HOST] if host_arg else []),
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        line = self.proc.stdout.readline()
        # RakNet 4.081 prints a harmless "Unknown bind__() error" line first (its IPv6
        # attempt); skip a few lines of that kind.
        for _ in range(5):
            if line.startswith("listening port=") or not line:
                break
            line = self.proc.stdout.readline()
        if not line.startswith("listening port="):
            self.stop()
            raise RuntimeError(f"receiver did not start: {argv} said {line!r}")
        self.port = int(line.split("=", 1)[1].split()[0])
        self.key = None
        if want_key:  # secure mode: "public-key: HEX" follows
            line = self.proc.stdout.readline()
            if not line.startswith("public-key: "):
                self.stop()
                raise RuntimeError(f"secure receiver printed no key: {argv} said {line!r}")
            self.key = line.split(":", 1)[1].strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


RAKNET4_MODULES = os.path.join(os.environ.get("INTEROP_CACHE") or
                               os.path.expanduser("~/.cache/libraknet-interop"),
                               "raknet-native", "node_modules")
RAKNET4_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "raknet4_bench.js")


def raknet4_available():
    """node and a built raknet-native: RakNet 4.081 C++ for T6."""
    if not os.path.isdir(os.path.join(RAKNET4_MODULES, "raknet-native")):
        return False
    try:
        return subprocess.run(["node", "-e", "require('raknet-native')"], capture_output=True,
                              env=dict(os.environ, NODE_PATH=RAKNET4_MODULES),
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def programs(bindir):
    b = lambda name: os.path.join(bindir, name)
    node = ["env", f"NODE_PATH={RAKNET4_MODULES}", "node", RAKNET4_JS]
    return {
        "libraknet": {"recv": [b("rak_bench"), "recv", "--max-connections", "20000"],
                      "drive": [b("rak_bench")]},
        "libraknet-secure": {"recv": [b("rak_bench"), "recv", "--max-connections", "20000",
                                      "--secure"],
                             "drive": [b("rak_bench")], "pin": True},
        "enet": {"recv": [b("rak_bench_enet"), "recv"], "drive": [b("rak_bench_enet")]},
        "udp": {"recv": [b("rak_bench_udp"), "recv"], "drive": [b("rak_bench_udp")]},
        "udp-mmsg": {"recv": [b("rak_bench_udp"), "recv"],
                     "drive": [b("rak_bench_udp")], "extra": ["--mmsg"]},
        "loadgen": {"drive": [b("rak_loadgen")]},
        "raknet4": {"recv": node + ["recv"], "drive": node, "optional": True},
        "relay": {"drive": [b("rak_lossy_relay")]},
    }


def plan(quick, runs, have_raknet4=False):
    """The list of (test group, runs, [(lib, driver args, receiver lib)])."""
    n = lambda full, q: q if quick else full
    groups = []
    # T1: the contract sizes, then a sweep for the throughput-vs-size plot.
    t1 = [(64, n(1_000_000, 100_000)), (1024, n(200_000, 20_000))]
    sweep = [] if quick else [(16, 1_000_000), (256, 500_000), (4096, 50_000)]
    for size, count in t1 + sweep:
        jobs = []
        # Secure mode only at the contract sizes: the secure-vs-plain comparison.
        libs = ("libraknet", "libraknet-secure") if (size, count) in t1 else ("libraknet",)
        for lib in libs + ("enet", "udp", "udp-mmsg"):
            jobs.append((lib, ["send", "--count", str(count), "--size", str(size),
                               "--test", "T1"], lib))
        groups.append((f"T1 {size} B", runs if (size, count) in t1 else max(1, min(runs, 3)), jobs))
    # T2: sequential round trips.
    jobs = [(lib, ["pingpong", "--count", str(n(10_000, 2_000)), "--size", "64"], lib)
            for lib in ("libraknet", "libraknet-secure", "enet", "udp")]
    groups.append(("T2", runs, jobs))
    # T4: one 16 MiB message.
    jobs = [(lib, ["send", "--count", "1", "--size", str(16 << 20), "--test", "T4"], lib)
            for lib in ("libraknet", "enet")]
    groups.append(("T4", runs, jobs))
    # T3: K clients from the one-thread load generator; the rak_bench conns mode (one
    # rak_peer per client) as a cross-check at 100.
    secs = n(5, 2)
    t3runs = max(1, min(runs, 3))
    for k in ((100, 1000) if quick else (100, 1000, 10_000)):
        jobs = [("loadgen", ["--clients", str(k), "--seconds", str(secs)], "libraknet")]
        groups.append((f"T3 {k} clients", t3runs, jobs))
    if not quick:
        groups.append(("T3 100 clients, rak_peer each", 1,
                       [("libraknet", ["conns", "--clients", "100", "--seconds", str(secs),
                                       "--test", "T3-peers"], "libraknet")]))
    # T5: 400-byte messages, 100 per second, 20 ms simulated round trip, loss 0/1/5 %.
    for loss in (0, 1, 5):
        jobs = [("libraknet", ["send", "--count", str(n(500, 200)), "--size", "400",
                               "--rate", "100", "--test", "T5", "--sim-latency-ms", "10",
                               "--sim-loss", str(loss)], "libraknet")]
        groups.append((f"T5 {loss} % loss", t3runs, jobs))
    # T6: 1 MiB reliable ordered through the lossy relay, 20 ms RTT, loss each way.
    # RakNet 4 needs ~25 s for one run at 20 % loss: not in --quick.
    t6libs = ("libraknet", "enet") + (("raknet4",) if have_raknet4 and not quick else ())
    for loss in (1, 5, 20):
        jobs = [(lib, ["send", "--count", "1", "--size", str(1 << 20), "--test", "T6",
                       "--relay-loss", str(loss)], lib) for lib in t6libs]
        groups.append((f"T6 {loss} % loss", runs, jobs))
    return groups


def run_one(progs, lib, args, recv_lib, timeout, seed=1):
    """(the BENCH line, or None if the run failed; the WIRE lines, possibly [])."""
    p = progs[lib]
    relay_loss = None
    if "--relay-loss" in args:
        i = args.index("--relay-loss")
        relay_loss, args = args[i + 1], args[:i] + args[i + 2:]
    rx = Receiver(progs[recv_lib]["recv"] + progs[recv_lib].get("extra", []),
                  want_key=progs[recv_lib].get("pin", False))
    relay = None
    try:
        port = rx.port
        if relay_loss is not None:
            relay = Receiver(progs["relay"]["drive"] + ["--target-port", str(rx.port),
                                                        "--loss", relay_loss, "--delay-ms", "10",
                                                        "--seed", str(seed)], host_arg=False)
            port = relay.port
        argv = p["drive"] + args + ["--host", HOST, "--port", str(port)] + p.get("extra", [])
        if p.get("pin"):
            argv += ["--server-key", rx.key]
        t0 = time.monotonic()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        lines = [l for l in r.stdout.splitlines() if l.startswith("BENCH ")]
        if relay_loss is not None:
            # The drivers know nothing of the relay: the loss is the relay's, each way.
            lines = [l.replace(" loss_pct=-", f" loss_pct={float(relay_loss):.1f}") for l in lines]
        wire = [l for l in r.stdout.splitlines() if l.startswith(("WIRE ", "RUNTIME "))]
        if r.returncode != 0 or not lines:
            log(f"  FAILED ({r.returncode}): {' '.join(argv)}\n{r.stdout}{r.stderr}")
            return None, []
        log(f"  {lines[-1]}  [{time.monotonic() - t0:.1f} s]")
        return lines[-1], wire
    except subprocess.TimeoutExpired:
        log(f"  TIMEOUT: {lib} {' '.join(args)}")
        return None, []
    finally:
        if relay:
            relay.stop()
        rx.stop()


def git_rev(root):
    try:
        rev = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except OSError:
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="directory holding rak_bench and the baselines")
    ap.add_argument("--out", required=True, help="output directory (results.txt, meta.json)")
    ap.add_argument("--quick", action="store_true", help="small counts, one run each")
    ap.add_argument("--runs", type=int, default=None, help="runs per test (default 5, quick 1)")
    ap.add_argument("--only", default="", help="run only groups whose name starts with this")
    ap.add_argument("--append", action="store_true",
                    help="add to results.txt instead of replacing it (e.g. to redo one group)")
    args = ap.parse_args()
    runs = args.runs or (1 if args.quick else 5)
    os.makedirs(args.out, exist_ok=True)
    progs = programs(args.bin)
    have_raknet4 = raknet4_available()
    if not have_raknet4:
        log(f"raknet4 (RakNet 4.081 C++ via npm raknet-native) not built in {RAKNET4_MODULES}: "
            "T6 runs without it (tests/interop/setup.sh raknet-native builds it)")
    missing = sorted({p for lib in progs.values() if not lib.get("optional")
                      for p in lib["drive"][:1] if not os.access(p, os.X_OK)})
    if missing:
        sys.exit(f"missing programs (build with -DRAKNET_BENCH_BASELINES=ON): {missing}")

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": git_rev(root),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "loadavg_start": os.getloadavg(),
        "quick": args.quick,
        "runs": runs,
    }
    results_path = os.path.join(args.out, "results.txt")
    prior_seconds = prior_failures = 0
    started = time.monotonic()
    failures = 0
    if args.append:
        try:
            with open(os.path.join(args.out, "meta.json")) as f:
                old = json.load(f)
            meta.update({k: old[k] for k in ("date", "commit", "loadavg_start", "quick", "runs")
                         if k in old})
            prior_seconds, prior_failures = old.get("seconds", 0), old.get("failures", 0)
            meta["appended"] = old.get("appended", []) + [time.strftime("%H:%M:%S") + " " + args.only]
        except (OSError, ValueError):
            pass
    with open(results_path, "a" if args.append else "w") as out:
        for name, nruns, jobs in plan(args.quick, runs, have_raknet4):
            if args.only and not name.startswith(args.only):
                continue
            log(f"{name}: {nruns} run(s) x {len(jobs)} program(s)")
            for run in range(nruns):
                for lib, dargs, recv_lib in jobs:
                    # The relay's loss pattern is seeded per run, the same for every lib.
                    line, wire = run_one(progs, lib, dargs, recv_lib, timeout=600, seed=run + 1)
                    if line:
                        out.write("".join(l + "\n" for l in [line] + wire))
                        out.flush()
                    else:
                        failures += 1
    meta["loadavg_end"] = os.getloadavg()
    meta["seconds"] = round(prior_seconds + time.monotonic() - started, 1)
    meta["failures"] = prior_failures + failures
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    log(f"suite done in {meta['seconds']} s, {failures} failed run(s); {results_path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
