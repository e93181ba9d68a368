//! The client side of the offline handshake (docs/protocol.md §5.2–§5.5, §5.9): an
//! outgoing attempt, its MTU probe schedule (REQUEST_1 at each probe size in turn, one
//! more probe than attempts, then `ConnectFailed { NoResponse }`), the REQUEST_2 each
//! REPLY_1 triggers, the REPLY_2 that turns the attempt into a connection, and the
//! offline refusals (§4.4) that end an attempt.
//!
//! It does not own the attempt table or its timers (`endpoint.rs`), the secure variant of
//! REQUEST_2 and REPLY_2 (`secure.rs`), or the connected-mode handshake that follows
//! (`connection.rs`).

use std::net::SocketAddr;
use std::time::Duration;

use super::secure::SecureAttempt;
use crate::proto::config::{ConnectOptions, MAX_MTU, MIN_MTU, UDP_HEADER_SIZE};
use crate::proto::connection::Connection;
use crate::proto::endpoint::{Endpoint, MIN_TIMER_STEP};
use crate::proto::error::ConnectError;
use crate::proto::event::{ConnId, ConnectFailure, Event};
use crate::proto::time::Time;
use crate::proto::wire::id;
use crate::proto::wire::offline::Offline;

/// An outgoing attempt before OPEN_CONNECTION_REPLY_2 (MTU probing).
#[derive(Debug)]
pub(in crate::proto) struct Attempt {
    id: ConnId,
    pub(in crate::proto) addr: SocketAddr,
    pub(super) password: Vec<u8>,
    /// Probes sent so far.
    sent: u32,
    pub(in crate::proto) next_probe: Time,
    pub(in crate::proto) timer_key: Option<Time>,
    /// Probe count and spacing of this attempt (`ConnectOptions` or the config).
    attempts: u32,
    interval: Duration,
    /// Timeout the connection will have (`None`: the config's).
    pub(in crate::proto) timeout: Option<Duration>,
    /// Secure attempt: the pinned key and, once REPLY_1 came, the handshake.
    pub(super) secure: Option<SecureAttempt>,
}

impl Endpoint {
    /// Starts connecting to `addr` with the caller-chosen `id` (non-zero, top bit clear).
    pub fn connect(
        &mut self,
        now: Time,
        id: ConnId,
        addr: SocketAddr,
        password: &[u8],
    ) -> Result<(), ConnectError> {
        self.connect_with(now, id, addr, password, ConnectOptions::default())
    }

    /// As `connect`, with this attempt's probe count, probe spacing and connection
    /// timeout taken from `opts` where set. Cancel it with `close`.
    pub fn connect_with(
        &mut self,
        now: Time,
        id: ConnId,
        addr: SocketAddr,
        password: &[u8],
        opts: ConnectOptions,
    ) -> Result<(), ConnectError> {
        if id.0 == 0
            || id.is_incoming()
            || self.conns.contains_key(&id)
            || self.attempts.contains_key(&id)
        {
            return Err(ConnectError::InvalidId);
        }
        if addr.ip().is_unspecified() || addr.port() == 0 {
            return Err(ConnectError::InvalidAddress);
        }
        // A connection that only lingers to acknowledge resends (after it ended or was
        // refused) gives way to a new attempt, as it does on the accepting side.
        if let Some(&old) = self.by_addr.get(&addr) {
            if self.conns.get(&old).is_some_and(|c| c.is_lingering()) {
                self.remove_conn(old);
            }
        }
        if self.by_addr.contains_key(&addr) {
            return Err(ConnectError::AlreadyConnected);
        }
        let attempt = Attempt {
            id,
            addr,
            password: password.to_vec(),
            sent: 0,
            next_probe: now,
            timer_key: None,
            attempts: opts.attempts.unwrap_or(self.config.connect_attempts),
            interval: opts.interval.unwrap_or(self.config.connect_interval),
            timeout: opts.timeout,
            secure: opts.secure.map(SecureAttempt::new),
        };
        self.attempts.insert(id, attempt);
        self.by_addr.insert(addr, id);
        self.run_attempt(now, id);
        Ok(())
    }

