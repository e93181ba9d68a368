//! Split reassembly through a real connection (docs/protocol.md §8): a scripted client
//! completes the handshake with a cookie-less server endpoint, then sends fragments with
//! arbitrary count, id, index, reliability, ordering index, channel and size, mixed with
//! time steps and raw ACK/NAK or junk datagrams. Fragment `i` carries bytes `0x86 + min(i, 0x79)`, so a
//! message reassembled in index order is non-decreasing; a delivered message never holds
//! more bytes than were sent. Huge announced counts must not allocate (libFuzzer's
//! -rss_limit_mb and -malloc_limit_mb catch that).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use raknet::proto::wire::frame::SplitHeader;
use raknet::proto::Reliability;
use raknet_fuzz::scripted::{FrameSpec, ScriptedClient};
use raknet_fuzz::{primary_addr, Harness, Input, Role};

fuzz_target!(|data: &[u8]| {
    let mut h = Harness::new(Role::Server, 0x00);
    let mut c = ScriptedClient::connect(&mut h).expect("scripted handshake");
    let before = h.delivered.len();
    let mut input = Input::new(data);
    let mut sent_bytes = 0usize;
    let mut ops = 0;
    while !input.is_empty() && ops < 256 {
        ops += 1;
        match input.u8() % 4 {
            0 | 1 => {
                let rel = Reliability::from_u8(input.u8() % 5).unwrap();
                let count = match input.u8() % 4 {
                    0 => u32::from(input.u8() % 8) + 1,
                    1 => u32::from(input.u16()),
                    2 => input.u32(),
                    _ => u32::MAX - u32::from(input.u8()),
                };
                let id = u16::from(input.u8() % 4);
                let index = match input.u8() % 3 {
                    0 => u32::from(input.u8() % 8),
                    1 => u32::from(input.u16()),
                    _ => input.u32(),
                };
                let oi = u32::from(input.u16());
                let channel = input.u8() % 33;
                let len = usize::from(input.u16() % 1400) + 1;
                let dup = input.u8();
                let payload = vec![0x86 + index.min(0x79) as u8; len];
                sent_bytes += len;
                let spec = FrameSpec {
                    reliability: rel,
                    ordering_index: oi,
                    sequencing_index: 0,
                    channel,
                    split: Some(SplitHeader { count, id, index }),
                    message_number: (dup & 1 == 1).then(|| c.message.wrapping_sub(1) & 0xFF_FFFF),
                };
                if std::env::var_os("FUZZ_DEBUG").is_some() {
                    eprintln!("frag {spec:?} len {len}");
                }
                let dg = c.datagram_of(&[(spec, &payload[..])]);
                h.datagram(primary_addr(), &dg);
            }
            2 => h.advance(Duration::from_millis(u64::from(input.u16()) * 8)),
            _ => {
                let len = usize::from(input.u8());
                // Never a data datagram (only fragments may deliver): ACK/NAK or junk.
                let mut bytes = input.bytes(len).to_vec();
                if let Some(b) = bytes.first_mut() {
                    if *b & 0xC0 == 0x80 {
                        *b |= 0x40;
                    }
                }
                h.datagram(primary_addr(), &bytes);
            }
        }
    }
    for m in &h.delivered[before..] {
        assert!(
            m.len() <= sent_bytes,
            "delivered {} bytes of {sent_bytes} sent",
            m.len()
        );
        if std::env::var_os("FUZZ_DEBUG").is_some() {
            eprintln!("delivered {} bytes: {:02x?}", m.len(), &m[..m.len().min(8)]);
        }
        assert!(
            m.windows(2).all(|w| w[0] <= w[1]),
            "fragments out of index order"
        );
    }
});
