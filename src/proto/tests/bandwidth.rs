//! The per-connection outgoing bandwidth limit (`ReliabilityConfig::outgoing_bandwidth_limit`).

use std::time::Duration;

use super::sim::{Link, Net};
use crate::proto::{Config, Reliability, SendOptions};

fn transfer_seconds(limit: u64, bytes: usize) -> f64 {
    let mut net = Net::new(21).with_link(Link::default().latency_ms(5, 0).rate(50_000_000));
    let s = net.add(Config {
        max_incoming: 2,
        ..Config::default()
    });
    let mut cfg = Config::default();
    cfg.reliability.outgoing_bandwidth_limit = limit;
    let c = net.add(cfg);
    let (cid, _) = net.connect_pair(c, s);
    let count = bytes / 1000;
    for i in 0..count {
        let mut m = vec![0x86u8; 1000];
        m[1..5].copy_from_slice(&(i as u32).to_be_bytes());
        net.send(c, cid, &m, SendOptions::new(Reliability::ReliableOrdered));
    }
    let t0 = net.now;
    net.run_until(|n| n.messages(s).len() == count, Duration::from_secs(120))
        .unwrap();
    (net.now - t0).as_secs_f64()
}

#[test]
fn outgoing_bandwidth_limit_paces_new_data() {
    // 1 MB at 200 kB/s takes about 5 s; unlimited it takes a fraction of a second.
    let limited = transfer_seconds(200_000, 1_000_000);
    assert!(
        (4.5..6.0).contains(&limited),
        "limited transfer took {limited:.2} s"
    );
    let free = transfer_seconds(0, 1_000_000);
    assert!(free < 1.0, "unlimited transfer took {free:.2} s");
}
