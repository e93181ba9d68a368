//! The abuse response: a source IP that keeps sending malformed datagrams is ignored for
//! a while (`Config::abuse_threshold`, `abuse_window`, `abuse_ignore`), with a bounded
//! table of per-IP counters.

use std::net::SocketAddr;
use std::time::Duration;

use super::sim::Net;
use crate::proto::access::MAX_ABUSE_TRACKED;
use crate::proto::wire::offline::Offline;
use crate::proto::{Config, Endpoint, Event, Reliability, SendOptions, Time};

const THRESHOLD: u32 = 64;

fn server_config() -> Config {
    Config {
        max_incoming: 8,
        abuse_threshold: THRESHOLD,
        abuse_window: Duration::from_secs(10),
        abuse_ignore: Duration::from_secs(30),
        ..Config::default()
    }
}

fn server() -> Endpoint {
    Endpoint::new(server_config(), "10.0.0.1:19132".parse().unwrap())
}

fn addr(n: u32) -> SocketAddr {
    SocketAddr::from((std::net::Ipv4Addr::from(0xC000_0000 | n), 40_000))
}

/// Two bytes: offline by docs/protocol.md §4.1's short-datagram rule, and malformed.
const JUNK: [u8; 2] = [0x05, 0x00];

fn ping() -> Vec<u8> {
    let mut b = Vec::new();
    Offline::UnconnectedPing {
        open_connections_only: false,
        time: 1,
        guid: Some(7),
    }
    .encode(&mut b);
    b.resize(1200, 0);
    b
}

/// Feeds a ping from `from`; whether the endpoint queued an answer.
fn answers_ping(ep: &mut Endpoint, now: Time, from: SocketAddr) -> bool {
    ep.handle_datagram(now, from, &ping());
    let mut buf = Vec::new();
    let mut answered = false;
    while let Some(t) = ep.poll_transmit(now, &mut buf) {
        answered |= t.destination == from;
    }
    answered
}

#[test]
fn threshold_triggers_and_expiry_restores_service() {
    let mut ep = server();
    let t0 = Time::from_millis(1_000);
    let bad = addr(1);
    assert!(answers_ping(&mut ep, t0, bad));
    for _ in 0..THRESHOLD - 1 {
        ep.handle_datagram(t0, bad, &JUNK);
    }
    assert_eq!(ep.stats().dropped.bad_offline, u64::from(THRESHOLD - 1));
    // One short of the threshold: still served.
    assert!(answers_ping(&mut ep, t0, bad));
    assert_eq!(ep.stats().dropped.ignored_abusive, 0);
    ep.handle_datagram(t0, bad, &JUNK);
    // Ignored now: valid traffic too, and nothing more is classified.
    let before = ep.stats().clone();
    assert!(!answers_ping(&mut ep, t0, bad));
    ep.handle_datagram(t0, bad, &JUNK);
    let after = ep.stats();
    assert_eq!(after.dropped.ignored_abusive, 2);
    assert_eq!(after.dropped.bad_offline, before.dropped.bad_offline);
    assert_eq!(after.datagrams_received, before.datagrams_received + 2);
    // The same IP on another port is the same source; an IPv4-mapped form too.
    let other_port = SocketAddr::new(bad.ip(), 1);
    assert!(!answers_ping(&mut ep, t0, other_port));
    let mapped: SocketAddr = "[::ffff:192.0.0.1]:40000".parse().unwrap();
    assert!(!answers_ping(&mut ep, t0, mapped));
    // Still ignored just before the period ends, served after.
    let t1 = t0 + Duration::from_secs(30);
    assert!(!answers_ping(
        &mut ep,
        t0 + Duration::from_millis(29_999),
        bad
    ));
    assert!(answers_ping(&mut ep, t1, bad));
    assert_eq!(ep.abuse_tracked(), 0);
    // A fresh count: a few more malformed datagrams do not re-trigger.
    for _ in 0..THRESHOLD / 2 {
        ep.handle_datagram(t1, bad, &JUNK);
    }
    assert!(answers_ping(&mut ep, t1, bad));
}

