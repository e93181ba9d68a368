//! The reliability layer over real loopback sockets made bad by the peer's built-in
//! network simulator (10 % loss plus duplication, jitter and reordering), and send
//! back-pressure without head-of-line blocking. Every wait is `wait_event` with a
//! deadline; nothing sleeps.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use raknet::proto::{
    ConnId, DisconnectReason, Event, Receipt, Reliability, SendError, SendOptions,
};
use raknet::runtime::{Peer, PeerConfig, PeerError, PeerEvent, SimConfig};

/// First byte of application messages (RakNet's ID_USER_PACKET_ENUM).
const USER: u8 = 0x86;
/// Longest a whole exchange may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A point in time for the test's own deadlines (the library's clock is internal).
#[derive(Copy, Clone)]
struct Instant(std::time::Instant);

impl Instant {
    #[allow(clippy::disallowed_methods)] // the test's deadlines, not protocol time
    fn now() -> Instant {
        Instant(std::time::Instant::now())
    }
    fn elapsed(self) -> Duration {
        Instant::now().0 - self.0
    }
}

impl std::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl PartialEq for Instant {
    fn eq(&self, other: &Instant) -> bool {
        self.0 == other.0
    }
}

impl PartialOrd for Instant {
    fn partial_cmp(&self, other: &Instant) -> Option<std::cmp::Ordering> {
        self.0.partial_cmp(&other.0)
    }
}

fn lossy() -> SimConfig {
    SimConfig {
        loss: 0.10,
        latency: Duration::from_millis(2),
        jitter: Duration::from_millis(3),
        duplicate: 0.03,
        reorder: 0.02,
    }
}

fn config(max_incoming: u32) -> PeerConfig {
    let mut c = PeerConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        thread_name: "raknet-sim-test".into(),
        ..PeerConfig::default()
    };
    c.proto.max_incoming = max_incoming;
    c.proto.timeout = Duration::from_secs(10);
    c.proto.connect_interval = Duration::from_millis(100);
    c.proto.connect_attempts = 50;
    c
}

/// Connects `client` to `server`; returns (id on the client, id on the server).
/// Events other than the two `Connected` are not expected before it returns.
fn connect(client: &Peer, server: &Peer) -> (ConnId, ConnId) {
    let c_conn = client.connect(server.local_addr(), b"").expect("connect");
    let client_addr = client.local_addr();
    let deadline = Instant::now() + PATIENCE;
    let mut c_ok = false;
    let mut s_conn = None;
    while !c_ok || s_conn.is_none() {
        assert!(Instant::now() < deadline, "handshake timed out");
        for (peer, is_client) in [(client, true), (server, false)] {
            match peer.wait_event(Duration::from_millis(5)) {
                Some(PeerEvent::Net(Event::Connected { conn, addr, .. })) => {
                    if is_client && conn == c_conn {
                        c_ok = true;
                    } else if !is_client && addr == client_addr {
                        s_conn = Some(conn);
                    }
                }
                Some(PeerEvent::Net(Event::ConnectFailed { reason, .. })) => {
                    panic!("connect failed: {reason:?}")
                }
                Some(other) => panic!("unexpected {other:?}"),
                None => {}
            }
        }
    }
    (c_conn, s_conn.unwrap())
}

/// A message: USER, kind tag, channel, sequence number (LE), then filler up to `len`.
fn msg(tag: u8, channel: u8, seq: u32, len: usize) -> Vec<u8> {
    let mut m = vec![USER, tag, channel];
    m.extend_from_slice(&seq.to_le_bytes());
    while m.len() < len {
        m.push((m.len() as u32 ^ seq).wrapping_mul(131) as u8);
    }
    m
}

fn parse(data: &[u8]) -> (u8, u8, u32) {
    assert!(
        data.len() >= 7 && data[0] == USER,
        "foreign message {data:?}"
    );
    let seq = u32::from_le_bytes(data[3..7].try_into().unwrap());
    assert_eq!(data, msg(data[1], data[2], seq, data.len()), "corrupted");
    (data[1], data[2], seq)
}

