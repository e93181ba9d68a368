//! Shared pieces of the fuzz targets: a cursor that turns fuzz bytes into values (never
//! failing: an exhausted input reads as zeros), the operation format of the endpoint
//! targets with its encoder (used by `build-corpus` to turn captured traffic into seeds),
//! and the endpoint harness with the invariants it checks after every step.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use raknet::proto::config::MAX_MTU;
use raknet::proto::{
    Config, ConnId, CookieSecret, Endpoint, Event, Priority, Reliability, SendOptions, Time,
};

pub mod corpus;
pub mod ops;
pub mod scripted;

/// Reads values from fuzz input; past the end everything is 0 and slices are empty.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }
    /// Bytes left.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// Nothing left.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// One byte.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    /// Little-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    /// Little-endian u32.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// Little-endian u64.
    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }
    /// Up to `n` bytes (fewer if the input ends).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}

/// Largest UDP payload any RakNet datagram may have (docs/protocol.md §6.4: MTU − 28).
pub const MAX_DATAGRAM: usize = MAX_MTU as usize - 28;

/// The target endpoint's address.
pub fn target_addr() -> SocketAddr {
    "10.0.0.2:19132".parse().unwrap()
}

/// The address of the legitimate remote peer (and of spoofed datagrams claiming to be it).
pub fn primary_addr() -> SocketAddr {
    "10.0.0.1:19132".parse().unwrap()
}

/// One of 256 source addresses: 0 is the primary peer, 1..=239 IPv4, the rest IPv6.
pub fn source_addr(sel: u8) -> SocketAddr {
    match sel {
        0 => primary_addr(),
        1..=239 => SocketAddr::from(([10, 1, 0, sel], 40_000 + u16::from(sel))),
        _ => SocketAddr::from((
            [0xfd00, 0, 0, 0, 0, 0, 0, u16::from(sel)],
            40_000 + u16::from(sel),
        )),
    }
}

/// Which side the target endpoint plays.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Accepts connections (`max_incoming` > 0).
    Server,
    /// Has called `connect` to the primary address before the first datagram.
    Client,
}

/// Most outgoing attempts the harness starts (bounds `connection_count`).
const MAX_CONNECTS: usize = 4;
/// Most datagrams or events drained in one go before the harness calls it a livelock.
const DRAIN_LIMIT: usize = 1 << 16;
/// Datagrams queued between the target and its legitimate peer, per direction.
const WIRE_CAP: usize = 4096;

/// The target endpoint, an optional legitimate peer at the primary address, virtual time,
/// and the bookkeeping the invariants need.
pub struct Harness {
    role: Role,
    /// The endpoint under test.
    pub ep: Endpoint,
    /// A well-behaved endpoint at `primary_addr()` (the other side of a real connection).
    pub peer: Option<Endpoint>,
    /// Virtual time.
    pub now: Time,
    buf: Vec<u8>,
    to_peer: VecDeque<Vec<u8>>,
    to_target: VecDeque<Vec<u8>>,
    max_incoming: u32,
    connects: usize,
    next_conn: u64,
    /// Connections the target reported as established, with their addresses.
    pub target_conns: Vec<(ConnId, SocketAddr)>,
    /// Connections the peer reported as established.
    pub peer_conns: Vec<ConnId>,
    /// Messages the target delivered.
    pub delivered: Vec<Vec<u8>>,
    mtu_by_addr: HashMap<SocketAddr, u16>,
}

impl Harness {
    /// A harness from the first configuration byte of an input: cookies, password,
    /// protocol, offline data, a legitimate peer, and (server) the incoming limit.
    pub fn new(role: Role, flags: u8) -> Harness {
        let protocol = if flags & 0x04 != 0 { 11 } else { 6 };
        let password: Vec<u8> = if flags & 0x02 != 0 {
            b"secret".to_vec()
        } else {
            Vec::new()
        };
        let max_incoming = match role {
            Role::Server => 1 + u32::from(flags >> 4 & 3),
            Role::Client => 0,
        };
        let config = Config {
            protocol_version: protocol,
            max_incoming,
            cookies: flags & 0x01 != 0,
            password: password.clone(),
            offline_data: if flags & 0x08 != 0 {
                vec![0x4d; 399]
            } else {
                Vec::new()
            },
            seed: 7,
            // A fixed cookie key: every run of an input behaves the same.
            cookie_secret: Some(CookieSecret([7; 16])),
            ..Config::default()
        };
        let ep = Endpoint::new(config.clone(), target_addr());
        let peer = (flags & 0x80 != 0).then(|| {
            let peer_config = Config {
                max_incoming: if role == Role::Client { 4 } else { 0 },
                seed: 11,
                ..config
            };
            Endpoint::new(peer_config, primary_addr())
        });
        let mut h = Harness {
            role,
            ep,
            peer,
            now: Time::from_millis(1_000),
            buf: Vec::with_capacity(2048),
            to_peer: VecDeque::new(),
            to_target: VecDeque::new(),
            max_incoming,
            connects: 0,
            next_conn: 1,
            target_conns: Vec::new(),
            peer_conns: Vec::new(),
            delivered: Vec::new(),
            mtu_by_addr: HashMap::new(),
        };
        match role {
            Role::Client => {
                let pw = if flags & 0x40 != 0 {
                    &b"secret"[..]
                } else {
                    &password[..]
                };
                h.connect(primary_addr(), pw);
            }
            Role::Server => {
                if let Some(p) = h.peer.as_mut() {
                    p.connect(h.now, ConnId(1), target_addr(), &password)
                        .expect("peer connect");
                }
            }
        }
        h.settle();
        h
    }

