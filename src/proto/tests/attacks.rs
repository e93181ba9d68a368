//! Attack suite: hostile input against the sans-IO core, each test asserting a stated
//! bound (memory, work, answers, state) while a legitimate connection on the same
//! endpoint keeps delivering. Deterministic: virtual time, fixed inputs, counts instead
//! of timings.
//!
//! `Lab` is a server and a well-behaved client joined by a perfect wire, plus attackers
//! whose datagrams go straight into the server and whose answers are counted per source
//! (for amplification: bytes sent back ÷ bytes received from unconnected sources).
//! `Hostile` is a connected peer that writes its datagrams by hand after a real
//! handshake (cookies included), so it can say anything a connection can carry.
//! Memory bounds that the endpoint does not expose are measured on the reliability
//! layer directly (`Receiver::held_bytes`). docs/protocol.md §4, §5, §6.3, §7.2, §8, §9.4.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::proto::config::ReliabilityConfig;
use crate::proto::reliability::{Receiver, Sender};
use crate::proto::wire::datagram::{self, DatagramKind};
use crate::proto::wire::frame::{Frame, FrameHeader, SplitHeader};
use crate::proto::wire::offline::{self, Offline};
use crate::proto::wire::{id, seq, Reader, Writer};
use crate::proto::{Config, ConnId, Endpoint, Event, Reliability, SendOptions, Time};

fn server_addr() -> SocketAddr {
    "10.0.0.2:19132".parse().unwrap()
}

fn client_addr() -> SocketAddr {
    "10.0.0.1:19132".parse().unwrap()
}

/// Attacker source number `n` (distinct address per `n`, IPv4 and IPv6 mixed).
fn attacker(n: u32) -> SocketAddr {
    if n % 7 == 6 {
        let [a, b, c, d] = n.to_be_bytes();
        SocketAddr::from((
            [
                0xfd00,
                0,
                0,
                0,
                0,
                0,
                u16::from_be_bytes([a, b]),
                u16::from_be_bytes([c, d]),
            ],
            4000,
        ))
    } else {
        let [_, b, c, d] = n.to_be_bytes();
        SocketAddr::from(([172, 16 + (b & 0x0F), c, d], 30_000 + (n % 20_000) as u16))
    }
}

/// Traffic with one unconnected source.
#[derive(Copy, Clone, Debug, Default)]
struct Flow {
    datagrams_in: u64,
    bytes_in: u64,
    datagrams_out: u64,
    bytes_out: u64,
}

/// A server, a connected well-behaved client, and attackers.
struct Lab {
    now: Time,
    server: Endpoint,
    client: Endpoint,
    /// The client's id for its connection, and the server's.
    client_conn: ConnId,
    server_conn: ConnId,
    buf: Vec<u8>,
    /// Per attacker source.
    flows: HashMap<SocketAddr, Flow>,
    /// What the server sent to sources we watch (hostile peers read their answers here).
    inbox: HashMap<SocketAddr, Vec<Vec<u8>>>,
    /// User messages the server delivered from the client.
    from_client: Vec<Vec<u8>>,
    /// Events of the server other than the client's messages.
    server_events: Vec<Event>,
    /// The client's OPEN_CONNECTION_REQUEST_2, as sent (for replays).
    client_request_2: Option<Vec<u8>>,
    /// User messages the client received from the server.
    to_client: usize,
    /// Address of every connection the server reported.
    conn_addr: HashMap<ConnId, SocketAddr>,
    next_msg: u32,
}

impl Lab {
    fn new(server_config: Config) -> Lab {
        let server = Endpoint::new(server_config, server_addr());
        let client = Endpoint::new(
            Config {
                seed: 99,
                ..Config::default()
            },
            client_addr(),
        );
        let mut lab = Lab {
            now: Time::from_millis(1_000),
            server,
            client,
            client_conn: ConnId(1),
            server_conn: ConnId(0),
            buf: Vec::with_capacity(2048),
            flows: HashMap::new(),
            inbox: HashMap::new(),
            from_client: Vec::new(),
            server_events: Vec::new(),
            client_request_2: None,
            conn_addr: HashMap::new(),
            to_client: 0,
            next_msg: 0,
        };
        let now = lab.now;
        lab.client
            .connect(now, ConnId(1), server_addr(), b"")
            .unwrap();
        lab.run_until(|l| l.server_conn.0 != 0, Duration::from_secs(5));
        assert_ne!(lab.server_conn.0, 0, "legitimate client did not connect");
        lab.run(Duration::from_millis(50));
        lab
    }

    fn server_config() -> Config {
        Config {
            max_incoming: 8,
            seed: 5,
            ..Config::default()
        }
    }

    /// One datagram from an attacker (or a hostile peer) into the server.
    fn attack(&mut self, from: SocketAddr, bytes: &[u8]) {
        let f = self.flows.entry(from).or_default();
        f.datagrams_in += 1;
        f.bytes_in += bytes.len() as u64;
        self.server.handle_datagram(self.now, from, bytes);
    }

    /// Collects answers to addresses in `inbox` (register with `watch`).
    fn watch(&mut self, addr: SocketAddr) {
        self.inbox.entry(addr).or_default();
    }

