//! What each sent data datagram carried, for acknowledgements (docs/protocol.md §6.5 sender
//! rules, §9.1 step 4), and the deadlines of unreliable receipts (§7.5).
//!
//! Records sit in datagram-number order in a bounded deque; a record leaves from the
//! front once acknowledged, or when the deque is full (its reliable frames keep their own
//! retransmission timers, so eviction loses nothing but an RTT sample). The message
//! numbers of all records live in one flat deque that grows and shrinks with the records,
//! so recording a datagram allocates nothing in the steady state. ACK and NAK ranges come
//! from the network and may span 2^24 numbers: [`History::clip`] maps them onto the
//! records actually held, merged, so the work per ACK is bounded by the history length,
//! never by the ranges. This file does not own frames or timers.

use std::collections::VecDeque;

use crate::proto::time::Time;
use crate::proto::wire::seq;

/// Size of the datagram-number space.
const NUMBERS: u64 = 1 << 24;

/// One sent data datagram.
#[derive(Copy, Clone, Debug)]
pub(super) struct Record {
    /// When it was written.
    pub(super) sent: Time,
    /// Absolute index of its first message number in the flat deque.
    msg_start: u64,
    /// Reliable frames it carried.
    msg_count: u32,
    /// Absolute index of its first unreliable receipt in [`ReceiptWaits`].
    pub(super) rcpt_start: u64,
    /// Unreliable receipt frames it carried.
    pub(super) rcpt_count: u32,
    /// Carried reliable or receipt frames: its acknowledgement is an RTT sample (§9.2).
    pub(super) timed: bool,
    /// Already acknowledged.
    pub(super) acked: bool,
    /// Already reported missing (a NAK is honoured once per datagram).
    pub(super) naked: bool,
}

/// The datagram history of one connection.
#[derive(Debug)]
pub(super) struct History {
    /// Datagram number of `records[0]`.
    base: u32,
    records: VecDeque<Record>,
    /// Message numbers of the reliable frames of all records, in record order.
    msgs: VecDeque<u32>,
    /// Absolute index of `msgs[0]`.
    msgs_base: u64,
    /// Most records held.
    cap: usize,
}

impl History {
    /// An empty history holding at most `cap` records (at least 1).
    pub(super) fn new(cap: usize) -> History {
        History {
            base: 0,
            records: VecDeque::new(),
            msgs: VecDeque::new(),
            msgs_base: 0,
            cap: cap.max(1),
        }
    }

    /// Records held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// Starts recording a datagram: returns the index its message numbers start at.
    #[inline]
    pub(super) fn begin(&self) -> u64 {
        self.msgs_base + self.msgs.len() as u64
    }

    /// Adds a message number to the datagram being recorded.
    #[inline]
    pub(super) fn push_msg(&mut self, number: u32) {
        self.msgs.push_back(number);
    }

    /// Forgets the message numbers pushed since `begin` returned `start`.
    pub(super) fn abort(&mut self, start: u64) {
        let keep = start.saturating_sub(self.msgs_base);
        self.msgs
            .truncate(usize::try_from(keep).unwrap_or(usize::MAX));
    }

    /// Closes the datagram begun at `start` as datagram `number`, evicting the oldest
    /// record if the history is full.
    pub(super) fn finish(&mut self, number: u32, sent: Time, start: u64, receipts: (u64, u32)) {
        let msg_count = (self.begin() - start) as u32;
        if self.records.len() >= self.cap {
            self.pop_front();
        }
        if self.records.is_empty() {
            self.base = number;
        }
        debug_assert_eq!(seq::add(self.base, self.records.len() as u32), number);
        self.records.push_back(Record {
            sent,
            msg_start: start,
            msg_count,
            rcpt_start: receipts.0,
            rcpt_count: receipts.1,
            timed: msg_count > 0 || receipts.1 > 0,
            acked: false,
            naked: false,
        });
    }

    fn pop_front(&mut self) {
        if let Some(r) = self.records.pop_front() {
            let n = (r.msg_start + u64::from(r.msg_count)).saturating_sub(self.msgs_base);
            let n = usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(self.msgs.len());
            self.msgs.drain(..n);
            self.msgs_base += n as u64;
            self.base = seq::add(self.base, 1);
        }
    }

    /// Drops acknowledged records from the front.
    pub(super) fn pop_acked(&mut self) {
        while self.records.front().is_some_and(|r| r.acked) {
            self.pop_front();
        }
    }

    /// Forgets every record and frees the storage (idle connections, once no frame is
    /// in flight and no receipt waits: what is left would only give RTT samples).
    pub(super) fn clear(&mut self) {
        self.msgs_base += self.msgs.len() as u64;
        self.records = VecDeque::new();
        self.msgs = VecDeque::new();
    }

