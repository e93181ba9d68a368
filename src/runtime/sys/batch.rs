//! Batches of datagrams for the network loop. On Linux and Android one `recvmmsg` or
//! `sendmmsg` call (`linux.rs`) moves up to [`BATCH`] datagrams: at 1 KiB messages on loopback, the
//! per-call cost of `recvfrom`/`sendto` (entry, descriptor lookup, address copy) was a
//! large share of the network thread's time (issue 7). Elsewhere the same types are
//! filled and drained one `recv_from`/`send_to` at a time.
//!
//! This file owns the buffers (allocated once, reused by every call) and the bookkeeping
//! of a partly sent batch: datagrams the OS would not take yet stay queued, in order, for
//! the next writable wakeup, and nothing new is queued behind them until they are gone.
//! A datagram the OS refuses for good (unreachable, no buffers) is dropped alone, as
//! `Socket::send` does. It makes no protocol decisions, and no system call of its own
//! beyond the standard library's `recv_from`/`send_to` of the portable loops.
#![allow(clippy::disallowed_types)]

use std::net::SocketAddr;
#[cfg(any(test, not(any(target_os = "linux", target_os = "android"))))]
use std::net::UdpSocket;

use super::socket::{classify, ErrorClass, Sent};
#[cfg(any(test, not(any(target_os = "linux", target_os = "android"))))]
use super::socket::{normalize, Socket};

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
    pub(super) buf: Vec<u8>,
    pub(super) slot: usize,
    /// `(length, source, segment size)` of each slot filled by the last receive
    /// (truncated ones left out); the segment size is the length unless GRO coalesced.
    pub(super) got: Vec<(usize, SocketAddr, usize)>,
    /// Datagrams dropped because they did not fit a slot.
    pub(super) truncated: u64,
}

impl RecvBatch {
    /// A batch whose datagrams hold at most `slot_bytes` bytes each. Larger ones are
    /// dropped and counted in [`RecvBatch::truncated`] (with [`RECV_SLOT`], none are).
    pub(crate) fn new(slot_bytes: usize) -> RecvBatch {
        let slot = slot_bytes.max(1);
        RecvBatch {
            // Zeroed memory comes lazily from the OS: only the pages datagrams touch
            // become resident. One spare byte at the end for `recv_each`.
            buf: vec![0; slot * BATCH + 1],
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
    pub(super) bufs: Vec<Vec<u8>>,
    pub(super) to: Vec<SocketAddr>,
    /// `to[..sent]` have been handed to the OS (or dropped); the rest are pending.
    pub(super) sent: usize,
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

impl SendBatch {
    /// Hands the pending datagrams to `send` (which reports how many of the first ones
    /// the OS took) until none is left or the OS would block.
    pub(super) fn drain(
        &mut self,
        mut send: impl FnMut(&SendBatch) -> std::io::Result<usize>,
    ) -> Sent {
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
/// first error ends the batch; it is reported only if nothing was received. Each read
/// may fill one byte more than a slot (the next slot's first, or the spare byte after
/// the last), so that a datagram larger than the slot shows as longer and is dropped
/// and counted, as `MSG_TRUNC` does on Linux (Windows reports `WSAEMSGSIZE` instead).
#[cfg(any(test, not(any(target_os = "linux", target_os = "android"))))]
pub(super) fn recv_each(
    sock: &UdpSocket,
    batch: &mut RecvBatch,
    truncated: impl Fn(&std::io::Error) -> bool,
) -> std::io::Result<()> {
    for _ in 0..BATCH {
        let start = batch.got.len() * batch.slot;
        let Some(room) = batch.buf.get_mut(start..start + batch.slot + 1) else {
            break;
        };
        match sock.recv_from(room) {
            Ok((len, _)) if len > batch.slot => batch.truncated += 1,
            Ok((len, from)) => batch.got.push((len, normalize(from), len)),
            Err(e) if truncated(&e) => batch.truncated += 1,
            Err(e) if batch.got.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    Ok(())
}

/// One `send_to` for the first pending datagram; `Ok(1)` once it is handed over.
#[cfg(any(test, not(any(target_os = "linux", target_os = "android"))))]
pub(super) fn send_each(socket: &Socket, batch: &SendBatch) -> std::io::Result<usize> {
    let (Some(&to), Some(buf)) = (batch.to.get(batch.sent), batch.bufs.get(batch.sent)) else {
        return Ok(0);
    };
    socket.sock.send_to(buf, socket.outgoing(to)).map(|_| 1)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::runtime::sys::{BindOptions, Recv, Socket};

    pub(in crate::runtime::sys) fn bind() -> Socket {
        Socket::bind("127.0.0.1:0".parse().unwrap(), BindOptions::default()).unwrap()
    }

    /// Receives until `want` datagrams arrived (loopback may lag a little elsewhere).
    pub(in crate::runtime::sys) fn recv_all(
        s: &Socket,
        batch: &mut RecvBatch,
        want: usize,
    ) -> Vec<(SocketAddr, Vec<u8>)> {
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

    pub(in crate::runtime::sys) fn queue(batch: &mut SendBatch, to: SocketAddr, bytes: &[u8]) {
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
    pub(in crate::runtime::sys) fn send_plan(a: &Socket, plan: &[(SocketAddr, Vec<u8>)]) {
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
    pub(in crate::runtime::sys) fn mixed_plan(
        b: SocketAddr,
        c: SocketAddr,
    ) -> Vec<(SocketAddr, Vec<u8>)> {
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

    pub(in crate::runtime::sys) fn check_delivery(
        a: &Socket,
        b: &Socket,
        c: &Socket,
        plan: &[(SocketAddr, Vec<u8>)],
    ) {
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

    #[test]
    fn runs_sent_as_one_message_arrive_as_the_datagrams_they_were() {
        let (a, b, c) = (bind(), bind(), bind());
        let plan = mixed_plan(b.local_addr(), c.local_addr());
        send_plan(&a, &plan);
        check_delivery(&a, &b, &c, &plan);
        // Without GSO (Linux) too.
        a.caps.without_fast_paths();
        send_plan(&a, &plan);
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
            if recv_each(&b.sock, &mut inb, |_| false).is_ok() {
                for (from, bytes) in inb.datagrams() {
                    assert_eq!(from, a.local_addr());
                    got.push(bytes.to_vec());
                }
            }
        }
        assert_eq!(got, (0..5u8).map(|i| vec![i; 3]).collect::<Vec<_>>());
    }

    #[test]
    fn the_portable_path_drops_and_counts_datagrams_larger_than_a_slot() {
        let (a, b) = (bind(), bind());
        for bytes in [&b"small"[..], &[7; 17][..], &[8; 16][..], b"after"] {
            assert_eq!(a.send(bytes, b.local_addr()), Sent::Ok);
        }
        let mut inb = RecvBatch::new(16);
        let mut got = Vec::new();
        for _ in 0..100_000 {
            if got.len() == 3 {
                break;
            }
            inb.got.clear();
            if recv_each(&b.sock, &mut inb, |_| false).is_ok() {
                got.extend(inb.datagrams().map(|(_, bytes)| bytes.to_vec()));
            }
        }
        assert_eq!(got, [b"small".to_vec(), vec![8; 16], b"after".to_vec()]);
        assert_eq!(inb.truncated(), 1);
    }
}
