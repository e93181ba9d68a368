//! Endpoint-wide counters and per-connection statistics snapshots.

use std::time::Duration;

/// Counters of one endpoint, all since its creation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// UDP datagrams handed to `handle_datagram`.
    pub datagrams_received: u64,
    /// UDP payload bytes received.
    pub bytes_received: u64,
    /// UDP datagrams produced by `poll_transmit`.
    pub datagrams_sent: u64,
    /// UDP payload bytes produced.
    pub bytes_sent: u64,
    /// Datagrams dropped because they could not be decoded.
    pub malformed_datagrams: u64,
    /// Datagrams dropped because they came from an unknown address and were not offline.
    pub unknown_source_datagrams: u64,
    /// Offline messages dropped by policy (wrong protocol state, bad cookie, …).
    pub offline_dropped: u64,
    /// Connections established (both directions).
    pub connections_opened: u64,
}

/// A snapshot of one connection's statistics (RakNet's `RakNetStatistics`, growing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Time since the connection slot was created.
    pub connected_for: Duration,
    /// MTU in use.
    pub mtu: u16,
    /// UDP datagrams sent (data, ACK and NAK).
    pub datagrams_sent: u64,
    /// Data datagrams received.
    pub datagrams_received: u64,
    /// UDP payload bytes of data datagrams sent (first sends and resends).
    pub bytes_sent: u64,
    /// UDP payload bytes of data datagrams received.
    pub bytes_received: u64,
    /// Messages queued for sending.
    pub messages_sent: u64,
    /// Messages delivered.
    pub messages_received: u64,
    /// Frames retransmitted.
    pub frames_resent: u64,
    /// Payload bytes retransmitted.
    pub bytes_resent: u64,
    /// Duplicate frames dropped on receive.
    pub duplicates_received: u64,
    /// ACK datagrams sent.
    pub acks_sent: u64,
    /// NAK datagrams sent.
    pub naks_sent: u64,
    /// Unreliable messages dropped unsent by the unreliable timeout.
    pub unreliable_expired: u64,
    /// Message bytes queued or awaiting acknowledgement.
    pub buffered_bytes: usize,
    /// Smoothed round-trip time of the reliability layer.
    pub srtt: Option<Duration>,
    /// Latest connected-ping round trip, ms.
    pub last_ping_ms: Option<u64>,
    /// Lowest of the kept ping samples, ms.
    pub lowest_ping_ms: Option<u64>,
    /// Average of the kept ping samples, ms.
    pub average_ping_ms: Option<u64>,
    /// Remote clock minus local clock (ms), from the lowest-RTT sample.
    pub clock_differential_ms: Option<i64>,
}
