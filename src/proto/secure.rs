//! Secure mode: an authenticated key exchange inside the RakNet handshake and an
//! authenticated, encrypted, replay-checked envelope around every connected datagram.
//!
//! The cryptography is the Noise framework through the `snow` crate
//! (`Noise_NX_25519_ChaChaPoly_BLAKE2s`, or `Noise_IX_…` when the client has a key pair of
//! its own); nothing here is a home-made primitive. This file holds the parts that do not
//! know about sockets or connections: key pairs and their text form, the two handshake
//! halves, and [`Session`], which seals and opens datagrams.
//!
//! Wire form of a sealed datagram: `u64be nonce` ‖ ChaCha20-Poly1305(ciphertext ‖ 16-byte
//! tag), [`OVERHEAD`] = 24 bytes more than the plain datagram. Each direction has its own
//! key (Noise's split) and counts its nonces from 0, so a nonce is never reused under a
//! key; a connection ends before its counter reaches [`NONCE_LIMIT`]. The receiver keeps
//! a [`REPLAY_WINDOW`]-datagram window: a nonce seen before or older than the window is a
//! replay, dropped before decryption; only a datagram whose tag verifies moves the window,
//! so forged datagrams change nothing.
//!
//! The handshake is bound to the RakNet handshake by its prologue (tag, protocol version,
//! both GUIDs), so a changed GUID or protocol byte fails it; the MTU the server chose
//! travels inside the server's encrypted payload.

use std::fmt;

use snow::params::{DHChoice, NoiseParams};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::{Builder, HandshakeState, StatelessTransportState};

/// Length of a public or private key (X25519).
pub const KEY_LEN: usize = 32;
/// Length of the authentication tag.
pub const TAG_LEN: usize = 16;
/// Length of the explicit nonce in front of each sealed datagram.
pub const NONCE_LEN: usize = 8;
/// Bytes a sealed datagram has beyond the plain one.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;
/// Datagrams a receiver accepts out of order (older ones count as replays).
pub const REPLAY_WINDOW: u64 = 1024;
/// A connection's nonce counter must stay below this; the connection ends first.
pub const NONCE_LIMIT: u64 = 1 << 62;
/// Version byte of the handshake messages.
pub const VERSION: u8 = 1;

const PROLOGUE_TAG: &[u8] = b"libraknet secure v1";
const NX: &str = "Noise_NX_25519_ChaChaPoly_BLAKE2s";
const IX: &str = "Noise_IX_25519_ChaChaPoly_BLAKE2s";
/// Largest handshake message we build or accept (IX message 2 is 32+48+20+16).
pub const MAX_HANDSHAKE_LEN: usize = 160;
/// The server's payload in message 2: version, flags, chosen MTU.
const ACCEPT_LEN: usize = 4;
const WORDS: usize = (REPLAY_WINDOW / 64) as usize;

/// What went wrong in the cryptography itself.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SecureError {
    /// The operating system's random source failed.
    Random,
    /// A message did not authenticate or was malformed.
    Crypto,
    /// The nonce counter reached [`NONCE_LIMIT`].
    Exhausted,
}

impl fmt::Display for SecureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecureError::Random => "random source failed",
            SecureError::Crypto => "authentication failed",
            SecureError::Exhausted => "nonce counter exhausted",
        })
    }
}

impl From<snow::Error> for SecureError {
    fn from(e: snow::Error) -> SecureError {
        match e {
            snow::Error::Rng => SecureError::Random,
            _ => SecureError::Crypto,
        }
    }
}

fn params(identity: bool) -> NoiseParams {
    // Both strings are constants that parse; a failure would be a bug in this file.
    let s = if identity { IX } else { NX };
    s.parse()
        .unwrap_or_else(|_| unreachable!("noise params {s}"))
}

/// A long-term X25519 key pair: a server's identity, or a client's when it has one.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPair {
    private: [u8; KEY_LEN],
    public: [u8; KEY_LEN],
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair {{ public: {} }}", to_hex(&self.public))
    }
}

