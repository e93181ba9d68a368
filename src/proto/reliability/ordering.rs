//! Per-channel ordering and sequencing on receive (docs/protocol.md §7.4), for the 32
//! channels of one connection.
//!
//! Takes whole messages (split messages after reassembly) and turns them into
//! deliveries: UNRELIABLE and RELIABLE at once on channel 0; RELIABLE_ORDERED in
//! ordering-index order; sequenced kinds never older than one already delivered, and
//! only once the ordered message they were sent after has been delivered (pitfall 18).
//! Out-of-order messages wait in a min-heap per channel, bounded by `max_ordering_queue`
//! entries per channel, by a byte budget for the whole connection and by the
//! connection's share of the endpoint's receive budget (the hold cap of `recv.rs`;
//! messages and heap storage are charged by capacity). A channel's state
//! exists only once a message arrives on it (most connections use one or two of the 32).
//! Duplicate filtering happens before this (`recv.rs`).
//!
//! Heap keys use an unwrapped 64-bit position (`read_pos` plus the 24-bit distance from
//! `orderedRead`) instead of 4.081's `base`-relative weight, so they stay ordered across
//! any number of 24-bit wraps. Within one ordering index, sequenced messages come first
//! in sequencing order, then the ordered one. After a sequenced message leaves the heap,
//! `highestSequenced` becomes `si + 1` (4.081 omits the `+ 1`, which lets a repeat of
//! that index through).

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::mem::size_of;

use super::channels::ChannelMap;
use super::recv::{Delivery, RecvStats};
use crate::proto::config::ReliabilityConfig;
use crate::proto::options::{Reliability, ORDERING_CHANNELS};
use crate::proto::wire::seq;

/// Byte budget for out-of-order messages of one connection, unless one split message
/// may be larger (then that size plus this).
pub(crate) const HELD_BYTES: usize = 64 << 20;

/// A whole message on its way to delivery.
#[derive(Debug)]
pub(crate) struct Incoming {
    /// Wire reliability.
    pub(crate) reliability: Reliability,
    /// Ordering channel (ordered and sequenced kinds).
    pub(crate) channel: u8,
    /// Ordering index (ordered and sequenced kinds).
    pub(crate) ordering_index: u32,
    /// Sequencing index (sequenced kinds).
    pub(crate) sequencing_index: u32,
    /// The message.
    pub(crate) data: Vec<u8>,
}

/// A message waiting in a channel's heap.
#[derive(Debug)]
struct Held {
    /// Unwrapped position of its ordering index.
    pos: u64,
    /// 0 sequenced, 1 ordered: sequenced ones go first within an ordering index.
    class: u8,
    /// Sequencing index (0 for ordered).
    si: u32,
    msg: Incoming,
}

impl Held {
    fn key(&self) -> (u64, u8, u32) {
        (self.pos, self.class, self.si)
    }
    /// Bytes charged for its payload (the heap entry is charged with the heap).
    fn cost(&self) -> usize {
        self.msg.data.capacity()
    }
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.key().cmp(&other.key())
    }
}

/// State of one ordering channel.
#[derive(Debug, Default)]
struct Channel {
    /// Next ordering index to deliver (24 bits).
    ordered_read: u32,
    /// `ordered_read` without the wrap.
    read_pos: u64,
    /// Lowest sequencing index still deliverable at `ordered_read`.
    highest_sequenced: u32,
    heap: BinaryHeap<Reverse<Held>>,
}

/// Ordering and sequencing state of one connection.
#[derive(Debug)]
pub(crate) struct Ordering {
    channels: ChannelMap<Channel>,
    max_queue: usize,
    max_held_bytes: usize,
    /// Payload bytes (buffer capacity) of the messages waiting.
    held_bytes: usize,
}

/// Bytes of one heap slot.
const ENTRY: usize = size_of::<Reverse<Held>>();

