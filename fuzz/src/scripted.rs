//! A hand-driven client: the bytes a RakNet 4 client sends to complete a handshake with a
//! cookie-less server (docs/protocol.md §5.4, §5.6, §5.8), then data datagrams carrying
//! frames the caller describes, with datagram and message numbers kept in sequence.
//! Lets a target reach "connected" in three datagrams and then say anything it likes.

use raknet::proto::wire::frame::{Frame, FrameHeader, SplitHeader};
use raknet::proto::wire::offline::Offline;
use raknet::proto::wire::{id, Writer};
use raknet::proto::Reliability;

use crate::{primary_addr, target_addr, Harness};

/// The client side of one connection, speaking to the harness's target from the
/// primary address.
pub struct ScriptedClient {
    /// Next datagram number.
    pub datagram: u32,
    /// Next reliable message number.
    pub message: u32,
    /// Next ordering index on channel 0.
    pub ordering: u32,
}

/// A frame to send (payload given separately).
#[derive(Copy, Clone, Debug)]
pub struct FrameSpec {
    /// Wire reliability 0..=4.
    pub reliability: Reliability,
    /// Ordering index (ordered and sequenced kinds).
    pub ordering_index: u32,
    /// Sequencing index (sequenced kinds).
    pub sequencing_index: u32,
    /// Channel (ordered and sequenced kinds).
    pub channel: u8,
    /// Split fields, if a fragment.
    pub split: Option<SplitHeader>,
    /// Use this message number instead of the next one (duplicates, jumps).
    pub message_number: Option<u32>,
}

impl FrameSpec {
    /// A plain frame of `reliability` on channel 0 with the next indexes.
    pub fn plain(reliability: Reliability) -> FrameSpec {
        FrameSpec {
            reliability,
            ordering_index: 0,
            sequencing_index: 0,
            channel: 0,
            split: None,
            message_number: None,
        }
    }
}

impl ScriptedClient {
    /// Runs the handshake against `h`'s target (which must accept connections without
    /// cookies or password); returns the client once the target reports it connected.
    pub fn connect(h: &mut Harness) -> Option<ScriptedClient> {
        let mut buf = Vec::new();
        Offline::OpenConnectionRequest2 {
            cookie: None,
            has_challenge: false,
            server_addr: target_addr(),
            mtu: 1492,
            guid: 0x1234_5678,
        }
        .encode(&mut buf);
        h.datagram(primary_addr(), &buf);
        let mut c = ScriptedClient {
            datagram: 0,
            message: 0,
            ordering: 0,
        };
        let mut req = vec![id::CONNECTION_REQUEST];
        req.extend_from_slice(&0x1234_5678u64.to_be_bytes());
        req.extend_from_slice(&h.now.as_millis().to_be_bytes());
        req.push(0);
        let dg = c.datagram_of(&[(FrameSpec::plain(Reliability::Reliable), &req[..])]);
        h.datagram(primary_addr(), &dg);
        let mut nic = Vec::new();
        {
            let mut w = Writer::new(&mut nic);
            w.u8(id::NEW_INCOMING_CONNECTION);
            w.address(target_addr());
            for _ in 0..10 {
                w.unassigned_address();
            }
            w.u64_be(0);
            w.u64_be(0);
        }
        let spec = FrameSpec {
            ordering_index: c.next_ordering(),
            ..FrameSpec::plain(Reliability::ReliableOrdered)
        };
        let dg = c.datagram_of(&[(spec, &nic[..])]);
        h.datagram(primary_addr(), &dg);
        (!h.target_conns.is_empty()).then_some(c)
    }

    /// Takes the next ordering index of channel 0.
    pub fn next_ordering(&mut self) -> u32 {
        let o = self.ordering;
        self.ordering = (o + 1) & 0xFF_FFFF;
        o
    }

    /// One data datagram holding `frames`, with the next datagram number; reliable frames
    /// take the next message numbers unless their spec names one.
    pub fn datagram_of(&mut self, frames: &[(FrameSpec, &[u8])]) -> Vec<u8> {
        let mut out = vec![0x84];
        out.extend_from_slice(&self.datagram.to_le_bytes()[..3]);
        self.datagram = (self.datagram + 1) & 0xFF_FFFF;
        for &(spec, payload) in frames {
            let message_number = if spec.reliability.is_reliable() {
                spec.message_number.unwrap_or_else(|| {
                    let m = self.message;
                    self.message = (m + 1) & 0xFF_FFFF;
                    m
                })
            } else {
                0
            };
            let bits = u16::try_from(payload.len() * 8).unwrap_or(0xFFF8);
            let payload = &payload[..usize::from(bits / 8)];
            let f = Frame {
                header: FrameHeader {
                    reliability: spec.reliability,
                    bit_len: bits,
                    message_number,
                    sequencing_index: spec.sequencing_index,
                    ordering_index: spec.ordering_index,
                    channel: spec.channel,
                    split: spec.split,
                },
                payload,
            };
            f.encode(&mut Writer::new(&mut out));
        }
        out
    }
}
