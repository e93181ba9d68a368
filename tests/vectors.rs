//! Byte-for-byte agreement with captured RakNet 4.081 traffic (`tests/vectors/`, format in
//! its README). Every datagram of every `raknet4_*.txt` capture must decode without error
//! through the wire codecs (docs/protocol.md §4.1 offline test first, then §6.1 classification)
//! and re-encode to exactly the captured bytes. Then each scenario's documented facts (the
//! `#` comments of its file) are checked against the decoded values. GUIDs and times differ
//! per run, so those are compared for consistency across messages, not against constants.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use raknet::proto::wire::connected::{
    self, ConnectionRequest, ConnectionRequestAccepted, NewIncomingConnection,
};
use raknet::proto::wire::datagram::{self, DataHeader, DatagramKind, DATA_HEADER_LEN};
use raknet::proto::wire::frame::{Frame, FrameHeader};
use raknet::proto::wire::offline::{self, Offline};
use raknet::proto::wire::{Reader, Writer};
use raknet::proto::Reliability;

/// Reading the capture files.
mod capture {
    use std::path::Path;

    /// Direction of a datagram.
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    pub enum Dir {
        /// Client to server.
        C2s,
        /// Server to client.
        S2c,
    }

    /// One captured file: comment lines and datagrams in capture order.
    pub struct Capture {
        pub name: String,
        pub comments: Vec<String>,
        pub datagrams: Vec<(Dir, Vec<u8>)>,
    }

    fn unhex(s: &str) -> Vec<u8> {
        assert!(s.len() % 2 == 0, "odd hex length");
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
            .collect()
    }

    /// Parses one `.txt` twin; `#` lines must all come before the first datagram.
    pub fn load(path: &Path) -> Capture {
        let text = std::fs::read_to_string(path).expect("read capture");
        let mut comments = Vec::new();
        let mut datagrams = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if let Some(c) = line.strip_prefix('#') {
                assert!(
                    datagrams.is_empty(),
                    "{path:?}:{}: comment after data",
                    n + 1
                );
                comments.push(c.trim().to_string());
                continue;
            }
            let (dir, hex) = line.split_once(' ').expect("'<dir> <hex>'");
            let dir = match dir {
                "c2s" => Dir::C2s,
                "s2c" => Dir::S2c,
                other => panic!("{path:?}:{}: bad direction {other}", n + 1),
            };
            datagrams.push((dir, unhex(hex.trim())));
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .trim_start_matches("raknet4_")
            .to_string();
        Capture {
            name,
            comments,
            datagrams,
        }
    }
}

use capture::{Capture, Dir};

/// A datagram after decoding.
#[derive(Debug)]
enum Decoded<'a> {
    Offline(Offline<'a>),
    Data {
        header: DataHeader,
        frames: Vec<Frame<'a>>,
    },
    AckNak {
        nak: bool,
        ranges: Vec<(u32, u32)>,
    },
}

/// One decoded datagram with its place in the capture.
struct Entry<'a> {
    /// 1-based line number among the datagrams, as in the file comments.
    line: usize,
    dir: Dir,
    bytes: &'a [u8],
    decoded: Decoded<'a>,
}

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn all_captures() -> Vec<Capture> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .expect("tests/vectors")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "txt")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("raknet4_"))
        })
        .collect();
    paths.sort();
    paths.iter().map(|p| capture::load(p)).collect()
}

fn load(name: &str) -> Capture {
    capture::load(&vector_dir().join(format!("raknet4_{name}.txt")))
}

