//! `rak_peer`: the opaque handle on a `runtime::Peer`. Every export checks its
//! arguments, makes one `Peer` call, and maps the outcome; no protocol logic.
//!
//! The `Peer` sits in an `RwLock<Option<_>>`: ordinary calls share the read side, so
//! they run concurrently; `rak_peer_shutdown()` takes the write side, stops the network
//! thread and leaves `None`, after which calls return `RAK_RESULT_SHUT_DOWN`. The
//! registered event callbacks live next to it (`dispatch.rs` runs them). The other
//! `rak_peer_*` exports are in `manage.rs` (connection management, bans, discovery),
//! `stats.rs` and `dispatch.rs`.

use std::ffi::c_char;
use std::time::Duration;

use parking_lot::{Mutex, ReentrantMutex, RwLock};

use super::address::{rak_address, resolve};
use super::boundary::{boundary, bytes, obj_ref, text, Out, OutSlice};
use super::config::{config_ref, rak_config};
use super::dispatch::Callbacks;
use super::event::{rak_conn_state, rak_event};
use super::handle::{rak_conn, Registry};
use super::options::rak_send_options;
use super::result::rak_result;
use crate::proto::SendOptions;
use crate::runtime::{Peer, PeerConfig};

/// How long `rak_peer_destroy()` waits for queued reliable data to be acknowledged.
pub const RAK_DESTROY_FLUSH_MS: u32 = 1000;

/// One RakNet peer: a UDP socket and the network thread that owns it. It can connect
/// out, accept connections (see `rak_config_set_max_incoming()`), or both. Opaque:
/// create with `rak_peer_create()`, free with `rak_peer_destroy()`.
#[allow(non_camel_case_types)]
pub struct rak_peer {
    inner: RwLock<Option<Peer>>,
    /// What `rak_peer_set_callbacks()` registered.
    pub(crate) callbacks: Mutex<Option<Callbacks>>,
    /// Serializes `rak_peer_dispatch()` calls (reentrant: a callback may dispatch).
    pub(crate) dispatching: ReentrantMutex<()>,
}

static PEERS: Registry = Registry::new();

/// The peer object behind `p`, checked live (its `Peer` may be shut down).
pub(crate) fn peer_obj<'a>(p: *const rak_peer) -> Result<&'a rak_peer, rak_result> {
    PEERS.check(p)?;
    obj_ref(p)
}

/// Runs `f` on the live peer behind `p`.
pub(crate) fn with_peer<R>(
    p: *const rak_peer,
    f: impl FnOnce(&Peer) -> Result<R, rak_result>,
) -> Result<R, rak_result> {
    PEERS.check(p)?;
    let guard = obj_ref(p)?.inner.read();
    f(guard.as_ref().ok_or(rak_result::ShutDown)?)
}

/// Creates a peer from `config` (NULL = the defaults of `rak_config_create()`): binds
/// the socket and starts the network thread. The config is copied; the caller keeps it.
///
/// On success writes the new peer to `*out_peer`; the caller owns it and frees it with
/// `rak_peer_destroy()`.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `out_peer` is NULL;
/// RAK_RESULT_STALE_HANDLE if `config` was destroyed; RAK_RESULT_IO if the socket
/// cannot be bound (port in use, ...) or the thread cannot be started;
/// RAK_RESULT_INVALID_ARGUMENT if the settings are refused; RAK_RESULT_PEER_FAILED if
/// the network thread failed to start (e.g. the thread-start hook failed).
///
/// Thread safety: any thread (the config must not be changed during the call).
#[no_mangle]
pub extern "C" fn rak_peer_create(
    config: *const rak_config,
    out_peer: *mut *mut rak_peer,
) -> rak_result {
    boundary(|| {
        let out = Out::new(out_peer)?;
        let (config, hook) = if config.is_null() {
            (PeerConfig::default(), None)
        } else {
            let c = config_ref(config)?;
            (c.inner.clone(), c.thread_start)
        };
        let started = match hook {
            Some(hook) => Peer::start_with_hook(config, move || hook.run()),
            None => Peer::start(config),
        };
        let peer = Box::into_raw(Box::new(rak_peer {
            inner: RwLock::new(Some(started?)),
            callbacks: Mutex::new(None),
            dispatching: ReentrantMutex::new(()),
        }));
        PEERS.insert(peer);
        out.write(peer);
        Ok(())
    })
}