/// Why a key file or key text was not accepted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KeyTextError {
    /// No `private-key:` line with 64 hex digits.
    MissingPrivateKey,
    /// A `public-key:` line that does not belong to the private key.
    PublicKeyMismatch,
}

impl KeyPair {
    /// A new random key pair from the operating system's random source.
    pub fn generate() -> Result<KeyPair, SecureError> {
        let kp = Builder::new(params(false)).generate_keypair()?;
        let private: [u8; KEY_LEN] = kp.private[..].try_into().map_err(|_| SecureError::Crypto)?;
        Ok(KeyPair::from_private(private))
    }

    /// The key pair of a private key (the public key is derived).
    pub fn from_private(private: [u8; KEY_LEN]) -> KeyPair {
        let mut public = [0u8; KEY_LEN];
        if let Some(mut dh) = DefaultResolver.resolve_dh(&DHChoice::Curve25519) {
            dh.set(&private);
            public.copy_from_slice(dh.pubkey());
        }
        KeyPair { private, public }
    }

    /// The public key, which clients pin.
    pub fn public(&self) -> &[u8; KEY_LEN] {
        &self.public
    }

    /// The private key.
    pub fn private(&self) -> &[u8; KEY_LEN] {
        &self.private
    }

    /// The key file form: comment, `private-key: HEX`, `public-key: HEX`.
    pub fn to_text(&self) -> String {
        format!(
            "# libraknet key pair (X25519). Keep this file secret.\nprivate-key: {}\npublic-key: {}\n",
            to_hex(&self.private),
            to_hex(&self.public)
        )
    }

    /// Reads the key file form; the `public-key` line is optional but must match.
    pub fn from_text(text: &str) -> Result<KeyPair, KeyTextError> {
        let field = |name: &str| {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix(name))
                .find_map(|v| parse_key_hex(v.trim_start_matches(':').trim()))
        };
        let private = field("private-key").ok_or(KeyTextError::MissingPrivateKey)?;
        let kp = KeyPair::from_private(private);
        let has_public_line = text.lines().any(|l| l.trim().starts_with("public-key"));
        match field("public-key") {
            Some(p) if p != kp.public => Err(KeyTextError::PublicKeyMismatch),
            None if has_public_line => Err(KeyTextError::PublicKeyMismatch),
            _ => Ok(kp),
        }
    }
}

/// Lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A 32-byte key from exactly 64 hex digits (either case).
pub fn parse_key_hex(s: &str) -> Option<[u8; KEY_LEN]> {
    let s = s.as_bytes();
    if s.len() != 2 * KEY_LEN {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    let mut out = [0u8; KEY_LEN];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        *o = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// The Noise prologue: binds the key exchange to the RakNet handshake it rides in.
pub fn prologue(protocol: u8, server_guid: u64, client_guid: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(PROLOGUE_TAG.len() + 17);
    p.extend_from_slice(PROLOGUE_TAG);
    p.push(protocol);
    p.extend_from_slice(&server_guid.to_be_bytes());
    p.extend_from_slice(&client_guid.to_be_bytes());
    p
}

/// What the server tells the client inside message 2 (encrypted and authenticated).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Accept {
    /// The MTU the server chose (must equal the plain field of the reply).
    pub mtu: u16,
    /// The server saw the client's static key.
    pub identity_seen: bool,
}

impl Accept {
    fn encode(self) -> [u8; ACCEPT_LEN] {
        let [hi, lo] = self.mtu.to_be_bytes();
        [VERSION, u8::from(self.identity_seen), hi, lo]
    }

    fn decode(b: &[u8]) -> Option<Accept> {
        match *b {
            [VERSION, flags, hi, lo] => Some(Accept {
                mtu: u16::from_be_bytes([hi, lo]),
                identity_seen: flags & 1 != 0,
            }),
            _ => None,
        }
    }
}

/// Why the client's half of the handshake failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FinishError {
    /// Message 2 did not authenticate or was malformed (forged, or another handshake's).
    Crypto,
    /// The server proved a key other than the pinned one (ID_PUBLIC_KEY_MISMATCH).
    KeyMismatch,
}

