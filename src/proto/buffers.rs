//! Where the core gets the buffers of the messages it delivers (`Event::Message` data).
//!
//! By default each delivered message is a fresh `Vec`. A driver that hands the buffers
//! back once the application is done with them can plug in a recycling pool
//! ([`MessageBuffers`]) through [`ReliabilityConfig::buffers`](super::ReliabilityConfig),
//! so the steady state allocates nothing per message. The core only ever *takes*
//! buffers: returning them is the driver's business, since it is the driver that knows
//! when the application released one. Nothing here is a protocol decision.

use std::fmt;
use std::sync::Arc;

/// A source of empty byte buffers (a recycling pool, typically shared with the threads
/// that give them back).
pub trait MessageBuffers: Send + Sync {
    /// An empty buffer whose capacity is at least `len`.
    fn take(&self, len: usize) -> Vec<u8>;
}

/// The core's handle on an optional [`MessageBuffers`]; the default allocates.
///
/// Two handles compare equal when they share the same pool (or both have none), so
/// configurations stay comparable.
#[derive(Clone, Default)]
pub struct BufferSource(Option<Arc<dyn MessageBuffers>>);

impl BufferSource {
    /// Takes buffers from `pool`.
    pub fn new(pool: Arc<dyn MessageBuffers>) -> BufferSource {
        BufferSource(Some(pool))
    }

    /// An owned copy of `data`, in a buffer from the pool if there is one.
    pub(crate) fn copy_of(&self, data: &[u8]) -> Vec<u8> {
        match &self.0 {
            None => data.to_vec(),
            Some(pool) => {
                let mut v = pool.take(data.len());
                v.extend_from_slice(data);
                v
            }
        }
    }
}

impl PartialEq for BufferSource {
    fn eq(&self, other: &BufferSource) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for BufferSource {}

impl fmt::Debug for BufferSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "BufferSource(pool)"
        } else {
            "BufferSource(alloc)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl MessageBuffers for Counting {
        fn take(&self, len: usize) -> Vec<u8> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Vec::with_capacity(len.max(64))
        }
    }

    #[test]
    fn copies_come_from_the_pool_when_there_is_one() {
        assert_eq!(BufferSource::default().copy_of(b"abc"), b"abc");
        let pool = Arc::new(Counting::default());
        let src = BufferSource::new(pool.clone());
        let v = src.copy_of(b"abc");
        assert_eq!((v.as_slice(), v.capacity()), (&b"abc"[..], 64));
        assert_eq!(pool.0.load(Ordering::Relaxed), 1);
        assert_eq!(src, src.clone());
        assert_ne!(src, BufferSource::default());
    }
}
