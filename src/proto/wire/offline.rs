//! Offline (unconnected) messages: pings, pongs, the four open-connection messages,
//! rejections, out-of-band (docs/protocol.md §4, §5.2–5.5). `decode` first applies 4.081's
//! recognition test (§4.1: id byte, minimum length, magic at the right offset), so the
//! endpoint can tell "not offline, try the reliability layer" from "offline but malformed".
//! The decoders then read like a tolerant client: REPLY_1 by length (§5.3), REQUEST_2's
//! cookie by length (§5.4), REPLY_2's security bit as "byte non-zero" (§14 pitfall 8).
//! What to answer, and when, is the handshake's and endpoint's business, not this file's.

use std::net::SocketAddr;

use super::{id, Reader, Writer, MAGIC};
use crate::proto::error::DecodeError;

/// Shortest datagram 4.081 recognises for most offline ids (§4.1): id + magic + 8 bytes.
const MIN_OFFLINE_LEN: usize = 25;
/// Pongs are handled only below this length (§4.2: data < 400 bytes).
const PONG_MAX_LEN: usize = 433;
/// Smallest pong handled: id + time + guid + magic.
const PONG_MIN_LEN: usize = 33;
/// The length 4.081's offline filter requires before looking at a pong's magic (§4.1).
const PONG_FILTER_LEN: usize = 29;
/// Out-of-band datagrams are handled when `25 < len < 425` (§4.3).
const OOB_MAX_LEN: usize = 425;
/// `INCOMPATIBLE_PROTOCOL_VERSION` is exactly this long (§4.4).
const INCOMPATIBLE_LEN: usize = 26;
/// IP + UDP header bytes added to a UDP payload to get the MTU (§5.2).
const UDP_HEADER_SIZE: usize = 28;
/// libcat public key carried by a secure REPLY_1 (§11).
const PUBLIC_KEY_LEN: usize = 64;
/// libcat challenge carried by a secure REQUEST_2 (§11).
const CHALLENGE_LEN: usize = 64;
/// REPLY_2's security flag when set: one bit, MSB first (§5.5).
const SECURITY_BIT: u8 = 0x80;

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

/// Recognises and decodes an offline message by the rules of docs/protocol.md §4.1.
///
/// `None`: not an offline message (hand it to the reliability layer). `Some(Err)`: it is
/// offline by §4.1 but malformed (drop and count it).
pub fn decode(bytes: &[u8]) -> Option<Result<Offline<'_>, DecodeError>> {
    if bytes.len() <= 2 {
        // 4.081 swallows these as offline junk (§4.1).
        return Some(Err(DecodeError::new("offline junk", 0)));
    }
    let first = *bytes.first()?;
    let len = bytes.len();
    let result = match first {
        id::UNCONNECTED_PING | id::UNCONNECTED_PING_OPEN_CONNECTIONS => {
            if len < MIN_OFFLINE_LEN || !magic_at(bytes, 9) {
                return None;
            }
            decode_ping(bytes)
        }
        id::UNCONNECTED_PONG => {
            if len < PONG_FILTER_LEN {
                return None;
            }
            if len < PONG_MIN_LEN {
                // Offline by 4.081's length test, but too short to hold a whole magic:
                // offline only if the part that is there matches.
                return if bytes.get(17..).is_some_and(|m| MAGIC.starts_with(m)) {
                    Some(Err(DecodeError::new("unconnected pong", len)))
                } else {
                    None
                };
            }
            if !magic_at(bytes, 17) {
                return None;
            }
            if len >= PONG_MAX_LEN {
                return Some(Err(DecodeError::new("unconnected pong length", 0)));
            }
            decode_pong(bytes)
        }
        id::OUT_OF_BAND_INTERNAL => {
            if len < MIN_OFFLINE_LEN || !magic_at(bytes, 9) {
                return None;
            }
            if len <= MIN_OFFLINE_LEN || len >= OOB_MAX_LEN {
                return Some(Err(DecodeError::new("out-of-band length", 0)));
            }
            decode_out_of_band(bytes)
        }
        id::OPEN_CONNECTION_REQUEST_1
        | id::OPEN_CONNECTION_REPLY_1
        | id::OPEN_CONNECTION_REQUEST_2
        | id::OPEN_CONNECTION_REPLY_2
        | id::CONNECTION_ATTEMPT_FAILED
        | id::ALREADY_CONNECTED
        | id::NO_FREE_INCOMING_CONNECTIONS
        | id::CONNECTION_BANNED
        | id::IP_RECENTLY_CONNECTED => {
            if len < MIN_OFFLINE_LEN || !magic_at(bytes, 1) {
                return None;
            }
            match first {
                id::OPEN_CONNECTION_REQUEST_1 => decode_request_1(bytes),
                id::OPEN_CONNECTION_REPLY_1 => decode_reply_1(bytes),
                id::OPEN_CONNECTION_REQUEST_2 => decode_request_2(bytes),
                id::OPEN_CONNECTION_REPLY_2 => decode_reply_2(bytes),
                _ => decode_rejection(bytes),
            }
        }
        id::INCOMPATIBLE_PROTOCOL_VERSION => {
            if len != INCOMPATIBLE_LEN || !magic_at(bytes, 2) {
                return None;
            }
            decode_incompatible(bytes)
        }
        _ => return None,
    };
    Some(result)
}

