//! One remote system after the offline handshake: the connected-mode handshake
//! (CONNECTION_REQUEST / ACCEPTED / NEW_INCOMING_CONNECTION), pings, keep-alive, the
//! dead-connection rule and disconnection (docs/protocol.md §5.6–5.9, §10), on top of the
//! reliability layer. It does not own addresses, cookies or the connection table
//! (`endpoint.rs` does).
//!
//! ID_TIMESTAMP (§10.4): an application message that starts with `1B` and a `u64be` time
//! is delivered with that time rewritten from the sender's clock into ours, by
//! subtracting the clock differential of the lowest-RTT ping sample, as 4.081 does when
//! the application calls `Receive`. Without a sample the message is left as it came.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use super::config::{Config, UDP_HEADER_SIZE};
use super::error::SendError;
use super::event::{ConnId, ConnectFailure, DisconnectReason, Event};
use super::options::{Priority, Receipt, Reliability, SendOptions};
use super::reliability::{Delivery, Receiver, Sender};
use super::stats::{ratio, ConnStats, Meter};
use super::time::Time;
use super::wire::connected::{
    decode_ping, decode_pong, encode_ping, encode_pong, ConnectionRequest,
    ConnectionRequestAccepted, NewIncomingConnection,
};
use super::wire::datagram::{self, DatagramKind};
use super::wire::id;

/// Ping samples kept (`PING_TIMES_ARRAY_SIZE`).
const PING_SAMPLES: usize = 5;
/// Messages held on the accepting side between ACCEPTED and NEW_INCOMING_CONNECTION.
const MAX_EARLY_MESSAGES: usize = 4096;
/// Priorities in the order `ConnStats` reports them.
const PRIORITIES: [Priority; 4] = [
    Priority::Immediate,
    Priority::High,
    Priority::Medium,
    Priority::Low,
];

/// Retransmission timeouts the closing side waits for the notice's acknowledgement.
const NOTICE_WAIT_RTOS: u32 = 4;
/// Shortest wait for the notice's acknowledgement (a fast link still gets several
/// copies out).
const NOTICE_WAIT_MIN: Duration = Duration::from_millis(200);
/// Longest wait for the notice's acknowledgement, well below the default 10 s timeout.
pub(crate) const NOTICE_WAIT_MAX: Duration = Duration::from_secs(2);

/// Where a connection is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Client: CONNECTION_REQUEST sent, waiting for ACCEPTED.
    RequestedConnection,
    /// Server: slot allocated by REQUEST_2, waiting for CONNECTION_REQUEST.
    UnverifiedSender,
    /// Server: ACCEPTED sent, waiting for NEW_INCOMING_CONNECTION.
    HandlingConnectionRequest,
    /// Handshake complete.
    Connected,
    /// We asked to close with notification; waiting for everything to be acknowledged.
    Disconnecting,
    /// Close after the pending ACKs are sent (remote notified us, or we rejected it).
    CloseAfterAcks,
    /// Gone; the endpoint removes it.
    Closed,
}

/// A round-trip sample and the clock differential it implies.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PingSample {
    /// Round trip in milliseconds.
    pub(crate) rtt_ms: u64,
    /// Remote clock minus local clock, in milliseconds.
    pub(crate) clock_diff_ms: i64,
}

/// One remote system.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) id: ConnId,
    pub(crate) addr: SocketAddr,
    pub(crate) remote_guid: u64,
    pub(crate) incoming: bool,
    pub(crate) phase: Phase,
    pub(crate) mtu: u16,
    /// Whether the application was told about this connection (Connected event).
    reported: bool,
    send: Sender,
    recv: Receiver,
    created: Time,
    /// When the handshake's time limit started counting: creation, or for a slot still
    /// waiting for CONNECTION_REQUEST, the latest repeat of OPEN_CONNECTION_REQUEST_2
    /// (see `restart_handshake_clock`).
    handshake_start: Time,
    last_receive: Time,
    last_reliable_send: Time,
    next_occasional_ping: Option<Time>,
    close_deadline: Option<Time>,
    /// The application was told how this connection ended (or failed).
    end_reported: bool,
    /// DISCONNECTION_NOTIFICATION is owed once the send queue has drained.
    notify_pending: bool,
    pings: VecDeque<PingSample>,
    early: Vec<Delivery>,
    /// Cached deadline the endpoint keys its timer set with.
    pub(crate) timer_key: Option<Time>,
    /// Receive bytes held (`held_receive_bytes`) as the endpoint's budget last counted.
    pub(crate) held: usize,
    /// In the endpoint's to-transmit list.
    pub(crate) dirty: bool,
    /// Overrides `Config::timeout` for this connection.
    timeout: Option<Duration>,
    /// Closed for sending something other than CONNECTION_REQUEST first (§5.6); the
    /// endpoint may ban the IP.
    pub(crate) violated_handshake: bool,
    /// Set when this slot answered ID_INVALID_PASSWORD; the endpoint counts it and clears it.
    pub(crate) refused_password: bool,
    pings_sent: u64,
    pongs_received: u64,
    meter: Meter,
    /// Secure mode: every datagram is sealed and opened with these keys.
    pub(crate) secure: Option<Box<crate::proto::secure::Link>>,
}

