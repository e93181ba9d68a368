//! Heap cost of idle connections on a server endpoint, measured with a counting global
//! allocator (this test binary only). It drives 1,000 client endpoints through the
//! handshake in virtual time, drops them, and divides the server's remaining growth by
//! the connection count. Prints the figure; asserts a ceiling that guards the goal of
//! issue 7 (at most 4 KiB per idle connection). A second test checks that connections
//! that carried traffic give the memory back once idle.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use raknet::proto::{Config, ConnId, Endpoint, Event, Reliability, SendOptions, Time};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const CLIENTS: usize = 1000;
/// Ceiling of the server's heap per idle connection, bytes: 2,490 measured (issue 7;
/// 19,334 before), plus a small margin. The goal is at most 4 KiB.
const CEILING: isize = 2816;

/// The tests share the allocation counter: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Moves datagrams between the server and its clients, 1 ms of virtual time per round,
/// until nothing moves (at most 200 rounds).
fn exchange(
    server: &mut Endpoint,
    server_addr: SocketAddr,
    clients: &mut HashMap<SocketAddr, Endpoint>,
    now: &mut Time,
) {
    let mut buf = Vec::with_capacity(1500);
    for _ in 0..200 {
        let mut moved = 0;
        while let Some(t) = server.poll_transmit(*now, &mut buf) {
            if let Some(c) = clients.get_mut(&t.destination) {
                c.handle_datagram(*now, server_addr, &buf);
            }
            moved += 1;
        }
        for (&a, c) in clients.iter_mut() {
            while c.poll_transmit(*now, &mut buf).is_some() {
                server.handle_datagram(*now, a, &buf);
                moved += 1;
            }
            while c.poll_event().is_some() {}
        }
        *now += Duration::from_millis(1);
        server.handle_timeout(*now);
        for c in clients.values_mut() {
            c.handle_timeout(*now);
        }
        if moved == 0 {
            break;
        }
    }
}

/// A server with one warm connection that stays (so the baseline holds the server's own
/// buffers), and `n` clients connected to it after the baseline was taken. Returns the
/// server, its clients, the baseline and the server's ids of the new connections.
fn connected(
    n: usize,
    max_incoming: u32,
    now: &mut Time,
) -> (
    Endpoint,
    SocketAddr,
    HashMap<SocketAddr, Endpoint>,
    isize,
    Vec<ConnId>,
) {
    let server_addr: SocketAddr = "10.0.0.1:19132".parse().unwrap();
    let mut server = Endpoint::new(
        Config {
            max_incoming,
            ..Config::default()
        },
        server_addr,
    );
    let mut clients: HashMap<SocketAddr, Endpoint> = HashMap::new();
    let warm: SocketAddr = "10.1.0.1:1".parse().unwrap();
    let mut c = Endpoint::new(Config::default(), warm);
    c.connect(*now, ConnId(1), server_addr, b"").unwrap();
    clients.insert(warm, c);
    exchange(&mut server, server_addr, &mut clients, now);
    while server.poll_event().is_some() {}
    clients.clear();
    let base = LIVE.load(Ordering::Relaxed);

    for i in 0..n {
        let a: SocketAddr = format!("10.2.{}.{}:{}", i / 250, i % 250 + 1, 2000 + i)
            .parse()
            .unwrap();
        let mut c = Endpoint::new(
            Config {
                seed: i as u64 + 7,
                ..Config::default()
            },
            a,
        );
        c.connect(*now, ConnId(1), server_addr, b"").unwrap();
        clients.insert(a, c);
    }
    exchange(&mut server, server_addr, &mut clients, now);
    let mut ids = Vec::new();
    while let Some(e) = server.poll_event() {
        if let Event::Connected { conn, .. } = e {
            ids.push(conn);
        }
    }
    assert_eq!(ids.len(), n);
    (server, server_addr, clients, base, ids)
}

#[test]
fn idle_connection_heap_cost() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut now = Time::from_millis(1000);
    let (server, _, mut clients, base, _) = connected(CLIENTS, CLIENTS as u32 + 10, &mut now);
    clients.clear();
    clients.shrink_to_fit();
    let per_conn = (LIVE.load(Ordering::Relaxed) - base) / CLIENTS as isize;
    eprintln!("server heap per idle connection: {per_conn} bytes");
    assert!(per_conn < CEILING, "{per_conn} bytes per idle connection");
    drop(server);
}

