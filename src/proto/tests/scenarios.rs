//! End-to-end protocol scenarios on the simulated network: handshake, data under bad
//! links, splits, disconnects, timeouts, rejections, discovery.

use std::time::Duration;

use super::sim::{Link, Net};
use crate::proto::config::PROTOCOL_BEDROCK_11;
use crate::proto::{
    Config, ConnectFailure, DisconnectReason, Event, Reliability, SendOptions, Time,
};

fn server_config() -> Config {
    Config {
        max_incoming: 8,
        ..Config::default()
    }
}

fn msg(tag: u8, seq: u32, size: usize) -> Vec<u8> {
    let mut m = vec![0x86, tag];
    m.extend_from_slice(&seq.to_be_bytes());
    while m.len() < size {
        m.push((seq as usize + m.len()) as u8);
    }
    m
}

fn seq_of(m: &[u8]) -> u32 {
    u32::from_be_bytes([m[2], m[3], m[4], m[5]])
}

#[test]
fn handshake_connects_both_sides() {
    let mut net = Net::new(1);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (cid, sid) = net.connect_pair(c, s);
    let sguid = net.ep(s).guid();
    let cguid = net.ep(c).guid();
    assert!(net.events(c).iter().any(|e| matches!(e,
        Event::Connected { conn, guid, incoming: false, .. } if *conn == cid && *guid == sguid)));
    assert!(net.events(s).iter().any(|e| matches!(e,
        Event::Connected { conn, guid, incoming: true, .. } if *conn == sid && *guid == cguid)));
    assert!(sid.is_incoming() && !cid.is_incoming());
    assert_eq!(net.ep(c).mtu(cid), Some(1492));
    assert_eq!(net.ep(s).mtu(sid), Some(1492));
}

#[test]
fn mtu_discovery_falls_back_to_smaller_probes() {
    let mut net = Net::new(2).with_link(Link::default().max_datagram(1200 - 28));
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (cid, sid) = net.connect_pair(c, s);
    assert_eq!(net.ep(c).mtu(cid), Some(1200));
    assert_eq!(net.ep(s).mtu(sid), Some(1200));
    // A message larger than one datagram still gets through at the smaller MTU.
    let big = msg(1, 7, 5000);
    net.send(c, cid, &big, SendOptions::new(Reliability::ReliableOrdered));
    net.run_until(|n| !n.messages(s).is_empty(), Duration::from_secs(10))
        .unwrap();
    assert_eq!(net.messages(s)[0].0, big);
}

