//! Linux and Android: the fast paths of the socket and of the network thread's sleep.
//!
//! Datagrams move in batches: one `recvmmsg` or `sendmmsg` call moves up to `BATCH`
//! of them (at 1 KiB messages on loopback the per-call cost of `recvfrom`/`sendto` was a
//! large share of the network thread's time, issue 7), and with UDP GSO a run of
//! equal-size datagrams to one address is one message that the kernel cuts up, while
//! GRO brings a run back as one buffer that `batch.rs` cuts apart. The sleep side
//! (`linux/wake.rs`): an `eventfd` to wake the thread, an epoll set holding the socket
//! so that a waiting application thread can take over reading, a `timerfd` for
//! deadlines brought forward, `ppoll` for microsecond timeouts.
//!
//! Every `unsafe` block here carries a `SAFETY:` line; the socket itself is made and
//! owned by `socket.rs` (through `socket2`).
#![allow(clippy::disallowed_types)]

mod wake;

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use super::batch::{RecvBatch, SendBatch, BATCH};
use super::socket::{normalize, Socket};

pub(crate) use wake::{AppWaiter, Sleeper};

/// `SOL_UDP` and `UDP_SEGMENT` from `<linux/udp.h>`, the same on every Linux
/// architecture (libc lacks them for Android).
const SOL_UDP: libc::c_int = 17;
const UDP_SEGMENT: libc::c_int = 103;
/// `UDP_GRO` from `<linux/udp.h>`: socket option and control message type.
const UDP_GRO: libc::c_int = 104;

/// What `tune` found out about a socket.
#[derive(Debug)]
pub(crate) struct Caps {
    /// Send runs of equal-size datagrams as one UDP GSO message; off where the kernel
    /// lacks it, and for good once it refuses a message.
    gso: AtomicBool,
}

impl Caps {
    /// Tests: the plain `sendmmsg` path.
    #[cfg(test)]
    pub(super) fn without_fast_paths(&self) {
        self.gso.store(false, Ordering::Relaxed);
    }
}

/// After `bind`: coalesced receives (a run of datagrams sent as one GSO message arrives
/// as one buffer; on loopback the kernel does not even split it), and whether GSO sends
/// are possible.
pub(super) fn tune(sock: &UdpSocket) -> io::Result<Caps> {
    enable_gro(sock);
    Ok(Caps {
        gso: AtomicBool::new(gso_supported(sock)),
    })
}

/// Asks for UDP GRO (Linux 5.0+; best effort: without it every datagram arrives alone).
fn enable_gro(sock: &UdpSocket) {
    let on: libc::c_int = 1;
    // SAFETY: the descriptor is open; `on` is a live c_int and its size is passed.
    let _ = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            SOL_UDP,
            UDP_GRO,
            std::ptr::from_ref(&on).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

/// Whether the kernel takes `UDP_SEGMENT` (Linux 4.18+). Older kernels would ignore
/// the control message and send a whole run as one datagram, so it is asked first.
fn gso_supported(sock: &UdpSocket) -> bool {
    int_option(sock.as_raw_fd(), SOL_UDP, UDP_SEGMENT).is_some()
}

/// Reads an `int` socket option; `None` if refused.
fn int_option(fd: libc::c_int, level: libc::c_int, name: libc::c_int) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the descriptor is open; `value` and `len` are live and sized as stated.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            std::ptr::from_mut(&mut value).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(value)
}

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