/// What one stream of messages must satisfy on arrival.
#[derive(Default)]
struct Stream {
    kind: Option<Reliability>,
    seen: HashSet<u32>,
    newest: Option<u32>,
}

impl Stream {
    fn arrive(&mut self, seq: u32, reliability: Reliability, sent: u32) {
        let kind = *self.kind.get_or_insert(reliability);
        assert_eq!(kind, reliability);
        assert!(seq < sent, "never sent {seq}");
        let first = self.seen.insert(seq);
        assert!(first, "{kind:?} {seq} delivered twice");
        match kind {
            Reliability::ReliableOrdered | Reliability::ReliableOrderedWithAckReceipt => {
                assert_eq!(
                    self.newest.map_or(0, |n| n + 1),
                    seq,
                    "{kind:?} out of order"
                );
            }
            Reliability::ReliableSequenced | Reliability::UnreliableSequenced => {
                assert!(
                    self.newest.map_or(true, |n| seq > n),
                    "{kind:?} went backwards"
                );
            }
            _ => {}
        }
        self.newest = Some(self.newest.map_or(seq, |n| n.max(seq)));
    }
}

/// (tag, reliability, channel): one stream per entry.
const KINDS: [(u8, Reliability, u8); 9] = [
    (1, Reliability::ReliableOrdered, 0),
    (2, Reliability::ReliableOrdered, 1),
    (3, Reliability::ReliableOrdered, 2),
    (4, Reliability::Reliable, 0),
    (5, Reliability::ReliableSequenced, 3),
    (6, Reliability::UnreliableSequenced, 4),
    (7, Reliability::Unreliable, 0),
    (8, Reliability::ReliableWithAckReceipt, 0),
    (9, Reliability::ReliableOrderedWithAckReceipt, 5),
];
/// Also sent: unreliable with receipt.
const UNRELIABLE_RECEIPT_TAG: u8 = 10;

fn must_all_arrive(r: Reliability) -> bool {
    r.is_reliable() && !matches!(r, Reliability::ReliableSequenced)
}

