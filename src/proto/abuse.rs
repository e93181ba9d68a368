//! The abuse tracker: sources that keep sending malformed datagrams are ignored for a
//! while (`Config::abuse_threshold`, `abuse_window`, `abuse_ignore`, `abuse_widen`).
//! Pure bookkeeping over caller-supplied time; `endpoint/gate.rs` decides what an
//! ignored source may still do (an established connection's own traffic is served).
//!
//! Punishment starts at the endpoint (address and port): a source address can be
//! forged, and several players behind one carrier-grade NAT share an IP, so one abuser
//! must not silence its neighbours. Only when `abuse_widen` distinct endpoints of one IP
//! have each been punished within `abuse_window` is the whole IP ignored.
//!
//! Both tables have a fixed capacity and refuse new entries when full instead of
//! evicting old ones, so a flood from many (spoofed) sources costs bounded memory and
//! cannot push out another source's record.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::access::canonical;
use super::time::Time;

/// Most endpoints the tracker follows at once; beyond this, new endpoints are not
/// tracked (nothing is allocated for them) until entries expire.
pub(crate) const MAX_ABUSE_TRACKED: usize = 4096;
/// Most IPs with punished endpoints followed at once (entries are only made when an
/// endpoint is punished, so this is rarely the limit).
pub(crate) const MAX_ABUSE_IPS: usize = 4096;
/// Largest `abuse_widen` honoured: it bounds the ports remembered per IP.
pub const MAX_ABUSE_WIDEN: u32 = 64;

/// Limits of the abuse tracker (`Config::abuse_threshold`, `abuse_window`,
/// `abuse_ignore`, `abuse_widen`).
#[derive(Copy, Clone, Debug)]
pub(crate) struct AbuseLimits {
    pub(crate) threshold: u32,
    pub(crate) window: Duration,
    pub(crate) ignore: Duration,
    /// Punished endpoints of one IP within `window` that get the IP ignored; 0 never.
    pub(crate) widen: u32,
}

impl AbuseLimits {
    fn enabled(&self) -> bool {
        self.threshold > 0 && !self.ignore.is_zero()
    }
}

/// What an ignored source was ignored as.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Punished {
    /// This address and port.
    Endpoint,
    /// Every port of the address's IP.
    Ip,
}

/// One tracked key: offences counted since `window_start`, and until when it is ignored
/// once it passed its threshold. `ports` lists the distinct endpoints counted (IP
/// entries only), so one endpoint punished twice in a window counts once.
#[derive(Clone, Debug)]
struct Entry {
    window_start: Time,
    count: u32,
    ignored_until: Option<Time>,
    ports: Vec<u16>,
}

/// Counts per key over a fixed window, and the keys ignored for passing the threshold.
/// An entry lives for its counting window, or until its ignore period ends if it passed
/// the threshold. Two queues, each in deadline order (the window and the ignore period
/// are fixed lengths), retire entries in O(1) amortised per call; a queue item whose
/// entry has since been replaced is skipped.
#[derive(Debug)]
struct Tracker<K> {
    entries: HashMap<K, Entry>,
    /// (window start, key), oldest first.
    windows: VecDeque<(Time, K)>,
    /// (ignored until, key), soonest first.
    ignores: VecDeque<(Time, K)>,
    capacity: usize,
}

impl<K: Copy + Eq + Hash> Tracker<K> {
    fn new(capacity: usize) -> Self {
        Tracker {
            entries: HashMap::new(),
            windows: VecDeque::new(),
            ignores: VecDeque::new(),
            capacity,
        }
    }

    fn expire(&mut self, now: Time, window: Duration) {
        while let Some(&(start, key)) = self.windows.front() {
            if now < start + window {
                break;
            }
            self.windows.pop_front();
            if let Some(e) = self.entries.get(&key) {
                if e.window_start == start && e.ignored_until.map_or(true, |t| t <= now) {
                    self.entries.remove(&key);
                }
            }
        }
        while let Some(&(until, key)) = self.ignores.front() {
            if now < until {
                break;
            }
            self.ignores.pop_front();
            if self
                .entries
                .get(&key)
                .is_some_and(|e| e.ignored_until == Some(until))
            {
                self.entries.remove(&key);
            }
        }
    }

    fn is_ignored(&self, now: Time, key: &K) -> bool {
        self.entries
            .get(key)
            .and_then(|e| e.ignored_until)
            .is_some_and(|t| now < t)
    }

    /// Counts one offence by `key` (with `port`, only if that port was not counted yet in
    /// this window); true if this one made it ignored.
    fn count(
        &mut self,
        now: Time,
        key: K,
        port: Option<u16>,
        threshold: u32,
        limits: &AbuseLimits,
    ) -> bool {
        if !self.entries.contains_key(&key) {
            // Full (or, after many replacements, the window queue is): skip tracking.
            if self.entries.len() >= self.capacity || self.windows.len() >= 2 * self.capacity {
                return false;
            }
            self.windows.push_back((now, key));
        }
        let e = self.entries.entry(key).or_insert(Entry {
            window_start: now,
            count: 0,
            ignored_until: None,
            ports: Vec::new(),
        });
        if e.ignored_until.is_some() {
            return false;
        }
        if let Some(p) = port {
            if e.ports.contains(&p) {
                return false;
            }
            e.ports.push(p);
        }
        e.count = e.count.saturating_add(1);
        if e.count < threshold {
            return false;
        }
        let until = now + limits.ignore;
        e.ignored_until = Some(until);
        e.ports = Vec::new();
        self.ignores.push_back((until, key));
        true
    }
}

