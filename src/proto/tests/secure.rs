//! Secure mode on the simulated network: pinned keys, refusals in both directions,
//! plain and secure clients side by side, and a man in the middle who flips bits,
//! replays, reorders and forges datagrams of an established secure connection.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

use super::sim::{Link, Net};
use crate::proto::secure::{KeyPair, OVERHEAD};
use crate::proto::wire::secure::{SecureReply2, SecureRequest2, REQUEST_MIN_LEN};
use crate::proto::{
    Config, ConnId, ConnectFailure, ConnectOptions, Event, Reliability, SecureConfig,
    SecureConnect, SendOptions,
};

fn server_config(key: &KeyPair) -> Config {
    Config {
        max_incoming: 16,
        secure: SecureConfig {
            key_pair: Some(key.clone()),
            ..SecureConfig::default()
        },
        ..Config::default()
    }
}

fn secure(pin: Option<&KeyPair>) -> ConnectOptions {
    ConnectOptions {
        secure: Some(SecureConnect {
            server_key: pin.map(|k| *k.public()),
        }),
        ..ConnectOptions::default()
    }
}

fn outcome(net: &mut Net, c: usize, id: ConnId) -> Result<(), ConnectFailure> {
    net.run_until(
        |n| {
            n.events(c).iter().any(|e| {
                matches!(e, Event::Connected { conn, .. } | Event::ConnectFailed { conn, .. } if *conn == id)
            })
        },
        Duration::from_secs(30),
    )
    .unwrap();
    net.events(c)
        .iter()
        .find_map(|e| match e {
            Event::Connected { conn, .. } if *conn == id => Some(Ok(())),
            Event::ConnectFailed { conn, reason, .. } if *conn == id => Some(Err(*reason)),
            _ => None,
        })
        .unwrap()
}

fn server_side(net: &mut Net, s: usize, c: usize) -> ConnId {
    let from = net.addr(c);
    net.run_until(
        |n| n.incoming_id(s, from).is_some(),
        Duration::from_secs(30),
    )
    .expect("server side");
    net.incoming_id(s, from).unwrap()
}

/// Runs until node `n` has `count` messages.
fn await_messages(net: &mut Net, n: usize, count: usize) {
    net.run_until(
        |net| net.messages(n).len() >= count,
        Duration::from_secs(60),
    )
    .unwrap();
}

#[test]
fn pinned_secure_connection_carries_data_encrypted() {
    let key = KeyPair::generate().unwrap();
    let mut net = Net::new(1);
    let s = net.add(server_config(&key));
    let c = net.add(Config::default());
    // Record what crosses the wire.
    let wire: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let w = wire.clone();
    net.set_tap(Some(Box::new(move |_, _, b| {
        w.borrow_mut().push(b.clone());
        vec![b]
    })));
    let id = net.connect_opts(c, s, secure(Some(&key)));
    assert_eq!(outcome(&mut net, c, id), Ok(()));
    let sid = server_side(&mut net, s, c);
    let secret = b"\x86 the launch codes are 0000";
    net.send(c, id, secret, SendOptions::default());
    net.send(s, sid, b"\x86 acknowledged", SendOptions::default());
    await_messages(&mut net, s, 1);
    await_messages(&mut net, c, 1);
    assert_eq!(net.messages(s)[0].0, secret);
    assert_eq!(net.messages(c)[0].0, b"\x86 acknowledged");
    assert!(
        !wire
            .borrow()
            .iter()
            .any(|d| d.windows(secret.len()).any(|w| w == secret)),
        "plaintext on the wire"
    );
    let now = net.now;
    let cs = net.ep_ref(c).conn_stats(now, id).unwrap();
    assert!(cs.secure);
    assert_eq!(cs.remote_key, Some(*key.public()));
    // The MTU budget leaves room for the envelope.
    assert_eq!(cs.mtu, 1492 - OVERHEAD as u16);
    let ss = net.ep_ref(s).conn_stats(now, sid).unwrap();
    assert!(ss.secure);
    assert_eq!(ss.remote_key, None, "anonymous client");
    // The handshake answer was never larger than the question.
    let w = wire.borrow();
    let req = w.iter().find(|d| d[0] == 0x7E).unwrap();
    let rep = w.iter().find(|d| d[0] == 0x7F).unwrap();
    assert!(rep.len() <= req.len(), "{} > {}", rep.len(), req.len());
    assert_eq!(req.len(), REQUEST_MIN_LEN);
}

