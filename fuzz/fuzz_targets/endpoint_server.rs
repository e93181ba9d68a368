//! A whole sans-IO `proto::Endpoint` accepting connections (max_incoming 1..=4), fed
//! arbitrary datagrams from 256 addresses with virtual time, optionally next to a
//! well-behaved client at the primary address. Input format: `raknet_fuzz::ops`.
//! Invariants (checked after every step, `Harness::check`): connection_count() within
//! max_incoming + connects, no datagram over MTU − 28, outputs drain, deadlines advance.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raknet_fuzz::{ops, Role};

fuzz_target!(|data: &[u8]| {
    ops::run(Role::Server, data);
});