/// The 16 magic bytes sit at `offset`.
fn magic_at(bytes: &[u8], offset: usize) -> bool {
    offset
        .checked_add(MAGIC.len())
        .and_then(|end| bytes.get(offset..end))
        .is_some_and(|m| m == MAGIC)
}

fn decode_ping(bytes: &[u8]) -> Result<Offline<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    let open_connections_only = r.u8("message id")? == id::UNCONNECTED_PING_OPEN_CONNECTIONS;
    let time = r.u64_be("ping time")?;
    r.magic()?;
    // The GUID is optional on receive: 4.081 answers 25-byte pings (§4.2).
    let guid = if r.remaining() >= 8 {
        Some(r.guid()?)
    } else {
        None
    };
    Ok(Offline::UnconnectedPing {
        open_connections_only,
        time,
        guid,
    })
}

fn decode_pong(bytes: &[u8]) -> Result<Offline<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    r.skip(1, "message id")?;
    let time = r.u64_be("pong time")?;
    let guid = r.guid()?;
    r.magic()?;
    Ok(Offline::UnconnectedPong {
        time,
        guid,
        data: r.rest(),
    })
}

fn decode_out_of_band(bytes: &[u8]) -> Result<Offline<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    r.skip(1, "message id")?;
    let guid = r.guid()?;
    r.magic()?;
    Ok(Offline::OutOfBand {
        guid,
        payload: r.rest(),
    })
}

fn decode_request_1(bytes: &[u8]) -> Result<Offline<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    r.skip(1, "message id")?;
    r.magic()?;
    let protocol = r.u8("protocol version")?;
    // The MTU is implied by the probe's size alone (§5.2); the padding is not inspected.
    let mtu = u16::try_from(bytes.len().saturating_add(UDP_HEADER_SIZE)).unwrap_or(u16::MAX);
    Ok(Offline::OpenConnectionRequest1 { protocol, mtu })
}

fn decode_reply_1(bytes: &[u8]) -> Result<Offline<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    r.skip(1, "message id")?;
    r.magic()?;
    let guid = r.guid()?;
    let has_security = r.u8("hasSecurity")? != 0;
    let mut cookie = None;
    let mut has_public_key = false;
    if has_security {
        cookie = Some(r.u32_be("security cookie")?);
        // A libcat server appends its key; only the length tells (§5.3, §14 pitfall 9).
        if r.remaining() >= PUBLIC_KEY_LEN + 2 {
            r.skip(PUBLIC_KEY_LEN, "public key")?;
            has_public_key = true;
        }
    }
    let mtu = r.u16_be("mtu")?;
    Ok(Offline::OpenConnectionReply1 {
        guid,
        cookie,
        has_public_key,
        mtu,
    })
}

