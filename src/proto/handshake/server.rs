//! The server side of the offline handshake (docs/protocol.md §5.2–§5.5, §4.4): answering
//! OPEN_CONNECTION_REQUEST_1 (REPLY_1 with the cookie, or INCOMPATIBLE_PROTOCOL_VERSION,
//! never more bytes than arrived), and OPEN_CONNECTION_REQUEST_2: the checks before a
//! connection slot is taken (a repeat of a pending attempt gets the same REPLY_2, an
//! address or GUID in use, no free incoming slot, the IP frequency limit), the refusals,
//! and creating the incoming connection.
//!
//! It does not own the cookies (`cookies.rs`), the secure REQUEST_2 (`secure.rs`, which
//! takes its slot through `claim_slot` too), the connection table (`endpoint.rs`) or
//! the per-IP tables (`endpoint/gate.rs`).

use std::net::SocketAddr;

use super::secure::inner_mtu;
use crate::proto::config::{MAX_MTU, MIN_MTU};
use crate::proto::connection::{Connection, Phase};
use crate::proto::endpoint::Endpoint;
use crate::proto::event::ConnId;
use crate::proto::secure::Link;
use crate::proto::time::Time;
use crate::proto::wire::id;
use crate::proto::wire::offline::Offline;

/// What `claim_slot` found.
pub(super) enum Slot {
    /// Take a new slot.
    Free,
    /// A repeated request of the pending attempt in this slot.
    Repeat(ConnId),
    /// Refused (answered already).
    Refused,
}

impl Endpoint {
    /// OPEN_CONNECTION_REQUEST_1 (§5.2) of `bytes`: REPLY_1 (§5.3) or
    /// INCOMPATIBLE_PROTOCOL_VERSION; no state is kept.
    pub(in crate::proto) fn on_request_1(
        &mut self,
        now: Time,
        from: SocketAddr,
        bytes: &[u8],
        protocol: u8,
        mtu: u16,
    ) {
        let received = bytes.len();
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        if protocol != self.config.protocol_version {
            self.stats.refused.incompatible_protocol += 1;
            Offline::IncompatibleProtocol {
                protocol: self.config.protocol_version,
                guid: self.guid,
            }
            .encode(&mut buf);
        } else {
            let cookie = self.config.cookies.then(|| self.cookie(now, from, 0));
            Offline::OpenConnectionReply1 {
                guid: self.guid,
                cookie,
                has_public_key: false,
                mtu: mtu.min(MAX_MTU),
            }
            .encode(&mut buf);
            // Secure mode is offered only to clients that asked for it.
            if let Some(flags) = self.secure_offer() {
                if crate::proto::wire::secure::has_hint(bytes) {
                    crate::proto::wire::secure::add_offer(&mut buf, flags);
                }
            }
        }
        // Never answer with more bytes than the request had (amplification <= 1);
        // real probes are hundreds of bytes long.
        if buf.len() > received {
            self.stats.offline_dropped += 1;
            self.stats.dropped.amplification += 1;
            self.recycle(buf);
            return;
        }
        self.queue_offline(from, buf);
    }

    /// OPEN_CONNECTION_REQUEST_2 (§5.4) of `received` bytes: the cookie, then a slot.
    pub(in crate::proto) fn on_request_2(
        &mut self,
        now: Time,
        from: SocketAddr,
        received: usize,
        cookie: Option<u32>,
        guid: u64,
        mtu: u16,
    ) {
        // REPLY_2 is 28 bytes plus the client's address. Without cookies nothing
        // proves the source, so allow at most the one byte RakNet 4's own format
        // adds (34 in, 35 out), never an IPv6 address in answer to a short request.
        let reply_len = 28 + if from.is_ipv4() { 7 } else { 29 };
        if !self.config.cookies && reply_len > received + 1 {
            self.stats.dropped.amplification += 1;
            return;
        }
        if !self.cookie_ok(now, from, cookie) {
            return;
        }
        let mtu = mtu.clamp(MIN_MTU, MAX_MTU);
        let reply = |ep: &mut Endpoint, mtu: u16, security: bool| {
            let mut buf = ep.spare.pop().unwrap_or_default();
            buf.clear();
            Offline::OpenConnectionReply2 {
                guid: ep.guid,
                client_addr: from,
                mtu,
                security,
            }
            .encode(&mut buf);
            ep.queue_offline(from, buf);
        };
        if self.config.secure.require_secure && self.config.secure.key_pair.is_some() {
            // Plain clients are refused: the security bit makes RakNet 4 clients (and
            // ours) give up; no state is kept.
            self.stats.refused.security_required += 1;
            return reply(self, mtu, true);
        }
        match self.claim_slot(now, from, guid, |c| c.secure.is_none()) {
            Slot::Refused => {}
            Slot::Repeat(c) => {
                // A repeat of the same pending attempt gets the same answer (§5.4).
                let m = self.conns.get(&c).map_or(mtu, |c| c.mtu);
                reply(self, m, false);
            }
            Slot::Free => {
                let id = self.new_incoming(now, from, guid, mtu, None);
                reply(self, mtu, false);
                self.reschedule(now, id);
            }
        }
    }

