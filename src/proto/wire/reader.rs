//! Bounds-checked cursor over received bytes. Every read either succeeds or returns a
//! `DecodeError` naming the field and offset; nothing here can panic or allocate.
//! Byte orders follow docs/protocol.md §1.2: big-endian, except `u24` which is little-endian.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use super::MAGIC;
use crate::proto::error::DecodeError;

/// A read cursor.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `buf`.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }
    /// Bytes consumed so far.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }
    /// Bytes left.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// No bytes left.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }
    /// Fails with `what` unless at least `n` bytes remain.
    #[inline]
    pub fn need(&self, n: usize, what: &'static str) -> Result<(), DecodeError> {
        if self.remaining() >= n {
            Ok(())
        } else {
            Err(DecodeError::new(what, self.pos))
        }
    }
    /// The next `n` bytes.
    #[inline]
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        self.need(n, what)?;
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    /// Skips `n` bytes.
    #[inline]
    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<(), DecodeError> {
        self.bytes(n, what).map(|_| ())
    }
    /// Everything left, without consuming it (for decoders with a fast path that
    /// checks lengths once, then `skip`s what they used).
    #[inline]
    pub fn peek_rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
    /// Everything left.
    #[inline]
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }
    #[inline]
    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.bytes(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    /// One byte.
    #[inline]
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }
    /// Big-endian u16.
    #[inline]
    pub fn u16_be(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }
    /// Little-endian u16 (the family field of a Linux `sockaddr_in6` image).
    #[inline]
    pub fn u16_le(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    /// Little-endian 24-bit integer (RakNet's `uint24_t`).
    #[inline]
    pub fn u24_le(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let [a, b, c] = self.array::<3>(what)?;
        Ok(u32::from_le_bytes([a, b, c, 0]))
    }
    /// Big-endian u32.
    #[inline]
    pub fn u32_be(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    /// Big-endian u64.
    #[inline]
    pub fn u64_be(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }
    /// Big-endian IEEE-754 float.
    pub fn f32_be(&mut self, what: &'static str) -> Result<f32, DecodeError> {
        Ok(f32::from_be_bytes(self.array(what)?))
    }
    /// The 16 offline magic bytes (docs/protocol.md §1.4); fails if they differ.
    pub fn magic(&mut self) -> Result<(), DecodeError> {
        let at = self.pos;
        if self.bytes(16, "magic")? == MAGIC {
            Ok(())
        } else {
            Err(DecodeError::new("magic", at))
        }
    }
    /// A RakNetGUID (`u64be`).
    pub fn guid(&mut self) -> Result<u64, DecodeError> {
        self.u64_be("guid")
    }
    /// A SystemAddress (docs/protocol.md §3.1): version 4 (7 bytes, inverted octets) or
    /// version 6 (29 bytes, a `sockaddr_in6` image of which port and address are used).
    /// A version byte of 0 reads as IPv4, as go-raknet writes it.
    pub fn address(&mut self) -> Result<SocketAddr, DecodeError> {
        let at = self.pos;
        match self.u8("address version")? {
            4 | 0 => {
                let o = self.array::<4>("ipv4 address")?;
                let ip = Ipv4Addr::new(!o[0], !o[1], !o[2], !o[3]);
                let port = self.u16_be("port")?;
                Ok(SocketAddr::new(IpAddr::V4(ip), port))
            }
            6 => {
                let _family = self.u16_le("address family")?;
                let port = self.u16_be("port")?;
                self.skip(4, "flow info")?;
                let ip = Ipv6Addr::from(self.array::<16>("ipv6 address")?);
                // The scope id is a host-local interface number of the sender: meaningless here.
                self.skip(4, "scope id")?;
                Ok(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0)))
            }
            _ => Err(DecodeError::new("address version", at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_and_bounds() {
        let b = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06];
        let mut r = Reader::new(&b);
        assert_eq!(r.u16_be("a").unwrap(), 0x0102);
        assert_eq!(r.u24_le("b").unwrap(), 0x050403);
        let e = r.u16_be("c").unwrap_err();
        assert_eq!(e, DecodeError::new("c", 5));
        assert_eq!(r.u8("d").unwrap(), 6);
        assert!(r.is_empty());
    }

    #[test]
    fn ipv4_address_is_inverted() {
        let b = [0x04, 0x80, 0xFF, 0xFF, 0xFE, 0xEA, 0x60];
        let a = Reader::new(&b).address().unwrap();
        assert_eq!(a, "127.0.0.1:60000".parse().unwrap());
        assert!(Reader::new(&b[..6]).address().is_err());
        assert!(Reader::new(&[9u8; 7]).address().is_err());
    }
}
