//! `rak_message`: received bytes the library owns until `rak_message_release()`.
//!
//! Messages live in a process-wide slab of slots that is never freed, so that handing
//! one out and taking it back allocates nothing in the steady state, and so that any
//! pointer can be checked without dereferencing memory we do not own: a pointer is a
//! message only if it lies on a slot boundary inside one of the slab's chunks, and it is
//! live only while its slot says so. A release flips the slot from live to free with one
//! compare-and-swap (a second release of the same message fails it and is a no-op),
//! hands the bytes back to the runtime's buffer pool (`runtime/pool.rs`) and retires
//! the slot: it waits behind the next `QUARANTINE` releases (so a stale pointer keeps
//! reading as released for a while, as with the heap objects this replaced) before it
//! joins a lock-free free list. The slab grows in chunks of doubling size up to the
//! most messages ever held at once (about 48 bytes each); idle slots keep no buffer.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;

use crossbeam_queue::ArrayQueue;

use parking_lot::Mutex;

use super::boundary::boundary_or;
use crate::runtime::recycle;

/// Bytes received from the network (a `RAK_EVENT_KIND_MESSAGE`'s message, or a pong's
/// offline data). Opaque: read it with `rak_message_data()` and `rak_message_len()`.
///
/// The library owns it until the application calls `rak_message_release()`, exactly
/// once, from any thread, at any time (also after the peer was destroyed).
#[allow(non_camel_case_types)]
pub struct rak_message {
    /// `FREE` or `LIVE`.
    state: AtomicU8,
    /// Free-list link: index + 1 of the next free slot (0 = none).
    next: AtomicU32,
    /// This slot's index in the slab.
    index: u32,
    /// The bytes; written only by the thread that owns the slot (taking it from the
    /// free list, or winning the release CAS).
    data: UnsafeCell<Vec<u8>>,
}

// SAFETY: `data` is only written by the one thread that owns the slot (see above); the
// header documents that a message must not be read while it is being released.
unsafe impl Sync for rak_message {}

const FREE: u8 = 0;
const LIVE: u8 = 1;

/// Slots in chunk 0; chunk k holds `FIRST << k`.
const FIRST: usize = 64;
/// Chunks: room for every u32 index (64 × (2^27 − 1) slots).
const CHUNKS: usize = 27;
/// Released slots wait behind this many later releases before they are reused, so a
/// second release (or a read) of a released message is detected unless that many
/// other messages were released in between.
const QUARANTINE: usize = 1024;

struct Slab {
    chunks: [AtomicPtr<rak_message>; CHUNKS],
    /// Slots handed out at least once (the next never-used index).
    used: AtomicU32,
    /// Free-list head: low 32 bits index + 1 (0 = empty), high 32 bits a tag that every
    /// push and pop changes, so a stale head never wins a compare-and-swap (ABA).
    head: AtomicU64,
    /// Serializes the allocation of new chunks (rare).
    grow: Mutex<()>,
    /// Indexes of released slots, oldest first, not yet on the free list.
    quarantine: OnceLock<ArrayQueue<u32>>,
}

static SLAB: Slab = Slab {
    chunks: [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS],
    used: AtomicU32::new(0),
    head: AtomicU64::new(0),
    grow: Mutex::new(()),
    quarantine: OnceLock::new(),
};

/// Chunk and offset of slot `i`.
fn locate(i: u32) -> (usize, usize) {
    let n = i as usize / FIRST + 1;
    let k = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (k, i as usize - FIRST * ((1 << k) - 1))
}

impl Slab {
    /// Slot `i`, allocating its chunk if needed. Only for `i` below `used` or just
    /// reserved by the caller.
    fn slot(&self, i: u32) -> &'static rak_message {
        let (k, off) = locate(i);
        let mut base = self.chunks[k].load(Ordering::Acquire);
        if base.is_null() {
            let _g = self.grow.lock();
            base = self.chunks[k].load(Ordering::Acquire);
            if base.is_null() {
                let first = FIRST * ((1 << k) - 1);
                let chunk: Box<[rak_message]> = (0..FIRST << k)
                    .map(|j| rak_message {
                        state: AtomicU8::new(FREE),
                        next: AtomicU32::new(0),
                        index: (first + j) as u32,
                        data: UnsafeCell::new(Vec::new()),
                    })
                    .collect();
                // Leaked on purpose: slots must stay addressable for the process's life
                // so that stale pointers can be checked.
                base = Box::leak(chunk).as_mut_ptr();
                self.chunks[k].store(base, Ordering::Release);
            }
        }
        // SAFETY: `base` points to a leaked chunk of `FIRST << k` slots and `off` is
        // below that (from `locate`); the chunk is never freed.
        unsafe { &*base.add(off) }
    }

    /// The slot `p` points to, if it is one: never dereferences `p` itself.
    fn find(&self, p: *const rak_message) -> Option<&'static rak_message> {
        if p.is_null() {
            return None;
        }
        let size = std::mem::size_of::<rak_message>();
        let addr = p as usize;
        for (k, chunk) in self.chunks.iter().enumerate() {
            let base = chunk.load(Ordering::Acquire);
            if base.is_null() {
                break;
            }
            let start = base as usize;
            let off = addr.wrapping_sub(start);
            if addr >= start && off < (FIRST << k) * size && off % size == 0 {
                // SAFETY: `p` is a slot boundary inside a leaked, never-freed chunk.
                return Some(unsafe { &*base.add(off / size) });
            }
        }
        None
    }

    /// A free slot, owned by the caller.
    fn pop(&self) -> &'static rak_message {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let top = head as u32;
            if top == 0 {
                // Never wraps in practice: 2^32 messages held at once would need 160 GiB.
                let i = self.used.fetch_add(1, Ordering::Relaxed);
                return self.slot(i);
            }
            let slot = self.slot(top - 1);
            let next = slot.next.load(Ordering::Relaxed);
            let new = (head & !0xFFFF_FFFF).wrapping_add(1 << 32) | u64::from(next);
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => return slot,
                Err(h) => head = h,
            }
        }
    }

    /// A slot the caller owns was released: it is reused after `QUARANTINE` more.
    fn retire(&self, slot: &'static rak_message) {
        let q = self.quarantine.get_or_init(|| ArrayQueue::new(QUARANTINE));
        if let Some(oldest) = q.force_push(slot.index) {
            self.push(self.slot(oldest));
        }
    }

    /// Returns a slot the caller owns to the free list.
    fn push(&self, slot: &'static rak_message) {
        let link = slot.index + 1;
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            slot.next.store(head as u32, Ordering::Relaxed);
            let new = (head & !0xFFFF_FFFF).wrapping_add(1 << 32) | u64::from(link);
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }
}

