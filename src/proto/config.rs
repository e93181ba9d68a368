//! Endpoint configuration: every knob of the protocol core, with RakNet's defaults
//! (docs/protocol.md §12.2) unless a safer or faster choice is documented here.

use std::time::Duration;

/// RakNet 4.x protocol version (`RAKNET_PROTOCOL_VERSION`).
pub const PROTOCOL_RAKNET4: u8 = 6;
/// Minecraft Bedrock flavour before game 1.19.30.
pub const PROTOCOL_BEDROCK_10: u8 = 10;
/// Minecraft Bedrock flavour since game 1.19.30.
pub const PROTOCOL_BEDROCK_11: u8 = 11;

/// Largest MTU RakNet uses (`MAXIMUM_MTU_SIZE`).
pub const MAX_MTU: u16 = 1492;
/// Floor MTU of a connection (docs/protocol.md §5.4).
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
    /// This peer's GUID. 0 = derive one from `seed` (the GUID is public: it is sent in
    /// every handshake; the runtime draws one from the operating system instead).
    pub guid: u64,
    /// Seed for the core's non-secret random choices (the GUID when `guid` is 0). Never
    /// used for anything an attacker must not predict: see `cookie_secret`.
    pub seed: u64,
    /// Key of the anti-spoofing cookies. `None`: the endpoint draws one from the
    /// operating system's random source when it is created (`Endpoint::new`); the
    /// runtime always supplies one from there. Set it only to make tests repeatable:
    /// whoever knows it can forge cookies for spoofed addresses.
    pub cookie_secret: Option<CookieSecret>,
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
    /// `SetLimitIPConnectionFrequency`; docs/protocol.md §4.4). Off by default, as in 4.081.
    pub limit_ip_connection_frequency: bool,
    /// Loopback addresses are exempt from `limit_ip_connection_frequency` (4.081's rule).
    pub ip_frequency_exempts_loopback: bool,
    /// Ban an IP for `timeout` when its freshly allocated slot sends anything but
    /// CONNECTION_REQUEST first (4.081's temporary ban, docs/protocol.md §5.6).
    pub ban_handshake_violators: bool,
    /// Malformed datagrams (those counted as `bad_offline`, `bad_datagram_header`,
    /// `bad_ack_nak`, `bad_frame` or `oversize` in `DropCounters`) one endpoint (address
    /// and port) may send within `abuse_window` before it is ignored for `abuse_ignore`:
    /// its datagrams are dropped unprocessed (counted as `DropCounters::ignored_abusive`),
    /// except connected-mode ones for an established connection at that exact address,
    /// which are processed as usual (source addresses can be forged, so garbage "from" a
    /// player must not cut the player off). 0 disables.
    pub abuse_threshold: u32,
    /// The window `abuse_threshold` is counted over, starting at a source's first
    /// malformed datagram.
    pub abuse_window: Duration,
    /// How long an abusive endpoint (or IP, see `abuse_widen`) is ignored (0 disables
    /// the mechanism). At most 4,096 endpoints are tracked at once; beyond that, new
    /// ones go untracked until entries expire.
    pub abuse_ignore: Duration,
    /// Distinct endpoints of one IP that must each be ignored within `abuse_window`
    /// before the whole IP is ignored for `abuse_ignore` (same rules: established
    /// connections from it are still served). 0 never widens to the IP; at most 64 is
    /// honoured. Default 4.
    pub abuse_widen: u32,
    /// Secure mode (encrypted, authenticated connections between libraknet peers).
    pub secure: SecureConfig,
    /// Bytes the whole endpoint may hold for incoming messages not yet deliverable:
    /// incomplete split messages and out-of-order messages, over all connections,
    /// counted as buffer capacity. Each connection is guaranteed
    /// `receive_budget / (2 × slots)` (slots: the larger of `max_incoming` and the
    /// connections open) and may use the rest of the budget while others leave it
    /// free. A split message is charged its whole size from its first fragment until
    /// it completes, so one that started always finishes. A frame that would take a
    /// connection past what it may hold is refused for now (a reliable one's datagram
    /// goes unacknowledged, so it is resent; an unreliable one is dropped) and counted
    /// in `DropCounters::over_receive_budget`; a message larger than the budget never
    /// arrives.
    /// Default [`DEFAULT_RECEIVE_BUDGET`] (128 MiB); the per-connection limits in
    /// `reliability` still apply within it.
    pub receive_budget: usize,
}

/// The secret key of an endpoint's anti-spoofing cookies (SipHash-2-4, 128 bits). Its
/// `Debug` output hides the key.
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct CookieSecret(pub [u8; 16]);

impl CookieSecret {
    /// A fresh key from the operating system's random source (`getrandom`).
    pub fn from_os() -> Result<CookieSecret, getrandom::Error> {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key)?;
        Ok(CookieSecret(key))
    }

    /// The key as SipHash's two words.
    pub(crate) fn words(&self) -> (u64, u64) {
        let (a, b) = self.0.split_at(8);
        let word = |s: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            u64::from_le_bytes(w)
        };
        (word(a), word(b))
    }
}

impl std::fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSecret(..)")
    }
}

/// Default `Config::receive_budget`. A connection may always hold more than half of it
/// while the other connections stay within their guaranteed shares, so one
/// default-size split message (`max_split_message_bytes`, 32 MiB) always fits then,
/// whatever `max_incoming` is; under a flood that takes the whole pool, a connection
/// gets its guaranteed share (1 MiB with 64 slots).
pub const DEFAULT_RECEIVE_BUDGET: usize = 128 << 20;

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
            cookie_secret: None,
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
            abuse_widen: 4,
            secure: SecureConfig::default(),
            receive_budget: DEFAULT_RECEIVE_BUDGET,
        }
    }
}

impl Config {
    /// Internal address count in effect (docs/protocol.md §5.7).
    pub fn internal_addresses(&self) -> usize {
        match self.internal_address_count {
            0 if self.protocol_version >= PROTOCOL_BEDROCK_10 => 20,
            0 => 10,
            n => n.min(20),
        }
    }
    /// The abuse tracker's limits.
    pub(crate) fn abuse_limits(&self) -> super::abuse::AbuseLimits {
        super::abuse::AbuseLimits {
            threshold: self.abuse_threshold,
            window: self.abuse_window,
            ignore: self.abuse_ignore,
            widen: self.abuse_widen,
        }
    }
    /// Whether the Bedrock flavour is in use.
    pub fn is_bedrock(&self) -> bool {
        self.protocol_version >= PROTOCOL_BEDROCK_10
    }
}
