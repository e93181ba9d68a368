//! The C API of connection management, access control, discovery, statistics,
//! callbacks and logging, called from Rust exactly as C would call it: NULL, stale and
//! invalid arguments of every function, then each feature over loopback.
//!
//! Tests that free objects hold `serial()` (`common/ffi.rs`): a destroyed handle is
//! only detectable while no other test reuses its address for a new object.

mod common;

use std::ffi::{c_char, c_void, CStr};
use std::mem::MaybeUninit;
use std::ptr::{null, null_mut};
use std::sync::Mutex;

use raknet::ffi::address::*;
use raknet::ffi::config::*;
use raknet::ffi::dispatch::*;
use raknet::ffi::event::*;
use raknet::ffi::handle::rak_conn;
use raknet::ffi::log::*;
use raknet::ffi::manage::*;
use raknet::ffi::message::*;
use raknet::ffi::peer::*;
use raknet::ffi::result::{rak_result, rak_result_str};
use raknet::ffi::stats::*;

use common::ffi::*;

use rak_result::{
    InvalidArgument as INVALID, NotFound as NOT_FOUND, NullArgument as NULL, Ok as OK,
    StaleHandle as STALE,
};

fn connect_failure(cli: *const rak_peer, conn: rak_conn) -> rak_reason {
    outcome(cli, conn).expect_err("the attempt fails")
}