    /// Moves everything queued until the wire is quiet (at most `limit` passes).
    fn deliver(&mut self) {
        for _ in 0..100_000 {
            let mut moved = false;
            let now = self.now;
            if self.server.poll_timeout().is_some_and(|t| t <= now) {
                self.server.handle_timeout(now);
            }
            if self.client.poll_timeout().is_some_and(|t| t <= now) {
                self.client.handle_timeout(now);
            }
            while let Some(t) = self.server.poll_transmit(now, &mut self.buf) {
                moved = true;
                assert!(
                    self.buf.len() <= 1464,
                    "server sent {} bytes",
                    self.buf.len()
                );
                if t.destination == client_addr() {
                    self.client.handle_datagram(now, server_addr(), &self.buf);
                    continue;
                }
                if let Some(f) = self.flows.get_mut(&t.destination) {
                    f.datagrams_out += 1;
                    f.bytes_out += self.buf.len() as u64;
                }
                if let Some(q) = self.inbox.get_mut(&t.destination) {
                    q.push(self.buf.clone());
                }
            }
            while let Some(t) = self.client.poll_transmit(now, &mut self.buf) {
                moved = true;
                if t.destination == server_addr() {
                    if self.buf.first() == Some(&id::OPEN_CONNECTION_REQUEST_2) {
                        self.client_request_2 = Some(self.buf.clone());
                    }
                    self.server.handle_datagram(now, client_addr(), &self.buf);
                }
            }
            while let Some(e) = self.server.poll_event() {
                if let Event::Connected { conn, addr, .. } = e {
                    self.conn_addr.insert(conn, addr);
                }
                match e {
                    Event::Connected { conn, addr, .. } if addr == client_addr() => {
                        self.server_conn = conn;
                    }
                    Event::Message { conn, data, .. } if conn == self.server_conn => {
                        self.from_client.push(data);
                    }
                    other => self.server_events.push(other),
                }
            }
            while let Some(e) = self.client.poll_event() {
                if matches!(e, Event::Message { .. }) {
                    self.to_client += 1;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the wire never went quiet (livelock)");
    }

    /// Runs virtual time for `span`, stepping from deadline to deadline.
    fn run(&mut self, span: Duration) {
        let end = self.now + span;
        loop {
            self.deliver();
            let next = [self.server.poll_timeout(), self.client.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(end)
                .max(self.now + Duration::from_micros(1));
            if next > end {
                self.now = end;
                self.deliver();
                return;
            }
            self.now = next;
        }
    }

    fn run_until(&mut self, mut cond: impl FnMut(&Lab) -> bool, limit: Duration) -> bool {
        let end = self.now + limit;
        while self.now < end {
            self.run(Duration::from_millis(5));
            if cond(self) {
                return true;
            }
        }
        cond(self)
    }

    /// The legitimate client sends `n` reliable ordered messages; all must arrive, in
    /// order, within 10 s of virtual time. Returns how long it took.
    fn legit_round(&mut self, n: u32) -> Duration {
        let start = self.now;
        let first = self.next_msg;
        let before = self.from_client.len();
        for _ in 0..n {
            let mut m = vec![0x86];
            m.extend_from_slice(&self.next_msg.to_be_bytes());
            m.extend_from_slice(&[0x55; 40]);
            self.next_msg += 1;
            let now = self.now;
            self.client
                .send(
                    now,
                    self.client_conn,
                    &m,
                    SendOptions::new(Reliability::ReliableOrdered),
                )
                .expect("legitimate send");
        }
        let ok = self.run_until(
            |l| l.from_client.len() >= before + n as usize,
            Duration::from_secs(10),
        );
        assert!(ok, "legitimate connection stopped delivering");
        let got: Vec<u32> = self.from_client[before..]
            .iter()
            .map(|m| u32::from_be_bytes([m[1], m[2], m[3], m[4]]))
            .collect();
        assert_eq!(got, (first..first + n).collect::<Vec<_>>());
        assert!(self.server.is_connected(self.server_conn));
        self.now - start
    }

    /// Bytes out ÷ bytes in over every unconnected attacker source.
    fn amplification(&self) -> (u64, u64) {
        self.flows
            .values()
            .fold((0, 0), |(i, o), f| (i + f.bytes_in, o + f.bytes_out))
    }

    /// Answers per source never exceed the datagrams that source sent.
    fn assert_answers_per_source(&self, max_per_request: u64) {
        for (a, f) in &self.flows {
            assert!(
                f.datagrams_out <= f.datagrams_in * max_per_request,
                "{a}: {} answers to {} datagrams",
                f.datagrams_out,
                f.datagrams_in
            );
        }
    }

    /// Frames the server resent on the legitimate connection so far.
    fn conn_resent(&self) -> u64 {
        self.server
            .conn_stats(self.now, self.server_conn)
            .map_or(0, |s| s.frames_resent)
    }

    fn messages_from(&self, addr: SocketAddr) -> usize {
        self.server_events
            .iter()
            .filter(|e| {
                matches!(e, Event::Message { conn, .. }
                    if self.conn_addr.get(conn) == Some(&addr))
            })
            .count()
    }
}

/// A frame as the hostile peer wants it.
#[derive(Copy, Clone, Debug)]
struct Spec {
    rel: Reliability,
    oi: u32,
    channel: u8,
    split: Option<SplitHeader>,
}

fn spec(rel: Reliability) -> Spec {
    Spec {
        rel,
        oi: 0,
        channel: 0,
        split: None,
    }
}

/// A connected peer writing its datagrams by hand.
struct Hostile {
    addr: SocketAddr,
    datagram: u32,
    message: u32,
}

impl Hostile {
    /// Runs the whole handshake from `addr` (REQUEST_1, cookie, REQUEST_2, CONNECTION_
    /// REQUEST, NEW_INCOMING_CONNECTION) against the lab's server.
    fn connect(lab: &mut Lab, addr: SocketAddr, guid: u64) -> Hostile {
        lab.watch(addr);
        let cookie = request_1_cookie(lab, addr);
        let mut buf = Vec::new();
        Offline::OpenConnectionRequest2 {
            cookie,
            has_challenge: false,
            server_addr: server_addr(),
            mtu: 1492,
            guid,
        }
        .encode(&mut buf);
        lab.attack(addr, &buf);
        lab.deliver();
        let mut h = Hostile {
            addr,
            datagram: 0,
            message: 0,
        };
        let mut req = vec![id::CONNECTION_REQUEST];
        req.extend_from_slice(&guid.to_be_bytes());
        req.extend_from_slice(&lab.now.as_millis().to_be_bytes());
        req.push(0);
        h.send(lab, &[(spec(Reliability::Reliable), &req)]);
        let mut nic = Vec::new();
        {
            let mut w = Writer::new(&mut nic);
            w.u8(id::NEW_INCOMING_CONNECTION);
            w.address(server_addr());
            for _ in 0..10 {
                w.unassigned_address();
            }
            w.u64_be(0);
            w.u64_be(0);
        }
        h.send(lab, &[(spec(Reliability::ReliableOrdered), &nic)]);
        assert!(
            lab.server_events
                .iter()
                .any(|e| matches!(e, Event::Connected { addr: a, .. } if *a == addr)),
            "hostile peer {addr} did not connect"
        );
        h
    }

    /// One data datagram with these frames (next datagram and message numbers).
    fn datagram(&mut self, frames: &[(Spec, &[u8])]) -> Vec<u8> {
        let mut out = vec![0x84];
        out.extend_from_slice(&self.datagram.to_le_bytes()[..3]);
        self.datagram = seq::add(self.datagram, 1);
        for &(s, payload) in frames {
            let message_number = if s.rel.is_reliable() {
                let m = self.message;
                self.message = seq::add(m, 1);
                m
            } else {
                0
            };
            Frame {
                header: FrameHeader {
                    reliability: s.rel,
                    bit_len: (payload.len() * 8) as u16,
                    message_number,
                    sequencing_index: 0,
                    ordering_index: s.oi,
                    channel: s.channel,
                    split: s.split,
                },
                payload,
            }
            .encode(&mut Writer::new(&mut out));
        }
        out
    }

    fn send(&mut self, lab: &mut Lab, frames: &[(Spec, &[u8])]) {
        let d = self.datagram(frames);
        lab.attack(self.addr, &d);
        lab.deliver();
    }
}

/// Sends a full-size OPEN_CONNECTION_REQUEST_1 from `addr`; returns REPLY_1's cookie.
fn request_1_cookie(lab: &mut Lab, addr: SocketAddr) -> Option<u32> {
    lab.watch(addr);
    let mut buf = Vec::new();
    Offline::OpenConnectionRequest1 {
        protocol: 6,
        mtu: 1492,
    }
    .encode(&mut buf);
    lab.attack(addr, &buf);
    lab.deliver();
    let replies = lab.inbox.get_mut(&addr).expect("watched");
    let reply = replies.pop().expect("REPLY_1");
    match offline::decode(&reply) {
        Some(Ok(Offline::OpenConnectionReply1 { cookie, .. })) => cookie,
        other => panic!("expected REPLY_1, got {other:?}"),
    }
}

fn request_2(cookie: Option<u32>, guid: u64) -> Vec<u8> {
    request_2_to(server_addr(), cookie, guid)
}

/// OPEN_CONNECTION_REQUEST_2 for the server at `server` (MTU 1492), with `cookie`.
pub(super) fn request_2_to(server: SocketAddr, cookie: Option<u32>, guid: u64) -> Vec<u8> {
    let mut buf = Vec::new();
    Offline::OpenConnectionRequest2 {
        cookie,
        has_challenge: false,
        server_addr: server,
        mtu: 1492,
        guid,
    }
    .encode(&mut buf);
    buf
}

fn ping(time: u64, guid: Option<u64>) -> Vec<u8> {
    let mut buf = Vec::new();
    Offline::UnconnectedPing {
        open_connections_only: false,
        time,
        guid,
    }
    .encode(&mut buf);
    buf
}

/// Frames in a data datagram (0 for anything else).
fn frames_in(d: &[u8]) -> u64 {
    if datagram::classify(d) != Some(DatagramKind::Data) {
        return 0;
    }
    let mut r = Reader::new(&d[4..]);
    let mut n = 0;
    while r.remaining() >= 4 && Frame::decode(&mut r).is_ok() {
        n += 1;
    }
    n
}

/// A data datagram of the reliability layer, built by hand (receiver-level tests).
fn data_datagram(number: u32, frames: &[(FrameHeader, &[u8])]) -> Vec<u8> {
    let mut out = vec![0x84];
    out.extend_from_slice(&number.to_le_bytes()[..3]);
    for &(header, payload) in frames {
        Frame { header, payload }.encode(&mut Writer::new(&mut out));
    }
    out
}

fn header(rel: Reliability, len: usize, msg: u32, split: Option<SplitHeader>) -> FrameHeader {
    FrameHeader {
        reliability: rel,
        bit_len: (len * 8) as u16,
        message_number: msg,
        sequencing_index: 0,
        ordering_index: 0,
        channel: 0,
        split,
    }
}

// ---------------------------------------------------------------------------------------
// Split bombs (docs/protocol.md §8.2: 4.081 preallocates from the announced count)
// ---------------------------------------------------------------------------------------

/// Bound: a fragment announcing 2^32 − 1 fragments (or any count above
/// `max_split_count`) is refused before anything is stored; a count at the cap costs
/// only the bytes received plus one bit per index up to the highest index seen.
#[test]
fn split_count_bomb_allocates_nothing() {
    let cfg = ReliabilityConfig::default();
    let mut rx = Receiver::new(&cfg);
    let payload = [0x86u8; 100];
    let mut n = 0u32;
    for i in 0..1000u32 {
        let sh = SplitHeader {
            count: u32::MAX,
            id: (i % 65_536) as u16,
            index: i.wrapping_mul(2_654_435_761) % (u32::MAX - 1),
        };
        let h = header(Reliability::Reliable, payload.len(), n, Some(sh));
        rx.on_data(Time::ZERO, &data_datagram(n, &[(h, &payload)]))
            .unwrap();
        n += 1;
    }
    assert_eq!(rx.held_bytes(), 0, "a refused count bomb holds nothing");
    assert_eq!(rx.stats().split_rejected, 1000);
    // At the cap, the last index: held = the bytes received (plus an 8 KiB bitmap).
    let sh = SplitHeader {
        count: cfg.max_split_count,
        id: 7,
        index: cfg.max_split_count - 1,
    };
    let h = header(Reliability::Reliable, payload.len(), n, Some(sh));
    rx.on_data(Time::ZERO, &data_datagram(n, &[(h, &payload)]))
        .unwrap();
    // Allocated: the bytes received, a fragment table of a few 12-byte entries, the
    // 8 KiB bitmap. Charged against the receive budget: all the message can allocate
    // before it completes (its bytes, a 12-byte entry per fragment, the bitmap).
    let allocated = rx.allocated_bytes();
    assert!(
        (payload.len() + 8192..=payload.len() + 8192 + 64).contains(&allocated),
        "{allocated} bytes allocated"
    );
    assert_eq!(rx.held_bytes(), 65_536 * (payload.len() + 12) + 8192);
    assert!(rx.poll_delivery().is_none());
    println!(
        "split count bomb: 1000 fragments claiming 2^32-1 parts -> 0 bytes held; \
         1 fragment at index {} -> {} bytes held",
        cfg.max_split_count - 1,
        rx.held_bytes()
    );

    // Through a whole endpoint: nothing delivered, the legitimate client unaffected.
    let mut lab = Lab::new(Lab::server_config());
    let mut hostile = Hostile::connect(&mut lab, attacker(1), 0xBAD);
    for i in 0..2000u32 {
        let s = Spec {
            split: Some(SplitHeader {
                count: u32::MAX - (i % 3),
                id: i as u16,
                index: i,
            }),
            ..spec(Reliability::Reliable)
        };
        hostile.send(&mut lab, &[(s, &payload)]);
        if i % 500 == 0 {
            lab.legit_round(10);
        }
    }
    assert_eq!(lab.messages_from(attacker(1)), 0);
    lab.legit_round(50);
    assert_eq!(lab.server.connection_count(), 2);
}

/// Bound: at most `max_concurrent_splits` (8 by default) partial messages per connection, whatever
/// number of split ids a peer opens; unreliable fragments beyond it are dropped, reliable
/// ones deferred (their datagram left unACKed for a later resend).
#[test]
fn many_split_ids_hold_at_most_max_concurrent() {
    let cfg = ReliabilityConfig::default();
    let mut rx = Receiver::new(&cfg);
    let payload = [0x86u8; 100];
    // Each partial is charged for what it can allocate: two fragments' bytes, two
    // 12-byte fragment entries, one bitmap word.
    let per = 2 * payload.len() + 32;
    for i in 0..65_536u32 {
        let sh = SplitHeader {
            count: 2,
            id: i as u16,
            index: 0,
        };
        let h = header(Reliability::Unreliable, payload.len(), 0, Some(sh));
        rx.on_data(Time::ZERO, &data_datagram(i, &[(h, &payload)]))
            .unwrap();
        assert!(rx.held_bytes() <= cfg.max_concurrent_splits * per);
    }
    assert_eq!(rx.held_bytes(), cfg.max_concurrent_splits * per);
    println!(
        "split ids: 65536 ids opened -> {} partials, {} bytes held",
        cfg.max_concurrent_splits,
        rx.held_bytes()
    );
    // The split timeout reclaims them.
    rx.handle_timeout(Time::ZERO + Duration::from_secs(31));
    assert_eq!(rx.held_bytes(), 0);

    let mut lab = Lab::new(Lab::server_config());
    let mut hostile = Hostile::connect(&mut lab, attacker(2), 0xBAD2);
    for i in 0..10_000u32 {
        let s = Spec {
            split: Some(SplitHeader {
                count: 2,
                id: i as u16,
                index: 0,
            }),
            ..spec(if i % 2 == 0 {
                Reliability::Unreliable
            } else {
                Reliability::Reliable
            })
        };
        hostile.send(&mut lab, &[(s, &payload)]);
    }
    assert_eq!(lab.messages_from(attacker(2)), 0);
    lab.legit_round(50);
}

/// Bound: with the defaults users ship (`Config::default()`: 32 MiB split messages, 8 at
/// once per connection, a 128 MiB receive budget) and every incoming slot but the
/// legitimate client's taken by a hostile peer opening split messages it never
/// finishes, the whole endpoint holds at most `receive_budget`; refused fragments are
/// never acknowledged; the legitimate client still gets a 256 KiB message through.
/// (The memory those messages really allocate is measured in `tests/memory.rs`.)
#[test]
fn split_size_bomb_from_every_slot_stays_within_the_receive_budget() {
    flood_every_slot(Flood::SplitBomb);
}

/// What the hostile peers of `flood_every_slot` send.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Flood {
    /// Reliable fragments of 8 split messages of 700 fragments each, never finished.
    SplitBomb,
    /// Reliable ordered messages past a hole (an index never sent) on all 32 channels.
    OrderingHoles,
}

/// Incoming slots of the default-config floods: the legitimate client and 63 hostile
/// peers.
const FLOOD_SLOTS: u32 = 64;

/// Fragments the split bomb's messages announce: about 1 MiB of 1,400-byte fragments,
/// so a hostile peer's share of the budget takes a few of them, not a fraction of one.
const SPLIT_BOMB_COUNT: u32 = 700;

/// The hostile peers send 1,400-byte frames, one per datagram, taking turns: 24 rounds
/// of split fragments (each first fragment claims a whole message), or 1.25 ×
/// `receive_budget` of messages past a hole. The endpoint's held bytes are checked
/// after every datagram; without the budget they would exceed it.
fn flood_every_slot(kind: Flood) {
    const FRAGMENT: usize = 1400;
    let mut lab = Lab::new(Config {
        max_incoming: FLOOD_SLOTS,
        seed: 5,
        ..Config::default()
    });
    let budget = lab.server.config().receive_budget;
    let mut hostiles: Vec<Hostile> = (0..FLOOD_SLOTS - 1)
        .map(|n| Hostile::connect(&mut lab, attacker(40_000 + n), 0xB0_0000 + u64::from(n)))
        .collect();
    assert_eq!(lab.server.connection_count(), FLOOD_SLOTS as usize);
    let payload = [0x86u8; FRAGMENT];
    // Split messages are charged their whole size from their first fragment, so a few
    // datagrams per hostile peer claim all it may hold; held messages only their own.
    let total = match kind {
        Flood::SplitBomb => 24 * (FLOOD_SLOTS as usize - 1),
        Flood::OrderingHoles => budget * 5 / 4 / FRAGMENT,
    };
    let mut refused: Vec<(SocketAddr, u32)> = Vec::new();
    let mut peak = 0;
    for k in 0..total {
        let h = &mut hostiles[k % (FLOOD_SLOTS as usize - 1)];
        let round = (k / (FLOOD_SLOTS as usize - 1)) as u32;
        let s = match kind {
            Flood::SplitBomb => Spec {
                split: Some(SplitHeader {
                    count: SPLIT_BOMB_COUNT,
                    id: (round % 8) as u16,
                    index: round / 8,
                }),
                ..spec(Reliability::Reliable)
            },
            // Channel 0 delivered index 0 (NEW_INCOMING_CONNECTION): index 1 is the hole
            // there, index 0 on the others.
            Flood::OrderingHoles => Spec {
                oi: 2 + round / 32,
                channel: (round % 32) as u8,
                ..spec(Reliability::ReliableOrdered)
            },
        };
        let number = h.datagram;
        let d = h.datagram(&[(s, &payload)]);
        let before = lab.server.stats().dropped.over_receive_budget;
        lab.attack(h.addr, &d);
        if lab.server.stats().dropped.over_receive_budget != before {
            refused.push((h.addr, number));
        }
        let held = lab.server.receive_held_bytes();
        assert!(held <= budget, "{held} bytes held, budget {budget}");
        peak = peak.max(held);
        if k % 1024 == 1023 {
            lab.deliver();
        }
    }
    lab.deliver();
    let held = lab.server.receive_held_bytes();
    // A second count, from each connection's buffers, agrees with the endpoint's account.
    let now = lab.now;
    let recounted: usize = lab
        .conn_addr
        .keys()
        .filter_map(|&c| lab.server.conn_stats(now, c))
        .map(|s| s.receive_held_bytes)
        .sum();
    println!(
        "{kind:?} from {} hostile connections at Config::default(): {} MiB sent, peak {peak} \
         bytes held (budget {budget}), {} datagrams refused",
        FLOOD_SLOTS - 1,
        (total * FRAGMENT) >> 20,
        refused.len()
    );
    assert_eq!(recounted, held);
    assert_eq!(lab.server.stats().receive_held_bytes, held as u64);
    // The flood did reach the budget (all but the legitimate client's unused share).
    assert!(peak >= budget / 100 * 98, "peak {peak}, budget {budget}");
    assert_eq!(
        refused.len() as u64,
        lab.server.stats().dropped.over_receive_budget
    );
    assert!(refused.len() > total / 10, "{} refused", refused.len());
    // What was refused was never acknowledged (the sender would think it delivered).
    let mut acked: HashMap<SocketAddr, Vec<(u32, u32)>> = HashMap::new();
    let mut ranges = Vec::new();
    for h in &hostiles {
        for d in &lab.inbox[&h.addr] {
            if datagram::classify(d) == Some(DatagramKind::Ack)
                && datagram::decode_ack_nak(d, &mut ranges).is_ok()
            {
                acked.entry(h.addr).or_default().extend_from_slice(&ranges);
            }
        }
    }
    assert!(
        acked.values().map(Vec::len).sum::<usize>() > 0,
        "no ACKs seen"
    );
    for (addr, n) in &refused {
        let ranges = acked.get(addr).map_or(&[][..], Vec::as_slice);
        assert!(
            !ranges.iter().any(|&(a, b)| (a..=b).contains(n)),
            "{addr}: refused datagram {n} was acknowledged"
        );
    }
    assert_eq!(lab.messages_from(hostiles[0].addr), 0);

    // The legitimate client keeps its share: small messages, and a 256 KiB one.
    lab.legit_round(50);
    let mut big = vec![0x86];
    big.resize(256 << 10, 0x5A);
    let now = lab.now;
    lab.client
        .send(
            now,
            lab.client_conn,
            &big,
            SendOptions::new(Reliability::ReliableOrdered),
        )
        .unwrap();
    let before = lab.from_client.len();
    assert!(
        lab.run_until(|l| l.from_client.len() > before, Duration::from_secs(10)),
        "the 256 KiB message did not arrive"
    );
    assert_eq!(lab.from_client.last(), Some(&big));
    assert!(lab.server.receive_held_bytes() <= budget);
    lab.legit_round(20);
    // The hostile peers never answer: they time out, and what they held goes with them.
    lab.run(Duration::from_secs(11));
    assert_eq!(lab.server.connection_count(), 1);
    assert_eq!(lab.server.receive_held_bytes(), 0);
    lab.legit_round(20);
}

// ---------------------------------------------------------------------------------------
// ACK / NAK floods (docs/protocol.md §6.3)
// ---------------------------------------------------------------------------------------

/// ACK or NAK datagrams of as many overlapping ranges as fit, including 0..=0xFFFFFF.
fn range_flood(nak: bool, i: u32) -> Vec<u8> {
    let mut ranges = vec![(0, seq::MASK)];
    ranges.extend((0..400u32).map(|k| {
        let a = (i.wrapping_mul(7919) + k * 40_000) & seq::MASK;
        (a.min(seq::MASK - 1000), (a + 1000).min(seq::MASK))
    }));
    ranges.push((seq::MASK, seq::MASK));
    let mut buf = Vec::new();
    datagram::encode_ack_nak(nak, &ranges, 1464, &mut buf);
    buf
}

/// Bound: 10,000 ACK/NAK datagrams of ~200 huge, overlapping ranges each are processed
/// (work per datagram is clipped to the sender's history), cost the hostile connection
/// nothing but resends of what it really had in flight, and the legitimate connection
/// still delivers afterwards. A NAK flood spoofed with the legitimate client's address
/// during a transfer only makes the server resend each in-flight datagram's frames once.
#[test]
fn ack_nak_floods_do_not_freeze_the_endpoint() {
    let mut lab = Lab::new(Lab::server_config());
    let hostile = Hostile::connect(&mut lab, attacker(3), 0xBAD3);
    let sent_before = lab.server.stats().datagrams_sent;
    for i in 0..10_000u32 {
        let d = range_flood(i % 2 == 1, i);
        lab.attack(hostile.addr, &d);
        if i % 100 == 0 {
            lab.deliver();
        }
    }
    lab.deliver();
    let answered = lab.server.stats().datagrams_sent - sent_before;
    println!("ack/nak flood: 10000 datagrams from a connected peer -> {answered} datagrams sent");
    assert!(answered < 100, "{answered} datagrams answered a flood");
    lab.legit_round(100);

    // Spoofed NAKs from the client's own address while the server sends it data. First
    // a delivered transfer opens the congestion window; then, at one instant, a burst is
    // sent and lost (nothing else is in flight), and 10,000 NAKs of everything follow.
    let big = |k: u32| {
        let mut m = vec![0x86];
        m.extend_from_slice(&k.to_be_bytes());
        m.resize(1000, 0x11);
        m
    };
    let ordered = SendOptions::new(Reliability::ReliableOrdered);
    for k in 0..500u32 {
        let now = lab.now;
        lab.server
            .send(now, lab.server_conn, &big(k), ordered)
            .unwrap();
    }
    lab.run(Duration::from_secs(2));
    assert_eq!(lab.server.buffered_bytes(lab.server_conn), Some(0));
    let now = lab.now;
    for k in 0..2000u32 {
        lab.server
            .send(now, lab.server_conn, &big(k), ordered)
            .unwrap();
    }
    let resent0 = lab.conn_resent();
    let mut in_flight = 0u64;
    while lab.server.poll_transmit(now, &mut lab.buf).is_some() {
        in_flight += frames_in(&lab.buf);
    }
    for i in 0..10_000u32 {
        let d = range_flood(true, i);
        lab.server.handle_datagram(now, client_addr(), &d);
    }
    while lab.server.poll_transmit(now, &mut lab.buf).is_some() {}
    let resent = lab.conn_resent() - resent0;
    println!(
        "spoofed nak flood: {in_flight} frames in flight, 10000 NAKs -> {resent} frames resent"
    );
    assert!(
        in_flight > 10,
        "the window did not open ({in_flight} frames)"
    );
    assert!(
        resent <= in_flight,
        "{resent} resends for {in_flight} frames in flight"
    );
    lab.run(Duration::from_secs(3));
    assert_eq!(lab.to_client, 2500, "the NAKed burst was not delivered");
    lab.legit_round(50);

    // Spoofed ACKs of everything from the client's address, while idle: the server's
    // later data still arrives.
    for i in 0..10_000u32 {
        let d = range_flood(false, i);
        lab.attack(client_addr(), &d);
    }
    lab.deliver();
    for k in 0..100u32 {
        let now = lab.now;
        lab.server
            .send(now, lab.server_conn, &big(k), ordered)
            .unwrap();
    }
    lab.run(Duration::from_secs(2));
    assert_eq!(lab.to_client, 2600);
    lab.legit_round(50);
}

// ---------------------------------------------------------------------------------------
// Ordering-index holes (docs/protocol.md §7.4)
// ---------------------------------------------------------------------------------------

/// Bound: an ordering index of 2^24 − 1 first is "older" than 0 and dropped, not held.
/// With the defaults users ship and every incoming slot but the legitimate client's
/// taken by a hostile peer sending messages past a hole on all 32 channels, the whole
/// endpoint holds at most `receive_budget` (`flood_every_slot`); nothing is delivered
/// past a hole.
#[test]
fn ordering_index_holes_are_bounded() {
    let cfg = ReliabilityConfig::default();
    let mut rx = Receiver::new(&cfg);
    let payload = [0x86u8; 64];
    let h = FrameHeader {
        ordering_index: seq::MASK,
        ..header(Reliability::ReliableOrdered, payload.len(), 0, None)
    };
    rx.on_data(Time::ZERO, &data_datagram(0, &[(h, &payload)]))
        .unwrap();
    assert!(rx.poll_delivery().is_none());
    assert_eq!(
        rx.held_bytes(),
        0,
        "index 2^24-1 before 0 is stale, not held"
    );
    flood_every_slot(Flood::OrderingHoles);
}

// ---------------------------------------------------------------------------------------
// 24-bit wraparound (docs/protocol.md §6.2, §9.4, §7.4)
// ---------------------------------------------------------------------------------------

/// Bound: datagram numbers, reliable message numbers and ordering indexes all cross 2^24
/// during one lossy transfer; every message arrives exactly once, in order per channel.
#[test]
fn numbers_wrap_at_2_24_over_a_long_transfer() {
    let cfg = ReliabilityConfig::default();
    let mut now = Time::from_millis(1);
    let mut tx = Sender::new(1492, &cfg, now);
    let mut rx = Receiver::new(&cfg);
    let (d0, m0, o0) = (seq::MASK - 500, seq::MASK - 2000, seq::MASK - 500);
    tx.start_numbers_at(d0, m0, o0);
    rx.start_numbers_at(d0, m0, o0);
    const N: u32 = 6000;
    for i in 0..N {
        let mut m = vec![0x86, (i % 4) as u8];
        m.extend_from_slice(&i.to_be_bytes());
        m.resize(60 + (i % 7) as usize * 100, 0x33);
        let opts = SendOptions::new(Reliability::ReliableOrdered).on_channel((i % 4) as u8);
        tx.queue(now, &m, opts, 0).unwrap();
    }
    let (mut buf, mut ack, mut ranges) = (Vec::new(), Vec::new(), Vec::new());
    let mut got: Vec<Vec<u32>> = vec![Vec::new(); 4];
    let (mut seen_dg, mut seen_msg, mut seen_oi) = ([false; 2], [false; 2], [false; 2]);
    let mut sent = 0u64;
    for _ in 0..200_000 {
        while tx.write_datagram(now, &mut buf) {
            sent += 1;
            let mut r = Reader::new(&buf);
            let h = crate::proto::wire::datagram::DataHeader::decode(&mut r).unwrap();
            seen_dg[usize::from(h.number < 0x80_0000)] = true;
            while r.remaining() >= 4 {
                let f = Frame::decode(&mut r).unwrap();
                seen_msg[usize::from(f.header.message_number < 0x80_0000)] = true;
                seen_oi[usize::from(f.header.ordering_index < 0x80_0000)] = true;
            }
            if sent % 9 != 0 {
                rx.on_data(now, &buf).unwrap();
            }
        }
        while let Some(d) = rx.poll_delivery() {
            let i = u32::from_be_bytes([d.data[2], d.data[3], d.data[4], d.data[5]]);
            got[usize::from(d.channel)].push(i);
        }
        for nak in [false, true] {
            loop {
                let wrote = if nak {
                    rx.write_nak(now, 1464, &mut ack)
                } else {
                    rx.write_ack(now, 1464, &mut ack)
                };
                if !wrote {
                    break;
                }
                let is_nak = datagram::decode_ack_nak(&ack, &mut ranges).unwrap();
                if is_nak {
                    tx.on_nak(now, &ranges);
                } else {
                    tx.on_ack(now, &ranges);
                }
            }
        }
        if got.iter().map(Vec::len).sum::<usize>() == N as usize && tx.is_idle() {
            break;
        }
        now += Duration::from_millis(2);
        tx.handle_timeout(now);
        rx.handle_timeout(now);
    }
    for (ch, v) in got.iter().enumerate() {
        let want: Vec<u32> = (0..N).filter(|i| i % 4 == ch as u32).collect();
        assert_eq!(v, &want, "channel {ch}");
    }
    assert!(seen_dg == [true; 2] && seen_msg == [true; 2] && seen_oi == [true; 2]);
    assert!(tx.is_idle());
    println!(
        "wraparound: {N} messages, {sent} datagrams (1 in 9 lost) across the 2^24 wrap of \
         datagram, message and ordering numbers: all delivered in order"
    );
}

// ---------------------------------------------------------------------------------------
// Handshake floods and replays (docs/protocol.md §5.2–5.5)
// ---------------------------------------------------------------------------------------

/// Bounds: REQUEST_1 from 5,000 sources gets at most one answer each, never larger than
/// the request (REQUEST_1s too short to pay for REPLY_1 get none); REQUEST_2 without a
/// cookie or with a wrong one creates no state and gets no answer; amplification ≤ 1.
#[test]
fn handshake_flood_creates_no_state_without_a_valid_cookie() {
    let mut lab = Lab::new(Lab::server_config());
    let dropped_before = lab.server.stats().offline_dropped;
    let mut r1 = Vec::new();
    for n in 0..5000u32 {
        let from = attacker(100 + n);
        let len = match n % 4 {
            0 => 1464,
            1 => 25 + (n / 4 % 7) as u16, // 25..=31 bytes: too short for REPLY_1
            2 => 300,
            _ => 576 - 28,
        };
        r1.clear();
        Offline::OpenConnectionRequest1 {
            protocol: 6,
            mtu: len + 28,
        }
        .encode(&mut r1);
        lab.attack(from, &r1);
        lab.attack(from, &request_2(None, u64::from(n) + 1));
        lab.attack(
            from,
            &request_2(Some(n.wrapping_mul(2_654_435_761)), u64::from(n) + 1),
        );
        if n % 1000 == 0 {
            lab.deliver();
            lab.legit_round(5);
        }
    }
    lab.deliver();
    assert_eq!(
        lab.server.connection_count(),
        1,
        "state created without a cookie"
    );
    for (a, f) in &lab.flows {
        assert!(
            f.datagrams_out <= 1,
            "{a}: {} answers to 3 requests",
            f.datagrams_out
        );
    }
    for (a, f) in &lab.flows {
        assert!(f.bytes_out <= f.bytes_in, "{a}: {f:?}");
    }
    let (i, o) = lab.amplification();
    println!(
        "handshake flood: 15000 datagrams from 5000 sources, {i} bytes in, {o} bytes out \
         (amplification {:.3}), {} dropped by policy",
        o as f64 / i as f64,
        lab.server.stats().offline_dropped - dropped_before
    );
    assert!(o <= i);
    assert!(lab.server.stats().dropped.bad_cookie >= 10_000);
    lab.legit_round(20);
}

/// Bounds: sources that do complete the cookie exchange (real addresses) get at most
/// `max_incoming` slots in all, the rest are told "no free incoming connections", and
/// slots that never send CONNECTION_REQUEST are freed after the timeout.
#[test]
fn handshake_flood_with_valid_cookies_fills_at_most_max_incoming() {
    let mut lab = Lab::new(Lab::server_config());
    let max = lab.server.config().max_incoming as usize;
    for n in 0..200u32 {
        let from = attacker(10_000 + n);
        let cookie = request_1_cookie(&mut lab, from);
        assert!(cookie.is_some(), "cookies are on by default");
        lab.attack(from, &request_2(cookie, 0x1_0000 + u64::from(n)));
        lab.deliver();
        assert!(lab.server.connection_count() <= max);
    }
    assert_eq!(lab.server.connection_count(), max);
    lab.assert_answers_per_source(1);
    let (i, o) = lab.amplification();
    println!(
        "valid-cookie flood: 200 sources -> {} slots (max {max}), {i} bytes in, {o} out",
        lab.server.connection_count()
    );
    assert!(o <= i);
    lab.legit_round(20);
    lab.run(Duration::from_secs(11));
    assert_eq!(
        lab.server.connection_count(),
        1,
        "idle slots were not reclaimed"
    );
    lab.legit_round(20);
}

/// Bounds: a replayed REQUEST_2 (valid cookie) from its own address gets the same
/// answer and no second slot; from another address it is dropped (the cookie is bound
/// to the address); after two cookie epochs (60 s) it is dropped too. Replaying the
/// legitimate client's REQUEST_2 while it is connected only earns a rejection the
/// client ignores.
#[test]
fn replayed_open_connection_requests_create_nothing() {
    let mut lab = Lab::new(Lab::server_config());
    let from = attacker(20_000);
    let cookie = request_1_cookie(&mut lab, from);
    let req = request_2(cookie, 0xFEED);
    for _ in 0..1000 {
        lab.attack(from, &req);
    }
    lab.deliver();
    assert_eq!(lab.server.connection_count(), 2);
    // One answer per replay, each the same REPLY_2 (a second slot, a refusal or a
    // multiplied answer would show here).
    let answers = &lab.inbox[&from];
    assert_eq!(answers.len(), 1000);
    assert_eq!(answers[0].first(), Some(&id::OPEN_CONNECTION_REPLY_2));
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "replays answered differently"
    );
    for n in 0..1000u32 {
        lab.attack(attacker(30_000 + n), &req);
    }
    lab.deliver();
    assert_eq!(lab.server.connection_count(), 2);
    for n in 0..1000u32 {
        assert_eq!(lab.flows[&attacker(30_000 + n)].datagrams_out, 0);
    }
    // The pending slot times out; the old cookie is worthless two epochs later.
    lab.run(Duration::from_secs(61));
    assert_eq!(lab.server.connection_count(), 1);
    let before = lab.flows[&from].datagrams_out;
    lab.attack(from, &req);
    lab.deliver();
    assert_eq!(
        lab.server.connection_count(),
        1,
        "an expired cookie opened a slot"
    );
    assert_eq!(lab.flows[&from].datagrams_out, before);

    let replay = lab.client_request_2.clone().expect("captured REQUEST_2");
    for _ in 0..100 {
        lab.server.handle_datagram(lab.now, client_addr(), &replay);
    }
    lab.deliver();
    assert_eq!(lab.server.connection_count(), 1);
    let (i, o) = lab.amplification();
    println!("replays: {i} bytes in, {o} bytes out");
    assert!(o <= i);
    lab.legit_round(20);
}

/// With `cookies: false` (RakNet 4.081's own behaviour) a spoofed REQUEST_2 is enough
/// to take a slot: measured here. Bounds: slots ≤ `max_incoming`, one answer per request.
fn handshake_without_cookies() -> (Lab, u64, u64) {
    let mut lab = Lab::new(Config {
        cookies: false,
        ..Lab::server_config()
    });
    for n in 0..1000u32 {
        lab.attack(
            attacker(50_000 + n),
            &request_2(None, 0x2_0000 + u64::from(n)),
        );
    }
    lab.deliver();
    let (i, o) = lab.amplification();
    (lab, i, o)
}

#[test]
fn handshake_without_cookies_is_measured() {
    let (mut lab, i, o) = handshake_without_cookies();
    let max = lab.server.config().max_incoming as usize;
    assert!(lab.server.connection_count() <= max);
    lab.assert_answers_per_source(1);
    let worst = lab
        .flows
        .values()
        .map(|f| f.bytes_out as f64 / f.bytes_in as f64)
        .fold(0.0, f64::max);
    println!("cookie-less REQUEST_2: worst single-source amplification {worst:.3}");
    println!(
        "cookie-less REQUEST_2 flood: 1000 spoofed sources -> {} slots (max {max}), \
         {i} bytes in, {o} out (amplification {:.3})",
        lab.server.connection_count(),
        o as f64 / i as f64
    );
    lab.legit_round(20);
}

#[test]
/// With cookies off (RakNet 4 compatibility mode) the only growth left is the one byte
/// RakNet 4's own REPLY_2 format adds: 35 bytes for a 34-byte request, never more.
fn handshake_without_cookies_amplifies_at_most_one_byte() {
    let (lab, i, o) = handshake_without_cookies();
    assert!(o * 34 <= i * 35, "{o} bytes answered {i}");
    for (a, f) in &lab.flows {
        assert!(
            f.bytes_out <= f.bytes_in + f.datagrams_in,
            "{a}: {} bytes answered {}",
            f.bytes_out,
            f.bytes_in
        );
    }
}

// ---------------------------------------------------------------------------------------
// Unconnected ping floods (docs/protocol.md §4.2)
// ---------------------------------------------------------------------------------------

/// Bounds: however many pings arrive between two polls, at most 1024 answers are queued
/// (the rest are counted in `dropped.offline_queue_full`); with the default (empty)
/// offline data, a 33-byte ping gets a 33-byte pong (amplification 1).
#[test]
fn ping_flood_is_capped_by_the_offline_queue() {
    let mut lab = Lab::new(Lab::server_config());
    for n in 0..100_000u32 {
        lab.attack(attacker(n % 10_000), &ping(u64::from(n), Some(7)));
    }
    let mut answers = 0;
    let now = lab.now;
    while let Some(t) = lab.server.poll_transmit(now, &mut lab.buf) {
        if let Some(f) = lab.flows.get_mut(&t.destination) {
            f.datagrams_out += 1;
            f.bytes_out += lab.buf.len() as u64;
            answers += 1;
        }
    }
    let full = lab.server.stats().dropped.offline_queue_full;
    println!("ping flood: 100000 pings between two polls -> {answers} pongs, {full} dropped");
    // The queue fills to its cap and no further; every other ping is counted, none
    // vanishes and none is answered twice.
    assert_eq!(answers, 1024);
    assert_eq!(answers + full, 100_000);
    let (i, o) = lab.amplification();
    assert!(o <= i, "{o} bytes answered {i}");
    lab.legit_round(20);
}

/// Measures the ping amplification the 4.081 format allows: the GUID is optional in a
/// ping (25 bytes), and the pong carries up to 399 bytes of offline data.
fn ping_amplification(offline_data: usize, ping_len: usize) -> f64 {
    let mut lab = Lab::new(Config {
        offline_data: vec![b'x'; offline_data],
        ..Lab::server_config()
    });
    for n in 0..1000u32 {
        let p = ping(u64::from(n), (ping_len == 33).then_some(1));
        assert_eq!(p.len(), ping_len);
        lab.attack(attacker(n), &p);
    }
    lab.deliver();
    let (i, o) = lab.amplification();
    o as f64 / i as f64
}

#[test]
fn ping_amplification_is_measured() {
    let plain = ping_amplification(0, 33);
    let short = ping_amplification(0, 25);
    let full = ping_amplification(399, 33);
    println!(
        "ping amplification: 33-byte ping, no offline data {plain:.2}; 25-byte ping {short:.2}; \
         33-byte ping with 399 bytes of offline data {full:.2}"
    );
    assert!(plain <= 1.0);
}

#[test]
fn ping_amplification_is_at_most_one() {
    assert!(ping_amplification(0, 25) <= 1.0);
    assert!(ping_amplification(399, 33) <= 1.0);
}

// ---------------------------------------------------------------------------------------
// Undersize and oversize datagrams of every type (docs/protocol.md §4.1, §6.1)
// ---------------------------------------------------------------------------------------

/// Shortest valid datagram of each kind the endpoint recognises, by first byte.
fn minimum_of_every_type() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    let magic = crate::proto::wire::MAGIC;
    let offline = |first: u8, magic_at: usize, len: usize| {
        let mut d = vec![0u8; len];
        d[0] = first;
        d[magic_at..magic_at + 16].copy_from_slice(&magic);
        d
    };
    for b in [0x01, 0x02] {
        v.push(offline(b, 9, 25));
    }
    v.push(offline(0x1C, 17, 33));
    v.push(offline(0x0D, 9, 26));
    for b in [0x05, 0x06, 0x07, 0x08, 0x11, 0x12, 0x14, 0x17, 0x1A] {
        v.push(offline(b, 1, 25));
    }
    v.push(offline(0x19, 2, 26));
    v.push(vec![0x84, 0, 0, 0]); // data header alone
    v.push(vec![0xC0, 0, 0]); // empty ACK
    v.push(vec![0xA0, 0, 0]); // empty NAK
    v.push(vec![0xE0, 0, 0, 0, 0, 0, 0]); // ACK with AS field
    v
}

/// Bounds: datagrams of 0..=2 bytes, one byte short of each type's minimum, and of
/// 64 KiB, from unknown sources and from a connected address, change no state, deliver
/// nothing, and are each counted in `EndpointStats` (or, for a valid 64 KiB probe,
/// answered with a reply no larger than it).
#[test]
fn undersize_and_oversize_datagrams_are_dropped_and_counted() {
    let mut lab = Lab::new(Lab::server_config());
    let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![0x84], vec![0xC0, 0]];
    for m in minimum_of_every_type() {
        inputs.push(m[..m.len() - 1].to_vec());
        let mut big = m.clone();
        big.resize(65_507, 0);
        inputs.push(big);
    }
    let events_before = lab.server_events.len();
    for (k, from) in [attacker(40_000), client_addr()].into_iter().enumerate() {
        for d in &inputs {
            let s0 = lab.server.stats().clone();
            let conns = lab.server.connection_count();
            let sent0 = lab.server.stats().datagrams_sent;
            if k == 0 {
                lab.attack(from, d);
            } else {
                lab.server.handle_datagram(lab.now, from, d);
            }
            let s1 = lab.server.stats().clone();
            let counted = (s1.malformed_datagrams - s0.malformed_datagrams)
                + (s1.unknown_source_datagrams - s0.unknown_source_datagrams)
                + (s1.offline_dropped - s0.offline_dropped);
            let answered = lab.server.poll_timeout() == Some(Time::ZERO);
            lab.deliver();
            assert_eq!(
                lab.server.connection_count(),
                conns,
                "{:02x?}",
                &d[..d.len().min(4)]
            );
            let valid_probe = d.len() > 1000 && offline::decode(d).is_some_and(|r| r.is_ok());
            assert!(
                counted == 1 || valid_probe || (d.len() > 1000 && k == 1),
                "not counted: {} bytes starting {:02x?} from {from}",
                d.len(),
                &d[..d.len().min(4)]
            );
            if valid_probe && answered {
                let f = lab.flows.get(&from).copied().unwrap_or_default();
                assert!(f.bytes_out <= f.bytes_in);
            }
            let _ = sent0;
        }
    }
    assert_eq!(
        lab.server_events.len(),
        events_before,
        "an event came out of junk"
    );
    lab.legit_round(20);
}

