"""Interop helper for PyPI `raknet` 0.3.0 (bindings around the original C++ RakNet 4.081).

Same command line, event lines, payload and scenarios as the other helpers; see
tests/interop/README.md. The binding has no password and no per-connection close:
--password exits with status 3 (unsupported), and a client disconnects by
shutting its peer down (RakNet then sends ID_DISCONNECTION_NOTIFICATION).
"""

import argparse
import array
import json
import os
import signal
import sys
import time

import raknet
from raknet import MessageIdentifiers as M
from raknet import PacketPriority, PacketReliability

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_UNSUPPORTED = 0, 1, 2, 3
BIG_SIZE = 1024 * 1024
HEADER_LEN = 7
RELIABILITY = {
    "unreliable": 0,
    "unreliable_sequenced": 1,
    "reliable": 2,
    "reliable_ordered": 3,
    "reliable_sequenced": 4,
}
RELIABILITY_NAME = {v: k for k, v in RELIABILITY.items()}
PY_RELIABILITY = {
    0: PacketReliability.UNRELIABLE,
    1: PacketReliability.UNRELIABLE_SEQUENCED,
    2: PacketReliability.RELIABLE,
    3: PacketReliability.RELIABLE_ORDERED,
    4: PacketReliability.RELIABLE_SEQUENCED,
}
REFUSAL = {
    M.ID_CONNECTION_ATTEMPT_FAILED: "attempt_failed",
    M.ID_ALREADY_CONNECTED: "already_connected",
    M.ID_NO_FREE_INCOMING_CONNECTIONS: "server_full",
    M.ID_CONNECTION_BANNED: "banned",
    M.ID_INVALID_PASSWORD: "invalid_password",
    M.ID_INCOMPATIBLE_PROTOCOL_VERSION: "incompatible_protocol",
    M.ID_IP_RECENTLY_CONNECTED: "ip_recently_connected",
}
USER = M.ID_USER_PACKET_ENUM


def event(kind, **fields):
    print(" ".join(["EVENT", kind] + [f"{k}={v}" for k, v in fields.items()]), flush=True)


def result(ok, **fields):
    print(" ".join(["RESULT", "pass" if ok else "fail"] + [f"{k}={v}" for k, v in fields.items()]), flush=True)


M32 = 0xFFFFFFFF


