//! The abuse response: an endpoint (address and port) that keeps sending malformed
//! datagrams is ignored for a while, and its whole IP once several of its endpoints are
//! (`Config::abuse_threshold`, `abuse_window`, `abuse_ignore`, `abuse_widen`), with
//! bounded tables; established connections keep being served throughout.

use std::net::SocketAddr;
use std::time::Duration;

use super::sim::Net;
use crate::proto::abuse::MAX_ABUSE_TRACKED;
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
    // The source is the endpoint: its IPv4-mapped form is the same one, another port of
    // the IP is not (one endpoint punished is below `abuse_widen`).
    let mapped: SocketAddr = "[::ffff:192.0.0.1]:40000".parse().unwrap();
    assert!(!answers_ping(&mut ep, t0, mapped));
    let other_port = SocketAddr::new(bad.ip(), 1);
    assert!(answers_ping(&mut ep, t0, other_port));
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
    // The offender's own connection is still served: its valid datagrams cannot be told
    // from a player's whose address was forged for the garbage. Its offline traffic is
    // ignored.
    assert!(!answers_ping(net.ep(s), now, maddr));
    assert!(net.ep(s).stats().dropped.ignored_abusive > ignored);
    net.run_for(Duration::from_secs(20));
    assert!(!net
        .events(s)
        .iter()
        .any(|e| matches!(e, Event::Disconnected { .. })));
    assert!(net.ep(s).is_connected(mc) && net.ep(s).is_connected(sc));
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

/// Endpoints of one IP that must be punished within the window before the whole IP is
/// ignored (`Config::abuse_widen`'s default).
const WIDEN: u16 = 4;

/// Sends `THRESHOLD` malformed datagrams from `from` into node `n` at the current time.
fn flood_junk(net: &mut Net, n: usize, from: SocketAddr) {
    let now = net.now;
    for _ in 0..THRESHOLD {
        net.ep(n).handle_datagram(now, from, &JUNK);
    }
}

/// Whether node `n` has seen `conn` end.
fn ended(net: &Net, n: usize, conn: crate::proto::ConnId) -> bool {
    net.events(n).iter().any(|e| {
        matches!(e, Event::Disconnected { conn: c, .. } | Event::ConnectFailed { conn: c, .. } if *c == conn)
    })
}

/// An application message (first byte past RakNet's own message ids) carrying `n`.
fn user_message(n: u32) -> [u8; 5] {
    let b = n.to_le_bytes();
    [0x86, b[0], b[1], b[2], b[3]]
}

#[test]
fn spoofed_garbage_from_a_players_address_does_not_cut_its_connection() {
    let mut net = Net::new(62);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (cc, sc) = net.connect_pair(c, s);
    let caddr = net.addr(c);
    // An off-path attacker forges the player's exact address and port, and keeps at it.
    let start = net.now;
    let mut round = 0u32;
    while net.now < start + Duration::from_secs(40) {
        if round % 10 == 0 {
            flood_junk(&mut net, s, caddr);
        }
        round += 1;
        let msg = user_message(round);
        net.send(c, cc, &msg, SendOptions::new(Reliability::ReliableOrdered));
        net.send(s, sc, &msg, SendOptions::new(Reliability::ReliableOrdered));
        net.run_for(Duration::from_millis(500));
    }
    assert!(
        net.ep(s).stats().dropped.ignored_abusive > 0,
        "the endpoint was punished"
    );
    assert!(!ended(&net, s, sc), "server side cut");
    assert!(!ended(&net, c, cc), "client side cut");
    // Everything sent both ways arrived, in order.
    net.run_for(Duration::from_secs(2));
    let got = |net: &Net, n: usize| -> Vec<u32> {
        net.messages(n)
            .iter()
            .map(|(d, ..)| u32::from_le_bytes(d[1..5].try_into().unwrap()))
            .collect()
    };
    assert_eq!(got(&net, s), (1..=round).collect::<Vec<_>>());
    assert_eq!(got(&net, c), (1..=round).collect::<Vec<_>>());
    // Only the punished endpoint's offline traffic is ignored meanwhile.
    flood_junk(&mut net, s, caddr);
    let now = net.now;
    assert!(!answers_ping(net.ep(s), now, caddr));
}

