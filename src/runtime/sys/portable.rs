//! Every platform but Linux (macOS, the BSDs, Windows, ...): the network thread sleeps in
//! the `polling` crate (kqueue, IOCP/AFD, event ports, `poll`), which also brings the
//! wakeup (`Poller::notify`), so there is no descriptor of our own to write. Batches are
//! loops of single `recv_from`/`send_to` calls (`batch.rs`).
//!
//! The Linux extras are capabilities that answer "not available": an application
//! thread cannot take over reading the socket (`set_app_reading` returns false, and
//! `Peer::wait_event` waits on the event queue), and there is no timer in the poll set
//! (`arm_timer` returns false, and `Waker::wake_at` wakes the thread at once).
//!
//! `polling` registers a socket in one-shot mode: after an event the socket must be
//! armed again, which `prepare` does before every sleep with the interest of that
//! sleep, so readiness behaves as level-triggered (a datagram left unread wakes the
//! next sleep at once). A registered socket must leave the poller before it is closed:
//! the network thread calls `release` when it stops, while the peer still holds the
//! socket.
#![allow(clippy::disallowed_types)]

use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use polling::{Event, Events, Poller};

use super::batch::{recv_each, send_each, RecvBatch, SendBatch};
use super::socket::Socket;
use super::{Interest, RawSock, Woken};

/// The key of the socket in the poller (the poller keeps `usize::MAX` for itself).
const SOCKET_KEY: usize = 0;
/// How long a sleep may last while the socket could not be armed (it is then looked at
/// after each such nap instead of when it is ready).
const UNARMED_NAP: Duration = Duration::from_millis(1);

/// Nothing to remember about a socket here.
#[derive(Debug)]
pub(crate) struct Caps;

impl Caps {
    /// Tests: the plain paths (they are the only ones here).
    #[cfg(test)]
    pub(super) fn without_fast_paths(&self) {}
}

/// After `bind`: on Windows, ICMP port-unreachable stops surfacing as `WSAECONNRESET`
/// on later receives (`windows.rs`).
pub(super) fn tune(sock: &UdpSocket) -> io::Result<Caps> {
    // Best effort: without it a reset after an ICMP error is still only skipped
    // (`socket.rs` classifies it as transient).
    #[cfg(windows)]
    let _ = super::windows::tune(sock);
    #[cfg(not(windows))]
    let _ = sock;
    Ok(Caps)
}

/// One `recv_from` per datagram.
pub(super) fn recv_batch(socket: &Socket, batch: &mut RecvBatch) -> io::Result<()> {
    recv_each(&socket.sock, batch, is_truncated)
}

/// One `send_to`: the first pending datagram.
pub(super) fn send_batch(socket: &Socket, batch: &SendBatch) -> io::Result<usize> {
    send_each(socket, batch)
}

/// Whether a receive failed because the datagram was larger than the buffer (Windows;
/// elsewhere it is cut short, which `recv_each` sees from its length).
fn is_truncated(e: &io::Error) -> bool {
    #[cfg(windows)]
    return super::windows::is_truncated(e);
    #[cfg(not(windows))]
    {
        let _ = e;
        false
    }
}

/// The socket as the poller borrows it.
#[cfg(unix)]
fn borrow(raw: RawSock) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: only registered sockets are borrowed, and a registered socket stays open
    // until `Sleeper::release` takes it out (the network thread releases it when it
    // stops, while the peer still holds the socket); the borrow ends with the call.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) }
}

/// The socket as the poller borrows it.
#[cfg(windows)]
fn borrow(raw: RawSock) -> std::os::windows::io::BorrowedSocket<'static> {
    // SAFETY: as for Unix above: the socket is open while it is registered.
    unsafe { std::os::windows::io::BorrowedSocket::borrow_raw(raw) }
}

/// The network thread's sleep: a poller with the socket in it.
#[derive(Debug)]
pub(crate) struct Sleeper {
    poller: Poller,
    /// Network thread only (a mutex merely to keep `Sleeper` `Sync`).
    events: Mutex<Events>,
    /// The socket in the poller, if any.
    registered: Mutex<Option<RawSock>>,
    /// `notify` was called since the last poll.
    notified: AtomicBool,
}

/// What one sleep polls, from [`Sleeper::prepare`].
#[derive(Copy, Clone, Debug)]
pub(crate) struct Prepared {
    /// The socket is wanted but could not be armed: nap instead.
    unarmed: bool,
}