/// Stops the peer without freeing it: sends disconnection notifications, waits up to
/// `flush_ms` for queued reliable data to be acknowledged, then stops the network
/// thread and closes the socket. Later calls on the peer return RAK_RESULT_SHUT_DOWN;
/// events not yet polled are discarded (messages already handed out stay valid).
/// A second shutdown is a no-op.
///
/// Blocks until calls running on other threads (including `rak_peer_wait()`) return.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE if `peer`
/// was destroyed.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_shutdown(peer: *const rak_peer, flush_ms: u32) -> rak_result {
    boundary(|| {
        PEERS.check(peer)?;
        let mut guard = obj_ref(peer)?.inner.write();
        if let Some(mut p) = guard.take() {
            p.shutdown(Duration::from_millis(u64::from(flush_ms)));
        }
        Ok(())
    })
}

/// Shuts the peer down as `rak_peer_shutdown(peer, RAK_DESTROY_FLUSH_MS)` would, then
/// frees it. NULL, or a peer already destroyed, is a no-op. Messages already handed out
/// stay valid until released.
///
/// Thread safety: exclusive (no other call on `peer` may be running or start later).
#[no_mangle]
pub extern "C" fn rak_peer_destroy(peer: *mut rak_peer) {
    super::boundary::boundary_or((), || {
        if PEERS.remove(peer) {
            // SAFETY: the registry held this address, so it came from Box::into_raw in
            // rak_peer_create and is not freed yet; removing it makes this the only free.
            let peer = unsafe { Box::from_raw(peer) };
            if let Some(mut p) = peer.inner.into_inner() {
                p.shutdown(Duration::from_millis(u64::from(RAK_DESTROY_FLUSH_MS)));
            }
        }
    })
}

/// Starts connecting to `host` (an IP literal or a host name) at `port`, presenting
/// `password[0..password_len]` (copied; NULL is fine when `password_len` is 0).
/// `rak_peer_connect_with_options()` also takes the attempt count, spacing and timeout.
///
/// A host name is resolved with the operating system's resolver ("localhost" works),
/// which blocks the calling thread until it answers; the first address of a family the
/// peer's socket can reach is used. IP literals (`"127.0.0.1"`, `"::1"`, `"[::1]"`)
/// never block.
///
/// On success writes the new connection to `*out_conn` at once (its state is
/// connecting); a RAK_EVENT_KIND_CONNECTED or RAK_EVENT_KIND_CONNECT_FAILED event
/// with that `conn` follows.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer`, `host` or `out_conn` is
/// NULL; RAK_RESULT_INVALID_ARGUMENT for port 0, a password longer than
/// RAK_MAX_PASSWORD_BYTES or a host that is not UTF-8; RAK_RESULT_ADDRESS if `host`
/// cannot be resolved, or is of a family the peer's socket cannot reach (IPv6 from an
/// IPv4 socket, IPv4 from an IPv6-only one); RAK_RESULT_ALREADY_CONNECTED if a connection or attempt to that
/// address exists; RAK_RESULT_QUEUE_FULL; RAK_RESULT_STALE_HANDLE if `peer` was
/// destroyed; RAK_RESULT_SHUT_DOWN; RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_connect(
    peer: *const rak_peer,
    host: *const c_char,
    port: u16,
    password: *const u8,
    password_len: usize,
    out_conn: *mut rak_conn,
) -> rak_result {
    boundary(|| {
        let out = Out::new(out_conn)?;
        with_peer(peer, |p| {
            let host = text(host)?;
            let password = bytes(password, password_len)?;
            if port == 0 || password.len() > super::config::RAK_MAX_PASSWORD_BYTES {
                return Err(rak_result::InvalidArgument);
            }
            let addr = resolve(host, port, |a| p.can_reach(a))?;
            out.write(p.connect(addr, password)?.into());
            Ok(())
        })
    })
}

