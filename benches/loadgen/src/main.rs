//! rak_loadgen: the T3 load generator of the libraknet benchmarks.
//!
//! It plays K RakNet clients against one `rak_bench recv` server from one thread: each
//! client is a sans-IO `raknet::proto::Endpoint` with its own nonblocking UDP socket on
//! 127.0.0.1 (RakNet tells connections apart by address, so K clients need K ports),
//! all driven by one epoll loop and one timer heap. That costs a few microseconds of
//! CPU per message and two descriptors less per client than K `rak_peer` objects (a
//! socket, an eventfd and a network thread each), so 10 000 clients fit in a 20 000
//! descriptor limit and leave the CPU to the server being measured.
//!
//! A control client (not counted in K) asks the server for its RSS, CPU time and
//! message count (`Q` / `q`, benches/bench_util.h) before the K clients connect, once
//! they are connected, and after the load phase: RSS per connection and CPU per message
//! are the server's own numbers. It prints the same BENCH line as rak_bench.
//!
//!   rak_loadgen --host 127.0.0.1 --port P --clients K [--seconds D] [--msg-rate R]
//!               [--size S] [--connect-window W]

// A driver owns the clock and the sockets: the library's clippy.toml rules (which keep
// them out of proto/) do not apply here.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::exit;
use std::time::{Duration, Instant};

use raknet::proto::{Config, ConnId, Endpoint, Event, SendOptions, Time};

const BENCH_ID: u8 = 134;
const CONN: ConnId = ConnId(1);

#[derive(Copy, Clone, PartialEq, Eq)]
enum State {
    Idle,
    Connecting,
    Connected,
    Failed,
}

struct Client {
    sock: UdpSocket,
    ep: Endpoint,
    state: State,
    /// Earliest time this client has in the timer heap (Time::MAX: none).
    scheduled: Time,
    next_send: Time,
}

struct Load {
    period: Duration,
    until: Time,
    size: usize,
}

struct Driver {
    clients: Vec<Client>,
    server: SocketAddr,
    epfd: i32,
    heap: BinaryHeap<Reverse<(Time, usize)>>,
    origin: Instant,
    out: Vec<u8>,
    inbuf: Vec<u8>,
    msg: Vec<u8>,
    stats: Option<[u64; 4]>,
    load: Option<Load>,
    sent: u64,
    refused: u64,
    seq: u32,
    connected: usize,
    failed: usize,
    connecting: usize,
    last_connected: Time,
    dropped_datagrams: u64,
}

fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec for the call to write.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Driver {
    fn now(&self) -> Time {
        Time::from_micros(self.origin.elapsed().as_micros() as u64)
    }

    fn add_client(&mut self, index: usize) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| die(&format!("bind: {e}")));
        sock.set_nonblocking(true).expect("nonblocking");
        let local = sock.local_addr().expect("local address");
        let config = Config {
            guid: 0x6c6f_6164_0000_0000 | (index as u64 + 1),
            seed: 0x5eed_0000_0000 ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            ..Config::default()
        };
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: index as u64,
        };
        // SAFETY: epfd and the socket are open descriptors; ev is valid for the call.
        let r =
            unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, sock.as_raw_fd(), &mut ev) };
        if r != 0 {
            die("epoll_ctl");
        }
        self.clients.push(Client {
            sock,
            ep: Endpoint::new(config, local),
            state: State::Idle,
            scheduled: Time::MAX,
            next_send: Time::MAX,
        });
    }

    fn connect(&mut self, i: usize) {
        let now = self.now();
        let server = self.server;
        let c = &mut self.clients[i];
        if c.ep.connect(now, CONN, server, &[]).is_err() {
            die("connect refused by the endpoint");
        }
        c.state = State::Connecting;
        self.connecting += 1;
        self.touch(i);
    }

    /// After anything happened to client i: send its datagrams, take its events and
    /// put its next deadline in the heap.
    fn touch(&mut self, i: usize) {
        let now = self.now();
        let c = &mut self.clients[i];
        while let Some(t) = c.ep.poll_transmit(now, &mut self.out) {
            if c.sock.send_to(&self.out, t.destination).is_err() {
                self.dropped_datagrams += 1; // the protocol retransmits what matters
            }
        }
        while let Some(ev) = c.ep.poll_event() {
            match ev {
                Event::Connected { .. } => {
                    c.state = State::Connected;
                    self.connected += 1;
                    self.connecting -= 1;
                    self.last_connected = now;
                }
                Event::ConnectFailed { .. } => {
                    c.state = State::Failed;
                    self.failed += 1;
                    self.connecting -= 1;
                }
                Event::Disconnected { .. } => {
                    if c.state == State::Connected {
                        self.connected -= 1;
                    }
                    c.state = State::Failed;
                    self.failed += 1;
                }
                Event::Message { data, .. }
                    if data.len() >= 34 && data[0] == BENCH_ID && data[1] == b'q' =>
                {
                    let f = |k: usize| {
                        u64::from_le_bytes(data[2 + 8 * k..10 + 8 * k].try_into().unwrap())
                    };
                    self.stats = Some([f(0), f(1), f(2), f(3)]);
                }
                _ => {}
            }
        }
        if let Some(t) = c.ep.poll_timeout() {
            if t < c.scheduled {
                c.scheduled = t;
                self.heap.push(Reverse((t, i)));
            }
        }
    }

    fn send_message(&mut self, i: usize, data: &[u8]) -> bool {
        let now = self.now();
        let ok = self.clients[i]
            .ep
            .send(now, CONN, data, SendOptions::default())
            .is_ok();
        self.touch(i);
        ok
    }

    /// One turn of the loop: due timers, due sends, then up to `max_wait` for datagrams.
    fn step(&mut self, max_wait: Duration) {
        let now = self.now();
        while let Some(&Reverse((t, i))) = self.heap.peek() {
            if t > now {
                break;
            }
            self.heap.pop();
            if self.clients[i].scheduled != t {
                continue; // superseded by an earlier entry
            }
            self.clients[i].scheduled = Time::MAX;
            self.clients[i].ep.handle_timeout(now);
            self.touch(i);
        }
        if let Some(load) = &self.load {
            if now < load.until {
                let (period, size) = (load.period, load.size);
                for i in 1..self.clients.len() {
                    if self.clients[i].state != State::Connected || self.clients[i].next_send > now
                    {
                        continue;
                    }
                    self.clients[i].next_send += period;
                    self.msg.resize(size, 0);
                    self.msg[0] = BENCH_ID;
                    self.msg[1] = b'D';
                    self.msg[2..6].copy_from_slice(&self.seq.to_le_bytes());
                    self.msg[6..14].copy_from_slice(&mono_ns().to_le_bytes());
                    self.seq = self.seq.wrapping_add(1);
                    let msg = std::mem::take(&mut self.msg);
                    if self.send_message(i, &msg) {
                        self.sent += 1;
                    } else {
                        self.refused += 1;
                    }
                    self.msg = msg;
                }
            }
        }
        let next_timer = self.heap.peek().map(|r| r.0 .0).unwrap_or(Time::MAX);
        let wait = next_timer.saturating_since(self.now()).min(max_wait);
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 256];
        let timeout_ms = wait.as_micros().div_ceil(1000) as i32;
        // SAFETY: events is a valid buffer of 256 entries.
        let n = unsafe { libc::epoll_wait(self.epfd, events.as_mut_ptr(), 256, timeout_ms) };
        for ev in events.iter().take(n.max(0) as usize) {
            let i = ev.u64 as usize;
            // One datagram per readiness report: epoll is level-triggered, so a socket
            // with more waiting is reported again, and the common case (one ACK) costs
            // one recv instead of two (the second would only say "would block").
            if let Ok((len, from)) = self.clients[i].sock.recv_from(&mut self.inbuf) {
                let now = self.now();
                self.clients[i]
                    .ep
                    .handle_datagram(now, from, &self.inbuf[..len]);
            }
            self.touch(i);
        }
    }

    fn run_until(&mut self, mut done: impl FnMut(&Driver) -> bool, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !done(self) {
            if Instant::now() > deadline {
                return false;
            }
            self.step(Duration::from_millis(1));
        }
        true
    }

    fn run_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.step(Duration::from_millis(1));
        }
    }

    /// Asks the server for [rss_kb, cpu_us, conns, messages] over the control client.
    fn query(&mut self) -> [u64; 4] {
        self.stats = None;
        if !self.send_message(0, &[BENCH_ID, b'Q']) {
            die("cannot send the stats query");
        }
        if !self.run_until(|d| d.stats.is_some(), Duration::from_secs(30)) {
            let c = &self.clients[0].ep;
            die(&format!(
                "no stats from the server (control connection: connected {}, rtt {:?}, \
                 {:?} bytes unacknowledged)",
                c.is_connected(CONN),
                c.rtt(CONN),
                c.buffered_bytes(CONN)
            ));
        }
        self.stats.unwrap()
    }
}