#[test]
fn garbage_from_one_port_does_not_block_another_port_of_the_same_ip() {
    let mut net = Net::new(63);
    let s = net.add(server_config());
    // Carrier-grade NAT: the abuser and an honest player share 192.0.2.1.
    let abuser: SocketAddr = "192.0.2.1:5000".parse().unwrap();
    flood_junk(&mut net, s, abuser);
    let now = net.now;
    assert!(
        !answers_ping(net.ep(s), now, abuser),
        "the abusive endpoint is ignored"
    );
    let p = net.add_at(Config::default(), "192.0.2.1:6000".parse().unwrap());
    let (pc, sc) = net.connect_pair(p, s);
    net.send(
        p,
        pc,
        b"hello",
        SendOptions::new(Reliability::ReliableOrdered),
    );
    net.run_until(
        |n| {
            n.events(s).iter().any(
            |e| matches!(e, Event::Message { conn, data, .. } if *conn == sc && data == b"hello"),
        )
        },
        Duration::from_secs(5),
    )
    .unwrap();
    // The abusive endpoint itself cannot open a connection while it is ignored.
    let a = net.add_at(Config::default(), abuser);
    let ac = net.connect(a, s, b"");
    net.run_until(|n| ended(n, a, ac), Duration::from_secs(20))
        .unwrap();
    assert_eq!(net.ep(s).connection_count(), 1);
}

#[test]
fn several_punished_endpoints_widen_to_the_ip() {
    let mut ep = server();
    let t0 = Time::from_millis(1_000);
    let port = |p: u16| SocketAddr::new("192.0.2.9".parse().unwrap(), p);
    for p in 1..WIDEN {
        for _ in 0..THRESHOLD {
            ep.handle_datagram(t0, port(p), &JUNK);
        }
        assert!(!answers_ping(&mut ep, t0, port(p)));
    }
    // One short of widening: a fresh port of the IP is still served.
    assert!(answers_ping(&mut ep, t0, port(100)));
    let t1 = t0 + Duration::from_secs(1);
    for _ in 0..THRESHOLD {
        ep.handle_datagram(t1, port(WIDEN), &JUNK);
    }
    // Now the whole IP is ignored, also on ports that never misbehaved, in either form.
    assert!(!answers_ping(&mut ep, t1, port(101)));
    let mapped: SocketAddr = "[::ffff:192.0.2.9]:102".parse().unwrap();
    assert!(!answers_ping(&mut ep, t1, mapped));
    assert!(answers_ping(&mut ep, t1, addr(7)), "other IPs are served");
    // Until the period ends.
    let t2 = t1 + Duration::from_secs(30);
    assert!(!answers_ping(
        &mut ep,
        Time::from_micros(t2.as_micros() - 1),
        port(101)
    ));
    assert!(answers_ping(&mut ep, t2, port(101)));
    assert!(answers_ping(&mut ep, t2, port(1)));
}

#[test]
fn punished_endpoints_spread_beyond_the_window_do_not_widen() {
    let mut ep = server();
    let port = |p: u16| SocketAddr::new("192.0.2.10".parse().unwrap(), p);
    let mut now = Time::from_millis(1_000);
    // One endpoint short of widening per window, for several windows.
    for p in 1..=3 * WIDEN {
        for _ in 0..THRESHOLD {
            ep.handle_datagram(now, port(p), &JUNK);
        }
        assert!(answers_ping(&mut ep, now, port(1_000 + p)), "port {p}");
        if p % (WIDEN - 1) == 0 {
            now += Duration::from_secs(10);
        }
    }
}

#[test]
fn an_ip_ignored_as_a_whole_still_serves_its_established_connections() {
    let mut net = Net::new(64);
    let s = net.add(server_config());
    let p = net.add_at(Config::default(), "192.0.2.7:7000".parse().unwrap());
    let (pc, sc) = net.connect_pair(p, s);
    let ip = net.addr(p).ip();
    for port in 1..=WIDEN {
        flood_junk(&mut net, s, SocketAddr::new(ip, port));
    }
    let now = net.now;
    let fresh: SocketAddr = "192.0.2.7:8000".parse().unwrap();
    assert!(!answers_ping(net.ep(s), now, fresh), "the IP is ignored");
    // A new connection from the IP is not accepted meanwhile...
    let n = net.add_at(Config::default(), fresh);
    let nc = net.connect(n, s, b"");
    // ...while the established one keeps talking both ways.
    for i in 0..40 {
        net.send(
            p,
            pc,
            &user_message(i),
            SendOptions::new(Reliability::ReliableOrdered),
        );
        net.send(
            s,
            sc,
            &user_message(i),
            SendOptions::new(Reliability::ReliableOrdered),
        );
        net.run_for(Duration::from_millis(500));
    }
    assert!(ended(&net, n, nc));
    assert_eq!(net.messages(s).len(), 40);
    assert_eq!(net.messages(p).len(), 40);
    assert!(!ended(&net, s, sc) && !ended(&net, p, pc));
}
