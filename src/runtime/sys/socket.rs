//! The UDP socket: nonblocking, large OS buffers, errors sorted into "stop reading",
//! "skip this one" and "try again later" so the network loop never dies of a transient
//! condition (an ICMP port unreachable surfacing as `ECONNREFUSED`, `EINTR`, `ENOBUFS`).
//!
//! It makes no protocol decisions and never blocks. The pass in `driver.rs` moves
//! datagrams in batches (`batch.rs`; `recvmmsg`/`sendmmsg` in `linux.rs`, one call per
//! datagram in `portable.rs`); `Socket::send` sends one, for the network simulator's
//! queue. Addresses are normalized at this boundary: an IPv6 socket talks to IPv4 peers
//! through v4-mapped addresses, but the core only ever sees plain IPv4 `SocketAddr`s.
//!
//! The socket is made with `socket2` rather than `UdpSocket::bind` because two options
//! must be set before `bind`: `IPV6_V6ONLY` (IPv6-only or dual-stack, decided here rather
//! than by the system's default, which is dual-stack on Linux and IPv6-only on Windows)
//! and `SO_REUSEADDR` (several servers on one port, so that each answers a LAN-discovery
//! broadcast). `SO_BROADCAST` is always on, as in RakNet, so an unconnected ping may go
//! to 255.255.255.255. What each platform adds after `bind` (GRO and GSO on Linux,
//! `SIO_UDP_CONNRESET` off on Windows) is `imp::tune`.
#![allow(clippy::disallowed_types)]

use std::io;
use std::net::{SocketAddr, SocketAddrV6, UdpSocket};

use super::batch::{RecvBatch, SendBatch};
use super::{imp, RawSock};

/// Socket buffer size asked of the OS (best effort: Linux caps it at `rmem_max`).
const OS_BUFFER_BYTES: usize = 4 << 20;

/// What one receive attempt produced.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Recv {
    /// At least one datagram is in the batch; the first is `len` bytes from `from`.
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

/// Options that must be set before the socket is bound.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BindOptions {
    /// An IPv6 socket refuses IPv4 peers (`IPV6_V6ONLY`); otherwise it is dual-stack.
    pub(crate) ipv6_only: bool,
    /// `SO_REUSEADDR`: other sockets with the option may bind the same address and port.
    pub(crate) reuse_address: bool,
}

/// A bound, nonblocking UDP socket.
#[derive(Debug)]
pub(crate) struct Socket {
    pub(super) sock: UdpSocket,
    local: SocketAddr,
    /// What this platform's fast paths found out about the socket (GSO on Linux;
    /// nothing elsewhere, hence the allowance).
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub(super) caps: imp::Caps,
}

impl Socket {
    /// Binds `addr` (port 0 = any) with `opts`, switches to nonblocking mode, allows
    /// broadcasts and enlarges the OS buffers (best effort).
    pub(crate) fn bind(addr: SocketAddr, opts: BindOptions) -> io::Result<Socket> {
        let sock = bind_with(addr, opts)?;
        sock.set_nonblocking(true)?;
        // Best effort: some systems refuse it on IPv6 sockets, which only matters for
        // pings to an IPv4 broadcast address.
        let _ = sock.set_broadcast(true);
        let local = sock.local_addr()?;
        let caps = imp::tune(&sock)?;
        let s = Socket { sock, local, caps };
        s.enlarge_buffers();
        Ok(s)
    }

