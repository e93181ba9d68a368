//! Who may talk to the endpoint: the ban list (docs/protocol.md §1.5 step 1, §4.4) and the
//! small "seen this IP recently" tables behind the per-IP connection frequency limit
//! (`SetLimitIPConnectionFrequency`, §4.4 `1A`) and the rate limit on our own
//! `ID_CONNECTION_BANNED` answers. Pure bookkeeping over caller-supplied time: what to
//! answer, and when, is decided in `endpoint.rs`.
//!
//! Every table has a fixed capacity, so a flood from many (spoofed) addresses costs a
//! bounded amount of memory. A full table refuses new entries instead of evicting old
//! ones: a full ban list rejects `add_ban`, a full "recent" table makes the caller refuse
//! the request it was about to answer.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::time::Time;

/// Most entries (patterns) on the ban list, temporary bans included.
pub(crate) const MAX_BANS: usize = 65_536;
/// Most addresses remembered by one "recent" table.
pub(crate) const MAX_RECENT: usize = 4096;
/// 4.081's same-IP connection window and our spacing of `ID_CONNECTION_BANNED` answers.
pub(crate) const RECENT_WINDOW: Duration = Duration::from_millis(100);

/// Why a ban could not be added.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BanError {
    /// Not an IPv4 pattern (`a.b.c.d`, each part a number or `*`) or an IPv6 address.
    InvalidPattern,
    /// The ban list holds its maximum number of entries.
    TableFull,
}

impl fmt::Display for BanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BanError::InvalidPattern => "invalid ban pattern",
            BanError::TableFull => "ban list full",
        })
    }
}

impl std::error::Error for BanError {}

/// A parsed ban pattern.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Pattern {
    /// IPv4 with wildcards: bit `i` of `wild` set means octet `i` (from the left) is `*`;
    /// wildcard octets are zero in `addr`.
    V4 { wild: u8, addr: u32 },
    /// One exact IPv6 address.
    V6(Ipv6Addr),
}

impl Pattern {
    /// Parses RakNet-style `192.168.1.*` (any octet may be `*`), an exact IPv4 address,
    /// or an exact IPv6 address (an IPv4-mapped one is treated as its IPv4 address).
    pub(crate) fn parse(s: &str) -> Result<Pattern, BanError> {
        let s = s.trim();
        if s.contains(':') {
            let v6: Ipv6Addr = s.parse().map_err(|_| BanError::InvalidPattern)?;
            return Ok(match v6.to_ipv4_mapped() {
                Some(v4) => Pattern::exact_v4(v4),
                None => Pattern::V6(v6),
            });
        }
        let mut wild = 0u8;
        let mut addr = 0u32;
        let mut parts = 0;
        for (i, part) in s.split('.').enumerate() {
            if i >= 4 {
                return Err(BanError::InvalidPattern);
            }
            parts += 1;
            let octet = if part == "*" {
                wild |= 1 << i;
                0
            } else if !part.is_empty()
                && part.len() <= 3
                && part.bytes().all(|b| b.is_ascii_digit())
            {
                part.parse::<u8>().map_err(|_| BanError::InvalidPattern)?
            } else {
                return Err(BanError::InvalidPattern);
            };
            addr |= u32::from(octet) << (24 - 8 * i);
        }
        if parts != 4 {
            return Err(BanError::InvalidPattern);
        }
        Ok(Pattern::V4 { wild, addr })
    }

    fn exact_v4(ip: Ipv4Addr) -> Pattern {
        Pattern::V4 {
            wild: 0,
            addr: u32::from(ip),
        }
    }
}

/// Bit mask of the octets a wildcard set leaves significant.
fn keep_mask(wild: u8) -> u32 {
    (0..4)
        .filter(|i| wild & (1 << i) == 0)
        .fold(0u32, |m, i| m | (0xFF << (24 - 8 * i)))
}

