//! `rak_log_level` and `rak_config_set_log_callback()`: the C side of the runtime's
//! logging facade (`runtime/log.rs`). The callback is wrapped into a `runtime::LogSink`;
//! which messages exist and when they are produced is the runtime's business.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use super::boundary::boundary;
use super::config::{config_mut, rak_config};
use super::result::rak_result;
use crate::runtime::{LogLevel, LogSink, Logger};

/// How important a log message is: the `level` of the log callback and the `min_level`
/// of `rak_config_set_log_callback()`; lower is more important.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rak_log_level {
    /// The peer cannot go on: its network thread failed (the message says where).
    Error = 1,
    /// The peer survives it: dropped or malformed traffic, a ban refused, a lost
    /// connection.
    Warn = 2,
    /// Lifecycle: peer start and stop, connections opened, closed, refused.
    Info = 3,
    /// Detail: ban list changes.
    Debug = 4,
}

/// `rak_log_level` as it crosses the ABI. The header declares it with the enum's
/// typedef (cbindgen.toml renames this alias); Rust receives the plain integer and
/// validates it, as a Rust enum holding a value C made up would be undefined behaviour.
pub type rak_log_level_raw = u32;

const _: () = assert!(rak_log_level::Debug as u32 == LogLevel::Debug as u32);

/// A log callback and its userdata, callable from any thread.
struct CSink {
    callback: LogCallback,
    userdata: *mut c_void,
}

type LogCallback =
    unsafe extern "C" fn(userdata: *mut c_void, level: rak_log_level_raw, message: *const c_char);

// SAFETY: the header tells the caller that the callback runs on the peer's network
// thread (several peers' threads at once if it is registered for several peers) with
// `userdata`; the library never dereferences `userdata` itself.
unsafe impl Send for CSink {}
// SAFETY: as above; the library only passes the pointer along.
unsafe impl Sync for CSink {}

impl CSink {
    fn call(&self, level: LogLevel, text: &str) {
        // A NUL inside the text would cut it short in C; none is expected.
        let Ok(msg) = CString::new(text.replace('\0', " ")) else {
            return;
        };
        // SAFETY: the caller registered a function with this signature, callable from
        // the network thread; `msg` is a NUL-terminated string valid during the call.
        unsafe { (self.callback)(self.userdata, level as u32, msg.as_ptr()) }
    }
}

/// Registers `callback`, called as `callback(userdata, level, message)` for every log
/// message at `min_level` (a RAK_LOG_LEVEL_* value) or more important, by every peer
/// created from this config. `message` is one line of NUL-terminated UTF-8 text,
/// valid only during the call. NULL `callback` removes it; by default nothing is
/// logged, and the library never writes to stdout or stderr.
///
/// The library logs peer start and stop, connections opened, closed, lost and refused,
/// ban list changes, and summaries of refused connection attempts and dropped or
/// malformed traffic (at most one of each per 10 s). If the network thread fails, its
/// panic message comes at RAK_LOG_LEVEL_ERROR before the RAK_EVENT_KIND_FATAL event.
///
/// The callback runs on the peer's network thread, not the caller's: it must be
/// thread-safe (peers log concurrently), return quickly (the peer's traffic waits
/// for it), not call back into this library for the logging peer, and not unwind
/// (throw a C++ exception) out of the call.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `config` is NULL;
/// RAK_RESULT_STALE_HANDLE if `config` was destroyed; RAK_RESULT_INVALID_ARGUMENT if
/// `min_level` is not a RAK_LOG_LEVEL_* value.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_log_callback(
    config: *mut rak_config,
    callback: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            level: rak_log_level_raw,
            message: *const c_char,
        ),
    >,
    userdata: *mut c_void,
    min_level: rak_log_level_raw,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        let min_level = LogLevel::from_u32(min_level).ok_or(rak_result::InvalidArgument)?;
        c.log = match callback {
            Some(callback) => {
                let sink = CSink { callback, userdata };
                let sink: LogSink = Arc::new(move |level, text: &str| sink.call(level, text));
                Logger::new(sink, min_level)
            }
            None => Logger::default(),
        };
        Ok(())
    })
}
