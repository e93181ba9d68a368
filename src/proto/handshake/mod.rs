//! The offline handshake (docs/protocol.md §5.1–§5.5, §5.9, and the refusals of §4.4):
//! everything between a client's first OPEN_CONNECTION_REQUEST_1 and the connection that
//! REPLY_2 creates on each side. One file per rule:
//!
//! - `cookies.rs`: the anti-spoofing cookie, its key and epochs (§5.3, §5.4);
//! - `probing.rs`: the client's attempt, its MTU probe schedule, and what it does with
//!   REPLY_1, REPLY_2 and refusals (§5.2–§5.5, §4.4);
//! - `server.rs`: answering REQUEST_1 and REQUEST_2, taking a connection slot, refusing
//!   one (§5.2–§5.5, §4.4);
//! - `secure.rs`: the same exchange in libraknet's secure mode (§15.2–§15.5).
//!
//! Each file adds methods to `Endpoint` (`endpoint.rs`), which owns the
//! tables they work on (connections, attempts, addresses, GUIDs, timers) and dispatches
//! offline messages to them. The connected-mode handshake that follows
//! (CONNECTION_REQUEST onwards, §5.6–§5.8) belongs to `connection.rs`.

pub(super) mod cookies;
mod probing;
mod secure;
mod server;

pub(super) use probing::Attempt;
