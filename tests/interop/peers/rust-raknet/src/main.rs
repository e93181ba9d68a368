//! Interop helper around the independent `rust-raknet` crate (=1.4.0), a foreign
//! peer for libraknet's interop tests. Same command line, event lines, payload and
//! scenarios as the other helpers in tests/interop/peers (see tests/interop/README.md).
//!
//! What the crate cannot do shapes this file: it sends only messages whose first
//! byte is 0xFE (so `--first-byte` defaults to 0xFE here), fragments only
//! RELIABLE_ORDERED, has no password and no connection limit, and reports every
//! end of a connection the same way (`recv` fails), so "notification" and "lost"
//! cannot be told apart.

use rust_raknet::{RaknetListener, RaknetSocket, Reliability};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const EXIT_PASS: u8 = 0;
const EXIT_FAIL: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_UNSUPPORTED: u8 = 3;
const BIG_SIZE: usize = 1024 * 1024;
const HEADER_LEN: usize = 7;
const NAMES: [&str; 5] = [
    "unreliable",
    "unreliable_sequenced",
    "reliable",
    "reliable_ordered",
    "reliable_sequenced",
];

struct Opts {
    mode: String,
    host: String,
    port: u16,
    protocol: Option<u8>,
    password: Option<String>,
    max_conn: Option<u32>,
    offline_data: Option<String>,
    scenario: String,
    count: u32,
    first_byte: u8,
    timeout: f64,
    hold: f64,
    echo_reliability: Option<u8>,
    echo_channel: Option<u8>,
}

fn usage(msg: &str) -> ! {
    eprintln!("error: {msg}");
    eprintln!("usage: peer server|client|ping [--host H] [--port P] [--protocol V] [--password PW] [--max-conn N]");
    eprintln!("       [--offline-data TEXT] [--scenario NAME] [--count N] [--first-byte B] [--timeout S] [--hold S]");
    eprintln!("       [--echo-reliability NAME|auto] [--echo-channel C]");
    std::process::exit(EXIT_USAGE as i32)
}

fn parse_num<T: std::str::FromStr>(s: &str, what: &str) -> T {
    s.parse().unwrap_or_else(|_| usage(&format!("bad value for {what}: {s}")))
}

fn parse_args() -> Opts {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first().cloned() else { usage("missing mode") };
    if !["server", "client", "ping"].contains(&mode.as_str()) {
        usage("mode must be server, client or ping");
    }
    let mut o = Opts {
        mode,
        host: "127.0.0.1".into(),
        port: 19132,
        protocol: None,
        password: None,
        max_conn: None,
        offline_data: None,
        scenario: "all".into(),
        count: 50,
        first_byte: 0xfe,
        timeout: 30.0,
        hold: 70.0,
        echo_reliability: None,
        echo_channel: None,
    };
    let mut i = 1;
    while i < args.len() {
        let flag = args[i].as_str();
        let val = || args.get(i + 1).cloned().unwrap_or_else(|| usage(&format!("missing value for {flag}")));
        match flag {
            "--host" => o.host = val(),
            "--port" => o.port = parse_num(&val(), flag),
            "--protocol" => o.protocol = Some(parse_num(&val(), flag)),
            "--password" => o.password = Some(val()),
            "--max-conn" => o.max_conn = Some(parse_num(&val(), flag)),
            "--offline-data" => o.offline_data = Some(val()),
            "--scenario" => o.scenario = val(),
            "--count" => o.count = parse_num(&val(), flag),
            "--first-byte" => {
                let v = val();
                o.first_byte = match v.strip_prefix("0x") {
                    Some(hex) => u8::from_str_radix(hex, 16).unwrap_or_else(|_| usage("bad --first-byte")),
                    None => parse_num(&v, flag),
                }
            }
            "--timeout" => o.timeout = parse_num(&val(), flag),
            "--hold" => o.hold = parse_num(&val(), flag),
            "--echo-reliability" => {
                let v = val();
                o.echo_reliability = if v == "auto" {
                    None
                } else {
                    Some(NAMES.iter().position(|n| *n == v).unwrap_or_else(|| usage("bad --echo-reliability")) as u8)
                }
            }
            "--echo-channel" => o.echo_channel = Some(parse_num(&val(), flag)),
            _ => usage(&format!("unknown argument {flag}")),
        }
        i += 2;
    }
    o
}