/// Decodes one datagram and checks that re-encoding gives back the same bytes.
fn decode_and_reencode<'a>(cap: &str, line: usize, bytes: &'a [u8]) -> Decoded<'a> {
    let ctx = format!("{cap} datagram {line}");
    if let Some(res) = offline::decode(bytes) {
        let m = res.unwrap_or_else(|e| panic!("{ctx}: offline decode failed: {e}"));
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(out, bytes, "{ctx}: offline re-encode differs ({m:?})");
        return Decoded::Offline(m);
    }
    match datagram::classify(bytes).unwrap_or_else(|| panic!("{ctx}: not a datagram")) {
        DatagramKind::Data => {
            let mut r = Reader::new(bytes);
            let header = DataHeader::decode(&mut r).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let mut frames = Vec::new();
            // §6.2: frames follow until fewer than 4 bytes remain.
            while r.remaining() >= 4 {
                let start = r.position();
                let f = Frame::decode(&mut r)
                    .unwrap_or_else(|e| panic!("{ctx}: frame {}: {e}", frames.len()));
                let mut out = Vec::new();
                f.encode(&mut Writer::new(&mut out));
                assert_eq!(out.len(), f.encoded_len(), "{ctx}");
                assert_eq!(
                    out,
                    &bytes[start..r.position()],
                    "{ctx}: frame {} re-encode differs",
                    frames.len()
                );
                frames.push(f);
            }
            assert!(!frames.is_empty(), "{ctx}: data datagram without frames");
            let mut out = Vec::new();
            {
                let mut w = Writer::new(&mut out);
                header.encode(&mut w);
                for f in &frames {
                    f.encode(&mut w);
                }
            }
            assert_eq!(out, bytes, "{ctx}: datagram re-encode differs");
            Decoded::Data { header, frames }
        }
        kind @ (DatagramKind::Ack | DatagramKind::Nak) => {
            let mut ranges = Vec::new();
            let nak = datagram::decode_ack_nak(bytes, &mut ranges)
                .unwrap_or_else(|e| panic!("{ctx}: ack/nak decode failed: {e}"));
            assert_eq!(nak, kind == DatagramKind::Nak, "{ctx}");
            let mut out = Vec::new();
            let n = datagram::encode_ack_nak(nak, &ranges, usize::MAX, &mut out);
            assert_eq!(n, ranges.len(), "{ctx}");
            assert_eq!(out, bytes, "{ctx}: ack/nak re-encode differs");
            Decoded::AckNak { nak, ranges }
        }
    }
}

fn decode_capture(cap: &Capture) -> Vec<Entry<'_>> {
    cap.datagrams
        .iter()
        .enumerate()
        .map(|(i, (dir, bytes))| Entry {
            line: i + 1,
            dir: *dir,
            bytes,
            decoded: decode_and_reencode(&cap.name, i + 1, bytes),
        })
        .collect()
}

