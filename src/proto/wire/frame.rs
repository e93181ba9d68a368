//! Frames (RakNet's encapsulated messages, `InternalPacket`): header layout of
//! docs/protocol.md §7.1, receive validity rules of §7.2.

use super::{Reader, Writer};
use crate::proto::error::DecodeError;
use crate::proto::options::Reliability;

/// Largest frame header: RELIABLE_SEQUENCED with split fields (1+2+3+3+3+1+4+2+4).
pub const MAX_FRAME_HEADER: usize = 23;

/// Split fields of a fragment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SplitHeader {
    /// Number of fragments of the message.
    pub count: u32,
    /// Per-connection id of the split message.
    pub id: u16,
    /// This fragment's index, `< count`.
    pub index: u32,
}

/// Everything in a frame but its payload.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Wire reliability: only the five plain kinds (0..=4) appear on the wire.
    pub reliability: Reliability,
    /// Payload length in bits (1..=65535); the payload is `ceil(bits/8)` bytes.
    pub bit_len: u16,
    /// Reliable message number (reliable kinds only; 24 bits).
    pub message_number: u32,
    /// Sequencing index (sequenced kinds only; 24 bits).
    pub sequencing_index: u32,
    /// Ordering index (ordered and sequenced kinds; 24 bits).
    pub ordering_index: u32,
    /// Ordering channel (ordered and sequenced kinds; < 32).
    pub channel: u8,
    /// Present for fragments of a split message.
    pub split: Option<SplitHeader>,
}

/// Header bytes for a frame of `reliability` (wire kind), with or without split fields.
#[inline]
pub fn header_len(reliability: Reliability, split: bool) -> usize {
    // flags + u16 bit length (3), + 3 if reliable, + 3 if sequenced, + 4 if ordered or
    // sequenced, by numeric value (receipt kinds as their wire kinds); + 10 if split.
    const LEN: [u8; 8] = [3, 10, 6, 10, 13, 3, 6, 10];
    usize::from(LEN[reliability as usize]) + if split { 10 } else { 0 }
}

/// Number of ordering channels a frame may name (§7.2: a channel >= 32 is invalid).
const CHANNELS: u8 = crate::proto::options::ORDERING_CHANNELS;

impl FrameHeader {
    /// Bytes `encode` writes.
    pub fn encoded_len(&self) -> usize {
        header_len(self.reliability.wire(), self.split.is_some())
    }
    /// Writes the header (the payload follows separately). Receipt kinds are written as
    /// their plain kinds.
    pub fn encode(&self, w: &mut Writer<'_>) {
        let mut h = [0u8; MAX_FRAME_HEADER];
        let n = self.encode_into(&mut h);
        w.bytes(&h[..n]);
    }

    /// Writes the header into `h`, returning its length. The send path assembles a
    /// header on the stack and appends it with one copy instead of a capacity check per
    /// field.
    #[inline]
    pub fn encode_into(&self, h: &mut [u8; MAX_FRAME_HEADER]) -> usize {
        let r = self.reliability.wire();
        let split_bit = if self.split.is_some() { 0x10 } else { 0 };
        h[0] = ((r as u8) << 5) | split_bit;
        h[1..3].copy_from_slice(&self.bit_len.to_be_bytes());
        let mut n = 3;
        if r.is_reliable() {
            h[n..n + 3].copy_from_slice(&self.message_number.to_le_bytes()[..3]);
            n += 3;
        }
        if r.is_sequenced() {
            h[n..n + 3].copy_from_slice(&self.sequencing_index.to_le_bytes()[..3]);
            n += 3;
        }
        if r.is_ordered_or_sequenced() {
            h[n..n + 3].copy_from_slice(&self.ordering_index.to_le_bytes()[..3]);
            h[n + 3] = self.channel;
            n += 4;
        }
        if let Some(s) = self.split {
            h[n..n + 4].copy_from_slice(&s.count.to_be_bytes());
            h[n + 4..n + 6].copy_from_slice(&s.id.to_be_bytes());
            h[n + 6..n + 10].copy_from_slice(&s.index.to_be_bytes());
            n += 10;
        }
        n
    }
    /// Reads a header (the payload is not consumed), applying the §7.2 checks that concern
    /// header fields. Fields a reliability does not carry are 0.
    #[inline]
    pub fn decode(r: &mut Reader<'_>) -> Result<FrameHeader, DecodeError> {
        match Self::decode_valid(r.peek_rest()) {
            Some((h, len)) => {
                r.skip(len, "frame header")?;
                Ok(h)
            }
            None => Self::decode_checked(r),
        }
    }

