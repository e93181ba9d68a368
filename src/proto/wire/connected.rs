//! Connected control messages, carried in frames: connection request / accepted /
//! new incoming connection, connected ping / pong, disconnection, invalid password
//! (docs/protocol.md §5.6–5.8, §10). Only the message bodies (a frame's payload, id byte
//! included); which reliability carries them and what state they move is the handshake's
//! business. Address lists are parsed by remaining length so both the 10-address (4.081)
//! and 20-address (Minecraft) flavours decode (§5.7, §14 pitfall 10).

use std::net::{IpAddr, SocketAddr};

use super::{id, Reader, Writer};
use crate::proto::error::DecodeError;

/// Bytes after the address list of ACCEPTED / NEW_INCOMING_CONNECTION: two `u64` times.
const TIMES_LEN: usize = 16;
/// Exact size of a connected ping (§10.1).
const PING_LEN: usize = 9;
/// Exact size of a connected pong (§10.1).
const PONG_LEN: usize = 17;

/// Reads the id byte and fails unless it is `want`.
fn expect_id(r: &mut Reader<'_>, want: u8) -> Result<(), DecodeError> {
    let at = r.position();
    if r.u8("message id")? == want {
        Ok(())
    } else {
        Err(DecodeError::new("message id", at))
    }
}

/// Padding entries of an address list: RakNet's unassigned address (`04 FF FF FF FF 00 00`,
/// i.e. 0.0.0.0:0) and the broadcast address some servers pad with (aio-rak-net writes
/// 255.255.255.255:19132, §13). Neither is ever a real internal address.
fn is_unassigned(a: &SocketAddr) -> bool {
    match a.ip() {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_unspecified(),
    }
}

/// Reads internal addresses until exactly `TIMES_LEN` bytes remain, keeping the assigned
/// ones; at most `MAX_INTERNAL_ADDRESSES` entries are read.
fn read_internal_addrs(r: &mut Reader<'_>) -> Result<Vec<SocketAddr>, DecodeError> {
    let mut out = Vec::new();
    let mut read = 0;
    while r.remaining() > TIMES_LEN {
        if read == MAX_INTERNAL_ADDRESSES {
            return Err(DecodeError::new("internal address count", r.position()));
        }
        let a = r.address()?;
        read += 1;
        if !is_unassigned(&a) {
            out.push(a);
        }
    }
    if r.remaining() != TIMES_LEN {
        return Err(DecodeError::new("internal address list", r.position()));
    }
    Ok(out)
}

/// Writes exactly `count` addresses: the first `count` of `addrs`, then padding.
fn write_internal_addrs(w: &mut Writer<'_>, addrs: &[SocketAddr], count: usize) {
    for a in addrs.iter().take(count) {
        w.address(*a);
    }
    for _ in addrs.len()..count {
        w.unassigned_address();
    }
}

/// Most internal addresses read from ACCEPTED / NEW_INCOMING_CONNECTION.
pub const MAX_INTERNAL_ADDRESSES: usize = 20;

/// `09` guid `u64 time` `u8 doSecurity` password (rest of the message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRequest<'a> {
    /// Client GUID.
    pub guid: u64,
    /// Client time (ms), echoed in ACCEPTED.
    pub time: u64,
    /// doSecurity byte was non-zero.
    pub security: bool,
    /// Everything after doSecurity.
    pub password: &'a [u8],
}

/// `10` client addr `u16 system index` N internal addrs `u64 request time` `u64 server time`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRequestAccepted {
    /// Client address as the server sees it.
    pub client_addr: SocketAddr,
    /// Server's slot index.
    pub system_index: u16,
    /// Server internal addresses (unassigned ones are not listed).
    pub internal_addrs: Vec<SocketAddr>,
    /// CONNECTION_REQUEST's time, echoed.
    pub request_time: u64,
    /// Server time.
    pub server_time: u64,
}

/// `13` server addr N internal addrs `u64 server time` `u64 client time`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIncomingConnection {
    /// Server address as the client addressed it.
    pub server_addr: SocketAddr,
    /// Client internal addresses (unassigned ones are not listed).
    pub internal_addrs: Vec<SocketAddr>,
    /// ACCEPTED's server time, echoed.
    pub server_time: u64,
    /// Client time.
    pub client_time: u64,
}

