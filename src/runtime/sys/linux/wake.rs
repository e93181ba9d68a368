//! Linux and Android: how the network thread sleeps and how it is woken, below the
//! portable wakeup protocol of `runtime/wake.rs`.
//!
//! The thread sleeps in `ppoll` (microsecond timeouts, which `epoll_wait` would round to
//! milliseconds) on two descriptors: an `eventfd` that `Sleeper::notify` writes, and,
//! instead of the UDP socket itself, an epoll set holding it ([`SocketArm`]). An
//! application thread waiting in `Peer::wait_event` may read the socket itself; the
//! network thread must then not be woken by the same datagram, and a `poll` already
//! under way cannot be changed, but an `epoll_ctl` on the set applies at once to a
//! sleeper: the waiting thread turns the read interest off while it polls and back on
//! when it stops, and level triggering then wakes the network thread for anything left
//! unread. A `timerfd` in the same set lets an application thread whose pass brought a
//! deadline forward have the sleeper woken when it is due rather than now.
//! [`AppWaiter`] is the waiting application thread's own eventfd and `ppoll`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::runtime::sys::{Interest, Woken};

/// The network thread's sleep: the wake descriptor and the socket's epoll set.
#[derive(Debug)]
pub(crate) struct Sleeper {
    fd: WakeFd,
    arm: SocketArm,
}

/// What to poll for one sleep, from [`Sleeper::prepare`].
#[derive(Copy, Clone, Debug)]
pub(crate) struct Prepared {
    socket: Option<RawFd>,
    interest: Interest,
}

impl Sleeper {
    pub(crate) fn new() -> io::Result<Sleeper> {
        Ok(Sleeper {
            fd: WakeFd::new()?,
            arm: SocketArm::new()?,
        })
    }

    /// Any thread: ends the current or the next sleep.
    pub(crate) fn notify(&self) {
        self.fd.notify();
    }

    /// Network thread, before it announces its sleep: records what it wants from
    /// `socket` and returns what to poll (the epoll set, or the socket itself if epoll
    /// failed).
    pub(crate) fn prepare(&self, socket: Option<RawFd>, interest: Interest) -> Prepared {
        let (socket, interest) = self.arm.proxy(socket, interest);
        Prepared { socket, interest }
    }

    /// Network thread: polls what `prepare` returned and the wake descriptor.
    pub(crate) fn poll(&self, p: Prepared, timeout: Option<Duration>) -> Woken {
        poll(p.socket, p.interest, self.fd.raw(), timeout)
    }

    /// Network thread, after the sleep flag is down again: reads an expired timer and
    /// the notification, so that neither ends the next sleep.
    pub(crate) fn finish(&self, woken: Woken) {
        self.arm.clear_expired_timer();
        if woken.notified {
            self.fd.drain();
        }
    }

    /// Application thread: stops (`true`) or resumes (`false`) waking the network
    /// thread for datagrams, while this thread polls the socket itself. False (and
    /// nothing changed) if the epoll call failed or the network thread has not slept yet.
    pub(crate) fn set_app_reading(&self, on: bool) -> bool {
        self.arm.set_app_reading(on)
    }

    /// Application thread: ends the sleep after `after` without ending it now; false
    /// if the timer was refused.
    pub(crate) fn arm_timer(&self, after: Duration) -> bool {
        self.arm.arm_timer(after)
    }

    /// Network thread, when it stops: nothing to do (closing the socket takes it out
    /// of the epoll set).
    pub(crate) fn release(&self) {}
}

/// The wake descriptor of an application thread that polls the socket while it waits
/// for events (`Peer::wait_event`).
#[derive(Debug)]
pub(crate) struct AppWaiter {
    fd: WakeFd,
}

impl AppWaiter {
    pub(crate) fn new() -> io::Result<AppWaiter> {
        Ok(AppWaiter { fd: WakeFd::new()? })
    }

    /// Any thread: ends the current or the next `wait`.
    pub(crate) fn notify(&self) {
        self.fd.notify();
    }