/// Hands `data` to the application as a new message.
pub(crate) fn new_message(data: Vec<u8>) -> *mut rak_message {
    let slot = SLAB.pop();
    // SAFETY: the slot came off the free list (or was never used): this thread owns it
    // until the store below publishes it.
    unsafe { *slot.data.get() = data };
    slot.state.store(LIVE, Ordering::Release);
    std::ptr::from_ref(slot).cast_mut()
}

fn live<'a>(message: *const rak_message) -> Option<&'a [u8]> {
    let slot = SLAB.find(message)?;
    if slot.state.load(Ordering::Acquire) != LIVE {
        return None;
    }
    // SAFETY: live, so the bytes are not being written (a release concurrent with this
    // read is the caller's error, as documented).
    Some(unsafe { &*slot.data.get() }.as_slice())
}

/// The first byte of the message. The message starts with its RakNet message id
/// (134, ID_USER_PACKET_ENUM, or above for application messages).
///
/// The pointer stays valid until `rak_message_release(message)`. Returns NULL if
/// `message` is NULL or already released. For an empty message it returns a non-NULL
/// pointer that must not be read.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_message_data(message: *const rak_message) -> *const u8 {
    boundary_or(std::ptr::null(), || {
        live(message).map_or(std::ptr::null(), <[u8]>::as_ptr)
    })
}

/// Length of the message in bytes; 0 if `message` is NULL or already released.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_message_len(message: *const rak_message) -> usize {
    boundary_or(0, || live(message).map_or(0, <[u8]>::len))
}

/// Gives a message back to the library. Call it exactly once per message, from any
/// thread. NULL is a no-op; so is a second release of the same message, as far as the
/// library can detect (it cannot once the library has reused the message object for a
/// new message, which happens after at least 1024 later releases). A pointer that never
/// was a message is ignored.
///
/// Thread safety: any thread (but not concurrently with reads of the same message).
#[no_mangle]
pub extern "C" fn rak_message_release(message: *mut rak_message) {
    boundary_or((), || {
        let Some(slot) = SLAB.find(message) else {
            return;
        };
        if slot
            .state
            .compare_exchange(LIVE, FREE, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            // SAFETY: winning the CAS made this thread the slot's only owner.
            let data = std::mem::take(unsafe { &mut *slot.data.get() });
            recycle(data);
            SLAB.retire(slot);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_map_to_chunks() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(63), (0, 63));
        assert_eq!(locate(64), (1, 0));
        assert_eq!(locate(191), (1, 127));
        assert_eq!(locate(192), (2, 0));
        assert_eq!(locate(u32::MAX).0, 26);
    }

    #[test]
    fn release_is_once_and_bogus_pointers_are_ignored() {
        let m = new_message(b"hi".to_vec());
        assert_eq!(rak_message_len(m), 2);
        let i = SLAB.find(m).unwrap().index;
        assert_eq!(std::ptr::from_ref(SLAB.slot(i)), m.cast_const());
        rak_message_release(m);
        assert_eq!(rak_message_len(m), 0);
        assert!(rak_message_data(m).is_null());
        rak_message_release(m); // no-op
                                // Inside a slot, or not in the slab at all.
        rak_message_release(m.cast::<u8>().wrapping_add(1).cast());
        let mut x = 0u64;
        rak_message_release(std::ptr::from_mut(&mut x).cast());
        rak_message_release(std::ptr::null_mut());
    }

    #[test]
    fn many_threads_reuse_slots() {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..20_000u32 {
                        let m = new_message(vec![t; 1 + (i % 100) as usize]);
                        assert_eq!(rak_message_len(m), 1 + (i % 100) as usize);
                        // SAFETY: live and not released yet.
                        assert_eq!(unsafe { *rak_message_data(m) }, t);
                        rak_message_release(m);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(SLAB.used.load(Ordering::Relaxed) < 2 * QUARANTINE as u32);
    }
}