#[test]
fn every_guarantee_holds_over_a_lossy_duplicating_jittery_link() {
    const PER_STREAM: u32 = 200;
    const TICK: Duration = Duration::from_millis(2);
    let server = Peer::start(config(4)).unwrap();
    let mut cc = config(0);
    cc.sim_outgoing = lossy();
    cc.sim_incoming = lossy();
    let client = Peer::start(cc).unwrap();
    let (c_conn, s_conn) = connect(&client, &server);
    let t0 = Instant::now();

    // One message of every stream per tick, as a game would send them, taking what
    // arrives until the next tick.
    let mut receipts: HashMap<Receipt, Reliability> = HashMap::new();
    let mut streams: HashMap<u8, Stream> = HashMap::new();
    let mut outcomes: HashMap<Receipt, bool> = HashMap::new();
    for seq in 0..PER_STREAM {
        let tick = Instant::now() + TICK;
        for (tag, r, ch) in KINDS {
            let opts = SendOptions::new(r).on_channel(ch);
            let receipt = client.send(c_conn, &msg(tag, ch, seq, 120), opts).unwrap();
            if r.has_receipt() {
                receipts.insert(receipt, r);
            }
        }
        let r = Reliability::UnreliableWithAckReceipt;
        let receipt = client
            .send(
                c_conn,
                &msg(UNRELIABLE_RECEIPT_TAG, 0, seq, 120),
                SendOptions::new(r),
            )
            .unwrap();
        receipts.insert(receipt, r);
        while Instant::now() < tick {
            drain(&server, s_conn, &mut streams, PER_STREAM, TICK / 4);
            collect_receipts(&client, c_conn, &receipts, &mut outcomes, Duration::ZERO);
        }
    }

    let complete = |streams: &HashMap<u8, Stream>| {
        KINDS.iter().all(|&(tag, r, _)| {
            let s = streams.get(&tag);
            let n = s.map_or(0, |s| s.seen.len() as u32);
            match r {
                r if must_all_arrive(r) => n == PER_STREAM,
                // The newest reliable sequenced message always gets through.
                Reliability::ReliableSequenced => {
                    s.is_some_and(|s| s.seen.contains(&(PER_STREAM - 1)))
                }
                _ => true,
            }
        })
    };
    let deadline = Instant::now() + PATIENCE;
    while !complete(&streams) || outcomes.len() < receipts.len() {
        assert!(
            Instant::now() < deadline,
            "stalled: {} of {} receipts; arrived {:?}",
            outcomes.len(),
            receipts.len(),
            streams
                .iter()
                .map(|(t, s)| (*t, s.seen.len()))
                .collect::<Vec<_>>()
        );
        drain(
            &server,
            s_conn,
            &mut streams,
            PER_STREAM,
            Duration::from_millis(2),
        );
        collect_receipts(
            &client,
            c_conn,
            &receipts,
            &mut outcomes,
            Duration::from_millis(2),
        );
    }
    let elapsed = t0.elapsed();
    // Stragglers (duplicates, late copies) would arrive within a few simulated delays.
    let settle = Instant::now() + Duration::from_millis(200);
    while Instant::now() < settle {
        drain(
            &server,
            s_conn,
            &mut streams,
            PER_STREAM,
            Duration::from_millis(10),
        );
        collect_receipts(&client, c_conn, &receipts, &mut outcomes, Duration::ZERO);
    }

    for (receipt, r) in &receipts {
        let acked = outcomes[receipt];
        if r.is_reliable() {
            assert!(acked, "reliable receipt {receipt:?} lost");
        }
    }
    let unreliable = |tag| streams.get(&tag).map_or(0, |s| s.seen.len());
    let stats = client.runtime_stats();
    assert!(
        stats.sim_outgoing.lost > 0 && stats.sim_incoming.lost > 0,
        "{stats:?}"
    );
    assert!(stats.sim_outgoing.duplicated > 0, "{stats:?}");
    assert_eq!(stats.sends_dropped, 0);
    // Unreliable kinds lose some. How many depends on the congestion controller too
    // (queued unreliable messages expire after a second), so only sanity is checked.
    for tag in [6, 7, UNRELIABLE_RECEIPT_TAG] {
        let n = unreliable(tag) as u32;
        assert!(n >= PER_STREAM / 4, "tag {tag}: only {n} arrived");
    }
    let mut arrived: Vec<(u8, usize)> = streams.iter().map(|(t, s)| (*t, s.seen.len())).collect();
    arrived.sort_unstable();
    eprintln!("lossy link: done in {elapsed:?}; arrived per tag {arrived:?}; {stats:?}");
}

/// Takes the server's messages for up to `wait`, checking each against its stream.
fn drain(
    server: &Peer,
    conn: ConnId,
    streams: &mut HashMap<u8, Stream>,
    sent: u32,
    wait: Duration,
) {
    let mut wait = wait;
    while let Some(ev) = server.wait_event(wait) {
        wait = Duration::ZERO;
        match ev {
            PeerEvent::Net(Event::Message {
                conn: from,
                data,
                channel,
                reliability,
            }) => {
                assert_eq!(from, conn);
                let (tag, ch, seq) = parse(&data);
                assert_eq!(ch, channel);
                // The receiver sees the plain kind of a receipt kind.
                let r = match tag {
                    8 => Reliability::Reliable,
                    9 => Reliability::ReliableOrdered,
                    UNRELIABLE_RECEIPT_TAG => Reliability::Unreliable,
                    _ => KINDS.iter().find(|k| k.0 == tag).expect("known tag").1,
                };
                assert_eq!(reliability, r, "tag {tag}");
                streams.entry(tag).or_default().arrive(seq, r, sent);
            }
            other => panic!("server: unexpected {other:?}"),
        }
    }
}

