//! The two bounded queues between application threads and the network thread, and the
//! network thread's overflow for events the application has not made room for yet.
//!
//! Commands (app → net) go through a lock-free `ArrayQueue`: a full queue is reported to
//! the caller (`PeerError::QueueFull`), never waited on. Events (net → app) go through
//! another; application threads may block on it with a deadline (`wait`), and the network
//! thread takes the condition variable's lock only when someone actually waits.
//!
//! Events are never dropped. When the event queue is full the network thread keeps the
//! rest in [`EventOutbox`] (a local `VecDeque`), marks the queue *backlogged* so that the
//! next `pop` wakes it, and stops reading the socket once the overflow reaches the
//! queue's capacity (see `driver.rs`). That bounds the overflow only loosely (one pass of
//! datagrams and timers can still add to it); a tighter bound would need the core to hold
//! events back, which it does not offer yet. Wakeups of the network thread are `wake.rs`'s
//! business; this file only says when one is due.
//!
//! A waiter first spins for up to `WAIT_SPIN` (checking the queue, yielding the CPU in
//! between) if events were published in the last `WAIT_SPIN_WHEN_WITHIN`: while traffic
//! is frequent the next event usually comes within microseconds, and catching it
//! without parking saves both the network thread's futex call and our wakeup. A waiter
//! on a quiet peer parks at once and uses no CPU.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use crossbeam_queue::ArrayQueue;
use parking_lot::{Condvar, Mutex};

use super::clock;
use super::netsim::SimConfig;
use super::pool::PooledBuf;
use super::types::PeerEvent;
use super::wake::AppPoll;
use crate::proto::{ConnId, ConnStats, ConnectOptions, EndpointStats, Receipt, SendOptions};

/// An application request, carried to the network thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// `Endpoint::connect_with` with an id allocated by the application thread.
    Connect {
        /// Already in the registry as `Connecting`.
        conn: ConnId,
        /// Where to.
        addr: SocketAddr,
        /// Password to present.
        password: Vec<u8>,
        /// Probe count, spacing and timeout of this attempt (boxed: rare, and large
        /// next to a send, which sets the size of every queue slot).
        opts: Box<ConnectOptions>,
    },
    /// `Endpoint::send_with_receipt` with a copy of the message.
    Send {
        /// On which connection.
        conn: ConnId,
        /// The message (its buffer goes back to the pool when the command is done).
        data: PooledBuf,
        /// How.
        opts: SendOptions,
        /// Serial allocated by the application thread.
        receipt: Receipt,
    },
    /// `Endpoint::close`.
    Close {
        /// Which connection.
        conn: ConnId,
        /// Send DISCONNECTION_NOTIFICATION first.
        notify: bool,
    },
    /// `Endpoint::ping`.
    Ping {
        /// Whom to ping.
        addr: SocketAddr,
        /// Ask for an answer only if the remote system has free slots.
        open_connections_only: bool,
    },
    /// `Endpoint::set_offline_data`.
    SetOfflineData(Vec<u8>),
    /// `Endpoint::set_max_incoming`.
    SetMaxIncoming(u32),
    /// Replaces the network simulator's model of a direction (`None` = unchanged):
    /// datagrams leaving the endpoint, then those arriving from the socket (boxed as
    /// `Connect`'s options are).
    SetSimulator(Box<(Option<SimConfig>, Option<SimConfig>)>),
    /// `Endpoint::add_ban` (the pattern's syntax was checked by the caller).
    Ban {
        /// IPv4 with `*` octets, or an IPv6 address.
        pattern: String,
        /// `None`: until removed.
        duration: Option<Duration>,
    },
    /// `Endpoint::remove_ban`.
    Unban(String),
    /// `Endpoint::clear_bans`.
    ClearBans,
    /// `Endpoint::set_conn_timeout`.
    SetConnTimeout {
        /// Which connection or attempt.
        conn: ConnId,
        /// Its new timeout.
        timeout: Duration,
    },
    /// `Endpoint::advertise`.
    Advertise {
        /// To whom.
        addr: SocketAddr,
        /// At most 398 bytes.
        data: Vec<u8>,
    },
    /// A question only the network thread can answer; the answer goes to `reply`.
    Query {
        /// What is asked.
        query: Query,
        /// Where the answer goes (a dropped sender tells the asker the thread is gone).
        reply: SyncSender<Answer>,
    },
    /// Panics on the network thread (tests of the failure path).
    InjectPanic,
}

/// A question for the network thread (`Peer::conn_stats`, `Peer::endpoint_stats`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Query {
    /// A statistics snapshot of one connection.
    ConnStats(ConnId),
    /// The endpoint's counters and its number of connections and attempts.
    EndpointStats,
}

