//! What the core reports to the application, through `Endpoint::poll_event`.

use std::net::SocketAddr;
use std::time::Duration;

use super::options::{Receipt, Reliability};

/// A connection's identity: unique for the endpoint's life, never reused, 0 is invalid.
///
/// Outgoing connections carry the id the caller chose in `Endpoint::connect`; incoming ones
/// get an id with the top bit set, so the two spaces never collide.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl ConnId {
    /// Bit set in ids the endpoint assigns to incoming connections.
    pub const INCOMING_BIT: u64 = 1 << 63;
    /// Whether the endpoint assigned this id to an incoming connection.
    pub fn is_incoming(self) -> bool {
        self.0 & Self::INCOMING_BIT != 0
    }
}

/// Why an outgoing connection attempt failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConnectFailure {
    /// No answer to any probe, or the handshake stalled (ID_CONNECTION_ATTEMPT_FAILED).
    NoResponse,
    /// The server rejected our password (ID_INVALID_PASSWORD).
    InvalidPassword,
    /// The server has no free incoming slot (ID_NO_FREE_INCOMING_CONNECTIONS).
    ServerFull,
    /// Our address is banned there (ID_CONNECTION_BANNED).
    Banned,
    /// The server speaks another protocol version (ID_INCOMPATIBLE_PROTOCOL_VERSION).
    IncompatibleProtocol {
        /// The server's protocol version.
        server_version: u8,
    },
    /// Our address or GUID is already connected there (ID_ALREADY_CONNECTED).
    AlreadyConnected,
    /// The server limits connections per IP (ID_IP_RECENTLY_CONNECTED).
    IpRecentlyConnected,
    /// The server requires a secure mode we do not run: a libcat (RakNet 4 secure) server,
    /// or a libraknet server that requires security from a plain client (security bit in
    /// REPLY_2).
    SecurityMismatch,
    /// We asked for a secure connection and the server does not offer secure mode
    /// (RakNet's ID_OUR_SYSTEM_REQUIRES_SECURITY).
    ServerNotSecure,
    /// The server did not prove the pinned public key (ID_PUBLIC_KEY_MISMATCH).
    PublicKeyMismatch,
    /// The server requires a client key pair and we have none
    /// (ID_REMOTE_SYSTEM_REQUIRES_PUBLIC_KEY).
    ClientKeyRequired,
    /// The secure handshake failed: the server refused our handshake message or its
    /// answer did not authenticate.
    SecureHandshakeFailed,
    /// The application cancelled the attempt.
    Cancelled,
}

/// Why an established connection ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The remote system sent DISCONNECTION_NOTIFICATION.
    ClosedByRemote,
    /// We closed it (`Endpoint::close`), and the notification was acknowledged or
    /// notification was not requested.
    ClosedLocally,
    /// Nothing arrived from the remote system for the timeout (ID_CONNECTION_LOST).
    TimedOut,
    /// The remote system broke the protocol badly enough that we dropped it.
    ProtocolError,
    /// We banned the remote system's IP (`Endpoint::add_ban`); the connection was dropped
    /// without notifying it (its datagrams now get ID_CONNECTION_BANNED).
    Banned,
}

/// One thing that happened, for the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A connection finished its handshake. `incoming` is true on the accepting side
    /// (RakNet's ID_NEW_INCOMING_CONNECTION), false on the connecting side
    /// (ID_CONNECTION_REQUEST_ACCEPTED).
    Connected {
        /// The connection.
        conn: ConnId,
        /// The remote system's address.
        addr: SocketAddr,
        /// The remote system's GUID.
        guid: u64,
        /// Who initiated it.
        incoming: bool,
    },
    /// An outgoing connection attempt failed; `conn` is now invalid.
    ConnectFailed {
        /// The attempt's id.
        conn: ConnId,
        /// The address we tried.
        addr: SocketAddr,
        /// Why.
        reason: ConnectFailure,
    },
    /// A message arrived. `data` starts with the message id byte, as in RakNet.
    Message {
        /// Who sent it.
        conn: ConnId,
        /// The whole message.
        data: Vec<u8>,
        /// Ordering channel it travelled on (0 for unordered kinds).
        channel: u8,
        /// The wire reliability it travelled with.
        reliability: Reliability,
    },
    /// An established connection ended; `conn` is now invalid.
    Disconnected {
        /// The connection.
        conn: ConnId,
        /// The remote system's address.
        addr: SocketAddr,
        /// Why.
        reason: DisconnectReason,
    },
    /// A receipt-kind message was acknowledged (`acked`) or given up on.
    Receipt {
        /// The connection it was sent on.
        conn: ConnId,
        /// The serial `send` returned.
        receipt: Receipt,
        /// True for ID_SND_RECEIPT_ACKED, false for ID_SND_RECEIPT_LOSS.
        acked: bool,
    },
    /// An answer to `Endpoint::ping`.
    Pong {
        /// Who answered.
        addr: SocketAddr,
        /// The responder's GUID.
        guid: u64,
        /// Round trip of this ping.
        rtt: Duration,
        /// The responder's offline data.
        data: Vec<u8>,
    },
    /// An ADVERTISE_SYSTEM arrived (RakNet's ID_ADVERTISE_SYSTEM, sent by
    /// `Endpoint::advertise`; docs/protocol.md §4.3). Any address may send one, connected or
    /// not. Other out-of-band payloads (NAT and Router2 plugin traffic) are not reported:
    /// they are dropped and counted in `EndpointStats::dropped.out_of_band_ignored`.
    Advertise {
        /// Who sent it.
        addr: SocketAddr,
        /// The sender's GUID.
        guid: u64,
        /// The advertised data, without the 1D id byte (0 to 398 bytes).
        data: Vec<u8>,
    },
    /// Secure mode: datagrams from a connection's address were dropped because they did
    /// not authenticate (tampered or forged) or were replays. The connection is unharmed.
    /// Reported at most once a second per connection; the counts are the connection's
    /// totals so far (also in `ConnStats`).
    SecurityAlert {
        /// The connection.
        conn: ConnId,
        /// Its address.
        addr: SocketAddr,
        /// Datagrams that did not authenticate, in total.
        forged: u64,
        /// Replayed datagrams, in total.
        replayed: u64,
    },
}
