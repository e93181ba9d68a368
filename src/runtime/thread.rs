//! The network thread (STYLE §4): a loop of whole passes of the [`Driver`]
//! (`driver.rs`), each followed by a sleep in `wake.rs` until the pass's deadline, a
//! datagram, or an application wakeup. Each pass runs under `catch_unwind`; a panic
//! marks the peer failed, is logged (never printed) and ends the thread.
//!
//! The driver lives behind a mutex shared with the peer, so that an application thread
//! may run part of a pass itself while this thread sleeps (`peer/caller.rs`: a sparse
//! send applied and transmitted at once spares the wakeup of this thread, which costs
//! more than the whole send on a loaded two-CPU host). This thread holds the lock only
//! during a pass and sleeps without it. Before it unlocks, the pass records the plan of
//! the sleep; an application thread whose pass changes that plan raises
//! `Shared::retune` or arms a timer and wakes it (`driver.rs`, `Retune`). Log lines of
//! passes run on application threads are written here, so the log callback keeps
//! running on the network thread only.

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::clock;
use super::driver::{forward_logs, Driver, DriverSlot, Pass, Plan};
use super::log::{log, quietly, take_panic_message, Logger};
use super::shared::{Shared, Stop};
use super::sys::RawSock;

/// The network thread: runs whole passes of the `Driver` in its slot and sleeps.
pub(crate) struct NetThread {
    shared: Arc<Shared>,
    driver: DriverSlot,
    /// The socket the thread sleeps on.
    socket: RawSock,
    local_addr: SocketAddr,
    guid: u64,
    log: Logger,
}

impl NetThread {
    /// The thread that will run `driver`, about to be stored in `slot`.
    pub(crate) fn new(shared: Arc<Shared>, slot: DriverSlot, driver: &Driver) -> NetThread {
        NetThread {
            shared,
            driver: slot,
            socket: driver.socket().raw(),
            local_addr: driver.socket().local_addr(),
            guid: driver.guid(),
            log: driver.logger().clone(),
        }
    }

    /// Runs the loop until a stop request is honoured or a pass panics. Panics on this
    /// thread are caught and logged, never printed (`log.rs`).
    pub(crate) fn run(self) {
        quietly(|| self.run_quietly());
    }

    fn run_quietly(self) {
        let shared = self.shared.clone();
        let log = self.log.clone();
        log!(
            log,
            Info,
            "peer started on {} guid={:016x}",
            self.local_addr,
            self.guid
        );
        loop {
            if shared.is_failed() {
                // A pass run on an application thread panicked (`Peer`).
                forward_logs(&shared, &log);
                break;
            }
            let pass = {
                let mut guard = self.driver.lock();
                match guard.as_mut() {
                    // Not after a pass on an application thread panicked (that thread
                    // marks the peer failed before it lets go of the state).
                    Some(driver) if !shared.is_failed() => {
                        Some(catch_unwind(AssertUnwindSafe(|| driver.pass())))
                    }
                    _ => None,
                }
            };
            let Some(pass) = pass else {
                forward_logs(&shared, &log);
                break;
            };
            match pass {
                Ok(Pass::Sleep(plan)) => self.sleep(plan),
                Ok(Pass::Stop) => {
                    log!(log, Info, "peer stopped");
                    break;
                }
                Err(_) => {
                    let why = take_panic_message().unwrap_or_else(|| "a panic".into());
                    log!(log, Error, "network thread failed: {why}");
                    shared.fail();
                    break;
                }
            }
        }
        // Tearing down the endpoint after a panic could panic again; the peer is already
        // failed or stopping, so swallow it rather than lose the thread's exit. Pending
        // commands go too, so that callers waiting for a query's answer learn of it.
        shared.waker.release_socket();
        let driver = self.driver.lock().take();
        let _ = catch_unwind(AssertUnwindSafe(move || drop(driver)));
        let _ = catch_unwind(AssertUnwindSafe(
            || while shared.commands.pop().is_some() {},
        ));
    }

    fn sleep(&self, plan: Plan) {
        let now = clock::now();
        let timeout = plan.deadline.map(|d| d - now);
        let shared = &self.shared;
        // Every condition an application thread calls `wake` for.
        let has_work = || {
            !shared.commands.is_empty()
                || shared.retune.load(Ordering::Relaxed)
                || (plan.backlog && !shared.events.is_full())
                || match shared.stop() {
                    Stop::No => false,
                    Stop::Flush(_) => !plan.flushing,
                    Stop::Now => true,
                }
        };
        shared
            .waker
            .sleep(Some(self.socket), plan.interest, timeout, has_work);
    }
}
