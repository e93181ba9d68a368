//! Runtime tests on real sockets (`127.0.0.1:0`): two or more `Peer`s in one process,
//! driven from the test thread. Every wait is `wait_event` with a deadline; nothing sleeps.

use std::collections::HashSet;
use std::time::Duration;

use raknet::proto::{ConnId, ConnectFailure, DisconnectReason, Event, Reliability, SendOptions};
use raknet::runtime::{ConnState, Peer, PeerError, PeerEvent};

mod common;

use common::{closed_port, config, server_config, wait_for, PATIENCE, USER};

fn start_server() -> Peer {
    Peer::start(server_config(8)).expect("server starts")
}

fn start_client() -> Peer {
    Peer::start(config()).expect("client starts")
}

/// Connects a fresh client to `server`; returns (client, id on the client, id on the server).
fn connect(server: &Peer) -> (Peer, ConnId, ConnId) {
    let client = start_client();
    let server_addr = server.local_addr();
    let c_conn = client.connect(server_addr, b"").expect("connect");
    let (guid, addr) = wait_for(&client, "client Connected", |ev| match ev {
        Event::Connected {
            conn,
            addr,
            guid,
            incoming,
        } if *conn == c_conn => {
            assert!(!incoming);
            Some((*guid, *addr))
        }
        _ => None,
    });
    assert_eq!(guid, server.guid());
    assert_eq!(addr, server_addr);
    let client_addr = client.local_addr();
    let client_guid = client.guid();
    let s_conn = wait_for(server, "server Connected", |ev| match ev {
        Event::Connected {
            conn,
            addr,
            guid,
            incoming,
        } if *addr == client_addr => {
            assert!(*incoming);
            assert!(conn.is_incoming());
            assert_eq!(*guid, client_guid);
            Some(*conn)
        }
        _ => None,
    });
    (client, c_conn, s_conn)
}

fn msg(tag: u8, channel: u8, seq: u32, len: usize) -> Vec<u8> {
    let mut m = vec![USER, tag, channel];
    m.extend_from_slice(&seq.to_le_bytes());
    while m.len() < len {
        m.push((m.len() as u32).wrapping_mul(31).wrapping_add(seq) as u8);
    }
    m
}

#[test]
fn connect_reports_guids_and_addresses() {
    let server = start_server();
    let (client, c_conn, s_conn) = connect(&server);
    assert_ne!(client.guid(), server.guid());
    let info = client.conn_info(c_conn).unwrap();
    assert_eq!(info.state, ConnState::Connected);
    assert_eq!(info.guid, server.guid());
    assert_eq!(info.addr, server.local_addr());
    assert!(!info.incoming);
    let info = server.conn_info(s_conn).unwrap();
    assert_eq!(info.state, ConnState::Connected);
    assert_eq!(info.guid, client.guid());
    assert_eq!(info.addr, client.local_addr());
    assert!(info.incoming);
}

