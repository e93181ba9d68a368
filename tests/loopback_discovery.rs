//! Discovery and addressing on real sockets: LAN discovery by broadcast ping (several
//! servers answer one ping), ADVERTISE_SYSTEM, and IPv6: IPv6-only, dual-stack, and the
//! family checks of connect. IPv6 tests are counted skips (common::skip) on a machine without `::1`.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use raknet::proto::{ConnectError, ConnectFailure, ConnectOptions, Event};
use raknet::runtime::{Peer, PeerConfig, PeerError, MAX_ADVERTISE_DATA};

fn any_v4(port: u16) -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], port))
}

/// A server bound to 0.0.0.0:`port` sharing the port (SO_REUSEADDR), with offline data.
fn lan_server(port: u16, data: &[u8]) -> Peer {
    let mut c = server_config(4);
    c.bind = any_v4(port);
    c.reuse_address = true;
    c.proto.offline_data = data.to_vec();
    start(c)
}

#[test]
fn one_broadcast_ping_reaches_every_server_on_the_port() {
    let a = lan_server(0, b"server a");
    let port = a.local_addr().port();
    let b = lan_server(port, b"server b");
    assert_eq!(b.local_addr().port(), port);
    let mut c = config();
    c.bind = any_v4(0);
    let client = start(c);
    // 127.255.255.255 is the loopback network's broadcast address (Linux routes it to
    // every socket bound to 0.0.0.0 on that port); 255.255.255.255 must be accepted
    // too, though where it goes depends on the machine's interfaces.
    client
        .ping(SocketAddr::from(([255, 255, 255, 255], port)), false)
        .unwrap();
    client
        .ping(SocketAddr::from(([127, 255, 255, 255], port)), false)
        .unwrap();
    let want: HashSet<u64> = [a.guid(), b.guid()].into();
    let mut seen = HashSet::new();
    while seen != want {
        let (guid, data) = wait_for(&client, "pongs from both servers", |ev| match ev {
            Event::Pong { guid, data, .. } => Some((*guid, data.clone())),
            _ => None,
        });
        assert!(want.contains(&guid), "a pong from a stranger");
        let expect: &[u8] = if guid == a.guid() {
            b"server a"
        } else {
            b"server b"
        };
        assert_eq!(data, expect);
        seen.insert(guid);
    }
}

#[test]
fn advertisements_reach_connected_and_unconnected_peers() {
    let server = start(server_config(2));
    let stranger = start(config());
    stranger
        .advertise(server.local_addr(), b"come play")
        .unwrap();
    let (from, guid, data) = wait_for(&server, "Advertise", |ev| match ev {
        Event::Advertise { addr, guid, data } => Some((*addr, *guid, data.clone())),
        _ => None,
    });
    assert_eq!((from, guid), (stranger.local_addr(), stranger.guid()));
    assert_eq!(data, b"come play");
    // Connected peers may advertise too, with empty or maximal data.
    let client = start(config());
    connect(&server, &client);
    server.advertise(client.local_addr(), &[]).unwrap();
    let big = vec![7u8; MAX_ADVERTISE_DATA];
    server.advertise(client.local_addr(), &big).unwrap();
    for want in [Vec::new(), big.clone()] {
        let got = wait_for(&client, "Advertise", |ev| match ev {
            Event::Advertise { guid, data, .. } if *guid == server.guid() => Some(data.clone()),
            _ => None,
        });
        assert_eq!(got, want);
    }
    let too_big = vec![7u8; MAX_ADVERTISE_DATA + 1];
    assert!(matches!(
        server.advertise(client.local_addr(), &too_big),
        Err(PeerError::InvalidArgument)
    ));
}

/// A peer bound to `bind`, or `None` (a counted skip of `test`) when this machine has no
/// IPv6.
fn try_start(mut c: PeerConfig, bind: &str, ipv6_only: bool, test: &str) -> Option<Peer> {
    c.bind = bind.parse().unwrap();
    c.ipv6_only = ipv6_only;
    start_ipv6(c, test)
}

