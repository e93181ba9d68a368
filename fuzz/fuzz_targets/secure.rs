//! Secure mode's untrusted inputs: the two secure handshake messages
//! (`wire::secure`), a server endpoint with a key pair answering them, and
//! `Session::open` on arbitrary datagrams. Never panics; decoded messages re-encode to
//! the same bytes; no arbitrary datagram opens under a real session; a refused or
//! malformed handshake takes no connection slot.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use raknet::proto::secure::{prologue, ClientHandshake, KeyPair, ServerHandshake, Session};
use raknet::proto::wire::secure::{SecureReply2, SecureRequest2};
use raknet::proto::{Config, Endpoint, SecureConfig, Time};

fn keys() -> &'static (KeyPair, KeyPair) {
    static K: OnceLock<(KeyPair, KeyPair)> = OnceLock::new();
    K.get_or_init(|| {
        (
            KeyPair::from_private([7; 32]),
            KeyPair::from_private([9; 32]),
        )
    })
}

/// A real session pair's server half (the fuzz input cannot know its keys).
fn session() -> Session {
    let (server, _) = keys();
    let p = prologue(6, 1, 2);
    let c = ClientHandshake::start(None, &p).unwrap();
    let s = ServerHandshake::read(server, &p, false, c.message()).unwrap();
    s.accept(1400).unwrap().1
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = SecureRequest2::decode(data) {
        let mut buf = Vec::new();
        m.encode(&mut buf);
        assert_eq!(SecureRequest2::decode(&buf).as_ref(), Ok(&m));
    }
    if let Ok(m) = SecureReply2::decode(data) {
        let mut buf = Vec::new();
        m.encode(&mut buf);
        assert_eq!(buf, data, "reply encoding is not stable");
    }
    let mut out = Vec::new();
    assert!(session().open(data, &mut out).is_err(), "forged datagram opened");

    let (server, _) = keys();
    let cfg = Config {
        max_incoming: 4,
        cookies: false,
        secure: SecureConfig {
            key_pair: Some(server.clone()),
            ..SecureConfig::default()
        },
        ..Config::default()
    };
    let mut ep = Endpoint::new(cfg, "10.0.0.1:19132".parse().unwrap());
    let now = Time::from_millis(10);
    ep.handle_datagram(now, "10.0.0.2:4000".parse().unwrap(), data);
    let mut buf = Vec::new();
    while ep.poll_transmit(now, &mut buf).is_some() {
        assert!(buf.len() <= data.len(), "answer larger than the request");
    }
    assert!(ep.connection_count() <= 1);
});