/// An address as the ban list sees it: IPv4-mapped IPv6 counts as IPv4 (a dual-stack
/// socket reports IPv4 peers that way).
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The ban list: patterns with an optional expiry. Lookup costs one hash probe per
/// distinct wildcard shape in use (at most 16) for IPv4, one for IPv6.
#[derive(Debug, Default)]
pub(crate) struct BanList {
    /// Pattern → expiry (`None` = until removed).
    entries: HashMap<Pattern, Option<Time>>,
    /// Entries per IPv4 wildcard shape, so lookups only try shapes in use.
    shapes: [u32; 16],
}

impl BanList {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds or refreshes `pattern`, banned until `until` (`None` = until removed).
    pub(crate) fn insert(
        &mut self,
        now: Time,
        pattern: Pattern,
        until: Option<Time>,
    ) -> Result<(), BanError> {
        if let Some(e) = self.entries.get_mut(&pattern) {
            *e = until;
            return Ok(());
        }
        if self.entries.len() >= MAX_BANS {
            self.purge(now);
            if self.entries.len() >= MAX_BANS {
                return Err(BanError::TableFull);
            }
        }
        if let Pattern::V4 { wild, .. } = pattern {
            self.shapes[usize::from(wild & 0xF)] += 1;
        }
        self.entries.insert(pattern, until);
        Ok(())
    }

    /// Removes `pattern`; whether it was there.
    pub(crate) fn remove(&mut self, pattern: &Pattern) -> bool {
        if self.entries.remove(pattern).is_none() {
            return false;
        }
        if let Pattern::V4 { wild, .. } = pattern {
            let n = &mut self.shapes[usize::from(wild & 0xF)];
            *n = n.saturating_sub(1);
        }
        true
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.shapes = [0; 16];
    }

    /// Drops expired entries.
    pub(crate) fn purge(&mut self, now: Time) {
        let expired: Vec<Pattern> = self
            .entries
            .iter()
            .filter(|(_, until)| until.is_some_and(|t| t <= now))
            .map(|(p, _)| *p)
            .collect();
        for p in expired {
            self.remove(&p);
        }
    }

    /// Whether `ip` matches an unexpired entry.
    pub(crate) fn matches(&self, now: Time, ip: IpAddr) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let live = |p: &Pattern| {
            self.entries
                .get(p)
                .is_some_and(|until| until.map_or(true, |t| now < t))
        };
        match canonical(ip) {
            IpAddr::V4(v4) => {
                let a = u32::from(v4);
                (0u8..16).any(|wild| {
                    self.shapes[usize::from(wild)] > 0
                        && live(&Pattern::V4 {
                            wild,
                            addr: a & keep_mask(wild),
                        })
                })
            }
            IpAddr::V6(v6) => live(&Pattern::V6(v6)),
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Why `RecentIps::try_record` refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The address was recorded less than the window ago.
    Recent,
    /// The table is full of addresses recorded within the window.
    Full,
}

/// Addresses seen within the last `RECENT_WINDOW`, at most `MAX_RECENT` of them. Entries
/// leave in arrival order, so upkeep is O(1) amortised even under a flood.
#[derive(Debug, Default)]
pub(crate) struct RecentIps {
    last: HashMap<IpAddr, Time>,
    order: VecDeque<(Time, IpAddr)>,
}

impl RecentIps {
    fn expire(&mut self, now: Time) {
        while let Some(&(t, ip)) = self.order.front() {
            if now < t + RECENT_WINDOW {
                break;
            }
            self.order.pop_front();
            if self.last.get(&ip) == Some(&t) {
                self.last.remove(&ip);
            }
        }
    }