/// One `recvmmsg` into the slots of `batch`.
pub(super) fn recv_batch(socket: &Socket, batch: &mut RecvBatch) -> io::Result<()> {
    // SAFETY: all-zero bytes are valid for these plain C structs.
    let mut addrs: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
    // SAFETY: as above.
    let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
    // SAFETY: as above (null pointers, zero lengths).
    let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
    // Room for the UDP_GRO control message of each datagram.
    let mut controls: [Control; BATCH] = [[0; 4]; BATCH];
    let slot = batch.slot;
    let base = batch.buf.as_mut_ptr();
    let slots = (batch.buf.len() / slot).min(BATCH);
    for (i, (hdr, (iov, addr))) in hdrs
        .iter_mut()
        .zip(iovs.iter_mut().zip(addrs.iter_mut()))
        .take(slots)
        .enumerate()
    {
        // SAFETY: `i < slots`, so the slot lies inside `batch.buf`.
        iov.iov_base = unsafe { base.add(i * slot) }.cast();
        iov.iov_len = slot;
        hdr.msg_hdr.msg_name = std::ptr::from_mut(addr).cast();
        hdr.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        hdr.msg_hdr.msg_iov = iov;
        hdr.msg_hdr.msg_iovlen = 1;
        hdr.msg_hdr.msg_control = controls[i].as_mut_ptr().cast();
        hdr.msg_hdr.msg_controllen = size_of::<Control>() as _;
    }
    // SAFETY: the descriptor is open; the first `slots` headers point at live,
    // disjoint slots of `batch.buf`, at live address buffers and at live control
    // buffers of the stated sizes, all of which outlive the call. The socket is
    // nonblocking, so no timeout.
    let n = unsafe {
        libc::recvmmsg(
            socket.raw(),
            hdrs.as_mut_ptr(),
            slots as libc::c_uint,
            0,
            std::ptr::null_mut(),
        )
    };
    let Ok(n) = usize::try_from(n) else {
        return Err(io::Error::last_os_error());
    };
    // Datagram `i` must end up in slot `i`: a truncated one (or one from an address
    // family we do not know) is left out and the ones after it move down. Rare, so
    // the copying is too.
    for (r, (hdr, addr)) in hdrs.iter().zip(addrs.iter()).take(n).enumerate() {
        let truncated = hdr.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        batch.truncated += u64::from(truncated);
        let Some(from) = from_sockaddr(addr).filter(|_| !truncated) else {
            continue;
        };
        let len = (hdr.msg_len as usize).min(slot);
        let seg = gro_segment(&hdr.msg_hdr).filter(|&s| s > 0).unwrap_or(len);
        let w = batch.got.len();
        if w != r {
            batch.buf.copy_within(r * slot..r * slot + len, w * slot);
        }
        batch.got.push((len, normalize(from), seg));
    }
    Ok(())
}

/// The segment size of a coalesced receive (the `UDP_GRO` control message), if any.
fn gro_segment(hdr: &libc::msghdr) -> Option<usize> {
    // SAFETY: `hdr` was filled by recvmmsg: its control pointer and length describe
    // the (possibly empty) control data written into our buffer; the CMSG macros
    // stay inside it, and the value is read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == SOL_UDP && (*cmsg).cmsg_type == UDP_GRO {
                let size = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                return usize::try_from(size).ok();
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    None
}

/// Datagrams in one GSO message at most (the kernel's `UDP_MAX_SEGMENTS` was 64
/// before Linux 6.9 raised it).
const GSO_MAX_SEGMENTS: usize = 64;
/// Payload bytes in one GSO message at most (below IPv4's 65,507).
const GSO_MAX_BYTES: usize = 65_000;
/// Room for one `cmsghdr` carrying a `u16` or a `c_int`, 8-byte aligned.
type Control = [u64; 4];

/// One `sendmmsg` of the pending datagrams; how many datagrams the OS took. With
/// GSO on, a run of equal-size datagrams to one address (the last may be shorter)
/// goes as one message that the kernel cuts into datagrams, so the stack is walked
/// once per run instead of once per datagram. If the kernel refuses a GSO message
/// (`EIO`: no checksum offload on the route; `EINVAL`: segment above the device
/// MTU), GSO is switched off for good and the same datagrams go again without it.
pub(super) fn send_batch(socket: &Socket, batch: &SendBatch) -> io::Result<usize> {
    let gso = socket.caps.gso.load(Ordering::Relaxed);
    match send_with(socket, batch, gso) {
        Err((e, true)) if matches!(e.raw_os_error(), Some(libc::EIO | libc::EINVAL)) => {
            socket.caps.gso.store(false, Ordering::Relaxed);
            send_with(socket, batch, false).map_err(|(e, _)| e)
        }
        r => r.map_err(|(e, _)| e),
    }
}

