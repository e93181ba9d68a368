//! Frames waiting for their first transmission: the four priority levels with RakNet's
//! weighted interleaving (docs/protocol.md §9.6), the unreliable timeout (§9.5), and the
//! payload buffers frames carry.
//!
//! Instead of 4.081's single weight heap this keeps one FIFO per level and a virtual
//! clock: a level that becomes non-empty starts at `clock + offset(p)`, each frame taken
//! from it advances its next weight by `step(p)`, and the non-empty level with the lowest
//! weight goes next. The shares under backlog are RakNet's (1/5 : 1/14 : 1/35 for HIGH,
//! MEDIUM, LOW), with O(1) work per frame; IMMEDIATE always goes first. Unreliable frames
//! that expire are removed in place (tombstones), found in O(1) through per-level sequence
//! numbers. This file does not assign indexes, message numbers or datagrams.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::proto::options::{Priority, Reliability};
use crate::proto::time::Time;
use crate::proto::wire::frame::{header_len, FrameHeader, SplitHeader, MAX_FRAME_HEADER};

/// Weight offset of a level joining the interleaving (`p * 2^p + p`, §9.6).
const OFFSET: [u64; 4] = [0, 3, 10, 27];
/// Weight added per frame taken from a level (`(p + 1) * 2^p + p`, §9.6).
const STEP: [u64; 4] = [1, 5, 14, 35];

/// The bytes of one frame. Unsplit messages own a (pooled) buffer; the fragments of a
/// split message share the message's one buffer.
#[derive(Debug)]
pub(super) enum Payload {
    /// A whole message.
    Owned(Vec<u8>),
    /// `buf[start..start + len]`, one fragment of a split message.
    Shared {
        /// The whole message.
        buf: Arc<[u8]>,
        /// First byte of the fragment.
        start: u32,
        /// Fragment length.
        len: u32,
    },
}

impl Payload {
    /// Number of bytes (without touching them: counters use it on every frame).
    #[inline]
    pub(super) fn len(&self) -> usize {
        match self {
            Payload::Owned(v) => v.len(),
            Payload::Shared { len, .. } => *len as usize,
        }
    }

    /// The bytes.
    #[inline]
    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            Payload::Owned(v) => v,
            Payload::Shared { buf, start, len } => {
                let start = *start as usize;
                buf.get(start..start + *len as usize).unwrap_or_default()
            }
        }
    }
}

/// One frame as queued: everything but the reliable message number, which is assigned at
/// first transmission (§14 pitfall 17).
#[derive(Debug)]
pub(super) struct OutFrame {
    /// The payload.
    pub(super) payload: Payload,
    /// Split fields of a fragment.
    pub(super) split: Option<SplitHeader>,
    /// Ordering index (ordered and sequenced kinds).
    pub(super) ordering_index: u32,
    /// Sequencing index (sequenced kinds).
    pub(super) sequencing_index: u32,
    /// Receipt serial reported when this frame resolves (0 = none). For a split message
    /// only the last fragment carries it (§7.5).
    pub(super) receipt: u32,
    /// Reliability as the application asked for it (after the split upgrade); the wire
    /// kind is derived when encoding.
    pub(super) reliability: Reliability,
    /// Ordering channel.
    pub(super) channel: u8,
}

impl OutFrame {
    /// Bytes the frame occupies in a datagram.
    #[inline]
    pub(super) fn wire_len(&self) -> usize {
        header_len(self.reliability, self.split.is_some()) + self.payload.len()
    }

    /// Appends the encoded frame to `buf`: the header is assembled on the stack, then
    /// header and payload are appended with one copy each.
    #[inline]
    pub(super) fn encode(&self, message_number: u32, buf: &mut Vec<u8>) {
        let payload = self.payload.bytes();
        debug_assert!(!payload.is_empty() && payload.len() * 8 <= usize::from(u16::MAX));
        let header = FrameHeader {
            reliability: self.reliability.wire(),
            bit_len: u16::try_from(payload.len() * 8).unwrap_or(u16::MAX),
            message_number,
            sequencing_index: self.sequencing_index,
            ordering_index: self.ordering_index,
            channel: self.channel,
            split: self.split,
        };
        let mut h = [0u8; MAX_FRAME_HEADER];
        let n = header.encode_into(&mut h);
        buf.reserve(n + payload.len());
        buf.extend_from_slice(&h[..n]);
        buf.extend_from_slice(payload);
    }
}

