//! `rak_callbacks` and `rak_peer_dispatch()`: the callback alternative to polling, in
//! the manner of GameNetworkingSockets' `RunCallbacks`. Events are taken from the same
//! queue `rak_peer_poll()` reads and handed, one at a time, to the registered function
//! for their kind, on the thread that calls `rak_peer_dispatch()`. Which events happen
//! is decided below this layer.

use std::ffi::c_void;

use super::boundary::{boundary, obj_ref, Out};
use super::event::{rak_event, rak_event_kind};
use super::message::rak_message_release;
use super::peer::{peer_obj, rak_peer, with_peer};
use super::result::rak_result;

/// The functions `rak_peer_dispatch()` calls, one per kind of event; NULL members are
/// allowed. Each receives the `userdata` given to `rak_peer_set_callbacks()` first, and
/// the event, which is valid only during the call. Zero-initialize the struct and set
/// the members you need.
///
/// An event whose member is NULL goes to `on_other` if that is set, and is otherwise
/// discarded (its message released). Callbacks run on the thread that calls
/// `rak_peer_dispatch()`. They may call any function of this library, including
/// `rak_peer_send()`, `rak_peer_set_callbacks()`, `rak_peer_shutdown()` and
/// `rak_peer_dispatch()` itself (events stay in order), but must not call
/// `rak_peer_destroy()` on the dispatching peer, and must not unwind (throw a C++
/// exception) out of the call.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
#[allow(non_camel_case_types)]
pub struct rak_callbacks {
    /// RAK_EVENT_KIND_CONNECTED: a connection finished its handshake.
    pub on_connected: Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const rak_event)>,
    /// RAK_EVENT_KIND_CONNECT_FAILED: an outgoing attempt failed (`event->reason`).
    pub on_connect_failed:
        Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const rak_event)>,
    /// RAK_EVENT_KIND_MESSAGE. `event->message` is released when the callback returns
    /// false. Returning true keeps it: the application then owns it and must pass it to
    /// `rak_message_release()` later, exactly once (from any thread).
    pub on_message:
        Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const rak_event) -> bool>,
    /// RAK_EVENT_KIND_DISCONNECTED: an established connection ended (`event->reason`).
    pub on_disconnected:
        Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const rak_event)>,
    /// RAK_EVENT_KIND_RECEIPT_ACKED and RAK_EVENT_KIND_RECEIPT_LOST (`event->kind` says
    /// which, `event->receipt` which send).
    pub on_receipt: Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const rak_event)>,
    /// Every other event (PONG, ADVERTISE, FATAL, and kinds added later), and the kinds
    /// above whose member is NULL. A message in the event is released when it returns.
    pub on_other: Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const rak_event)>,
}

/// Registered callbacks and their userdata.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Callbacks {
    table: rak_callbacks,
    userdata: *mut c_void,
}

// SAFETY: the header says the callbacks run on whichever thread calls
// `rak_peer_dispatch()`, with `userdata`; the library never dereferences `userdata`.
unsafe impl Send for Callbacks {}

impl Callbacks {
    /// Hands `ev` to its callback. Returns true if the application kept the message.
    fn call(&self, ev: &rak_event) -> bool {
        use rak_event_kind as K;
        let t = &self.table;
        let specific: Option<unsafe extern "C" fn(*mut c_void, *const rak_event)> = match ev.kind {
            K::Connected => t.on_connected,
            K::ConnectFailed => t.on_connect_failed,
            K::Disconnected => t.on_disconnected,
            K::ReceiptAcked | K::ReceiptLost => t.on_receipt,
            K::Message => {
                if let Some(f) = t.on_message {
                    // SAFETY: the application registered a function of this signature
                    // to be called on this thread with `userdata`; `ev` outlives the call.
                    return unsafe { f(self.userdata, ev) };
                }
                None
            }
            K::Pong | K::Fatal | K::Advertise | K::SecurityAlert => None,
        };
        if let Some(f) = specific.or(t.on_other) {
            // SAFETY: as above.
            unsafe { f(self.userdata, ev) };
        }
        false
    }
}

/// Registers `callbacks` (copied) for `rak_peer_dispatch()`, with `userdata` passed
/// first to each of them. NULL `callbacks` removes the registration. Takes effect from
/// the next event dispatched, also when called from inside a callback.
///
/// Use either dispatching or polling (`rak_peer_poll()`, `rak_peer_wait()`) on a peer:
/// both take events from the same queue.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` is NULL;
/// RAK_RESULT_STALE_HANDLE if `peer` was destroyed.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_set_callbacks(
    peer: *const rak_peer,
    callbacks: *const rak_callbacks,
    userdata: *mut c_void,
) -> rak_result {
    boundary(|| {
        let p = peer_obj(peer)?;
        let registered = if callbacks.is_null() {
            None
        } else {
            Some(Callbacks {
                table: *obj_ref(callbacks)?,
                userdata,
            })
        };
        *p.callbacks.lock() = registered;
        Ok(())
    })
}

/// Takes up to `max_events` events that are already waiting, one at a time, and calls
/// the registered callback for each (see `rak_callbacks`) on this thread. Never
/// blocks waiting for events. Writes the number of events taken to
/// `*out_dispatched`.
///
/// Calls on other threads wait while one runs, so callbacks never run concurrently and
/// see events in order. If a callback shuts the peer down, or removes the callbacks,
/// dispatching stops after that event and the call returns RAK_RESULT_OK.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` or `out_dispatched` is
/// NULL; RAK_RESULT_INVALID_ARGUMENT if `max_events` is 0 or no callbacks are
/// registered (nothing is taken); RAK_RESULT_STALE_HANDLE if `peer` was destroyed;
/// RAK_RESULT_SHUT_DOWN.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_dispatch(
    peer: *const rak_peer,
    max_events: usize,
    out_dispatched: *mut usize,
) -> rak_result {
    boundary(|| {
        let out = Out::new(out_dispatched)?;
        let p = peer_obj(peer)?;
        if max_events == 0 {
            return Err(rak_result::InvalidArgument);
        }
        let _serial = p.dispatching.lock();
        let mut n = 0;
        while n < max_events {
            let Some(callbacks) = *p.callbacks.lock() else {
                if n == 0 {
                    return Err(rak_result::InvalidArgument);
                }
                break;
            };
            // The peer's lock is not held during the callback, so that it may shut
            // the peer down.
            let next = match with_peer(peer, |inner| Ok(inner.poll_event())) {
                Ok(next) => next,
                Err(rak_result::ShutDown) if n > 0 => break,
                Err(e) => return Err(e),
            };
            let Some(ev) = next else { break };
            let ev = rak_event::from(ev);
            n += 1;
            if !callbacks.call(&ev) {
                rak_message_release(ev.message);
            }
        }
        out.write(n);
        Ok(())
    })
}
