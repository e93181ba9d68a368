//! The caller-thread passes: `Peer` calls that run part of a pass of the network
//! thread's [`Driver`] (`driver.rs`) on the application's own thread, while the network
//! thread sleeps. A sparse send is applied and transmitted by the sending thread
//! (`serve_sparse_send`), and one thread waiting in `wait_event` polls the socket and
//! handles what arrives (`wait_polling`), each sparing a wakeup of the network thread.
//!
//! It owns the locking of the driver from this side, the hand-back to the sleeping
//! network thread (`Retune`, `Shared::retune`, `Waker::wake_at`) and the failure of
//! the peer when such a pass panics. It does not decide what a pass does: that is
//! `driver.rs`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::Duration;

use parking_lot::MutexGuard;

use super::{Peer, PeerError, PeerEvent};
use crate::runtime::clock;
use crate::runtime::driver::{Driver, Retune};
use crate::runtime::log::{quietly, take_panic_message, LogLevel};
use crate::runtime::queues::Command;
use crate::runtime::shared::Stop;

/// Sends at least this far apart (per peer) are applied and transmitted by the sending
/// thread when it can take the network thread's state at once (`Peer::send`): a round
/// trip's request or answer, a game's first send of a frame. Closer sends go through
/// the command queue so the network thread packs them into datagrams together.
const SPARSE_SEND_GAP: Duration = Duration::from_micros(5);

impl Peer {
    /// After a send was queued: if the network thread sleeps and sends on this peer are
    /// sparse (the gap is measured between sends that find it asleep), applies and
    /// transmits the queued commands on this thread (`driver.rs`), sparing the network
    /// thread's wakeup. Returns false if the caller must wake it as usual. Back-to-back
    /// sends are left to the network thread, which packs them into full datagrams.
    pub(super) fn serve_sparse_send(&self) -> bool {
        if !self.shared.waker.is_asleep() {
            // A running network thread picks the send up in its pass.
            return false;
        }
        let now = clock::now().as_micros();
        let last = self.shared.last_send.swap(now, Ordering::Relaxed);
        if now.saturating_sub(last) < SPARSE_SEND_GAP.as_micros() as u64
            || self.shared.stop() != Stop::No
        {
            return false;
        }
        let Some(guard) = self.driver.try_lock() else {
            return false;
        };
        match self.run_pass(guard, Driver::serve_commands) {
            None => false,
            Some(ok) => {
                if ok {
                    self.shared.sends_on_caller.fetch_add(1, Ordering::Relaxed);
                }
                true
            }
        }
    }

    /// `wait_event` polling the socket; `None` if this thread cannot be the poller (then
    /// nothing happened and the caller waits as usual).
    pub(super) fn wait_polling(&self, timeout: Duration) -> Option<Option<PeerEvent>> {
        let poller = &self.shared.events.poller;
        if self.shared.stop() != Stop::No || self.shared.is_failed() || !poller.begin() {
            return None;
        }
        if !self.shared.waker.set_app_reading(true) {
            poller.end();
            return None;
        }
        let deadline = clock::now() + timeout;
        let result = loop {
            if let Some(ev) = self.shared.take_event() {
                break Some(Some(ev));
            }
            let now = clock::now();
            if now >= deadline || self.shared.stop() != Stop::No {
                break Some(None);
            }
            // Level-triggered: a datagram that came before the poll began counts too.
            if poller.wait(self.socket.raw(), deadline - now) {
                poller.pause();
                let served = self.serve(|d| d.serve_socket());
                poller.resume();
                if !served {
                    break None; // the network thread has stopped or failed
                }
                self.shared
                    .receives_on_caller
                    .fetch_add(1, Ordering::Relaxed);
            }
        };
        self.shared.waker.set_app_reading(false);
        poller.end();
        match result {
            // Fall back to waiting for the network thread for the rest of the time.
            None => Some(
                self.shared
                    .events
                    .wait(deadline.saturating_since(clock::now()), || {
                        self.shared.take_event()
                    }),
            ),
            r => r,
        }
    }

    /// Runs `work` on the network thread's state on this thread (`driver.rs`), waiting
    /// for the lock. Returns false if the state is gone (stopped) or the work panicked
    /// (the peer has failed then).
    fn serve(&self, work: impl FnOnce(&mut Driver) -> Retune) -> bool {
        self.run_pass(self.driver.lock(), work) == Some(true)
    }

    /// Runs `work` on the locked state, then lets go of it and tells the network thread
    /// what changed (`retune`). `None`: not run (the state is gone, or failed);
    /// `Some(false)`: it panicked, the peer has failed and the network thread is woken
    /// to end; `Some(true)`: done.
    fn run_pass(
        &self,
        mut guard: MutexGuard<'_, Option<Driver>>,
        work: impl FnOnce(&mut Driver) -> Retune,
    ) -> Option<bool> {
        // A pass that panicked leaves the state to be torn down, not used.
        let driver = guard.as_mut().filter(|_| !self.shared.is_failed())?;
        match catch_unwind(AssertUnwindSafe(|| quietly(|| work(driver)))) {
            Ok(retune) => {
                drop(guard);
                self.retune(retune);
                Some(true)
            }
            Err(_) => {
                // Before letting go of the state, so that nobody runs a pass on it.
                self.inline_failed();
                drop(guard);
                self.shared.waker.wake();
                Some(false)
            }
        }
    }

