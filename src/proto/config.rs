//! Endpoint configuration: every knob of the protocol core, with RakNet's defaults
//! (PROTOCOL.md §12.2) unless a safer or faster choice is documented here.

use std::time::Duration;

/// RakNet 4.x protocol version (`RAKNET_PROTOCOL_VERSION`).
pub const PROTOCOL_RAKNET4: u8 = 6;
/// Minecraft Bedrock flavour before game 1.19.30.
pub const PROTOCOL_BEDROCK_10: u8 = 10;
/// Minecraft Bedrock flavour since game 1.19.30.
pub const PROTOCOL_BEDROCK_11: u8 = 11;

/// Largest MTU RakNet uses (`MAXIMUM_MTU_SIZE`).
pub const MAX_MTU: u16 = 1492;
/// Floor MTU of a connection (PROTOCOL.md §5.4).
pub const MIN_MTU: u16 = 576;
/// Bytes of IPv4 + UDP header RakNet counts inside the MTU.
pub const UDP_HEADER_SIZE: u16 = 28;
/// Offline ping response limit (`MAX_OFFLINE_DATA_LENGTH`, exclusive).
pub const MAX_OFFLINE_DATA: usize = 399;
/// Longest incoming password.
pub const MAX_PASSWORD: usize = 255;

/// How a connection's sender reacts to loss (see `congestion/`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CongestionControl {
    /// Halves the window only when a round's losses look like congestion: they come with
    /// a standing queue (RTT above the path's minimum) or exceed the measured background
    /// loss rate. Random loss on a lossy path does not slow the sender down.
    #[default]
    LossAware,
    /// RakNet's sliding window (with this library's Reno-style avoidance): every round
    /// with a loss halves the window. Kept for comparison; on a lossy path it collapses.
    SlidingWindow,
}

/// Limits and timings of the reliability layer of one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReliabilityConfig {
    /// Most reliable frames sent and not yet acknowledged at once.
    pub max_in_flight_frames: u32,
    /// Bytes queued for sending (not yet acknowledged) after which `send` refuses with
    /// `SendError::BufferFull`.
    pub max_send_buffer_bytes: usize,
    /// Unreliable messages still unsent this long after `send` are dropped (0 = never).
    pub unreliable_timeout: Duration,
    /// How long received data may wait before its ACK is sent. Zero sends ACKs at the end
    /// of each batch of received datagrams.
    pub ack_delay: Duration,
    /// Most fragments one split message may have.
    pub max_split_count: u32,
    /// Most bytes one reassembled split message may have.
    pub max_split_message_bytes: usize,
    /// Most split messages being reassembled at once per connection.
    pub max_concurrent_splits: usize,
    /// Most out-of-order messages held per ordering channel before the connection drops
    /// newer ones (bounds memory against ordering-index holes).
    pub max_ordering_queue: usize,
    /// Lowest and highest retransmission timeout.
    pub min_rto: Duration,
    /// See `min_rto`.
    pub max_rto: Duration,
    /// Outgoing bandwidth cap for new data on this connection, bytes per second
    /// (0 = no cap; RakNet's `SetPerConnectionOutgoingBandwidthLimit`, there in bits).
    /// Retransmissions, ACKs and control traffic are not held back by it.
    pub outgoing_bandwidth_limit: u64,
    /// Every this many fragments of a large incoming message, report progress
    /// (0 = off; RakNet's `SetSplitMessageProgressInterval`).
    pub split_progress_interval: u32,
    /// Where the buffers of delivered messages come from (default: a fresh allocation
    /// each). A driver that recycles the buffers the application gives back plugs its
    /// pool in here.
    pub buffers: super::buffers::BufferSource,
    /// The congestion controller (default: `LossAware`).
    pub congestion: CongestionControl,
}