/// Smallest pooled buffer capacity.
const POOL_MIN: usize = 64;
/// Pooled capacities: 64, 128, …, 2048 (covers every unsplit message at MTU 1492).
const POOL_CLASSES: usize = 6;
/// Bytes of idle buffers kept per class. A flood of small messages keeps thousands in
/// the queue and in flight, and that backlog swings by more than 256 KiB (4,096 buffers
/// of 64 bytes) between ACKs: with a 256 KiB cap a third of the messages of the T1
/// benchmark missed the pool (a malloc, and a free later). The pool only ever holds
/// buffers the connection had allocated at once anyway, and `trim` frees them when it
/// goes idle.
const POOL_BYTES_PER_CLASS: usize = 1024 * 1024;

/// Recycles the buffers of unsplit messages so the steady state allocates nothing per
/// message. Bounded: at most `POOL_BYTES_PER_CLASS` idle bytes per size class. Only
/// buffers it made (capacity exactly a class size) come back, so one-off buffers such as
/// control messages' are freed; the lists exist only once something was recycled, and
/// `trim` drops them, so an idle connection holds no pooled memory.
#[derive(Debug, Default)]
pub(super) struct BufPool {
    free: Option<Box<[Vec<Vec<u8>>; POOL_CLASSES]>>,
}

/// The size class whose capacity `POOL_MIN << class` is the smallest that holds `len`
/// bytes, if one does.
#[inline]
fn class_for_len(len: usize) -> Option<usize> {
    // ceil(log2(len)) for len > 1, from the bit length of len - 1.
    let bits = (usize::BITS - len.saturating_sub(1).leading_zeros()) as usize;
    let class = bits.saturating_sub(POOL_MIN.trailing_zeros() as usize);
    (class < POOL_CLASSES).then_some(class)
}

/// The size class of a buffer the pool made (capacity exactly a class size).
#[inline]
fn class_of_capacity(cap: usize) -> Option<usize> {
    let class = (cap.trailing_zeros() as usize).checked_sub(POOL_MIN.trailing_zeros() as usize)?;
    (cap.is_power_of_two() && class < POOL_CLASSES).then_some(class)
}

impl BufPool {
    /// An owned copy of `data`.
    #[inline]
    pub(super) fn copy_of(&mut self, data: &[u8]) -> Vec<u8> {
        let Some(class) = class_for_len(data.len()) else {
            return data.to_vec();
        };
        let mut v = self
            .free
            .as_mut()
            .and_then(|f| f[class].pop())
            .unwrap_or_else(|| Vec::with_capacity(POOL_MIN << class));
        v.clear();
        v.extend_from_slice(data);
        v
    }

    /// Takes back a payload's buffer (shared buffers are simply released).
    #[inline]
    pub(super) fn recycle(&mut self, payload: Payload) {
        let Payload::Owned(v) = payload else {
            return;
        };
        let Some(class) = class_of_capacity(v.capacity()) else {
            return;
        };
        let list = &mut self.free.get_or_insert_with(Box::default)[class];
        if list.len() * (POOL_MIN << class) < POOL_BYTES_PER_CLASS {
            list.push(v);
        }
    }

    /// Frees every pooled buffer (the connection went idle).
    pub(super) fn trim(&mut self) {
        self.free = None;
    }

    /// Whether any storage is held.
    #[cfg(test)]
    pub(super) fn is_allocated(&self) -> bool {
        self.free.is_some()
    }
}

