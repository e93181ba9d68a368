//! The offline handshake in libraknet's secure mode (docs/protocol.md §15.2–§15.5,
//! §15.8): offering it in REPLY_1, and the secure REQUEST_2 and REPLY_2 exchange
//! (`wire::secure`) on both sides. The cryptography is in `proto::secure`;
//! sealing and opening, and counting datagrams that fail to open, happen in the
//! endpoint's datagram path (`endpoint.rs`, `endpoint/secure.rs`).
//!
//! No state is kept for a client before its cookie is checked; a slot is taken only
//! after its Noise message 1 was read, with the same checks as a plain REQUEST_2
//! (`server.rs`).

use std::net::SocketAddr;

use super::server::Slot;
use crate::proto::config::{SecureConnect, MAX_MTU, MIN_MTU};
use crate::proto::connection::{Connection, Phase};
use crate::proto::endpoint::Endpoint;
use crate::proto::event::ConnectFailure;
use crate::proto::secure::{
    prologue, ClientHandshake, FinishError, Link, ServerHandshake, OVERHEAD,
};
use crate::proto::time::Time;
use crate::proto::wire::secure::{offer, SecureReply2, SecureRequest2, Status, SECURE_REQUEST_2};

/// An outgoing attempt's secure part.
#[derive(Debug)]
pub(super) struct SecureAttempt {
    server_key: Option<[u8; 32]>,
    /// Started at the first REPLY_1 (it needs the server GUID), then resent unchanged.
    handshake: Option<(u64, ClientHandshake)>,
}

impl SecureAttempt {
    pub(super) fn new(c: SecureConnect) -> SecureAttempt {
        SecureAttempt {
            server_key: c.server_key,
            handshake: None,
        }
    }
}

/// The MTU budget of a secure connection's plain datagrams.
pub(super) fn inner_mtu(mtu: u16) -> u16 {
    mtu.saturating_sub(OVERHEAD as u16)
}

impl Endpoint {
    /// REPLY_1 offer flags, when this endpoint has a key pair.
    pub(super) fn secure_offer(&self) -> Option<u8> {
        let s = &self.config.secure;
        s.key_pair.as_ref()?;
        let mut flags = offer::SECURE;
        if s.require_client_key {
            flags |= offer::CLIENT_KEY_REQUIRED;
        }
        if s.require_secure {
            flags |= offer::SECURE_REQUIRED;
        }
        Some(flags)
    }

    /// Whether the attempt to `addr` (if any) is a secure one.
    pub(super) fn attempt_is_secure(&self, addr: SocketAddr) -> bool {
        self.by_addr
            .get(&addr)
            .and_then(|id| self.attempts.get(id))
            .is_some_and(|a| a.secure.is_some())
    }

    /// A `7E` or `7F` datagram (id and magic checked).
    pub(in crate::proto) fn handle_secure_handshake(
        &mut self,
        now: Time,
        from: SocketAddr,
        bytes: &[u8],
    ) {
        if bytes.first() == Some(&SECURE_REQUEST_2) {
            self.on_secure_request_2(now, from, bytes);
        } else {
            self.on_secure_reply_2(now, from, bytes);
        }
    }

    fn bad_handshake(&mut self, now: Time, from: SocketAddr) {
        self.stats.malformed_datagrams += 1;
        self.stats.dropped.bad_secure_handshake += 1;
        self.note_malformed(now, from);
    }

    /// Client: REPLY_1 arrived for a secure attempt; `offer` is the server's offer.
    pub(super) fn send_secure_request_2(
        &mut self,
        from: SocketAddr,
        server_guid: u64,
        cookie: Option<u32>,
        mtu: u16,
        offer: Option<u8>,
    ) {
        let Some(flags) = offer else {
            return self.fail_attempt(from, ConnectFailure::ServerNotSecure);
        };
        let has_key = self.config.secure.key_pair.is_some();
        if flags & offer::CLIENT_KEY_REQUIRED != 0 && !has_key {
            return self.fail_attempt(from, ConnectFailure::ClientKeyRequired);
        }
        let Some(a) = self
            .by_addr
            .get(&from)
            .and_then(|id| self.attempts.get_mut(id))
        else {
            return;
        };
        let Some(sa) = a.secure.as_mut() else {
            return;
        };
        if sa.handshake.as_ref().map(|(g, _)| *g) != Some(server_guid) {
            let p = prologue(self.config.protocol_version, server_guid, self.guid);
            match ClientHandshake::start(self.config.secure.key_pair.as_ref(), &p) {
                Ok(h) => sa.handshake = Some((server_guid, h)),
                // The random source failed: nothing secure can be built.
                Err(_) => return self.fail_attempt(from, ConnectFailure::SecureHandshakeFailed),
            }
        }
        let Some((_, hs)) = sa.handshake.as_ref() else {
            return;
        };
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        SecureRequest2 {
            cookie,
            identity: hs.has_identity(),
            mtu,
            guid: self.guid,
            noise: hs.message(),
        }
        .encode(&mut buf);
        self.queue_offline(from, buf);
    }

    fn secure_reply(&mut self, to: SocketAddr, status: Status, mtu: u16) {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        SecureReply2 {
            status,
            mtu,
            guid: self.guid,
            noise: &[],
        }
        .encode(&mut buf);
        self.queue_offline(to, buf);
    }

