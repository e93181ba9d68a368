//! The library's one logging facade (STYLE §7): everything the runtime reports goes
//! through a [`Logger`], which forwards it to the application's sink (the C log callback,
//! through `ffi/`) and otherwise discards it. The library never prints.
//!
//! What is logged, all from the peer's network thread: the peer's start and stop,
//! connection lifecycle (connected, disconnected, attempts failed or refused), ban-list
//! changes, server-side refusals and dropped traffic as rate-limited summaries
//! ([`TrafficSummary`]), and a network-thread panic with its message.
//!
//! Panic messages. Rust's default panic hook prints to stderr, and the library's panics
//! (bugs) are caught: on the network thread (the peer fails) and in every C export (the
//! call returns `RAK_RESULT_INTERNAL`). [`quietly`] runs such code with a thread-local
//! flag set, and a hook installed once per process ([`install_quiet_hook`]) keeps the
//! message for the logger instead of printing it *only while that flag is set on the
//! panicking thread*. Every other panic goes to the hook that was installed before, so
//! the application's own panics and hooks behave as they did. An application that
//! installs its own hook after the library's replaces it; then library panics reach the
//! application's hook (the library still survives them).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Once};
use std::time::Duration;

use crate::proto::{
    ConnectFailure, DisconnectReason, DropCounters, EndpointStats, Event, RefusalCounters, Time,
};

/// How important a log message is; lower is more important.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum LogLevel {
    /// The peer cannot go on (its network thread failed).
    Error = 1,
    /// Something went wrong that the peer survives (dropped traffic, a refused ban).
    Warn = 2,
    /// Lifecycle: start, stop, connections, refusals.
    Info = 3,
    /// Detail: bans changed, commands the core refused.
    Debug = 4,
}

impl LogLevel {
    /// The level for a number 1 to 4.
    pub fn from_u32(v: u32) -> Option<LogLevel> {
        match v {
            1 => Some(LogLevel::Error),
            2 => Some(LogLevel::Warn),
            3 => Some(LogLevel::Info),
            4 => Some(LogLevel::Debug),
            _ => None,
        }
    }
}

/// Where log messages go: called with the level and the text (one line, no newline).
pub type LogSink = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

/// Log lines of passes run on application threads, waiting for the network thread.
pub(crate) type DeferredLogs = crossbeam_queue::SegQueue<(LogLevel, String)>;

/// A sink and the least important level it wants. The default logs nothing.
#[derive(Clone, Default)]
pub struct Logger {
    sink: Option<LogSink>,
    max: Option<LogLevel>,
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("on", &self.sink.is_some())
            .field("max", &self.max)
            .finish()
    }
}

impl Logger {
    /// Sends messages of `min_level` and more important ones to `sink`.
    pub fn new(sink: LogSink, min_level: LogLevel) -> Logger {
        Logger {
            sink: Some(sink),
            max: Some(min_level),
        }
    }

    /// Whether a message of `level` would go anywhere (check before formatting).
    pub(crate) fn enabled(&self, level: LogLevel) -> bool {
        self.sink.is_some() && self.max.is_some_and(|m| level <= m)
    }

    /// A logger with the same level that queues its messages in `queue` instead of
    /// calling the sink (for passes run on application threads; the network thread
    /// forwards them with `forward`). Logs nothing if `self` logs nothing.
    pub(crate) fn deferred_to(&self, queue: Arc<DeferredLogs>) -> Logger {
        if self.sink.is_none() {
            return Logger::default();
        }
        Logger {
            sink: Some(Arc::new(move |level, text: &str| {
                queue.push((level, text.to_owned()))
            })),
            max: self.max,
        }
    }

    /// Hands an already formatted message to the sink (level checked when it was made).
    pub(crate) fn forward(&self, level: LogLevel, text: &str) {
        if let Some(sink) = &self.sink {
            let _ = catch_unwind(AssertUnwindSafe(|| sink(level, text)));
        }
    }

