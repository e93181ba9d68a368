//! The endpoint: classifies incoming datagrams (docs/protocol.md §1.5), answers offline
//! messages (§4), runs outgoing connection attempts with MTU probing (§5.2–5.5), and
//! owns the connection table, its timers and the queue of connections with something to
//! send. Everything per connection lives in `connection.rs`; the ban list and per-IP
//! tables in `access.rs`, enforced by `endpoint/gate.rs`; the application's management
//! calls (bans, lookups, per-connection timeouts, advertising) in `endpoint/manage.rs`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::Hasher;
use std::net::SocketAddr;
use std::time::Duration;

use super::abuse::AbuseTable;
use super::access::{BanList, RecentIps};
use super::config::{Config, ConnectOptions, MAX_MTU, MAX_OFFLINE_DATA, MIN_MTU, UDP_HEADER_SIZE};
use super::connection::{Connection, Ctx, DatagramOutcome, Phase};
use super::error::{ConnectError, SendError};
use super::event::{ConnId, ConnectFailure, Event};
use super::idhash::IdMap;
use super::options::{Receipt, SendOptions};
use super::rng::Rng;
use super::stats::{ConnStats, EndpointStats};
use super::time::Time;
use super::wire::id;
use super::wire::offline::{self, Offline};

mod budget;
mod gate;
mod manage;
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
const MAX_PENDING_OFFLINE_EVENTS: usize = 4096;
/// Cookies rotate every epoch: a cookie is SipHash-2-4, keyed with the endpoint's
/// `cookie_secret`, of the client's address and the epoch number, so each epoch has
/// cookies of its own, and one is accepted in the epoch it was made in and the next
/// (30 to 60 s), after which nothing it helped an eavesdropper learn is of use.
pub(crate) const COOKIE_EPOCH: Duration = Duration::from_secs(30);
/// Bytes of an unconnected pong before its offline data.
const PONG_HEADER: usize = 33;
/// Connected-mode datagrams above this are dropped: RakNet peers never exceed 1492 bytes
/// (some Bedrock servers overshoot their MTU by a few dozen bytes, docs/protocol.md §8.5).
const MAX_CONNECTED_DATAGRAM: usize = 1600;
/// Smallest step between a connection's timer runs.
const MIN_TIMER_STEP: Duration = Duration::from_millis(1);

/// An outgoing attempt before OPEN_CONNECTION_REPLY_2 (MTU probing).
#[derive(Debug)]
struct Attempt {
    id: ConnId,
    addr: SocketAddr,
    password: Vec<u8>,
    /// Probes sent so far.
    sent: u32,
    next_probe: Time,
    timer_key: Option<Time>,
    /// Probe count and spacing of this attempt (`ConnectOptions` or the config).
    attempts: u32,
    interval: Duration,
    /// Timeout the connection will have (`None`: the config's).
    timeout: Option<Duration>,
    /// Secure attempt: the pinned key and, once REPLY_1 came, the handshake.
    secure: Option<secure::SecureAttempt>,
}

