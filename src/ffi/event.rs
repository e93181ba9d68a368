//! `rak_event`: the C view of a `runtime::PeerEvent`, plus the reason codes and their
//! text. Conversion only; which events happen is decided below this layer.

use std::ffi::c_char;

use super::address::rak_address;
use super::boundary::boundary_or;
use super::handle::rak_conn;
use super::message::{new_message, rak_message};
use crate::proto::{ConnectFailure, DisconnectReason, Event};
use crate::runtime::{ConnState, PeerEvent};

/// What a `rak_event` reports. 0 is never a kind.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rak_event_kind {
    /// A connection finished its handshake. `incoming` tells who initiated it;
    /// `conn`, `guid` and `address` identify it.
    Connected = 1,
    /// An outgoing attempt failed (`reason`: a RAK_REASON_* below 100); `conn` is stale.
    ConnectFailed = 2,
    /// A message arrived on `conn`: `message` (release it!), `channel`, `reliability`.
    Message = 3,
    /// An established connection ended (`reason`: a RAK_REASON_* from 100);
    /// `conn` is stale. RAK_REASON_TIMED_OUT means the connection was lost.
    Disconnected = 4,
    /// The message sent with `receipt` on `conn` was acknowledged.
    ReceiptAcked = 5,
    /// The unreliable message sent with `receipt` on `conn` was given up on.
    ReceiptLost = 6,
    /// An answer to `rak_peer_ping()` (one per server for a broadcast ping): `address`,
    /// `guid`, `rtt_ms`, and the responder's offline data in `message` (release it!).
    Pong = 7,
    /// The network thread failed. Every later call returns RAK_RESULT_PEER_FAILED
    /// or RAK_RESULT_INTERNAL; destroy the peer.
    Fatal = 8,
    /// An ADVERTISE_SYSTEM (`rak_peer_advertise()`) arrived from `address`, connected or
    /// not: the sender's `guid`, and its data in `message` (without the 0x1D id byte;
    /// release it!).
    Advertise = 9,
    /// Secure mode: datagrams from `address` claiming to belong to `conn` were dropped
    /// because they did not authenticate (tampered, forged) or were replays; the
    /// connection is unharmed. At most once a second per connection; the totals are in
    /// `rak_conn_stats` (`datagrams_forged`, `datagrams_replayed`).
    SecurityAlert = 10,
}

/// Why a connection attempt failed or a connection ended.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rak_reason {
    /// No reason (events other than CONNECT_FAILED and DISCONNECTED).
    None = 0,
    /// No answer to any probe, or the handshake stalled.
    NoResponse = 1,
    /// The server rejected our password.
    InvalidPassword = 2,
    /// The server has no free incoming slot.
    ServerFull = 3,
    /// CONNECT_FAILED: our address is banned there. DISCONNECTED: we banned the remote
    /// system's address and dropped the connection.
    Banned = 4,
    /// The server speaks another protocol version (see `server_protocol`).
    IncompatibleProtocol = 5,
    /// Our address or GUID is already connected there.
    AlreadyConnected = 6,
    /// The server limits connection attempts per IP; retry later.
    IpRecentlyConnected = 7,
    /// The server requires a security mode we do not run: a RakNet 4 (libcat) secure
    /// server, or a libraknet server that requires secure connections from a plain
    /// client.
    SecurityMismatch = 8,
    /// The application cancelled the attempt with `rak_peer_close()`.
    Cancelled = 9,
    /// We asked for a secure connection and the server does not offer secure mode
    /// (RakNet's ID_OUR_SYSTEM_REQUIRES_SECURITY). Never falls back to plain.
    ServerNotSecure = 10,
    /// The server did not prove the pinned public key (ID_PUBLIC_KEY_MISMATCH).
    PublicKeyMismatch = 11,
    /// The server requires a client key pair and this peer has none
    /// (ID_REMOTE_SYSTEM_REQUIRES_PUBLIC_KEY).
    ClientKeyRequired = 12,
    /// The secure handshake failed (refused by the server, or its answer did not
    /// authenticate).
    SecureHandshakeFailed = 13,
    /// The remote system closed the connection.
    ClosedByRemote = 100,
    /// We closed it with `rak_peer_close()`.
    ClosedLocally = 101,
    /// Nothing arrived for the timeout: the connection was lost.
    TimedOut = 102,
    /// The remote system broke the protocol and was dropped.
    ProtocolError = 103,
}