/// `sendmmsg` with or without GSO. An error says whether the refused first
/// message held several datagrams.
fn send_with(socket: &Socket, batch: &SendBatch, gso: bool) -> Result<usize, (io::Error, bool)> {
    // SAFETY: all-zero bytes are valid for these plain C structs.
    let mut addrs: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
    // SAFETY: as above.
    let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
    // SAFETY: as above (null pointers, zero lengths).
    let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
    let mut controls: [Control; BATCH] = [[0; 4]; BATCH];
    // Datagrams carried by each message.
    let mut segments = [0usize; BATCH];

    let to = batch.to.get(batch.sent..).unwrap_or_default();
    let bufs = batch.bufs.get(batch.sent..).unwrap_or_default();
    for (iov, buf) in iovs.iter_mut().zip(bufs.iter()).take(to.len()) {
        // The kernel only reads through it (`sendmmsg` takes the iovec as const data).
        iov.iov_base = buf.as_ptr().cast_mut().cast();
        iov.iov_len = buf.len();
    }
    let mut messages = 0;
    let mut first = 0;
    while first < to.len() && messages < BATCH {
        let size = bufs[first].len();
        let mut end = first + 1;
        if gso && size > 0 {
            let mut bytes = size;
            while end < to.len()
                && end - first < GSO_MAX_SEGMENTS
                && to[end] == to[first]
                && (1..=size).contains(&bufs[end].len())
                && bytes + bufs[end].len() <= GSO_MAX_BYTES
            {
                bytes += bufs[end].len();
                end += 1;
                if bufs[end - 1].len() < size {
                    break; // only the last segment may be shorter (not empty)
                }
            }
        }
        let hdr = &mut hdrs[messages].msg_hdr;
        let addr = &mut addrs[messages];
        hdr.msg_namelen = to_sockaddr(socket.outgoing(to[first]), addr);
        hdr.msg_name = std::ptr::from_mut(addr).cast();
        hdr.msg_iov = &mut iovs[first];
        hdr.msg_iovlen = (end - first) as _;
        if end - first > 1 {
            set_segment_size(hdr, &mut controls[messages], size);
        }
        segments[messages] = end - first;
        messages += 1;
        first = end;
    }
    if messages == 0 {
        return Ok(0);
    }
    // SAFETY: the descriptor is open; the first `messages` headers point at live
    // iovecs, buffers, addresses and control data of the stated lengths, all of
    // which outlive the call.
    let n = unsafe { libc::sendmmsg(socket.raw(), hdrs.as_mut_ptr(), messages as libc::c_uint, 0) };
    match usize::try_from(n) {
        Ok(n) => Ok(segments.iter().take(n).sum()),
        Err(_) => Err((io::Error::last_os_error(), segments[0] > 1)),
    }
}

/// Attaches a `UDP_SEGMENT` control message: cut the payload into `size` bytes.
fn set_segment_size(hdr: &mut libc::msghdr, control: &mut Control, size: usize) {
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) } as usize;
    debug_assert!(space <= size_of::<Control>());
    hdr.msg_control = control.as_mut_ptr().cast();
    hdr.msg_controllen = space as _;
    // SAFETY: `msg_control` points at `space` writable, aligned bytes, so the first
    // header exists and has room for a u16 of data; the data pointer is written
    // unaligned as CMSG_DATA need not be aligned for u16.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(hdr);
        (*cmsg).cmsg_level = SOL_UDP;
        (*cmsg).cmsg_type = UDP_SEGMENT;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
        libc::CMSG_DATA(cmsg)
            .cast::<u16>()
            .write_unaligned(u16::try_from(size).unwrap_or(u16::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::super::batch::tests::{bind, check_delivery, mixed_plan, recv_all, send_plan};
    use super::*;
    use crate::runtime::sys::RECV_SLOT;

    /// With GSO sending and GRO receiving (Linux 5.0+), a run crosses loopback as one
    /// buffer, and comes out as the datagrams it was.
    #[test]
    fn a_run_arrives_coalesced_and_is_cut_back_into_datagrams() {
        let (a, b) = (bind(), bind());
        let gro = int_option(b.raw(), SOL_UDP, UDP_GRO).unwrap_or(0);
        if gro == 0 || !a.caps.gso.load(Ordering::Relaxed) {
            return; // an older kernel: nothing to check
        }
        let plan: Vec<_> = (0..10u8)
            .map(|i| (b.local_addr(), vec![i; if i == 9 { 400 } else { 1000 }]))
            .collect();
        send_plan(&a, &plan);
        let mut inb = RecvBatch::new(RECV_SLOT);
        let got = recv_all(&b, &mut inb, plan.len());
        assert_eq!(inb.len(), 1, "one buffer");
        let want: Vec<_> = plan.into_iter().map(|(_, d)| (a.local_addr(), d)).collect();
        assert!(got == want);
    }

    #[test]
    fn a_refused_gso_message_turns_gso_off_and_loses_nothing() {
        let (a, b, c) = (bind(), bind(), bind());
        if !a.caps.gso.load(Ordering::Relaxed) {
            return; // this kernel has no UDP GSO
        }
        // Without UDP checksums the kernel refuses GSO messages (EINVAL), as it does
        // for routes without checksum offload (EIO); plain datagrams still go.
        let on: libc::c_int = 1;
        // SAFETY: the descriptor is open; the value is a live c_int of the stated size.
        let rc = unsafe {
            libc::setsockopt(
                a.raw(),
                libc::SOL_SOCKET,
                libc::SO_NO_CHECK,
                std::ptr::from_ref(&on).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        let plan = mixed_plan(b.local_addr(), c.local_addr());
        send_plan(&a, &plan);
        assert!(!a.caps.gso.load(Ordering::Relaxed));
        check_delivery(&a, &b, &c, &plan);
    }
}
