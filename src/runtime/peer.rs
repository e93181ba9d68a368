//! `Peer`: the application's handle on one network thread.

use std::net::SocketAddr;
use std::time::Duration;

use crate::proto::{self, ConnId, Event, Receipt, SendOptions};

/// Configuration of a peer.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// Address to bind (port 0 = any free port). Default `0.0.0.0:0`.
    pub bind: SocketAddr,
    /// Protocol configuration.
    pub proto: proto::Config,
    /// Capacity of the application → network command queue.
    pub command_queue: usize,
    /// Capacity of the network → application event queue.
    pub event_queue: usize,
    /// Name of the network thread.
    pub thread_name: String,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            bind: SocketAddr::from(([0, 0, 0, 0], 0)),
            proto: proto::Config::default(),
            command_queue: 65_536,
            event_queue: 65_536,
            thread_name: "raknet-net".into(),
        }
    }
}

/// What went wrong in a `Peer` call.
#[derive(Debug)]
pub enum PeerError {
    /// Binding or configuring the socket failed.
    Io(std::io::Error),
    /// The command queue is full; retry later.
    QueueFull,
    /// No such connection (closed, failed, or never existed).
    StaleConnection,
    /// The connection exists but is not connected yet (or is closing).
    NotConnected,
    /// An argument is out of range.
    InvalidArgument,
    /// The protocol core refused the send.
    Send(proto::SendError),
    /// The protocol core refused the connect.
    Connect(proto::ConnectError),
    /// The network thread failed (panicked); the peer is unusable.
    Failed,
}

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

/// One RakNet peer: a UDP socket and the network thread that owns it.
#[derive(Debug)]
pub struct Peer {
    _todo: (),
}

#[allow(unused_variables)]
impl Peer {
    /// Binds the socket and starts the network thread.
    pub fn start(config: PeerConfig) -> Result<Peer, PeerError> {
        todo!()
    }
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        todo!()
    }
    /// This peer's GUID.
    pub fn guid(&self) -> u64 {
        todo!()
    }
    /// Starts connecting; the id is valid at once (state `Connecting`).
    pub fn connect(&self, addr: SocketAddr, password: &[u8]) -> Result<ConnId, PeerError> {
        todo!()
    }
    /// Queues a copy of `data`. Returns the receipt serial.
    pub fn send(&self, conn: ConnId, data: &[u8], opts: SendOptions) -> Result<Receipt, PeerError> {
        todo!()
    }
    /// Closes a connection or cancels an attempt.
    pub fn close(&self, conn: ConnId, notify: bool) -> Result<(), PeerError> {
        todo!()
    }
    /// Sends an unconnected ping.
    pub fn ping(&self, addr: SocketAddr, open_connections_only: bool) -> Result<(), PeerError> {
        todo!()
    }
    /// Replaces the offline ping response data.
    pub fn set_offline_data(&self, data: &[u8]) -> Result<(), PeerError> {
        todo!()
    }
    /// Next event, without blocking.
    pub fn poll_event(&self) -> Option<PeerEvent> {
        todo!()
    }
    /// Next event, waiting up to `timeout`.
    pub fn wait_event(&self, timeout: Duration) -> Option<PeerEvent> {
        todo!()
    }
    /// Identity and state of a live connection.
    pub fn conn_info(&self, conn: ConnId) -> Result<ConnInfo, PeerError> {
        todo!()
    }
    /// Sends disconnection notifications, waits up to `flush` for queued reliable data
    /// to be acknowledged, stops and joins the network thread. Idempotent.
    pub fn shutdown(&mut self, flush: Duration) {
        todo!()
    }
}