    /// Formats and forwards a message if its level is enabled. A sink that panics is
    /// ignored: logging never takes the peer down.
    pub(crate) fn log(&self, level: LogLevel, args: fmt::Arguments<'_>) {
        if let (Some(sink), true) = (&self.sink, self.enabled(level)) {
            let text = args.to_string();
            let _ = catch_unwind(AssertUnwindSafe(|| sink(level, &text)));
        }
    }
}

/// `log!(logger, Level, "format", args...)`: formats only when the level is enabled.
macro_rules! log {
    ($logger:expr, $level:ident, $($arg:tt)+) => {
        $crate::runtime::log::Logger::log(
            &$logger,
            $crate::runtime::log::LogLevel::$level,
            format_args!($($arg)+),
        )
    };
}
pub(crate) use log;

/// Logs the connection lifecycle an event reports (nothing for other events).
pub(crate) fn log_event(log: &Logger, ev: &Event) {
    if !log.enabled(LogLevel::Warn) {
        return; // nothing below would be logged
    }
    match ev {
        Event::Connected {
            conn,
            addr,
            guid,
            incoming,
        } => log!(
            log,
            Info,
            "connected conn={:x} addr={addr} guid={guid:016x} {}",
            conn.0,
            if *incoming { "incoming" } else { "outgoing" }
        ),
        Event::ConnectFailed { conn, addr, reason } => match reason {
            ConnectFailure::NoResponse | ConnectFailure::Cancelled => log!(
                log,
                Info,
                "connection to {addr} failed: conn={:x} {reason:?}",
                conn.0
            ),
            _ => log!(
                log,
                Info,
                "connection to {addr} refused: conn={:x} {reason:?}",
                conn.0
            ),
        },
        Event::Disconnected { conn, addr, reason } => {
            if *reason == DisconnectReason::TimedOut {
                log!(log, Warn, "connection lost conn={:x} addr={addr}", conn.0);
            } else {
                log!(
                    log,
                    Info,
                    "disconnected conn={:x} addr={addr} reason={reason:?}",
                    conn.0
                );
            }
        }
        Event::SecurityAlert {
            conn,
            addr,
            forged,
            replayed,
        } => log!(
            log,
            Warn,
            "secure conn={:x} addr={addr}: dropped datagrams that failed authentication (total {forged}) or were replays (total {replayed})",
            conn.0
        ),
        Event::Message { .. }
        | Event::Receipt { .. }
        | Event::Pong { .. }
        | Event::Advertise { .. } => {}
    }
}

/// How often, at most, the dropped-traffic and refusal summaries are logged.
const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// Turns the endpoint's refusal and drop counters into at most one summary line of each
/// kind per [`SUMMARY_INTERVAL`]: the first change after a quiet interval is logged on
/// the next pass, later ones wait for the interval to end. A flood of malformed or
/// refused traffic thus costs a line per interval, not a line per datagram.
#[derive(Debug)]
pub(crate) struct TrafficSummary {
    dropped: DropCounters,
    refused: RefusalCounters,
    /// Earliest time of the next refusal summary.
    next_refused: Time,
    /// Earliest time of the next dropped-traffic summary.
    next_dropped: Time,
}

impl TrafficSummary {
    pub(crate) fn new() -> TrafficSummary {
        TrafficSummary {
            dropped: DropCounters::default(),
            refused: RefusalCounters::default(),
            next_refused: Time::ZERO,
            next_dropped: Time::ZERO,
        }
    }