/// The client's half: message 1 is built once per attempt and resent as is.
pub struct ClientHandshake {
    hs: HandshakeState,
    message: Vec<u8>,
    identity: bool,
}

impl fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl ClientHandshake {
    /// Starts a handshake; with `local`, the client proves that key pair (IX), else it
    /// stays anonymous (NX).
    pub fn start(local: Option<&KeyPair>, prologue: &[u8]) -> Result<Self, SecureError> {
        let builder = Builder::new(params(local.is_some())).prologue(prologue)?;
        let builder = match local {
            Some(k) => builder.local_private_key(&k.private)?,
            None => builder,
        };
        let mut hs = builder.build_initiator()?;
        let mut message = vec![0u8; MAX_HANDSHAKE_LEN];
        let n = hs.write_message(&[], &mut message)?;
        message.truncate(n);
        Ok(ClientHandshake {
            hs,
            message,
            identity: local.is_some(),
        })
    }

    /// Message 1 (send it, and the same bytes again on a resend).
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// Whether the client presents a static key (IX).
    pub fn has_identity(&self) -> bool {
        self.identity
    }

    /// Reads message 2: the server proved its key (checked against `pin` when given).
    pub fn finish(
        mut self,
        reply: &[u8],
        pin: Option<&[u8; KEY_LEN]>,
    ) -> Result<(Session, Accept), FinishError> {
        let mut payload = [0u8; MAX_HANDSHAKE_LEN];
        let n = self
            .hs
            .read_message(reply, &mut payload)
            .map_err(|_| FinishError::Crypto)?;
        let accept = payload
            .get(..n)
            .and_then(Accept::decode)
            .ok_or(FinishError::Crypto)?;
        let server_key = static_key(self.hs.get_remote_static()).ok_or(FinishError::Crypto)?;
        if pin.is_some_and(|p| *p != server_key) {
            return Err(FinishError::KeyMismatch);
        }
        let transport = self
            .hs
            .into_stateless_transport_mode()
            .map_err(|_| FinishError::Crypto)?;
        Ok((Session::new(transport, Some(server_key)), accept))
    }
}

fn static_key(k: Option<&[u8]>) -> Option<[u8; KEY_LEN]> {
    k.and_then(|k| k.try_into().ok())
}

/// The server's half, step one: message 1 read, the client's key (if any) known.
pub struct ServerHandshake {
    hs: HandshakeState,
    client_key: Option<[u8; KEY_LEN]>,
}

impl fmt::Debug for ServerHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandshake")
            .field("client_key", &self.client_key.map(|k| to_hex(&k)))
            .finish_non_exhaustive()
    }
}

impl ServerHandshake {
    /// Reads message 1. `identity` is the client's claim (IX) from the request header.
    pub fn read(
        local: &KeyPair,
        prologue: &[u8],
        identity: bool,
        message: &[u8],
    ) -> Result<ServerHandshake, SecureError> {
        let mut hs = Builder::new(params(identity))
            .prologue(prologue)?
            .local_private_key(&local.private)?
            .build_responder()?;
        let mut payload = [0u8; MAX_HANDSHAKE_LEN];
        hs.read_message(message, &mut payload)?;
        let client_key = if identity {
            Some(static_key(hs.get_remote_static()).ok_or(SecureError::Crypto)?)
        } else {
            None
        };
        Ok(ServerHandshake { hs, client_key })
    }

    /// The client's proven static key, when it presented one.
    pub fn client_key(&self) -> Option<&[u8; KEY_LEN]> {
        self.client_key.as_ref()
    }