/// Queues a copy of `data[0..len]` for `conn`; the caller keeps ownership of `data`.
/// `options` NULL means reliable ordered, high priority, channel 0. The first byte should
/// be the message id: 134 (ID_USER_PACKET_ENUM) or above for application messages.
///
/// On success writes the receipt number to `*out_receipt` (may be NULL); it comes back
/// in RAK_EVENT_KIND_RECEIPT_ACKED / _LOST events for the *_WITH_ACK_RECEIPT kinds.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` or `data` is NULL;
/// RAK_RESULT_INVALID_ARGUMENT for `len` 0, an unknown reliability or priority, or a
/// channel >= RAK_CHANNELS; RAK_RESULT_STALE_HANDLE if `conn` is gone (or `peer` was
/// destroyed); RAK_RESULT_NOT_CONNECTED if `conn` has not finished connecting or is
/// closing; RAK_RESULT_TOO_LARGE; RAK_RESULT_QUEUE_FULL or RAK_RESULT_BUFFER_FULL
/// (nothing queued: poll events and retry); RAK_RESULT_SHUT_DOWN;
/// RAK_RESULT_PEER_FAILED.
///
/// Back-pressure is per connection. Each connection holds at most the send buffer limit
/// (`rak_config_set_send_buffer_limit()`, default 64 MiB) of message bytes: queued,
/// sent and not yet acknowledged, or accepted by this call and not yet taken by the
/// network thread. A send that would go over it returns RAK_RESULT_BUFFER_FULL at once
/// and queues nothing; sends to other connections are unaffected. A message larger than
/// the whole limit returns RAK_RESULT_TOO_LARGE. A send that returned RAK_RESULT_OK is
/// dropped later only if the connection ends first, or, rarely, if the protocol's own
/// control messages took the last room in the buffer meanwhile (counted in
/// `rak_runtime_stats.sends_dropped`); either way a *_WITH_ACK_RECEIPT send then gets a
/// RAK_EVENT_KIND_RECEIPT_LOST event.
///
/// Latency: a send that comes while the network thread sleeps, and not right after
/// another send, is framed and handed to the socket by the calling thread before this
/// call returns (a few microseconds), sparing the network thread's wakeup; sends in
/// quick succession are left to the network thread, which packs them into datagrams.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_send(
    peer: *const rak_peer,
    conn: rak_conn,
    data: *const u8,
    len: usize,
    options: *const rak_send_options,
    out_receipt: *mut u32,
) -> rak_result {
    boundary(|| {
        let out = Out::optional(out_receipt);
        with_peer(peer, |p| {
            let opts = if options.is_null() {
                rak_send_options::default()
            } else {
                *obj_ref(options)?
            };
            let opts = SendOptions::try_from(opts)?;
            if data.is_null() {
                return Err(rak_result::NullArgument);
            }
            let data = bytes(data, len)?;
            if data.is_empty() {
                return Err(rak_result::InvalidArgument);
            }
            let receipt = p.send(conn.conn_id()?, data, opts)?;
            if let Some(out) = out {
                out.write(receipt.0);
            }
            Ok(())
        })
    })
}

/// Closes `conn`, or cancels it while connecting. Later sends on `conn` fail.
///
/// With `notify`, on an established connection: messages queued for `conn` before this
/// call are sent first and the reliable ones acknowledged; then RakNet's disconnection
/// notice goes out (ID_DISCONNECTION_NOTIFICATION, reliable ordered on channel 0).
/// Delivering the notice is best effort: it is resent until acknowledged, but only for
/// four retransmission timeouts of the measured round trip, at least 200 ms and at most
/// 2 000 ms (some servers never acknowledge it). RAK_EVENT_KIND_DISCONNECTED with
/// RAK_REASON_CLOSED_LOCALLY follows once the notice is acknowledged or that wait ends,
/// and in any case no later than the connection timeout after this call (10 000 ms by
/// default, see `rak_peer_set_conn_timeout`), even if queued data is still
/// unacknowledged then (or the remote system stopped answering).
///
/// Without `notify`, or on a connection still handshaking, nothing more is sent (queued
/// messages are dropped) and the event follows at once: DISCONNECTED for an established
/// connection, CONNECT_FAILED with RAK_REASON_CANCELLED for an attempt.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE if `conn` or
/// `peer` is gone; RAK_RESULT_QUEUE_FULL; RAK_RESULT_SHUT_DOWN; RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_close(
    peer: *const rak_peer,
    conn: rak_conn,
    notify: bool,
) -> rak_result {
    boundary(|| with_peer(peer, |p| Ok(p.close(conn.conn_id()?, notify)?)))
}

