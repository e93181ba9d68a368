//! Endpoint-wide counters and per-connection statistics snapshots (docs/protocol.md §12.1),
//! plus the small meter that turns a connection's running totals into "over the last
//! second" values.

use std::collections::VecDeque;
use std::time::Duration;

use super::time::Time;
use super::wire::id;

/// Counters of one endpoint, all since its creation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// UDP datagrams handed to `handle_datagram`.
    pub datagrams_received: u64,
    /// UDP payload bytes received.
    pub bytes_received: u64,
    /// UDP datagrams produced by `poll_transmit`.
    pub datagrams_sent: u64,
    /// UDP payload bytes produced.
    pub bytes_sent: u64,
    /// Datagrams dropped because they could not be decoded.
    pub malformed_datagrams: u64,
    /// Datagrams dropped because they came from an unknown address and were not offline.
    pub unknown_source_datagrams: u64,
    /// Offline messages dropped by policy (wrong protocol state, bad cookie, …).
    pub offline_dropped: u64,
    /// Connections established (both directions), counted as their `Connected` events
    /// are polled.
    pub connections_opened: u64,
    /// Datagrams (or answers) dropped, by reason. The three totals above stay as they
    /// were; these counters say why.
    pub dropped: DropCounters,
    /// Connection attempts this endpoint refused, by the answer it sent.
    pub refused: RefusalCounters,
    /// Not a counter: bytes all connections hold now for incomplete split messages
    /// and out-of-order messages (`Endpoint::receive_held_bytes`, at most
    /// `Config::receive_budget`).
    pub receive_held_bytes: u64,
}

/// Remote systems' connection attempts refused, by the answer sent (docs/protocol.md §4.4,
/// §5.6). Datagrams from banned IPs are counted in `DropCounters::banned` instead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefusalCounters {
    /// ID_NO_FREE_INCOMING_CONNECTIONS: no free incoming slot.
    pub server_full: u64,
    /// ID_ALREADY_CONNECTED: the address or GUID already has a connection.
    pub already_connected: u64,
    /// ID_IP_RECENTLY_CONNECTED: the per-IP connection frequency limit.
    pub ip_recently_connected: u64,
    /// ID_INCOMPATIBLE_PROTOCOL_VERSION: another protocol version.
    pub incompatible_protocol: u64,
    /// ID_INVALID_PASSWORD: a wrong password in CONNECTION_REQUEST.
    pub invalid_password: u64,
    /// Plain clients refused because `SecureConfig::require_secure` is set.
    pub security_required: u64,
    /// Secure clients refused for presenting no key (`SecureConfig::require_client_key`).
    pub client_key_required: u64,
    /// OPEN_CONNECTION_REQUEST_2 without the cookie this endpoint requires (`Config::
    /// cookies`): most likely a client that ignores REPLY_1's security flag and would
    /// need a server without cookies (RakNet 4 servers have none by default). Nothing is
    /// answered, so such a client only times out; also counted as
    /// `DropCounters::bad_cookie`.
    pub missing_cookie: u64,
}

impl RefusalCounters {
    /// Counts an offline rejection with message id `rid`.
    pub(crate) fn count(&mut self, rid: u8) {
        match rid {
            id::NO_FREE_INCOMING_CONNECTIONS => self.server_full += 1,
            id::ALREADY_CONNECTED => self.already_connected += 1,
            id::IP_RECENTLY_CONNECTED => self.ip_recently_connected += 1,
            _ => {}
        }
    }

    /// Sum of all counters.
    pub fn total(&self) -> u64 {
        self.server_full
            + self.already_connected
            + self.ip_recently_connected
            + self.incompatible_protocol
            + self.invalid_password
            + self.security_required
            + self.client_key_required
            + self.missing_cookie
    }
}

