//! Connection management and time on real sockets: the connection list and GUID ⇄
//! address lookups, per-call connect options, per-connection timeouts, several peers in
//! one process, statistics readable from any thread, occasional pings, ID_TIMESTAMP,
//! and the log facade.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use raknet::proto::{ConnId, ConnectFailure, ConnectOptions, DisconnectReason, Event};
use raknet::runtime::{LogLevel, LogSink, Logger, Peer, PeerError, PeerEvent};

#[test]
fn the_connection_list_and_lookups_follow_the_connections() {
    let server = start(server_config(8));
    let clients: Vec<Peer> = (0..3).map(|_| start(config())).collect();
    let mut ids = Vec::new();
    for c in &clients {
        ids.push(connect(&server, c));
    }
    let mut on_server: Vec<ConnId> = ids.iter().map(|(_, s)| *s).collect();
    on_server.sort_unstable();
    assert_eq!(server.connections().unwrap(), on_server);
    for (c, (c_conn, s_conn)) in clients.iter().zip(&ids) {
        assert_eq!(server.conn_by_guid(c.guid()).unwrap(), Some(*s_conn));
        assert_eq!(server.conn_by_addr(c.local_addr()).unwrap(), Some(*s_conn));
        assert_eq!(c.conn_by_guid(server.guid()).unwrap(), Some(*c_conn));
        assert_eq!(c.conn_by_addr(server.local_addr()).unwrap(), Some(*c_conn));
        assert_eq!(c.connections().unwrap(), vec![*c_conn]);
    }
    // An IPv4-mapped IPv6 address finds the IPv4 connection.
    let mapped = std::net::SocketAddr::new(
        match clients[0].local_addr().ip() {
            std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().into(),
            v6 => v6,
        },
        clients[0].local_addr().port(),
    );
    assert_eq!(server.conn_by_addr(mapped).unwrap(), Some(ids[0].1));
    assert_eq!(server.conn_by_guid(12345).unwrap(), None);
    assert_eq!(server.conn_by_guid(0).unwrap(), None);
    // A closed connection leaves the list as soon as the close is asked for.
    clients[1].close(ids[1].0, true).unwrap();
    assert_eq!(clients[1].connections().unwrap(), vec![]);
    wait_for(&server, "Disconnected", |ev| match ev {
        Event::Disconnected { conn, .. } if *conn == ids[1].1 => Some(()),
        _ => None,
    });
    on_server.retain(|c| *c != ids[1].1);
    assert_eq!(server.connections().unwrap(), on_server);
    assert_eq!(server.conn_by_guid(clients[1].guid()).unwrap(), None);
}

#[test]
fn an_attempt_can_be_looked_up_and_cancelled() {
    let client = start(config());
    let nowhere = closed_port();
    let conn = client.connect(nowhere, b"").unwrap();
    assert_eq!(client.conn_by_addr(nowhere).unwrap(), Some(conn));
    assert!(client.connections().unwrap().is_empty(), "not established");
    assert!(matches!(
        client.conn_stats(conn),
        Err(PeerError::NotConnected)
    ));
    client.close(conn, false).unwrap();
    assert_eq!(outcome(&client, conn), Err(ConnectFailure::Cancelled));
    assert_eq!(client.conn_by_addr(nowhere).unwrap(), None);
    assert!(matches!(
        client.close(conn, false),
        Err(PeerError::StaleConnection)
    ));
}

#[test]
fn connect_options_set_attempts_interval_and_timeout() {
    let client = start(config());
    // Three probes 20 ms apart give up far sooner than the default 12 × 500 ms.
    let opts = ConnectOptions {
        attempts: Some(2),
        interval: Some(Duration::from_millis(20)),
        timeout: None,
        secure: None,
    };
    let conn = client.connect_with(closed_port(), b"", opts).unwrap();
    let mut quiet = Duration::ZERO;
    let failed = loop {
        match client.wait_event(Duration::from_millis(100)) {
            Some(PeerEvent::Net(Event::ConnectFailed {
                conn: c, reason, ..
            })) if c == conn => break reason,
            Some(_) => {}
            None => quiet += Duration::from_millis(100),
        }
        assert!(
            quiet < Duration::from_secs(2),
            "the short attempt took too long"
        );
    };
    assert_eq!(failed, ConnectFailure::NoResponse);
    for bad in [
        ConnectOptions {
            attempts: Some(0),
            ..ConnectOptions::default()
        },
        ConnectOptions {
            interval: Some(Duration::ZERO),
            ..ConnectOptions::default()
        },
    ] {
        assert!(matches!(
            client.connect_with(closed_port(), b"", bad),
            Err(PeerError::InvalidArgument)
        ));
    }

    // The timeout option applies to the resulting connection: with the server gone,
    // the client notices within it, long before the config's 30 s.
    let mut s = server_config(1);
    s.proto.timeout = Duration::from_secs(30);
    let mut server = start(s);
    let mut c = config();
    c.proto.timeout = Duration::from_secs(30);
    let client = start(c);
    let opts = ConnectOptions {
        timeout: Some(Duration::from_millis(400)),
        ..ConnectOptions::default()
    };
    let conn = client.connect_with(server.local_addr(), b"", opts).unwrap();
    assert_eq!(outcome(&client, conn), Ok(()));
    client.send(conn, &[USER, 1], Default::default()).unwrap();
    server.shutdown(Duration::ZERO);
    client.send(conn, &[USER, 2], Default::default()).unwrap();
    wait_for(&client, "connection lost", |ev| match ev {
        Event::Disconnected {
            conn: c, reason, ..
        } if *c == conn => {
            assert_eq!(*reason, DisconnectReason::TimedOut);
            Some(())
        }
        _ => None,
    });
}