    /// Logs what changed since the last summaries if the interval allows. Returns the
    /// time at which a held-back change may be logged (for the network thread's sleep).
    pub(crate) fn update(
        &mut self,
        log: &Logger,
        now: Time,
        stats: &EndpointStats,
    ) -> Option<Time> {
        let mut due: Option<Time> = None;
        if log.enabled(LogLevel::Info) && stats.refused != self.refused {
            if now < self.next_refused {
                due = Some(self.next_refused);
            } else {
                log_refused(log, &stats.refused, &self.refused);
                self.refused = stats.refused.clone();
                self.next_refused = now + SUMMARY_INTERVAL;
            }
        }
        if log.enabled(LogLevel::Warn) && stats.dropped != self.dropped {
            if now < self.next_dropped {
                due = Some(due.map_or(self.next_dropped, |d| d.min(self.next_dropped)));
            } else {
                log_dropped(log, &stats.dropped, &self.dropped);
                self.dropped = stats.dropped.clone();
                self.next_dropped = now + SUMMARY_INTERVAL;
            }
        }
        due
    }
}

fn log_refused(log: &Logger, n: &RefusalCounters, o: &RefusalCounters) {
    let parts = [
        ("server full", n.server_full - o.server_full),
        ("invalid password", n.invalid_password - o.invalid_password),
        (
            "incompatible protocol version",
            n.incompatible_protocol - o.incompatible_protocol,
        ),
        (
            "already connected",
            n.already_connected - o.already_connected,
        ),
        (
            "ip recently connected",
            n.ip_recently_connected - o.ip_recently_connected,
        ),
        (
            "secure mode required",
            n.security_required - o.security_required,
        ),
        (
            "client key required",
            n.client_key_required - o.client_key_required,
        ),
        (
            "without the anti-spoofing cookie (a client that ignores \
             OPEN_CONNECTION_REPLY_1's security flag cannot connect while cookies are on)",
            n.missing_cookie - o.missing_cookie,
        ),
    ];
    log!(
        log,
        Info,
        "refused {} connection attempt(s): {}",
        n.total() - o.total(),
        list(&parts)
    );
}

fn log_dropped(log: &Logger, n: &DropCounters, o: &DropCounters) {
    let parts = [
        ("malformed offline", n.bad_offline - o.bad_offline),
        (
            "bad datagram header",
            n.bad_datagram_header - o.bad_datagram_header,
        ),
        ("malformed ack/nak", n.bad_ack_nak - o.bad_ack_nak),
        ("malformed frame", n.bad_frame - o.bad_frame),
        ("unknown source", n.unknown_source - o.unknown_source),
        ("banned source", n.banned - o.banned),
        ("bad cookie", n.bad_cookie - o.bad_cookie),
        ("answer rate limited", n.rate_limited - o.rate_limited),
        (
            "answer larger than request",
            n.amplification - o.amplification,
        ),
        (
            "offline queue full",
            n.offline_queue_full - o.offline_queue_full,
        ),
        ("unsolicited", n.unsolicited - o.unsolicited),
        (
            "other out-of-band",
            n.out_of_band_ignored - o.out_of_band_ignored,
        ),
        ("event queue full", n.event_queue_full - o.event_queue_full),
        ("oversize", n.oversize - o.oversize),
        (
            "from an ignored abusive source",
            n.ignored_abusive - o.ignored_abusive,
        ),
        (
            "over the receive budget (left unacknowledged)",
            n.over_receive_budget - o.over_receive_budget,
        ),
    ];
    let total: u64 = parts.iter().map(|(_, v)| v).sum();
    log!(
        log,
        Warn,
        "dropped {total} datagram(s) or answer(s): {}",
        list(&parts)
    );
}

/// "3 malformed frame, 1 bad cookie": the non-zero counts.
fn list(parts: &[(&str, u64)]) -> String {
    let mut out = String::new();
    for (name, n) in parts.iter().filter(|(_, n)| *n > 0) {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&format!("{n} {name}"));
    }
    out
}

thread_local! {
    /// Set while library code that catches its panics runs on this thread.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The last panic message caught while `QUIET` was set.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once per process, the hook that keeps quiet panics off stderr (see the
/// file's docs). Does nothing on a thread that is panicking (the hook cannot change then).
pub(crate) fn install_quiet_hook() {
    static INSTALL: Once = Once::new();
    if std::thread::panicking() {
        return;
    }
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let quiet = QUIET.try_with(Cell::get).unwrap_or(false);
            if !quiet {
                return previous(info);
            }
            let _ = LAST_PANIC.try_with(|p| {
                if let Ok(mut p) = p.try_borrow_mut() {
                    *p = Some(info.to_string().replace('\n', " "));
                }
            });
        }));
    });
}