    /// Starts an outgoing attempt from the target (at most `MAX_CONNECTS`).
    pub fn connect(&mut self, to: SocketAddr, password: &[u8]) {
        if self.connects >= MAX_CONNECTS {
            return;
        }
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        if self.ep.connect(self.now, id, to, password).is_ok() {
            self.connects += 1;
        }
    }

    /// Feeds one datagram to the target.
    pub fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) {
        self.ep.handle_datagram(self.now, from, bytes);
        self.settle();
    }

    /// Moves virtual time forward and runs due timers on both endpoints.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.settle();
    }

    /// Delivers what is queued between the target and its peer (`drop_mask` bit k drops
    /// the k-th datagram of this batch in each direction, for loss).
    pub fn pump(&mut self, drop_mask: u8) {
        let now = self.now;
        let batch: Vec<Vec<u8>> = self.to_target.drain(..).collect();
        for (i, d) in batch.iter().enumerate() {
            if i < 8 && drop_mask >> i & 1 == 1 {
                continue;
            }
            self.ep.handle_datagram(now, primary_addr(), d);
        }
        let batch: Vec<Vec<u8>> = self.to_peer.drain(..).collect();
        if let Some(p) = self.peer.as_mut() {
            for (i, d) in batch.iter().enumerate() {
                if i < 8 && drop_mask >> i & 1 == 1 {
                    continue;
                }
                p.handle_datagram(now, target_addr(), d);
            }
        }
        self.settle();
    }

    /// An application send on the target, on connection `sel` of those it knows (or a
    /// made-up id), of `len` patterned bytes starting with a user message id.
    pub fn send_target(&mut self, sel: u8, rel: u8, prio: u8, channel: u8, len: u16) {
        let conn = self.pick_target_conn(sel);
        let data = pattern(len);
        let opts = send_options(rel, prio, channel);
        let _ = self.ep.send(self.now, conn, &data, opts);
        self.settle();
    }

    /// An application send on the legitimate peer, on its first connection.
    pub fn send_peer(&mut self, rel: u8, prio: u8, channel: u8, len: u16) {
        let (Some(p), Some(&conn)) = (self.peer.as_mut(), self.peer_conns.first()) else {
            return;
        };
        let data = pattern(len);
        let _ = p.send(self.now, conn, &data, send_options(rel, prio, channel));
        self.settle();
    }

    /// Closes one of the target's connections (or a made-up id).
    pub fn close_target(&mut self, sel: u8, notify: bool) {
        let conn = self.pick_target_conn(sel);
        let _ = self.ep.close(self.now, conn, notify);
        self.settle();
    }

    fn pick_target_conn(&self, sel: u8) -> ConnId {
        match self.target_conns.get(usize::from(sel)) {
            Some(&(c, _)) => c,
            None => ConnId(
                u64::from(sel)
                    | if sel & 0x80 != 0 {
                        ConnId::INCOMING_BIT
                    } else {
                        0
                    },
            ),
        }
    }

    /// Sends an unconnected ping from the target.
    pub fn ping(&mut self, to: SocketAddr, open_only: bool) {
        self.ep.ping(self.now, to, open_only);
        self.settle();
    }

    /// Runs due timers, drains every output of both endpoints, and checks the invariants.
    pub fn settle(&mut self) {
        let now = self.now;
        if self.ep.poll_timeout().is_some_and(|t| t <= now) {
            self.ep.handle_timeout(now);
        }
        self.drain_target();
        if let Some(p) = self.peer.as_mut() {
            if p.poll_timeout().is_some_and(|t| t <= now) {
                p.handle_timeout(now);
            }
        }
        self.drain_peer();
        self.check();
    }

    fn drain_target(&mut self) {
        let now = self.now;
        let mut n = 0;
        while let Some(t) = self.ep.poll_transmit(now, &mut self.buf) {
            n += 1;
            assert!(n < DRAIN_LIMIT, "poll_transmit never returns None");
            assert!(
                self.buf.len() <= MAX_DATAGRAM,
                "datagram of {} bytes to {} exceeds MTU − 28",
                self.buf.len(),
                t.destination
            );
            if let Some(&mtu) = self.mtu_by_addr.get(&t.destination) {
                assert!(
                    self.buf.len() <= usize::from(mtu) - 28,
                    "datagram of {} bytes on a connection with MTU {mtu}",
                    self.buf.len()
                );
            }
            assert!(!self.buf.is_empty(), "empty datagram");
            if t.destination == primary_addr()
                && self.peer.is_some()
                && self.to_peer.len() < WIRE_CAP
            {
                self.to_peer.push_back(self.buf.clone());
            }
        }
        let mut n = 0;
        while let Some(e) = self.ep.poll_event() {
            n += 1;
            assert!(n < DRAIN_LIMIT, "poll_event never returns None");
            match e {
                Event::Connected { conn, addr, .. } => {
                    assert!(
                        !self.target_conns.iter().any(|&(c, _)| c == conn),
                        "{conn:?} connected twice"
                    );
                    if let Some(mtu) = self.ep.mtu(conn) {
                        assert!((576..=MAX_MTU).contains(&mtu), "MTU {mtu} out of range");
                        self.mtu_by_addr.insert(addr, mtu);
                    }
                    self.target_conns.push((conn, addr));
                }
                Event::Disconnected { conn, addr, .. } => {
                    self.target_conns.retain(|&(c, _)| c != conn);
                    self.mtu_by_addr.remove(&addr);
                }
                Event::Message { data, channel, .. } => {
                    assert!(!data.is_empty(), "empty message delivered");
                    assert!(channel < 32, "channel {channel}");
                    if self.delivered.len() < 1024 {
                        self.delivered.push(data);
                    }
                }
                _ => {}
            }
        }
    }

    fn drain_peer(&mut self) {
        let now = self.now;
        let Some(p) = self.peer.as_mut() else {
            return;
        };
        let mut n = 0;
        while let Some(t) = p.poll_transmit(now, &mut self.buf) {
            n += 1;
            assert!(n < DRAIN_LIMIT, "peer: poll_transmit never returns None");
            assert!(self.buf.len() <= MAX_DATAGRAM, "peer: oversize datagram");
            if t.destination == target_addr() && self.to_target.len() < WIRE_CAP {
                self.to_target.push_back(self.buf.clone());
            }
        }
        let mut n = 0;
        while let Some(e) = p.poll_event() {
            n += 1;
            assert!(n < DRAIN_LIMIT, "peer: poll_event never returns None");
            match e {
                Event::Connected { conn, .. } => self.peer_conns.push(conn),
                Event::Disconnected { conn, .. } | Event::ConnectFailed { conn, .. } => {
                    self.peer_conns.retain(|&c| c != conn)
                }
                _ => {}
            }
        }
    }

    /// Invariants after every step.
    fn check(&self) {
        let count = self.ep.connection_count();
        let bound = self.max_incoming as usize + self.connects;
        assert!(
            count <= bound,
            "{count} connections with max_incoming {} and {} connects",
            self.max_incoming,
            self.connects
        );
        // Everything is drained: the next deadline is in the future (no busy loop).
        if let Some(t) = self.ep.poll_timeout() {
            assert!(
                t > self.now,
                "deadline {t:?} not after now {:?} after draining",
                self.now
            );
        }
        let cfg = self.ep.config();
        for &(conn, _) in &self.target_conns {
            if let Some(b) = self.ep.buffered_bytes(conn) {
                // A control message may be queued beyond the application's cap.
                assert!(
                    b <= cfg.reliability.max_send_buffer_bytes + 4096,
                    "buffered {b}"
                );
            }
        }
        let s = self.ep.stats();
        assert!(s.malformed_datagrams + s.unknown_source_datagrams <= s.datagrams_received);
        let _ = self.role;
    }
}

