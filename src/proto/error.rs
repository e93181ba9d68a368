//! Error types of the protocol core, one small enum per area.

use std::fmt;

/// A datagram or message could not be decoded. Nothing was changed by it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// What was being read.
    pub what: &'static str,
    /// Byte offset at which decoding failed.
    pub offset: usize,
}

impl DecodeError {
    /// An error reading `what` at `offset`.
    pub fn new(what: &'static str, offset: usize) -> DecodeError {
        DecodeError { what, offset }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed {} at byte {}", self.what, self.offset)
    }
}

impl std::error::Error for DecodeError {}

/// Why `Endpoint::send` refused a message. Nothing was queued.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// No such connection (never existed, or closed).
    UnknownConnection,
    /// The connection exists but has not finished its handshake, or is closing.
    NotConnected,
    /// Channel out of range.
    InvalidChannel,
    /// Empty message.
    Empty,
    /// Larger than the split limits allow.
    TooLarge,
    /// The connection's send buffer is over its cap; retry after acknowledgements drain it.
    BufferFull,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            SendError::UnknownConnection => "unknown connection",
            SendError::NotConnected => "connection not established",
            SendError::InvalidChannel => "ordering channel out of range",
            SendError::Empty => "empty message",
            SendError::TooLarge => "message too large",
            SendError::BufferFull => "send buffer full",
        };
        f.write_str(s)
    }
}

impl std::error::Error for SendError {}

/// Why `Endpoint::connect` refused to start an attempt.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConnectError {
    /// A connection or attempt to that address exists already.
    AlreadyConnected,
    /// The id is 0, has the incoming bit, or is in use.
    InvalidId,
    /// The address cannot be used (unspecified IP or port 0).
    InvalidAddress,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ConnectError::AlreadyConnected => "already connected or connecting to that address",
            ConnectError::InvalidId => "invalid connection id",
            ConnectError::InvalidAddress => "invalid address",
        };
        f.write_str(s)
    }
}

impl std::error::Error for ConnectError {}