/// Sends an unconnected ping to `host` at `port`. An answer arrives as a
/// RAK_EVENT_KIND_PONG event; none arrives if the remote system does not answer (or,
/// with `open_connections_only`, has no free incoming slot). A host name blocks the
/// calling thread while it is resolved (see `rak_peer_connect()`).
///
/// LAN discovery: `host` may be a broadcast address, "255.255.255.255" or a subnet's
/// (e.g. "192.168.1.255"; "127.255.255.255" reaches the servers on this machine on
/// Linux). Every server listening on `port` then answers with its own PONG, from its
/// own address; collect them until a deadline of your choice.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` or `host` is NULL;
/// RAK_RESULT_INVALID_ARGUMENT for port 0 or a host that is not UTF-8;
/// RAK_RESULT_ADDRESS if `host` cannot be resolved or reached; RAK_RESULT_QUEUE_FULL;
/// RAK_RESULT_STALE_HANDLE if `peer` was destroyed; RAK_RESULT_SHUT_DOWN;
/// RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_ping(
    peer: *const rak_peer,
    host: *const c_char,
    port: u16,
    open_connections_only: bool,
) -> rak_result {
    boundary(|| {
        with_peer(peer, |p| {
            let host = text(host)?;
            if port == 0 {
                return Err(rak_result::InvalidArgument);
            }
            let addr = resolve(host, port, |a| p.can_reach(a))?;
            Ok(p.ping(addr, open_connections_only)?)
        })
    })
}

/// Replaces the data sent in answers to unconnected pings with a copy of
/// `data[0..len]` (NULL is fine when `len` is 0).
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_INVALID_ARGUMENT if
/// `len` > RAK_MAX_OFFLINE_DATA_BYTES; RAK_RESULT_QUEUE_FULL; RAK_RESULT_STALE_HANDLE
/// if `peer` was destroyed; RAK_RESULT_SHUT_DOWN; RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_set_offline_data(
    peer: *const rak_peer,
    data: *const u8,
    len: usize,
) -> rak_result {
    boundary(|| {
        with_peer(peer, |p| {
            if len > super::config::RAK_MAX_OFFLINE_DATA_BYTES {
                return Err(rak_result::InvalidArgument);
            }
            Ok(p.set_offline_data(bytes(data, len)?)?)
        })
    })
}

/// Writes this peer's GUID, which identifies it to remote systems, to `*out_guid`.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE if `peer`
/// was destroyed; RAK_RESULT_SHUT_DOWN.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_guid(peer: *const rak_peer, out_guid: *mut u64) -> rak_result {
    boundary(|| {
        let out = Out::new(out_guid)?;
        with_peer(peer, |p| {
            out.write(p.guid());
            Ok(())
        })
    })
}

/// Writes the UDP port the peer is bound to (useful after binding port 0) to
/// `*out_port`.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE if `peer`
/// was destroyed; RAK_RESULT_SHUT_DOWN.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_local_port(peer: *const rak_peer, out_port: *mut u16) -> rak_result {
    boundary(|| {
        let out = Out::new(out_port)?;
        with_peer(peer, |p| {
            out.write(p.local_addr().port());
            Ok(())
        })
    })
}

/// Identity and state of a live connection, from `rak_peer_conn_info()`.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
#[allow(non_camel_case_types)]
pub struct rak_conn_info {
    /// The remote address (`rak_address_str()` formats it).
    pub address: rak_address,
    /// The remote GUID (0 until the handshake tells it).
    pub guid: u64,
    /// A RAK_CONN_STATE_* value.
    pub state: rak_conn_state,
    /// True if the remote system initiated the connection.
    pub incoming: bool,
}

/// Writes the address, GUID, state and direction of `conn` to `*out_info`.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE if `conn`
/// or `peer` is gone; RAK_RESULT_SHUT_DOWN; RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_conn_info(
    peer: *const rak_peer,
    conn: rak_conn,
    out_info: *mut rak_conn_info,
) -> rak_result {
    boundary(|| {
        let out = Out::new(out_info)?;
        with_peer(peer, |p| {
            let info = p.conn_info(conn.conn_id()?)?;
            out.write(rak_conn_info {
                address: info.addr.into(),
                guid: info.guid,
                state: info.state.into(),
                incoming: info.incoming,
            });
            Ok(())
        })
    })
}

