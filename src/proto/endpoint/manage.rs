//! The application's management calls on an [`Endpoint`]: the ban list (docs/protocol.md §1.5
//! step 1, §4.4), connection lookups, per-connection timeouts, and ADVERTISE_SYSTEM
//! (§4.3). The datagram path that enforces bans lives in `endpoint.rs`; the tables in
//! `access.rs`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::{Endpoint, MIN_TIMER_STEP};
use crate::proto::access::{BanError, Pattern};
use crate::proto::config::MAX_OFFLINE_DATA;
use crate::proto::connection::Ctx;
use crate::proto::error::SendError;
use crate::proto::event::{ConnId, ConnectFailure, Event};
use crate::proto::time::Time;
use crate::proto::wire::id;
use crate::proto::wire::offline::Offline;

impl Endpoint {
    /// Bans `pattern` for `duration` from `now` (`None`, or zero as in RakNet: until
    /// removed). A pattern is an IPv4 address whose octets may be `*`
    /// (`"192.168.1.*"`), or an exact IPv6 address. Adding a pattern again replaces its
    /// expiry.
    ///
    /// From then on every datagram from a matching IP is dropped, creates no state, and
    /// is answered with ID_CONNECTION_BANNED (at most once per IP per 100 ms, never with
    /// more bytes than arrived). Connections and attempts with a matching IP end at once,
    /// without notifying the remote system: established ones are reported as
    /// `Disconnected { reason: Banned }`, our own attempts as
    /// `ConnectFailed { reason: Cancelled }`, half-open incoming ones silently.
    pub fn add_ban(
        &mut self,
        now: Time,
        pattern: &str,
        duration: Option<Duration>,
    ) -> Result<(), BanError> {
        let p = Pattern::parse(pattern)?;
        let until = duration.filter(|d| !d.is_zero()).map(|d| now + d);
        self.bans.insert(now, p, until)?;
        self.drop_banned(now);
        Ok(())
    }

    /// Whether `add_ban` would accept `pattern`'s syntax (it may still refuse it for a
    /// full ban list). Lets a driver reject a bad pattern before queuing it.
    pub fn check_ban_pattern(pattern: &str) -> Result<(), BanError> {
        Pattern::parse(pattern).map(|_| ())
    }

    /// Removes a pattern added by `add_ban` (written the same way); whether it was there.
    pub fn remove_ban(&mut self, pattern: &str) -> bool {
        Pattern::parse(pattern).is_ok_and(|p| self.bans.remove(&p))
    }

    /// Removes every ban, temporary ones included.
    pub fn clear_bans(&mut self) {
        self.bans.clear();
    }

    /// Whether datagrams from `ip` are refused at `now`.
    pub fn is_banned(&self, now: Time, ip: IpAddr) -> bool {
        self.bans.matches(now, ip)
    }

    /// Ends every connection and attempt whose IP is banned.
    fn drop_banned(&mut self, now: Time) {
        let mut conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| self.bans.matches(now, c.addr.ip()))
            .map(|(id, _)| *id)
            .collect();
        conns.sort_unstable();
        for id in conns {
            if let Some(c) = self.conns.get_mut(&id) {
                let mut ctx = Ctx {
                    config: &self.config,
                    local_guid: self.guid,
                    local_addr: self.local_addr,
                    events: &mut self.events,
                };
                c.drop_banned(&mut ctx);
            }
            self.remove_conn(id);
        }
        let mut attempts: Vec<(ConnId, SocketAddr)> = self
            .attempts
            .iter()
            .filter(|(_, a)| self.bans.matches(now, a.addr.ip()))
            .map(|(id, a)| (*id, a.addr))
            .collect();
        attempts.sort_unstable();
        for (conn, addr) in attempts {
            self.remove_attempt(conn);
            self.events.push_back(Event::ConnectFailed {
                conn,
                addr,
                reason: ConnectFailure::Cancelled,
            });
        }
    }

    /// Established connections (handshake complete, not closing), in id order.
    /// RakNet's `GetConnectionList`.
    pub fn connections(&self) -> Vec<ConnId> {
        let mut ids: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.is_connected())
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The remote GUID of a connection (known from the offline handshake on, so also
    /// while the connected-mode handshake runs).
    pub fn conn_guid(&self, conn: ConnId) -> Option<u64> {
        self.conns.get(&conn).map(|c| c.remote_guid)
    }

    /// The connection to the system with this GUID.
    pub fn conn_by_guid(&self, guid: u64) -> Option<ConnId> {
        self.by_guid
            .get(&guid)
            .copied()
            .filter(|id| self.conns.get(id).is_some_and(|c| c.remote_guid == guid))
    }

    /// The connection or outgoing attempt using this remote address.
    pub fn conn_by_addr(&self, addr: SocketAddr) -> Option<ConnId> {
        self.by_addr.get(&addr).copied()
    }

    /// Sets the timeout of one connection or attempt: the dead-connection rule (lost
    /// after this long without hearing from the remote system while data is unacked),
    /// the keep-alive ping at half of it, and the handshake limit. RakNet's
    /// `SetTimeoutTime` for one system. At least 1 ms.
    pub fn set_conn_timeout(
        &mut self,
        now: Time,
        conn: ConnId,
        timeout: Duration,
    ) -> Result<(), SendError> {
        let timeout = timeout.max(MIN_TIMER_STEP);
        if let Some(a) = self.attempts.get_mut(&conn) {
            a.timeout = Some(timeout);
            return Ok(());
        }
        let c = self
            .conns
            .get_mut(&conn)
            .ok_or(SendError::UnknownConnection)?;
        c.set_timeout(Some(timeout));
        self.reschedule(now, conn);
        Ok(())
    }

    /// Sends ADVERTISE_SYSTEM (`0D guid magic 1D data`, docs/protocol.md §4.3) to `addr`,
    /// connected or not; the receiver reports `Event::Advertise`. `data` is at most 398
    /// bytes (`SendError::TooLarge` otherwise). Like every offline message it is dropped
    /// if the outgoing offline queue is full.
    pub fn advertise(&mut self, now: Time, addr: SocketAddr, data: &[u8]) -> Result<(), SendError> {
        let _ = now;
        if data.len() >= MAX_OFFLINE_DATA {
            return Err(SendError::TooLarge);
        }
        let mut payload = Vec::with_capacity(1 + data.len());
        payload.push(id::ADVERTISE_SYSTEM);
        payload.extend_from_slice(data);
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        Offline::OutOfBand {
            guid: self.guid,
            payload: &payload,
        }
        .encode(&mut buf);
        self.queue_offline(addr, buf);
        Ok(())
    }
}
