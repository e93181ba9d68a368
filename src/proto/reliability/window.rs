//! Which 24-bit numbers have arrived, for the receiver's duplicate filters: datagram
//! numbers (repeated datagrams, docs/protocol.md §6.5) and reliable message numbers (§9.4).
//!
//! `base` is the lowest number not yet received; everything before it counts as received.
//! Numbers after it that did arrive are bits in a deque of 64-bit words starting at the
//! word that holds `base`, so memory follows the span of outstanding holes: nothing at all
//! while numbers arrive in order (the common case costs a compare and an increment), at
//! most `limit / 8` bytes when the caller refuses numbers more than `limit` ahead of
//! `base`. When the last hole fills, storage beyond a few words is released; `trim`
//! releases the rest. Word boundaries are multiples of 64, which divide 2^24, so a word
//! holds the same numbers on both sides of the wrap. This file does not decide what a
//! number's presence means, nor how far ahead numbers may be (`recv.rs` does).

use std::collections::VecDeque;

use crate::proto::wire::seq;

/// Words of storage kept when the last hole fills (512 numbers); more is released, so a
/// burst of loss does not pin its peak span. Small holes come and go without allocating.
const KEEP_WORDS: usize = 8;
/// Mask of a word index: 2^24 numbers are 2^18 words.
const WORD_MASK: u32 = seq::MASK >> 6;

/// The numbers received, as a base and the bits of what arrived after it.
#[derive(Debug, Default)]
pub(super) struct Received {
    /// Lowest number not yet received.
    pub(super) base: u32,
    /// `words[k]` holds the numbers `((base / 64 + k) mod 2^18) * 64 ..+ 64`. Empty when
    /// nothing after `base` has arrived; otherwise its last word has a bit after `base`.
    words: VecDeque<u64>,
}

impl Received {
    /// Nothing after `base` has arrived (no holes).
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Index in `words` of the word holding `n` (`n` not before `base`).
    #[inline]
    fn word_of(&self, n: u32) -> usize {
        ((n >> 6).wrapping_sub(self.base >> 6) & WORD_MASK) as usize
    }

    /// Whether `n` arrived. Numbers up to half the space before `base` count as received;
    /// the caller decides what numbers further away mean.
    #[inline]
    pub(super) fn contains(&self, n: u32) -> bool {
        let d = seq::distance(self.base, n);
        if d >= seq::HALF {
            return true;
        }
        d != 0
            && self
                .words
                .get(self.word_of(n))
                .is_some_and(|w| w >> (n & 63) & 1 == 1)
    }

    /// Records `n`, which must not be contained and lie less than half the space after
    /// `base` (the caller bounds how far: that bounds the memory).
    #[inline]
    pub(super) fn insert(&mut self, n: u32) {
        if n == self.base && self.words.is_empty() {
            self.base = seq::add(n, 1);
            return;
        }
        let k = self.word_of(n);
        if k >= self.words.len() {
            self.words.resize(k + 1, 0);
        }
        if let Some(w) = self.words.get_mut(k) {
            *w |= 1 << (n & 63);
        }
        if n == self.base {
            self.slide();
        }
    }

    /// Forgets the holes before `n` (at most half the space after `base`): they count
    /// as received from now on.
    pub(super) fn advance_to(&mut self, n: u32) {
        let d = seq::distance(self.base, n);
        if d == 0 || d >= seq::HALF {
            return;
        }
        let k = self.word_of(n);
        self.base = n;
        if k >= self.words.len() {
            self.release();
            return;
        }
        self.words.drain(..k);
        self.slide();
    }

    /// Moves `base` past the numbers received after it, dropping the words it leaves.
    fn slide(&mut self) {
        while let Some(&w) = self.words.front() {
            let bit = self.base & 63;
            let run = (!(w >> bit)).trailing_zeros().min(64 - bit);
            self.base = seq::add(self.base, run);
            if bit + run < 64 {
                break;
            }
            self.words.pop_front();
        }
        // A lone word with nothing at or after `base`: no hole left.
        if self.words.len() == 1
            && self
                .words
                .front()
                .is_some_and(|w| w >> (self.base & 63) == 0)
        {
            self.release();
        }
    }

    /// Empties the words, keeping a little storage for the next hole.
    fn release(&mut self) {
        if self.words.capacity() > KEEP_WORDS {
            self.words = VecDeque::new();
        } else {
            self.words.clear();
        }
    }

    /// Frees the storage of an empty window (for idle connections).
    pub(super) fn trim(&mut self) {
        if self.words.is_empty() && self.words.capacity() > 0 {
            self.words = VecDeque::new();
        }
    }

    /// Bytes of storage held.
    #[cfg(test)]
    pub(super) fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: u32) -> Received {
        Received {
            base,
            ..Received::default()
        }
    }

    #[test]
    fn in_order_numbers_allocate_nothing() {
        let mut r = at(0);
        for n in 0..10_000 {
            assert!(!r.contains(n));
            r.insert(n);
            assert!(r.contains(n));
        }
        assert_eq!((r.base, r.heap_bytes()), (10_000, 0));
    }

    #[test]
    fn holes_fill_and_storage_goes_away() {
        let mut r = at(100);
        for n in (100..1100).rev().filter(|n| n % 3 != 0) {
            r.insert(n);
        }
        assert_eq!(r.base, 102);
        assert!(r.contains(101) && r.contains(1099) && !r.contains(102) && !r.contains(1100));
        assert!(r.contains(99), "before base");
        assert!(r.heap_bytes() >= 1000 / 8);
        for n in (100..1100).filter(|n| n % 3 == 0) {
            assert!(!r.contains(n));
            r.insert(n);
        }
        assert_eq!(r.base, 1100);
        assert!(r.is_empty());
        assert_eq!(r.heap_bytes(), 0, "a large span releases its storage");
        // A small hole keeps its few words for the next one.
        r.insert(1102);
        r.insert(1100);
        r.insert(1101);
        assert!(r.is_empty() && r.heap_bytes() > 0);
        r.trim();
        assert_eq!(r.heap_bytes(), 0);
    }

    #[test]
    fn numbers_wrap() {
        let m = seq::MASK;
        let mut r = at(m - 70);
        r.insert(5);
        r.insert(m);
        assert!(r.contains(5) && r.contains(m) && !r.contains(0) && !r.contains(m - 1));
        for n in (m - 70..=m).chain(0..5) {
            if !r.contains(n) {
                r.insert(n);
            }
        }
        assert_eq!(r.base, 6);
        assert!(r.is_empty());
    }

    #[test]
    fn advance_forgets_holes() {
        let mut r = at(10);
        r.insert(20);
        r.insert(300);
        r.advance_to(15);
        assert_eq!(r.base, 15);
        assert!(r.contains(12) && !r.contains(16) && r.contains(20));
        r.advance_to(20);
        assert_eq!(r.base, 21, "slides past what arrived");
        r.advance_to(301);
        assert_eq!(r.base, 301);
        assert!(r.is_empty());
        r.insert(5000);
        r.advance_to(9000);
        assert_eq!(r.base, 9000);
        assert!(r.is_empty());
    }
}
