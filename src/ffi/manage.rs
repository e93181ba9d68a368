//! Connection management, access control and discovery on a `rak_peer`: connecting
//! with per-call options, listing and looking up connections, per-connection timeouts,
//! bans, the incoming-connection limit and ADVERTISE_SYSTEM. Argument checks and one
//! `Peer` call each, as in `peer.rs`.

use std::ffi::c_char;
use std::time::Duration;

use super::address::{rak_address, resolve};
use super::boundary::{boundary, bytes, obj_ref, text, Out, OutSlice};
use super::config::RAK_MAX_PASSWORD_BYTES;
use super::handle::rak_conn;
use super::peer::{rak_peer, with_peer};
use super::result::rak_result;
use crate::proto::{ConnectOptions, SecureConnect};
use crate::runtime::MAX_ADVERTISE_DATA;

/// Longest data `rak_peer_advertise()` sends, in bytes.
pub const RAK_MAX_ADVERTISE_DATA_BYTES: usize = 398;

const _: () = assert!(RAK_MAX_ADVERTISE_DATA_BYTES == MAX_ADVERTISE_DATA);

/// Per-call settings of `rak_peer_connect_with_options()`. Zero-initialize it
/// (`= {0}`) and set what you need: a zero field takes the config's value.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
#[allow(non_camel_case_types)]
pub struct rak_connect_options {
    /// The password to present, `password_len` bytes (copied; NULL when the length is 0).
    pub password: *const u8,
    /// Length of `password`, at most RAK_MAX_PASSWORD_BYTES.
    pub password_len: usize,
    /// Connection probes sent before the attempt fails with RAK_REASON_NO_RESPONSE
    /// (0 = `rak_config_set_connect_attempts()`'s).
    pub attempts: u32,
    /// Milliseconds between probes (0 = the config's).
    pub interval_ms: u32,
    /// Timeout of the resulting connection, as `rak_peer_set_conn_timeout()` sets it
    /// (0 = `rak_config_set_conn_timeout()`'s).
    pub timeout_ms: u32,
}

impl Default for rak_connect_options {
    fn default() -> Self {
        rak_connect_options {
            password: std::ptr::null(),
            password_len: 0,
            attempts: 0,
            interval_ms: 0,
            timeout_ms: 0,
        }
    }
}

fn millis(v: u32) -> Option<Duration> {
    (v != 0).then(|| Duration::from_millis(u64::from(v)))
}

/// As `rak_peer_connect()`, with the password and this attempt's probe count, probe
/// spacing and connection timeout in `options` (NULL = no password and the config's
/// values). Cancel the attempt with `rak_peer_close()`. A host name blocks the calling
/// thread while it is resolved.
///
/// On success writes the new connection to `*out_conn` at once (its state is
/// connecting); a RAK_EVENT_KIND_CONNECTED or RAK_EVENT_KIND_CONNECT_FAILED event
/// with that `conn` follows.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer`, `host` or `out_conn` is
/// NULL, or `options->password` is NULL with a non-zero length;
/// RAK_RESULT_INVALID_ARGUMENT for port 0, a password longer than
/// RAK_MAX_PASSWORD_BYTES or a host that is not UTF-8; RAK_RESULT_ADDRESS if `host`
/// cannot be resolved or is of a family the peer's socket cannot reach;
/// RAK_RESULT_ALREADY_CONNECTED if a connection or attempt to that address exists;
/// RAK_RESULT_QUEUE_FULL; RAK_RESULT_STALE_HANDLE if `peer` was destroyed;
/// RAK_RESULT_SHUT_DOWN; RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_connect_with_options(
    peer: *const rak_peer,
    host: *const c_char,
    port: u16,
    options: *const rak_connect_options,
    out_conn: *mut rak_conn,
) -> rak_result {
    connect(peer, host, port, options, None, out_conn)
}

/// `rak_peer_connect_with_options()`, and `rak_peer_connect_secure()` with `secure` set.
pub(crate) fn connect(
    peer: *const rak_peer,
    host: *const c_char,
    port: u16,
    options: *const rak_connect_options,
    secure: Option<SecureConnect>,
    out_conn: *mut rak_conn,
) -> rak_result {
    boundary(|| {
        let out = Out::new(out_conn)?;
        with_peer(peer, |p| {
            let host = text(host)?;
            let o = if options.is_null() {
                rak_connect_options::default()
            } else {
                *obj_ref(options)?
            };
            let password = bytes(o.password, o.password_len)?;
            if port == 0 || password.len() > RAK_MAX_PASSWORD_BYTES {
                return Err(rak_result::InvalidArgument);
            }
            let opts = ConnectOptions {
                attempts: (o.attempts != 0).then_some(o.attempts),
                interval: millis(o.interval_ms),
                timeout: millis(o.timeout_ms),
                secure,
            };
            let addr = resolve(host, port, |a| p.can_reach(a))?;
            out.write(p.connect_with(addr, password, opts)?.into());
            Ok(())
        })
    })
}

