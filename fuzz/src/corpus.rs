//! Writes the seed corpora (run by the `build_corpus` binary, see its doc).
//!
//! Every datagram of the captured RakNet 4.081 traffic (`tests/vectors/*.txt`) becomes a
//! seed of the wire targets; the frame payloads inside them seed `connected`; each
//! capture's client-to-server half, in the `ops` format, seeds `endpoint_server`, and its
//! server-to-client half seeds `endpoint_client`. Hand-made seeds cover what the captures
//! lack (rejections, cookies, IPv6 addresses, split bombs, C API call sequences). File
//! names are content hashes, so re-running is idempotent. Corpus directories are not
//! committed (`.gitignore`): scripts/fuzz-smoke.sh runs this first.
//!
//! Lives in the fuzz crate so it is compiled once, with the targets, by `cargo fuzz build`.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::ops::{self, Encoder};
use crate::Role;
use raknet::proto::wire::datagram::{self, DataHeader, DatagramKind};
use raknet::proto::wire::frame::Frame;
use raknet::proto::wire::offline::Offline;
use raknet::proto::wire::Reader;

struct Corpus {
    root: PathBuf,
    written: usize,
}

impl Corpus {
    fn put(&mut self, target: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("create corpus dir");
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        let path = dir.join(format!("{:016x}", h.finish()));
        if !path.exists() {
            fs::write(&path, bytes).expect("write seed");
            self.written += 1;
        }
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// (client-to-server, bytes) of one capture, in order.
fn load(path: &Path) -> Vec<(bool, Vec<u8>)> {
    let text = fs::read_to_string(path).expect("read capture");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (dir, hex) = l.split_once(' ')?;
            Some((dir == "c2s", unhex(hex.trim())))
        })
        .collect()
}

/// Frame payloads of a data datagram (wire decoding only).
fn payloads(dg: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if datagram::classify(dg) != Some(DatagramKind::Data) {
        return out;
    }
    let mut r = Reader::new(dg);
    if DataHeader::decode(&mut r).is_err() {
        return out;
    }
    while r.remaining() >= 4 {
        match Frame::decode(&mut r) {
            Ok(f) => out.push(f.payload.to_vec()),
            Err(_) => break,
        }
    }
    out
}

fn offline_samples() -> Vec<Vec<u8>> {
    let v4: SocketAddr = "10.0.0.2:19132".parse().unwrap();
    let v6: SocketAddr = "[fd00::2]:19132".parse().unwrap();
    let msgs = [
        Offline::UnconnectedPing {
            open_connections_only: true,
            time: 1,
            guid: None,
        },
        Offline::UnconnectedPong {
            time: 1,
            guid: 2,
            data: &[0x41; 399],
        },
        Offline::OpenConnectionRequest1 {
            protocol: 11,
            mtu: 576,
        },
        Offline::OpenConnectionReply1 {
            guid: 3,
            cookie: Some(0xDEAD_BEEF),
            has_public_key: false,
            mtu: 1200,
        },
        Offline::OpenConnectionRequest2 {
            cookie: Some(0xDEAD_BEEF),
            has_challenge: false,
            server_addr: v6,
            mtu: 1492,
            guid: 4,
        },
        Offline::OpenConnectionRequest2 {
            cookie: None,
            has_challenge: false,
            server_addr: v4,
            mtu: 400,
            guid: 4,
        },
        Offline::OpenConnectionReply2 {
            guid: 5,
            client_addr: v6,
            mtu: 1492,
            security: true,
        },
        Offline::Rejection { id: 0x14, guid: 6 },
        Offline::Rejection { id: 0x17, guid: 6 },
        Offline::IncompatibleProtocol {
            protocol: 10,
            guid: 7,
        },
        Offline::OutOfBand {
            guid: 8,
            payload: &[0x1D, 1, 2, 3],
        },
    ];
    msgs.iter()
        .map(|m| {
            let mut b = Vec::new();
            m.encode(&mut b);
            b
        })
        .collect()
}

fn ack_nak_samples() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut b = Vec::new();
    datagram::encode_ack_nak(false, &[(0, 0xFF_FFFF)], 1464, &mut b);
    out.push(b.clone());
    b.clear();
    let many: Vec<(u32, u32)> = (0..200).map(|i| (i * 3, i * 3 + 1)).collect();
    datagram::encode_ack_nak(true, &many, 1464, &mut b);
    out.push(b.clone());
    // hasBAndAS ACK (4 AS bytes) with one single-number record.
    out.push(vec![0xE0, 0, 0, 0, 0, 0, 1, 1, 5, 0, 0]);
    out
}