fn event(kind: &str, fields: &[(&str, String)]) {
    let mut line = format!("EVENT {kind}");
    for (k, v) in fields {
        line.push_str(&format!(" {k}={v}"));
    }
    println!("{line}");
}

fn result(ok: bool, fields: &[(&str, String)]) {
    let mut line = format!("RESULT {}", if ok { "pass" } else { "fail" });
    for (k, v) in fields {
        line.push_str(&format!(" {k}={v}"));
    }
    println!("{line}");
}

fn unsupported(what: &str) -> u8 {
    println!("UNSUPPORTED {what}");
    EXIT_UNSUPPORTED
}

fn make_payload(first: u8, seq: u32, ch: u8, rel: u8, size: usize) -> Vec<u8> {
    let size = size.max(HEADER_LEN);
    let mut b = Vec::with_capacity(size);
    b.push(first);
    b.extend_from_slice(&seq.to_be_bytes());
    b.push(ch);
    b.push(rel);
    for i in HEADER_LEN..size {
        b.push(pattern_byte(seq, i));
    }
    b
}

/// Byte `i` of message `seq`'s pattern (README.md, "Payload"; the same as
/// `ex_pattern_byte` in examples-c/common.h): aligned 4-byte word w is lowbias32 of a
/// value keyed by seq, little-endian; a bijection of w, so no aligned word repeats.
fn pattern_byte(seq: u32, i: usize) -> u8 {
    let mut x = ((i >> 2) as u32)
        .wrapping_mul(0x9e37_79b9)
        .wrapping_add(seq.wrapping_mul(0x85eb_ca6b))
        .wrapping_add(0x6c69_626b);
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    (x >> (8 * (i & 3))) as u8
}

/// (seq, channel, reliability) when `buf` is a well-formed test payload.
fn parse_payload(buf: &[u8]) -> Option<(u32, u8, u8)> {
    if buf.len() < HEADER_LEN || buf[5] >= 32 || buf[6] > 4 {
        return None;
    }
    let seq = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
    let ok = buf[HEADER_LEN..]
        .iter()
        .enumerate()
        .all(|(i, b)| *b == pattern_byte(seq, i + HEADER_LEN));
    ok.then_some((seq, buf[5], buf[6]))
}

fn describe(buf: &[u8]) -> Vec<(&'static str, String)> {
    let mut f = vec![("len", buf.len().to_string()), ("first", format!("{:#x}", buf[0]))];
    if buf.len() >= 5 {
        f.push(("seq", u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]).to_string()));
    }
    match parse_payload(buf) {
        Some((_, ch, rel)) => {
            f.push(("ch", ch.to_string()));
            f.push(("rel", NAMES[rel as usize].to_string()));
            f.push(("valid", "1".into()));
        }
        None => f.push(("valid", "0".into())),
    }
    f
}

fn reliability(code: u8) -> Reliability {
    match code {
        0 => Reliability::Unreliable,
        1 => Reliability::UnreliableSequenced,
        2 => Reliability::Reliable,
        4 => Reliability::ReliableSequenced,
        _ => Reliability::ReliableOrdered,
    }
}

fn addr(o: &Opts) -> SocketAddr {
    let host = if o.host.contains(':') { format!("[{}]", o.host) } else { o.host.clone() };
    format!("{host}:{}", o.port).parse().unwrap_or_else(|_| usage("bad --host/--port"))
}