/// One priority level.
#[derive(Debug, Default)]
struct Level {
    /// Frames in FIFO order; `None` is an expired frame not yet reached. The front is
    /// never `None`.
    frames: VecDeque<Option<OutFrame>>,
    /// Sequence number of `frames[0]`.
    front_seq: u64,
    /// Weight of the next frame taken from this level.
    next_weight: u64,
    /// Live frames.
    live: usize,
    /// Payload bytes of live frames.
    bytes: usize,
}

impl Level {
    /// Drops expired frames at the front, keeping the invariant that the front is live.
    #[inline]
    fn tidy(&mut self) {
        while matches!(self.frames.front(), Some(None)) {
            self.frames.pop_front();
            self.front_seq += 1;
        }
    }
}

/// An unreliable frame's expiry.
#[derive(Copy, Clone, Debug)]
struct Expiry {
    at: Time,
    level: u8,
    seq: u64,
}

/// The send queue of one connection.
#[derive(Debug)]
pub(super) struct SendQueue {
    levels: [Level; 4],
    /// Weight of the last frame taken (the virtual clock of §9.6).
    clock: u64,
    /// Unreliable frames with a deadline, in queueing order (deadlines non-decreasing as
    /// long as `now` is). Entries of frames already sent are skipped lazily.
    expiry: VecDeque<Expiry>,
    live: usize,
    bytes: usize,
}

impl SendQueue {
    /// An empty queue.
    pub(super) fn new() -> SendQueue {
        let mut q = SendQueue {
            levels: Default::default(),
            clock: 0,
            expiry: VecDeque::new(),
            live: 0,
            bytes: 0,
        };
        q.reset_weights();
        q
    }

    fn reset_weights(&mut self) {
        self.clock = 0;
        for (level, offset) in self.levels.iter_mut().zip(OFFSET) {
            level.next_weight = offset;
        }
    }

    /// Queued frames (expired ones excluded).
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// Payload bytes of queued frames.
    #[inline]
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Queued frames and payload bytes of one priority.
    pub(super) fn level_stats(&self, p: Priority) -> (usize, usize) {
        let l = &self.levels[p as usize];
        (l.live, l.bytes)
    }

    /// Appends a frame at priority `p`; it is dropped unsent at `expires`, if given.
    #[inline]
    pub(super) fn push(&mut self, p: Priority, frame: OutFrame, expires: Option<Time>) {
        let idx = p as usize;
        let clock = self.clock;
        let l = &mut self.levels[idx];
        if l.frames.is_empty() {
            l.next_weight = l.next_weight.max(clock + OFFSET[idx]);
        }
        let seq = l.front_seq + l.frames.len() as u64;
        let len = frame.payload.len();
        l.frames.push_back(Some(frame));
        l.live += 1;
        l.bytes += len;
        self.live += 1;
        self.bytes += len;
        if let Some(at) = expires {
            // Level indexes are 0..4.
            let level = idx as u8;
            self.expiry.push_back(Expiry { at, level, seq });
        }
    }

    /// The level whose front frame goes next.
    #[inline]
    fn next_level(&self) -> Option<usize> {
        if !self.levels[0].frames.is_empty() {
            return Some(0);
        }
        (1..4)
            .filter(|&i| !self.levels[i].frames.is_empty())
            .min_by_key(|&i| (self.levels[i].next_weight, i))
    }

    /// The frame that goes next, and its level.
    #[inline]
    pub(super) fn peek(&self) -> Option<(usize, &OutFrame)> {
        let level = self.next_level()?;
        let frame = self.levels[level].frames.front()?.as_ref()?;
        Some((level, frame))
    }

    /// Removes the front frame of `level` (as returned by `peek`).
    #[inline]
    pub(super) fn pop(&mut self, level: usize) -> Option<OutFrame> {
        let l = self.levels.get_mut(level)?;
        let slot = l.frames.pop_front()?;
        l.front_seq += 1;
        let Some(frame) = slot else {
            // Unreachable: the front of a level is never expired (`tidy`).
            l.tidy();
            return None;
        };
        if level > 0 {
            self.clock = l.next_weight;
            l.next_weight += STEP[level];
        }
        l.tidy();
        self.account_removed(level, &frame);
        Some(frame)
    }

