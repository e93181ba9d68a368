//! Receiving side of the reliability layer: ACK/NAK generation (PROTOCOL.md §6.5),
//! frame parsing with the validity rules of §7.2, duplicate detection (§9.4), split
//! reassembly (`split.rs`, §8.3) and ordering/sequencing (`ordering.rs`, §7.4).
//!
//! OWNER: receive-side helper. Interface fixed; bodies to implement.

use crate::proto::config::ReliabilityConfig;
use crate::proto::error::DecodeError;
use crate::proto::options::Reliability;
use crate::proto::time::Time;

/// A complete message ready for the connection (control message or application data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// The message, starting with its id byte.
    pub(crate) data: Vec<u8>,
    /// Wire reliability it travelled with.
    pub(crate) reliability: Reliability,
    /// Ordering channel (0 for unordered kinds).
    pub(crate) channel: u8,
}

/// Counters of the receiving side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RecvStats {
    /// Data datagrams accepted.
    pub(crate) datagrams_received: u64,
    /// UDP payload bytes of data datagrams accepted.
    pub(crate) bytes_received: u64,
    /// Messages delivered.
    pub(crate) messages_delivered: u64,
    /// Frames dropped as duplicates.
    pub(crate) duplicates: u64,
    /// Frames dropped because they were malformed (the rest of their datagram too).
    pub(crate) bad_frames: u64,
    /// Sequenced messages dropped as older than one delivered.
    pub(crate) stale_sequenced: u64,
    /// ACK datagrams written.
    pub(crate) acks_sent: u64,
    /// NAK datagrams written.
    pub(crate) naks_sent: u64,
}

/// The receiving side of one connection.
#[derive(Debug)]
pub(crate) struct Receiver {
    _todo: (),
}

impl Receiver {
    /// A receiver with these limits.
    pub(crate) fn new(cfg: &ReliabilityConfig) -> Receiver {
        let _ = cfg;
        todo!("receive-side helper")
    }
    /// A whole data datagram (header included). Queues its ACK (and NAKs for a gap),
    /// then decodes its frames; a malformed frame abandons the rest of the datagram (the
    /// datagram stays ACKed, as 4.081 does). Errors only for a datagram that cannot be
    /// used at all (bad header, gap over 50,000: dropped without ACK).
    pub(crate) fn on_data(&mut self, now: Time, bytes: &[u8]) -> Result<(), DecodeError> {
        let _ = (now, bytes);
        todo!("receive-side helper")
    }
    /// Next complete message, in delivery order.
    pub(crate) fn poll_delivery(&mut self) -> Option<Delivery> {
        todo!("receive-side helper")
    }
    /// Writes one ACK datagram (at most `max_len` bytes) into `buf` (cleared first) if
    /// ACKs are pending and due at `now`. Returns false if nothing was written.
    pub(crate) fn write_ack(&mut self, now: Time, max_len: usize, buf: &mut Vec<u8>) -> bool {
        let _ = (now, max_len, buf);
        todo!("receive-side helper")
    }
    /// Same for one NAK datagram.
    pub(crate) fn write_nak(&mut self, now: Time, max_len: usize, buf: &mut Vec<u8>) -> bool {
        let _ = (now, max_len, buf);
        todo!("receive-side helper")
    }
    /// When pending ACKs/NAKs become due (`None` if none are pending).
    pub(crate) fn poll_timeout(&self) -> Option<Time> {
        todo!("receive-side helper")
    }
    /// Runs timed work (expiry of stale incomplete split messages).
    pub(crate) fn handle_timeout(&mut self, now: Time) {
        let _ = now;
        todo!("receive-side helper")
    }
    /// Counters.
    pub(crate) fn stats(&self) -> &RecvStats {
        todo!("receive-side helper")
    }
}
