//! The endpoint: classifies incoming datagrams (docs/protocol.md §1.5), and owns the
//! connection and attempt tables, their timers and the queue of connections with
//! something to send. Offline messages (§4: pings, pongs, advertisements) are handled in
//! `endpoint/offline.rs`; the offline handshake (§5.2–5.5: MTU probing, cookies, taking
//! a slot, refusals) in `handshake/`; everything per connection in `connection.rs`; the
//! ban list and per-IP tables in `access.rs`, enforced by `endpoint/gate.rs`; the
//! application's management calls (bans, lookups, per-connection timeouts, advertising)
//! in `endpoint/manage.rs`.
//!
//! The fields the handshake works on are visible to `proto` (`pub(super)`); the rest
//! stay private to the endpoint.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use super::abuse::AbuseTable;
use super::access::{BanList, RecentIps};
use super::config::{Config, MAX_OFFLINE_DATA};
use super::connection::{Connection, Ctx, DatagramOutcome, Phase};
use super::error::SendError;
use super::event::{ConnId, ConnectFailure, Event};
use super::handshake::{cookies, Attempt};
use super::idhash::IdMap;
use super::options::{Receipt, SendOptions};
use super::rng::Rng;
use super::stats::{ConnStats, EndpointStats};
use super::time::Time;

mod budget;
mod gate;
mod manage;
mod offline;
mod secure;

/// A datagram to send: the bytes are in the buffer passed to `poll_transmit`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
}

/// Offline replies waiting to be sent; beyond this, new ones are dropped (a flood of
/// pings must not grow memory).
const MAX_OFFLINE_QUEUE: usize = 1024;
/// Pongs and advertisements (which anyone can make us report) are dropped while this
/// many events wait to be polled, so a flood cannot grow the event queue.
pub(super) const MAX_PENDING_OFFLINE_EVENTS: usize = 4096;
/// Connected-mode datagrams above this are dropped: RakNet peers never exceed 1492 bytes
/// (some Bedrock servers overshoot their MTU by a few dozen bytes, docs/protocol.md §8.5).
const MAX_CONNECTED_DATAGRAM: usize = 1600;
/// Smallest step between a connection's timer runs.
pub(super) const MIN_TIMER_STEP: Duration = Duration::from_millis(1);

/// A RakNet peer's protocol state: client, server or both.
#[derive(Debug)]
pub struct Endpoint {
    pub(super) config: Config,
    local_addr: SocketAddr,
    pub(super) guid: u64,
    /// SipHash key of the cookies (`Config::cookie_secret`), never derived from the
    /// seed or the GUID.
    pub(super) cookie_key: super::handshake::cookies::CookieKey,
    /// Boxed: the table then holds a pointer per slot, not a whole connection, and a
    /// growing table moves pointers.
    /// Keyed by locally assigned ids: the cheap hasher (looked up per message sent).
    pub(super) conns: IdMap<ConnId, Box<Connection>>,
    pub(super) attempts: IdMap<ConnId, Attempt>,
    /// Address → connection or attempt using it.
    pub(super) by_addr: HashMap<SocketAddr, ConnId>,
    /// Remote GUID → connection.
    pub(super) by_guid: HashMap<u64, ConnId>,
    /// Deadlines of connections and attempts.
    timers: BTreeSet<(Time, ConnId)>,
    /// Connections that may have something to send, round-robin.
    dirty: VecDeque<ConnId>,
    offline_out: VecDeque<(SocketAddr, Vec<u8>)>,
    pub(super) events: VecDeque<Event>,
    pub(super) next_incoming: u64,
    pub(super) incoming_count: u32,
    next_receipt: u32,
    pub(super) stats: EndpointStats,
    ranges: Vec<(u32, u32)>,
    pub(super) spare: Vec<Vec<u8>>,
    due_scratch: Vec<ConnId>,
    bans: BanList,
    /// IPs that took a connection slot within the last 100 ms (frequency limit).
    recent_slots: RecentIps,
    /// IPs sent ID_CONNECTION_BANNED within the last 100 ms.
    banned_replies: RecentIps,
    /// Per-IP malformed-datagram counts and the sources ignored for them.
    abuse: AbuseTable,
    /// Secure mode: the opened datagram being handled, and the sealed one being sent.
    opened: Vec<u8>,
    sealed: Vec<u8>,
    /// Receive budget (`budget.rs`): bytes all connections hold, the part of it beyond
    /// each one's share, and the share that part was counted with.
    held_total: usize,
    held_over_share: usize,
    share_counted: usize,
}