#[test]
fn ten_thousand_reliable_ordered_each_way_on_four_channels() {
    const N: u32 = 10_000;
    const CHANNELS: u8 = 4;
    let server = start_server();
    let (client, c_conn, s_conn) = connect(&server);
    let opts = SendOptions::new(Reliability::ReliableOrdered);
    for i in 0..N {
        let ch = (i % u32::from(CHANNELS)) as u8;
        let seq = i / u32::from(CHANNELS);
        client
            .send(c_conn, &msg(1, ch, seq, 24), opts.on_channel(ch))
            .unwrap();
        server
            .send(s_conn, &msg(2, ch, seq, 24), opts.on_channel(ch))
            .unwrap();
    }
    // next[side][channel] = next expected sequence number.
    let mut next = [[0u32; CHANNELS as usize]; 2];
    let mut got = [0u32; 2];
    let peers = [(&server, s_conn, 1u8), (&client, c_conn, 2u8)];
    let mut idle = Duration::ZERO;
    while got[0] < N || got[1] < N {
        let mut progressed = false;
        for (side, (peer, conn, tag)) in peers.iter().enumerate() {
            let wait = if got[side] < N {
                Duration::from_millis(10)
            } else {
                Duration::ZERO
            };
            while let Some(ev) = peer.wait_event(wait) {
                let PeerEvent::Net(Event::Message {
                    conn: from,
                    data,
                    channel,
                    reliability,
                }) = ev
                else {
                    panic!("unexpected {ev:?}");
                };
                assert_eq!(from, *conn);
                assert_eq!(reliability, Reliability::ReliableOrdered);
                assert_eq!(data[1], *tag);
                assert_eq!(data[2], channel);
                let seq = u32::from_le_bytes(data[3..7].try_into().unwrap());
                let expect = &mut next[side][usize::from(channel)];
                assert_eq!(seq, *expect, "side {side} channel {channel} out of order");
                assert_eq!(data, msg(*tag, channel, seq, 24));
                *expect += 1;
                got[side] += 1;
                progressed = true;
                if got[side] == N {
                    break;
                }
            }
        }
        if progressed {
            idle = Duration::ZERO;
        } else {
            idle += Duration::from_millis(10);
            assert!(idle < PATIENCE, "stalled at {got:?}");
        }
    }
    for side in next {
        assert_eq!(side, [N / u32::from(CHANNELS); CHANNELS as usize]);
    }
    // Exactly once: nothing more arrives.
    assert!(server.poll_event().is_none());
    assert!(client.poll_event().is_none());
}

#[test]
fn large_messages_arrive_intact() {
    let server = start_server();
    let (client, c_conn, s_conn) = connect(&server);
    let sizes = [100 << 10, 1 << 20];
    for (i, &len) in sizes.iter().enumerate() {
        let data = msg(3, 0, i as u32, len);
        client
            .send(c_conn, &data, SendOptions::default())
            .expect("send large");
        let got = wait_for(&server, "large message", |ev| match ev {
            Event::Message { conn, data, .. } if *conn == s_conn => Some(data.clone()),
            _ => None,
        });
        assert_eq!(got.len(), len);
        assert!(got == data, "{len}-byte message corrupted");
    }
    // And the other way, to exercise the server's send path too.
    let data = msg(4, 0, 9, 200 << 10);
    server.send(s_conn, &data, SendOptions::default()).unwrap();
    let got = wait_for(&client, "large message back", |ev| match ev {
        Event::Message { data, .. } => Some(data.clone()),
        _ => None,
    });
    assert!(got == data);
}

#[test]
fn reliable_and_unreliable_small_messages_are_delivered() {
    const N: u32 = 100;
    let server = start_server();
    let (client, c_conn, _) = connect(&server);
    for i in 0..N {
        let u = msg(5, 0, i, 16);
        client
            .send(c_conn, &u, SendOptions::new(Reliability::Unreliable))
            .unwrap();
        let r = msg(6, 0, i, 16);
        client
            .send(c_conn, &r, SendOptions::new(Reliability::Reliable))
            .unwrap();
    }
    let mut reliable = HashSet::new();
    let mut unreliable = HashSet::new();
    while reliable.len() < N as usize {
        let (tag, seq, rel) = wait_for(&server, "small message", |ev| match ev {
            Event::Message {
                data, reliability, ..
            } => Some((
                data[1],
                u32::from_le_bytes(data[3..7].try_into().unwrap()),
                *reliability,
            )),
            _ => None,
        });
        match tag {
            5 => {
                assert_eq!(rel, Reliability::Unreliable);
                assert!(unreliable.insert(seq), "unreliable {seq} duplicated");
            }
            6 => {
                assert_eq!(rel, Reliability::Reliable);
                assert!(reliable.insert(seq), "reliable {seq} duplicated");
            }
            t => panic!("unexpected tag {t}"),
        }
    }
    // Unreliable datagrams went out before their reliable twins; on loopback they do not
    // get lost, but allow for an overloaded test machine.
    while let Some(PeerEvent::Net(Event::Message { data, .. })) = server.poll_event() {
        assert_eq!(data[1], 5);
        let seq = u32::from_le_bytes(data[3..7].try_into().unwrap());
        assert!(unreliable.insert(seq), "unreliable {seq} duplicated");
    }
    assert!(
        unreliable.len() >= N as usize * 9 / 10,
        "{}",
        unreliable.len()
    );
    assert!(unreliable.iter().all(|&s| s < N));
}

