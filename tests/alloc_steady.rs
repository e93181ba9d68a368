//! Issue 7's "no heap allocation per message on the hot path", measured: a counting
//! global allocator (this test binary only) counts every allocation in the process,
//! network threads included, while two peers on loopback bounce 64-byte reliable ordered
//! messages through the C API (`rak_peer_send`, `rak_peer_wait`,
//! `rak_message_release`) after a warm-up. Allocations per message must be about zero.

use std::alloc::{GlobalAlloc, Layout, System};
use std::mem::MaybeUninit;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicU64, Ordering};

use raknet::ffi::config::*;
use raknet::ffi::event::*;
use raknet::ffi::handle::rak_conn;
use raknet::ffi::message::*;
use raknet::ffi::peer::*;
use raknet::ffi::result::rak_result;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator and only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const OK: rak_result = rak_result::Ok;

fn peer(max_incoming: u32) -> *mut rak_peer {
    let mut c = null_mut();
    assert_eq!(rak_config_create(&mut c), OK);
    assert_eq!(rak_config_set_bind(c, c"127.0.0.1".as_ptr(), 0), OK);
    assert_eq!(rak_config_set_max_incoming(c, max_incoming), OK);
    let mut p = null_mut();
    assert_eq!(rak_peer_create(c, &mut p), OK);
    rak_config_destroy(c);
    p
}

/// The next event of `kind`, releasing the messages of others; panics after ~10 s.
fn wait(p: *const rak_peer, kind: rak_event_kind) -> rak_event {
    for _ in 0..1000 {
        let mut ev = [MaybeUninit::<rak_event>::uninit(); 1];
        let mut n = 0;
        assert_eq!(rak_peer_wait(p, ev.as_mut_ptr().cast(), 1, 10, &mut n), OK);
        if n == 1 {
            // SAFETY: the wait initialized the first `n` events.
            let ev = unsafe { ev[0].assume_init() };
            if ev.kind == kind {
                return ev;
            }
            rak_message_release(ev.message);
        }
    }
    panic!("no {kind:?} event");
}

/// `n` round trips: the client sends, the server echoes what it got, both release.
fn bounce(cli: *const rak_peer, srv: *const rak_peer, conn: rak_conn, n: u32) {
    let mut msg = [0u8; 64];
    msg[0] = 134;
    for i in 0..n {
        msg[1..5].copy_from_slice(&i.to_le_bytes());
        assert_eq!(
            rak_peer_send(
                cli,
                conn,
                msg.as_ptr(),
                msg.len(),
                std::ptr::null(),
                null_mut()
            ),
            OK
        );
        let got = wait(srv, rak_event_kind::Message);
        assert_eq!(rak_message_len(got.message), 64);
        assert_eq!(
            rak_peer_send(
                srv,
                got.conn,
                rak_message_data(got.message),
                64,
                std::ptr::null(),
                null_mut()
            ),
            OK
        );
        rak_message_release(got.message);
        let back = wait(cli, rak_event_kind::Message);
        // SAFETY: a live 64-byte message.
        let bytes = unsafe { std::slice::from_raw_parts(rak_message_data(back.message), 64) };
        assert_eq!(bytes, msg);
        rak_message_release(back.message);
    }
}

#[test]
fn steady_state_messages_do_not_allocate() {
    let srv = peer(4);
    let mut port = 0;
    assert_eq!(rak_peer_local_port(srv, &mut port), OK);
    let cli = peer(0);
    let mut conn = rak_conn { id: 0 };
    assert_eq!(
        rak_peer_connect(
            cli,
            c"127.0.0.1".as_ptr(),
            port,
            std::ptr::null(),
            0,
            &mut conn
        ),
        OK
    );
    wait(cli, rak_event_kind::Connected);
    wait(srv, rak_event_kind::Connected);

    bounce(cli, srv, conn, 2_000);
    const N: u32 = 10_000;
    let before = ALLOCS.load(Ordering::Relaxed);
    bounce(cli, srv, conn, N);
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    let per_message = allocs as f64 / f64::from(2 * N);
    println!(
        "{allocs} allocations for {} messages: {per_message:.4} per message",
        2 * N
    );
    rak_peer_destroy(cli);
    rak_peer_destroy(srv);
    // Allowance for the occasional timer or statistics allocation, not one per message.
    assert!(per_message < 0.01, "{per_message} allocations per message");
}