#[test]
fn malformed_traffic_spread_beyond_the_window_is_tolerated() {
    let mut ep = server();
    let bad = addr(2);
    let mut now = Time::from_millis(1_000);
    // Half the threshold per window, for ten windows: never ignored.
    for _ in 0..10 {
        for _ in 0..THRESHOLD / 2 {
            ep.handle_datagram(now, bad, &JUNK);
        }
        now += Duration::from_secs(10);
    }
    assert!(answers_ping(&mut ep, now, bad));
    assert_eq!(ep.stats().dropped.ignored_abusive, 0);
}

#[test]
fn other_sources_keep_working() {
    let mut net = Net::new(61);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (cc, sc) = net.connect_pair(c, s);
    // A malicious client that connected first, then sends malformed datagrams from its
    // connected address (oversize datagrams).
    let m = net.add(Config::default());
    let (_, mc) = net.connect_pair(m, s);
    let maddr = net.addr(m);
    let now = net.now;
    for _ in 0..THRESHOLD {
        net.ep(s).handle_datagram(now, maddr, &[0x84; 1601]);
    }
    assert_eq!(net.ep(s).stats().dropped.oversize, u64::from(THRESHOLD));
    // And some forged sources, each sending a little junk.
    for i in 0..1000 {
        net.ep(s).handle_datagram(now, addr(100 + i), &JUNK);
    }
    let ignored = net.ep(s).stats().dropped.ignored_abusive;
    // The honest client is unaffected.
    net.send(
        c,
        cc,
        b"still here",
        SendOptions::new(Reliability::ReliableOrdered),
    );
    net.run_until(
        |n| {
            n.events(s)
                .iter()
                .any(|e| matches!(e, Event::Message { conn, data, .. } if *conn == sc && data == b"still here"))
        },
        Duration::from_secs(5),
    )
    .unwrap();
    // The ignored source's connection hears nothing more and times out.
    net.run_until(
        |n| {
            n.events(s)
                .iter()
                .any(|e| matches!(e, Event::Disconnected { conn, .. } if *conn == mc))
        },
        Duration::from_secs(20),
    )
    .unwrap();
    assert!(net.ep(s).stats().dropped.ignored_abusive > ignored);
    assert!(!net
        .events(s)
        .iter()
        .any(|e| matches!(e, Event::Disconnected { conn, .. } if *conn == sc)));
}

#[test]
fn table_stays_bounded_under_forged_sources() {
    let mut ep = server();
    let mut now = Time::from_millis(1_000);
    for i in 0..100_000u32 {
        ep.handle_datagram(now, addr(1_000 + i), &JUNK);
        assert!(ep.abuse_tracked() <= MAX_ABUSE_TRACKED);
        if i % 1000 == 999 {
            now += Duration::from_millis(10);
        }
    }
    assert_eq!(ep.abuse_tracked(), MAX_ABUSE_TRACKED);
    // A full table tracks no new source (documented); tracked ones still count.
    let late = addr(500);
    for _ in 0..THRESHOLD {
        ep.handle_datagram(now, late, &JUNK);
    }
    assert!(answers_ping(&mut ep, now, late));
    // Everything expires with its window, and service is whole again.
    now += Duration::from_secs(10);
    assert!(answers_ping(&mut ep, now, late));
    assert_eq!(ep.abuse_tracked(), 0);
    for _ in 0..THRESHOLD {
        ep.handle_datagram(now, late, &JUNK);
    }
    assert!(!answers_ping(&mut ep, now, late));
}

#[test]
fn disabled_when_abuse_ignore_is_zero() {
    for cfg in [
        Config {
            abuse_ignore: Duration::ZERO,
            ..server_config()
        },
        Config {
            abuse_threshold: 0,
            ..server_config()
        },
    ] {
        let mut ep = Endpoint::new(cfg, "10.0.0.1:19132".parse().unwrap());
        let now = Time::from_millis(1_000);
        let bad = addr(3);
        for _ in 0..THRESHOLD * 10 {
            ep.handle_datagram(now, bad, &JUNK);
        }
        assert!(answers_ping(&mut ep, now, bad));
        assert_eq!(ep.stats().dropped.ignored_abusive, 0);
        assert_eq!(ep.abuse_tracked(), 0);
    }
}
