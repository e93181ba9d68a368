//! The endpoint's datagram path in secure mode: counting and reporting the datagrams of a
//! secure connection that fail to open, forged or replayed (docs/protocol.md §15.7). Sealing and opening happen
//! in `handle_datagram` and `poll_transmit`; the secure handshake is in
//! `handshake/secure.rs`, the cryptography in `proto::secure`.

use std::collections::VecDeque;
use std::time::Duration;

use crate::proto::connection::Connection;
use crate::proto::event::Event;
use crate::proto::secure::OpenError;
use crate::proto::stats::EndpointStats;
use crate::proto::time::Time;

/// Tamper alerts per connection are at most this frequent.
const ALERT_INTERVAL: Duration = Duration::from_secs(1);

/// Counts a datagram of connection `c` that did not open, and reports it (rate limited).
pub(super) fn count_rejected(
    now: Time,
    c: &mut Connection,
    e: OpenError,
    stats: &mut EndpointStats,
    events: &mut VecDeque<Event>,
) {
    let Some(link) = c.secure.as_deref_mut() else {
        return;
    };
    match e {
        OpenError::Forged => {
            link.forged += 1;
            stats.dropped.forged += 1;
        }
        OpenError::Replayed => {
            link.replayed += 1;
            stats.dropped.replayed += 1;
        }
    }
    if now >= link.next_alert {
        link.next_alert = now + ALERT_INTERVAL;
        events.push_back(Event::SecurityAlert {
            conn: c.id,
            addr: c.addr,
            forged: link.forged,
            replayed: link.replayed,
        });
    }
}
