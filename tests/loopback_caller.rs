//! Work done on application threads (`peer/caller.rs`, `driver.rs`, `wake.rs`): a
//! sparse send applied and transmitted by the sending thread, the socket read by a
//! thread waiting in `wait_event` (Linux), and what must stay true meanwhile: every
//! message delivered once and in order, with several threads waiting at once, and log
//! lines written on the network thread only. Real sockets on 127.0.0.1; every wait has
//! a deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use raknet::proto::{ConnId, Event, Reliability, SendOptions};
use raknet::runtime::{LogLevel, LogSink, Logger, Peer, PeerEvent, SimConfig};

mod common;

use common::{config, connect, server_config, wait_for, PATIENCE, USER};

fn reliable_ordered(channel: u8) -> SendOptions {
    SendOptions {
        reliability: Reliability::ReliableOrdered,
        channel,
        ..SendOptions::default()
    }
}

/// The next message on `peer`, within `PATIENCE`.
fn next_message(peer: &Peer) -> (ConnId, Vec<u8>) {
    wait_for(peer, "a message", |ev| match ev {
        Event::Message { conn, data, .. } => Some((*conn, data.to_vec())),
        _ => None,
    })
}

#[test]
fn round_trips_are_served_by_the_calling_threads() {
    let server = Peer::start(server_config(4)).expect("server starts");
    let client = Peer::start(config()).expect("client starts");
    let (c_conn, s_conn) = connect(&server, &client);
    let rounds = 200u32;
    for i in 0..rounds {
        let mut probe = vec![USER, 1];
        probe.extend_from_slice(&i.to_le_bytes());
        client.send(c_conn, &probe, reliable_ordered(0)).unwrap();
        let (conn, got) = next_message(&server);
        assert_eq!((conn, &got), (s_conn, &probe));
        let mut echo = got.clone();
        echo[1] = 2;
        server.send(s_conn, &echo, reliable_ordered(0)).unwrap();
        let (conn, back) = next_message(&client);
        assert_eq!((conn, &back), (c_conn, &echo), "round trip {i}");
    }
    let (c, s) = (client.runtime_stats(), server.runtime_stats());
    assert!(c.sends_on_caller <= u64::from(rounds) && s.sends_on_caller <= u64::from(rounds));
    // Linux only: there the waiting thread reads the socket itself, so the network
    // thread sleeps through the round trips and the replies find it asleep. Elsewhere
    // (`set_app_reading` is not available) the network thread is woken by each
    // datagram and is often still publishing when the reply comes, so whether a send
    // runs on the caller is a matter of scheduling (under Wine: none in 200 rounds).
    if cfg!(target_os = "linux") {
        // Each side sent `rounds` spaced messages, most while its network thread slept.
        assert!(
            c.sends_on_caller > 0 && s.sends_on_caller > 0,
            "{c:?} {s:?}"
        );
        // Every wait began with an empty queue: the waiting thread read the socket.
        assert!(
            c.receives_on_caller > 0 && s.receives_on_caller > 0,
            "{c:?} {s:?}"
        );
    }
}

/// Under loss, resends are timers, armed by passes on the calling threads
/// (`Waker::wake_at`) as well as the network thread's. Every round trip completes,
/// once and in order. The loss starts after 20
/// clean round trips, so that the resend timeout follows the measured round trip
/// rather than the 1 s it starts from without a sample.
#[test]
fn round_trips_survive_loss_while_the_calling_threads_do_the_work() {
    let server = Peer::start(server_config(4)).expect("server starts");
    let client = Peer::start(config()).expect("client starts");
    let (c_conn, s_conn) = connect(&server, &client);
    let round_trip = |i: u32| {
        let mut probe = vec![USER, 1];
        probe.extend_from_slice(&i.to_le_bytes());
        client.send(c_conn, &probe, reliable_ordered(0)).unwrap();
        assert_eq!(
            next_message(&server),
            (s_conn, probe.clone()),
            "request {i}"
        );
        probe[1] = 2;
        server.send(s_conn, &probe, reliable_ordered(0)).unwrap();
        assert_eq!(next_message(&client), (c_conn, probe), "answer {i}");
    };
    (0..20).for_each(round_trip);
    let lossy = SimConfig {
        loss: 0.2,
        duplicate: 0.1,
        ..SimConfig::OFF
    };
    for peer in [&client, &server] {
        peer.set_simulator(Some(lossy.clone()), Some(lossy.clone()))
            .unwrap();
    }
    (20..120).for_each(round_trip);
    let (c, s) = (client.runtime_stats(), server.runtime_stats());
    assert!(c.sim_outgoing.lost + s.sim_outgoing.lost > 0, "{c:?} {s:?}");
    assert!(
        c.sends_on_caller > 0 && s.sends_on_caller > 0,
        "{c:?} {s:?}"
    );
}

