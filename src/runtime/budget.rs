//! Per-connection send budgets: how `Peer::send` refuses a message for a full send
//! buffer synchronously, on the caller's thread, without asking the network thread.
//!
//! Each established connection has one counter, `used` = the bytes the endpoint last
//! reported buffered for it (`Endpoint::buffered_bytes`: queued plus unacknowledged) +
//! the bytes of sends accepted since but not yet applied by the network thread. A send
//! reserves its length with a compare-and-swap that fails if `used` would exceed the
//! cap (`ReliabilityConfig::max_send_buffer_bytes`, the core's own limit); the network
//! thread later corrects `used` by the difference between what the endpoint now reports
//! and what it had accounted for ([`SendTracker::publish`]), for the connections with
//! data outstanding only.
//!
//! So one slow connection refuses its own sends and nobody else's: the command queue
//! never waits on it. The count is exact for application data; the core's internal
//! messages (pings, disconnection notice) are only seen at the next publication, so the
//! core can still, rarely, refuse a send the counter let through. The network thread
//! then drops that command and reports it (see `driver.rs`). This file makes no protocol
//! decisions: the cap and the buffered count both come from the core.

use crate::proto::idhash::IdMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::proto::{ConnId, Endpoint};

/// Why a reservation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No budget: the connection is not established (or is gone).
    Unknown,
    /// The message can never fit: it is larger than the cap itself.
    TooLarge,
    /// Not now: the buffer is too full.
    Full,
}

/// One connection's counter and cap.
#[derive(Debug)]
pub(crate) struct SendBudget {
    used: AtomicU64,
    cap: u64,
}

impl SendBudget {
    fn reserve(&self, len: u64) -> Result<(), Refused> {
        if len > self.cap {
            return Err(Refused::TooLarge);
        }
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(len).filter(|&n| n <= self.cap)
            })
            .map(|_| ())
            .map_err(|_| Refused::Full)
    }

    fn release(&self, len: u64) {
        self.used.fetch_sub(len, Ordering::AcqRel);
    }

    /// Bytes counted against the cap now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }
}

/// The budgets of every established connection, readable from any thread.
#[derive(Debug, Default)]
pub(crate) struct SendBudgets {
    map: RwLock<IdMap<ConnId, Arc<SendBudget>>>,
}

impl SendBudgets {
    /// Application thread: counts `len` bytes against `conn`'s budget.
    pub(crate) fn reserve(&self, conn: ConnId, len: usize) -> Result<(), Refused> {
        let map = self.map.read();
        let budget = map.get(&conn).ok_or(Refused::Unknown)?;
        budget.reserve(u64::try_from(len).unwrap_or(u64::MAX))
    }

    /// Application thread: gives back a reservation whose command was never queued.
    pub(crate) fn release(&self, conn: ConnId, len: usize) {
        if let Some(b) = self.map.read().get(&conn) {
            b.release(len as u64);
        }
    }

    /// Forgets every budget (the network thread has stopped).
    pub(crate) fn clear(&self) {
        self.map.write().clear();
    }

    fn insert(&self, conn: ConnId, cap: usize) -> Arc<SendBudget> {
        let budget = Arc::new(SendBudget {
            used: AtomicU64::new(0),
            cap: cap as u64,
        });
        self.map.write().insert(conn, budget.clone());
        budget
    }

    fn remove(&self, conn: ConnId) {
        self.map.write().remove(&conn);
    }
}

/// The network thread's side: what it has accounted for per connection.
#[derive(Debug)]
struct Tracked {
    budget: Arc<SendBudget>,
    /// `Endpoint::buffered_bytes` at the last publication.
    published: u64,
    /// Bytes of send commands taken off the queue since then (applied or not).
    taken: u64,
    /// In `SendTracker::busy`.
    busy: bool,
}

/// Owned by the network thread: keeps every budget's counter in step with the endpoint.
#[derive(Debug, Default)]
pub(crate) struct SendTracker {
    conns: IdMap<ConnId, Tracked>,
    /// Connections with data outstanding or sends taken since the last publication.
    busy: Vec<ConnId>,
}