/// Writes the established connections (handshake complete, not closing) to
/// `out[0..cap]` in id order and their number to `*out_n` (RakNet's
/// `GetConnectionList`). To learn the number first, pass `out` NULL and `cap` 0.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` or `out_n` is NULL, or
/// `out` is NULL with `cap` > 0; RAK_RESULT_BUFFER_TOO_SMALL if there are more than
/// `cap` connections (nothing written; ask again with a larger array);
/// RAK_RESULT_STALE_HANDLE if `peer` was destroyed; RAK_RESULT_SHUT_DOWN;
/// RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_conns(
    peer: *const rak_peer,
    out: *mut rak_conn,
    cap: usize,
    out_n: *mut usize,
) -> rak_result {
    boundary(|| {
        let out_n = Out::new(out_n)?;
        if out.is_null() && cap > 0 {
            return Err(rak_result::NullArgument);
        }
        with_peer(peer, |p| {
            let ids = p.connections()?;
            if out.is_null() {
                out_n.write(ids.len());
                return Ok(());
            }
            if ids.len() > cap {
                return Err(rak_result::BufferTooSmall);
            }
            if !ids.is_empty() {
                let mut slots = OutSlice::new(out, cap)?;
                for (i, id) in ids.iter().enumerate() {
                    slots.write(i, rak_conn::from(*id));
                }
            }
            out_n.write(ids.len());
            Ok(())
        })
    })
}

/// Writes the live connection to the remote system with GUID `guid` to `*out_conn`
/// (RakNet's `GetSystemAddressFromGuid`, the other way round). A connection's GUID is
/// known once it is connected (`rak_peer_conn_info()` shows it).
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` or `out_conn` is NULL;
/// RAK_RESULT_NOT_FOUND if no connection has that GUID; RAK_RESULT_STALE_HANDLE if
/// `peer` was destroyed; RAK_RESULT_SHUT_DOWN; RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_conn_by_guid(
    peer: *const rak_peer,
    guid: u64,
    out_conn: *mut rak_conn,
) -> rak_result {
    boundary(|| {
        let out = Out::new(out_conn)?;
        with_peer(peer, |p| {
            let id = p.conn_by_guid(guid)?.ok_or(rak_result::NotFound)?;
            out.write(id.into());
            Ok(())
        })
    })
}

/// Writes the live connection or attempt using remote address `*address` to
/// `*out_conn` (an IPv4-mapped IPv6 address counts as its IPv4 address).
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if a pointer is NULL;
/// RAK_RESULT_INVALID_ARGUMENT if `address->family` is neither 4 nor 6;
/// RAK_RESULT_NOT_FOUND if no connection uses that address; RAK_RESULT_STALE_HANDLE
/// if `peer` was destroyed; RAK_RESULT_SHUT_DOWN; RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_conn_by_address(
    peer: *const rak_peer,
    address: *const rak_address,
    out_conn: *mut rak_conn,
) -> rak_result {
    boundary(|| {
        let out = Out::new(out_conn)?;
        let address = obj_ref(address)?;
        with_peer(peer, |p| {
            let addr = address
                .to_socket_addr()
                .ok_or(rak_result::InvalidArgument)?;
            let id = p.conn_by_addr(addr)?.ok_or(rak_result::NotFound)?;
            out.write(id.into());
            Ok(())
        })
    })
}

/// Sets the timeout of one connection or attempt (RakNet's `SetTimeoutTime` for one
/// system): it is dropped as lost (RAK_REASON_TIMED_OUT) after `timeout_ms` without
/// hearing from the remote system; the keep-alive ping follows at half of it. Other
/// connections keep `rak_config_set_conn_timeout()`'s value.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_INVALID_ARGUMENT if
/// `timeout_ms` is 0; RAK_RESULT_STALE_HANDLE if `conn` or `peer` is gone;
/// RAK_RESULT_QUEUE_FULL; RAK_RESULT_SHUT_DOWN; RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_set_conn_timeout(
    peer: *const rak_peer,
    conn: rak_conn,
    timeout_ms: u32,
) -> rak_result {
    boundary(|| {
        with_peer(peer, |p| {
            let timeout = millis(timeout_ms).ok_or(rak_result::InvalidArgument)?;
            Ok(p.set_conn_timeout(conn.conn_id()?, timeout)?)
        })
    })
}

/// Changes how many remote-initiated connections are accepted at once while the peer
/// runs (`rak_config_set_max_incoming()` sets it at creation). Existing connections
/// are kept even if there are more of them.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_QUEUE_FULL;
/// RAK_RESULT_STALE_HANDLE if `peer` was destroyed; RAK_RESULT_SHUT_DOWN;
/// RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_set_max_incoming(
    peer: *const rak_peer,
    max_connections: u32,
) -> rak_result {
    boundary(|| with_peer(peer, |p| Ok(p.set_max_incoming(max_connections)?)))
}

/// Bans the IP addresses matching `pattern` (RakNet's `AddToBanList`): an IPv4 address
/// whose octets may be `*` ("192.168.1.*", "10.*.*.*"), or an exact IPv6 address.
/// `duration_ms` 0 bans until `rak_peer_unban()`; otherwise the ban expires by itself.
/// Banning a pattern again replaces its duration.
///
/// From then on, datagrams from a matching IP are dropped and connection attempts are
/// answered with ID_CONNECTION_BANNED (the client sees RAK_REASON_BANNED).
/// Connections with a matching IP end at once without notice: DISCONNECTED with
/// RAK_REASON_BANNED for established ones, CONNECT_FAILED with RAK_REASON_CANCELLED for
/// our own attempts. Takes effect on the network thread shortly after the call
/// returns, before it reads further datagrams. A full ban list (65 536 patterns)
/// refuses the pattern with a log message.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` or `pattern` is NULL;
/// RAK_RESULT_INVALID_ARGUMENT for a malformed pattern; RAK_RESULT_QUEUE_FULL;
/// RAK_RESULT_STALE_HANDLE if `peer` was destroyed; RAK_RESULT_SHUT_DOWN;
/// RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_ban(
    peer: *const rak_peer,
    pattern: *const c_char,
    duration_ms: u32,
) -> rak_result {
    boundary(|| {
        with_peer(peer, |p| {
            let pattern = text(pattern)?;
            Ok(p.ban(pattern, millis(duration_ms))?)
        })
    })
}

