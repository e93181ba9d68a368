//! `rak_config`: the opaque builder a peer is created from. Each setter validates its
//! argument against the limits the core documents and stores it; nothing else.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use super::address::resolve;
use super::boundary::{boundary, bytes, obj_mut, obj_ref, text, Out};
use super::handle::Registry;
use super::result::rak_result;
use crate::proto::config::{MAX_MTU, MAX_OFFLINE_DATA, MAX_PASSWORD, MIN_MTU};
use crate::runtime::PeerConfig;

/// Longest password, in bytes.
pub const RAK_MAX_PASSWORD_BYTES: usize = 255;
/// Longest offline (ping response) data, in bytes.
pub const RAK_MAX_OFFLINE_DATA_BYTES: usize = 399;
/// Most MTU probe sizes `rak_config_set_mtu_probes()` accepts.
pub const RAK_MAX_MTU_PROBES: usize = 8;
/// Largest capacity of the command and event queues.
pub const RAK_MAX_QUEUE_CAPACITY: usize = 1 << 24;

const _: () = assert!(RAK_MAX_PASSWORD_BYTES == MAX_PASSWORD);
const _: () = assert!(RAK_MAX_OFFLINE_DATA_BYTES == MAX_OFFLINE_DATA);

/// Settings for `rak_peer_create()`. Opaque: create with `rak_config_create()`, change
/// with the `rak_config_set_*()` functions, free with `rak_config_destroy()`.
///
/// The peer copies the settings, so the config may be destroyed or reused right after
/// `rak_peer_create()`.
#[allow(non_camel_case_types)]
pub struct rak_config {
    pub(crate) inner: PeerConfig,
    pub(crate) thread_start: Option<ThreadStart>,
}

/// A function run first thing on a peer's network thread, with its userdata.
type ThreadStartFn = unsafe extern "C" fn(userdata: *mut c_void);

/// The hook and userdata registered with `rak_config_set_thread_start_hook()`.
#[derive(Copy, Clone)]
pub(crate) struct ThreadStart {
    hook: ThreadStartFn,
    userdata: *mut c_void,
}

// SAFETY: the header tells the caller that `userdata` is handed to the network thread;
// the library itself never dereferences it.
unsafe impl Send for ThreadStart {}

impl ThreadStart {
    /// Calls the hook (on the network thread).
    pub(crate) fn run(self) {
        // SAFETY: the caller registered a function with this signature and promised it
        // may be called once per peer on the network thread with `userdata`.
        unsafe { (self.hook)(self.userdata) }
    }
}

static CONFIGS: Registry = Registry::new();

/// The config behind a caller's pointer; NULL or destroyed → an error.
pub(crate) fn config_ref<'a>(p: *const rak_config) -> Result<&'a rak_config, rak_result> {
    CONFIGS.check(p)?;
    obj_ref(p)
}

pub(crate) fn config_mut<'a>(p: *mut rak_config) -> Result<&'a mut PeerConfig, rak_result> {
    CONFIGS.check(p)?;
    Ok(&mut obj_mut(p)?.inner)
}

fn ms(v: u32) -> Result<Duration, rak_result> {
    match v {
        0 => Err(rak_result::InvalidArgument),
        v => Ok(Duration::from_millis(u64::from(v))),
    }
}

/// Creates a config holding the defaults: bind 0.0.0.0 port 0 (any free port), protocol
/// version 6 (RakNet 4), no incoming connections, no password, no offline data,
/// 10 000 ms timeout, 12 connect attempts 500 ms apart.
///
/// On success writes the new config to `*out_config`; the caller owns it and frees it
/// with `rak_config_destroy()`.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `out_config` is NULL.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_config_create(out_config: *mut *mut rak_config) -> rak_result {
    boundary(|| {
        let out = Out::new(out_config)?;
        let config = Box::into_raw(Box::new(rak_config {
            inner: PeerConfig::default(),
            thread_start: None,
        }));
        CONFIGS.insert(config);
        out.write(config);
        Ok(())
    })
}

