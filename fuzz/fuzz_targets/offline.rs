//! `wire::offline::decode` on arbitrary bytes: never panics, and every message it accepts
//! re-encodes to bytes that decode to the same message (docs/protocol.md §4, §5.2–5.5), up to
//! the fields the encoder deliberately does not write (libcat key and challenge).
#![no_main]

use libfuzzer_sys::fuzz_target;
use raknet::proto::wire::offline::{self, Offline};
use raknet_fuzz::canonical;

fn normalize(m: Offline<'_>) -> Offline<'_> {
    match m {
        Offline::OpenConnectionReply1 {
            guid, cookie, mtu, ..
        } => Offline::OpenConnectionReply1 {
            guid,
            cookie,
            has_public_key: false,
            mtu,
        },
        Offline::OpenConnectionRequest2 {
            cookie,
            server_addr,
            mtu,
            guid,
            ..
        } => Offline::OpenConnectionRequest2 {
            cookie,
            has_challenge: false,
            server_addr: canonical(server_addr),
            mtu,
            guid,
        },
        Offline::OpenConnectionReply2 {
            guid,
            client_addr,
            mtu,
            security,
        } => Offline::OpenConnectionReply2 {
            guid,
            client_addr: canonical(client_addr),
            mtu,
            security,
        },
        other => other,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(res) = offline::decode(data) else {
        return;
    };
    if data.len() <= 2 {
        assert!(res.is_err(), "offline junk accepted");
    }
    let Ok(msg) = res else {
        return;
    };
    if let Offline::UnconnectedPong { data: d, .. } = &msg {
        assert!(d.len() < 400, "pong data of {} bytes", d.len());
    }
    let mut buf = Vec::new();
    msg.encode(&mut buf);
    let again = offline::decode(&buf)
        .unwrap_or_else(|| panic!("re-encoded {msg:?} is not offline: {buf:02x?}"))
        .unwrap_or_else(|e| panic!("re-encoded {msg:?} does not decode: {e}"));
    assert_eq!(again, normalize(msg.clone()), "round trip of {msg:?}");
    if !matches!(
        msg,
        Offline::OpenConnectionReply1 { .. }
            | Offline::OpenConnectionRequest2 { .. }
            | Offline::OpenConnectionReply2 { .. }
    ) {
        let mut buf2 = Vec::new();
        again.encode(&mut buf2);
        assert_eq!(buf, buf2, "encoding is not stable");
    }
});