    #[inline]
    fn account_removed(&mut self, level: usize, frame: &OutFrame) {
        let len = frame.payload.len();
        let l = &mut self.levels[level];
        l.live -= 1;
        l.bytes -= len;
        self.live -= 1;
        self.bytes -= len;
        // No live frame left means every level is empty: a level's front is never an
        // expired frame (`tidy`).
        if self.live == 0 {
            debug_assert!(self.levels.iter().all(|l| l.frames.is_empty()));
            self.reset_weights();
        }
    }

    /// Removes and returns the next unreliable frame whose deadline is at or before `now`.
    pub(super) fn pop_expired(&mut self, now: Time) -> Option<OutFrame> {
        while let Some(e) = self.expiry.front().copied() {
            if e.at > now {
                return None;
            }
            self.expiry.pop_front();
            let level = usize::from(e.level);
            let l = &mut self.levels[level];
            let Some(offset) = e.seq.checked_sub(l.front_seq) else {
                continue; // already sent
            };
            let Some(frame) = usize::try_from(offset)
                .ok()
                .and_then(|i| l.frames.get_mut(i))
                .and_then(Option::take)
            else {
                continue;
            };
            l.tidy();
            self.account_removed(level, &frame);
            return Some(frame);
        }
        None
    }

    /// Drops expiry entries of frames that already left the queue, so `next_expiry`
    /// reports a real deadline.
    pub(super) fn tidy_expiry(&mut self) {
        while let Some(e) = self.expiry.front() {
            let l = &self.levels[usize::from(e.level)];
            let queued = e
                .seq
                .checked_sub(l.front_seq)
                .and_then(|o| usize::try_from(o).ok())
                .and_then(|i| l.frames.get(i))
                .is_some_and(Option::is_some);
            if queued {
                return;
            }
            self.expiry.pop_front();
        }
    }

    /// Frees the storage of an empty queue (idle connections).
    pub(super) fn trim(&mut self) {
        if self.live != 0 {
            return;
        }
        self.tidy_expiry();
        for l in &mut self.levels {
            if l.frames.is_empty() {
                l.frames = VecDeque::new();
            }
        }
        if self.expiry.is_empty() {
            self.expiry = VecDeque::new();
        }
    }

