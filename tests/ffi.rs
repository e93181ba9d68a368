//! The C boundary, called from Rust exactly as C would call it: NULL, stale and
//! destroyed handles, bad enum integers, zero-length and huge sends, double release,
//! an injected panic, and a loopback exchange through the exports only.
//!
//! Tests that free objects hold `serial()` (`common/ffi.rs`): a destroyed handle is
//! only detectable while no other test reuses its address for a new object.

mod common;

use std::ffi::{c_char, CStr};
use std::mem::MaybeUninit;
use std::ptr::{null, null_mut};

use raknet::ffi::address::*;
use raknet::ffi::boundary::{boundary, boundary_or};
use raknet::ffi::config::*;
use raknet::ffi::event::*;
use raknet::ffi::handle::rak_conn;
use raknet::ffi::message::*;
use raknet::ffi::options::*;
use raknet::ffi::peer::*;
use raknet::ffi::result::{rak_result, rak_result_str};
use raknet::ffi::version::*;

use common::ffi::*;

use rak_result::{
    InvalidArgument as INVALID, NullArgument as NULL, Ok as OK, StaleHandle as STALE,
};

/// An event buffer as C would pass it: uninitialized (in Rust, a zeroed `rak_event`
/// would be invalid, since kind 0 is no `rak_event_kind`).
type EventBuf = [MaybeUninit<rak_event>; 4];

fn event_buf() -> EventBuf {
    [MaybeUninit::uninit(); 4]
}

fn events(buf: &mut EventBuf) -> *mut rak_event {
    buf.as_mut_ptr().cast()
}

/// A client that gives up on an unanswered attempt after 4 probes 250 ms apart.
fn quick_client() -> *mut rak_peer {
    loopback_peer(|c| assert_eq!(rak_config_set_connect_attempts(c, 4, 250), OK)).0
}

#[test]
fn injected_panic_becomes_internal() {
    assert_eq!(boundary(|| panic!("injected")), rak_result::Internal);
    assert_eq!(
        boundary(|| Err(rak_result::QueueFull)),
        rak_result::QueueFull
    );
    assert_eq!(boundary_or(7, || -> i32 { panic!("injected") }), 7);
}

#[test]
fn result_and_reason_text() {
    assert_eq!(s(rak_result_str(0)), "ok");
    assert_eq!(s(rak_result_str(STALE as i32)), "stale handle");
    for code in -14..=0 {
        assert_ne!(s(rak_result_str(code)), "unknown result", "{code}");
    }
    assert_eq!(s(rak_result_str(1)), "unknown result");
    assert_eq!(s(rak_result_str(i32::MIN)), "unknown result");
    assert_eq!(
        s(rak_reason_str(rak_reason::InvalidPassword as u32)),
        "invalid password"
    );
    assert_eq!(
        s(rak_reason_str(rak_reason::ServerFull as u32)),
        "server full"
    );
    assert_eq!(
        s(rak_reason_str(rak_reason::IncompatibleProtocol as u32)),
        "incompatible protocol version"
    );
    assert_eq!(
        s(rak_reason_str(rak_reason::NoResponse as u32)),
        "no response"
    );
    assert_eq!(s(rak_reason_str(rak_reason::Banned as u32)), "banned");
    assert_eq!(s(rak_reason_str(99)), "unknown reason");
    assert_eq!(s(rak_version_string()), env!("CARGO_PKG_VERSION"));
    // The ABI counter of Cargo.toml ([package.metadata.raknet] abi), as the header has it.
    let header = include_str!("../include/raknet.h");
    let abi: u32 = header
        .lines()
        .find_map(|l| l.strip_prefix("#define RAK_ABI_VERSION "))
        .expect("RAK_ABI_VERSION in the header")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(rak_abi_version(), abi);
}