/// Makes room for one more entry in a full heap: doubles it, but by no more than
/// `room` bytes (at least by one entry).
fn reserve_entry(heap: &mut BinaryHeap<Reverse<Held>>, room: usize) {
    if heap.len() < heap.capacity() {
        return;
    }
    let add = heap.capacity().max(4).min(room / ENTRY).max(1);
    heap.reserve_exact(add);
}

/// Appends a delivery and counts it.
fn deliver(out: &mut VecDeque<Delivery>, stats: &mut RecvStats, msg: Incoming) {
    let kind = msg.reliability.wire();
    let channel = if kind.is_ordered_or_sequenced() {
        msg.channel
    } else {
        0
    };
    stats.messages_delivered += 1;
    out.push_back(Delivery {
        data: msg.data,
        reliability: kind,
        channel,
    });
}

impl Channel {
    /// A sequenced message at `ordered_read`: delivered unless older than one delivered.
    fn sequenced(&mut self, msg: Incoming, out: &mut VecDeque<Delivery>, stats: &mut RecvStats) {
        let si = msg.sequencing_index & seq::MASK;
        if seq::older(si, self.highest_sequenced) {
            stats.stale_sequenced += 1;
        } else {
            self.highest_sequenced = seq::add(si, 1);
            deliver(out, stats, msg);
        }
    }

    /// The ordered message at `ordered_read`: delivers it, then whatever it unblocks.
    fn ordered(
        &mut self,
        msg: Incoming,
        held_bytes: &mut usize,
        out: &mut VecDeque<Delivery>,
        stats: &mut RecvStats,
    ) {
        deliver(out, stats, msg);
        self.advance();
        while let Some(Reverse(top)) = self.heap.peek() {
            if top.pos > self.read_pos {
                break;
            }
            let Some(Reverse(h)) = self.heap.pop() else {
                break;
            };
            *held_bytes = held_bytes.saturating_sub(h.cost());
            if h.pos < self.read_pos {
                // A second ordered message with an index already delivered (only a
                // misbehaving sender does that).
                if h.class == 0 {
                    stats.stale_sequenced += 1;
                } else {
                    stats.stale_ordered += 1;
                }
            } else if h.class == 0 {
                self.sequenced(h.msg, out, stats);
            } else {
                deliver(out, stats, h.msg);
                self.advance();
            }
        }
    }

    fn advance(&mut self) {
        self.ordered_read = seq::add(self.ordered_read, 1);
        self.read_pos += 1;
        self.highest_sequenced = 0;
    }
}

impl Ordering {
    /// Fresh state (every channel expects ordering index 0) with the limits of `cfg`.
    pub(crate) fn new(cfg: &ReliabilityConfig) -> Ordering {
        let max_held_bytes = if cfg.max_split_message_bytes > HELD_BYTES {
            cfg.max_split_message_bytes.saturating_add(HELD_BYTES)
        } else {
            HELD_BYTES
        };
        Ordering {
            channels: ChannelMap::default(),
            max_queue: cfg.max_ordering_queue,
            max_held_bytes,
            held_bytes: 0,
        }
    }

    /// Whether `push` would keep a message of `len` bytes rather than drop it for lack
    /// of room. Messages delivered at once, stale ones and unordered kinds always fit.
    pub(crate) fn has_room(
        &self,
        reliability: Reliability,
        channel: u8,
        oi: u32,
        len: usize,
    ) -> bool {
        if !reliability.wire().is_ordered_or_sequenced() {
            return true;
        }
        if channel >= ORDERING_CHANNELS {
            return true;
        }
        // A channel not in use yet expects ordering index 0 and holds nothing.
        let (read, queued) = self
            .channels
            .get(channel)
            .map_or((0, 0), |ch| (ch.ordered_read, ch.heap.len()));
        if !seq::older(read, oi & seq::MASK) {
            return true;
        }
        queued < self.max_queue && self.held_bytes() + len + ENTRY <= self.max_held_bytes
    }

