//! How the network thread sleeps and how application threads wake it: all wakeup logic
//! of the runtime lives here.
//!
//! The thread sleeps in `poll` on two descriptors: its UDP socket and a wake descriptor
//! (an `eventfd` on Linux, a pipe on other Unix systems). An application thread that has
//! just made work visible (pushed a command, freed room in the event queue, asked for a
//! shutdown) calls [`Waker::wake`], which costs a system call only when the thread has
//! announced that it is (about to be) asleep; a busy thread picks the work up on its next
//! pass for the price of one fence and one atomic load.
//!
//! No wakeup is lost. This is Dekker's pattern, with a `SeqCst` fence on each side:
//!
//! ```text
//! app thread                         network thread
//! make work visible (queue push)     sleeping = true
//! fence(SeqCst)                      fence(SeqCst)
//! if sleeping: notify the fd         if work visible: cancel the sleep, else poll()
//! ```
//!
//! Whichever fence comes first in the single `SeqCst` order, the other side sees the
//! preceding write: either the app thread sees `sleeping` and writes the descriptor
//! (which makes `poll` return at once, even if written before `poll` starts), or the
//! network thread sees the work and does not sleep. The `swap` in `wake` makes sure only
//! one of several racing app threads pays for the write. This file does not know what
//! "work" is: the caller passes that check in.
//!
//! The flag and fences live in [`SleepFlag`], apart from the descriptor, so a loom model
//! (`tests_loom` below) can check them under every interleaving with a modelled
//! descriptor: `RUSTFLAGS="--cfg loom" cargo test --release --lib wake`.
//!
//! Waking a blocked thread costs a system call on the waking side and several
//! microseconds of scheduling on the woken side, and a round trip through a peer pays
//! that up to four times. So while traffic is frequent (two activities less than
//! `SPIN_WHEN_WITHIN` apart) the thread first polls for up to `SPIN` without blocking:
//! `has_work` and a zero-timeout `poll`, yielding the CPU between checks. The flag is not
//! raised during the spin, so wakers skip their system call, and the spin only adds
//! checks before the protocol above, which stays as it is. A peer without frequent
//! traffic never spins, so an idle peer uses no CPU.

//!
//! **An application thread may take over the socket** (Linux): while it waits for an
//! event in `Peer::wait_event`, it polls the socket itself and runs the pass that a
//! datagram calls for, so a round trip costs one wakeup per side, as with a blocking
//! UDP socket, instead of two (socket → network thread → application). The network
//! thread must then not be woken by the same datagram, and a `poll` already under way
//! cannot be changed; so on Linux the thread does not poll the socket directly but an
//! epoll descriptor that holds it ([`SocketArm`]). The application thread turns the
//! read interest in that set off while it polls (`epoll_ctl`, which applies at once to
//! a sleeper) and back on when it stops; level triggering then wakes the thread for
//! anything left unread. The thread's `poll` keeps microsecond timeouts, which
//! `epoll_wait` would round to milliseconds. [`AppPoll`] is the waiting application
//! thread's own wake descriptor, written when events are published for it.

#[cfg(all(loom, test))]
use loom::sync::atomic::{fence, AtomicBool, Ordering};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
#[cfg(not(all(loom, test)))]
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::time::Duration;

use super::clock;
use crate::proto::Time;

/// Longest spin before blocking. Zero (off) for now: on two CPUs the spinning network
/// thread took CPU from the application thread feeding it and cut T1 throughput by a
/// third, while the application-side spin (`queues.rs`) alone gave the same T2 gain.
/// Re-measure on an unloaded host before turning it on.
const SPIN: Duration = Duration::ZERO;
/// Spin only if the last two activities (a datagram, a wakeup, pending work) were at
/// most this far apart, and the last one at most this long ago.
const SPIN_WHEN_WITHIN: Duration = Duration::from_millis(1);

/// Which socket conditions should end the sleep.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Interest {
    /// A datagram can be read.
    pub(crate) read: bool,
    /// The send buffer has room again.
    pub(crate) write: bool,
}

/// Why the sleep ended (several may hold; all false after a timeout or cancelled sleep).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Woken {
    /// The socket is readable.
    pub(crate) readable: bool,
    /// The socket is writable.
    pub(crate) writable: bool,
    /// An application thread called `wake`.
    pub(crate) notified: bool,
}