impl Sleeper {
    pub(crate) fn new() -> io::Result<Sleeper> {
        Ok(Sleeper {
            poller: Poller::new()?,
            events: Mutex::new(Events::new()),
            registered: Mutex::new(None),
            notified: AtomicBool::new(false),
        })
    }

    /// Any thread: ends the current or the next poll.
    pub(crate) fn notify(&self) {
        self.notified.store(true, Ordering::Release);
        // A failure leaves the thread asleep until its deadline; polling's notify only
        // fails if the OS refuses to post to the port, which the loop cannot mend.
        let _ = self.poller.notify();
    }

    /// Network thread, before it announces its sleep: arms the socket for `interest`.
    pub(crate) fn prepare(&self, socket: Option<RawSock>, interest: Interest) -> Prepared {
        let Some(raw) = socket else {
            return Prepared { unarmed: false };
        };
        let event = Event::new(SOCKET_KEY, interest.read, interest.write);
        let mut registered = self.registered.lock();
        let armed = match *registered {
            Some(r) if r == raw => self.poller.modify(borrow(raw), event).is_ok(),
            _ => {
                if let Some(old) = registered.take() {
                    let _ = self.poller.delete(borrow(old));
                }
                // SAFETY: the socket is open now and is deleted from the poller before
                // it is closed (`release`, called by the network thread when it stops).
                let added = unsafe { self.poller.add(raw, event) }.is_ok();
                if added {
                    *registered = Some(raw);
                }
                added
            }
        };
        Prepared {
            unarmed: !armed && (interest.read || interest.write),
        }
    }

    /// Network thread: waits for the socket, a notification or the timeout.
    pub(crate) fn poll(&self, p: Prepared, timeout: Option<Duration>) -> Woken {
        let timeout = if p.unarmed {
            Some(timeout.map_or(UNARMED_NAP, |t| t.min(UNARMED_NAP)))
        } else {
            timeout
        };
        let mut events = self.events.lock();
        events.clear();
        // An error (interrupted, out of resources) counts as a timeout: the loop runs a
        // pass and sleeps again.
        let _ = self.poller.wait(&mut events, timeout);
        let mut woken = Woken::default();
        for ev in events.iter().filter(|ev| ev.key == SOCKET_KEY) {
            // Errors count as readable so the loop reads (and clears) them.
            let err = ev.is_err().unwrap_or(false);
            woken.readable |= ev.readable || err;
            woken.writable |= ev.writable;
        }
        woken.notified = self.notified.swap(false, Ordering::AcqRel);
        woken
    }

    /// Network thread, after the sleep: nothing left to read (`poll` consumed the
    /// notification).
    pub(crate) fn finish(&self, _woken: Woken) {}

    /// Not available here: the application thread waits on the event queue.
    pub(crate) fn set_app_reading(&self, _on: bool) -> bool {
        false
    }

    /// Not available here: the caller wakes the thread at once.
    pub(crate) fn arm_timer(&self, _after: Duration) -> bool {
        false
    }

    /// Network thread, when it stops: takes the socket out of the poller before the
    /// peer closes it.
    pub(crate) fn release(&self) {
        if let Some(raw) = self.registered.lock().take() {
            let _ = self.poller.delete(borrow(raw));
        }
    }
}

/// The wake side of an application thread waiting for events. Since `set_app_reading`
/// is not available here, it never polls the socket: `wait` sleeps until `notify` or
/// the timeout, on a condition variable.
#[derive(Debug, Default)]
pub(crate) struct AppWaiter {
    notified: Mutex<bool>,
    cond: Condvar,
}

impl AppWaiter {
    pub(crate) fn new() -> io::Result<AppWaiter> {
        Ok(AppWaiter::default())
    }

    /// Any thread: ends the current or the next `wait`.
    pub(crate) fn notify(&self) {
        *self.notified.lock() = true;
        self.cond.notify_one();
    }

    /// Sleeps until `notify` or `timeout`; the socket is not polled here, so it never
    /// reports it readable.
    pub(crate) fn wait(&self, _socket: RawSock, timeout: Duration) -> bool {
        let mut notified = self.notified.lock();
        if !*notified {
            let _ = self.cond.wait_for(&mut notified, timeout);
        }
        *notified = false;
        false
    }
}