    /// Sleeps until `socket` is readable, `notify` is called or `timeout` passes.
    /// Returns whether the socket is readable.
    pub(crate) fn wait(&self, socket: RawFd, timeout: Duration) -> bool {
        let interest = Interest {
            read: true,
            write: false,
        };
        let woken = poll(Some(socket), interest, self.fd.raw(), Some(timeout));
        if woken.notified {
            self.fd.drain();
        }
        woken.readable
    }
}

/// `poll` on the socket (if any) and the wake descriptor.
fn poll(
    socket: Option<RawFd>,
    interest: Interest,
    wake: RawFd,
    timeout: Option<Duration>,
) -> Woken {
    let mut events: libc::c_short = 0;
    if interest.read {
        events |= libc::POLLIN;
    }
    if interest.write {
        events |= libc::POLLOUT;
    }
    let mut fds = [
        libc::pollfd {
            fd: wake,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            // A negative descriptor is ignored by poll.
            fd: socket.filter(|_| events != 0).unwrap_or(-1),
            events,
            revents: 0,
        },
    ];
    let n = sys_poll(&mut fds, timeout);
    if n <= 0 {
        // Timeout, or EINTR/ENOMEM: the loop runs a pass and sleeps again.
        return Woken::default();
    }
    let sock = fds[1].revents;
    // Errors and hangups count as readable so the loop reads (and clears) them.
    let bad = libc::POLLERR | libc::POLLHUP | libc::POLLNVAL;
    Woken {
        notified: fds[0].revents != 0,
        readable: sock & (libc::POLLIN | bad) != 0,
        writable: sock & (libc::POLLOUT | bad) != 0,
    }
}

fn sys_poll(fds: &mut [libc::pollfd; 2], timeout: Option<Duration>) -> libc::c_int {
    // ppoll takes a timespec: microsecond deadlines without rounding to milliseconds.
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: d.subsec_nanos().into(),
    });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), std::ptr::from_ref);
    // SAFETY: `fds` is a valid array of two pollfd for the whole call and its length is
    // passed; `ts_ptr` is null or points to a timespec alive until the call returns; a
    // null signal mask leaves the mask unchanged.
    unsafe { libc::ppoll(fds.as_mut_ptr(), 2, ts_ptr, std::ptr::null()) }
}

/// The network thread's socket inside an epoll set, whose events the thread polls
/// instead of the socket's (Linux; the file's docs say why).
#[derive(Debug)]
struct SocketArm {
    epoll: OwnedFd,
    state: parking_lot::Mutex<ArmState>,
    /// A timer in the same set, armed by application threads whose pass brought a
    /// deadline forward (`Waker::wake_at`): the thread wakes when it is due, not now.
    timer: OwnedFd,
    /// The timer may be armed or expired and not yet read.
    timer_set: AtomicBool,
}

#[derive(Debug, Default)]
struct ArmState {
    /// The socket in the set (-1: none yet).
    socket: RawFd,
    /// What the network thread last asked for.
    net: Interest,
    /// An application thread polls the socket for reading.
    app_reading: bool,
    /// The events mask in the set.
    mask: u32,
}

