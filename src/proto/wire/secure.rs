//! libraknet's secure-mode handshake on the wire (docs/protocol.md §15; §11 says the libcat fields
//! must not be reused in a way a RakNet 4.081 peer could mistake; nothing here does).
//!
//! 1. A client that wants a secure connection writes the 4-byte hint [`TAG`] (`"LRS1"`)
//!    into the zero padding of OPEN_CONNECTION_REQUEST_1, right after the protocol byte.
//!    4.081 and Bedrock servers never read the padding.
//! 2. Only a libraknet server with a key pair, and only to a hinted request, appends
//!    `"LRS1"` + [`offer`] flags after REPLY_1's MTU. Plain clients never get it; a
//!    hinting client that gets a REPLY_1 without it knows the server is not secure and
//!    stops (RakNet's ID_OUR_SYSTEM_REQUIRES_SECURITY).
//! 3. Instead of OPEN_CONNECTION_REQUEST_2 the client sends [`SecureRequest2`] (id `7E`,
//!    not an offline id of 4.081, so such a server would drop it as junk), carrying the
//!    cookie and Noise message 1, zero-padded to at least [`REQUEST_MIN_LEN`] so the
//!    answer is never larger than the question.
//! 4. The server answers [`SecureReply2`] (id `7F`) with Noise message 2 or a refusal.
//!
//! Layouts (big-endian):
//!
//! ```text
//! 7E magic(16) version flags cookie:u32 mtu:u16 guid:u64 len:u16 noise[len] zeros…
//!    flags: 1 = cookie present, 2 = client presents a static key (IX, else NX)
//! 7F magic(16) version status mtu:u16 guid:u64 len:u16 noise[len]
//!    status: 0 accepted (noise = message 2), 1 client key required, 2 refused
//! ```

use super::{Reader, Writer, MAGIC};
use crate::proto::error::DecodeError;

/// Message id of [`SecureRequest2`].
pub const SECURE_REQUEST_2: u8 = 0x7E;
/// Message id of [`SecureReply2`].
pub const SECURE_REPLY_2: u8 = 0x7F;
/// Tag of the REQUEST_1 hint and the REPLY_1 offer.
pub const TAG: [u8; 4] = *b"LRS1";
/// Where the hint sits in REQUEST_1: after id, magic and protocol byte.
const HINT_AT: usize = 18;
/// Smallest [`SecureRequest2`] a server answers (the client pads to this).
pub const REQUEST_MIN_LEN: usize = 192;
/// Largest Noise message either side accepts.
pub const MAX_NOISE_LEN: usize = 160;
const VERSION: u8 = 1;
const FLAG_COOKIE: u8 = 1;
const FLAG_IDENTITY: u8 = 2;

/// REPLY_1 offer flags.
pub mod offer {
    /// The server runs secure mode (always set in an offer).
    pub const SECURE: u8 = 1;
    /// The server requires clients to present a static key.
    pub const CLIENT_KEY_REQUIRED: u8 = 2;
    /// The server refuses plain connections.
    pub const SECURE_REQUIRED: u8 = 4;
}

/// [`SecureReply2`] status.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Accepted; the reply carries Noise message 2.
    Accepted,
    /// The server requires a client key and the request had none
    /// (RakNet's ID_REMOTE_SYSTEM_REQUIRES_PUBLIC_KEY on the client).
    ClientKeyRequired,
    /// The handshake message did not parse or authenticate.
    Refused,
}

impl Status {
    fn to_u8(self) -> u8 {
        match self {
            Status::Accepted => 0,
            Status::ClientKeyRequired => 1,
            Status::Refused => 2,
        }
    }
    fn from_u8(v: u8) -> Option<Status> {
        match v {
            0 => Some(Status::Accepted),
            1 => Some(Status::ClientKeyRequired),
            2 => Some(Status::Refused),
            _ => None,
        }
    }
}

/// Writes the hint into an encoded REQUEST_1 (which is always long enough).
pub fn add_hint(request_1: &mut [u8]) {
    if let Some(dst) = request_1.get_mut(HINT_AT..HINT_AT + TAG.len()) {
        dst.copy_from_slice(&TAG);
    }
}