#[test]
fn bedrock_flavour_connects() {
    let mut net = Net::new(3);
    let cfg = Config {
        protocol_version: PROTOCOL_BEDROCK_11,
        ..server_config()
    };
    let s = net.add(cfg.clone());
    let c = net.add(Config {
        protocol_version: PROTOCOL_BEDROCK_11,
        ..Config::default()
    });
    let (cid, _) = net.connect_pair(c, s);
    net.send(
        c,
        cid,
        &[0xFE, 1, 2, 3],
        SendOptions::new(Reliability::ReliableOrdered),
    );
    net.run_until(|n| !n.messages(s).is_empty(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(net.messages(s)[0].0, vec![0xFE, 1, 2, 3]);
}

#[test]
fn reliable_ordered_on_many_channels_each_way() {
    let mut net = Net::new(4);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (cid, sid) = net.connect_pair(c, s);
    for i in 0..2000u32 {
        let ch = (i % 4) as u8 * 7;
        let o = SendOptions::new(Reliability::ReliableOrdered).on_channel(ch);
        net.send(c, cid, &msg(ch, i, 40), o);
        net.send(s, sid, &msg(ch, i, 40), o);
    }
    net.run_until(
        |n| n.messages(s).len() == 2000 && n.messages(c).len() == 2000,
        Duration::from_secs(30),
    )
    .unwrap();
    for node in [s, c] {
        let mut last = [None::<u32>; 32];
        for (m, ch, rel) in net.messages(node) {
            assert_eq!(rel, Reliability::ReliableOrdered);
            assert_eq!(m[1], ch);
            let q = seq_of(&m);
            if let Some(p) = last[ch as usize] {
                assert!(q > p, "out of order on channel {ch}: {p} then {q}");
            }
            last[ch as usize] = Some(q);
        }
    }
}

#[test]
fn reliable_ordered_survives_a_bad_link() {
    for seed in 0..64 {
        let mut net =
            Net::new(seed).with_link(Link::lossy(0.2).dup(0.05).reorder(0.1).latency_ms(40, 15));
        let s = net.add(server_config());
        let c = net.add(Config::default());
        let (cid, _) = net.connect_pair(c, s);
        for i in 0u32..300 {
            let ch = (i % 3) as u8;
            net.send(
                c,
                cid,
                &msg(ch, i, 30 + (i as usize % 200)),
                SendOptions::new(Reliability::ReliableOrdered).on_channel(ch),
            );
        }
        net.run_until(|n| n.messages(s).len() >= 300, Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("{e}"));
        net.run_for(Duration::from_secs(2));
        let got = net.messages(s);
        assert!(net.dropped > 0, "the link dropped nothing (seed {seed})");
        assert_eq!(got.len(), 300, "duplicates delivered (seed {seed})");
        for ch in 0..3u8 {
            let seqs: Vec<u32> = got
                .iter()
                .filter(|m| m.1 == ch)
                .map(|m| seq_of(&m.0))
                .collect();
            let want: Vec<u32> = (0..300).filter(|i| i % 3 == ch as u32).collect();
            assert_eq!(seqs, want, "channel {ch} (seed {seed})");
        }
    }
}

#[test]
fn reliable_arrives_exactly_once_under_loss_and_duplication() {
    for seed in 0..64 {
        let mut net = Net::new(1000 + seed).with_link(Link::lossy(0.3).dup(0.2).latency_ms(20, 20));
        let s = net.add(server_config());
        let c = net.add(Config::default());
        let (cid, _) = net.connect_pair(c, s);
        for i in 0u32..200 {
            net.send(
                c,
                cid,
                &msg(0, i, 20),
                SendOptions::new(Reliability::Reliable),
            );
        }
        net.run_until(|n| n.messages(s).len() >= 200, Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("{e}"));
        net.run_for(Duration::from_secs(2));
        let mut seqs: Vec<u32> = net.messages(s).iter().map(|m| seq_of(&m.0)).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (0..200).collect::<Vec<_>>(), "seed {seed}");
    }
}

#[test]
fn unreliable_is_never_duplicated() {
    for seed in 0..64 {
        let mut net = Net::new(2000 + seed).with_link(Link::lossy(0.1).dup(0.5).latency_ms(10, 10));
        let s = net.add(server_config());
        let c = net.add(Config::default());
        let (cid, _) = net.connect_pair(c, s);
        for i in 0u32..100 {
            net.send(
                c,
                cid,
                &msg(0, i, 20),
                SendOptions::new(Reliability::Unreliable),
            );
            net.run_for(Duration::from_millis(3));
        }
        net.run_for(Duration::from_secs(1));
        let mut seqs: Vec<u32> = net.messages(s).iter().map(|m| seq_of(&m.0)).collect();
        let n = seqs.len();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), n, "duplicate unreliable delivery (seed {seed})");
        assert!(
            n > 50,
            "too few unreliable messages arrived: {n} (seed {seed})"
        );
    }
}

