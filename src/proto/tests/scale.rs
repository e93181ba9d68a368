//! Many peers and hostile traffic: a thousand clients on one server, and handshake
//! floods from spoofed sources that must leave no state behind and never get an answer
//! larger than what they sent (docs/protocol.md §4.1, §5.2–5.4).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use super::sim::Net;
use crate::proto::rng::Rng;
use crate::proto::wire::offline::Offline;
use crate::proto::{Config, ConnId, Endpoint, Event, Time};

#[test]
fn a_thousand_clients_connect_to_one_server() {
    const N: usize = 1000;
    let mut net = Net::new(500);
    let s = net.add(Config {
        max_incoming: N as u32,
        ..Config::default()
    });
    let clients: Vec<usize> = (0..N).map(|_| net.add(Config::default())).collect();
    let ids: Vec<ConnId> = clients.iter().map(|&c| net.connect(c, s, b"")).collect();
    let incoming = |n: &Net| {
        n.events(s)
            .iter()
            .filter(|e| matches!(e, Event::Connected { incoming: true, .. }))
            .count()
    };
    net.run_until(|n| incoming(n) == N, Duration::from_secs(30))
        .unwrap();

    let sguid = net.ep(s).guid();
    let mut by_addr: HashMap<SocketAddr, (ConnId, u64)> = HashMap::new();
    for e in net.events(s) {
        match e {
            Event::Connected {
                conn,
                addr,
                guid,
                incoming: true,
            } => assert!(
                by_addr.insert(*addr, (*conn, *guid)).is_none(),
                "{addr} twice"
            ),
            e => panic!("unexpected server event {e:?}"),
        }
    }
    let conns: HashSet<ConnId> = by_addr.values().map(|v| v.0).collect();
    let guids: HashSet<u64> = by_addr.values().map(|v| v.1).collect();
    assert_eq!(conns.len(), N, "distinct ids");
    assert_eq!(guids.len(), N, "distinct GUIDs");
    for (i, &c) in clients.iter().enumerate() {
        let (sid, guid) = by_addr[&net.addr(c)];
        assert_eq!(guid, net.ep(c).guid());
        assert_eq!(net.ep(s).conn_by_guid(guid), Some(sid));
        match net.events(c) {
            [Event::Connected {
                conn,
                guid,
                incoming: false,
                ..
            }] => assert_eq!((*conn, *guid), (ids[i], sguid)),
            other => panic!("client {i}: {other:?}"),
        }
    }
    assert_eq!(net.ep(s).connections().len(), N);
    assert_eq!(net.ep(s).stats().connections_opened, N as u64);
}

/// REQUEST_1 from thousands of spoofed addresses, with every size the offline filter
/// lets through and a few protocol versions, interleaved with forged REQUEST_2s.
#[test]
fn spoofed_request_1_floods_leave_no_state_and_are_never_amplified() {
    let local: SocketAddr = "10.0.0.1:19132".parse().unwrap();
    for cookies in [true, false] {
        let mut ep = Endpoint::new(
            Config {
                max_incoming: 64,
                cookies,
                ..Config::default()
            },
            local,
        );
        let mut rng = Rng::new(42);
        let mut now = Time::from_millis(1000);
        let mut sizes: HashMap<SocketAddr, usize> = HashMap::new();
        let mut buf = Vec::new();
        let mut answers = 0usize;
        for i in 0..20_000u32 {
            let from = SocketAddr::from((
                [100, (i >> 16) as u8, (i >> 8) as u8, i as u8],
                1024 + (i % 50_000) as u16,
            ));
            let mtu = match i % 4 {
                0 => 53,
                1 => 53 + rng.below(40) as u16,
                2 => 576,
                _ => 1492,
            };
            let protocol = [6u8, 6, 6, 10, 11, 5][i as usize % 6];
            let mut req = Vec::new();
            Offline::OpenConnectionRequest1 { protocol, mtu }.encode(&mut req);
            sizes.insert(from, req.len());
            ep.handle_datagram(now, from, &req);
            // Forged REQUEST_2s with guessed cookies. Without cookies a plain REQUEST_2
            // (34 bytes) gets 4.081's 35-byte REPLY_2 and a slot: that is what cookies
            // are for, so that case only sees REQUEST_1.
            if cookies && i % 3 == 0 {
                let mut r2 = Vec::new();
                Offline::OpenConnectionRequest2 {
                    cookie: Some(rng.next_u64() as u32),
                    has_challenge: false,
                    server_addr: local,
                    mtu: 1492,
                    guid: rng.next_u64(),
                }
                .encode(&mut r2);
                // Sent after the REQUEST_1 above; the smaller of the two bounds the answer.
                let len = sizes[&from].min(r2.len());
                sizes.insert(from, len);
                ep.handle_datagram(now, from, &r2);
            }
            if i % 500 == 499 {
                while let Some(t) = ep.poll_transmit(now, &mut buf) {
                    let sent = sizes[&t.destination];
                    assert!(
                        buf.len() <= sent,
                        "{} byte answer to a {sent} byte request (cookies {cookies})",
                        buf.len()
                    );
                    answers += 1;
                }
                now += Duration::from_millis(1);
            }
        }
        assert!(answers > 1000, "{answers}: real-sized probes are answered");
        assert_eq!(
            ep.connection_count(),
            0,
            "no state from REQUEST_1 or a bad cookie"
        );
        assert!(ep.poll_event().is_none());
        assert!(ep.stats().dropped.amplification > 0);
    }
}
