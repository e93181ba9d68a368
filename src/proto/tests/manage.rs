//! The application's view of the connection table: lookups, per-connection timeouts,
//! per-call connect options, cancelling attempts, ADVERTISE_SYSTEM and out-of-band data
//! (docs/protocol.md §4.2, §4.3, §5.2, §10.3).

use std::net::SocketAddr;
use std::time::Duration;

use super::sim::Net;
use crate::proto::wire::offline::Offline;
use crate::proto::{
    Config, ConnId, ConnectFailure, ConnectOptions, DisconnectReason, Endpoint, Event, SendError,
    Time,
};

fn server_config() -> Config {
    Config {
        max_incoming: 8,
        ..Config::default()
    }
}

fn timed_out(net: &Net, n: usize, id: ConnId) -> bool {
    net.events(n).iter().any(|e| {
        matches!(e, Event::Disconnected { conn, reason: DisconnectReason::TimedOut, .. } if *conn == id)
    })
}

fn failed(net: &Net, n: usize) -> Option<ConnectFailure> {
    net.events(n).iter().find_map(|e| match e {
        Event::ConnectFailed { reason, .. } => Some(*reason),
        _ => None,
    })
}

#[test]
fn lookups_follow_the_connection_table() {
    let mut net = Net::new(200);
    let s = net.add(server_config());
    let clients: Vec<usize> = (0..3).map(|_| net.add(Config::default())).collect();
    let saddr = net.addr(s);
    let sguid = net.ep(s).guid();
    let mut ids = Vec::new();
    for &c in &clients {
        let cid = net.connect(c, s, b"");
        // While probing, the attempt is found by address but is not a connection yet.
        assert_eq!(net.ep(c).conn_by_addr(saddr), Some(cid));
        assert!(net.ep(c).connections().is_empty());
        assert_eq!(net.ep(c).conn_guid(cid), None);
        ids.push(cid);
    }
    let caddrs: Vec<SocketAddr> = clients.iter().map(|&c| net.addr(c)).collect();
    net.run_until(
        |n| caddrs.iter().all(|a| n.incoming_id(s, *a).is_some()),
        Duration::from_secs(5),
    )
    .unwrap();
    let mut sids = Vec::new();
    for (i, &c) in clients.iter().enumerate() {
        let sid = net.incoming_id(s, caddrs[i]).unwrap();
        let cguid = net.ep(c).guid();
        assert_eq!(net.ep(s).conn_guid(sid), Some(cguid));
        assert_eq!(net.ep(s).conn_by_guid(cguid), Some(sid));
        assert_eq!(net.ep(s).conn_by_addr(caddrs[i]), Some(sid));
        assert_eq!(net.ep(c).connections(), vec![ids[i]]);
        assert_eq!(net.ep(c).conn_guid(ids[i]), Some(sguid));
        assert_eq!(net.ep(c).conn_by_guid(sguid), Some(ids[i]));
        sids.push(sid);
    }
    sids.sort();
    assert_eq!(net.ep(s).connections(), sids);

    // Closed: gone from every lookup.
    let now = net.now;
    net.ep(s).close(now, sids[0], false).unwrap();
    let cguid = net.ep(clients[0]).guid();
    assert_eq!(net.ep(s).connections(), sids[1..].to_vec());
    assert_eq!(net.ep(s).conn_by_guid(cguid), None);
    assert_eq!(net.ep(s).conn_guid(sids[0]), None);
    assert_eq!(net.ep(s).conn_by_addr(caddrs[0]), None);
}

#[test]
fn a_per_connection_timeout_overrides_the_config() {
    let mut net = Net::new(201);
    let s = net.add(server_config());
    let c1 = net.add(Config::default());
    let c2 = net.add(Config::default());
    let (_, sid1) = net.connect_pair(c1, s);
    let (_, sid2) = net.connect_pair(c2, s);
    let now = net.now;
    net.ep(s)
        .set_conn_timeout(now, sid1, Duration::from_secs(2))
        .unwrap();
    assert_eq!(
        net.ep(s)
            .set_conn_timeout(now, ConnId(12345), Duration::from_secs(2)),
        Err(SendError::UnknownConnection)
    );
    let t0 = net.now;
    net.silence(c1);
    net.silence(c2);
    net.run_until(|n| timed_out(n, s, sid1), Duration::from_secs(10))
        .unwrap();
    let took = net.now - t0;
    assert!(
        // Counted from the last datagram heard, just before the silence.
        took >= Duration::from_millis(1900) && took <= Duration::from_secs(4),
        "{took:?}"
    );
    assert!(!timed_out(&net, s, sid2), "the default 10 s still applies");
    net.run_until(|n| timed_out(n, s, sid2), Duration::from_secs(20))
        .unwrap();
    assert!(net.now - t0 >= Duration::from_secs(10));
}