#[test]
fn large_split_messages_arrive_intact_under_loss() {
    for seed in 0..8 {
        let mut net =
            Net::new(3000 + seed).with_link(Link::lossy(0.1).reorder(0.1).latency_ms(10, 5));
        let s = net.add(server_config());
        let c = net.add(Config::default());
        let (cid, _) = net.connect_pair(c, s);
        let big: Vec<u8> = (0..100 * 1024)
            .map(|i| (i * 7 + seed as usize) as u8)
            .collect();
        let mut first = big.clone();
        first[0] = 0x86;
        net.send(
            c,
            cid,
            &first,
            SendOptions::new(Reliability::ReliableOrdered),
        );
        net.send(
            c,
            cid,
            &msg(0, 1, 10),
            SendOptions::new(Reliability::ReliableOrdered),
        );
        net.run_until(|n| n.messages(s).len() >= 2, Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("{e}"));
        let got = net.messages(s);
        assert_eq!(got[0].0, first, "seed {seed}");
        assert_eq!(got[1].0, msg(0, 1, 10));
    }
    let mut net = Net::new(9);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (cid, _) = net.connect_pair(c, s);
    let mut mib: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    mib[0] = 0x86;
    net.send(c, cid, &mib, SendOptions::new(Reliability::Reliable));
    net.run_until(|n| !n.messages(s).is_empty(), Duration::from_secs(60))
        .unwrap();
    assert_eq!(net.messages(s)[0].0, mib);
}

#[test]
fn clean_disconnect_is_seen_by_both() {
    let mut net = Net::new(5);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (cid, sid) = net.connect_pair(c, s);
    net.send(
        c,
        cid,
        &msg(0, 1, 100),
        SendOptions::new(Reliability::ReliableOrdered),
    );
    let now = net.now;
    net.ep(c).close(now, cid, true).unwrap();
    net.run_until(
        |n| {
            n.events(c).iter().any(|e| {
                matches!(
                    e,
                    Event::Disconnected {
                        reason: DisconnectReason::ClosedLocally,
                        ..
                    }
                )
            }) && n.events(s).iter().any(|e| {
                matches!(
                    e,
                    Event::Disconnected {
                        reason: DisconnectReason::ClosedByRemote,
                        ..
                    }
                )
            })
        },
        Duration::from_secs(5),
    )
    .unwrap();
    // The message queued before the close arrived first.
    assert_eq!(net.messages(s).len(), 1);
    // The notified side lingers half a timeout, acknowledging resends, then forgets.
    net.run_for(Duration::from_secs(6));
    assert_eq!(net.ep(c).connection_count(), 0);
    assert_eq!(net.ep(s).connection_count(), 0);
    let now = net.now;
    assert!(net
        .ep(s)
        .send(now, sid, b"x", SendOptions::default())
        .is_err());
}

#[test]
fn a_vanished_peer_times_out() {
    let mut net = Net::new(6);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (_, sid) = net.connect_pair(c, s);
    let t0 = net.now;
    net.silence(c);
    net.run_until(
        |n| n.events(s).iter().any(|e| matches!(e, Event::Disconnected { conn, reason: DisconnectReason::TimedOut, .. } if *conn == sid)),
        Duration::from_secs(30),
    )
    .unwrap();
    let took = net.now - t0;
    assert!(
        took >= Duration::from_secs(10) && took <= Duration::from_secs(16),
        "{took:?}"
    );
}

#[test]
fn connecting_to_nobody_fails_after_the_probes() {
    let mut net = Net::new(7);
    let c = net.add(Config::default());
    let t0 = net.now;
    let id = crate::proto::ConnId(42);
    let now = net.now;
    net.ep(c)
        .connect(now, id, "10.9.9.9:1".parse().unwrap(), b"")
        .unwrap();
    net.run_until(
        |n| {
            n.events(c)
                .iter()
                .any(|e| matches!(e, Event::ConnectFailed { .. }))
        },
        Duration::from_secs(30),
    )
    .unwrap();
    assert!(
        matches!(net.events(c)[0], Event::ConnectFailed { conn, reason: ConnectFailure::NoResponse, .. } if conn == id)
    );
    let took = net.now - t0;
    assert!(
        took >= Duration::from_secs(6) && took <= Duration::from_secs(7),
        "{took:?}"
    );
}

