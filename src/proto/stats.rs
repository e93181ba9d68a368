//! Endpoint-wide counters.

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
