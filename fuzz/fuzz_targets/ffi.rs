//! The C API (`raknet::ffi`, called from Rust as a C program would) under arbitrary call
//! sequences: configs and at most two peers per input (bound to 127.0.0.1, port 0),
//! sends, closes, pings, polls and message releases with live, destroyed, NULL and
//! made-up handles, arbitrary lengths (never past a real buffer, except the `> isize::MAX`
//! lengths the API rejects before reading) and arbitrary enum integers. Traffic only
//! goes to loopback. No call may return RAK_RESULT_INTERNAL (a caught panic) or
//! RAK_RESULT_PEER_FAILED (a dead network thread), and every result is a known value.
//!
//! Pointers the library dereferences without a registry check (options, out-params,
//! buffers) are always real; only registry-checked handles (`rak_config*`, `rak_peer*`,
//! `rak_message*`) and connection ids are forged.
#![no_main]
// `x % n == 0` reads as "one time in n" here; `is_multiple_of` is newer than rust-version.
#![allow(clippy::manual_is_multiple_of)]

use std::ffi::{c_char, c_void, CStr};
use std::mem::MaybeUninit;
use std::ptr;

use libfuzzer_sys::fuzz_target;
use raknet::ffi::address::{rak_address, rak_address_str, RAK_ADDRESS_STR_BYTES};
use raknet::ffi::config::*;
use raknet::ffi::event::{rak_event, rak_event_kind, rak_reason_str};
use raknet::ffi::handle::rak_conn;
use raknet::ffi::message::{rak_message, rak_message_data, rak_message_len, rak_message_release};
use raknet::ffi::options::rak_send_options;
use raknet::ffi::peer::*;
use raknet::ffi::result::{rak_result, rak_result_str};
use raknet::ffi::version::{rak_abi_version, rak_version_string};
use raknet_fuzz::Input;

/// The value of `#define <name> <value>` in the committed header, `include/raknet.h`.
fn header_define(name: &str) -> &'static str {
    const HEADER: &str = include_str!("../../include/raknet.h");
    HEADER
        .lines()
        .find_map(|l| l.strip_prefix("#define ")?.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} is not defined in include/raknet.h"))
}

const MAX_PEERS: usize = 2;
const MAX_CONFIGS: usize = 3;
const MAX_OPS: usize = 48;

/// Hosts the fuzzer may name: IP literals and `localhost` only, so nothing is looked up
/// on the network and nothing is sent off this machine.
const HOSTS: [&CStr; 5] = [c"127.0.0.1", c"localhost", c"::1", c"0.0.0.0", c"\xff\xfe"];

/// Pointer values that are never a live object (registry lookups must reject them).
const FORGED: [usize; 3] = [8, 0x1000, usize::MAX & !7];

extern "C" fn hook(_userdata: *mut c_void) {}

struct State {
    configs: Vec<*mut rak_config>,
    dead_configs: Vec<*mut rak_config>,
    peers: Vec<*mut rak_peer>,
    dead_peers: Vec<*mut rak_peer>,
    peers_made: usize,
    conns: Vec<rak_conn>,
    messages: Vec<*mut rak_message>,
    released: Vec<*mut rak_message>,
    buf: Vec<u8>,
}

fn ok(r: rak_result) -> bool {
    assert!(
        !matches!(r, rak_result::Internal | rak_result::PeerFailed),
        "call failed with {r:?}"
    );
    r == rak_result::Ok
}

impl State {
    fn config(&self, sel: u8) -> *mut rak_config {
        match sel % 8 {
            0 => ptr::null_mut(),
            1 => self.dead_configs.last().copied().unwrap_or(ptr::null_mut()),
            2 => FORGED[usize::from(sel / 8) % FORGED.len()] as *mut rak_config,
            k => self
                .configs
                .get(usize::from(k - 3))
                .copied()
                .unwrap_or(ptr::null_mut()),
        }
    }

    fn peer(&self, sel: u8) -> *mut rak_peer {
        match sel % 8 {
            0 => ptr::null_mut(),
            1 => self.dead_peers.last().copied().unwrap_or(ptr::null_mut()),
            2 => FORGED[usize::from(sel / 8) % FORGED.len()] as *mut rak_peer,
            k => self
                .peers
                .get(usize::from(k - 3) % 2)
                .copied()
                .unwrap_or(ptr::null_mut()),
        }
    }

    fn conn(&self, input: &mut Input<'_>) -> rak_conn {
        let sel = input.u8();
        match sel % 4 {
            0 | 1 => self
                .conns
                .get(usize::from(sel / 4))
                .copied()
                .unwrap_or(rak_conn { id: 1 }),
            2 => rak_conn {
                id: u64::from(sel / 4),
            },
            _ => rak_conn { id: input.u64() },
        }
    }