#[test]
fn null_arguments_return_their_documented_error() {
    let _g = serial();
    let mut n = 0usize;
    let mut ev = event_buf();
    let mut buf = [0 as c_char; RAK_ADDRESS_STR_BYTES];
    let mut conn = rak_conn { id: 0 };
    let c: *mut rak_config = null_mut();
    let p: *const rak_peer = null();

    assert_eq!(rak_config_create(null_mut()), NULL);
    rak_config_destroy(null_mut());
    rak_peer_destroy(null_mut());
    rak_message_release(null_mut());
    assert_eq!(rak_message_data(null()), null());
    assert_eq!(rak_message_len(null()), 0);

    assert_eq!(rak_config_set_bind(c, c"0.0.0.0".as_ptr(), 0), NULL);
    assert_eq!(rak_config_set_protocol_version(c, 6), NULL);
    assert_eq!(rak_config_set_max_incoming(c, 1), NULL);
    assert_eq!(rak_config_set_password(c, null(), 0), NULL);
    assert_eq!(rak_config_set_offline_data(c, null(), 0), NULL);
    assert_eq!(rak_config_set_conn_timeout(c, 1000), NULL);
    assert_eq!(rak_config_set_connect_attempts(c, 1, 1), NULL);
    assert_eq!(rak_config_set_mtu_probes(c, [576u16].as_ptr(), 1), NULL);
    assert_eq!(rak_config_set_queue_capacity(c, 1, 1), NULL);
    assert_eq!(rak_config_set_guid(c, 1), NULL);

    let live = new_config();
    assert_eq!(rak_config_set_bind(live, null(), 0), NULL);
    assert_eq!(rak_config_set_password(live, null(), 3), NULL);
    assert_eq!(rak_config_set_offline_data(live, null(), 3), NULL);
    assert_eq!(rak_config_set_mtu_probes(live, null(), 1), NULL);
    assert_eq!(rak_config_set_password(live, null(), 0), OK);
    assert_eq!(rak_peer_create(live, null_mut()), NULL);
    rak_config_destroy(live);

    assert_eq!(rak_peer_shutdown(p, 0), NULL);
    assert_eq!(
        rak_peer_connect(p, c"127.0.0.1".as_ptr(), 1, null(), 0, &mut conn),
        NULL
    );
    assert_eq!(
        rak_peer_send(
            p,
            rak_conn { id: 1 },
            [134u8].as_ptr(),
            1,
            null(),
            null_mut()
        ),
        NULL
    );
    assert_eq!(rak_peer_close(p, rak_conn { id: 1 }, true), NULL);
    assert_eq!(rak_peer_ping(p, c"127.0.0.1".as_ptr(), 1, false), NULL);
    assert_eq!(rak_peer_set_offline_data(p, null(), 0), NULL);
    assert_eq!(rak_peer_guid(p, &mut 0), NULL);
    assert_eq!(rak_peer_local_port(p, &mut 0), NULL);
    let mut info = std::mem::MaybeUninit::<rak_conn_info>::uninit();
    assert_eq!(
        rak_peer_conn_info(p, rak_conn { id: 1 }, info.as_mut_ptr()),
        NULL
    );
    assert_eq!(rak_peer_poll(p, events(&mut ev), 2, &mut n), NULL);
    assert_eq!(rak_peer_wait(p, events(&mut ev), 2, 1, &mut n), NULL);
    assert_eq!(rak_address_str(null(), buf.as_mut_ptr(), 64, &mut n), NULL);
    let a = rak_address {
        ip: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        port: 1,
        family: 4,
    };
    assert_eq!(rak_address_str(&a, null_mut(), 64, &mut n), NULL);
    assert_eq!(rak_address_str(&a, buf.as_mut_ptr(), 64, null_mut()), NULL);
}

