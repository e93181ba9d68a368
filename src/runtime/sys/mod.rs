//! The system layer: every operating-system call of the runtime (sockets, batched
//! datagrams, wakeups, timers, polling) behind one small API, with one implementation per
//! platform family. Nothing above this module names a `cfg(target_os)`, a raw descriptor
//! type or `unsafe`; the wakeup protocol itself (the sleep flag and its fences, the spin)
//! stays portable in `wake.rs`.
//!
//! - `socket.rs`: [`Socket`], a bound nonblocking UDP socket (made with `socket2`, so the
//!   options that must come before `bind` are set on every platform), single and batched
//!   send and receive, error classification. `batch.rs`: the batch buffers.
//! - `linux.rs` (Linux and Android): `recvmmsg`/`sendmmsg`, UDP GSO/GRO, the epoll set the
//!   network thread sleeps on (so that a waiting application thread may read the socket
//!   itself), `eventfd` wakeups, a `timerfd` for deadlines brought forward, `ppoll` with
//!   microsecond timeouts.
//! - `portable.rs` (macOS, the BSDs, Windows, anything else): the `polling` crate (kqueue,
//!   IOCP/AFD, ...) and its built-in notification; batches are loops of single datagrams.
//!   The Linux extras are capabilities that answer "not available" here
//!   ([`Sleeper::set_app_reading`] and [`Sleeper::arm_timer`] return false, and the
//!   runtime falls back to waking the network thread).
//! - `windows.rs`: only what the portable crates lack on Windows: `SIO_UDP_CONNRESET`
//!   off, and Winsock's error codes for the classification.
//!
//! Winsock is started by `socket2` before it makes its first socket (it binds a std
//! `UdpSocket` once, which runs the standard library's `WSAStartup`), so a C program
//! whose first call is `rak_peer_create` needs no start-up of its own.

mod batch;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod portable;
mod socket;
#[cfg(windows)]
mod windows;

#[cfg(any(target_os = "linux", target_os = "android"))]
use linux as imp;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
use portable as imp;

pub(crate) use batch::{RecvBatch, SendBatch, RECV_SLOT};
pub(crate) use imp::{AppWaiter, Sleeper};
pub(crate) use socket::{BindOptions, Recv, Sent, Socket};

/// The operating system's handle of a socket, as the pollers take it: a descriptor on
/// Unix, a `SOCKET` on Windows. Plain data: holding one keeps nothing open.
#[cfg(unix)]
pub(crate) type RawSock = std::os::fd::RawFd;
/// The operating system's handle of a socket, as the pollers take it: a descriptor on
/// Unix, a `SOCKET` on Windows. Plain data: holding one keeps nothing open.
#[cfg(windows)]
pub(crate) type RawSock = std::os::windows::io::RawSocket;

/// Which socket conditions should end a sleep.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Interest {
    /// A datagram can be read.
    pub(crate) read: bool,
    /// The send buffer has room again.
    pub(crate) write: bool,
}

/// Why a sleep ended (several may hold; all false after a timeout or cancelled sleep).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Woken {
    /// The socket is readable.
    pub(crate) readable: bool,
    /// The socket is writable.
    pub(crate) writable: bool,
    /// Someone called `notify` on the sleeper.
    pub(crate) notified: bool,
}