    fn port(&self, input: &mut Input<'_>) -> u16 {
        let sel = input.u8();
        match sel % 4 {
            0 | 1 => self
                .peers
                .get(usize::from(sel % 2))
                .and_then(|&p| {
                    let mut port = 0;
                    ok(rak_peer_local_port(p, &mut port)).then_some(port)
                })
                .unwrap_or(0),
            2 => 0,
            _ => input.u16(),
        }
    }

    /// A length within `self.buf` (or a huge one the API must refuse before reading).
    fn len(&self, input: &mut Input<'_>, cap: usize) -> usize {
        match input.u8() % 8 {
            0 => usize::MAX,
            1 => isize::MAX as usize + 1,
            2 => 0,
            _ => usize::from(input.u16()) % (cap + 1),
        }
    }

    fn data_ptr(&self, sel: u8, len: usize) -> *const u8 {
        if sel & 1 == 0 || len == 0 {
            if sel & 2 == 0 {
                ptr::null()
            } else {
                self.buf.as_ptr()
            }
        } else {
            self.buf.as_ptr()
        }
    }

    fn poll(&mut self, input: &mut Input<'_>, wait: bool) {
        let p = self.peer(input.u8());
        let cap = usize::from(input.u8() % 17);
        let mut out = [MaybeUninit::<rak_event>::uninit(); 16];
        let out_ptr = if input.u8() % 8 == 0 {
            ptr::null_mut()
        } else {
            out.as_mut_ptr().cast::<rak_event>()
        };
        let mut n = usize::MAX;
        let n_ptr: *mut usize = if input.u8() % 8 == 0 {
            ptr::null_mut()
        } else {
            &mut n
        };
        let cap = if out_ptr.is_null() { cap } else { cap.min(16) };
        let r = if wait {
            rak_peer_wait(p, out_ptr, cap, u32::from(input.u8() % 4), n_ptr)
        } else {
            rak_peer_poll(p, out_ptr, cap, n_ptr)
        };
        if !ok(r) {
            return;
        }
        assert!(n <= cap, "{n} events for capacity {cap}");
        for slot in &out[..n] {
            // SAFETY: the first `n` entries were written by a successful poll.
            let ev = unsafe { slot.assume_init() };
            match ev.kind {
                rak_event_kind::Connected => {
                    assert_ne!(ev.conn.id, 0);
                    if self.conns.len() < 64 {
                        self.conns.push(ev.conn);
                    }
                }
                rak_event_kind::Message | rak_event_kind::Pong => {
                    assert!(!ev.message.is_null(), "{:?} without a message", ev.kind);
                    let len = rak_message_len(ev.message);
                    let data = rak_message_data(ev.message);
                    assert!(!data.is_null());
                    if ev.kind == rak_event_kind::Message {
                        assert!(len > 0);
                        assert!(ev.channel < 32 && ev.reliability < 8);
                    }
                    self.messages.push(ev.message);
                }
                _ => assert!(ev.message.is_null(), "{:?} with a message", ev.kind),
            }
        }
    }

