//! Datagram headers and ACK/NAK range lists (`wire::datagram`, docs/protocol.md §6.1–6.3):
//! `classify`, `DataHeader::decode` and `decode_ack_nak` never panic; accepted range lists
//! are bounded, well formed, and survive `encode_ack_nak` → `decode_ack_nak` unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raknet::proto::wire::datagram::{self, DataHeader, DatagramKind, MAX_RANGES_PER_DATAGRAM};
use raknet::proto::wire::{Reader, Writer};

fuzz_target!(|data: &[u8]| {
    let kind = datagram::classify(data);
    let mut ranges = vec![(7, 7)];
    let res = datagram::decode_ack_nak(data, &mut ranges);
    match res {
        Err(_) => assert!(ranges.is_empty(), "ranges left after an error"),
        Ok(nak) => {
            assert!(data.first().is_some_and(|b| b & 0x80 != 0));
            if data.len() > 2 {
                let want = if nak {
                    DatagramKind::Nak
                } else {
                    DatagramKind::Ack
                };
                assert_eq!(kind, Some(want));
            }
            assert!(ranges.len() <= MAX_RANGES_PER_DATAGRAM);
            for &(a, b) in &ranges {
                assert!(a <= b && b <= 0xFF_FFFF, "range {a}..{b}");
            }
            let mut buf = Vec::new();
            let n = datagram::encode_ack_nak(nak, &ranges, usize::MAX, &mut buf);
            assert_eq!(n, ranges.len(), "not every range re-encoded");
            let mut back = Vec::new();
            if n > 0 {
                assert_eq!(datagram::decode_ack_nak(&buf, &mut back), Ok(nak));
                assert_eq!(back, ranges);
            }
            // A small budget writes a prefix that still decodes.
            let budget = usize::from(data.first().copied().unwrap_or(0));
            buf.clear();
            let k = datagram::encode_ack_nak(nak, &ranges, budget, &mut buf);
            assert!(buf.len() <= budget);
            if k > 0 {
                assert_eq!(datagram::decode_ack_nak(&buf, &mut back), Ok(nak));
                assert_eq!(back[..], ranges[..k]);
            }
        }
    }
    let mut r = Reader::new(data);
    if let Ok(h) = DataHeader::decode(&mut r) {
        assert_eq!(kind, Some(DatagramKind::Data));
        assert!(h.number <= 0xFF_FFFF);
        let mut out = Vec::new();
        h.encode(&mut Writer::new(&mut out));
        assert_eq!(out[..], data[..4]);
    }
});
