//! An idle peer uses no CPU: the spin-before-blocking of `wake.rs` (network thread) and
//! `queues.rs` (application waits) only runs while traffic is frequent. After a burst of
//! round trips, both network threads and a thread blocked in `wait_event` must stay
//! asleep through 300 ms of silence. CPU time comes from the kernel's per-thread
//! scheduler statistics (`/proc/self/task/<tid>/schedstat`, nanoseconds on the CPU).
#![cfg(target_os = "linux")]

use std::time::Duration;

use raknet::proto::{Event, SendOptions};
use raknet::runtime::{Peer, PeerEvent};

mod common;

use common::{config, connect, server_config, start, wait_for, USER};

/// Nanoseconds on the CPU of every thread of this process named `name`.
fn cpu_ns(name: &str) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            let stat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
            total += stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

fn this_thread_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    stat.split_whitespace().next().unwrap().parse().unwrap()
}

fn bounce(from: &Peer, to: &Peer, conn: raknet::proto::ConnId) {
    from.send(conn, &[USER, 1, 2, 3], SendOptions::default())
        .unwrap();
    wait_for(to, "a message", |ev| {
        matches!(ev, Event::Message { .. }).then_some(())
    });
}

#[test]
fn idle_peers_do_not_burn_cpu_after_traffic() {
    let mut sc = server_config(4);
    sc.thread_name = "idle-srv-net".into();
    let mut cc = config();
    cc.thread_name = "idle-cli-net".into();
    let (server, client) = (start(sc), start(cc));
    let (c_conn, s_conn) = connect(&server, &client);
    // Frequent traffic: the conditions under which the threads spin.
    for _ in 0..200 {
        bounce(&client, &server, c_conn);
        bounce(&server, &client, s_conn);
    }
    // Let acknowledgements settle, then measure a quiet stretch.
    while client.wait_event(Duration::from_millis(20)).is_some() {}
    while server.poll_event().is_some() {}
    let before = (cpu_ns("idle-srv-net"), cpu_ns("idle-cli-net"));
    assert!(before.0 > 0 && before.1 > 0, "network threads not found");
    let me = this_thread_cpu_ns();
    let got = client.wait_event(Duration::from_millis(300));
    assert!(
        got.is_none() || matches!(got, Some(PeerEvent::Net(_))),
        "unexpected {got:?}"
    );
    let waiter = this_thread_cpu_ns() - me;
    let net = (
        cpu_ns("idle-srv-net") - before.0,
        cpu_ns("idle-cli-net") - before.1,
    );
    println!("CPU over 300 ms idle: waiter {waiter} ns, net threads {net:?} ns");
    // A few ms at most: a spin or two (50 µs each) and the odd timer, never a busy loop.
    let limit = 5_000_000;
    assert!(waiter < limit, "waiting thread used {waiter} ns");
    assert!(
        net.0 < limit && net.1 < limit,
        "network threads used {net:?} ns"
    );
}