fn decode_request_2(bytes: &[u8]) -> Result<Offline<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    r.skip(1, "message id")?;
    r.magic()?;
    // Bytes before `mtu u16 + guid u64`: the address alone (7 or 29), or cookie + flag
    // (+ challenge) + address. The six possible sizes are distinct, so the length decides.
    let before_tail = r.remaining().saturating_sub(10);
    let (cookie, has_challenge) = match before_tail {
        7 | 29 => (None, false),
        12 | 34 | 76 | 98 => {
            let cookie = r.u32_be("security cookie")?;
            let flag_at = r.position();
            let flag = r.u8("challenge flag")? != 0;
            let with_challenge = before_tail > 34;
            if flag != with_challenge {
                return Err(DecodeError::new("challenge flag", flag_at));
            }
            if with_challenge {
                r.skip(CHALLENGE_LEN, "challenge")?;
            }
            (Some(cookie), with_challenge)
        }
        _ => return Err(DecodeError::new("open connection request 2 length", 0)),
    };
    let server_addr = r.address()?;
    let mtu = r.u16_be("mtu")?;
    let guid = r.guid()?;
    if !r.is_empty() {
        return Err(DecodeError::new("address form", r.position()));
    }
    Ok(Offline::OpenConnectionRequest2 {
        cookie,
        has_challenge,
        server_addr,
        mtu,
        guid,
    })
}

fn decode_reply_2(bytes: &[u8]) -> Result<Offline<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    r.skip(1, "message id")?;
    r.magic()?;
    let guid = r.guid()?;
    let client_addr = r.address()?;
    let mtu = r.u16_be("mtu")?;
    // 4.081 writes one bit (`80`), go-raknet a byte (`01`); any libcat answer is ignored.
    let security = r.u8("security flag")? != 0;
    Ok(Offline::OpenConnectionReply2 {
        guid,
        client_addr,
        mtu,
        security,
    })
}

fn decode_rejection(bytes: &[u8]) -> Result<Offline<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    let id = r.u8("message id")?;
    r.magic()?;
    let guid = r.guid()?;
    Ok(Offline::Rejection { id, guid })
}

fn decode_incompatible(bytes: &[u8]) -> Result<Offline<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    r.skip(1, "message id")?;
    let protocol = r.u8("protocol version")?;
    r.magic()?;
    let guid = r.guid()?;
    Ok(Offline::IncompatibleProtocol { protocol, guid })
}

