//! `rak_conn_stats` and `rak_stats`: a connection's statistics (RakNet's
//! `RakNetStatistics`) and the protocol core's peer-wide counters, as append-only C
//! structs filled up to the caller's `sizeof`. Conversion only: the network thread
//! computes the figures when asked (`runtime::Peer::conn_stats`).

use std::time::Duration;

use super::boundary::{boundary, write_sized};
use super::handle::rak_conn;
use super::peer::{rak_peer, with_peer};
use super::result::rak_result;
use crate::proto::{ConnStats, EndpointStats};

/// Statistics of one connection, from `rak_peer_conn_stats()`: RakNet's
/// `RakNetStatistics`. Fields are only ever appended. "Unknown" figures (no sample yet)
/// are -1.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq)]
#[allow(non_camel_case_types)]
pub struct rak_conn_stats {
    /// Milliseconds since the connection started (its first handshake message).
    pub connected_for_ms: u64,
    /// UDP datagrams sent: data (first sends and resends), ACKs and NAKs.
    pub datagrams_sent: u64,
    /// Data datagrams received.
    pub datagrams_received: u64,
    /// UDP payload bytes of data datagrams sent, resends included.
    pub bytes_sent: u64,
    /// UDP payload bytes of data datagrams received.
    pub bytes_received: u64,
    /// Messages queued for sending (the application's and the protocol's own).
    pub messages_sent: u64,
    /// Messages delivered.
    pub messages_received: u64,
    /// Frames sent again after a loss (RakNet's messagesResent; a split message counts
    /// once per lost fragment).
    pub frames_resent: u64,
    /// Payload bytes sent again.
    pub bytes_resent: u64,
    /// Duplicate frames received and dropped.
    pub duplicates_received: u64,
    /// ACK datagrams sent.
    pub acks_sent: u64,
    /// NAK datagrams sent.
    pub naks_sent: u64,
    /// Unreliable messages dropped unsent because they waited too long.
    pub unreliable_expired: u64,
    /// Message bytes queued or sent and not yet acknowledged: what counts against the
    /// send buffer limit.
    pub buffered_bytes: u64,
    /// Frames queued and not yet sent, per priority (index = RAK_PRIORITY_*).
    /// RakNet's messageInSendBuffer.
    pub messages_in_send_buffer: [u64; 4],
    /// Payload bytes of those frames, per priority (bytesInSendBuffer).
    pub bytes_in_send_buffer: [u64; 4],
    /// Reliable frames sent and not yet acknowledged (messagesInResendBuffer).
    pub messages_in_resend_buffer: u64,
    /// Bytes of those frames (bytesInResendBuffer).
    pub bytes_in_resend_buffer: u64,
    /// Congestion window, in bytes.
    pub congestion_window_bytes: u64,
    /// Bytes sent over about the last second, resends included.
    pub bytes_sent_last_second: u64,
    /// Bytes received over about the last second.
    pub bytes_received_last_second: u64,
    /// Bytes resent over about the last second.
    pub bytes_resent_last_second: u64,
    /// Resent bytes / sent bytes over about the last second, 0.0 to 1.0
    /// (packetlossLastSecond).
    pub packet_loss_last_second: f64,
    /// Resent bytes / sent bytes over the connection's life (packetlossTotal).
    pub packet_loss_total: f64,
    /// Connected pings sent (keep-alive and occasional).
    pub pings_sent: u64,
    /// Answers to them received; each one is a ping sample.
    pub pongs_received: u64,
    /// Smoothed round-trip time of the reliability layer, in microseconds; -1 unknown.
    pub srtt_us: i64,
    /// Round trip of the latest ping, in milliseconds (RakNet's GetLastPing); -1 unknown.
    pub last_ping_ms: i64,
    /// Average of the recent pings, in milliseconds (GetAveragePing); -1 unknown.
    pub average_ping_ms: i64,
    /// Lowest of the recent pings, in milliseconds (GetLowestPing); -1 unknown.
    pub lowest_ping_ms: i64,
    /// The remote system's clock minus ours, in milliseconds, from the ping with the
    /// lowest round trip (GetClockDifferential); valid if `has_clock_differential`.
    /// ID_TIMESTAMP messages are rewritten with it on arrival.
    pub clock_differential_ms: i64,
    /// MTU in use, in bytes.
    pub mtu_bytes: u32,
    /// Frames are waiting and the congestion window is full
    /// (isLimitedByCongestionControl).
    pub congestion_limited: bool,
    /// Whether `clock_differential_ms` is known (after the first ping answer).
    pub has_clock_differential: bool,
    /// The connection runs secure mode (`rak_peer_connect_secure()`).
    pub secure: bool,
    /// Secure mode: datagrams from the connection's address that failed authentication
    /// (tampered, forged) and were dropped.
    pub datagrams_forged: u64,
    /// Secure mode: replayed datagrams dropped.
    pub datagrams_replayed: u64,
    /// Bytes the connection holds for incomplete split messages and out-of-order
    /// messages (what `rak_config_set_receive_budget()` limits).
    pub receive_held_bytes: u64,
    /// Frames refused because holding them would have taken the connection past its
    /// share of the receive budget (reliable ones are resent by the remote system).
    pub frames_over_receive_budget: u64,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn known(v: Option<u64>) -> i64 {
    v.map_or(-1, |v| i64::try_from(v).unwrap_or(i64::MAX))
}

fn n(v: usize) -> u64 {
    v as u64
}

impl From<&ConnStats> for rak_conn_stats {
    fn from(s: &ConnStats) -> rak_conn_stats {
        rak_conn_stats {
            connected_for_ms: ms(s.connected_for),
            datagrams_sent: s.datagrams_sent,
            datagrams_received: s.datagrams_received,
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
            messages_sent: s.messages_sent,
            messages_received: s.messages_received,
            frames_resent: s.frames_resent,
            bytes_resent: s.bytes_resent,
            duplicates_received: s.duplicates_received,
            acks_sent: s.acks_sent,
            naks_sent: s.naks_sent,
            unreliable_expired: s.unreliable_expired,
            buffered_bytes: n(s.buffered_bytes),
            messages_in_send_buffer: s.messages_in_send_buffer.map(n),
            bytes_in_send_buffer: s.bytes_in_send_buffer.map(n),
            messages_in_resend_buffer: n(s.messages_in_resend_buffer),
            bytes_in_resend_buffer: n(s.bytes_in_resend_buffer),
            congestion_window_bytes: n(s.congestion_window),
            bytes_sent_last_second: s.bytes_sent_last_second,
            bytes_received_last_second: s.bytes_received_last_second,
            bytes_resent_last_second: s.bytes_resent_last_second,
            packet_loss_last_second: s.packet_loss_last_second,
            packet_loss_total: s.packet_loss_total,
            pings_sent: s.pings_sent,
            pongs_received: s.pongs_received,
            srtt_us: known(
                s.srtt
                    .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            ),
            last_ping_ms: known(s.last_ping_ms),
            average_ping_ms: known(s.average_ping_ms),
            lowest_ping_ms: known(s.lowest_ping_ms),
            clock_differential_ms: s.clock_differential_ms.unwrap_or(0),
            mtu_bytes: u32::from(s.mtu),
            congestion_limited: s.congestion_limited,
            has_clock_differential: s.clock_differential_ms.is_some(),
            secure: s.secure,
            datagrams_forged: s.datagrams_forged,
            datagrams_replayed: s.datagrams_replayed,
            receive_held_bytes: n(s.receive_held_bytes),
            frames_over_receive_budget: s.frames_over_receive_budget,
        }
    }
}

/// Copies a statistics snapshot of `conn` into `*out_stats`. Pass
/// `sizeof(rak_conn_stats)` as `stats_size`: the library writes at most that many
/// bytes, so a program built against an older, shorter version of the struct keeps
/// working.
///
/// The network thread computes the snapshot when asked, so the figures are current;
/// the call waits for it (one pass of the network loop, typically microseconds).
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` or `out_stats` is NULL;
/// RAK_RESULT_INVALID_ARGUMENT if `stats_size` is 0; RAK_RESULT_STALE_HANDLE if `conn`
/// or `peer` is gone; RAK_RESULT_NOT_CONNECTED while an outgoing attempt is still
/// probing (before the server's reply); RAK_RESULT_QUEUE_FULL; RAK_RESULT_SHUT_DOWN;
/// RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_conn_stats(
    peer: *const rak_peer,
    conn: rak_conn,
    out_stats: *mut rak_conn_stats,
    stats_size: usize,
) -> rak_result {
    boundary(|| {
        if out_stats.is_null() {
            return Err(rak_result::NullArgument);
        }
        if stats_size == 0 {
            return Err(rak_result::InvalidArgument);
        }
        with_peer(peer, |p| {
            let stats = p.conn_stats(conn.conn_id()?)?;
            write_sized(out_stats, stats_size, &rak_conn_stats::from(&stats))
        })
    })
}

/// Counters of a peer's protocol core since it started, from `rak_peer_stats()`.
/// Fields are only ever appended. The `dropped_*` counters say why datagrams (or
/// answers) were dropped, each datagram under the first reason that stopped it; the
/// `refused_*` counters count remote systems' connection attempts refused, by reason.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct rak_stats {
    /// UDP datagrams received.
    pub datagrams_received: u64,
    /// UDP payload bytes received.
    pub bytes_received: u64,
    /// UDP datagrams sent.
    pub datagrams_sent: u64,
    /// UDP payload bytes sent.
    pub bytes_sent: u64,
    /// Datagrams dropped because they could not be decoded (the `dropped_bad_*` sum).
    pub malformed_datagrams: u64,
    /// Connections established, both directions.
    pub connections_opened: u64,
    /// Connections and outgoing attempts that exist now.
    pub connections: u64,
    /// Dropped: offline message (ping, handshake, ...) malformed.
    pub dropped_bad_offline: u64,
    /// Dropped: unusable reliability-layer datagram header.
    pub dropped_bad_datagram_header: u64,
    /// Dropped: malformed ACK or NAK.
    pub dropped_bad_ack_nak: u64,
    /// Dropped: malformed frame (the rest of its datagram went with it).
    pub dropped_bad_frame: u64,
    /// Dropped: connected-mode data from an address with no connection.
    pub dropped_unknown_source: u64,
    /// Dropped: from a banned IP.
    pub dropped_banned: u64,
    /// Dropped: connection request with a missing or wrong anti-spoofing cookie.
    pub dropped_bad_cookie: u64,
    /// Answers withheld: ID_CONNECTION_BANNED rate limit (one per IP per 100 ms).
    pub dropped_rate_limited: u64,
    /// Answers withheld: they would have been larger than the request.
    pub dropped_amplification: u64,
    /// Answers dropped: the outgoing offline queue was full.
    pub dropped_offline_queue_full: u64,
    /// Dropped: offline replies that match no attempt of ours.
    pub dropped_unsolicited: u64,
    /// Dropped: out-of-band messages other than ADVERTISE_SYSTEM.
    pub dropped_out_of_band: u64,
    /// Not reported: pongs and advertisements while 4096 events waited to be polled.
    pub dropped_event_queue_full: u64,
    /// Refused: no free incoming slot (server full).
    pub refused_server_full: u64,
    /// Refused: the address or GUID was already connected.
    pub refused_already_connected: u64,
    /// Refused: the per-IP connection frequency limit.
    pub refused_ip_recently_connected: u64,
    /// Refused: another protocol version.
    pub refused_incompatible_protocol: u64,
    /// Refused: wrong password.
    pub refused_invalid_password: u64,
    /// Dropped: from an endpoint (or IP) ignored for sending too many malformed datagrams
    /// (`rak_config_set_abuse_limits`, `rak_config_set_abuse_widening`); an established
    /// connection's own datagrams are never counted here.
    pub dropped_ignored_abusive: u64,
    /// Dropped: secure-mode datagrams that failed authentication (tampered, forged).
    pub dropped_forged: u64,
    /// Dropped: secure-mode datagrams that were replays.
    pub dropped_replayed: u64,
    /// Dropped: malformed or unauthenticated secure handshake messages.
    pub dropped_bad_secure_handshake: u64,
    /// Refused: plain clients, because `rak_config_set_require_secure()`.
    pub refused_security_required: u64,
    /// Refused: secure clients without a key, because
    /// `rak_config_set_require_client_key()`.
    pub refused_client_key_required: u64,
    /// Refused: connection requests without the anti-spoofing cookie
    /// (`rak_config_set_cookies()`), most likely from a client that ignores the
    /// server's cookie; such a client only times out. Also in `dropped_bad_cookie`.
    pub refused_missing_cookie: u64,
    /// Data datagrams with frames refused because their connection was over its share
    /// of the receive budget (`rak_config_set_receive_budget()`); left unacknowledged
    /// when a refused frame was reliable, so the remote system resends it.
    pub dropped_over_receive_budget: u64,
    /// Not a counter: bytes all connections hold now for messages still arriving in
    /// fragments and messages waiting for an earlier one (at most the receive budget).
    pub receive_held_bytes: u64,
}

impl rak_stats {
    fn new(s: &EndpointStats, connections: usize) -> rak_stats {
        let (d, r) = (&s.dropped, &s.refused);
        rak_stats {
            datagrams_received: s.datagrams_received,
            bytes_received: s.bytes_received,
            datagrams_sent: s.datagrams_sent,
            bytes_sent: s.bytes_sent,
            malformed_datagrams: s.malformed_datagrams,
            connections_opened: s.connections_opened,
            connections: n(connections),
            dropped_bad_offline: d.bad_offline,
            dropped_bad_datagram_header: d.bad_datagram_header,
            dropped_bad_ack_nak: d.bad_ack_nak,
            dropped_bad_frame: d.bad_frame,
            dropped_unknown_source: d.unknown_source,
            dropped_banned: d.banned,
            dropped_bad_cookie: d.bad_cookie,
            dropped_rate_limited: d.rate_limited,
            dropped_amplification: d.amplification,
            dropped_offline_queue_full: d.offline_queue_full,
            dropped_unsolicited: d.unsolicited,
            dropped_out_of_band: d.out_of_band_ignored,
            dropped_event_queue_full: d.event_queue_full,
            refused_server_full: r.server_full,
            refused_already_connected: r.already_connected,
            refused_ip_recently_connected: r.ip_recently_connected,
            refused_incompatible_protocol: r.incompatible_protocol,
            refused_invalid_password: r.invalid_password,
            dropped_ignored_abusive: d.ignored_abusive,
            dropped_forged: d.forged,
            dropped_replayed: d.replayed,
            dropped_bad_secure_handshake: d.bad_secure_handshake,
            refused_security_required: r.security_required,
            refused_client_key_required: r.client_key_required,
            refused_missing_cookie: r.missing_cookie,
            dropped_over_receive_budget: d.over_receive_budget,
            receive_held_bytes: s.receive_held_bytes,
        }
    }
}

/// Copies the peer's protocol counters (traffic, drops and refusals by reason, current
/// connections) into `*out_stats`, fetched from the network thread like
/// `rak_peer_conn_stats()`. Pass `sizeof(rak_stats)` as `stats_size`.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `peer` or `out_stats` is NULL;
/// RAK_RESULT_INVALID_ARGUMENT if `stats_size` is 0; RAK_RESULT_QUEUE_FULL;
/// RAK_RESULT_STALE_HANDLE if `peer` was destroyed; RAK_RESULT_SHUT_DOWN;
/// RAK_RESULT_PEER_FAILED.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_stats(
    peer: *const rak_peer,
    out_stats: *mut rak_stats,
    stats_size: usize,
) -> rak_result {
    boundary(|| {
        if out_stats.is_null() {
            return Err(rak_result::NullArgument);
        }
        if stats_size == 0 {
            return Err(rak_result::InvalidArgument);
        }
        with_peer(peer, |p| {
            let (stats, conns) = p.endpoint_stats()?;
            write_sized(out_stats, stats_size, &rak_stats::new(&stats, conns))
        })
    })
}
