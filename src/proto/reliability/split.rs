//! Split-message reassembly by index with hard limits (docs/protocol.md §8.2–8.3, §8.6).
//!
//! Owns the incomplete split messages of one connection. Fragments are placed by index,
//! never by arrival order (4.081 HEAD corrupts out-of-order fragments, §8.3). Memory grows
//! with the bytes actually received, never with the fragment count a peer announces: a
//! partial message costs its received bytes, 12 bytes per fragment held and one bit per
//! index up to the highest index seen. For the endpoint's receive budget, though, a
//! partial message is charged from its first fragment for all it can allocate before it
//! completes (`reservation`), so one that has started never waits for room. Limits:
//! `max_split_count` fragments, `max_split_message_bytes` bytes, `max_concurrent_splits`
//! messages at once, and [`SPLIT_TIMEOUT`] without a new fragment. Duplicate detection by message number and
//! ordering of the completed message are not done here (`recv.rs`, `ordering.rs`).

use std::collections::HashMap;
use std::mem::size_of;
use std::time::Duration;

use crate::proto::config::ReliabilityConfig;
use crate::proto::options::Reliability;
use crate::proto::time::Time;
use crate::proto::wire::frame::SplitHeader;
use crate::proto::wire::id;

/// An incomplete split message is dropped after this long without a new fragment.
/// Longer than the connection timeout (10 s by default), so a live sender always
/// completes a message before this fires; it only reclaims memory from junk.
pub(crate) const SPLIT_TIMEOUT: Duration = Duration::from_secs(30);

/// What every fragment of a message shares; taken from the first fragment to arrive.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct MessageInfo {
    /// Wire reliability.
    pub(crate) reliability: Reliability,
    /// Ordering channel.
    pub(crate) channel: u8,
    /// Ordering index (ordered and sequenced kinds).
    pub(crate) ordering_index: u32,
    /// Sequencing index (sequenced kinds).
    pub(crate) sequencing_index: u32,
}

/// What would happen to a fragment, decided without changing anything.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It can be stored. `completes`: it is the last missing fragment, and the message
    /// will then be `total` bytes long.
    Accept {
        /// The message is complete once this fragment is stored.
        completes: bool,
        /// Bytes of the message once this fragment is stored.
        total: usize,
    },
    /// That index is already held (unreliable split repeated): ignore it.
    Duplicate,
    /// A new split id while `max_concurrent_splits` are in progress: try again later.
    Busy,
    /// Breaks a limit or contradicts earlier fragments: drop it. `discard`: the whole
    /// partial message can never complete and is dropped too.
    Reject {
        /// Drop the partial message this fragment belongs to.
        discard: bool,
    },
}

/// The result of offering a fragment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// Stored; the message is still incomplete.
    Pending,
    /// Stored; the message is incomplete and an `ID_DOWNLOAD_PROGRESS` notice (§8.6) is due.
    Progress(Vec<u8>),
    /// The message is complete: its bytes in index order.
    Complete(Vec<u8>),
    /// Not stored (see the verdict).
    Refused(Verdict),
}

/// Where one held fragment sits in `Partial::data`.
#[derive(Copy, Clone, Debug)]
struct Piece {
    index: u32,
    offset: u32,
    len: u32,
}

/// One message being reassembled.
#[derive(Debug)]
struct Partial {
    count: u32,
    info: MessageInfo,
    /// Arrival of the latest fragment (expiry runs from here).
    last: Time,
    /// Fragment bytes in arrival order.
    data: Vec<u8>,
    pieces: Vec<Piece>,
    /// One bit per index, grown up to the highest index seen.
    held: Vec<u64>,
    /// Largest fragment seen (bounds buffer growth to about `count * largest`).
    largest: usize,
    /// Every fragment so far arrived as 0, 1, 2, …: `data` is already the message.
    in_order: bool,
    /// The assembler's `max_bytes` (bounds the reservation).
    max_bytes: usize,
}

/// What a message of `count` fragments of at most `largest` bytes can allocate before it
/// completes: its bytes (capped by `max_bytes`, past which it is refused), its fragment
/// table and its index bitmap. Charged in full from the first fragment on, so a message
/// that has started can always finish within the receive budget: partial messages
/// that each wait for room held by the others would wait forever (and then expire,
/// losing fragments already acknowledged).
fn reservation(count: u32, largest: usize, max_bytes: usize) -> usize {
    let count = count as usize;
    count.saturating_mul(largest).min(max_bytes)
        + count * size_of::<Piece>()
        + count.div_ceil(64) * size_of::<u64>()
}

