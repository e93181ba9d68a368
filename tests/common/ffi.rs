//! Helpers shared by the C-API test files (`tests/ffi*.rs`): configs and peers on
//! loopback made through the exports, waiting for an event with a bounded number of
//! 50 ms waits (never sleeping), reading a message's bytes, and the lock that keeps
//! these tests from running their peers at once.

use std::ffi::{c_char, CStr};
use std::mem::MaybeUninit;
use std::ptr::{null, null_mut};
use std::sync::{Mutex, MutexGuard};

use raknet::ffi::config::*;
use raknet::ffi::event::*;
use raknet::ffi::handle::rak_conn;
use raknet::ffi::message::*;
use raknet::ffi::peer::*;
use raknet::ffi::result::rak_result;

const OK: rak_result = rak_result::Ok;

/// Where the test peers bind and connect.
pub const HOST: &CStr = c"127.0.0.1";

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs the tests of one file one at a time (a failed test does not poison the rest).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A static NUL-terminated string the library returned, as Rust text.
pub fn s(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: the library returns static NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

pub fn new_config() -> *mut rak_config {
    let mut c = null_mut();
    assert_eq!(rak_config_create(&mut c), OK);
    assert!(!c.is_null());
    c
}

pub fn new_peer(config: *const rak_config) -> *mut rak_peer {
    let mut p = null_mut();
    assert_eq!(rak_peer_create(config, &mut p), OK);
    assert!(!p.is_null());
    p
}

/// The port `p` is bound to.
pub fn port_of(p: *const rak_peer) -> u16 {
    let mut port = 0;
    assert_eq!(rak_peer_local_port(p, &mut port), OK);
    assert_ne!(port, 0);
    port
}

/// A peer bound to `HOST`, any port, its config adjusted by `setup`; and its port.
pub fn loopback_peer(setup: impl FnOnce(*mut rak_config)) -> (*mut rak_peer, u16) {
    let c = new_config();
    assert_eq!(rak_config_set_bind(c, HOST.as_ptr(), 0), OK);
    setup(c);
    let p = new_peer(c);
    rak_config_destroy(c);
    (p, port_of(p))
}

/// A peer accepting `max_incoming` connections with `password`; and its port.
pub fn server(max_incoming: u32, password: &[u8]) -> (*mut rak_peer, u16) {
    loopback_peer(|c| {
        assert_eq!(rak_config_set_max_incoming(c, max_incoming), OK);
        assert_eq!(
            rak_config_set_password(c, password.as_ptr(), password.len()),
            OK
        );
    })
}

/// A peer with the default config, bound to `HOST`.
pub fn client() -> *mut rak_peer {
    loopback_peer(|_| {}).0
}

/// Waits (bounded by iterations of a 50 ms wait, not a clock) for an event matching
/// `want`, releasing the messages of events it skips.
pub fn wait_for(peer: *const rak_peer, want: impl Fn(&rak_event) -> bool) -> rak_event {
    for _ in 0..200 {
        let mut ev = MaybeUninit::<rak_event>::uninit();
        let mut n = 0;
        assert_eq!(rak_peer_wait(peer, ev.as_mut_ptr(), 1, 50, &mut n), OK);
        if n == 1 {
            // SAFETY: the successful wait initialized the event.
            let ev = unsafe { ev.assume_init() };
            if want(&ev) {
                return ev;
            }
            rak_message_release(ev.message);
        }
    }
    panic!("event did not arrive within ~10 s");
}

/// Matches events of kind `k`.
pub fn kind(k: rak_event_kind) -> impl Fn(&rak_event) -> bool {
    move |e| e.kind == k
}

/// The attempt `conn` ended: `Ok(())` if connected, else its failure reason.
pub fn outcome(cli: *const rak_peer, conn: rak_conn) -> Result<(), rak_reason> {
    let ev = wait_for(cli, |e| {
        e.conn == conn
            && (e.kind == rak_event_kind::ConnectFailed || e.kind == rak_event_kind::Connected)
    });
    match ev.kind {
        rak_event_kind::Connected => Ok(()),
        _ => Err(ev.reason),
    }
}

/// Connects `cli` to `srv` (listening on `port`): (id on the client, id on the server).
pub fn connect(srv: *const rak_peer, port: u16, cli: *const rak_peer) -> (rak_conn, rak_conn) {
    let mut conn = rak_conn { id: 0 };
    assert_eq!(
        rak_peer_connect(cli, HOST.as_ptr(), port, null(), 0, &mut conn),
        OK
    );
    let up = wait_for(cli, kind(rak_event_kind::Connected));
    assert_eq!(up.conn, conn);
    let incoming = wait_for(srv, kind(rak_event_kind::Connected));
    (conn, incoming.conn)
}

/// A copy of a live message's bytes.
pub fn message_bytes(m: *const rak_message) -> Vec<u8> {
    let (data, len) = (rak_message_data(m), rak_message_len(m));
    assert!(!data.is_null());
    // SAFETY: the message is live and holds `len` bytes at `data`.
    unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
}