fn refused(net: &mut Net, c: usize) -> ConnectFailure {
    net.run_until(
        |n| {
            n.events(c)
                .iter()
                .any(|e| matches!(e, Event::ConnectFailed { .. }))
        },
        Duration::from_secs(30),
    )
    .unwrap();
    match net
        .events(c)
        .iter()
        .find(|e| matches!(e, Event::ConnectFailed { .. }))
    {
        Some(Event::ConnectFailed { reason, .. }) => *reason,
        _ => unreachable!(),
    }
}

#[test]
fn wrong_password_is_refused() {
    let mut net = Net::new(8);
    let s = net.add(Config {
        password: b"correct horse".to_vec(),
        ..server_config()
    });
    let c = net.add(Config::default());
    net.connect(c, s, b"wrong");
    assert_eq!(refused(&mut net, c), ConnectFailure::InvalidPassword);
    net.run_for(Duration::from_secs(3));
    assert_eq!(net.ep(s).connection_count(), 0);
    assert!(!net
        .events(s)
        .iter()
        .any(|e| matches!(e, Event::Connected { .. })));
    // And the right one works.
    let c2 = net.add(Config::default());
    net.connect(c2, s, b"correct horse");
    net.run_until(
        |n| {
            n.events(c2)
                .iter()
                .any(|e| matches!(e, Event::Connected { .. }))
        },
        Duration::from_secs(5),
    )
    .unwrap();
}

#[test]
fn full_server_refuses() {
    let mut net = Net::new(10);
    let s = net.add(Config {
        max_incoming: 1,
        ..Config::default()
    });
    let c1 = net.add(Config::default());
    let c2 = net.add(Config::default());
    net.connect_pair(c1, s);
    net.connect(c2, s, b"");
    assert_eq!(refused(&mut net, c2), ConnectFailure::ServerFull);
}

#[test]
fn incompatible_protocol_is_refused() {
    let mut net = Net::new(11);
    let s = net.add(server_config());
    let c = net.add(Config {
        protocol_version: PROTOCOL_BEDROCK_11,
        ..Config::default()
    });
    net.connect(c, s, b"");
    assert_eq!(
        refused(&mut net, c),
        ConnectFailure::IncompatibleProtocol { server_version: 6 }
    );
}

#[test]
fn unconnected_ping_gets_offline_data() {
    let mut net = Net::new(12);
    let s = net.add(Config {
        offline_data: b"hello lobby".to_vec(),
        ..server_config()
    });
    let c = net.add(Config::default());
    let (now, to) = (net.now, net.addr(s));
    net.ep(c).ping(now, to, false);
    net.run_until(
        |n| n.events(c).iter().any(|e| matches!(e, Event::Pong { .. })),
        Duration::from_secs(2),
    )
    .unwrap();
    let sguid = net.ep(s).guid();
    match &net.events(c)[0] {
        Event::Pong {
            addr,
            guid,
            rtt,
            data,
        } => {
            assert_eq!(*addr, to);
            assert_eq!(*guid, sguid);
            assert_eq!(data, b"hello lobby");
            assert_eq!(*rtt, Duration::from_millis(10));
        }
        e => panic!("{e:?}"),
    }
    // The open-connections variant is not answered by a server that accepts nobody.
    net.ep(s).set_max_incoming(0);
    let now = net.now;
    net.ep(c).ping(now, to, true);
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.events(c).len(), 1);
}

#[test]
fn spoofed_request_2_without_cookie_creates_no_state() {
    use crate::proto::wire::offline::Offline;
    let mut net = Net::new(13);
    let s = net.add(server_config());
    let mut buf = Vec::new();
    Offline::OpenConnectionRequest2 {
        cookie: None,
        has_challenge: false,
        server_addr: net.addr(s),
        mtu: 1492,
        guid: 77,
    }
    .encode(&mut buf);
    let now = net.now;
    for i in 0..1000u32 {
        let from = format!("10.1.{}.{}:{}", i / 250, i % 250, 1000 + i)
            .parse()
            .unwrap();
        net.ep(s).handle_datagram(now, from, &buf);
        let mut wrong = buf.clone();
        wrong.splice(17..17, [0, 0, 0, 1, 0]);
        net.ep(s).handle_datagram(now, from, &wrong);
    }
    assert_eq!(net.ep(s).connection_count(), 0);
    let mut out = Vec::new();
    assert!(
        net.ep(s).poll_transmit(now, &mut out).is_none(),
        "no reply to a spoofed source"
    );
    let _ = Time::ZERO;
}