    /// Datagram number of the record at `offset`.
    #[inline]
    pub(super) fn number_at(&self, offset: usize) -> u32 {
        seq::add(self.base, offset as u32)
    }

    /// The record at `offset` (0 = oldest held).
    #[inline]
    pub(super) fn get_mut(&mut self, offset: usize) -> Option<&mut Record> {
        self.records.get_mut(offset)
    }

    /// Absolute indexes of a record's message numbers.
    #[inline]
    pub(super) fn msg_range(r: &Record) -> std::ops::Range<u64> {
        r.msg_start..r.msg_start + u64::from(r.msg_count)
    }

    /// The message number at absolute index `index`, if still held.
    #[inline]
    pub(super) fn msg(&self, index: u64) -> Option<u32> {
        let i = usize::try_from(index.checked_sub(self.msgs_base)?).ok()?;
        self.msgs.get(i).copied()
    }

    /// Maps inclusive datagram-number ranges onto the offsets of held records: writes
    /// sorted, disjoint, half-open offset intervals to `out`. Ranges with `min > max` or
    /// numbers above 24 bits are ignored. Work: O(ranges · log ranges).
    pub(super) fn clip(&self, ranges: &[(u32, u32)], out: &mut Vec<(usize, usize)>) {
        out.clear();
        let len = self.records.len() as u64;
        if len == 0 {
            return;
        }
        for &(min, max) in ranges {
            if min > max || max > seq::MASK {
                continue;
            }
            // The range as an arc of the number circle, in offsets from `base`.
            let start = u64::from(seq::distance(self.base, min));
            let end = start + u64::from(max - min) + 1;
            if start < len {
                out.push((start as usize, end.min(NUMBERS).min(len) as usize));
            }
            if end > NUMBERS {
                out.push((0, (end - NUMBERS).min(len) as usize));
            }
        }
        if out.len() > 1 {
            out.sort_unstable();
            let mut w = 0;
            for r in 1..out.len() {
                if out[r].0 <= out[w].1 {
                    out[w].1 = out[w].1.max(out[r].1);
                } else {
                    w += 1;
                    out[w] = out[r];
                }
            }
            out.truncate(w + 1);
        }
    }
}

/// Serials of unreliable receipt frames sent, each waiting for its datagram's ACK or its
/// deadline (send time + RTO), whichever comes first (§7.5).
#[derive(Debug, Default)]
pub(super) struct ReceiptWaits {
    /// (deadline, serial); serial 0 = already resolved.
    waits: VecDeque<(Time, u32)>,
    /// Absolute index of `waits[0]`.
    base: u64,
}

impl ReceiptWaits {
    /// Index the next pushed entry gets.
    pub(super) fn next_index(&self) -> u64 {
        self.base + self.waits.len() as u64
    }

    /// Adds a wait. Deadlines are kept non-decreasing (a shrinking RTO delays a report
    /// by at most the difference), so the front is always the earliest.
    pub(super) fn push(&mut self, deadline: Time, serial: u32) {
        let deadline = self.waits.back().map_or(deadline, |b| b.0.max(deadline));
        self.waits.push_back((deadline, serial));
    }

    /// The datagram of entry `index` was acknowledged: its serial, if not yet resolved.
    pub(super) fn take(&mut self, index: u64) -> Option<u32> {
        let i = usize::try_from(index.checked_sub(self.base)?).ok()?;
        let serial = std::mem::take(&mut self.waits.get_mut(i)?.1);
        (serial != 0).then_some(serial)
    }

    /// The next serial whose deadline is at or before `now` (a loss).
    pub(super) fn pop_due(&mut self, now: Time) -> Option<u32> {
        while let Some(&(deadline, serial)) = self.waits.front() {
            if deadline > now {
                break;
            }
            self.waits.pop_front();
            self.base += 1;
            if serial != 0 {
                return Some(serial);
            }
        }
        None
    }

    /// Drops resolved entries from the front.
    pub(super) fn purge(&mut self) {
        while self.waits.front().is_some_and(|w| w.1 == 0) {
            self.waits.pop_front();
            self.base += 1;
        }
    }

    /// No receipt waits.
    pub(super) fn is_empty(&self) -> bool {
        self.waits.is_empty()
    }

    /// Frees the storage if no receipt waits.
    pub(super) fn trim(&mut self) {
        if self.waits.is_empty() {
            self.waits = VecDeque::new();
        }
    }

    /// Deadline of the front entry (resolved entries are purged after each ACK).
    pub(super) fn next_deadline(&self) -> Option<Time> {
        self.waits.front().map(|w| w.0)
    }