/// Whether a REQUEST_1 carries the hint.
pub fn has_hint(request_1: &[u8]) -> bool {
    request_1.get(HINT_AT..HINT_AT + TAG.len()) == Some(&TAG[..])
}

/// Appends the offer to an encoded REPLY_1.
pub fn add_offer(reply_1: &mut Vec<u8>, flags: u8) {
    reply_1.extend_from_slice(&TAG);
    reply_1.push(flags | offer::SECURE);
}

/// The offer flags at the end of a REPLY_1, if it has them.
pub fn offer_of(reply_1: &[u8]) -> Option<u8> {
    let at = reply_1.len().checked_sub(TAG.len() + 1)?;
    // id + magic + guid + hasSecurity + mtu come first.
    if at < 28 || reply_1.get(at..at + TAG.len()) != Some(&TAG[..]) {
        return None;
    }
    reply_1.get(at + TAG.len()).copied()
}

/// Whether `bytes` is one of the two secure handshake messages (id + magic).
pub fn is_secure_handshake(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(&(SECURE_REQUEST_2 | SECURE_REPLY_2)))
        && bytes.get(1..17) == Some(&MAGIC[..])
}

/// The client's second handshake message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecureRequest2<'a> {
    /// Echoed cookie, when the server sent one.
    pub cookie: Option<u32>,
    /// The client presents a static key (IX).
    pub identity: bool,
    /// MTU from REPLY_1.
    pub mtu: u16,
    /// Client GUID.
    pub guid: u64,
    /// Noise message 1.
    pub noise: &'a [u8],
}

impl SecureRequest2<'_> {
    /// Appends the encoding, zero-padded to [`REQUEST_MIN_LEN`].
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let start = buf.len();
        let mut w = Writer::new(buf);
        w.u8(SECURE_REQUEST_2);
        w.magic();
        w.u8(VERSION);
        let mut flags = 0;
        if self.cookie.is_some() {
            flags |= FLAG_COOKIE;
        }
        if self.identity {
            flags |= FLAG_IDENTITY;
        }
        w.u8(flags);
        w.u32_be(self.cookie.unwrap_or(0));
        w.u16_be(self.mtu);
        w.guid(self.guid);
        w.u16_be(self.noise.len() as u16);
        w.bytes(self.noise);
        let written = w.len() - start;
        w.zeros(REQUEST_MIN_LEN.saturating_sub(written));
    }

    /// Decodes; the padding must be zeros and the whole at least [`REQUEST_MIN_LEN`].
    pub fn decode(bytes: &[u8]) -> Result<SecureRequest2<'_>, DecodeError> {
        if bytes.len() < REQUEST_MIN_LEN {
            return Err(DecodeError::new("secure request 2 length", 0));
        }
        let mut r = Reader::new(bytes);
        if r.u8("message id")? != SECURE_REQUEST_2 {
            return Err(DecodeError::new("message id", 0));
        }
        r.magic()?;
        let at = r.position();
        if r.u8("version")? != VERSION {
            return Err(DecodeError::new("secure version", at));
        }
        let at = r.position();
        let flags = r.u8("flags")?;
        if flags & !(FLAG_COOKIE | FLAG_IDENTITY) != 0 {
            return Err(DecodeError::new("secure flags", at));
        }
        let cookie = r.u32_be("cookie")?;
        let mtu = r.u16_be("mtu")?;
        let guid = r.guid()?;
        let at = r.position();
        let len = usize::from(r.u16_be("noise length")?);
        if len > MAX_NOISE_LEN {
            return Err(DecodeError::new("noise length", at));
        }
        let noise = r.bytes(len, "noise message")?;
        let at = r.position();
        if r.rest().iter().any(|&b| b != 0) {
            return Err(DecodeError::new("padding", at));
        }
        Ok(SecureRequest2 {
            cookie: (flags & FLAG_COOKIE != 0).then_some(cookie),
            identity: flags & FLAG_IDENTITY != 0,
            mtu,
            guid,
            noise,
        })
    }
}

/// The server's answer to [`SecureRequest2`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecureReply2<'a> {
    /// Accepted or why not.
    pub status: Status,
    /// The MTU the server chose (repeated, authenticated, inside the Noise payload).
    pub mtu: u16,
    /// Server GUID.
    pub guid: u64,
    /// Noise message 2 (empty unless accepted).
    pub noise: &'a [u8],
}