/// Frames of one direction, in capture order, with the datagram line they came in.
fn frames<'e, 'a>(entries: &'e [Entry<'a>], dir: Dir) -> Vec<(usize, &'e Frame<'a>)> {
    entries
        .iter()
        .filter(|e| e.dir == dir)
        .flat_map(|e| match &e.decoded {
            Decoded::Data { frames, .. } => frames.iter().map(|f| (e.line, f)).collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn offline_msgs<'e, 'a>(entries: &'e [Entry<'a>]) -> Vec<(usize, Dir, &'e Offline<'a>)> {
    entries
        .iter()
        .filter_map(|e| match &e.decoded {
            Decoded::Offline(m) => Some((e.line, e.dir, m)),
            _ => None,
        })
        .collect()
}

fn acks<'e>(entries: &'e [Entry<'_>], dir: Dir) -> Vec<(usize, &'e [(u32, u32)])> {
    entries
        .iter()
        .filter(|e| e.dir == dir)
        .filter_map(|e| match &e.decoded {
            Decoded::AckNak { nak: false, ranges } => Some((e.line, ranges.as_slice())),
            _ => None,
        })
        .collect()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

/// The README "Payloads" layout: `86` `seq u32be` `reliability` `channel` then
/// `byte i = (seq + i) & 0xff`. Returns the sequence number.
fn check_user_payload(p: &[u8], reliability: u8, channel: u8, len: usize) -> u32 {
    assert_eq!(p.len(), len, "user payload length");
    assert_eq!(p[0], 0x86, "ID_USER_PACKET_ENUM");
    let seq = u32::from_be_bytes([p[1], p[2], p[3], p[4]]);
    assert_eq!(p[5], reliability, "reliability byte");
    assert_eq!(p[6], channel, "channel byte");
    for (i, &b) in p.iter().enumerate().skip(7) {
        assert_eq!(
            u32::from(b),
            (seq.wrapping_add(i as u32)) & 0xFF,
            "byte {i}"
        );
    }
    seq
}

/// Structural facts common to every capture: data datagram numbers and reliable message
/// numbers run 0, 1, 2... per direction (no loss on loopback); every ACK names datagrams the
/// other side actually sent; control payloads decode with the connected-message codecs.
fn check_common(cap: &Capture, entries: &[Entry<'_>]) {
    for dir in [Dir::C2s, Dir::S2c] {
        let numbers: Vec<u32> = entries
            .iter()
            .filter(|e| e.dir == dir)
            .filter_map(|e| match &e.decoded {
                Decoded::Data { header, .. } => Some(header.number),
                _ => None,
            })
            .collect();
        let expect: Vec<u32> = (0..numbers.len() as u32).collect();
        assert_eq!(numbers, expect, "{}: {dir:?} datagram numbers", cap.name);

        let reliable: Vec<u32> = frames(entries, dir)
            .iter()
            .filter(|(_, f)| f.header.reliability.is_reliable())
            .map(|(_, f)| f.header.message_number)
            .collect();
        let expect: Vec<u32> = (0..reliable.len() as u32).collect();
        assert_eq!(reliable, expect, "{}: {dir:?} message numbers", cap.name);

        let other = if dir == Dir::C2s { Dir::S2c } else { Dir::C2s };
        let sent = numbers.len() as u32;
        for (line, ranges) in acks(entries, other) {
            for &(min, max) in ranges {
                assert!(
                    min <= max && max < sent,
                    "{} line {line}: ack {min}..{max}",
                    cap.name
                );
            }
        }
    }
    for e in entries {
        let b = e.bytes;
        assert!(
            b.len() <= 1464,
            "{} line {}: over MTU - 28",
            cap.name,
            e.line
        );
        let Decoded::Data { header, frames } = &e.decoded else {
            continue;
        };
        assert!(b.len() >= DATA_HEADER_LEN);
        // 4.081 never uses packet pairs (§6.1).
        assert_eq!(header.flags & datagram::FLAG_PACKET_PAIR, 0);
        for f in frames {
            let ctx = format!("{} line {}", cap.name, e.line);
            assert!((f.header.reliability as u8) <= 4, "{ctx}");
            let p = f.payload;
            match p[0] {
                0x00 => {
                    connected::decode_ping(p).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                }
                0x03 => {
                    connected::decode_pong(p).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                }
                0x09 => {
                    let m = ConnectionRequest::decode(p).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                    let mut out = Vec::new();
                    m.encode(&mut out);
                    assert_eq!(out, p, "{ctx}");
                }
                0x10 => {
                    let m = ConnectionRequestAccepted::decode(p)
                        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                    let mut out = Vec::new();
                    m.encode(10, &mut out);
                    assert_eq!(out, p, "{ctx}: ACCEPTED re-encode with 10 addresses");
                }
                0x13 => {
                    let m =
                        NewIncomingConnection::decode(p).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                    let mut out = Vec::new();
                    m.encode(10, &mut out);
                    assert_eq!(out, p, "{ctx}: NIC re-encode with 10 addresses");
                }
                0x15 => assert_eq!(p.len(), 1, "{ctx}: DISCONNECTION_NOTIFICATION"),
                _ => {}
            }
        }
    }
}

#[test]
fn every_capture_decodes_and_reencodes_exactly() {
    let caps = all_captures();
    assert!(caps.len() >= 8, "expected the 8 scenario captures");
    let mut total = 0;
    for cap in &caps {
        assert!(!cap.comments.is_empty(), "{}: no comments", cap.name);
        assert!(!cap.datagrams.is_empty(), "{}: no datagrams", cap.name);
        let entries = decode_capture(cap);
        check_common(cap, &entries);
        total += entries.len();
    }
    assert!(total > 100);
}

/// Offline part of the handshake shared by most captures: REQUEST_1 / REPLY_1 / REQUEST_2
/// (and REPLY_2 unless `rejected`). Returns (server guid, client guid).
fn check_offline_handshake(entries: &[Entry<'_>], rejected: bool) -> (u64, u64) {
    let off = offline_msgs(entries);
    let (l, d, m) = off[0];
    assert_eq!((l, d), (1, Dir::C2s));
    assert_eq!(
        *m,
        Offline::OpenConnectionRequest1 {
            protocol: 6,
            mtu: 1492
        }
    );
    assert_eq!(entries[0].bytes.len(), 1464);

    let (l, d, m) = off[1];
    assert_eq!((l, d), (2, Dir::S2c));
    let Offline::OpenConnectionReply1 {
        guid: server_guid,
        cookie: None,
        has_public_key: false,
        mtu: 1492,
    } = *m
    else {
        panic!("REPLY_1: {m:?}")
    };
    assert_eq!(entries[1].bytes.len(), 28);

    let (l, d, m) = off[2];
    assert_eq!((l, d), (3, Dir::C2s));
    let Offline::OpenConnectionRequest2 {
        cookie: None,
        has_challenge: false,
        server_addr,
        mtu: 1492,
        guid: client_guid,
    } = *m
    else {
        panic!("REQUEST_2: {m:?}")
    };
    assert_eq!(server_addr, addr("127.0.0.1:60000"));
    assert_eq!(entries[2].bytes.len(), 34);

    if !rejected {
        let (l, d, m) = off[3];
        assert_eq!((l, d), (4, Dir::S2c));
        assert_eq!(
            *m,
            Offline::OpenConnectionReply2 {
                guid: server_guid,
                client_addr: addr("127.0.0.1:60001"),
                mtu: 1492,
                security: false,
            }
        );
        assert_eq!(entries[3].bytes.len(), 35);
        assert_eq!(off.len(), 4, "no offline traffic after the handshake");
    }
    (server_guid, client_guid)
}

/// The connected part of a successful handshake (datagrams 5..=11 of every such capture).
/// Returns the message number / ordering index state after it is not needed: the facts are
/// asserted here.
fn check_connected_handshake(entries: &[Entry<'_>], client_guid: u64) {
    let c2s = frames(entries, Dir::C2s);
    let s2c = frames(entries, Dir::S2c);

    // CONNECTION_REQUEST: RELIABLE, message number 0, alone in datagram 5.
    let (line, req) = c2s[0];
    assert_eq!(line, 5);
    assert_eq!(req.header.reliability, Reliability::Reliable);
    assert_eq!(req.header.message_number, 0);
    assert_eq!(req.header.split, None);
    let cr = ConnectionRequest::decode(req.payload).unwrap();
    assert_eq!(cr.guid, client_guid);
    assert!(!cr.security);
    assert_eq!(entries[4].bytes[0], 0x84, "valid | needsBAndAS");

    // ACK of datagram 0 from the server.
    assert!(matches!(
        &entries[5].decoded,
        Decoded::AckNak { nak: false, ranges } if ranges == &[(0, 0)]
    ));

    // ACCEPTED: RELIABLE_ORDERED, ordering index 0 on channel 0, 10 address slots of which
    // only the server's bound address is assigned.
    let (line, acc) = s2c[0];
    assert_eq!(line, 7);
    assert_eq!(acc.header.reliability, Reliability::ReliableOrdered);
    assert_eq!(
        (
            acc.header.message_number,
            acc.header.ordering_index,
            acc.header.channel
        ),
        (0, 0, 0)
    );
    assert_eq!(acc.payload.len(), 96, "1 + 7 + 2 + 10 x 7 + 16");
    assert_eq!(acc.header.bit_len, 96 * 8);
    let a = ConnectionRequestAccepted::decode(acc.payload).unwrap();
    assert_eq!(a.client_addr, addr("127.0.0.1:60001"));
    assert_eq!(a.system_index, 0);
    assert_eq!(a.internal_addrs, vec![addr("127.0.0.1:60000")]);
    assert_eq!(a.request_time, cr.time, "request time echoed");
    let slots = (acc.payload.len() - 1 - 7 - 2 - 16) / 7;
    assert_eq!(
        slots, 10,
        "4.081 writes MAXIMUM_NUMBER_OF_INTERNAL_IDS = 10"
    );

    // NEW_INCOMING_CONNECTION then an UNRELIABLE ping, in one datagram (9).
    let (line, nic) = c2s[1];
    assert_eq!(line, 9);
    assert_eq!(nic.header.reliability, Reliability::ReliableOrdered);
    assert_eq!(
        (
            nic.header.message_number,
            nic.header.ordering_index,
            nic.header.channel
        ),
        (1, 0, 0)
    );
    assert_eq!(nic.payload.len(), 94);
    let n = NewIncomingConnection::decode(nic.payload).unwrap();
    assert_eq!(n.server_addr, addr("127.0.0.1:60000"));
    // The client lists its own bound address, then 9 unassigned slots.
    assert_eq!(n.internal_addrs, vec![addr("127.0.0.1:60001")]);
    assert_eq!(n.server_time, a.server_time, "server time echoed");
    let (line, ping) = c2s[2];
    assert_eq!(line, 9);
    assert_eq!(ping.header.reliability, Reliability::Unreliable);
    let client_ping = connected::decode_ping(ping.payload).unwrap();

    // Server: its own ping and the pong to the client's ping, together in its next data
    // datagram (line 10, or 11 when the client sent a second datagram first).
    let (line, sping) = s2c[1];
    assert!(line == 10 || line == 11, "{line}");
    assert_eq!(sping.header.reliability, Reliability::Unreliable);
    let server_ping = connected::decode_ping(sping.payload).unwrap();
    let (pong_line, spong) = s2c[2];
    assert_eq!(pong_line, line);
    assert_eq!(spong.header.reliability, Reliability::Unreliable);
    assert_eq!(
        connected::decode_pong(spong.payload).unwrap().0,
        client_ping
    );
    // The client's pong echoes the server's ping.
    let cpong = c2s
        .iter()
        .find(|(_, f)| f.payload[0] == 0x03)
        .expect("client pong");
    assert_eq!(
        connected::decode_pong(cpong.1.payload).unwrap().0,
        server_ping
    );
}

#[test]
fn handshake() {
    let cap = load("handshake");
    let entries = decode_capture(&cap);
    assert_eq!(entries.len(), 13);
    let (server_guid, client_guid) = check_offline_handshake(&entries, false);
    assert_ne!(server_guid, client_guid);
    check_connected_handshake(&entries, client_guid);
    // Final ACKs: server acks 1..2 as one range, client acks 1.
    assert!(matches!(
        &entries[11].decoded,
        Decoded::AckNak { nak: false, ranges } if ranges == &[(1, 2)]
    ));
    assert_eq!(entries[11].bytes.len(), 10);
    assert!(matches!(
        &entries[12].decoded,
        Decoded::AckNak { nak: false, ranges } if ranges == &[(1, 1)]
    ));
    // The client was killed: no disconnection notification anywhere.
    for dir in [Dir::C2s, Dir::S2c] {
        assert!(frames(&entries, dir)
            .iter()
            .all(|(_, f)| f.payload[0] != 0x15));
    }
}

#[test]
fn unconnected_ping() {
    let cap = load("unconnected_ping");
    let entries = decode_capture(&cap);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].bytes.len(), 33);
    let Decoded::Offline(Offline::UnconnectedPing {
        open_connections_only: false,
        time,
        guid: Some(client_guid),
    }) = entries[0].decoded
    else {
        panic!("ping: {:?}", entries[0].decoded)
    };
    assert_eq!(time, 10);
    let Decoded::Offline(Offline::UnconnectedPong {
        time: pong_time,
        guid: server_guid,
        data,
    }) = entries[1].decoded
    else {
        panic!("pong: {:?}", entries[1].decoded)
    };
    assert_eq!(entries[1].dir, Dir::S2c);
    assert_eq!(pong_time, time, "ping time echoed");
    assert_ne!(server_guid, client_guid);
    assert_eq!(data, b"RakNet 4.081 offline ping response");
    assert_eq!(entries[1].bytes.len(), 33 + data.len());
}

#[test]
fn no_free_connections() {
    let cap = load("no_free_connections");
    let entries = decode_capture(&cap);
    assert_eq!(entries.len(), 4);
    let (server_guid, _) = check_offline_handshake(&entries, true);
    assert_eq!(entries[3].dir, Dir::S2c);
    assert_eq!(entries[3].bytes.len(), 25);
    let Decoded::Offline(Offline::Rejection { id, guid }) = entries[3].decoded else {
        panic!("{:?}", entries[3].decoded)
    };
    assert_eq!(id, 0x14, "ID_NO_FREE_INCOMING_CONNECTIONS");
    assert_eq!(guid, server_guid);
}

#[test]
fn wrong_password() {
    let cap = load("wrong_password");
    let entries = decode_capture(&cap);
    assert_eq!(entries.len(), 8);
    let (server_guid, client_guid) = check_offline_handshake(&entries, false);

    let c2s = frames(&entries, Dir::C2s);
    assert_eq!(c2s.len(), 1);
    let req = c2s[0].1;
    assert_eq!(req.header.reliability, Reliability::Reliable);
    assert_eq!(req.header.bit_len, 23 * 8);
    let cr = ConnectionRequest::decode(req.payload).unwrap();
    assert_eq!(cr.guid, client_guid);
    assert!(!cr.security);
    assert_eq!(cr.password, b"wrong");

    // §5.6: INVALID_PASSWORD travels as a 9-bit frame: the id and the first GUID byte.
    let s2c = frames(&entries, Dir::S2c);
    assert_eq!(s2c.len(), 1);
    let (line, f) = s2c[0];
    assert_eq!(line, 7);
    assert_eq!(f.header.reliability, Reliability::Reliable);
    assert_eq!(f.header.message_number, 0);
    assert_eq!(f.header.bit_len, 9);
    assert_eq!(f.payload.len(), 2);
    assert_eq!(f.payload[0], 0x18, "ID_INVALID_PASSWORD");
    assert_eq!(f.payload[1], server_guid.to_be_bytes()[0]);
    assert_eq!(entries[6].bytes.len(), 12);
    // Both reliable datagrams were acknowledged.
    assert_eq!(acks(&entries, Dir::S2c), vec![(6, &[(0, 0)][..])]);
    assert_eq!(acks(&entries, Dir::C2s), vec![(8, &[(0, 0)][..])]);
}

/// The last c2s frame is the RELIABLE_ORDERED disconnection notification with the given
/// ordering index, and the server ACKs its datagram in the capture's last line.
fn check_disconnect(entries: &[Entry<'_>], ordering_index: u32) {
    let c2s = frames(entries, Dir::C2s);
    let (line, f) = *c2s.last().unwrap();
    assert_eq!(f.payload, &[0x15]);
    assert_eq!(f.header.bit_len, 8);
    assert_eq!(f.header.reliability, Reliability::ReliableOrdered);
    assert_eq!(
        (f.header.ordering_index, f.header.channel),
        (ordering_index, 0)
    );
    let Decoded::Data { header, .. } = &entries[line - 1].decoded else {
        unreachable!()
    };
    let last = entries.last().unwrap();
    assert_eq!(last.dir, Dir::S2c);
    assert!(matches!(
        &last.decoded,
        Decoded::AckNak { nak: false, ranges } if ranges == &[(header.number, header.number)]
    ));
}

#[test]
fn disconnect() {
    let cap = load("disconnect");
    let entries = decode_capture(&cap);
    assert_eq!(entries.len(), 15);
    let (_, client_guid) = check_offline_handshake(&entries, false);
    check_connected_handshake(&entries, client_guid);
    check_disconnect(&entries, 1);
    // Datagram 14: `84 030000 | 60 0008 020000 010000 00 | 15`.
    assert_eq!(entries[13].bytes.len(), 15);
    let Decoded::Data { header, frames } = &entries[13].decoded else {
        panic!()
    };
    assert_eq!(header.number, 3);
    assert_eq!(frames[0].header.message_number, 2);
}

#[test]
fn reliable_ordered() {
    let cap = load("reliable_ordered");
    let entries = decode_capture(&cap);
    assert_eq!(entries.len(), 32);
    let (_, client_guid) = check_offline_handshake(&entries, false);
    check_connected_handshake(&entries, client_guid);

    let mut payloads = [Vec::new(), Vec::new()];
    for (k, dir) in [Dir::C2s, Dir::S2c].into_iter().enumerate() {
        let user: Vec<&Frame<'_>> = frames(&entries, dir)
            .into_iter()
            .map(|(_, f)| f)
            .filter(|f| f.payload[0] == 0x86)
            .collect();
        assert_eq!(user.len(), 5, "{dir:?}");
        for (i, f) in user.iter().enumerate() {
            assert_eq!(f.header.reliability, Reliability::ReliableOrdered);
            assert_eq!(f.header.channel, 0);
            assert_eq!(f.header.split, None);
            // ACCEPTED (s2c) and NEW_INCOMING_CONNECTION (c2s) took ordering index 0 on
            // channel 0, so the five user messages carry 1..=5.
            assert_eq!(f.header.ordering_index, i as u32 + 1, "{dir:?} message {i}");
            check_user_payload(f.payload, Reliability::ReliableOrdered as u8, 0, 16);
            payloads[k].push(f.payload.to_vec());
        }
    }
    // The server echoes each message unchanged.
    assert_eq!(payloads[0], payloads[1]);
    let seqs: Vec<u32> = payloads[0]
        .iter()
        .map(|p| u32::from_be_bytes([p[1], p[2], p[3], p[4]]))
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    // The c2s disconnect follows on ordering index 6.
    check_disconnect(&entries, 6);
}

#[test]
fn split_5000() {
    let cap = load("split_5000");
    let entries = decode_capture(&cap);
    assert_eq!(entries.len(), 20);
    let (_, client_guid) = check_offline_handshake(&entries, false);
    check_connected_handshake(&entries, client_guid);

    let frags: Vec<(usize, &Frame<'_>)> = frames(&entries, Dir::C2s)
        .into_iter()
        .filter(|(_, f)| f.header.split.is_some())
        .collect();
    assert_eq!(frags.len(), 4);
    assert!(frames(&entries, Dir::S2c)
        .iter()
        .all(|(_, f)| f.header.split.is_none()));
    let first: FrameHeader = frags[0].1.header;
    let id = first.split.unwrap().id;
    let mut whole = Vec::new();
    for (i, &(line, f)) in frags.iter().enumerate() {
        let s = f.header.split.unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.id, id, "same split id");
        assert_eq!(s.index, i as u32, "fragments sent in index order");
        // Fragments share ordering fields, not message numbers (§8.1).
        assert_eq!(f.header.reliability, Reliability::ReliableOrdered);
        assert_eq!(f.header.ordering_index, 1);
        assert_eq!(f.header.channel, 0);
        assert_eq!(f.header.message_number, first.message_number + i as u32);
        let size = [1432, 1432, 1432, 704][i];
        assert_eq!(f.payload.len(), size, "fragment {i} (line {line})");
        assert_eq!(usize::from(f.header.bit_len), size * 8);
        // Alone in its datagram: header 4 + frame header 20 + payload.
        assert_eq!(entries[line - 1].bytes.len(), 4 + 20 + size);
        whole.extend_from_slice(f.payload);
    }
    assert_eq!(
        frags.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        [10, 15, 16, 17]
    );
    check_user_payload(&whole, Reliability::ReliableOrdered as u8, 0, 5000);
    // No fragment exceeds MTU - 60 (§6.4), no datagram MTU - 28.
    assert!(frags.iter().all(|(_, f)| f.payload.len() <= 1432));
    // One ACK covers datagrams 3..6.
    assert!(acks(&entries, Dir::S2c).iter().any(|(_, r)| *r == [(3, 6)]));
    check_disconnect(&entries, 2);
}

#[test]
fn unreliable_sequenced() {
    let cap = load("unreliable_sequenced");
    let entries = decode_capture(&cap);
    assert_eq!(entries.len(), 16);
    let (_, client_guid) = check_offline_handshake(&entries, false);
    check_connected_handshake(&entries, client_guid);

    let seq: Vec<(usize, &Frame<'_>)> = frames(&entries, Dir::C2s)
        .into_iter()
        .filter(|(_, f)| f.header.reliability == Reliability::UnreliableSequenced)
        .collect();
    assert_eq!(seq.len(), 20);
    let mut user_seqs = Vec::new();
    for (i, (_, f)) in seq.iter().enumerate() {
        assert_eq!(f.header.channel, 2);
        assert_eq!(f.header.sequencing_index, i as u32);
        // No ordered message was sent on channel 2, so the ordering index stays 0 (§7.4).
        assert_eq!(f.header.ordering_index, 0);
        assert_eq!(f.header.split, None);
        user_seqs.push(check_user_payload(
            f.payload,
            Reliability::UnreliableSequenced as u8,
            2,
            100,
        ));
    }
    assert!(
        user_seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "{user_seqs:?}"
    );
    // Packed several per datagram: 12 in datagram 9 (after NIC and ping), 8 in 10.
    let in_line = |l: usize| seq.iter().filter(|(line, _)| *line == l).count();
    assert_eq!((in_line(9), in_line(10)), (12, 8));
    assert_eq!(entries[8].bytes.len(), 1440);
    assert!(entries[9].bytes[0] & datagram::FLAG_CONTINUOUS != 0);
    // The disconnect goes on channel 0, whose ordering index 0 was taken by NIC.
    check_disconnect(&entries, 1);
}