impl Endpoint {
    /// An endpoint bound (as far as the caller's socket is concerned) to `local_addr`.
    pub fn new(mut config: Config, local_addr: SocketAddr) -> Endpoint {
        let mut rng = Rng::new(config.seed);
        if config.guid == 0 || config.guid == u64::MAX {
            config.guid = rng.next_u64() | 1;
        }
        config.offline_data.truncate(MAX_OFFLINE_DATA);
        let cookie_key = cookies::cookie_key(config.cookie_secret);
        Endpoint {
            guid: config.guid,
            config,
            local_addr,
            cookie_key,
            conns: IdMap::default(),
            attempts: IdMap::default(),
            by_addr: HashMap::new(),
            by_guid: HashMap::new(),
            timers: BTreeSet::new(),
            dirty: VecDeque::new(),
            offline_out: VecDeque::new(),
            events: VecDeque::new(),
            next_incoming: 1,
            incoming_count: 0,
            next_receipt: 1,
            stats: EndpointStats::default(),
            ranges: Vec::new(),
            spare: Vec::new(),
            due_scratch: Vec::new(),
            bans: BanList::default(),
            recent_slots: RecentIps::default(),
            banned_replies: RecentIps::default(),
            abuse: AbuseTable::default(),
            opened: Vec::new(),
            sealed: Vec::new(),
            held_total: 0,
            held_over_share: 0,
            share_counted: 0,
        }
    }

    /// This endpoint's GUID.
    pub fn guid(&self) -> u64 {
        self.guid
    }

    /// The configuration in effect.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The address given at creation (or by `set_local_addr`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Records the address the socket is actually bound to (after binding port 0).
    pub fn set_local_addr(&mut self, addr: SocketAddr) {
        self.local_addr = addr;
    }

    /// Replaces the data sent in unconnected pongs (truncated to 399 bytes).
    pub fn set_offline_data(&mut self, data: &[u8]) {
        let n = data.len().min(MAX_OFFLINE_DATA);
        self.config.offline_data.clear();
        self.config.offline_data.extend_from_slice(&data[..n]);
    }

    /// Changes how many remote-initiated connections are accepted.
    pub fn set_max_incoming(&mut self, max: u32) {
        self.config.max_incoming = max;
    }

    /// Drops an attempt, its timer and its address.
    pub(super) fn remove_attempt(&mut self, id: ConnId) {
        if let Some(a) = self.attempts.remove(&id) {
            if let Some(k) = a.timer_key {
                self.timers.remove(&(k, id));
            }
            if self.by_addr.get(&a.addr) == Some(&id) {
                self.by_addr.remove(&a.addr);
            }
        }
    }

    /// Queues a message on an established connection; returns its receipt serial.
    pub fn send(
        &mut self,
        now: Time,
        conn: ConnId,
        data: &[u8],
        opts: SendOptions,
    ) -> Result<Receipt, SendError> {
        let receipt = Receipt(self.next_receipt);
        self.send_with_receipt(now, conn, data, opts, receipt)?;
        self.next_receipt = self.next_receipt.wrapping_add(1).max(1);
        Ok(receipt)
    }

    /// As `send`, with a receipt serial chosen by the caller.
    pub fn send_with_receipt(
        &mut self,
        now: Time,
        conn: ConnId,
        data: &[u8],
        opts: SendOptions,
        receipt: Receipt,
    ) -> Result<(), SendError> {
        let c = match self.conns.get_mut(&conn) {
            Some(c) => c,
            None if self.attempts.contains_key(&conn) => return Err(SendError::NotConnected),
            None => return Err(SendError::UnknownConnection),
        };
        c.send(now, data, opts, receipt)?;
        if !c.dirty {
            c.dirty = true;
            self.dirty.push_back(conn);
        }
        Ok(())
    }

