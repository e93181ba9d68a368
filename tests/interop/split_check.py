#!/usr/bin/env python3
"""Decides whose reassembly broke a 1 MiB message in an interop run (run.sh, docs/protocol.md 8.3).

    split_check.py --pcap FILE --peer-port P --size N --seq S --payload helper|rak_client
                   [--delivered FILE [--delivered-by client|server] | --echo-mismatch-at K]
    split_check.py --self-test      (the payload pattern: known answers, no repeats)
    split_check.py --sequenced-indexes --pcap FILE --peer-port P
                                    (prints "frames=N indexes=I,J,..": the sequencing
                                    indexes of the peer's UNRELIABLE_SEQUENCED user frames)

The capture (tcpdump -i lo, Ethernet or Linux cooked, IPv4/UDP) holds one connection
between libraknet and a foreign peer whose UDP port is P. The script rebuilds every split
message of each direction *by fragment index* from the frames on the wire and prints one
line, `VERDICT <word> <explanation>`, exit status 0 for `peer-reassembly`, else 1:

  peer-reassembly  libraknet sent every fragment of the expected message, intact (by index
                   they are exactly the message), and what the peer delivered is those same
                   fragments in another order: the foreign receiver concatenated them in
                   arrival order (RakNet 4.081 HEAD, docs/protocol.md 8.3 and 14.13).
  libraknet        libraknet's fragments are not the expected message, or the echo it
                   delivered differs from what the peer sent: a libraknet bug.
  unknown          the capture is incomplete or the corruption is of another kind.

What the peer delivered: --delivered FILE (the corrupt message the foreign client dumped,
or the foreign server with --delivered-by server: a misplaced first fragment gave the
message another first byte, so the server did not take it for a user message to echo), or, when the foreign peer is the echoing server, its echo as captured on the wire; then
--echo-mismatch-at K is the first wrong byte rak_client reported, which must be where the
captured echo first differs (so libraknet handed its application exactly what it got).
"""
import argparse
import collections
import struct
import sys


def udp_payloads(path):
    """Yields (sport, dport, payload) of the IPv4/UDP packets of a pcap file."""
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return
        magic = struct.unpack("<I", head[:4])[0]
        end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        link = struct.unpack(end + "I", head[20:24])[0]
        skip = {1: 14, 113: 16, 276: 20}.get(link, 0)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            incl = struct.unpack(end + "IIII", rec)[2]
            ip = f.read(incl)[skip:]
            if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            ihl = (ip[0] & 15) * 4
            sport, dport, ulen = struct.unpack(">HHH", ip[ihl:ihl + 6])
            yield sport, dport, ip[ihl + 8:ihl + ulen]


def frames(dg):
    """Yields (split_id, count, index, data) for each split frame of a data datagram."""
    i = 4
    while i + 3 <= len(dg):
        flags = dg[i]
        rel, split = flags >> 5, bool(flags & 0x10)
        bits = struct.unpack(">H", dg[i + 1:i + 3])[0]
        i += 3
        if rel in (2, 3, 4, 6, 7):
            i += 3          # reliable message number
        if rel in (1, 4):
            i += 3          # sequencing index
        if rel in (1, 3, 4, 7):
            i += 4          # ordering index + channel
        info = None
        if split:
            info = struct.unpack(">IHI", dg[i:i + 10])
            i += 10
        n = (bits + 7) // 8
        if info:
            count, sid, index = info
            yield sid, count, index, dg[i:i + n]
        i += n


def sequenced_indexes(pcap, peer_port):
    """The sequencing indexes of the UNRELIABLE_SEQUENCED user frames (first byte 0x86)
    the peer sent, in order: what quirk 4 is about (jsp-raknet writes 0 on every one)."""
    out = []
    for sport, _dport, dg in udp_payloads(pcap):
        if sport != peer_port or not dg or not dg[0] & 0x80 or dg[0] & 0x60:
            continue
        i = 4
        try:
            while i + 3 <= len(dg):
                flags = dg[i]
                rel, split = flags >> 5, bool(flags & 0x10)
                bits = struct.unpack(">H", dg[i + 1:i + 3])[0]
                i += 3
                if rel in (2, 3, 4, 6, 7):
                    i += 3
                seq = None
                if rel in (1, 4):
                    seq = int.from_bytes(dg[i:i + 3], "little")
                    i += 3
                if rel in (1, 3, 4, 7):
                    i += 4
                if split:
                    i += 10
                n = (bits + 7) // 8
                if rel == 1 and n > 0 and dg[i] == 0x86:
                    out.append(seq)
                i += n
        except IndexError:
            continue
    return out


