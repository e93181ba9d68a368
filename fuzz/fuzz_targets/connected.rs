//! Connected control messages (`wire::connected`, docs/protocol.md §5.6–5.8, §10.1): every
//! decoder on the same bytes, never panicking; accepted messages round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raknet::proto::wire::connected::{
    self, ConnectionRequest, ConnectionRequestAccepted, NewIncomingConnection,
    MAX_INTERNAL_ADDRESSES,
};
use raknet_fuzz::{canonical, canonical_list};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ConnectionRequest::decode(data) {
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(ConnectionRequest::decode(&out), Ok(m.clone()));
        if data.get(17).is_some_and(|&b| b <= 1) {
            assert_eq!(out, data);
        }
    }
    if let Ok(m) = ConnectionRequestAccepted::decode(data) {
        assert!(m.internal_addrs.len() <= MAX_INTERNAL_ADDRESSES);
        for count in [m.internal_addrs.len(), 10, 20] {
            if count < m.internal_addrs.len() {
                continue;
            }
            let mut out = Vec::new();
            m.encode(count, &mut out);
            let want = ConnectionRequestAccepted {
                client_addr: canonical(m.client_addr),
                internal_addrs: canonical_list(&m.internal_addrs),
                ..m.clone()
            };
            assert_eq!(ConnectionRequestAccepted::decode(&out), Ok(want));
        }
    }
    if let Ok(m) = NewIncomingConnection::decode(data) {
        assert!(m.internal_addrs.len() <= MAX_INTERNAL_ADDRESSES);
        for count in [m.internal_addrs.len(), 10, 20] {
            if count < m.internal_addrs.len() {
                continue;
            }
            let mut out = Vec::new();
            m.encode(count, &mut out);
            let want = NewIncomingConnection {
                server_addr: canonical(m.server_addr),
                internal_addrs: canonical_list(&m.internal_addrs),
                ..m.clone()
            };
            assert_eq!(NewIncomingConnection::decode(&out), Ok(want));
        }
    }
    if let Ok(t) = connected::decode_ping(data) {
        let mut out = Vec::new();
        connected::encode_ping(t, &mut out);
        assert_eq!(out, data);
    }
    if let Ok((a, b)) = connected::decode_pong(data) {
        let mut out = Vec::new();
        connected::encode_pong(a, b, &mut out);
        assert_eq!(out, data);
    }
});