#[test]
fn clean_disconnect_is_seen_by_both_sides_and_ids_go_stale() {
    let server = start_server();
    let (client, c_conn, s_conn) = connect(&server);
    // Data queued before the close arrives before the disconnection.
    client
        .send(c_conn, &msg(7, 0, 1, 10), SendOptions::default())
        .unwrap();
    client.close(c_conn, true).unwrap();
    assert_eq!(
        client.conn_info(c_conn).map(|i| i.state).ok(),
        Some(ConnState::Disconnecting)
    );
    assert!(matches!(
        client.send(c_conn, b"\x86x", SendOptions::default()),
        Err(PeerError::NotConnected) | Err(PeerError::StaleConnection)
    ));
    let mut saw_message = false;
    wait_for(&server, "server Disconnected", |ev| match ev {
        Event::Message { .. } => {
            saw_message = true;
            None
        }
        Event::Disconnected { conn, reason, .. } if *conn == s_conn => {
            assert_eq!(*reason, DisconnectReason::ClosedByRemote);
            Some(())
        }
        _ => None,
    });
    assert!(saw_message, "message queued before close was lost");
    wait_for(&client, "client Disconnected", |ev| match ev {
        Event::Disconnected { conn, reason, .. } if *conn == c_conn => {
            assert_eq!(*reason, DisconnectReason::ClosedLocally);
            Some(())
        }
        _ => None,
    });
    // The registry was updated before the events were published.
    for (peer, conn) in [(&client, c_conn), (&server, s_conn)] {
        assert!(matches!(
            peer.send(conn, b"\x86x", SendOptions::default()),
            Err(PeerError::StaleConnection)
        ));
        assert!(matches!(
            peer.close(conn, true),
            Err(PeerError::StaleConnection)
        ));
        assert!(matches!(
            peer.conn_info(conn),
            Err(PeerError::StaleConnection)
        ));
    }
}

#[test]
fn vanished_peer_times_out() {
    let mut c = config();
    c.proto.max_incoming = 8;
    c.proto.timeout = Duration::from_millis(1500);
    let server = Peer::start(c).unwrap();
    let (mut client, _, s_conn) = connect(&server);
    // Shutdown(0): the client sends nothing more, not even a notification.
    client.shutdown(Duration::ZERO);
    wait_for(&server, "server Disconnected", |ev| match ev {
        Event::Disconnected { conn, reason, .. } if *conn == s_conn => {
            assert_eq!(*reason, DisconnectReason::TimedOut);
            Some(())
        }
        _ => None,
    });
    assert!(matches!(
        server.conn_info(s_conn),
        Err(PeerError::StaleConnection)
    ));
}

#[test]
fn flushing_shutdown_notifies_the_remote_side() {
    let mut server = start_server();
    let (client, c_conn, _) = connect(&server);
    server.shutdown(Duration::from_secs(2));
    wait_for(&client, "client Disconnected", |ev| match ev {
        Event::Disconnected { conn, reason, .. } if *conn == c_conn => {
            assert_eq!(*reason, DisconnectReason::ClosedByRemote);
            Some(())
        }
        _ => None,
    });
    // The server's own Disconnected was queued during the flush and stays readable.
    let mut saw = false;
    while let Some(ev) = server.poll_event() {
        if let PeerEvent::Net(Event::Disconnected { reason, .. }) = ev {
            assert_eq!(reason, DisconnectReason::ClosedLocally);
            saw = true;
        }
    }
    assert!(saw);
    // Idempotent; later calls fail.
    server.shutdown(Duration::from_secs(1));
    assert!(matches!(
        server.connect(client.local_addr(), b""),
        Err(PeerError::Failed)
    ));
}