/// Runs `f` with this thread's panics kept quiet (the caller catches them).
pub(crate) fn quietly<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = QUIET.try_with(|q| q.set(self.0));
        }
    }
    let _restore = Restore(QUIET.with(|q| q.replace(true)));
    f()
}

/// The message of the last quiet panic on this thread, if any (and forgets it).
pub(crate) fn take_panic_message() -> Option<String> {
    LAST_PANIC
        .try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.take()))
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    type Lines = Arc<Mutex<Vec<(LogLevel, String)>>>;

    fn capture() -> (Logger, Lines) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = lines.clone();
        let sink: LogSink = Arc::new(move |level, text: &str| {
            l2.lock().unwrap().push((level, text.to_owned()));
        });
        (Logger::new(sink, LogLevel::Info), lines)
    }

    #[test]
    fn levels_filter_before_formatting() {
        let (log, lines) = capture();
        log!(log, Debug, "hidden {}", 1);
        log!(log, Warn, "shown {}", 2);
        assert_eq!(
            *lines.lock().unwrap(),
            vec![(LogLevel::Warn, "shown 2".into())]
        );
        assert!(!Logger::default().enabled(LogLevel::Error));
        assert_eq!(LogLevel::from_u32(0), None);
        assert_eq!(LogLevel::from_u32(4), Some(LogLevel::Debug));
    }

    #[test]
    fn summaries_are_rate_limited() {
        let (log, lines) = capture();
        let mut sum = TrafficSummary::new();
        let mut stats = EndpointStats::default();
        let t = |ms| Time::from_millis(ms);
        assert_eq!(sum.update(&log, t(1000), &stats), None);
        stats.dropped.bad_frame = 3;
        assert_eq!(sum.update(&log, t(1000), &stats), None);
        stats.dropped.bad_frame = 5;
        assert_eq!(sum.update(&log, t(2000), &stats), Some(t(11_000)));
        // Refusals have their own interval.
        stats.refused.server_full = 2;
        assert_eq!(sum.update(&log, t(3000), &stats), Some(t(11_000)));
        assert_eq!(sum.update(&log, t(11_000), &stats), None);
        let lines = lines.lock().unwrap();
        assert_eq!(
            *lines,
            vec![
                (
                    LogLevel::Warn,
                    "dropped 3 datagram(s) or answer(s): 3 malformed frame".into()
                ),
                (
                    LogLevel::Info,
                    "refused 2 connection attempt(s): 2 server full".into()
                ),
                (
                    LogLevel::Warn,
                    "dropped 2 datagram(s) or answer(s): 2 malformed frame".into()
                ),
            ]
        );
    }

    #[test]
    fn cookie_less_requests_are_summarized_with_the_reason() {
        let (log, lines) = capture();
        let mut sum = TrafficSummary::new();
        let mut stats = EndpointStats::default();
        stats.refused.missing_cookie = 3;
        stats.dropped.bad_cookie = 3;
        sum.update(&log, Time::from_millis(1000), &stats);
        let lines = lines.lock().unwrap();
        assert!(
            lines.iter().any(|(l, t)| *l == LogLevel::Info
                && t.starts_with(
                    "refused 3 connection attempt(s): 3 without the anti-spoofing cookie"
                )
                && t.contains("security flag")),
            "{lines:?}"
        );
    }

    #[test]
    fn quiet_panics_are_kept_not_printed() {
        install_quiet_hook();
        let r = std::panic::catch_unwind(|| quietly(|| panic!("kept {}", 42)));
        assert!(r.is_err());
        let msg = take_panic_message().unwrap();
        assert!(msg.contains("kept 42"), "{msg}");
        assert_eq!(take_panic_message(), None);
    }
}
