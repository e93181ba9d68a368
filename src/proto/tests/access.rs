//! Who may connect: the ban list (docs/protocol.md §1.5 step 1, §4.4, §5.6's temporary ban)
//! and the per-IP connection frequency limit (`1A`), on the simulated network and on a
//! bare endpoint fed hand-made datagrams.

use std::net::SocketAddr;
use std::time::Duration;

use super::sim::Net;
use crate::proto::wire::datagram::DataHeader;
use crate::proto::wire::frame::{Frame, FrameHeader};
use crate::proto::wire::offline::{self, Offline};
use crate::proto::wire::{id, Writer};
use crate::proto::{
    BanError, Config, ConnectFailure, DisconnectReason, Endpoint, Event, Reliability, Time,
};

fn server_config() -> Config {
    Config {
        max_incoming: 8,
        ..Config::default()
    }
}

/// Runs until node `c` reports a failed attempt; returns why.
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
    net.events(c)
        .iter()
        .find_map(|e| match e {
            Event::ConnectFailed { reason, .. } => Some(*reason),
            _ => None,
        })
        .unwrap()
}

fn connected(net: &Net, n: usize) -> usize {
    net.events(n)
        .iter()
        .filter(|e| matches!(e, Event::Connected { .. }))
        .count()
}

fn request_1(mtu: u16) -> Vec<u8> {
    let mut b = Vec::new();
    Offline::OpenConnectionRequest1 { protocol: 6, mtu }.encode(&mut b);
    b
}

fn drain(ep: &mut Endpoint, now: Time) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(t) = ep.poll_transmit(now, &mut buf) {
        out.push((t.destination, buf.clone()));
    }
    out
}

#[test]
fn a_banned_client_is_refused_and_leaves_no_state() {
    let mut net = Net::new(100);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let now = net.now;
    net.ep(s).add_ban(now, "10.0.*.*", None).unwrap();
    assert!(net.ep_ref(s).is_banned(now, net.addr(c).ip()));
    net.connect(c, s, b"");
    assert_eq!(refused(&mut net, c), ConnectFailure::Banned);
    assert_eq!(net.ep(s).connection_count(), 0);
    assert!(net.events(s).is_empty());
    assert!(net.ep(s).stats().dropped.banned >= 1);

    // Lifted: the same client gets in.
    assert!(net.ep(s).remove_ban("10.0.*.*"));
    assert!(!net.ep(s).remove_ban("10.0.*.*"));
    net.take_events(c);
    net.connect_pair(c, s);
}

#[test]
fn a_ban_expires_in_virtual_time() {
    let mut net = Net::new(101);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let ip = net.addr(c).ip();
    let now = net.now;
    net.ep(s)
        .add_ban(now, "10.0.0.2", Some(Duration::from_secs(3)))
        .unwrap();
    net.connect(c, s, b"");
    assert_eq!(refused(&mut net, c), ConnectFailure::Banned);
    assert!(net.ep_ref(s).is_banned(net.now, ip));
    net.run_for(Duration::from_secs(3));
    assert!(!net.ep_ref(s).is_banned(net.now, ip));
    net.take_events(c);
    net.connect_pair(c, s);

    // clear_bans lifts everything, permanent bans included.
    let now = net.now;
    net.ep(s).add_ban(now, "*.*.*.*", None).unwrap();
    assert!(net.ep_ref(s).is_banned(now, "192.0.2.1".parse().unwrap()));
    net.ep(s).clear_bans();
    assert!(!net.ep_ref(s).is_banned(now, ip));
}

#[test]
fn banning_a_connected_ip_drops_its_connection() {
    let mut net = Net::new(102);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let c2 = net.add(Config::default());
    let (_, sid) = net.connect_pair(c, s);
    let (_, sid2) = net.connect_pair(c2, s);
    let now = net.now;
    net.ep(s).add_ban(now, "10.0.0.2", None).unwrap();
    // Reported at once, and only for the banned address.
    let ev = net.ep(s).poll_event();
    assert!(
        matches!(ev, Some(Event::Disconnected { conn, reason: DisconnectReason::Banned, .. }) if conn == sid),
        "{ev:?}"
    );
    assert_eq!(net.ep(s).connections(), vec![sid2]);
    // The client is not told; its datagrams are answered with 0x17 from now on and it
    // times out.
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
    assert!(net.ep(s).stats().dropped.banned > 0);
    assert!(net.ep(s).is_connected(sid2));
}