#[test]
fn connect_with_sets_probes_spacing_and_timeout() {
    let mut net = Net::new(202);
    let c = net.add(Config::default());
    let t0 = net.now;
    let opts = ConnectOptions {
        attempts: Some(2),
        interval: Some(Duration::from_millis(100)),
        timeout: None,
        secure: None,
    };
    net.ep(c)
        .connect_with(t0, ConnId(7), "10.9.9.9:1".parse().unwrap(), b"", opts)
        .unwrap();
    net.run_until(|n| failed(n, c).is_some(), Duration::from_secs(10))
        .unwrap();
    assert_eq!(failed(&net, c), Some(ConnectFailure::NoResponse));
    assert_eq!(net.now - t0, Duration::from_millis(300));
    assert_eq!(net.sent[c], 3, "attempts + the extra probe 4.081 sends");

    // The timeout travels to the connection.
    let s = net.add(server_config());
    let c2 = net.add(Config::default());
    let now = net.now;
    let to = net.addr(s);
    let opts = ConnectOptions {
        timeout: Some(Duration::from_secs(1)),
        ..ConnectOptions::default()
    };
    net.ep(c2)
        .connect_with(now, ConnId(8), to, b"", opts)
        .unwrap();
    let caddr = net.addr(c2);
    net.run_until(
        |n| n.incoming_id(s, caddr).is_some(),
        Duration::from_secs(5),
    )
    .unwrap();
    let t1 = net.now;
    net.silence(s);
    net.run_until(|n| timed_out(n, c2, ConnId(8)), Duration::from_secs(10))
        .unwrap();
    let took = net.now - t1;
    assert!(took <= Duration::from_secs(2), "{took:?}");
}

#[test]
fn cancelling_an_attempt_stops_it() {
    // While probing.
    let mut net = Net::new(203);
    let c = net.add(Config::default());
    let now = net.now;
    net.ep(c)
        .connect(now, ConnId(1), "10.9.9.9:1".parse().unwrap(), b"")
        .unwrap();
    net.run_for(Duration::from_millis(600));
    let probes = net.sent[c];
    assert_eq!(probes, 2);
    let now = net.now;
    net.ep(c).close(now, ConnId(1), false).unwrap();
    net.run_for(Duration::from_secs(10));
    assert_eq!(net.sent[c], probes, "no probe after the cancel");
    assert_eq!(failed(&net, c), Some(ConnectFailure::Cancelled));
    assert_eq!(net.events(c).len(), 1);
    assert_eq!(net.ep(c).connection_count(), 0);
    assert_eq!(
        net.ep(c).close(now, ConnId(1), false),
        Err(SendError::UnknownConnection)
    );

    // After REPLY_2, before ACCEPTED: the half-open slot on the server just expires.
    let s = net.add(server_config());
    let c2 = net.add(Config::default());
    let cid = net.connect(c2, s, b"");
    net.run_until(|n| n.ep_ref(c2).mtu(cid).is_some(), Duration::from_secs(5))
        .unwrap();
    assert!(!net.ep(c2).is_connected(cid));
    let now = net.now;
    net.ep(c2).close(now, cid, true).unwrap();
    net.run_for(Duration::from_secs(11));
    assert_eq!(failed(&net, c2), Some(ConnectFailure::Cancelled));
    assert_eq!(net.ep(c2).connection_count(), 0);
    assert_eq!(net.ep(s).connection_count(), 0);
    assert!(!net
        .events(c2)
        .iter()
        .any(|e| matches!(e, Event::Connected { .. })));
}

#[test]
fn advertise_reaches_anyone_and_other_out_of_band_data_is_dropped() {
    let mut net = Net::new(204);
    let a = net.add(Config::default());
    let b = net.add(server_config());
    let (now, to) = (net.now, net.addr(b));
    net.ep(a)
        .advertise(now, to, b"room 7, 3/8 players")
        .unwrap();
    net.ep(a).advertise(now, to, b"").unwrap();
    net.ep(a).advertise(now, to, &[0x42; 398]).unwrap();
    assert_eq!(
        net.ep(a).advertise(now, to, &[0x42; 399]),
        Err(SendError::TooLarge)
    );
    net.run_for(Duration::from_millis(100));
    let aguid = net.ep(a).guid();
    let from = net.addr(a);
    let got: Vec<Vec<u8>> = net
        .events(b)
        .iter()
        .map(|e| match e {
            Event::Advertise { addr, guid, data } => {
                assert_eq!((*addr, *guid), (from, aguid));
                data.clone()
            }
            e => panic!("{e:?}"),
        })
        .collect();
    assert_eq!(
        got,
        vec![b"room 7, 3/8 players".to_vec(), vec![], vec![0x42; 398]]
    );

    // Connected peers get it the same way (offline first, §1.5).
    net.connect_pair(a, b);
    let now = net.now;
    net.ep(b).advertise(now, from, b"hi").unwrap();
    net.run_until(
        |n| {
            n.events(a)
                .iter()
                .any(|e| matches!(e, Event::Advertise { data, .. } if data == b"hi"))
        },
        Duration::from_secs(1),
    )
    .unwrap();

    // NAT-plugin style out-of-band payloads are not for the application.
    let local: SocketAddr = "10.0.0.1:19132".parse().unwrap();
    let mut ep = Endpoint::new(Config::default(), local);
    let mut buf = Vec::new();
    Offline::OutOfBand {
        guid: 5,
        payload: &[0x0A, 1, 2, 3],
    }
    .encode(&mut buf);
    ep.handle_datagram(Time::from_millis(1), from, &buf);
    assert!(ep.poll_event().is_none());
    assert_eq!(ep.stats().dropped.out_of_band_ignored, 1);

    // A flood of advertisements nobody polls for: the event queue stops growing.
    let mut adv = Vec::new();
    Offline::OutOfBand {
        guid: 5,
        payload: &[0x1D, 1],
    }
    .encode(&mut adv);
    for _ in 0..5000 {
        ep.handle_datagram(Time::from_millis(2), from, &adv);
    }
    assert_eq!(ep.stats().dropped.event_queue_full, 5000 - 4096);
    let mut n = 0;
    while let Some(e) = ep.poll_event() {
        assert!(matches!(e, Event::Advertise { guid: 5, .. }));
        n += 1;
    }
    assert_eq!(n, 4096);
}

