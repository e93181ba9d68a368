//! RakNet's sliding-window congestion control (docs/protocol.md §9.3, [RN]
//! `CCRakNetSlidingWindow`), written from the description, with two deliberate changes.
//!
//! Kept from 4.081: the window counts bytes in units of `M = MTU - 28`; it starts at `M`
//! with `ssthresh` unset; slow start (while `ssthresh == 0 || cwnd <= ssthresh`) adds `M`
//! per acknowledged datagram; losses cut the window at most once per block, a block ending
//! when a datagram sent after the cut is acknowledged; growth only happens while the
//! sender is window-limited ("continuous").
//!
//! Changed: congestion avoidance adds `M * M / cwnd` per acknowledged datagram (about one
//! `M` per round trip, as TCP Reno) instead of once per block, and both a NAK and a
//! retransmission timeout halve the window instead of 4.081's "NAK sets ssthresh, then the
//! resend collapses cwnd to `M`". With 4.081's rules one lost datagram on a fast link
//! freezes the window for a long time. There is no update tick either: the driver sends
//! whenever the window allows, so the link is the limit. Rate limits belong in
//! [`Controller::can_send`].

use crate::proto::config::UDP_HEADER_SIZE;
use crate::proto::time::Time;
use crate::proto::wire::seq;

use super::Controller;

/// Upper bound of the window; far above anything one connection can use, it keeps the
/// arithmetic bounded when acknowledgements keep arriving for a very long time.
const MAX_CWND: usize = 1 << 30;

/// The sliding-window controller of one connection.
#[derive(Clone, Debug)]
pub(crate) struct SlidingWindow {
    /// `M`: the largest UDP payload, `MTU - 28`.
    unit: usize,
    /// Congestion window in bytes.
    cwnd: usize,
    /// Slow-start threshold in bytes; 0 = unset.
    ssthresh: usize,
    /// Number the next data datagram will carry.
    next_datagram: u32,
    /// An acknowledgement of this number or later starts a new block.
    block_end: u32,
    /// The window was already cut in the current block.
    cut_this_block: bool,
}

impl SlidingWindow {
    /// A controller for a connection with this MTU.
    pub(crate) fn new(mtu: u16) -> SlidingWindow {
        let unit = usize::from(mtu.saturating_sub(UDP_HEADER_SIZE)).max(1);
        SlidingWindow {
            unit,
            cwnd: unit,
            ssthresh: 0,
            next_datagram: 0,
            block_end: 0,
            cut_this_block: false,
        }
    }

    /// The slow-start threshold in bytes (0 = unset).
    #[cfg(test)]
    pub(crate) fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    /// Halves the window, once per block.
    fn cut(&mut self) {
        if self.cut_this_block {
            return;
        }
        self.ssthresh = (self.cwnd / 2).max(self.unit);
        self.cwnd = self.ssthresh;
        self.cut_this_block = true;
        self.block_end = self.next_datagram;
    }
}

impl Controller for SlidingWindow {
    fn on_sent(&mut self, _now: Time, number: u32, _bytes: usize) {
        self.next_datagram = seq::add(number, 1);
    }

    fn on_ack(&mut self, _now: Time, number: u32, continuous: bool) {
        if !seq::older(number, self.block_end) {
            self.cut_this_block = false;
            self.block_end = self.next_datagram;
        }
        if !continuous {
            return;
        }
        if self.in_slow_start() {
            self.cwnd += self.unit;
            if self.ssthresh != 0 && self.cwnd > self.ssthresh {
                self.cwnd = self.ssthresh + self.unit * self.unit / self.cwnd;
            }
        } else {
            self.cwnd += (self.unit * self.unit / self.cwnd).max(1);
        }
        self.cwnd = self.cwnd.min(MAX_CWND);
    }

    fn on_nak(&mut self, _now: Time, _number: u32) {
        self.cut();
    }

    fn on_timeout(&mut self, _now: Time) {
        self.cut();
    }

    fn window(&self) -> usize {
        self.cwnd
    }

