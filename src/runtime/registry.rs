//! The connection registry: which connections exist and in what state, readable by
//! application threads without a round trip to the network thread.
//!
//! Only two kinds of writers touch it, with a fixed division of labour so that every
//! event the application sees agrees with a synchronous `send`/`conn_info`:
//! application threads insert outgoing attempts (`Connecting`) and mark closes
//! (`Disconnecting`); the network thread marks `Connected` *before* publishing
//! `Connected` and removes entries *before* publishing `Disconnected`/`ConnectFailed`.
//! It mirrors the core's connection table and makes no protocol decisions itself.

use crate::proto::idhash::IdMap;
use std::net::SocketAddr;

use parking_lot::RwLock;

use super::types::{ConnInfo, ConnState};
use crate::proto::ConnId;

/// Live connections by id.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    map: RwLock<IdMap<ConnId, ConnInfo>>,
}

impl Registry {
    /// Application thread: records a new outgoing attempt to `addr`, unless a connection
    /// or attempt to that address exists already (then returns false).
    pub(crate) fn insert_connecting(&self, id: ConnId, addr: SocketAddr) -> bool {
        let mut map = self.map.write();
        if map.values().any(|c| c.addr == addr) {
            return false;
        }
        map.insert(
            id,
            ConnInfo {
                addr,
                guid: 0,
                incoming: false,
                state: ConnState::Connecting,
            },
        );
        true
    }

    /// Network thread: the handshake completed. A close requested meanwhile stays in force.
    pub(crate) fn set_connected(&self, id: ConnId, addr: SocketAddr, guid: u64, incoming: bool) {
        let mut map = self.map.write();
        let state = match map.get(&id) {
            Some(c) if c.state == ConnState::Disconnecting => ConnState::Disconnecting,
            _ => ConnState::Connected,
        };
        map.insert(
            id,
            ConnInfo {
                addr,
                guid,
                incoming,
                state,
            },
        );
    }

    /// Application thread: a close was requested. No-op if the connection is gone.
    pub(crate) fn set_disconnecting(&self, id: ConnId) {
        if let Some(c) = self.map.write().get_mut(&id) {
            c.state = ConnState::Disconnecting;
        }
    }

    /// Removes a connection (ended, failed, or never started).
    pub(crate) fn remove(&self, id: ConnId) {
        self.map.write().remove(&id);
    }

    /// A snapshot of one connection.
    pub(crate) fn get(&self, id: ConnId) -> Option<ConnInfo> {
        self.map.read().get(&id).copied()
    }

    /// Ids of every connection not already closing.
    pub(crate) fn open_ids(&self) -> Vec<ConnId> {
        let map = self.map.read();
        map.iter()
            .filter(|(_, c)| c.state != ConnState::Disconnecting)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Ids of the established connections (state `Connected`), in id order.
    pub(crate) fn connected_ids(&self) -> Vec<ConnId> {
        let mut ids: Vec<ConnId> = self
            .map
            .read()
            .iter()
            .filter(|(_, c)| c.state == ConnState::Connected)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The live connection whose remote GUID is `guid` (known from the handshake on);
    /// an established one rather than one closing, if both exist.
    pub(crate) fn find_by_guid(&self, guid: u64) -> Option<ConnId> {
        if guid == 0 {
            return None;
        }
        self.find(|c| c.guid == guid)
    }

    /// The live connection or attempt using remote address `addr`.
    pub(crate) fn find_by_addr(&self, addr: SocketAddr) -> Option<ConnId> {
        self.find(|c| c.addr == addr)
    }

    /// The matching entry, preferring `Connected` over other states, then the lowest id.
    fn find(&self, f: impl Fn(&ConnInfo) -> bool) -> Option<ConnId> {
        let rank = |s: ConnState| u8::from(s != ConnState::Connected);
        self.map
            .read()
            .iter()
            .filter(|(_, c)| f(c))
            .min_by_key(|(id, c)| (rank(c.state), **id))
            .map(|(id, _)| *id)
    }

    /// Forgets everything (the network thread has stopped).
    pub(crate) fn clear(&self) {
        self.map.write().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        let r = Registry::default();
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert!(r.insert_connecting(ConnId(1), a));
        assert!(
            !r.insert_connecting(ConnId(2), a),
            "one attempt per address"
        );
        assert_eq!(r.get(ConnId(1)).unwrap().state, ConnState::Connecting);
        r.set_connected(ConnId(1), a, 42, false);
        let c = r.get(ConnId(1)).unwrap();
        assert_eq!((c.state, c.guid), (ConnState::Connected, 42));
        assert_eq!(r.open_ids(), vec![ConnId(1)]);
        r.set_disconnecting(ConnId(1));
        assert!(r.open_ids().is_empty());
        r.remove(ConnId(1));
        assert_eq!(r.get(ConnId(1)), None);
        r.set_disconnecting(ConnId(1));
        assert_eq!(r.get(ConnId(1)), None);
    }

    #[test]
    fn lookups_by_guid_and_address() {
        let r = Registry::default();
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:2".parse().unwrap();
        r.insert_connecting(ConnId(1), a);
        assert_eq!(r.find_by_addr(a), Some(ConnId(1)));
        assert_eq!(r.find_by_guid(0), None, "guid 0 means unknown");
        assert!(r.connected_ids().is_empty());
        r.set_connected(ConnId(1), a, 42, false);
        r.set_connected(ConnId(9), b, 43, true);
        assert_eq!(r.find_by_guid(42), Some(ConnId(1)));
        assert_eq!(r.find_by_guid(43), Some(ConnId(9)));
        assert_eq!(r.find_by_guid(44), None);
        assert_eq!(r.connected_ids(), vec![ConnId(1), ConnId(9)]);
        r.set_disconnecting(ConnId(1));
        assert_eq!(r.connected_ids(), vec![ConnId(9)]);
        assert_eq!(r.find_by_guid(42), Some(ConnId(1)), "closing is still live");
    }

    #[test]
    fn close_requested_during_handshake_wins() {
        let r = Registry::default();
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        r.insert_connecting(ConnId(1), a);
        r.set_disconnecting(ConnId(1));
        r.set_connected(ConnId(1), a, 7, false);
        assert_eq!(r.get(ConnId(1)).unwrap().state, ConnState::Disconnecting);
    }
}