/// CPU time of this process (user + system), in microseconds.
fn own_cpu_us() -> u64 {
    // SAFETY: an all-zero rusage is valid, and getrusage writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: ru is valid for the call to write.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

fn die(msg: &str) -> ! {
    eprintln!("rak_loadgen: {msg}");
    exit(2)
}

fn usage() -> ! {
    eprintln!(
        "usage: rak_loadgen --host H --port P --clients K [--seconds D] [--msg-rate R] [--size S]\n\
         \x20                  [--connect-window W]"
    );
    exit(2)
}

fn main() {
    let mut host = String::from("127.0.0.1");
    let (mut port, mut clients, mut seconds, mut size, mut window) =
        (0u16, 100usize, 5u64, 64usize, 0usize);
    let mut msg_rate = 10.0f64;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().unwrap_or_else(|| usage());
        let bad = || -> ! { die(&format!("{a}: bad value '{v}'")) };
        match a.as_str() {
            "--host" => host = v.clone(),
            "--port" => port = v.parse().unwrap_or_else(|_| bad()),
            "--clients" => clients = v.parse().unwrap_or_else(|_| bad()),
            "--seconds" => seconds = v.parse().unwrap_or_else(|_| bad()),
            "--msg-rate" => msg_rate = v.parse().unwrap_or_else(|_| bad()),
            "--size" => size = v.parse().unwrap_or_else(|_| bad()),
            "--connect-window" => window = v.parse().unwrap_or_else(|_| bad()),
            _ => usage(),
        }
    }
    if port == 0 || clients == 0 || size < 14 || msg_rate.is_nan() || msg_rate <= 0.0 {
        usage();
    }
    let server: SocketAddr = format!("{host}:{port}")
        .parse()
        .unwrap_or_else(|_| die("--host must be an IP literal"));
    // SAFETY: plain system call.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epfd < 0 {
        die("epoll_create1");
    }
    let mut d = Driver {
        clients: Vec::with_capacity(clients + 1),
        server,
        epfd,
        heap: BinaryHeap::new(),
        origin: Instant::now(),
        out: Vec::with_capacity(2048),
        inbuf: vec![0; 65536],
        msg: Vec::new(),
        stats: None,
        load: None,
        sent: 0,
        refused: 0,
        seq: 0,
        connected: 0,
        failed: 0,
        connecting: 0,
        last_connected: Time::ZERO,
        dropped_datagrams: 0,
    };
    for i in 0..=clients {
        d.add_client(i);
    }

    // The control client first; its connection is part of the baseline.
    d.connect(0);
    if !d.run_until(|d| d.connecting == 0, Duration::from_secs(15)) || d.connected != 1 {
        die("the control client could not connect");
    }
    let base = d.query();

    let start = d.now();
    let window = if window == 0 { clients } else { window };
    let mut next = 1;
    let all_done = |d: &Driver| d.connected + d.failed > clients;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !all_done(&d) && Instant::now() < deadline {
        while next <= clients && d.connecting < window {
            d.connect(next);
            next += 1;
        }
        d.step(Duration::from_millis(1));
    }
    let connected = d.connected - 1;
    let connect_s = d.last_connected.saturating_since(start).as_secs_f64();
    eprintln!(
        "rak_loadgen: {connected} of {clients} clients connected in {connect_s:.3} s ({} failed)",
        d.failed
    );
    d.run_for(Duration::from_secs(1)); // let the server settle
    let idle = d.query();

    let period = Duration::from_secs_f64(1.0 / msg_rate);
    let now = d.now();
    for i in 1..=clients {
        d.clients[i].next_send = now + period.mul_f64((i - 1) as f64 / clients as f64);
    }
    d.load = Some(Load {
        period,
        until: now + Duration::from_secs(seconds),
        size,
    });
    let cpu0 = own_cpu_us();
    d.run_for(Duration::from_secs(seconds));
    let own_cpu = (own_cpu_us() - cpu0) as f64 / 1e6 / seconds as f64;
    d.load = None;
    d.run_for(Duration::from_millis(500)); // deliveries in flight
    let after = d.query();

    let rss_per_conn = (idle[0] as f64 - base[0] as f64) / connected.max(1) as f64;
    let msgs = after[3].saturating_sub(idle[3]);
    let cpu_per_msg = (after[1] - idle[1]) as f64 / msgs.max(1) as f64;
    eprintln!(
        "rak_loadgen: server rss {} -> {} -> {} KiB, cpu {} us for {msgs} msgs; {} sends refused, \
         {} datagrams not sent; the load generator used {:.0} % of a CPU while sending",
        base[0],
        idle[0],
        after[0],
        after[1] - idle[1],
        d.refused,
        d.dropped_datagrams,
        own_cpu * 100.0
    );
    println!(
        "BENCH lib=libraknet test=T3 size={size} count={} delivered={msgs} clients={connected} \
         loss_pct=- seconds={seconds}.0000 msgs_per_s={:.0} mb_per_s=- mean_us=- p50_us=- p99_us=- \
         max_us=- connect_s={connect_s:.3} rss_kb_per_conn={rss_per_conn:.2} cpu_us_per_msg={cpu_per_msg:.2}",
        d.sent,
        msgs as f64 / seconds as f64
    );

    for i in 1..=clients {
        if d.clients[i].state == State::Connected {
            let now = d.now();
            let _ = d.clients[i].ep.close(now, CONN, true);
            d.touch(i);
        }
    }
    d.run_for(Duration::from_millis(300));
    exit(if connected == clients { 0 } else { 1 });
}