    /// Earliest unreliable expiry (possibly of a frame already sent, if `tidy_expiry`
    /// has not run since).
    pub(super) fn next_expiry(&self) -> Option<Time> {
        self.expiry.front().map(|e| e.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(tag: u8) -> OutFrame {
        OutFrame {
            payload: Payload::Owned(vec![tag]),
            split: None,
            ordering_index: 0,
            sequencing_index: 0,
            receipt: 0,
            reliability: Reliability::Unreliable,
            channel: 0,
        }
    }

    fn tag(f: &OutFrame) -> u8 {
        f.payload.bytes()[0]
    }

    fn drain(q: &mut SendQueue) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some((level, _)) = q.peek() {
            out.push(tag(&q.pop(level).unwrap()));
        }
        out
    }

    #[test]
    fn immediate_first_then_weighted_shares() {
        let mut q = SendQueue::new();
        for _ in 0..500 {
            q.push(Priority::Low, frame(3), None);
            q.push(Priority::Medium, frame(2), None);
            q.push(Priority::High, frame(1), None);
        }
        q.push(Priority::Immediate, frame(0), None);
        assert_eq!(q.len(), 1501);
        let order = drain(&mut q);
        assert_eq!(order[0], 0);
        let first = &order[1..271];
        let count = |t| first.iter().filter(|&&x| x == t).count() as f64;
        // Shares 1/5 : 1/14 : 1/35 normalised: 0.667, 0.238, 0.095 (of 270 frames).
        let total = 1.0 / 5.0 + 1.0 / 14.0 + 1.0 / 35.0;
        for (t, s) in [(1, 5.0), (2, 14.0), (3, 35.0)] {
            let want = 270.0 * (1.0 / s) / total;
            assert!(
                (count(t) - want).abs() <= 3.0,
                "level {t}: {} vs {want}",
                count(t)
            );
        }
        assert_eq!(q.len(), 0);
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn fifo_within_a_level() {
        let mut q = SendQueue::new();
        for t in 0..10 {
            q.push(Priority::Medium, frame(t), None);
        }
        assert_eq!(drain(&mut q), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_late_low_frame_does_not_wait_for_the_whole_high_backlog() {
        let mut q = SendQueue::new();
        for _ in 0..100 {
            q.push(Priority::High, frame(1), None);
        }
        for _ in 0..10 {
            let (l, _) = q.peek().unwrap();
            q.pop(l);
        }
        q.push(Priority::Low, frame(3), None);
        let order = drain(&mut q);
        let pos = order.iter().position(|&t| t == 3).unwrap();
        assert!(pos <= 6, "{pos}");
    }

    #[test]
    fn expiry_removes_frames_in_place() {
        let mut q = SendQueue::new();
        let t = Time::from_millis(10);
        q.push(Priority::High, frame(1), Some(t));
        q.push(Priority::High, frame(2), None);
        q.push(Priority::High, frame(3), Some(t));
        q.push(Priority::Low, frame(4), Some(Time::from_millis(20)));
        assert_eq!(q.next_expiry(), Some(t));
        assert!(q.pop_expired(Time::from_millis(9)).is_none());
        let (l, f) = q.peek().unwrap();
        assert_eq!(tag(f), 1);
        let first = q.pop(l).unwrap();
        assert_eq!(tag(&first), 1);
        // Frame 1 was sent: only frame 3 expires at t.
        let expired: Vec<u8> = std::iter::from_fn(|| q.pop_expired(t))
            .map(|f| tag(&f))
            .collect();
        assert_eq!(expired, [3]);
        assert_eq!(q.len(), 2);
        q.tidy_expiry();
        assert_eq!(q.next_expiry(), Some(Time::from_millis(20)));
        assert_eq!(drain(&mut q), [2, 4]);
        q.tidy_expiry();
        assert_eq!(q.next_expiry(), None);
    }

    #[test]
    fn pool_reuses_buffers() {
        let mut pool = BufPool::default();
        let v = pool.copy_of(&[7; 100]);
        assert_eq!(v.capacity(), 128);
        let ptr = v.as_ptr();
        pool.recycle(Payload::Owned(v));
        let w = pool.copy_of(&[1; 70]);
        assert_eq!(w.as_ptr(), ptr);
        assert_eq!(w, [1; 70]);
        let big = pool.copy_of(&[0; 5000]);
        assert_eq!(big.len(), 5000);
        pool.recycle(Payload::Owned(big)); // too large to pool: dropped
        pool.recycle(Payload::Owned(vec![0; 9])); // not made by the pool: dropped
        let pooled = pool.free.as_ref().unwrap();
        assert_eq!(pooled.iter().map(Vec::len).collect::<Vec<_>>(), [0; 6]);
        pool.recycle(Payload::Owned(w));
        pool.trim();
        assert!(pool.free.is_none());
    }

    #[test]
    fn size_classes() {
        for len in 0..=5000 {
            let want = (0..POOL_CLASSES).find(|&c| POOL_MIN << c >= len);
            assert_eq!(class_for_len(len), want, "{len}");
        }
        for cap in 0..=5000 {
            let want = (0..POOL_CLASSES).find(|&c| cap == POOL_MIN << c);
            assert_eq!(class_of_capacity(cap), want, "{cap}");
        }
    }

    #[test]
    fn shared_payload_ranges() {
        let buf: Arc<[u8]> = Arc::from(&[1u8, 2, 3, 4, 5][..]);
        let p = Payload::Shared {
            buf,
            start: 3,
            len: 2,
        };
        assert_eq!(p.bytes(), [4, 5]);
        assert_eq!(p.len(), 2);
    }
}