async fn server(o: Opts) -> u8 {
    if o.max_conn.is_some() {
        return unsupported("max-conn (rust-raknet has no connection limit; a full accept backlog silently drops REQUEST_2)");
    }
    if o.protocol.is_some_and(|v| v != 10 && v != 11) {
        return unsupported("protocol other than 10/11 (the listener accepts exactly 10 and 11)");
    }
    let mut listener = match RaknetListener::bind(&addr(&o)).await {
        Ok(l) => l,
        Err(e) => {
            result(false, &[("error", format!("\"bind: {e}\""))]);
            return EXIT_FAIL;
        }
    };
    if let Some(data) = &o.offline_data {
        // Sent as u16be length + bytes (Bedrock style); an empty text makes listen() use its MCPE default.
        let _ = listener.set_full_motd(data.clone()).await;
    }
    listener.listen().await;
    event("listening", &[("port", o.port.to_string()), ("protocol", "10,11".into()), ("guid", listener.get_guid().to_string())]);
    let echo_rel = o.echo_reliability;
    let echo_ch = o.echo_channel;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal");
    loop {
        let socket = tokio::select! {
            s = listener.accept() => s,
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        };
        let socket = match socket {
            Ok(s) => s,
            Err(e) => {
                event("accept-failed", &[("error", format!("\"{e}\""))]);
                break;
            }
        };
        let peer = socket.peer_addr().map(|a| a.to_string()).unwrap_or_default();
        event("incoming", &[("peer", peer.clone()), ("protocol", socket.raknet_version().map(|v| v.to_string()).unwrap_or_default())]);
        tokio::spawn(async move {
            let mut received = 0u64;
            loop {
                match socket.recv().await {
                    Ok(msg) => {
                        received += 1;
                        let mut f = vec![("peer", peer.clone())];
                        f.extend(describe(&msg));
                        event("message", &f);
                        let (rel, ch) = match (echo_rel, parse_payload(&msg)) {
                            (Some(r), _) => (r, echo_ch.unwrap_or(0)),
                            (None, Some((_, ch, r))) => (r, ch),
                            (None, None) => (3, echo_ch.unwrap_or(0)),
                        };
                        if let Err(e) = socket.send_with_order_channel(&msg, reliability(rel), ch).await {
                            event("echo-failed", &[("peer", peer.clone()), ("error", format!("\"{e}\""))]);
                        }
                    }
                    Err(_) => {
                        // rust-raknet does not say why; a 0x15 and its 60 s silence timeout look alike.
                        event("disconnected", &[("peer", peer.clone()), ("reason", "closed".into()), ("received", received.to_string())]);
                        break;
                    }
                }
            }
        });
    }
    event("shutdown", &[]);
    let _ = listener.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    EXIT_PASS
}

async fn ping(o: Opts) -> u8 {
    match tokio::time::timeout(Duration::from_secs_f64(o.timeout), RaknetSocket::ping(&addr(&o))).await {
        Ok(Ok((_latency, motd))) => {
            let hex: String = motd.bytes().map(|b| format!("{b:02x}")).collect();
            event("pong", &[("from", addr(&o).to_string()), ("data", format!("{motd:?}")), ("data_hex", if hex.is_empty() { "-".into() } else { hex })]);
            result(true, &[("mode", "ping".into())]);
            EXIT_PASS
        }
        Ok(Err(e)) => {
            result(false, &[("mode", "ping".into()), ("error", format!("\"{e}\""))]);
            EXIT_FAIL
        }
        Err(_) => {
            // rust-raknet only parses Bedrock pongs (u16be length + string) and keeps retrying otherwise.
            result(false, &[("mode", "ping".into()), ("error", "no_pong_or_unparsable".into())]);
            EXIT_FAIL
        }
    }
}

enum Conn {
    Up,
    Closed,
}