impl rak_reason {
    fn text(self) -> &'static std::ffi::CStr {
        match self {
            rak_reason::None => c"none",
            rak_reason::NoResponse => c"no response",
            rak_reason::InvalidPassword => c"invalid password",
            rak_reason::ServerFull => c"server full",
            rak_reason::Banned => c"banned",
            rak_reason::IncompatibleProtocol => c"incompatible protocol version",
            rak_reason::AlreadyConnected => c"already connected",
            rak_reason::IpRecentlyConnected => c"ip recently connected",
            rak_reason::SecurityMismatch => c"security mismatch",
            rak_reason::Cancelled => c"cancelled",
            rak_reason::ServerNotSecure => c"server not secure",
            rak_reason::PublicKeyMismatch => c"public key mismatch",
            rak_reason::ClientKeyRequired => c"client key required",
            rak_reason::SecureHandshakeFailed => c"secure handshake failed",
            rak_reason::ClosedByRemote => c"closed by remote",
            rak_reason::ClosedLocally => c"closed locally",
            rak_reason::TimedOut => c"timed out",
            rak_reason::ProtocolError => c"protocol error",
        }
    }

    fn from_u32(v: u32) -> Option<rak_reason> {
        const ALL: [rak_reason; 18] = [
            rak_reason::None,
            rak_reason::NoResponse,
            rak_reason::InvalidPassword,
            rak_reason::ServerFull,
            rak_reason::Banned,
            rak_reason::IncompatibleProtocol,
            rak_reason::AlreadyConnected,
            rak_reason::IpRecentlyConnected,
            rak_reason::SecurityMismatch,
            rak_reason::Cancelled,
            rak_reason::ServerNotSecure,
            rak_reason::PublicKeyMismatch,
            rak_reason::ClientKeyRequired,
            rak_reason::SecureHandshakeFailed,
            rak_reason::ClosedByRemote,
            rak_reason::ClosedLocally,
            rak_reason::TimedOut,
            rak_reason::ProtocolError,
        ];
        ALL.into_iter().find(|r| *r as u32 == v)
    }
}

impl From<ConnectFailure> for rak_reason {
    fn from(f: ConnectFailure) -> rak_reason {
        match f {
            ConnectFailure::NoResponse => rak_reason::NoResponse,
            ConnectFailure::InvalidPassword => rak_reason::InvalidPassword,
            ConnectFailure::ServerFull => rak_reason::ServerFull,
            ConnectFailure::Banned => rak_reason::Banned,
            ConnectFailure::IncompatibleProtocol { .. } => rak_reason::IncompatibleProtocol,
            ConnectFailure::AlreadyConnected => rak_reason::AlreadyConnected,
            ConnectFailure::IpRecentlyConnected => rak_reason::IpRecentlyConnected,
            ConnectFailure::SecurityMismatch => rak_reason::SecurityMismatch,
            ConnectFailure::Cancelled => rak_reason::Cancelled,
            ConnectFailure::ServerNotSecure => rak_reason::ServerNotSecure,
            ConnectFailure::PublicKeyMismatch => rak_reason::PublicKeyMismatch,
            ConnectFailure::ClientKeyRequired => rak_reason::ClientKeyRequired,
            ConnectFailure::SecureHandshakeFailed => rak_reason::SecureHandshakeFailed,
        }
    }
}

impl From<DisconnectReason> for rak_reason {
    fn from(r: DisconnectReason) -> rak_reason {
        match r {
            DisconnectReason::ClosedByRemote => rak_reason::ClosedByRemote,
            DisconnectReason::ClosedLocally => rak_reason::ClosedLocally,
            DisconnectReason::TimedOut => rak_reason::TimedOut,
            DisconnectReason::ProtocolError => rak_reason::ProtocolError,
            DisconnectReason::Banned => rak_reason::Banned,
        }
    }
}

/// `rak_reason` as it crosses the ABI. The header declares it with the enum's
/// typedef (cbindgen.toml renames this alias); Rust receives the plain integer and
/// validates it, as a Rust enum holding a value C made up would be undefined behaviour.
pub type rak_reason_raw = u32;

/// State of a connection, from `rak_peer_conn_info()`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rak_conn_state {
    /// Outgoing attempt in progress.
    Connecting = 1,
    /// Handshake complete.
    Connected = 2,
    /// Close requested, not finished.
    Disconnecting = 3,
}

impl From<ConnState> for rak_conn_state {
    fn from(s: ConnState) -> rak_conn_state {
        match s {
            ConnState::Connecting => rak_conn_state::Connecting,
            ConnState::Connected => rak_conn_state::Connected,
            ConnState::Disconnecting => rak_conn_state::Disconnecting,
        }
    }
}