fn delivered_seqs(net: &Net, n: usize, ch: u8) -> Vec<u32> {
    net.messages(n)
        .iter()
        .filter(|m| m.1 == ch)
        .map(|m| seq_of(&m.0))
        .collect()
}

#[test]
fn sequenced_kinds_never_go_backwards() {
    for seed in 0..64 {
        let mut net = Net::new(4000 + seed)
            .with_link(Link::lossy(0.15).reorder(0.3).dup(0.05).latency_ms(20, 30));
        let s = net.add(server_config());
        let c = net.add(Config::default());
        let (cid, _) = net.connect_pair(c, s);
        for i in 0u32..150 {
            net.send(
                c,
                cid,
                &msg(1, i, 24),
                SendOptions::new(Reliability::UnreliableSequenced).on_channel(1),
            );
            net.send(
                c,
                cid,
                &msg(2, i, 24),
                SendOptions::new(Reliability::ReliableSequenced).on_channel(2),
            );
            net.run_for(Duration::from_millis(2));
        }
        net.run_for(Duration::from_secs(10));
        for ch in [1u8, 2] {
            let seqs = delivered_seqs(&net, s, ch);
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "channel {ch} went backwards: {seqs:?} (seed {seed})"
            );
        }
        // Reliable transport: the newest reliable-sequenced message always arrives.
        assert_eq!(delivered_seqs(&net, s, 2).last(), Some(&149), "seed {seed}");
    }
}

#[test]
fn sequenced_after_ordered_waits_for_it() {
    // docs/protocol.md §7.4: sequenced messages sent after ordered message k on a channel are
    // delivered after k, never before.
    for seed in 0..32 {
        let mut net =
            Net::new(5000 + seed).with_link(Link::lossy(0.2).reorder(0.3).latency_ms(10, 20));
        let s = net.add(server_config());
        let c = net.add(Config::default());
        let (cid, _) = net.connect_pair(c, s);
        let o = SendOptions::new(Reliability::ReliableOrdered).on_channel(5);
        let q = SendOptions::new(Reliability::ReliableSequenced).on_channel(5);
        net.send(c, cid, &msg(5, 0, 30), o);
        net.send(c, cid, &msg(5, 1, 30), q);
        net.send(c, cid, &msg(5, 2, 30), q);
        net.send(c, cid, &msg(5, 3, 30), o);
        net.run_until(
            |n| delivered_seqs(n, s, 5).contains(&3),
            Duration::from_secs(60),
        )
        .unwrap();
        let seqs = delivered_seqs(&net, s, 5);
        assert_eq!(seqs.first(), Some(&0), "seed {seed}: {seqs:?}");
        assert_eq!(seqs.last(), Some(&3), "seed {seed}: {seqs:?}");
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "seed {seed}: {seqs:?}"
        );
    }
}