impl Offline<'_> {
    /// Appends the encoding to `buf`. `OpenConnectionRequest1` is padded with zeros so the
    /// datagram is `mtu - 28` bytes long.
    ///
    /// Fields that describe libcat data this crate never sends are ignored: REPLY_1's
    /// `has_public_key` (no key is written; `hasSecurity` is `01` + cookie iff `cookie` is
    /// set) and REQUEST_2's `has_challenge` (the challenge flag is always `00`).
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let start = buf.len();
        let mut w = Writer::new(buf);
        match *self {
            Offline::UnconnectedPing {
                open_connections_only,
                time,
                guid,
            } => {
                w.u8(if open_connections_only {
                    id::UNCONNECTED_PING_OPEN_CONNECTIONS
                } else {
                    id::UNCONNECTED_PING
                });
                w.u64_be(time);
                w.magic();
                if let Some(g) = guid {
                    w.guid(g);
                }
            }
            Offline::UnconnectedPong { time, guid, data } => {
                w.u8(id::UNCONNECTED_PONG);
                w.u64_be(time);
                w.guid(guid);
                w.magic();
                w.bytes(data);
            }
            Offline::OpenConnectionRequest1 { protocol, mtu } => {
                w.u8(id::OPEN_CONNECTION_REQUEST_1);
                w.magic();
                w.u8(protocol);
                let target = usize::from(mtu).saturating_sub(UDP_HEADER_SIZE);
                let written = w.len() - start;
                w.zeros(target.saturating_sub(written));
            }
            Offline::OpenConnectionReply1 {
                guid, cookie, mtu, ..
            } => {
                w.u8(id::OPEN_CONNECTION_REPLY_1);
                w.magic();
                w.guid(guid);
                match cookie {
                    Some(c) => {
                        w.u8(1);
                        w.u32_be(c);
                    }
                    None => w.u8(0),
                }
                w.u16_be(mtu);
            }
            Offline::OpenConnectionRequest2 {
                cookie,
                server_addr,
                mtu,
                guid,
                ..
            } => {
                w.u8(id::OPEN_CONNECTION_REQUEST_2);
                w.magic();
                if let Some(c) = cookie {
                    w.u32_be(c);
                    w.u8(0);
                }
                w.address(server_addr);
                w.u16_be(mtu);
                w.guid(guid);
            }
            Offline::OpenConnectionReply2 {
                guid,
                client_addr,
                mtu,
                security,
            } => {
                w.u8(id::OPEN_CONNECTION_REPLY_2);
                w.magic();
                w.guid(guid);
                w.address(client_addr);
                w.u16_be(mtu);
                w.u8(if security { SECURITY_BIT } else { 0 });
            }
            Offline::Rejection { id, guid } => {
                w.u8(id);
                w.magic();
                w.guid(guid);
            }
            Offline::IncompatibleProtocol { protocol, guid } => {
                w.u8(id::INCOMPATIBLE_PROTOCOL_VERSION);
                w.u8(protocol);
                w.magic();
                w.guid(guid);
            }
            Offline::OutOfBand { guid, payload } => {
                w.u8(id::OUT_OF_BAND_INTERNAL);
                w.guid(guid);
                w.magic();
                w.bytes(payload);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(m: &Offline<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        m.encode(&mut v);
        v
    }

    fn round_trip(m: Offline<'_>) -> Vec<u8> {
        let v = enc(&m);
        assert_eq!(decode(&v), Some(Ok(m.clone())), "{m:?}");
        v
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const M: &str = "00FFFF00FEFEFEFEFDFDFDFD12345678";

    fn samples() -> Vec<Offline<'static>> {
        let v4: SocketAddr = "127.0.0.1:60000".parse().unwrap();
        let v6: SocketAddr = "[fe80::1]:19132".parse().unwrap();
        let mut out = vec![
            Offline::UnconnectedPing {
                open_connections_only: false,
                time: 0x1400,
                guid: Some(0x0006_60F6_D430_BF9B),
            },
            Offline::UnconnectedPing {
                open_connections_only: true,
                time: 7,
                guid: None,
            },
            Offline::UnconnectedPong {
                time: 0x1400,
                guid: 0x0006_60F6_D430_BF92,
                data: b"hello",
            },
            Offline::UnconnectedPong {
                time: 1,
                guid: 2,
                data: &[0x42; 399],
            },
            Offline::UnconnectedPong {
                time: 1,
                guid: 2,
                data: b"",
            },
            Offline::OpenConnectionRequest1 {
                protocol: 6,
                mtu: 1492,
            },
            Offline::OpenConnectionRequest1 {
                protocol: 11,
                mtu: 576,
            },
            Offline::OpenConnectionReply1 {
                guid: 9,
                cookie: None,
                has_public_key: false,
                mtu: 1492,
            },
            Offline::OpenConnectionReply1 {
                guid: 9,
                cookie: Some(0xDEAD_BEEF),
                has_public_key: false,
                mtu: 1200,
            },
            Offline::OpenConnectionReply2 {
                guid: 3,
                client_addr: v4,
                mtu: 1492,
                security: false,
            },
            Offline::OpenConnectionReply2 {
                guid: 3,
                client_addr: v6,
                mtu: 576,
                security: true,
            },
            Offline::IncompatibleProtocol {
                protocol: 6,
                guid: 5,
            },
            Offline::OutOfBand {
                guid: 5,
                payload: &[0x1D, 1, 2, 3],
            },
            Offline::OutOfBand {
                guid: 5,
                payload: &[0x42; 399],
            },
        ];
        for addr in [v4, v6] {
            for cookie in [None, Some(0x0102_0304)] {
                out.push(Offline::OpenConnectionRequest2 {
                    cookie,
                    has_challenge: false,
                    server_addr: addr,
                    mtu: 1492,
                    guid: 0x0006_60F6_D430_BF9B,
                });
            }
        }
        for id in [0x11, 0x12, 0x14, 0x17, 0x1A] {
            out.push(Offline::Rejection { id, guid: 77 });
        }
        out
    }

    #[test]
    fn every_message_round_trips() {
        for m in samples() {
            round_trip(m);
        }
    }

    #[test]
    fn protocol_traces() {
        // §4.2 ping and pong.
        let ping = hex(&format!("01 0000000000001400 {M} 000660F6D430BF9B"));
        assert_eq!(
            round_trip(Offline::UnconnectedPing {
                open_connections_only: false,
                time: 0x1400,
                guid: Some(0x0006_60F6_D430_BF9B)
            }),
            ping
        );
        let pong = hex(&format!(
            "1C 0000000000001400 000660F6D430BF92 {M} 68656C6C6F"
        ));
        assert!(matches!(
            decode(&pong),
            Some(Ok(Offline::UnconnectedPong { data: b"hello", .. }))
        ));
        // §5.1 handshake.
        let r1 = hex(&format!("06 {M} 000660F6D430BF92 00 05D4"));
        let m = decode(&r1).unwrap().unwrap();
        assert_eq!(
            m,
            Offline::OpenConnectionReply1 {
                guid: 0x0006_60F6_D430_BF92,
                cookie: None,
                has_public_key: false,
                mtu: 1492
            }
        );
        assert_eq!(enc(&m), r1);
        let q2 = hex(&format!("07 {M} 04 80FFFFFE EA60 05D4 000660F6D430BF9B"));
        let m = decode(&q2).unwrap().unwrap();
        assert!(matches!(
            m,
            Offline::OpenConnectionRequest2 {
                cookie: None,
                mtu: 1492,
                ..
            }
        ));
        assert_eq!(enc(&m), q2);
        let r2 = hex(&format!("08 {M} 000660F6D430BF92 04 80FFFFFE EA61 05D4 00"));
        let m = decode(&r2).unwrap().unwrap();
        assert_eq!(enc(&m), r2);
        // REQUEST_1 padded to the probe size.
        let q1 = enc(&Offline::OpenConnectionRequest1 {
            protocol: 6,
            mtu: 1492,
        });
        assert_eq!(q1.len(), 1464);
        assert_eq!(q1[17], 6);
        assert!(q1[18..].iter().all(|&b| b == 0));
    }

    #[test]
    fn request_1_mtu_comes_from_length() {
        let mut b = hex(&format!("05 {M} 06"));
        b.resize(25, 0);
        assert_eq!(
            decode(&b),
            Some(Ok(Offline::OpenConnectionRequest1 {
                protocol: 6,
                mtu: 53
            }))
        );
        // 24 bytes: not offline at all (§4.1).
        assert_eq!(decode(&b[..24]), None);
        b.resize(1600, 0);
        assert!(matches!(
            decode(&b),
            Some(Ok(Offline::OpenConnectionRequest1 { mtu: 1628, .. }))
        ));
    }

    #[test]
    fn reply_1_by_length() {
        // 96 bytes: cookie and libcat key.
        let key = "AB".repeat(64);
        let b = hex(&format!("06 {M} 0000000000000009 01 01020304 {key} 05D4"));
        assert_eq!(b.len(), 96);
        assert_eq!(
            decode(&b),
            Some(Ok(Offline::OpenConnectionReply1 {
                guid: 9,
                cookie: Some(0x0102_0304),
                has_public_key: true,
                mtu: 1492
            }))
        );
        // Encoding never writes a key.
        let m = decode(&b).unwrap().unwrap();
        assert_eq!(enc(&m).len(), 32);
        // 32 bytes with any non-zero hasSecurity byte.
        let b = hex(&format!("06 {M} 0000000000000009 07 01020304 04B0"));
        assert!(matches!(
            decode(&b),
            Some(Ok(Offline::OpenConnectionReply1 {
                cookie: Some(0x0102_0304),
                has_public_key: false,
                mtu: 1200,
                ..
            }))
        ));
        // hasSecurity set but no cookie.
        let b = hex(&format!("06 {M} 0000000000000009 01 05D4"));
        assert!(matches!(decode(&b), Some(Err(_))));
    }

    #[test]
    fn request_2_forms() {
        // Cookie + challenge (libcat): decoded, challenge skipped.
        let ch = "CC".repeat(64);
        let b = hex(&format!(
            "07 {M} 01020304 01 {ch} 04 80FFFFFE EA60 05D4 000660F6D430BF9B"
        ));
        assert!(matches!(
            decode(&b),
            Some(Ok(Offline::OpenConnectionRequest2 {
                cookie: Some(0x0102_0304),
                has_challenge: true,
                mtu: 1492,
                ..
            }))
        ));
        // Flag disagreeing with the length.
        let b = hex(&format!(
            "07 {M} 01020304 01 04 80FFFFFE EA60 05D4 000660F6D430BF9B"
        ));
        assert!(matches!(decode(&b), Some(Err(_))));
        // A length matching no layout.
        let b = hex(&format!("07 {M} 04 80FFFFFE EA60 05D4 000660F6D430BF9B 00"));
        assert!(matches!(decode(&b), Some(Err(_))));
        // go-raknet's version byte 0 reads as IPv4.
        let b = hex(&format!("07 {M} 00 80FFFFFE EA60 05D4 000660F6D430BF9B"));
        assert!(matches!(
            decode(&b),
            Some(Ok(Offline::OpenConnectionRequest2 { .. }))
        ));
        // v4 version byte where the length says v6.
        let b = hex(&format!(
            "07 {M} 04 80FFFFFE EA60 {} 05D4 000660F6D430BF9B",
            "00".repeat(22)
        ));
        assert!(matches!(decode(&b), Some(Err(_))));
    }

    #[test]
    fn reply_2_security_is_any_nonzero_byte() {
        for (byte, want) in [(0x00u8, false), (0x80, true), (0x01, true)] {
            let mut b = hex(&format!("08 {M} 0000000000000003 04 80FFFFFE EA61 05D4"));
            b.push(byte);
            assert!(matches!(
                decode(&b),
                Some(Ok(Offline::OpenConnectionReply2 { security, .. })) if security == want
            ));
        }
        let m = Offline::OpenConnectionReply2 {
            guid: 3,
            client_addr: "127.0.0.1:1".parse().unwrap(),
            mtu: 1492,
            security: true,
        };
        assert_eq!(enc(&m).last(), Some(&0x80));
    }

    #[test]
    fn recognition_rules() {
        // Short junk is offline-but-bad, whatever byte 0 is.
        for b in [&[][..], &[0x84], &[0x05, 0x00]] {
            assert!(matches!(decode(b), Some(Err(_))));
        }
        // Bad magic or a non-offline id: not offline.
        let mut q2 = enc(&samples()[15]);
        assert!(matches!(decode(&q2), Some(Ok(_))));
        q2[5] ^= 1;
        assert_eq!(decode(&q2), None);
        assert_eq!(decode(&[0x84, 0, 0, 0, 0x40, 0, 8, 0x86]), None);
        assert_eq!(decode(&[0x18; 40]), None);
        for m in samples() {
            let v = enc(&m);
            let mut bad = v.clone();
            let at = v.windows(16).position(|w| w == MAGIC).unwrap();
            bad[at + 15] ^= 0xFF;
            assert_eq!(decode(&bad), None, "{m:?}");
        }
        // Pong lengths: >= 433 is offline but dropped; 29..33 is offline junk.
        let big = enc(&Offline::UnconnectedPong {
            time: 1,
            guid: 2,
            data: &[0; 400],
        });
        assert_eq!(big.len(), 433);
        assert!(matches!(decode(&big), Some(Err(_))));
        assert!(matches!(decode(&big[..432]), Some(Ok(_))));
        assert!(matches!(decode(&big[..30]), Some(Err(_))));
        assert_eq!(decode(&big[..28]), None);
        // Out-of-band: 25 < len < 425.
        let oob = enc(&Offline::OutOfBand {
            guid: 1,
            payload: &[0x1D; 400],
        });
        assert!(matches!(decode(&oob), Some(Err(_))));
        assert!(matches!(decode(&oob[..424]), Some(Ok(_))));
        assert!(matches!(decode(&oob[..25]), Some(Err(_))));
        assert_eq!(decode(&oob[..24]), None);
        // INCOMPATIBLE_PROTOCOL_VERSION must be exactly 26 bytes.
        let mut inc = enc(&Offline::IncompatibleProtocol {
            protocol: 6,
            guid: 1,
        });
        assert!(matches!(decode(&inc), Some(Ok(_))));
        inc.push(0);
        assert_eq!(decode(&inc), None);
    }

    #[test]
    fn truncation_never_panics() {
        for m in samples() {
            let v = enc(&m);
            for n in 0..v.len() {
                // Whatever the verdict, no panic; and a short copy never decodes to `m`.
                if let Some(Ok(d)) = decode(&v[..n]) {
                    assert!(
                        matches!(
                            d,
                            Offline::UnconnectedPing { guid: None, .. }
                                | Offline::UnconnectedPong { .. }
                                | Offline::OutOfBand { .. }
                                | Offline::OpenConnectionRequest1 { .. }
                        ),
                        "{m:?} at {n} gave {d:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u32 = 0x9E37_79B9;
        for len in 0..200usize {
            for first in [0x01u8, 0x05, 0x06, 0x07, 0x08, 0x0D, 0x14, 0x19, 0x1C] {
                let mut b: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect();
                if let Some(f) = b.first_mut() {
                    *f = first;
                }
                for at in [1usize, 2, 9, 17] {
                    if b.len() >= at + 16 {
                        b[at..at + 16].copy_from_slice(&MAGIC);
                    }
                }
                let _ = decode(&b);
            }
        }
    }
}
