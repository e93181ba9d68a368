//! Statistics (docs/protocol.md §12.1): per-connection buffers, rates over the last second,
//! loss and congestion state; the endpoint's drop counters by reason.

use std::net::SocketAddr;
use std::time::Duration;

use super::sim::{Link, Net};
use crate::proto::wire::offline::Offline;
use crate::proto::wire::{id, MAGIC};
use crate::proto::{Config, ConnStats, Endpoint, Priority, Reliability, SendOptions, Time};

fn server_config() -> Config {
    Config {
        max_incoming: 8,
        ..Config::default()
    }
}

fn payload(i: u32, len: usize) -> Vec<u8> {
    let mut m = vec![0x86];
    m.extend_from_slice(&i.to_be_bytes());
    m.resize(len, i as u8);
    m
}

#[test]
fn conn_stats_show_buffers_rates_and_congestion() {
    let rate = 200_000u64;
    let mut net = Net::new(400).with_link(Link::default().latency_ms(10, 0).rate(rate));
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (cid, sid) = net.connect_pair(c, s);
    let medium = SendOptions {
        priority: Priority::Medium,
        ..SendOptions::new(Reliability::ReliableOrdered)
    };
    let low = SendOptions {
        priority: Priority::Low,
        ..SendOptions::new(Reliability::Reliable)
    };
    for i in 0..300 {
        net.send(c, cid, &payload(i, 1000), medium);
    }
    for i in 0..20 {
        net.send(c, cid, &payload(i, 500), low);
    }
    let st = net.ep_ref(c).conn_stats(net.now, cid).unwrap();
    assert_eq!(st.messages_in_send_buffer[2..], [300, 20]);
    assert_eq!(st.bytes_in_send_buffer[2..], [300_000, 10_000]);

    // While the transfer runs: frames in flight, a window, and at times a full one.
    let mut limited = false;
    let mut in_flight = false;
    let mut received_1s = Vec::new();
    for step in 0..200 {
        net.run_for(Duration::from_millis(10));
        let now = net.now;
        let st = net.ep_ref(c).conn_stats(now, cid).unwrap();
        assert!(st.congestion_window > 0);
        limited |= st.congestion_limited;
        in_flight |= st.messages_in_resend_buffer > 0 && st.bytes_in_resend_buffer > 0;
        if step >= 100 {
            let rs = net.ep_ref(s).conn_stats(now, sid).unwrap();
            received_1s.push(rs.bytes_received_last_second);
            assert!(st.bytes_sent_last_second > 0);
        }
    }
    assert!(limited, "never limited by the congestion window");
    assert!(in_flight);
    // The link carries `rate` bytes per second; the receiver's last-second view agrees.
    for &r in &received_1s {
        assert!(
            r > rate / 4 && r <= rate * 11 / 10 + 1500,
            "{r} over the last second"
        );
    }

    net.run_until(|n| n.messages(s).len() == 320, Duration::from_secs(60))
        .unwrap();
    net.run_for(Duration::from_secs(2));
    let now = net.now;
    let st = net.ep_ref(c).conn_stats(now, cid).unwrap();
    assert_eq!(st.messages_in_send_buffer, [0; 4]);
    assert_eq!(st.bytes_in_resend_buffer, 0);
    assert!(!st.congestion_limited);
    assert_eq!(
        (st.bytes_sent_last_second, st.bytes_resent_last_second),
        (0, 0),
        "idle for two seconds"
    );
    assert_eq!(st.packet_loss_last_second, 0.0);
    assert!(st.bytes_sent >= 310_000);
}

fn transfer_loss(loss: f64) -> ConnStats {
    let mut net = Net::new(401).with_link(Link::lossy(loss).latency_ms(10, 0));
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (cid, _) = net.connect_pair(c, s);
    for i in 0..200 {
        net.send(
            c,
            cid,
            &payload(i, 800),
            SendOptions::new(Reliability::ReliableOrdered),
        );
    }
    net.run_until(|n| n.messages(s).len() == 200, Duration::from_secs(60))
        .unwrap();
    let now = net.now;
    net.ep_ref(c).conn_stats(now, cid).unwrap()
}

#[test]
fn packet_loss_reflects_resends() {
    let clean = transfer_loss(0.0);
    assert!(
        clean.packet_loss_total < 0.02,
        "{}",
        clean.packet_loss_total
    );
    let lossy = transfer_loss(0.2);
    assert!(
        lossy.packet_loss_total > 0.05 && lossy.packet_loss_total <= 1.0,
        "{}",
        lossy.packet_loss_total
    );
    assert!(lossy.packet_loss_last_second > 0.0);
    assert!(lossy.bytes_resent_last_second > 0);
}

