//! The runtime: one network thread per peer owning the socket, the clock and a
//! `proto::Endpoint`; bounded lock-free queues to and from application threads
//! (STYLE §4). It moves bytes and deadlines between the OS and the core and makes no
//! protocol decisions.
//!
//! Files: `peer.rs` (the public `Peer`; its management calls in `peer/manage.rs`), `thread.rs` (the loop), `socket.rs` (UDP),
//! `wake.rs` (sleeping and waking the loop), `queues.rs` (commands, events, overflow),
//! `registry.rs` (connection states readable from any thread), `budget.rs` (send-buffer
//! accounting per connection), `netsim.rs` (the built-in network simulator),
//! `shared.rs` (what the threads share), `types.rs` (the event and connection types
//! every layer of the runtime names), `pool.rs` (recycled message buffers), `clock.rs` (the one real clock), `log.rs` (the
//! logging facade and the quiet panic hook).

mod budget;
mod clock;
pub(crate) mod log;
mod netsim;
mod peer;
mod pool;
mod queues;
mod registry;
mod shared;
mod socket;
mod thread;
mod types;
mod wake;

pub use log::{LogLevel, LogSink, Logger};
pub use netsim::{SimConfig, SimStats, MAX_SIM_DELAY};
pub use peer::{Peer, PeerConfig, PeerError, RuntimeStats, MAX_ADVERTISE_DATA};
pub use pool::recycle;
pub use types::{ConnInfo, ConnState, PeerEvent};