impl<'a> ConnectionRequest<'a> {
    /// Decodes (at least 18 bytes).
    pub fn decode(bytes: &'a [u8]) -> Result<ConnectionRequest<'a>, DecodeError> {
        let mut r = Reader::new(bytes);
        expect_id(&mut r, id::CONNECTION_REQUEST)?;
        let guid = r.guid()?;
        let time = r.u64_be("request time")?;
        // A non-secure peer treats everything after doSecurity as the password (§11).
        let security = r.u8("doSecurity")? != 0;
        Ok(ConnectionRequest {
            guid,
            time,
            security,
            password: r.rest(),
        })
    }
    /// Appends the encoding.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let mut w = Writer::new(buf);
        w.u8(id::CONNECTION_REQUEST);
        w.guid(self.guid);
        w.u64_be(self.time);
        w.u8(u8::from(self.security));
        w.bytes(self.password);
    }
}

impl ConnectionRequestAccepted {
    /// Decodes; internal addresses are read until exactly 16 bytes remain (both the
    /// 10-address and the 20-address flavours), at most `MAX_INTERNAL_ADDRESSES`.
    pub fn decode(bytes: &[u8]) -> Result<ConnectionRequestAccepted, DecodeError> {
        let mut r = Reader::new(bytes);
        expect_id(&mut r, id::CONNECTION_REQUEST_ACCEPTED)?;
        let client_addr = r.address()?;
        let system_index = r.u16_be("system index")?;
        let internal_addrs = read_internal_addrs(&mut r)?;
        let request_time = r.u64_be("request time")?;
        let server_time = r.u64_be("server time")?;
        Ok(ConnectionRequestAccepted {
            client_addr,
            system_index,
            internal_addrs,
            request_time,
            server_time,
        })
    }
    /// Appends the encoding with exactly `count` internal addresses (padded with the
    /// unassigned address).
    pub fn encode(&self, count: usize, buf: &mut Vec<u8>) {
        let mut w = Writer::new(buf);
        w.u8(id::CONNECTION_REQUEST_ACCEPTED);
        w.address(self.client_addr);
        w.u16_be(self.system_index);
        write_internal_addrs(&mut w, &self.internal_addrs, count);
        w.u64_be(self.request_time);
        w.u64_be(self.server_time);
    }
}

impl NewIncomingConnection {
    /// Decodes like `ConnectionRequestAccepted::decode`.
    pub fn decode(bytes: &[u8]) -> Result<NewIncomingConnection, DecodeError> {
        let mut r = Reader::new(bytes);
        expect_id(&mut r, id::NEW_INCOMING_CONNECTION)?;
        let server_addr = r.address()?;
        let internal_addrs = read_internal_addrs(&mut r)?;
        let server_time = r.u64_be("server time")?;
        let client_time = r.u64_be("client time")?;
        Ok(NewIncomingConnection {
            server_addr,
            internal_addrs,
            server_time,
            client_time,
        })
    }
    /// Appends the encoding with exactly `count` internal addresses.
    pub fn encode(&self, count: usize, buf: &mut Vec<u8>) {
        let mut w = Writer::new(buf);
        w.u8(id::NEW_INCOMING_CONNECTION);
        w.address(self.server_addr);
        write_internal_addrs(&mut w, &self.internal_addrs, count);
        w.u64_be(self.server_time);
        w.u64_be(self.client_time);
    }
}

/// `00` `u64 time`: exactly 9 bytes. Returns the time.
pub fn decode_ping(bytes: &[u8]) -> Result<u64, DecodeError> {
    if bytes.len() != PING_LEN {
        return Err(DecodeError::new("connected ping length", 0));
    }
    let mut r = Reader::new(bytes);
    expect_id(&mut r, id::CONNECTED_PING)?;
    r.u64_be("ping time")
}

/// Appends a 9-byte connected ping.
pub fn encode_ping(time: u64, buf: &mut Vec<u8>) {
    let mut w = Writer::new(buf);
    w.u8(id::CONNECTED_PING);
    w.u64_be(time);
}

