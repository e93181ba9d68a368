//! A deterministic simulated network: N endpoints, a virtual clock, and a seeded link
//! model per direction (latency, jitter, loss, duplication, reordering, MTU). `run_until`
//! jumps from event to event, so minutes of protocol time run in milliseconds, and a
//! failure names the seed that replays it exactly.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use crate::proto::rng::Rng;
use crate::proto::{Config, ConnId, Endpoint, Event, Reliability, SendOptions, Time};

/// How one direction between two endpoints behaves.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub(crate) latency: Duration,
    pub(crate) jitter: Duration,
    pub(crate) loss: f64,
    pub(crate) dup: f64,
    pub(crate) reorder: f64,
    /// Datagrams larger than this are dropped (a path MTU, UDP payload bytes).
    pub(crate) max_datagram: usize,
    /// Link rate in bytes per second (0 = unlimited); datagrams queue behind each other.
    pub(crate) rate: u64,
    /// Longest queue of a rate-limited link, as time to drain it; a datagram that would
    /// wait longer is dropped (a router's tail drop).
    pub(crate) queue: Duration,
    /// Links with the same bottleneck id share one rate-limited queue (the rate and queue
    /// of the link that carries each datagram apply), so several flows can compete.
    pub(crate) bottleneck: Option<u32>,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            latency: Duration::from_millis(5),
            jitter: Duration::ZERO,
            loss: 0.0,
            dup: 0.0,
            reorder: 0.0,
            max_datagram: 1464,
            rate: 0,
            queue: Duration::from_secs(1),
            bottleneck: None,
        }
    }
}

impl Link {
    pub(crate) fn lossy(loss: f64) -> Link {
        Link {
            loss,
            ..Link::default()
        }
    }
    pub(crate) fn dup(mut self, p: f64) -> Link {
        self.dup = p;
        self
    }
    pub(crate) fn reorder(mut self, p: f64) -> Link {
        self.reorder = p;
        self
    }
    pub(crate) fn latency_ms(mut self, ms: u64, jitter_ms: u64) -> Link {
        self.latency = Duration::from_millis(ms);
        self.jitter = Duration::from_millis(jitter_ms);
        self
    }
    pub(crate) fn max_datagram(mut self, n: usize) -> Link {
        self.max_datagram = n;
        self
    }
    pub(crate) fn rate(mut self, bytes_per_second: u64) -> Link {
        self.rate = bytes_per_second;
        self
    }
    /// A rate-limited queue of at most `drain` worth of data, shared by every link with
    /// the same `id`.
    #[allow(dead_code)]
    pub(crate) fn bottleneck(mut self, id: u32, bytes_per_second: u64, drain: Duration) -> Link {
        self.rate = bytes_per_second;
        self.queue = drain;
        self.bottleneck = Some(id);
        self
    }
}

/// A datagram on the wire: (arrival, order, to, from addr, bytes).
type InFlight = (Time, u64, usize, SocketAddr, Vec<u8>);

struct Node {
    addr: SocketAddr,
    ep: Endpoint,
    events: Vec<Event>,
    /// This node's clock runs this far ahead of the network's.
    clock_offset: Duration,
}

impl Node {
    /// The node's own view of `net_now`.
    fn local(&self, net_now: Time) -> Time {
        net_now + self.clock_offset
    }

    /// A deadline of the node's, on the network's clock.
    fn to_net(&self, local: Time) -> Time {
        let off = u64::try_from(self.clock_offset.as_micros()).unwrap_or(u64::MAX);
        Time::from_micros(local.as_micros().saturating_sub(off))
    }
}

/// Sees every datagram put on the wire (sender index, receiver index, bytes) and returns
/// what the network carries instead: nothing (dropped), the same or changed bytes, or
/// more (injected copies). A man in the middle.
pub(crate) type Tap = Box<dyn FnMut(usize, usize, Vec<u8>) -> Vec<Vec<u8>>>;

