//! Closing with notice (`Endpoint::close(.., notify = true)`): what was queued goes
//! first, then DISCONNECTION_NOTIFICATION, whose acknowledgement is awaited only for a
//! bounded time derived from the measured round trip (docs/protocol.md §10.5).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use super::sim::{Link, Net};
use crate::proto::connection::NOTICE_WAIT_MAX;
use crate::proto::{Config, DisconnectReason, Event, Reliability, SendOptions};

fn msg(seq: u32, size: usize) -> Vec<u8> {
    let mut m = vec![0x86];
    m.extend_from_slice(&seq.to_be_bytes());
    m.resize(size.max(5), seq as u8);
    m
}

fn ended_with(net: &Net, n: usize, want: DisconnectReason) -> bool {
    net.events(n)
        .iter()
        .any(|e| matches!(e, Event::Disconnected { reason, .. } if *reason == want))
}

/// A remote that acknowledged everything until the close and never acknowledges the
/// notice (some foreign servers forget the connection the moment they read it): the
/// close completes within the bound, long before the 10 s timeout, and the notice was
/// sent more than once meanwhile.
#[test]
fn close_completes_within_the_bound_when_the_notice_is_never_acknowledged() {
    for (latency_ms, bound) in [(5, Duration::from_millis(400)), (150, NOTICE_WAIT_MAX)] {
        let mut net =
            Net::new(90 + latency_ms).with_link(Link::default().latency_ms(latency_ms, 0));
        let s = net.add(Config {
            max_incoming: 8,
            ..Config::default()
        });
        let c = net.add(Config::default());
        let (cc, _) = net.connect_pair(c, s);
        for i in 0..10 {
            net.send(
                c,
                cc,
                &msg(i, 100),
                SendOptions::new(Reliability::ReliableOrdered),
            );
        }
        net.run_until(
            |n| n.messages(s).len() == 10 && n.ep_ref(c).buffered_bytes(cc) == Some(0),
            Duration::from_secs(5),
        )
        .unwrap();
        net.run_for(Duration::from_millis(500));
        // From here on nothing the server sends reaches the client.
        let after_close = Rc::new(Cell::new(0u32));
        let count = after_close.clone();
        net.set_tap(Some(Box::new(move |from, _, b| {
            if from == s {
                return vec![];
            }
            count.set(count.get() + 1);
            vec![b]
        })));
        let t0 = net.now;
        let now = net.now;
        net.ep(c).close(now, cc, true).unwrap();
        net.run_until(
            |n| ended_with(n, c, DisconnectReason::ClosedLocally),
            Duration::from_secs(30),
        )
        .unwrap();
        let took = net.now - t0;
        assert!(
            took <= bound,
            "latency {latency_ms} ms: close took {took:?}"
        );
        assert!(
            after_close.get() >= 2,
            "latency {latency_ms} ms: the notice was sent {} times",
            after_close.get()
        );
        // The server heard it, after all ten messages.
        net.run_for(Duration::from_millis(500));
        assert!(ended_with(&net, s, DisconnectReason::ClosedByRemote));
    }
}

/// The normal case: everything queued before the close is delivered before the notice,
/// on a lossy link too, and both sides see the connection end.
#[test]
fn queued_messages_are_delivered_before_the_notice() {
    for seed in 0..32 {
        let mut net = Net::new(300 + seed).with_link(Link::lossy(0.1).latency_ms(20, 5));
        let s = net.add(Config {
            max_incoming: 8,
            ..Config::default()
        });
        let c = net.add(Config::default());
        let (cc, _) = net.connect_pair(c, s);
        for i in 0..50u32 {
            let size = if i % 10 == 0 { 3000 } else { 200 };
            net.send(
                c,
                cc,
                &msg(i, size),
                SendOptions::new(Reliability::ReliableOrdered),
            );
        }
        let now = net.now;
        net.ep(c).close(now, cc, true).unwrap();
        net.run_until(
            |n| {
                ended_with(n, c, DisconnectReason::ClosedLocally)
                    && ended_with(n, s, DisconnectReason::ClosedByRemote)
            },
            Duration::from_secs(30),
        )
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let seqs: Vec<u32> = net
            .messages(s)
            .iter()
            .map(|(m, ..)| u32::from_be_bytes([m[1], m[2], m[3], m[4]]))
            .collect();
        assert_eq!(seqs, (0..50).collect::<Vec<_>>(), "seed {seed}");
        // Every message event comes before the disconnection.
        let last = net
            .events(s)
            .iter()
            .rposition(|e| matches!(e, Event::Message { .. }))
            .unwrap();
        let end = net
            .events(s)
            .iter()
            .position(|e| matches!(e, Event::Disconnected { .. }))
            .unwrap();
        assert!(last < end, "seed {seed}");
    }
}