#[test]
fn ipv6_connections_carry_messages_pings_and_bans() {
    const T: &str = "ipv6_connections_carry_messages_pings_and_bans";
    let Some(server) = try_start(server_config(2), "[::1]:0", true, T) else {
        return;
    };
    let client = try_start(config(), "[::1]:0", true, T).unwrap();
    let (c_conn, s_conn) = connect(&server, &client);
    assert_eq!(
        server.conn_info(s_conn).unwrap().addr,
        client.local_addr(),
        "the server sees the client's IPv6 address"
    );
    client.send(c_conn, &[USER, 6], Default::default()).unwrap();
    wait_for(&server, "message over IPv6", |ev| match ev {
        Event::Message { data, .. } if data == &[USER, 6] => Some(()),
        _ => None,
    });
    client.ping(server.local_addr(), false).unwrap();
    wait_for(&client, "pong over IPv6", |ev| match ev {
        Event::Pong { addr, .. } if *addr == server.local_addr() => Some(()),
        _ => None,
    });
    // An IPv6 ban: the established connection ends, a new one is refused.
    server.ban("::1", None).unwrap();
    wait_for(&server, "ban", |ev| match ev {
        Event::Disconnected { conn, .. } if *conn == s_conn => Some(()),
        _ => None,
    });
    let other = try_start(config(), "[::1]:0", true, T).unwrap();
    let conn = other.connect(server.local_addr(), b"").unwrap();
    assert_eq!(outcome(&other, conn), Err(ConnectFailure::Banned));
    // An IPv6-only socket cannot reach IPv4, and an IPv4 one cannot reach IPv6.
    assert!(matches!(
        other.connect("127.0.0.1:9".parse().unwrap(), b""),
        Err(PeerError::Connect(ConnectError::InvalidAddress))
    ));
    let v4 = start(config());
    assert!(matches!(
        v4.connect(server.local_addr(), b""),
        Err(PeerError::Connect(ConnectError::InvalidAddress))
    ));
}

#[test]
fn a_dual_stack_server_accepts_ipv4_and_ipv6_clients() {
    const T: &str = "a_dual_stack_server_accepts_ipv4_and_ipv6_clients";
    // The client first: `::` can be bound on a machine whose `::1` is gone.
    let Some(v6_client) = try_start(config(), "[::1]:0", true, T) else {
        return;
    };
    let server = try_start(server_config(4), "[::]:0", false, T).unwrap();
    let port = server.local_addr().port();
    let v4_client = start(config());
    let (_, s4) = connect_to(
        &server,
        &v4_client,
        SocketAddr::from(([127, 0, 0, 1], port)),
    );
    let (_, s6) = connect_to(
        &server,
        &v6_client,
        format!("[::1]:{port}").parse().unwrap(),
    );
    // IPv4 clients appear with their plain IPv4 addresses, not v4-mapped ones.
    assert_eq!(server.conn_info(s4).unwrap().addr, v4_client.local_addr());
    assert_eq!(server.conn_info(s6).unwrap().addr, v6_client.local_addr());
    assert_eq!(
        server.conn_by_addr(v4_client.local_addr()).unwrap(),
        Some(s4)
    );
    // A dual-stack client reaches an IPv4 server.
    let v4_server = start(server_config(1));
    let dual_client = try_start(config(), "[::]:0", false, T).unwrap();
    assert!(dual_client.can_reach(v4_server.local_addr()));
    connect(&v4_server, &dual_client);
}

#[test]
fn an_ipv6_only_server_ignores_ipv4() {
    const T: &str = "an_ipv6_only_server_ignores_ipv4";
    let Some(v6_client) = try_start(config(), "[::1]:0", true, T) else {
        return;
    };
    let server = try_start(server_config(4), "[::]:0", true, T).unwrap();
    let port = server.local_addr().port();
    connect_to(
        &server,
        &v6_client,
        format!("[::1]:{port}").parse().unwrap(),
    );
    let v4_client = start(config());
    let opts = ConnectOptions {
        attempts: Some(2),
        interval: Some(Duration::from_millis(20)),
        timeout: None,
        secure: None,
    };
    let conn = v4_client
        .connect_with(SocketAddr::from(([127, 0, 0, 1], port)), b"", opts)
        .unwrap();
    assert_eq!(outcome(&v4_client, conn), Err(ConnectFailure::NoResponse));
}