#[test]
fn open_connections_ping_is_answered_only_while_slots_are_free() {
    let mut net = Net::new(205);
    let s = net.add(Config {
        max_incoming: 1,
        offline_data: b"v1".to_vec(),
        ..Config::default()
    });
    let c = net.add(Config::default());
    let pinger = net.add(Config::default());
    let to = net.addr(s);
    let pongs = |net: &Net| -> Vec<Vec<u8>> {
        net.events(pinger)
            .iter()
            .filter_map(|e| match e {
                Event::Pong { data, .. } => Some(data.clone()),
                _ => None,
            })
            .collect()
    };
    let now = net.now;
    net.ep(pinger).ping(now, to, true);
    net.run_for(Duration::from_millis(100));
    assert_eq!(pongs(&net), vec![b"v1".to_vec()]);

    net.connect_pair(c, s);
    let now = net.now;
    net.ep(s).set_offline_data(b"v2, full");
    net.ep(pinger).ping(now, to, true);
    net.run_for(Duration::from_millis(100));
    assert_eq!(pongs(&net).len(), 1, "02 unanswered while full");
    let now = net.now;
    net.ep(pinger).ping(now, to, false);
    net.run_for(Duration::from_millis(100));
    assert_eq!(pongs(&net), vec![b"v1".to_vec(), b"v2, full".to_vec()]);
}

#[test]
fn a_client_may_retry_with_the_right_password_at_once() {
    let mut net = Net::new(210);
    let s = net.add(Config {
        password: b"pw".to_vec(),
        ..server_config()
    });
    let c = net.add(Config::default());
    net.connect(c, s, b"wrong");
    net.run_until(|n| failed(n, c).is_some(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(failed(&net, c), Some(ConnectFailure::InvalidPassword));
    // Both sides may still be delivering or acknowledging the refusal; neither the
    // client's own lingering slot nor the server's refusing one stands in the way.
    net.take_events(c);
    let retry = net.connect(c, s, b"pw");
    net.run_until(
        |n| {
            n.events(c)
                .iter()
                .any(|e| matches!(e, Event::Connected { conn, .. } if *conn == retry))
        },
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(failed(&net, c), None);
    assert_eq!(net.ep_ref(s).stats().refused.invalid_password, 1);
}

#[test]
fn slots_that_only_linger_do_not_fill_the_server() {
    let mut net = Net::new(211);
    let s = net.add(Config {
        max_incoming: 1,
        ..Config::default()
    });
    let (a, b) = (net.add(Config::default()), net.add(Config::default()));
    let (a_conn, s_conn) = net.connect_pair(a, s);
    let now = net.now_of(a);
    net.ep(a).close(now, a_conn, true).unwrap();
    net.run_until(
        |n| {
            n.events(s).iter().any(|e| {
                matches!(e, Event::Disconnected { conn, reason: DisconnectReason::ClosedByRemote, .. } if *conn == s_conn)
            })
        },
        Duration::from_secs(5),
    )
    .unwrap();
    // The server's slot for `a` lingers to acknowledge resends, yet `b` gets in.
    assert_eq!(net.ep_ref(s).connection_count(), 1);
    net.connect_pair(b, s);
    assert_eq!(net.ep_ref(s).stats().refused.server_full, 0);
    // A third client finds the server full, and that refusal is counted.
    let c = net.add(Config::default());
    net.connect(c, s, b"");
    net.run_until(|n| failed(n, c).is_some(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(failed(&net, c), Some(ConnectFailure::ServerFull));
    assert_eq!(net.ep_ref(s).stats().refused.server_full, 1);
}