#[test]
fn a_wrong_pinned_key_is_refused() {
    let key = KeyPair::generate().unwrap();
    let other = KeyPair::generate().unwrap();
    let mut net = Net::new(2);
    let s = net.add(server_config(&key));
    let c = net.add(Config::default());
    let id = net.connect_opts(c, s, secure(Some(&other)));
    assert_eq!(
        outcome(&mut net, c, id),
        Err(ConnectFailure::PublicKeyMismatch)
    );
    assert!(net.ep_ref(c).conn_stats(net.now, id).is_none());
    // Trust on first use (no pin) connects and reports the key it got.
    let c2 = net.add(Config::default());
    let id2 = net.connect_opts(c2, s, secure(None));
    assert_eq!(outcome(&mut net, c2, id2), Ok(()));
    let now = net.now;
    assert_eq!(
        net.ep_ref(c2).conn_stats(now, id2).unwrap().remote_key,
        Some(*key.public())
    );
}

#[test]
fn a_secure_client_never_falls_back_to_plain() {
    let mut net = Net::new(3);
    let plain_server = net.add(Config {
        max_incoming: 4,
        ..Config::default()
    });
    let c = net.add(Config::default());
    let id = net.connect_opts(c, plain_server, secure(None));
    assert_eq!(
        outcome(&mut net, c, id),
        Err(ConnectFailure::ServerNotSecure)
    );
    assert_eq!(net.ep_ref(plain_server).connection_count(), 0);
}

#[test]
fn require_secure_refuses_plain_clients_and_admits_secure_ones() {
    let key = KeyPair::generate().unwrap();
    let mut net = Net::new(4);
    let mut cfg = server_config(&key);
    cfg.secure.require_secure = true;
    let s = net.add(cfg);
    let plain = net.add(Config::default());
    let id = net.connect(plain, s, b"");
    assert_eq!(
        outcome(&mut net, plain, id),
        Err(ConnectFailure::SecurityMismatch)
    );
    assert_eq!(net.ep_ref(s).stats().refused.security_required, 1);
    assert_eq!(
        net.ep_ref(s).connection_count(),
        0,
        "no state for the refused"
    );
    let sec = net.add(Config::default());
    let id = net.connect_opts(sec, s, secure(Some(&key)));
    assert_eq!(outcome(&mut net, sec, id), Ok(()));
}

#[test]
fn client_keys_are_required_when_the_server_says_so() {
    let key = KeyPair::generate().unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut net = Net::new(5);
    let mut cfg = server_config(&key);
    cfg.secure.require_client_key = true;
    let s = net.add(cfg.clone());
    // Without a key of its own the client stops at the offer.
    let anon = net.add(Config::default());
    let id = net.connect_opts(anon, s, secure(Some(&key)));
    assert_eq!(
        outcome(&mut net, anon, id),
        Err(ConnectFailure::ClientKeyRequired)
    );
    // With one it connects, and the server learns (and can check) the client's key.
    let with_key = net.add(Config {
        secure: SecureConfig {
            key_pair: Some(client_key.clone()),
            ..SecureConfig::default()
        },
        ..Config::default()
    });
    let id = net.connect_opts(with_key, s, secure(Some(&key)));
    assert_eq!(outcome(&mut net, with_key, id), Ok(()));
    let sid = server_side(&mut net, s, with_key);
    let now = net.now;
    assert_eq!(
        net.ep_ref(s).conn_stats(now, sid).unwrap().remote_key,
        Some(*client_key.public())
    );
}