    /// The receive path's fast case: a complete, valid header at the start of `b`, and
    /// its length. The flags byte gives the header length, so the length is checked once
    /// and the fields are read at fixed offsets. `None` for anything else (truncated or
    /// invalid), which `decode_checked` then reports field by field: the result is the
    /// same as reading field by field, only cheaper when the header is fine.
    #[inline]
    fn decode_valid(b: &[u8]) -> Option<(FrameHeader, usize)> {
        let flags = *b.first()?;
        let reliability = Reliability::from_u8(flags >> 5).filter(|r| (*r as u8) <= 4)?;
        let is_split = flags & 0x10 != 0;
        let len = header_len(reliability, is_split);
        let b = b.get(..len)?;
        let u24 = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], 0]);
        let u32_be = |at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let bit_len = u16::from_be_bytes([b[1], b[2]]);
        if bit_len == 0 {
            return None;
        }
        let mut h = FrameHeader {
            reliability,
            bit_len,
            message_number: 0,
            sequencing_index: 0,
            ordering_index: 0,
            channel: 0,
            split: None,
        };
        let mut at = 3;
        if reliability.is_reliable() {
            h.message_number = u24(at);
            at += 3;
        }
        if reliability.is_sequenced() {
            h.sequencing_index = u24(at);
            at += 3;
        }
        if reliability.is_ordered_or_sequenced() {
            h.ordering_index = u24(at);
            h.channel = b[at + 3];
            if h.channel >= CHANNELS {
                return None;
            }
            at += 4;
        }
        if is_split {
            let count = u32_be(at);
            let id = u16::from_be_bytes([b[at + 4], b[at + 5]]);
            let index = u32_be(at + 6);
            if count == 0 || index >= count {
                return None;
            }
            h.split = Some(SplitHeader { count, id, index });
        }
        Some((h, len))
    }

    /// `decode` one field at a time, naming the field that is missing or invalid.
    fn decode_checked(r: &mut Reader<'_>) -> Result<FrameHeader, DecodeError> {
        let at = r.position();
        let flags = r.u8("frame flags")?;
        // 3 bits cannot exceed 7, so from_u8 always succeeds; values 5..=7 never travel.
        let reliability = match Reliability::from_u8(flags >> 5) {
            Some(rel) if (rel as u8) <= 4 => rel,
            _ => return Err(DecodeError::new("frame reliability", at)),
        };
        let is_split = flags & 0x10 != 0;
        let len_at = r.position();
        let bit_len = r.u16_be("frame bit length")?;
        if bit_len == 0 {
            return Err(DecodeError::new("frame bit length", len_at));
        }
        let mut h = FrameHeader {
            reliability,
            bit_len,
            message_number: 0,
            sequencing_index: 0,
            ordering_index: 0,
            channel: 0,
            split: None,
        };
        if reliability.is_reliable() {
            h.message_number = r.u24_le("reliable message number")?;
        }
        if reliability.is_sequenced() {
            h.sequencing_index = r.u24_le("sequencing index")?;
        }
        if reliability.is_ordered_or_sequenced() {
            h.ordering_index = r.u24_le("ordering index")?;
            let ch_at = r.position();
            h.channel = r.u8("ordering channel")?;
            if h.channel >= CHANNELS {
                return Err(DecodeError::new("ordering channel", ch_at));
            }
        }
        if is_split {
            let split_at = r.position();
            let count = r.u32_be("split count")?;
            let id = r.u16_be("split id")?;
            let index = r.u32_be("split index")?;
            if count == 0 || index >= count {
                return Err(DecodeError::new("split index", split_at));
            }
            h.split = Some(SplitHeader { count, id, index });
        }
        Ok(h)
    }
    /// Payload bytes the header announces: `ceil(bit_len / 8)`.
    pub fn payload_len(&self) -> usize {
        usize::from(self.bit_len).div_ceil(8)
    }
}

