//! How the network thread sleeps and how application threads wake it: all wakeup logic
//! of the runtime lives here.
//!
//! The thread sleeps on two things (`sys::Sleeper`): its UDP socket and a wake descriptor
//! (on Linux an `eventfd` and `ppoll`, elsewhere the portable poller's own notification).
//! An application thread that has
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
//! **An application thread may take over the socket** where the system layer can
//! (`Sleeper::set_app_reading`, Linux only; `sys/linux/wake.rs` says how): while it
//! waits for an event in `Peer::wait_event`, it polls the socket itself and runs the
//! pass that a datagram calls for, so a round trip costs one wakeup per side, as with a
//! blocking UDP socket, instead of two (socket → network thread → application).
//! [`AppPoll`] is the waiting application thread's own wake descriptor, written when
//! events are published for it. Elsewhere the application thread waits on the event
//! queue as usual.

#[cfg(all(loom, test))]
use loom::sync::atomic::{fence, AtomicBool, Ordering};
use std::io;
#[cfg(not(all(loom, test)))]
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::time::Duration;

use super::clock;
use super::sys::{AppWaiter, RawSock, Sleeper};
pub(crate) use super::sys::{Interest, Woken};
use crate::proto::Time;

/// Longest spin before blocking. Zero (off) for now: on two CPUs the spinning network
/// thread took CPU from the application thread feeding it and cut T1 throughput by a
/// third, while the application-side spin (`queues.rs`) alone gave the same T2 gain.
/// Re-measure on an unloaded host before turning it on.
const SPIN: Duration = Duration::ZERO;
/// Spin only if the last two activities (a datagram, a wakeup, pending work) were at
/// most this far apart, and the last one at most this long ago.
const SPIN_WHEN_WITHIN: Duration = Duration::from_millis(1);

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
    /// The descriptor side: the socket, the notification, the timer where there is one.
    sleeper: Sleeper,
    /// Network thread only (atomics merely to keep `Waker` `Sync`): µs of the last
    /// two activities that ended a sleep, for the spin decision.
    activity: [std::sync::atomic::AtomicU64; 2],
    #[cfg(test)]
    notifications: std::sync::atomic::AtomicUsize,
    /// A `wake_at` found no timer and woke the thread at once instead: the timer the
    /// driver recorded for it (`Driver::timer_armed`) does not exist.
    timer_missing: AtomicBool,
    /// Tests: `wake_at` behaves as where the system layer has no timer.
    #[cfg(test)]
    timers_refused: AtomicBool,
}

impl Waker {
    /// A waker with its own wake descriptor.
    pub(crate) fn new() -> io::Result<Waker> {
        Ok(Waker {
            flag: SleepFlag::new(),
            sleeper: Sleeper::new()?,
            activity: Default::default(),
            #[cfg(test)]
            notifications: std::sync::atomic::AtomicUsize::new(0),
            timer_missing: AtomicBool::new(false),
            #[cfg(test)]
            timers_refused: AtomicBool::new(false),
        })
    }

    /// Makes sure the network thread notices work made visible before this call: wakes
    /// it if it sleeps or is about to; does nothing (no system call) if it is running.
    pub(crate) fn wake(&self) {
        if self.flag.take_sleeper() {
            #[cfg(test)]
            self.notifications
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.sleeper.notify();
        }
    }

    /// Application thread: stops (`true`) or resumes (`false`) waking the network
    /// thread for datagrams, while this thread polls the socket itself. Returns false
    /// if that is not possible here (the system layer cannot, or its call failed), in
    /// which case nothing changed.
    pub(crate) fn set_app_reading(&self, on: bool) -> bool {
        self.sleeper.set_app_reading(on)
    }

    /// Application thread: makes sure the network thread is awake by `at` (it may be
    /// asleep with a later deadline). Where the system layer has a timer in the poll set
    /// (Linux) this happens without waking it now; elsewhere, or if the timer is refused,
    /// it is woken at once (the caller has made `has_work` true for that case), and its
    /// next whole pass learns from `take_timer_missing` that no timer is armed. Returns
    /// whether it was woken now.
    pub(crate) fn wake_at(&self, at: Time) -> bool {
        #[cfg(test)]
        let refused = self.timers_refused.load(Ordering::Relaxed);
        #[cfg(not(test))]
        let refused = false;
        if !refused && self.sleeper.arm_timer(at.saturating_since(clock::now())) {
            return false;
        }
        // Before the wakeup, so that the pass it brings sees it.
        self.timer_missing.store(true, Ordering::Release);
        self.wake();
        true
    }

    /// Network thread, in a whole pass: whether a `wake_at` since the last call woke
    /// the thread instead of arming a timer (so no timer is armed for it).
    pub(crate) fn take_timer_missing(&self) -> bool {
        self.timer_missing.load(Ordering::Relaxed)
            && self.timer_missing.swap(false, Ordering::Acquire)
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
        socket: Option<RawSock>,
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
        let prepared = self.sleeper.prepare(socket, interest);
        if !self.flag.announce(has_work) {
            self.note_activity();
            return Woken::default();
        }
        let woken = self.sleeper.poll(prepared, timeout);
        self.flag.woke();
        self.sleeper.finish(woken);
        if woken != Woken::default() {
            self.note_activity();
        }
        woken
    }

    /// Polls without blocking until `end`: `Some` as soon as there is work or the socket
    /// is ready, `None` if nothing came.
    fn spin(
        &self,
        socket: Option<RawSock>,
        interest: Interest,
        end: Time,
        has_work: &impl Fn() -> bool,
    ) -> Option<Woken> {
        loop {
            if has_work() {
                return Some(Woken::default());
            }
            let prepared = self.sleeper.prepare(socket, interest);
            let woken = self.sleeper.poll(prepared, Some(Duration::ZERO));
            if woken != Woken::default() {
                self.sleeper.finish(woken);
                return Some(woken);
            }
            if clock::now() >= end {
                return None;
            }
            // Two CPUs and four busy threads in a round trip: let the others run.
            std::thread::yield_now();
        }
    }

    /// Network thread, when it stops for good: the system layer forgets the socket
    /// (the portable poller must, before the socket is closed).
    pub(crate) fn release_socket(&self) {
        self.sleeper.release();
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

    /// Tests: from now on `wake_at` finds no timer, as on every platform but Linux.
    #[cfg(test)]
    pub(crate) fn refuse_timers(&self) {
        self.timers_refused.store(true, Ordering::Relaxed);
    }

    #[cfg(all(test, not(loom)))]
    fn notifications(&self) -> usize {
        self.notifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The wake descriptor of an application thread that polls the socket while it waits
/// for events (`Peer::wait_event`): the network thread writes it when it publishes
/// events while `polling` is set. The same fence pattern as `SleepFlag`'s guarantees
/// that an event published while the waiter registers is seen by one side or the other.
#[derive(Debug)]
pub(crate) struct AppPoll {
    fd: AppWaiter,
    polling: AtomicBool,
}

impl AppPoll {
    pub(crate) fn new() -> io::Result<AppPoll> {
        Ok(AppPoll {
            fd: AppWaiter::new()?,
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
    pub(crate) fn wait(&self, socket: RawSock, timeout: Duration) -> bool {
        self.fd.wait(socket, timeout)
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
