//! State shared by a peer's application threads and its network thread: the two queues,
//! the waker, the connection registry, the send budgets, id/serial counters, the runtime
//! counters, and the stop and failure flags.
//!
//! It holds no protocol state (that is the network thread's `Endpoint`) and no logic
//! beyond "take the next event" and the stop request's encoding.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};

use std::sync::Arc;

use super::budget::SendBudgets;
use super::log::DeferredLogs;
use super::netsim::SimCounters;
use super::queues::{command_queue, CommandQueue, EventQueue};
use super::registry::Registry;
use super::types::PeerEvent;
use super::wake::Waker;
use crate::proto::{ConnId, Receipt, Time};

/// How the network thread should stop, if at all.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Keep running.
    No,
    /// Close every connection with notification and run until idle or the deadline.
    Flush(Time),
    /// Stop at once without sending anything more.
    Now,
}

const STOP_NO: u8 = 0;
const STOP_FLUSH: u8 = 1;
const STOP_NOW: u8 = 2;

/// Everything behind a peer's `Arc`.
pub(crate) struct Shared {
    /// App → net.
    pub(crate) commands: CommandQueue,
    /// Net → app.
    pub(crate) events: EventQueue,
    /// Wakes the network thread.
    pub(crate) waker: Waker,
    /// Live connections.
    pub(crate) registry: Registry,
    /// Largest message `send` accepts (the core's split limit).
    pub(crate) max_message_bytes: usize,
    /// Send-buffer accounting of established connections.
    pub(crate) budgets: SendBudgets,
    /// Sends accepted by `Peer::send` that the core refused later for a full send
    /// buffer, and dropped (`budget.rs` says when that can happen).
    pub(crate) sends_dropped: AtomicU64,
    /// Network simulator counters, outgoing direction.
    pub(crate) sim_out: SimCounters,
    /// Network simulator counters, incoming direction.
    pub(crate) sim_in: SimCounters,
    /// Raised by an application thread whose pass changed what the network thread
    /// must sleep on; cleared by the network thread's next pass.
    pub(crate) retune: AtomicBool,
    /// Log lines of passes run on application threads (`driver.rs`).
    pub(crate) deferred_logs: Arc<DeferredLogs>,
    /// µs (`clock::now`) of the last `Peer::send`, for its sparse-send decision.
    pub(crate) last_send: AtomicU64,
    /// `RuntimeStats::sends_on_caller`.
    pub(crate) sends_on_caller: AtomicU64,
    /// `RuntimeStats::receives_on_caller`.
    pub(crate) receives_on_caller: AtomicU64,
    /// `RuntimeStats::network_thread_retunes`.
    pub(crate) retunes: AtomicU64,
    next_conn: AtomicU64,
    next_receipt: AtomicU32,
    stop_mode: AtomicU8,
    stop_deadline: AtomicU64,
    failed: AtomicBool,
    fatal_reported: AtomicBool,
    stopped: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("registry", &self.registry)
            .field("stop", &self.stop())
            .field("failed", &self.is_failed())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Fresh state with the given queue capacities.
    pub(crate) fn new(
        command_capacity: usize,
        event_capacity: usize,
        max_message_bytes: usize,
    ) -> std::io::Result<Shared> {
        Ok(Shared {
            commands: command_queue(command_capacity),
            events: EventQueue::new(event_capacity)?,
            waker: Waker::new()?,
            registry: Registry::default(),
            max_message_bytes,
            budgets: SendBudgets::default(),
            sends_dropped: AtomicU64::new(0),
            sim_out: SimCounters::default(),
            sim_in: SimCounters::default(),
            retune: AtomicBool::new(false),
            deferred_logs: Arc::default(),
            last_send: AtomicU64::new(0),
            sends_on_caller: AtomicU64::new(0),
            receives_on_caller: AtomicU64::new(0),
            retunes: AtomicU64::new(0),
            next_conn: AtomicU64::new(1),
            next_receipt: AtomicU32::new(1),
            stop_mode: AtomicU8::new(STOP_NO),
            stop_deadline: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            fatal_reported: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        })
    }

    /// A new outgoing connection id: from 1 up, top bit clear, never reused.
    /// `None` after 2^63 − 1 of them.
    pub(crate) fn next_conn_id(&self) -> Option<ConnId> {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        (id & ConnId::INCOMING_BIT == 0).then_some(ConnId(id))
    }