impl SocketArm {
    fn new() -> io::Result<SocketArm> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative result is a new
        // descriptor.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created, is valid and owned by nothing else.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: timerfd_create takes no pointers; a non-negative result is a new
        // descriptor.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above.
        let timer = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: 1,
        };
        // SAFETY: both descriptors are open; `ev` is a valid epoll_event for the call.
        if unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(SocketArm {
            epoll,
            state: parking_lot::Mutex::new(ArmState {
                socket: -1,
                ..ArmState::default()
            }),
            timer,
            timer_set: AtomicBool::new(false),
        })
    }

    /// Arms the timer to expire after `after` (at least 1 µs); false if refused.
    fn arm_timer(&self, after: Duration) -> bool {
        let after = after.max(Duration::from_micros(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: after.subsec_nanos().into(),
            },
        };
        // SAFETY: the descriptor is open; `spec` is a valid itimerspec; the old value
        // is not asked for (null).
        let ok = unsafe {
            libc::timerfd_settime(self.timer.as_raw_fd(), 0, &spec, std::ptr::null_mut()) == 0
        };
        // After arming, so that `clear_expired_timer` can never see the flag down while
        // an armed timer's expiry is left unread (which would keep the set readable).
        self.timer_set.store(true, Ordering::Release);
        ok
    }

    /// Network thread, after a sleep: reads an expired timer so that it stops making
    /// the set readable (a system call only while a timer is set).
    fn clear_expired_timer(&self) {
        // Down before reading: a timer armed meanwhile raises it again after arming,
        // and re-arming resets the expiry count, so no expiry is left unread with the
        // flag down (at worst the thread polls once more before it sees the flag).
        if !self.timer_set.swap(false, Ordering::Acquire) {
            return;
        }
        let mut expirations = 0u64;
        // SAFETY: the descriptor is open and nonblocking; 8 writable bytes are passed.
        let n = unsafe {
            libc::read(
                self.timer.as_raw_fd(),
                std::ptr::from_mut(&mut expirations).cast::<libc::c_void>(),
                8,
            )
        };
        if n != 8 {
            // Not expired yet: still armed.
            self.timer_set.store(true, Ordering::Relaxed);
        }
    }

    /// Network thread, before it polls: records what it wants from `socket` and returns
    /// what to poll instead (the epoll set, readable when the socket has what the set
    /// asks for). Falls back to the socket itself if epoll fails.
    fn proxy(&self, socket: Option<RawFd>, interest: Interest) -> (Option<RawFd>, Interest) {
        let Some(fd) = socket else {
            return (None, interest);
        };
        let mut st = self.state.lock();
        st.net = interest;
        if self.apply(&mut st, fd) {
            let any = Interest {
                read: true,
                write: false,
            };
            (Some(self.epoll.as_raw_fd()), any)
        } else {
            (socket, interest)
        }
    }

    /// See `Waker::set_app_reading`.
    fn set_app_reading(&self, on: bool) -> bool {
        let mut st = self.state.lock();
        if st.socket < 0 {
            return false; // the network thread has not slept yet
        }
        let was = st.app_reading;
        st.app_reading = on;
        let socket = st.socket;
        if self.apply(&mut st, socket) {
            true
        } else {
            st.app_reading = was;
            false
        }
    }

    /// Brings the set in line with `st`; false if epoll refused.
    fn apply(&self, st: &mut ArmState, socket: RawFd) -> bool {
        let mut mask = 0u32;
        if st.net.read && !st.app_reading {
            mask |= libc::EPOLLIN as u32;
        }
        if st.net.write {
            mask |= libc::EPOLLOUT as u32;
        }
        if st.socket == socket && st.mask == mask {
            return true;
        }
        let op = if st.socket == socket {
            libc::EPOLL_CTL_MOD
        } else {
            libc::EPOLL_CTL_ADD
        };
        let mut ev = libc::epoll_event {
            events: mask,
            u64: 0,
        };
        // SAFETY: both descriptors are open; `ev` is a valid epoll_event for the call.
        let r = unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, socket, &mut ev) };
        if r != 0 {
            return false;
        }
        st.socket = socket;
        st.mask = mask;
        true
    }
}

/// The wake descriptor, an `eventfd`: readable from `notify` until `drain`.
#[derive(Debug)]
struct WakeFd {
    fd: OwnedFd,
}

impl WakeFd {
    fn new() -> io::Result<WakeFd> {
        // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created, is valid and owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(WakeFd { fd })
    }

    fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Makes the descriptor readable. A full counter already is readable, so a failed
    /// write (EAGAIN) loses nothing.
    fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: the descriptor is open for `self`'s life; the source is a live u64 and
        // the 8 bytes an eventfd requires are written from it.
        let _ = unsafe {
            libc::write(
                self.raw(),
                std::ptr::from_ref(&one).cast::<libc::c_void>(),
                8,
            )
        };
    }

    /// Clears readability: one read empties an eventfd.
    fn drain(&self) {
        let mut buf = [0u8; 8];
        // SAFETY: the descriptor is open and nonblocking; `buf` is writable for its full
        // length, which is passed.
        let _ = unsafe {
            libc::read(
                self.raw(),
                buf.as_mut_ptr().cast::<libc::c_void>(),
                buf.len(),
            )
        };
    }
}
