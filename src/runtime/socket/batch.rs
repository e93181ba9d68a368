//! Batches of datagrams for the network loop. On Linux and Android one `recvmmsg` or
//! `sendmmsg` call moves up to [`BATCH`] datagrams: at 1 KiB messages on loopback, the
//! per-call cost of `recvfrom`/`sendto` (entry, descriptor lookup, address copy) was a
//! large share of the network thread's time (issue 7). Elsewhere the same types are
//! filled and drained one `recv_from`/`send_to` at a time.
//!
//! This file owns the buffers (allocated once, reused by every call) and the bookkeeping
//! of a partly sent batch: datagrams the OS would not take yet stay queued, in order, for
//! the next writable wakeup, and nothing new is queued behind them until they are gone.
//! A datagram the OS refuses for good (unreachable, no buffers) is dropped alone, as
//! `Socket::send` does. It makes no protocol decisions.

use std::net::SocketAddr;

use super::{classify, ErrorClass, Recv, Sent, Socket};

/// Datagrams per system call (and per batch).
pub(crate) const BATCH: usize = 32;
/// Bytes per receive slot: the largest UDP payload, so nothing is ever truncated.
pub(crate) const RECV_SLOT: usize = 65_536;
/// Starting capacity of a send buffer: RakNet's largest MTU fits without growing.
const SEND_SLOT: usize = 1_536;

/// Up to [`BATCH`] receive buffers with their sources, in arrival order. With UDP GRO
/// (Linux) one buffer may hold a run of datagrams from one source, all of one size but
/// the last: [`RecvBatch::datagrams`] cuts them apart.
#[derive(Debug)]
pub(crate) struct RecvBatch {
    /// `BATCH` slots of `slot` bytes, back to back.
    buf: Vec<u8>,
    slot: usize,
    /// `(length, source, segment size)` of each slot filled by the last receive
    /// (truncated ones left out); the segment size is the length unless GRO coalesced.
    got: Vec<(usize, SocketAddr, usize)>,
    /// Datagrams dropped because they did not fit a slot.
    truncated: u64,
}

impl RecvBatch {
    /// A batch whose datagrams hold at most `slot_bytes` bytes each. Larger ones are
    /// dropped and counted in [`RecvBatch::truncated`] (with [`RECV_SLOT`], none are).
    pub(crate) fn new(slot_bytes: usize) -> RecvBatch {
        let slot = slot_bytes.max(1);
        RecvBatch {
            // Zeroed memory comes lazily from the OS: only the pages datagrams touch
            // become resident.
            buf: vec![0; slot * BATCH],
            slot,
            got: Vec::with_capacity(BATCH),
            truncated: 0,
        }
    }

    /// Datagrams one receive call can bring.
    pub(crate) fn capacity(&self) -> usize {
        BATCH
    }

    /// Buffers filled by the last receive (each one datagram or more).
    pub(crate) fn len(&self) -> usize {
        self.got.len()
    }

    /// The datagrams of the last receive, in order: source and bytes.
    pub(crate) fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> + '_ {
        self.got
            .iter()
            .enumerate()
            .flat_map(move |(i, &(len, from, seg))| {
                let start = i * self.slot;
                let bytes = self.buf.get(start..start + len).unwrap_or(&[]);
                // An empty datagram is still one (chunks of nothing are none).
                let empty = bytes.is_empty().then_some(bytes);
                bytes
                    .chunks(seg.max(1))
                    .chain(empty)
                    .map(move |d| (from, d))
            })
    }

    /// Datagrams dropped so far because they were larger than a slot.
    #[cfg(test)]
    pub(crate) fn truncated(&self) -> u64 {
        self.truncated
    }
}

/// Outgoing datagrams waiting for one `sendmmsg`, in the order they were queued.
#[derive(Debug)]
pub(crate) struct SendBatch {
    /// `BATCH` buffers, reused; `bufs[i]` holds the datagram for `to[i]`.
    bufs: Vec<Vec<u8>>,
    to: Vec<SocketAddr>,
    /// `to[..sent]` have been handed to the OS (or dropped); the rest are pending.
    sent: usize,
    /// Datagrams the OS refused for good.
    dropped: u64,
}

