//! The UDP socket: nonblocking, large OS buffers, errors sorted into "stop reading",
//! "skip this one" and "try again later" so the network loop never dies of a transient
//! condition (an ICMP port unreachable surfacing as `ECONNREFUSED`, `EINTR`, `ENOBUFS`).
//!
//! It makes no protocol decisions and never blocks. The pass in `driver.rs` moves
//! datagrams in batches (`batch.rs`: `recvmmsg`/`sendmmsg` on Linux, one call per
//! datagram elsewhere); `Socket::send` sends one, for the network simulator's queue.
//! Addresses are normalized at this boundary: an IPv6 socket talks to IPv4 peers through
//! v4-mapped addresses, but the core only ever sees plain IPv4 `SocketAddr`s.
//!
//! The socket is made with `socket(2)` rather than `UdpSocket::bind` because two options
//! must be set before `bind`: `IPV6_V6ONLY` (IPv6-only or dual-stack, decided here rather
//! than by the system's `bindv6only` default) and `SO_REUSEADDR` (several servers on one
//! port, so that each answers a LAN-discovery broadcast). `SO_BROADCAST` is always on, as
//! in RakNet, so an unconnected ping may go to 255.255.255.255.
#![allow(clippy::disallowed_types)]

mod batch;

use std::io;
use std::net::{SocketAddr, SocketAddrV6, UdpSocket};
use std::sync::atomic::AtomicBool;

pub(crate) use batch::{RecvBatch, SendBatch, RECV_SLOT};

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
    sock: UdpSocket,
    local: SocketAddr,
    /// Send runs of equal-size datagrams as one UDP GSO message (`batch.rs`); off where
    /// the kernel lacks it, and for good once it refuses a message.
    gso: AtomicBool,
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
        // Coalesced receives: a run of datagrams sent as one GSO message arrives as one
        // buffer (on loopback the kernel does not even split it), cut up in `batch.rs`.
        enable_gro(&sock);
        let s = Socket {
            gso: AtomicBool::new(gso_supported(&sock)),
            sock,
            local,
        };
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

/// `SOL_UDP` and `UDP_SEGMENT` from `<linux/udp.h>`, the same on every Linux
/// architecture (libc lacks them for Android).
#[cfg(any(target_os = "linux", target_os = "android"))]
const SOL_UDP: libc::c_int = 17;
#[cfg(any(target_os = "linux", target_os = "android"))]
const UDP_SEGMENT: libc::c_int = 103;
/// `UDP_GRO` from `<linux/udp.h>`: socket option and control message type.
#[cfg(any(target_os = "linux", target_os = "android"))]
const UDP_GRO: libc::c_int = 104;

/// Asks for UDP GRO (Linux 5.0+; best effort: without it every datagram arrives alone).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn enable_gro(sock: &UdpSocket) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: the descriptor is open; `on` is a live c_int and its size is passed.
    let _ = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            SOL_UDP,
            UDP_GRO,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn enable_gro(_: &UdpSocket) {}

/// Whether the kernel takes `UDP_SEGMENT` (Linux 4.18+). Older kernels would ignore
/// the control message and send a whole run as one datagram, so it is asked first.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn gso_supported(sock: &UdpSocket) -> bool {
    use std::os::fd::AsRawFd;
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the descriptor is open; `value` and `len` are live and sized as stated.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            SOL_UDP,
            UDP_SEGMENT,
            std::ptr::from_mut(&mut value).cast(),
            &mut len,
        )
    };
    rc == 0
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn gso_supported(_: &UdpSocket) -> bool {
    false
}

/// `socket` + options + `bind`.
#[cfg(unix)]
fn bind_with(addr: SocketAddr, opts: BindOptions) -> io::Result<UdpSocket> {
    use std::os::fd::{FromRawFd, OwnedFd};

    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let kind = libc::SOCK_DGRAM | libc::SOCK_CLOEXEC;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let kind = libc::SOCK_DGRAM;
    // SAFETY: plain system call with constant arguments; the result is checked.
    let fd = unsafe { libc::socket(domain, kind, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a descriptor we just created and own; OwnedFd closes it on error.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    // SAFETY: `raw` is open; F_SETFD with FD_CLOEXEC takes an int argument.
    unsafe {
        libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    if addr.is_ipv6() {
        set_int_option(raw, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, opts.ipv6_only)?;
    }
    if opts.reuse_address {
        set_int_option(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, true)?;
    }
    // SAFETY: all-zero bytes are a valid `sockaddr_storage` (a plain C struct).
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = to_sockaddr(addr, &mut storage);
    // SAFETY: `raw` is open; `storage` holds an initialized address of `len` bytes.
    let rc = unsafe {
        libc::bind(
            raw,
            std::ptr::from_ref(&storage).cast::<libc::sockaddr>(),
            len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(UdpSocket::from(fd))
}

/// Writes `addr` into `storage` as a C socket address; returns its length.
#[cfg(unix)]
fn to_sockaddr(addr: SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            let sin = unsafe { &mut *std::ptr::from_mut(storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr {
                s_addr: u32::from_ne_bytes(a.ip().octets()),
            };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            let sin6 = unsafe { &mut *std::ptr::from_mut(storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_addr = libc::in6_addr {
                s6_addr: a.ip().octets(),
            };
            sin6.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    len as libc::socklen_t
}

/// Reads a C socket address the OS filled; `None` for a family other than IPv4/IPv6.
#[cfg(unix)]
fn from_sockaddr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is
            // larger than and aligned for.
            let sin = unsafe { &*std::ptr::from_ref(storage).cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::from((ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6, as above.
            let sin6 = unsafe { &*std::ptr::from_ref(storage).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                sin6.sin6_addr.s6_addr.into(),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(not(unix))]
fn bind_with(addr: SocketAddr, _opts: BindOptions) -> io::Result<UdpSocket> {
    UdpSocket::bind(addr)
}

/// Sets a boolean (`int`) socket option.
#[cfg(unix)]
fn set_int_option(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    on: bool,
) -> io::Result<()> {
    let value: libc::c_int = on.into();
    // SAFETY: `fd` is open, and the option value is a live `c_int` whose size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            std::ptr::from_ref(&value).cast::<libc::c_void>(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
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
