//! Goodput under random loss and behaviour on a congested link (the loss-aware
//! controller of `congestion/loss_aware.rs`): random loss must not be read as congestion,
//! and a real bottleneck must still make senders back off and share it.
//!
//! All figures are virtual time on the simulator, so they are exact for a seed.

use std::time::Duration;

use super::sim::{Link, Net};
use crate::proto::{Config, CongestionControl, ConnId, Event, Reliability, SendOptions};

const MIB: usize = 1 << 20;
const MESSAGE: usize = 1024;

fn config(cc: CongestionControl) -> Config {
    let mut c = Config {
        max_incoming: 4,
        ..Config::default()
    };
    c.reliability.congestion = cc;
    c
}

fn queue_messages(net: &mut Net, from: usize, conn: ConnId, count: usize) {
    for i in 0..count {
        let mut m = vec![0x86u8; MESSAGE];
        m[1..5].copy_from_slice(&(i as u32).to_be_bytes());
        net.send(
            from,
            conn,
            &m,
            SendOptions::new(Reliability::ReliableOrdered),
        );
    }
}

/// Goodput in MB/s (10⁶ B) of 1 MiB reliable-ordered in 1 KiB messages over `link`
/// (both directions), timed from the first send to the last delivery; checks the order.
fn goodput(seed: u64, link: Link, cc: CongestionControl) -> f64 {
    let mut net = Net::new(seed).with_link(link);
    let s = net.add(config(cc));
    let c = net.add(config(cc));
    let (cid, _) = net.connect_pair(c, s);
    let count = MIB / MESSAGE;
    queue_messages(&mut net, c, cid, count);
    let t0 = net.now;
    net.run_until(|n| n.messages(s).len() == count, Duration::from_secs(600))
        .unwrap();
    for (i, (m, ..)) in net.messages(s).iter().enumerate() {
        assert_eq!(m[1..5], (i as u32).to_be_bytes(), "seed {seed}");
    }
    MIB as f64 / (net.now - t0).as_secs_f64() / 1e6
}

/// Mean goodput over seeds 0..4 and the list, for messages.
fn mean_goodput(link: &Link, cc: CongestionControl) -> (f64, Vec<f64>) {
    let v: Vec<f64> = (0..4).map(|seed| goodput(seed, link.clone(), cc)).collect();
    (v.iter().sum::<f64>() / v.len() as f64, v)
}

/// 20 ms RTT, `loss` each way.
fn lossy(loss: f64) -> Link {
    Link::lossy(loss).latency_ms(10, 0)
}

/// Goodput floors: the mean of 4 seeds must reach these MB/s. RakNet's sliding window
/// (`CongestionControl::SlidingWindow`) reaches 3.3, 0.45, 0.11 and 0.06.
#[test]
fn random_loss_is_not_read_as_congestion() {
    let relay = Link::lossy(0.2).dup(0.05).reorder(0.3).latency_ms(10, 0);
    for (what, link, floor) in [
        ("1 %", lossy(0.01), 5.0),
        ("5 %", lossy(0.05), 4.0),
        ("20 %", lossy(0.2), 2.0),
        ("20 % + 5 % dup + reordering", relay, 1.0),
    ] {
        let (mean, each) = mean_goodput(&link, CongestionControl::LossAware);
        assert!(
            mean >= floor,
            "{what} loss: {mean:.2} MB/s (seeds 0..4: {each:.2?}), floor {floor}"
        );
    }
}

/// No regression on a clean link: the window grows exactly as before (slow start from
/// one datagram; 1 MiB takes ~7 round trips of 20 ms).
#[test]
fn clean_link_goodput_is_unchanged() {
    for cc in [
        CongestionControl::SlidingWindow,
        CongestionControl::LossAware,
    ] {
        let g = goodput(0, lossy(0.0), cc);
        assert!(g > 7.4, "{cc:?}: {g:.2} MB/s");
    }
}

/// Messages node `n` received from each of `conns`.
fn received_from(net: &Net, n: usize, conns: [ConnId; 2]) -> [usize; 2] {
    let mut d = [0; 2];
    for e in net.events(n) {
        if let Event::Message { conn, .. } = e {
            if let Some(k) = conns.iter().position(|c| c == conn) {
                d[k] += 1;
            }
        }
    }
    d
}

