//! Heap cost of idle connections on a server endpoint, measured with a counting global
//! allocator (this test binary only). It drives 1,000 client endpoints through the
//! handshake in virtual time, drops them, and divides the server's remaining growth by
//! the connection count. Prints the figure; asserts a ceiling that guards against
//! regressions (the goal for idle connections is 4 KiB, PROTOCOL-independent).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use raknet::proto::{Config, ConnId, Endpoint, Event, Time};

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

#[test]
fn idle_connection_heap_cost() {
    let server_addr: SocketAddr = "10.0.0.1:19132".parse().unwrap();
    let mut now = Time::from_millis(1000);
    let mut server = Endpoint::new(
        Config {
            max_incoming: CLIENTS as u32 + 10,
            ..Config::default()
        },
        server_addr,
    );
    let mut buf = Vec::with_capacity(1500);
    // Warm the server's own buffers with one connection that stays, so the baseline
    // below holds them.
    let mut clients: HashMap<SocketAddr, Endpoint> = HashMap::new();
    let mut run =
        |server: &mut Endpoint, clients: &mut HashMap<SocketAddr, Endpoint>, now: &mut Time| {
            for _ in 0..200 {
                let mut moved = 0;
                while let Some(t) = server.poll_transmit(*now, &mut buf) {
                    if let Some(c) = clients.get_mut(&t.destination) {
                        c.handle_datagram(*now, server_addr, &buf);
                    }
                    moved += 1;
                }
                let addrs: Vec<SocketAddr> = clients.keys().copied().collect();
                for a in addrs {
                    let c = clients.get_mut(&a).unwrap();
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
        };
    let warm: SocketAddr = "10.1.0.1:1".parse().unwrap();
    let mut c = Endpoint::new(Config::default(), warm);
    c.connect(now, ConnId(1), server_addr, b"").unwrap();
    clients.insert(warm, c);
    run(&mut server, &mut clients, &mut now);
    while server.poll_event().is_some() {}
    clients.clear();
    let base = LIVE.load(Ordering::Relaxed);

    for i in 0..CLIENTS {
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
        c.connect(now, ConnId(1), server_addr, b"").unwrap();
        clients.insert(a, c);
    }
    run(&mut server, &mut clients, &mut now);
    let mut connected = 0;
    while let Some(e) = server.poll_event() {
        if matches!(e, Event::Connected { .. }) {
            connected += 1;
        }
    }
    assert_eq!(connected, CLIENTS);
    clients.clear();
    clients.shrink_to_fit();
    let per_conn = (LIVE.load(Ordering::Relaxed) - base) / CLIENTS as isize;
    eprintln!("server heap per idle connection: {per_conn} bytes");
    assert!(per_conn < 64 * 1024, "{per_conn} bytes per idle connection");
}
