//! The anti-spoofing cookies of real peers, seen from a plain UDP socket: peers set up
//! alike (same GUID, same seed) still key their cookies differently.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use raknet::proto::wire::offline::{self, Offline};
use raknet::runtime::{Logger, Peer};

#[allow(clippy::disallowed_types)] // a raw socket to speak the offline handshake by hand
type Raw = std::net::UdpSocket;

fn raw() -> Raw {
    let s = Raw::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s
}

/// REQUEST_1 to `server`; the cookie of its REPLY_1 (waits at most `PATIENCE`).
fn cookie_from(sock: &Raw, server: SocketAddr) -> u32 {
    let mut req = Vec::new();
    Offline::OpenConnectionRequest1 {
        protocol: 6,
        mtu: 1200,
    }
    .encode(&mut req);
    #[allow(clippy::disallowed_methods)] // a deadline for the raw socket's answer
    let deadline = Instant::now() + PATIENCE;
    let mut buf = [0u8; 1500];
    loop {
        sock.send_to(&req, server).unwrap();
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            if from == server {
                match offline::decode(&buf[..n]) {
                    Some(Ok(Offline::OpenConnectionReply1 { cookie, .. })) => {
                        return cookie.expect("cookies are on by default")
                    }
                    other => panic!("expected REPLY_1, got {other:?}"),
                }
            }
        }
        #[allow(clippy::disallowed_methods)]
        let late = Instant::now() > deadline;
        assert!(!late, "no REPLY_1 from {server}");
    }
}

fn alike(log: Logger) -> Peer {
    let mut c = server_config(4);
    c.proto.guid = 0x0123_4567_89AB_CDEF;
    c.proto.seed = 42;
    c.log = log;
    start(c)
}

#[test]
fn peers_with_the_same_guid_and_seed_issue_different_cookies() {
    let (a, b) = (alike(Logger::default()), alike(Logger::default()));
    assert_eq!(a.guid(), b.guid());
    let sock = raw();
    let (ca, cb) = (
        cookie_from(&sock, a.local_addr()),
        cookie_from(&sock, b.local_addr()),
    );
    assert_ne!(ca, cb, "same cookie key on two servers");
    // And each is stable for its server within an epoch (it is a cookie, not noise).
    assert_eq!(cookie_from(&sock, a.local_addr()), ca);
}