#[test]
fn new_functions_check_their_arguments() {
    let _g = serial();
    let c: *mut rak_config = null_mut();
    let p: *const rak_peer = null();
    let one = rak_conn { id: 1 };
    let mut conn = rak_conn { id: 0 };
    let mut n = 0usize;
    let mut conns = [rak_conn { id: 0 }; 4];
    let mut cs = rak_conn_stats::default();
    let mut ps = rak_stats::default();
    let addr = rak_address::from("127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap());
    let cbs = rak_callbacks::default();

    // NULL config / peer.
    assert_eq!(rak_config_set_cookies(c, false), NULL);
    assert_eq!(rak_config_set_ip_frequency_limit(c, true, false), NULL);
    assert_eq!(rak_config_set_occasional_ping(c, 100), NULL);
    assert_eq!(rak_config_set_abuse_limits(c, 64, 10_000, 30_000), NULL);
    assert_eq!(rak_config_set_abuse_widening(c, 4), NULL);
    assert_eq!(rak_config_set_ipv6_only(c, true), NULL);
    assert_eq!(rak_config_set_reuse_address(c, true), NULL);
    assert_eq!(rak_config_set_log_callback(c, None, null_mut(), 3), NULL);
    assert_eq!(
        rak_peer_connect_with_options(p, HOST.as_ptr(), 1, null(), &mut conn),
        NULL
    );
    assert_eq!(rak_peer_conns(p, conns.as_mut_ptr(), 4, &mut n), NULL);
    assert_eq!(rak_peer_conn_by_guid(p, 1, &mut conn), NULL);
    assert_eq!(rak_peer_conn_by_address(p, &addr, &mut conn), NULL);
    assert_eq!(rak_peer_set_conn_timeout(p, one, 100), NULL);
    assert_eq!(rak_peer_set_max_incoming(p, 1), NULL);
    assert_eq!(rak_peer_ban(p, c"1.2.3.4".as_ptr(), 0), NULL);
    assert_eq!(rak_peer_unban(p, c"1.2.3.4".as_ptr()), NULL);
    assert_eq!(rak_peer_clear_bans(p), NULL);
    assert_eq!(rak_peer_advertise(p, HOST.as_ptr(), 1, null(), 0), NULL);
    assert_eq!(rak_peer_conn_stats(p, one, &mut cs, size_of_val(&cs)), NULL);
    assert_eq!(rak_peer_stats(p, &mut ps, size_of_val(&ps)), NULL);
    assert_eq!(rak_peer_set_callbacks(p, &cbs, null_mut()), NULL);
    assert_eq!(rak_peer_dispatch(p, 8, &mut n), NULL);

    // Live config: invalid values.
    let live = new_config();
    assert_eq!(
        rak_config_set_log_callback(live, None, null_mut(), 0),
        INVALID
    );
    assert_eq!(
        rak_config_set_log_callback(live, None, null_mut(), 5),
        INVALID
    );
    assert_eq!(rak_config_set_log_callback(live, None, null_mut(), 4), OK);
    assert_eq!(rak_config_set_abuse_limits(live, 64, 0, 30_000), INVALID);
    assert_eq!(rak_config_set_abuse_widening(live, 65), INVALID);
    for ok in [
        rak_config_set_cookies(live, false),
        rak_config_set_ip_frequency_limit(live, true, false),
        rak_config_set_occasional_ping(live, 0),
        rak_config_set_abuse_limits(live, 0, 0, 0),
        rak_config_set_abuse_limits(live, 64, 10_000, 30_000),
        rak_config_set_abuse_widening(live, 0),
        rak_config_set_abuse_widening(live, 64),
        rak_config_set_ipv6_only(live, true),
        rak_config_set_reuse_address(live, false),
    ] {
        assert_eq!(ok, OK);
    }
    rak_config_destroy(live);
    assert_eq!(rak_config_set_cookies(live, true), STALE);
    assert_eq!(
        rak_config_set_log_callback(live, None, null_mut(), 3),
        STALE
    );

    // Live peer: NULL pointers and invalid values.
    let p = client();
    assert_eq!(
        rak_peer_connect_with_options(p, null(), 1, null(), &mut conn),
        NULL
    );
    assert_eq!(
        rak_peer_connect_with_options(p, HOST.as_ptr(), 1, null(), null_mut()),
        NULL
    );
    assert_eq!(
        rak_peer_connect_with_options(p, HOST.as_ptr(), 0, null(), &mut conn),
        INVALID
    );
    let bad_pw = rak_connect_options {
        password: null(),
        password_len: 3,
        ..Default::default()
    };
    assert_eq!(
        rak_peer_connect_with_options(p, HOST.as_ptr(), 9, &bad_pw, &mut conn),
        NULL
    );
    let long_pw = [1u8; 256];
    let too_long = rak_connect_options {
        password: long_pw.as_ptr(),
        password_len: 256,
        ..Default::default()
    };
    assert_eq!(
        rak_peer_connect_with_options(p, HOST.as_ptr(), 9, &too_long, &mut conn),
        INVALID
    );
    assert_eq!(conn.id, 0, "outputs are written only on success");
    assert_eq!(rak_peer_conns(p, null_mut(), 4, &mut n), NULL);
    assert_eq!(rak_peer_conns(p, conns.as_mut_ptr(), 4, null_mut()), NULL);
    assert_eq!(rak_peer_conn_by_guid(p, 1, null_mut()), NULL);
    assert_eq!(rak_peer_conn_by_guid(p, 1, &mut conn), NOT_FOUND);
    assert_eq!(rak_peer_conn_by_address(p, null(), &mut conn), NULL);
    assert_eq!(rak_peer_conn_by_address(p, &addr, null_mut()), NULL);
    assert_eq!(rak_peer_conn_by_address(p, &addr, &mut conn), NOT_FOUND);
    let no_family = rak_address { family: 0, ..addr };
    assert_eq!(rak_peer_conn_by_address(p, &no_family, &mut conn), INVALID);
    assert_eq!(rak_peer_set_conn_timeout(p, one, 100), STALE);
    assert_eq!(rak_peer_set_conn_timeout(p, rak_conn { id: 0 }, 100), STALE);
    assert_eq!(rak_peer_set_conn_timeout(p, one, 0), INVALID);
    assert_eq!(rak_peer_ban(p, null(), 0), NULL);
    assert_eq!(rak_peer_unban(p, null()), NULL);
    for bad in [
        c"",
        c"1.2.3",
        c"1.2.3.4.5",
        c"256.1.1.1",
        c"a.b.c.d",
        c"::g",
    ] {
        assert_eq!(rak_peer_ban(p, bad.as_ptr(), 0), INVALID, "{bad:?}");
        assert_eq!(rak_peer_unban(p, bad.as_ptr()), INVALID, "{bad:?}");
    }
    assert_eq!(rak_peer_ban(p, c"\xff".as_ptr(), 0), INVALID);
    assert_eq!(rak_peer_advertise(p, null(), 1, null(), 0), NULL);
    assert_eq!(rak_peer_advertise(p, HOST.as_ptr(), 1, null(), 3), NULL);
    assert_eq!(rak_peer_advertise(p, HOST.as_ptr(), 0, null(), 0), INVALID);
    let big = [0u8; RAK_MAX_ADVERTISE_DATA_BYTES + 1];
    assert_eq!(
        rak_peer_advertise(p, HOST.as_ptr(), 1, big.as_ptr(), big.len()),
        INVALID
    );
    assert_eq!(rak_peer_conn_stats(p, one, null_mut(), 8), NULL);
    assert_eq!(rak_peer_conn_stats(p, one, &mut cs, 0), INVALID);
    assert_eq!(
        rak_peer_conn_stats(p, one, &mut cs, size_of_val(&cs)),
        STALE
    );
    assert_eq!(rak_peer_stats(p, null_mut(), 8), NULL);
    assert_eq!(rak_peer_stats(p, &mut ps, 0), INVALID);
    assert_eq!(rak_peer_dispatch(p, 8, null_mut()), NULL);
    assert_eq!(rak_peer_dispatch(p, 0, &mut n), INVALID);
    assert_eq!(rak_peer_dispatch(p, 8, &mut n), INVALID, "no callbacks yet");
    assert_eq!(rak_peer_set_callbacks(p, null(), null_mut()), OK);

    // Shut down, then destroyed.
    assert_eq!(rak_peer_shutdown(p, 0), OK);
    assert_eq!(
        rak_peer_ban(p, c"1.2.3.4".as_ptr(), 0),
        rak_result::ShutDown
    );
    assert_eq!(rak_peer_stats(p, &mut ps, 8), rak_result::ShutDown);
    assert_eq!(
        rak_peer_conns(p, null_mut(), 0, &mut n),
        rak_result::ShutDown
    );
    assert_eq!(rak_peer_set_callbacks(p, &cbs, null_mut()), OK);
    assert_eq!(rak_peer_dispatch(p, 8, &mut n), rak_result::ShutDown);
    rak_peer_destroy(p);
    assert_eq!(rak_peer_clear_bans(p), STALE);
    assert_eq!(rak_peer_conn_by_guid(p, 1, &mut conn), STALE);
    assert_eq!(rak_peer_set_callbacks(p, &cbs, null_mut()), STALE);
    assert_eq!(rak_peer_dispatch(p, 8, &mut n), STALE);
    assert_eq!(rak_peer_set_max_incoming(p, 1), STALE);
    assert_eq!(rak_peer_advertise(p, HOST.as_ptr(), 1, null(), 0), STALE);
    assert_eq!(s(rak_result_str(NOT_FOUND as i32)), "not found");
}

#[test]
fn connections_lookups_stats_and_timeouts() {
    let _g = serial();
    let (srv, port) = server(4, b"pw");
    let cli = client();
    let mut srv_guid = 0;
    let mut cli_guid = 0;
    assert_eq!(rak_peer_guid(srv, &mut srv_guid), OK);
    assert_eq!(rak_peer_guid(cli, &mut cli_guid), OK);

    // connect_with_options with a password and options.
    let pw = b"pw";
    let opts = rak_connect_options {
        password: pw.as_ptr(),
        password_len: pw.len(),
        attempts: 5,
        interval_ms: 100,
        timeout_ms: 3000,
    };
    let mut conn = rak_conn { id: 0 };
    assert_eq!(
        rak_peer_connect_with_options(cli, HOST.as_ptr(), port, &opts, &mut conn),
        OK
    );
    assert_eq!(wait_for(cli, kind(rak_event_kind::Connected)).conn, conn);
    let incoming = wait_for(srv, kind(rak_event_kind::Connected)).conn;

    // The list: count first, then too small, then right.
    let mut n = 99;
    assert_eq!(rak_peer_conns(srv, null_mut(), 0, &mut n), OK);
    assert_eq!(n, 1);
    let mut list = [rak_conn { id: 0 }; 2];
    n = 99;
    assert_eq!(rak_peer_conns(srv, list.as_mut_ptr(), 2, &mut n), OK);
    assert_eq!((n, list[0]), (1, incoming));
    let second = client();
    let mut c2 = rak_conn { id: 0 };
    assert_eq!(
        rak_peer_connect_with_options(second, HOST.as_ptr(), port, &opts, &mut c2),
        OK
    );
    assert_eq!(wait_for(second, kind(rak_event_kind::Connected)).conn, c2);
    wait_for(srv, kind(rak_event_kind::Connected));
    n = 99;
    assert_eq!(
        rak_peer_conns(srv, list.as_mut_ptr(), 1, &mut n),
        rak_result::BufferTooSmall
    );
    assert_eq!(n, 99);
    assert_eq!(rak_peer_conns(srv, list.as_mut_ptr(), 2, &mut n), OK);
    assert_eq!(n, 2);

    // Lookups both ways.
    let mut found = rak_conn { id: 0 };
    assert_eq!(rak_peer_conn_by_guid(srv, cli_guid, &mut found), OK);
    assert_eq!(found, incoming);
    assert_eq!(rak_peer_conn_by_guid(cli, srv_guid, &mut found), OK);
    assert_eq!(found, conn);
    let mut info = MaybeUninit::<rak_conn_info>::uninit();
    assert_eq!(rak_peer_conn_info(srv, incoming, info.as_mut_ptr()), OK);
    // SAFETY: written by the successful call.
    let info = unsafe { info.assume_init() };
    assert_eq!(rak_peer_conn_by_address(srv, &info.address, &mut found), OK);
    assert_eq!(found, incoming);

    // Statistics, also into an older, shorter struct.
    let msg = [134u8; 100];
    for _ in 0..10 {
        assert_eq!(
            rak_peer_send(cli, conn, msg.as_ptr(), msg.len(), null(), null_mut()),
            OK
        );
    }
    for _ in 0..10 {
        rak_message_release(wait_for(srv, kind(rak_event_kind::Message)).message);
    }
    let mut st = rak_conn_stats::default();
    assert_eq!(
        rak_peer_conn_stats(srv, incoming, &mut st, size_of_val(&st)),
        OK
    );
    assert!(
        st.messages_received >= 10 && st.bytes_received >= 1000,
        "{st:?}"
    );
    assert!(st.mtu_bytes >= 576 && st.connected_for_ms < 60_000);
    assert!(st.lowest_ping_ms >= -1 && st.srtt_us >= -1);
    let mut short = rak_conn_stats {
        datagrams_sent: 4242,
        ..Default::default()
    };
    assert_eq!(rak_peer_conn_stats(srv, incoming, &mut short, 8), OK);
    assert_eq!(short.datagrams_sent, 4242, "only 8 bytes written");
    assert_ne!(short.connected_for_ms, 0);

    // A wrong password is counted among the server's refusals.
    let third = client();
    assert_eq!(
        rak_peer_connect(third, HOST.as_ptr(), port, b"no".as_ptr(), 2, &mut found),
        OK
    );
    assert_eq!(connect_failure(third, found), rak_reason::InvalidPassword);
    let mut ps = rak_stats::default();
    assert_eq!(rak_peer_stats(srv, &mut ps, size_of_val(&ps)), OK);
    assert_eq!(ps.refused_invalid_password, 1);
    assert!(ps.connections >= 2 && ps.connections_opened >= 2);
    assert!(ps.datagrams_received > 0 && ps.bytes_sent > 0);

    // A per-connection timeout: the client vanishes, the server notices within it.
    assert_eq!(rak_peer_set_conn_timeout(srv, incoming, 300), OK);
    assert_eq!(rak_peer_shutdown(cli, 0), OK);
    assert_eq!(
        rak_peer_send(srv, incoming, msg.as_ptr(), 10, null(), null_mut()),
        OK
    );
    let lost = wait_for(srv, |e| {
        e.kind == rak_event_kind::Disconnected && e.conn == incoming
    });
    assert_eq!(lost.reason, rak_reason::TimedOut);
    assert_eq!(
        rak_peer_conn_stats(srv, incoming, &mut st, size_of_val(&st)),
        STALE
    );
    assert_eq!(rak_peer_conn_by_guid(srv, cli_guid, &mut found), NOT_FOUND);

    for p in [cli, second, third, srv] {
        rak_peer_destroy(p);
    }
}

#[test]
fn bans_cancellation_advertising_and_host_names() {
    let _g = serial();
    let (srv, port) = server(4, b"");
    let cli = client();
    let (c_conn, s_conn) = connect(srv, port, cli);

    // A wildcard ban drops the connection and refuses the next attempt.
    assert_eq!(rak_peer_ban(srv, c"127.0.*.*".as_ptr(), 0), OK);
    let down = wait_for(srv, kind(rak_event_kind::Disconnected));
    assert_eq!((down.conn, down.reason), (s_conn, rak_reason::Banned));
    let other = client();
    let mut conn = rak_conn { id: 0 };
    assert_eq!(
        rak_peer_connect(other, HOST.as_ptr(), port, null(), 0, &mut conn),
        OK
    );
    assert_eq!(connect_failure(other, conn), rak_reason::Banned);
    assert_eq!(rak_peer_unban(srv, c"127.0.*.*".as_ptr()), OK);
    assert_eq!(rak_peer_ban(srv, c"127.0.0.1".as_ptr(), 60_000), OK);
    assert_eq!(rak_peer_clear_bans(srv), OK);
    // "localhost" resolves (blocking) and connects.
    assert_eq!(
        rak_peer_connect(other, c"localhost".as_ptr(), port, null(), 0, &mut conn),
        OK
    );
    assert_eq!(wait_for(other, kind(rak_event_kind::Connected)).conn, conn);
    let _ = c_conn;

    // Cancelling a pending attempt (nobody answers on a closed port).
    let dead = client();
    let dead_port = port_of(dead);
    rak_peer_destroy(dead);
    let opts = rak_connect_options {
        attempts: 50,
        interval_ms: 200,
        ..Default::default()
    };
    assert_eq!(
        rak_peer_connect_with_options(other, HOST.as_ptr(), dead_port, &opts, &mut conn),
        OK
    );
    let mut info = MaybeUninit::<rak_conn_info>::uninit();
    assert_eq!(rak_peer_conn_info(other, conn, info.as_mut_ptr()), OK);
    // SAFETY: written by the successful call.
    assert_eq!(
        unsafe { info.assume_init() }.state,
        rak_conn_state::Connecting
    );
    let mut st = rak_conn_stats::default();
    assert_eq!(
        rak_peer_conn_stats(other, conn, &mut st, size_of_val(&st)),
        rak_result::NotConnected
    );
    assert_eq!(rak_peer_close(other, conn, true), OK);
    assert_eq!(connect_failure(other, conn), rak_reason::Cancelled);
    assert_eq!(rak_peer_close(other, conn, true), STALE);

    // ADVERTISE_SYSTEM to an unconnected peer.
    let data = b"lobby 7";
    assert_eq!(
        rak_peer_advertise(cli, HOST.as_ptr(), port, data.as_ptr(), data.len()),
        OK
    );
    let adv = wait_for(srv, kind(rak_event_kind::Advertise));
    let mut cli_guid = 0;
    assert_eq!(rak_peer_guid(cli, &mut cli_guid), OK);
    assert_eq!(adv.guid, cli_guid);
    assert_eq!(message_bytes(adv.message), data);
    rak_message_release(adv.message);

    // Raising max incoming at run time.
    assert_eq!(rak_peer_set_max_incoming(srv, 0), OK);
    let late = client();
    assert_eq!(
        rak_peer_connect(late, HOST.as_ptr(), port, null(), 0, &mut conn),
        OK
    );
    assert_eq!(connect_failure(late, conn), rak_reason::ServerFull);
    for p in [cli, other, late, srv] {
        rak_peer_destroy(p);
    }
}

/// What the callbacks saw, reached through `userdata`.
#[derive(Default)]
struct Seen {
    kinds: Vec<rak_event_kind>,
    kept: Vec<*mut rak_message>,
    thread: Option<std::thread::ThreadId>,
}

fn seen<'a>(userdata: *mut c_void) -> &'a mut Seen {
    // SAFETY: the tests register a live `Seen` as userdata and dispatch on its thread.
    unsafe { &mut *userdata.cast::<Seen>() }
}

unsafe extern "C" fn record(userdata: *mut c_void, event: *const rak_event) {
    let s = seen(userdata);
    // SAFETY: the event is valid during the call.
    s.kinds.push(unsafe { (*event).kind });
    s.thread = Some(std::thread::current().id());
}

unsafe extern "C" fn keep_every_other(userdata: *mut c_void, event: *const rak_event) -> bool {
    let s = seen(userdata);
    // SAFETY: the event is valid during the call.
    let ev = unsafe { &*event };
    s.kinds.push(ev.kind);
    let keep = s.kinds.len() % 2 == 0;
    if keep {
        s.kept.push(ev.message);
    }
    keep
}

#[test]
fn callbacks_run_inside_dispatch_on_the_callers_thread() {
    let _g = serial();
    let (srv, port) = server(2, b"");
    let cli = client();
    let mut seen_srv = Seen::default();
    let table = rak_callbacks {
        on_connected: Some(record),
        on_connect_failed: Some(record),
        on_message: Some(keep_every_other),
        on_disconnected: Some(record),
        on_receipt: Some(record),
        on_other: Some(record),
    };
    let ud = std::ptr::from_mut(&mut seen_srv).cast::<c_void>();
    assert_eq!(rak_peer_set_callbacks(srv, &table, ud), OK);

    let mut conn = rak_conn { id: 0 };
    assert_eq!(
        rak_peer_connect(cli, HOST.as_ptr(), port, null(), 0, &mut conn),
        OK
    );
    assert_eq!(wait_for(cli, kind(rak_event_kind::Connected)).conn, conn);
    let msg = [134u8, 1, 2, 3];
    for _ in 0..4 {
        assert_eq!(
            rak_peer_send(cli, conn, msg.as_ptr(), msg.len(), null(), null_mut()),
            OK
        );
    }
    // Dispatch until the connection and four messages went through the callbacks.
    let mut total = 0;
    for _ in 0..200 {
        let mut n = 0;
        assert_eq!(rak_peer_dispatch(srv, 2, &mut n), OK);
        assert!(n <= 2);
        total += n;
        if total >= 5 {
            break;
        }
        let mut none = MaybeUninit::<rak_event>::uninit();
        let mut m = 0;
        // Pacing only: the client has nothing to say.
        assert_eq!(rak_peer_wait(cli, none.as_mut_ptr(), 1, 20, &mut m), OK);
    }
    let s = seen(ud);
    assert_eq!(
        s.kinds,
        [
            rak_event_kind::Connected,
            rak_event_kind::Message,
            rak_event_kind::Message,
            rak_event_kind::Message,
            rak_event_kind::Message,
        ]
    );
    assert_eq!(s.thread, Some(std::thread::current().id()));
    // Kept messages stay valid after the callback; the others were released.
    assert_eq!(s.kept.len(), 2);
    for m in s.kept.drain(..) {
        assert_eq!(message_bytes(m), msg);
        rak_message_release(m);
    }

    // A ping's answer goes to on_other, a receipt to on_receipt (on the client now).
    let mut seen_cli = Seen::default();
    let cud = std::ptr::from_mut(&mut seen_cli).cast::<c_void>();
    let only_other = rak_callbacks {
        on_receipt: Some(record),
        on_other: Some(record),
        ..Default::default()
    };
    assert_eq!(rak_peer_set_callbacks(cli, &only_other, cud), OK);
    assert_eq!(rak_peer_ping(cli, HOST.as_ptr(), port, false), OK);
    let receipt_kind = raknet::ffi::options::rak_send_options {
        reliability: 6, // RELIABLE_WITH_ACK_RECEIPT
        priority: 1,
        channel: 0,
    };
    assert_eq!(
        rak_peer_send(
            cli,
            conn,
            msg.as_ptr(),
            msg.len(),
            &receipt_kind,
            null_mut()
        ),
        OK
    );
    for _ in 0..200 {
        let mut n = 0;
        assert_eq!(rak_peer_dispatch(cli, 16, &mut n), OK);
        let k = &seen(cud).kinds;
        if k.contains(&rak_event_kind::Pong) && k.contains(&rak_event_kind::ReceiptAcked) {
            break;
        }
        let mut none = MaybeUninit::<rak_event>::uninit();
        let mut m = 0;
        assert_eq!(rak_peer_wait(srv, none.as_mut_ptr(), 1, 20, &mut m), OK);
        if m == 1 {
            // SAFETY: initialized by the successful wait.
            rak_message_release(unsafe { none.assume_init() }.message);
        }
    }
    let k = &seen(cud).kinds;
    assert!(k.contains(&rak_event_kind::Pong), "{k:?}");
    assert!(k.contains(&rak_event_kind::ReceiptAcked), "{k:?}");

    // Removing the callbacks makes dispatch refuse rather than lose events.
    assert_eq!(rak_peer_set_callbacks(cli, null(), null_mut()), OK);
    let mut n = 0;
    assert_eq!(rak_peer_dispatch(cli, 1, &mut n), INVALID);
    rak_peer_destroy(cli);
    rak_peer_destroy(srv);
}

static LOG_LINES: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn collect_log(userdata: *mut c_void, level: u32, message: *const c_char) {
    assert_eq!(userdata as usize, 0x106);
    // SAFETY: the library passes a NUL-terminated string valid during the call.
    let text = unsafe { CStr::from_ptr(message) }
        .to_str()
        .unwrap()
        .to_owned();
    LOG_LINES.lock().unwrap().push((level, text));
}

#[test]
fn the_log_callback_hears_the_lifecycle() {
    let _g = serial();
    let c = new_config();
    assert_eq!(rak_config_set_bind(c, HOST.as_ptr(), 0), OK);
    assert_eq!(rak_config_set_max_incoming(c, 1), OK);
    assert_eq!(
        rak_config_set_log_callback(
            c,
            Some(collect_log),
            0x106 as *mut c_void,
            rak_log_level::Info as u32
        ),
        OK
    );
    let srv = new_peer(c);
    rak_config_destroy(c);
    let port = port_of(srv);
    let cli = client();
    let (conn, _) = connect(srv, port, cli);
    assert_eq!(rak_peer_close(cli, conn, true), OK);
    wait_for(srv, kind(rak_event_kind::Disconnected));
    rak_peer_destroy(cli);
    rak_peer_destroy(srv); // "peer stopped" comes before destroy returns
    let lines = LOG_LINES.lock().unwrap();
    let has = |level: rak_log_level, needle: &str| {
        lines
            .iter()
            .any(|(l, t)| *l == level as u32 && t.contains(needle))
    };
    assert!(
        has(rak_log_level::Info, "peer started on 127.0.0.1:"),
        "{lines:?}"
    );
    assert!(has(rak_log_level::Info, "connected conn="), "{lines:?}");
    assert!(
        has(rak_log_level::Info, "reason=ClosedByRemote"),
        "{lines:?}"
    );
    assert!(has(rak_log_level::Info, "peer stopped"), "{lines:?}");
    assert!(lines.iter().all(|(l, _)| *l <= rak_log_level::Info as u32));
}

#[test]
fn ipv6_dual_stack_through_the_c_api() {
    let _g = serial();
    let c = new_config();
    if rak_config_set_bind(c, c"::".as_ptr(), 0) != OK {
        rak_config_destroy(c);
        return;
    }
    assert_eq!(rak_config_set_ipv6_only(c, false), OK);
    assert_eq!(rak_config_set_max_incoming(c, 2), OK);
    let mut srv = null_mut();
    if rak_peer_create(c, &mut srv) != OK {
        rak_config_destroy(c); // no IPv6 on this machine
        return;
    }
    let port = port_of(srv);
    // An IPv4 client reaches the dual-stack server on 127.0.0.1 ...
    let v4 = client();
    connect(srv, port, v4);
    // ... and an IPv6-only client on ::1.
    assert_eq!(rak_config_set_bind(c, c"::1".as_ptr(), 0), OK);
    assert_eq!(rak_config_set_ipv6_only(c, true), OK);
    assert_eq!(rak_config_set_max_incoming(c, 0), OK);
    let v6 = new_peer(c);
    rak_config_destroy(c);
    let mut conn = rak_conn { id: 0 };
    assert_eq!(
        rak_peer_connect(v6, c"[::1]".as_ptr(), port, null(), 0, &mut conn),
        OK
    );
    let up = wait_for(v6, kind(rak_event_kind::Connected));
    assert_eq!((up.conn, up.address.family), (conn, 6));
    let incoming = wait_for(srv, kind(rak_event_kind::Connected));
    assert_eq!(incoming.address.family, 6);
    // The IPv6-only client cannot reach IPv4 at all.
    assert_eq!(
        rak_peer_connect(v6, HOST.as_ptr(), port, null(), 0, &mut conn),
        rak_result::Address
    );
    for p in [v4, v6, srv] {
        rak_peer_destroy(p);
    }
}

static BUDGET_LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn collect_budget_log(_: *mut c_void, _: u32, message: *const c_char) {
    // SAFETY: the library passes a NUL-terminated string valid during the call.
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    BUDGET_LOG.lock().unwrap().push(text.into_owned());
}

/// A server whose receive budget (64 KiB) is smaller than a message a client sends
/// (256 KiB): it refuses the message's fragments (it never completes), holds nothing
/// of it, and says so in its statistics and its log.
#[test]
fn the_receive_budget_refuses_counts_and_logs() {
    let _g = serial();
    const BUDGET: usize = 64 << 10;
    assert_eq!(rak_config_set_receive_budget(null_mut(), BUDGET), NULL);
    let c = new_config();
    assert_eq!(rak_config_set_receive_budget(c, 0), INVALID);
    assert_eq!(rak_config_set_receive_budget(c, BUDGET), OK);
    assert_eq!(rak_config_set_bind(c, HOST.as_ptr(), 0), OK);
    assert_eq!(rak_config_set_max_incoming(c, 1), OK);
    assert_eq!(
        rak_config_set_log_callback(
            c,
            Some(collect_budget_log),
            null_mut(),
            rak_log_level::Warn as u32
        ),
        OK
    );
    let srv = new_peer(c);
    rak_config_destroy(c);
    let cli = client();
    let (conn, incoming) = connect(srv, port_of(srv), cli);
    let mut big = vec![0x86u8; 256 << 10];
    big[1] = 1;
    let ordered = raknet::ffi::options::rak_send_options {
        reliability: 3, // RELIABLE_ORDERED
        priority: 1,
        channel: 0,
    };
    assert_eq!(
        rak_peer_send(cli, conn, big.as_ptr(), big.len(), &ordered, null_mut()),
        OK
    );
    let logged = || {
        BUDGET_LOG
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("over the receive budget"))
    };
    let mut ps = rak_stats::default();
    let mut cs = rak_conn_stats::default();
    for _ in 0..200 {
        let mut ev = MaybeUninit::<rak_event>::uninit();
        let mut n = 0;
        assert_eq!(rak_peer_wait(srv, ev.as_mut_ptr(), 1, 50, &mut n), OK);
        if n == 1 {
            // SAFETY: the successful wait initialized the event.
            let ev = unsafe { ev.assume_init() };
            assert_ne!(
                ev.kind,
                rak_event_kind::Message,
                "the message fit after all"
            );
            rak_message_release(ev.message);
        }
        assert_eq!(rak_peer_stats(srv, &mut ps, size_of_val(&ps)), OK);
        if ps.dropped_over_receive_budget > 0 && logged() {
            break;
        }
    }
    assert!(ps.dropped_over_receive_budget > 0, "nothing refused");
    assert_eq!(
        ps.receive_held_bytes, 0,
        "a message that never fits holds nothing"
    );
    assert!(logged(), "{:?}", BUDGET_LOG.lock().unwrap());
    assert_eq!(
        rak_peer_conn_stats(srv, incoming, &mut cs, size_of_val(&cs)),
        OK
    );
    assert!(cs.frames_over_receive_budget > 0);
    // A split message reserves its whole size from its first fragment: this one never
    // fits, so nothing of it is held.
    assert_eq!(cs.receive_held_bytes, 0);
    rak_peer_destroy(cli);
    rak_peer_destroy(srv);
}
