//! The anti-spoofing cookies of real peers, seen from a plain UDP socket: peers set up
//! alike (same GUID, same seed) still key their cookies differently, and a REQUEST_2
//! without a cookie is refused in the log.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use raknet::proto::wire::offline::{self, Offline};
use raknet::runtime::{LogLevel, LogSink, Logger, Peer};

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

#[test]
fn a_request_2_without_a_cookie_is_logged() {
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let l2 = lines.clone();
    let sink: LogSink = Arc::new(move |_, text: &str| l2.lock().unwrap().push(text.to_owned()));
    let server = alike(Logger::new(sink, LogLevel::Info));
    let mut req = Vec::new();
    Offline::OpenConnectionRequest2 {
        cookie: None,
        has_challenge: false,
        server_addr: server.local_addr(),
        mtu: 1200,
        guid: 77,
    }
    .encode(&mut req);
    let sock = raw();
    for _ in 0..3 {
        sock.send_to(&req, server.local_addr()).unwrap();
    }
    // The summary line may be written after the first refusal, before the other two
    // are read: wait for both, the count exact.
    until(&server, "the refusal line and three refusals", || {
        let logged = lines
            .lock()
            .unwrap()
            .iter()
            .any(|t| t.contains("without the anti-spoofing cookie"));
        let (stats, _) = server.endpoint_stats().unwrap();
        assert!(
            stats.refused.missing_cookie <= 3,
            "more refusals than requests"
        );
        (logged && stats.refused.missing_cookie == 3).then_some(())
    });
}