/// One decoded frame, borrowing its payload from the datagram.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header.
    pub header: FrameHeader,
    /// `header.payload_len()` bytes.
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Reads one frame. Fails (docs/protocol.md §7.2) on: reliability > 4, bit length 0,
    /// channel >= 32, split index >= split count, split count 0, or any field or the
    /// payload running past the end.
    #[inline]
    pub fn decode(r: &mut Reader<'a>) -> Result<Frame<'a>, DecodeError> {
        let header = FrameHeader::decode(r)?;
        let payload = r.bytes(header.payload_len(), "frame payload")?;
        Ok(Frame { header, payload })
    }
    /// Writes header and payload.
    pub fn encode(&self, w: &mut Writer<'_>) {
        self.header.encode(w);
        w.bytes(self.payload);
    }
    /// Bytes `encode` writes.
    pub fn encoded_len(&self) -> usize {
        self.header.encoded_len() + self.payload.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(reliability: Reliability, bit_len: u16, split: Option<SplitHeader>) -> FrameHeader {
        FrameHeader {
            reliability,
            bit_len,
            message_number: 0x01_0203,
            sequencing_index: 0x04_0506,
            ordering_index: 0x07_0809,
            channel: 31,
            split,
        }
    }

    fn encode(f: &Frame<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        f.encode(&mut Writer::new(&mut v));
        assert_eq!(v.len(), f.encoded_len());
        v
    }

    /// What a decoder reports for fields the wire kind does not carry.
    fn wire_view(h: FrameHeader) -> FrameHeader {
        let r = h.reliability.wire();
        FrameHeader {
            reliability: r,
            message_number: if r.is_reliable() { h.message_number } else { 0 },
            sequencing_index: if r.is_sequenced() {
                h.sequencing_index
            } else {
                0
            },
            ordering_index: if r.is_ordered_or_sequenced() {
                h.ordering_index
            } else {
                0
            },
            channel: if r.is_ordered_or_sequenced() {
                h.channel
            } else {
                0
            },
            ..h
        }
    }

    #[test]
    fn header_lengths_match_protocol_table() {
        let expect = [3, 10, 6, 10, 13, 3, 6, 10];
        for (r, n) in Reliability::ALL.into_iter().zip(expect) {
            assert_eq!(header_len(r, false), n, "{r:?}");
            assert_eq!(header_len(r, true), n + 10, "{r:?}");
        }
        assert_eq!(
            header_len(Reliability::ReliableSequenced, true),
            MAX_FRAME_HEADER
        );
    }

    #[test]
    fn every_reliability_round_trips() {
        let payload = [0xAB; 5];
        for r in Reliability::ALL {
            for split in [
                None,
                Some(SplitHeader {
                    count: 4,
                    id: 0xBEEF,
                    index: 3,
                }),
            ] {
                let f = Frame {
                    header: header(r, 37, split),
                    payload: &payload,
                };
                let v = encode(&f);
                assert_eq!(v[0] >> 5, r.wire() as u8);
                assert_eq!(v[0] & 0x10 != 0, split.is_some());
                assert_eq!(v[0] & 0x0F, 0);
                let mut rd = Reader::new(&v);
                let back = Frame::decode(&mut rd).unwrap();
                assert!(rd.is_empty());
                assert_eq!(back.header, wire_view(f.header), "{r:?}");
                assert_eq!(back.payload, &payload);
            }
        }
    }

    #[test]
    fn odd_bit_lengths_round_up_and_survive() {
        // docs/protocol.md §7.1 trace: `40 0009 070000 86 80`.
        let bytes = [0x40, 0x00, 0x09, 0x07, 0x00, 0x00, 0x86, 0x80];
        let mut r = Reader::new(&bytes);
        let f = Frame::decode(&mut r).unwrap();
        assert_eq!(f.header.reliability, Reliability::Reliable);
        assert_eq!(f.header.bit_len, 9);
        assert_eq!(f.header.message_number, 7);
        assert_eq!(f.payload, &[0x86, 0x80]);
        assert_eq!(encode(&f), bytes);
    }

    #[test]
    fn split_trace_decodes() {
        // First fragment header of the §8.1 trace.
        let mut b = vec![
            0x70, 0x2C, 0xC0, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        b.resize(b.len() + 1432, 0x41);
        let f = Frame::decode(&mut Reader::new(&b)).unwrap();
        assert_eq!(f.header.reliability, Reliability::ReliableOrdered);
        assert_eq!(f.header.message_number, 2);
        assert_eq!(f.header.ordering_index, 1);
        assert_eq!(
            f.header.split,
            Some(SplitHeader {
                count: 3,
                id: 0,
                index: 0
            })
        );
        assert_eq!(f.payload.len(), 1432);
        assert_eq!(encode(&f), b);
    }

    #[test]
    fn truncation_at_every_length_fails() {
        let payload = [1u8, 2, 3, 4];
        for r in Reliability::ALL {
            let split = Some(SplitHeader {
                count: 2,
                id: 1,
                index: 1,
            });
            let v = encode(&Frame {
                header: header(r, 32, split),
                payload: &payload,
            });
            for n in 0..v.len() {
                assert!(
                    Frame::decode(&mut Reader::new(&v[..n])).is_err(),
                    "{r:?} len {n}"
                );
            }
        }
    }

    #[test]
    fn invalid_fields_are_rejected() {
        // Reliability 5..=7 on the wire.
        for rel in 5u8..=7 {
            let b = [rel << 5, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            assert!(Frame::decode(&mut Reader::new(&b)).is_err());
        }
        // Bit length 0.
        assert!(Frame::decode(&mut Reader::new(&[0x00, 0x00, 0x00, 0xAA])).is_err());
        // Channel 40 (and 32) on RELIABLE_ORDERED.
        for ch in [32u8, 40, 255] {
            let b = [0x60, 0x00, 0x08, 0, 0, 0, 0, 0, 0, ch, 0x86];
            let e = Frame::decode(&mut Reader::new(&b)).unwrap_err();
            assert_eq!(e.what, "ordering channel");
        }
        let ok = [0x60, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 31, 0x86];
        assert!(Frame::decode(&mut Reader::new(&ok)).is_ok());
        // Split index >= count, count 0.
        for (count, index) in [(2u32, 2u32), (2, 9), (0, 0)] {
            let mut b = vec![0x50, 0x00, 0x08, 0, 0, 0];
            b.extend_from_slice(&count.to_be_bytes());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&index.to_be_bytes());
            b.push(0x86);
            assert!(
                Frame::decode(&mut Reader::new(&b)).is_err(),
                "{count} {index}"
            );
        }
        // Payload longer than the datagram.
        let b = [0x00, 0xFF, 0xFF, 1, 2, 3];
        assert!(Frame::decode(&mut Reader::new(&b)).is_err());
    }

    #[test]
    fn fast_decode_agrees_with_field_by_field_decode() {
        // Valid headers of every kind, then each with one byte changed to a few values
        // and cut at every length: same header or same error, same position.
        let mut x: u32 = 0x9E37_79B9;
        for r in Reliability::ALL {
            for split in [
                None,
                Some(SplitHeader {
                    count: 3,
                    id: 9,
                    index: 2,
                }),
            ] {
                let mut h = header(r, 8, split);
                h.channel = 5;
                let mut v = encode(&Frame {
                    header: h,
                    payload: &[0xEE],
                });
                let valid = v.clone();
                for at in 0..valid.len() {
                    for _ in 0..24 {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        v.copy_from_slice(&valid);
                        v[at] = x as u8;
                        for n in 0..=v.len() {
                            let (mut fast, mut slow) = (Reader::new(&v[..n]), Reader::new(&v[..n]));
                            assert_eq!(
                                FrameHeader::decode(&mut fast),
                                FrameHeader::decode_checked(&mut slow),
                                "{v:02x?}[..{n}]"
                            );
                            assert_eq!(fast.position(), slow.position());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u32 = 0x1234_5678;
        for len in 0..64usize {
            for _ in 0..64 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect();
                let mut r = Reader::new(&b);
                while let Ok(f) = Frame::decode(&mut r) {
                    assert!(f.payload.len() == f.header.payload_len());
                }
            }
        }
    }
}
