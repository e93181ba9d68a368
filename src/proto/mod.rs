//! The sans-IO RakNet protocol core.
//!
//! Nothing here touches a socket, a thread or a clock: time comes in as [`Time`] and
//! randomness from the seed in [`Config`]. The driver feeds datagrams and timeouts in and
//! pulls datagrams, events and the next deadline out (see the crate docs for the loop).
#![forbid(unsafe_code)]

mod abuse;
mod access;
pub mod buffers;
pub mod config;
mod congestion;
mod connection;
mod endpoint;
pub mod error;
pub mod event;
mod handshake;
pub(crate) mod idhash;
pub mod options;
pub(crate) mod reliability;
pub mod rng;
pub mod secure;
pub mod stats;
pub mod time;
pub mod wire;

#[cfg(test)]
mod tests;

pub use abuse::MAX_ABUSE_WIDEN;
pub use access::BanError;
pub use buffers::{BufferSource, MessageBuffers};
pub use config::{
    Config, CongestionControl, ConnectOptions, CookieSecret, ReliabilityConfig, SecureConfig,
    SecureConnect,
};
pub use endpoint::{Endpoint, Transmit};
pub use error::{ConnectError, DecodeError, SendError};
pub use event::{ConnId, ConnectFailure, DisconnectReason, Event};
pub use options::{Priority, Receipt, Reliability, SendOptions, ORDERING_CHANNELS};
pub use stats::{ConnStats, DropCounters, EndpointStats, RefusalCounters};
pub use time::Time;