/// Frees a config. NULL, or a config already destroyed, is a no-op.
///
/// Thread safety: exclusive (no other call may be using `config`).
#[no_mangle]
pub extern "C" fn rak_config_destroy(config: *mut rak_config) {
    boundary_unit(|| {
        if CONFIGS.remove(config) {
            // SAFETY: the registry held this address, so it came from Box::into_raw in
            // rak_config_create and has not been freed; removal makes this the only free.
            drop(unsafe { Box::from_raw(config) });
        }
    })
}

fn boundary_unit<F: FnOnce()>(f: F) {
    super::boundary::boundary_or((), f)
}

/// Sets the local address to bind: an IP literal or a host name, and a port
/// (0 = any free port; `rak_peer_local_port()` tells which).
///
/// "0.0.0.0" (the default) binds every IPv4 address. "::" binds every IPv6 address and,
/// unless `rak_config_set_ipv6_only()` says otherwise, IPv4 as well (dual-stack: IPv4
/// peers appear with their plain IPv4 addresses). "::1" or "127.0.0.1" bind loopback
/// only. A host name blocks the calling thread while the OS resolver answers; its
/// first IPv4 address is used if it has one.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `config` or `host` is NULL;
/// RAK_RESULT_STALE_HANDLE if `config` was destroyed; RAK_RESULT_INVALID_ARGUMENT if
/// `host` is not UTF-8; RAK_RESULT_ADDRESS if `host` cannot be resolved.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_bind(
    config: *mut rak_config,
    host: *const c_char,
    port: u16,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        c.bind = resolve(text(host)?, port, |a| a.is_ipv4())?;
        Ok(())
    })
}

/// Sets the RakNet protocol version sent when connecting and required from clients:
/// 6 for RakNet 4.x (the default), 10 or 11 for the Minecraft Bedrock flavour.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT unless 1 <= `version` <= 255.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_protocol_version(
    config: *mut rak_config,
    version: u32,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        c.proto.protocol_version = match u8::try_from(version) {
            Ok(v) if v > 0 => v,
            _ => return Err(rak_result::InvalidArgument),
        };
        Ok(())
    })
}

/// Sets how many remote-initiated connections are accepted at once (0, the default,
/// accepts none: a pure client). Further attempts are refused as "server full".
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_max_incoming(
    config: *mut rak_config,
    max_connections: u32,
) -> rak_result {
    boundary(|| {
        config_mut(config)?.proto.max_incoming = max_connections;
        Ok(())
    })
}

/// Sets the password incoming connections must present (copied; `len` 0 = none).
/// `password` may be NULL when `len` is 0.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT if `len` > RAK_MAX_PASSWORD_BYTES.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_password(
    config: *mut rak_config,
    password: *const u8,
    len: usize,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        if len > RAK_MAX_PASSWORD_BYTES {
            return Err(rak_result::InvalidArgument);
        }
        c.proto.password = bytes(password, len)?.to_vec();
        Ok(())
    })
}

/// Sets the data returned in answers to unconnected pings (copied; `len` 0 = none).
/// `data` may be NULL when `len` is 0. `rak_peer_set_offline_data()` changes it later.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT if `len` > RAK_MAX_OFFLINE_DATA_BYTES.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_offline_data(
    config: *mut rak_config,
    data: *const u8,
    len: usize,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        if len > RAK_MAX_OFFLINE_DATA_BYTES {
            return Err(rak_result::InvalidArgument);
        }
        c.proto.offline_data = bytes(data, len)?.to_vec();
        Ok(())
    })
}

/// Sets how long a connection may stay silent before it is dropped as lost
/// (`RAK_REASON_TIMED_OUT`). Default 10 000 ms.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT if `timeout_ms` is 0.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_conn_timeout(
    config: *mut rak_config,
    timeout_ms: u32,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        c.proto.timeout = ms(timeout_ms)?;
        Ok(())
    })
}

/// Sets how many connection probes are sent, `interval_ms` apart, before an attempt
/// fails with `RAK_REASON_NO_RESPONSE`. Default 12 attempts, 500 ms apart.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT if either value is 0.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_connect_attempts(
    config: *mut rak_config,
    attempts: u32,
    interval_ms: u32,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        let interval = ms(interval_ms)?;
        if attempts == 0 {
            return Err(rak_result::InvalidArgument);
        }
        c.proto.connect_attempts = attempts;
        c.proto.connect_interval = interval;
        Ok(())
    })
}

