//! The UDP socket: nonblocking, large OS buffers, errors sorted into "stop reading",
//! "skip this one" and "try again later" so the network loop never dies of a transient
//! condition (an ICMP port unreachable surfacing as `ECONNREFUSED`, `EINTR`, `ENOBUFS`).
//!
//! It makes no protocol decisions and never blocks. One datagram per call for now; the
//! loop in `thread.rs` only asks for "the next datagram" and "send this one", so
//! `recvmmsg`/`sendmmsg` batches can replace the bodies here without touching it.
//! Addresses are normalized at this boundary: an IPv6 socket talks to IPv4 peers through
//! v4-mapped addresses, but the core only ever sees plain IPv4 `SocketAddr`s.
#![allow(clippy::disallowed_types)]

use std::io;
use std::net::{SocketAddr, SocketAddrV6, UdpSocket};

/// Socket buffer size asked of the OS (best effort: Linux caps it at `rmem_max`).
const OS_BUFFER_BYTES: usize = 4 << 20;

/// What one receive attempt produced.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Recv {
    /// `len` bytes from `from` are at the start of the buffer.
    Datagram {
        /// Payload length.
        len: usize,
        /// Sender, normalized (v4-mapped IPv6 becomes IPv4).
        from: SocketAddr,
    },
    /// Nothing more to read now (or a hard error: stop reading until the next wakeup).
    Empty,
    /// A transient error was consumed; reading may continue.
    Skipped,
}

/// What one send attempt produced.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Handed to the OS.
    Ok,
    /// The OS send buffer is full: keep the datagram and retry once writable.
    WouldBlock,
    /// The OS refused this datagram (unreachable, no buffers, bad family): it is lost,
    /// as UDP datagrams may be; the protocol's retransmission covers reliable data.
    Dropped,
}

/// A bound, nonblocking UDP socket.
#[derive(Debug)]
pub(crate) struct Socket {
    sock: UdpSocket,
    local: SocketAddr,
}

impl Socket {
    /// Binds `addr` (port 0 = any), switches to nonblocking mode and enlarges the OS
    /// buffers (best effort).
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<Socket> {
        let sock = UdpSocket::bind(addr)?;
        sock.set_nonblocking(true)?;
        let local = sock.local_addr()?;
        let s = Socket { sock, local };
        s.enlarge_buffers();
        Ok(s)
    }

    /// The address the OS bound.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The descriptor, for `poll` in `wake.rs`.
    #[cfg(unix)]
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.sock.as_raw_fd()
    }

    /// Receives one datagram into `buf`.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> Recv {
        loop {
            match self.sock.recv_from(buf) {
                Ok((len, from)) => {
                    return Recv::Datagram {
                        len,
                        from: normalize(from),
                    }
                }
                Err(e) => match classify(&e) {
                    ErrorClass::Interrupted => continue,
                    ErrorClass::WouldBlock => return Recv::Empty,
                    ErrorClass::Transient => return Recv::Skipped,
                    ErrorClass::Hard => return Recv::Empty,
                },
            }
        }
    }

    /// Sends `buf` to `to`.
    pub(crate) fn send(&self, buf: &[u8], to: SocketAddr) -> Sent {
        let to = self.outgoing(to);
        loop {
            match self.sock.send_to(buf, to) {
                Ok(_) => return Sent::Ok,
                Err(e) => match classify(&e) {
                    ErrorClass::Interrupted => continue,
                    ErrorClass::WouldBlock => return Sent::WouldBlock,
                    ErrorClass::Transient | ErrorClass::Hard => return Sent::Dropped,
                },
            }
        }
    }

    /// An IPv6 socket reaches IPv4 peers through v4-mapped addresses.
    fn outgoing(&self, to: SocketAddr) -> SocketAddr {
        match (self.local, to) {
            (SocketAddr::V6(_), SocketAddr::V4(v4)) => {
                SocketAddr::V6(SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0))
            }
            _ => to,
        }
    }

    #[cfg(unix)]
    fn enlarge_buffers(&self) {
        let bytes = libc::c_int::try_from(OS_BUFFER_BYTES).unwrap_or(libc::c_int::MAX);
        for opt in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
            // SAFETY: the descriptor is open (owned by `self.sock` for this whole call),
            // and the option value is a live `c_int` whose exact size is passed.
            let _ = unsafe {
                libc::setsockopt(
                    self.raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    std::ptr::from_ref(&bytes).cast::<libc::c_void>(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
        }
    }

    #[cfg(not(unix))]
    fn enlarge_buffers(&self) {}
}

/// The core sees IPv4 peers as IPv4 whichever socket family carried them.
fn normalize(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::from((v4, v6.port())),
            None => addr,
        },
        v4 => v4,
    }
}

enum ErrorClass {
    Interrupted,
    WouldBlock,
    /// About one datagram or one remote system; the socket itself is fine.
    Transient,
    /// Anything else: stop for this pass, try again on the next wakeup.
    Hard,
}

fn classify(e: &io::Error) -> ErrorClass {
    match e.kind() {
        io::ErrorKind::Interrupted => ErrorClass::Interrupted,
        io::ErrorKind::WouldBlock => ErrorClass::WouldBlock,
        // An earlier datagram drew an ICMP error (Linux reports it on the next call;
        // Windows reports WSAECONNRESET): it says nothing about the next datagram.
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => ErrorClass::Transient,
        _ => match e.raw_os_error() {
            #[cfg(unix)]
            Some(
                libc::ENOBUFS
                | libc::ENOMEM
                | libc::EHOSTUNREACH
                | libc::ENETUNREACH
                | libc::EHOSTDOWN
                | libc::ENETDOWN
                | libc::EPERM
                | libc::EMSGSIZE
                | libc::EAFNOSUPPORT
                | libc::EADDRNOTAVAIL
                | libc::EINVAL,
            ) => ErrorClass::Transient,
            _ => ErrorClass::Hard,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_would_block() {
        let a = Socket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let b = Socket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(b.recv(&mut buf), Recv::Empty);
        assert_eq!(a.send(b"hello", b.local_addr()), Sent::Ok);
        // Loopback delivery is synchronous on Linux, but allow for a short delay elsewhere.
        let mut got = Recv::Empty;
        for _ in 0..100_000 {
            got = b.recv(&mut buf);
            if got != Recv::Empty {
                break;
            }
        }
        assert_eq!(
            got,
            Recv::Datagram {
                len: 5,
                from: a.local_addr()
            }
        );
        assert_eq!(&buf[..5], b"hello");
    }

    #[test]
    fn sending_to_a_closed_port_does_not_break_the_socket() {
        let a = Socket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let closed = Socket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let dead = closed.local_addr();
        drop(closed);
        for _ in 0..4 {
            assert_ne!(a.send(b"x", dead), Sent::WouldBlock);
            let mut buf = [0u8; 8];
            assert_ne!(a.recv(&mut buf), Recv::Datagram { len: 1, from: dead });
        }
    }

    #[test]
    fn v4_mapped_addresses_are_normalized() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5".parse().unwrap();
        assert_eq!(normalize(mapped), "127.0.0.1:5".parse().unwrap());
        let v6: SocketAddr = "[::1]:5".parse().unwrap();
        assert_eq!(normalize(v6), v6);
    }
}