#[test]
fn every_message_arrives_once_and_in_order_with_four_threads_waiting() {
    let server = Arc::new(Peer::start(server_config(4)).expect("server starts"));
    let client = Peer::start(config()).expect("client starts");
    let (c_conn, _) = connect(&server, &client);
    const CHANNELS: u8 = 4;
    const PER_CHANNEL: u32 = 5_000;
    let total = usize::from(CHANNELS) * PER_CHANNEL as usize;
    let received = Arc::new(Mutex::new(0usize));

    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let server = server.clone();
            let received = received.clone();
            std::thread::spawn(move || {
                // (channel, sequence) in the order this thread took them.
                let mut seen: Vec<(u8, u32)> = Vec::new();
                // Give up after `PATIENCE` without any event.
                let mut idle = Duration::ZERO;
                let step = Duration::from_millis(20);
                while *received.lock().unwrap() < total && idle < PATIENCE {
                    let Some(ev) = server.wait_event(step) else {
                        idle += step;
                        continue;
                    };
                    idle = Duration::ZERO;
                    if let PeerEvent::Net(Event::Message { data, .. }) = ev {
                        let seq = u32::from_le_bytes(data[2..6].try_into().unwrap());
                        seen.push((data[1], seq));
                        *received.lock().unwrap() += 1;
                    }
                }
                seen
            })
        })
        .collect();

    let mut sent = 0;
    while sent < total {
        let channel = (sent % usize::from(CHANNELS)) as u8;
        let seq = (sent / usize::from(CHANNELS)) as u32;
        let mut m = vec![USER, channel];
        m.extend_from_slice(&seq.to_le_bytes());
        m.resize(48, 0xA5);
        match client.send(c_conn, &m, reliable_ordered(channel)) {
            Ok(_) => sent += 1,
            // Back-pressure: let the network thread drain, then retry.
            Err(_) => {
                let _ = client.wait_event(Duration::from_millis(1));
            }
        }
    }

    let mut all: Vec<(u8, u32)> = Vec::new();
    for w in waiters {
        let seen = w.join().expect("waiter thread");
        // One thread takes events in queue order: per channel, its sequences rise.
        for ch in 0..CHANNELS {
            let mine: Vec<u32> = seen.iter().filter(|m| m.0 == ch).map(|m| m.1).collect();
            assert!(
                mine.windows(2).all(|w| w[0] < w[1]),
                "channel {ch} out of order"
            );
        }
        all.extend(seen);
    }
    all.sort_unstable();
    let expected: Vec<(u8, u32)> = (0..CHANNELS)
        .flat_map(|ch| (0..PER_CHANNEL).map(move |s| (ch, s)))
        .collect();
    assert_eq!(all.len(), expected.len(), "messages lost or duplicated");
    assert_eq!(all, expected);
}

/// (thread name, line) of every log line, as it was written.
type Lines = Arc<Mutex<Vec<(String, String)>>>;

/// A log sink that records each line with the name of the thread that wrote it.
fn thread_capture() -> (LogSink, Lines) {
    let lines: Lines = Arc::default();
    let sink_lines = lines.clone();
    let sink: LogSink = Arc::new(move |_level, text: &str| {
        let thread = std::thread::current().name().unwrap_or("?").to_owned();
        sink_lines.lock().unwrap().push((thread, text.to_owned()));
    });
    (sink, lines)
}