#[test]
fn config_setters_validate() {
    let _g = serial();
    let c = new_config();
    assert_eq!(rak_config_set_protocol_version(c, 0), INVALID);
    assert_eq!(rak_config_set_protocol_version(c, 256), INVALID);
    assert_eq!(rak_config_set_protocol_version(c, 11), OK);
    let big = vec![7u8; 400];
    assert_eq!(rak_config_set_password(c, big.as_ptr(), 256), INVALID);
    assert_eq!(rak_config_set_password(c, big.as_ptr(), 255), OK);
    assert_eq!(rak_config_set_offline_data(c, big.as_ptr(), 400), INVALID);
    assert_eq!(rak_config_set_offline_data(c, big.as_ptr(), 399), OK);
    assert_eq!(rak_config_set_conn_timeout(c, 0), INVALID);
    assert_eq!(rak_config_set_connect_attempts(c, 0, 100), INVALID);
    assert_eq!(rak_config_set_connect_attempts(c, 3, 0), INVALID);
    assert_eq!(rak_config_set_mtu_probes(c, [575u16].as_ptr(), 1), INVALID);
    assert_eq!(rak_config_set_mtu_probes(c, [1493u16].as_ptr(), 1), INVALID);
    assert_eq!(rak_config_set_mtu_probes(c, [576u16].as_ptr(), 0), INVALID);
    assert_eq!(rak_config_set_mtu_probes(c, [0u16; 9].as_ptr(), 9), INVALID);
    assert_eq!(
        rak_config_set_mtu_probes(c, [576u16, 1492, 1200].as_ptr(), 3),
        OK
    );
    assert_eq!(rak_config_set_queue_capacity(c, 0, 1), INVALID);
    assert_eq!(rak_config_set_queue_capacity(c, 1, 1 << 25), INVALID);
    assert_eq!(
        rak_config_set_bind(c, c"no.such.host.invalid".as_ptr(), 0),
        rak_result::Address
    );
    assert_eq!(rak_config_set_bind(c, c"\xff".as_ptr(), 0), INVALID);
    assert_eq!(rak_config_set_bind(c, c"127.0.0.1".as_ptr(), 0), OK);

    rak_config_destroy(c);
    assert_eq!(rak_config_set_guid(c, 5), STALE, "destroyed config");
    assert_eq!(rak_peer_create(c, &mut null_mut()), STALE);
    rak_config_destroy(c); // a second destroy is detected and ignored
}