    /// Entries held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.waits.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history_with(base: u32, n: usize) -> History {
        let mut h = History::new(64);
        for i in 0..n {
            let start = h.begin();
            h.push_msg(i as u32 * 10);
            h.finish(seq::add(base, i as u32), Time::ZERO, start, (0, 0));
        }
        h
    }

    #[test]
    fn records_and_message_numbers() {
        let mut h = history_with(5, 3);
        assert_eq!(h.len(), 3);
        assert_eq!(h.number_at(2), 7);
        let r = *h.get_mut(1).unwrap();
        assert!(r.timed);
        let msgs: Vec<u32> = History::msg_range(&r).map(|i| h.msg(i).unwrap()).collect();
        assert_eq!(msgs, [10]);
        h.get_mut(1).unwrap().acked = true;
        h.pop_acked();
        assert_eq!(h.len(), 3, "front not acked yet");
        h.get_mut(0).unwrap().acked = true;
        h.pop_acked();
        assert_eq!(h.len(), 1);
        assert_eq!(h.number_at(0), 7);
        let r = *h.get_mut(0).unwrap();
        assert_eq!(h.msg(History::msg_range(&r).start), Some(20));
    }

    #[test]
    fn abort_forgets_pushed_numbers() {
        let mut h = history_with(0, 1);
        let start = h.begin();
        h.push_msg(99);
        h.abort(start);
        assert_eq!(h.begin(), start);
    }

    #[test]
    fn eviction_when_full() {
        let mut h = History::new(4);
        for i in 0..10u32 {
            let start = h.begin();
            h.push_msg(i);
            h.push_msg(i + 100);
            h.finish(i, Time::ZERO, start, (0, 0));
        }
        assert_eq!(h.len(), 4);
        assert_eq!(h.number_at(0), 6);
        let r = *h.get_mut(0).unwrap();
        let msgs: Vec<u32> = History::msg_range(&r).map(|i| h.msg(i).unwrap()).collect();
        assert_eq!(msgs, [6, 106]);
        assert_eq!(h.msgs.len(), 8);
    }

    #[test]
    fn clip_maps_and_merges() {
        let h = history_with(100, 10); // numbers 100..=109
        let mut out = Vec::new();
        h.clip(&[(0, seq::MASK)], &mut out);
        assert_eq!(out, [(0, 10)]);
        h.clip(
            &[(105, 105), (101, 102), (103, 104), (200, 300), (0, 50)],
            &mut out,
        );
        assert_eq!(out, [(1, 6)]);
        h.clip(&[(50, 150)], &mut out);
        assert_eq!(out, [(0, 10)]);
        h.clip(&[(109, 5000), (0, 100)], &mut out);
        assert_eq!(out, [(0, 1), (9, 10)]);
        h.clip(&[(5, 3), (0, seq::MASK + 1)], &mut out);
        assert!(out.is_empty());
        let many = vec![(0, seq::MASK); 1024];
        h.clip(&many, &mut out);
        assert_eq!(out, [(0, 10)]);
    }

    #[test]
    fn clip_across_the_wrap() {
        let h = history_with(seq::MASK - 2, 6); // MASK-2, MASK-1, MASK, 0, 1, 2
        let mut out = Vec::new();
        h.clip(&[(seq::MASK, seq::MASK)], &mut out);
        assert_eq!(out, [(2, 3)]);
        h.clip(&[(0, 1)], &mut out);
        assert_eq!(out, [(3, 5)]);
        h.clip(&[(0, seq::MASK)], &mut out);
        assert_eq!(out, [(0, 6)]);
        h.clip(&[(seq::MASK - 1, seq::MASK), (0, 0)], &mut out);
        assert_eq!(out, [(1, 4)]);
        h.clip(&[(3, seq::MASK - 3)], &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn receipt_waits() {
        let mut w = ReceiptWaits::default();
        let i = w.next_index();
        w.push(Time::from_millis(10), 7);
        w.push(Time::from_millis(5), 8); // kept monotonic: 10 ms
        w.push(Time::from_millis(20), 9);
        assert_eq!(w.take(i + 1), Some(8));
        assert_eq!(w.take(i + 1), None);
        assert_eq!(w.pop_due(Time::from_millis(9)), None);
        assert_eq!(w.pop_due(Time::from_millis(10)), Some(7));
        assert_eq!(w.pop_due(Time::from_millis(10)), None);
        assert_eq!(w.next_deadline(), Some(Time::from_millis(20)));
        assert_eq!(w.take(i), None, "already reported lost");
        assert_eq!(w.take(i + 2), Some(9));
        w.purge();
        assert_eq!(w.len(), 0);
        assert_eq!(w.next_deadline(), None);
    }
}