    /// The address the OS bound.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The OS handle, for the pollers (`Sleeper`, `AppWaiter`).
    pub(crate) fn raw(&self) -> RawSock {
        #[cfg(unix)]
        return std::os::fd::AsRawFd::as_raw_fd(&self.sock);
        #[cfg(windows)]
        return std::os::windows::io::AsRawSocket::as_raw_socket(&self.sock);
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

    /// Receives up to a batch of datagrams into `batch`, replacing what it held.
    /// `Recv::Datagram` carries the first one's length and source; the whole batch is in
    /// `batch`. `Recv::Skipped` also covers a batch that held only truncated datagrams.
    pub(crate) fn recv_batch(&self, batch: &mut RecvBatch) -> Recv {
        batch.got.clear();
        loop {
            match imp::recv_batch(self, batch) {
                Ok(()) => {
                    return match batch.got.first() {
                        Some(&(len, from, _)) => Recv::Datagram { len, from },
                        None => Recv::Skipped,
                    };
                }
                Err(e) => match classify(&e) {
                    ErrorClass::Interrupted => continue,
                    ErrorClass::WouldBlock | ErrorClass::Hard => return Recv::Empty,
                    ErrorClass::Transient => return Recv::Skipped,
                },
            }
        }
    }

    /// Sends the pending datagrams of `batch` in order. `Sent::Ok`: all are gone (sent,
    /// or dropped and counted) and the batch is empty again. `Sent::WouldBlock`: the
    /// socket buffer is full; the rest stay queued, in order, for the next call.
    pub(crate) fn send_batch(&self, batch: &mut SendBatch) -> Sent {
        batch.drain(|b| imp::send_batch(self, b))
    }

    /// An IPv6 socket reaches IPv4 peers through v4-mapped addresses.
    pub(super) fn outgoing(&self, to: SocketAddr) -> SocketAddr {
        match (self.local, to) {
            (SocketAddr::V6(_), SocketAddr::V4(v4)) => {
                SocketAddr::V6(SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0))
            }
            _ => to,
        }
    }

    fn enlarge_buffers(&self) {
        let sock = socket2::SockRef::from(&self.sock);
        let _ = sock.set_recv_buffer_size(OS_BUFFER_BYTES);
        let _ = sock.set_send_buffer_size(OS_BUFFER_BYTES);
    }
}

/// `socket` + options + `bind`.
fn bind_with(addr: SocketAddr, opts: BindOptions) -> io::Result<UdpSocket> {
    use socket2::{Domain, Type};
    // Close-on-exec (no handle inheritance on Windows) is set by socket2.
    let sock = socket2::Socket::new(Domain::for_address(addr), Type::DGRAM, None)?;
    if addr.is_ipv6() {
        sock.set_only_v6(opts.ipv6_only)?;
    }
    if opts.reuse_address {
        sock.set_reuse_address(true)?;
    }
    sock.bind(&addr.into())?;
    Ok(sock.into())
}

/// The core sees IPv4 peers as IPv4 whichever socket family carried them.
pub(super) fn normalize(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::from((v4, v6.port())),
            None => addr,
        },
        v4 => v4,
    }
}

pub(super) enum ErrorClass {
    Interrupted,
    WouldBlock,
    /// About one datagram or one remote system; the socket itself is fine.
    Transient,
    /// Anything else: stop for this pass, try again on the next wakeup.
    Hard,
}

/// OS error codes about one datagram or one remote system.
#[cfg(unix)]
fn is_transient(code: i32) -> bool {
    matches!(
        code,
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
            | libc::EINVAL
    )
}

#[cfg(windows)]
use super::windows::is_transient;