fn collect_receipts(
    client: &Peer,
    conn: ConnId,
    sent: &HashMap<Receipt, Reliability>,
    outcomes: &mut HashMap<Receipt, bool>,
    wait: Duration,
) {
    let mut wait = wait;
    while let Some(ev) = client.wait_event(wait) {
        wait = Duration::ZERO;
        match ev {
            PeerEvent::Net(Event::Receipt {
                conn: on,
                receipt,
                acked,
            }) => {
                assert_eq!(on, conn);
                assert!(sent.contains_key(&receipt), "unknown receipt {receipt:?}");
                let before = outcomes.insert(receipt, acked);
                assert!(before.is_none(), "second outcome for {receipt:?}");
            }
            other => panic!("client: unexpected {other:?}"),
        }
    }
}

#[test]
fn reliable_ordered_survives_lossy_links_on_both_peers() {
    const N: u32 = 1000;
    const CHANNELS: u8 = 4;
    let mut sc = config(4);
    sc.sim_outgoing = lossy();
    sc.sim_incoming = SimConfig {
        loss: 0.10,
        ..SimConfig::OFF
    };
    let server = Peer::start(sc).unwrap();
    let mut cc = config(0);
    cc.sim_outgoing = lossy();
    let client = Peer::start(cc).unwrap();
    let (c_conn, s_conn) = connect(&client, &server);
    let opts = SendOptions::new(Reliability::ReliableOrdered);
    for i in 0..N {
        let ch = (i % u32::from(CHANNELS)) as u8;
        let seq = i / u32::from(CHANNELS);
        server
            .send(s_conn, &msg(1, ch, seq, 100), opts.on_channel(ch))
            .unwrap();
        client
            .send(c_conn, &msg(2, ch, seq, 100), opts.on_channel(ch))
            .unwrap();
    }
    let mut streams: [HashMap<u8, Stream>; 2] = Default::default();
    let mut got = [0u32; 2];
    let deadline = Instant::now() + PATIENCE;
    while got != [N, N] {
        assert!(Instant::now() < deadline, "stalled at {got:?}");
        for (side, (peer, conn)) in [(&client, c_conn), (&server, s_conn)]
            .into_iter()
            .enumerate()
        {
            while let Some(ev) = peer.wait_event(Duration::from_millis(1)) {
                let PeerEvent::Net(Event::Message {
                    conn: from,
                    data,
                    channel,
                    reliability,
                }) = ev
                else {
                    panic!("unexpected {ev:?}");
                };
                assert_eq!(from, conn);
                let (_, ch, seq) = parse(&data);
                assert_eq!(ch, channel);
                streams[side].entry(ch).or_default().arrive(
                    seq,
                    reliability,
                    N / u32::from(CHANNELS),
                );
                got[side] += 1;
            }
        }
    }
    let s = server.runtime_stats();
    assert!(s.sim_incoming.lost > 0 && s.sim_outgoing.lost > 0, "{s:?}");
}

/// Sends `len`-byte reliable messages on `conn` until the peer refuses one with
/// `BufferFull`; returns the bytes accepted. Fails on any other error or after `limit`.
fn fill_until_full(peer: &Peer, conn: ConnId, len: usize, limit: usize) -> usize {
    let mut accepted = 0;
    for seq in 0.. {
        match peer.send(conn, &msg(1, 0, seq, len), SendOptions::default()) {
            Ok(_) => accepted += len,
            Err(PeerError::Send(SendError::BufferFull)) => return accepted,
            Err(e) => panic!("send: {e:?}"),
        }
        assert!(
            accepted <= limit,
            "{accepted} bytes accepted without BUFFER_FULL"
        );
    }
    unreachable!()
}

