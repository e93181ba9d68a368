//! Replays the client side of captured RakNet 4.081 sessions (tests/vectors) into a
//! libraknet server endpoint, and checks that the server's answers are what a 4.081 client
//! accepts (same message ids and field layouts; GUIDs and times differ) and that the
//! delivered payloads are the captured ones.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use crate::proto::wire::connected::{ConnectionRequest, ConnectionRequestAccepted};
use crate::proto::wire::datagram::{self, DataHeader, DatagramKind};
use crate::proto::wire::frame::{Frame, FrameHeader};
use crate::proto::wire::offline::{self, Offline};
use crate::proto::wire::{id, Reader};
use crate::proto::{Config, DisconnectReason, Endpoint, Event, Reliability, SendOptions, Time};

struct Vector {
    lines: Vec<(bool, Vec<u8>)>,
}

fn load(name: &str) -> Vector {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = Vec::new();
    for l in text.lines() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (dir, hex) = l.split_once(' ').expect("direction and hex");
        let bytes = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        lines.push((dir == "c2s", bytes));
    }
    Vector { lines }
}

/// Frames of a data datagram, owned: (header, payload).
fn frames(bytes: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut r = Reader::new(bytes);
    DataHeader::decode(&mut r).unwrap();
    let mut out = Vec::new();
    while r.remaining() >= 4 {
        let f = Frame::decode(&mut r).unwrap();
        out.push((f.header, f.payload.to_vec()));
    }
    out
}

struct Replay {
    server: Endpoint,
    client_addr: SocketAddr,
    /// Everything the server sent, in order.
    sent: Vec<Vec<u8>>,
    events: Vec<Event>,
    now: Time,
}

impl Replay {
    fn new() -> Replay {
        let config = Config {
            max_incoming: 4,
            // The captured client met a server without cookies: REQUEST_2 has none.
            cookies: false,
            ..Config::default()
        };
        Replay {
            server: Endpoint::new(config, "127.0.0.1:60000".parse().unwrap()),
            client_addr: "127.0.0.1:60001".parse().unwrap(),
            sent: Vec::new(),
            events: Vec::new(),
            now: Time::from_millis(5_000),
        }
    }

    /// Feeds every client datagram, 10 ms apart, echoing user messages like the captured
    /// server program did.
    fn run(&mut self, v: &Vector, echo: bool) {
        let mut buf = Vec::new();
        for (c2s, bytes) in &v.lines {
            if !c2s {
                continue;
            }
            self.now += Duration::from_millis(10);
            self.server
                .handle_datagram(self.now, self.client_addr, bytes);
            self.server.handle_timeout(self.now);
            while let Some(e) = self.server.poll_event() {
                if let (
                    true,
                    Event::Message {
                        conn,
                        data,
                        channel,
                        reliability,
                    },
                ) = (echo, &e)
                {
                    let o = SendOptions::new(*reliability).on_channel(*channel);
                    self.server.send(self.now, *conn, data, o).unwrap();
                }
                self.events.push(e);
            }
            while let Some(t) = self.server.poll_transmit(self.now, &mut buf) {
                assert_eq!(t.destination, self.client_addr);
                self.sent.push(buf.clone());
            }
        }
    }

    /// Data frames the server sent, one per reliable message number (resends folded).
    fn data_frames(&self) -> Vec<(FrameHeader, Vec<u8>)> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for d in &self.sent {
            if datagram::classify(d) != Some(DatagramKind::Data) {
                continue;
            }
            for (h, p) in frames(d) {
                if h.reliability.is_reliable() && !seen.insert(h.message_number) {
                    continue;
                }
                out.push((h, p));
            }
        }
        out
    }

    fn acked(&self) -> BTreeSet<u32> {
        let mut set = BTreeSet::new();
        let mut ranges = Vec::new();
        for d in &self.sent {
            if datagram::classify(d) == Some(DatagramKind::Ack) {
                datagram::decode_ack_nak(d, &mut ranges).unwrap();
                for &(a, b) in &ranges {
                    set.extend(a..=b);
                }
            }
        }
        set
    }
}

fn captured_frames(v: &Vector, c2s: bool) -> Vec<(FrameHeader, Vec<u8>)> {
    v.lines
        .iter()
        .filter(|(d, b)| *d == c2s && datagram::classify(b) == Some(DatagramKind::Data))
        .flat_map(|(_, b)| frames(b))
        .collect()
}

