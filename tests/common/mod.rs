//! Helpers shared by the runtime's loopback test files (the C-API files' own in
//! `ffi.rs`): peers on `127.0.0.1:0`, waiting
//! for an event with a deadline (never sleeping), and counted skips.
#![allow(dead_code)] // each test file uses its own subset

pub mod ffi;

use std::net::SocketAddr;
use std::time::Duration;

use raknet::proto::{ConnId, ConnectFailure, Event};
use raknet::runtime::{Peer, PeerConfig, PeerEvent};

/// Longest any single expected event may take.
pub const PATIENCE: Duration = Duration::from_secs(5);
/// First byte of application messages (RakNet's ID_USER_PACKET_ENUM).
pub const USER: u8 = 0x86;

/// A peer on 127.0.0.1, any port, 5 s timeout, accepting nobody.
pub fn config() -> PeerConfig {
    let mut c = PeerConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        thread_name: "raknet-test".into(),
        ..PeerConfig::default()
    };
    c.proto.timeout = Duration::from_secs(5);
    c
}

/// A config that accepts `max` connections.
pub fn server_config(max: u32) -> PeerConfig {
    let mut c = config();
    c.proto.max_incoming = max;
    c
}

pub fn start(c: PeerConfig) -> Peer {
    Peer::start(c).expect("peer starts")
}

/// Says that a test could not check what it is named for (e.g. this machine has no
/// IPv6), so that nothing is skipped silently: prints `SKIPPED: {what} ({why})` and
/// appends it to the file named by `RAKNET_SKIP_LOG`, which `scripts/test.sh` sets and
/// counts in its final line. Panics instead under `CI=true` when there is no such file:
/// a skip nobody counts would look like a pass there.
pub fn skip(what: &str, why: &str) {
    let line = format!("SKIPPED: {what} ({why})");
    eprintln!("{line}");
    match std::env::var_os("RAKNET_SKIP_LOG") {
        Some(path) => {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("{line}: cannot append to RAKNET_SKIP_LOG: {e}"));
            f.write_all(format!("{line}\n").as_bytes())
                .unwrap_or_else(|e| panic!("{line}: cannot append to RAKNET_SKIP_LOG: {e}"));
        }
        None if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "{line}: under CI=true a skip must be counted (scripts/test.sh sets RAKNET_SKIP_LOG)"
        ),
        None => {}
    }
}

/// A peer bound to an IPv6 address (`c.bind`), or `None` after a counted [`skip`] of
/// `test` when the socket cannot be bound (this machine has no IPv6). Any other error
/// fails the test.
pub fn start_ipv6(c: PeerConfig, test: &str) -> Option<Peer> {
    let bind = c.bind;
    match Peer::start(c) {
        Ok(p) => Some(p),
        Err(raknet::runtime::PeerError::Io(e)) => {
            skip(
                &format!("IPv6: {test}"),
                &format!("cannot bind {bind}: {e}"),
            );
            None
        }
        Err(e) => panic!("{test}: starting a peer on {bind}: {e:?}"),
    }
}

/// Waits until `peer` produces an event `f` accepts, skipping (and remembering) others.
pub fn wait_for<T>(peer: &Peer, what: &str, mut f: impl FnMut(&Event) -> Option<T>) -> T {
    let mut skipped = Vec::new();
    let mut left = PATIENCE;
    let step = Duration::from_millis(50);
    loop {
        match peer.wait_event(step) {
            Some(PeerEvent::Net(ev)) => {
                if let Some(v) = f(&ev) {
                    return v;
                }
                if skipped.len() < 20 {
                    skipped.push(ev);
                }
            }
            Some(PeerEvent::Fatal) => panic!("peer failed while waiting for {what}"),
            None => {
                left = left.saturating_sub(step);
                if left.is_zero() {
                    panic!("timed out waiting for {what}; skipped {skipped:?}");
                }
            }
        }
    }
}

/// Calls `check` after each event (or quiet 50 ms) on `peer` until it returns
/// `Some`, for at most `PATIENCE`: waiting on a condition without sleeping blindly.
pub fn until<T>(peer: &Peer, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let step = Duration::from_millis(50);
    let mut left = PATIENCE;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if peer.wait_event(step).is_none() {
            left = left.saturating_sub(step);
        }
        assert!(!left.is_zero(), "timed out waiting for {what}");
    }
}

/// The connection attempt `conn` ended: `Ok(())` if connected, else its failure.
pub fn outcome(client: &Peer, conn: ConnId) -> Result<(), ConnectFailure> {
    wait_for(client, "the attempt's outcome", |ev| match ev {
        Event::Connected { conn: c, .. } if *c == conn => Some(Ok(())),
        Event::ConnectFailed {
            conn: c, reason, ..
        } if *c == conn => Some(Err(*reason)),
        _ => None,
    })
}

/// Connects `client` to `server`; returns (id on the client, id on the server).
pub fn connect(server: &Peer, client: &Peer) -> (ConnId, ConnId) {
    connect_to(server, client, server.local_addr())
}

/// As `connect`, to `addr` (where `server` listens).
pub fn connect_to(server: &Peer, client: &Peer, addr: SocketAddr) -> (ConnId, ConnId) {
    let c_conn = client.connect(addr, b"").expect("connect");
    assert_eq!(outcome(client, c_conn), Ok(()), "connecting to {addr}");
    let client_guid = client.guid();
    let s_conn = wait_for(server, "server Connected", |ev| match ev {
        Event::Connected { conn, guid, .. } if *guid == client_guid => Some(*conn),
        _ => None,
    });
    (c_conn, s_conn)
}

/// An address nothing listens on: a peer's port after it shut down.
pub fn closed_port() -> SocketAddr {
    let mut p = start(config());
    let addr = p.local_addr();
    p.shutdown(Duration::ZERO);
    addr
}

/// C source text without its `/* */` comments (the header tests read declarations).
pub fn without_block_comments(text: &str) -> String {
    let mut code = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    code.push_str(rest);
    code
}
