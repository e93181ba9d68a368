//! `rak_message`: received bytes the library owns until `rak_message_release()`.
//! Every live message is in a registry, so a second release is a detectable no-op.

use super::boundary::{boundary_or, obj_ref};
use super::handle::Registry;

/// Bytes received from the network (a `RAK_EVENT_KIND_MESSAGE`'s message, or a pong's
/// offline data). Opaque: read it with `rak_message_data()` and `rak_message_len()`.
///
/// The library owns it until the application calls `rak_message_release()`, exactly
/// once, from any thread, at any time (also after the peer was destroyed).
#[allow(non_camel_case_types)]
pub struct rak_message {
    data: Vec<u8>,
}

static MESSAGES: Registry = Registry::new();

/// Hands `data` to the application as a new message.
pub(crate) fn new_message(data: Vec<u8>) -> *mut rak_message {
    let m = Box::into_raw(Box::new(rak_message { data }));
    MESSAGES.insert(m);
    m
}

fn live<'a>(message: *const rak_message) -> Option<&'a rak_message> {
    MESSAGES.check(message).ok()?;
    obj_ref(message).ok()
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
        live(message).map_or(std::ptr::null(), |m| m.data.as_ptr())
    })
}

/// Length of the message in bytes; 0 if `message` is NULL or already released.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_message_len(message: *const rak_message) -> usize {
    boundary_or(0, || live(message).map_or(0, |m| m.data.len()))
}

/// Gives a message back to the library. Call it exactly once per message, from any
/// thread. NULL is a no-op; so is a second release of the same message, as far as the
/// library can detect (it cannot once the address has been reused for a new message).
///
/// Thread safety: any thread (but not concurrently with reads of the same message).
#[no_mangle]
pub extern "C" fn rak_message_release(message: *mut rak_message) {
    boundary_or((), || {
        if MESSAGES.remove(message) {
            // SAFETY: the registry held this address, so it came from Box::into_raw in
            // new_message and was not freed; removing it makes this the only free.
            drop(unsafe { Box::from_raw(message) });
        }
    })
}