    /// Server: a secure REQUEST_2.
    fn on_secure_request_2(&mut self, now: Time, from: SocketAddr, bytes: &[u8]) {
        let Ok(req) = SecureRequest2::decode(bytes) else {
            return self.bad_handshake(now, from);
        };
        let Some(key) = self.config.secure.key_pair.clone() else {
            // Secure mode is off here; such a client never got an offer.
            self.stats.dropped.bad_secure_handshake += 1;
            return;
        };
        if !self.cookie_ok(now, from, req.cookie) {
            return;
        }
        let mtu = req.mtu.clamp(MIN_MTU, MAX_MTU);
        // A pending secure slot of the same client that restarted its handshake (new
        // message 1) gives way; the cookie proved the address.
        let pending = self
            .by_addr
            .get(&from)
            .copied()
            .filter(|id| self.by_guid.get(&req.guid) == Some(id));
        if let Some(id) = pending {
            let stale = self.conns.get(&id).is_some_and(|c| {
                c.phase == Phase::UnverifiedSender
                    && c.secure
                        .as_ref()
                        .and_then(|l| l.pending.as_ref())
                        .is_some_and(|(m1, _)| m1[..] != *req.noise)
            });
            if stale {
                self.remove_conn(id);
            }
        }
        let same = |c: &Connection| {
            c.secure
                .as_ref()
                .and_then(|l| l.pending.as_ref())
                .is_some_and(|(m1, _)| m1[..] == *req.noise)
        };
        match self.claim_slot(now, from, req.guid, same) {
            Slot::Refused => return,
            Slot::Repeat(id) => {
                let again = self
                    .conns
                    .get(&id)
                    .and_then(|c| c.secure.as_ref())
                    .and_then(|l| l.pending.as_ref())
                    .map(|(_, reply)| reply.clone());
                if let Some(reply) = again {
                    self.queue_offline(from, reply);
                }
                return;
            }
            Slot::Free => {}
        }
        let p = prologue(self.config.protocol_version, self.guid, req.guid);
        let Ok(hs) = ServerHandshake::read(&key, &p, req.identity, req.noise) else {
            self.stats.dropped.bad_secure_handshake += 1;
            return self.secure_reply(from, Status::Refused, mtu);
        };
        if self.config.secure.require_client_key && hs.client_key().is_none() {
            self.stats.refused.client_key_required += 1;
            return self.secure_reply(from, Status::ClientKeyRequired, mtu);
        }
        let Ok((message, session)) = hs.accept(mtu) else {
            return self.secure_reply(from, Status::Refused, mtu);
        };
        let mut reply = self.spare.pop().unwrap_or_default();
        reply.clear();
        SecureReply2 {
            status: Status::Accepted,
            mtu,
            guid: self.guid,
            noise: &message,
        }
        .encode(&mut reply);
        let mut link = Box::new(Link::new(session));
        link.pending = Some((req.noise.to_vec(), reply.clone()));
        let id = self.new_incoming(now, from, req.guid, mtu, Some(link));
        self.queue_offline(from, reply);
        self.reschedule(now, id);
    }

    /// Client: the server's answer to our secure REQUEST_2.
    fn on_secure_reply_2(&mut self, now: Time, from: SocketAddr, bytes: &[u8]) {
        let Ok(reply) = SecureReply2::decode(bytes) else {
            return self.bad_handshake(now, from);
        };
        let id = self.by_addr.get(&from).copied();
        let Some((id, a)) = id.and_then(|id| self.attempts.get_mut(&id).map(|a| (id, a))) else {
            self.stats.dropped.unsolicited += 1;
            return;
        };
        let Some(sa) = a.secure.as_mut().filter(|s| s.handshake.is_some()) else {
            self.stats.dropped.unsolicited += 1;
            return;
        };
        match reply.status {
            Status::Accepted => {}
            Status::ClientKeyRequired => {
                return self.fail_attempt(from, ConnectFailure::ClientKeyRequired)
            }
            Status::Refused => {
                return self.fail_attempt(from, ConnectFailure::SecureHandshakeFailed)
            }
        }
        let pin = sa.server_key;
        let Some((_, hs)) = sa.handshake.take() else {
            return;
        };
        let (session, accept) = match hs.finish(reply.noise, pin.as_ref()) {
            Ok(done) => done,
            Err(FinishError::KeyMismatch) => {
                return self.fail_attempt(from, ConnectFailure::PublicKeyMismatch)
            }
            Err(FinishError::Crypto) => {
                self.stats.dropped.bad_secure_handshake += 1;
                return self.fail_attempt(from, ConnectFailure::SecureHandshakeFailed);
            }
        };
        if accept.mtu != reply.mtu {
            self.stats.dropped.bad_secure_handshake += 1;
            return self.fail_attempt(from, ConnectFailure::SecureHandshakeFailed);
        }
        let (password, timeout) = (a.password.clone(), a.timeout);
        self.remove_attempt(id);
        let mtu = inner_mtu(reply.mtu.clamp(MIN_MTU, MAX_MTU));
        let mut conn = Connection::new_outgoing(
            now,
            id,
            from,
            reply.guid,
            mtu,
            &self.config,
            self.guid,
            &password,
        );
        conn.set_timeout(timeout);
        conn.secure = Some(Box::new(Link::new(session)));
        self.conns.insert(id, Box::new(conn));
        self.by_addr.insert(from, id);
        self.by_guid.entry(reply.guid).or_insert(id);
        self.touch(id);
    }
}