impl SendTracker {
    /// A connection was established: gives it a budget of `cap` bytes. Call before the
    /// registry shows it connected, so a send never finds it connected without one.
    pub(crate) fn open(&mut self, budgets: &SendBudgets, conn: ConnId, cap: usize) {
        let budget = budgets.insert(conn, cap);
        self.conns.insert(
            conn,
            Tracked {
                budget,
                published: 0,
                taken: 0,
                busy: false,
            },
        );
    }

    /// A connection ended (or an attempt failed): drops its budget.
    pub(crate) fn close(&mut self, budgets: &SendBudgets, conn: ConnId) {
        if self.conns.remove(&conn).is_some() {
            budgets.remove(conn);
        }
    }

    /// A send command of `len` bytes for `conn` was taken off the queue, whatever the
    /// core then made of it.
    pub(crate) fn taken(&mut self, conn: ConnId, len: usize) {
        if let Some(t) = self.conns.get_mut(&conn) {
            t.taken += len as u64;
            if !t.busy {
                t.busy = true;
                self.busy.push(conn);
            }
        }
    }

    /// Brings the counters of busy connections up to date with the endpoint: each gets
    /// `buffered now - buffered published - bytes taken since`, in one atomic add.
    pub(crate) fn publish(&mut self, endpoint: &Endpoint) {
        let conns = &mut self.conns;
        self.busy.retain(|id| {
            let Some(t) = conns.get_mut(id) else {
                return false;
            };
            let now = endpoint.buffered_bytes(*id).unwrap_or(0) as u64;
            let delta = now.wrapping_sub(t.published).wrapping_sub(t.taken);
            if delta != 0 {
                // Wrapping arithmetic: the true result is never negative, because the
                // counter still holds `published + taken` from earlier reservations.
                t.budget.used.fetch_add(delta, Ordering::AcqRel);
            }
            t.published = now;
            t.taken = 0;
            t.busy = now > 0;
            t.busy
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_respect_the_cap_and_can_be_released() {
        let budgets = SendBudgets::default();
        let mut tracker = SendTracker::default();
        let c = ConnId(1);
        assert_eq!(budgets.reserve(c, 1), Err(Refused::Unknown));
        tracker.open(&budgets, c, 100);
        assert_eq!(budgets.reserve(c, 101), Err(Refused::TooLarge));
        assert_eq!(budgets.reserve(c, 60), Ok(()));
        assert_eq!(budgets.reserve(c, 41), Err(Refused::Full));
        assert_eq!(budgets.reserve(c, 40), Ok(()));
        budgets.release(c, 40);
        assert_eq!(budgets.reserve(c, 40), Ok(()));
        tracker.close(&budgets, c);
        assert_eq!(budgets.reserve(c, 1), Err(Refused::Unknown));
    }

    #[test]
    fn publication_replaces_taken_bytes_with_the_endpoint_count() {
        let budgets = SendBudgets::default();
        let mut tracker = SendTracker::default();
        let c = ConnId(1);
        tracker.open(&budgets, c, 1000);
        budgets.reserve(c, 300).unwrap();
        budgets.reserve(c, 200).unwrap();
        tracker.taken(c, 300);
        // The endpoint knows no such connection: it reports nothing buffered, as after
        // the acknowledgement of everything taken.
        let endpoint = Endpoint::new(
            crate::proto::Config::default(),
            "127.0.0.1:1".parse().unwrap(),
        );
        tracker.publish(&endpoint);
        let used = budgets.map.read().get(&c).unwrap().used();
        assert_eq!(used, 200, "the untaken reservation stays counted");
        assert!(tracker.busy.is_empty());
        tracker.taken(c, 200);
        tracker.publish(&endpoint);
        assert_eq!(budgets.map.read().get(&c).unwrap().used(), 0);
    }
}