#[test]
fn receipts_match_what_happened() {
    for seed in 0..64 {
        let mut net =
            Net::new(6000 + seed).with_link(Link::lossy(0.2).dup(0.05).latency_ms(15, 10));
        let s = net.add(server_config());
        let c = net.add(Config::default());
        let (cid, _) = net.connect_pair(c, s);
        let mut reliable = Vec::new();
        let mut unreliable = Vec::new();
        for i in 0u32..60 {
            let now = net.now;
            let kind = if i % 3 == 0 {
                Reliability::ReliableOrderedWithAckReceipt
            } else {
                Reliability::ReliableWithAckReceipt
            };
            reliable.push(
                net.ep(c)
                    .send(now, cid, &msg(0, i, 20), SendOptions::new(kind))
                    .unwrap(),
            );
            let r = net
                .ep(c)
                .send(
                    now,
                    cid,
                    &msg(9, i, 20),
                    SendOptions::new(Reliability::UnreliableWithAckReceipt).on_channel(9),
                )
                .unwrap();
            unreliable.push(r);
            net.run_for(Duration::from_millis(5));
        }
        net.run_for(Duration::from_secs(20));
        let receipts: Vec<(crate::proto::Receipt, bool)> = net
            .events(c)
            .iter()
            .filter_map(|e| match e {
                Event::Receipt { receipt, acked, .. } => Some((*receipt, *acked)),
                _ => None,
            })
            .collect();
        for r in &reliable {
            let got: Vec<bool> = receipts.iter().filter(|x| x.0 == *r).map(|x| x.1).collect();
            assert_eq!(got, vec![true], "reliable receipt {r:?} (seed {seed})");
        }
        let delivered: Vec<u32> = delivered_seqs(&net, s, 0).into_iter().collect();
        let _ = delivered;
        let unrel_delivered: std::collections::HashSet<u32> = net
            .messages(s)
            .iter()
            .filter(|m| m.0[1] == 9)
            .map(|m| seq_of(&m.0))
            .collect();
        for (i, r) in unreliable.iter().enumerate() {
            let got: Vec<bool> = receipts.iter().filter(|x| x.0 == *r).map(|x| x.1).collect();
            assert_eq!(
                got.len(),
                1,
                "one outcome per unreliable receipt {r:?} (seed {seed})"
            );
            // An ACKed datagram was delivered; a lost one may still have been delivered
            // (only its ACK was lost), so only one direction is certain.
            if got[0] {
                assert!(
                    unrel_delivered.contains(&(i as u32)),
                    "acked but not delivered (seed {seed})"
                );
            }
        }
    }
}