/// Moves events already waiting into `out[0..cap]` without blocking.
/// Writes the number stored (0 when there is nothing) to `*out_n`.
///
/// Each MESSAGE and PONG event hands the application a `rak_message` to release.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer`, `out` or `out_n` is
/// NULL; RAK_RESULT_INVALID_ARGUMENT if `cap` is 0; RAK_RESULT_STALE_HANDLE if `peer`
/// was destroyed; RAK_RESULT_SHUT_DOWN.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_poll(
    peer: *const rak_peer,
    out: *mut rak_event,
    cap: usize,
    out_n: *mut usize,
) -> rak_result {
    rak_peer_wait(peer, out, cap, 0, out_n)
}

/// As `rak_peer_poll()`, but when no event is waiting, blocks until one arrives or
/// `timeout_ms` passes (then `*out_n` is 0).
///
/// On Linux one waiting thread at a time reads the peer's socket itself while it
/// waits, and handles what arrives as the network thread would (acknowledgements
/// included), so an answer reaches it without a hand-over between threads; further
/// waiters, and other systems, wait for the network thread. The log callback still
/// runs on the network thread only.
///
/// Returns RAK_RESULT_OK (also when the timeout passed: `*out_n` is then 0);
/// RAK_RESULT_NULL_ARGUMENT if `peer`, `out` or `out_n` is NULL;
/// RAK_RESULT_INVALID_ARGUMENT if `cap` is 0; RAK_RESULT_STALE_HANDLE if `peer` was
/// destroyed; RAK_RESULT_SHUT_DOWN.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_wait(
    peer: *const rak_peer,
    out: *mut rak_event,
    cap: usize,
    timeout_ms: u32,
    out_n: *mut usize,
) -> rak_result {
    boundary(|| {
        let out_n = Out::new(out_n)?;
        let mut out = OutSlice::new(out, cap)?;
        with_peer(peer, |p| {
            let next = match timeout_ms {
                0 => p.poll_event(),
                t => p.wait_event(Duration::from_millis(u64::from(t))),
            };
            let mut n = 0;
            if let Some(ev) = next {
                out.write(0, rak_event::from(ev));
                n = 1;
                let more = out.cap() - 1;
                p.poll_events(more, |ev| {
                    out.write(n, rak_event::from(ev));
                    n += 1;
                });
            }
            out_n.write(n);
            Ok(())
        })
    })
}

/// Changes the built-in network simulator for the datagrams of `direction` (a
/// RAK_SIM_DIRECTION_* value) while the peer runs, as `rak_config_set_simulator()` sets
/// it at creation. `options` is copied; NULL turns that direction off. Datagrams
/// already delayed keep their delays. Takes effect on the network thread shortly after
/// the call returns.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` is NULL;
/// RAK_RESULT_INVALID_ARGUMENT for an unknown direction, a percentage outside 0..=100
/// (or NaN), or a latency or jitter above RAK_MAX_SIM_DELAY_MS; RAK_RESULT_QUEUE_FULL;
/// RAK_RESULT_STALE_HANDLE if `peer` was destroyed; RAK_RESULT_SHUT_DOWN;
/// RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_set_simulator(
    peer: *const rak_peer,
    direction: super::sim::rak_sim_direction_raw,
    options: *const super::sim::rak_sim_options,
) -> rak_result {
    boundary(|| {
        with_peer(peer, |p| {
            let options = if options.is_null() {
                None
            } else {
                Some(obj_ref(options)?)
            };
            let (outgoing, incoming) = super::sim::sim_settings(direction, options)?;
            Ok(p.set_simulator(outgoing, incoming)?)
        })
    })
}

/// Copies the peer's runtime counters (dropped sends, network simulator) into
/// `*out_stats`. Pass `sizeof(rak_runtime_stats)` as `stats_size`: the library writes
/// at most that many bytes, so a program built against an older, shorter version of
/// the struct keeps working.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` or `out_stats` is NULL;
/// RAK_RESULT_INVALID_ARGUMENT if `stats_size` is 0; RAK_RESULT_STALE_HANDLE if `peer`
/// was destroyed; RAK_RESULT_SHUT_DOWN.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_runtime_stats(
    peer: *const rak_peer,
    out_stats: *mut super::sim::rak_runtime_stats,
    stats_size: usize,
) -> rak_result {
    boundary(|| {
        if out_stats.is_null() {
            return Err(rak_result::NullArgument);
        }
        with_peer(peer, |p| {
            let stats = super::sim::rak_runtime_stats::from(p.runtime_stats());
            super::boundary::write_sized(out_stats, stats_size, &stats)
        })
    })
}