    /// Records `ip` at `now`, unless it was recorded within the window (or the table is
    /// full of such addresses).
    pub(crate) fn try_record(&mut self, now: Time, ip: IpAddr) -> Result<(), Refused> {
        self.expire(now);
        let ip = canonical(ip);
        if self.last.contains_key(&ip) {
            return Err(Refused::Recent);
        }
        if self.last.len() >= MAX_RECENT {
            return Err(Refused::Full);
        }
        self.last.insert(ip, now);
        self.order.push_back((now, ip));
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.last.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn patterns_parse() {
        assert_eq!(
            Pattern::parse("192.168.1.*"),
            Ok(Pattern::V4 {
                wild: 0b1000,
                addr: 0xC0A8_0100
            })
        );
        assert_eq!(
            Pattern::parse("*.0.0.1"),
            Ok(Pattern::V4 {
                wild: 0b0001,
                addr: 1
            })
        );
        assert_eq!(
            Pattern::parse("::ffff:10.0.0.1"),
            Pattern::parse("10.0.0.1")
        );
        assert!(matches!(Pattern::parse("fe80::1"), Ok(Pattern::V6(_))));
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.x",
            "1..2.3",
            "1.2.3.-1",
            "+1.2.3.4",
            "1.2.3.0001",
            "fe80::1::2",
            "*",
            "1.2.3.4/24",
        ] {
            assert_eq!(
                Pattern::parse(bad),
                Err(BanError::InvalidPattern),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn wildcards_match_and_expire() {
        let mut b = BanList::default();
        let t0 = Time::from_millis(1000);
        assert!(!b.matches(t0, ip("10.0.0.1")));
        b.insert(t0, Pattern::parse("10.0.*.*").unwrap(), None)
            .unwrap();
        b.insert(
            t0,
            Pattern::parse("fe80::1").unwrap(),
            Some(t0 + Duration::from_secs(1)),
        )
        .unwrap();
        assert!(b.matches(t0, ip("10.0.200.3")));
        assert!(b.matches(t0, ip("::ffff:10.0.1.1")));
        assert!(!b.matches(t0, ip("10.1.0.1")));
        assert!(b.matches(t0, ip("fe80::1")));
        assert!(!b.matches(t0, ip("fe80::2")));
        let later = t0 + Duration::from_secs(1);
        assert!(!b.matches(later, ip("fe80::1")), "expired");
        b.purge(later);
        assert_eq!(b.len(), 1);
        assert!(b.remove(&Pattern::parse("10.0.*.*").unwrap()));
        assert!(!b.matches(later, ip("10.0.200.3")));
        assert!(b.is_empty());
    }

    #[test]
    fn the_ban_list_is_bounded() {
        let mut b = BanList::default();
        let t = Time::ZERO;
        for i in 0..MAX_BANS as u32 {
            let p = Pattern::V4 { wild: 0, addr: i };
            b.insert(t, p, Some(t + Duration::from_secs(1))).unwrap();
        }
        let extra = Pattern::V4 {
            wild: 0,
            addr: u32::MAX,
        };
        assert_eq!(b.insert(t, extra, None), Err(BanError::TableFull));
        // Expired entries make room.
        let later = t + Duration::from_secs(2);
        assert_eq!(b.insert(later, extra, None), Ok(()));
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn recent_table_spaces_and_bounds() {
        let mut r = RecentIps::default();
        let t = Time::from_millis(5);
        assert_eq!(r.try_record(t, ip("1.2.3.4")), Ok(()));
        assert_eq!(r.try_record(t, ip("1.2.3.4")), Err(Refused::Recent));
        let t2 = t + Duration::from_millis(99);
        assert_eq!(r.try_record(t2, ip("::ffff:1.2.3.4")), Err(Refused::Recent));
        let t3 = t + RECENT_WINDOW;
        assert_eq!(r.try_record(t3, ip("1.2.3.4")), Ok(()));
        for i in 1..MAX_RECENT as u32 {
            assert_eq!(r.try_record(t3, IpAddr::V4(Ipv4Addr::from(i))), Ok(()));
        }
        assert_eq!(
            r.try_record(t3, ip("9.9.9.9")),
            Err(Refused::Full),
            "full of fresh entries"
        );
        assert_eq!(r.try_record(t3 + RECENT_WINDOW, ip("9.9.9.9")), Ok(()));
        assert_eq!(r.len(), 1);
    }
}