def pattern(seq, size):
    """The first `size` bytes of message seq's pattern (README.md, "Payload"; the same as
    ex_pattern_byte in examples-c/common.h): aligned 4-byte word w is lowbias32 of a value
    keyed by seq, little-endian; a bijection of w, so no aligned word repeats."""
    words = array.array("I")
    x0 = (seq * 0x85EBCA6B + 0x6C69626B) & M32
    for w in range((size + 3) // 4):
        x = (w * 0x9E3779B9 + x0) & M32
        x ^= x >> 16
        x = (x * 0x7FEB352D) & M32
        x ^= x >> 15
        x = (x * 0x846CA68B) & M32
        x ^= x >> 16
        words.append(x)
    if sys.byteorder == "big":
        words.byteswap()
    return words.tobytes()[:size]


def make_payload(first, seq, ch, rel, size):
    size = max(size, HEADER_LEN)
    head = bytes([first]) + seq.to_bytes(4, "big") + bytes([ch, rel])
    return head + pattern(seq, size)[HEADER_LEN:]


def parse_payload(buf):
    if len(buf) < HEADER_LEN:
        return None
    seq = int.from_bytes(buf[1:5], "big")
    if buf[5] >= 32 or buf[6] > 4:
        return None
    if buf != make_payload(buf[0], seq, buf[5], buf[6], len(buf)):
        return None
    return seq, buf[5], buf[6]


def describe(buf):
    f = {"len": len(buf), "first": hex(buf[0])}
    if len(buf) >= 5:
        f["seq"] = int.from_bytes(buf[1:5], "big")
    p = parse_payload(buf)
    if p:
        f["ch"], f["rel"] = p[1], RELIABILITY_NAME[p[2]]
    f["valid"] = 1 if p else 0
    return f


def addr_str(sa):
    return f"{sa.host}:{sa.port}"


def server(o):
    peer = raknet.RakPeer()
    max_conn = o.max_conn if o.max_conn is not None else 8
    peer.startup(o.host, o.port, max_conn, o.protocol if o.protocol is not None else 6)
    peer.max_incoming_connections = max_conn
    peer.offline_ping_response = (o.offline_data or "").encode()
    event("listening", port=o.port, protocol=o.protocol if o.protocol is not None else 6, max_conn=max_conn)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    received = {}
    # who -> echoes held back: RakNet delivers user messages that overtake the peer's
    # NEW_INCOMING_CONNECTION (under loss or reordering), but send() to that peer fails
    # until it arrives; so the echoes wait for it, in order (README.md, quirk 18).
    held = {}
    while not stop:
        p = peer.receive()
        if p is None:
            time.sleep(0.001)
            continue
        data, sa = p.data, p.system_address
        who = addr_str(sa)
        pid = data[0]
        if pid >= USER:
            received[who] = received.get(who, 0) + 1
            event("message", peer=who, **describe(data))
            if o.echo_reliability != "auto":
                rel, ch = RELIABILITY[o.echo_reliability], o.echo_channel or 0
            else:
                parsed = parse_payload(data)
                rel, ch = (parsed[2], parsed[1]) if parsed else (3, o.echo_channel or 0)
            args = (data, PacketPriority.HIGH_PRIORITY, PY_RELIABILITY[rel], ch)
            if who in held:
                held[who].append(args)
            elif peer.send(*args, sa) == 0:
                event("echo-held", peer=who, why="not-yet-connected")
                held[who] = [args]
        elif pid == M.ID_NEW_INCOMING_CONNECTION:
            event("incoming", peer=who)
            for args in held.pop(who, []):
                if peer.send(*args, sa) == 0:
                    event("echo-failed", peer=who)
        elif pid == M.ID_DISCONNECTION_NOTIFICATION:
            held.pop(who, None)
            event("disconnected", peer=who, reason="notification", received=received.get(who, 0))
        elif pid == M.ID_CONNECTION_LOST:
            held.pop(who, None)
            event("disconnected", peer=who, reason="lost", received=received.get(who, 0))
        elif pid in (M.ID_UNCONNECTED_PING, M.ID_UNCONNECTED_PING_OPEN_CONNECTIONS):
            event("ping-seen", peer=who)
        else:
            event("internal", peer=who, id=hex(pid), len=len(data))
            # A 1 MiB message is the big one whatever its first byte: when a misplaced
            # first fragment (quirk 2) changed that byte it is not echoed, but kept for
            # run.sh to judge whose reassembly broke it.
            if len(data) == BIG_SIZE:
                dump_corrupt(data, 0)
    event("shutdown")
    peer.shutdown(0.3)
    return EXIT_PASS


def ping(o):
    peer = raknet.RakPeer()
    peer.startup(None, 0, 1, o.protocol if o.protocol is not None else 6)
    deadline = time.time() + o.timeout
    pong = None
    while pong is None and time.time() < deadline:
        peer.ping(o.host, o.port)
        until = time.time() + 0.5
        while pong is None and time.time() < until:
            p = peer.receive()
            if p is None:
                time.sleep(0.005)
            elif p.data[0] == M.ID_UNCONNECTED_PONG:
                pong = p
    if pong is None:
        result(False, mode="ping", error="no_pong")
        return EXIT_FAIL
    data = pong.data[5:]  # application view: [1C][u32 time][offline data]
    event("pong", **{"from": addr_str(pong.system_address)}, data=json.dumps(data.decode("latin-1")),
          data_hex=data.hex() or "-")
    result(True, mode="ping")
    peer.shutdown(0)
    return EXIT_PASS


class Client:
    def __init__(self, o):
        self.o = o
        self.peer = raknet.RakPeer()
        self.peer.startup(None, 0, 1, o.protocol if o.protocol is not None else 6)
        self.state = "connecting"
        self.refusal = None
        self.server = None
        self.inbox = []

    def pump(self):
        while True:
            p = self.peer.receive()
            if p is None:
                return
            data = p.data
            pid = data[0]
            # A 1 MiB message is always the big echo, even when a misplaced first
            # fragment (quirk 2) left another first byte.
            if pid >= USER or len(data) == BIG_SIZE:
                self.inbox.append(data)
            elif pid == M.ID_CONNECTION_REQUEST_ACCEPTED:
                self.state, self.server = "connected", p.system_address
                event("connected", peer=addr_str(p.system_address))
            elif pid == M.ID_DISCONNECTION_NOTIFICATION:
                self.state = "closed"
                event("disconnected", reason="notification")
            elif pid == M.ID_CONNECTION_LOST:
                self.state = "lost"
                event("disconnected", reason="lost")
            elif pid in REFUSAL:
                self.state, self.refusal = "refused", REFUSAL[pid]
                event("refused", reason=self.refusal, id=hex(pid))
            else:
                event("internal", id=hex(pid), len=len(data))

    def wait(self, cond, seconds):
        end = time.time() + seconds
        while not cond() and time.time() < end:
            self.pump()
            if not cond():
                time.sleep(0.002)
        return cond()

    def send(self, buf, rel, ch):
        self.peer.send(buf, PacketPriority.HIGH_PRIORITY, PY_RELIABILITY[rel], ch, self.server)


def dump_corrupt(buf, seq):
    """Keeps a corrupt echo for run.sh, which checks whose reassembly broke it."""
    where = os.environ.get("RAKNET_INTEROP_DUMP")
    if where:
        path = os.path.join(where, f"corrupt-seq{seq}.bin")
        with open(path, "wb") as f:
            f.write(buf)
        event("dumped", path=path)


def run_steps(c, o):
    steps = {
        "handshake": [],
        "ordered": ["ordered"],
        "reliable": ["reliable"],
        "sequenced": ["sequenced"],
        "big": ["big"],
        "all": ["ordered", "reliable", "sequenced", "big"],
        "all-reliable": ["ordered", "reliable", "big"],
        "disconnect": ["ordered1"],
    }.get(o.scenario)
    if steps is None:
        return False, f"unknown scenario {o.scenario}"
    seq = 0
    deadline = time.time() + o.timeout
    summary = []
    for step in steps:
        sent, per_channel = {}, {}
        rel = 3

        def send(ch, r, size):
            nonlocal seq
            buf = make_payload(o.first_byte, seq, ch, r, size)
            sent[seq] = buf
            per_channel.setdefault(ch, []).append(seq)
            c.send(buf, r, ch)
            seq += 1

        small = lambda i: 16 + (i * 37) % 480  # noqa: E731
        if step in ("ordered", "ordered1"):
            for i in range(1 if step == "ordered1" else o.count):
                for ch in range(4):
                    send(ch, 3, small(i + ch))
        elif step == "reliable":
            rel = 2
            for i in range(o.count):
                send(0, 2, small(i))
        elif step == "sequenced":
            rel = 1
            for i in range(o.count):
                send(1, 1, small(i))
        elif step == "big":
            send(0, 3, BIG_SIZE)
        got, seen, error = {}, set(), None
        last = time.time()
        while error is None:
            c.pump()
            for buf in c.inbox:
                last = time.time()
                s = int.from_bytes(buf[1:5], "big") if len(buf) >= 5 else -1
                if s not in sent and len(buf) == BIG_SIZE:
                    # Its header may be wrong too (quirk 2): the big echo of this step.
                    s = next((k for k, v in sent.items() if len(v) == BIG_SIZE), s)
                want = sent.get(s)
                if want is None:
                    error = f"unexpected echo seq={s} len={len(buf)}"
                elif want != buf:
                    error = f"corrupt echo seq={s} len={len(buf)} expected_len={len(want)}"
                    dump_corrupt(buf, s)
                elif s in seen:
                    error = f"duplicate echo seq={s}"
                if error:
                    break
                seen.add(s)
                got.setdefault(buf[5], []).append(s)
            c.inbox.clear()
            if error or len(seen) == len(sent):
                break
            if c.state != "connected":
                error = f"connection {c.state} after {len(seen)}/{len(sent)} echoes"
            elif rel == 1 and seen and time.time() - last > 2:
                break
            elif time.time() > deadline:
                error = f"timeout after {len(seen)}/{len(sent)} echoes"
            else:
                time.sleep(0.002)
        if error is None:
            for ch, order in got.items():
                if rel == 1 and any(b <= a for a, b in zip(order, order[1:])):
                    error = f"sequenced echo out of order on ch {ch}"
                elif rel == 3 and order != per_channel.get(ch, []):
                    error = f"ordered echoes out of order on ch {ch}"
        if error is None and rel == 1 and len(seen) * 2 < len(sent):
            # loopback loses next to nothing: fewer than half means something is wrong
            error = f"only {len(seen)}/{len(sent)} sequenced echoes arrived"
        fields = dict(step=step, sent=len(sent), echoed=len(seen), result="fail" if error else "pass")
        if error:
            fields["error"] = '"%s"' % error
        event("step", **fields)
        summary.append(f"{step}:{len(seen)}/{len(sent)}")
        if error:
            return False, f"{step}: {error}"
    return True, ",".join(summary) or "connected"


def client(o):
    c = Client(o)
    c.peer.connect(o.host, o.port)
    c.wait(lambda: c.state != "connecting", o.timeout)

    def finish(ok, **fields):
        result(ok, scenario=o.scenario, **fields)
        c.peer.shutdown(0.3)
        return EXIT_PASS if ok else EXIT_FAIL

    expect = {"wrong-password": "invalid_password", "server-full": "server_full",
              "incompatible": "incompatible_protocol"}.get(o.scenario)
    if expect:
        return finish(c.refusal == expect, expected=expect, got=c.refusal or c.state)
    if c.state != "connected":
        return finish(False, error=f"refused_{c.refusal}" if c.refusal else f"not_connected_{c.state}")
    if o.scenario in ("hold", "wait-close"):
        c.wait(lambda: c.state != "connected", o.hold)
        ok = c.state in ("lost", "closed") if o.scenario == "hold" else c.state == "closed"
        return finish(ok, end=c.state)
    ok, detail = run_steps(c, o)
    if ok:
        event("closing")
    return finish(ok, detail='"%s"' % detail)


def main():
    ap = argparse.ArgumentParser(prog="peer")
    ap.add_argument("mode", choices=["server", "client", "ping"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=19132)
    ap.add_argument("--protocol", type=int)
    ap.add_argument("--password")
    ap.add_argument("--max-conn", type=int)
    ap.add_argument("--offline-data")
    ap.add_argument("--scenario", default="all")
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--first-byte", type=lambda s: int(s, 0), default=0x86)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--hold", type=float, default=30)
    ap.add_argument("--echo-reliability", default="auto", choices=["auto"] + list(RELIABILITY))
    ap.add_argument("--echo-channel", type=int)
    o = ap.parse_args()
    if o.password is not None:
        print("UNSUPPORTED password (raknet 0.3.0 exposes neither SetIncomingPassword nor a Connect password)",
              flush=True)
        return EXIT_UNSUPPORTED
    if o.mode == "server":
        return server(o)
    if o.mode == "ping":
        return ping(o)
    return client(o)


if __name__ == "__main__":
    sys.exit(main())