/// What happened on a shared bottleneck while two flows competed.
#[derive(Debug)]
struct Shared {
    /// Messages of each flow delivered while both ran.
    delivered: [usize; 2],
    /// Datagrams the bottleneck's full queue dropped, and datagrams the two clients sent.
    queue_drops: u64,
    sent: u64,
    /// Longest queueing delay a datagram saw.
    max_queue_delay: Duration,
}

/// Two clients send 8 MiB each through one bottleneck (`rate` B/s, `queue` of
/// buffering, 20 ms RTT plus up to `jitter_ms` each way, `loss` each way) to one server; the second starts 2 s after
/// the first, and the next `span` is measured.
fn shared_bottleneck(
    seed: u64,
    cc: CongestionControl,
    rate: u64,
    queue: Duration,
    loss: f64,
    jitter_ms: u64,
    span: Duration,
) -> Shared {
    let link = lossy(loss).latency_ms(10, jitter_ms);
    let mut net = Net::new(seed).with_link(link.clone());
    let s = net.add(config(cc));
    let c1 = net.add(config(cc));
    let c2 = net.add(config(cc));
    let up = link.bottleneck(1, rate, queue);
    net.set_link(c1, s, up.clone());
    net.set_link(c2, s, up);
    let (id1, s1) = net.connect_pair(c1, s);
    let (id2, s2) = net.connect_pair(c2, s);
    let count = 8 * MIB / MESSAGE;
    queue_messages(&mut net, c1, id1, count);
    net.run_for(Duration::from_secs(2));
    queue_messages(&mut net, c2, id2, count);
    let before = received_from(&net, s, [s1, s2]);
    let (sent0, drops0) = (net.sent[c1] + net.sent[c2], net.queue_drops);
    net.max_queue_delay = Duration::ZERO;
    net.run_for(span);
    let after = received_from(&net, s, [s1, s2]);
    Shared {
        delivered: [after[0] - before[0], after[1] - before[1]],
        queue_drops: net.queue_drops - drops0,
        sent: net.sent[c1] + net.sent[c2] - sent0,
        max_queue_delay: net.max_queue_delay,
    }
}

const RATE: u64 = 1_250_000;
const SPAN: Duration = Duration::from_secs(8);
/// (queue in ms, random loss each way, jitter in ms each way).
const BOTTLENECK_CASES: [(u64, f64, u64); 5] = [
    (100, 0.0, 0),
    (20, 0.0, 0),
    (100, 0.01, 0),
    (100, 0.05, 0),
    (100, 0.2, 15),
];
/// Share of the link the two flows must use together: at 20 % loss each way recovery
/// costs more than the link's spare room (RakNet's window uses 18 % there).
fn min_use(loss: f64) -> f64 {
    if loss > 0.1 {
        0.4
    } else {
        0.8
    }
}
/// A case the controller handles poorly, shown by `goodput_table` and not asserted: a
/// shallow queue hidden in jitter on a lossy path. Neither signal is clear (the queue is
/// within the learned jitter, the overflow close to the background loss), and the flows
/// keep ~14 % queue drops and share unevenly (RakNet's window: no drops, 26 % of the
/// link used).
const HARD_CASE: (u64, f64, u64) = (20, 0.05, 15);

/// On a congested link the controller still backs off: the two flows fill the link, share
/// it roughly evenly, and the bottleneck's queue drops stay a small fraction of what is
/// sent (a sender that ignored loss would keep the queue overflowing: most of its
/// datagrams would be dropped). Deep and shallow buffers, with and without random loss
/// and jitter (which the controller learns not to mistake for a queue).
#[test]
fn a_bottleneck_is_shared_and_backed_off_from() {
    for (queue_ms, loss, jitter) in BOTTLENECK_CASES {
        for seed in 1..3 {
            let r = shared_bottleneck(
                seed,
                CongestionControl::LossAware,
                RATE,
                Duration::from_millis(queue_ms),
                loss,
                jitter,
                SPAN,
            );
            let what =
                format!("queue {queue_ms} ms, loss {loss}, jitter {jitter}, seed {seed}: {r:?}");
            let bytes = (r.delivered[0] + r.delivered[1]) * MESSAGE;
            let used = bytes as f64 / SPAN.as_secs_f64() / RATE as f64;
            assert!(
                used > min_use(loss),
                "link {:.0} % used; {what}",
                used * 100.0
            );
            let (lo, hi) = (
                r.delivered[0].min(r.delivered[1]),
                r.delivered[0].max(r.delivered[1]),
            );
            assert!(lo * 10 >= hi * 6, "unfair share; {what}");
            assert!(r.queue_drops * 20 <= r.sent, "queue drops over 5 %; {what}");
            assert!(
                r.max_queue_delay <= Duration::from_millis(queue_ms),
                "{what}"
            );
        }
    }
}