/// Connections that carried traffic (both directions, two ordering channels, some of it
/// out of order) give the memory back once idle: by the keep-alive, half a timeout later.
#[test]
fn busy_then_idle_connection_heap_cost() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 200;
    let mut now = Time::from_millis(1000);
    let (mut server, server_addr, mut clients, base, ids) = connected(N, N as u32 + 10, &mut now);
    let ordered = |channel| SendOptions {
        channel,
        ..SendOptions::new(Reliability::ReliableOrdered)
    };
    for round in 0..4u8 {
        for &id in &ids {
            for i in 0..200u32 {
                let msg = [&[0x86][..], &i.to_le_bytes(), &[round; 96]].concat();
                server.send(now, id, &msg, ordered(round % 2 * 3)).unwrap();
            }
        }
        for c in clients.values_mut() {
            for i in 0..200u32 {
                let msg = [&[0x86][..], &i.to_le_bytes(), &[round; 96]].concat();
                c.send(now, ConnId(1), &msg, ordered(round % 2 * 5))
                    .unwrap();
            }
        }
        exchange(&mut server, server_addr, &mut clients, &mut now);
    }
    let mut messages = 0;
    while let Some(e) = server.poll_event() {
        messages += usize::from(matches!(e, Event::Message { .. }));
    }
    assert_eq!(messages, N * 800);
    let busy = (LIVE.load(Ordering::Relaxed) - base) / N as isize;
    // Idle past the keep-alive (half the 10 s timeout).
    for _ in 0..70 {
        now += Duration::from_millis(100);
        server.handle_timeout(now);
        for c in clients.values_mut() {
            c.handle_timeout(now);
        }
        exchange(&mut server, server_addr, &mut clients, &mut now);
    }
    while server.poll_event().is_some() {}
    clients.clear();
    clients.shrink_to_fit();
    let per_conn = (LIVE.load(Ordering::Relaxed) - base) / N as isize;
    eprintln!("server heap per connection: {busy} bytes after traffic, {per_conn} once idle");
    assert!(per_conn < CEILING, "{per_conn} bytes per idle connection");
    drop(server);
}

/// The receive budget, measured by the allocator rather than by the core's own account:
/// a default server (`Config::default()`, 64 incoming slots) whose 63 free slots are
/// taken by peers that send split messages but never their last fragment grows by at
/// most `receive_budget` (plus a little bookkeeping per connection), however much they
/// send.
#[test]
fn hostile_connections_grow_the_heap_by_at_most_the_receive_budget() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const SLOTS: u32 = 64;
    const FRAGMENT: usize = 1400;
    let mut now = Time::from_millis(1000);
    // The warm connection takes one slot; the hostile peers the other 63.
    let (mut server, _, clients, _, ids) = connected(SLOTS as usize - 1, SLOTS, &mut now);
    let budget = server.config().receive_budget;
    let hostiles: Vec<SocketAddr> = clients.keys().copied().collect();
    drop(clients);
    let mut out = Vec::with_capacity(2048);
    while server.poll_transmit(now, &mut out).is_some() {}
    while server.poll_event().is_some() {}
    let base = LIVE.load(Ordering::Relaxed);

    // Unreliable fragments of split messages of 700 fragments (about 1 MiB), by hand:
    // datagram header (0x84, number), frame flags (unreliable, split), bit length,
    // split count, id and index, payload. Each peer sends its messages one after the
    // other, all but their last fragment, up to 8 at once. Datagram numbers start past
    // the handshake's.
    const COUNT: u32 = 700;
    let mut dgram = Vec::with_capacity(2048);
    let payload = [0x86u8; FRAGMENT];
    let total = budget * 5 / 4 / FRAGMENT;
    let mut peak = 0;
    for k in 0..total {
        let from = hostiles[k % hostiles.len()];
        let round = (k / hostiles.len()) as u32;
        dgram.clear();
        dgram.push(0x84);
        dgram.extend_from_slice(&(100 + round).to_le_bytes()[..3]);
        dgram.push(0x10);
        dgram.extend_from_slice(&((FRAGMENT * 8) as u16).to_be_bytes());
        dgram.extend_from_slice(&COUNT.to_be_bytes());
        dgram.extend_from_slice(&((round / (COUNT - 1) % 8) as u16).to_be_bytes());
        dgram.extend_from_slice(&(round % (COUNT - 1)).to_be_bytes());
        dgram.extend_from_slice(&payload);
        server.handle_datagram(now, from, &dgram);
        if k % 1024 == 1023 {
            now += Duration::from_millis(1);
            server.handle_timeout(now);
            while server.poll_transmit(now, &mut out).is_some() {}
            peak = peak.max(LIVE.load(Ordering::Relaxed) - base);
        }
    }
    while server.poll_transmit(now, &mut out).is_some() {}
    let grown = LIVE.load(Ordering::Relaxed) - base;
    peak = peak.max(grown);
    let held = server.receive_held_bytes();
    let refused = server.stats().dropped.over_receive_budget;
    eprintln!(
        "{} hostile connections sent {} MiB of fragments: heap grew {grown} bytes (peak \
         {peak}), {held} held by the core's account, budget {budget}, {refused} refused",
        ids.len(),
        (total * FRAGMENT) >> 20
    );
    // Bookkeeping outside the budget: per connection, the ACK/NAK range lists, the
    // repeated-datagram filter and the split table (a few KiB at most).
    let slack = SLOTS as isize * 16 * 1024;
    assert!(
        peak <= budget as isize + slack,
        "heap grew {peak} bytes, budget {budget}"
    );
    assert!(held <= budget);
    // The flood did fill the budget (else the bound above says nothing).
    assert!(
        grown >= (budget / 100 * 95) as isize,
        "heap grew only {grown}"
    );
    assert!(refused > 0);
    drop(server);
}