def split_messages(pcap, peer_port):
    """{'to_peer'|'from_peer': [(count, {index: data}), ...]} in order of first fragment."""
    out = {"to_peer": collections.OrderedDict(), "from_peer": collections.OrderedDict()}
    for sport, dport, pl in udp_payloads(pcap):
        if not pl or not pl[0] & 0x80 or pl[0] & 0x60:   # data datagrams only (6.1)
            continue
        if peer_port not in (sport, dport):
            continue
        way = "from_peer" if sport == peer_port else "to_peer"
        try:
            for sid, count, index, data in frames(pl):
                msg = out[way].setdefault(sid, (count, {}))
                msg[1].setdefault(index, data)
        except (struct.error, IndexError):
            continue
    return {k: list(v.values()) for k, v in out.items()}


def pattern(seq, size):
    """Message seq's keyed pattern (README.md, "Payload"; ex_pattern_byte in
    examples-c/common.h): aligned word w is lowbias32(w*0x9e3779b9 + seq*0x85ebca6b +
    0x6c69626b), little-endian."""
    m = 0xFFFFFFFF
    x0 = (seq * 0x85EBCA6B + 0x6C69626B) & m
    out = bytearray()
    for w in range((size + 3) // 4):
        x = (w * 0x9E3779B9 + x0) & m
        x ^= x >> 16
        x = (x * 0x7FEB352D) & m
        x ^= x >> 15
        x = (x * 0x846CA68B) & m
        x ^= x >> 16
        out += x.to_bytes(4, "little")
    return bytes(out[:size])


def expected(kind, seq, size):
    if kind == "helper":   # tests/interop/README.md: first, u32be seq, channel 0, RELIABLE_ORDERED 3
        head = bytes([0x86]) + seq.to_bytes(4, "big") + bytes([0, 3])
    else:                  # rak_client: 134, u32be seq, then the pattern from byte 5
        head = bytes([134]) + seq.to_bytes(4, "big")
    return head + pattern(seq, size)[len(head):]


def is_permutation(data, frags):
    """True if data is the fragments (list of bytes) concatenated in some order."""
    pool = collections.Counter(frags)
    sizes = sorted({len(f) for f in frags}, reverse=True)
    pos = 0
    while pos < len(data):
        for n in sizes:
            chunk = data[pos:pos + n]
            if len(chunk) == n and pool[chunk] > 0:
                pool[chunk] -= 1
                pos += n
                break
        else:
            return False
    return sum(pool.values()) == 0


def whole(msg):
    count, parts = msg
    if len(parts) != count:
        return None
    return b"".join(parts[i] for i in range(count))


def self_test():
    """Checks the payload pattern (run.sh runs this first); exit status 1 on a problem."""
    problems = []
    # Known answers, the same from ex_pattern_byte (examples-c/common.h) and the helpers.
    for seq, want in ((0, "96c089ff4bffdd9f20b67e54cb8151a1"), (1, "62b5f3efa3594c8c5c8ab1966c8c16e8"),
                      (0xFFFFFFFF, None)):
        got = pattern(seq, 16).hex()
        if want is not None and got != want:
            problems.append(f"pattern({seq}) starts {got}, not {want}")
    size = 1 << 20
    for kind in ("rak_client", "helper"):
        msg = expected(kind, 0, size)
        words = [msg[i:i + 4] for i in range(8, size, 4)]
        if len(set(words)) != len(words):
            problems.append(f"{kind}: an aligned 4-byte word repeats within one 1 MiB message")
        # Two equal fragments 256 bytes times anything apart, swapped: must show.
        frag = 1280
        frags = [msg[i:i + frag] for i in range(0, size, frag)]
        swapped = b"".join([frags[0], frags[2], frags[1]] + frags[3:])
        if swapped == msg:
            problems.append(f"{kind}: swapping fragments 1 and 2 ({frag} bytes each) leaves the message unchanged")
        elif not is_permutation(swapped, frags):
            problems.append(f"{kind}: a reordering of the fragments is not recognised as one")
    if pattern(1, 64) == pattern(2, 64):
        problems.append("messages 1 and 2 have the same pattern")
    for p in problems:
        print(f"self-test: {p}")
    print("self-test: " + ("FAILED" if problems else "ok"))
    return 1 if problems else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    if sys.argv[1:2] == ["--sequenced-indexes"]:
        ap = argparse.ArgumentParser()
        ap.add_argument("--sequenced-indexes", action="store_true")
        ap.add_argument("--pcap", required=True)
        ap.add_argument("--peer-port", type=int, required=True)
        o = ap.parse_args()
        idx = sequenced_indexes(o.pcap, o.peer_port)
        print(f"frames={len(idx)} indexes={','.join(str(i) for i in sorted(set(idx)))}")
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--pcap", help="without it: judge from --delivered alone (weaker: cannot tell whose reassembly)")
    ap.add_argument("--peer-port", type=int, required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--payload", choices=["helper", "rak_client"], required=True)
    ap.add_argument("--delivered")
    ap.add_argument("--delivered-by", choices=["client", "server"], default="client")
    ap.add_argument("--echo-mismatch-at", type=int)
    o = ap.parse_args()

    def verdict(word, why):
        print(f"VERDICT {word} {why}")
        sys.exit(0 if word == "peer-reassembly" else 1)

    want = expected(o.payload, o.seq, o.size)
    if not o.pcap:
        if not o.delivered:
            verdict("unknown", "neither a capture nor the delivered message")
        with open(o.delivered, "rb") as f:
            got = f.read()
        if got == want or len(got) != len(want):
            verdict("unknown", "the delivered message is intact or of another length")
        for size in range(1464, 399, -1):   # fragment size: MTU - 60 for 4.081 and libraknet
            frags = [want[i:i + size] for i in range(0, len(want), size)]
            if is_permutation(got, frags):
                verdict("peer-reassembly", f"unverified (no capture): the message is its own {len(frags)} "
                        f"fragments of {size} bytes in another order, the mark of arrival-order reassembly")
        verdict("unknown", "the delivered message is not a reordering of fragments of one size")
    msgs = split_messages(o.pcap, o.peer_port)
    sent = [m for m in msgs["to_peer"] if m[0] > 1]
    if not sent:
        verdict("unknown", "no split message from libraknet in the capture")
    count, parts = max(sent, key=lambda m: m[0])
    if len(parts) != count:
        verdict("unknown", f"capture incomplete: {len(parts)} of libraknet's {count} fragments seen")
    ours = whole((count, parts))
    if ours != want:
        verdict("libraknet", f"libraknet's {count} fragments, joined by index, are not the message it was given")
    frags = [parts[i] for i in range(count)]

    if o.delivered:
        with open(o.delivered, "rb") as f:
            got = f.read()
        where = f"the foreign {o.delivered_by} delivered"
    else:
        echoes = [whole(m) for m in msgs["from_peer"] if m[0] == count]
        echoes = [e for e in echoes if e is not None and len(e) == o.size]
        if not echoes:
            verdict("unknown", "the peer's echo is not complete in the capture")
        got = echoes[-1]
        where = "the foreign server echoed"
        if got == want:
            verdict("libraknet", "the peer's echo is intact on the wire, so libraknet's reassembly broke it")
        first = next(i for i in range(len(got)) if got[i] != want[i])
        if o.echo_mismatch_at is not None and first != o.echo_mismatch_at:
            verdict("libraknet", f"the echo on the wire first differs at byte {first}, rak_client reported {o.echo_mismatch_at}")
    if got == want:
        verdict("unknown", f"what {where} is intact")
    if len(got) != len(want) or not is_permutation(got, frags):
        verdict("unknown", f"what {where} is not a reordering of libraknet's fragments")
    first = next(i for i in range(len(got)) if got[i] != want[i])
    verdict("peer-reassembly",
            f"libraknet's {count} fragments are intact by index; {where} them in another order "
            f"(first wrong byte {first}, fragment {first // len(frags[0])}): arrival-order reassembly of 4.081 HEAD")


if __name__ == "__main__":
    main()