impl SecureReply2<'_> {
    /// Appends the encoding.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let mut w = Writer::new(buf);
        w.u8(SECURE_REPLY_2);
        w.magic();
        w.u8(VERSION);
        w.u8(self.status.to_u8());
        w.u16_be(self.mtu);
        w.guid(self.guid);
        w.u16_be(self.noise.len() as u16);
        w.bytes(self.noise);
    }

    /// Decodes; nothing may follow the Noise message.
    pub fn decode(bytes: &[u8]) -> Result<SecureReply2<'_>, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.u8("message id")? != SECURE_REPLY_2 {
            return Err(DecodeError::new("message id", 0));
        }
        r.magic()?;
        let at = r.position();
        if r.u8("version")? != VERSION {
            return Err(DecodeError::new("secure version", at));
        }
        let at = r.position();
        let status = Status::from_u8(r.u8("status")?).ok_or(DecodeError::new("status", at))?;
        let mtu = r.u16_be("mtu")?;
        let guid = r.guid()?;
        let at = r.position();
        let len = usize::from(r.u16_be("noise length")?);
        if len > MAX_NOISE_LEN {
            return Err(DecodeError::new("noise length", at));
        }
        let noise = r.bytes(len, "noise message")?;
        if !r.is_empty() {
            return Err(DecodeError::new("trailing bytes", r.position()));
        }
        Ok(SecureReply2 {
            status,
            mtu,
            guid,
            noise,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::wire::offline::{self, Offline};

    #[test]
    fn hint_and_offer_leave_the_plain_messages_readable() {
        let mut req1 = Vec::new();
        Offline::OpenConnectionRequest1 {
            protocol: 6,
            mtu: 576,
        }
        .encode(&mut req1);
        assert!(!has_hint(&req1));
        add_hint(&mut req1);
        assert!(has_hint(&req1));
        assert_eq!(
            offline::decode(&req1),
            Some(Ok(Offline::OpenConnectionRequest1 {
                protocol: 6,
                mtu: 576
            }))
        );
        for cookie in [None, Some(0xdead_beef)] {
            let plain = Offline::OpenConnectionReply1 {
                guid: 7,
                cookie,
                has_public_key: false,
                mtu: 1400,
            };
            let mut rep1 = Vec::new();
            plain.encode(&mut rep1);
            assert_eq!(offer_of(&rep1), None);
            add_offer(&mut rep1, offer::CLIENT_KEY_REQUIRED);
            assert_eq!(
                offer_of(&rep1),
                Some(offer::SECURE | offer::CLIENT_KEY_REQUIRED)
            );
            // Our own REPLY_1 reader (like 4.081's) still reads the plain fields.
            assert_eq!(offline::decode(&rep1), Some(Ok(plain)));
        }
    }

    #[test]
    fn request_and_reply_round_trip_and_reject_junk() {
        let noise = [9u8; 32];
        let req = SecureRequest2 {
            cookie: Some(5),
            identity: true,
            mtu: 1492,
            guid: 0x0102_0304_0506_0708,
            noise: &noise,
        };
        let mut buf = Vec::new();
        req.encode(&mut buf);
        assert_eq!(buf.len(), REQUEST_MIN_LEN);
        assert!(is_secure_handshake(&buf));
        // Not an offline message of 4.081: its recogniser passes it on as not-offline.
        assert_eq!(offline::decode(&buf), None);
        assert_eq!(SecureRequest2::decode(&buf), Ok(req.clone()));
        for cut in 0..buf.len() {
            assert!(SecureRequest2::decode(&buf[..cut]).is_err());
        }
        let mut padded = buf.clone();
        padded.push(1);
        assert!(SecureRequest2::decode(&padded).is_err());

        let reply = SecureReply2 {
            status: Status::Accepted,
            mtu: 1400,
            guid: 3,
            noise: &noise,
        };
        let mut buf = Vec::new();
        reply.encode(&mut buf);
        assert!(is_secure_handshake(&buf));
        assert_eq!(SecureReply2::decode(&buf), Ok(reply));
        for cut in 0..buf.len() {
            assert!(SecureReply2::decode(&buf[..cut]).is_err());
        }
        buf[18] = 9;
        assert!(SecureReply2::decode(&buf).is_err());
    }
}