/// Split-target inputs: (rel, count mode+value, id, index mode+value, oi, channel, len).
fn split_samples() -> Vec<Vec<u8>> {
    let frag = |rel: u8, count: u8, index: u8, len: u16| {
        let mut v = vec![0, rel, 0, count - 1, 0, 0, index];
        v.extend_from_slice(&0u16.to_le_bytes()); // ordering index (channel 0, next is 1)
        v.push(0); // channel
        v.extend_from_slice(&len.to_le_bytes());
        v.push(0); // fresh message number
        v
    };
    let mut out = Vec::new();
    // In order and out of order, reliable ordered (ordering index 1 after the handshake).
    let mut a = Vec::new();
    for i in 0..4 {
        let mut f = frag(3, 4, i, 1000);
        f[7] = 1;
        a.extend(f);
    }
    out.push(a);
    let mut b = Vec::new();
    for i in [2, 0, 3, 1] {
        b.extend(frag(2, 4, i, 700));
    }
    out.push(b);
    // A count bomb: 2^32 − 1 fragments announced.
    let mut c = vec![0, 2, 3, 0, 0, 0, 0, 0, 0, 0];
    c.extend_from_slice(&100u16.to_le_bytes());
    c.push(0);
    c.extend([2, 0x10, 0x27]); // time step
    out.push(c);
    out
}

fn ffi_samples() -> Vec<Vec<u8>> {
    let mut pair: Vec<u8> = vec![
        0, // config create
        2, 3, 3, 0, 0, 0, 3, // config[0].max_incoming = 3
        3, 3, 1, // peer[0] from config[0]
        0, 3, 4, 1, // config[1], peer[1] from it
        5, 4, 0, 1, 0, 2, 0, 1, // peer[1] connects to 127.0.0.1:<peer[0] port>
    ];
    for _ in 0..6 {
        pair.extend([15, 3, 16, 1, 1, 3, 15, 4, 16, 1, 1, 3]);
    }
    pair.extend([
        6, 4, 0, 3, 100, 0, 1, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1,
    ]);
    pair.extend([15, 3, 16, 1, 1, 3, 15, 3, 16, 1, 1, 3]);
    pair.extend([16, 3, 8, 4, 0, 1, 15, 4, 16, 1, 1, 3]);
    let handles: Vec<u8> = vec![
        0, 1, 3, 1, 1, 2, 0, 0, 0, 0, 0, 3, 1, 6, 2, 0, 3, 0, 0, 0, 8, 2, 3, 16, 0, 16, 2, 17,
        0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0, 18, 1, 0, 4, 127, 0, 0, 1,
    ];
    let ping: Vec<u8> = vec![
        0, 2, 3, 1, 0, 0, 0, 3, 3, 3, 1, 9, 3, 0, 0, 0, 15, 3, 16, 1, 1, 3,
    ];
    vec![pair, handles, ping]
}

/// Writes every seed under `root/<target>/`; returns how many files were new.
pub fn build(vectors: &Path, root: &Path) -> usize {
    let mut c = Corpus {
        root: root.to_path_buf(),
        written: 0,
    };
    let mut files: Vec<PathBuf> = fs::read_dir(vectors)
        .expect("vectors dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    for path in &files {
        let dgs = load(path);
        let mut server = Encoder::new(0x00);
        let mut client = Encoder::new(0x00);
        for (c2s, d) in &dgs {
            for t in ["offline", "datagram", "frames"] {
                c.put(t, d);
            }
            for p in payloads(d) {
                c.put("connected", &p);
            }
            if *c2s {
                server.datagram(0, d).advance_ms(10);
            } else {
                client.datagram(0, d).advance_ms(10);
            }
        }
        let (server, client) = (server.finish(), client.finish());
        // The captures must still drive the core to a connection, or the seeds are dull.
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        for (role, input) in [(Role::Server, &server), (Role::Client, &client)] {
            let h = ops::run(role, input);
            println!(
                "  {name} as {role:?}: {} connected, {} messages delivered",
                h.target_conns.len(),
                h.delivered.len()
            );
        }
        c.put("endpoint_server", &server);
        c.put("endpoint_client", &client);
    }
    for d in offline_samples().iter().chain(&ack_nak_samples()) {
        for t in ["offline", "datagram", "frames"] {
            c.put(t, d);
        }
    }
    // A well-behaved peer on the other side: connect, exchange, time out.
    for (target, flags) in [
        ("endpoint_server", 0x81u8),
        ("endpoint_client", 0x80),
        ("endpoint_client", 0xC3),
    ] {
        let mut e = Encoder::new(flags);
        for _ in 0..8 {
            e.pump().advance_ms(10);
        }
        e.peer_send(3, 3000).target_send(2, 200);
        for _ in 0..8 {
            e.pump().advance_ms(10);
        }
        e.advance_ms(20_000).pump();
        c.put(target, &e.finish());
    }
    for s in split_samples() {
        c.put("split", &s);
    }
    for s in ffi_samples() {
        c.put("ffi", &s);
    }
    c.written
}