/// `len` bytes (at least 1): a user message id, then a counting pattern.
pub fn pattern(len: u16) -> Vec<u8> {
    let len = usize::from(len).max(1);
    let mut v = Vec::with_capacity(len);
    v.push(0x86);
    v.extend((1..len).map(|i| i as u8));
    v
}

/// Send options from raw numbers; the channel may be out of range (32) on purpose.
pub fn send_options(rel: u8, prio: u8, channel: u8) -> SendOptions {
    SendOptions {
        reliability: Reliability::from_u8(rel % 8).unwrap_or(Reliability::Reliable),
        priority: Priority::from_u8(prio % 4).unwrap_or(Priority::High),
        channel: channel % 33,
    }
}

/// The address as the wire writer will put it: an IPv4-mapped IPv6 address becomes plain
/// IPv4 (the writer emits the 7-byte form for it, the reader keeps the 29-byte form as
/// IPv6), so round-trip oracles compare canonical forms.
pub fn canonical(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::from((v4, v6.port())),
            None => a,
        },
        v4 => v4,
    }
}

/// Internal address lists as a round trip keeps them: canonical, padding removed.
pub fn canonical_list(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    addrs
        .iter()
        .map(|&a| canonical(a))
        .filter(|a| match a.ip() {
            std::net::IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_broadcast()),
            std::net::IpAddr::V6(v6) => !v6.is_unspecified(),
        })
        .collect()
}