    fn in_slow_start(&self) -> bool {
        self.ssthresh == 0 || self.cwnd <= self.ssthresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: usize = 1464;

    fn sent(cc: &mut SlidingWindow, n: u32) {
        cc.on_sent(Time::ZERO, n, M);
    }

    #[test]
    fn starts_at_one_unit_in_slow_start() {
        let cc = SlidingWindow::new(1492);
        assert_eq!(cc.window(), M);
        assert_eq!(cc.ssthresh(), 0);
        assert!(cc.in_slow_start());
    }

    #[test]
    fn slow_start_adds_a_unit_per_ack_only_when_continuous() {
        let mut cc = SlidingWindow::new(1492);
        for n in 0..4 {
            sent(&mut cc, n);
        }
        cc.on_ack(Time::ZERO, 0, false);
        assert_eq!(cc.window(), M);
        cc.on_ack(Time::ZERO, 1, true);
        cc.on_ack(Time::ZERO, 2, true);
        assert_eq!(cc.window(), 3 * M);
    }

    #[test]
    fn nak_halves_once_per_block() {
        let mut cc = SlidingWindow::new(1492);
        for n in 0..16 {
            sent(&mut cc, n);
            cc.on_ack(Time::ZERO, n, true);
        }
        assert_eq!(cc.window(), 17 * M);
        for n in 16..20 {
            sent(&mut cc, n);
        }
        cc.on_nak(Time::ZERO, 16);
        assert_eq!(cc.window(), 17 * M / 2);
        assert_eq!(cc.ssthresh(), 17 * M / 2);
        // Same block: no second cut, whether by NAK or timeout.
        cc.on_nak(Time::ZERO, 17);
        cc.on_timeout(Time::ZERO);
        assert_eq!(cc.window(), 17 * M / 2);
        // An ACK of a datagram sent before the cut does not end the block.
        cc.on_ack(Time::ZERO, 18, false);
        cc.on_nak(Time::ZERO, 19);
        assert_eq!(cc.window(), 17 * M / 2);
        // A datagram sent after the cut is acknowledged: new block, cuts allowed again.
        sent(&mut cc, 20);
        cc.on_ack(Time::ZERO, 20, false);
        cc.on_timeout(Time::ZERO);
        assert_eq!(cc.window(), 17 * M / 4);
    }

    #[test]
    fn congestion_avoidance_grows_about_a_unit_per_window() {
        let mut cc = SlidingWindow::new(1492);
        for n in 0..7 {
            sent(&mut cc, n);
            cc.on_ack(Time::ZERO, n, true);
        }
        assert_eq!(cc.window(), 8 * M);
        sent(&mut cc, 7);
        cc.on_nak(Time::ZERO, 7);
        assert_eq!(cc.window(), 4 * M);
        assert!(
            cc.in_slow_start(),
            "cwnd == ssthresh still counts as slow start"
        );
        let mut n = 8;
        sent(&mut cc, n);
        cc.on_ack(Time::ZERO, n, true);
        assert!(!cc.in_slow_start());
        let w0 = cc.window();
        assert!(w0 > 4 * M && w0 < 5 * M, "{w0}");
        // About four acknowledged datagrams per window: one unit per window.
        for _ in 0..4 {
            n += 1;
            sent(&mut cc, n);
            cc.on_ack(Time::ZERO, n, true);
        }
        let grown = cc.window() - w0;
        assert!(grown > M * 8 / 10 && grown < M * 12 / 10, "{grown}");
    }

    #[test]
    fn never_below_one_unit_and_bounded_above() {
        let mut cc = SlidingWindow::new(1492);
        for n in 0..64u32 {
            sent(&mut cc, n);
            cc.on_timeout(Time::ZERO);
            cc.on_ack(Time::ZERO, n, false);
        }
        assert_eq!(cc.window(), M);
        let mut cc = SlidingWindow::new(1492);
        for n in 0..2_000_000u32 {
            sent(&mut cc, n & seq::MASK);
            cc.on_ack(Time::ZERO, n & seq::MASK, true);
        }
        assert_eq!(cc.window(), MAX_CWND);
    }

    #[test]
    fn blocks_survive_datagram_number_wrap() {
        let mut cc = SlidingWindow::new(1492);
        for n in (seq::MASK - 9)..=seq::MASK {
            sent(&mut cc, n);
            cc.on_ack(Time::ZERO, n, true);
        }
        assert_eq!(cc.window(), 11 * M);
        sent(&mut cc, 0);
        cc.on_nak(Time::ZERO, 0);
        let w = cc.window();
        assert_eq!(w, 11 * M / 2);
        sent(&mut cc, 1);
        cc.on_ack(Time::ZERO, 0, false);
        cc.on_timeout(Time::ZERO);
        assert_eq!(cc.window(), w, "datagram 0 was sent before the cut");
        cc.on_ack(Time::ZERO, 1, false);
        cc.on_timeout(Time::ZERO);
        assert_eq!(cc.window(), w / 2);
    }
}
