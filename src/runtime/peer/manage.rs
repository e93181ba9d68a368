//! `Peer`'s management calls: bans, per-connection timeouts, ADVERTISE_SYSTEM, the
//! connection list and lookups (answered from the registry on the caller's thread), and
//! the statistics queries the network thread answers (`Command::Query`). Like the rest
//! of `Peer`, each checks what it can synchronously and queues a command.

use std::net::SocketAddr;
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::time::Duration;

use super::{normalize, ConnState, Peer, PeerError, MAX_ADVERTISE_DATA};
use crate::proto::{ConnId, ConnStats, ConnectError, Endpoint, EndpointStats};
use crate::runtime::queues::{Answer, Command, Query};
use crate::runtime::shared::Stop;

impl Peer {
    /// Sends ADVERTISE_SYSTEM with `data` (at most `MAX_ADVERTISE_DATA` bytes, else
    /// `InvalidArgument`) to `addr`, connected or not; it arrives there as an
    /// `Advertise` event. Unacknowledged, like a ping.
    pub fn advertise(&self, addr: SocketAddr, data: &[u8]) -> Result<(), PeerError> {
        self.check_running()?;
        if data.len() > MAX_ADVERTISE_DATA {
            return Err(PeerError::InvalidArgument);
        }
        let addr = normalize(addr);
        if addr.ip().is_unspecified() || addr.port() == 0 || !self.can_reach(addr) {
            return Err(PeerError::Connect(ConnectError::InvalidAddress));
        }
        self.push(Command::Advertise {
            addr,
            data: data.to_vec(),
        })
    }

    /// Bans the IPs matching `pattern` for `duration` (`None` or zero: until removed):
    /// an IPv4 address whose octets may be `*` (`"192.168.1.*"`), or an IPv6 address.
    /// Their datagrams are refused (attempts get ID_CONNECTION_BANNED) and their
    /// connections end (`Disconnected { Banned }`). Adding a pattern again replaces its
    /// expiry. Fails with `InvalidArgument` for a malformed pattern; a full ban list
    /// (65 536 patterns) refuses it later, with a log message.
    pub fn ban(&self, pattern: &str, duration: Option<Duration>) -> Result<(), PeerError> {
        self.check_running()?;
        Endpoint::check_ban_pattern(pattern).map_err(|_| PeerError::InvalidArgument)?;
        self.push(Command::Ban {
            pattern: pattern.to_owned(),
            duration: duration.filter(|d| !d.is_zero()),
        })
    }

    /// Removes a pattern added by `ban` (written the same way); a pattern that is not on
    /// the list is ignored. `InvalidArgument` for a malformed pattern.
    pub fn unban(&self, pattern: &str) -> Result<(), PeerError> {
        self.check_running()?;
        Endpoint::check_ban_pattern(pattern).map_err(|_| PeerError::InvalidArgument)?;
        self.push(Command::Unban(pattern.to_owned()))
    }

    /// Removes every ban, temporary ones included.
    pub fn clear_bans(&self) -> Result<(), PeerError> {
        self.check_running()?;
        self.push(Command::ClearBans)
    }

    /// Sets the timeout of one connection or attempt (RakNet's `SetTimeoutTime` for one
    /// system): it is lost after this long without hearing from the remote system.
    /// `StaleConnection` if `conn` is gone, `InvalidArgument` for zero.
    pub fn set_conn_timeout(&self, conn: ConnId, timeout: Duration) -> Result<(), PeerError> {
        self.check_running()?;
        if timeout.is_zero() {
            return Err(PeerError::InvalidArgument);
        }
        if self.shared.registry.get(conn).is_none() {
            return Err(PeerError::StaleConnection);
        }
        self.push(Command::SetConnTimeout { conn, timeout })
    }

    /// The established connections (handshake complete, not closing), in id order.
    /// RakNet's `GetConnectionList`.
    pub fn connections(&self) -> Result<Vec<ConnId>, PeerError> {
        self.check_running()?;
        Ok(self.shared.registry.connected_ids())
    }

    /// The live connection to the system with this GUID (known once connected, for
    /// outgoing attempts once the handshake reports it).
    pub fn conn_by_guid(&self, guid: u64) -> Result<Option<ConnId>, PeerError> {
        self.check_running()?;
        Ok(self.shared.registry.find_by_guid(guid))
    }

    /// The live connection or attempt using remote address `addr` (an IPv4-mapped IPv6
    /// address counts as its IPv4 address).
    pub fn conn_by_addr(&self, addr: SocketAddr) -> Result<Option<ConnId>, PeerError> {
        self.check_running()?;
        Ok(self.shared.registry.find_by_addr(normalize(addr)))
    }

    /// A statistics snapshot of `conn`, computed by the network thread on request: the
    /// call waits for its answer (one pass of the network loop, typically microseconds).
    /// `StaleConnection` if `conn` is gone, `NotConnected` while an outgoing attempt has
    /// not reached the connected-mode handshake, `QueueFull`.
    pub fn conn_stats(&self, conn: ConnId) -> Result<ConnStats, PeerError> {
        self.check_running()?;
        let state = self.shared.registry.get(conn).map(|c| c.state);
        if state.is_none() {
            return Err(PeerError::StaleConnection);
        }
        match self.ask(Query::ConnStats(conn))? {
            Answer::ConnStats(Some(stats)) => Ok(*stats),
            Answer::ConnStats(None) if state == Some(ConnState::Connecting) => {
                Err(PeerError::NotConnected)
            }
            _ => Err(PeerError::StaleConnection),
        }
    }

    /// The protocol core's counters (datagrams and bytes, drops and refusals by reason)
    /// and its number of connections and attempts, fetched like `conn_stats`.
    pub fn endpoint_stats(&self) -> Result<(EndpointStats, usize), PeerError> {
        self.check_running()?;
        match self.ask(Query::EndpointStats)? {
            Answer::EndpointStats(stats, conns) => Ok((*stats, conns)),
            Answer::ConnStats(_) => Err(PeerError::Failed),
        }
    }

    /// Sends `query` to the network thread and waits for the answer. The wait ends with
    /// `Failed` if the thread dies first (it drops pending commands, and so the reply
    /// sender, on its way out; the periodic check covers a command it never reached).
    fn ask(&self, query: Query) -> Result<Answer, PeerError> {
        let (reply, answer) = sync_channel(1);
        self.push(Command::Query { query, reply })?;
        loop {
            match answer.recv_timeout(Duration::from_millis(100)) {
                Ok(a) => return Ok(a),
                Err(RecvTimeoutError::Disconnected) => return Err(PeerError::Failed),
                Err(RecvTimeoutError::Timeout) => {
                    if self.shared.is_failed() || self.shared.stop() != Stop::No {
                        return Err(PeerError::Failed);
                    }
                }
            }
        }
    }
}
