//! Receiving side of the reliability layer: ACK/NAK generation (docs/protocol.md §6.5),
//! frame parsing with the validity rules of §7.2, duplicate detection (§9.4), split
//! reassembly (`split.rs`, §8.3) and ordering/sequencing (`ordering.rs`, §7.4).
//!
//! Memory is small at rest and bounded under any input: duplicate detection uses two
//! bitmaps (datagram numbers and reliable message numbers, `window.rs`) that cover only
//! the span of outstanding holes, capped, instead of 4.081's growing queue, and pending
//! ACK/NAK numbers are kept as a capped sorted range list. `trim` gives back what an idle
//! connection does not need.
//! Unlike 4.081 we also drop the unreliable frames of a repeated datagram, so the
//! network duplicating a datagram never duplicates a message.
//!
//! One deliberate departure from "ACK every datagram" (§14 pitfall 16): when a reliable
//! frame cannot be taken *for now* (message number beyond the window, too many split
//! messages in progress, ordering queue full, or more than the connection may hold
//! under the endpoint's receive budget: `set_hold_cap`), its datagram is left unACKed
//! so the sender resends it later; 4.081 would ACK it and lose the frame. Frames that
//! can never be taken (malformed, over a hard cap) are consumed and the datagram is
//! ACKed.
//! This file does not parse bytes itself (`wire/`) or decide when to send (`connection.rs`).

use std::collections::VecDeque;
use std::time::Duration;

use super::ordering::{Incoming, Ordering};
use super::split::{Inserted, MessageInfo, SplitAssembler, Verdict};
use super::window::Received;
use crate::proto::buffers::BufferSource;
use crate::proto::config::ReliabilityConfig;
use crate::proto::error::DecodeError;
use crate::proto::options::Reliability;
use crate::proto::time::Time;
use crate::proto::wire::datagram::{self, DataHeader, FLAG_ACK, FLAG_NAK, FLAG_VALID};
use crate::proto::wire::frame::Frame;
use crate::proto::wire::{seq, Reader};

/// Datagram numbers remembered for the repeated-datagram filter (at most 2 KiB of bits,
/// only while holes are outstanding).
const DATAGRAM_WINDOW: u32 = 1 << 14;
/// Reliable message numbers tracked ahead of the next expected one (at most 8 KiB of
/// bits, only while holes are outstanding).
/// Far more than a sender can have in flight (4.081: 512; our default: 8192).
const MESSAGE_WINDOW: u32 = 1 << 16;
/// A datagram further ahead than this is dropped without an ACK (§6.5).
const MAX_GAP: u32 = 50_000;
/// At most this many of the numbers skipped by one datagram are NAKed (§6.5).
const MAX_NAK_PER_GAP: u32 = 1000;
/// Pending ACK or NAK ranges kept; beyond it the oldest are forgotten (the sender then
/// relies on its retransmission timer).
const MAX_PENDING_RANGES: usize = 1024;

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
    /// Data datagrams dropped unACKed for jumping more than 50,000 numbers ahead.
    pub(crate) gap_drops: u64,
    /// Reliable frames refused for now (their datagram was left unACKed, to be resent).
    pub(crate) deferred: u64,
    /// Ordered messages dropped because their ordering index was already delivered.
    pub(crate) stale_ordered: u64,
    /// Unreliable messages dropped because their ordering queue was full.
    pub(crate) ordering_overflow: u64,
    /// Fragments refused for breaking a split limit or contradicting their message.
    pub(crate) split_rejected: u64,
    /// Incomplete split messages dropped by the timeout.
    pub(crate) splits_expired: u64,
    /// Frames refused because holding them would take the connection past its share of
    /// the endpoint's receive budget (reliable ones also count in `deferred`).
    pub(crate) over_budget: u64,
}

/// What the message-number window says about a reliable frame.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Seen {
    /// Not received before.
    New,
    /// Received before, or older than everything tracked.
    Duplicate,
    /// Too far ahead to track now.
    Beyond,
}

/// Classifies reliable message number `n` against the numbers received (§9.4) without
/// recording it.
fn check_message(messages: &Received, n: u32) -> Seen {
    let hole = seq::distance(messages.base, n);
    if hole >= seq::HALF {
        Seen::Duplicate
    } else if hole >= MESSAGE_WINDOW {
        Seen::Beyond
    } else if messages.contains(n) {
        Seen::Duplicate
    } else {
        Seen::New
    }
}

/// Inclusive 24-bit ranges, sorted, disjoint and not adjacent; none wraps.
#[derive(Debug, Default)]
struct RangeSet {
    ranges: Vec<(u32, u32)>,
}

impl RangeSet {
    /// Adds `a..=b` (`a <= b`), merging with overlapping or adjacent ranges.
    fn insert(&mut self, a: u32, b: u32) {
        let lo = self.ranges.partition_point(|r| r.1 + 1 < a);
        let hi = self.ranges.partition_point(|r| r.0 <= b + 1);
        if lo >= hi {
            self.ranges.insert(lo, (a, b));
        } else {
            let merged = (a.min(self.ranges[lo].0), b.max(self.ranges[hi - 1].1));
            self.ranges[lo] = merged;
            self.ranges.drain(lo + 1..hi);
        }
    }
    /// Adds the numbers from `a` to `b`, which may wrap past 2^24.
    fn insert_wrapping(&mut self, a: u32, b: u32) {
        if a <= b {
            self.insert(a, b);
        } else {
            self.insert(a, seq::MASK);
            self.insert(0, b);
        }
    }
    /// Forgets the ranges furthest behind `newest` until at most `cap` remain.
    fn trim(&mut self, newest: u32, cap: usize) {
        while self.ranges.len() > cap {
            let oldest = self
                .ranges
                .iter()
                .enumerate()
                .max_by_key(|(_, r)| seq::distance(r.0, newest))
                .map(|(i, _)| i);
            if let Some(i) = oldest {
                self.ranges.remove(i);
            }
        }
    }
    /// Nothing pending.
    fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
    /// Frees the storage if nothing is pending.
    fn trim_storage(&mut self) {
        if self.ranges.is_empty() {
            self.ranges = Vec::new();
        }
    }
    /// Writes one ACK or NAK datagram from the front of the list (a range ending at
    /// 0xFFFFFF sorts last, as §14 pitfall 14 wants) and removes what was written.
    fn write(&mut self, nak: bool, max_len: usize, buf: &mut Vec<u8>) -> bool {
        buf.clear();
        let n = datagram::encode_ack_nak(nak, &self.ranges, max_len, buf).min(self.ranges.len());
        if n == 0 {
            buf.clear();
            return false;
        }
        self.ranges.drain(..n);
        true
    }
}

