//! Sending side of the reliability layer (PROTOCOL.md §6.5 sender rules, §7.4 index
//! assignment, §7.5 receipts, §8.1 splitting, §9.1–9.3, §9.5–9.7).
//!
//! OWNER: send-side helper. Interface fixed; bodies to implement.

use std::time::Duration;

use crate::proto::config::ReliabilityConfig;
use crate::proto::error::SendError;
use crate::proto::options::SendOptions;
use crate::proto::time::Time;

/// Counters of the sending side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SendStats {
    /// Data datagrams written (first sends and resends).
    pub(crate) datagrams_sent: u64,
    /// UDP payload bytes of data datagrams written.
    pub(crate) bytes_sent: u64,
    /// Messages accepted by `queue`.
    pub(crate) messages_queued: u64,
    /// Frames retransmitted.
    pub(crate) frames_resent: u64,
    /// Payload bytes retransmitted.
    pub(crate) bytes_resent: u64,
    /// Unreliable messages dropped by the unreliable timeout.
    pub(crate) unreliable_expired: u64,
}

/// The sending side of one connection.
#[derive(Debug)]
pub(crate) struct Sender {
    _todo: (),
}

impl Sender {
    /// A sender for a connection with this MTU (UDP payloads never exceed `mtu - 28`).
    pub(crate) fn new(mtu: u16, cfg: &ReliabilityConfig, now: Time) -> Sender {
        let _ = (mtu, cfg, now);
        todo!("send-side helper")
    }
    /// Queues a message (splitting it if it does not fit one datagram). `receipt` is the
    /// serial reported for receipt kinds (0 = none). Fails, queuing nothing, on an invalid
    /// channel, an empty or too large message, or a full send buffer.
    pub(crate) fn queue(
        &mut self,
        now: Time,
        data: &[u8],
        opts: SendOptions,
        receipt: u32,
    ) -> Result<(), SendError> {
        let _ = (now, data, opts, receipt);
        todo!("send-side helper")
    }
    /// An ACK datagram's ranges arrived.
    pub(crate) fn on_ack(&mut self, now: Time, ranges: &[(u32, u32)]) {
        let _ = (now, ranges);
        todo!("send-side helper")
    }
    /// A NAK datagram's ranges arrived.
    pub(crate) fn on_nak(&mut self, now: Time, ranges: &[(u32, u32)]) {
        let _ = (now, ranges);
        todo!("send-side helper")
    }
    /// Writes the next data datagram into `buf` (cleared first) if anything may be sent
    /// now: due resends first, then queued frames by priority, as many as fit, within the
    /// congestion window. Returns false if nothing was written.
    pub(crate) fn write_datagram(&mut self, now: Time, buf: &mut Vec<u8>) -> bool {
        let _ = (now, buf);
        todo!("send-side helper")
    }
    /// Earliest time at which `write_datagram` or `handle_timeout` has timed work
    /// (a resend due, a receipt-loss deadline, an unreliable expiry). `None` if none.
    /// Does not report work that is sendable right now (`has_sendable` does).
    pub(crate) fn poll_timeout(&self) -> Option<Time> {
        todo!("send-side helper")
    }
    /// Runs timed work due at `now` (unreliable expiry, receipt losses).
    pub(crate) fn handle_timeout(&mut self, now: Time) {
        let _ = now;
        todo!("send-side helper")
    }
    /// Queued frames exist and the congestion window would let at least one go now.
    pub(crate) fn has_sendable(&self, now: Time) -> bool {
        let _ = now;
        todo!("send-side helper")
    }
    /// Next receipt outcome: (serial, acked).
    pub(crate) fn poll_receipt(&mut self) -> Option<(u32, bool)> {
        todo!("send-side helper")
    }
    /// Reliable frames are awaiting acknowledgement.
    pub(crate) fn has_unacked(&self) -> bool {
        todo!("send-side helper")
    }
    /// Nothing queued and nothing awaiting acknowledgement.
    pub(crate) fn is_idle(&self) -> bool {
        todo!("send-side helper")
    }
    /// Bytes of message data queued or awaiting acknowledgement.
    pub(crate) fn buffered_bytes(&self) -> usize {
        todo!("send-side helper")
    }
    /// Smoothed round-trip time, once a sample exists.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        todo!("send-side helper")
    }
    /// Counters.
    pub(crate) fn stats(&self) -> &SendStats {
        todo!("send-side helper")
    }
}
