//! Connected control messages, carried in frames: connection request / accepted /
//! new incoming connection, connected ping / pong, disconnection, invalid password
//! (PROTOCOL.md §5.6–5.8, §10).
//!
//! OWNER: wire helper. Interface fixed; bodies to implement.

use std::net::SocketAddr;

use crate::proto::error::DecodeError;

/// Most internal addresses read from ACCEPTED / NEW_INCOMING_CONNECTION.
pub const MAX_INTERNAL_ADDRESSES: usize = 20;

/// `09` guid `u64 time` `u8 doSecurity` password (rest of the message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRequest<'a> {
    /// Client GUID.
    pub guid: u64,
    /// Client time (ms), echoed in ACCEPTED.
    pub time: u64,
    /// doSecurity byte was non-zero.
    pub security: bool,
    /// Everything after doSecurity.
    pub password: &'a [u8],
}

/// `10` client addr `u16 system index` N internal addrs `u64 request time` `u64 server time`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRequestAccepted {
    /// Client address as the server sees it.
    pub client_addr: SocketAddr,
    /// Server's slot index.
    pub system_index: u16,
    /// Server internal addresses (unassigned ones are not listed).
    pub internal_addrs: Vec<SocketAddr>,
    /// CONNECTION_REQUEST's time, echoed.
    pub request_time: u64,
    /// Server time.
    pub server_time: u64,
}

/// `13` server addr N internal addrs `u64 server time` `u64 client time`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIncomingConnection {
    /// Server address as the client addressed it.
    pub server_addr: SocketAddr,
    /// Client internal addresses (unassigned ones are not listed).
    pub internal_addrs: Vec<SocketAddr>,
    /// ACCEPTED's server time, echoed.
    pub server_time: u64,
    /// Client time.
    pub client_time: u64,
}

impl<'a> ConnectionRequest<'a> {
    /// Decodes (at least 18 bytes).
    pub fn decode(bytes: &'a [u8]) -> Result<ConnectionRequest<'a>, DecodeError> {
        let _ = bytes;
        todo!("wire helper")
    }
    /// Appends the encoding.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let _ = buf;
        todo!("wire helper")
    }
}

impl ConnectionRequestAccepted {
    /// Decodes; internal addresses are read until exactly 16 bytes remain (both the
    /// 10-address and the 20-address flavours), at most `MAX_INTERNAL_ADDRESSES`.
    pub fn decode(bytes: &[u8]) -> Result<ConnectionRequestAccepted, DecodeError> {
        let _ = bytes;
        todo!("wire helper")
    }
    /// Appends the encoding with exactly `count` internal addresses (padded with the
    /// unassigned address).
    pub fn encode(&self, count: usize, buf: &mut Vec<u8>) {
        let _ = (count, buf);
        todo!("wire helper")
    }
}

impl NewIncomingConnection {
    /// Decodes like `ConnectionRequestAccepted::decode`.
    pub fn decode(bytes: &[u8]) -> Result<NewIncomingConnection, DecodeError> {
        let _ = bytes;
        todo!("wire helper")
    }
    /// Appends the encoding with exactly `count` internal addresses.
    pub fn encode(&self, count: usize, buf: &mut Vec<u8>) {
        let _ = (count, buf);
        todo!("wire helper")
    }
}

/// `00` `u64 time`: exactly 9 bytes. Returns the time.
pub fn decode_ping(bytes: &[u8]) -> Result<u64, DecodeError> {
    let _ = bytes;
    todo!("wire helper")
}

/// Appends a 9-byte connected ping.
pub fn encode_ping(time: u64, buf: &mut Vec<u8>) {
    let _ = (time, buf);
    todo!("wire helper")
}

/// `03` `u64 ping time` `u64 pong time`: exactly 17 bytes. Returns (ping time, pong time).
pub fn decode_pong(bytes: &[u8]) -> Result<(u64, u64), DecodeError> {
    let _ = bytes;
    todo!("wire helper")
}

/// Appends a 17-byte connected pong.
pub fn encode_pong(ping_time: u64, pong_time: u64, buf: &mut Vec<u8>) {
    let _ = (ping_time, pong_time, buf);
    todo!("wire helper")
}