#[test]
fn the_server_enforces_client_keys_even_against_a_client_that_ignores_the_offer() {
    // A hand-made anonymous secure REQUEST_2 that skips the offer check gets a refusal
    // and takes no slot.
    let key = KeyPair::generate().unwrap();
    let mut cfg = server_config(&key);
    cfg.secure.require_client_key = true;
    cfg.cookies = false;
    let mut ep = crate::proto::Endpoint::new(cfg, "10.0.0.1:19132".parse().unwrap());
    let from = "10.0.0.2:5000".parse().unwrap();
    let p = crate::proto::secure::prologue(6, ep.guid(), 77);
    let hs = crate::proto::secure::ClientHandshake::start(None, &p).unwrap();
    let mut req = Vec::new();
    SecureRequest2 {
        cookie: None,
        identity: false,
        mtu: 1400,
        guid: 77,
        noise: hs.message(),
    }
    .encode(&mut req);
    let now = crate::proto::Time::from_millis(5);
    ep.handle_datagram(now, from, &req);
    let mut buf = Vec::new();
    ep.poll_transmit(now, &mut buf).unwrap();
    let reply = SecureReply2::decode(&buf).unwrap();
    assert_eq!(
        reply.status,
        crate::proto::wire::secure::Status::ClientKeyRequired
    );
    assert_eq!(ep.connection_count(), 0);
    assert_eq!(ep.stats().refused.client_key_required, 1);
}

#[test]
fn secure_and_plain_clients_share_one_server() {
    let key = KeyPair::generate().unwrap();
    let mut net = Net::new(6);
    let s = net.add(server_config(&key));
    let plain = net.add(Config::default());
    let sec = net.add(Config::default());
    let (pc, _) = net.connect_pair(plain, s);
    let sc = net.connect_opts(sec, s, secure(Some(&key)));
    assert_eq!(outcome(&mut net, sec, sc), Ok(()));
    for i in 0..50u8 {
        net.send(plain, pc, &[0x86, i], SendOptions::default());
        net.send(sec, sc, &[0x87, i], SendOptions::default());
    }
    await_messages(&mut net, s, 100);
    let got = net.messages(s);
    let plain_got: Vec<u8> = got
        .iter()
        .filter(|m| m.0[0] == 0x86)
        .map(|m| m.0[1])
        .collect();
    let sec_got: Vec<u8> = got
        .iter()
        .filter(|m| m.0[0] == 0x87)
        .map(|m| m.0[1])
        .collect();
    assert_eq!(plain_got, (0..50).collect::<Vec<_>>());
    assert_eq!(sec_got, (0..50).collect::<Vec<_>>());
    let now = net.now;
    let (pid, sid) = (
        server_side(&mut net, s, plain),
        server_side(&mut net, s, sec),
    );
    let ps = net.ep_ref(s).conn_stats(now, pid).unwrap();
    let ss = net.ep_ref(s).conn_stats(now, sid).unwrap();
    assert!(!ps.secure && ss.secure);
}

#[test]
fn secure_handshake_survives_loss_and_duplication() {
    for seed in 0..16 {
        let key = KeyPair::generate().unwrap();
        let mut net = Net::new(100 + seed).with_link(Link::lossy(0.3).dup(0.2).reorder(0.2));
        let s = net.add(server_config(&key));
        let c = net.add(Config::default());
        let id = net.connect_opts(c, s, secure(Some(&key)));
        assert_eq!(outcome(&mut net, c, id), Ok(()), "seed {seed}");
        for i in 0..200u32 {
            let mut m = vec![0x86];
            m.extend_from_slice(&i.to_be_bytes());
            net.send(c, id, &m, SendOptions::default());
        }
        await_messages(&mut net, s, 200);
        let got: Vec<u32> = net
            .messages(s)
            .iter()
            .map(|m| u32::from_be_bytes(m.0[1..5].try_into().unwrap()))
            .collect();
        assert_eq!(got, (0..200).collect::<Vec<_>>(), "seed {seed}");
        assert_eq!(net.ep_ref(s).connection_count(), 1, "seed {seed}");
    }
}

