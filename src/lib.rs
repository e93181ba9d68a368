//! libraknet: the RakNet game-networking protocol, as a Rust library with a C ABI.
//!
//! Three layers, dependencies pointing down only:
//!
//! * [`ffi`]: `extern "C"` functions (`rak_*`), argument checks, panic barrier.
//! * [`runtime`]: one network thread per peer that owns the UDP socket and the clock,
//!   talking to application threads through bounded lock-free queues.
//! * [`proto`]: the sans-IO protocol core. It never touches a socket or a clock; the
//!   caller drives it:
//!
//! ```no_run
//! use raknet::proto::{Config, Endpoint, Time};
//! # fn recv() -> Option<(std::net::SocketAddr, Vec<u8>)> { None }
//! # fn send_to(_: std::net::SocketAddr, _: &[u8]) {}
//! # fn now() -> Time { Time::ZERO }
//! let local = "127.0.0.1:19132".parse().unwrap();
//! let mut ep = Endpoint::new(Config::default(), local);
//! let mut buf = Vec::with_capacity(1500);
//! loop {
//!     while let Some((from, bytes)) = recv() {
//!         ep.handle_datagram(now(), from, &bytes);
//!     }
//!     ep.handle_timeout(now());
//!     while let Some(t) = ep.poll_transmit(now(), &mut buf) {
//!         send_to(t.destination, &buf);
//!     }
//!     while let Some(_event) = ep.poll_event() { /* hand to the application */ }
//!     // sleep until ep.poll_timeout() or a datagram arrives
//! #   break;
//! }
//! ```
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod ffi;
pub mod proto;
pub mod runtime;
