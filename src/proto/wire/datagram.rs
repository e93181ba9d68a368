//! Reliability-layer datagrams: the flags byte, data datagram header, and ACK/NAK range
//! lists (docs/protocol.md §6.1–6.3). Frames inside data datagrams are `frame.rs`'s job; what
//! the numbers mean (windows, resends, RTT) belongs to the reliability layer. ACK/NAK
//! decoding is bounded by `MAX_RANGES_PER_DATAGRAM` so a hostile count costs nothing.

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
    if bytes.len() <= 2 {
        return None;
    }
    let b = *bytes.first()?;
    if b & FLAG_VALID == 0 {
        None
    } else if b & FLAG_ACK != 0 {
        Some(DatagramKind::Ack)
    } else if b & FLAG_NAK != 0 {
        Some(DatagramKind::Nak)
    } else {
        Some(DatagramKind::Data)
    }
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
    /// Fails if the flags do not announce a data datagram (valid bit clear, or ACK/NAK).
    pub fn decode(r: &mut Reader<'_>) -> Result<DataHeader, DecodeError> {
        let at = r.position();
        let flags = r.u8("datagram flags")?;
        if flags & FLAG_VALID == 0 || flags & (FLAG_ACK | FLAG_NAK) != 0 {
            return Err(DecodeError::new("datagram flags", at));
        }
        let number = r.u24_le("datagram number")?;
        Ok(DataHeader { flags, number })
    }
    /// Writes flags (with `FLAG_VALID` forced on) and number.
    pub fn encode(&self, w: &mut Writer<'_>) {
        w.u8(self.flags | FLAG_VALID);
        w.u24_le(self.number);
    }
}

/// Decodes a whole ACK or NAK datagram into inclusive `(min, max)` ranges appended to
/// `out` (cleared first). Returns true for a NAK. Skips the 4-byte AS field of an ACK with
/// `0x20` set. Fails, leaving `out` empty, on: a range with `max < min`, a record count
/// above `MAX_RANGES_PER_DATAGRAM`, a record type other than 0/1, or truncation.
pub fn decode_ack_nak(bytes: &[u8], out: &mut Vec<(u32, u32)>) -> Result<bool, DecodeError> {
    out.clear();
    let res = decode_ranges(bytes, out);
    if res.is_err() {
        out.clear();
    }
    res
}

/// Body of `decode_ack_nak`; may leave a partial list in `out` on error.
fn decode_ranges(bytes: &[u8], out: &mut Vec<(u32, u32)>) -> Result<bool, DecodeError> {
    let mut r = Reader::new(bytes);
    let flags = r.u8("datagram flags")?;
    let nak = if flags & FLAG_VALID == 0 {
        return Err(DecodeError::new("datagram flags", 0));
    } else if flags & FLAG_ACK != 0 {
        if flags & FLAG_NAK != 0 {
            // hasBAndAS: a float 4.081 never sends (§6.3); skip it.
            r.skip(4, "ack AS")?;
        }
        false
    } else if flags & FLAG_NAK != 0 {
        true
    } else {
        return Err(DecodeError::new("datagram flags", 0));
    };
    let count_at = r.position();
    let count = usize::from(r.u16_be("ack record count")?);
    if count > MAX_RANGES_PER_DATAGRAM {
        return Err(DecodeError::new("ack record count", count_at));
    }
    out.reserve(count);
    for _ in 0..count {
        let at = r.position();
        let range = match r.u8("ack record type")? {
            1 => {
                let n = r.u24_le("ack number")?;
                (n, n)
            }
            0 => {
                let min = r.u24_le("ack range min")?;
                let max = r.u24_le("ack range max")?;
                if max < min {
                    return Err(DecodeError::new("ack range", at));
                }
                (min, max)
            }
            _ => return Err(DecodeError::new("ack record type", at)),
        };
        out.push(range);
    }
    Ok(nak)
}