/// The man in the middle's plan for one data datagram, by its index on the wire.
#[derive(Clone, Copy)]
enum Attack {
    FlipBit,
    Replay,
    Truncate,
    Forge,
}

#[test]
fn a_man_in_the_middle_is_detected_and_delivers_nothing() {
    let key = KeyPair::generate().unwrap();
    let mut net = Net::new(7);
    let s = net.add(server_config(&key));
    let c = net.add(Config::default());
    let id = net.connect_opts(c, s, secure(Some(&key)));
    assert_eq!(outcome(&mut net, c, id), Ok(()));
    let sid = server_side(&mut net, s, c);
    // From now on the MITM sits between them, in both directions: it keeps every
    // datagram it saw, holds some back to deliver them late (reordering), and for each
    // datagram of a cycle of four it also injects a tampered, replayed, truncated or
    // forged copy.
    let seen: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let held: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let injected = Rc::new(RefCell::new(0u64));
    let (sn, hd, inj) = (seen.clone(), held.clone(), injected.clone());
    let mut n = 0u64;
    let mut rng = crate::proto::rng::Rng::new(99);
    net.set_tap(Some(Box::new(move |_, _, b| {
        n += 1;
        let attack = [
            Attack::FlipBit,
            Attack::Replay,
            Attack::Truncate,
            Attack::Forge,
        ][(n % 4) as usize];
        let mut out = Vec::new();
        let bad = match attack {
            Attack::FlipBit => {
                let mut x = b.clone();
                let bit = rng.below(x.len() as u64 * 8) as usize;
                x[bit / 8] ^= 1 << (bit % 8);
                x
            }
            Attack::Replay => sn
                .borrow()
                .get(rng.below(sn.borrow().len().max(1) as u64) as usize)
                .cloned()
                .unwrap_or_else(|| b.clone()),
            Attack::Truncate => b[..b.len() / 2].to_vec(),
            Attack::Forge => {
                let mut x = b.clone();
                for byte in x.iter_mut().skip(8) {
                    *byte = rng.next_u64() as u8;
                }
                x
            }
        };
        *inj.borrow_mut() += 1;
        out.push(bad);
        sn.borrow_mut().push(b.clone());
        // Reorder: every third datagram is held back and sent after the next one.
        if n % 3 == 0 {
            hd.borrow_mut().push(b);
        } else {
            out.push(b);
            out.append(&mut hd.borrow_mut());
        }
        out
    })));
    let count = 300u32;
    for i in 0..count {
        let mut m = vec![0x86];
        m.extend_from_slice(&i.to_be_bytes());
        m.extend_from_slice(&[0xAB; 600]);
        net.send(c, id, &m, SendOptions::new(Reliability::ReliableOrdered));
        net.send(s, sid, &m, SendOptions::new(Reliability::ReliableOrdered));
    }
    await_messages(&mut net, s, count as usize);
    await_messages(&mut net, c, count as usize);
    net.run_for(Duration::from_secs(2));
    for node in [s, c] {
        let got: Vec<u32> = net
            .messages(node)
            .iter()
            .map(|m| {
                assert_eq!(m.0.len(), 605);
                assert!(m.0[5..].iter().all(|&b| b == 0xAB), "corrupted delivery");
                u32::from_be_bytes(m.0[1..5].try_into().unwrap())
            })
            .collect();
        // Every message exactly once and in order: nothing tampered got through.
        assert_eq!(got, (0..count).collect::<Vec<_>>());
    }
    let (ss, cs) = (net.ep_ref(s).stats().clone(), net.ep_ref(c).stats().clone());
    let rejected =
        ss.dropped.forged + ss.dropped.replayed + cs.dropped.forged + cs.dropped.replayed;
    let injected = *injected.borrow();
    // Three in four injections are altered bytes: every one of those is caught. A replay
    // of a datagram whose original is still held back arrives first and is accepted (it
    // is the original); the original is then the one rejected.
    assert!(
        rejected >= injected * 3 / 4,
        "rejected {rejected} of {injected} injected"
    );
    // 600 messages of 605 B fill at least 250 data datagrams (two per datagram); ACKs
    // add more. (About 340 cross: random loss no longer shrinks the window, so more
    // frames share a datagram than the 490 of RakNet's sliding window.)
    assert!(injected > 300, "only {injected} datagrams crossed");
    assert!(ss.dropped.forged > 0 && ss.dropped.replayed > 0);
    assert!(cs.dropped.forged > 0 && cs.dropped.replayed > 0);
    // None of it counted as malformed traffic from the (spoofable) address, and the
    // connection survived and was told.
    assert_eq!(ss.dropped.ignored_abusive, 0);
    assert!(net.ep_ref(s).is_connected(sid) && net.ep_ref(c).is_connected(id));
    let alerts = net
        .events(s)
        .iter()
        .filter(|e| matches!(e, Event::SecurityAlert { conn, .. } if *conn == sid))
        .count();
    assert!(alerts >= 1, "no alert");
    // At most one a second.
    assert!(alerts <= 1 + net.now.as_millis() as usize / 1000);
    let now = net.now;
    let st = net.ep_ref(s).conn_stats(now, sid).unwrap();
    assert_eq!(st.datagrams_forged, ss.dropped.forged);
    assert_eq!(st.datagrams_replayed, ss.dropped.replayed);
    // Distinct injected datagrams: the tap really produced variety.
    let distinct: HashSet<Vec<u8>> = seen.borrow().iter().cloned().collect();
    assert!(distinct.len() > 100);
}

