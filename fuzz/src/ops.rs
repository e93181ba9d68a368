//! The input format of the endpoint targets: one configuration byte (see
//! `Harness::new`), then operations until the input ends. Each operation is a tag byte
//! (taken modulo the number of kinds) and its arguments, little-endian:
//!
//! | tag | operation | arguments |
//! |---|---|---|
//! | 0 | datagram to the target | `u8` source (see `source_addr`), `u16` length, bytes |
//! | 1 | advance virtual time | `u16` milliseconds |
//! | 2 | deliver traffic between target and peer | `u8` drop mask |
//! | 3 | target sends | `u8` conn, `u8` reliability, `u8` priority, `u8` channel, `u16` length |
//! | 4 | peer sends | `u8` reliability, `u8` priority, `u8` channel, `u16` length |
//! | 5 | target closes | `u8` conn, `u8` notify |
//! | 6 | target pings | `u8` destination, `u8` open-connections-only |
//! | 7 | target connects | `u8` destination |
//! | 8 | advance time a little | `u8` milliseconds |

use std::time::Duration;

use crate::{source_addr, Harness, Input, Role};

/// Tag of a datagram operation.
pub const OP_DATAGRAM: u8 = 0;
/// Tag of a time step.
pub const OP_ADVANCE: u8 = 1;
/// Tag of a pump between target and peer.
pub const OP_PUMP: u8 = 2;
const OPS: u8 = 9;
/// Most operations run per input (keeps each run short).
const MAX_OPS: usize = 512;

/// Runs an input against a fresh harness in `role`.
pub fn run(role: Role, data: &[u8]) -> Harness {
    let mut input = Input::new(data);
    let mut h = Harness::new(role, input.u8());
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        match input.u8() % OPS {
            0 => {
                let from = source_addr(input.u8());
                let len = usize::from(input.u16());
                let bytes = input.bytes(len);
                h.datagram(from, bytes);
            }
            1 => h.advance(Duration::from_millis(u64::from(input.u16()))),
            2 => {
                let mask = input.u8();
                h.pump(mask);
            }
            3 => {
                let (c, r, p, ch) = (input.u8(), input.u8(), input.u8(), input.u8());
                let len = input.u16() % 6000;
                h.send_target(c, r, p, ch, len);
            }
            4 => {
                let (r, p, ch) = (input.u8(), input.u8(), input.u8());
                let len = input.u16() % 6000;
                h.send_peer(r, p, ch, len);
            }
            5 => {
                let (c, notify) = (input.u8(), input.u8());
                h.close_target(c, notify & 1 == 1);
            }
            6 => {
                let (to, open) = (source_addr(input.u8()), input.u8());
                h.ping(to, open & 1 == 1);
            }
            7 => {
                let to = source_addr(input.u8());
                h.connect(to, b"");
                h.settle();
            }
            _ => h.advance(Duration::from_millis(u64::from(input.u8()))),
        }
    }
    h
}

/// Builds inputs in the format above (for seed corpora and tests).
#[derive(Default)]
pub struct Encoder {
    out: Vec<u8>,
}

impl Encoder {
    /// An input with configuration byte `flags`.
    pub fn new(flags: u8) -> Encoder {
        Encoder { out: vec![flags] }
    }
    /// A datagram from source `sel`.
    pub fn datagram(&mut self, sel: u8, bytes: &[u8]) -> &mut Self {
        let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        self.out.push(OP_DATAGRAM);
        self.out.push(sel);
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(&bytes[..usize::from(len)]);
        self
    }
    /// A time step.
    pub fn advance_ms(&mut self, ms: u16) -> &mut Self {
        self.out.push(OP_ADVANCE);
        self.out.extend_from_slice(&ms.to_le_bytes());
        self
    }
    /// Delivery between target and peer without loss.
    pub fn pump(&mut self) -> &mut Self {
        self.out.extend_from_slice(&[OP_PUMP, 0]);
        self
    }
    /// A send from the peer.
    pub fn peer_send(&mut self, rel: u8, len: u16) -> &mut Self {
        self.out.extend_from_slice(&[4, rel, 1, 0]);
        self.out.extend_from_slice(&len.to_le_bytes());
        self
    }
    /// A send from the target on its first connection.
    pub fn target_send(&mut self, rel: u8, len: u16) -> &mut Self {
        self.out.extend_from_slice(&[3, 0, rel, 1, 0]);
        self.out.extend_from_slice(&len.to_le_bytes());
        self
    }
    /// The finished input.
    pub fn finish(&self) -> Vec<u8> {
        self.out.clone()
    }
}
