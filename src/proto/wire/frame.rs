//! Frames (RakNet's encapsulated messages, `InternalPacket`): header layout of
//! PROTOCOL.md §7.1, receive validity rules of §7.2.
//!
//! OWNER: wire helper. Interface fixed; bodies to implement.

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
pub fn header_len(reliability: Reliability, split: bool) -> usize {
    let _ = (reliability, split);
    todo!("wire helper")
}

impl FrameHeader {
    /// Bytes `encode` writes.
    pub fn encoded_len(&self) -> usize {
        header_len(self.reliability.wire(), self.split.is_some())
    }
    /// Writes the header (the payload follows separately). Receipt kinds are written as
    /// their plain kinds.
    pub fn encode(&self, w: &mut Writer<'_>) {
        let _ = w;
        todo!("wire helper")
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
    /// Reads one frame. Fails (PROTOCOL.md §7.2) on: reliability > 4, bit length 0,
    /// channel >= 32, split index >= split count, split count 0, or any field or the
    /// payload running past the end.
    pub fn decode(r: &mut Reader<'a>) -> Result<Frame<'a>, DecodeError> {
        let _ = r;
        todo!("wire helper")
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