/// How one frame went.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum FrameOutcome {
    /// Delivered, held, or dropped for good.
    Done,
    /// A reliable frame that cannot be taken now: leave its datagram unACKed.
    Deferred,
}

/// The receiving side of one connection.
#[derive(Debug)]
pub(crate) struct Receiver {
    /// How long an ACK may wait (`ReliabilityConfig::ack_delay`).
    ack_delay: Duration,
    /// Next datagram number expected.
    expected: u32,
    /// Datagram numbers received: holes are tracked from at most `DATAGRAM_WINDOW`
    /// before `expected`; older ones count as received.
    datagrams: Received,
    /// Reliable message numbers received.
    messages: Received,
    acks: RangeSet,
    /// When pending ACKs must go out.
    ack_due: Option<Time>,
    naks: RangeSet,
    /// When pending NAKs were queued (they are due at once).
    nak_due: Option<Time>,
    splits: SplitAssembler,
    ordering: Ordering,
    deliveries: VecDeque<Delivery>,
    stats: RecvStats,
    /// Where delivered messages' buffers come from (recycled by the driver, if it can).
    buffers: BufferSource,
    /// Most bytes this connection may hold (`held_bytes`) after the frames being
    /// handled; set by the endpoint from its receive budget before each datagram.
    hold_cap: usize,
}

impl Receiver {
    /// A receiver with these limits.
    pub(crate) fn new(cfg: &ReliabilityConfig) -> Receiver {
        Receiver {
            ack_delay: cfg.ack_delay,
            expected: 0,
            datagrams: Received::default(),
            messages: Received::default(),
            acks: RangeSet::default(),
            ack_due: None,
            naks: RangeSet::default(),
            nak_due: None,
            splits: SplitAssembler::new(cfg),
            ordering: Ordering::new(cfg),
            deliveries: VecDeque::new(),
            stats: RecvStats::default(),
            buffers: cfg.buffers.clone(),
            hold_cap: usize::MAX,
        }
    }

    /// Sets the most bytes this connection may hold for incomplete and out-of-order
    /// messages from now on (its share of the endpoint's receive budget). Frames that
    /// would take it past this are refused for now; what it already holds stays.
    pub(crate) fn set_hold_cap(&mut self, cap: usize) {
        self.hold_cap = cap;
    }

    /// Room left under `hold_cap`.
    fn room(&self) -> usize {
        if self.hold_cap == usize::MAX {
            return usize::MAX;
        }
        self.hold_cap.saturating_sub(self.held_bytes())
    }

    /// A whole data datagram (header included). Queues its ACK (and NAKs for a gap),
    /// then decodes its frames; a malformed frame abandons the rest of the datagram (the
    /// datagram stays ACKed, as 4.081 does). Errors only for a datagram that cannot be
    /// used at all (bad header, gap over 50,000: dropped without ACK).
    pub(crate) fn on_data(&mut self, now: Time, bytes: &[u8]) -> Result<(), DecodeError> {
        let mut r = Reader::new(bytes);
        let header = DataHeader::decode(&mut r)?;
        if header.flags & (FLAG_VALID | FLAG_ACK | FLAG_NAK) != FLAG_VALID {
            return Err(DecodeError::new("data datagram flags", 0));
        }
        let n = header.number & seq::MASK;
        let repeated = self.arrive(now, n)?;
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += bytes.len() as u64;

        let mut deferred = false;
        // §6.2: frames follow until fewer than 4 bytes remain.
        while r.remaining() >= 4 {
            match Frame::decode(&mut r) {
                Ok(frame) => {
                    if self.on_frame(now, &frame, repeated) == FrameOutcome::Deferred {
                        deferred = true;
                    }
                }
                Err(_) => {
                    self.stats.bad_frames += 1;
                    break;
                }
            }
        }
        if !deferred {
            self.acks.insert(n, n);
            self.acks.trim(n, MAX_PENDING_RANGES);
            if self.ack_due.is_none() {
                self.ack_due = Some(now + self.ack_delay);
            }
        }
        Ok(())
    }

    /// Gap rules of §6.5 for datagram `n`: NAKs for skipped numbers, the repeated-datagram
    /// filter. Returns whether `n` may have been received before.
    fn arrive(&mut self, now: Time, n: u32) -> Result<bool, DecodeError> {
        let ahead = seq::distance(self.expected, n);
        let dg = &mut self.datagrams;
        if ahead != 0 && !seq::older(self.expected, n) {
            // Late: no NAK. Repeated if seen, or older than every hole still tracked.
            let tracked =
                !dg.is_empty() && seq::distance(dg.base, n) < seq::distance(dg.base, self.expected);
            if !tracked || dg.contains(n) {
                return Ok(true);
            }
            dg.insert(n);
            return Ok(false);
        }
        if ahead > MAX_GAP {
            self.stats.gap_drops += 1;
            return Err(DecodeError::new("datagram number gap", 1));
        }
        if ahead > 0 {
            let first = if ahead > MAX_NAK_PER_GAP {
                n.wrapping_sub(MAX_NAK_PER_GAP) & seq::MASK
            } else {
                self.expected
            };
            self.naks
                .insert_wrapping(first, n.wrapping_sub(1) & seq::MASK);
            self.naks.trim(n, MAX_PENDING_RANGES);
            self.nak_due.get_or_insert(now);
        }
        let dg = &mut self.datagrams;
        if dg.is_empty() {
            // No holes: everything before `expected` arrived.
            dg.base = self.expected;
        }
        if seq::distance(dg.base, n) >= DATAGRAM_WINDOW {
            dg.advance_to(seq::add(n, 1).wrapping_sub(DATAGRAM_WINDOW) & seq::MASK);
        }
        dg.insert(n);
        self.expected = seq::add(n, 1);
        Ok(false)
    }