    /// Tells the sleeping network thread what a pass run on this thread changed.
    fn retune(&self, retune: Retune) {
        if retune == Retune::No {
            return;
        }
        // Before waking it: a thread about to sleep then sees work and replans.
        self.shared.retune.store(true, Ordering::Relaxed);
        let woken = match retune {
            Retune::At(due) => self.shared.waker.wake_at(due),
            _ => {
                self.shared.waker.wake();
                true
            }
        };
        if woken {
            self.shared.retunes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A pass run on this thread panicked: the peer fails, as if the network thread had.
    /// Called while still holding the state; the caller wakes the network thread after
    /// letting go of it. The log line is queued before the failure is visible, because
    /// the network thread writes the queued lines and ends as soon as it sees it.
    fn inline_failed(&self) {
        let why = take_panic_message().unwrap_or_else(|| "a panic".into());
        self.shared
            .deferred_logs
            .push((LogLevel::Error, format!("network thread failed: {why}")));
        self.shared.fail();
    }

    /// As `inject_panic`, but the panic happens on the calling thread, in a pass it
    /// runs itself as `send` does for a sparse send. Not for production use.
    #[doc(hidden)]
    pub fn inject_panic_on_caller(&self) -> Result<(), PeerError> {
        self.check_running()?;
        self.shared
            .commands
            .push(Command::InjectPanic)
            .map_err(|_| PeerError::QueueFull)?;
        if !self.serve(|d| d.serve_commands()) {
            self.shared.waker.wake();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use crate::proto::{ConnId, Event, Reliability, SendOptions};
    use crate::runtime::{clock, Peer, PeerConfig, PeerEvent, SimConfig};

    const USER: u8 = 0x86;

    fn config(max_incoming: u32) -> PeerConfig {
        let mut c = PeerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..PeerConfig::default()
        };
        c.proto.max_incoming = max_incoming;
        c
    }

    /// The first event `pick` accepts, within 5 s (waiting on events, never sleeping).
    fn next<T>(peer: &Peer, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let end = clock::now() + Duration::from_secs(5);
        while clock::now() < end {
            if let Some(PeerEvent::Net(ev)) = peer.wait_event(Duration::from_millis(50)) {
                if let Some(v) = pick(&ev) {
                    return v;
                }
            }
        }
        panic!("no such event within 5 s");
    }

    fn message(peer: &Peer) -> (ConnId, Vec<u8>) {
        next(peer, |ev| match ev {
            Event::Message { conn, data, .. } => Some((*conn, data.to_vec())),
            _ => None,
        })
    }

    /// Where the system layer has no timer (every platform but Linux) or refuses one,
    /// a deadline that a send on the calling thread brings forward wakes the network
    /// thread at once instead. That must leave no record of a timer behind: a later
    /// send would count on it, and the network thread would sleep through the
    /// retransmission until its next own deadline (seconds).
    #[test]
    fn without_timers_a_send_on_the_caller_is_still_resent_promptly() {
        let server = Peer::start(config(1)).unwrap();
        let client = Peer::start(config(0)).unwrap();
        client.shared.waker.refuse_timers();
        let c_conn = client.connect(server.local_addr(), b"").unwrap();
        next(&client, |ev| {
            matches!(ev, Event::Connected { .. }).then_some(())
        });
        let how = SendOptions {
            reliability: Reliability::ReliableOrdered,
            ..SendOptions::default()
        };
        let mut s_conn = None;
        for i in 0..5u8 {
            client.send(c_conn, &[USER, i], how).unwrap();
            let (conn, data) = message(&server);
            assert_eq!(data, [USER, i]);
            s_conn = Some(conn);
        }
        let drop_all = SimConfig {
            loss: 1.0,
            ..SimConfig::OFF
        };
        server.set_simulator(None, Some(drop_all)).unwrap();
        assert!(server.wait_event(Duration::from_millis(50)).is_none());
        let inline = client.runtime_stats().sends_on_caller;
        client.send(c_conn, &[USER, 9], how).unwrap();
        assert_eq!(client.runtime_stats().sends_on_caller, inline + 1);
        assert!(server.wait_event(Duration::from_millis(300)).is_none());
        server.set_simulator(None, Some(SimConfig::OFF)).unwrap();
        let start = clock::now();
        assert_eq!(message(&server), (s_conn.unwrap(), vec![USER, 9]));
        let took = clock::now().saturating_since(start);
        assert!(took < Duration::from_millis(1000), "resent after {took:?}");
    }
}