#[test]
fn connecting_to_a_closed_port_fails_and_sending_early_is_refused() {
    let dead = closed_port();
    let mut c = config();
    c.proto.connect_attempts = 4;
    c.proto.connect_interval = Duration::from_millis(100);
    let client = Peer::start(c).unwrap();
    let conn = client.connect(dead, b"").unwrap();
    assert_eq!(client.conn_info(conn).unwrap().state, ConnState::Connecting);
    assert!(matches!(
        client.send(conn, b"\x86hi", SendOptions::default()),
        Err(PeerError::NotConnected)
    ));
    assert!(matches!(
        client.connect(dead, b""),
        Err(PeerError::Connect(_))
    ));
    wait_for(&client, "ConnectFailed", |ev| match ev {
        Event::ConnectFailed {
            conn: c,
            addr,
            reason,
        } if *c == conn => {
            assert_eq!(*addr, dead);
            assert_eq!(*reason, ConnectFailure::NoResponse);
            Some(())
        }
        _ => None,
    });
    assert!(matches!(
        client.send(conn, b"\x86hi", SendOptions::default()),
        Err(PeerError::StaleConnection)
    ));
    assert!(matches!(
        client.conn_info(conn),
        Err(PeerError::StaleConnection)
    ));
}

#[test]
fn cancelling_an_attempt_reports_it() {
    let dead = closed_port();
    let client = start_client();
    let conn = client.connect(dead, b"").unwrap();
    client.close(conn, false).unwrap();
    wait_for(&client, "ConnectFailed", |ev| match ev {
        Event::ConnectFailed {
            conn: c, reason, ..
        } if *c == conn => {
            assert_eq!(*reason, ConnectFailure::Cancelled);
            Some(())
        }
        _ => None,
    });
    assert!(matches!(
        client.conn_info(conn),
        Err(PeerError::StaleConnection)
    ));
}

#[test]
fn one_server_two_clients_on_one_thread() {
    let server = start_server();
    let (a, a_conn, sa) = connect(&server);
    let (b, b_conn, sb) = connect(&server);
    assert_ne!(sa, sb);
    a.send(a_conn, &msg(8, 0, 1, 8), SendOptions::default())
        .unwrap();
    b.send(b_conn, &msg(8, 0, 2, 8), SendOptions::default())
        .unwrap();
    let mut from = HashSet::new();
    while from.len() < 2 {
        let (conn, seq) = wait_for(&server, "message", |ev| match ev {
            Event::Message { conn, data, .. } => {
                Some((*conn, u32::from_le_bytes(data[3..7].try_into().unwrap())))
            }
            _ => None,
        });
        assert_eq!(conn, if seq == 1 { sa } else { sb });
        from.insert(conn);
    }
    server
        .send(sb, &msg(9, 0, 3, 8), SendOptions::default())
        .unwrap();
    wait_for(&b, "reply", |ev| {
        matches!(ev, Event::Message { .. }).then_some(())
    });
    assert!(a.poll_event().is_none());
}

#[test]
fn ping_gets_a_pong_with_offline_data() {
    let server = start_server();
    server.set_offline_data(b"MCPE;hello").unwrap();
    assert!(matches!(
        server.set_offline_data(&[0u8; 400]),
        Err(PeerError::InvalidArgument)
    ));
    server.set_offline_data(&[b'x'; 399]).unwrap();
    server.set_offline_data(b"MCPE;hello").unwrap();
    let client = start_client();
    client.ping(server.local_addr(), false).unwrap();
    wait_for(&client, "Pong", |ev| match ev {
        Event::Pong {
            addr, guid, data, ..
        } => {
            assert_eq!(*addr, server.local_addr());
            assert_eq!(*guid, server.guid());
            assert_eq!(data, b"MCPE;hello");
            Some(())
        }
        _ => None,
    });
}