#[test]
fn banned_answers_are_rate_limited_and_never_amplify() {
    let local: SocketAddr = "10.0.0.1:19132".parse().unwrap();
    let mut ep = Endpoint::new(server_config(), local);
    let mut now = Time::from_millis(1000);
    ep.add_ban(now, "10.9.*.*", None).unwrap();
    let from: SocketAddr = "10.9.1.1:5000".parse().unwrap();
    let probe = request_1(576);
    for _ in 0..100 {
        ep.handle_datagram(now, from, &probe);
        // Connected-mode traffic is answered the same way (§1.5 step 1).
        ep.handle_datagram(now, from, &[0x84, 0, 0, 0, 0x40, 0, 8, 0x86]);
    }
    let out = drain(&mut ep, now);
    assert_eq!(out.len(), 1, "one answer per IP per 100 ms");
    let (to, bytes) = &out[0];
    assert_eq!(*to, from);
    assert!(matches!(
        offline::decode(bytes),
        Some(Ok(Offline::Rejection {
            id: id::CONNECTION_BANNED,
            ..
        }))
    ));
    assert_eq!(bytes.len(), 25);

    // Another port of the same IP shares the limit; another IP has its own.
    let other_port: SocketAddr = "10.9.1.1:5001".parse().unwrap();
    let other_ip: SocketAddr = "10.9.2.2:5000".parse().unwrap();
    ep.handle_datagram(now, other_port, &probe);
    ep.handle_datagram(now, other_ip, &probe);
    let out = drain(&mut ep, now);
    assert_eq!(out.iter().map(|o| o.0).collect::<Vec<_>>(), vec![other_ip]);

    // 100 ms later: answered again, but never with more bytes than arrived.
    now += Duration::from_millis(100);
    ep.handle_datagram(now, from, &[0x84, 1, 0, 0]);
    assert!(
        drain(&mut ep, now).is_empty(),
        "4 bytes in, 25 would go out"
    );
    ep.handle_datagram(now, from, &probe);
    assert_eq!(drain(&mut ep, now).len(), 1);

    // A flood from many banned IPs: bounded answers, each no larger than its request.
    now += Duration::from_millis(100);
    let mut answers = 0;
    for i in 0..20_000u32 {
        let src = SocketAddr::from(([10, 9, (i >> 8) as u8, i as u8], 1000));
        ep.handle_datagram(now, src, &probe);
        if i % 2000 == 1999 {
            for (_, b) in drain(&mut ep, now) {
                assert!(b.len() <= probe.len());
                answers += 1;
            }
        }
    }
    assert!(answers <= 4096, "{answers}");
    assert_eq!(ep.connection_count(), 0);
    assert!(ep.poll_event().is_none());
    let d = &ep.stats().dropped;
    assert!(d.banned > 20_000 && d.rate_limited > 0, "{d:?}");
}

#[test]
fn ban_patterns_cover_ipv4_wildcards_and_exact_ipv6() {
    let local: SocketAddr = "[::1]:19132".parse().unwrap();
    let mut ep = Endpoint::new(server_config(), local);
    let now = Time::from_millis(1);
    for bad in ["10.0.0", "10.0.0.256", "fe80::g", "10.0.0.0/8", ""] {
        assert_eq!(
            ep.add_ban(now, bad, None),
            Err(BanError::InvalidPattern),
            "{bad:?}"
        );
    }
    ep.add_ban(now, "fe80::1", None).unwrap();
    ep.add_ban(now, "192.168.*.7", None).unwrap();
    let is = |ep: &Endpoint, s: &str| ep.is_banned(now, s.parse().unwrap());
    assert!(is(&ep, "fe80::1"));
    assert!(!is(&ep, "fe80::2"));
    assert!(is(&ep, "192.168.44.7"));
    assert!(is(&ep, "::ffff:192.168.3.7"), "v4-mapped counts as v4");
    assert!(!is(&ep, "192.168.44.8"));
    let from: SocketAddr = "[fe80::1]:7".parse().unwrap();
    ep.handle_datagram(now, from, &request_1(576));
    let out = drain(&mut ep, now);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1[0], id::CONNECTION_BANNED);
}