    /// The checks an OPEN_CONNECTION_REQUEST_2 (plain or secure) passes before it may
    /// take a connection slot: lingering slots give way; the address and GUID must be
    /// free, or belong to one pending attempt for which `same_kind` holds (a repeat);
    /// the incoming limit and the IP frequency limit. Refusals are answered here.
    pub(super) fn claim_slot(
        &mut self,
        now: Time,
        from: SocketAddr,
        guid: u64,
        same_kind: impl Fn(&Connection) -> bool,
    ) -> Slot {
        // A connection that is only lingering after a disconnect (still acknowledging the
        // notification's resends) gives way to a new attempt from its address or GUID.
        for user in [
            self.by_addr.get(&from).copied(),
            self.by_guid.get(&guid).copied(),
        ]
        .into_iter()
        .flatten()
        {
            if self.conns.get(&user).is_some_and(|c| c.is_lingering()) {
                self.remove_conn(user);
            }
        }
        let addr_user = self.by_addr.get(&from).copied();
        let guid_user = self.by_guid.get(&guid).copied();
        match (addr_user, guid_user) {
            (None, None) => {}
            (Some(a), Some(g)) if a == g => {
                let pending = self
                    .conns
                    .get(&a)
                    .is_some_and(|c| c.phase == Phase::UnverifiedSender && same_kind(c));
                if pending {
                    if let Some(c) = self.conns.get_mut(&a) {
                        c.restart_handshake_clock(now);
                    }
                    self.reschedule(now, a);
                    return Slot::Repeat(a);
                }
                self.reject(from, id::ALREADY_CONNECTED);
                return Slot::Refused;
            }
            _ => {
                self.reject(from, id::ALREADY_CONNECTED);
                return Slot::Refused;
            }
        }
        if self.incoming_full() {
            self.reject(from, id::NO_FREE_INCOMING_CONNECTIONS);
            return Slot::Refused;
        }
        if !self.may_take_slot(now, from) {
            self.reject(from, id::IP_RECENTLY_CONNECTED);
            return Slot::Refused;
        }
        Slot::Free
    }

    /// Creates an incoming connection in a slot `claim_slot` found free. A secure one
    /// (`link`) has the secure overhead taken off its MTU budget.
    pub(super) fn new_incoming(
        &mut self,
        now: Time,
        from: SocketAddr,
        guid: u64,
        mtu: u16,
        link: Option<Box<Link>>,
    ) -> ConnId {
        let id = ConnId(ConnId::INCOMING_BIT | self.next_incoming);
        self.next_incoming += 1;
        let budget = if link.is_some() { inner_mtu(mtu) } else { mtu };
        let mut conn = Connection::new_incoming(now, id, from, guid, budget, &self.config);
        conn.secure = link;
        self.conns.insert(id, Box::new(conn));
        self.by_addr.insert(from, id);
        self.by_guid.insert(guid, id);
        self.incoming_count += 1;
        id
    }

    /// No free incoming slot. Slots that only linger after their connection ended do
    /// not count (as in 4.081, whose limit counts connected systems only); they are
    /// counted one by one only when the fast count says full.
    pub(in crate::proto) fn incoming_full(&self) -> bool {
        self.incoming_count >= self.config.max_incoming
            && self
                .conns
                .values()
                .filter(|c| c.incoming && !c.is_lingering())
                .count()
                >= self.config.max_incoming as usize
    }

    /// Refuses `to` with the offline rejection `rid` (§4.4), counted by reason.
    fn reject(&mut self, to: SocketAddr, rid: u8) {
        self.stats.refused.count(rid);
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        Offline::Rejection {
            id: rid,
            guid: self.guid,
        }
        .encode(&mut buf);
        self.queue_offline(to, buf);
    }
}