    /// Whether a message of `len` bytes on `channel` would be held (out of order)
    /// rather than delivered or dropped at once; like `has_room`, changes nothing.
    pub(crate) fn would_hold(&self, reliability: Reliability, channel: u8, oi: u32) -> bool {
        if !reliability.wire().is_ordered_or_sequenced() || channel >= ORDERING_CHANNELS {
            return false;
        }
        let read = self.channels.get(channel).map_or(0, |ch| ch.ordered_read);
        seq::older(read, oi & seq::MASK)
    }

    /// The least `held_bytes` grows by if a message of `len` bytes is held on `channel`.
    pub(crate) fn min_growth(&self, channel: u8, len: usize) -> usize {
        let full = self
            .channels
            .get(channel)
            .map_or(true, |ch| ch.heap.len() == ch.heap.capacity());
        len + if full { ENTRY } else { 0 }
    }

    /// Delivers `msg` into `out` now, holds it until its turn, or drops it (stale, or no
    /// room: see `has_room`). Holding it grows `held_bytes` by at most `room` once
    /// `min_growth` fits in it (a heap that must grow doubles only as far as that).
    pub(crate) fn push(
        &mut self,
        mut msg: Incoming,
        out: &mut VecDeque<Delivery>,
        stats: &mut RecvStats,
        room: usize,
    ) {
        let kind = msg.reliability.wire();
        if !kind.is_ordered_or_sequenced() {
            deliver(out, stats, msg);
            return;
        }
        // The common case first: the ordered message the channel waits for (no room is
        // needed, `has_room` would say yes).
        if !kind.is_sequenced() {
            if let Some(ch) = self.channels.get_mut(msg.channel) {
                if msg.ordering_index & seq::MASK == ch.ordered_read {
                    ch.ordered(msg, &mut self.held_bytes, out, stats);
                    return;
                }
            }
        }
        if !self.has_room(kind, msg.channel, msg.ordering_index, msg.data.len()) {
            stats.ordering_overflow += 1;
            return;
        }
        let Some(ch) = self.channels.get_or_create(msg.channel) else {
            // Frame decoding rejects channels >= 32; this is only a second line.
            stats.bad_frames += 1;
            return;
        };
        let oi = msg.ordering_index & seq::MASK;
        let sequenced = kind.is_sequenced();
        if oi == ch.ordered_read {
            if sequenced {
                ch.sequenced(msg, out, stats);
            } else {
                ch.ordered(msg, &mut self.held_bytes, out, stats);
            }
        } else if seq::older(ch.ordered_read, oi) {
            let si = if sequenced {
                msg.sequencing_index & seq::MASK
            } else {
                0
            };
            // A recycled buffer may be far larger than the message; a held message is
            // charged (and holds memory) for its capacity.
            msg.data.shrink_to_fit();
            let payload = msg.data.capacity();
            reserve_entry(&mut ch.heap, room.saturating_sub(payload));
            let held = Held {
                pos: ch.read_pos + u64::from(seq::distance(ch.ordered_read, oi)),
                class: u8::from(!sequenced),
                si,
                msg,
            };
            self.held_bytes += held.cost();
            ch.heap.push(Reverse(held));
        } else if sequenced {
            stats.stale_sequenced += 1;
        } else {
            stats.stale_ordered += 1;
        }
    }

    /// Test hook (`Receiver::start_numbers_at`): every channel expects `oi` next.
    #[cfg(test)]
    pub(crate) fn start_at(&mut self, oi: u32) {
        for c in 0..ORDERING_CHANNELS {
            if let Some(ch) = self.channels.get_or_create(c) {
                ch.ordered_read = oi & seq::MASK;
            }
        }
    }

    /// Messages waiting on `channel`.
    #[cfg(test)]
    pub(crate) fn queued(&self, channel: u8) -> usize {
        self.channels.get(channel).map_or(0, |c| c.heap.len())
    }

    /// Frees the storage of empty heaps (idle connections).
    pub(crate) fn trim(&mut self) {
        for ch in self.channels.iter_mut() {
            if ch.heap.is_empty() && ch.heap.capacity() > 0 {
                ch.heap = BinaryHeap::new();
            }
        }
    }

