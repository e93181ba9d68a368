//! A whole sans-IO `proto::Endpoint` that has called `connect` to the primary address,
//! fed arbitrary datagrams (spoofed from the server's address or from others) with
//! virtual time, optionally next to a well-behaved server. Same format and invariants as
//! `endpoint_server`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raknet_fuzz::{ops, Role};

fuzz_target!(|data: &[u8]| {
    ops::run(Role::Client, data);
});