/// The network thread's answer to a [`Query`].
#[derive(Debug)]
pub(crate) enum Answer {
    /// `None`: the connection has not reached the connected-mode handshake, or is gone.
    ConnStats(Option<Box<ConnStats>>),
    /// Counters and the connection count.
    EndpointStats(Box<EndpointStats>, usize),
}

/// Application → network commands.
pub(crate) type CommandQueue = ArrayQueue<Command>;

/// A command queue of `capacity` slots (at least one).
pub(crate) fn command_queue(capacity: usize) -> CommandQueue {
    ArrayQueue::new(capacity.max(1))
}

/// Longest spin of a waiter before it parks.
const WAIT_SPIN: Duration = Duration::from_micros(50);
/// Spin only if events were published at most this long ago.
const WAIT_SPIN_WHEN_WITHIN: Duration = Duration::from_millis(1);

/// Network → application events, with blocking waits for application threads.
#[derive(Debug)]
pub(crate) struct EventQueue {
    queue: ArrayQueue<PeerEvent>,
    /// When events were last published (µs of `clock::now`, 0 = never).
    last_publish: AtomicU64,
    /// Application threads inside `wait` (the network thread notifies only if > 0).
    waiters: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
    /// The network thread holds events it could not push: a `pop` should wake it.
    backlogged: AtomicBool,
    /// The application thread that polls the socket while it waits (`wake.rs`).
    pub(crate) poller: AppPoll,
}

impl EventQueue {
    /// A queue of `capacity` slots (at least one).
    pub(crate) fn new(capacity: usize) -> std::io::Result<EventQueue> {
        Ok(EventQueue {
            queue: ArrayQueue::new(capacity.max(1)),
            last_publish: AtomicU64::new(0),
            waiters: AtomicUsize::new(0),
            lock: Mutex::new(()),
            cond: Condvar::new(),
            backlogged: AtomicBool::new(false),
            poller: AppPoll::new()?,
        })
    }

    /// Slots in the queue.
    pub(crate) fn capacity(&self) -> usize {
        self.queue.capacity()
    }

    /// Network thread: appends an event, or hands it back if the queue is full.
    /// Waiters are not notified until `notify_waiters`.
    pub(crate) fn push(&self, ev: PeerEvent) -> Result<(), PeerEvent> {
        self.queue.push(ev)
    }

    /// Whether the queue has no free slot.
    pub(crate) fn is_full(&self) -> bool {
        self.queue.is_full()
    }

    /// Wakes application threads blocked in `wait` after events were pushed or the
    /// state `wait`'s `take` checks changed. Costs one fence and a load when nobody waits.
    pub(crate) fn notify_waiters(&self) {
        self.last_publish
            .store(clock::now().as_micros(), Ordering::Relaxed);
        // Pairs with the fence in `wait`: either the waiter sees the new state in its
        // `take` (made under the lock), or we see its registration here and notify after
        // taking the lock, which it holds until it is parked.
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::Relaxed) > 0 {
            let _guard = self.lock.lock();
            self.cond.notify_all();
        }
        self.poller.notify();
    }

    /// Application thread: the next event, if any.
    pub(crate) fn pop(&self) -> Option<PeerEvent> {
        self.queue.pop()
    }

    /// Application thread, right after a successful `pop`: whether the network thread
    /// holds overflow events and must be woken (`Waker::wake`) to refill the queue.
    pub(crate) fn is_backlogged(&self) -> bool {
        // Pairs with the fence in `Waker::sleep`, which the network thread passes after
        // publishing the flag and before checking `is_full`: either it sees our pop and
        // does not sleep, or we see the flag here and wake it.
        fence(Ordering::SeqCst);
        self.backlogged.load(Ordering::Relaxed)
    }

    fn set_backlogged(&self, on: bool) {
        if self.backlogged.load(Ordering::Relaxed) != on {
            self.backlogged.store(on, Ordering::Relaxed);
        }
    }

    /// Application thread: calls `take` until it returns something or `timeout` passes.
    /// `take` is retried whenever the network thread calls `notify_waiters`.
    pub(crate) fn wait<T>(
        &self,
        timeout: Duration,
        mut take: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        if let Some(v) = take() {
            return Some(v);
        }
        let start = clock::now();
        let deadline = start + timeout;
        let last = self.last_publish.load(Ordering::Relaxed);
        if start.as_micros().saturating_sub(last) <= WAIT_SPIN_WHEN_WITHIN.as_micros() as u64 {
            let end = deadline.min(start + WAIT_SPIN);
            loop {
                std::thread::yield_now();
                if let Some(v) = take() {
                    return Some(v);
                }
                if clock::now() >= end {
                    break;
                }
            }
        }
        self.waiters.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let mut guard = self.lock.lock();
        let result = loop {
            if let Some(v) = take() {
                break Some(v);
            }
            let now = clock::now();
            if now >= deadline {
                break None;
            }
            self.cond.wait_for(&mut guard, deadline - now);
        };
        drop(guard);
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        result
    }
}