    /// Writes message 2 carrying the chosen MTU; the session is ready at once.
    pub fn accept(mut self, mtu: u16) -> Result<(Vec<u8>, Session), SecureError> {
        let payload = Accept {
            mtu,
            identity_seen: self.client_key.is_some(),
        }
        .encode();
        let mut message = vec![0u8; MAX_HANDSHAKE_LEN];
        let n = self.hs.write_message(&payload, &mut message)?;
        message.truncate(n);
        let transport = self.hs.into_stateless_transport_mode()?;
        Ok((message, Session::new(transport, self.client_key)))
    }
}

/// Why a received sealed datagram was dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Too short, or the tag did not verify: forged, corrupted or for another key.
    Forged,
    /// The nonce was seen before or is older than the window.
    Replayed,
}

/// The transport keys of one secure connection, both directions.
pub struct Session {
    transport: StatelessTransportState,
    next_nonce: u64,
    replay: ReplayWindow,
    remote_key: Option<[u8; KEY_LEN]>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("next_nonce", &self.next_nonce)
            .field("remote_key", &self.remote_key.map(|k| to_hex(&k)))
            .finish_non_exhaustive()
    }
}

impl Session {
    fn new(transport: StatelessTransportState, remote_key: Option<[u8; KEY_LEN]>) -> Session {
        Session {
            transport,
            next_nonce: 0,
            replay: ReplayWindow::default(),
            remote_key,
        }
    }

    /// The remote system's proven static key: the server's, on the client; the client's,
    /// on the server, when the client presented one.
    pub fn remote_key(&self) -> Option<&[u8; KEY_LEN]> {
        self.remote_key.as_ref()
    }

    /// Datagrams sealed so far.
    pub fn sealed(&self) -> u64 {
        self.next_nonce
    }