#[test]
fn a_per_connection_timeout_overrides_the_config() {
    let mut s = server_config(2);
    s.proto.timeout = Duration::from_secs(30);
    let server = start(s);
    let mut quiet_client = start(config());
    let steady = start(config());
    let (_, s_quiet) = connect(&server, &quiet_client);
    let (_, s_steady) = connect(&server, &steady);
    assert!(matches!(
        server.set_conn_timeout(s_quiet, Duration::ZERO),
        Err(PeerError::InvalidArgument)
    ));
    assert!(matches!(
        server.set_conn_timeout(ConnId(77), Duration::from_secs(1)),
        Err(PeerError::StaleConnection)
    ));
    server
        .set_conn_timeout(s_quiet, Duration::from_millis(300))
        .unwrap();
    quiet_client.shutdown(Duration::ZERO); // vanishes without a word
    server
        .send(s_quiet, &[USER, 3], Default::default())
        .unwrap();
    // Lost within its own timeout (PATIENCE is 5 s, the config's 30 s).
    wait_for(&server, "the quiet client lost", |ev| match ev {
        Event::Disconnected { conn, reason, .. } if *conn == s_quiet => {
            assert_eq!(*reason, DisconnectReason::TimedOut);
            Some(())
        }
        _ => None,
    });
    assert!(server.conn_info(s_steady).is_ok(), "the other one is kept");
}

#[test]
fn several_peers_in_one_process_talk_to_each_other() {
    let servers: Vec<Peer> = (0..3).map(|_| start(server_config(8))).collect();
    let clients: Vec<Peer> = (0..3).map(|_| start(config())).collect();
    for (si, server) in servers.iter().enumerate() {
        for (ci, client) in clients.iter().enumerate() {
            let (c_conn, s_conn) = connect(server, client);
            let tag = [USER, si as u8, ci as u8];
            client.send(c_conn, &tag, Default::default()).unwrap();
            wait_for(server, "the client's message", |ev| match ev {
                Event::Message { conn, data, .. } if *conn == s_conn => {
                    assert_eq!(data, &tag);
                    Some(())
                }
                _ => None,
            });
            server.send(s_conn, &tag, Default::default()).unwrap();
            wait_for(client, "the server's message", |ev| match ev {
                Event::Message { conn, data, .. } if *conn == c_conn => {
                    assert_eq!(data, &tag);
                    Some(())
                }
                _ => None,
            });
        }
    }
    for server in &servers {
        assert_eq!(server.connections().unwrap().len(), 3);
    }
}

#[test]
fn stats_pings_and_clock_differential_from_any_thread() {
    let mut s = server_config(2);
    s.proto.occasional_ping = Duration::from_millis(30);
    let server = start(s);
    let mut c = config();
    c.proto.occasional_ping = Duration::from_millis(30);
    let client = start(c);
    let (c_conn, s_conn) = connect(&server, &client);
    for i in 0..20u8 {
        client
            .send(c_conn, &[USER, i, 0, 0, 0, 0, 0, 0], Default::default())
            .unwrap();
    }
    let mut got = 0;
    while got < 20 {
        wait_for(&server, "messages", |ev| match ev {
            Event::Message { .. } => Some(()),
            _ => None,
        });
        got += 1;
    }
    // Occasional pings give ping samples and a clock differential.
    let stats = until(&client, "three pongs", || {
        let s = client.conn_stats(c_conn).unwrap();
        (s.pongs_received >= 3).then_some(s)
    });
    assert!(stats.pings_sent >= 3);
    let (last, low, avg) = (
        stats.last_ping_ms.unwrap(),
        stats.lowest_ping_ms.unwrap(),
        stats.average_ping_ms.unwrap(),
    );
    assert!(low <= avg && low <= last && avg < 1000, "{stats:?}");
    // One process, one clock: the differential is about zero.
    assert!(
        stats.clock_differential_ms.unwrap().abs() < 100,
        "{stats:?}"
    );
    assert!(stats.srtt.is_some());
    assert!(stats.messages_sent >= 20 && stats.bytes_sent > 160);
    assert!(stats.datagrams_sent > 0 && stats.mtu >= 576);
    // Read from other threads while the network threads run.
    std::thread::scope(|scope| {
        let a = scope.spawn(|| server.conn_stats(s_conn).unwrap());
        let b = scope.spawn(|| server.endpoint_stats().unwrap());
        let on_server = a.join().unwrap();
        assert!(on_server.messages_received >= 20, "{on_server:?}");
        assert!(on_server.bytes_received > 160);
        let (ep, conns) = b.join().unwrap();
        assert_eq!(conns, 1);
        assert!(ep.datagrams_received > 0 && ep.connections_opened >= 1);
    });
    assert!(matches!(
        server.conn_stats(ConnId(5)),
        Err(PeerError::StaleConnection)
    ));
}