/// The simulated network.
pub(crate) struct Net {
    tap: Option<Tap>,
    pub(crate) now: Time,
    rng: Rng,
    seed: u64,
    nodes: Vec<Node>,
    default_link: Link,
    links: HashMap<(usize, usize), Link>,
    /// When each rate-limited queue finishes sending what it has: per direction, or per
    /// shared bottleneck (keyed `(usize::MAX, id)`).
    busy_until: HashMap<(usize, usize), Time>,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    order: u64,
    next_conn: u64,
    buf: Vec<u8>,
    /// Datagrams put on the wire, per sender.
    pub(crate) sent: Vec<u64>,
    /// Datagrams the link model dropped.
    pub(crate) dropped: u64,
    /// Of those, datagrams dropped because a rate-limited queue was full.
    pub(crate) queue_drops: u64,
    /// Longest queueing delay any datagram saw in a rate-limited queue.
    pub(crate) max_queue_delay: Duration,
}

impl Net {
    pub(crate) fn new(seed: u64) -> Net {
        Net {
            tap: None,
            now: Time::from_millis(1_000),
            rng: Rng::new(seed ^ 0xA5A5_5A5A),
            seed,
            nodes: Vec::new(),
            default_link: Link::default(),
            links: HashMap::new(),
            busy_until: HashMap::new(),
            in_flight: BinaryHeap::new(),
            order: 0,
            next_conn: 1,
            buf: Vec::with_capacity(1500),
            sent: Vec::new(),
            dropped: 0,
            queue_drops: 0,
            max_queue_delay: Duration::ZERO,
        }
    }

    #[allow(dead_code)]
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// Same link in every direction.
    pub(crate) fn with_link(mut self, link: Link) -> Net {
        self.default_link = link;
        self
    }

    /// A link for one direction.
    #[allow(dead_code)]
    pub(crate) fn set_link(&mut self, from: usize, to: usize, link: Link) {
        self.links.insert((from, to), link);
    }

    /// Adds an endpoint at 10.0.0.<n>:19132 with `config` (seed and, unless set, cookie
    /// secret from the net's seed);
    /// past 255 nodes the count carries into the third and second octets.
    pub(crate) fn add(&mut self, config: Config) -> usize {
        let n = self.nodes.len() as u32 + 1;
        let addr = SocketAddr::from(([10, (n >> 16) as u8, (n >> 8) as u8, n as u8], 19132));
        self.add_at(config, addr)
    }

