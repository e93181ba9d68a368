//! The process-wide pool of message buffers, so that the hot path allocates nothing per
//! message once warm: the copy `Peer::send` queues for the network thread
//! ([`PooledBuf`], back in the pool when the command is done) and the buffers the core
//! delivers received messages in (taken through `proto::BufferSource`, given back by the
//! application: `runtime::recycle`, `rak_message_release()`).
//!
//! Buffers come in six size classes, 64 B to 2 KiB (every unsplit message at RakNet's
//! largest MTU); larger ones are allocated and freed as usual. Each class is a
//! lock-free bounded queue, created on first return, that keeps at most
//! `IDLE_BYTES_PER_CLASS` of idle buffers: a burst beyond that is freed, so the pool
//! never holds more than 1.5 MiB whatever the traffic was. Only buffers whose capacity
//! is exactly a class size are kept (the pool made them); others are freed. One pool per
//! process rather than per peer, because a received message may outlive its peer.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use crossbeam_queue::ArrayQueue;

use crate::proto::{BufferSource, MessageBuffers};

/// Smallest class capacity.
const MIN: usize = 64;
/// Capacities 64, 128, …, 2048.
const CLASSES: usize = 6;
/// Idle bytes kept per class (4096 buffers of 64 B, …, 128 of 2 KiB).
const IDLE_BYTES_PER_CLASS: usize = 256 * 1024;

static FREE: [OnceLock<ArrayQueue<Vec<u8>>>; CLASSES] = [const { OnceLock::new() }; CLASSES];

/// The smallest class that holds `len` bytes.
fn class_of_len(len: usize) -> Option<usize> {
    (0..CLASSES).find(|&c| MIN << c >= len)
}

/// An empty buffer with capacity for at least `len` bytes.
pub(crate) fn take(len: usize) -> Vec<u8> {
    let Some(c) = class_of_len(len) else {
        return Vec::with_capacity(len);
    };
    FREE[c]
        .get()
        .and_then(ArrayQueue::pop)
        .unwrap_or_else(|| Vec::with_capacity(MIN << c))
}

/// Gives a buffer back for reuse (kept only if it is one of the pool's sizes and the
/// pool has room for it; freed otherwise).
pub fn recycle(mut buf: Vec<u8>) {
    let cap = buf.capacity();
    let Some(c) = class_of_len(cap).filter(|&c| MIN << c == cap) else {
        return;
    };
    buf.clear();
    let queue = FREE[c].get_or_init(|| ArrayQueue::new(IDLE_BYTES_PER_CLASS / cap));
    let _ = queue.push(buf);
}

/// The pool as the core's buffer source.
pub(crate) fn source() -> BufferSource {
    struct Pool;
    impl MessageBuffers for Pool {
        fn take(&self, len: usize) -> Vec<u8> {
            take(len)
        }
    }
    static SOURCE: OnceLock<BufferSource> = OnceLock::new();
    SOURCE
        .get_or_init(|| BufferSource::new(Arc::new(Pool)))
        .clone()
}

/// Messages up to this many bytes travel inside the command itself: no buffer to take
/// from and give back to the pool, no pointer for the network thread to follow. Most
/// game messages (inputs, positions) are this small.
const INLINE: usize = 64;

/// A copy of a message on its way to the network thread: small ones inline, larger ones
/// in a pooled buffer that returns to the pool when dropped.
pub(crate) enum PooledBuf {
    /// `bytes[..len]`.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// A buffer from the pool.
    Heap(Vec<u8>),
}

impl PooledBuf {
    /// A copy of `data`.
    pub(crate) fn copy_of(data: &[u8]) -> PooledBuf {
        if data.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..data.len()].copy_from_slice(data);
            // INLINE < 256: the length fits.
            return PooledBuf::Inline {
                len: data.len() as u8,
                bytes,
            };
        }
        let mut v = take(data.len());
        v.extend_from_slice(data);
        PooledBuf::Heap(v)
    }
}

impl Deref for PooledBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            PooledBuf::Inline { len, bytes } => &bytes[..usize::from(*len)],
            PooledBuf::Heap(v) => v,
        }
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        if let PooledBuf::Heap(v) = self {
            recycle(std::mem::take(v));
        }
    }
}

impl fmt::Debug for PooledBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PooledBuf({} bytes)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_by_class() {
        let a = take(100);
        assert_eq!(a.capacity(), 128);
        let p = a.as_ptr();
        recycle(a);
        // Other tests share the pool, so look for our buffer among a few.
        let got: Vec<Vec<u8>> = (0..64).map(|_| take(65)).collect();
        assert!(got.iter().all(|b| b.capacity() == 128 && b.is_empty()));
        assert!(got.iter().any(|b| b.as_ptr() == p));
        got.into_iter().for_each(recycle);
    }

    #[test]
    fn odd_and_large_buffers_are_not_kept() {
        assert_eq!(take(5000).capacity(), 5000);
        let odd = Vec::with_capacity(100);
        recycle(odd); // freed, not pooled
        assert!(take(100).capacity() == 128);
    }

    #[test]
    fn a_pooled_copy_returns_its_buffer_when_dropped() {
        let data = [7u8; 100];
        let b = PooledBuf::copy_of(&data);
        assert!(matches!(b, PooledBuf::Heap(_)));
        assert_eq!(&*b, &data[..]);
        drop(b);
        assert!(FREE[1].get().is_some_and(|q| !q.is_empty()));
    }

    #[test]
    fn small_copies_are_inline() {
        for data in [&b"hello"[..], &[9u8; INLINE][..]] {
            let b = PooledBuf::copy_of(data);
            assert!(matches!(b, PooledBuf::Inline { .. }));
            assert_eq!(&*b, data);
        }
        assert!(matches!(
            PooledBuf::copy_of(&[1u8; INLINE + 1]),
            PooledBuf::Heap(_)
        ));
    }
}