async fn run_steps(o: &Opts, socket: &Arc<RaknetSocket>, inbox: &mut mpsc::UnboundedReceiver<Vec<u8>>, state: &mut Conn) -> (bool, String) {
    let steps: &[&str] = match o.scenario.as_str() {
        "handshake" => &[],
        "ordered" => &["ordered"],
        "reliable" => &["reliable"],
        "sequenced" => &["sequenced"],
        "big" => &["big"],
        "all" => &["ordered", "reliable", "sequenced", "big"],
        "all-reliable" => &["ordered", "reliable", "big"],
        "disconnect" => &["ordered1"],
        other => return (false, format!("unknown scenario {other}")),
    };
    let deadline = Instant::now() + Duration::from_secs_f64(o.timeout);
    let mut seq = 0u32;
    let mut summary = Vec::new();
    for step in steps {
        let mut sent: std::collections::HashMap<u32, Vec<u8>> = Default::default();
        let mut per_channel: std::collections::BTreeMap<u8, Vec<u32>> = Default::default();
        let small = |i: u32| 16 + (i as usize * 37) % 480;
        let mut plan: Vec<(u8, u8, usize)> = Vec::new();
        let rel: u8 = match *step {
            "ordered" | "ordered1" => {
                let n = if *step == "ordered1" { 1 } else { o.count };
                for i in 0..n {
                    for ch in 0..4u8 {
                        plan.push((ch, 3, small(i + ch as u32)));
                    }
                }
                3
            }
            "reliable" => {
                for i in 0..o.count {
                    plan.push((0, 2, small(i)));
                }
                2
            }
            "sequenced" => {
                for i in 0..o.count {
                    plan.push((1, 1, small(i)));
                }
                1
            }
            _ => {
                plan.push((0, 3, BIG_SIZE));
                3
            }
        };
        let mut error: Option<String> = None;
        for (ch, r, size) in plan {
            let buf = make_payload(o.first_byte, seq, ch, r, size);
            if let Err(e) = socket.send_with_order_channel(&buf, reliability(r), ch).await {
                error = Some(format!("send seq={seq} failed: {e}"));
                break;
            }
            per_channel.entry(ch).or_default().push(seq);
            sent.insert(seq, buf);
            seq += 1;
        }
        let mut got: std::collections::BTreeMap<u8, Vec<u32>> = Default::default();
        let mut seen = std::collections::HashSet::new();
        while error.is_none() && seen.len() < sent.len() {
            let wait = if rel == 1 && !seen.is_empty() {
                Duration::from_secs(2)
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            match tokio::time::timeout(wait, inbox.recv()).await {
                Ok(Some(buf)) => {
                    let s = if buf.len() >= 5 { u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) } else { u32::MAX };
                    match sent.get(&s) {
                        None => error = Some(format!("unexpected echo seq={s} len={}", buf.len())),
                        Some(want) if *want != buf => error = Some(format!("corrupt echo seq={s} len={} expected_len={}", buf.len(), want.len())),
                        Some(_) if seen.contains(&s) => error = Some(format!("duplicate echo seq={s}")),
                        Some(_) => {
                            seen.insert(s);
                            got.entry(buf[5]).or_default().push(s);
                        }
                    }
                }
                Ok(None) => {
                    *state = Conn::Closed;
                    error = Some(format!("connection closed after {}/{} echoes", seen.len(), sent.len()));
                }
                Err(_) if rel == 1 && !seen.is_empty() => break,
                Err(_) => error = Some(format!("timeout after {}/{} echoes", seen.len(), sent.len())),
            }
        }
        if error.is_none() {
            for (ch, order) in &got {
                if rel == 1 && order.windows(2).any(|w| w[1] <= w[0]) {
                    error = Some(format!("sequenced echo out of order on ch {ch}"));
                } else if rel == 3 && Some(order) != per_channel.get(ch) {
                    error = Some(format!("ordered echoes out of order on ch {ch}"));
                }
            }
        }
        if error.is_none() && rel == 1 && seen.len() * 2 < sent.len() {
            // Loopback loses next to nothing: fewer than half means something is wrong.
            error = Some(format!("only {}/{} sequenced echoes arrived", seen.len(), sent.len()));
        }
        let mut f = vec![
            ("step", step.to_string()),
            ("sent", sent.len().to_string()),
            ("echoed", seen.len().to_string()),
            ("result", if error.is_some() { "fail" } else { "pass" }.to_string()),
        ];
        if let Some(e) = &error {
            f.push(("error", format!("{e:?}")));
        }
        event("step", &f);
        summary.push(format!("{step}:{}/{}", seen.len(), sent.len()));
        if let Some(e) = error {
            return (false, format!("{step}: {e}"));
        }
    }
    (true, if summary.is_empty() { "connected".into() } else { summary.join(",") })
}