    /// Seals `plain` into `out` (cleared first): nonce, ciphertext, tag.
    pub fn seal(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<(), SecureError> {
        let nonce = self.next_nonce;
        if nonce >= NONCE_LIMIT {
            return Err(SecureError::Exhausted);
        }
        out.clear();
        out.extend_from_slice(&nonce.to_be_bytes());
        out.resize(NONCE_LEN + plain.len() + TAG_LEN, 0);
        let n = self
            .transport
            .write_message(nonce, plain, &mut out[NONCE_LEN..])?;
        out.truncate(NONCE_LEN + n);
        self.next_nonce += 1;
        Ok(())
    }

    /// Opens a sealed datagram into `out` (cleared first). Nothing changes on failure.
    pub fn open(&mut self, sealed: &[u8], out: &mut Vec<u8>) -> Result<(), OpenError> {
        let (Some(head), Some(body)) = (sealed.get(..NONCE_LEN), sealed.get(NONCE_LEN..)) else {
            return Err(OpenError::Forged);
        };
        if body.len() <= TAG_LEN {
            return Err(OpenError::Forged);
        }
        let mut nonce_bytes = [0u8; NONCE_LEN];
        nonce_bytes.copy_from_slice(head);
        let nonce = u64::from_be_bytes(nonce_bytes);
        if nonce >= NONCE_LIMIT {
            return Err(OpenError::Forged);
        }
        if !self.replay.is_fresh(nonce) {
            return Err(OpenError::Replayed);
        }
        out.clear();
        out.resize(body.len(), 0);
        match self.transport.read_message(nonce, body, out) {
            Ok(n) => {
                out.truncate(n);
                self.replay.accept(nonce);
                Ok(())
            }
            Err(_) => {
                out.clear();
                Err(OpenError::Forged)
            }
        }
    }
}

/// Which of the last [`REPLAY_WINDOW`] nonces arrived: a ring of bits below `top`.
#[derive(Clone, Debug)]
struct ReplayWindow {
    /// One past the highest accepted nonce (0: none yet).
    top: u64,
    bits: [u64; WORDS],
}

impl Default for ReplayWindow {
    fn default() -> Self {
        ReplayWindow {
            top: 0,
            bits: [0; WORDS],
        }
    }
}

impl ReplayWindow {
    fn slot(n: u64) -> (usize, u64) {
        let i = n % REPLAY_WINDOW;
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    fn is_fresh(&self, n: u64) -> bool {
        if n >= self.top {
            return true;
        }
        if self.top - n > REPLAY_WINDOW {
            return false;
        }
        let (w, b) = Self::slot(n);
        self.bits.get(w).is_some_and(|word| word & b == 0)
    }

    fn accept(&mut self, n: u64) {
        if n >= self.top {
            if n - self.top >= REPLAY_WINDOW {
                self.bits = [0; WORDS];
            } else {
                for m in self.top..=n {
                    let (w, b) = Self::slot(m);
                    if let Some(word) = self.bits.get_mut(w) {
                        *word &= !b;
                    }
                }
            }
            self.top = n + 1;
        }
        let (w, b) = Self::slot(n);
        if let Some(word) = self.bits.get_mut(w) {
            *word |= b;
        }
    }
}

/// A secure connection's keys and bookkeeping, kept by its `Connection`.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) session: Session,
    /// Accepting side, until the client's first authenticated datagram: its message 1
    /// and our whole reply, so a resent request gets the same answer.
    pub(crate) pending: Option<(Vec<u8>, Vec<u8>)>,
    /// Datagrams dropped because they did not authenticate.
    pub(crate) forged: u64,
    /// Datagrams dropped as replays.
    pub(crate) replayed: u64,
    /// Earliest time the next tamper alert may be reported.
    pub(crate) next_alert: crate::proto::time::Time,
}

impl Link {
    pub(crate) fn new(session: Session) -> Link {
        Link {
            session,
            pending: None,
            forged: 0,
            replayed: 0,
            next_alert: crate::proto::time::Time::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(client: Option<&KeyPair>, server: &KeyPair) -> (Session, Session, Accept) {
        let p = prologue(6, 1, 2);
        let c = ClientHandshake::start(client, &p).unwrap();
        let s = ServerHandshake::read(server, &p, client.is_some(), c.message()).unwrap();
        assert_eq!(s.client_key(), client.map(|k| k.public()));
        let (reply, server_session) = s.accept(1400).unwrap();
        let (client_session, accept) = c.finish(&reply, Some(server.public())).unwrap();
        (client_session, server_session, accept)
    }

    #[test]
    fn key_pairs_round_trip_through_text() {
        let k = KeyPair::generate().unwrap();
        assert_ne!(k.public(), &[0; KEY_LEN]);
        assert_eq!(KeyPair::from_text(&k.to_text()), Ok(k.clone()));
        assert_eq!(KeyPair::from_private(*k.private()), k);
        let only_private = format!("private-key: {}\n", to_hex(k.private()));
        assert_eq!(KeyPair::from_text(&only_private), Ok(k.clone()));
        let other = KeyPair::generate().unwrap();
        let mixed = format!(
            "private-key: {}\npublic-key: {}\n",
            to_hex(k.private()),
            to_hex(other.public())
        );
        assert_eq!(
            KeyPair::from_text(&mixed),
            Err(KeyTextError::PublicKeyMismatch)
        );
        assert_eq!(
            KeyPair::from_text("public-key: 00"),
            Err(KeyTextError::MissingPrivateKey)
        );
        assert!(!format!("{k:?}").contains(&to_hex(k.private())));
        assert_eq!(
            parse_key_hex(&to_hex(k.public()).to_uppercase()),
            Some(*k.public())
        );
        assert_eq!(parse_key_hex("zz"), None);
    }

    #[test]
    fn both_patterns_agree_on_keys_and_payload() {
        let server = KeyPair::generate().unwrap();
        let client = KeyPair::generate().unwrap();
        for local in [None, Some(&client)] {
            let (mut c, mut s, accept) = pair(local, &server);
            assert_eq!(accept.mtu, 1400);
            assert_eq!(accept.identity_seen, local.is_some());
            assert_eq!(c.remote_key(), Some(server.public()));
            assert_eq!(s.remote_key(), local.map(|k| k.public()));
            let (mut wire, mut plain) = (Vec::new(), Vec::new());
            c.seal(b"hello server", &mut wire).unwrap();
            assert_eq!(wire.len(), 12 + OVERHEAD);
            s.open(&wire, &mut plain).unwrap();
            assert_eq!(plain, b"hello server");
            s.seal(b"hello client", &mut wire).unwrap();
            c.open(&wire, &mut plain).unwrap();
            assert_eq!(plain, b"hello client");
        }
    }

    #[test]
    fn wrong_pin_and_foreign_prologue_fail() {
        let server = KeyPair::generate().unwrap();
        let other = KeyPair::generate().unwrap();
        let p = prologue(6, 1, 2);
        let c = ClientHandshake::start(None, &p).unwrap();
        let (reply, _) = ServerHandshake::read(&server, &p, false, c.message())
            .unwrap()
            .accept(576)
            .unwrap();
        assert_eq!(
            c.finish(&reply, Some(other.public())).err(),
            Some(FinishError::KeyMismatch)
        );
        // A client that thinks the server GUID is another one: the server's answer does
        // not authenticate.
        let c = ClientHandshake::start(None, &prologue(6, 9, 2)).unwrap();
        let (reply, _) = ServerHandshake::read(&server, &p, false, c.message())
            .unwrap()
            .accept(576)
            .unwrap();
        assert_eq!(c.finish(&reply, None).err(), Some(FinishError::Crypto));
    }

    #[test]
    fn every_flipped_bit_is_caught_and_changes_nothing() {
        let server = KeyPair::generate().unwrap();
        let (mut c, mut s, _) = pair(None, &server);
        let (mut wire, mut plain) = (Vec::new(), Vec::new());
        c.seal(&[7u8; 40], &mut wire).unwrap();
        for bit in 0..wire.len() * 8 {
            let mut bad = wire.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(s.open(&bad, &mut plain).is_err(), "bit {bit}");
        }
        for cut in 0..wire.len() {
            assert!(s.open(&wire[..cut], &mut plain).is_err());
        }
        // The untouched datagram still opens: failures moved no state.
        s.open(&wire, &mut plain).unwrap();
        assert_eq!(plain, [7u8; 40]);
    }

    #[test]
    fn replays_are_refused_and_reordering_within_the_window_is_not() {
        let server = KeyPair::generate().unwrap();
        let (mut c, mut s, _) = pair(None, &server);
        let mut sealed = Vec::new();
        for i in 0..3000u32 {
            let mut w = Vec::new();
            c.seal(&i.to_be_bytes(), &mut w).unwrap();
            sealed.push(w);
        }
        let mut plain = Vec::new();
        // Delivered in reverse blocks of 100: all within the window.
        for block in sealed[..2000].chunks(100) {
            for w in block.iter().rev() {
                s.open(w, &mut plain).unwrap();
            }
        }
        for w in &sealed[1900..2000] {
            assert_eq!(s.open(w, &mut plain), Err(OpenError::Replayed));
        }
        s.open(&sealed[2999], &mut plain).unwrap();
        // 2999 moved the window: 1975 is now older than it.
        assert_eq!(s.open(&sealed[1975], &mut plain), Err(OpenError::Replayed));
        s.open(&sealed[2000], &mut plain).unwrap();
        assert_eq!(plain, 2000u32.to_be_bytes());
    }

    #[test]
    fn nonces_stop_before_the_limit() {
        let server = KeyPair::generate().unwrap();
        let (mut c, _, _) = pair(None, &server);
        c.next_nonce = NONCE_LIMIT;
        assert_eq!(c.seal(b"x", &mut Vec::new()), Err(SecureError::Exhausted));
    }
}