    /// Adds an endpoint at a chosen address (several may share an IP on distinct ports).
    pub(crate) fn add_at(&mut self, mut config: Config, addr: SocketAddr) -> usize {
        let i = self.nodes.len();
        config.seed = self.seed.wrapping_mul(31).wrapping_add(i as u64 + 1);
        if config.cookie_secret.is_none() {
            // Repeatable runs: the cookie key comes from the net's seed too.
            let mut rng = Rng::new(config.seed ^ 0xC00C_1E5E_C4E7);
            let mut key = [0u8; 16];
            key[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
            key[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
            config.cookie_secret = Some(crate::proto::CookieSecret(key));
        }
        self.nodes.push(Node {
            addr,
            ep: Endpoint::new(config, addr),
            events: Vec::new(),
            clock_offset: Duration::ZERO,
        });
        self.sent.push(0);
        i
    }

    /// Makes node `n`'s clock run `ahead` ahead of the network's: every `now` it is
    /// given (datagrams, timers, commands through `Net`) is shifted by that much.
    pub(crate) fn set_clock_offset(&mut self, n: usize, ahead: Duration) {
        self.nodes[n].clock_offset = ahead;
    }

    /// Node `n`'s clock now (the network's, plus its offset).
    pub(crate) fn now_of(&self, n: usize) -> Time {
        self.nodes[n].local(self.now)
    }

    pub(crate) fn addr(&self, n: usize) -> SocketAddr {
        self.nodes[n].addr
    }

    pub(crate) fn ep(&mut self, n: usize) -> &mut Endpoint {
        &mut self.nodes[n].ep
    }

    /// Read-only access, for `run_until` conditions.
    pub(crate) fn ep_ref(&self, n: usize) -> &Endpoint {
        &self.nodes[n].ep
    }

    /// Events collected so far at node `n`.
    pub(crate) fn events(&self, n: usize) -> &[Event] {
        &self.nodes[n].events
    }

    /// Takes the collected events of node `n`.
    #[allow(dead_code)]
    pub(crate) fn take_events(&mut self, n: usize) -> Vec<Event> {
        std::mem::take(&mut self.nodes[n].events)
    }

    /// Starts `client` connecting to `server`; returns the client-side id.
    pub(crate) fn connect(&mut self, client: usize, server: usize, password: &[u8]) -> ConnId {
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        let to = self.nodes[server].addr;
        let now = self.now_of(client);
        self.nodes[client]
            .ep
            .connect(now, id, to, password)
            .expect("connect");
        id
    }

    /// Starts `client` connecting to `server` with per-attempt options.
    pub(crate) fn connect_opts(
        &mut self,
        client: usize,
        server: usize,
        opts: crate::proto::ConnectOptions,
    ) -> ConnId {
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        let to = self.nodes[server].addr;
        let now = self.now_of(client);
        self.nodes[client]
            .ep
            .connect_with(now, id, to, b"", opts)
            .expect("connect");
        id
    }

    /// Puts a man in the middle of every datagram (see [`Tap`]); `None` removes it.
    pub(crate) fn set_tap(&mut self, tap: Option<Tap>) {
        self.tap = tap;
    }

    /// Connects and runs until both sides report `Connected`; returns (client id, server id).
    pub(crate) fn connect_pair(&mut self, client: usize, server: usize) -> (ConnId, ConnId) {
        let c = self.connect(client, server, b"");
        let caddr = self.nodes[client].addr;
        self.run_until(
            |n| n.connected_id(client, c).is_some() && n.incoming_id(server, caddr).is_some(),
            Duration::from_secs(60),
        )
        .unwrap_or_else(|e| panic!("connect_pair: {e}"));
        let s = self.incoming_id(server, caddr).unwrap();
        (c, s)
    }

    fn connected_id(&self, n: usize, id: ConnId) -> Option<ConnId> {
        self.nodes[n].events.iter().find_map(|e| match e {
            Event::Connected { conn, .. } if *conn == id => Some(*conn),
            _ => None,
        })
    }

    /// The id under which node `n` accepted a connection from `from`.
    pub(crate) fn incoming_id(&self, n: usize, from: SocketAddr) -> Option<ConnId> {
        self.nodes[n].events.iter().find_map(|e| match e {
            Event::Connected {
                conn,
                addr,
                incoming: true,
                ..
            } if *addr == from => Some(*conn),
            _ => None,
        })
    }

    pub(crate) fn send(&mut self, n: usize, conn: ConnId, data: &[u8], opts: SendOptions) {
        let now = self.now_of(n);
        self.nodes[n]
            .ep
            .send(now, conn, data, opts)
            .unwrap_or_else(|e| panic!("send failed: {e} (seed {})", self.seed));
    }

    /// Payloads of `Message` events at node `n`, in arrival order.
    pub(crate) fn messages(&self, n: usize) -> Vec<(Vec<u8>, u8, Reliability)> {
        self.nodes[n]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Message {
                    data,
                    channel,
                    reliability,
                    ..
                } => Some((data.clone(), *channel, *reliability)),
                _ => None,
            })
            .collect()
    }

    /// Lets every endpoint transmit and collects its events.
    fn flush(&mut self) {
        for i in 0..self.nodes.len() {
            let now = self.now_of(i);
            if self.nodes[i].ep.poll_timeout().is_some_and(|t| t <= now) {
                self.nodes[i].ep.handle_timeout(now);
            }
            while let Some(t) = self.nodes[i].ep.poll_transmit(now, &mut self.buf) {
                self.sent[i] += 1;
                let from = self.nodes[i].addr;
                let bytes = self.buf.clone();
                self.route(i, from, t.destination, bytes);
            }
            while let Some(e) = self.nodes[i].ep.poll_event() {
                self.nodes[i].events.push(e);
            }
        }
    }