#[test]
fn malformed_secure_handshakes_are_counted_and_cost_nothing() {
    let key = KeyPair::generate().unwrap();
    let mut ep = crate::proto::Endpoint::new(server_config(&key), "10.0.0.1:1".parse().unwrap());
    let now = crate::proto::Time::from_millis(1);
    let from = "10.0.0.9:9".parse().unwrap();
    let mut rng = crate::proto::rng::Rng::new(5);
    let mut req = Vec::new();
    SecureRequest2 {
        cookie: Some(1),
        identity: false,
        mtu: 1400,
        guid: 1,
        noise: &[1; 32],
    }
    .encode(&mut req);
    for i in 0..2000 {
        let mut d = req.clone();
        let at = 17 + rng.below((d.len() - 17) as u64) as usize;
        d[at] = rng.next_u64() as u8;
        if i % 2 == 0 {
            d.truncate(rng.below(d.len() as u64) as usize);
        }
        ep.handle_datagram(now, from, &d);
    }
    assert_eq!(ep.connection_count(), 0);
    // Wrong cookies (cookies are on) take no slot and get no answer.
    let mut buf = Vec::new();
    assert!(ep.poll_transmit(now, &mut buf).is_none());
}

#[test]
fn large_messages_split_inside_the_secure_envelope() {
    let key = KeyPair::generate().unwrap();
    let mut net = Net::new(8);
    let s = net.add(server_config(&key));
    let c = net.add(Config::default());
    let id = net.connect_opts(c, s, secure(Some(&key)));
    assert_eq!(outcome(&mut net, c, id), Ok(()));
    let mut big: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    big[0] = 0x86;
    net.send(c, id, &big, SendOptions::default());
    await_messages(&mut net, s, 1);
    assert_eq!(net.messages(s)[0].0, big);
}