/// Sets the MTU sizes probed when connecting, tried largest first (copied).
/// Default 1492, 1200, 576.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT unless 1 <= `count` <= RAK_MAX_MTU_PROBES and every size
/// is within 576..=1492.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_mtu_probes(
    config: *mut rak_config,
    mtu_bytes: *const u16,
    count: usize,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        if mtu_bytes.is_null() {
            return Err(rak_result::NullArgument);
        }
        if count == 0 || count > RAK_MAX_MTU_PROBES {
            return Err(rak_result::InvalidArgument);
        }
        // SAFETY: non-NULL, count ≤ RAK_MAX_MTU_PROBES, and the caller promises `count`
        // readable values for the duration of the call.
        let sizes = unsafe { std::slice::from_raw_parts(mtu_bytes, count) };
        if sizes.iter().any(|m| !(MIN_MTU..=MAX_MTU).contains(m)) {
            return Err(rak_result::InvalidArgument);
        }
        let mut sizes = sizes.to_vec();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes.dedup();
        c.proto.mtu_probes = sizes;
        Ok(())
    })
}

/// Sets the capacities of the peer's bounded queues: commands (sends, connects, ...)
/// from the application to the network thread, and events back. A full command queue
/// makes calls return `RAK_RESULT_QUEUE_FULL`. Defaults 65 536 each.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT unless both are within 1..=RAK_MAX_QUEUE_CAPACITY.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_queue_capacity(
    config: *mut rak_config,
    commands: usize,
    events: usize,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        let ok = |n: usize| (1..=RAK_MAX_QUEUE_CAPACITY).contains(&n);
        if !ok(commands) || !ok(events) {
            return Err(rak_result::InvalidArgument);
        }
        c.command_queue = commands;
        c.event_queue = events;
        Ok(())
    })
}

/// Sets this peer's GUID (0, the default, lets the library draw one from the operating
/// system's random source when the peer starts). The GUID is public (every handshake
/// carries it); the anti-spoofing cookies are keyed independently of it.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_guid(config: *mut rak_config, guid: u64) -> rak_result {
    boundary(|| {
        config_mut(config)?.proto.guid = guid;
        Ok(())
    })
}

/// Registers `hook`, called once on each new peer's network thread before it does
/// anything else, as `hook(userdata)`: the place to set the thread's priority or CPU
/// affinity, or to register it with a profiler. NULL `hook` removes it.
///
/// The hook runs on the network thread, not the caller's: `userdata` must be usable
/// from there. It must not call back into this library for the peer being created and
/// must not unwind (throw a C++ exception) out of the call.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `config` is NULL;
/// RAK_RESULT_STALE_HANDLE if `config` was destroyed.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_thread_start_hook(
    config: *mut rak_config,
    hook: Option<unsafe extern "C" fn(userdata: *mut c_void)>,
    userdata: *mut c_void,
) -> rak_result {
    boundary(|| {
        CONFIGS.check(config)?;
        obj_mut(config)?.thread_start = hook.map(|hook| ThreadStart { hook, userdata });
        Ok(())
    })
}

/// Sets the built-in network simulator for the datagrams of `direction` (a
/// RAK_SIM_DIRECTION_* value): loss, latency, jitter, duplication and reordering, to
/// try a game on a bad network over a good one (see `rak_sim_options`). `options` is
/// copied; NULL (or all zero) turns the simulator off for that direction, which is the
/// default. `rak_peer_set_simulator()` changes it while the peer runs.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `config` is NULL;
/// RAK_RESULT_STALE_HANDLE if `config` was destroyed; RAK_RESULT_INVALID_ARGUMENT for
/// an unknown direction, a percentage outside 0..=100 (or NaN), or a latency or jitter
/// above RAK_MAX_SIM_DELAY_MS.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_simulator(
    config: *mut rak_config,
    direction: super::sim::rak_sim_direction_raw,
    options: *const super::sim::rak_sim_options,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        let options = if options.is_null() {
            None
        } else {
            Some(obj_ref(options)?)
        };
        let (outgoing, incoming) = super::sim::sim_settings(direction, options)?;
        if let Some(o) = outgoing {
            c.sim_outgoing = o;
        }
        if let Some(i) = incoming {
            c.sim_incoming = i;
        }
        Ok(())
    })
}