    /// Closes a connection or cancels an attempt. With `notify`, an established
    /// connection gets DISCONNECTION_NOTIFICATION once its queued data is acknowledged,
    /// and `Disconnected` is reported once the notice is acknowledged, or when the wait
    /// for that ends (four retransmission timeouts, within 200 ms..=2 s), and no later
    /// than the connection timeout after this call; otherwise `Disconnected` (or
    /// `ConnectFailed { Cancelled }`) is reported at once.
    pub fn close(&mut self, now: Time, conn: ConnId, notify: bool) -> Result<(), SendError> {
        if let Some(a) = self.attempts.get(&conn) {
            let addr = a.addr;
            self.remove_attempt(conn);
            self.events.push_back(Event::ConnectFailed {
                conn,
                addr,
                reason: ConnectFailure::Cancelled,
            });
            return Ok(());
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return Err(SendError::UnknownConnection);
        };
        let mut ctx = Ctx {
            config: &self.config,
            local_guid: self.guid,
            local_addr: self.local_addr,
            events: &mut self.events,
        };
        c.close(now, notify, &mut ctx);
        self.touch(conn);
        Ok(())
    }

    /// Closes every connection and cancels every attempt (for shutdown).
    pub fn close_all(&mut self, now: Time, notify: bool) {
        let ids: Vec<ConnId> = self
            .attempts
            .keys()
            .chain(self.conns.keys())
            .copied()
            .collect();
        for id in ids {
            let _ = self.close(now, id, notify);
        }
    }

    pub(super) fn queue_offline(&mut self, to: SocketAddr, buf: Vec<u8>) {
        if self.offline_out.len() < MAX_OFFLINE_QUEUE {
            self.offline_out.push_back((to, buf));
        } else {
            self.stats.offline_dropped += 1;
            self.stats.dropped.offline_queue_full += 1;
        }
    }