/// Why datagrams were dropped or answers withheld. Each datagram is counted once, under
/// the first reason that stopped it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DropCounters {
    /// Offline by docs/protocol.md §4.1 (or 2 bytes or fewer) but malformed.
    pub bad_offline: u64,
    /// Reliability-layer datagram with an unusable header (flags, length, or a datagram
    /// number too far ahead).
    pub bad_datagram_header: u64,
    /// Malformed ACK or NAK datagram.
    pub bad_ack_nak: u64,
    /// Data datagram with a malformed frame (the rest of that datagram was discarded).
    pub bad_frame: u64,
    /// Not offline, and from an address with no connection.
    pub unknown_source: u64,
    /// From a banned IP (answered with ID_CONNECTION_BANNED unless rate limited).
    pub banned: u64,
    /// OPEN_CONNECTION_REQUEST_2 with a missing or wrong cookie.
    pub bad_cookie: u64,
    /// ID_CONNECTION_BANNED answers withheld: at most one per IP per 100 ms, and none to
    /// a datagram shorter than the answer.
    pub rate_limited: u64,
    /// Answers withheld because they would be larger than the request (amplification).
    pub amplification: u64,
    /// Offline answers dropped because the outgoing offline queue was full.
    pub offline_queue_full: u64,
    /// Offline replies or rejections that match no attempt of ours.
    pub unsolicited: u64,
    /// Out-of-band payloads other than ADVERTISE_SYSTEM.
    pub out_of_band_ignored: u64,
    /// Pongs and advertisements not reported because 4096 events were waiting to be
    /// polled.
    pub event_queue_full: u64,
    /// Connected-mode datagrams larger than any RakNet peer sends (over 1,600 bytes).
    pub oversize: u64,
    /// From an endpoint (or IP) ignored for sending too many malformed datagrams
    /// (`Config::abuse_threshold`, `abuse_widen`), and not for an established
    /// connection at that address; dropped before any other check.
    pub ignored_abusive: u64,
    /// Secure connections: datagrams whose authentication tag did not verify (tampered,
    /// forged, or too short), dropped before any protocol state was touched.
    pub forged: u64,
    /// Secure connections: datagrams whose nonce was seen before or fell behind the
    /// replay window, dropped unopened.
    pub replayed: u64,
    /// Secure handshake messages that were malformed, did not authenticate, or arrived
    /// where secure mode is off.
    pub bad_secure_handshake: u64,
    /// Data datagrams with at least one frame refused because holding it would have taken
    /// its connection past its share of `Config::receive_budget`. The datagram was left
    /// unacknowledged if any such frame was reliable (the sender resends it); its other
    /// frames were taken as usual.
    pub over_receive_budget: u64,
}

/// A snapshot of one connection's statistics (RakNet's `RakNetStatistics`, growing).
/// Not `Eq`: the loss ratios are floating point.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnStats {
    /// Time since the connection slot was created.
    pub connected_for: Duration,
    /// MTU in use.
    pub mtu: u16,
    /// UDP datagrams sent (data, ACK and NAK).
    pub datagrams_sent: u64,
    /// Data datagrams received.
    pub datagrams_received: u64,
    /// UDP payload bytes of data datagrams sent (first sends and resends).
    pub bytes_sent: u64,
    /// UDP payload bytes of data datagrams received.
    pub bytes_received: u64,
    /// Messages queued for sending.
    pub messages_sent: u64,
    /// Messages delivered.
    pub messages_received: u64,
    /// Frames retransmitted.
    pub frames_resent: u64,
    /// Payload bytes retransmitted.
    pub bytes_resent: u64,
    /// Duplicate frames dropped on receive.
    pub duplicates_received: u64,
    /// ACK datagrams sent.
    pub acks_sent: u64,
    /// NAK datagrams sent.
    pub naks_sent: u64,
    /// Unreliable messages dropped unsent by the unreliable timeout.
    pub unreliable_expired: u64,
    /// Message bytes queued or awaiting acknowledgement.
    pub buffered_bytes: usize,
    /// Smoothed round-trip time of the reliability layer.
    pub srtt: Option<Duration>,
    /// Latest connected-ping round trip, ms.
    pub last_ping_ms: Option<u64>,
    /// Lowest of the kept ping samples, ms.
    pub lowest_ping_ms: Option<u64>,
    /// Average of the kept ping samples, ms.
    pub average_ping_ms: Option<u64>,
    /// Remote clock minus local clock (ms), from the lowest-RTT sample.
    pub clock_differential_ms: Option<i64>,
    /// Connected pings sent (handshake, keep-alive and occasional).
    pub pings_sent: u64,
    /// Connected pongs received (each one a ping sample).
    pub pongs_received: u64,
    /// Frames queued and not yet sent, per priority (index = `Priority as usize`:
    /// immediate, high, medium, low). A split message counts once per fragment.
    /// RakNet's `messageInSendBuffer`.
    pub messages_in_send_buffer: [usize; 4],
    /// Payload bytes of those frames, per priority (`bytesInSendBuffer`).
    pub bytes_in_send_buffer: [usize; 4],
    /// Reliable frames sent and not yet acknowledged (`messagesInResendBuffer`).
    pub messages_in_resend_buffer: usize,
    /// Header and payload bytes of those frames (`bytesInResendBuffer`).
    pub bytes_in_resend_buffer: usize,
    /// Congestion window in bytes.
    pub congestion_window: usize,
    /// Frames are waiting and the congestion window is full
    /// (`isLimitedByCongestionControl`).
    pub congestion_limited: bool,
    /// UDP payload bytes of data datagrams sent over about the last second (resends
    /// included).
    pub bytes_sent_last_second: u64,
    /// UDP payload bytes of data datagrams received over about the last second.
    pub bytes_received_last_second: u64,
    /// Payload bytes retransmitted over about the last second.
    pub bytes_resent_last_second: u64,
    /// Resent bytes / sent bytes over about the last second, 0.0 to 1.0
    /// (`packetlossLastSecond`).
    pub packet_loss_last_second: f64,
    /// Resent bytes / sent bytes over the connection's life (`packetlossTotal`).
    pub packet_loss_total: f64,
    /// The connection runs secure mode (every datagram encrypted and authenticated).
    pub secure: bool,
    /// Secure mode: the remote system's proven public key (the server's, on the client;
    /// the client's, on the server, if it presented one).
    pub remote_key: Option<[u8; 32]>,
    /// Secure mode: datagrams from this connection's address that did not authenticate.
    pub datagrams_forged: u64,
    /// Secure mode: replayed datagrams dropped.
    pub datagrams_replayed: u64,
    /// Bytes this connection holds for incomplete split messages and out-of-order
    /// messages (buffer capacity; what `Config::receive_budget` counts).
    pub receive_held_bytes: usize,
    /// Frames refused because holding them would have taken this connection past its
    /// share of `Config::receive_budget` (reliable ones come again: their datagram was
    /// left unacknowledged).
    pub frames_over_receive_budget: u64,
}