/// What became of one reliability-layer datagram, for the endpoint's drop counters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum DatagramOutcome {
    /// Used (possibly only in part: see `BadFrame`), or ignored because the connection
    /// is closed.
    Accepted,
    /// Header flags, length or datagram number unusable: dropped whole.
    BadHeader,
    /// A malformed ACK or NAK: dropped whole.
    BadAckNak,
    /// A data datagram with a malformed frame: the frames before it were used.
    BadFrame,
}

/// What the connection needs from its endpoint while handling input.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a Config,
    pub(crate) local_guid: u64,
    pub(crate) local_addr: SocketAddr,
    pub(crate) events: &'a mut VecDeque<Event>,
}

impl Connection {
    /// The connecting side, after OPEN_CONNECTION_REPLY_2: queues CONNECTION_REQUEST.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_outgoing(
        now: Time,
        id: ConnId,
        addr: SocketAddr,
        remote_guid: u64,
        mtu: u16,
        config: &Config,
        local_guid: u64,
        password: &[u8],
    ) -> Connection {
        let mut c = Connection::new(now, id, addr, remote_guid, mtu, false, config);
        c.phase = Phase::RequestedConnection;
        let mut msg = Vec::with_capacity(18 + password.len());
        ConnectionRequest {
            guid: local_guid,
            time: now.as_millis(),
            security: false,
            password,
        }
        .encode(&mut msg);
        c.queue_control(now, &msg, Reliability::Reliable);
        c
    }

    /// The accepting side, after OPEN_CONNECTION_REQUEST_2.
    pub(crate) fn new_incoming(
        now: Time,
        id: ConnId,
        addr: SocketAddr,
        remote_guid: u64,
        mtu: u16,
        config: &Config,
    ) -> Connection {
        let mut c = Connection::new(now, id, addr, remote_guid, mtu, true, config);
        c.phase = Phase::UnverifiedSender;
        c
    }

    fn new(
        now: Time,
        id: ConnId,
        addr: SocketAddr,
        remote_guid: u64,
        mtu: u16,
        incoming: bool,
        config: &Config,
    ) -> Connection {
        Connection {
            id,
            addr,
            remote_guid,
            incoming,
            phase: Phase::UnverifiedSender,
            mtu,
            reported: false,
            send: Sender::new(mtu, &config.reliability, now),
            recv: Receiver::new(&config.reliability),
            created: now,
            handshake_start: now,
            last_receive: now,
            last_reliable_send: now,
            next_occasional_ping: None,
            close_deadline: None,
            end_reported: false,
            notify_pending: false,
            pings: VecDeque::new(),
            early: Vec::new(),
            timer_key: None,
            held: 0,
            dirty: false,
            timeout: None,
            violated_handshake: false,
            refused_password: false,
            pings_sent: 0,
            pongs_received: 0,
            meter: Meter::new(now),
            secure: None,
        }
    }

    /// Sets this connection's timeout (`None`: the endpoint's `Config::timeout`).
    pub(crate) fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// The timeout in effect.
    fn timeout(&self, config: &Config) -> Duration {
        self.timeout.unwrap_or(config.timeout)
    }

    /// Dropped because the endpoint banned the remote IP: reported, never notified.
    pub(crate) fn drop_banned(&mut self, ctx: &mut Ctx<'_>) {
        self.finish(ctx, DisconnectReason::Banned, ConnectFailure::Cancelled);
    }

    /// Largest UDP payload this connection sends.
    fn max_datagram(&self) -> usize {
        usize::from(self.mtu.saturating_sub(UDP_HEADER_SIZE))
    }

    /// Queues a control message at IMMEDIATE priority on channel 0. Control messages are
    /// small and never refused for buffer space; a failure here is a bug.
    fn queue_control(&mut self, now: Time, msg: &[u8], reliability: Reliability) {
        let opts = SendOptions {
            reliability,
            priority: Priority::Immediate,
            channel: 0,
        };
        let queued = self.send.queue_control(now, msg, opts);
        debug_assert!(queued.is_ok(), "control message refused: {queued:?}");
        if reliability.is_reliable() {
            self.last_reliable_send = now;
        }
    }

    /// Whether the application was told of this connection (it may be closing since).
    pub(crate) fn is_established(&self) -> bool {
        self.reported
    }

    /// Whether the handshake is complete and the application may send.
    pub(crate) fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// Application data.
    pub(crate) fn send(
        &mut self,
        now: Time,
        data: &[u8],
        opts: SendOptions,
        receipt: Receipt,
    ) -> Result<(), SendError> {
        if self.phase != Phase::Connected {
            return Err(SendError::NotConnected);
        }
        self.send.queue(now, data, opts, receipt.0)?;
        if opts.reliability.is_reliable() {
            self.last_reliable_send = now;
        }
        Ok(())
    }

    /// Starts closing. With `notify` (and an established connection) the remote system
    /// gets DISCONNECTION_NOTIFICATION after everything queued; otherwise closes at once.
    pub(crate) fn close(&mut self, now: Time, notify: bool, ctx: &mut Ctx<'_>) {
        match self.phase {
            Phase::Connected if notify => {
                // The notification goes out once everything queued before it has been
                // delivered and acknowledged (`poll_transmit`): peers that ignore ordering
                // channels (go-raknet, jsp-raknet, rust-raknet) would otherwise act on it
                // before the data, or before a resent fragment of it.
                self.notify_pending = true;
                self.phase = Phase::Disconnecting;
                self.close_deadline = Some(now + self.timeout(ctx.config));
            }
            Phase::Disconnecting | Phase::CloseAfterAcks | Phase::Closed => {}
            _ => self.finish(
                ctx,
                DisconnectReason::ClosedLocally,
                ConnectFailure::Cancelled,
            ),
        }
    }

    /// Ends the connection now, telling the application what it needs to know.
    /// Ends the connection at once without notifying the remote system (secure mode's
    /// nonce counter ran out).
    pub(crate) fn abort(&mut self, ctx: &mut Ctx<'_>) {
        self.finish(
            ctx,
            DisconnectReason::ProtocolError,
            ConnectFailure::SecureHandshakeFailed,
        );
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>, reason: DisconnectReason, failure: ConnectFailure) {
        if self.phase == Phase::Closed {
            return;
        }
        self.report_end(ctx, reason, failure);
        self.phase = Phase::Closed;
    }

    fn report_end(&mut self, ctx: &mut Ctx<'_>, reason: DisconnectReason, failure: ConnectFailure) {
        if self.end_reported {
            return;
        }
        if self.reported {
            self.end_reported = true;
            ctx.events.push_back(Event::Disconnected {
                conn: self.id,
                addr: self.addr,
                reason,
            });
        } else if !self.incoming {
            self.end_reported = true;
            ctx.events.push_back(Event::ConnectFailed {
                conn: self.id,
                addr: self.addr,
                reason: failure,
            });
        }
    }

    /// A reliability-layer datagram from this connection's address.
    pub(crate) fn handle_datagram(
        &mut self,
        now: Time,
        bytes: &[u8],
        ctx: &mut Ctx<'_>,
        ranges: &mut Vec<(u32, u32)>,
    ) -> DatagramOutcome {
        if self.phase == Phase::Closed {
            return DatagramOutcome::Accepted;
        }
        let Some(kind) = datagram::classify(bytes) else {
            return DatagramOutcome::BadHeader;
        };
        let mut outcome = DatagramOutcome::Accepted;
        match kind {
            DatagramKind::Ack | DatagramKind::Nak => {
                let Ok(nak) = datagram::decode_ack_nak(bytes, ranges) else {
                    return DatagramOutcome::BadAckNak;
                };
                self.last_receive = now;
                if nak {
                    self.send.on_nak(now, ranges);
                } else {
                    self.send.on_ack(now, ranges);
                }
            }
            DatagramKind::Data => {
                let bad_before = self.recv.stats().bad_frames;
                if self.recv.on_data(now, bytes).is_err() {
                    return DatagramOutcome::BadHeader;
                }
                if self.recv.stats().bad_frames != bad_before {
                    outcome = DatagramOutcome::BadFrame;
                }
                self.last_receive = now;
                while let Some(d) = self.recv.poll_delivery() {
                    self.on_delivery(now, d, ctx);
                    if self.phase == Phase::Closed {
                        break;
                    }
                }
            }
        }
        self.drain_receipts(ctx);
        self.check_closing(ctx);
        self.tick_meter(now);
        outcome
    }

    fn tick_meter(&mut self, now: Time) {
        let (s, r) = (self.send.stats(), self.recv.stats());
        self.meter
            .tick(now, [s.bytes_sent, r.bytes_received, s.bytes_resent]);
    }

    fn drain_receipts(&mut self, ctx: &mut Ctx<'_>) {
        while let Some((serial, acked)) = self.send.poll_receipt() {
            if serial != 0 && self.reported && !self.end_reported {
                ctx.events.push_back(Event::Receipt {
                    conn: self.id,
                    receipt: Receipt(serial),
                    acked,
                });
            }
        }
    }

    fn check_closing(&mut self, ctx: &mut Ctx<'_>) {
        if self.phase == Phase::Disconnecting && !self.notify_pending && self.send.is_idle() {
            self.report_end(
                ctx,
                DisconnectReason::ClosedLocally,
                ConnectFailure::Cancelled,
            );
            self.phase = Phase::Closed;
        }
    }

    fn on_delivery(&mut self, now: Time, d: Delivery, ctx: &mut Ctx<'_>) {
        let first = d.data.first().copied();
        match (self.phase, first) {
            (Phase::UnverifiedSender, Some(id::CONNECTION_REQUEST)) => {
                self.on_connection_request(now, &d.data, ctx)
            }
            // 4.081 closes the slot when anything else comes first, and bans the IP for
            // the timeout (docs/protocol.md §5.6); the endpoint does the banning.
            (Phase::UnverifiedSender, _) => {
                self.violated_handshake = true;
                self.phase = Phase::Closed;
            }
            (Phase::RequestedConnection, Some(id::CONNECTION_REQUEST_ACCEPTED)) => {
                self.on_accepted(now, &d.data, ctx)
            }
            (Phase::RequestedConnection, Some(id::INVALID_PASSWORD)) => {
                self.report_end(
                    ctx,
                    DisconnectReason::ClosedByRemote,
                    ConnectFailure::InvalidPassword,
                );
                self.phase = Phase::CloseAfterAcks;
                self.close_deadline = Some(now + self.linger(ctx.config));
            }
            (Phase::HandlingConnectionRequest, Some(id::NEW_INCOMING_CONNECTION)) => {
                self.on_new_incoming(now, &d.data, ctx)
            }
            // The client is connected once it has ACCEPTED and may already send; hold its
            // data until NEW_INCOMING_CONNECTION makes us connected too.
            (Phase::HandlingConnectionRequest, Some(b))
                if b >= id::TIMESTAMP && self.early.len() < MAX_EARLY_MESSAGES =>
            {
                self.early.push(d);
            }
            (_, Some(id::CONNECTED_PING)) => {
                if let Ok(t) = decode_ping(&d.data) {
                    let mut pong = Vec::with_capacity(17);
                    encode_pong(t, now.as_millis(), &mut pong);
                    self.queue_control(now, &pong, Reliability::Unreliable);
                }
            }
            (_, Some(id::CONNECTED_PONG)) => {
                if let Ok((ping_time, pong_time)) = decode_pong(&d.data) {
                    self.pongs_received += 1;
                    self.add_ping_sample(now, ping_time, pong_time);
                }
            }
            (Phase::Connected | Phase::Disconnecting, Some(id::DISCONNECTION_NOTIFICATION)) => {
                let reason = if self.phase == Phase::Disconnecting {
                    DisconnectReason::ClosedLocally
                } else {
                    DisconnectReason::ClosedByRemote
                };
                self.report_end(ctx, reason, ConnectFailure::Cancelled);
                self.phase = Phase::CloseAfterAcks;
                self.close_deadline = Some(now + self.linger(ctx.config));
            }
            // Handshake repeats and ignored control ids.
            (
                _,
                Some(
                    id::DETECT_LOST_CONNECTIONS
                    | id::CONNECTION_REQUEST
                    | id::CONNECTION_REQUEST_ACCEPTED
                    | id::NEW_INCOMING_CONNECTION,
                ),
            ) => {}
            (Phase::Connected | Phase::Disconnecting, Some(_)) => {
                let mut data = d.data;
                self.rewrite_timestamp(&mut data);
                ctx.events.push_back(Event::Message {
                    conn: self.id,
                    data,
                    channel: d.channel,
                    reliability: d.reliability,
                });
            }
            _ => {}
        }
    }

    /// Remote clock minus ours (ms), from the lowest-RTT sample kept (§10.1).
    fn clock_differential(&self) -> Option<i64> {
        self.pings
            .iter()
            .min_by_key(|p| p.rtt_ms)
            .map(|p| p.clock_diff_ms)
    }

    /// ID_TIMESTAMP (§10.4): `1B u64be time ...` gets the time moved onto our clock.
    fn rewrite_timestamp(&self, data: &mut [u8]) {
        if data.first() != Some(&id::TIMESTAMP) {
            return;
        }
        let (Some(field), Some(diff)) = (data.get_mut(1..9), self.clock_differential()) else {
            return;
        };
        let mut raw = [0u8; 8];
        raw.copy_from_slice(field);
        let local = u64::from_be_bytes(raw).wrapping_sub(diff as u64);
        field.copy_from_slice(&local.to_be_bytes());
    }

    fn add_ping_sample(&mut self, now: Time, ping_time: u64, remote_time: u64) {
        let now_ms = now.as_millis();
        if ping_time > now_ms {
            return;
        }
        let rtt_ms = now_ms - ping_time;
        let midpoint = ping_time / 2 + now_ms / 2;
        let clock_diff_ms = (remote_time as i64).wrapping_sub(midpoint as i64);
        if self.pings.len() == PING_SAMPLES {
            self.pings.pop_front();
        }
        self.pings.push_back(PingSample {
            rtt_ms,
            clock_diff_ms,
        });
    }

    fn on_connection_request(&mut self, now: Time, msg: &[u8], ctx: &mut Ctx<'_>) {
        let Ok(req) = ConnectionRequest::decode(msg) else {
            self.phase = Phase::Closed;
            return;
        };
        if req.password != ctx.config.password.as_slice() {
            // RakNet 4 puts a 9-bit frame on the wire here; a full byte plus our GUID is
            // read the same way by every client (docs/protocol.md §5.6, §14 pitfall 7).
            let mut m = Vec::with_capacity(9);
            m.push(id::INVALID_PASSWORD);
            m.extend_from_slice(&ctx.local_guid.to_be_bytes());
            self.refused_password = true;
            self.queue_control(now, &m, Reliability::Reliable);
            self.phase = Phase::Disconnecting;
            self.close_deadline = Some(now + Duration::from_secs(2).min(self.timeout(ctx.config)));
            return;
        }
        // The slot stays keyed by REQUEST_2's GUID (the endpoint's GUID table uses it);
        // a client that names another one in CONNECTION_REQUEST does not change it.
        let internal = internal_addresses(ctx.local_addr);
        let mut m = Vec::with_capacity(200);
        ConnectionRequestAccepted {
            client_addr: self.addr,
            system_index: (self.id.0 & 0xFFFF) as u16,
            internal_addrs: internal,
            request_time: req.time,
            server_time: now.as_millis(),
        }
        .encode(ctx.config.internal_addresses(), &mut m);
        self.queue_control(now, &m, Reliability::ReliableOrdered);
        self.phase = Phase::HandlingConnectionRequest;
    }

    fn on_accepted(&mut self, now: Time, msg: &[u8], ctx: &mut Ctx<'_>) {
        let Ok(acc) = ConnectionRequestAccepted::decode(msg) else {
            return;
        };
        self.add_ping_sample(now, acc.request_time, acc.server_time);
        let mut m = Vec::with_capacity(200);
        NewIncomingConnection {
            server_addr: self.addr,
            internal_addrs: internal_addresses(ctx.local_addr),
            server_time: acc.server_time,
            client_time: now.as_millis(),
        }
        .encode(ctx.config.internal_addresses(), &mut m);
        self.queue_control(now, &m, Reliability::ReliableOrdered);
        self.become_connected(now, ctx);
    }

    fn on_new_incoming(&mut self, now: Time, msg: &[u8], ctx: &mut Ctx<'_>) {
        let Ok(nic) = NewIncomingConnection::decode(msg) else {
            return;
        };
        self.add_ping_sample(now, nic.server_time, nic.client_time);
        self.become_connected(now, ctx);
        for d in std::mem::take(&mut self.early) {
            self.on_delivery(now, d, ctx);
        }
    }

    fn become_connected(&mut self, now: Time, ctx: &mut Ctx<'_>) {
        self.phase = Phase::Connected;
        self.reported = true;
        ctx.events.push_back(Event::Connected {
            conn: self.id,
            addr: self.addr,
            guid: self.remote_guid,
            incoming: self.incoming,
        });
        self.send_ping(now, Reliability::Unreliable);
        if !ctx.config.occasional_ping.is_zero() {
            self.next_occasional_ping = Some(now + ctx.config.occasional_ping);
        }
    }

    fn send_ping(&mut self, now: Time, reliability: Reliability) {
        self.pings_sent += 1;
        let mut m = Vec::with_capacity(9);
        encode_ping(now.as_millis(), &mut m);
        self.queue_control(now, &m, reliability);
    }

    /// Writes the next datagram (ACK, NAK, then data) into `buf`.
    pub(crate) fn poll_transmit(
        &mut self,
        now: Time,
        buf: &mut Vec<u8>,
        ctx: &mut Ctx<'_>,
    ) -> bool {
        if self.phase == Phase::Closed {
            return false;
        }
        let max = self.max_datagram();
        if self.recv.write_ack(now, max, buf) || self.recv.write_nak(now, max, buf) {
            return true;
        }
        if self.phase == Phase::CloseAfterAcks {
            // 4.081 forgets the connection once its ACKs are out (DISCONNECT_ON_NO_ACK);
            // we linger until `close_deadline` instead, still acknowledging, so a lost
            // ACK of the notification is answered when it is resent and the closing side
            // does not wait out its whole timeout.
            return false;
        }
        if self.notify_pending && self.send.is_idle() {
            self.notify_pending = false;
            self.queue_control(
                now,
                &[id::DISCONNECTION_NOTIFICATION],
                Reliability::ReliableOrdered,
            );
            // Its acknowledgement is awaited only briefly: some peers forget the
            // connection as soon as they read the notice and never acknowledge it.
            let wait = self.notice_wait(ctx.config);
            self.close_deadline = min_opt(self.close_deadline, Some(now + wait));
        }
        if self.send.write_datagram(now, buf) {
            self.tick_meter(now);
            return true;
        }
        self.drain_receipts(ctx);
        self.check_closing(ctx);
        false
    }

    /// How long the closing side waits for DISCONNECTION_NOTIFICATION to be acknowledged
    /// once it is sent: four retransmission timeouts of the measured round trip (the
    /// notice is resent after one, then backed off, so with the default `max_rto` of
    /// 2 s at least two copies go out), within `NOTICE_WAIT_MIN..=NOTICE_WAIT_MAX` and
    /// never past the connection timeout.
    /// docs/protocol.md §10.5: 4.081 waits for the ACK without a bound of its own.
    fn notice_wait(&self, config: &Config) -> Duration {
        (self.send.rto() * NOTICE_WAIT_RTOS)
            .clamp(NOTICE_WAIT_MIN, NOTICE_WAIT_MAX)
            .min(self.timeout(config))
    }

    /// How long a connection the remote side closed keeps acknowledging resends of the
    /// notification: half the connection timeout, which covers the closing side's
    /// backed-off retransmissions (capped at the maximum RTO) on a lossy link. A new
    /// connection attempt from the same address replaces a lingering one at once.
    fn linger(&self, config: &Config) -> Duration {
        (self.timeout(config) / 2).max(Duration::from_millis(100))
    }

    /// A repeated OPEN_CONNECTION_REQUEST_2 reached this slot while it still waits for
    /// CONNECTION_REQUEST: the client is alive and still in the offline handshake (our
    /// REPLY_2s were lost), and its own handshake time limit starts only when a REPLY_2
    /// reaches it. Ours restarts too, so the slot waits at least as long as the client
    /// does. 4.081 counts from the slot's allocation, fixed (docs/protocol.md §5.9);
    /// counted so, the slot expired under a client told to go on by a late REPLY_2,
    /// whose CONNECTION_REQUEST resends then went unanswered until it failed with "no
    /// response". A client that keeps repeating REQUEST_2 (it needs a valid cookie, so
    /// a real address) holds the slot no longer than one that connects and idles.
    pub(crate) fn restart_handshake_clock(&mut self, now: Time) {
        if self.phase == Phase::UnverifiedSender {
            self.handshake_start = now;
        }
    }

    /// Closed from the application's point of view, only acknowledging resends; or an
    /// incoming slot that refused the password and is only delivering that answer (the
    /// application never heard of it). A new attempt from the same address or GUID may
    /// replace either: a client retrying with the right password is not refused as
    /// "already connected" meanwhile (RakNet drops such a slot as soon as it has sent
    /// the answer).
    pub(crate) fn is_lingering(&self) -> bool {
        self.phase == Phase::CloseAfterAcks
            || (self.incoming && !self.reported && self.phase == Phase::Disconnecting)
    }

    /// Timers: handshake and dead-connection timeouts, keep-alive, occasional pings,
    /// and the reliability layer's own.
    pub(crate) fn handle_timeout(&mut self, now: Time, ctx: &mut Ctx<'_>) {
        if self.phase == Phase::Closed {
            return;
        }
        self.send.handle_timeout(now);
        self.recv.handle_timeout(now);
        self.drain_receipts(ctx);
        self.tick_meter(now);
        let timeout = self.timeout(ctx.config);
        match self.phase {
            Phase::RequestedConnection
            | Phase::UnverifiedSender
            | Phase::HandlingConnectionRequest => {
                if now >= self.handshake_start + timeout {
                    self.finish(ctx, DisconnectReason::TimedOut, ConnectFailure::NoResponse);
                }
            }
            Phase::Connected => {
                if self.send.has_unacked() && now >= self.last_receive + timeout {
                    self.finish(ctx, DisconnectReason::TimedOut, ConnectFailure::NoResponse);
                    return;
                }
                if now >= self.last_reliable_send + timeout / 2 && self.send.is_idle() {
                    // Quiet for half a timeout: give back what traffic grew first.
                    self.send.trim();
                    self.recv.trim();
                    self.send_ping(now, Reliability::Reliable);
                }
                if let Some(t) = self.next_occasional_ping {
                    if now >= t {
                        self.send_ping(now, Reliability::Unreliable);
                        self.next_occasional_ping = Some(now + ctx.config.occasional_ping);
                    }
                }
            }
            Phase::Disconnecting | Phase::CloseAfterAcks => {
                let lost = self.send.has_unacked() && now >= self.last_receive + timeout;
                if lost || self.close_deadline.is_some_and(|d| now >= d) {
                    let reason = if self.phase == Phase::Disconnecting {
                        DisconnectReason::ClosedLocally
                    } else {
                        DisconnectReason::ClosedByRemote
                    };
                    self.finish(ctx, reason, ConnectFailure::Cancelled);
                }
            }
            Phase::Closed => {}
        }
        self.check_closing(ctx);
    }

    /// Earliest time `handle_timeout` has work.
    pub(crate) fn poll_timeout(&self, config: &Config) -> Option<Time> {
        if self.phase == Phase::Closed {
            return None;
        }
        let timeout = self.timeout(config);
        let mut t = min_opt(self.send.poll_timeout(), self.recv.poll_timeout());
        let own = match self.phase {
            Phase::RequestedConnection
            | Phase::UnverifiedSender
            | Phase::HandlingConnectionRequest => Some(self.handshake_start + timeout),
            Phase::Connected => {
                let dead = self.send.has_unacked().then(|| self.last_receive + timeout);
                let keep_alive = self
                    .send
                    .is_idle()
                    .then(|| self.last_reliable_send + timeout / 2);
                min_opt(min_opt(dead, keep_alive), self.next_occasional_ping)
            }
            Phase::Disconnecting | Phase::CloseAfterAcks => {
                let dead = self.send.has_unacked().then(|| self.last_receive + timeout);
                min_opt(self.close_deadline, dead)
            }
            Phase::Closed => None,
        };
        t = min_opt(t, own);
        t
    }

    /// Nothing queued or unacknowledged.
    pub(crate) fn is_idle(&self) -> bool {
        self.send.is_idle()
    }

    /// Bytes queued or unacknowledged.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.send.buffered_bytes()
    }

    /// Smoothed RTT of the reliability layer.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.send.srtt()
    }

    /// Bytes held for incomplete split messages and out-of-order messages (what the
    /// endpoint's receive budget counts).
    pub(crate) fn held_receive_bytes(&self) -> usize {
        self.recv.held_bytes()
    }

    /// The most `held_receive_bytes` may grow to while the next input is handled.
    pub(crate) fn set_hold_cap(&mut self, cap: usize) {
        self.recv.set_hold_cap(cap);
    }

    /// Frames refused so far for the receive budget.
    pub(crate) fn frames_over_budget(&self) -> u64 {
        self.recv.stats().over_budget
    }

    /// A snapshot of this connection's statistics.
    pub(crate) fn stats(&self, now: Time) -> ConnStats {
        let (s, r) = (self.send.stats(), self.recv.stats());
        let rtts = self.pings.iter().map(|p| p.rtt_ms);
        let [sent_1s, received_1s, resent_1s] = self.meter.last_second(now);
        ConnStats {
            connected_for: now - self.created,
            mtu: self.mtu,
            datagrams_sent: s.datagrams_sent + r.acks_sent + r.naks_sent,
            datagrams_received: r.datagrams_received,
            bytes_sent: s.bytes_sent,
            bytes_received: r.bytes_received,
            messages_sent: s.messages_queued,
            messages_received: r.messages_delivered,
            frames_resent: s.frames_resent,
            bytes_resent: s.bytes_resent,
            duplicates_received: r.duplicates,
            acks_sent: r.acks_sent,
            naks_sent: r.naks_sent,
            unreliable_expired: s.unreliable_expired,
            buffered_bytes: self.send.buffered_bytes(),
            srtt: self.send.srtt(),
            last_ping_ms: self.pings.back().map(|p| p.rtt_ms),
            lowest_ping_ms: rtts.clone().min(),
            average_ping_ms: (!self.pings.is_empty())
                .then(|| rtts.sum::<u64>() / self.pings.len() as u64),
            clock_differential_ms: self.clock_differential(),
            pings_sent: self.pings_sent,
            pongs_received: self.pongs_received,
            messages_in_send_buffer: PRIORITIES.map(|p| self.send.queued(p).0),
            bytes_in_send_buffer: PRIORITIES.map(|p| self.send.queued(p).1),
            messages_in_resend_buffer: self.send.unacked_frames(),
            bytes_in_resend_buffer: self.send.unacked_bytes(),
            congestion_window: self.send.window(),
            congestion_limited: PRIORITIES.iter().any(|&p| self.send.queued(p).0 > 0)
                && self.send.unacked_bytes() >= self.send.window(),
            bytes_sent_last_second: sent_1s,
            bytes_received_last_second: received_1s,
            bytes_resent_last_second: resent_1s,
            packet_loss_last_second: ratio(resent_1s, sent_1s),
            packet_loss_total: ratio(s.bytes_resent, s.bytes_sent),
            secure: self.secure.is_some(),
            remote_key: self
                .secure
                .as_ref()
                .and_then(|l| l.session.remote_key().copied()),
            datagrams_forged: self.secure.as_ref().map_or(0, |l| l.forged),
            datagrams_replayed: self.secure.as_ref().map_or(0, |l| l.replayed),
            receive_held_bytes: self.recv.held_bytes(),
            frames_over_receive_budget: r.over_budget,
        }
    }
}

fn min_opt(a: Option<Time>, b: Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The internal address list we advertise: our bound address when it is specific.
fn internal_addresses(local: SocketAddr) -> Vec<SocketAddr> {
    if local.ip().is_unspecified() {
        Vec::new()
    } else {
        vec![local]
    }
}
