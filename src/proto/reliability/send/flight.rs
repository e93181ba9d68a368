//! Reliable frames sent and not yet acknowledged, indexed by reliable message number
//! (docs/protocol.md §9.1 step 3: 4.081's resend buffer).
//!
//! A deque whose front is the oldest unacknowledged message number: lookups are O(1),
//! memory follows the numbers actually in flight, and the span from the oldest to the
//! newest number is what the caller bounds (`max_in_flight_frames`), as 4.081 refuses new
//! frames while the slot of the next number is taken. Message numbers are 24-bit and
//! assigned here, in order, at first transmission. Timers and datagrams are the caller's.

use std::collections::VecDeque;

use super::queue::OutFrame;
use crate::proto::wire::seq;

/// One reliable frame awaiting acknowledgement.
#[derive(Debug)]
pub(super) struct InFlight {
    /// The frame.
    pub(super) frame: OutFrame,
    /// Datagram number of its latest transmission.
    pub(super) last_datagram: u32,
    /// Timeouts so far (the retransmission timeout doubles with each).
    pub(super) backoff: u32,
    /// Waiting in the resend queue.
    pub(super) due: bool,
}

/// The unacknowledged reliable frames of one connection.
#[derive(Debug, Default)]
pub(super) struct Flight {
    /// Message number of `slots[0]`.
    base: u32,
    /// `None`: acknowledged, waiting for older numbers to be acknowledged too.
    slots: VecDeque<Option<InFlight>>,
    /// Frames held.
    count: usize,
    /// Header + payload bytes held (4.081's `unackedBytes`, §9.3).
    wire_bytes: usize,
    /// Payload bytes held.
    payload_bytes: usize,
}

impl Flight {
    /// An empty table whose first message number is `first` (tests of the 24-bit wrap).
    #[cfg(test)]
    pub(super) fn starting_at(first: u32) -> Flight {
        Flight {
            base: first & seq::MASK,
            ..Flight::default()
        }
    }

    /// The number the next added frame gets.
    #[inline]
    pub(super) fn next_number(&self) -> u32 {
        seq::add(self.base, self.slots.len() as u32)
    }

    /// Distance from the oldest unacknowledged number to the next number.
    #[inline]
    pub(super) fn span(&self) -> usize {
        self.slots.len()
    }

    /// Frames held.
    #[inline]
    pub(super) fn count(&self) -> usize {
        self.count
    }

    /// Header + payload bytes held.
    #[inline]
    pub(super) fn wire_bytes(&self) -> usize {
        self.wire_bytes
    }

    /// Payload bytes held.
    #[inline]
    pub(super) fn payload_bytes(&self) -> usize {
        self.payload_bytes
    }

    /// Adds a frame under the next message number, which it returns.
    #[inline]
    pub(super) fn add(&mut self, entry: InFlight) -> u32 {
        let n = self.next_number();
        self.count += 1;
        self.wire_bytes += entry.frame.wire_len();
        self.payload_bytes += entry.frame.payload.len();
        self.slots.push_back(Some(entry));
        n
    }

    #[inline]
    fn index(&self, number: u32) -> Option<usize> {
        let i = seq::distance(self.base, number) as usize;
        (i < self.slots.len()).then_some(i)
    }

    /// The frame with message number `number`, if unacknowledged.
    #[inline]
    pub(super) fn get(&self, number: u32) -> Option<&InFlight> {
        self.slots.get(self.index(number)?)?.as_ref()
    }

    /// The frame with message number `number`, if unacknowledged.
    #[inline]
    pub(super) fn get_mut(&mut self, number: u32) -> Option<&mut InFlight> {
        let i = self.index(number)?;
        self.slots.get_mut(i)?.as_mut()
    }

    /// Frees the storage of an empty table (idle connections).
    pub(super) fn trim(&mut self) {
        if self.slots.is_empty() {
            self.slots = VecDeque::new();
        }
    }

    /// Removes an acknowledged frame.
    #[inline]
    pub(super) fn release(&mut self, number: u32) -> Option<InFlight> {
        let i = self.index(number)?;
        let entry = self.slots.get_mut(i)?.take()?;
        self.count -= 1;
        self.wire_bytes -= entry.frame.wire_len();
        self.payload_bytes -= entry.frame.payload.len();
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base = seq::add(self.base, 1);
        }
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::super::queue::Payload;
    use super::*;
    use crate::proto::options::Reliability;

    fn entry(len: usize) -> InFlight {
        InFlight {
            frame: OutFrame {
                payload: Payload::Owned(vec![0; len]),
                split: None,
                ordering_index: 0,
                sequencing_index: 0,
                receipt: 0,
                reliability: Reliability::Reliable,
                channel: 0,
            },
            last_datagram: 0,
            backoff: 0,
            due: false,
        }
    }

    #[test]
    fn numbers_in_order_and_span_shrinks_from_the_front() {
        let mut f = Flight::default();
        for i in 0..4 {
            assert_eq!(f.add(entry(10)), i);
        }
        assert_eq!((f.count(), f.span(), f.payload_bytes()), (4, 4, 40));
        assert_eq!(f.wire_bytes(), 4 * (6 + 10));
        assert!(f.release(2).is_some());
        assert!(f.release(2).is_none());
        assert_eq!((f.count(), f.span()), (3, 4));
        assert!(f.release(0).is_some());
        assert_eq!(f.span(), 3);
        assert!(f.get(1).is_some());
        assert!(f.get(2).is_none());
        assert!(f.get(4).is_none());
        f.release(1);
        f.release(3);
        assert_eq!((f.count(), f.span(), f.wire_bytes()), (0, 0, 0));
        assert_eq!(f.next_number(), 4);
        assert_eq!(f.add(entry(1)), 4);
    }

    #[test]
    fn message_numbers_wrap() {
        let mut f = Flight {
            base: seq::MASK,
            ..Flight::default()
        };
        assert_eq!(f.add(entry(1)), seq::MASK);
        assert_eq!(f.add(entry(1)), 0);
        assert!(f.get_mut(0).is_some());
        assert!(f.release(seq::MASK).is_some());
        assert_eq!(f.span(), 1);
        assert_eq!(f.next_number(), 1);
    }
}
