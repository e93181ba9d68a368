//! The network simulator inside the peer: a seeded link model per direction that drops,
//! delays, jitters, duplicates and reorders datagrams between the socket and the
//! endpoint, so that an application (and its players) can rehearse a bad network on a
//! good one. It ships in release builds and is off by default.
//!
//! The network thread owns at most one [`Link`] per direction. Outgoing datagrams from
//! `Endpoint::poll_transmit` and incoming ones from the socket are handed to
//! [`Link::submit`]; each survivor waits in a queue ordered by due time until the thread
//! drains it (the thread's sleep deadline includes [`Link::next_due`]). With the
//! simulator off there is no `Link` at all, and the loop pays one `Option` check per
//! datagram. The queue is bounded in datagrams and bytes; what does not fit is dropped
//! and counted, so a long simulated latency cannot grow memory without limit.
//!
//! It knows nothing of the protocol: it sees opaque payloads and addresses only. The
//! deterministic simulator the protocol tests use lives in `proto/tests/sim.rs`; this
//! one runs on the real clock.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Duration;

use crate::proto::rng::Rng;
use crate::proto::Time;

/// Largest `latency` and `jitter` a [`SimConfig`] may ask for.
pub const MAX_SIM_DELAY: Duration = Duration::from_secs(10);
/// Most datagrams one direction's delay queue holds; more are dropped and counted.
const MAX_QUEUED_DATAGRAMS: usize = 65_536;
/// Most payload bytes one direction's delay queue holds; more are dropped and counted.
const MAX_QUEUED_BYTES: usize = 32 << 20;
/// A reordered datagram waits up to this much longer than its delay, besides an extra
/// latency and jitter, so that datagrams sent after it overtake it.
const REORDER_HOLD: Duration = Duration::from_millis(20);
/// Payload buffers kept for reuse, and the largest kept (an MTU-sized datagram fits).
const SPARE_BUFFERS: usize = 256;
const SPARE_BUFFER_BYTES: usize = 2048;

/// How one direction of the simulated link treats datagrams. The default (all zero) is
/// a perfect link, which turns the simulator off for that direction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimConfig {
    /// Probability (0.0 to 1.0) that a datagram is dropped.
    pub loss: f64,
    /// Delay added to every datagram (at most [`MAX_SIM_DELAY`]).
    pub latency: Duration,
    /// Each datagram is delayed by a further uniform random amount from zero to this (at
    /// most [`MAX_SIM_DELAY`]); datagrams may therefore arrive out of order.
    pub jitter: Duration,
    /// Probability (0.0 to 1.0) that a datagram is delivered twice; each copy gets its
    /// own delay.
    pub duplicate: f64,
    /// Probability (0.0 to 1.0) that a datagram is held back by a further `latency +
    /// jitter` plus up to 20 ms, so that the datagrams after it overtake it.
    pub reorder: f64,
}

impl SimConfig {
    /// The perfect link: the simulator is off.
    pub const OFF: SimConfig = SimConfig {
        loss: 0.0,
        latency: Duration::ZERO,
        jitter: Duration::ZERO,
        duplicate: 0.0,
        reorder: 0.0,
    };

    /// Whether this link leaves every datagram alone.
    pub fn is_off(&self) -> bool {
        self.loss == 0.0
            && self.latency.is_zero()
            && self.jitter.is_zero()
            && self.duplicate == 0.0
            && self.reorder == 0.0
    }

    /// Whether every probability is within 0..=1 (NaN is not) and both delays are at
    /// most [`MAX_SIM_DELAY`].
    pub fn is_valid(&self) -> bool {
        let p = |v: f64| (0.0..=1.0).contains(&v);
        p(self.loss)
            && p(self.duplicate)
            && p(self.reorder)
            && self.latency <= MAX_SIM_DELAY
            && self.jitter <= MAX_SIM_DELAY
    }
}