impl Default for SendBatch {
    fn default() -> SendBatch {
        SendBatch {
            bufs: (0..BATCH).map(|_| Vec::with_capacity(SEND_SLOT)).collect(),
            to: Vec::with_capacity(BATCH),
            sent: 0,
            dropped: 0,
        }
    }
}

impl SendBatch {
    /// The buffer for the next datagram, to fill and then [`SendBatch::push`]. `None`
    /// while the batch is full or part of it is still waiting for the socket: nothing
    /// may be queued behind datagrams the OS refused for a full buffer.
    pub(crate) fn slot(&mut self) -> Option<&mut Vec<u8>> {
        if self.sent > 0 {
            return None;
        }
        self.bufs.get_mut(self.to.len())
    }

    /// Queues the datagram just written into [`SendBatch::slot`] for `to`.
    pub(crate) fn push(&mut self, to: SocketAddr) {
        debug_assert!(self.sent == 0 && self.to.len() < self.bufs.len());
        if self.to.len() < self.bufs.len() {
            self.to.push(to);
        }
    }

    /// Datagrams queued and not yet sent.
    pub(crate) fn pending(&self) -> usize {
        self.to.len() - self.sent
    }

    /// No more room: send before queueing more.
    pub(crate) fn is_full(&self) -> bool {
        self.to.len() == self.bufs.len()
    }

    /// Where the first pending datagram goes.
    pub(crate) fn next_destination(&self) -> Option<SocketAddr> {
        self.to.get(self.sent).copied()
    }

    /// Datagrams the OS refused for good so far.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    fn clear(&mut self) {
        self.to.clear();
        self.sent = 0;
    }
}

