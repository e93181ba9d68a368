//! Congestion control behind a small trait, one file per algorithm, plus RTT estimation
//! (docs/protocol.md §9.2, §9.3).
//!
//! The reliability layer (`reliability/send.rs`) owns the frames, the byte accounting and
//! the timers; a [`Controller`] only turns events (datagram sent, acknowledged, reported
//! missing, timed out) into a window in bytes. The RTT estimator lives apart in `rtt.rs`
//! because the retransmission timeout is not a congestion decision. Nothing here reads a
//! clock or knows the wire format.
//!
//! Two algorithms, chosen by `ReliabilityConfig::congestion`: `loss_aware.rs` (the
//! default) tells random loss from congestion, `sliding_window.rs` is RakNet's.

mod loss_aware;
mod rtt;
mod sliding_window;

use std::fmt;
use std::time::Duration;

use crate::proto::time::Time;

pub(crate) use loss_aware::LossAware;
pub(crate) use rtt::RttEstimator;
pub(crate) use sliding_window::SlidingWindow;

/// A congestion controller: events in, window out. Datagram numbers are the 24-bit
/// numbers of data datagrams (docs/protocol.md §6.2).
pub(crate) trait Controller: fmt::Debug + Send {
    /// Data datagram `number` of `bytes` UDP payload bytes was written at `now`.
    fn on_sent(&mut self, now: Time, number: u32, bytes: usize);
    /// An acknowledgement at `now` measured one round trip of `rtt` (reported before the
    /// `on_ack` of the datagram it measured).
    fn on_rtt_sample(&mut self, now: Time, rtt: Duration) {
        let _ = (now, rtt);
    }
    /// Datagram `number` was acknowledged. `continuous` says the sender was limited by
    /// the window (it had more to send), which is when growing the window makes sense.
    fn on_ack(&mut self, now: Time, number: u32, continuous: bool);
    /// The peer reported datagram `number` missing.
    fn on_nak(&mut self, now: Time, number: u32);
    /// Reliable frames reached their retransmission timeout without an acknowledgement.
    fn on_timeout(&mut self, now: Time);
    /// The congestion window in bytes.
    fn window(&self) -> usize;
    /// Whether new data may be started while `in_flight` bytes are unacknowledged.
    /// `now` is the hook for rate limits (a per-connection outgoing bandwidth cap).
    fn can_send(&self, now: Time, in_flight: usize) -> bool {
        let _ = now;
        in_flight < self.window()
    }
    /// In slow start (reported in the datagram flags as `needsBAndAS`, §6.1).
    fn in_slow_start(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_can_send_compares_with_window() {
        let cc = SlidingWindow::new(1492);
        let w = cc.window();
        assert!(cc.can_send(Time::ZERO, 0));
        assert!(cc.can_send(Time::ZERO, w - 1));
        assert!(!cc.can_send(Time::ZERO, w));
    }
}