/// Running totals a [`Meter`] tracks: data bytes sent, received, resent.
pub(crate) type Totals = [u64; 3];

/// Snapshots closer together than this are not kept.
const METER_STEP: Duration = Duration::from_millis(100);
/// The span "last second" values cover.
const METER_SPAN: Duration = Duration::from_secs(1);

/// Turns running totals into values over about the last second. The owner calls `tick`
/// whenever the totals may have changed; `last_second` then differences the totals
/// against a snapshot at least a second old. Snapshots are at least 100 ms apart and
/// only those needed are kept (at most a dozen), so values cover between 1.0 and 1.1 s.
#[derive(Clone, Debug)]
pub(crate) struct Meter {
    /// Snapshots, oldest first; the front is the newest one at least `METER_SPAN` old
    /// (or the creation-time zero).
    ring: VecDeque<(Time, Totals)>,
    /// The latest totals and when they were reported.
    latest: (Time, Totals),
}

impl Meter {
    pub(crate) fn new(now: Time) -> Meter {
        let mut ring = VecDeque::new();
        ring.push_back((now, [0; 3]));
        Meter {
            ring,
            latest: (now, [0; 3]),
        }
    }

    /// Reports the current totals.
    pub(crate) fn tick(&mut self, now: Time, totals: Totals) {
        if totals != self.latest.1 {
            self.latest = (now, totals);
        }
        if self
            .ring
            .back()
            .map_or(true, |(t, _)| now.saturating_since(*t) >= METER_STEP)
        {
            self.ring.push_back((now, totals));
        }
        // The front is needed only while the next snapshot is under a second old.
        while self.ring.len() > 1
            && self
                .ring
                .get(1)
                .is_some_and(|(t, _)| now.saturating_since(*t) >= METER_SPAN)
        {
            self.ring.pop_front();
        }
    }

    /// Change of each total over about the last second before `now`.
    pub(crate) fn last_second(&self, now: Time) -> Totals {
        let (changed_at, current) = self.latest;
        if now.saturating_since(changed_at) >= METER_SPAN {
            return [0; 3];
        }
        let base = self
            .ring
            .iter()
            .rev()
            .find(|(t, _)| now.saturating_since(*t) >= METER_SPAN)
            .or(self.ring.front())
            .map_or([0; 3], |(_, b)| *b);
        [0, 1, 2].map(|i| current[i].saturating_sub(base[i]))
    }
}

/// `part / whole`, 0 when `whole` is 0, at most 1.
pub(crate) fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Time {
        Time::from_millis(n)
    }

    #[test]
    fn meter_covers_about_the_last_second() {
        let mut m = Meter::new(ms(0));
        // 1000 bytes every 10 ms for 3 s.
        for i in 1..=300u64 {
            m.tick(ms(i * 10), [i * 1000, 0, 0]);
            assert!(m.ring.len() <= 13, "{}", m.ring.len());
        }
        let [sent, _, _] = m.last_second(ms(3000));
        assert!((100_000..=110_000).contains(&sent), "{sent}");
        // Idle: the values fall to zero a second after the last change.
        assert!(m.last_second(ms(3500))[0] > 0);
        assert_eq!(m.last_second(ms(4000)), [0; 3]);
        // Young connection: everything so far counts.
        let mut y = Meter::new(ms(0));
        y.tick(ms(50), [10, 20, 30]);
        assert_eq!(y.last_second(ms(60)), [10, 20, 30]);
    }

    #[test]
    fn ratio_is_bounded() {
        assert_eq!(ratio(0, 0), 0.0);
        assert_eq!(ratio(5, 2), 1.0);
        assert_eq!(ratio(1, 4), 0.25);
    }
}