    /// Sends the attempt's next probe if due, fails it after the last; reschedules.
    pub(in crate::proto) fn run_attempt(&mut self, now: Time, id: ConnId) {
        let Some(a) = self.attempts.get_mut(&id) else {
            return;
        };
        if now >= a.next_probe {
            let total = a.attempts.max(1).saturating_add(1);
            if a.sent >= total {
                let (addr, conn) = (a.addr, a.id);
                self.remove_attempt(id);
                self.events.push_back(Event::ConnectFailed {
                    conn,
                    addr,
                    reason: ConnectFailure::NoResponse,
                });
                return;
            }
            let probes = if self.config.mtu_probes.is_empty() {
                &[MIN_MTU][..]
            } else {
                &self.config.mtu_probes[..]
            };
            // 4.081 spends a third of the attempts on each size (docs/protocol.md §5.2).
            let per_size = (a.attempts / probes.len() as u32).max(1);
            let idx = ((a.sent / per_size) as usize).min(probes.len() - 1);
            let mtu = probes[idx].clamp(UDP_HEADER_SIZE + 25, MAX_MTU);
            a.sent += 1;
            // A zero interval would make the driver spin; 1 ms is the timer step anyway.
            a.next_probe = now + a.interval.max(MIN_TIMER_STEP);
            let mut buf = self.spare.pop().unwrap_or_default();
            buf.clear();
            Offline::OpenConnectionRequest1 {
                protocol: self.config.protocol_version,
                mtu,
            }
            .encode(&mut buf);
            if a.secure.is_some() {
                crate::proto::wire::secure::add_hint(&mut buf);
            }
            let addr = a.addr;
            self.queue_offline(addr, buf);
        }
        self.reschedule(now, id);
    }

    /// Ends our attempt to `from` with `reason`; anything else from there is unsolicited.
    pub(in crate::proto) fn fail_attempt(&mut self, from: SocketAddr, reason: ConnectFailure) {
        let id = self.by_addr.get(&from).copied();
        match id {
            Some(id) if self.attempts.contains_key(&id) => {
                self.remove_attempt(id);
                self.events.push_back(Event::ConnectFailed {
                    conn: id,
                    addr: from,
                    reason,
                });
            }
            _ => self.stats.dropped.unsolicited += 1,
        }
    }

    /// An offline refusal (§4.4) of our attempt to `from`: the attempt ends with the
    /// reason it names.
    pub(in crate::proto) fn on_rejection(&mut self, from: SocketAddr, rid: u8) {
        let reason = match rid {
            id::ALREADY_CONNECTED => ConnectFailure::AlreadyConnected,
            id::NO_FREE_INCOMING_CONNECTIONS => ConnectFailure::ServerFull,
            id::CONNECTION_BANNED => ConnectFailure::Banned,
            id::IP_RECENTLY_CONNECTED => ConnectFailure::IpRecentlyConnected,
            _ => ConnectFailure::NoResponse,
        };
        self.fail_attempt(from, reason);
    }

    /// OPEN_CONNECTION_REPLY_1 (§5.3): each one answers with one REQUEST_2 (§5.2), echoing
    /// the cookie and the MTU; REQUEST_2 has no timer of its own.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::proto) fn on_reply_1(
        &mut self,
        _now: Time,
        from: SocketAddr,
        server_guid: u64,
        cookie: Option<u32>,
        has_key: bool,
        mtu: u16,
        offer: Option<u8>,
    ) {
        let ours = self
            .by_addr
            .get(&from)
            .is_some_and(|id| self.attempts.contains_key(id));
        if !ours {
            self.stats.dropped.unsolicited += 1;
            return;
        }
        if has_key {
            // A libcat server: we cannot run its secure handshake.
            return self.fail_attempt(from, ConnectFailure::SecurityMismatch);
        }
        let mtu = mtu.clamp(MIN_MTU, MAX_MTU);
        if self.attempt_is_secure(from) {
            return self.send_secure_request_2(from, server_guid, cookie, mtu, offer);
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        Offline::OpenConnectionRequest2 {
            cookie,
            has_challenge: false,
            server_addr: from,
            mtu,
            guid: self.guid,
        }
        .encode(&mut buf);
        self.queue_offline(from, buf);
    }

    /// OPEN_CONNECTION_REPLY_2 (§5.5): the attempt becomes a connection, which sends
    /// CONNECTION_REQUEST.
    pub(in crate::proto) fn on_reply_2(
        &mut self,
        now: Time,
        from: SocketAddr,
        guid: u64,
        mtu: u16,
        security: bool,
    ) {
        let Some((id, a)) = self
            .by_addr
            .get(&from)
            .and_then(|id| self.attempts.get(id).map(|a| (*id, a)))
        else {
            self.stats.dropped.unsolicited += 1;
            return;
        };
        if a.secure.is_some() {
            // A secure attempt never sent a plain REQUEST_2: not an answer to us.
            self.stats.dropped.unsolicited += 1;
            return;
        }
        if security {
            return self.fail_attempt(from, ConnectFailure::SecurityMismatch);
        }
        let (password, timeout) = (a.password.clone(), a.timeout);
        self.remove_attempt(id);
        let mtu = mtu.clamp(MIN_MTU, MAX_MTU);
        let mut conn =
            Connection::new_outgoing(now, id, from, guid, mtu, &self.config, self.guid, &password);
        conn.set_timeout(timeout);
        self.conns.insert(id, Box::new(conn));
        self.by_addr.insert(from, id);
        self.by_guid.entry(guid).or_insert(id);
        self.touch(id);
    }
}