/// `03` `u64 ping time` `u64 pong time`: exactly 17 bytes. Returns (ping time, pong time).
pub fn decode_pong(bytes: &[u8]) -> Result<(u64, u64), DecodeError> {
    if bytes.len() != PONG_LEN {
        return Err(DecodeError::new("connected pong length", 0));
    }
    let mut r = Reader::new(bytes);
    expect_id(&mut r, id::CONNECTED_PONG)?;
    let ping_time = r.u64_be("ping time")?;
    let pong_time = r.u64_be("pong time")?;
    Ok((ping_time, pong_time))
}

/// Appends a 17-byte connected pong.
pub fn encode_pong(ping_time: u64, pong_time: u64, buf: &mut Vec<u8>) {
    let mut w = Writer::new(buf);
    w.u8(id::CONNECTED_PONG);
    w.u64_be(ping_time);
    w.u64_be(pong_time);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn accepted(internal: Vec<SocketAddr>) -> ConnectionRequestAccepted {
        ConnectionRequestAccepted {
            client_addr: addr("127.0.0.1:60001"),
            system_index: 3,
            internal_addrs: internal,
            request_time: 0x7B,
            server_time: 0x0102_0304_0506_0708,
        }
    }

    fn nic(internal: Vec<SocketAddr>) -> NewIncomingConnection {
        NewIncomingConnection {
            server_addr: addr("127.0.0.1:60000"),
            internal_addrs: internal,
            server_time: 5,
            client_time: 6,
        }
    }

    #[test]
    fn connection_request_round_trips() {
        for pw in [&b""[..], b"wrong", &[0xFF; 255]] {
            for security in [false, true] {
                let m = ConnectionRequest {
                    guid: 0x0006_60F6_D430_BF9B,
                    time: 0x7B,
                    security,
                    password: pw,
                };
                let mut v = Vec::new();
                m.encode(&mut v);
                assert_eq!(v.len(), 18 + pw.len());
                assert_eq!(ConnectionRequest::decode(&v).unwrap(), m);
                for n in 0..18 {
                    assert!(ConnectionRequest::decode(&v[..n]).is_err());
                }
            }
        }
        // §5.1 trace body.
        let b = [
            0x09, 0x00, 0x06, 0x60, 0xF6, 0xD4, 0x30, 0xBF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0,
        ];
        let m = ConnectionRequest::decode(&b).unwrap();
        assert_eq!(
            (m.guid, m.time, m.security),
            (0x0006_60F6_D430_BF9B, 0x7B, false)
        );
        assert!(m.password.is_empty());
        let mut bad = b;
        bad[0] = 0x10;
        assert!(ConnectionRequest::decode(&bad).is_err());
    }

    #[test]
    fn accepted_round_trips_in_both_flavours() {
        let internal = vec![addr("192.168.1.10:60000"), addr("[fe80::1]:60000")];
        for count in [10usize, 20] {
            let m = accepted(internal.clone());
            let mut v = Vec::new();
            m.encode(count, &mut v);
            assert_eq!(v.len(), 1 + 7 + 2 + 7 * (count - 1) + 29 + 16);
            assert_eq!(ConnectionRequestAccepted::decode(&v).unwrap(), m);
            // Below the minimum (no internal addresses) every prefix fails; a longer prefix
            // can be a shorter, well-formed list, but never the original message.
            for n in 0..v.len() {
                if let Ok(d) = ConnectionRequestAccepted::decode(&v[..n]) {
                    assert!(n >= 26 && d != m, "{n}");
                }
            }
        }
        // 4.081 size: 96 bytes with 10 IPv4 addresses, padding not listed.
        let m = accepted(vec![addr("127.0.0.1:60000")]);
        let mut v = Vec::new();
        m.encode(10, &mut v);
        assert_eq!(v.len(), 96);
        assert_eq!(&v[17..24], &[0x04, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00]);
        assert_eq!(ConnectionRequestAccepted::decode(&v).unwrap(), m);
        // No internal addresses at all.
        let m = accepted(vec![]);
        let mut v = Vec::new();
        m.encode(0, &mut v);
        assert_eq!(ConnectionRequestAccepted::decode(&v).unwrap(), m);
        // More addresses than `count`: truncated.
        let mut v = Vec::new();
        accepted(vec![addr("10.0.0.1:1"), addr("10.0.0.2:2")]).encode(1, &mut v);
        assert_eq!(
            ConnectionRequestAccepted::decode(&v)
                .unwrap()
                .internal_addrs,
            vec![addr("10.0.0.1:1")]
        );
    }

    #[test]
    fn nic_round_trips_and_skips_padding() {
        let m = nic(vec![addr("10.0.0.2:60001")]);
        for count in [10usize, 20] {
            let mut v = Vec::new();
            m.encode(count, &mut v);
            assert_eq!(v.len(), 1 + 7 * (count + 1) + 16);
            assert_eq!(NewIncomingConnection::decode(&v).unwrap(), m);
            for n in 0..v.len() {
                if let Ok(d) = NewIncomingConnection::decode(&v[..n]) {
                    assert!(n >= 24 && d != m, "{n}");
                }
            }
        }
        // aio-rak-net style padding: 255.255.255.255:19132.
        let mut v = vec![0x13];
        Writer::new(&mut v).address(addr("127.0.0.1:60000"));
        for _ in 0..20 {
            Writer::new(&mut v).address(addr("255.255.255.255:19132"));
        }
        v.extend_from_slice(&[0; 16]);
        assert!(NewIncomingConnection::decode(&v)
            .unwrap()
            .internal_addrs
            .is_empty());
    }

    #[test]
    fn bad_address_lists_fail() {
        let m = nic(vec![]);
        // 21 addresses: over the cap.
        let mut v = Vec::new();
        m.encode(21, &mut v);
        assert!(NewIncomingConnection::decode(&v).is_err());
        // A list that does not end exactly 16 bytes before the end.
        let mut v = Vec::new();
        m.encode(10, &mut v);
        v.push(0);
        assert!(NewIncomingConnection::decode(&v).is_err());
        // Bad address version inside the list.
        let mut v = Vec::new();
        m.encode(10, &mut v);
        v[8] = 9;
        assert!(NewIncomingConnection::decode(&v).is_err());
        // Wrong id.
        let mut v = Vec::new();
        m.encode(10, &mut v);
        assert!(ConnectionRequestAccepted::decode(&v).is_err());
    }

    #[test]
    fn ping_and_pong_exact_sizes() {
        let mut v = Vec::new();
        encode_ping(0x1122_3344_5566_7788, &mut v);
        assert_eq!(v.len(), 9);
        assert_eq!(decode_ping(&v), Ok(0x1122_3344_5566_7788));
        let mut long = v.clone();
        long.push(0);
        assert!(decode_ping(&long).is_err());
        for n in 0..v.len() {
            assert!(decode_ping(&v[..n]).is_err());
        }
        v[0] = 0x03;
        assert!(decode_ping(&v).is_err());

        let mut v = Vec::new();
        encode_pong(1, 2, &mut v);
        assert_eq!(v.len(), 17);
        assert_eq!(decode_pong(&v), Ok((1, 2)));
        let mut long = v.clone();
        long.push(0);
        assert!(decode_pong(&long).is_err());
        for n in 0..v.len() {
            assert!(decode_pong(&v[..n]).is_err());
        }
        v[0] = 0x00;
        assert!(decode_pong(&v).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u32 = 0x2545_F491;
        for len in 0..300usize {
            for first in [0x00u8, 0x03, 0x09, 0x10, 0x13] {
                let mut b: Vec<u8> = (0..len)
                    .map(|i| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        // Mostly valid address version bytes so parsing goes deep.
                        if i % 7 == 1 {
                            4
                        } else {
                            x as u8
                        }
                    })
                    .collect();
                if let Some(f) = b.first_mut() {
                    *f = first;
                }
                let _ = ConnectionRequest::decode(&b);
                let _ = ConnectionRequestAccepted::decode(&b);
                let _ = NewIncomingConnection::decode(&b);
                let _ = decode_ping(&b);
                let _ = decode_pong(&b);
            }
        }
    }
}