/// Per-endpoint counts of malformed datagrams and, above them, per-IP counts of punished
/// endpoints. At most `MAX_ABUSE_TRACKED` endpoints and `MAX_ABUSE_IPS` IPs.
#[derive(Debug)]
pub(crate) struct AbuseTable {
    endpoints: Tracker<SocketAddr>,
    ips: Tracker<IpAddr>,
}

impl Default for AbuseTable {
    fn default() -> Self {
        AbuseTable {
            endpoints: Tracker::new(MAX_ABUSE_TRACKED),
            ips: Tracker::new(MAX_ABUSE_IPS),
        }
    }
}

/// An endpoint as the tracker sees it: IPv4-mapped IPv6 counts as IPv4.
fn key(from: SocketAddr) -> SocketAddr {
    SocketAddr::new(canonical(from.ip()), from.port())
}

impl AbuseTable {
    /// Whether `from` is being ignored at `now`, and as what. O(1): nothing while nobody
    /// is tracked, else two lookups plus amortised expiry.
    pub(crate) fn ignored(
        &mut self,
        now: Time,
        from: SocketAddr,
        limits: &AbuseLimits,
    ) -> Option<Punished> {
        if self.endpoints.entries.is_empty() && self.ips.entries.is_empty() {
            return None;
        }
        self.endpoints.expire(now, limits.window);
        self.ips.expire(now, limits.window);
        let from = key(from);
        if self.endpoints.is_ignored(now, &from) {
            Some(Punished::Endpoint)
        } else if self.ips.is_ignored(now, &from.ip()) {
            Some(Punished::Ip)
        } else {
            None
        }
    }

    /// Counts a malformed datagram from `from`; what became ignored because of it.
    pub(crate) fn record(
        &mut self,
        now: Time,
        from: SocketAddr,
        limits: &AbuseLimits,
    ) -> Option<Punished> {
        if !limits.enabled() {
            return None;
        }
        self.endpoints.expire(now, limits.window);
        self.ips.expire(now, limits.window);
        let from = key(from);
        if !self
            .endpoints
            .count(now, from, None, limits.threshold, limits)
        {
            return None;
        }
        let widen = limits.widen.min(MAX_ABUSE_WIDEN);
        if widen > 0
            && self
                .ips
                .count(now, from.ip(), Some(from.port()), widen, limits)
        {
            return Some(Punished::Ip);
        }
        Some(Punished::Endpoint)
    }

    /// Endpoints tracked now (counting or ignored).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.endpoints.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: AbuseLimits = AbuseLimits {
        threshold: 3,
        window: Duration::from_secs(10),
        ignore: Duration::from_secs(1),
        widen: 2,
    };

    fn at(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn punish(t: &mut AbuseTable, now: Time, from: SocketAddr) -> Option<Punished> {
        (0..LIMITS.threshold)
            .filter_map(|_| t.record(now, from, &LIMITS))
            .last()
    }

    #[test]
    fn an_endpoint_punished_twice_in_a_window_counts_once_towards_its_ip() {
        let mut t = AbuseTable::default();
        let t0 = Time::from_millis(1_000);
        let a = at("10.1.1.1:1");
        assert_eq!(punish(&mut t, t0, a), Some(Punished::Endpoint));
        // Its ignore period (1 s) ends within the IP's window (10 s): punished again.
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(t.ignored(t1, a, &LIMITS), None);
        assert_eq!(punish(&mut t, t1, a), Some(Punished::Endpoint));
        assert_eq!(t.ignored(t1, at("10.1.1.1:2"), &LIMITS), None);
        // A second endpoint widens (the mapped form is the same IP).
        assert_eq!(
            punish(&mut t, t1, at("[::ffff:10.1.1.1]:2")),
            Some(Punished::Ip)
        );
        assert_eq!(t.ignored(t1, at("10.1.1.1:3"), &LIMITS), Some(Punished::Ip));
        assert_eq!(t.ignored(t1, at("10.1.1.2:3"), &LIMITS), None);
    }

    #[test]
    fn widening_off_keeps_punishment_per_endpoint() {
        let mut t = AbuseTable::default();
        let limits = AbuseLimits { widen: 0, ..LIMITS };
        let now = Time::from_millis(1_000);
        for p in 1..100 {
            for _ in 0..limits.threshold {
                t.record(
                    now,
                    SocketAddr::new("10.2.2.2".parse().unwrap(), p),
                    &limits,
                );
            }
        }
        assert_eq!(t.ignored(now, at("10.2.2.2:100"), &limits), None);
        assert_eq!(
            t.ignored(now, at("10.2.2.2:99"), &limits),
            Some(Punished::Endpoint)
        );
    }
}
