//! Reliability-layer datagrams: the flags byte, data datagram header, and ACK/NAK range
//! lists (PROTOCOL.md §6.1–6.3).
//!
//! OWNER: wire helper. Interface fixed; bodies to implement.

use super::{Reader, Writer};
use crate::proto::error::DecodeError;

/// Byte 0 bit: a valid reliability-layer datagram.
pub const FLAG_VALID: u8 = 0x80;
/// Byte 0 bit: ACK.
pub const FLAG_ACK: u8 = 0x40;
/// Byte 0 bit: NAK (on an ACK: hasBAndAS).
pub const FLAG_NAK: u8 = 0x20;
/// Byte 0 bit: packet pair (never set by 4.081).
pub const FLAG_PACKET_PAIR: u8 = 0x10;
/// Byte 0 bit: continuous send.
pub const FLAG_CONTINUOUS: u8 = 0x08;
/// Byte 0 bit: needs B and AS (slow start).
pub const FLAG_NEEDS_B_AND_AS: u8 = 0x04;

/// Bytes of a data datagram header: flags + u24 number.
pub const DATA_HEADER_LEN: usize = 4;
/// Most ranges accepted from one ACK/NAK datagram (bounds work per datagram).
pub const MAX_RANGES_PER_DATAGRAM: usize = 1024;

/// What kind of reliability-layer datagram byte 0 announces.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DatagramKind {
    /// Carries frames.
    Data,
    /// Acknowledges datagram numbers.
    Ack,
    /// Reports missing datagram numbers.
    Nak,
}

/// Classifies by byte 0 (decode order of §6.1). `None` if the valid bit is clear or the
/// datagram has 2 bytes or fewer (4.081 ignores those).
pub fn classify(bytes: &[u8]) -> Option<DatagramKind> {
    let _ = bytes;
    todo!("wire helper")
}

/// Header of a data datagram.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DataHeader {
    /// The whole flags byte (`FLAG_VALID` always set when encoding).
    pub flags: u8,
    /// Datagram number (24 bits).
    pub number: u32,
}

impl DataHeader {
    /// Reads flags and number; the frames follow.
    pub fn decode(r: &mut Reader<'_>) -> Result<DataHeader, DecodeError> {
        let _ = r;
        todo!("wire helper")
    }
    /// Writes flags (with `FLAG_VALID` forced on) and number.
    pub fn encode(&self, w: &mut Writer<'_>) {
        let _ = w;
        todo!("wire helper")
    }
}

/// Decodes a whole ACK or NAK datagram into inclusive `(min, max)` ranges appended to
/// `out` (cleared first). Returns true for a NAK. Skips the 4-byte AS field of an ACK with
/// `0x20` set. Fails, leaving `out` empty, on: a range with `max < min`, a record count
/// above `MAX_RANGES_PER_DATAGRAM`, a record type other than 0/1, or truncation.
pub fn decode_ack_nak(bytes: &[u8], out: &mut Vec<(u32, u32)>) -> Result<bool, DecodeError> {
    let _ = (bytes, out);
    todo!("wire helper")
}

/// Appends one ACK (`nak = false`, byte `C0`) or NAK (`A0`) datagram to `buf` holding as
/// many of `ranges` (inclusive, each with `min <= max`, no wrap inside a range) as fit in
/// `max_len` bytes; returns how many ranges were written (at least 1 if `max_len >= 10`).
/// Single numbers use record type 1, longer ranges type 0. The caller must order ranges so
/// that one ending at 0xFFFFFF comes last (PROTOCOL.md §14 pitfall 14).
pub fn encode_ack_nak(nak: bool, ranges: &[(u32, u32)], max_len: usize, buf: &mut Vec<u8>) -> usize {
    let _ = (nak, ranges, max_len, buf);
    todo!("wire helper")
}