#[test]
fn arguments_are_checked_synchronously() {
    let server = start_server();
    let (client, c_conn, _) = connect(&server);
    assert!(matches!(
        client.send(c_conn, b"", SendOptions::default()),
        Err(PeerError::InvalidArgument)
    ));
    assert!(matches!(
        client.send(c_conn, b"\x86", SendOptions::default().on_channel(32)),
        Err(PeerError::InvalidArgument)
    ));
    assert!(matches!(
        client.send(ConnId(12345), b"\x86", SendOptions::default()),
        Err(PeerError::StaleConnection)
    ));
    assert!(matches!(
        client.connect(server.local_addr(), b""),
        Err(PeerError::Connect(_))
    ));
    assert!(matches!(
        client.connect("0.0.0.0:1".parse().unwrap(), b""),
        Err(PeerError::Connect(_))
    ));
    assert!(matches!(
        client.connect("[::1]:1".parse().unwrap(), b""),
        Err(PeerError::Connect(_))
    ));
    let receipt = client
        .send(c_conn, b"\x86a", SendOptions::default())
        .unwrap();
    let next = client
        .send(c_conn, b"\x86b", SendOptions::default())
        .unwrap();
    assert!(receipt.0 != 0 && next.0 != 0 && next != receipt);
}

#[test]
fn a_full_command_queue_is_reported_not_waited_on() {
    let server = start_server();
    let mut c = config();
    c.command_queue = 4;
    let client = Peer::start(c).unwrap();
    let conn = client.connect(server.local_addr(), b"").unwrap();
    wait_for(&client, "Connected", |ev| {
        matches!(ev, Event::Connected { .. }).then_some(())
    });
    let mut full = false;
    for i in 0..100_000u32 {
        match client.send(conn, &msg(10, 0, i, 8), SendOptions::default()) {
            Ok(_) => {}
            Err(PeerError::QueueFull) => {
                full = true;
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(full, "a 4-slot queue never filled");
}

#[test]
fn a_network_thread_panic_becomes_fatal_and_failed() {
    let mut peer = start_client();
    peer.inject_panic().unwrap();
    let mut fatal = false;
    for _ in 0..100 {
        match peer.wait_event(Duration::from_millis(50)) {
            Some(PeerEvent::Fatal) => {
                fatal = true;
                break;
            }
            Some(other) => panic!("unexpected {other:?}"),
            None => {}
        }
    }
    assert!(fatal, "no Fatal event");
    assert!(peer.is_failed());
    assert!(peer.poll_event().is_none(), "Fatal comes once");
    assert!(matches!(
        peer.connect(closed_port(), b""),
        Err(PeerError::Failed)
    ));
    assert!(matches!(
        peer.send(ConnId(1), b"\x86", SendOptions::default()),
        Err(PeerError::Failed)
    ));
    peer.shutdown(Duration::from_secs(1));
}

#[test]
fn ipv6_loopback_connects_when_available() {
    let mut c = config();
    c.bind = "[::1]:0".parse().unwrap();
    c.proto.max_incoming = 1;
    let Some(server) = common::start_ipv6(c.clone(), "ipv6_loopback_connects_when_available")
    else {
        return;
    };
    c.proto.max_incoming = 0;
    let client = Peer::start(c).unwrap();
    let conn = client.connect(server.local_addr(), b"").unwrap();
    wait_for(&client, "Connected over IPv6", |ev| match ev {
        Event::Connected { conn: c, addr, .. } if *c == conn => {
            assert_eq!(*addr, server.local_addr());
            Some(())
        }
        _ => None,
    });
}

#[test]
fn max_incoming_can_be_raised_at_run_time() {
    let server = start_client(); // max_incoming 0: refuses everyone
    let client = start_client();
    let conn = client.connect(server.local_addr(), b"").unwrap();
    wait_for(&client, "ConnectFailed", |ev| match ev {
        Event::ConnectFailed {
            conn: c, reason, ..
        } if *c == conn => {
            assert_eq!(*reason, ConnectFailure::ServerFull);
            Some(())
        }
        _ => None,
    });
    server.set_max_incoming(1).unwrap();
    let conn = client.connect(server.local_addr(), b"").unwrap();
    wait_for(&client, "Connected", |ev| match ev {
        Event::Connected { conn: c, .. } if *c == conn => Some(()),
        _ => None,
    });
}