/// Largest send buffer `rak_config_set_send_buffer_limit()` accepts, in bytes (1 GiB).
pub const RAK_MAX_SEND_BUFFER_BYTES: usize = 1 << 30;

/// Sets how many bytes of message data one connection may hold, queued or sent and not
/// yet acknowledged (default 64 MiB). The limit is per connection: a connection whose
/// remote system is slow, or gone, fills its own buffer and nobody else's.
///
/// A `rak_peer_send()` that would take the connection's buffered bytes (including sends
/// accepted but not yet handed to the network thread) over the limit returns
/// RAK_RESULT_BUFFER_FULL at once, on the caller's thread, and queues nothing: poll
/// events and retry as acknowledgements arrive. A single message larger than the limit
/// can never be sent and returns RAK_RESULT_TOO_LARGE. The protocol's own small control
/// messages (pings, the disconnection notice) are never refused.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `config` is NULL;
/// RAK_RESULT_STALE_HANDLE if `config` was destroyed; RAK_RESULT_INVALID_ARGUMENT
/// unless 1 <= `bytes` <= RAK_MAX_SEND_BUFFER_BYTES.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_send_buffer_limit(
    config: *mut rak_config,
    bytes: usize,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        if !(1..=RAK_MAX_SEND_BUFFER_BYTES).contains(&bytes) {
            return Err(rak_result::InvalidArgument);
        }
        c.proto.reliability.max_send_buffer_bytes = bytes;
        Ok(())
    })
}

/// Sets the receive budget: the bytes the whole peer may hold, over all connections,
/// for incoming messages it cannot deliver yet (large messages still arriving in
/// fragments, messages waiting for an earlier one on their ordering channel). Default
/// 128 MiB. Each connection is guaranteed budget / (2 × slots), slots being the larger
/// of the incoming-connection limit and the connections open, and may use more while
/// the others leave it free. Data past a connection's share is refused for now: the
/// remote system resends reliable data later, unreliable data is lost; both are counted
/// (`rak_stats.dropped_over_receive_budget`) and logged. A message in fragments
/// is charged its whole size from its first fragment until it completes (so one that
/// started always finishes): a message larger than a connection may hold waits until
/// room frees, and one larger than the budget never arrives.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT if `bytes` is 0.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_receive_budget(
    config: *mut rak_config,
    bytes: usize,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        if bytes == 0 {
            return Err(rak_result::InvalidArgument);
        }
        c.proto.receive_budget = bytes;
        Ok(())
    })
}

/// Turns the anti-spoofing cookie on or off (default on). With it, a server answers a
/// connection probe with a cookie derived from the prober's address and accepts the
/// follow-up only if it carries that cookie back, so a spoofed source address cannot
/// take a connection slot. The cookies' key is drawn from the operating system's random
/// source when the peer starts (never from the GUID), and cookies rotate every 30 s
/// (one from the previous 30 s is still accepted). Unlike a default RakNet 4 server, the
/// cookie is on by default: a client that ignores the cookie and sends none back gets
/// no answer and only times out; the server logs such refusals (Info, at most one
/// summary per 10 s). Turn it off only to talk to a client that cannot echo cookies.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_cookies(config: *mut rak_config, enabled: bool) -> rak_result {
    boundary(|| {
        config_mut(config)?.proto.cookies = enabled;
        Ok(())
    })
}

/// Limits how much larger an unconnected pong may be than the ping it answers
/// (anti-reflection). With `factor` 1, the default, a server never sends back more bytes
/// than it received: a ping from a RakNet 4 or Bedrock client (33 bytes) then gets a pong
/// without the offline data, while libraknet's own pings (padded) get all of it. A server
/// that wants foreign clients to see its offline data (a Bedrock MOTD, say) sets 16, the
/// most a 399-byte offline payload needs.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT for 0 or more than 16.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_ping_amplification(
    config: *mut rak_config,
    factor: u32,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        if !(1..=16).contains(&factor) {
            return Err(rak_result::InvalidArgument);
        }
        c.proto.ping_amplification = factor;
        Ok(())
    })
}