    /// The next receipt serial: from 1 up, skipping 0 when it wraps.
    pub(crate) fn next_receipt(&self) -> Receipt {
        loop {
            let r = self.next_receipt.fetch_add(1, Ordering::Relaxed);
            if r != 0 {
                return Receipt(r);
            }
        }
    }

    /// Asks the network thread to stop (it is woken by the caller).
    pub(crate) fn request_stop(&self, stop: Stop) {
        match stop {
            Stop::No => self.stop_mode.store(STOP_NO, Ordering::Release),
            Stop::Flush(deadline) => {
                self.stop_deadline
                    .store(deadline.as_micros(), Ordering::Relaxed);
                self.stop_mode.store(STOP_FLUSH, Ordering::Release);
            }
            Stop::Now => self.stop_mode.store(STOP_NOW, Ordering::Release),
        }
    }

    /// The stop request in force.
    pub(crate) fn stop(&self) -> Stop {
        match self.stop_mode.load(Ordering::Acquire) {
            STOP_NO => Stop::No,
            STOP_FLUSH => Stop::Flush(Time(self.stop_deadline.load(Ordering::Relaxed))),
            _ => Stop::Now,
        }
    }

    /// Network thread: it panicked. Waiters wake up to collect `PeerEvent::Fatal`.
    pub(crate) fn fail(&self) {
        self.failed.store(true, Ordering::Release);
        self.events.notify_waiters();
    }

    /// Whether the network thread failed.
    pub(crate) fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// The network thread has been joined.
    pub(crate) fn set_stopped(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// Whether the network thread has been joined (after `shutdown`).
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Application thread: the next event. After a failure, once the queue is empty,
    /// `Fatal` comes exactly once. Wakes the network thread if it holds events back.
    pub(crate) fn take_event(&self) -> Option<PeerEvent> {
        let ev = self.take_event_quietly();
        if ev.is_some() {
            self.after_taking();
        }
        ev
    }

    /// `take_event` without the check for held-back events, for a batch: call
    /// `after_taking` once after the last one (saves a fence per event).
    pub(crate) fn take_event_quietly(&self) -> Option<PeerEvent> {
        if let Some(ev) = self.events.pop() {
            return Some(ev);
        }
        if self.is_failed() && !self.fatal_reported.swap(true, Ordering::AcqRel) {
            return Some(PeerEvent::Fatal);
        }
        None
    }

    /// After events were taken: wakes the network thread if it holds events back.
    pub(crate) fn after_taking(&self) {
        if self.events.is_backlogged() {
            self.waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_skip_zero_on_wrap() {
        let s = Shared::new(1, 1, 1).unwrap();
        assert_eq!(s.next_receipt(), Receipt(1));
        s.next_receipt.store(u32::MAX, Ordering::Relaxed);
        assert_eq!(s.next_receipt(), Receipt(u32::MAX));
        assert_eq!(s.next_receipt(), Receipt(1));
    }

    #[test]
    fn conn_ids_never_have_the_incoming_bit() {
        let s = Shared::new(1, 1, 1).unwrap();
        assert_eq!(s.next_conn_id(), Some(ConnId(1)));
        s.next_conn
            .store(ConnId::INCOMING_BIT - 1, Ordering::Relaxed);
        assert_eq!(s.next_conn_id(), Some(ConnId(ConnId::INCOMING_BIT - 1)));
        assert_eq!(s.next_conn_id(), None);
    }

    #[test]
    fn fatal_comes_once_after_queued_events() {
        let s = Shared::new(1, 4, 1).unwrap();
        s.events.push(PeerEvent::Fatal).unwrap(); // any event stands in here
        s.fail();
        assert_eq!(s.take_event(), Some(PeerEvent::Fatal));
        assert_eq!(s.take_event(), Some(PeerEvent::Fatal));
        assert_eq!(s.take_event(), None);
    }

    #[test]
    fn stop_round_trips() {
        let s = Shared::new(1, 1, 1).unwrap();
        assert_eq!(s.stop(), Stop::No);
        s.request_stop(Stop::Flush(Time(77)));
        assert_eq!(s.stop(), Stop::Flush(Time(77)));
        s.request_stop(Stop::Now);
        assert_eq!(s.stop(), Stop::Now);
    }
}