#[test]
fn handshake_replay_gets_answers_a_raknet4_client_accepts() {
    let v = load("raknet4_handshake.txt");
    let mut r = Replay::new();
    r.run(&v, false);

    // Offline answers: REPLY_1 then REPLY_2, with the captured server's layout.
    let offline: Vec<&Vec<u8>> = r.sent.iter().filter(|d| d[0] < 0x80).collect();
    let captured: Vec<&Vec<u8>> = v
        .lines
        .iter()
        .filter(|(c, d)| !c && d[0] < 0x80)
        .map(|(_, d)| d)
        .collect();
    assert_eq!(offline.len(), captured.len());
    for (ours, theirs) in offline.iter().zip(&captured) {
        assert_eq!(ours[0], theirs[0], "offline message id");
        assert_eq!(ours.len(), theirs.len(), "offline message length");
    }
    match offline::decode(offline[0]) {
        Some(Ok(Offline::OpenConnectionReply1 {
            cookie: None,
            has_public_key: false,
            mtu: 1492,
            ..
        })) => {}
        other => panic!("REPLY_1: {other:?}"),
    }
    match offline::decode(offline[1]) {
        Some(Ok(Offline::OpenConnectionReply2 {
            client_addr,
            mtu: 1492,
            security: false,
            ..
        })) => {
            assert_eq!(client_addr, r.client_addr)
        }
        other => panic!("REPLY_2: {other:?}"),
    }

    // ACCEPTED: RELIABLE_ORDERED channel 0, ordering index 0, same length as captured,
    // echoing the client's request time.
    let ours = r.data_frames();
    let (h, p) = ours
        .iter()
        .find(|(_, p)| p[0] == id::CONNECTION_REQUEST_ACCEPTED)
        .expect("ACCEPTED sent");
    let (ch, cp) = captured_frames(&v, false)
        .into_iter()
        .find(|(_, p)| p[0] == id::CONNECTION_REQUEST_ACCEPTED)
        .unwrap();
    assert_eq!(h.reliability, ch.reliability);
    assert_eq!(
        (h.ordering_index, h.channel),
        (ch.ordering_index, ch.channel)
    );
    assert_eq!(p.len(), cp.len(), "ACCEPTED layout (10 internal addresses)");
    let acc = ConnectionRequestAccepted::decode(p).unwrap();
    let req_frame = captured_frames(&v, true)
        .into_iter()
        .find(|(_, p)| p[0] == id::CONNECTION_REQUEST)
        .unwrap();
    let req = ConnectionRequest::decode(&req_frame.1).unwrap();
    assert_eq!(acc.client_addr, r.client_addr);
    assert_eq!(acc.request_time, req.time);

    // The server reached CONNECTED with the captured client's GUID, answered its ping,
    // and acknowledged every client data datagram.
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, Event::Connected { guid, incoming: true, .. } if *guid == req.guid)));
    assert!(ours
        .iter()
        .any(|(_, p)| p[0] == id::CONNECTED_PONG && p.len() == 17));
    let client_numbers: BTreeSet<u32> = v
        .lines
        .iter()
        .filter(|(c, d)| *c && datagram::classify(d) == Some(DatagramKind::Data))
        .map(|(_, d)| DataHeader::decode(&mut Reader::new(d)).unwrap().number)
        .collect();
    assert!(
        client_numbers.is_subset(&r.acked()),
        "{client_numbers:?} vs {:?}",
        r.acked()
    );
}

fn user_payloads(frames: &[(FrameHeader, Vec<u8>)]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .filter(|(_, p)| p[0] == id::USER_PACKET_ENUM)
        .map(|(_, p)| p.clone())
        .collect()
}

#[test]
fn reliable_ordered_replay_delivers_and_echoes_like_raknet4() {
    let v = load("raknet4_reliable_ordered.txt");
    let mut r = Replay::new();
    r.run(&v, true);
    let sent_by_client = user_payloads(&captured_frames(&v, true));
    assert_eq!(sent_by_client.len(), 5);
    let delivered: Vec<Vec<u8>> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message {
                data,
                reliability: Reliability::ReliableOrdered,
                channel: 0,
                ..
            } => Some(data.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, sent_by_client);
    // Our echoes carry the same payloads, channel and ordering indexes as the captured
    // server's echoes.
    let ours: Vec<(FrameHeader, Vec<u8>)> = r
        .data_frames()
        .into_iter()
        .filter(|(_, p)| p[0] == id::USER_PACKET_ENUM)
        .collect();
    let theirs: Vec<(FrameHeader, Vec<u8>)> = captured_frames(&v, false)
        .into_iter()
        .filter(|(_, p)| p[0] == id::USER_PACKET_ENUM)
        .collect();
    assert_eq!(ours.len(), theirs.len());
    for ((oh, op), (th, tp)) in ours.iter().zip(&theirs) {
        assert_eq!(op, tp);
        assert_eq!(oh.reliability, th.reliability);
        assert_eq!(
            (oh.ordering_index, oh.channel),
            (th.ordering_index, th.channel)
        );
    }
    assert!(r.events.iter().any(|e| matches!(
        e,
        Event::Disconnected {
            reason: DisconnectReason::ClosedByRemote,
            ..
        }
    )));
}

#[test]
fn split_replay_reassembles_the_5000_byte_message() {
    let v = load("raknet4_split_5000.txt");
    let mut r = Replay::new();
    r.run(&v, false);
    let mut fragments: Vec<(u32, Vec<u8>)> = captured_frames(&v, true)
        .into_iter()
        .filter_map(|(h, p)| h.split.map(|s| (s.index, p)))
        .collect();
    fragments.sort();
    assert_eq!(fragments.len(), 4);
    let whole: Vec<u8> = fragments.into_iter().flat_map(|(_, p)| p).collect();
    assert_eq!(whole.len(), 5000);
    let delivered: Vec<&Vec<u8>> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message { data, .. } => Some(data),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, vec![&whole]);
}