/// The figures behind the floors above, both controllers side by side:
/// `cargo test --lib goodput_table -- --ignored --nocapture`.
#[test]
#[ignore]
fn goodput_table() {
    let relay = Link::lossy(0.2).dup(0.05).reorder(0.3).latency_ms(10, 0);
    let links = [
        ("0 %", lossy(0.0)),
        ("1 %", lossy(0.01)),
        ("5 %", lossy(0.05)),
        ("20 %", lossy(0.2)),
        ("relay", relay),
    ];
    for (what, link) in links {
        for cc in [
            CongestionControl::SlidingWindow,
            CongestionControl::LossAware,
        ] {
            let (m, v) = mean_goodput(&link, cc);
            eprintln!("{what:>6} {cc:?}: mean {m:.2} MB/s, seeds 0..4 {v:.2?}");
        }
    }
    for cc in [
        CongestionControl::SlidingWindow,
        CongestionControl::LossAware,
    ] {
        let v: Vec<f64> = (0..4).map(|seed| four_echoes(seed, cc)).collect();
        eprintln!("four 300 kB echoes {cc:?}: seconds {v:.2?}");
    }
    for (queue_ms, loss, jitter) in BOTTLENECK_CASES.into_iter().chain([HARD_CASE]) {
        for cc in [
            CongestionControl::SlidingWindow,
            CongestionControl::LossAware,
        ] {
            let q = Duration::from_millis(queue_ms);
            let r = shared_bottleneck(1, cc, RATE, q, loss, jitter, SPAN);
            eprintln!("bottleneck queue {queue_ms} ms loss {loss} jitter {jitter} {cc:?}: {r:?}");
        }
    }
}

/// Issue 13's report: four 300,000-byte reliable-ordered echoes, one after the other,
/// through a relay with 20 % loss, 5 % duplication and 0–30 ms of reordering each way.
/// Returns virtual seconds for all four.
fn four_echoes(seed: u64, cc: CongestionControl) -> f64 {
    let relay = Link::lossy(0.2).dup(0.05).latency_ms(1, 30);
    let mut net = Net::new(seed).with_link(relay);
    let s = net.add(config(cc));
    let c = net.add(config(cc));
    let (cid, sid) = net.connect_pair(c, s);
    let t0 = net.now;
    let msg: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8 | 0x80).collect();
    for round in 1..=4 {
        net.send(c, cid, &msg, SendOptions::new(Reliability::ReliableOrdered));
        net.run_until(|n| n.messages(s).len() == round, Duration::from_secs(600))
            .unwrap();
        net.send(s, sid, &msg, SendOptions::new(Reliability::ReliableOrdered));
        net.run_until(|n| n.messages(c).len() == round, Duration::from_secs(600))
            .unwrap();
    }
    assert!(net.messages(c).iter().all(|m| m.0 == msg), "seed {seed}");
    (net.now - t0).as_secs_f64()
}

/// Issue 13's scenario takes ~40 s of virtual time with RakNet's window (the report
/// measured ~32 s on its relay); it must take at most half that now.
#[test]
fn the_reported_echoes_are_at_least_twice_as_fast() {
    let secs: Vec<f64> = (0..4)
        .map(|seed| four_echoes(seed, CongestionControl::LossAware))
        .collect();
    let mean = secs.iter().sum::<f64>() / secs.len() as f64;
    assert!(
        mean <= 20.0,
        "four echoes took {mean:.1} s on average ({secs:.1?})"
    );
}
