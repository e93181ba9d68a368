//! Appends encoded fields to a caller-owned `Vec<u8>` (so buffers are reused, never
//! allocated per message). Byte orders as in `reader.rs`.

use std::net::{IpAddr, SocketAddr};

use super::MAGIC;

/// `AF_INET6` as Linux writes it inside a `sockaddr_in6` image (docs/protocol.md §3.1).
const AF_INET6_LINUX: u16 = 10;

/// An append cursor over a byte vector.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    /// Appends to `buf` (existing contents are kept).
    #[inline]
    pub fn new(buf: &'a mut Vec<u8>) -> Writer<'a> {
        Writer { buf }
    }
    /// Bytes in the underlying buffer.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// The underlying buffer is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// One byte.
    #[inline]
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// Big-endian u16.
    #[inline]
    pub fn u16_be(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Little-endian 24-bit integer; the top byte of `v` is ignored.
    #[inline]
    pub fn u24_le(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes()[..3]);
    }
    /// Big-endian u32.
    #[inline]
    pub fn u32_be(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Big-endian u64.
    #[inline]
    pub fn u64_be(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Raw bytes.
    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    /// `n` zero bytes.
    pub fn zeros(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }
    /// The offline magic.
    pub fn magic(&mut self) {
        self.bytes(&MAGIC);
    }
    /// A GUID.
    pub fn guid(&mut self, g: u64) {
        self.u64_be(g);
    }
    /// A SystemAddress (docs/protocol.md §3.1). IPv4-mapped IPv6 addresses are written in the
    /// IPv4 form, which every RakNet build reads.
    pub fn address(&mut self, a: SocketAddr) {
        let ip = match a.ip() {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            },
            v4 => v4,
        };
        match (ip, a) {
            (IpAddr::V4(v4), _) => {
                self.u8(4);
                for o in v4.octets() {
                    self.u8(!o);
                }
                self.u16_be(a.port());
            }
            (IpAddr::V6(v6), SocketAddr::V6(s)) => {
                self.u8(6);
                self.bytes(&AF_INET6_LINUX.to_le_bytes());
                self.u16_be(a.port());
                self.u32_be(s.flowinfo());
                self.bytes(&v6.octets());
                self.u32_be(s.scope_id());
            }
            (IpAddr::V6(v6), SocketAddr::V4(_)) => {
                // Unreachable in practice (a V4 socket address has a V4 ip); keep the
                // encoding total anyway.
                self.u8(6);
                self.bytes(&AF_INET6_LINUX.to_le_bytes());
                self.u16_be(a.port());
                self.u32_be(0);
                self.bytes(&v6.octets());
                self.u32_be(0);
            }
        }
    }
    /// The "unassigned" address RakNet pads address lists with (`04 FF FF FF FF 00 00`).
    pub fn unassigned_address(&mut self) {
        self.bytes(&[0x04, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::reader::Reader;
    use super::*;

    #[test]
    fn address_round_trips() {
        for s in [
            "127.0.0.1:60000",
            "192.168.1.10:19132",
            "[::1]:7777",
            "[fe80::1]:1",
        ] {
            let a: SocketAddr = s.parse().unwrap();
            let mut v = Vec::new();
            Writer::new(&mut v).address(a);
            assert_eq!(v.len(), if a.is_ipv4() { 7 } else { 29 });
            assert_eq!(Reader::new(&v).address().unwrap(), a, "{s}");
        }
        let mut v = Vec::new();
        Writer::new(&mut v).address("192.168.1.10:19132".parse().unwrap());
        assert_eq!(v, [0x04, 0x3F, 0x57, 0xFE, 0xF5, 0x4A, 0xBC]);
    }

    #[test]
    fn u24_is_little_endian() {
        let mut v = Vec::new();
        Writer::new(&mut v).u24_le(0x0102_0304);
        assert_eq!(v, [0x04, 0x03, 0x02]);
    }
}