#[test]
fn address_text() {
    let v4 = rak_address {
        ip: [10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        port: 19132,
        family: 4,
    };
    let mut buf = [0 as c_char; RAK_ADDRESS_STR_BYTES];
    let mut n = 0;
    assert_eq!(
        rak_address_str(&v4, buf.as_mut_ptr(), buf.len(), &mut n),
        OK
    );
    assert_eq!(s(buf.as_ptr()), "10.1.2.3:19132");
    assert_eq!(n, 14);
    let mut small = [0 as c_char; 14];
    let mut m = 99;
    assert_eq!(
        rak_address_str(&v4, small.as_mut_ptr(), small.len(), &mut m),
        rak_result::BufferTooSmall
    );
    assert_eq!(m, 99, "outputs are written only on success");
    let none = rak_address { family: 0, ..v4 };
    assert_eq!(
        rak_address_str(&none, buf.as_mut_ptr(), 64, &mut n),
        INVALID
    );
    let v6 = rak_address {
        ip: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        port: 7,
        family: 6,
    };
    assert_eq!(rak_address_str(&v6, buf.as_mut_ptr(), 64, &mut n), OK);
    assert_eq!(s(buf.as_ptr()), "[::1]:7");
}

#[test]
fn stale_handles_bad_enums_and_sizes() {
    let _g = serial();
    let p = quick_client();
    let forged = rak_conn { id: 0xdead_beef };
    let data = [134u8, 0, 0, 0, 1];
    let send = |conn, opts: *const rak_send_options, ptr: *const u8, len| {
        rak_peer_send(p, conn, ptr, len, opts, null_mut())
    };

    assert_eq!(send(forged, null(), data.as_ptr(), data.len()), STALE);
    assert_eq!(send(rak_conn { id: 0 }, null(), data.as_ptr(), 5), STALE);
    assert_eq!(rak_peer_close(p, forged, true), STALE);
    let mut info = std::mem::MaybeUninit::<rak_conn_info>::uninit();
    assert_eq!(rak_peer_conn_info(p, forged, info.as_mut_ptr()), STALE);

    let bad = [
        rak_send_options {
            reliability: 8,
            priority: 0,
            channel: 0,
        },
        rak_send_options {
            reliability: u32::MAX,
            priority: 0,
            channel: 0,
        },
        rak_send_options {
            reliability: 3,
            priority: 4,
            channel: 0,
        },
        rak_send_options {
            reliability: 3,
            priority: 1,
            channel: RAK_CHANNELS,
        },
    ];
    for o in &bad {
        assert_eq!(send(forged, o, data.as_ptr(), 5), INVALID, "{o:?}");
    }
    assert_eq!(send(forged, null(), data.as_ptr(), 0), INVALID, "empty");
    assert_eq!(send(forged, null(), null(), 5), NULL);
    assert_eq!(
        send(forged, null(), data.as_ptr(), usize::MAX),
        rak_result::TooLarge,
        "a length no buffer can have"
    );
    let huge = vec![134u8; (64 << 20) + 1];
    assert_eq!(
        send(forged, null(), huge.as_ptr(), huge.len()),
        rak_result::TooLarge
    );

    let mut conn = rak_conn { id: 0 };
    let connect = |host: &CStr, port, pw: &[u8], out: *mut rak_conn| {
        rak_peer_connect(p, host.as_ptr(), port, pw.as_ptr(), pw.len(), out)
    };
    assert_eq!(connect(c"127.0.0.1", 0, b"", &mut conn), INVALID);
    assert_eq!(connect(c"127.0.0.1", 9, &[1; 256], &mut conn), INVALID);
    assert_eq!(
        connect(c"no.such.host.invalid", 9, b"", &mut conn),
        rak_result::Address
    );
    assert_eq!(conn.id, 0, "outputs are written only on success");
    assert_eq!(rak_peer_ping(p, c"127.0.0.1".as_ptr(), 0, false), INVALID);
    assert_eq!(rak_peer_set_offline_data(p, data.as_ptr(), 400), INVALID);

    let mut ev = event_buf();
    let mut n = 5;
    assert_eq!(rak_peer_poll(p, events(&mut ev), 0, &mut n), INVALID);
    assert_eq!(rak_peer_poll(p, events(&mut ev), 1, &mut n), OK);
    assert_eq!(n, 0);

    // Shut down: calls report it; destroy still frees.
    assert_eq!(rak_peer_shutdown(p, 0), OK);
    assert_eq!(rak_peer_shutdown(p, 0), OK);
    assert_eq!(rak_peer_guid(p, &mut 0), rak_result::ShutDown);
    assert_eq!(send(forged, null(), data.as_ptr(), 5), rak_result::ShutDown);
    rak_peer_destroy(p);

    // Destroyed: detected as stale, a second destroy is a no-op.
    assert_eq!(rak_peer_guid(p, &mut 0), STALE);
    assert_eq!(rak_peer_poll(p, events(&mut ev), 1, &mut n), STALE);
    assert_eq!(send(forged, null(), data.as_ptr(), 5), STALE);
    rak_peer_destroy(p);
}

#[test]
fn loopback_exchange_through_the_c_api() {
    let _g = serial();
    let (srv, port) = loopback_peer(|c| {
        assert_eq!(rak_config_set_max_incoming(c, 4), OK);
        assert_eq!(rak_config_set_password(c, b"secret".as_ptr(), 6), OK);
        let offline = b"offline!";
        assert_eq!(
            rak_config_set_offline_data(c, offline.as_ptr(), offline.len()),
            OK
        );
    });
    let cli = quick_client();
    let mut guid = 0;
    assert_eq!(rak_peer_guid(srv, &mut guid), OK);

    // Wrong password first: a CONNECT_FAILED with its reason, and the id turns stale.
    let mut conn = rak_conn { id: 0 };
    let host = c"127.0.0.1".as_ptr();
    assert_eq!(
        rak_peer_connect(cli, host, port, b"nope".as_ptr(), 4, &mut conn),
        OK
    );
    assert_ne!(conn.id, 0);
    let ev = wait_for(cli, |e| e.kind == rak_event_kind::ConnectFailed);
    assert_eq!(ev.conn, conn);
    assert_eq!(ev.reason, rak_reason::InvalidPassword);
    assert_eq!(rak_peer_close(cli, conn, true), STALE);

    assert_eq!(
        rak_peer_connect(cli, host, port, b"secret".as_ptr(), 6, &mut conn),
        OK
    );
    let up = wait_for(cli, |e| e.kind == rak_event_kind::Connected);
    assert_eq!(up.conn, conn);
    assert!(!up.incoming);
    assert_eq!(up.guid, guid);
    assert_eq!(up.address.port, port);
    let incoming = wait_for(srv, |e| e.kind == rak_event_kind::Connected);
    assert!(incoming.incoming);
    let mut info = std::mem::MaybeUninit::<rak_conn_info>::uninit();
    assert_eq!(rak_peer_conn_info(cli, conn, info.as_mut_ptr()), OK);
    // SAFETY: written by the successful call above.
    let info = unsafe { info.assume_init() };
    assert_eq!(info.state, rak_conn_state::Connected);
    assert_eq!(info.address.port, port);

    // One message per reliability, client → server, echoed back by hand.
    for (i, r) in (0u32..8).enumerate() {
        let msg = [134u8, 0, 0, 0, i as u8, 0xAB, 0xCD];
        let opts = rak_send_options {
            reliability: r,
            priority: rak_priority::High as u32,
            channel: 3,
        };
        let mut receipt = 0;
        assert_eq!(
            rak_peer_send(cli, conn, msg.as_ptr(), msg.len(), &opts, &mut receipt),
            OK
        );
        assert_ne!(receipt, 0);
        let got = wait_for(srv, |e| e.kind == rak_event_kind::Message);
        assert_eq!(got.conn, incoming.conn);
        assert_eq!(message_bytes(got.message), msg);
        let echo_opts = rak_send_options {
            reliability: got.reliability,
            priority: rak_priority::High as u32,
            channel: got.channel,
        };
        assert_eq!(
            rak_peer_send(
                srv,
                got.conn,
                rak_message_data(got.message),
                rak_message_len(got.message),
                &echo_opts,
                null_mut()
            ),
            OK
        );
        rak_message_release(got.message);
        // Released: accessors see nothing, a second release is a no-op.
        assert_eq!(rak_message_data(got.message), null());
        assert_eq!(rak_message_len(got.message), 0);
        rak_message_release(got.message);
        let back = wait_for(cli, |e| e.kind == rak_event_kind::Message);
        assert_eq!(message_bytes(back.message), msg);
        rak_message_release(back.message);
    }

    // Unconnected ping: the pong carries the server's GUID and offline data.
    assert_eq!(rak_peer_ping(cli, host, port, false), OK);
    let pong = wait_for(cli, |e| e.kind == rak_event_kind::Pong);
    assert_eq!(pong.guid, guid);
    assert_eq!(message_bytes(pong.message), b"offline!");
    rak_message_release(pong.message);

    // Close: both sides see DISCONNECTED, and the ids turn stale.
    assert_eq!(rak_peer_close(cli, conn, true), OK);
    let down = wait_for(srv, |e| e.kind == rak_event_kind::Disconnected);
    assert_eq!(down.conn, incoming.conn);
    assert_eq!(down.reason, rak_reason::ClosedByRemote);
    let _ = wait_for(cli, |e| e.kind == rak_event_kind::Disconnected);
    let msg = [134u8, 1];
    assert_eq!(
        rak_peer_send(cli, conn, msg.as_ptr(), 2, null(), null_mut()),
        STALE
    );
    assert_eq!(
        rak_peer_send(srv, incoming.conn, msg.as_ptr(), 2, null(), null_mut()),
        STALE
    );
    rak_peer_destroy(cli);
    rak_peer_destroy(srv);
}

static HOOK_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

extern "C" fn count_thread_start(userdata: *mut std::ffi::c_void) {
    assert_eq!(userdata as usize, 0x5eed);
    HOOK_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn thread_start_hook_runs_once_per_peer() {
    let _g = serial();
    let c = new_config();
    let ud = 0x5eed as *mut std::ffi::c_void;
    assert_eq!(
        rak_config_set_thread_start_hook(null_mut(), Some(count_thread_start), ud),
        NULL
    );
    assert_eq!(
        rak_config_set_thread_start_hook(c, Some(count_thread_start), ud),
        OK
    );
    let before = HOOK_CALLS.load(std::sync::atomic::Ordering::SeqCst);
    let (a, b) = (new_peer(c), new_peer(c));
    assert_eq!(
        HOOK_CALLS.load(std::sync::atomic::Ordering::SeqCst),
        before + 2,
        "the hook runs before rak_peer_create returns"
    );
    assert_eq!(rak_config_set_thread_start_hook(c, None, null_mut()), OK);
    let d = new_peer(c);
    assert_eq!(
        HOOK_CALLS.load(std::sync::atomic::Ordering::SeqCst),
        before + 2
    );
    for p in [a, b, d] {
        rak_peer_destroy(p);
    }
    rak_config_destroy(c);
}

#[test]
fn messages_outlive_their_peer() {
    let _g = serial();
    let (srv, port) = server(1, b"");
    let cli = quick_client();
    let mut conn = rak_conn { id: 0 };
    assert_eq!(
        rak_peer_connect(cli, c"127.0.0.1".as_ptr(), port, null(), 0, &mut conn),
        OK
    );
    let _ = wait_for(cli, |e| e.kind == rak_event_kind::Connected);
    let msg = [134u8, 42];
    assert_eq!(
        rak_peer_send(cli, conn, msg.as_ptr(), 2, null(), null_mut()),
        OK
    );
    let got = wait_for(srv, |e| e.kind == rak_event_kind::Message);
    rak_peer_destroy(srv);
    rak_peer_destroy(cli);
    assert_eq!(message_bytes(got.message), msg);
    // Released from another thread, as the header allows.
    let m = got.message as usize;
    std::thread::spawn(move || rak_message_release(m as *mut rak_message))
        .join()
        .unwrap();
}

#[test]
fn simulator_send_buffer_limit_and_runtime_stats() {
    use raknet::ffi::sim::*;
    let _g = serial();
    let lossy = rak_sim_options {
        loss_pct: 10.0,
        duplicate_pct: 2.0,
        reorder_pct: 1.0,
        latency_ms: 2,
        jitter_ms: 2,
    };
    let both = rak_sim_direction::Both as u32;
    let incoming = rak_sim_direction::Incoming as u32;

    // Validation.
    let c = new_config();
    assert_eq!(rak_config_set_simulator(null_mut(), both, &lossy), NULL);
    assert_eq!(rak_config_set_send_buffer_limit(null_mut(), 4096), NULL);
    for direction in [0, 4, u32::MAX] {
        assert_eq!(rak_config_set_simulator(c, direction, &lossy), INVALID);
    }
    for bad in [
        rak_sim_options {
            loss_pct: 100.01,
            ..lossy
        },
        rak_sim_options {
            loss_pct: f64::NAN,
            ..lossy
        },
        rak_sim_options {
            duplicate_pct: -0.5,
            ..lossy
        },
        rak_sim_options {
            reorder_pct: f64::INFINITY,
            ..lossy
        },
        rak_sim_options {
            latency_ms: RAK_MAX_SIM_DELAY_MS + 1,
            ..lossy
        },
        rak_sim_options {
            jitter_ms: RAK_MAX_SIM_DELAY_MS + 1,
            ..lossy
        },
    ] {
        assert_eq!(rak_config_set_simulator(c, both, &bad), INVALID, "{bad:?}");
    }
    assert_eq!(rak_config_set_simulator(c, both, null()), OK);
    assert_eq!(rak_config_set_send_buffer_limit(c, 0), INVALID);
    assert_eq!(
        rak_config_set_send_buffer_limit(c, RAK_MAX_SEND_BUFFER_BYTES + 1),
        INVALID
    );

    // A client on a lossy link with a 4 KiB send buffer.
    assert_eq!(rak_config_set_bind(c, c"127.0.0.1".as_ptr(), 0), OK);
    assert_eq!(rak_config_set_connect_attempts(c, 40, 100), OK);
    assert_eq!(rak_config_set_simulator(c, both, &lossy), OK);
    assert_eq!(rak_config_set_send_buffer_limit(c, 4096), OK);
    let cli = new_peer(c);
    rak_config_destroy(c);
    let (srv, port) = server(1, b"");
    let mut conn = rak_conn { id: 0 };
    assert_eq!(
        rak_peer_connect(cli, c"127.0.0.1".as_ptr(), port, null(), 0, &mut conn),
        OK
    );
    let _ = wait_for(cli, |e| e.kind == rak_event_kind::Connected);
    let _ = wait_for(srv, |e| e.kind == rak_event_kind::Connected);

    // Stats: sized writes, NULL and zero size refused.
    let mut stats = rak_runtime_stats::default();
    let size = std::mem::size_of::<rak_runtime_stats>();
    assert_eq!(rak_peer_runtime_stats(null(), &mut stats, size), NULL);
    assert_eq!(rak_peer_runtime_stats(cli, null_mut(), size), NULL);
    assert_eq!(rak_peer_runtime_stats(cli, &mut stats, 0), INVALID);
    assert_eq!(rak_peer_runtime_stats(cli, &mut stats, size), OK);
    assert!(stats.sim_out_submitted > 0 && stats.sim_in_submitted > 0);
    // An older, shorter struct: only its fields are written.
    let mut short = rak_runtime_stats {
        sim_out_submitted: 777,
        ..Default::default()
    };
    assert_eq!(rak_peer_runtime_stats(cli, &mut short, 8), OK);
    assert_eq!(short.sim_out_submitted, 777);

    // The server turns deaf: the client's buffer fills, and BUFFER_FULL comes back at
    // once; one message larger than the whole buffer is TOO_LARGE.
    let big = [134u8; 4097];
    assert_eq!(
        rak_peer_send(cli, conn, big.as_ptr(), big.len(), null(), null_mut()),
        rak_result::TooLarge
    );
    let deaf = rak_sim_options {
        loss_pct: 100.0,
        ..Default::default()
    };
    assert_eq!(rak_peer_set_simulator(null(), incoming, &deaf), NULL);
    assert_eq!(rak_peer_set_simulator(srv, 7, &deaf), INVALID);
    assert_eq!(rak_peer_set_simulator(srv, incoming, &deaf), OK);
    let msg = [134u8; 500];
    let mut full = false;
    for _ in 0..1000 {
        match rak_peer_send(cli, conn, msg.as_ptr(), msg.len(), null(), null_mut()) {
            OK => {}
            rak_result::BufferFull => {
                full = true;
                break;
            }
            other => panic!("{other:?}"),
        }
        // Let a pass of the server's network thread turn deaf before the next send.
        let mut buf = event_buf();
        let mut n = 0;
        assert_eq!(rak_peer_wait(srv, events(&mut buf), 1, 1, &mut n), OK);
        for ev in &buf[..n] {
            // SAFETY: the successful wait initialized the first `n` events.
            rak_message_release(unsafe { ev.assume_init() }.message);
        }
    }
    assert!(full, "no BUFFER_FULL from a 4 KiB buffer");
    // Hearing again, the server acknowledges and the buffer drains.
    assert_eq!(rak_peer_set_simulator(srv, incoming, null()), OK);
    let mut sent = false;
    for _ in 0..200 {
        if rak_peer_send(cli, conn, msg.as_ptr(), msg.len(), null(), null_mut()) == OK {
            sent = true;
            break;
        }
        let mut buf = event_buf();
        let mut n = 0;
        assert_eq!(rak_peer_wait(cli, events(&mut buf), 1, 50, &mut n), OK);
    }
    assert!(sent, "the buffer never drained");
    rak_peer_destroy(cli);
    rak_peer_destroy(srv);
    assert_eq!(rak_peer_set_simulator(srv, incoming, null()), STALE);
    assert_eq!(rak_peer_runtime_stats(srv, &mut stats, size), STALE);
}