    fn teardown(&mut self) {
        for m in self.messages.drain(..) {
            rak_message_release(m);
        }
        for p in self.peers.drain(..) {
            ok(rak_peer_shutdown(p, 0));
            rak_peer_destroy(p);
        }
        for c in self.configs.drain(..) {
            rak_config_destroy(c);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mut s = State {
        configs: Vec::new(),
        dead_configs: Vec::new(),
        peers: Vec::new(),
        dead_peers: Vec::new(),
        peers_made: 0,
        conns: Vec::new(),
        messages: Vec::new(),
        released: Vec::new(),
        buf: (0..8192u32).map(|i| (i as u8) | 0x80).collect(),
    };
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        match input.u8() % 20 {
            0 => {
                if s.configs.len() < MAX_CONFIGS {
                    let mut c = ptr::null_mut();
                    if ok(rak_config_create(&mut c)) {
                        assert!(!c.is_null());
                        ok(rak_config_set_bind(c, c"127.0.0.1".as_ptr(), 0));
                        s.configs.push(c);
                    }
                } else {
                    assert_eq!(rak_config_create(ptr::null_mut()), rak_result::NullArgument);
                }
            }
            1 => {
                let sel = input.u8();
                let c = s.config(sel);
                rak_config_destroy(c);
                if let Some(i) = s.configs.iter().position(|&x| x == c) {
                    s.configs.remove(i);
                    s.dead_configs.push(c);
                }
            }
            2 => {
                let c = s.config(input.u8());
                let v = input.u32();
                let _ = match input.u8() % 12 {
                    0 => {
                        let host = HOSTS[usize::from(input.u8()) % HOSTS.len()];
                        let port = s.port(&mut input) * u16::from(input.u8() & 1);
                        ok(rak_config_set_bind(c, host.as_ptr(), port))
                    }
                    1 => ok(rak_config_set_bind(c, ptr::null(), 0)),
                    2 => ok(rak_config_set_protocol_version(c, v)),
                    3 => ok(rak_config_set_max_incoming(c, v % 4)),
                    4 => {
                        let len = s.len(&mut input, 300);
                        let p = s.data_ptr(input.u8(), len);
                        ok(rak_config_set_password(c, p, len))
                    }
                    5 => {
                        let len = s.len(&mut input, 500);
                        let p = s.data_ptr(input.u8(), len);
                        ok(rak_config_set_offline_data(c, p, len))
                    }
                    6 => ok(rak_config_set_conn_timeout(c, v)),
                    7 => ok(rak_config_set_connect_attempts(
                        c,
                        v % 64,
                        u32::from(input.u16()),
                    )),
                    8 => {
                        let probes: Vec<u16> = (0..10).map(|_| input.u16() % 2048).collect();
                        let n = usize::from(input.u8() % 11);
                        let p = if input.u8() & 1 == 0 {
                            ptr::null()
                        } else {
                            probes.as_ptr()
                        };
                        ok(rak_config_set_mtu_probes(c, p, n))
                    }
                    9 => {
                        // Capacities above a few thousand are valid but allocate eagerly;
                        // the boundaries are still tried.
                        let pick = |b: u8| match b % 6 {
                            0 => 0,
                            1 => RAK_MAX_QUEUE_CAPACITY + 1,
                            2 => usize::MAX,
                            _ => usize::from(b) * 16 + 1,
                        };
                        let (a, b) = (input.u8(), input.u8());
                        ok(rak_config_set_queue_capacity(c, pick(a), pick(b)))
                    }
                    10 => ok(rak_config_set_guid(c, input.u64())),
                    _ => {
                        let f: Option<unsafe extern "C" fn(*mut c_void)> =
                            if v & 1 == 0 { None } else { Some(hook) };
                        ok(rak_config_set_thread_start_hook(c, f, ptr::null_mut()))
                    }
                };
            }
            3 => {
                let sel = input.u8();
                if s.peers_made < MAX_PEERS {
                    let c = s.config(sel);
                    // A NULL config binds 0.0.0.0:0; still local, nothing is sent unasked.
                    let mut p = ptr::null_mut();
                    let out = if input.u8() % 16 == 0 {
                        ptr::null_mut()
                    } else {
                        &mut p
                    };
                    if ok(rak_peer_create(c, out)) {
                        assert!(!p.is_null());
                        s.peers_made += 1;
                        s.peers.push(p);
                    }
                }
            }
            4 => {
                let p = s.peer(input.u8());
                let flush = u32::from(input.u8() % 4);
                if input.u8() & 1 == 0 {
                    ok(rak_peer_shutdown(p, flush));
                } else {
                    // A live peer is shut down first so destroy never waits for a flush.
                    if s.peers.contains(&p) {
                        ok(rak_peer_shutdown(p, 0));
                    }
                    rak_peer_destroy(p);
                    if let Some(i) = s.peers.iter().position(|&x| x == p) {
                        s.peers.remove(i);
                        s.dead_peers.push(p);
                    }
                }
            }
            5 => {
                let p = s.peer(input.u8());
                let host = HOSTS[usize::from(input.u8()) % HOSTS.len()];
                let host = if input.u8() % 16 == 0 {
                    ptr::null()
                } else {
                    host.as_ptr()
                };
                let port = s.port(&mut input);
                let len = s.len(&mut input, 300);
                let pw = s.data_ptr(input.u8(), len);
                let mut conn = rak_conn { id: 0 };
                let out = if input.u8() % 16 == 0 {
                    ptr::null_mut()
                } else {
                    &mut conn
                };
                if ok(rak_peer_connect(p, host, port, pw, len, out)) {
                    assert_ne!(conn.id, 0);
                    if s.conns.len() < 64 {
                        s.conns.push(conn);
                    }
                }
            }
            6 | 7 => {
                let p = s.peer(input.u8());
                let conn = s.conn(&mut input);
                let len = s.len(&mut input, 8192);
                let data = s.data_ptr(input.u8(), len);
                let opts = rak_send_options {
                    reliability: input.u32() % 10,
                    priority: input.u32() % 6,
                    channel: input.u32() % 34,
                };
                let opts_ptr: *const rak_send_options = if input.u8() % 4 == 0 {
                    ptr::null()
                } else {
                    &opts
                };
                let mut receipt = 0u32;
                let rp: *mut u32 = if input.u8() & 1 == 0 {
                    ptr::null_mut()
                } else {
                    &mut receipt
                };
                ok(rak_peer_send(p, conn, data, len, opts_ptr, rp));
            }
            8 => {
                let p = s.peer(input.u8());
                let conn = s.conn(&mut input);
                ok(rak_peer_close(p, conn, input.u8() & 1 == 1));
            }
            9 => {
                let p = s.peer(input.u8());
                let host = HOSTS[usize::from(input.u8()) % HOSTS.len()];
                let port = s.port(&mut input);
                ok(rak_peer_ping(p, host.as_ptr(), port, input.u8() & 1 == 1));
            }
            10 => {
                let p = s.peer(input.u8());
                let len = s.len(&mut input, 500);
                let d = s.data_ptr(input.u8(), len);
                ok(rak_peer_set_offline_data(p, d, len));
            }
            11 => {
                let p = s.peer(input.u8());
                let mut guid = 0u64;
                let mut port = 0u16;
                let null = input.u8() & 1 == 0;
                if null {
                    assert!(!ok(rak_peer_guid(p, ptr::null_mut())));
                    assert!(!ok(rak_peer_local_port(p, ptr::null_mut())));
                } else if ok(rak_peer_guid(p, &mut guid)) {
                    assert!(ok(rak_peer_local_port(p, &mut port)));
                    assert_ne!(port, 0);
                }
            }
            12 => {
                let p = s.peer(input.u8());
                let conn = s.conn(&mut input);
                let mut info = MaybeUninit::<rak_conn_info>::uninit();
                let out = if input.u8() % 8 == 0 {
                    ptr::null_mut()
                } else {
                    info.as_mut_ptr()
                };
                if ok(rak_peer_conn_info(p, conn, out)) {
                    // SAFETY: written on success.
                    let info = unsafe { info.assume_init() };
                    assert!(matches!(info.address.family, 4 | 6));
                }
            }
            13 | 14 => s.poll(&mut input, false),
            15 => s.poll(&mut input, true),
            16 => {
                let sel = input.u8();
                let m = match sel % 4 {
                    0 => ptr::null_mut(),
                    1 => s.released.last().copied().unwrap_or(ptr::null_mut()),
                    2 => FORGED[usize::from(sel / 4) % FORGED.len()] as *mut rak_message,
                    _ if s.messages.is_empty() => ptr::null_mut(),
                    _ => s
                        .messages
                        .swap_remove(usize::from(sel / 4) % s.messages.len()),
                };
                // A released address may have been reused by a newer message.
                let reused = sel % 4 == 1 && s.messages.contains(&m);
                if reused {
                    s.messages.retain(|&x| x != m);
                }
                let live = (sel % 4 == 3 || reused) && !m.is_null();
                let d = rak_message_data(m);
                let n = rak_message_len(m);
                assert_eq!(
                    d.is_null(),
                    !live,
                    "data of a {} message",
                    if live { "live" } else { "dead" }
                );
                if !live {
                    assert_eq!(n, 0);
                }
                rak_message_release(m);
                rak_message_release(m);
                if live {
                    s.released.push(m);
                    assert!(rak_message_data(m).is_null());
                }
            }
            17 => {
                let r = input.u32() as i32;
                let t = rak_result_str(r);
                assert!(!t.is_null());
                // SAFETY: documented as a static NUL-terminated string.
                assert!(!unsafe { CStr::from_ptr(t) }.to_bytes().is_empty());
                let t = rak_reason_str(input.u32());
                assert!(!t.is_null());
                // The library reports the ABI and version the committed header
                // describes (a stale or miscompiled library would not).
                assert_eq!(
                    rak_abi_version().to_string(),
                    header_define("RAK_ABI_VERSION")
                );
                let v = rak_version_string();
                assert!(!v.is_null());
                // SAFETY: documented as a static NUL-terminated string.
                let v = unsafe { CStr::from_ptr(v) }.to_str().unwrap_or("not UTF-8");
                assert_eq!(format!("\"{v}\""), header_define("RAK_VERSION_STRING"));
            }
            18 => {
                let mut a = rak_address {
                    ip: [0; 16],
                    port: input.u16(),
                    family: input.u8() % 8,
                };
                for b in a.ip.iter_mut() {
                    *b = input.u8();
                }
                let mut text = [0 as c_char; RAK_ADDRESS_STR_BYTES];
                let cap = usize::from(input.u8()) % (RAK_ADDRESS_STR_BYTES + 1);
                let mut n = 0usize;
                let bp = if input.u8() % 8 == 0 {
                    ptr::null_mut()
                } else {
                    text.as_mut_ptr()
                };
                if ok(rak_address_str(&a, bp, cap, &mut n)) {
                    assert!(n < cap);
                    assert_eq!(text[n], 0);
                }
                assert!(!ok(rak_address_str(
                    ptr::null(),
                    text.as_mut_ptr(),
                    cap,
                    &mut n
                )));
            }
            _ => {
                // Let the network threads run a little so handshakes and data progress.
                std::thread::yield_now();
                s.poll(&mut input, true);
            }
        }
    }
    s.teardown();
});