/// A raw client that completes the offline handshake with a cookie-less server and then
/// sends an application frame instead of CONNECTION_REQUEST.
#[test]
fn a_handshake_violator_is_banned_for_the_timeout() {
    let local: SocketAddr = "10.0.0.1:19132".parse().unwrap();
    let client: SocketAddr = "10.0.0.2:4000".parse().unwrap();
    let cfg = Config {
        cookies: false,
        ..server_config()
    };
    let timeout = cfg.timeout;
    let mut ep = Endpoint::new(cfg, local);
    let mut now = Time::from_millis(1000);
    let mut req2 = Vec::new();
    Offline::OpenConnectionRequest2 {
        cookie: None,
        has_challenge: false,
        server_addr: local,
        mtu: 1492,
        guid: 99,
    }
    .encode(&mut req2);
    ep.handle_datagram(now, client, &req2);
    let out = drain(&mut ep, now);
    assert_eq!(out[0].1[0], id::OPEN_CONNECTION_REPLY_2);
    assert_eq!(ep.connection_count(), 1);

    let mut data = Vec::new();
    let mut w = Writer::new(&mut data);
    DataHeader {
        flags: 0x84,
        number: 0,
    }
    .encode(&mut w);
    Frame {
        header: FrameHeader {
            reliability: Reliability::Unreliable,
            bit_len: 16,
            message_number: 0,
            sequencing_index: 0,
            ordering_index: 0,
            channel: 0,
            split: None,
        },
        payload: &[0x86, 1],
    }
    .encode(&mut w);
    now += Duration::from_millis(10);
    ep.handle_datagram(now, client, &data);
    drain(&mut ep, now);
    assert_eq!(ep.connection_count(), 0, "slot closed");
    assert!(ep.is_banned(now, client.ip()));
    ep.handle_datagram(now, client, &req2);
    let out = drain(&mut ep, now);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1[0], id::CONNECTION_BANNED);

    now += timeout;
    assert!(!ep.is_banned(now, client.ip()));
    ep.handle_datagram(now, client, &req2);
    assert_eq!(drain(&mut ep, now)[0].1[0], id::OPEN_CONNECTION_REPLY_2);
    assert!(
        ep.poll_event().is_none(),
        "the application never heard of it"
    );

    // Configurable: without the rule the IP is not banned.
    let mut ep = Endpoint::new(
        Config {
            cookies: false,
            ban_handshake_violators: false,
            ..server_config()
        },
        local,
    );
    ep.handle_datagram(now, client, &req2);
    ep.handle_datagram(now, client, &data);
    assert_eq!(ep.connection_count(), 0);
    assert!(!ep.is_banned(now, client.ip()));
}

fn limited_server() -> Config {
    Config {
        limit_ip_connection_frequency: true,
        ..server_config()
    }
}

#[test]
fn one_ip_gets_one_slot_per_100_ms_when_limited() {
    let mut net = Net::new(103);
    let s = net.add(limited_server());
    let at = |port: u16| SocketAddr::from(([10, 0, 0, 9], port));
    let c1 = net.add_at(Config::default(), at(1000));
    let c2 = net.add_at(Config::default(), at(1001));
    let c3 = net.add_at(Config::default(), at(1002));
    let other = net.add(Config::default());
    net.connect(c1, s, b"");
    net.connect(c2, s, b"");
    net.connect(other, s, b"");
    assert_eq!(refused(&mut net, c2), ConnectFailure::IpRecentlyConnected);
    net.run_until(
        |n| connected(n, c1) == 1 && connected(n, other) == 1,
        Duration::from_secs(5),
    )
    .unwrap();
    net.run_for(Duration::from_millis(100));
    net.connect_pair(c3, s);
    assert_eq!(connected(&net, s), 3);
}

#[test]
fn the_frequency_limit_is_off_by_default_and_exempts_loopback_when_asked() {
    let at = |ip: [u8; 4], port: u16| SocketAddr::from((ip, port));
    // Default: no limit.
    let mut net = Net::new(104);
    let s = net.add(server_config());
    let a = net.add_at(Config::default(), at([10, 0, 0, 9], 1000));
    let b = net.add_at(Config::default(), at([10, 0, 0, 9], 1001));
    net.connect(a, s, b"");
    net.connect(b, s, b"");
    net.run_until(|n| connected(n, s) == 2, Duration::from_secs(5))
        .unwrap();

    // Limited, loopback exempt (4.081's rule) and not exempt.
    for exempt in [true, false] {
        let mut net = Net::new(105);
        let s = net.add(Config {
            ip_frequency_exempts_loopback: exempt,
            ..limited_server()
        });
        let a = net.add_at(Config::default(), at([127, 0, 0, 1], 1000));
        let b = net.add_at(Config::default(), at([127, 0, 0, 1], 1001));
        net.connect(a, s, b"");
        net.connect(b, s, b"");
        if exempt {
            net.run_until(|n| connected(n, s) == 2, Duration::from_secs(5))
                .unwrap();
        } else {
            assert_eq!(refused(&mut net, b), ConnectFailure::IpRecentlyConnected);
            net.run_for(Duration::from_secs(1));
            assert_eq!(connected(&net, s), 1);
        }
    }
}
