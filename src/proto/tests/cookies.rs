//! The anti-spoofing cookies (docs/protocol.md §5.3, §5.4): keyed with a secret that is
//! neither the seed nor the GUID, rotating every epoch, and a refusal of REQUEST_2
//! without one that the application can see.

use std::net::SocketAddr;

use crate::proto::handshake::cookies::COOKIE_EPOCH;
use crate::proto::wire::offline::{self, Offline};
use crate::proto::{Config, CookieSecret, Endpoint, Time};

fn server_addr() -> SocketAddr {
    "10.0.0.1:19132".parse().unwrap()
}

fn server(config: Config) -> Endpoint {
    Endpoint::new(
        Config {
            max_incoming: 8,
            ..config
        },
        server_addr(),
    )
}

/// Everything `ep` has to send now.
fn drain(ep: &mut Endpoint, now: Time) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while ep.poll_transmit(now, &mut buf).is_some() {
        out.push(buf.clone());
    }
    out
}

/// REQUEST_1 from `from` at `now`; REPLY_1's cookie.
fn cookie_of(ep: &mut Endpoint, now: Time, from: SocketAddr) -> Option<u32> {
    let mut req = Vec::new();
    Offline::OpenConnectionRequest1 {
        protocol: 6,
        mtu: 1492,
    }
    .encode(&mut req);
    ep.handle_datagram(now, from, &req);
    let out = drain(ep, now);
    match offline::decode(out.last().expect("REPLY_1")) {
        Some(Ok(Offline::OpenConnectionReply1 { cookie, .. })) => cookie,
        other => panic!("expected REPLY_1, got {other:?}"),
    }
}

fn request_2(cookie: Option<u32>, guid: u64) -> Vec<u8> {
    super::attacks::request_2_to(server_addr(), cookie, guid)
}

/// Two servers configured alike (same GUID, same seed, no cookie secret given) make
/// different cookies for the same client: the key is drawn from the operating system,
/// not from anything configured or sent on the wire.
#[test]
fn servers_with_the_same_guid_and_seed_make_different_cookies() {
    let config = Config {
        guid: 0x1234_5678,
        seed: 99,
        ..Config::default()
    };
    let client: SocketAddr = "10.0.0.2:40000".parse().unwrap();
    let now = Time::from_millis(1_000);
    let a = cookie_of(&mut server(config.clone()), now, client).expect("cookies are on");
    let b = cookie_of(&mut server(config.clone()), now, client).expect("cookies are on");
    assert_ne!(
        a, b,
        "two servers with one GUID and seed share their cookie key"
    );
    // With the GUID left to the seed as well.
    let config = Config { guid: 0, ..config };
    let a = cookie_of(&mut server(config.clone()), now, client).unwrap();
    let b = cookie_of(&mut server(config), now, client).unwrap();
    assert_ne!(a, b);
}

/// A given secret makes the same cookies (repeatable tests), another secret others.
#[test]
fn the_cookie_secret_is_the_only_key() {
    let client: SocketAddr = "10.0.0.2:40000".parse().unwrap();
    let now = Time::from_millis(1_000);
    let with = |secret: [u8; 16], guid: u64| Config {
        guid,
        cookie_secret: Some(CookieSecret(secret)),
        ..Config::default()
    };
    let a = cookie_of(&mut server(with([7; 16], 1)), now, client);
    let b = cookie_of(&mut server(with([7; 16], 2)), now, client);
    let c = cookie_of(&mut server(with([8; 16], 1)), now, client);
    assert_eq!(a, b, "the GUID does not key the cookies");
    assert_ne!(a, c);
    assert_eq!(format!("{:?}", CookieSecret([7; 16])), "CookieSecret(..)");
}

/// Cookies rotate every epoch: one made in the previous epoch is still accepted, one
/// from two epochs back is refused (no slot, counted as a bad cookie).
#[test]
fn cookies_rotate_and_the_previous_epoch_is_still_accepted() {
    let mut ep = server(Config::default());
    let epoch = COOKIE_EPOCH.as_micros() as u64;
    let start = Time::from_micros(10 * epoch + 1_000);
    let (one, two): (SocketAddr, SocketAddr) = (
        "10.0.0.2:40000".parse().unwrap(),
        "10.0.0.3:40000".parse().unwrap(),
    );
    let c_one = cookie_of(&mut ep, start, one);
    let c_two = cookie_of(&mut ep, start, two);
    let next = Time::from_micros(11 * epoch + 1_000);
    assert_ne!(cookie_of(&mut ep, next, one), c_one, "no rotation");
    // One rotation later (the end of the next epoch): accepted.
    let late = Time::from_micros(12 * epoch - 1_000);
    ep.handle_datagram(late, one, &request_2(c_one, 0xAA));
    assert!(
        ep.conn_by_addr(one).is_some(),
        "previous epoch's cookie refused"
    );
    // Two rotations later: refused.
    let later = Time::from_micros(12 * epoch + 1_000);
    let bad = ep.stats().dropped.bad_cookie;
    ep.handle_datagram(later, two, &request_2(c_two, 0xBB));
    assert!(
        ep.conn_by_addr(two).is_none(),
        "a cookie two epochs old opened a slot"
    );
    assert_eq!(ep.stats().dropped.bad_cookie, bad + 1);
}

/// A REQUEST_2 without a cookie (a client that ignored REPLY_1's security flag) is
/// refused silently on the wire but counted as a refusal of its own; a wrong cookie
/// (spoofing, or an expired one) is only a dropped datagram.
#[test]
fn request_2_without_a_cookie_is_counted_as_a_refusal() {
    let mut ep = server(Config::default());
    let now = Time::from_millis(1_000);
    let from: SocketAddr = "10.0.0.2:40000".parse().unwrap();
    ep.handle_datagram(now, from, &request_2(None, 0xAA));
    assert!(drain(&mut ep, now).is_empty(), "nothing is answered");
    assert!(ep.conn_by_addr(from).is_none());
    assert_eq!(ep.stats().refused.missing_cookie, 1);
    assert_eq!(ep.stats().refused.total(), 1);
    assert_eq!(ep.stats().dropped.bad_cookie, 1);
    let good = cookie_of(&mut ep, now, from).unwrap();
    ep.handle_datagram(now, from, &request_2(Some(good ^ 1), 0xAA));
    assert_eq!(ep.stats().refused.missing_cookie, 1);
    assert_eq!(ep.stats().dropped.bad_cookie, 2);
    // Without cookies, the same request connects.
    let mut open = server(Config {
        cookies: false,
        ..Config::default()
    });
    open.handle_datagram(now, from, &request_2(None, 0xAA));
    assert!(open.conn_by_addr(from).is_some());
    assert_eq!(open.stats().refused.missing_cookie, 0);
}

/// Printing an endpoint never shows the key its cookies are made with.
#[test]
fn an_endpoint_printed_does_not_show_its_cookie_key() {
    let secret = CookieSecret([0xA5; 16]);
    let ep = Endpoint::new(
        Config {
            cookie_secret: Some(secret),
            ..Config::default()
        },
        server_addr(),
    );
    let printed = format!("{ep:?}");
    let (a, b) = (
        u64::from_le_bytes([0xA5; 8]).to_string(),
        format!("{:x}", u64::from_le_bytes([0xA5; 8])),
    );
    assert!(printed.contains("CookieKey(..)"), "{printed}");
    assert!(!printed.contains(&a) && !printed.to_lowercase().contains(&b));
}