/// Appends one ACK (`nak = false`, byte `C0`) or NAK (`A0`) datagram to `buf` holding as
/// many of `ranges` (inclusive, each with `min <= max`, no wrap inside a range) as fit in
/// `max_len` bytes; returns how many ranges were written (at least 1 if `max_len >= 10`).
/// Single numbers use record type 1, longer ranges type 0. The caller must order ranges so
/// that one ending at 0xFFFFFF comes last (docs/protocol.md §14 pitfall 14).
///
/// Writes nothing and returns 0 when `ranges` is empty or not even one record fits.
pub fn encode_ack_nak(
    nak: bool,
    ranges: &[(u32, u32)],
    max_len: usize,
    buf: &mut Vec<u8>,
) -> usize {
    const HEADER: usize = 3; // flags + u16 count
    let mut len = HEADER;
    let mut n = 0;
    for &(min, max) in ranges.iter().take(MAX_RANGES_PER_DATAGRAM) {
        let rec = if min == max { 4 } else { 7 };
        if len + rec > max_len {
            break;
        }
        len += rec;
        n += 1;
    }
    if n == 0 {
        return 0;
    }
    let start = buf.len();
    let mut w = Writer::new(buf);
    w.u8(if nak {
        FLAG_VALID | FLAG_NAK
    } else {
        FLAG_VALID | FLAG_ACK
    });
    // n <= MAX_RANGES_PER_DATAGRAM < 2^16.
    w.u16_be(u16::try_from(n).unwrap_or(u16::MAX));
    for &(min, max) in ranges.iter().take(n) {
        debug_assert!(min <= max, "ACK range {min}..{max} is inverted");
        if min == max {
            w.u8(1);
            w.u24_le(min);
        } else {
            w.u8(0);
            w.u24_le(min);
            w.u24_le(max);
        }
    }
    debug_assert_eq!(buf.len() - start, len);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(bytes: &[u8]) -> Result<(bool, Vec<(u32, u32)>), DecodeError> {
        let mut out = vec![(9, 9)];
        let r = decode_ack_nak(bytes, &mut out);
        match r {
            Ok(nak) => Ok((nak, out)),
            Err(e) => {
                assert!(out.is_empty(), "out must be empty on error");
                Err(e)
            }
        }
    }

    #[test]
    fn classify_follows_decode_order() {
        assert_eq!(classify(&[0x84, 0, 0, 0]), Some(DatagramKind::Data));
        assert_eq!(classify(&[0x8C, 0, 0, 0]), Some(DatagramKind::Data));
        assert_eq!(classify(&[0xC0, 0, 0]), Some(DatagramKind::Ack));
        assert_eq!(classify(&[0xE0, 0, 0]), Some(DatagramKind::Ack));
        assert_eq!(classify(&[0xA0, 0, 0]), Some(DatagramKind::Nak));
        assert_eq!(classify(&[0x40, 0, 0]), None);
        assert_eq!(classify(&[0x84, 0]), None);
        assert_eq!(classify(&[]), None);
    }

    #[test]
    fn data_header_round_trips() {
        for (flags, number) in [(0x84u8, 0u32), (0x8C, 0x00FF_FFFF), (0x00, 0x01_0203)] {
            let mut v = Vec::new();
            DataHeader { flags, number }.encode(&mut Writer::new(&mut v));
            assert_eq!(v.len(), DATA_HEADER_LEN);
            assert_eq!(v[0], flags | FLAG_VALID);
            let h = DataHeader::decode(&mut Reader::new(&v)).unwrap();
            assert_eq!(
                h,
                DataHeader {
                    flags: flags | FLAG_VALID,
                    number
                }
            );
        }
        assert_eq!(
            DataHeader::decode(&mut Reader::new(&[0x84, 0x01, 0x00, 0x00]))
                .unwrap()
                .number,
            1
        );
        for n in 0..DATA_HEADER_LEN {
            assert!(DataHeader::decode(&mut Reader::new(&[0x84, 1, 2, 3][..n])).is_err());
        }
        assert!(DataHeader::decode(&mut Reader::new(&[0x04, 0, 0, 0])).is_err());
        assert!(DataHeader::decode(&mut Reader::new(&[0xC0, 0, 0, 0])).is_err());
    }

    #[test]
    fn protocol_examples_decode() {
        assert_eq!(
            ack(&[0xC0, 0x00, 0x01, 0x01, 0, 0, 0]).unwrap(),
            (false, vec![(0, 0)])
        );
        assert_eq!(
            ack(&[0xC0, 0x00, 0x01, 0x00, 1, 0, 0, 2, 0, 0]).unwrap(),
            (false, vec![(1, 2)])
        );
        assert_eq!(
            ack(&[0xA0, 0x00, 0x01, 0x00, 2, 0, 0, 4, 0, 0]).unwrap(),
            (true, vec![(2, 4)])
        );
        // hasBAndAS: the 4-byte AS is skipped.
        assert_eq!(
            ack(&[0xE0, 1, 2, 3, 4, 0x00, 0x01, 0x01, 5, 0, 0]).unwrap(),
            (false, vec![(5, 5)])
        );
        // Zero records is well-formed.
        assert_eq!(ack(&[0xC0, 0, 0]).unwrap(), (false, vec![]));
    }

    #[test]
    fn bad_ack_nak_is_rejected() {
        // max < min.
        assert!(ack(&[0xC0, 0x00, 0x02, 0x01, 7, 0, 0, 0x00, 5, 0, 0, 4, 0, 0]).is_err());
        // Record type 2.
        assert!(ack(&[0xC0, 0x00, 0x01, 0x02, 0, 0, 0]).is_err());
        // Data datagram or invalid bit.
        assert!(ack(&[0x84, 0x00, 0x01, 0x01, 0, 0, 0]).is_err());
        assert!(ack(&[0x40, 0x00, 0x01, 0x01, 0, 0, 0]).is_err());
        // Huge record count, with or without the bytes to back it.
        assert!(ack(&[0xC0, 0xFF, 0xFF, 0x01, 0, 0, 0]).is_err());
        let mut big = vec![0xC0, 0x04, 0x01]; // 1025 records
        for i in 0..1025u32 {
            big.push(1);
            big.extend_from_slice(&i.to_le_bytes()[..3]);
        }
        assert!(ack(&big).is_err());
        // Exactly the cap is fine.
        let mut cap = vec![0xA0, 0x04, 0x00];
        cap.extend_from_slice(&big[3..3 + 4 * MAX_RANGES_PER_DATAGRAM]);
        assert_eq!(ack(&cap).unwrap().1.len(), MAX_RANGES_PER_DATAGRAM);
        // Truncation at every length.
        let full = [
            0xE0, 1, 2, 3, 4, 0x00, 0x02, 0x01, 5, 0, 0, 0x00, 6, 0, 0, 9, 0, 0,
        ];
        assert!(ack(&full).is_ok());
        for n in 0..full.len() {
            assert!(ack(&full[..n]).is_err(), "len {n}");
        }
    }

    #[test]
    fn encode_round_trips_and_respects_max_len() {
        let ranges = [(0u32, 0u32), (2, 5), (0x00FF_FFFE, 0x00FF_FFFF), (7, 7)];
        for nak in [false, true] {
            let mut v = vec![0xEE]; // existing contents are kept
            let n = encode_ack_nak(nak, &ranges, 1464, &mut v);
            assert_eq!(n, 4);
            assert_eq!(v[0], 0xEE);
            assert_eq!(v[1], if nak { 0xA0 } else { 0xC0 });
            assert_eq!(v.len(), 1 + 3 + 4 + 7 + 7 + 4);
            assert_eq!(ack(&v[1..]).unwrap(), (nak, ranges.to_vec()));
        }
        // Exact encoding of the §6.3 examples.
        let mut v = Vec::new();
        encode_ack_nak(false, &[(0, 0)], 1464, &mut v);
        assert_eq!(v, [0xC0, 0x00, 0x01, 0x01, 0, 0, 0]);
        v.clear();
        encode_ack_nak(true, &[(2, 4)], 1464, &mut v);
        assert_eq!(v, [0xA0, 0x00, 0x01, 0x00, 2, 0, 0, 4, 0, 0]);
        // Budget limits.
        for max_len in 0..40 {
            let mut v = Vec::new();
            let n = encode_ack_nak(false, &ranges, max_len, &mut v);
            assert!(v.len() <= max_len, "{max_len}");
            if max_len >= 10 {
                assert!(n >= 1);
            }
            if n > 0 {
                assert_eq!(ack(&v).unwrap().1, ranges[..n].to_vec());
            } else {
                assert!(v.is_empty());
            }
        }
        // Never more than the decoder accepts.
        let many: Vec<(u32, u32)> = (0..3000u32).map(|i| (i * 2, i * 2)).collect();
        let mut v = Vec::new();
        let n = encode_ack_nak(false, &many, usize::MAX, &mut v);
        assert_eq!(n, MAX_RANGES_PER_DATAGRAM);
        assert_eq!(ack(&v).unwrap().1.len(), n);
        assert_eq!(encode_ack_nak(false, &[], 1464, &mut Vec::new()), 0);
    }
}