impl Partial {
    fn has(&self, index: u32) -> bool {
        let word = (index / 64) as usize;
        self.held
            .get(word)
            .is_some_and(|w| w >> (index % 64) & 1 == 1)
    }

    /// Bytes of its three buffers (what it has allocated).
    fn allocated(&self) -> usize {
        self.data.capacity()
            + self.pieces.capacity() * size_of::<Piece>()
            + self.held.capacity() * size_of::<u64>()
    }

    /// Bytes this partial is charged for: all it can allocate before it completes,
    /// reserved when it starts (see `reservation`), or what it has allocated if more.
    fn charge(&self) -> usize {
        reservation(self.count, self.largest, self.max_bytes).max(self.allocated())
    }

    /// Stores fragment `index`. Buffers grow by doubling, never past what the complete
    /// message needs (so they stay within the reservation).
    fn add(&mut self, index: u32, payload: &[u8]) {
        let word = (index / 64) as usize;
        if self.held.len() <= word {
            // Exact: the bitmap grows to the highest index seen, never beyond.
            self.held.reserve_exact(word + 1 - self.held.len());
            self.held.resize(word + 1, 0);
        }
        if let Some(w) = self.held.get_mut(word) {
            *w |= 1 << (index % 64);
        }
        if self.in_order && index as usize != self.pieces.len() {
            self.in_order = false;
        }
        self.largest = self.largest.max(payload.len());
        if self.pieces.len() == self.pieces.capacity() {
            // Index checks keep the pieces below `count`.
            let have = self.pieces.capacity();
            let target = (have * 2).max(4).min(self.count as usize).max(have + 1);
            self.pieces.reserve_exact(target - self.pieces.len());
        }
        let need = self.data.len() + payload.len();
        if need > self.data.capacity() {
            // Double as usual, but never past what the message can still become, so an
            // in-order message ends with at most one fragment of slack.
            let ceiling = (self.count as usize)
                .saturating_mul(self.largest)
                .min(self.max_bytes)
                .max(need);
            let target = self.data.capacity().saturating_mul(2).clamp(need, ceiling);
            self.data.reserve_exact(target - self.data.len());
        }
        // Offsets and lengths fit in u32: every partial is capped by `max_bytes`,
        // checked (and clamped to u32) before anything is stored.
        self.pieces.push(Piece {
            index,
            offset: self.data.len() as u32,
            len: payload.len() as u32,
        });
        self.data.extend_from_slice(payload);
    }

    fn piece_bytes(&self, p: &Piece) -> &[u8] {
        let start = p.offset as usize;
        self.data.get(start..start + p.len as usize).unwrap_or(&[])
    }

    /// The whole message in index order.
    fn assemble(mut self) -> Vec<u8> {
        if self.in_order {
            return self.data;
        }
        self.pieces.sort_unstable_by_key(|p| p.index);
        let mut out = Vec::with_capacity(self.data.len());
        for p in &self.pieces {
            out.extend_from_slice(self.piece_bytes(p));
        }
        out
    }

    /// `ID_DOWNLOAD_PROGRESS`: id, fragments held, count, length of fragment 0 (integers
    /// in host byte order, as 4.081 writes them), fragment 0.
    fn progress(&self) -> Option<Vec<u8>> {
        let first = self.pieces.iter().find(|p| p.index == 0)?;
        let bytes = self.piece_bytes(first);
        let mut out = Vec::with_capacity(13 + bytes.len());
        out.push(id::DOWNLOAD_PROGRESS);
        out.extend_from_slice(&(self.pieces.len() as u32).to_ne_bytes());
        out.extend_from_slice(&self.count.to_ne_bytes());
        out.extend_from_slice(&first.len.to_ne_bytes());
        out.extend_from_slice(bytes);
        Some(out)
    }
}

/// The incomplete split messages of one connection.
#[derive(Debug)]
pub(crate) struct SplitAssembler {
    partials: HashMap<u16, Partial>,
    max_count: u32,
    max_bytes: usize,
    max_concurrent: usize,
    progress_interval: u32,
    /// No partial expires before this (a lower bound; exact after `expire`).
    next_expiry: Option<Time>,
}