/// The `sleeping` flag and both sides' fences of the pattern above, without the
/// descriptor.
#[derive(Debug)]
struct SleepFlag {
    sleeping: AtomicBool,
}

impl SleepFlag {
    fn new() -> SleepFlag {
        SleepFlag {
            sleeping: AtomicBool::new(false),
        }
    }

    /// Waking side, after the work is visible: whether this caller must notify the
    /// descriptor (the thread sleeps or is about to, and no other waker took the job).
    fn take_sleeper(&self) -> bool {
        fence(Ordering::SeqCst);
        self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::AcqRel)
    }

    /// Sleeping side: announces the sleep, then checks for work; false (and the flag
    /// cleared) if there is some and the sleep is cancelled.
    fn announce(&self, has_work: impl FnOnce() -> bool) -> bool {
        // A swap rather than a store: as an RMW it is ordered after every waker's swap,
        // which loom's model of modification order only sees for RMWs (with a plain
        // store loom reports a lost wakeup that C11 forbids). Once per sleep; no cost
        // worth measuring.
        self.sleeping.swap(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if has_work() {
            self.sleeping.store(false, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Sleeping side, after the sleep ended. Relaxed: a waker that still sees `true`
    /// merely writes one extra notification, which ends the next sleep early; the loop
    /// tolerates spurious wakeups.
    fn woke(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }
}

/// The network thread's alarm clock, shared with application threads.
#[derive(Debug)]
pub(crate) struct Waker {
    flag: SleepFlag,
    fd: WakeFd,
    /// What the network thread's socket wakes it for (Linux).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    arm: SocketArm,
    /// Network thread only (atomics merely to keep `Waker` `Sync`): µs of the last
    /// two activities that ended a sleep, for the spin decision.
    activity: [std::sync::atomic::AtomicU64; 2],
    #[cfg(test)]
    notifications: std::sync::atomic::AtomicUsize,
}

impl Waker {
    /// A waker with its own wake descriptor.
    pub(crate) fn new() -> io::Result<Waker> {
        Ok(Waker {
            flag: SleepFlag::new(),
            fd: WakeFd::new()?,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            arm: SocketArm::new()?,
            activity: Default::default(),
            #[cfg(test)]
            notifications: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Makes sure the network thread notices work made visible before this call: wakes
    /// it if it sleeps or is about to; does nothing (no system call) if it is running.
    pub(crate) fn wake(&self) {
        if self.flag.take_sleeper() {
            #[cfg(test)]
            self.notifications
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.fd.notify();
        }
    }

    /// Application thread, Linux: stops (`true`) or resumes (`false`) waking the network
    /// thread for datagrams, while this thread polls the socket itself. Returns false
    /// if that is not possible here (not Linux, or the epoll call failed), in which case
    /// nothing changed.
    pub(crate) fn set_app_reading(&self, on: bool) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return self.arm.set_app_reading(on);
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = on;
            false
        }
    }

    /// Application thread: makes sure the network thread is awake by `at` (it may be
    /// asleep with a later deadline). On Linux a timer in its poll set does this without
    /// waking it now; elsewhere, or if the timer is refused, it is woken at once (the
    /// caller has made `has_work` true for that case). Returns whether it was woken now.
    pub(crate) fn wake_at(&self, at: Time) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.arm.arm_timer(at.saturating_since(clock::now())) {
            return false;
        }
        let _ = at;
        self.wake();
        true
    }

    /// Whether the network thread has announced a sleep (a hint: it may be waking).
    pub(crate) fn is_asleep(&self) -> bool {
        self.flag.sleeping.load(Ordering::Relaxed)
    }

    /// Network thread only: sleeps until `socket` meets `interest`, `wake` is called, or
    /// `timeout` passes (`None` = no deadline). `has_work` runs after the thread has
    /// announced its sleep; if it returns true the sleep is cancelled. It must check
    /// every condition an application thread calls `wake` for. While traffic is
    /// frequent, a bounded spin comes first (see the file's docs).
    pub(crate) fn sleep(
        &self,
        socket: Option<RawFd>,
        interest: Interest,
        timeout: Option<Duration>,
        has_work: impl Fn() -> bool,
    ) -> Woken {
        if timeout == Some(Duration::ZERO) {
            return Woken::default();
        }
        let start = clock::now();
        if !SPIN.is_zero() && self.traffic_is_frequent(start) {
            let budget = timeout.map_or(SPIN, |t| t.min(SPIN));
            if let Some(woken) = self.spin(socket, interest, start + budget, &has_work) {
                self.note_activity();
                return woken;
            }
            if timeout.is_some_and(|t| t <= SPIN) {
                return Woken::default();
            }
        }
        let timeout = timeout.map(|t| t.saturating_sub(clock::now().saturating_since(start)));
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let (socket, interest) = self.arm.proxy(socket, interest);
        if !self.flag.announce(has_work) {
            self.note_activity();
            return Woken::default();
        }
        let woken = poll(socket, interest, self.fd.raw(), timeout);
        self.flag.woke();
        #[cfg(any(target_os = "linux", target_os = "android"))]
        self.arm.clear_expired_timer();
        if woken.notified {
            self.fd.drain();
        }
        if woken != Woken::default() {
            self.note_activity();
        }
        woken
    }

    /// Polls without blocking until `end`: `Some` as soon as there is work or the socket
    /// is ready, `None` if nothing came.
    fn spin(
        &self,
        socket: Option<RawFd>,
        interest: Interest,
        end: Time,
        has_work: &impl Fn() -> bool,
    ) -> Option<Woken> {
        loop {
            if has_work() {
                return Some(Woken::default());
            }
            let woken = poll(socket, interest, self.fd.raw(), Some(Duration::ZERO));
            if woken != Woken::default() {
                if woken.notified {
                    self.fd.drain();
                }
                return Some(woken);
            }
            if clock::now() >= end {
                return None;
            }
            // Two CPUs and four busy threads in a round trip: let the others run.
            std::thread::yield_now();
        }
    }

    fn note_activity(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let now = clock::now().as_micros();
        self.activity[0].store(self.activity[1].load(Relaxed), Relaxed);
        self.activity[1].store(now, Relaxed);
    }

    fn traffic_is_frequent(&self, now: Time) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let within = SPIN_WHEN_WITHIN.as_micros() as u64;
        let (prev, last) = (
            self.activity[0].load(Relaxed),
            self.activity[1].load(Relaxed),
        );
        prev != 0
            && last.saturating_sub(prev) <= within
            && now.as_micros().saturating_sub(last) <= within
    }

    #[cfg(all(test, not(loom)))]
    fn notifications(&self) -> usize {
        self.notifications
            .load(std::sync::atomic::Ordering::Relaxed)
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

#[cfg(any(target_os = "linux", target_os = "android"))]
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

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn sys_poll(fds: &mut [libc::pollfd; 2], timeout: Option<Duration>) -> libc::c_int {
    // Round up: waking a little late is harmless, waking early spins.
    let ms = match timeout {
        None => -1,
        Some(d) => {
            let ms = d.as_micros().div_ceil(1000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    };
    // SAFETY: `fds` is a valid array of two pollfd for the whole call and its length is passed.
    unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) }
}

/// The network thread's socket inside an epoll set, whose events the thread polls
/// instead of the socket's (Linux; the file's docs say why).
#[cfg(any(target_os = "linux", target_os = "android"))]
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

#[cfg(any(target_os = "linux", target_os = "android"))]
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

#[cfg(any(target_os = "linux", target_os = "android"))]
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

/// The wake descriptor of an application thread that polls the socket while it waits
/// for events (`Peer::wait_event`): the network thread writes it when it publishes
/// events while `polling` is set. The same fence pattern as `SleepFlag`'s guarantees
/// that an event published while the waiter registers is seen by one side or the other.
#[derive(Debug)]
pub(crate) struct AppPoll {
    fd: WakeFd,
    polling: AtomicBool,
}

impl AppPoll {
    pub(crate) fn new() -> io::Result<AppPoll> {
        Ok(AppPoll {
            fd: WakeFd::new()?,
            polling: AtomicBool::new(false),
        })
    }

    /// Application thread: becomes the one poller (false if another thread is).
    pub(crate) fn begin(&self) -> bool {
        if self.polling.swap(true, Ordering::Relaxed) {
            return false;
        }
        fence(Ordering::SeqCst);
        true
    }

    /// Application thread, while it runs a pass itself: events it publishes need no
    /// notification. Events come only from passes, which hold the network thread's
    /// state, so while this thread holds it nobody else publishes; between `pause` and
    /// taking the state, or between releasing it and `resume`, another pass may publish
    /// without notifying, which the caller's check of the queue after `resume` catches.
    pub(crate) fn pause(&self) {
        self.polling.store(false, Ordering::Relaxed);
    }

    /// Application thread, after its own pass: polling again (see `pause`).
    pub(crate) fn resume(&self) {
        self.polling.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// Application thread: stops polling. A notification that came after the last
    /// `wait` stays in the descriptor (no system call here, once per wait): the next
    /// poller's `wait` returns at once, drains it and finds the queue checked anyway.
    pub(crate) fn end(&self) {
        self.polling.store(false, Ordering::Relaxed);
    }

    /// Publishing side, after the events are in the queue: wakes the poller, if any.
    pub(crate) fn notify(&self) {
        fence(Ordering::SeqCst);
        if self.polling.load(Ordering::Relaxed) {
            self.fd.notify();
        }
    }

    /// Application thread, between `begin` and `end`: sleeps until `socket` is
    /// readable, `notify` is called or `timeout` passes. Returns whether the socket is
    /// readable.
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

/// The wake descriptor: readable from `notify` until `drain`.
#[derive(Debug)]
struct WakeFd {
    /// Polled and drained.
    read: OwnedFd,
    /// Written by `notify` (the same descriptor as `read` for an eventfd).
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    write: OwnedFd,
}

impl WakeFd {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn new() -> io::Result<WakeFd> {
        // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created, is valid and owned by nothing else.
        let read = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(WakeFd { read })
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn new() -> io::Result<WakeFd> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created and are owned by nothing else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        for fd in [&read, &write] {
            // SAFETY: `fd` is a valid open descriptor; these fcntl calls take no pointers.
            unsafe {
                let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        Ok(WakeFd { read, write })
    }

    fn raw(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    fn write_fd(&self) -> RawFd {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return self.read.as_raw_fd();
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        return self.write.as_raw_fd();
    }

    /// Makes the descriptor readable. A full counter/pipe already is readable, so a
    /// failed write (EAGAIN) loses nothing.
    fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: the descriptor is open for `self`'s life; the source is a live u64 and
        // 8 bytes are written from it (an eventfd requires exactly 8; a pipe accepts them).
        let _ = unsafe {
            libc::write(
                self.write_fd(),
                std::ptr::from_ref(&one).cast::<libc::c_void>(),
                8,
            )
        };
    }

    /// Clears readability (one read empties an eventfd; a pipe may need several).
    fn drain(&self) {
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: the descriptor is open and nonblocking; `buf` is writable for its
            // full length, which is passed.
            let n = unsafe {
                libc::read(
                    self.raw(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                )
            };
            if n < 8 || cfg!(any(target_os = "linux", target_os = "android")) {
                break;
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn timeout_ends_the_sleep() {
        let w = Waker::new().unwrap();
        let woken = w.sleep(
            None,
            Interest::default(),
            Some(Duration::from_millis(5)),
            || false,
        );
        assert_eq!(woken, Woken::default());
        assert_eq!(w.notifications(), 0);
    }

    #[test]
    fn waking_a_busy_thread_costs_no_notification() {
        let w = Waker::new().unwrap();
        for _ in 0..100 {
            w.wake();
        }
        assert_eq!(w.notifications(), 0);
    }

    #[test]
    fn pending_work_cancels_the_sleep() {
        let w = Waker::new().unwrap();
        let woken = w.sleep(None, Interest::default(), None, || true);
        assert_eq!(woken, Woken::default());
        // The flag was reset, so a later wake does not write.
        w.wake();
        assert_eq!(w.notifications(), 0);
    }

    #[test]
    fn a_notification_written_before_poll_is_not_lost() {
        let w = Waker::new().unwrap();
        // The app thread's wake lands between the announcement and poll(): simulated by
        // calling wake inside `has_work` and reporting no work.
        let woken = w.sleep(None, Interest::default(), None, || {
            w.wake();
            false
        });
        assert!(woken.notified);
        assert_eq!(w.notifications(), 1);
        // Drained: the next sleep waits for its timeout.
        let woken = w.sleep(
            None,
            Interest::default(),
            Some(Duration::from_millis(1)),
            || false,
        );
        assert!(!woken.notified);
    }

    #[test]
    fn no_lost_wakeups_under_contention() {
        // The sleeper consumes work items; producers push and wake. With no timeout,
        // any lost wakeup would hang this test.
        let w = Arc::new(Waker::new().unwrap());
        let work = Arc::new(AtomicUsize::new(0));
        const PER: usize = 5_000;
        const PRODUCERS: usize = 2;
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|_| {
                let (w, work) = (w.clone(), work.clone());
                std::thread::spawn(move || {
                    for _ in 0..PER {
                        work.fetch_add(1, Ordering::Relaxed);
                        w.wake();
                    }
                })
            })
            .collect();
        let mut done = 0;
        while done < PER * PRODUCERS {
            done += work.swap(0, Ordering::Relaxed);
            if done < PER * PRODUCERS {
                w.sleep(None, Interest::default(), None, || {
                    work.load(Ordering::Relaxed) != 0
                });
            }
        }
        for p in producers {
            p.join().unwrap();
        }
        assert!(w.notifications() <= PER * PRODUCERS);
    }
}

/// A loom model of the wake protocol: the real [`SleepFlag`], the descriptor modelled as
/// a readable bit behind a mutex and condition variable (`notify` sets it, `poll` waits
/// for it, `drain` clears it). A lost wakeup leaves the sleeper waiting forever after
/// the producers finish, which loom reports as a deadlock in that interleaving.
///
/// `RUSTFLAGS="--cfg loom" cargo test --release --lib wake`
#[cfg(all(test, loom))]
mod tests_loom {
    use super::SleepFlag;
    use loom::sync::atomic::{AtomicUsize, Ordering};
    use loom::sync::{Arc, Condvar, Mutex};

    #[derive(Default)]
    struct ModelFd {
        readable: Mutex<bool>,
        cond: Condvar,
    }

    impl ModelFd {
        fn notify(&self) {
            *self.readable.lock().unwrap() = true;
            self.cond.notify_one();
        }
        /// `poll` with no timeout and no socket: returns once readable.
        fn poll(&self) {
            let mut r = self.readable.lock().unwrap();
            while !*r {
                r = self.cond.wait(r).unwrap();
            }
        }
        fn drain(&self) {
            *self.readable.lock().unwrap() = false;
        }
    }

    struct Model {
        flag: SleepFlag,
        fd: ModelFd,
        work: AtomicUsize,
    }

    impl Model {
        fn wake(&self) {
            if self.flag.take_sleeper() {
                self.fd.notify();
            }
        }
        fn sleep(&self) {
            if !self
                .flag
                .announce(|| self.work.load(Ordering::Relaxed) != 0)
            {
                return;
            }
            self.fd.poll();
            self.flag.woke();
            self.fd.drain();
        }
    }

    /// `producers` threads each push `per` work items and wake; the sleeper consumes
    /// until it has them all, sleeping whenever it sees none.
    fn run(producers: usize, per: usize) {
        let mut model = loom::model::Builder::new();
        // Two preemptions cover the races here (a wake between announce and poll, two
        // wakers racing for the swap) and keep the run to seconds.
        model.preemption_bound = Some(2);
        model.check(move || {
            let m = Arc::new(Model {
                flag: SleepFlag::new(),
                fd: ModelFd::default(),
                work: AtomicUsize::new(0),
            });
            let handles: Vec<_> = (0..producers)
                .map(|_| {
                    let m = m.clone();
                    loom::thread::spawn(move || {
                        for _ in 0..per {
                            m.work.fetch_add(1, Ordering::Relaxed);
                            m.wake();
                        }
                    })
                })
                .collect();
            let mut done = 0;
            while done < producers * per {
                done += m.work.swap(0, Ordering::Relaxed);
                if done < producers * per {
                    m.sleep();
                }
            }
            for h in handles {
                h.join().unwrap();
            }
        });
    }

    #[test]
    fn loom_wake_one_producer_two_items() {
        run(1, 2);
    }

    #[test]
    fn loom_wake_two_producers() {
        run(2, 1);
    }
}