    /// Feeds one received UDP payload.
    pub fn handle_datagram(&mut self, now: Time, from: SocketAddr, bytes: &[u8]) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        // Sources ignored for sending malformed traffic: only an established
        // connection's own datagrams get further (see `serves_while_ignored`).
        let ignored = self.is_ignored_abuser(now, from);
        if ignored && !self.serves_while_ignored(from) {
            self.stats.dropped.ignored_abusive += 1;
            return;
        }
        // Banned sources next, whatever they sent (docs/protocol.md §1.5 step 1).
        if !self.bans.is_empty() && self.bans.matches(now, from.ip()) {
            return self.answer_banned(now, from, bytes.len());
        }
        // Offline next, even from a connected address (§1.5 step 2); libraknet's secure
        // handshake messages are offline too. An ignored source gets no offline service.
        let handshake = super::wire::secure::is_secure_handshake(bytes);
        let decoded = if handshake {
            None
        } else {
            super::wire::offline::decode(bytes)
        };
        if ignored && (handshake || decoded.is_some()) {
            self.stats.dropped.ignored_abusive += 1;
            return;
        }
        if handshake {
            return self.handle_secure_handshake(now, from, bytes);
        }
        match decoded {
            Some(Ok(msg)) => return self.handle_offline(now, from, bytes, msg),
            Some(Err(_)) => {
                self.stats.malformed_datagrams += 1;
                self.stats.dropped.bad_offline += 1;
                self.note_malformed(now, from);
                return;
            }
            None => {}
        }
        let Some(&id) = self.by_addr.get(&from) else {
            self.stats.unknown_source_datagrams += 1;
            self.stats.dropped.unknown_source += 1;
            return;
        };
        if bytes.len() > MAX_CONNECTED_DATAGRAM {
            self.stats.malformed_datagrams += 1;
            self.stats.dropped.oversize += 1;
            self.note_malformed(now, from);
            return;
        }
        self.cap_hold(id);
        let Some(c) = self.conns.get_mut(&id) else {
            // An attempt still probing: connected-mode data cannot be for it.
            self.stats.unknown_source_datagrams += 1;
            self.stats.dropped.unknown_source += 1;
            return;
        };
        // Secure mode: open the datagram first; what does not authenticate (or is a
        // replay) is counted and goes no further.
        let bytes = match c.secure.as_deref_mut() {
            None => bytes,
            Some(link) => match link.session.open(bytes, &mut self.opened) {
                Ok(()) => {
                    link.pending = None;
                    &self.opened[..]
                }
                Err(e) => {
                    secure::count_rejected(now, c, e, &mut self.stats, &mut self.events);
                    return;
                }
            },
        };
        let mut ctx = Ctx {
            config: &self.config,
            local_guid: self.guid,
            local_addr: self.local_addr,
            events: &mut self.events,
        };
        let refused_before = c.frames_over_budget();
        let outcome = c.handle_datagram(now, bytes, &mut ctx, &mut self.ranges);
        let violated = c.violated_handshake;
        let refused_password = std::mem::take(&mut c.refused_password);
        self.settle_hold(id, refused_before);
        let counter = match outcome {
            DatagramOutcome::Accepted => None,
            DatagramOutcome::BadHeader => Some(&mut self.stats.dropped.bad_datagram_header),
            DatagramOutcome::BadAckNak => Some(&mut self.stats.dropped.bad_ack_nak),
            DatagramOutcome::BadFrame => Some(&mut self.stats.dropped.bad_frame),
        };
        if let Some(n) = counter {
            *n += 1;
            self.stats.malformed_datagrams += 1;
            self.note_malformed(now, from);
        }
        if violated {
            self.ban_violator(now, from);
        }
        if refused_password {
            self.stats.refused.invalid_password += 1;
        }
        self.touch(id);
    }

    pub(super) fn recycle(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        if self.spare.len() < 64 {
            self.spare.push(buf);
        }
    }

    /// After any input to a connection: queue it for transmission and drop it if closed.
    pub(super) fn touch(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if c.phase == Phase::Closed {
            self.remove_conn(id);
            return;
        }
        if !c.dirty {
            c.dirty = true;
            self.dirty.push_back(id);
        }
    }

    pub(super) fn remove_conn(&mut self, id: ConnId) {
        if let Some(c) = self.conns.remove(&id) {
            self.release_hold(c.held);
            if let Some(k) = c.timer_key {
                self.timers.remove(&(k, id));
            }
            if self.by_addr.get(&c.addr) == Some(&id) {
                self.by_addr.remove(&c.addr);
            }
            if self.by_guid.get(&c.remote_guid) == Some(&id) {
                self.by_guid.remove(&c.remote_guid);
            }
            if c.incoming {
                self.incoming_count = self.incoming_count.saturating_sub(1);
            }
        }
    }

    /// Recomputes the deadline of a connection or attempt in the timer set. A deadline
    /// that is already past (work that could not proceed, such as a resend blocked by the
    /// congestion window) is moved 1 ms ahead so the driver never spins.
    pub(super) fn reschedule(&mut self, now: Time, id: ConnId) {
        let (old, new) = if let Some(c) = self.conns.get_mut(&id) {
            let new =
                c.poll_timeout(&self.config)
                    .map(|t| if t <= now { now + MIN_TIMER_STEP } else { t });
            (std::mem::replace(&mut c.timer_key, new), new)
        } else if let Some(a) = self.attempts.get_mut(&id) {
            let new = Some(a.next_probe);
            (std::mem::replace(&mut a.timer_key, new), new)
        } else {
            return;
        };
        if old == new {
            return;
        }
        if let Some(k) = old {
            self.timers.remove(&(k, id));
        }
        if let Some(k) = new {
            self.timers.insert((k, id));
        }
    }

    /// Runs timers due at `now`. Each due connection or attempt runs once per call.
    pub fn handle_timeout(&mut self, now: Time) {
        let mut due = std::mem::take(&mut self.due_scratch);
        due.clear();
        due.extend(
            self.timers
                .iter()
                .take_while(|(t, _)| *t <= now)
                .map(|&(_, id)| id),
        );
        for &id in &due {
            if let Some(a) = self.attempts.get_mut(&id) {
                if let Some(k) = a.timer_key.take() {
                    self.timers.remove(&(k, id));
                }
                self.run_attempt(now, id);
            } else if let Some(c) = self.conns.get_mut(&id) {
                if let Some(k) = c.timer_key.take() {
                    self.timers.remove(&(k, id));
                }
                let mut ctx = Ctx {
                    config: &self.config,
                    local_guid: self.guid,
                    local_addr: self.local_addr,
                    events: &mut self.events,
                };
                c.handle_timeout(now, &mut ctx);
                let closed = c.phase == Phase::Closed;
                let refused = c.frames_over_budget();
                self.settle_hold(id, refused);
                if closed {
                    self.remove_conn(id);
                } else {
                    self.touch(id);
                    self.reschedule(now, id);
                }
            }
        }
        self.due_scratch = due;
    }

    /// Writes the next datagram to send into `buf` (cleared first).
    pub fn poll_transmit(&mut self, now: Time, buf: &mut Vec<u8>) -> Option<Transmit> {
        if let Some((to, mut bytes)) = self.offline_out.pop_front() {
            std::mem::swap(buf, &mut bytes);
            bytes.clear();
            if self.spare.len() < 64 {
                self.spare.push(bytes);
            }
            return Some(self.count_out(to, buf));
        }
        while let Some(id) = self.dirty.pop_front() {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            buf.clear();
            let mut ctx = Ctx {
                config: &self.config,
                local_guid: self.guid,
                local_addr: self.local_addr,
                events: &mut self.events,
            };
            if c.poll_transmit(now, buf, &mut ctx) {
                let to = c.addr;
                if let Some(link) = c.secure.as_deref_mut() {
                    if link.session.seal(buf, &mut self.sealed).is_err() {
                        // The nonce counter is exhausted (after 2^62 datagrams): this
                        // connection cannot send any more; it ends.
                        c.abort(&mut ctx);
                        c.dirty = false;
                        self.remove_conn(id);
                        continue;
                    }
                    std::mem::swap(buf, &mut self.sealed);
                }
                // Round-robin: it goes to the back and may have more.
                self.dirty.push_back(id);
                return Some(self.count_out(to, buf));
            }
            // Nothing more from this one for now.
            c.dirty = false;
            if c.phase == Phase::Closed {
                self.remove_conn(id);
            } else {
                self.reschedule(now, id);
            }
        }
        None
    }

    fn count_out(&mut self, to: SocketAddr, buf: &[u8]) -> Transmit {
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += buf.len() as u64;
        Transmit { destination: to }
    }

    /// Next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.events.pop_front();
        match e {
            Some(Event::Connected { .. }) => self.stats.connections_opened += 1,
            // Drained: a burst the application polled late does not pin its peak storage
            // (one reallocation per burst of more than this many events).
            None if self.events.capacity() > MAX_PENDING_OFFLINE_EVENTS => {
                self.events = VecDeque::new();
            }
            _ => {}
        }
        e
    }

    /// Earliest deadline at which `handle_timeout` has work; `Some(Time::ZERO)` when
    /// `poll_transmit` has something to send right away.
    pub fn poll_timeout(&self) -> Option<Time> {
        if !self.offline_out.is_empty() || !self.dirty.is_empty() {
            return Some(Time::ZERO);
        }
        self.timers.first().map(|&(t, _)| t)
    }

    /// No connection has data queued or unacknowledged (for a flushing shutdown).
    pub fn is_idle(&self) -> bool {
        self.offline_out.is_empty() && self.conns.values().all(|c| c.is_idle())
    }

    /// Number of connections and attempts.
    pub fn connection_count(&self) -> usize {
        self.conns.len() + self.attempts.len()
    }

    /// Whether `conn` is an established connection.
    pub fn is_connected(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.is_connected())
    }

    /// Remote address of a connection or attempt.
    pub fn remote_addr(&self, conn: ConnId) -> Option<SocketAddr> {
        self.conns
            .get(&conn)
            .map(|c| c.addr)
            .or_else(|| self.attempts.get(&conn).map(|a| a.addr))
    }

    /// MTU of an established connection.
    pub fn mtu(&self, conn: ConnId) -> Option<u16> {
        self.conns.get(&conn).map(|c| c.mtu)
    }

    /// Bytes queued or unacknowledged on a connection.
    pub fn buffered_bytes(&self, conn: ConnId) -> Option<usize> {
        self.conns.get(&conn).map(|c| c.buffered_bytes())
    }

    /// Smoothed round-trip time of a connection, once measured.
    pub fn rtt(&self, conn: ConnId) -> Option<Duration> {
        self.conns.get(&conn).and_then(|c| c.srtt())
    }

    /// A statistics snapshot of an established connection.
    pub fn conn_stats(&self, now: Time, conn: ConnId) -> Option<ConnStats> {
        self.conns.get(&conn).map(|c| c.stats(now))
    }

    /// Counters.
    pub fn stats(&self) -> &EndpointStats {
        &self.stats
    }
}
