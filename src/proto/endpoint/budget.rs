//! The endpoint's receive budget: one account of the bytes every connection holds for
//! incoming messages it cannot deliver yet (incomplete split messages, docs/protocol.md
//! §8.3; out-of-order messages, §7.4), and the share of `Config::receive_budget` each
//! connection may hold.
//!
//! The rule: with `slots` = max(`max_incoming`, connections open, 1), each connection
//! is guaranteed `share = budget / (2 × slots)`; the other half is a pool that
//! connections use beyond their share, first come. A connection may grow to its share
//! plus what the pool has left after the others' use beyond theirs. Whenever a
//! connection grows, the whole endpoint then holds at most
//! `share + (budget − slots × share) + (connections − 1) × share ≤ budget`, and
//! nothing else makes anyone grow, so the endpoint never holds more than the budget
//! (transient copies while a split message is assembled aside). No connection can take
//! another's share, so a hostile one cannot starve the rest.
//!
//! A split message is charged its whole size from its first fragment on
//! (`reliability/split.rs`), so messages that started never wait for room held by each
//! other: at any time some can finish and give room back. One connection can still
//! stall itself: messages held past a hole on its own channel can fill its share while
//! the missing one, split and not started, waits for room.
//!
//! Refusing is the receiver's business (`reliability/recv.rs`: the frame is deferred,
//! never acknowledged and thrown away); this file only keeps the account: it gives a
//! connection its cap before it handles input, and settles what it holds afterwards.
//! What a single connection may hold is also bounded by its own `ReliabilityConfig`.

use super::Endpoint;
use crate::proto::event::ConnId;

impl Endpoint {
    /// Connections the budget is shared among.
    fn budget_slots(&self) -> usize {
        (self.config.max_incoming as usize)
            .max(self.conns.len())
            .max(1)
    }

    /// Gives connection `id` the cap it may hold up to while it handles the next input.
    pub(super) fn cap_hold(&mut self, id: ConnId) {
        let budget = self.config.receive_budget;
        let slots = self.budget_slots();
        let share = budget / (2 * slots);
        if share != self.share_counted {
            // Slots change as connections come and go (rarely the share).
            self.recount_over_share(share);
        }
        let pool = budget - share * slots;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        // What the others hold beyond their shares comes out of the pool.
        let others_over = self
            .held_over_share
            .saturating_sub(c.held.saturating_sub(share));
        c.set_hold_cap(share + pool.saturating_sub(others_over));
    }

    /// Settles connection `id`'s account after it handled input (or timers), and counts
    /// the datagram in `DropCounters::over_receive_budget` if it had frames refused.
    pub(super) fn settle_hold(&mut self, id: ConnId, refused_before: u64) {
        let share = self.share_counted;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let (old, new) = (c.held, c.held_receive_bytes());
        c.held = new;
        if c.frames_over_budget() != refused_before {
            self.stats.dropped.over_receive_budget += 1;
        }
        self.held_total = self.held_total.saturating_sub(old) + new;
        self.stats.receive_held_bytes = self.held_total as u64;
        self.held_over_share = self
            .held_over_share
            .saturating_sub(old.saturating_sub(share))
            + new.saturating_sub(share);
    }

    /// A connection leaves: its holdings go with it.
    pub(super) fn release_hold(&mut self, held: usize) {
        self.held_total = self.held_total.saturating_sub(held);
        self.stats.receive_held_bytes = self.held_total as u64;
        self.held_over_share =
            (self.held_over_share).saturating_sub(held.saturating_sub(self.share_counted));
    }

    /// Recomputes the sum of holdings beyond `share` (rare: only when the share changes).
    fn recount_over_share(&mut self, share: usize) {
        self.share_counted = share;
        self.held_over_share = self
            .conns
            .values()
            .map(|c| c.held.saturating_sub(share))
            .sum();
    }

    /// Bytes all connections hold for incomplete split messages and out-of-order
    /// messages (at most `Config::receive_budget`).
    pub fn receive_held_bytes(&self) -> usize {
        self.held_total
    }
}