#[test]
fn a_stalled_connection_refuses_its_own_sends_and_blocks_no_other() {
    const CAP: usize = 64 << 10;
    const LEN: usize = 1000;
    let black_hole = Peer::start(config(1)).unwrap();
    let healthy = Peer::start(config(1)).unwrap();
    let mut sc = config(0);
    sc.proto.reliability.max_send_buffer_bytes = CAP;
    let sender = Peer::start(sc).unwrap();
    let (stuck, _) = connect(&sender, &black_hole);
    let (flowing, h_conn) = connect(&sender, &healthy);

    // From now on the black hole hears nothing, so it acknowledges nothing.
    let t0 = Instant::now();
    deafen(&black_hole, &sender, stuck);
    // Everything sent before the black hole took effect is acknowledged at most once,
    // so at most CAP more bytes than the cap itself get through.
    let accepted = fill_until_full(&sender, stuck, LEN, 2 * CAP);
    assert!(accepted >= CAP - LEN, "refused after only {accepted} bytes");
    let full_after = t0.elapsed();

    // The other connection of the same peer keeps flowing, while the stuck one keeps
    // refusing synchronously: nothing waits in the command queue.
    const N: u32 = 2000;
    let mut next_seq = 0u32;
    let mut received = 0u32;
    let mut refused = 0u32;
    let deadline = Instant::now() + PATIENCE;
    while received < N {
        assert!(
            Instant::now() < deadline,
            "healthy connection stalled at {received}"
        );
        while next_seq < N {
            match sender.send(flowing, &msg(2, 0, next_seq, 200), SendOptions::default()) {
                Ok(_) => next_seq += 1,
                Err(PeerError::Send(SendError::BufferFull)) => break,
                Err(e) => panic!("healthy send: {e:?}"),
            }
        }
        match sender.send(stuck, &msg(1, 0, 1, LEN), SendOptions::default()) {
            Err(PeerError::Send(SendError::BufferFull)) => refused += 1,
            other => panic!("stuck connection accepted a send: {other:?}"),
        }
        while let Some(ev) = healthy.wait_event(Duration::from_millis(1)) {
            match ev {
                PeerEvent::Net(Event::Message { conn, data, .. }) => {
                    assert_eq!(conn, h_conn);
                    let (tag, _, seq) = parse(&data);
                    assert_eq!((tag, seq), (2, received), "healthy stream out of order");
                    received += 1;
                }
                other => panic!("healthy: unexpected {other:?}"),
            }
        }
    }
    assert!(refused > 0);
    assert_eq!(sender.runtime_stats().sends_dropped, 0);

    // Let the black hole hear again: the stuck data drains, and its connection takes
    // sends again.
    black_hole
        .set_simulator(None, Some(SimConfig::OFF))
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        match sender.send(stuck, &msg(1, 0, 2, LEN), SendOptions::default()) {
            Ok(_) => break,
            Err(PeerError::Send(SendError::BufferFull)) => {
                assert!(
                    Instant::now() < deadline,
                    "the stuck connection never recovered"
                );
                let _ = sender.wait_event(Duration::from_millis(5));
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    eprintln!(
        "back-pressure: BUFFER_FULL after {accepted} bytes ({full_after:?}); {N} messages \
         flowed meanwhile on the other connection, {refused} refusals; recovered after {:?}",
        t0.elapsed()
    );
}

/// Makes `peer` deaf: it drops every datagram it receives (so it acknowledges nothing).
/// Returns once the simulator has swallowed something that `conn` of `sender` sent.
fn deafen(peer: &Peer, sender: &Peer, conn: ConnId) {
    let deaf = SimConfig {
        loss: 1.0,
        ..SimConfig::OFF
    };
    peer.set_simulator(None, Some(deaf)).unwrap();
    let probe = b"\x86probe";
    sender.send(conn, probe, SendOptions::default()).unwrap();
    let deadline = Instant::now() + PATIENCE;
    while peer.runtime_stats().sim_incoming.lost == 0 {
        assert!(
            Instant::now() < deadline,
            "the simulator never swallowed anything"
        );
        let _ = sender.wait_event(Duration::from_millis(1));
    }
}

#[test]
fn a_connection_with_a_full_send_buffer_still_closes_cleanly() {
    const CAP: usize = 4096;
    let receiver = Peer::start(config(1)).unwrap();
    let mut sc = config(0);
    sc.proto.reliability.max_send_buffer_bytes = CAP;
    let sender = Peer::start(sc).unwrap();
    let (conn, r_conn) = connect(&sender, &receiver);
    deafen(&receiver, &sender, conn);
    // Fill the buffer to the last byte.
    let mut sent = 1;
    for len in [100, 1] {
        while sender
            .send(conn, &vec![USER; len], SendOptions::default())
            .is_ok()
        {
            sent += 1;
        }
    }
    assert!(matches!(
        sender.send(conn, b"\x86", SendOptions::default()),
        Err(PeerError::Send(SendError::BufferFull))
    ));
    // The disconnection notice still gets queued (the cap is for application data).
    sender.close(conn, true).unwrap();
    receiver.set_simulator(None, Some(SimConfig::OFF)).unwrap();
    let mut got = 0;
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(
            Instant::now() < deadline,
            "receiver got {got} of {sent}, no notice"
        );
        match receiver.wait_event(Duration::from_millis(10)) {
            Some(PeerEvent::Net(Event::Message { conn, .. })) if conn == r_conn => got += 1,
            Some(PeerEvent::Net(Event::Disconnected { conn, reason, .. })) if conn == r_conn => {
                assert_eq!(reason, DisconnectReason::ClosedByRemote);
                break;
            }
            Some(other) => panic!("receiver: unexpected {other:?}"),
            None => {}
        }
    }
    assert_eq!(got, sent, "data queued before the close was lost");
    loop {
        assert!(Instant::now() < deadline, "sender saw no Disconnected");
        match sender.wait_event(Duration::from_millis(10)) {
            Some(PeerEvent::Net(Event::Disconnected { reason, .. })) => {
                assert_eq!(reason, DisconnectReason::ClosedLocally);
                break;
            }
            Some(PeerEvent::Fatal) => panic!("the sender's network thread failed"),
            _ => {}
        }
    }
    assert!(!sender.is_failed());
}

/// A remote that never acknowledges the disconnection notice (here: the closing side
/// hears nothing at all from the moment it closes): the close still completes within
/// the bounded wait (at most 2 s after the notice), not at the 10 s timeout, and the
/// remote got the notice.
#[test]
fn a_close_whose_notice_is_never_acknowledged_completes_within_the_bound() {
    let server = Peer::start(config(1)).unwrap();
    let client = Peer::start(config(0)).unwrap();
    let (c_conn, s_conn) = connect(&client, &server);
    // Everything the client sent so far (the handshake's last message) is acknowledged
    // first, so what goes unacknowledged below is the notice alone.
    let deadline = Instant::now() + PATIENCE;
    while client.conn_stats(c_conn).unwrap().buffered_bytes > 0 {
        assert!(
            Instant::now() < deadline,
            "the handshake was never acknowledged"
        );
        let _ = client.wait_event(Duration::from_millis(1));
    }
    deafen(&client, &server, s_conn);
    let start = Instant::now();
    client.close(c_conn, true).unwrap();
    let deadline = start + PATIENCE;
    loop {
        assert!(
            Instant::now() < deadline,
            "the client's close never completed"
        );
        match client.wait_event(Duration::from_millis(10)) {
            Some(PeerEvent::Net(Event::Disconnected { conn, reason, .. })) if conn == c_conn => {
                assert_eq!(reason, DisconnectReason::ClosedLocally);
                break;
            }
            Some(PeerEvent::Fatal) => panic!("the client's network thread failed"),
            _ => {}
        }
    }
    let took = start.elapsed();
    println!("close without acknowledgement took {took:?}");
    assert!(took < Duration::from_secs(3), "close took {took:?}");
    loop {
        assert!(Instant::now() < deadline, "the server never got the notice");
        match server.wait_event(Duration::from_millis(10)) {
            Some(PeerEvent::Net(Event::Disconnected { conn, reason, .. })) if conn == s_conn => {
                assert_eq!(reason, DisconnectReason::ClosedByRemote);
                break;
            }
            Some(PeerEvent::Fatal) => panic!("the server's network thread failed"),
            _ => {}
        }
    }
}