    /// One decoded frame of a datagram (`repeated`: that datagram was seen before).
    fn on_frame(&mut self, now: Time, frame: &Frame<'_>, repeated: bool) -> FrameOutcome {
        let h = &frame.header;
        let kind = h.reliability.wire();
        let reliable = kind.is_reliable();
        let number = h.message_number & seq::MASK;
        // A frame that cannot be taken now: a reliable one comes back if its datagram
        // goes unACKed; an unreliable one is dropped and counted in `dropped`.
        let later = |dropped: &mut u64, deferred: &mut u64| {
            if reliable {
                *deferred += 1;
                FrameOutcome::Deferred
            } else {
                *dropped += 1;
                FrameOutcome::Done
            }
        };
        if reliable {
            match check_message(&self.messages, number) {
                Seen::New => {}
                Seen::Duplicate => {
                    self.stats.duplicates += 1;
                    return FrameOutcome::Done;
                }
                Seen::Beyond => return later(&mut 0, &mut self.stats.deferred),
            }
        } else if repeated {
            self.stats.duplicates += 1;
            return FrameOutcome::Done;
        }

        // Decide everything that can refuse the frame before consuming its number.
        let total = match &h.split {
            None => Some(frame.payload.len()),
            Some(sh) => match self.splits.classify(sh, frame.payload.len()) {
                Verdict::Accept { completes, total } => completes.then_some(total),
                Verdict::Busy => {
                    let st = &mut self.stats;
                    return later(&mut st.split_rejected, &mut st.deferred);
                }
                Verdict::Duplicate => {
                    self.stats.duplicates += 1;
                    self.consume(reliable, number);
                    return FrameOutcome::Done;
                }
                Verdict::Reject { discard } => {
                    if discard {
                        self.splits.discard(sh.id);
                    }
                    self.stats.split_rejected += 1;
                    self.consume(reliable, number);
                    return FrameOutcome::Done;
                }
            },
        };
        // The message the frame belongs to: a split one keeps its first fragment's header.
        let info = h
            .split
            .and_then(|sh| self.splits.info(sh.id))
            .unwrap_or(MessageInfo {
                reliability: kind,
                channel: h.channel,
                ordering_index: h.ordering_index,
                sequencing_index: h.sequencing_index,
            });
        if let Some(len) = total {
            if !self
                .ordering
                .has_room(info.reliability, info.channel, info.ordering_index, len)
            {
                let st = &mut self.stats;
                return later(&mut st.ordering_overflow, &mut st.deferred);
            }
        }
        // The endpoint's receive budget (docs/protocol.md §8.3, §7.4 say what may be
        // held; the budget is ours): a frame that would be stored must fit in the
        // connection's room, else it is refused like any frame that cannot be taken now.
        let growth = match (&h.split, total) {
            (Some(sh), None) => Some(self.splits.growth(sh, frame.payload.len())),
            (split, Some(len))
                if self.ordering.would_hold(
                    info.reliability,
                    info.channel,
                    info.ordering_index,
                ) =>
            {
                // Completing a split message frees its fragments first.
                let freed = split.map_or(0, |sh| self.splits.charge_of(sh.id));
                Some(
                    self.ordering
                        .min_growth(info.channel, len)
                        .saturating_sub(freed),
                )
            }
            _ => None,
        };
        // Only what grows pays for counting the room (most frames grow nothing).
        if growth.is_some_and(|g| g > 0 && g > self.room()) {
            self.stats.over_budget += 1;
            return later(&mut 0, &mut self.stats.deferred);
        }
        if reliable {
            // `check_message` found it new above, and nothing since touched `messages`.
            self.messages.insert(number);
        }

        let data = match &h.split {
            None => self.buffers.copy_of(frame.payload),
            Some(sh) => match self.splits.insert(now, sh, info, frame.payload) {
                Inserted::Complete(data) => {
                    // 4.081 flushes ACKs as soon as a split message completes.
                    self.ack_due = Some(self.ack_due.map_or(now, |t| t.min(now)));
                    data
                }
                Inserted::Progress(notice) => {
                    self.deliveries.push_back(Delivery {
                        data: notice,
                        reliability: info.reliability,
                        channel: if info.reliability.is_ordered_or_sequenced() {
                            info.channel
                        } else {
                            0
                        },
                    });
                    return FrameOutcome::Done;
                }
                Inserted::Pending | Inserted::Refused(_) => return FrameOutcome::Done,
            },
        };
        let msg = Incoming {
            reliability: info.reliability,
            channel: info.channel,
            ordering_index: info.ordering_index,
            sequencing_index: info.sequencing_index,
            data,
        };
        let room = if growth.is_some() {
            self.room()
        } else {
            usize::MAX
        };
        self.ordering
            .push(msg, &mut self.deliveries, &mut self.stats, room);
        FrameOutcome::Done
    }

    /// Marks a reliable message number as received for good.
    fn consume(&mut self, reliable: bool, number: u32) {
        if reliable && check_message(&self.messages, number) == Seen::New {
            self.messages.insert(number);
        }
    }

    /// Next complete message, in delivery order.
    pub(crate) fn poll_delivery(&mut self) -> Option<Delivery> {
        self.deliveries.pop_front()
    }

    /// Writes one ACK datagram (at most `max_len` bytes) into `buf` (cleared first) if
    /// ACKs are pending and due at `now`. Returns false if nothing was written.
    pub(crate) fn write_ack(&mut self, now: Time, max_len: usize, buf: &mut Vec<u8>) -> bool {
        if self.ack_due.map_or(true, |t| now < t) || !self.acks.write(false, max_len, buf) {
            return false;
        }
        self.stats.acks_sent += 1;
        if self.acks.is_empty() {
            self.ack_due = None;
        }
        true
    }

    /// Same for one NAK datagram. Each number is NAKed once, never repeated (§6.5).
    pub(crate) fn write_nak(&mut self, now: Time, max_len: usize, buf: &mut Vec<u8>) -> bool {
        if self.nak_due.map_or(true, |t| now < t) || !self.naks.write(true, max_len, buf) {
            return false;
        }
        self.stats.naks_sent += 1;
        if self.naks.is_empty() {
            self.nak_due = None;
        }
        true
    }