#[test]
fn drops_are_counted_by_reason() {
    let mut net = Net::new(402);
    let s = net.add(server_config());
    let c = net.add(Config::default());
    let (_, sid) = net.connect_pair(c, s);
    let caddr = net.addr(c);
    let stranger: SocketAddr = "10.7.7.7:7".parse().unwrap();
    let now = net.now;
    let ep = net.ep(s);
    let base = ep.stats().clone();

    // Offline junk and a pong too short for its magic.
    ep.handle_datagram(now, stranger, &[0x01, 0x02]);
    let mut short_pong = vec![id::UNCONNECTED_PONG];
    short_pong.extend_from_slice(&[0; 16]);
    short_pong.extend_from_slice(&MAGIC[..12]);
    ep.handle_datagram(now, stranger, &short_pong);
    // Connected-mode data from nobody we know.
    ep.handle_datagram(now, stranger, &[0x84, 0, 0, 0, 0x00, 0x00, 0x08, 0x86]);
    // REQUEST_2 without the cookie this server requires.
    let mut req2 = Vec::new();
    Offline::OpenConnectionRequest2 {
        cookie: None,
        has_challenge: false,
        server_addr: "10.0.0.1:19132".parse().unwrap(),
        mtu: 1492,
        guid: 3,
    }
    .encode(&mut req2);
    ep.handle_datagram(now, stranger, &req2);
    // A 25-byte REQUEST_1 would need a 32-byte answer.
    let mut req1 = Vec::new();
    Offline::OpenConnectionRequest1 {
        protocol: 6,
        mtu: 53,
    }
    .encode(&mut req1);
    assert_eq!(req1.len(), 25);
    ep.handle_datagram(now, stranger, &req1);
    // Replies and rejections nobody asked for.
    let mut reply1 = Vec::new();
    Offline::OpenConnectionReply1 {
        guid: 1,
        cookie: None,
        has_public_key: false,
        mtu: 1492,
    }
    .encode(&mut reply1);
    ep.handle_datagram(now, stranger, &reply1);
    let mut full = Vec::new();
    Offline::Rejection {
        id: id::NO_FREE_INCOMING_CONNECTIONS,
        guid: 1,
    }
    .encode(&mut full);
    ep.handle_datagram(now, stranger, &full);
    // Out-of-band data that is not ADVERTISE_SYSTEM.
    let mut oob = Vec::new();
    Offline::OutOfBand {
        guid: 1,
        payload: &[0x0B, 0],
    }
    .encode(&mut oob);
    ep.handle_datagram(now, stranger, &oob);
    // From the connected client: a truncated data header, a truncated ACK, and a data
    // datagram whose frame claims more bytes than it has.
    ep.handle_datagram(now, caddr, &[0x80, 0, 0]);
    ep.handle_datagram(now, caddr, &[0xC0, 0, 5]);
    ep.handle_datagram(now, caddr, &[0x84, 0, 0, 0, 0x00, 0xFF, 0xFF, 0x86, 0x01]);
    // A banned IP, twice in a row (the second answer is withheld).
    ep.add_ban(now, "10.6.6.6", None).unwrap();
    let banned: SocketAddr = "10.6.6.6:6".parse().unwrap();
    ep.handle_datagram(now, banned, &req2);
    ep.handle_datagram(now, banned, &req2);

    let d = &ep.stats().dropped;
    let b = &base.dropped;
    assert_eq!(d.bad_offline - b.bad_offline, 2, "{d:?}");
    assert_eq!(d.unknown_source - b.unknown_source, 1, "{d:?}");
    assert_eq!(d.bad_cookie - b.bad_cookie, 1, "{d:?}");
    assert_eq!(d.amplification - b.amplification, 1, "{d:?}");
    assert_eq!(d.unsolicited - b.unsolicited, 2, "{d:?}");
    assert_eq!(d.out_of_band_ignored - b.out_of_band_ignored, 1, "{d:?}");
    assert_eq!(d.bad_datagram_header - b.bad_datagram_header, 1, "{d:?}");
    assert_eq!(d.bad_ack_nak - b.bad_ack_nak, 1, "{d:?}");
    assert_eq!(d.bad_frame - b.bad_frame, 1, "{d:?}");
    assert_eq!(d.banned - b.banned, 2, "{d:?}");
    assert_eq!(d.rate_limited - b.rate_limited, 1, "{d:?}");
    assert_eq!(d.offline_queue_full, 0);
    // The legacy totals still add up.
    let st = ep.stats();
    assert_eq!(st.malformed_datagrams - base.malformed_datagrams, 5);
    assert_eq!(
        st.unknown_source_datagrams - base.unknown_source_datagrams,
        1
    );
    // None of it hurt the real connection.
    assert!(ep.is_connected(sid));
}

#[test]
fn the_offline_queue_is_bounded_and_counts_what_it_drops() {
    let local: SocketAddr = "10.0.0.1:19132".parse().unwrap();
    let mut ep = Endpoint::new(server_config(), local);
    let now = Time::from_millis(1);
    let mut ping = Vec::new();
    Offline::UnconnectedPing {
        open_connections_only: false,
        time: 1,
        guid: Some(2),
    }
    .encode(&mut ping);
    for i in 0..2000u32 {
        let from = SocketAddr::from(([10, 1, (i >> 8) as u8, i as u8], 9));
        ep.handle_datagram(now, from, &ping);
    }
    let mut buf = Vec::new();
    let mut n = 0;
    while ep.poll_transmit(now, &mut buf).is_some() {
        n += 1;
    }
    assert_eq!(n, 1024);
    assert_eq!(ep.stats().dropped.offline_queue_full, 2000 - 1024);
}
