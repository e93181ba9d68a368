//! `rak_result`: the status every fallible export returns, and the one place where
//! runtime and protocol errors become C integers. Values are append-only (STYLE §5):
//! never renumber one, and keep a retired value here as a comment.

use std::ffi::c_char;

use crate::proto::{ConnectError, SendError};
use crate::runtime::PeerError;

/// Status of a call. `RAK_RESULT_OK` (0) is success; every error is negative.
///
/// New values are only ever appended; a value never changes its meaning.
/// `rak_result_str()` turns any value into text.
#[repr(i32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rak_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = -1,
    /// An argument is out of range: unknown enum value, bad length, port 0, ...
    InvalidArgument = -2,
    /// The handle (connection, peer, config or message) no longer exists, or never did.
    StaleHandle = -3,
    /// The peer's command queue is full. Poll events and retry; nothing was queued.
    QueueFull = -4,
    /// The connection's send buffer is full. Poll events and retry; nothing was queued.
    BufferFull = -5,
    /// The connection exists but is not connected yet, or is closing.
    NotConnected = -6,
    /// The operating system refused a socket operation (bind, ...).
    Io = -7,
    /// A bug inside the library (a caught panic). The call had no effect, or an unknown one.
    Internal = -8,
    /// The peer's network thread failed; the peer is unusable. Destroy it.
    PeerFailed = -9,
    /// A connection or attempt to that address already exists.
    AlreadyConnected = -10,
    /// The data is larger than the library accepts.
    TooLarge = -11,
    /// The host name could not be resolved, or the address cannot be used.
    Address = -12,
    /// The caller's buffer is too small for the result; nothing was written.
    BufferTooSmall = -13,
    /// The peer has been shut down with `rak_peer_shutdown()`.
    ShutDown = -14,
    /// Nothing matches: no connection with that GUID or address.
    NotFound = -15,
}

/// `rak_result` as it crosses the ABI. The header declares it with the enum's
/// typedef (cbindgen.toml renames this alias); Rust receives the plain integer and
/// validates it, as a Rust enum holding a value C made up would be undefined behaviour.
pub type rak_result_raw = i32;

impl rak_result {
    /// The static text for this value.
    fn text(self) -> &'static std::ffi::CStr {
        match self {
            rak_result::Ok => c"ok",
            rak_result::NullArgument => c"null argument",
            rak_result::InvalidArgument => c"invalid argument",
            rak_result::StaleHandle => c"stale handle",
            rak_result::QueueFull => c"command queue full",
            rak_result::BufferFull => c"send buffer full",
            rak_result::NotConnected => c"not connected",
            rak_result::Io => c"i/o error",
            rak_result::Internal => c"internal error",
            rak_result::PeerFailed => c"peer failed",
            rak_result::AlreadyConnected => c"already connected",
            rak_result::TooLarge => c"too large",
            rak_result::Address => c"bad or unresolvable address",
            rak_result::BufferTooSmall => c"buffer too small",
            rak_result::ShutDown => c"peer shut down",
            rak_result::NotFound => c"not found",
        }
    }

    /// The value for a C integer, `None` if it names no result.
    pub(crate) fn from_i32(v: i32) -> Option<rak_result> {
        const ALL: [rak_result; 16] = [
            rak_result::Ok,
            rak_result::NullArgument,
            rak_result::InvalidArgument,
            rak_result::StaleHandle,
            rak_result::QueueFull,
            rak_result::BufferFull,
            rak_result::NotConnected,
            rak_result::Io,
            rak_result::Internal,
            rak_result::PeerFailed,
            rak_result::AlreadyConnected,
            rak_result::TooLarge,
            rak_result::Address,
            rak_result::BufferTooSmall,
            rak_result::ShutDown,
            rak_result::NotFound,
        ];
        ALL.into_iter().find(|r| *r as i32 == v)
    }
}

impl From<SendError> for rak_result {
    fn from(e: SendError) -> rak_result {
        match e {
            SendError::UnknownConnection => rak_result::StaleHandle,
            SendError::NotConnected => rak_result::NotConnected,
            SendError::InvalidChannel | SendError::Empty => rak_result::InvalidArgument,
            SendError::TooLarge => rak_result::TooLarge,
            SendError::BufferFull => rak_result::BufferFull,
        }
    }
}

impl From<ConnectError> for rak_result {
    fn from(e: ConnectError) -> rak_result {
        match e {
            ConnectError::AlreadyConnected => rak_result::AlreadyConnected,
            ConnectError::InvalidAddress => rak_result::Address,
            // The runtime picks connection ids; a refused id is its bug, not the caller's.
            ConnectError::InvalidId => rak_result::Internal,
        }
    }
}

impl From<PeerError> for rak_result {
    fn from(e: PeerError) -> rak_result {
        match e {
            PeerError::Io(_) => rak_result::Io,
            PeerError::QueueFull => rak_result::QueueFull,
            PeerError::StaleConnection => rak_result::StaleHandle,
            PeerError::NotConnected => rak_result::NotConnected,
            PeerError::InvalidArgument => rak_result::InvalidArgument,
            PeerError::Send(e) => e.into(),
            PeerError::Connect(e) => e.into(),
            PeerError::Failed => rak_result::PeerFailed,
        }
    }
}

/// Describes a result code in a few lower-case words, e.g. "stale handle".
///
/// Takes any integer: a value that names no result gives "unknown result".
/// The string is static and NUL-terminated; never free it.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_result_str(result: rak_result_raw) -> *const c_char {
    super::boundary::boundary_or(c"internal error".as_ptr(), || {
        rak_result::from_i32(result)
            .map_or(c"unknown result", rak_result::text)
            .as_ptr()
    })
}