    /// Earliest of: pending ACKs due, pending NAKs due, the next split expiry (`None`
    /// if nothing is pending).
    pub(crate) fn poll_timeout(&self) -> Option<Time> {
        [self.ack_due, self.nak_due, self.splits.next_expiry()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs timed work (expiry of stale incomplete split messages).
    pub(crate) fn handle_timeout(&mut self, now: Time) {
        self.stats.splits_expired += self.splits.expire(now) as u64;
    }

    /// Gives back memory an idle connection does not need: storage of empty queues and
    /// windows, and the holes of the repeated-datagram filter (the caller has seen no
    /// datagram for a while; a datagram that late only loses its unreliable frames, as
    /// one older than the window would). Reliable message holes stay: forgetting one
    /// would drop its resend.
    pub(crate) fn trim(&mut self) {
        self.datagrams.advance_to(self.expected);
        self.datagrams.trim();
        self.messages.trim();
        self.acks.trim_storage();
        self.naks.trim_storage();
        if self.deliveries.is_empty() {
            self.deliveries = VecDeque::new();
        }
        self.splits.trim();
        self.ordering.trim();
    }

    /// ACK ranges waiting to be sent (whether due or not), for the connection's
    /// "close once pending ACKs are sent" rule (docs/protocol.md §10.5).
    #[allow(dead_code)] // not every driver needs it
    pub(crate) fn has_pending_acks(&self) -> bool {
        !self.acks.is_empty()
    }

    /// Bytes held for messages not yet deliverable (split fragments, out-of-order
    /// messages), excluding what waits in `poll_delivery`. For statistics.
    #[allow(dead_code)] // not every driver needs it
    pub(crate) fn held_bytes(&self) -> usize {
        self.splits.held_bytes() + self.ordering.held_bytes()
    }

    /// Bytes actually allocated for what `held_bytes` charges (split messages are
    /// charged their whole size from the start).
    #[cfg(test)]
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.splits.allocated_bytes() + self.ordering.held_bytes()
    }

    /// Counters.
    pub(crate) fn stats(&self) -> &RecvStats {
        &self.stats
    }
}

/// Test hook for the 24-bit wrap, the receiving twin of `Sender::start_numbers_at`: a
/// fresh receiver expecting these datagram, message and ordering numbers next.
#[cfg(test)]
impl Receiver {
    pub(crate) fn start_numbers_at(&mut self, datagram: u32, message: u32, ordering: u32) {
        self.expected = datagram & seq::MASK;
        self.datagrams.base = self.expected;
        self.messages.base = message & seq::MASK;
        self.ordering.start_at(ordering);
    }
}

#[cfg(test)]
mod tests {
    use super::super::ordering;
    use super::*;
    use crate::proto::wire::frame::SplitHeader;

    const T0: Time = Time::ZERO;
    const MTU_PAYLOAD: usize = 1464;

    /// A frame to encode by hand (independent of `wire::frame`'s encoder).
    #[derive(Clone, Copy)]
    struct F<'a> {
        rel: Reliability,
        num: u32,
        oi: u32,
        si: u32,
        ch: u8,
        split: Option<SplitHeader>,
        bits: Option<u16>,
        payload: &'a [u8],
    }

