//! Access control on real sockets: every reason a server refuses a connection reaches
//! the client as its own `ConnectFailure` (and is counted on the server), bans with
//! wildcards, expiry and removal, the per-IP frequency limit, and cookies switched off.

mod common;

use std::time::Duration;

use common::*;
use raknet::proto::{ConnectFailure, DisconnectReason, Event};
use raknet::runtime::PeerError;

#[test]
fn a_wrong_password_is_refused_as_such() {
    let mut c = server_config(4);
    c.proto.password = b"secret".to_vec();
    let server = start(c);
    let client = start(config());
    let conn = client.connect(server.local_addr(), b"wrong").unwrap();
    assert_eq!(outcome(&client, conn), Err(ConnectFailure::InvalidPassword));
    let conn = client.connect(server.local_addr(), b"secret").unwrap();
    assert_eq!(outcome(&client, conn), Ok(()));
    let (stats, _) = server.endpoint_stats().unwrap();
    assert_eq!(stats.refused.invalid_password, 1);
}

#[test]
fn a_full_server_refuses_as_such() {
    let server = start(server_config(1));
    let first = start(config());
    connect(&server, &first);
    let second = start(config());
    let conn = second.connect(server.local_addr(), b"").unwrap();
    assert_eq!(outcome(&second, conn), Err(ConnectFailure::ServerFull));
    assert_eq!(server.endpoint_stats().unwrap().0.refused.server_full, 1);
}

#[test]
fn an_incompatible_protocol_is_refused_as_such() {
    let server = start(server_config(1));
    let mut c = config();
    c.proto.protocol_version = 11;
    let client = start(c);
    let conn = client.connect(server.local_addr(), b"").unwrap();
    assert_eq!(
        outcome(&client, conn),
        Err(ConnectFailure::IncompatibleProtocol { server_version: 6 })
    );
    let stats = server.endpoint_stats().unwrap().0;
    assert_eq!(stats.refused.incompatible_protocol, 1);
}

#[test]
fn a_guid_already_connected_is_refused_as_such() {
    let server = start(server_config(4));
    let mut c = config();
    c.proto.guid = 0x1234_5678_9abc_def1;
    let first = start(c.clone());
    connect(&server, &first);
    // Another address presenting the same GUID.
    let twin = start(c);
    let conn = twin.connect(server.local_addr(), b"").unwrap();
    assert_eq!(outcome(&twin, conn), Err(ConnectFailure::AlreadyConnected));
    assert_eq!(
        server.endpoint_stats().unwrap().0.refused.already_connected,
        1
    );
}

#[test]
fn the_ip_frequency_limit_refuses_as_such() {
    let mut c = server_config(64);
    c.proto.limit_ip_connection_frequency = true;
    c.proto.ip_frequency_exempts_loopback = false;
    let server = start(c);
    // Two clients from 127.0.0.1 at once: the limit lets one take a slot and refuses the
    // other (it would not if more than 100 ms passed between them; retry in that case).
    for round in 0..5 {
        let (a, b) = (start(config()), start(config()));
        let ca = a.connect(server.local_addr(), b"").unwrap();
        let cb = b.connect(server.local_addr(), b"").unwrap();
        let results = [outcome(&a, ca), outcome(&b, cb)];
        for r in results {
            assert!(
                matches!(r, Ok(()) | Err(ConnectFailure::IpRecentlyConnected)),
                "round {round}: {results:?}"
            );
        }
        if results.contains(&Err(ConnectFailure::IpRecentlyConnected)) {
            let refused = server.endpoint_stats().unwrap().0.refused;
            assert!(refused.ip_recently_connected >= 1);
            return;
        }
    }
    panic!("the second of two simultaneous attempts was never refused");
}

#[test]
fn a_banned_address_is_refused_and_its_connections_dropped() {
    let server = start(server_config(4));
    let client = start(config());
    let (c_conn, s_conn) = connect(&server, &client);
    assert!(matches!(
        server.ban("127.0.0.1:5", None),
        Err(PeerError::InvalidArgument)
    ));
    assert!(matches!(
        server.ban("1.2.3", None),
        Err(PeerError::InvalidArgument)
    ));
    // A wildcard that does not match changes nothing.
    server.ban("10.*.*.*", None).unwrap();
    client.send(c_conn, &[USER, 1], Default::default()).unwrap();
    wait_for(&server, "message before the ban", |ev| match ev {
        Event::Message { data, .. } if data == &[USER, 1] => Some(()),
        _ => None,
    });
    // One that does ends the established connection at once.
    server.ban("127.0.0.*", None).unwrap();
    wait_for(&server, "Disconnected { Banned }", |ev| match ev {
        Event::Disconnected { conn, reason, .. } if *conn == s_conn => {
            assert_eq!(*reason, DisconnectReason::Banned);
            Some(())
        }
        _ => None,
    });
    // New attempts are refused with their own reason.
    let other = start(config());
    let conn = other.connect(server.local_addr(), b"").unwrap();
    assert_eq!(outcome(&other, conn), Err(ConnectFailure::Banned));
    assert!(server.endpoint_stats().unwrap().0.dropped.banned > 0);
    // Removed (written the same way), the address may connect again.
    server.unban("127.0.0.*").unwrap();
    server.unban("10.*.*.*").unwrap();
    let conn = other.connect(server.local_addr(), b"").unwrap();
    assert_eq!(outcome(&other, conn), Ok(()));
    // clear_bans removes everything.
    server.ban("127.0.0.1", None).unwrap();
    let late = start(config());
    let conn = late.connect(server.local_addr(), b"").unwrap();
    assert_eq!(outcome(&late, conn), Err(ConnectFailure::Banned));
    server.clear_bans().unwrap();
    let conn = late.connect(server.local_addr(), b"").unwrap();
    assert_eq!(outcome(&late, conn), Ok(()));
}

#[test]
fn a_temporary_ban_expires_by_itself() {
    let server = start(server_config(4));
    server
        .ban("127.0.0.1", Some(Duration::from_millis(300)))
        .unwrap();
    let client = start(config());
    let conn = client.connect(server.local_addr(), b"").unwrap();
    assert_eq!(outcome(&client, conn), Err(ConnectFailure::Banned));
    // Retry until the ban has run out (each attempt ends with an event: no sleeping).
    let mut refusals = 0;
    loop {
        let conn = client.connect(server.local_addr(), b"").unwrap();
        match outcome(&client, conn) {
            Ok(()) => break,
            Err(ConnectFailure::Banned) => refusals += 1,
            Err(other) => panic!("{other:?}"),
        }
        assert!(refusals < 1000, "the ban never expired");
    }
}

#[test]
fn connections_work_with_cookies_switched_off() {
    let mut c = server_config(2);
    c.proto.cookies = false;
    let server = start(c);
    let client = start(config());
    let (c_conn, _) = connect(&server, &client);
    client.send(c_conn, &[USER, 9], Default::default()).unwrap();
    wait_for(&server, "message", |ev| match ev {
        Event::Message { data, .. } if data == &[USER, 9] => Some(()),
        _ => None,
    });
}