#[test]
fn memory_stays_bounded_when_the_peer_stops_acknowledging() {
    let mut net = Net::new(14);
    let cap = 256 * 1024;
    let s = net.add(server_config());
    let mut cfg = Config::default();
    cfg.reliability.max_send_buffer_bytes = cap;
    let c = net.add(cfg);
    let (cid, _) = net.connect_pair(c, s);
    // From now on nothing the server sends (ACKs included) reaches the client.
    net.set_link(s, c, Link::lossy(1.0));
    let payload = msg(0, 0, 1000);
    let mut refused = None;
    for i in 0..10_000 {
        let now = net.now;
        match net.ep(c).send(
            now,
            cid,
            &payload,
            SendOptions::new(Reliability::ReliableOrdered),
        ) {
            Ok(_) => {}
            Err(e) => {
                refused = Some((i, e));
                break;
            }
        }
        if i % 50 == 0 {
            net.run_for(Duration::from_millis(20));
        }
    }
    let (at, err) = refused.expect("the send buffer never filled");
    assert_eq!(err, crate::proto::SendError::BufferFull);
    assert!(
        at <= cap / 1000 + 1,
        "accepted {at} messages past a {cap}-byte cap"
    );
    let buffered = net.ep(c).buffered_bytes(cid).unwrap();
    assert!(buffered <= cap, "{buffered} > {cap}");
    // The connection is then declared lost instead of growing forever.
    net.run_until(
        |n| {
            n.events(c).iter().any(|e| {
                matches!(
                    e,
                    Event::Disconnected {
                        reason: DisconnectReason::TimedOut,
                        ..
                    }
                )
            })
        },
        Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(net.ep(c).connection_count(), 0);
}

/// Throughput of one bulk RELIABLE_ORDERED transfer over a 10 MB/s link with 20 ms RTT, by
/// loss rate. Prints the table (`cargo test congestion_summary -- --nocapture`) and checks
/// that loss slows the transfer without stalling it.
#[test]
fn congestion_summary_throughput_vs_loss() {
    let mut rows = Vec::new();
    for loss in [0.0, 0.01, 0.05, 0.10, 0.20] {
        let mut net = Net::new(77).with_link(Link::lossy(loss).latency_ms(10, 0).rate(10_000_000));
        let s = net.add(server_config());
        let c = net.add(Config::default());
        let (cid, _) = net.connect_pair(c, s);
        let total = 2000usize;
        for i in 0..total as u32 {
            net.send(
                c,
                cid,
                &msg(0, i, 1024),
                SendOptions::new(Reliability::ReliableOrdered),
            );
        }
        let t0 = net.now;
        net.run_until(|n| n.messages(s).len() == total, Duration::from_secs(600))
            .unwrap_or_else(|e| panic!("loss {loss}: {e}"));
        let secs = (net.now - t0).as_secs_f64();
        let mbps = (total * 1024) as f64 / secs / 1e6;
        rows.push((loss, mbps));
    }
    eprintln!("loss  throughput (MB/s, 10 MB/s link, 20 ms RTT)");
    for (loss, mbps) in &rows {
        eprintln!("{:>4.0}%  {mbps:.2}", loss * 100.0);
    }
    assert!(
        rows[0].1 > 5.0,
        "a clean link should be mostly used: {:.2} MB/s",
        rows[0].1
    );
    assert!(rows.iter().all(|r| r.1 > 0.05), "stalled: {rows:?}");
}

#[test]
fn disconnect_completes_quickly_when_acks_are_lost() {
    // The side that was notified lingers, acknowledging resends, so the closing side
    // does not have to wait out its timeout when the first ACK is lost.
    let mut slow = Vec::new();
    for seed in 0..32 {
        let mut net = Net::new(7000 + seed).with_link(Link::lossy(0.2).latency_ms(10, 5));
        let s = net.add(server_config());
        let c = net.add(Config::default());
        let (cid, _) = net.connect_pair(c, s);
        let t0 = net.now;
        let now = net.now;
        net.ep(c).close(now, cid, true).unwrap();
        net.run_until(
            |n| {
                n.events(c)
                    .iter()
                    .any(|e| matches!(e, Event::Disconnected { .. }))
            },
            Duration::from_secs(30),
        )
        .unwrap();
        // Without the linger, a lost ACK of the notification leaves the closing side
        // waiting for its whole timeout (10 s).
        if net.now - t0 >= Duration::from_secs(5) {
            slow.push((seed, net.now - t0));
        }
    }
    assert!(
        slow.len() <= 1,
        "closes that waited for the timeout: {slow:?}"
    );
}

#[test]
fn a_new_attempt_replaces_a_lingering_connection() {
    let mut net = Net::new(15);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (cid, _) = net.connect_pair(c, s);
    let now = net.now;
    net.ep(c).close(now, cid, true).unwrap();
    net.run_until(
        |n| {
            n.events(s)
                .iter()
                .any(|e| matches!(e, Event::Disconnected { .. }))
        },
        Duration::from_secs(5),
    )
    .unwrap();
    net.run_for(Duration::from_millis(200));
    // The server still lingers on the old connection; a new client from the very same
    // address and port connects at once instead of getting ALREADY_CONNECTED.
    let addr = net.addr(c);
    net.silence(c);
    let c2 = net.add_at(Config::default(), addr);
    let t0 = net.now;
    net.connect_pair(c2, s);
    assert!(net.now - t0 < Duration::from_secs(1));
}

#[test]
fn bedrock_pongs_carry_a_length_prefix() {
    use crate::proto::wire::offline::{self, Offline};
    let motd = b"MCPE;libraknet;594;1.20.0;0;10;1;world;Survival;1;19132;19133;";
    let mut net = Net::new(16);
    let bedrock = Config {
        protocol_version: PROTOCOL_BEDROCK_11,
        offline_data: motd.to_vec(),
        // Bedrock clients ping with 33 bytes: let them see the MOTD.
        ping_amplification: 16,
        ..server_config()
    };
    let s = net.add(bedrock);
    let c = net.add(Config {
        protocol_version: PROTOCOL_BEDROCK_11,
        ..Config::default()
    });
    // On the wire: u16be length, then the string.
    let mut ping = Vec::new();
    Offline::UnconnectedPing {
        open_connections_only: false,
        time: 5,
        guid: Some(9),
    }
    .encode(&mut ping);
    let now = net.now;
    net.ep(s)
        .handle_datagram(now, "10.9.9.9:5".parse().unwrap(), &ping);
    let mut out = Vec::new();
    net.ep(s).poll_transmit(now, &mut out).unwrap();
    match offline::decode(&out) {
        Some(Ok(Offline::UnconnectedPong { data, .. })) => {
            assert_eq!(&data[..2], &(motd.len() as u16).to_be_bytes());
            assert_eq!(&data[2..], motd);
        }
        other => panic!("{other:?}"),
    }
    // A Bedrock-flavour client hands the application the string alone.
    let (now, to) = (net.now, net.addr(s));
    net.ep(c).ping(now, to, false);
    net.run_until(
        |n| n.events(c).iter().any(|e| matches!(e, Event::Pong { .. })),
        Duration::from_secs(2),
    )
    .unwrap();
    assert!(matches!(&net.events(c)[0], Event::Pong { data, .. } if data == motd));
}

#[test]
fn pongs_never_outgrow_pings_by_default() {
    use crate::proto::wire::offline::{self, Offline};
    let mut net = Net::new(17);
    let s = net.add(Config {
        offline_data: vec![b'x'; 300],
        ..server_config()
    });
    let c = net.add(Config::default());
    // A foreign 33-byte ping: the pong keeps the GUID but not the 300 bytes of data.
    let mut ping = Vec::new();
    Offline::UnconnectedPing {
        open_connections_only: false,
        time: 5,
        guid: Some(9),
    }
    .encode(&mut ping);
    let now = net.now;
    net.ep(s)
        .handle_datagram(now, "10.9.9.9:5".parse().unwrap(), &ping);
    let mut out = Vec::new();
    net.ep(s).poll_transmit(now, &mut out).unwrap();
    assert_eq!(out.len(), ping.len());
    assert!(matches!(
        offline::decode(&out),
        Some(Ok(Offline::UnconnectedPong { data: [], .. }))
    ));
    // A 25-byte ping (no GUID) gets nothing: even a bare pong is larger.
    net.ep(s)
        .handle_datagram(now, "10.9.9.9:5".parse().unwrap(), &ping[..25]);
    assert!(net.ep(s).poll_transmit(now, &mut out).is_none());
    // Our own pings are padded, so they get the whole offline data.
    let (now, to) = (net.now, net.addr(s));
    net.ep(c).ping(now, to, false);
    net.run_until(
        |n| n.events(c).iter().any(|e| matches!(e, Event::Pong { .. })),
        Duration::from_secs(2),
    )
    .unwrap();
    assert!(matches!(&net.events(c)[0], Event::Pong { data, .. } if data.len() == 300));
}

#[test]
fn disconnect_notification_follows_queued_data() {
    // Unordered data queued before a close reaches the other side before the notice
    // (peers that ignore ordering act on DISCONNECTION_NOTIFICATION as it arrives).
    let mut net = Net::new(18);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (cid, _) = net.connect_pair(c, s);
    for i in 0..2000u32 {
        net.send(
            c,
            cid,
            &msg(0, i, 200),
            SendOptions::new(Reliability::Reliable),
        );
    }
    let now = net.now;
    net.ep(c).close(now, cid, true).unwrap();
    net.run_until(
        |n| {
            n.events(s)
                .iter()
                .any(|e| matches!(e, Event::Disconnected { .. }))
        },
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(net.messages(s).len(), 2000);
    assert!(matches!(
        net.events(s).last(),
        Some(Event::Disconnected { .. })
    ));
}
