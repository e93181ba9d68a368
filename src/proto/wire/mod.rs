//! Bytes ⇄ typed RakNet messages, without state. Every decoder is total: bad input is a
//! `DecodeError`, never a panic, and lengths read from the wire are checked before use.

pub mod connected;
pub mod datagram;
pub mod frame;
pub mod offline;
pub mod reader;
pub mod secure;
pub mod writer;

pub use reader::Reader;
pub use writer::Writer;

/// The 16 bytes that mark offline messages (docs/protocol.md §1.4).
pub const MAGIC: [u8; 16] = [
    0x00, 0xFF, 0xFF, 0x00, 0xFE, 0xFE, 0xFE, 0xFE, 0xFD, 0xFD, 0xFD, 0xFD, 0x12, 0x34, 0x56, 0x78,
];

/// Message identifiers (docs/protocol.md §2) the core sends or interprets.
pub mod id {
    /// Connected ping (frame).
    pub const CONNECTED_PING: u8 = 0x00;
    /// Unconnected ping (offline).
    pub const UNCONNECTED_PING: u8 = 0x01;
    /// Unconnected ping answered only while accepting connections (offline).
    pub const UNCONNECTED_PING_OPEN_CONNECTIONS: u8 = 0x02;
    /// Connected pong (frame).
    pub const CONNECTED_PONG: u8 = 0x03;
    /// Detect lost connections (frame, ignored).
    pub const DETECT_LOST_CONNECTIONS: u8 = 0x04;
    /// Open connection request 1 (offline).
    pub const OPEN_CONNECTION_REQUEST_1: u8 = 0x05;
    /// Open connection reply 1 (offline).
    pub const OPEN_CONNECTION_REPLY_1: u8 = 0x06;
    /// Open connection request 2 (offline).
    pub const OPEN_CONNECTION_REQUEST_2: u8 = 0x07;
    /// Open connection reply 2 (offline).
    pub const OPEN_CONNECTION_REPLY_2: u8 = 0x08;
    /// Connection request (frame).
    pub const CONNECTION_REQUEST: u8 = 0x09;
    /// Remote system requires public key.
    pub const REMOTE_SYSTEM_REQUIRES_PUBLIC_KEY: u8 = 0x0A;
    /// Our system requires security (local).
    pub const OUR_SYSTEM_REQUIRES_SECURITY: u8 = 0x0B;
    /// Public key mismatch (local).
    pub const PUBLIC_KEY_MISMATCH: u8 = 0x0C;
    /// Out-of-band wrapper (offline).
    pub const OUT_OF_BAND_INTERNAL: u8 = 0x0D;
    /// Send receipt acked (local).
    pub const SND_RECEIPT_ACKED: u8 = 0x0E;
    /// Send receipt loss (local).
    pub const SND_RECEIPT_LOSS: u8 = 0x0F;
    /// Connection request accepted (frame).
    pub const CONNECTION_REQUEST_ACCEPTED: u8 = 0x10;
    /// Connection attempt failed (local).
    pub const CONNECTION_ATTEMPT_FAILED: u8 = 0x11;
    /// Already connected (offline).
    pub const ALREADY_CONNECTED: u8 = 0x12;
    /// New incoming connection (frame).
    pub const NEW_INCOMING_CONNECTION: u8 = 0x13;
    /// No free incoming connections (offline).
    pub const NO_FREE_INCOMING_CONNECTIONS: u8 = 0x14;
    /// Disconnection notification (frame).
    pub const DISCONNECTION_NOTIFICATION: u8 = 0x15;
    /// Connection lost (local).
    pub const CONNECTION_LOST: u8 = 0x16;
    /// Connection banned (offline).
    pub const CONNECTION_BANNED: u8 = 0x17;
    /// Invalid password (frame).
    pub const INVALID_PASSWORD: u8 = 0x18;
    /// Incompatible protocol version (offline).
    pub const INCOMPATIBLE_PROTOCOL_VERSION: u8 = 0x19;
    /// IP recently connected (offline).
    pub const IP_RECENTLY_CONNECTED: u8 = 0x1A;
    /// Timestamp prefix (frame).
    pub const TIMESTAMP: u8 = 0x1B;
    /// Unconnected pong (offline).
    pub const UNCONNECTED_PONG: u8 = 0x1C;
    /// Advertise system (inside out-of-band).
    pub const ADVERTISE_SYSTEM: u8 = 0x1D;
    /// Download progress (local).
    pub const DOWNLOAD_PROGRESS: u8 = 0x1E;
    /// First application message id.
    pub const USER_PACKET_ENUM: u8 = 0x86;
}

/// 24-bit sequence arithmetic (docs/protocol.md §7.4 "half-range compare").
pub mod seq {
    /// Mask of a 24-bit counter.
    pub const MASK: u32 = 0x00FF_FFFF;
    /// Half the 24-bit space.
    pub const HALF: u32 = 0x0080_0000;

    /// `a + n` modulo 2^24.
    #[inline]
    pub fn add(a: u32, n: u32) -> u32 {
        a.wrapping_add(n) & MASK
    }
    /// `(b - a) mod 2^24`: how far `b` is ahead of `a`.
    #[inline]
    pub fn distance(a: u32, b: u32) -> u32 {
        b.wrapping_sub(a) & MASK
    }
    /// `a` is strictly older than `b` (b is 1..2^23 ahead of a).
    #[inline]
    pub fn older(a: u32, b: u32) -> bool {
        let d = distance(a, b);
        d != 0 && d <= HALF
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        #[test]
        fn wraps() {
            assert_eq!(add(MASK, 1), 0);
            assert!(older(MASK, 0));
            assert!(!older(0, MASK));
            assert!(older(5, 6));
            assert!(!older(6, 6));
            assert_eq!(distance(MASK, 2), 3);
        }
    }
}