/// Limits how often one IP may open a connection (RakNet's
/// `SetLimitIPConnectionFrequency`): with `enabled`, an attempt from an IP that took a
/// connection slot less than 100 ms earlier is refused, and the client sees
/// RAK_REASON_IP_RECENTLY_CONNECTED. Loopback addresses are exempt when
/// `exempt_loopback` is true (RakNet's rule). Default off.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_ip_frequency_limit(
    config: *mut rak_config,
    enabled: bool,
    exempt_loopback: bool,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        c.proto.limit_ip_connection_frequency = enabled;
        c.proto.ip_frequency_exempts_loopback = exempt_loopback;
        Ok(())
    })
}

/// Sets the abuse response: an endpoint (IP address and port) that sends `threshold`
/// malformed datagrams within `window_ms` is ignored for `ignore_ms`: every datagram
/// from it is dropped unprocessed (pings go unanswered, connection attempts get
/// nowhere), counted in `rak_stats.dropped_ignored_abusive`, except connected-mode
/// datagrams for an established connection at that exact address, which are processed
/// as usual (a source address can be forged, so garbage "from" a player must not cut
/// the player off). When several endpoints of one IP are ignored within
/// `window_ms`, the whole IP is (see `rak_config_set_abuse_widening`). `threshold` 0 or
/// `ignore_ms` 0 turns it off. At most 4,096 endpoints are tracked at once. Default 64
/// datagrams, 10 000 ms, 30 000 ms.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT if `window_ms` is 0 while the response is on.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_abuse_limits(
    config: *mut rak_config,
    threshold: u32,
    window_ms: u32,
    ignore_ms: u32,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        let on = threshold > 0 && ignore_ms > 0;
        if on && window_ms == 0 {
            return Err(rak_result::InvalidArgument);
        }
        c.proto.abuse_threshold = threshold;
        c.proto.abuse_window = Duration::from_millis(u64::from(window_ms));
        c.proto.abuse_ignore = Duration::from_millis(u64::from(ignore_ms));
        Ok(())
    })
}

/// Sets how many distinct endpoints (ports) of one IP must each be ignored by the abuse
/// response within its window (`rak_config_set_abuse_limits`) before the whole IP is
/// ignored for the same time: new connections and unconnected messages from any port of
/// it are then dropped, while its established connections are still served. 0 never
/// widens to the IP (carrier-grade NAT puts many players behind one IP). Default 4.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT if `endpoints` is above 64.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_abuse_widening(
    config: *mut rak_config,
    endpoints: u32,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        if endpoints > crate::proto::MAX_ABUSE_WIDEN {
            return Err(rak_result::InvalidArgument);
        }
        c.proto.abuse_widen = endpoints;
        Ok(())
    })
}

/// Sends a ping on every established connection every `interval_ms` (RakNet's
/// occasional ping; 0, the default, pings only to keep a quiet connection alive).
/// Each answer updates the connection's ping figures and clock differential in
/// `rak_conn_stats`.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_occasional_ping(
    config: *mut rak_config,
    interval_ms: u32,
) -> rak_result {
    boundary(|| {
        config_mut(config)?.proto.occasional_ping = Duration::from_millis(u64::from(interval_ms));
        Ok(())
    })
}

/// For an IPv6 bind address (`rak_config_set_bind(config, "::", port)`): `true` makes
/// the socket IPv6-only (IPV6_V6ONLY), `false` (the default, whatever the system's
/// default is) makes it dual-stack, reaching IPv4 systems too. Ignored for IPv4.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_ipv6_only(config: *mut rak_config, ipv6_only: bool) -> rak_result {
    boundary(|| {
        config_mut(config)?.ipv6_only = ipv6_only;
        Ok(())
    })
}

/// Sets SO_REUSEADDR on the peer's socket (default off): several peers, in this process
/// or others, that all set it may bind the same port. Each of them receives the
/// broadcasts sent to that port (so several servers on one machine all answer a LAN
/// discovery ping), but a unicast datagram reaches only one of them: do not run
/// servers that accept connections this way.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_reuse_address(config: *mut rak_config, reuse: bool) -> rak_result {
    boundary(|| {
        config_mut(config)?.reuse_address = reuse;
        Ok(())
    })
}
