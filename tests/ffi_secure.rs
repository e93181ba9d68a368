//! Secure mode through the C API over real loopback sockets, called from Rust exactly as
//! C would: key pairs, a pinned secure connection carrying data, a wrong pin, the
//! client-key requirement both ways, plain clients refused by a server that requires
//! security, a secure client refused by a plain server, and secure and plain clients
//! side by side on one server.
//!
//! Tests that free objects hold `serial()` (`common/ffi.rs`): a destroyed handle is
//! only detectable while no other test reuses its address for a new object.

mod common;

use std::ffi::CStr;
use std::ptr::{null, null_mut};

use raknet::ffi::config::*;
use raknet::ffi::event::*;
use raknet::ffi::handle::rak_conn;
use raknet::ffi::message::*;
use raknet::ffi::peer::*;
use raknet::ffi::result::rak_result;
use raknet::ffi::secure::*;
use raknet::ffi::stats::*;

use common::ffi::*;

use rak_result::{
    InvalidArgument as INVALID, NotFound as NOT_FOUND, NullArgument as NULL, Ok as OK,
};

type Key = [u8; RAK_KEY_BYTES];

fn keypair() -> (Key, Key) {
    let (mut public, mut private) = ([0u8; 32], [0u8; 32]);
    assert_eq!(
        rak_key_pair_generate(public.as_mut_ptr(), private.as_mut_ptr()),
        OK
    );
    (public, private)
}

/// A peer bound to loopback; `key` gives it a key pair; `setup` adjusts the config.
fn peer(
    max_incoming: u32,
    key: Option<&Key>,
    setup: impl FnOnce(*mut rak_config),
) -> (*mut rak_peer, u16) {
    loopback_peer(|c| {
        assert_eq!(rak_config_set_max_incoming(c, max_incoming), OK);
        if let Some(k) = key {
            assert_eq!(rak_config_set_key_pair(c, k.as_ptr()), OK);
        }
        setup(c);
    })
}

/// Connects securely (pinning `pin` if given); the attempt's outcome.
fn connect_secure(
    cli: *const rak_peer,
    port: u16,
    pin: Option<&Key>,
) -> (rak_conn, Result<(), rak_reason>) {
    let mut conn = rak_conn { id: 0 };
    let pin = pin.map_or(null(), |k| k.as_ptr());
    assert_eq!(
        rak_peer_connect_secure(cli, HOST.as_ptr(), port, null(), pin, &mut conn),
        OK
    );
    (conn, outcome(cli, conn))
}

fn connect_plain(cli: *const rak_peer, port: u16) -> (rak_conn, Result<(), rak_reason>) {
    let mut conn = rak_conn { id: 0 };
    assert_eq!(
        rak_peer_connect(cli, HOST.as_ptr(), port, null(), 0, &mut conn),
        OK
    );
    (conn, outcome(cli, conn))
}

fn incoming(srv: *const rak_peer) -> rak_conn {
    wait_for(srv, |e| e.kind == rak_event_kind::Connected && e.incoming).conn
}

fn stats(p: *const rak_peer, conn: rak_conn) -> rak_conn_stats {
    let mut s = rak_conn_stats::default();
    assert_eq!(rak_peer_conn_stats(p, conn, &mut s, size_of_val(&s)), OK);
    s
}

fn peer_stats(p: *const rak_peer) -> rak_stats {
    let mut s = rak_stats::default();
    assert_eq!(rak_peer_stats(p, &mut s, size_of_val(&s)), OK);
    s
}

/// Sends `data` reliably ordered and waits for it on the other side.
fn round(from: *const rak_peer, conn: rak_conn, to: *const rak_peer, data: &[u8]) {
    assert_eq!(
        rak_peer_send(from, conn, data.as_ptr(), data.len(), null(), null_mut()),
        OK
    );
    let ev = wait_for(to, |e| e.kind == rak_event_kind::Message);
    let got = message_bytes(ev.message);
    assert_eq!(got, data);
    rak_message_release(ev.message);
}