    /// Bytes charged for all waiting messages: their buffers and the heaps' storage.
    pub(crate) fn held_bytes(&self) -> usize {
        self.held_bytes
            + self
                .channels
                .iter()
                .map(|ch| ch.heap.capacity() * ENTRY)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct T {
        o: Ordering,
        out: VecDeque<Delivery>,
        stats: RecvStats,
    }

    impl T {
        fn new() -> T {
            T::with(&ReliabilityConfig::default())
        }
        fn with(cfg: &ReliabilityConfig) -> T {
            T {
                o: Ordering::new(cfg),
                out: VecDeque::new(),
                stats: RecvStats::default(),
            }
        }
        fn push(&mut self, r: Reliability, ch: u8, oi: u32, si: u32, tag: u8) {
            let msg = Incoming {
                reliability: r,
                channel: ch,
                ordering_index: oi,
                sequencing_index: si,
                data: vec![tag],
            };
            self.o.push(msg, &mut self.out, &mut self.stats, usize::MAX);
        }
        fn ordered(&mut self, ch: u8, oi: u32, tag: u8) {
            self.push(Reliability::ReliableOrdered, ch, oi, 0, tag);
        }
        fn seq(&mut self, ch: u8, oi: u32, si: u32, tag: u8) {
            self.push(Reliability::ReliableSequenced, ch, oi, si, tag);
        }
        fn take(&mut self) -> Vec<u8> {
            self.out.drain(..).map(|d| d.data[0]).collect()
        }
    }

    #[test]
    fn channel_state_exists_only_for_channels_in_use() {
        let mut t = T::new();
        assert_eq!(t.o.channels.len(), 0);
        t.ordered(7, 1, 71);
        t.ordered(3, 0, 30);
        t.ordered(31, 0, 90);
        t.ordered(7, 0, 70);
        assert_eq!(t.take(), [30, 90, 70, 71]);
        assert_eq!(t.o.channels.len(), 3);
        assert_eq!(t.o.channels.get(7).map(|c| c.ordered_read), Some(2));
        assert_eq!(t.o.channels.get(3).map(|c| c.ordered_read), Some(1));
        assert_eq!(t.o.channels.get(31).map(|c| c.ordered_read), Some(1));
        assert!(t.o.channels.get(4).is_none() && t.o.channels.get(32).is_none());
        // Unordered kinds create nothing.
        t.push(Reliability::Reliable, 9, 0, 0, 1);
        assert_eq!(t.o.channels.len(), 3);
    }

    #[test]
    fn unordered_kinds_go_at_once_on_channel_0() {
        let mut t = T::new();
        t.push(Reliability::Reliable, 5, 9, 0, 1);
        t.push(Reliability::Unreliable, 7, 3, 0, 2);
        let d: Vec<_> = t.out.drain(..).map(|d| (d.data[0], d.channel)).collect();
        assert_eq!(d, [(1, 0), (2, 0)]);
    }

    #[test]
    fn ordered_out_of_order_per_channel() {
        let mut t = T::new();
        t.ordered(0, 2, 12);
        t.ordered(1, 1, 21);
        t.ordered(0, 1, 11);
        assert_eq!(t.take(), b"");
        assert_eq!(t.o.queued(0), 2);
        t.ordered(1, 0, 20);
        assert_eq!(t.take(), [20, 21]);
        t.ordered(0, 0, 10);
        assert_eq!(t.take(), [10, 11, 12]);
        // Only the emptied heaps' storage is left, until `trim`.
        assert_eq!(t.o.held_bytes(), 2 * 4 * ENTRY);
        t.o.trim();
        assert_eq!(t.o.held_bytes(), 0);
        // Old and repeated indexes are dropped.
        t.ordered(0, 1, 99);
        assert_eq!(t.take(), b"");
        assert_eq!(t.stats.stale_ordered, 1);
    }

    #[test]
    fn sequenced_never_goes_backwards() {
        let mut t = T::new();
        t.push(Reliability::UnreliableSequenced, 3, 0, 0, 0);
        t.push(Reliability::UnreliableSequenced, 3, 0, 2, 2);
        t.push(Reliability::UnreliableSequenced, 3, 0, 1, 1);
        t.push(Reliability::UnreliableSequenced, 3, 0, 2, 2);
        t.push(Reliability::UnreliableSequenced, 3, 0, 5, 5);
        assert_eq!(t.take(), [0, 2, 5]);
        assert_eq!(t.stats.stale_sequenced, 2);
    }

    #[test]
    fn sequenced_after_ordered_waits_for_it() {
        let mut t = T::new();
        // Sender: ordered (oi 0), then sequenced si 0, 1 (oi 1), then ordered (oi 1).
        t.seq(0, 1, 1, 31);
        t.seq(0, 1, 0, 30);
        t.seq(0, 1, 0, 30);
        t.ordered(0, 1, 11);
        assert_eq!(t.take(), b"");
        t.ordered(0, 0, 10);
        // Sequenced in order before the next ordered one; the repeated si 0 is dropped.
        assert_eq!(t.take(), [10, 30, 31, 11]);
        assert_eq!(t.stats.stale_sequenced, 1);
        // The ordered one reset the sequence: si 0 at oi 2 is fresh.
        t.seq(0, 2, 0, 40);
        t.seq(0, 1, 7, 99);
        assert_eq!(t.take(), [40]);
    }

    #[test]
    fn sequenced_before_late_ordered_stays_in_order() {
        // docs/protocol.md §7.4 probe: ordering index 0/1 and sequencing indexes 1, 0, 0.
        let mut t = T::new();
        t.ordered(0, 0, 10);
        t.seq(0, 1, 1, 31);
        t.seq(0, 1, 0, 30);
        t.seq(0, 1, 0, 30);
        assert_eq!(t.take(), [10, 31]);
        assert_eq!(t.stats.stale_sequenced, 2);
    }

    #[test]
    fn ordering_index_wraps() {
        let mut t = T::new();
        let start = seq::MASK - 1;
        t.o.channels.get_or_create(2).unwrap().ordered_read = start;
        for (k, oi) in [1u32, seq::MASK, 0, start].iter().enumerate() {
            t.ordered(2, *oi, k as u8);
        }
        assert_eq!(t.take(), [3, 1, 2, 0]);
        // The channel keeps working past the wrap.
        t.seq(2, 2, 0, 50);
        assert_eq!(t.take(), [50]);
    }

    #[test]
    fn queue_cap_per_channel() {
        let cfg = ReliabilityConfig {
            max_ordering_queue: 4,
            ..ReliabilityConfig::default()
        };
        let mut t = T::with(&cfg);
        for oi in 1..10 {
            t.ordered(0, oi, oi as u8);
        }
        assert_eq!(t.o.queued(0), 4);
        assert_eq!(t.stats.ordering_overflow, 5);
        assert!(!t.o.has_room(Reliability::ReliableOrdered, 0, 20, 1));
        // The hole itself always fits, as do other channels.
        assert!(t.o.has_room(Reliability::ReliableOrdered, 0, 0, 1));
        assert!(t.o.has_room(Reliability::ReliableOrdered, 1, 5, 1));
        t.ordered(0, 0, 0);
        assert_eq!(t.take(), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn byte_budget_for_the_connection() {
        let mut t = T::new();
        let big = HELD_BYTES / 4;
        for oi in 1..=5u32 {
            let msg = Incoming {
                reliability: Reliability::ReliableOrdered,
                channel: oi as u8,
                ordering_index: 1,
                sequencing_index: 0,
                data: vec![0; big],
            };
            t.o.push(msg, &mut t.out, &mut t.stats, usize::MAX);
        }
        assert!(t.o.held_bytes() <= HELD_BYTES);
        assert_eq!(t.stats.ordering_overflow, 2);
    }
}
