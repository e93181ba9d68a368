//! Maps keyed by connection id, hashed with one multiplication instead of SipHash.
//!
//! Application threads look a connection up in the registry and the send budgets on
//! every `Peer::send`, and the network thread in its send tracker for every message
//! applied: SipHash showed up at several percent of a small-message benchmark. The keys
//! are ids this library allocates (a counter, with the top bit for incoming ones), not
//! attacker-chosen values, so flooding resistance buys nothing here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::proto::ConnId;

/// A `HashMap` from connection ids.
pub(crate) type IdMap<V> = HashMap<ConnId, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of a `u64`: the product's high bits, which hashbrown uses for its
/// control bytes, depend on every bit of the id, and its low bits (the bucket index)
/// are a bijection of the id's.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `ConnId`; correct (if slower) for any other key.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_spread_over_buckets_and_control_bytes() {
        let mut map: IdMap<u64> = IdMap::default();
        for i in 1..=10_000u64 {
            map.insert(ConnId(i), i);
            map.insert(ConnId(i | ConnId::INCOMING_BIT), i);
        }
        assert_eq!(map.len(), 20_000);
        assert_eq!(map.get(&ConnId(77 | ConnId::INCOMING_BIT)), Some(&77));
        // High 7 bits (hashbrown's tag) differ for neighbouring ids.
        let tag = |i: u64| {
            let mut h = IdHasher::default();
            h.write_u64(i);
            h.finish() >> 57
        };
        let tags: std::collections::HashSet<u64> = (1..=256).map(tag).collect();
        assert!(tags.len() > 64, "only {} distinct tags", tags.len());
    }
}