async fn client(o: Opts) -> u8 {
    if o.password.is_some() {
        return unsupported("password (rust-raknet's CONNECTION_REQUEST never carries one)");
    }
    if o.scenario == "server-full" || o.scenario == "wrong-password" {
        return unsupported("refusal scenarios (the client ignores ID_NO_FREE_INCOMING_CONNECTIONS and ID_INVALID_PASSWORD and keeps waiting)");
    }
    let version = o.protocol.unwrap_or(10);
    let target = addr(&o);
    let connect = tokio::time::timeout(Duration::from_secs_f64(o.timeout), RaknetSocket::connect_with_version(&target, version)).await;
    let socket = match connect {
        Ok(Ok(s)) => Arc::new(s),
        Ok(Err(e)) => {
            let reason = match e {
                rust_raknet::error::RaknetError::NotSupportVersion => "incompatible_protocol",
                rust_raknet::error::RaknetError::ConnectionClosed => "already_connected",
                _ => "error",
            };
            event("refused", &[("reason", reason.into()), ("error", format!("\"{e}\""))]);
            let ok = o.scenario == "incompatible" && reason == "incompatible_protocol";
            result(ok, &[("scenario", o.scenario.clone()), ("got", reason.into())]);
            return if ok { EXIT_PASS } else { EXIT_FAIL };
        }
        Err(_) => {
            result(false, &[("scenario", o.scenario.clone()), ("error", "not_connected_timeout".into())]);
            return EXIT_FAIL;
        }
    };
    event("connected", &[("peer", target.to_string()), ("mtu", socket.mtu().to_string()), ("protocol", version.to_string())]);
    if o.scenario == "incompatible" {
        result(false, &[("scenario", o.scenario.clone()), ("got", "connected".into())]);
        let _ = socket.close().await;
        return EXIT_FAIL;
    }
    let (tx, mut inbox) = mpsc::unbounded_channel();
    let reader = socket.clone();
    tokio::spawn(async move {
        while let Ok(msg) = reader.recv().await {
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
    let mut state = Conn::Up;
    if o.scenario == "hold" || o.scenario == "wait-close" {
        // rust-raknet notices a silent peer only after 60 s (RECEIVE_TIMEOUT).
        let end = tokio::time::timeout(Duration::from_secs_f64(o.hold), async {
            while inbox.recv().await.is_some() {}
        })
        .await;
        let ok = end.is_ok();
        if ok {
            event("disconnected", &[("reason", "closed".into())]);
        }
        result(ok, &[("scenario", o.scenario.clone()), ("end", if ok { "closed" } else { "still_connected" }.into())]);
        return if ok { EXIT_PASS } else { EXIT_FAIL };
    }
    let (ok, detail) = run_steps(&o, &socket, &mut inbox, &mut state).await;
    if ok {
        event("closing", &[]);
    }
    if matches!(state, Conn::Up) {
        let _ = tokio::time::timeout(Duration::from_secs(5), socket.flush()).await;
        let _ = socket.close().await;
        // close() queues 0x15 and the ticker sends raw 0x15 datagrams; give it a moment.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    result(ok, &[("scenario", o.scenario.clone()), ("detail", format!("{detail:?}"))]);
    if ok { EXIT_PASS } else { EXIT_FAIL }
}

fn main() -> ExitCode {
    let o = parse_args();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let code = rt.block_on(async move {
        match o.mode.as_str() {
            "server" => {
                if o.password.is_some() {
                    return unsupported("password (rust-raknet's listener has no password)");
                }
                server(o).await
            }
            "ping" => ping(o).await,
            _ => client(o).await,
        }
    });
    ExitCode::from(code)
}