#[test]
fn key_functions_check_arguments_and_round_trip_through_a_file() {
    let (public, private) = keypair();
    let mut derived = [0u8; 32];
    assert_eq!(
        rak_key_pair_public_key(private.as_ptr(), derived.as_mut_ptr()),
        OK
    );
    assert_eq!(derived, public);
    assert_eq!(
        rak_key_pair_generate(null_mut(), derived.as_mut_ptr()),
        NULL
    );
    assert_eq!(rak_key_pair_public_key(null(), derived.as_mut_ptr()), NULL);

    let mut hex = [0 as std::ffi::c_char; RAK_KEY_HEX_BYTES];
    assert_eq!(rak_key_to_hex(public.as_ptr(), hex.as_mut_ptr()), OK);
    // SAFETY: rak_key_to_hex wrote a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(hex.as_ptr()) }
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(text.len(), 64);
    let mut back = [0u8; 32];
    assert_eq!(rak_key_from_hex(hex.as_ptr(), back.as_mut_ptr()), OK);
    assert_eq!(back, public);
    assert_eq!(
        rak_key_from_hex(c"abc".as_ptr(), back.as_mut_ptr()),
        INVALID
    );
    assert_eq!(rak_key_from_hex(null(), back.as_mut_ptr()), NULL);

    let dir = std::env::temp_dir().join(format!("raknet-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("server.key");
    let cpath = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let (mut lp, mut lk) = ([0u8; 32], [0u8; 32]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        rak_key_pair_load(cpath.as_ptr(), lp.as_mut_ptr(), lk.as_mut_ptr()),
        NOT_FOUND
    );
    assert_eq!(rak_key_pair_save(cpath.as_ptr(), private.as_ptr()), OK);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key file readable by others");
    }
    assert_eq!(
        rak_key_pair_load(cpath.as_ptr(), lp.as_mut_ptr(), lk.as_mut_ptr()),
        OK
    );
    assert_eq!((lp, lk), (public, private));
    std::fs::write(&path, "private-key: nonsense\n").unwrap();
    assert_eq!(
        rak_key_pair_load(cpath.as_ptr(), lp.as_mut_ptr(), lk.as_mut_ptr()),
        INVALID
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // Requirements need a key pair first; NULL clears the key and them.
    let mut c = null_mut();
    assert_eq!(rak_config_create(&mut c), OK);
    assert_eq!(rak_config_set_require_secure(c, true), INVALID);
    assert_eq!(rak_config_set_require_client_key(c, true), INVALID);
    assert_eq!(rak_config_set_key_pair(c, private.as_ptr()), OK);
    assert_eq!(rak_config_set_require_secure(c, true), OK);
    assert_eq!(rak_config_set_require_client_key(c, true), OK);
    assert_eq!(rak_config_set_key_pair(c, null()), OK);
    assert_eq!(rak_config_set_require_secure(c, false), OK);
    rak_config_destroy(c);
    assert_eq!(rak_config_set_key_pair(null_mut(), private.as_ptr()), NULL);
}

#[test]
fn pinned_secure_connection_carries_data_and_reports_keys() {
    let _g = serial();
    let (public, private) = keypair();
    let (srv, port) = peer(4, Some(&private), |_| {});
    let (cli, _) = peer(0, None, |_| {});
    let (conn, result) = connect_secure(cli, port, Some(&public));
    assert_eq!(result, Ok(()));
    let sconn = incoming(srv);
    round(cli, conn, srv, b"\x86secret from the client");
    round(srv, sconn, cli, b"\x86secret from the server");
    let mut big: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    big[0] = 0x86;
    round(cli, conn, srv, &big);
    let (cs, ss) = (stats(cli, conn), stats(srv, sconn));
    assert!(cs.secure && ss.secure);
    assert_eq!(cs.datagrams_forged + ss.datagrams_forged, 0);
    let mut key = [0u8; 32];
    assert_eq!(rak_peer_conn_remote_key(cli, conn, key.as_mut_ptr()), OK);
    assert_eq!(key, public);
    // An anonymous client: the server has no key for it.
    assert_eq!(
        rak_peer_conn_remote_key(srv, sconn, key.as_mut_ptr()),
        NOT_FOUND
    );
    assert_eq!(rak_peer_conn_remote_key(srv, sconn, null_mut()), NULL);
    rak_peer_destroy(cli);
    rak_peer_destroy(srv);
}

#[test]
fn a_wrong_pin_is_refused_with_public_key_mismatch() {
    let _g = serial();
    let (_, private) = keypair();
    let (other_public, _) = keypair();
    let (srv, port) = peer(4, Some(&private), |_| {});
    let (cli, _) = peer(0, None, |_| {});
    let (_, result) = connect_secure(cli, port, Some(&other_public));
    assert_eq!(result, Err(rak_reason::PublicKeyMismatch));
    rak_peer_destroy(cli);
    rak_peer_destroy(srv);
}

#[test]
fn security_requirements_are_enforced_both_ways() {
    let _g = serial();
    let (public, private) = keypair();
    let (client_public, client_private) = keypair();

    // A secure client never falls back: a plain server fails it.
    let (plain_srv, plain_port) = peer(4, None, |_| {});
    let (cli, _) = peer(0, None, |_| {});
    let (_, result) = connect_secure(cli, plain_port, None);
    assert_eq!(result, Err(rak_reason::ServerNotSecure));

    // A server that requires security refuses plain clients, keeping no state.
    let (srv, port) = peer(4, Some(&private), |c| {
        assert_eq!(rak_config_set_require_secure(c, true), OK);
        assert_eq!(rak_config_set_require_client_key(c, true), OK);
    });
    let (_, result) = connect_plain(cli, port);
    assert_eq!(result, Err(rak_reason::SecurityMismatch));
    // ... and secure clients without a key of their own.
    let (_, result) = connect_secure(cli, port, Some(&public));
    assert_eq!(result, Err(rak_reason::ClientKeyRequired));
    let s = peer_stats(srv);
    assert_eq!(s.refused_security_required, 1);
    assert_eq!(s.connections, 0);

    // A client with a key pair is admitted and the server sees its key.
    let (keyed, _) = peer(0, Some(&client_private), |_| {});
    let (conn, result) = connect_secure(keyed, port, Some(&public));
    assert_eq!(result, Ok(()));
    let sconn = incoming(srv);
    let mut key = [0u8; 32];
    assert_eq!(rak_peer_conn_remote_key(srv, sconn, key.as_mut_ptr()), OK);
    assert_eq!(key, client_public);
    round(keyed, conn, srv, b"\x86keyed");
    for p in [cli, keyed, srv, plain_srv] {
        rak_peer_destroy(p);
    }
}

#[test]
fn secure_and_plain_clients_share_one_server() {
    let _g = serial();
    let (public, private) = keypair();
    let (srv, port) = peer(4, Some(&private), |_| {});
    let (plain, _) = peer(0, None, |_| {});
    let (secure, _) = peer(0, None, |_| {});
    let (pconn, result) = connect_plain(plain, port);
    assert_eq!(result, Ok(()));
    let psrv = incoming(srv);
    let (sconn, result) = connect_secure(secure, port, Some(&public));
    assert_eq!(result, Ok(()));
    let ssrv = incoming(srv);
    for i in 0..20u8 {
        round(plain, pconn, srv, &[0x86, i]);
        round(secure, sconn, srv, &[0x87, i]);
    }
    assert!(!stats(srv, psrv).secure);
    assert!(stats(srv, ssrv).secure);
    for p in [plain, secure, srv] {
        rak_peer_destroy(p);
    }
}