    fn f(rel: Reliability, payload: &[u8]) -> F<'_> {
        F {
            rel,
            num: 0,
            oi: 0,
            si: 0,
            ch: 0,
            split: None,
            bits: None,
            payload,
        }
    }

    impl F<'_> {
        fn num(mut self, n: u32) -> Self {
            self.num = n;
            self
        }
        fn ord(mut self, ch: u8, oi: u32) -> Self {
            self.ch = ch;
            self.oi = oi;
            self
        }
        fn si(mut self, si: u32) -> Self {
            self.si = si;
            self
        }
        fn split(mut self, count: u32, id: u16, index: u32) -> Self {
            self.split = Some(SplitHeader { count, id, index });
            self
        }
        fn bits(mut self, b: u16) -> Self {
            self.bits = Some(b);
            self
        }
        fn put(&self, out: &mut Vec<u8>) {
            let r = self.rel as u8;
            out.push(r << 5 | if self.split.is_some() { 0x10 } else { 0 });
            let bits = self.bits.unwrap_or(self.payload.len() as u16 * 8);
            out.extend_from_slice(&bits.to_be_bytes());
            let u24 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes()[..3]);
            if matches!(r, 2..=4) {
                u24(out, self.num);
            }
            if matches!(r, 1 | 4) {
                u24(out, self.si);
            }
            if matches!(r, 1 | 3 | 4) {
                u24(out, self.oi);
                out.push(self.ch);
            }
            if let Some(sh) = self.split {
                out.extend_from_slice(&sh.count.to_be_bytes());
                out.extend_from_slice(&sh.id.to_be_bytes());
                out.extend_from_slice(&sh.index.to_be_bytes());
            }
            out.extend_from_slice(self.payload);
        }
    }

    fn dgram(n: u32, frames: &[F<'_>]) -> Vec<u8> {
        let mut out = vec![0x84];
        out.extend_from_slice(&n.to_le_bytes()[..3]);
        for fr in frames {
            fr.put(&mut out);
        }
        out
    }

    fn rx() -> Receiver {
        Receiver::new(&ReliabilityConfig::default())
    }

    fn feed(r: &mut Receiver, n: u32, frames: &[F<'_>]) {
        r.on_data(T0, &dgram(n, frames)).unwrap();
    }

    fn drain(r: &mut Receiver) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| r.poll_delivery())
            .map(|d| d.data)
            .collect()
    }

    /// Parses an ACK/NAK datagram by hand: (flags, ranges).
    fn parse(b: &[u8]) -> (u8, Vec<(u32, u32)>) {
        let u24 = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], 0]);
        let count = u16::from_be_bytes([b[1], b[2]]) as usize;
        let mut at = 3;
        let mut out = Vec::new();
        for _ in 0..count {
            if b[at] == 1 {
                out.push((u24(at + 1), u24(at + 1)));
                at += 4;
            } else {
                out.push((u24(at + 1), u24(at + 4)));
                at += 7;
            }
        }
        assert_eq!(at, b.len());
        (b[0], out)
    }

    fn all_acks(r: &mut Receiver) -> Vec<(u32, u32)> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while r.write_ack(Time::MAX, MTU_PAYLOAD, &mut buf) {
            let (flags, ranges) = parse(&buf);
            assert_eq!(flags, 0xC0);
            out.extend(ranges);
        }
        out
    }

    fn all_naks(r: &mut Receiver) -> Vec<(u32, u32)> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while r.write_nak(Time::MAX, MTU_PAYLOAD, &mut buf) {
            let (flags, ranges) = parse(&buf);
            assert_eq!(flags, 0xA0);
            out.extend(ranges);
        }
        out
    }

    use Reliability::{
        Reliable as R, ReliableOrdered as RO, ReliableSequenced as RS, Unreliable as U,
        UnreliableSequenced as US,
    };

    #[test]
    fn reliable_ordered_across_channels() {
        let mut r = rx();
        feed(
            &mut r,
            0,
            &[f(RO, b"a0").num(0).ord(0, 0), f(RO, b"b0").num(1).ord(1, 0)],
        );
        let d: Vec<_> = std::iter::from_fn(|| r.poll_delivery())
            .map(|d| (d.data, d.channel, d.reliability))
            .collect();
        assert_eq!(d, [(b"a0".to_vec(), 0, RO), (b"b0".to_vec(), 1, RO)]);
        feed(&mut r, 2, &[f(RO, b"a2").num(3).ord(0, 2)]);
        assert!(drain(&mut r).is_empty());
        feed(
            &mut r,
            1,
            &[f(RO, b"a1").num(2).ord(0, 1), f(RO, b"b1").num(4).ord(1, 1)],
        );
        assert_eq!(drain(&mut r), [b"a1", b"a2", b"b1"]);
        assert_eq!(all_acks(&mut r), [(0, 2)]);
        assert_eq!(all_naks(&mut r), [(1, 1)]);
        assert_eq!(r.stats().messages_delivered, 5);
        r.trim();
        assert_eq!(r.held_bytes(), 0);
    }

    /// The hold cap (the endpoint's receive budget): a split message reserves all it can
    /// allocate with its first fragment, so a second one that does not fit is refused
    /// whole while the first completes; a refused reliable frame's datagram is not
    /// acknowledged (the sender resends it) and is taken once there is room; refused
    /// unreliable frames are dropped. What is deliverable at once is never refused.
    #[test]
    fn hold_cap_refuses_without_acknowledging() {
        let mut r = rx();
        // Ten 1000-byte fragments: 10,000 bytes, 120 of fragment table, 8 of bitmap.
        let one = 10_128;
        let cap = one + 4000;
        r.set_hold_cap(cap);
        let frag = [7u8; 1000];
        let (mut dg, mut num) = (0, 0);
        let mut send = |r: &mut Receiver, fr: F<'_>| {
            let before = r.stats().over_budget;
            let fr = if fr.rel.is_reliable() {
                num += 1;
                fr.num(num - 1)
            } else {
                fr
            };
            feed(r, dg, &[fr]);
            dg += 1;
            assert!(r.held_bytes() <= cap, "{} held", r.held_bytes());
            r.stats().over_budget != before
        };
        // Message A starts (reserving all of it), message B cannot, in turns.
        let mut refused = Vec::new();
        for i in 0..9u32 {
            assert!(!send(&mut r, f(RO, &frag).split(10, 1, i)), "A {i}");
            if send(&mut r, f(R, &frag).split(10, 2, i)) {
                refused.push(2 * i + 1);
            }
        }
        assert_eq!(refused.len(), 9);
        assert_eq!(r.held_bytes(), one);
        // Past a hole, an ordered message is refused too (deferred); so is an
        // unreliable fragment (dropped).
        assert!(send(&mut r, f(RO, &[5u8; 4000]).ord(3, 5)));
        assert!(send(&mut r, f(U, &frag).split(8, 9, 0)));
        assert_eq!(r.stats().over_budget, 11);
        assert_eq!(r.stats().deferred, 10);
        let acks = all_acks(&mut r);
        for n in refused.iter().chain([18].iter()) {
            assert!(
                !acks.iter().any(|&(a, b)| (a..=b).contains(n)),
                "refused datagram {n} was acknowledged: {acks:?}"
            );
        }
        assert!(acks.iter().any(|&(a, b)| (a..=b).contains(&19)));
        // Deliverable at once: never refused. A completes and gives its room back.
        assert!(!send(&mut r, f(RO, b"now").ord(4, 0)));
        assert!(!send(&mut r, f(RO, &frag).split(10, 1, 9)));
        assert_eq!(drain(&mut r), [b"now".to_vec(), vec![7u8; 10_000]]);
        assert_eq!(r.held_bytes(), 0);
        // B's resends (new datagram numbers, same message numbers) now fit.
        let mut before = r.stats().over_budget;
        for (k, &d) in refused.iter().enumerate() {
            // Datagram 2i+1 carried message number 2i+1 (A and B alternated).
            feed(
                &mut r,
                100 + k as u32,
                &[f(R, &frag).num(d).split(10, 2, k as u32)],
            );
            assert_eq!(r.stats().over_budget, before);
            before = r.stats().over_budget;
        }
        feed(&mut r, 200, &[f(R, &frag).num(500).split(10, 2, 9)]);
        assert_eq!(drain(&mut r), [vec![7u8; 10_000]]);
        assert_eq!(r.held_bytes(), 0);
    }

    #[test]
    fn repeated_datagram_delivers_once_and_is_acked_again() {
        let mut r = rx();
        let d = dgram(0, &[f(U, b"u"), f(R, b"r").num(0), f(US, b"s")]);
        r.on_data(T0, &d).unwrap();
        assert_eq!(all_acks(&mut r), [(0, 0)]);
        r.on_data(T0, &d).unwrap();
        assert_eq!(drain(&mut r), [b"u", b"r", b"s"]);
        assert_eq!(r.stats().duplicates, 3);
        assert_eq!(r.stats().datagrams_received, 2);
        assert_eq!(all_acks(&mut r), [(0, 0)]);
        assert_eq!(r.stats().acks_sent, 2);
    }

    #[test]
    fn repeated_frame_in_another_datagram_is_dropped() {
        let mut r = rx();
        feed(&mut r, 0, &[f(RO, b"x").num(0)]);
        feed(&mut r, 1, &[f(RO, b"x").num(0), f(R, b"y").num(1)]);
        assert_eq!(drain(&mut r), [b"x", b"y"]);
        assert_eq!(r.stats().duplicates, 1);
        assert_eq!(all_acks(&mut r), [(0, 1)]);
    }

    #[test]
    fn unreliable_only_datagram_is_acked() {
        let mut r = rx();
        feed(&mut r, 0, &[f(U, b"u")]);
        assert_eq!(r.poll_timeout(), Some(T0));
        assert_eq!(all_acks(&mut r), [(0, 0)]);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn sequenced_never_backwards() {
        let mut r = rx();
        for (n, si) in [0u32, 2, 1, 3].into_iter().enumerate() {
            let tag = [si as u8];
            feed(&mut r, n as u32, &[f(US, &tag).ord(4, 0).si(si)]);
        }
        assert_eq!(drain(&mut r), [[0], [2], [3]]);
        assert_eq!(r.stats().stale_sequenced, 1);
    }

    #[test]
    fn sequenced_after_ordered_waits_for_it() {
        let mut r = rx();
        feed(&mut r, 1, &[f(RS, b"s").num(1).ord(0, 1).si(0)]);
        assert!(drain(&mut r).is_empty());
        feed(&mut r, 0, &[f(RO, b"o").num(0).ord(0, 0)]);
        assert_eq!(drain(&mut r), [b"o", b"s"]);
    }

    #[test]
    fn datagram_numbers_wrap() {
        let mut r = rx();
        let m = seq::MASK;
        r.expected = m - 1;
        feed(&mut r, m - 1, &[f(U, b"a")]);
        feed(&mut r, 1, &[f(U, b"d")]);
        assert_eq!(all_naks(&mut r), [(0, 0), (m, m)]);
        feed(&mut r, m, &[f(U, b"b")]);
        feed(&mut r, 0, &[f(U, b"c")]);
        feed(&mut r, 0, &[f(U, b"c")]);
        assert_eq!(drain(&mut r), [b"a", b"d", b"b", b"c"]);
        assert!(all_naks(&mut r).is_empty());
        // The range ending at 0xFFFFFF goes last (docs/protocol.md §14 pitfall 14).
        assert_eq!(all_acks(&mut r), [(0, 1), (m - 1, m)]);
    }

    #[test]
    fn message_numbers_wrap() {
        let mut r = rx();
        let m = seq::MASK;
        r.messages.base = m - 1;
        for (n, num) in [0, m, m - 1, 1, m].into_iter().enumerate() {
            let tag = [num as u8];
            feed(&mut r, n as u32, &[f(R, &tag).num(num)]);
        }
        assert_eq!(drain(&mut r), [[0], [0xFF], [0xFE], [1]]);
        assert_eq!(r.stats().duplicates, 1);
        assert_eq!(r.messages.base, 2);
    }

    #[test]
    fn split_reassembled_in_any_order() {
        let mut r = rx();
        let parts: [&[u8]; 3] = [b"aaa", b"bbb", b"cc"];
        for (n, idx) in [2u32, 0, 1].into_iter().enumerate() {
            let fr = f(RO, parts[idx as usize])
                .num(n as u32)
                .ord(3, 0)
                .split(3, 9, idx);
            feed(&mut r, n as u32, &[fr]);
        }
        let d = r.poll_delivery().unwrap();
        assert_eq!((d.data.as_slice(), d.channel), (&b"aaabbbcc"[..], 3));
        assert!(r.poll_delivery().is_none());
        assert_eq!(r.held_bytes(), 0);
    }

    #[test]
    fn split_duplicates_and_mismatches_ignored() {
        let mut r = rx();
        feed(&mut r, 0, &[f(R, b"a").num(0).split(2, 1, 0)]);
        // Same index under a new message number: ignored.
        feed(&mut r, 1, &[f(R, b"X").num(1).split(2, 1, 0)]);
        // Different count for the same id: rejected.
        feed(&mut r, 2, &[f(R, b"Y").num(2).split(3, 1, 1)]);
        // An unreliable split repeated in another datagram: ignored by index.
        feed(&mut r, 3, &[f(U, b"p").split(2, 2, 0)]);
        feed(&mut r, 4, &[f(U, b"P").split(2, 2, 0)]);
        feed(
            &mut r,
            5,
            &[f(R, b"b").num(3).split(2, 1, 1), f(U, b"q").split(2, 2, 1)],
        );
        assert_eq!(drain(&mut r), [b"ab", b"pq"]);
        assert_eq!(r.stats().duplicates, 2);
        assert_eq!(r.stats().split_rejected, 1);
        assert_eq!(all_acks(&mut r), [(0, 5)]);
        assert_eq!(r.messages.base, 4);
    }

    #[test]
    fn split_count_bomb_allocates_nothing() {
        let mut r = rx();
        feed(&mut r, 0, &[f(R, b"x").num(0).split(u32::MAX, 1, 7)]);
        assert_eq!(r.stats().split_rejected, 1);
        assert_eq!(r.splits.len(), 0);
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(all_acks(&mut r), [(0, 0)]);
        assert_eq!(r.messages.base, 1);
    }

    #[test]
    fn many_split_ids_are_bounded_and_deferred() {
        let mut r = rx();
        let cap = ReliabilityConfig::default().max_concurrent_splits as u32;
        for id in 0..1000u32 {
            feed(&mut r, id, &[f(R, b"x").num(id).split(2, id as u16, 0)]);
        }
        assert_eq!(r.splits.len(), cap as usize);
        assert_eq!(r.stats().deferred, u64::from(1000 - cap));
        // Only the datagrams whose fragments were taken are ACKed.
        assert_eq!(all_acks(&mut r), [(0, cap - 1)]);
        // Completing one frees a slot; the sender's resend of a deferred one now fits.
        feed(&mut r, 1000, &[f(R, b"y").num(2000).split(2, 0, 1)]);
        feed(&mut r, 1001, &[f(R, b"x").num(cap).split(2, cap as u16, 0)]);
        assert_eq!(drain(&mut r), [b"xy"]);
        assert_eq!(all_acks(&mut r), [(1000, 1001)]);
        assert_eq!(r.splits.len(), cap as usize);
    }

    #[test]
    fn incomplete_split_expires() {
        let mut r = rx();
        r.on_data(T0, &dgram(0, &[f(R, b"x").num(0).split(2, 1, 0)]))
            .unwrap();
        all_acks(&mut r);
        let expiry = T0 + super::super::split::SPLIT_TIMEOUT;
        assert_eq!(r.poll_timeout(), Some(expiry));
        r.handle_timeout(Time::from_millis(1000));
        assert_eq!(r.splits.len(), 1);
        r.handle_timeout(expiry);
        assert_eq!(r.splits.len(), 0);
        assert_eq!(r.stats().splits_expired, 1);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn far_message_numbers_cost_nothing() {
        let mut r = rx();
        // Half the space ahead reads as old: dropped, datagram ACKed.
        feed(&mut r, 0, &[f(R, b"x").num(seq::HALF)]);
        // Just under it: beyond the window, deferred (datagram left unACKed).
        feed(&mut r, 1, &[f(R, b"y").num(seq::HALF - 1)]);
        assert!(drain(&mut r).is_empty());
        assert_eq!(r.stats().duplicates, 1);
        assert_eq!(r.stats().deferred, 1);
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(r.messages.base, 0);
        assert_eq!(all_acks(&mut r), [(0, 0)]);
        feed(&mut r, 2, &[f(R, b"z").num(0)]);
        assert_eq!(drain(&mut r), [b"z"]);
    }

    #[test]
    fn gap_over_50000_dropped_without_ack() {
        let mut r = rx();
        let e = r.on_data(T0, &dgram(50_001, &[f(U, b"x")])).unwrap_err();
        assert_eq!(e.what, "datagram number gap");
        assert_eq!(r.stats().gap_drops, 1);
        assert_eq!(r.stats().datagrams_received, 0);
        assert!(drain(&mut r).is_empty());
        assert_eq!(r.poll_timeout(), None);
        // 50,000 ahead is still accepted; only the last 1000 skipped numbers are NAKed.
        feed(&mut r, 50_000, &[f(U, b"y")]);
        assert_eq!(drain(&mut r), [b"y"]);
        assert_eq!(all_naks(&mut r), [(49_000, 49_999)]);
        assert_eq!(all_acks(&mut r), [(50_000, 50_000)]);
    }

    #[test]
    fn ack_output_merges_and_respects_max_len() {
        let mut r = rx();
        for n in [0, 1, 2, 4, 6, 7] {
            feed(&mut r, n, &[f(U, b"u")]);
        }
        let mut buf = vec![0xEE; 3];
        assert!(!r.write_ack(T0, 6, &mut buf));
        assert!(buf.is_empty());
        assert!(r.write_ack(T0, 14, &mut buf));
        assert_eq!(buf, [0xC0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 1, 4, 0, 0]);
        assert!(r.write_ack(T0, 10, &mut buf));
        assert_eq!(buf, [0xC0, 0, 1, 0, 6, 0, 0, 7, 0, 0]);
        assert!(!r.write_ack(T0, 10, &mut buf));
        assert_eq!(r.stats().acks_sent, 2);
    }

    #[test]
    fn ack_delay_sets_the_deadline() {
        let cfg = ReliabilityConfig {
            ack_delay: Duration::from_millis(10),
            ..ReliabilityConfig::default()
        };
        let mut r = Receiver::new(&cfg);
        r.on_data(T0, &dgram(0, &[f(U, b"u")])).unwrap();
        r.on_data(Time::from_millis(5), &dgram(1, &[f(U, b"u")]))
            .unwrap();
        let due = Time::from_millis(10);
        assert_eq!(r.poll_timeout(), Some(due));
        let mut buf = Vec::new();
        assert!(!r.write_ack(Time::from_millis(9), MTU_PAYLOAD, &mut buf));
        assert!(r.write_ack(due, MTU_PAYLOAD, &mut buf));
        assert_eq!(parse(&buf).1, [(0, 1)]);
        // A completed split message makes pending ACKs due at once.
        let t = Time::from_millis(20);
        r.on_data(t, &dgram(2, &[f(R, b"x").num(0).split(1, 0, 0)]))
            .unwrap();
        assert_eq!(r.poll_timeout(), Some(t));
    }

    #[test]
    fn gaps_are_naked_once() {
        let mut r = rx();
        feed(&mut r, 0, &[f(U, b"u")]);
        feed(&mut r, 4, &[f(U, b"u")]);
        assert_eq!(r.poll_timeout(), Some(T0));
        let mut buf = Vec::new();
        assert!(r.write_nak(T0, MTU_PAYLOAD, &mut buf));
        assert_eq!(buf, [0xA0, 0, 1, 0, 1, 0, 0, 3, 0, 0]);
        assert!(!r.write_nak(T0, MTU_PAYLOAD, &mut buf));
        // Late arrivals and repeats queue no NAK.
        feed(&mut r, 2, &[f(U, b"u")]);
        feed(&mut r, 2, &[f(U, b"u")]);
        assert!(all_naks(&mut r).is_empty());
        assert_eq!(r.stats().naks_sent, 1);
        assert_eq!(all_acks(&mut r), [(0, 0), (2, 2), (4, 4)]);
    }

    #[test]
    fn bad_frame_abandons_rest_but_datagram_is_acked() {
        let mut r = rx();
        let d = dgram(
            0,
            &[
                f(R, b"a").num(0),
                f(RO, b"b").num(1).ord(40, 0),
                f(R, b"c").num(2),
            ],
        );
        r.on_data(T0, &d).unwrap();
        assert_eq!(drain(&mut r), [b"a"]);
        assert_eq!(r.stats().bad_frames, 1);
        assert_eq!(all_acks(&mut r), [(0, 0)]);
    }

    #[test]
    fn nine_bit_frame_delivers_two_bytes() {
        let mut r = rx();
        let mut d = vec![0x84, 7, 0, 0];
        d.extend_from_slice(&[0x40, 0x00, 0x09, 0x07, 0x00, 0x00, 0x86, 0x80]);
        r.on_data(T0, &d).unwrap();
        assert_eq!(drain(&mut r), [[0x86, 0x80]]);
        feed(&mut r, 8, &[f(U, &[1, 2]).bits(9)]);
        assert_eq!(drain(&mut r), [[1, 2]]);
    }

    #[test]
    fn trailing_bytes_and_bad_headers() {
        let mut r = rx();
        let mut d = dgram(0, &[f(U, b"u")]);
        d.extend_from_slice(&[0, 0, 0]);
        r.on_data(T0, &d).unwrap();
        assert_eq!(drain(&mut r), [b"u"]);
        assert_eq!(r.stats().bad_frames, 0);
        assert!(r.on_data(T0, &[0x84, 1, 0]).is_err());
        assert!(r.on_data(T0, &[0xC0, 1, 0, 0, 0]).is_err());
        assert!(r.on_data(T0, &[0x04, 1, 0, 0, 0]).is_err());
        assert_eq!(r.stats().datagrams_received, 1);
    }

    #[test]
    fn very_late_datagram_keeps_reliable_drops_unreliable() {
        let mut r = rx();
        feed(&mut r, 40_000, &[f(U, b"u")]);
        all_naks(&mut r);
        feed(&mut r, 5, &[f(U, b"old"), f(R, b"rel").num(0)]);
        assert_eq!(drain(&mut r), [&b"u"[..], b"rel"]);
        assert_eq!(r.stats().duplicates, 1);
    }

    #[test]
    fn pending_ranges_are_capped_keeping_the_newest() {
        let mut r = rx();
        for k in 0..3000u32 {
            feed(&mut r, 2 * k, &[f(U, b"u")]);
        }
        assert_eq!(r.acks.ranges.len(), MAX_PENDING_RANGES);
        assert_eq!(r.naks.ranges.len(), MAX_PENDING_RANGES);
        assert_eq!(r.acks.ranges.last(), Some(&(5998, 5998)));
        assert_eq!(
            r.acks.ranges.first(),
            Some(&(2 * (3000 - 1024), 2 * (3000 - 1024)))
        );
    }

    #[test]
    fn random_input_never_panics_and_stays_bounded() {
        let cfg = ReliabilityConfig {
            max_concurrent_splits: 8,
            max_split_message_bytes: 1 << 16,
            max_ordering_queue: 64,
            split_progress_interval: 3,
            ..ReliabilityConfig::default()
        };
        let mut r = Receiver::new(&cfg);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let kinds = [U, US, R, RO, RS];
        let payload = [0x5Au8; 64];
        let mut buf = Vec::new();
        for i in 0..20_000u64 {
            let now = Time::from_millis(i);
            // Mostly moving forward with reordering and repeats, sometimes far off.
            let base = (i as u32).wrapping_mul(3);
            let n = match rnd() % 64 {
                0 => rnd() as u32 & seq::MASK,
                _ => (base + (rnd() % 64) as u32) & seq::MASK,
            };
            let d = if rnd() % 4 == 0 {
                // Raw junk after a valid header.
                let mut d = vec![0x84, n as u8, 0, 0];
                d.extend((0..rnd() % 40).map(|_| rnd() as u8));
                d
            } else {
                let frames: Vec<F<'_>> = (0..1 + rnd() % 4)
                    .map(|_| {
                        let v = rnd();
                        let mut fr = f(
                            kinds[(v % 5) as usize],
                            &payload[..1 + (v >> 8) as usize % 63],
                        )
                        .num(match rnd() % 64 {
                            0 => rnd() as u32,
                            _ => base.wrapping_mul(2) + (rnd() % 128) as u32,
                        })
                        .ord((v >> 16) as u8 % 4, i as u32 / 64 + (rnd() % 16) as u32)
                        .si((rnd() % 8) as u32);
                        if v >> 24 & 3 == 0 {
                            let count = 1 + (rnd() % 6) as u32;
                            fr = fr.split(count, (rnd() % 12) as u16, (rnd() % 7) as u32);
                        }
                        fr
                    })
                    .collect();
                dgram(n, &frames)
            };
            let _ = r.on_data(now, &d);
            while r.poll_delivery().is_some() {}
            if rnd() % 8 == 0 {
                r.write_ack(now, 200, &mut buf);
                r.write_nak(now, 200, &mut buf);
                r.handle_timeout(now);
            }
            assert!(r.splits.len() <= 8);
            assert!(r.acks.ranges.len() <= MAX_PENDING_RANGES);
            assert!(r.held_bytes() <= 8 * (1 << 16) + ordering::HELD_BYTES);
            for ch in 0..4 {
                assert!(r.ordering.queued(ch) <= 64);
            }
        }
        assert!(r.stats().messages_delivered > 0);
    }

    #[test]
    fn memory_at_rest_is_small() {
        let mut r = rx();
        assert!(std::mem::size_of::<Receiver>() < 1024);
        // In-order traffic needs no bitmap storage.
        for n in 0..3000u32 {
            feed(&mut r, n, &[f(RO, b"x").num(n).ord(0, n)]);
        }
        assert_eq!(drain(&mut r).len(), 3000);
        assert_eq!(r.datagrams.heap_bytes() + r.messages.heap_bytes(), 0);
    }

    #[test]
    fn bitmaps_grow_with_holes_and_are_capped() {
        let mut r = rx();
        // Far-ahead message numbers within the window: storage up to the cap, no more.
        feed(&mut r, 0, &[f(R, b"a").num(MESSAGE_WINDOW - 1)]);
        feed(&mut r, 1, &[f(R, b"b").num(MESSAGE_WINDOW)]);
        assert_eq!(r.stats().deferred, 1);
        assert!(r.messages.heap_bytes() <= MESSAGE_WINDOW as usize / 8 + 64);
        // Datagram holes are capped at the window and forgotten on trim.
        feed(&mut r, 40_000, &[f(U, b"c")]);
        feed(&mut r, 80_000, &[f(U, b"d")]);
        assert!(r.datagrams.heap_bytes() <= DATAGRAM_WINDOW as usize / 8 + 64);
        // A late datagram within the window is new once, then repeated.
        feed(&mut r, 79_000, &[f(U, b"e")]);
        feed(&mut r, 79_000, &[f(U, b"e")]);
        // Older than the window: treated as repeated.
        feed(&mut r, 60_000, &[f(U, b"f")]);
        assert_eq!(drain(&mut r), [&b"a"[..], b"c", b"d", b"e"]);
        r.trim();
        assert_eq!(r.datagrams.heap_bytes(), 0);
        feed(&mut r, 79_001, &[f(U, b"g")]);
        assert!(drain(&mut r).is_empty(), "holes forgotten by trim");
        feed(&mut r, 80_001, &[f(U, b"h")]);
        assert_eq!(drain(&mut r), [b"h"]);
        assert_eq!(r.datagrams.heap_bytes(), 0);
    }
}