/// Network thread side of the event queue: never drops an event.
#[derive(Debug, Default)]
pub(crate) struct EventOutbox {
    overflow: VecDeque<PeerEvent>,
    pushed: bool,
}

impl EventOutbox {
    /// Delivers `ev` after every event held back earlier.
    pub(crate) fn deliver(&mut self, queue: &EventQueue, ev: PeerEvent) {
        if self.overflow.is_empty() {
            match queue.push(ev) {
                Ok(()) => self.pushed = true,
                Err(ev) => self.overflow.push_back(ev),
            }
        } else {
            self.overflow.push_back(ev);
        }
    }

    /// Moves held-back events into the queue while it has room.
    pub(crate) fn refill(&mut self, queue: &EventQueue) {
        while let Some(ev) = self.overflow.pop_front() {
            if let Err(ev) = queue.push(ev) {
                self.overflow.push_front(ev);
                break;
            }
            self.pushed = true;
        }
    }

    /// End of a pass: refills, publishes the backlog state and wakes waiters if anything
    /// was pushed since the last call.
    pub(crate) fn publish(&mut self, queue: &EventQueue) {
        self.refill(queue);
        queue.set_backlogged(!self.overflow.is_empty());
        if std::mem::take(&mut self.pushed) {
            queue.notify_waiters();
        }
    }

    /// Events held back.
    pub(crate) fn len(&self) -> usize {
        self.overflow.len()
    }

    /// Whether some events are held back.
    pub(crate) fn is_empty(&self) -> bool {
        self.overflow.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{DisconnectReason, Event};
    use std::sync::Arc;

    fn ev(n: u64) -> PeerEvent {
        PeerEvent::Net(Event::Disconnected {
            conn: ConnId(n),
            addr: "127.0.0.1:1".parse().unwrap(),
            reason: DisconnectReason::TimedOut,
        })
    }

    #[test]
    fn full_command_queue_refuses_without_blocking() {
        let q = command_queue(2);
        let cmd = || Command::SetOfflineData(Vec::new());
        assert!(q.push(cmd()).is_ok());
        assert!(q.push(cmd()).is_ok());
        assert!(q.push(cmd()).is_err());
    }

    #[test]
    fn overflow_keeps_order_and_loses_nothing() {
        let q = EventQueue::new(2).unwrap();
        let mut out = EventOutbox::default();
        for n in 1..=5 {
            out.deliver(&q, ev(n));
        }
        out.publish(&q);
        assert_eq!(out.len(), 3);
        assert!(q.is_backlogged());
        let mut got = Vec::new();
        while let Some(e) = q.pop() {
            got.push(e);
        }
        // A new event queues behind the backlog, never ahead of it.
        out.deliver(&q, ev(6));
        for _ in 0..3 {
            out.publish(&q);
            while let Some(e) = q.pop() {
                got.push(e);
            }
        }
        assert!(!q.is_backlogged() || out.is_empty());
        assert_eq!(got, (1..=6).map(ev).collect::<Vec<_>>());
        out.publish(&q);
        assert!(!q.is_backlogged());
    }

    #[test]
    fn wait_times_out() {
        let q = EventQueue::new(4).unwrap();
        let t0 = clock::now();
        assert_eq!(q.wait(Duration::from_millis(20), || q.pop()), None);
        assert!(clock::now() - t0 >= Duration::from_millis(20));
    }

    #[test]
    fn wait_returns_when_an_event_is_published() {
        let q = Arc::new(EventQueue::new(4).unwrap());
        let q2 = q.clone();
        let waiter = std::thread::spawn(move || q2.wait(Duration::from_secs(10), || q2.pop()));
        // Publish repeatedly until the waiter has it: correct whether it registered first
        // or not, and never sleeps.
        let mut out = EventOutbox::default();
        out.deliver(&q, ev(7));
        out.publish(&q);
        let t0 = clock::now();
        assert_eq!(waiter.join().unwrap(), Some(ev(7)));
        assert!(clock::now() - t0 < Duration::from_secs(5));
    }

    #[test]
    fn waiters_see_a_state_change_published_without_events() {
        let q = Arc::new(EventQueue::new(4).unwrap());
        let flag = Arc::new(AtomicBool::new(false));
        let (q2, f2) = (q.clone(), flag.clone());
        let waiter = std::thread::spawn(move || {
            q2.wait(Duration::from_secs(10), || {
                f2.load(Ordering::Relaxed).then_some(())
            })
        });
        flag.store(true, Ordering::Relaxed);
        q.notify_waiters();
        assert_eq!(waiter.join().unwrap(), Some(()));
    }
}

#[cfg(test)]
mod size {
    /// Every command slot is as large as the largest variant: keep it near a send's
    /// (whose small messages are inline, `pool.rs`).
    #[test]
    fn commands_stay_small() {
        assert!(std::mem::size_of::<super::Command>() <= 104);
    }
}
