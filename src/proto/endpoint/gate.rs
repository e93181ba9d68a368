//! The endpoint's gate: what the datagram path does with banned sources (docs/protocol.md
//! §1.5 step 1, §4.4), 4.081's temporary ban of a handshake violator (§5.6), and the
//! per-IP connection frequency limit (§4.4 `1A`). The tables live in `access.rs`; the
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

    /// Whether `from`'s IP is being ignored for sending malformed traffic. O(1): one
    /// lookup (none while nobody is tracked) plus amortised expiry.
    pub(super) fn is_ignored_abuser(&mut self, now: Time, from: SocketAddr) -> bool {
        let limits = self.config.abuse_limits();
        self.abuse.is_ignored(now, from.ip(), &limits)
    }

    /// Counts a malformed datagram against `from`'s IP (`Config::abuse_threshold`).
    /// Connections from an IP that becomes ignored are left alone: they stop hearing
    /// from it and time out, unless it is ignored for less than their timeout.
    pub(super) fn note_malformed(&mut self, now: Time, from: SocketAddr) {
        let limits = self.config.abuse_limits();
        self.abuse.record(now, from.ip(), &limits);
    }

    /// The frequency limit lets `from` take a connection slot now (and records it).
    pub(super) fn may_take_slot(&mut self, now: Time, from: SocketAddr) -> bool {
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