    fn route(&mut self, from_idx: usize, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        let Some(to_idx) = self.nodes.iter().position(|n| n.addr == to) else {
            return;
        };
        if let Some(mut tap) = self.tap.take() {
            let out = tap(from_idx, to_idx, bytes);
            self.tap = Some(tap);
            for b in out {
                self.carry(from_idx, to_idx, from, b);
            }
            return;
        }
        self.carry(from_idx, to_idx, from, bytes);
    }

    fn carry(&mut self, from_idx: usize, to_idx: usize, from: SocketAddr, bytes: Vec<u8>) {
        let link = self
            .links
            .get(&(from_idx, to_idx))
            .unwrap_or(&self.default_link)
            .clone();
        let mut start = self.now;
        if let Some(tx_us) = (bytes.len() as u64 * 1_000_000).checked_div(link.rate) {
            // Serialisation: the datagram leaves after those queued before it. A queue
            // longer than `link.queue` of data drops it (a router's tail drop).
            let key = link
                .bottleneck
                .map_or((from_idx, to_idx), |id| (usize::MAX, id as usize));
            let busy = self.busy_until.entry(key).or_insert(self.now);
            if *busy < self.now {
                *busy = self.now;
            }
            let wait = *busy - self.now;
            if wait > link.queue {
                self.dropped += 1;
                self.queue_drops += 1;
                return;
            }
            self.max_queue_delay = self.max_queue_delay.max(wait);
            *busy += Duration::from_micros(tx_us);
            start = *busy;
        }
        if bytes.len() > link.max_datagram || self.rng.next_f64() < link.loss {
            self.dropped += 1;
            return;
        }
        let copies = if self.rng.next_f64() < link.dup { 2 } else { 1 };
        for _ in 0..copies {
            let mut delay = link.latency;
            if !link.jitter.is_zero() {
                delay += Duration::from_micros(self.rng.below(link.jitter.as_micros() as u64 + 1));
            }
            if self.rng.next_f64() < link.reorder {
                delay += link.latency + Duration::from_micros(self.rng.below(20_000));
            }
            self.order += 1;
            self.in_flight.push(Reverse((
                start + delay,
                self.order,
                to_idx,
                from,
                bytes.clone(),
            )));
        }
    }

    /// Runs until `cond` holds or `limit` of virtual time passes.
    pub(crate) fn run_until(
        &mut self,
        mut cond: impl FnMut(&Net) -> bool,
        limit: Duration,
    ) -> Result<(), String> {
        let deadline = self.now + limit;
        loop {
            self.flush();
            if cond(self) {
                return Ok(());
            }
            let next_arrival = self.in_flight.peek().map(|Reverse(x)| x.0);
            let next_timer = self
                .nodes
                .iter()
                .filter_map(|n| n.ep.poll_timeout().map(|t| n.to_net(t)))
                .min();
            let next = match (next_arrival, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => {
                    return Err(format!(
                        "network idle and condition unmet (seed {})",
                        self.seed
                    ))
                }
            };
            if next > deadline {
                return Err(format!(
                    "condition unmet after {limit:?} (seed {})",
                    self.seed
                ));
            }
            if next > self.now {
                self.now = next;
            }
            while let Some(Reverse((t, ..))) = self.in_flight.peek() {
                if *t > self.now {
                    break;
                }
                let Reverse((_, _, to, from, bytes)) = self.in_flight.pop().unwrap();
                let now = self.now_of(to);
                self.nodes[to].ep.handle_datagram(now, from, &bytes);
            }
        }
    }

    /// Runs for a fixed span of virtual time.
    pub(crate) fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        let _ = self.run_until(|n| n.now >= end, span + Duration::from_millis(1));
        if self.now < end {
            self.now = end;
            self.flush();
        }
    }

    /// Removes an endpoint from the network without telling anyone (it "vanishes").
    pub(crate) fn silence(&mut self, n: usize) {
        let addr = self.nodes[n].addr;
        self.nodes[n].addr = "0.0.0.0:1".parse().unwrap();
        self.in_flight.retain(|Reverse(x)| x.2 != n);
        let _ = addr;
    }
}