impl Socket {
    /// Receives up to [`BATCH`] datagrams into `batch`, replacing what it held.
    /// `Recv::Datagram` carries the first one's length and source; the whole batch is in
    /// `batch`. `Recv::Skipped` also covers a batch that held only truncated datagrams.
    pub(crate) fn recv_batch(&self, batch: &mut RecvBatch) -> Recv {
        batch.got.clear();
        loop {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            let result = sys::recv_mmsg(self, batch);
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            let result = recv_each(self, batch);
            match result {
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
        batch.drain(|b| {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            return sys::send_mmsg(self, b);
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            return send_each(self, b);
        })
    }
}

impl SendBatch {
    /// Hands the pending datagrams to `send` (which reports how many of the first ones
    /// the OS took) until none is left or the OS would block.
    fn drain(&mut self, mut send: impl FnMut(&SendBatch) -> std::io::Result<usize>) -> Sent {
        while self.pending() > 0 {
            match send(self) {
                Ok(n) => self.sent += n.clamp(1, self.pending()),
                Err(e) => match classify(&e) {
                    ErrorClass::Interrupted => {}
                    ErrorClass::WouldBlock => return Sent::WouldBlock,
                    // The first pending datagram is refused for good: drop it alone.
                    ErrorClass::Transient | ErrorClass::Hard => {
                        self.sent += 1;
                        self.dropped += 1;
                    }
                },
            }
        }
        self.clear();
        Sent::Ok
    }
}

/// One `recv_from` per datagram until the slots are full or the socket is empty. The
/// first error ends the batch; it is reported only if nothing was received.
#[cfg(any(test, not(any(target_os = "linux", target_os = "android"))))]
fn recv_each(socket: &Socket, batch: &mut RecvBatch) -> std::io::Result<()> {
    for i in 0..BATCH {
        let start = i * batch.slot;
        let Some(slot) = batch.buf.get_mut(start..start + batch.slot) else {
            break;
        };
        match socket.sock.recv_from(slot) {
            Ok((len, from)) => batch.got.push((len, super::normalize(from), len)),
            Err(e) if batch.got.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    Ok(())
}

/// One `send_to` for the first pending datagram; `Ok(1)` once it is handed over.
#[cfg(any(test, not(any(target_os = "linux", target_os = "android"))))]
fn send_each(socket: &Socket, batch: &SendBatch) -> std::io::Result<usize> {
    let (Some(&to), Some(buf)) = (batch.to.get(batch.sent), batch.bufs.get(batch.sent)) else {
        return Ok(0);
    };
    socket.sock.send_to(buf, socket.outgoing(to)).map(|_| 1)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod sys {
    use std::io;
    use std::mem::{size_of, zeroed};
    use std::sync::atomic::Ordering;

    use super::super::{from_sockaddr, normalize, to_sockaddr, SOL_UDP, UDP_GRO, UDP_SEGMENT};
    use super::{RecvBatch, SendBatch, Socket, BATCH};

    /// One `recvmmsg` into the slots of `batch`.
    pub(super) fn recv_mmsg(socket: &Socket, batch: &mut RecvBatch) -> io::Result<()> {
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
                socket.raw_fd(),
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
                    let size =
                        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
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
    pub(super) fn send_mmsg(socket: &Socket, batch: &SendBatch) -> io::Result<usize> {
        let gso = socket.gso.load(Ordering::Relaxed);
        match send_with(socket, batch, gso) {
            Err((e, true)) if matches!(e.raw_os_error(), Some(libc::EIO | libc::EINVAL)) => {
                socket.gso.store(false, Ordering::Relaxed);
                send_with(socket, batch, false).map_err(|(e, _)| e)
            }
            r => r.map_err(|(e, _)| e),
        }
    }

    /// `sendmmsg` with or without GSO. An error says whether the refused first
    /// message held several datagrams.
    fn send_with(
        socket: &Socket,
        batch: &SendBatch,
        gso: bool,
    ) -> Result<usize, (io::Error, bool)> {
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
        let n = unsafe {
            libc::sendmmsg(
                socket.raw_fd(),
                hdrs.as_mut_ptr(),
                messages as libc::c_uint,
                0,
            )
        };
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::socket::BindOptions;

    fn bind() -> Socket {
        Socket::bind("127.0.0.1:0".parse().unwrap(), BindOptions::default()).unwrap()
    }

    /// Receives until `want` datagrams arrived (loopback may lag a little elsewhere).
    fn recv_all(s: &Socket, batch: &mut RecvBatch, want: usize) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Vec::new();
        for _ in 0..100_000 {
            if out.len() >= want {
                break;
            }
            if let Recv::Datagram { .. } | Recv::Skipped = s.recv_batch(batch) {
                for (from, bytes) in batch.datagrams() {
                    out.push((from, bytes.to_vec()));
                }
            }
        }
        out
    }

    fn queue(batch: &mut SendBatch, to: SocketAddr, bytes: &[u8]) {
        let buf = batch.slot().expect("room in the batch");
        buf.clear();
        buf.extend_from_slice(bytes);
        batch.push(to);
    }

    #[test]
    fn a_batch_goes_out_in_order_and_comes_back_with_sources_and_lengths() {
        let (a, c, b) = (bind(), bind(), bind());
        let mut out = SendBatch::default();
        for i in 0..BATCH {
            queue(&mut out, b.local_addr(), &vec![i as u8; i + 1]);
        }
        assert!(out.is_full());
        assert!(out.slot().is_none());
        assert_eq!(a.send_batch(&mut out), Sent::Ok);
        assert_eq!(out.pending(), 0);
        assert_eq!(c.send(b"from c", b.local_addr()), Sent::Ok);

        let mut inb = RecvBatch::new(RECV_SLOT);
        let got = recv_all(&b, &mut inb, BATCH + 1);
        assert_eq!(got.len(), BATCH + 1);
        for (i, (from, bytes)) in got.iter().take(BATCH).enumerate() {
            assert_eq!(*from, a.local_addr());
            assert_eq!(*bytes, vec![i as u8; i + 1]);
        }
        assert_eq!(got[BATCH], (c.local_addr(), b"from c".to_vec()));
        assert_eq!(b.recv_batch(&mut inb), Recv::Empty);
        assert_eq!(inb.len(), 0);
    }

    #[test]
    fn datagrams_larger_than_a_slot_are_skipped_and_counted() {
        let (a, b) = (bind(), bind());
        for bytes in [&b"small"[..], &[7; 100][..], b"after"] {
            assert_eq!(a.send(bytes, b.local_addr()), Sent::Ok);
        }
        let mut inb = RecvBatch::new(16);
        let got = recv_all(&b, &mut inb, 2);
        let bytes: Vec<_> = got.into_iter().map(|(_, b)| b).collect();
        assert_eq!(bytes, [b"small".to_vec(), b"after".to_vec()]);
        assert_eq!(inb.truncated(), 1);
    }

    #[test]
    fn a_partial_send_keeps_the_rest_in_order_until_writable() {
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut out = SendBatch::default();
        for i in 0..10u8 {
            queue(&mut out, to, &[i]);
        }
        // The OS takes 3, then its buffer is full.
        let mut wire = Vec::new();
        let mut room = 3;
        let os = |b: &SendBatch, room: &mut usize, wire: &mut Vec<u8>| {
            if *room == 0 {
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            let n = b.pending().min(*room);
            wire.extend(b.bufs[b.sent..b.sent + n].iter().map(|d| d[0]));
            *room -= n;
            Ok(n)
        };
        assert_eq!(out.drain(|b| os(b, &mut room, &mut wire)), Sent::WouldBlock);
        assert_eq!(out.pending(), 7);
        assert_eq!(out.next_destination(), Some(to));
        assert!(
            out.slot().is_none(),
            "nothing may be queued behind a blocked batch"
        );
        // Still full on the next wakeup: nothing lost, nothing moves.
        assert_eq!(out.drain(|b| os(b, &mut room, &mut wire)), Sent::WouldBlock);
        assert_eq!(out.pending(), 7);
        // Writable again, a little at a time: everything goes, in order.
        for _ in 0..3 {
            room = 2;
            let _ = out.drain(|b| os(b, &mut room, &mut wire));
        }
        room = 10;
        assert_eq!(out.drain(|b| os(b, &mut room, &mut wire)), Sent::Ok);
        assert_eq!(wire, (0..10).collect::<Vec<u8>>());
        assert_eq!((out.pending(), out.dropped()), (0, 0));
        assert!(out.slot().is_some(), "an emptied batch takes new datagrams");
    }

    #[test]
    fn interrupted_sends_are_retried() {
        let mut out = SendBatch::default();
        queue(&mut out, "127.0.0.1:9".parse().unwrap(), b"x");
        let mut calls = 0;
        let sent = out.drain(|_| {
            calls += 1;
            if calls == 1 {
                Err(std::io::ErrorKind::Interrupted.into())
            } else {
                Ok(1)
            }
        });
        assert_eq!((sent, calls, out.dropped()), (Sent::Ok, 2, 0));
    }

    /// Queues `plan` in batches and sends each; returns what `b` and `c` receive.
    fn send_plan(a: &Socket, plan: &[(SocketAddr, Vec<u8>)]) {
        let mut out = SendBatch::default();
        for chunk in plan.chunks(BATCH) {
            for (to, bytes) in chunk {
                queue(&mut out, *to, bytes);
            }
            assert_eq!(a.send_batch(&mut out), Sent::Ok);
        }
        assert_eq!(out.dropped(), 0);
    }

    /// Runs of one size to one address (GSO material), shorter tails, a change of
    /// address in the middle of a run, an empty datagram.
    fn mixed_plan(b: SocketAddr, c: SocketAddr) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut plan = Vec::new();
        let mut add = |to, len: usize| {
            let tag = plan.len() as u8;
            plan.push((to, vec![tag; len]));
        };
        (0..10).for_each(|_| add(b, 1000));
        add(b, 300);
        (0..5).for_each(|_| add(b, 1000));
        (0..3).for_each(|_| add(c, 1000));
        (0..2).for_each(|_| add(b, 500));
        add(b, 0);
        (0..40).for_each(|_| add(b, 1464));
        add(b, 1465);
        plan
    }

    fn check_delivery(a: &Socket, b: &Socket, c: &Socket, plan: &[(SocketAddr, Vec<u8>)]) {
        let mut inb = RecvBatch::new(RECV_SLOT);
        for who in [b, c] {
            // (source, length, tag) of each datagram, then the contents.
            let summary = |d: &[(SocketAddr, Vec<u8>)]| -> Vec<(SocketAddr, usize, u8)> {
                d.iter()
                    .map(|(from, b)| (*from, b.len(), b.first().copied().unwrap_or(0)))
                    .collect()
            };
            let want: Vec<_> = plan
                .iter()
                .filter(|(to, _)| *to == who.local_addr())
                .map(|(_, bytes)| (a.local_addr(), bytes.clone()))
                .collect();
            let got = recv_all(who, &mut inb, want.len());
            assert_eq!(summary(&got), summary(&want));
            assert!(got == want, "contents differ");
            assert_eq!(
                who.recv_batch(&mut inb),
                Recv::Empty,
                "one datagram per datagram"
            );
        }
    }

    /// With GSO sending and GRO receiving (Linux 5.0+), a run crosses loopback as one
    /// buffer, and comes out as the datagrams it was.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_run_arrives_coalesced_and_is_cut_back_into_datagrams() {
        let (a, b) = (bind(), bind());
        let mut value: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: the descriptor is open; `value` and `len` are live and sized as stated.
        let rc = unsafe {
            libc::getsockopt(
                b.raw_fd(),
                super::super::SOL_UDP,
                super::super::UDP_GRO,
                std::ptr::from_mut(&mut value).cast(),
                &mut len,
            )
        };
        if rc != 0 || value == 0 || !a.gso.load(std::sync::atomic::Ordering::Relaxed) {
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
    fn runs_sent_as_one_message_arrive_as_the_datagrams_they_were() {
        let (a, b, c) = (bind(), bind(), bind());
        let plan = mixed_plan(b.local_addr(), c.local_addr());
        send_plan(&a, &plan);
        check_delivery(&a, &b, &c, &plan);
        // Without GSO too.
        a.gso.store(false, std::sync::atomic::Ordering::Relaxed);
        send_plan(&a, &plan);
        check_delivery(&a, &b, &c, &plan);
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_refused_gso_message_turns_gso_off_and_loses_nothing() {
        use std::sync::atomic::Ordering::Relaxed;
        let (a, b, c) = (bind(), bind(), bind());
        if !a.gso.load(Relaxed) {
            return; // this kernel has no UDP GSO
        }
        // Without UDP checksums the kernel refuses GSO messages (EINVAL), as it does
        // for routes without checksum offload (EIO); plain datagrams still go.
        let on: libc::c_int = 1;
        // SAFETY: the descriptor is open; the value is a live c_int of the stated size.
        let rc = unsafe {
            libc::setsockopt(
                a.raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_NO_CHECK,
                std::ptr::from_ref(&on).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        let plan = mixed_plan(b.local_addr(), c.local_addr());
        send_plan(&a, &plan);
        assert!(!a.gso.load(Relaxed));
        check_delivery(&a, &b, &c, &plan);
    }

    #[test]
    fn refused_datagrams_are_dropped_alone() {
        let (a, b) = (bind(), bind());
        let mut out = SendBatch::default();
        queue(&mut out, b.local_addr(), b"one");
        // Port 0 is refused by the OS (EINVAL on Linux): only that datagram is lost.
        queue(&mut out, "127.0.0.1:0".parse().unwrap(), b"lost");
        queue(&mut out, b.local_addr(), b"two");
        assert_eq!(a.send_batch(&mut out), Sent::Ok);
        assert_eq!(out.dropped(), 1);
        let mut inb = RecvBatch::new(RECV_SLOT);
        let got = recv_all(&b, &mut inb, 2);
        let bytes: Vec<_> = got.into_iter().map(|(_, b)| b).collect();
        assert_eq!(bytes, [b"one".to_vec(), b"two".to_vec()]);
    }

    #[test]
    fn the_portable_path_agrees() {
        let (a, b) = (bind(), bind());
        let mut out = SendBatch::default();
        for i in 0..5u8 {
            queue(&mut out, b.local_addr(), &[i; 3]);
        }
        while out.pending() > 0 {
            let n = send_each(&a, &out).unwrap();
            out.sent += n;
        }
        out.clear();
        let mut inb = RecvBatch::new(RECV_SLOT);
        let mut got = Vec::new();
        for _ in 0..100_000 {
            if got.len() == 5 {
                break;
            }
            inb.got.clear();
            if recv_each(&b, &mut inb).is_ok() {
                for (from, bytes) in inb.datagrams() {
                    assert_eq!(from, a.local_addr());
                    got.push(bytes.to_vec());
                }
            }
        }
        assert_eq!(got, (0..5u8).map(|i| vec![i; 3]).collect::<Vec<_>>());
    }
}
