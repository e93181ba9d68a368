//! The runtime: one network thread per peer owning the socket, the clock and a
//! `proto::Endpoint`; bounded lock-free queues to and from application threads
//! (STYLE §4). It moves bytes and deadlines between the OS and the core and makes no
//! protocol decisions.
//!
//! Files, each importing only those listed after it (no import circle):
//! `peer.rs` (the public `Peer`; its management calls in `peer/manage.rs`, the passes it
//! runs on the caller's thread in `peer/caller.rs`), `thread.rs` (the network thread's
//! loop), `driver.rs` (one pass: commands, socket, timers, events), `shared.rs` (what
//! the threads share), `queues.rs` (commands, events, overflow), `registry.rs`
//! (connection states readable from any thread), `wake.rs` (sleeping and waking the
//! loop), `budget.rs` (send-buffer accounting per connection), `netsim.rs` (the
//! built-in network simulator), `sys/` (every OS call: the UDP socket, batching,
//! polling, wakeups, timers; one implementation per platform family), `pool.rs` (recycled message
//! buffers), `log.rs` (the logging facade and the quiet panic hook), `clock.rs` (the one
//! real clock), `types.rs` (the event and connection types every layer names).

mod budget;
mod clock;
mod driver;
pub(crate) mod log;
mod netsim;
mod peer;
mod pool;
mod queues;
mod registry;
mod shared;
mod sys;
mod thread;
mod types;
mod wake;

pub use log::{LogLevel, LogSink, Logger};
pub use netsim::{SimConfig, SimStats, MAX_SIM_DELAY};
pub use peer::{Peer, PeerConfig, PeerError, RuntimeStats, MAX_ADVERTISE_DATA};
pub use pool::recycle;
pub use types::{ConnInfo, ConnState, PeerEvent};
