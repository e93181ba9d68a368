//! Windows: only what `socket2` and `polling` leave to us.
//!
//! - `SIO_UDP_CONNRESET` off. By default, once a datagram to a closed port draws an
//!   ICMP port-unreachable, Windows fails a later `recvfrom` on the socket with
//!   `WSAECONNRESET`, whoever the next datagram is from; a server would then skip a
//!   read for every client that went away. With the option off the ICMP error is simply
//!   ignored, as a UDP socket that is not connected ignores it on Linux.
//! - Winsock's error codes, for the classification in `socket.rs`.
//!
//! Winsock itself is started by `socket2` (see `sys/mod.rs`), and dual-stack sockets
//! come from `IPV6_V6ONLY` set explicitly in `socket.rs` (Windows' default is on).
#![allow(clippy::disallowed_types)]

use std::io;
use std::net::UdpSocket;
use std::os::windows::io::AsRawSocket;

use windows_sys::Win32::Networking::WinSock::{
    WSAIoctl, SIO_UDP_CONNRESET, SOCKET, WSAEADDRNOTAVAIL, WSAEAFNOSUPPORT, WSAEHOSTDOWN,
    WSAEHOSTUNREACH, WSAEINVAL, WSAEMSGSIZE, WSAENETDOWN, WSAENETRESET, WSAENETUNREACH, WSAENOBUFS,
};

/// After `bind`: turns `SIO_UDP_CONNRESET` off.
pub(super) fn tune(sock: &UdpSocket) -> io::Result<()> {
    let off: u32 = 0; // a Windows BOOL: FALSE
    let mut returned: u32 = 0;
    // SAFETY: the socket is open (borrowed from `sock` for the call); the input buffer
    // is a live 4-byte BOOL whose size is passed, there is no output buffer (null, 0),
    // `returned` is a live u32, and the call is synchronous (no OVERLAPPED, no routine).
    let rc = unsafe {
        WSAIoctl(
            sock.as_raw_socket() as SOCKET,
            SIO_UDP_CONNRESET,
            std::ptr::from_ref(&off).cast(),
            std::mem::size_of::<u32>() as u32,
            std::ptr::null_mut(),
            0,
            &mut returned,
            std::ptr::null_mut(),
            None,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Winsock error codes about one datagram or one remote system (the same list as the
/// Unix one in `socket.rs`; `WSAENETRESET` is an ICMP time-exceeded).
pub(super) fn is_transient(code: i32) -> bool {
    matches!(
        code,
        WSAENOBUFS
            | WSAEHOSTUNREACH
            | WSAENETUNREACH
            | WSAEHOSTDOWN
            | WSAENETDOWN
            | WSAENETRESET
            | WSAEMSGSIZE
            | WSAEAFNOSUPPORT
            | WSAEADDRNOTAVAIL
            | WSAEINVAL
    )
}

/// A receive into a buffer smaller than the datagram fails with `WSAEMSGSIZE` (the
/// datagram is lost).
pub(super) fn is_truncated(e: &io::Error) -> bool {
    e.raw_os_error() == Some(WSAEMSGSIZE)
}