impl Default for ReliabilityConfig {
    fn default() -> Self {
        ReliabilityConfig {
            max_in_flight_frames: 8192,
            max_send_buffer_bytes: 64 << 20,
            unreliable_timeout: Duration::from_millis(1000),
            ack_delay: Duration::ZERO,
            max_split_count: 65_536,
            max_split_message_bytes: 32 << 20,
            max_concurrent_splits: 8,
            max_ordering_queue: 65_536,
            min_rto: Duration::from_millis(10),
            max_rto: Duration::from_millis(2000),
            split_progress_interval: 0,
            outgoing_bandwidth_limit: 0,
            buffers: super::buffers::BufferSource::default(),
            congestion: CongestionControl::LossAware,
        }
    }
}

/// Configuration of an [`Endpoint`](super::Endpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Protocol byte sent in OPEN_CONNECTION_REQUEST_1 and required from clients:
    /// 6 (RakNet 4.x) or 10/11 (Bedrock flavour).
    pub protocol_version: u8,
    /// This peer's GUID. 0 = derive one from `seed`.
    pub guid: u64,
    /// Seed for everything random in the core (GUID, cookies).
    pub seed: u64,
    /// Remote-initiated connections accepted at once (RakNet's `SetMaximumIncomingConnections`).
    pub max_incoming: u32,
    /// Password clients must send (empty = none), at most 255 bytes.
    pub password: Vec<u8>,
    /// Data appended to unconnected pongs, at most 399 bytes.
    pub offline_data: Vec<u8>,
    /// A connection is lost after this long without hearing from the peer.
    pub timeout: Duration,
    /// MTU probe sizes, largest first.
    pub mtu_probes: Vec<u16>,
    /// OPEN_CONNECTION_REQUEST_1 probes sent before a connect attempt fails.
    pub connect_attempts: u32,
    /// Spacing between probes.
    pub connect_interval: Duration,
    /// Send a cookie in OPEN_CONNECTION_REPLY_1 and require it back (anti-spoofing).
    pub cookies: bool,
    /// Internal addresses written in CONNECTION_REQUEST_ACCEPTED and
    /// NEW_INCOMING_CONNECTION: 10 for RakNet 4, 20 for Bedrock. 0 = by protocol version.
    pub internal_address_count: usize,
    /// Send an unreliable ping every this often while connected (0 = RakNet's default:
    /// only keep-alive pings).
    pub occasional_ping: Duration,
    /// Unconnected pongs are at most this many times the size of the ping they answer
    /// (anti-reflection; 1 = never more bytes back than came in). A pong whose offline
    /// data would exceed it is sent without the data (discovery still works), or not at
    /// all if even that is too large. libraknet's own pings are padded so they always get
    /// the data; RakNet 4 and Bedrock clients send 33-byte pings, so a server that wants
    /// them to see its offline data raises this (e.g. to 16).
    pub ping_amplification: u32,
    /// Per-connection reliability limits.
    pub reliability: ReliabilityConfig,
    /// Refuse OPEN_CONNECTION_REQUEST_2 with ID_IP_RECENTLY_CONNECTED when the same IP
    /// took a connection slot less than 100 ms ago (RakNet's
    /// `SetLimitIPConnectionFrequency`; PROTOCOL.md §4.4). Off by default, as in 4.081.
    pub limit_ip_connection_frequency: bool,
    /// Loopback addresses are exempt from `limit_ip_connection_frequency` (4.081's rule).
    pub ip_frequency_exempts_loopback: bool,
    /// Ban an IP for `timeout` when its freshly allocated slot sends anything but
    /// CONNECTION_REQUEST first (4.081's temporary ban, PROTOCOL.md §5.6).
    pub ban_handshake_violators: bool,
    /// Malformed datagrams (those counted as `bad_offline`, `bad_datagram_header`,
    /// `bad_ack_nak`, `bad_frame` or `oversize` in `DropCounters`) one IP may send within
    /// `abuse_window` before every datagram from it is dropped unprocessed for
    /// `abuse_ignore` (counted as `DropCounters::ignored_abusive`). Connections from an
    /// ignored IP hear nothing during that time and usually time out. 0 disables.
    pub abuse_threshold: u32,
    /// The window `abuse_threshold` is counted over, starting at a source's first
    /// malformed datagram.
    pub abuse_window: Duration,
    /// How long an abusive source is ignored (0 disables the mechanism). At most 4,096
    /// sources are tracked at once; beyond that, new sources go untracked until entries
    /// expire.
    pub abuse_ignore: Duration,
    /// Secure mode (encrypted, authenticated connections between libraknet peers).
    pub secure: SecureConfig,
}