#[test]
fn timestamps_arrive_on_the_receivers_clock() {
    let mut s = server_config(1);
    s.proto.occasional_ping = Duration::from_millis(20);
    let server = start(s);
    let client = start(config());
    let (c_conn, s_conn) = connect(&server, &client);
    until(&server, "a clock differential", || {
        server
            .conn_stats(s_conn)
            .unwrap()
            .clock_differential_ms
            .map(|_| ())
    });
    // ID_TIMESTAMP, the sender's time in ms, then the application's own message.
    let sent_time: u64 = 5_000_000;
    let mut m = vec![0x1B];
    m.extend_from_slice(&sent_time.to_be_bytes());
    m.extend_from_slice(&[USER, 42]);
    client.send(c_conn, &m, Default::default()).unwrap();
    let data = wait_for(&server, "the timestamped message", |ev| match ev {
        Event::Message { data, .. } if data.first() == Some(&0x1B) => Some(data.clone()),
        _ => None,
    });
    let got = u64::from_be_bytes(data[1..9].try_into().unwrap());
    // Both peers read one process clock, so the rewrite moves it by the measured
    // differential only: a few milliseconds at most.
    assert!(got.abs_diff(sent_time) < 100, "{got}");
    assert_eq!(&data[9..], &[USER, 42]);
}

type Lines = Arc<Mutex<Vec<(LogLevel, String)>>>;

fn capture(level: LogLevel) -> (Logger, Lines) {
    let lines: Lines = Arc::new(Mutex::new(Vec::new()));
    let l2 = lines.clone();
    let sink: LogSink = Arc::new(move |level, text: &str| {
        l2.lock().unwrap().push((level, text.to_owned()));
    });
    (Logger::new(sink, level), lines)
}

fn logged(lines: &Lines, level: LogLevel, needle: &str) -> bool {
    lines
        .lock()
        .unwrap()
        .iter()
        .any(|(l, t)| *l == level && t.contains(needle))
}

#[test]
fn the_log_tells_the_connection_story() {
    let (log, lines) = capture(LogLevel::Debug);
    let mut s = server_config(2);
    s.proto.password = b"pw".to_vec();
    s.log = log;
    let server = start(s);
    // Garbage from an unknown address is dropped and summarized (first, since later
    // drops of the same kind of summary wait out its 10 s interval).
    #[allow(clippy::disallowed_types)] // a raw socket to send what no peer would
    let raw = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    raw.send_to(&[0x84, 0, 0, 0, 0x40, 0, 8, 1], server.local_addr())
        .unwrap();
    until(&server, "the dropped-traffic line", || {
        logged(&lines, LogLevel::Warn, "dropped 1 datagram(s)").then_some(())
    });
    let client = start(config());
    let conn = client.connect(server.local_addr(), b"nope").unwrap();
    assert_eq!(outcome(&client, conn), Err(ConnectFailure::InvalidPassword));
    let conn = client.connect(server.local_addr(), b"pw").unwrap();
    assert_eq!(outcome(&client, conn), Ok(()));
    client.close(conn, true).unwrap();
    wait_for(&server, "Disconnected", |ev| match ev {
        Event::Disconnected { .. } => Some(()),
        _ => None,
    });
    server.ban("10.0.0.*", None).unwrap();
    until(&server, "the log lines", || {
        (logged(
            &lines,
            LogLevel::Info,
            "refused 1 connection attempt(s): 1 invalid password",
        ) && logged(&lines, LogLevel::Info, "connected conn=")
            && logged(&lines, LogLevel::Info, "disconnected conn=")
            && logged(&lines, LogLevel::Debug, "banned 10.0.0.*"))
        .then_some(())
    });
    assert!(logged(&lines, LogLevel::Info, "peer started on 127.0.0.1:"));

    // A failing network thread logs its panic message instead of printing it.
    let (log, lines) = capture(LogLevel::Error);
    let mut c = config();
    c.log = log;
    let doomed = start(c);
    doomed.inject_panic().unwrap();
    wait_for_fatal(&doomed);
    assert!(
        logged(
            &lines,
            LogLevel::Error,
            "panic injected by Peer::inject_panic"
        ),
        "{:?}",
        lines.lock().unwrap()
    );
    assert_eq!(lines.lock().unwrap().len(), 1, "nothing below Error");
}

fn wait_for_fatal(peer: &Peer) {
    for _ in 0..100 {
        if let Some(PeerEvent::Fatal) = peer.wait_event(Duration::from_millis(50)) {
            return;
        }
    }
    panic!("no Fatal event");
}
