//! The plain types that application threads and the network thread both speak: an
//! application's event, and a connection's identity and state as the registry keeps
//! them.
//!
//! This is the bottom of `runtime/`: it imports nothing from its sibling modules, so
//! the queues, the registry and the shared state can name these types without reaching
//! up to `peer.rs`. It holds data only, no behaviour; `peer.rs` re-exports it.

use std::net::SocketAddr;

use crate::proto::Event;

/// State of a connection as seen from application threads.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Outgoing attempt in progress.
    Connecting,
    /// Handshake complete.
    Connected,
    /// Close requested, not finished.
    Disconnecting,
}

/// Snapshot of a connection's identity.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// Remote address.
    pub addr: SocketAddr,
    /// Remote GUID (0 until known).
    pub guid: u64,
    /// Accepted (true) or initiated (false) by us.
    pub incoming: bool,
    /// Current state.
    pub state: ConnState,
}

/// An event for the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// From the protocol core.
    Net(Event),
    /// The network thread failed; every later call returns `PeerError::Failed`.
    Fatal,
}
