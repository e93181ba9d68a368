//! Frames (`wire::frame`, docs/protocol.md §7.1–7.2): a data datagram's frames decoded the way
//! the receiver does (until fewer than 4 bytes remain, stopping at the first bad one).
//! Accepted frames obey §7.2, carry exactly ceil(bits/8) payload bytes, and round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raknet::proto::wire::datagram::DataHeader;
use raknet::proto::wire::frame::{Frame, MAX_FRAME_HEADER};
use raknet::proto::wire::{Reader, Writer};

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    if DataHeader::decode(&mut r.clone()).is_ok() {
        let _ = DataHeader::decode(&mut r);
    }
    let mut frames = 0;
    while r.remaining() >= 4 {
        let before = r.position();
        let Ok(f) = Frame::decode(&mut r) else {
            break;
        };
        frames += 1;
        assert!(frames <= data.len() / 4, "more frames than bytes allow");
        let h = f.header;
        assert!((h.reliability as u8) <= 4);
        assert!(h.bit_len > 0);
        assert_eq!(f.payload.len(), usize::from(h.bit_len).div_ceil(8));
        if h.reliability.is_ordered_or_sequenced() {
            assert!(h.channel < 32);
        }
        if let Some(s) = h.split {
            assert!(s.count > 0 && s.index < s.count);
        }
        assert!(h.encoded_len() <= MAX_FRAME_HEADER);
        assert_eq!(r.position() - before, f.encoded_len());
        let mut out = Vec::new();
        f.encode(&mut Writer::new(&mut out));
        assert_eq!(out.len(), f.encoded_len());
        // Only the 4 unused low bits of the flags byte may differ.
        assert_eq!(out[0], data[before] & 0xF0);
        assert_eq!(out[1..], data[before + 1..r.position()]);
        let back = Frame::decode(&mut Reader::new(&out)).expect("re-encoded frame decodes");
        assert_eq!(back, f);
    }
});