/// A RakNet peer's protocol state: client, server or both.
#[derive(Debug)]
pub struct Endpoint {
    config: Config,
    local_addr: SocketAddr,
    guid: u64,
    /// SipHash key of the cookies (`Config::cookie_secret`), never derived from the
    /// seed or the GUID.
    cookie_key: (u64, u64),
    /// Boxed: the table then holds a pointer per slot, not a whole connection, and a
    /// growing table moves pointers.
    /// Keyed by locally assigned ids: the cheap hasher (looked up per message sent).
    conns: IdMap<ConnId, Box<Connection>>,
    attempts: IdMap<ConnId, Attempt>,
    /// Address → connection or attempt using it.
    by_addr: HashMap<SocketAddr, ConnId>,
    /// Remote GUID → connection.
    by_guid: HashMap<u64, ConnId>,
    /// Deadlines of connections and attempts.
    timers: BTreeSet<(Time, ConnId)>,
    /// Connections that may have something to send, round-robin.
    dirty: VecDeque<ConnId>,
    offline_out: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<Event>,
    next_incoming: u64,
    incoming_count: u32,
    next_receipt: u32,
    stats: EndpointStats,
    ranges: Vec<(u32, u32)>,
    spare: Vec<Vec<u8>>,
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

/// What `claim_slot` found.
enum Slot {
    /// Take a new slot.
    Free,
    /// A repeated request of the pending attempt in this slot.
    Repeat(ConnId),
    /// Refused (answered already).
    Refused,
}

impl Endpoint {
    /// An endpoint bound (as far as the caller's socket is concerned) to `local_addr`.
    pub fn new(mut config: Config, local_addr: SocketAddr) -> Endpoint {
        let mut rng = Rng::new(config.seed);
        if config.guid == 0 || config.guid == u64::MAX {
            config.guid = rng.next_u64() | 1;
        }
        config.offline_data.truncate(MAX_OFFLINE_DATA);
        let cookie_key = config
            .cookie_secret
            .map_or_else(os_cookie_key, |s| s.words());
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
            secure: opts.secure.map(secure::SecureAttempt::new),
        };
        self.attempts.insert(id, attempt);
        self.by_addr.insert(addr, id);
        self.run_attempt(now, id);
        Ok(())
    }

