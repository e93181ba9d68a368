//! Time across the connection: occasional pings keep the ping samples fresh (docs/protocol.md
//! §10.1, §10.2), and ID_TIMESTAMP messages arrive in the receiver's clock (§10.4), here
//! between two endpoints whose clocks are an hour apart.

use std::time::Duration;

use super::sim::{Link, Net};
use crate::proto::{Config, Reliability, SendOptions};

fn server_config() -> Config {
    Config {
        max_incoming: 8,
        ..Config::default()
    }
}

#[test]
fn occasional_pings_follow_a_changing_round_trip() {
    for occasional in [true, false] {
        let mut net = Net::new(300);
        let s = net.add(server_config());
        let c = net.add(Config {
            occasional_ping: if occasional {
                Duration::from_secs(1)
            } else {
                Duration::ZERO
            },
            ..Config::default()
        });
        let (cid, _) = net.connect_pair(c, s);
        net.run_for(Duration::from_millis(50));
        let before = net.ep_ref(c).conn_stats(net.now, cid).unwrap();
        assert_eq!(before.last_ping_ms, Some(10));
        // The path gets slower: 100 ms each way.
        let slow = Link::default().latency_ms(100, 0);
        net.set_link(c, s, slow.clone());
        net.set_link(s, c, slow);
        // Under half the timeout, so no keep-alive ping muddies the picture.
        net.run_for(Duration::from_secs(3));
        let now = net.now;
        let after = net.ep_ref(c).conn_stats(now, cid).unwrap();
        let new_pongs = after.pongs_received - before.pongs_received;
        if occasional {
            assert!(new_pongs >= 2, "{new_pongs}");
            assert_eq!(after.last_ping_ms, Some(200));
            assert!(after.pings_sent > before.pings_sent);
            // The clock differential still comes from the lowest round trip.
            assert_eq!(after.lowest_ping_ms, Some(10));
        } else {
            assert_eq!(new_pongs, 0);
            assert_eq!(after.last_ping_ms, Some(10));
        }
    }
}

fn stamped(time_ms: u64, rest: &[u8]) -> Vec<u8> {
    let mut m = vec![0x1B];
    m.extend_from_slice(&time_ms.to_be_bytes());
    m.extend_from_slice(rest);
    m
}

fn stamp_of(m: &[u8]) -> u64 {
    u64::from_be_bytes(m[1..9].try_into().unwrap())
}

#[test]
fn timestamps_arrive_in_the_receivers_clock() {
    let hour = Duration::from_secs(3600);
    let hour_ms = hour.as_millis() as u64;
    let mut net = Net::new(301);
    let s = net.add(Config {
        occasional_ping: Duration::from_secs(1),
        ..server_config()
    });
    let c = net.add(Config {
        occasional_ping: Duration::from_secs(1),
        ..Config::default()
    });
    net.set_clock_offset(s, hour);
    let (cid, sid) = net.connect_pair(c, s);
    net.run_for(Duration::from_secs(3));
    let cs = net.ep_ref(c).conn_stats(net.now_of(c), cid).unwrap();
    let ss = net.ep_ref(s).conn_stats(net.now_of(s), sid).unwrap();
    let near = |got: i64, want: i64| (got - want).abs() <= 2;
    assert!(
        near(cs.clock_differential_ms.unwrap(), hour_ms as i64),
        "{cs:?}"
    );
    assert!(
        near(ss.clock_differential_ms.unwrap(), -(hour_ms as i64)),
        "{ss:?}"
    );

    let o = SendOptions::new(Reliability::ReliableOrdered);
    let tc = net.now_of(c).as_millis();
    net.send(c, cid, &stamped(tc, &[0x86, 1, 2]), o);
    // Too short to carry a time, and a time that is not at the front: untouched.
    net.send(c, cid, &[0x1B, 7, 7], o);
    net.send(c, cid, &[0x86, 0x1B, 0, 0, 0, 0, 0, 0, 0, 9], o);
    let ts = net.now_of(s).as_millis();
    net.send(s, sid, &stamped(ts, &[0x87]), o);
    net.run_until(
        |n| n.messages(s).len() == 3 && n.messages(c).len() == 1,
        Duration::from_secs(2),
    )
    .unwrap();

    let at_s = net.messages(s);
    // The client's stamp, moved onto the server's clock: an hour later.
    assert!(
        near(stamp_of(&at_s[0].0) as i64, (tc + hour_ms) as i64),
        "{} vs {}",
        stamp_of(&at_s[0].0),
        tc + hour_ms
    );
    assert_eq!(&at_s[0].0[9..], &[0x86, 1, 2]);
    assert_eq!(at_s[1].0, vec![0x1B, 7, 7]);
    assert_eq!(at_s[2].0, vec![0x86, 0x1B, 0, 0, 0, 0, 0, 0, 0, 9]);
    let at_c = net.messages(c);
    assert!(near(stamp_of(&at_c[0].0) as i64, (ts - hour_ms) as i64));
    assert_eq!(&at_c[0].0[9..], &[0x87]);
}