pub(super) fn classify(e: &io::Error) -> ErrorClass {
    match e.kind() {
        io::ErrorKind::Interrupted => ErrorClass::Interrupted,
        io::ErrorKind::WouldBlock => ErrorClass::WouldBlock,
        // An earlier datagram drew an ICMP error (Linux reports it on the next call;
        // Windows reports WSAECONNRESET unless `windows.rs` turned that off): it says
        // nothing about the next datagram.
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => ErrorClass::Transient,
        _ => match e.raw_os_error() {
            Some(code) if is_transient(code) => ErrorClass::Transient,
            _ => ErrorClass::Hard,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_would_block() {
        let a = Socket::bind("127.0.0.1:0".parse().unwrap(), BindOptions::default()).unwrap();
        let b = Socket::bind("127.0.0.1:0".parse().unwrap(), BindOptions::default()).unwrap();
        let mut batch = RecvBatch::new(64);
        assert_eq!(b.recv_batch(&mut batch), Recv::Empty);
        assert_eq!(a.send(b"hello", b.local_addr()), Sent::Ok);
        // Loopback delivery is synchronous on Linux, but allow for a short delay elsewhere.
        let mut got = Recv::Empty;
        for _ in 0..100_000 {
            got = b.recv_batch(&mut batch);
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
        assert_eq!(
            batch.datagrams().next(),
            Some((a.local_addr(), &b"hello"[..]))
        );
        assert_eq!(batch.len(), 1);
    }

    #[test]
    fn sending_to_a_closed_port_does_not_break_the_socket() {
        let a = Socket::bind("127.0.0.1:0".parse().unwrap(), BindOptions::default()).unwrap();
        let closed = Socket::bind("127.0.0.1:0".parse().unwrap(), BindOptions::default()).unwrap();
        let dead = closed.local_addr();
        drop(closed);
        let mut batch = RecvBatch::new(8);
        let mut out = SendBatch::default();
        for _ in 0..4 {
            assert_ne!(a.send(b"x", dead), Sent::WouldBlock);
            assert_ne!(
                a.recv_batch(&mut batch),
                Recv::Datagram { len: 1, from: dead }
            );
            for _ in 0..3 {
                let buf = out.slot().unwrap();
                buf.clear();
                buf.push(b'y');
                out.push(dead);
            }
            assert_eq!(a.send_batch(&mut out), Sent::Ok);
            assert_eq!(out.pending(), 0);
        }
        // The socket still works.
        let b = Socket::bind("127.0.0.1:0".parse().unwrap(), BindOptions::default()).unwrap();
        assert_eq!(a.send(b"z", b.local_addr()), Sent::Ok);
    }

    /// An ICMP port-unreachable drawn by an earlier datagram says nothing about the
    /// next one and must not cost a read: Linux does not report it on an unconnected
    /// socket, and on Windows `SIO_UDP_CONNRESET` is turned off (`windows.rs`), without
    /// which the next receive fails with `WSAECONNRESET` (`Recv::Skipped`).
    #[test]
    fn an_icmp_error_does_not_surface_on_the_next_receive() {
        let a = Socket::bind("127.0.0.1:0".parse().unwrap(), BindOptions::default()).unwrap();
        let closed = Socket::bind("127.0.0.1:0".parse().unwrap(), BindOptions::default()).unwrap();
        let dead = closed.local_addr();
        drop(closed);
        let b = Socket::bind("127.0.0.1:0".parse().unwrap(), BindOptions::default()).unwrap();
        let mut batch = RecvBatch::new(64);
        for _ in 0..4 {
            assert_eq!(a.send(b"x", dead), Sent::Ok);
            // The reply to the dead port's ICMP error is in by the time b's datagram is.
            assert_eq!(b.send(b"y", a.local_addr()), Sent::Ok);
            let mut got = Vec::new();
            for _ in 0..100_000 {
                match a.recv_batch(&mut batch) {
                    Recv::Empty => {}
                    other => got.push(other),
                }
                if got.len() == 1 {
                    break;
                }
            }
            assert_eq!(
                got,
                [Recv::Datagram {
                    len: 1,
                    from: b.local_addr()
                }]
            );
        }
    }

    #[test]
    fn broadcasts_are_allowed() {
        // Without SO_BROADCAST, Linux refuses this send with EACCES.
        let a = Socket::bind("0.0.0.0:0".parse().unwrap(), BindOptions::default()).unwrap();
        assert_eq!(a.send(b"x", "127.255.255.255:9".parse().unwrap()), Sent::Ok);
    }

    #[test]
    fn reuse_address_lets_two_sockets_share_a_port() {
        let opts = BindOptions {
            reuse_address: true,
            ..BindOptions::default()
        };
        let a = Socket::bind("0.0.0.0:0".parse().unwrap(), opts).unwrap();
        let b = Socket::bind(a.local_addr(), opts).unwrap();
        assert_eq!(a.local_addr(), b.local_addr());
        assert!(Socket::bind(a.local_addr(), BindOptions::default()).is_err());
    }

    #[test]
    fn ipv6_only_decides_dual_stack() {
        let any6: SocketAddr = "[::]:0".parse().unwrap();
        let Ok(dual) = Socket::bind(any6, BindOptions::default()) else {
            return; // no IPv6 here
        };
        let only = Socket::bind(
            any6,
            BindOptions {
                ipv6_only: true,
                ..BindOptions::default()
            },
        )
        .unwrap();
        // A dual-stack socket holds the IPv4 port too; an IPv6-only one does not.
        let v4 = |s: &Socket| SocketAddr::from(([127, 0, 0, 1], s.local_addr().port()));
        assert!(Socket::bind(v4(&dual), BindOptions::default()).is_err());
        assert!(Socket::bind(v4(&only), BindOptions::default()).is_ok());
    }

    #[test]
    fn v4_mapped_addresses_are_normalized() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5".parse().unwrap();
        assert_eq!(normalize(mapped), "127.0.0.1:5".parse().unwrap());
        let v6: SocketAddr = "[::1]:5".parse().unwrap();
        assert_eq!(normalize(v6), v6);
    }
}
