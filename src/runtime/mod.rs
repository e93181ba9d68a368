//! The runtime: one network thread per peer owning the socket, the clock and a
//! `proto::Endpoint`; bounded lock-free queues to and from application threads.
//!
//! OWNER: runtime helper. The `Peer` interface below is fixed (the FFI layer codes
//! against it); bodies to implement, files to add (socket.rs thread.rs queues.rs wake.rs
//! clock.rs peer.rs).

mod peer;

pub use peer::{ConnInfo, ConnState, Peer, PeerConfig, PeerError, PeerEvent};