/// Secure mode of an endpoint (see `proto::secure`). Plain RakNet peers are unaffected
/// unless `require_secure` is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecureConfig {
    /// This peer's long-term key pair. With one, the peer accepts secure connections (its
    /// public key is what clients pin) and proves it as its identity when it connects
    /// securely itself. Without one, incoming connections are plain and outgoing secure
    /// connections are anonymous.
    pub key_pair: Option<crate::proto::secure::KeyPair>,
    /// Refuse plain incoming connections (they get REPLY_2 with the security bit set, which
    /// RakNet 4 clients report as a security mismatch). Needs `key_pair`.
    pub require_secure: bool,
    /// Refuse secure clients that do not present a key pair of their own
    /// (ID_REMOTE_SYSTEM_REQUIRES_PUBLIC_KEY on their side). Needs `key_pair`.
    pub require_client_key: bool,
}

/// How an outgoing connection is secured (`ConnectOptions::secure`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct SecureConnect {
    /// The server's public key: the connection fails with
    /// `ConnectFailure::PublicKeyMismatch` unless the server proves this key. `None`
    /// accepts any server key (encrypted, but not authenticated: trust on first use).
    pub server_key: Option<[u8; 32]>,
}

/// Per-call overrides for `Endpoint::connect_with`; `None` takes the endpoint's
/// [`Config`] value.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// OPEN_CONNECTION_REQUEST_1 probes sent before the attempt fails (one extra probe is
    /// sent, as 4.081 does); `Config::connect_attempts`.
    pub attempts: Option<u32>,
    /// Spacing between probes; `Config::connect_interval`.
    pub interval: Option<Duration>,
    /// Timeout of the resulting connection (handshake and dead-connection rule);
    /// `Config::timeout`. Change it later with `Endpoint::set_conn_timeout`.
    pub timeout: Option<Duration>,
    /// Connect securely (never falls back to plain: a server without secure mode fails
    /// the attempt with `ConnectFailure::ServerNotSecure`). `None`: plain RakNet.
    pub secure: Option<SecureConnect>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            protocol_version: PROTOCOL_RAKNET4,
            guid: 0,
            seed: 0x5eed_f00d_5a6e_7a11,
            max_incoming: 0,
            password: Vec::new(),
            offline_data: Vec::new(),
            timeout: Duration::from_secs(10),
            mtu_probes: vec![1492, 1200, 576],
            connect_attempts: 12,
            connect_interval: Duration::from_millis(500),
            cookies: true,
            internal_address_count: 0,
            occasional_ping: Duration::ZERO,
            ping_amplification: 1,
            reliability: ReliabilityConfig::default(),
            limit_ip_connection_frequency: false,
            ip_frequency_exempts_loopback: true,
            ban_handshake_violators: true,
            abuse_threshold: 64,
            abuse_window: Duration::from_secs(10),
            abuse_ignore: Duration::from_secs(30),
            secure: SecureConfig::default(),
        }
    }
}

impl Config {
    /// Internal address count in effect (PROTOCOL.md §5.7).
    pub fn internal_addresses(&self) -> usize {
        match self.internal_address_count {
            0 if self.protocol_version >= PROTOCOL_BEDROCK_10 => 20,
            0 => 10,
            n => n.min(20),
        }
    }
    /// The abuse tracker's limits.
    pub(crate) fn abuse_limits(&self) -> super::access::AbuseLimits {
        super::access::AbuseLimits {
            threshold: self.abuse_threshold,
            window: self.abuse_window,
            ignore: self.abuse_ignore,
        }
    }
    /// Whether the Bedrock flavour is in use.
    pub fn is_bedrock(&self) -> bool {
        self.protocol_version >= PROTOCOL_BEDROCK_10
    }
}
