//! The receive budget (`Config::receive_budget`, `endpoint/budget.rs`) does not get in
//! the way of legitimate traffic at the defaults: the largest split message a default
//! connection accepts (32 MiB) and a 16 MiB one over a lossy, reordering link arrive,
//! on a server with 64 incoming slots, without a single frame refused for the budget.
//! The hostile side (every slot flooding) is in `attacks.rs` (`flood_every_slot`).

use std::time::Duration;

use super::sim::{Link, Net};
use crate::proto::{Config, Reliability, SendOptions};

fn big(len: usize, tag: u8) -> Vec<u8> {
    let mut m: Vec<u8> = (0..len).map(|i| (i % 251) as u8 ^ tag).collect();
    m[0] = 0x86;
    m
}

/// Sends `sizes` from a client to a default server with 64 slots over `link`; checks
/// they all arrive intact and in order, and that the server's held bytes never went
/// over the budget nor had to refuse anything. Returns the peak held.
fn transfer(seed: u64, link: Link, sizes: &[usize]) -> usize {
    let mut net = Net::new(seed).with_link(link);
    let s = net.add(Config {
        max_incoming: 64,
        ..Config::default()
    });
    let c = net.add(Config::default());
    let (cid, _) = net.connect_pair(c, s);
    let msgs: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| big(n, i as u8))
        .collect();
    for m in &msgs {
        net.send(c, cid, m, SendOptions::new(Reliability::ReliableOrdered));
    }
    let budget = net.ep_ref(s).config().receive_budget;
    let mut peak = 0;
    let deadline = net.now + Duration::from_secs(600);
    while net.messages(s).len() < msgs.len() && net.now < deadline {
        net.run_for(Duration::from_millis(100));
        let held = net.ep_ref(s).receive_held_bytes();
        assert!(held <= budget, "{held} held, seed {seed}");
        peak = peak.max(held);
    }
    let got: Vec<Vec<u8>> = net.messages(s).into_iter().map(|m| m.0).collect();
    assert!(
        got == msgs,
        "seed {seed}: {} of {} arrived",
        got.len(),
        msgs.len()
    );
    assert_eq!(net.ep_ref(s).stats().dropped.over_receive_budget, 0);
    peak
}

#[test]
fn largest_default_message_arrives_at_defaults() {
    let max = Config::default().reliability.max_split_message_bytes;
    let peak = transfer(1, Link::default(), &[max]);
    println!("one {max}-byte message: peak {peak} bytes held");
}

#[test]
fn sixteen_mib_over_a_lossy_reordering_link() {
    let peak = transfer(
        2,
        Link::lossy(0.02).reorder(0.05).latency_ms(20, 5),
        &[16 << 20, 1 << 20, 300],
    );
    println!("16 MiB + 1 MiB + 300 B over 2 % loss: peak {peak} bytes held");
}

/// More large messages at once than the budget holds (six clients, 2 MiB each, an
/// 8 MiB budget, a lossy link): each split message reserves its size when it starts, so
/// the ones that started finish and the others wait for room (their fragments are
/// resent) instead of all waiting on each other until they expire.
#[test]
fn concurrent_messages_larger_than_the_budget_all_arrive() {
    const CLIENTS: usize = 6;
    let mut net = Net::new(3).with_link(Link::lossy(0.02).latency_ms(10, 3));
    let s = net.add(Config {
        max_incoming: 8,
        receive_budget: 8 << 20,
        ..Config::default()
    });
    let mut conns = Vec::new();
    for _ in 0..CLIENTS {
        let c = net.add(Config::default());
        let (cid, _) = net.connect_pair(c, s);
        conns.push((c, cid));
    }
    // Told apart by byte 1 (1 ^ tag).
    let msgs: Vec<Vec<u8>> = (0..CLIENTS).map(|i| big(2 << 20, i as u8 ^ 1)).collect();
    for (&(c, cid), m) in conns.iter().zip(&msgs) {
        net.send(c, cid, m, SendOptions::new(Reliability::ReliableOrdered));
    }
    let budget = 8 << 20;
    let deadline = net.now + Duration::from_secs(120);
    while net.messages(s).len() < CLIENTS && net.now < deadline {
        net.run_for(Duration::from_millis(100));
        assert!(net.ep_ref(s).receive_held_bytes() <= budget);
    }
    let mut got: Vec<Vec<u8>> = net.messages(s).into_iter().map(|m| m.0).collect();
    got.sort_by_key(|m| m[1]);
    assert_eq!(got.len(), CLIENTS, "{} of {CLIENTS} arrived", got.len());
    assert!(got == msgs, "a message arrived damaged");
    let refused = net.ep_ref(s).stats().dropped.over_receive_budget;
    println!("{CLIENTS} x 2 MiB into an 8 MiB budget: {refused} datagrams refused for room");
    assert!(
        refused > 0,
        "the budget never had to refuse: the test shows nothing"
    );
}
