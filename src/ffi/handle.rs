//! Handles: `rak_conn` (a generational id the runtime validates) and the registries of
//! live heap objects (`rak_config`, `rak_peer`, `rak_message`) that let a destroyed or
//! released pointer come back as `RAK_RESULT_STALE_HANDLE` or a no-op instead of a crash.
//!
//! A registry only remembers addresses; it never dereferences them. An address reused by
//! a new object of the same kind is indistinguishable from the old one, so detection is
//! best effort, as documented in the header.

use std::collections::BTreeSet;

use parking_lot::RwLock;

use super::result::rak_result;
use crate::proto::ConnId;

/// A connection: a generational id, unique for the peer's lifetime and never reused.
///
/// `id` 0 is never a valid connection. After a connection ends (its
/// `RAK_EVENT_KIND_DISCONNECTED` or `RAK_EVENT_KIND_CONNECT_FAILED` event), every call
/// with it returns `RAK_RESULT_STALE_HANDLE`; so does a made-up id.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub struct rak_conn {
    /// The id; 0 = no connection.
    pub id: u64,
}

impl rak_conn {
    /// No connection.
    pub(crate) const NONE: rak_conn = rak_conn { id: 0 };

    /// The runtime's id, refusing 0 without asking it.
    pub(crate) fn conn_id(self) -> Result<ConnId, rak_result> {
        if self.id == 0 {
            return Err(rak_result::StaleHandle);
        }
        Ok(ConnId(self.id))
    }
}

impl From<ConnId> for rak_conn {
    fn from(id: ConnId) -> rak_conn {
        rak_conn { id: id.0 }
    }
}

/// The set of live objects of one kind, by address.
pub(crate) struct Registry {
    live: RwLock<BTreeSet<usize>>,
}

impl Registry {
    /// An empty registry (usable in a `static`).
    pub(crate) const fn new() -> Registry {
        Registry {
            live: RwLock::new(BTreeSet::new()),
        }
    }

    /// Records a new object.
    pub(crate) fn insert<T>(&self, p: *const T) {
        self.live.write().insert(p as usize);
    }

    /// Whether `p` is a live object. NULL → NULL_ARGUMENT, unknown → STALE_HANDLE.
    pub(crate) fn check<T>(&self, p: *const T) -> Result<(), rak_result> {
        if p.is_null() {
            return Err(rak_result::NullArgument);
        }
        if self.live.read().contains(&(p as usize)) {
            Ok(())
        } else {
            Err(rak_result::StaleHandle)
        }
    }

    /// Forgets an object; true if it was live (so the caller may free it, once).
    pub(crate) fn remove<T>(&self, p: *const T) -> bool {
        !p.is_null() && self.live.write().remove(&(p as usize))
    }
}
