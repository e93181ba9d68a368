//! Offline (unconnected) messages: pings, pongs, the four open-connection messages,
//! rejections, out-of-band (PROTOCOL.md §4, §5.2–5.5).
//!
//! OWNER: wire helper. Interface fixed; bodies to implement.

use std::net::SocketAddr;

use super::{Reader, Writer};
use crate::proto::error::DecodeError;

/// A decoded offline message. Borrowed fields point into the datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offline<'a> {
    /// `01`/`02` `u64 time` magic `[guid]` (guid optional on receive: 25 bytes accepted).
    UnconnectedPing {
        /// `02`: answer only while accepting connections.
        open_connections_only: bool,
        /// Sender's time, echoed in the pong.
        time: u64,
        /// Sender's GUID, if present.
        guid: Option<u64>,
    },
    /// `1C` `u64 time` `guid` magic `data`.
    UnconnectedPong {
        /// The ping's time, echoed.
        time: u64,
        /// Responder GUID.
        guid: u64,
        /// Responder's offline data (raw; Bedrock: u16be length + string).
        data: &'a [u8],
    },
    /// `05` magic `protocol` zero padding. `mtu` = datagram length + 28 (not clamped here).
    OpenConnectionRequest1 {
        /// Client protocol version.
        protocol: u8,
        /// MTU the probe's size implies.
        mtu: u16,
    },
    /// `06` magic guid `hasSecurity` `[cookie u32be]` `[key 64]` `u16 mtu`; decided by length
    /// (28 plain, 32 cookie, 96 cookie + key) and lenient about odd lengths.
    OpenConnectionReply1 {
        /// Server GUID.
        guid: u64,
        /// Cookie to echo in REQUEST_2, when the server sent one.
        cookie: Option<u32>,
        /// The server sent a libcat public key (we cannot run that secure mode).
        has_public_key: bool,
        /// MTU the server agreed to.
        mtu: u16,
    },
    /// `07` magic `[cookie u32 + challengeFlag u8 [+ challenge 64]]` addr `u16 mtu` guid;
    /// whether the cookie is present is decided by length.
    OpenConnectionRequest2 {
        /// Echoed cookie, if present.
        cookie: Option<u32>,
        /// challengeFlag was 1 (libcat client).
        has_challenge: bool,
        /// The server address as the client addressed it.
        server_addr: SocketAddr,
        /// MTU.
        mtu: u16,
        /// Client GUID.
        guid: u64,
    },
    /// `08` magic guid addr `u16 mtu` security (1 bit, read as "byte non-zero").
    OpenConnectionReply2 {
        /// Server GUID.
        guid: u64,
        /// Client address as the server sees it.
        client_addr: SocketAddr,
        /// Final MTU.
        mtu: u16,
        /// The server wants an encrypted session.
        security: bool,
    },
    /// `12`, `14`, `17`, `1A` (and `11`): `id` magic guid.
    Rejection {
        /// The message id.
        id: u8,
        /// Server GUID.
        guid: u64,
    },
    /// `19` `u8 protocol` magic guid (26 bytes).
    IncompatibleProtocol {
        /// Server protocol version.
        protocol: u8,
        /// Server GUID.
        guid: u64,
    },
    /// `0D` guid magic payload (1..399 bytes); `payload[0] == 1D` is ADVERTISE_SYSTEM.
    OutOfBand {
        /// Sender GUID.
        guid: u64,
        /// Payload.
        payload: &'a [u8],
    },
}

/// Recognises and decodes an offline message by the rules of PROTOCOL.md §4.1.
///
/// `None`: not an offline message (hand it to the reliability layer). `Some(Err)`: it is
/// offline by §4.1 but malformed (drop and count it).
pub fn decode(bytes: &[u8]) -> Option<Result<Offline<'_>, DecodeError>> {
    let _ = bytes;
    todo!("wire helper")
}

impl Offline<'_> {
    /// Appends the encoding to `buf`. `OpenConnectionRequest1` is padded with zeros so the
    /// datagram is `mtu - 28` bytes long.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let _ = buf;
        todo!("wire helper")
    }
}

#[allow(dead_code)]
fn _uses(_: Reader<'_>, _: Writer<'_>) {}