#[test]
fn oversize_data_datagram_from_a_connected_address_is_dropped() {
    let mut lab = Lab::new(Lab::server_config());
    let mut hostile = Hostile::connect(&mut lab, attacker(5), 0xBAD5);
    let payload = vec![0x86u8; 8000];
    let frames: Vec<(Spec, &[u8])> = (0..8)
        .map(|_| (spec(Reliability::Reliable), &payload[..]))
        .collect();
    let d = hostile.datagram(&frames);
    assert!(d.len() > 60_000);
    let before = lab.server.stats().malformed_datagrams;
    lab.attack(hostile.addr, &d);
    lab.deliver();
    assert_eq!(
        lab.messages_from(hostile.addr),
        0,
        "an oversize datagram delivered messages"
    );
    assert_eq!(lab.server.stats().malformed_datagrams, before + 1);
}

/// Every frame kind of a valid datagram is classified the same by the wire decoder and
/// the endpoint (guards the inputs above: each minimum really is the minimum).
#[test]
fn minimums_are_minimums() {
    for m in minimum_of_every_type() {
        let full = offline::decode(&m);
        let short = offline::decode(&m[..m.len() - 1]);
        match m[0] {
            0x84 | 0xC0 | 0xA0 | 0xE0 => {
                assert!(datagram::classify(&m).is_some());
                assert!(matches!(
                    datagram::classify(&m),
                    Some(DatagramKind::Data | DatagramKind::Ack | DatagramKind::Nak)
                ));
            }
            _ => {
                assert!(full.is_some(), "{:02x} not offline at its minimum", m[0]);
                assert!(
                    !matches!(short, Some(Ok(_))),
                    "{:02x} accepted one byte short",
                    m[0]
                );
            }
        }
    }
}