/// Removes a pattern added by `rak_peer_ban()`, written the same way (RakNet's
/// `RemoveFromBanList`). A well-formed pattern that is not on the list is ignored.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` or `pattern` is NULL;
/// RAK_RESULT_INVALID_ARGUMENT for a malformed pattern; RAK_RESULT_QUEUE_FULL;
/// RAK_RESULT_STALE_HANDLE if `peer` was destroyed; RAK_RESULT_SHUT_DOWN;
/// RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_unban(peer: *const rak_peer, pattern: *const c_char) -> rak_result {
    boundary(|| with_peer(peer, |p| Ok(p.unban(text(pattern)?)?)))
}

/// Removes every ban, temporary ones included (RakNet's `ClearBanList`).
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_QUEUE_FULL;
/// RAK_RESULT_STALE_HANDLE if `peer` was destroyed; RAK_RESULT_SHUT_DOWN;
/// RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_clear_bans(peer: *const rak_peer) -> rak_result {
    boundary(|| with_peer(peer, |p| Ok(p.clear_bans()?)))
}

/// Sends ADVERTISE_SYSTEM with a copy of `data[0..len]` to `host` at `port`, connected
/// or not (RakNet's `AdvertiseSystem`): the receiver gets a RAK_EVENT_KIND_ADVERTISE
/// event with our GUID and the data. Unacknowledged, like a ping; `host` may be a
/// broadcast address. A host name blocks the calling thread while it is resolved.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` or `host` is NULL, or
/// `data` is NULL with `len` > 0; RAK_RESULT_INVALID_ARGUMENT for port 0, a host that
/// is not UTF-8 or `len` > RAK_MAX_ADVERTISE_DATA_BYTES; RAK_RESULT_ADDRESS if `host`
/// cannot be resolved or reached; RAK_RESULT_QUEUE_FULL; RAK_RESULT_STALE_HANDLE if
/// `peer` was destroyed; RAK_RESULT_SHUT_DOWN; RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_advertise(
    peer: *const rak_peer,
    host: *const c_char,
    port: u16,
    data: *const u8,
    len: usize,
) -> rak_result {
    boundary(|| {
        with_peer(peer, |p| {
            let host = text(host)?;
            let data = bytes(data, len)?;
            if port == 0 || data.len() > RAK_MAX_ADVERTISE_DATA_BYTES {
                return Err(rak_result::InvalidArgument);
            }
            let addr = resolve(host, port, |a| p.can_reach(a))?;
            Ok(p.advertise(addr, data)?)
        })
    })
}