/// Counters of one direction of the simulator, since the peer started.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Datagrams handed to the simulator.
    pub submitted: u64,
    /// Datagrams dropped by the `loss` probability.
    pub lost: u64,
    /// Extra copies made by the `duplicate` probability.
    pub duplicated: u64,
    /// Datagrams held back by the `reorder` probability.
    pub reordered: u64,
    /// Datagrams (or copies) dropped because the delay queue was full.
    pub overflowed: u64,
    /// Datagrams (and copies) passed on after their delay.
    pub delivered: u64,
}

/// `SimStats` shared between the network thread (the only writer) and readers.
#[derive(Debug, Default)]
pub(crate) struct SimCounters {
    submitted: AtomicU64,
    lost: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    overflowed: AtomicU64,
    delivered: AtomicU64,
}

impl SimCounters {
    /// A snapshot (each counter read on its own; they may be mutually a pass apart).
    pub(crate) fn snapshot(&self) -> SimStats {
        let r = |c: &AtomicU64| c.load(AtomicOrdering::Relaxed);
        SimStats {
            submitted: r(&self.submitted),
            lost: r(&self.lost),
            duplicated: r(&self.duplicated),
            reordered: r(&self.reordered),
            overflowed: r(&self.overflowed),
            delivered: r(&self.delivered),
        }
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, AtomicOrdering::Relaxed);
}

/// One delayed datagram. Ordered by due time, then by submission, so equal delays keep
/// their order.
#[derive(Debug)]
struct Delayed {
    due: Time,
    order: u64,
    addr: SocketAddr,
    data: Vec<u8>,
}

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}

impl Eq for Delayed {}

impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Delayed {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

/// One direction of the simulated link: the model and its delay queue.
#[derive(Debug)]
pub(crate) struct Link {
    config: SimConfig,
    rng: Rng,
    queue: BinaryHeap<Reverse<Delayed>>,
    order: u64,
    bytes: usize,
    max_datagrams: usize,
    max_bytes: usize,
    spare: Vec<Vec<u8>>,
}

impl Link {
    /// A link with `config`, or `None` if it is off (the loop then skips the simulator).
    pub(crate) fn new(config: &SimConfig, seed: u64) -> Option<Box<Link>> {
        (!config.is_off()).then(|| {
            Box::new(Link::with_limits(
                config,
                seed,
                MAX_QUEUED_DATAGRAMS,
                MAX_QUEUED_BYTES,
            ))
        })
    }

    fn with_limits(config: &SimConfig, seed: u64, max_datagrams: usize, max_bytes: usize) -> Link {
        Link {
            config: config.clone(),
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            order: 0,
            bytes: 0,
            max_datagrams,
            max_bytes,
            spare: Vec::new(),
        }
    }

    /// Changes the model. Datagrams already queued keep their due times.
    pub(crate) fn set_config(&mut self, config: &SimConfig) {
        self.config = config.clone();
    }

    /// The model is off and nothing waits: the link can be dropped.
    pub(crate) fn is_finished(&self) -> bool {
        self.config.is_off() && self.queue.is_empty()
    }

    /// Nothing waits in the queue.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Runs `bytes` for `addr` through the model at `now`: drops it, or queues one or
    /// two copies with their due times (possibly `now`).
    pub(crate) fn submit(&mut self, now: Time, addr: SocketAddr, bytes: &[u8], c: &SimCounters) {
        bump(&c.submitted);
        if self.chance(self.config.loss) {
            bump(&c.lost);
            return;
        }
        let copies = if self.chance(self.config.duplicate) {
            bump(&c.duplicated);
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut delay = self.config.latency + self.spread(self.config.jitter);
            if self.chance(self.config.reorder) {
                bump(&c.reordered);
                delay += self.config.latency + self.config.jitter + self.spread(REORDER_HOLD);
            }
            if self.queue.len() >= self.max_datagrams
                || self.bytes.saturating_add(bytes.len()) > self.max_bytes
            {
                bump(&c.overflowed);
                continue;
            }
            let mut data = self.spare.pop().unwrap_or_default();
            data.clear();
            data.extend_from_slice(bytes);
            self.bytes += data.len();
            self.order += 1;
            self.queue.push(Reverse(Delayed {
                due: now + delay,
                order: self.order,
                addr,
                data,
            }));
        }
    }

    /// When the next datagram is due, if any waits.
    pub(crate) fn next_due(&self) -> Option<Time> {
        self.queue.peek().map(|Reverse(d)| d.due)
    }

    /// The next datagram due at `now`, without removing it.
    pub(crate) fn peek_due(&self, now: Time) -> Option<(SocketAddr, &[u8])> {
        match self.queue.peek() {
            Some(Reverse(d)) if d.due <= now => Some((d.addr, &d.data)),
            _ => None,
        }
    }

    /// Removes the datagram `peek_due` returned (it was passed on).
    pub(crate) fn pop_delivered(&mut self, c: &SimCounters) {
        if let Some(Reverse(d)) = self.queue.pop() {
            bump(&c.delivered);
            self.bytes -= d.data.len();
            if self.spare.len() < SPARE_BUFFERS && d.data.capacity() <= SPARE_BUFFER_BYTES {
                self.spare.push(d.data);
            }
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.next_f64() < p
    }

    fn spread(&mut self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        let us = u64::try_from(max.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(self.rng.below(us.saturating_add(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:9".parse().unwrap()
    }

    /// Everything due by `now`, in delivery order.
    fn drain(link: &mut Link, now: Time, c: &SimCounters) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some((_, data)) = link.peek_due(now) {
            out.push(data.to_vec());
            link.pop_delivered(c);
        }
        out
    }

    #[test]
    fn off_means_no_link_and_validation_bounds_everything() {
        assert!(Link::new(&SimConfig::default(), 1).is_none());
        assert!(SimConfig::OFF.is_off() && SimConfig::OFF.is_valid());
        let ok = SimConfig {
            loss: 1.0,
            latency: MAX_SIM_DELAY,
            jitter: MAX_SIM_DELAY,
            duplicate: 0.5,
            reorder: 0.0,
        };
        assert!(ok.is_valid() && !ok.is_off());
        for bad in [
            SimConfig {
                loss: 1.01,
                ..SimConfig::OFF
            },
            SimConfig {
                loss: -0.1,
                ..SimConfig::OFF
            },
            SimConfig {
                duplicate: f64::NAN,
                ..SimConfig::OFF
            },
            SimConfig {
                reorder: f64::INFINITY,
                ..SimConfig::OFF
            },
            SimConfig {
                latency: MAX_SIM_DELAY + Duration::from_micros(1),
                ..SimConfig::OFF
            },
            SimConfig {
                jitter: Duration::from_secs(11),
                ..SimConfig::OFF
            },
        ] {
            assert!(!bad.is_valid(), "{bad:?}");
        }
    }

    #[test]
    fn latency_delays_and_keeps_order() {
        let cfg = SimConfig {
            latency: Duration::from_millis(30),
            ..SimConfig::OFF
        };
        let c = SimCounters::default();
        let mut link = Link::new(&cfg, 7).unwrap();
        let t0 = Time::from_millis(1000);
        for i in 0..10u8 {
            link.submit(t0, addr(), &[i], &c);
        }
        assert_eq!(link.next_due(), Some(t0 + Duration::from_millis(30)));
        assert!(drain(&mut link, t0 + Duration::from_millis(29), &c).is_empty());
        let got = drain(&mut link, t0 + Duration::from_millis(30), &c);
        assert_eq!(got, (0..10u8).map(|i| vec![i]).collect::<Vec<_>>());
        assert!(link.is_empty());
        assert_eq!(c.snapshot().delivered, 10);
    }

    #[test]
    fn loss_and_duplication_rates_follow_the_config() {
        let cfg = SimConfig {
            loss: 0.1,
            duplicate: 0.05,
            ..SimConfig::OFF
        };
        let c = SimCounters::default();
        let mut link = Link::new(&cfg, 42).unwrap();
        let now = Time::from_millis(5);
        let mut delivered = 0;
        for i in 0..20_000u32 {
            link.submit(now, addr(), &i.to_le_bytes(), &c);
            delivered += drain(&mut link, now, &c).len();
        }
        let s = c.snapshot();
        assert_eq!(s.submitted, 20_000);
        assert!((1_700..2_300).contains(&s.lost), "{s:?}");
        assert!((700..1_200).contains(&s.duplicated), "{s:?}");
        assert_eq!(delivered as u64, s.submitted - s.lost + s.duplicated);
        assert_eq!(s.delivered, delivered as u64);
    }

    #[test]
    fn jitter_and_reordering_stay_within_bounds() {
        let cfg = SimConfig {
            latency: Duration::from_millis(10),
            jitter: Duration::from_millis(5),
            reorder: 0.2,
            ..SimConfig::OFF
        };
        let c = SimCounters::default();
        let mut link = Link::new(&cfg, 3).unwrap();
        let t0 = Time::from_millis(100);
        for i in 0..1000u32 {
            link.submit(
                t0 + Duration::from_micros(u64::from(i)),
                addr(),
                &i.to_le_bytes(),
                &c,
            );
        }
        let earliest = link.next_due().unwrap();
        assert!(earliest >= t0 + Duration::from_millis(10));
        // Latest possible: latency + jitter, twice, plus the reorder hold.
        let got = drain(&mut link, t0 + Duration::from_millis(52), &c);
        assert_eq!(got.len(), 1000);
        let order: Vec<u32> = got
            .iter()
            .map(|d| u32::from_le_bytes(d[..4].try_into().unwrap()))
            .collect();
        assert!(order.windows(2).any(|w| w[0] > w[1]), "nothing reordered");
        let s = c.snapshot();
        assert!((120..280).contains(&s.reordered), "{s:?}");
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let cfg = SimConfig {
            latency: Duration::from_secs(1),
            ..SimConfig::OFF
        };
        let c = SimCounters::default();
        let mut link = Link::with_limits(&cfg, 1, 4, 250);
        let now = Time::from_millis(1);
        for _ in 0..3 {
            link.submit(now, addr(), &[0; 100], &c);
        }
        // Two fit by bytes (200 <= 250), the third does not.
        assert_eq!(c.snapshot().overflowed, 1);
        for _ in 0..5 {
            link.submit(now, addr(), &[0; 1], &c);
        }
        // Two more fit by count (4 datagrams), three do not.
        assert_eq!(c.snapshot().overflowed, 4);
        let got = drain(&mut link, now + Duration::from_secs(1), &c);
        assert_eq!(got.len(), 4);
        // Room again.
        link.submit(now, addr(), &[0; 100], &c);
        assert_eq!(c.snapshot().overflowed, 4);
    }

    #[test]
    fn switching_off_keeps_what_is_queued() {
        let cfg = SimConfig {
            latency: Duration::from_millis(50),
            ..SimConfig::OFF
        };
        let c = SimCounters::default();
        let mut link = Link::new(&cfg, 1).unwrap();
        let now = Time::from_millis(1);
        link.submit(now, addr(), b"a", &c);
        link.set_config(&SimConfig::OFF);
        assert!(!link.is_finished());
        link.submit(now, addr(), b"b", &c);
        assert_eq!(drain(&mut link, now, &c), vec![b"b".to_vec()]);
        assert_eq!(
            drain(&mut link, now + Duration::from_millis(50), &c),
            vec![b"a".to_vec()]
        );
        assert!(link.is_finished());
    }
}