/// One thing that happened, filled in by `rak_peer_poll()` and `rak_peer_wait()`.
/// Fields that do not apply to the `kind` are 0 / NULL.
///
/// If `message` is not NULL the application owns a reference to it and must pass it to
/// `rak_message_release()` exactly once. The layout of this struct is part of the ABI:
/// it only changes together with RAK_ABI_VERSION.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
#[allow(non_camel_case_types)]
pub struct rak_event {
    /// A RAK_EVENT_KIND_* value.
    pub kind: rak_event_kind,
    /// A RAK_REASON_* value, for CONNECT_FAILED and DISCONNECTED.
    pub reason: rak_reason,
    /// The connection concerned (id 0 for PONG, ADVERTISE and FATAL).
    pub conn: rak_conn,
    /// The remote system's GUID, for CONNECTED, PONG and ADVERTISE.
    pub guid: u64,
    /// The bytes, for MESSAGE (starting with the message id byte), PONG (offline
    /// data, possibly empty) and ADVERTISE (advertised data, possibly empty). Owned by the
    /// application until `rak_message_release()`.
    pub message: *mut rak_message,
    /// The remote address, for CONNECTED, CONNECT_FAILED, DISCONNECTED, PONG and ADVERTISE.
    pub address: rak_address,
    /// The receipt number `rak_peer_send()` returned, for RECEIPT_ACKED / RECEIPT_LOST.
    pub receipt: u32,
    /// The ordering channel a MESSAGE travelled on (0 for unordered kinds).
    pub channel: u32,
    /// The RAK_RELIABILITY_* a MESSAGE travelled with (receipt kinds arrive as their
    /// plain kinds).
    pub reliability: super::options::rak_reliability_raw,
    /// Round-trip time of a PONG, in milliseconds.
    pub rtt_ms: u32,
    /// For RAK_REASON_INCOMPATIBLE_PROTOCOL, the server's protocol version.
    pub server_protocol: u32,
    /// For CONNECTED: true if the remote system initiated the connection.
    pub incoming: bool,
}

impl rak_event {
    fn empty(kind: rak_event_kind) -> rak_event {
        rak_event {
            kind,
            reason: rak_reason::None,
            conn: rak_conn::NONE,
            guid: 0,
            message: std::ptr::null_mut(),
            address: rak_address::NONE,
            receipt: 0,
            channel: 0,
            reliability: 0,
            rtt_ms: 0,
            server_protocol: 0,
            incoming: false,
        }
    }
}

impl From<PeerEvent> for rak_event {
    fn from(e: PeerEvent) -> rak_event {
        use rak_event_kind as K;
        let e = match e {
            PeerEvent::Net(e) => e,
            PeerEvent::Fatal => return rak_event::empty(K::Fatal),
        };
        match e {
            Event::Connected {
                conn,
                addr,
                guid,
                incoming,
            } => rak_event {
                conn: conn.into(),
                address: addr.into(),
                guid,
                incoming,
                ..rak_event::empty(K::Connected)
            },
            Event::ConnectFailed { conn, addr, reason } => rak_event {
                conn: conn.into(),
                address: addr.into(),
                reason: reason.into(),
                server_protocol: match reason {
                    ConnectFailure::IncompatibleProtocol { server_version } => {
                        u32::from(server_version)
                    }
                    _ => 0,
                },
                ..rak_event::empty(K::ConnectFailed)
            },
            Event::Message {
                conn,
                data,
                channel,
                reliability,
            } => rak_event {
                conn: conn.into(),
                message: new_message(data),
                channel: u32::from(channel),
                reliability: reliability as u32,
                ..rak_event::empty(K::Message)
            },
            Event::Disconnected { conn, addr, reason } => rak_event {
                conn: conn.into(),
                address: addr.into(),
                reason: reason.into(),
                ..rak_event::empty(K::Disconnected)
            },
            Event::Receipt {
                conn,
                receipt,
                acked,
            } => rak_event {
                conn: conn.into(),
                receipt: receipt.0,
                ..rak_event::empty(if acked {
                    K::ReceiptAcked
                } else {
                    K::ReceiptLost
                })
            },
            Event::Pong {
                addr,
                guid,
                rtt,
                data,
            } => rak_event {
                address: addr.into(),
                guid,
                rtt_ms: u32::try_from(rtt.as_millis()).unwrap_or(u32::MAX),
                message: new_message(data),
                ..rak_event::empty(K::Pong)
            },
            Event::Advertise { addr, guid, data } => rak_event {
                address: addr.into(),
                guid,
                message: new_message(data),
                ..rak_event::empty(K::Advertise)
            },
            Event::SecurityAlert { conn, addr, .. } => rak_event {
                conn: conn.into(),
                address: addr.into(),
                ..rak_event::empty(K::SecurityAlert)
            },
        }
    }
}

/// Describes a RAK_REASON_* value in a few lower-case words, e.g. "invalid password",
/// "server full", "banned", "incompatible protocol version", "no response", "timed out".
///
/// Takes any integer: a value that names no reason gives "unknown reason".
/// The string is static and NUL-terminated; never free it.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_reason_str(reason: rak_reason_raw) -> *const c_char {
    boundary_or(c"unknown reason".as_ptr(), || {
        rak_reason::from_u32(reason)
            .map_or(c"unknown reason", rak_reason::text)
            .as_ptr()
    })
}
