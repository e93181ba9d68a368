//! A cheap hasher for maps keyed by ids this process assigns itself ([`ConnId`]).
//!
//! `Endpoint::send` looks its connection up once per message, and every datagram in or
//! out looks one up too; with std's SipHash-1-3 that lookup cost more than queueing the
//! message (about 140 instructions of ~3,000 per message on the sending side in a
//! callgrind profile of the T1 benchmark). Ids are chosen locally (a counter for incoming
//! connections, the caller's choice for outgoing ones), so nobody on the network can pick
//! keys that collide: the flooding resistance SipHash buys is not needed here. Maps keyed
//! by what peers send (addresses, GUIDs) keep std's keyed hasher.
//!
//! The mix is FxHash's (multiply by a 64-bit odd constant), with the final rotation of
//! `rustc-hash` 2 so that the table index (low bits) depends on the well-mixed high bits
//! of the product. A few lines do not justify a dependency.
//!
//! [`ConnId`]: super::event::ConnId

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash's multiplier (an odd constant with well-spread bits).
const K: u64 = 0xf135_7aea_2e62_a9c5;

/// Hashes the integers an id is made of; not for keys an attacker chooses.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdHasher {
    hash: u64,
}

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Not used by integer keys; kept correct for any `Hash` impl.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.hash = self.hash.wrapping_add(i).wrapping_mul(K);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }
}

/// A `HashMap` keyed by locally assigned ids.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::event::ConnId;
    use std::hash::BuildHasher;

    #[test]
    fn sequential_ids_spread_over_buckets() {
        let b = BuildHasherDefault::<IdHasher>::default();
        // Low bits pick the bucket: 1024 consecutive ids (both id spaces) should fill
        // most of 1024 buckets.
        for top in [0, ConnId::INCOMING_BIT] {
            let mut seen = vec![false; 1024];
            for i in 1..=1024u64 {
                let h = b.hash_one(ConnId(top | i));
                seen[(h & 1023) as usize] = true;
            }
            let used = seen.iter().filter(|&&s| s).count();
            assert!(used > 600, "{used}");
        }
        assert_ne!(b.hash_one(ConnId(1)), b.hash_one(ConnId(2)));
    }

    #[test]
    fn map_works() {
        let mut m: IdMap<ConnId, u32> = IdMap::default();
        for i in 0..100 {
            m.insert(ConnId(i | ConnId::INCOMING_BIT), i as u32);
        }
        assert_eq!(m.len(), 100);
        assert_eq!(m.get(&ConnId(7 | ConnId::INCOMING_BIT)), Some(&7));
        assert_eq!(m.get(&ConnId(7)), None);
    }
}
