//! The one real clock of the library: a process-wide monotonic origin, read as
//! [`proto::Time`](crate::proto::Time) microseconds.
//!
//! Everything else (the protocol core, the network loop's deadlines, `wait_event`) works
//! in `Time` and `Duration` taken from here, so swapping the clock means touching this
//! file only. It does not sleep; waiting lives in `wake.rs` and `queues.rs`.
#![allow(clippy::disallowed_methods)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::proto::Time;

/// The first reading is one second after the origin, so no real reading is ever
/// `Time::ZERO` (which the core may use as "never happened").
const START_OFFSET: Duration = Duration::from_secs(1);

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Now, in protocol time. Monotonic, shared by every peer in the process.
pub(crate) fn now() -> Time {
    let origin = origin();
    Time::ZERO + START_OFFSET + Instant::now().saturating_duration_since(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_after_origin_and_is_monotonic() {
        let a = now();
        let b = now();
        assert!(a >= Time::ZERO + START_OFFSET);
        assert!(b >= a);
    }
}
