//! The endpoint's gate: what the datagram path does with banned sources (docs/protocol.md
//! §1.5 step 1, §4.4), 4.081's temporary ban of a handshake violator (§5.6), and the
//! per-IP connection frequency limit (§4.4 `1A`), and the abuse response (sources that
//! send malformed datagrams). The tables live in `access.rs` and `abuse.rs`; the
//! application's ban calls in `manage.rs`.

use std::net::{IpAddr, SocketAddr};

use super::Endpoint;
use crate::proto::access::{canonical, Pattern};
use crate::proto::time::Time;
use crate::proto::wire::id;
use crate::proto::wire::offline::Offline;

impl Endpoint {
    /// A datagram from a banned IP: answer ID_CONNECTION_BANNED, at most once per IP per
    /// 100 ms and never with more bytes than arrived; keep no other state.
    pub(super) fn answer_banned(&mut self, now: Time, from: SocketAddr, received: usize) {
        self.stats.dropped.banned += 1;
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        Offline::Rejection {
            id: id::CONNECTION_BANNED,
            guid: self.guid,
        }
        .encode(&mut buf);
        // Length first: a datagram too short to answer does not use up the IP's turn.
        if buf.len() > received || self.banned_replies.try_record(now, from.ip()).is_err() {
            self.stats.dropped.rate_limited += 1;
            self.recycle(buf);
            return;
        }
        self.queue_offline(from, buf);
    }

    /// A fresh slot's first message was not CONNECTION_REQUEST: 4.081 bans the IP for the
    /// timeout (if configured). A full ban list skips it.
    pub(super) fn ban_violator(&mut self, now: Time, from: SocketAddr) {
        if !self.config.ban_handshake_violators {
            return;
        }
        let pattern = match canonical(from.ip()) {
            IpAddr::V4(v4) => Pattern::V4 {
                wild: 0,
                addr: u32::from(v4),
            },
            IpAddr::V6(v6) => Pattern::V6(v6),
        };
        let until = now + self.config.timeout;
        let _ = self.bans.insert(now, pattern, Some(until));
    }

    /// Whether `from` (its endpoint, or its whole IP) is being ignored for sending
    /// malformed traffic. O(1): nothing while nobody is tracked, else two lookups plus
    /// amortised expiry.
    pub(super) fn is_ignored_abuser(&mut self, now: Time, from: SocketAddr) -> bool {
        let limits = self.config.abuse_limits();
        self.abuse.ignored(now, from, &limits).is_some()
    }

    /// Whether an ignored source's datagram may still reach the connection at `from`:
    /// only when that connection is established (the application was told of it), so
    /// garbage forged with a player's address cannot cut the player off. What the
    /// connection then receives is decoded and checked as usual; offline messages and
    /// new attempts from the source stay ignored.
    pub(super) fn serves_while_ignored(&self, from: SocketAddr) -> bool {
        self.by_addr
            .get(&from)
            .and_then(|id| self.conns.get(id))
            .is_some_and(|c| c.is_established())
    }

    /// Counts a malformed datagram against `from` (`Config::abuse_threshold`); enough
    /// punished endpoints of one IP widen to the IP (`Config::abuse_widen`).
    pub(in crate::proto) fn note_malformed(&mut self, now: Time, from: SocketAddr) {
        let limits = self.config.abuse_limits();
        self.abuse.record(now, from, &limits);
    }

    /// The frequency limit lets `from` take a connection slot now (and records it).
    pub(in crate::proto) fn may_take_slot(&mut self, now: Time, from: SocketAddr) -> bool {
        let ip = from.ip();
        !self.config.limit_ip_connection_frequency
            || (self.config.ip_frequency_exempts_loopback && canonical(ip).is_loopback())
            || self.recent_slots.try_record(now, ip).is_ok()
    }
}

#[cfg(test)]
impl Endpoint {
    /// Sources the abuse tracker follows now.
    pub(crate) fn abuse_tracked(&self) -> usize {
        self.abuse.len()
    }
}