impl SplitAssembler {
    /// An empty assembler with the limits of `cfg`.
    pub(crate) fn new(cfg: &ReliabilityConfig) -> SplitAssembler {
        SplitAssembler {
            partials: HashMap::new(),
            max_count: cfg.max_split_count,
            // Offsets are stored as u32.
            max_bytes: cfg.max_split_message_bytes.min(u32::MAX as usize),
            max_concurrent: cfg.max_concurrent_splits,
            progress_interval: cfg.split_progress_interval,
            next_expiry: None,
        }
    }

    /// Messages being reassembled.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.partials.len()
    }

    /// Bytes charged for incomplete messages: what each can allocate before it
    /// completes (`reservation`), reserved from its first fragment on.
    pub(crate) fn held_bytes(&self) -> usize {
        self.partials.values().map(Partial::charge).sum()
    }

    /// Bytes incomplete messages have actually allocated (at most `held_bytes`).
    #[cfg(test)]
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.partials.values().map(Partial::allocated).sum()
    }

    /// Bytes of charge the partial message `id` would give back if it ended now.
    pub(crate) fn charge_of(&self, id: u16) -> usize {
        self.partials.get(&id).map_or(0, Partial::charge)
    }

    /// How much `held_bytes` grows if a fragment that `classify` accepts (and that does
    /// not complete its message) is stored: a new message's whole reservation; for one
    /// in progress, nothing unless the fragment is larger than any before.
    pub(crate) fn growth(&self, sh: &SplitHeader, len: usize) -> usize {
        match self.partials.get(&sh.id) {
            Some(p) => {
                reservation(p.count, p.largest.max(len), self.max_bytes).saturating_sub(p.charge())
            }
            None => reservation(sh.count, len, self.max_bytes),
        }
    }

    /// What `insert` would do with a fragment of `len` bytes; changes nothing.
    pub(crate) fn classify(&self, sh: &SplitHeader, len: usize) -> Verdict {
        if sh.count == 0 || sh.index >= sh.count {
            return Verdict::Reject { discard: false };
        }
        match self.partials.get(&sh.id) {
            Some(p) => {
                if sh.count != p.count {
                    Verdict::Reject { discard: false }
                } else if p.has(sh.index) {
                    Verdict::Duplicate
                } else if p.data.len() + len > self.max_bytes {
                    Verdict::Reject { discard: true }
                } else {
                    Verdict::Accept {
                        completes: p.pieces.len() + 1 == p.count as usize,
                        total: p.data.len() + len,
                    }
                }
            }
            None => {
                // Every fragment carries at least one byte, so a count above the byte
                // cap can never complete either.
                if sh.count > self.max_count
                    || sh.count as usize > self.max_bytes
                    || len > self.max_bytes
                {
                    Verdict::Reject { discard: false }
                } else if sh.count == 1 {
                    Verdict::Accept {
                        completes: true,
                        total: len,
                    }
                } else if self.partials.len() >= self.max_concurrent {
                    Verdict::Busy
                } else {
                    Verdict::Accept {
                        completes: false,
                        total: len,
                    }
                }
            }
        }
    }

    /// Offers one fragment received at `now`. `info` is used if it starts a message.
    pub(crate) fn insert(
        &mut self,
        now: Time,
        sh: &SplitHeader,
        info: MessageInfo,
        payload: &[u8],
    ) -> Inserted {
        let completes = match self.classify(sh, payload.len()) {
            Verdict::Accept { completes, .. } => completes,
            v => {
                if v == (Verdict::Reject { discard: true }) {
                    self.partials.remove(&sh.id);
                }
                return Inserted::Refused(v);
            }
        };
        if completes && sh.count == 1 {
            return Inserted::Complete(payload.to_vec());
        }
        let max_bytes = self.max_bytes;
        let p = self.partials.entry(sh.id).or_insert_with(|| Partial {
            count: sh.count,
            info,
            last: now,
            data: Vec::new(),
            pieces: Vec::new(),
            held: Vec::new(),
            largest: 0,
            in_order: true,
            max_bytes,
        });
        p.add(sh.index, payload);
        p.last = now;
        if completes {
            return match self.partials.remove(&sh.id) {
                Some(p) => Inserted::Complete(p.assemble()),
                None => Inserted::Pending,
            };
        }
        let expiry = now + SPLIT_TIMEOUT;
        self.next_expiry = Some(self.next_expiry.map_or(expiry, |t| t.min(expiry)));
        let held = p.pieces.len() as u32;
        if self.progress_interval > 0 && held % self.progress_interval == 0 {
            if let Some(notice) = p.progress() {
                return Inserted::Progress(notice);
            }
        }
        Inserted::Pending
    }

    /// The shared header of the message split id `id` (while it is incomplete).
    pub(crate) fn info(&self, id: u16) -> Option<MessageInfo> {
        self.partials.get(&id).map(|p| p.info)
    }

    /// Drops the partial message `id`, if any.
    pub(crate) fn discard(&mut self, id: u16) {
        self.partials.remove(&id);
    }

    /// Earliest time at which `expire` may drop something.
    pub(crate) fn next_expiry(&self) -> Option<Time> {
        if self.partials.is_empty() {
            None
        } else {
            self.next_expiry
        }
    }

    /// Frees the table's storage when no message is in progress (idle connections).
    pub(crate) fn trim(&mut self) {
        if self.partials.is_empty() && self.partials.capacity() > 0 {
            self.partials = HashMap::new();
        }
    }

    /// Drops messages without a new fragment for `SPLIT_TIMEOUT`; returns how many.
    pub(crate) fn expire(&mut self, now: Time) -> usize {
        if self.next_expiry.map_or(true, |t| now < t) {
            return 0;
        }
        let before = self.partials.len();
        self.partials.retain(|_, p| now < p.last + SPLIT_TIMEOUT);
        self.next_expiry = self.partials.values().map(|p| p.last + SPLIT_TIMEOUT).min();
        before - self.partials.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> MessageInfo {
        MessageInfo {
            reliability: Reliability::ReliableOrdered,
            channel: 0,
            ordering_index: 0,
            sequencing_index: 0,
        }
    }

    fn sh(id: u16, count: u32, index: u32) -> SplitHeader {
        SplitHeader { count, id, index }
    }

    fn asm() -> SplitAssembler {
        SplitAssembler::new(&ReliabilityConfig::default())
    }

    #[test]
    fn reassembles_by_index_in_any_order() {
        let parts: [&[u8]; 4] = [b"aaaa", b"bbbb", b"cccc", b"dd"];
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]] {
            let mut a = asm();
            let mut out = None;
            for (k, &i) in order.iter().enumerate() {
                let r = a.insert(Time::ZERO, &sh(7, 4, i), info(), parts[i as usize]);
                if k < 3 {
                    assert_eq!(r, Inserted::Pending);
                } else {
                    out = Some(r);
                }
            }
            assert_eq!(out, Some(Inserted::Complete(b"aaaabbbbccccdd".to_vec())));
            assert_eq!(a.len(), 0);
        }
    }

    #[test]
    fn in_order_message_has_little_slack() {
        let mut a = asm();
        let frag = vec![1u8; 1000];
        for i in 0..99 {
            assert_eq!(
                a.insert(Time::ZERO, &sh(1, 100, i), info(), &frag),
                Inserted::Pending
            );
        }
        let Inserted::Complete(v) = a.insert(Time::ZERO, &sh(1, 100, 99), info(), &frag[..10])
        else {
            panic!("not complete");
        };
        assert_eq!(v.len(), 99 * 1000 + 10);
        assert!(v.capacity() <= 100 * 1000, "capacity {}", v.capacity());
    }

    #[test]
    fn duplicate_fragment_is_ignored() {
        let mut a = asm();
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 2, 0), info(), b"xx"),
            Inserted::Pending
        );
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 2, 0), info(), b"yy"),
            Inserted::Refused(Verdict::Duplicate)
        );
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 2, 1), info(), b"zz"),
            Inserted::Complete(b"xxzz".to_vec())
        );
    }

    #[test]
    fn count_mismatch_and_bad_index_rejected() {
        let mut a = asm();
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 3, 0), info(), b"a"),
            Inserted::Pending
        );
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 2, 1), info(), b"b"),
            Inserted::Refused(Verdict::Reject { discard: false })
        );
        assert_eq!(
            a.insert(Time::ZERO, &sh(2, 2, 2), info(), b"b"),
            Inserted::Refused(Verdict::Reject { discard: false })
        );
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 3, 1), info(), b"b"),
            Inserted::Pending
        );
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 3, 2), info(), b"c"),
            Inserted::Complete(b"abc".to_vec())
        );
    }

    #[test]
    fn count_bomb_allocates_nothing() {
        let mut a = asm();
        let r = a.insert(Time::ZERO, &sh(1, u32::MAX, u32::MAX - 1), info(), b"x");
        assert_eq!(r, Inserted::Refused(Verdict::Reject { discard: false }));
        assert_eq!(a.len(), 0);
        // At the cap: accepted, but only the bitmap up to the index is allocated.
        let cap = ReliabilityConfig::default().max_split_count;
        assert_eq!(
            a.insert(Time::ZERO, &sh(2, cap, cap - 1), info(), b"x"),
            Inserted::Pending
        );
        let p = a.partials.get(&2).unwrap();
        assert!(p.held.capacity() * 8 <= cap as usize / 8 + 8);
        assert!(p.data.capacity() <= 1 && p.pieces.capacity() <= 4);
    }

    #[test]
    fn byte_cap_discards_the_message() {
        let cfg = ReliabilityConfig {
            max_split_message_bytes: 10,
            ..ReliabilityConfig::default()
        };
        let mut a = SplitAssembler::new(&cfg);
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 3, 0), info(), &[0; 6]),
            Inserted::Pending
        );
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 3, 1), info(), &[0; 6]),
            Inserted::Refused(Verdict::Reject { discard: true })
        );
        assert_eq!(a.len(), 0);
        // A count that cannot fit even one byte per fragment.
        assert_eq!(
            a.classify(&sh(2, 11, 0), 1),
            Verdict::Reject { discard: false }
        );
    }

    #[test]
    fn concurrent_cap_bounds_ids() {
        let mut a = asm();
        let cap = ReliabilityConfig::default().max_concurrent_splits;
        let mut busy = 0;
        for id in 0..1000u16 {
            match a.insert(Time::ZERO, &sh(id, 2, 0), info(), b"x") {
                Inserted::Pending => {}
                Inserted::Refused(Verdict::Busy) => busy += 1,
                r => panic!("{r:?}"),
            }
        }
        assert_eq!(a.len(), cap);
        assert_eq!(busy, 1000 - cap);
        // A single-fragment "split" needs no slot.
        assert_eq!(
            a.insert(Time::ZERO, &sh(999, 1, 0), info(), b"q"),
            Inserted::Complete(b"q".to_vec())
        );
        // Existing ids still progress.
        assert_eq!(
            a.insert(Time::ZERO, &sh(0, 2, 1), info(), b"y"),
            Inserted::Complete(b"xy".to_vec())
        );
    }

    #[test]
    fn stale_partials_expire() {
        let mut a = asm();
        a.insert(Time::ZERO, &sh(1, 3, 0), info(), b"x");
        let t1 = Time::from_millis(10_000);
        a.insert(t1, &sh(2, 3, 0), info(), b"x");
        assert_eq!(a.next_expiry(), Some(Time::ZERO + SPLIT_TIMEOUT));
        // Activity postpones expiry.
        a.insert(Time::from_millis(20_000), &sh(1, 3, 2), info(), b"x");
        assert_eq!(a.expire(Time::ZERO + SPLIT_TIMEOUT), 0);
        assert_eq!(a.expire(t1 + SPLIT_TIMEOUT), 1);
        assert_eq!(a.len(), 1);
        assert_eq!(
            a.next_expiry(),
            Some(Time::from_millis(20_000) + SPLIT_TIMEOUT)
        );
        assert_eq!(a.expire(Time::from_millis(50_000)), 1);
        assert_eq!(a.next_expiry(), None);
    }

    #[test]
    fn progress_notices_every_interval() {
        let cfg = ReliabilityConfig {
            split_progress_interval: 2,
            ..ReliabilityConfig::default()
        };
        let mut a = SplitAssembler::new(&cfg);
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 5, 1), info(), b"bb"),
            Inserted::Pending
        );
        // Two held, but fragment 0 is missing: nothing to report yet.
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 5, 2), info(), b"cc"),
            Inserted::Pending
        );
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 5, 0), info(), b"aaa"),
            Inserted::Pending
        );
        let Inserted::Progress(n) = a.insert(Time::ZERO, &sh(1, 5, 3), info(), b"dd") else {
            panic!("no progress");
        };
        let mut want = vec![id::DOWNLOAD_PROGRESS];
        want.extend_from_slice(&4u32.to_ne_bytes());
        want.extend_from_slice(&5u32.to_ne_bytes());
        want.extend_from_slice(&3u32.to_ne_bytes());
        want.extend_from_slice(b"aaa");
        assert_eq!(n, want);
        assert_eq!(
            a.insert(Time::ZERO, &sh(1, 5, 4), info(), b"e"),
            Inserted::Complete(b"aaabbccdde".to_vec())
        );
    }
}