#[test]
fn log_lines_are_written_on_the_network_thread_only() {
    let (sink, lines) = thread_capture();
    let mut sc = server_config(4);
    sc.thread_name = "caller-test-srv".into();
    sc.log = Logger::new(sink.clone(), LogLevel::Debug);
    let mut cc = config();
    cc.thread_name = "caller-test-cli".into();
    cc.log = Logger::new(sink, LogLevel::Debug);
    let server = Peer::start(sc).expect("server starts");
    let client = Peer::start(cc).expect("client starts");
    // Both sides wait in `wait_event`, so the waiting threads handle the handshake's
    // datagrams and the connection events (which are logged) on Linux.
    let (c_conn, s_conn) = connect(&server, &client);
    client
        .send(c_conn, &[USER, 9], reliable_ordered(0))
        .unwrap();
    assert_eq!(next_message(&server), (s_conn, vec![USER, 9]));
    client.close(c_conn, true).unwrap();
    wait_for(&server, "server Disconnected", |ev| match ev {
        Event::Disconnected { conn, .. } if *conn == s_conn => Some(()),
        _ => None,
    });
    wait_for(&client, "client Disconnected", |ev| match ev {
        Event::Disconnected { conn, .. } if *conn == c_conn => Some(()),
        _ => None,
    });
    drop(client);
    drop(server);
    let lines = lines.lock().unwrap();
    assert!(
        lines.iter().any(|(_, t)| t.contains("connect")),
        "no connection lines: {lines:?}"
    );
    for (thread, text) in lines.iter() {
        assert!(
            thread == "caller-test-srv" || thread == "caller-test-cli",
            "{text:?} logged on {thread}"
        );
    }
}

/// A panic in a pass run on an application thread fails the peer as a network-thread
/// panic does: no unwinding out of the call, `Fatal` once, then `Failed`, and the panic
/// message logged (by the network thread, like every line).
#[test]
fn a_panic_on_the_calling_thread_fails_the_peer_cleanly() {
    let (sink, lines) = thread_capture();
    let mut cc = config();
    cc.thread_name = "caller-panic-net".into();
    cc.log = Logger::new(sink, LogLevel::Error);
    let mut peer = Peer::start(cc).expect("peer starts");
    peer.inject_panic_on_caller().unwrap();
    assert!(peer.is_failed(), "failed before the call returned");
    let fatal = wait_for_any(&peer, |ev| matches!(ev, PeerEvent::Fatal));
    assert!(fatal, "no Fatal event");
    assert!(peer.poll_event().is_none(), "Fatal comes once");
    assert!(matches!(
        peer.send(ConnId(1), &[USER], SendOptions::default()),
        Err(raknet::runtime::PeerError::Failed)
    ));
    peer.shutdown(Duration::from_secs(1));
    let lines = lines.lock().unwrap();
    assert!(
        lines
            .iter()
            .any(|(t, l)| t == "caller-panic-net" && l.contains("panic injected")),
        "{lines:?}"
    );
}

/// Waits up to `PATIENCE` for an event matching `f`.
fn wait_for_any(peer: &Peer, f: impl Fn(&PeerEvent) -> bool) -> bool {
    let step = Duration::from_millis(50);
    let mut left = PATIENCE;
    while !left.is_zero() {
        match peer.wait_event(step) {
            Some(ev) if f(&ev) => return true,
            Some(_) => {}
            None => left = left.saturating_sub(step),
        }
    }
    false
}

/// A send applied on the calling thread while the network thread sleeps arms that
/// thread's wake-up timer for the resend. Here nothing else wakes the sender: its
/// application does not wait, and the server's simulator drops everything that arrives
/// for a while. Once the path is clear, the resend comes within the backed-off timeout
/// (well under a second), not at the sender's next unrelated deadline.
#[test]
fn a_send_on_the_calling_thread_is_resent_by_the_sleeping_network_thread() {
    let server = Peer::start(server_config(4)).expect("server starts");
    let client = Peer::start(config()).expect("client starts");
    let (c_conn, s_conn) = connect(&server, &client);
    for i in 0..20u32 {
        let m = [USER, 3, i as u8];
        client.send(c_conn, &m, reliable_ordered(0)).unwrap();
        assert_eq!(next_message(&server), (s_conn, m.to_vec()));
    }
    let drop_all = SimConfig {
        loss: 1.0,
        ..SimConfig::OFF
    };
    server.set_simulator(None, Some(drop_all)).unwrap();
    // The settings take effect on the server's next pass; let it have one.
    assert!(server.wait_event(Duration::from_millis(50)).is_none());
    let before = client.runtime_stats().sends_on_caller;
    client
        .send(c_conn, &[USER, 4], reliable_ordered(0))
        .unwrap();
    assert_eq!(
        client.runtime_stats().sends_on_caller,
        before + 1,
        "sent inline"
    );
    assert!(server.wait_event(Duration::from_millis(300)).is_none());
    server.set_simulator(None, Some(SimConfig::OFF)).unwrap();
    #[allow(clippy::disallowed_methods)] // the test's own bound, not protocol time
    let start = std::time::Instant::now();
    assert_eq!(next_message(&server), (s_conn, vec![USER, 4]));
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1500), "resent after {took:?}");
    assert!(server.runtime_stats().sim_incoming.lost > 0);
}