    /// Sends the attempt's next probe if due, fails it after the last; reschedules.
    fn run_attempt(&mut self, now: Time, id: ConnId) {
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
                super::wire::secure::add_hint(&mut buf);
            }
            let addr = a.addr;
            self.queue_offline(addr, buf);
        }
        self.reschedule(now, id);
    }

    fn remove_attempt(&mut self, id: ConnId) {
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

    /// Sends an unconnected ping to `addr`.
    pub fn ping(&mut self, now: Time, addr: SocketAddr, open_connections_only: bool) {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        Offline::UnconnectedPing {
            open_connections_only,
            time: now.as_millis(),
            guid: Some(self.guid),
        }
        .encode(&mut buf);
        // Padded to the largest pong, so a server that never answers with more bytes than
        // it received can still send its whole offline data back to us.
        buf.resize(PONG_HEADER + MAX_OFFLINE_DATA, 0);
        self.queue_offline(addr, buf);
    }

    fn queue_offline(&mut self, to: SocketAddr, buf: Vec<u8>) {
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
            offline::decode(bytes)
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

    fn recycle(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        if self.spare.len() < 64 {
            self.spare.push(buf);
        }
    }

    /// After any input to a connection: queue it for transmission and drop it if closed.
    fn touch(&mut self, id: ConnId) {
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

    fn remove_conn(&mut self, id: ConnId) {
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
    fn reschedule(&mut self, now: Time, id: ConnId) {
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

    fn cookie(&self, now: Time, addr: SocketAddr, epoch_back: u64) -> u32 {
        let epoch = (now.as_micros() / COOKIE_EPOCH.as_micros() as u64).wrapping_sub(epoch_back);
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new_with_keys(self.cookie_key.0, self.cookie_key.1);
        match addr.ip() {
            std::net::IpAddr::V4(v4) => h.write(&v4.octets()),
            std::net::IpAddr::V6(v6) => h.write(&v6.octets()),
        }
        h.write_u16(addr.port());
        h.write_u64(epoch);
        h.finish() as u32
    }

    fn handle_offline(&mut self, now: Time, from: SocketAddr, bytes: &[u8], msg: Offline<'_>) {
        let received = bytes.len();
        match msg {
            Offline::UnconnectedPing {
                open_connections_only,
                time,
                ..
            } => {
                if open_connections_only && self.incoming_full() {
                    return;
                }
                let mut buf = self.spare.pop().unwrap_or_default();
                buf.clear();
                let prefixed;
                let data = if self.config.is_bedrock() {
                    prefixed = bedrock_pong_data(&self.config.offline_data);
                    &prefixed[..]
                } else {
                    &self.config.offline_data[..]
                };
                let limit = received.saturating_mul(self.config.ping_amplification.max(1) as usize);
                let data = if PONG_HEADER + data.len() <= limit {
                    data
                } else {
                    self.stats.dropped.amplification += 1;
                    // Without the data; a Bedrock pong keeps its (zero) length field, which
                    // its clients require (docs/protocol.md §4.2).
                    if self.config.is_bedrock() {
                        &[0u8, 0][..]
                    } else {
                        &[][..]
                    }
                };
                if PONG_HEADER + data.len() > limit {
                    self.recycle(buf);
                    return;
                }
                Offline::UnconnectedPong {
                    time,
                    guid: self.guid,
                    data,
                }
                .encode(&mut buf);
                self.queue_offline(from, buf);
            }
            Offline::UnconnectedPong { time, guid, data } => {
                let rtt = Duration::from_millis(now.as_millis().saturating_sub(time));
                let data = match (self.config.is_bedrock(), data) {
                    // Bedrock pongs carry a u16be length before the string (docs/protocol.md
                    // §4.2); hand the application the string alone when it adds up.
                    (true, [hi, lo, rest @ ..])
                        if usize::from(u16::from_be_bytes([*hi, *lo])) == rest.len() =>
                    {
                        rest
                    }
                    _ => data,
                };
                self.push_offline_event(Event::Pong {
                    addr: from,
                    guid,
                    rtt,
                    data: data.to_vec(),
                });
            }
            Offline::OpenConnectionRequest1 { protocol, mtu } => {
                let mut buf = self.spare.pop().unwrap_or_default();
                buf.clear();
                if protocol != self.config.protocol_version {
                    self.stats.refused.incompatible_protocol += 1;
                    Offline::IncompatibleProtocol {
                        protocol: self.config.protocol_version,
                        guid: self.guid,
                    }
                    .encode(&mut buf);
                } else {
                    let cookie = self.config.cookies.then(|| self.cookie(now, from, 0));
                    Offline::OpenConnectionReply1 {
                        guid: self.guid,
                        cookie,
                        has_public_key: false,
                        mtu: mtu.min(MAX_MTU),
                    }
                    .encode(&mut buf);
                    // Secure mode is offered only to clients that asked for it.
                    if let Some(flags) = self.secure_offer() {
                        if super::wire::secure::has_hint(bytes) {
                            super::wire::secure::add_offer(&mut buf, flags);
                        }
                    }
                }
                // Never answer with more bytes than the request had (amplification <= 1);
                // real probes are hundreds of bytes long.
                if buf.len() > received {
                    self.stats.offline_dropped += 1;
                    self.stats.dropped.amplification += 1;
                    self.recycle(buf);
                    return;
                }
                self.queue_offline(from, buf);
            }
            Offline::OpenConnectionRequest2 {
                cookie, guid, mtu, ..
            } => {
                // REPLY_2 is 28 bytes plus the client's address. Without cookies nothing
                // proves the source, so allow at most the one byte RakNet 4's own format
                // adds (34 in, 35 out), never an IPv6 address in answer to a short request.
                let reply_len = 28 + if from.is_ipv4() { 7 } else { 29 };
                if !self.config.cookies && reply_len > received + 1 {
                    self.stats.dropped.amplification += 1;
                    return;
                }
                self.on_request_2(now, from, cookie, guid, mtu)
            }
            Offline::OpenConnectionReply1 {
                guid,
                cookie,
                has_public_key,
                mtu,
            } => {
                let offer = super::wire::secure::offer_of(bytes);
                self.on_reply_1(now, from, guid, cookie, has_public_key, mtu, offer)
            }
            Offline::OpenConnectionReply2 {
                guid,
                mtu,
                security,
                ..
            } => self.on_reply_2(now, from, guid, mtu, security),
            Offline::Rejection { id: rid, .. } => {
                let reason = match rid {
                    id::ALREADY_CONNECTED => ConnectFailure::AlreadyConnected,
                    id::NO_FREE_INCOMING_CONNECTIONS => ConnectFailure::ServerFull,
                    id::CONNECTION_BANNED => ConnectFailure::Banned,
                    id::IP_RECENTLY_CONNECTED => ConnectFailure::IpRecentlyConnected,
                    _ => ConnectFailure::NoResponse,
                };
                self.fail_attempt(from, reason);
            }
            Offline::IncompatibleProtocol { protocol, .. } => self.fail_attempt(
                from,
                ConnectFailure::IncompatibleProtocol {
                    server_version: protocol,
                },
            ),
            Offline::OutOfBand { guid, payload } => match payload.split_first() {
                Some((&id::ADVERTISE_SYSTEM, data)) => self.push_offline_event(Event::Advertise {
                    addr: from,
                    guid,
                    data: data.to_vec(),
                }),
                _ => self.stats.dropped.out_of_band_ignored += 1,
            },
        }
    }

    /// Reports an event caused by an unconnected sender, unless too many events wait.
    fn push_offline_event(&mut self, e: Event) {
        if self.events.len() < MAX_PENDING_OFFLINE_EVENTS {
            self.events.push_back(e);
        } else {
            self.stats.dropped.event_queue_full += 1;
        }
    }

    fn fail_attempt(&mut self, from: SocketAddr, reason: ConnectFailure) {
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

    /// Whether `cookie` is the one we gave `from` (this epoch or the last); always true
    /// with cookies off. Counts a bad one.
    fn cookie_ok(&mut self, now: Time, from: SocketAddr, cookie: Option<u32>) -> bool {
        if !self.config.cookies {
            return true;
        }
        let ok = cookie
            .is_some_and(|c| c == self.cookie(now, from, 0) || c == self.cookie(now, from, 1));
        if !ok {
            self.stats.offline_dropped += 1;
            self.stats.dropped.bad_cookie += 1;
            if cookie.is_none() {
                // Not answered (an answer would serve spoofed floods), so the client
                // learns nothing: the count is how the server's operator can tell.
                self.stats.refused.missing_cookie += 1;
            }
        }
        ok
    }

    fn on_request_2(
        &mut self,
        now: Time,
        from: SocketAddr,
        cookie: Option<u32>,
        guid: u64,
        mtu: u16,
    ) {
        if !self.cookie_ok(now, from, cookie) {
            return;
        }
        let mtu = mtu.clamp(MIN_MTU, MAX_MTU);
        let reply = |ep: &mut Endpoint, mtu: u16, security: bool| {
            let mut buf = ep.spare.pop().unwrap_or_default();
            buf.clear();
            Offline::OpenConnectionReply2 {
                guid: ep.guid,
                client_addr: from,
                mtu,
                security,
            }
            .encode(&mut buf);
            ep.queue_offline(from, buf);
        };
        if self.config.secure.require_secure && self.config.secure.key_pair.is_some() {
            // Plain clients are refused: the security bit makes RakNet 4 clients (and
            // ours) give up; no state is kept.
            self.stats.refused.security_required += 1;
            return reply(self, mtu, true);
        }
        match self.claim_slot(now, from, guid, |c| c.secure.is_none()) {
            Slot::Refused => {}
            Slot::Repeat(c) => {
                // A repeat of the same pending attempt gets the same answer (§5.4).
                let m = self.conns.get(&c).map_or(mtu, |c| c.mtu);
                reply(self, m, false);
            }
            Slot::Free => {
                let id = self.new_incoming(now, from, guid, mtu, None);
                reply(self, mtu, false);
                self.reschedule(now, id);
            }
        }
    }

    /// The checks an OPEN_CONNECTION_REQUEST_2 (plain or secure) passes before it may
    /// take a connection slot: lingering slots give way; the address and GUID must be
    /// free, or belong to one pending attempt for which `same_kind` holds (a repeat);
    /// the incoming limit and the IP frequency limit. Refusals are answered here.
    fn claim_slot(
        &mut self,
        now: Time,
        from: SocketAddr,
        guid: u64,
        same_kind: impl Fn(&Connection) -> bool,
    ) -> Slot {
        // A connection that is only lingering after a disconnect (still acknowledging the
        // notification's resends) gives way to a new attempt from its address or GUID.
        for user in [
            self.by_addr.get(&from).copied(),
            self.by_guid.get(&guid).copied(),
        ]
        .into_iter()
        .flatten()
        {
            if self.conns.get(&user).is_some_and(|c| c.is_lingering()) {
                self.remove_conn(user);
            }
        }
        let addr_user = self.by_addr.get(&from).copied();
        let guid_user = self.by_guid.get(&guid).copied();
        match (addr_user, guid_user) {
            (None, None) => {}
            (Some(a), Some(g)) if a == g => {
                let pending = self
                    .conns
                    .get(&a)
                    .is_some_and(|c| c.phase == Phase::UnverifiedSender && same_kind(c));
                if pending {
                    if let Some(c) = self.conns.get_mut(&a) {
                        c.restart_handshake_clock(now);
                    }
                    self.reschedule(now, a);
                    return Slot::Repeat(a);
                }
                self.reject(from, id::ALREADY_CONNECTED);
                return Slot::Refused;
            }
            _ => {
                self.reject(from, id::ALREADY_CONNECTED);
                return Slot::Refused;
            }
        }
        if self.incoming_full() {
            self.reject(from, id::NO_FREE_INCOMING_CONNECTIONS);
            return Slot::Refused;
        }
        if !self.may_take_slot(now, from) {
            self.reject(from, id::IP_RECENTLY_CONNECTED);
            return Slot::Refused;
        }
        Slot::Free
    }

    /// Creates an incoming connection in a slot `claim_slot` found free. A secure one
    /// (`link`) has the secure overhead taken off its MTU budget.
    fn new_incoming(
        &mut self,
        now: Time,
        from: SocketAddr,
        guid: u64,
        mtu: u16,
        link: Option<Box<super::secure::Link>>,
    ) -> ConnId {
        let id = ConnId(ConnId::INCOMING_BIT | self.next_incoming);
        self.next_incoming += 1;
        let budget = if link.is_some() {
            secure::inner_mtu(mtu)
        } else {
            mtu
        };
        let mut conn = Connection::new_incoming(now, id, from, guid, budget, &self.config);
        conn.secure = link;
        self.conns.insert(id, Box::new(conn));
        self.by_addr.insert(from, id);
        self.by_guid.insert(guid, id);
        self.incoming_count += 1;
        id
    }

    /// No free incoming slot. Slots that only linger after their connection ended do
    /// not count (as in 4.081, whose limit counts connected systems only); they are
    /// counted one by one only when the fast count says full.
    fn incoming_full(&self) -> bool {
        self.incoming_count >= self.config.max_incoming
            && self
                .conns
                .values()
                .filter(|c| c.incoming && !c.is_lingering())
                .count()
                >= self.config.max_incoming as usize
    }

    fn reject(&mut self, to: SocketAddr, rid: u8) {
        self.stats.refused.count(rid);
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        Offline::Rejection {
            id: rid,
            guid: self.guid,
        }
        .encode(&mut buf);
        self.queue_offline(to, buf);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_reply_1(
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

    fn on_reply_2(&mut self, now: Time, from: SocketAddr, guid: u64, mtu: u16, security: bool) {
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

/// A cookie key from the operating system's random source, for an endpoint whose
/// configuration brings none. Should that source fail, std's per-process hash keys
/// (drawn from the same source when the process first needed them) key a hash of the
/// address of a local: unpredictable from outside the process all the same.
fn os_cookie_key() -> (u64, u64) {
    use std::hash::BuildHasher;
    match super::config::CookieSecret::from_os() {
        Ok(s) => s.words(),
        Err(_) => {
            let state = std::collections::hash_map::RandomState::new();
            let marker = 0u8;
            let a = state.hash_one(std::ptr::addr_of!(marker) as usize);
            (a, state.hash_one(a))
        }
    }
}

/// Bedrock-flavour pong data: the application's bytes behind a `u16be` length
/// (docs/protocol.md §4.2), kept within RakNet's 399-byte limit.
fn bedrock_pong_data(data: &[u8]) -> Vec<u8> {
    let n = data.len().min(MAX_OFFLINE_DATA - 2);
    let mut v = Vec::with_capacity(n + 2);
    v.extend_from_slice(&(n as u16).to_be_bytes());
    v.extend_from_slice(&data[..n]);
    v
}
