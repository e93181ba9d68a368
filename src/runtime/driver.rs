//! One pass of the runtime (STYLE §4): the [`Driver`] owns the `Endpoint` and what sits
//! between it and the socket, and moves bytes, commands, events and deadlines between
//! them and the shared queues. It knows nothing of which thread runs it: the network
//! thread's loop (`thread.rs`) runs whole passes and sleeps on their plan; an
//! application thread (`peer/caller.rs`) may run part of a pass while that thread sleeps.
//!
//! A whole pass: drain commands (bounded) into the endpoint; read datagrams until the
//! socket would block (bounded); run timers that are due; send every datagram the
//! endpoint produces; publish its events (updating the registry first); and return the
//! plan of the sleep that should follow (the next deadline, the socket interest). It
//! makes no protocol decisions: the only events it creates itself stand in for core
//! refusals that would otherwise leave the application waiting (a refused connect
//! becomes `ConnectFailed`, a refused send with a receipt becomes a lost receipt).
//!
//! A send is never held back: `Peer::send` refuses it synchronously when its
//! connection's send budget is spent (`budget.rs`), and the rare send the core refuses
//! anyway for a full buffer is dropped and reported (a lost receipt for the receipt
//! kinds, `RuntimeStats::sends_dropped` always), so one slow connection cannot block
//! the command queue for the others. With the network simulator on (`netsim.rs`),
//! datagrams pass through its delay queues between the endpoint and the socket, and
//! their due times join the sleep deadline.
//!
//! Log messages (`log.rs`) are produced here, from the events and counters the core
//! reports: connection lifecycle, ban changes, rate-limited summaries of refusals and
//! dropped traffic.
//!
//! Partial passes (`serve_commands`, `serve_socket`) run on borrowed time, while the
//! plan of the last whole pass stands. They compare the new plan with it ([`Retune`]):
//! a deadline earlier than the planned one asks for a timer (`Waker::wake_at`: it fires
//! when that is due, typically never, as the acknowledgement arrives first), other
//! socket conditions or a new backlog ask for a wakeup at once. Their log lines are
//! queued in `Shared::deferred_logs` and written by the next whole pass, so the log
//! callback runs only where whole passes run.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::Mutex;

use super::budget::SendTracker;
use super::clock;
use super::log::{log, log_event, Logger, TrafficSummary};
use super::netsim::{Link, SimConfig};
use super::queues::{Answer, Command, EventOutbox, Query};
use super::shared::{Shared, Stop};
use super::sys::{Recv, RecvBatch, SendBatch, Sent, Socket, RECV_SLOT};
use super::types::PeerEvent;
use super::wake::Interest;
use crate::proto::{ConnectError, ConnectFailure, Endpoint, Event, SendError, Time};

/// Commands applied per pass, so a flood of sends cannot starve the socket.
const COMMANDS_PER_PASS: usize = 4096;
/// Datagrams read per pass, so a flood of traffic cannot starve timers and sends.
const DATAGRAMS_PER_PASS: usize = 1024;

/// Everything a pass needs: the endpoint, the socket and what sits between them.
pub(crate) struct Driver {
    shared: Arc<Shared>,
    endpoint: Endpoint,
    socket: Arc<Socket>,
    outbox: EventOutbox,
    /// Datagrams of the last receive call.
    recv: RecvBatch,
    /// Datagrams on their way to the socket, sent a batch per call.
    out: SendBatch,
    /// One outgoing datagram on its way into the network simulator.
    send_buf: Vec<u8>,
    /// Where the first datagram of `out` goes while the socket refuses it (buffer
    /// full): the batch waits, in order, for the socket to become writable.
    blocked_send: Option<SocketAddr>,
    /// Keeps the send budgets of `Shared` in step with the endpoint.
    sends: SendTracker,
    /// Network simulator, outgoing direction (`None` = off: straight to the socket).
    sim_out: Option<Box<Link>>,
    /// Network simulator, incoming direction (`None` = off: straight to the endpoint).
    sim_in: Option<Box<Link>>,
    /// Seeds the simulator's links.
    sim_seed: u64,
    /// The socket refused a datagram due out of `sim_out`; wait until writable.
    sim_blocked: bool,
    /// A flushing shutdown has closed every connection.
    flushing: bool,
    /// The application's log sink.
    log: Logger,
    /// Rate limiter of the refusal and dropped-traffic log lines.
    summary: TrafficSummary,
    /// When a held-back summary may be logged (joins the sleep deadline).
    summary_due: Option<Time>,
    /// The logger that `log` is swapped with while a partial pass (`serve_*`) runs:
    /// the application's sink or the deferring one (`Logger::deferred_to`).
    other_log: Logger,
    /// The plan of the last whole pass, slept on until the next (`None` during one).
    announced: Option<Plan>,
    /// When the wake-up timer a partial pass asked for expires (`Retune::At`).
    timer_armed: Option<Time>,
}

/// The driver behind its lock, held by the peer and its network thread (not by
/// `Shared`, which the driver itself holds): locked by the network thread for each
/// whole pass, and by application threads that run part of one. `None` before the
/// thread has built the driver and after it has torn it down.
pub(crate) type DriverSlot = Arc<Mutex<Option<Driver>>>;

/// What the sleeper on the last whole pass's plan needs after a partial pass.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Retune {
    /// Nothing: its plan still holds, or it is running and will plan afresh.
    No,
    /// To be awake by this time (an earlier deadline than it sleeps until).
    At(Time),
    /// To wake now (other socket interest, a new backlog, log lines to write).
    Now,
}

/// What to sleep on after a whole pass, until the next one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The earliest deadline (timers, simulator, log summary, flush).
    pub(crate) deadline: Option<Time>,
    /// What to wait for on the socket.
    pub(crate) interest: Interest,
    /// Events wait in the outbox for room in the queue.
    pub(crate) backlog: bool,
    /// A flushing shutdown has begun.
    pub(crate) flushing: bool,
}

/// The outcome of a whole pass.
pub(crate) enum Pass {
    /// Sleep on this plan, then run the next pass.
    Sleep(Plan),
    /// The stop request is honoured: run no more passes.
    Stop,
}

impl Driver {
    /// Wraps an endpoint and its socket.
    pub(crate) fn new(shared: Arc<Shared>, endpoint: Endpoint, socket: Arc<Socket>) -> Driver {
        Driver {
            shared,
            endpoint,
            socket,
            outbox: EventOutbox::default(),
            recv: RecvBatch::new(RECV_SLOT),
            out: SendBatch::default(),
            send_buf: Vec::with_capacity(2048),
            blocked_send: None,
            sends: SendTracker::default(),
            sim_out: None,
            sim_in: None,
            sim_seed: 0,
            sim_blocked: false,
            flushing: false,
            log: Logger::default(),
            summary: TrafficSummary::new(),
            summary_due: None,
            other_log: Logger::default(),
            announced: None,
            timer_armed: None,
        }
    }

    /// Sends log messages to `log` (partial passes queue theirs in
    /// `Shared::deferred_logs`, for the next whole pass to write).
    pub(crate) fn with_logger(mut self, log: Logger) -> Driver {
        self.other_log = log.deferred_to(self.shared.deferred_logs.clone());
        self.log = log;
        self
    }

    /// Starts with the network simulator set to `outgoing` and `incoming` (either may be
    /// off), its random choices seeded from `seed`.
    pub(crate) fn with_simulator(
        mut self,
        outgoing: &SimConfig,
        incoming: &SimConfig,
        seed: u64,
    ) -> Driver {
        self.sim_seed = seed;
        self.set_simulator(Some(outgoing), Some(incoming));
        self
    }

    /// Changes the simulator's model of a direction (`None` leaves it as it is). A
    /// direction switched off keeps delivering what it holds at the due times.
    fn set_simulator(&mut self, outgoing: Option<&SimConfig>, incoming: Option<&SimConfig>) {
        // Distinct streams per direction (golden-ratio increments, as SplitMix64 uses).
        let seeds = [
            self.sim_seed ^ 0x9E37_79B9_7F4A_7C15,
            self.sim_seed ^ 0x3C6E_F372_FE94_F82A,
        ];
        for ((link, config), seed) in [(&mut self.sim_out, outgoing), (&mut self.sim_in, incoming)]
            .into_iter()
            .zip(seeds)
        {
            let Some(config) = config else { continue };
            match link {
                Some(l) => l.set_config(config),
                None => *link = Link::new(config, seed),
            }
        }
    }

    /// The socket the driver reads and writes.
    pub(crate) fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The endpoint's GUID.
    pub(crate) fn guid(&self) -> u64 {
        self.endpoint.guid()
    }

    /// The sink of the passes that write their log lines themselves (`pass`).
    pub(crate) fn logger(&self) -> &Logger {
        &self.log
    }

    /// A whole pass: everything that is due, then the plan of the sleep that should
    /// follow (recorded in `announced`), or `Stop`. Its caller owns the log sink: the
    /// lines that borrowed passes (`serve_*`) queued are written here first.
    pub(crate) fn pass(&mut self) -> Pass {
        self.announced = None;
        self.shared.retune.store(false, Ordering::Relaxed);
        // A timer that has fired, or that was never armed because the system layer has
        // none (every platform but Linux) and the thread was woken at once instead: a
        // stale record would make later partial passes count on a wakeup that never
        // comes, and the thread would sleep through their deadlines.
        let missing = self.shared.waker.take_timer_missing();
        if missing || self.timer_armed.is_some_and(|t| t <= clock::now()) {
            self.timer_armed = None;
        }
        forward_logs(&self.shared, &self.log);
        let stop = self.shared.stop();
        if stop == Stop::Now {
            return Pass::Stop;
        }
        self.run_commands(clock::now());
        if let Stop::Flush(_) = stop {
            if !self.flushing && self.shared.commands.is_empty() {
                self.begin_flush(clock::now());
            }
        }
        let now = self.take_in();
        self.send_out(now);
        self.summary_due = self.summary.update(&self.log, now, self.endpoint.stats());

        let mut plan = self.plan();
        if let Stop::Flush(flush_deadline) = stop {
            let sim_idle = self.sim_out.as_ref().map_or(true, |l| l.is_empty());
            if now >= flush_deadline || (self.flushing && self.endpoint.is_idle() && sim_idle) {
                return Pass::Stop;
            }
            plan.deadline = Some(
                plan.deadline
                    .map_or(flush_deadline, |d| d.min(flush_deadline)),
            );
        }
        self.announced = Some(plan);
        Pass::Sleep(plan)
    }

    /// What to sleep on until the next whole pass, as things stand.
    fn plan(&self) -> Plan {
        let mut deadline = self.endpoint.poll_timeout();
        if let Some(due) = self.summary_due {
            deadline = Some(deadline.map_or(due, |d| d.min(due)));
        }
        if self.sim_out.is_some() || self.sim_in.is_some() {
            deadline = self.sim_deadline(deadline);
        }
        Plan {
            deadline,
            interest: Interest {
                read: self.reading(),
                write: self.blocked_send.is_some() || self.sim_blocked,
            },
            backlog: !self.outbox.is_empty(),
            flushing: self.flushing,
        }
    }

    /// A partial pass, between whole ones while the peer runs normally: applies the
    /// queued commands and sends what they produced, as the next whole pass would.
    /// Returns what the sleeper on the last plan needs to re-plan.
    pub(crate) fn serve_commands(&mut self) -> Retune {
        std::mem::swap(&mut self.log, &mut self.other_log);
        let now = clock::now();
        self.run_commands(now);
        self.finish_served(now)
    }

    /// A partial pass, between whole ones while the peer runs normally (for a poller
    /// of the socket such as `Peer::wait_event`): reads and handles what arrived and
    /// what is due, publishes the events, sends the answers. Returns what the sleeper
    /// on the last plan needs to re-plan.
    pub(crate) fn serve_socket(&mut self) -> Retune {
        std::mem::swap(&mut self.log, &mut self.other_log);
        let now = self.take_in();
        self.finish_served(now)
    }

    /// Reads the socket (unless reading is paused), runs the timers that are due and
    /// publishes the resulting events: what arrived reaches the application before any
    /// time goes into the acknowledgements and other datagrams to send. Returns the
    /// time it used.
    fn take_in(&mut self) -> Time {
        if self.reading() {
            self.receive();
        }
        let now = clock::now();
        if self.endpoint.poll_timeout().is_some_and(|t| t <= now) {
            self.endpoint.handle_timeout(now);
        }
        self.collect_events(now);
        self.outbox.publish(&self.shared.events);
        now
    }

    /// Sends what the endpoint has, then publishes the events and send budgets.
    fn send_out(&mut self, now: Time) {
        self.transmit(now);
        self.collect_events(now);
        self.sends.publish(&self.endpoint);
        self.outbox.publish(&self.shared.events);
    }

    /// The end of `serve_*` (which swapped the loggers).
    fn finish_served(&mut self, now: Time) -> Retune {
        self.send_out(now);
        // Summaries of dropped or refused traffic, queued for the next whole pass.
        self.summary_due = self.summary.update(&self.log, now, self.endpoint.stats());
        std::mem::swap(&mut self.log, &mut self.other_log);
        let Some(announced) = self.announced else {
            return Retune::No;
        };
        let plan = self.plan();
        if plan.interest != announced.interest
            || (plan.backlog && !announced.backlog)
            || !self.shared.deferred_logs.is_empty()
        {
            return Retune::Now;
        }
        let Some(due) = plan.deadline else {
            return Retune::No;
        };
        // Awake by then already: its own deadline or a timer armed earlier.
        let covered = [announced.deadline, self.timer_armed]
            .into_iter()
            .flatten()
            .min();
        if covered.is_some_and(|c| c <= due) {
            return Retune::No;
        }
        self.timer_armed = Some(due);
        Retune::At(due)
    }

    /// Reading pauses while the application leaves a queue's worth of events unread.
    fn reading(&self) -> bool {
        self.outbox.len() < self.shared.events.capacity()
    }

    fn run_commands(&mut self, now: Time) {
        for _ in 0..COMMANDS_PER_PASS {
            let Some(cmd) = self.shared.commands.pop() else {
                break;
            };
            self.apply(now, cmd);
        }
    }

    /// Applies one command.
    fn apply(&mut self, now: Time, cmd: Command) {
        match cmd {
            Command::Connect {
                conn,
                addr,
                password,
                opts,
            } => {
                if let Err(e) = self
                    .endpoint
                    .connect_with(now, conn, addr, &password, *opts)
                {
                    self.shared.registry.remove(conn);
                    let reason = match e {
                        ConnectError::AlreadyConnected => ConnectFailure::AlreadyConnected,
                        ConnectError::InvalidId | ConnectError::InvalidAddress => {
                            ConnectFailure::NoResponse
                        }
                    };
                    self.deliver(Event::ConnectFailed { conn, addr, reason });
                }
            }
            Command::Send {
                conn,
                data,
                opts,
                receipt,
            } => {
                self.sends.taken(conn, data.len());
                let sent = self
                    .endpoint
                    .send_with_receipt(now, conn, &data, opts, receipt);
                if sent == Err(SendError::BufferFull) {
                    // The budget let it through but the core's internal messages took
                    // the room meanwhile (budget.rs): drop it rather than block others.
                    self.shared.sends_dropped.fetch_add(1, Ordering::Relaxed);
                }
                if sent.is_err() && opts.reliability.has_receipt() {
                    self.deliver(Event::Receipt {
                        conn,
                        receipt,
                        acked: false,
                    });
                }
            }
            Command::Close { conn, notify } => {
                let _ = self.endpoint.close(now, conn, notify);
            }
            Command::Ping {
                addr,
                open_connections_only,
            } => self.endpoint.ping(now, addr, open_connections_only),
            Command::SetOfflineData(data) => self.endpoint.set_offline_data(&data),
            Command::SetMaxIncoming(max) => self.endpoint.set_max_incoming(max),
            Command::SetSimulator(models) => {
                let (outgoing, incoming) = *models;
                self.set_simulator(outgoing.as_ref(), incoming.as_ref());
            }
            Command::Ban { pattern, duration } => {
                match self.endpoint.add_ban(now, &pattern, duration) {
                    Ok(()) => log!(self.log, Debug, "banned {pattern} for {duration:?}"),
                    Err(e) => log!(self.log, Warn, "ban of {pattern} refused: {e}"),
                }
            }
            Command::Unban(pattern) => {
                let was = self.endpoint.remove_ban(&pattern);
                log!(self.log, Debug, "unbanned {pattern} (was banned: {was})");
            }
            Command::ClearBans => {
                self.endpoint.clear_bans();
                log!(self.log, Debug, "ban list cleared");
            }
            Command::SetConnTimeout { conn, timeout } => {
                let _ = self.endpoint.set_conn_timeout(now, conn, timeout);
            }
            Command::Advertise { addr, data } => {
                let _ = self.endpoint.advertise(now, addr, &data);
            }
            Command::Query { query, reply } => {
                let answer = match query {
                    Query::ConnStats(conn) => {
                        Answer::ConnStats(self.endpoint.conn_stats(now, conn).map(Box::new))
                    }
                    Query::EndpointStats => Answer::EndpointStats(
                        Box::new(self.endpoint.stats().clone()),
                        self.endpoint.connection_count(),
                    ),
                };
                // The asker may have given up (its peer failed meanwhile): nothing to do.
                let _ = reply.try_send(answer);
            }
            Command::InjectPanic => panic!("panic injected by Peer::inject_panic"),
        }
    }

    /// Closes every connection with notification (RakNet's `Shutdown(>0)`).
    fn begin_flush(&mut self, now: Time) {
        self.flushing = true;
        for conn in self.shared.registry.open_ids() {
            let _ = self.endpoint.close(now, conn, true);
        }
    }

    fn receive(&mut self) {
        let mut read = 0;
        while read < DATAGRAMS_PER_PASS {
            match self.socket.recv_batch(&mut self.recv) {
                Recv::Datagram { .. } => {}
                Recv::Skipped => {
                    read += 1;
                    continue;
                }
                Recv::Empty => break,
            }
            let now = clock::now();
            let n = self.recv.len();
            for (from, bytes) in self.recv.datagrams() {
                read += 1;
                match &mut self.sim_in {
                    None => self.endpoint.handle_datagram(now, from, bytes),
                    Some(link) => link.submit(now, from, bytes, &self.shared.sim_in),
                }
            }
            if n < self.recv.capacity() {
                // The socket had no more: spare the call that would say so.
                break;
            }
        }
        if self.sim_in.is_some() {
            self.receive_simulated();
        }
    }

    /// Hands the endpoint the simulated incoming datagrams that are due.
    fn receive_simulated(&mut self) {
        let Some(link) = &mut self.sim_in else { return };
        let now = clock::now();
        while let Some((from, bytes)) = link.peek_due(now) {
            self.endpoint.handle_datagram(now, from, bytes);
            link.pop_delivered(&self.shared.sim_in);
        }
        if link.is_finished() {
            self.sim_in = None;
        }
    }

    /// Sends the simulated outgoing datagrams that are due, until the socket is full.
    fn transmit_simulated(&mut self, now: Time) {
        let Some(link) = &mut self.sim_out else {
            return;
        };
        self.sim_blocked = false;
        while let Some((to, bytes)) = link.peek_due(now) {
            if self.socket.send(bytes, to) == Sent::WouldBlock {
                self.sim_blocked = true;
                return;
            }
            link.pop_delivered(&self.shared.sim_out);
        }
        if link.is_finished() {
            self.sim_out = None;
        }
    }

    /// `deadline` or the simulator's next due datagram, whichever is first. A direction
    /// that cannot move (socket full, reading paused) does not count.
    fn sim_deadline(&self, deadline: Option<Time>) -> Option<Time> {
        let out = self
            .sim_out
            .as_ref()
            .filter(|_| !self.sim_blocked)
            .and_then(|l| l.next_due());
        let inc = self
            .sim_in
            .as_ref()
            .filter(|_| self.reading())
            .and_then(|l| l.next_due());
        [deadline, out, inc].into_iter().flatten().min()
    }

    fn transmit(&mut self, now: Time) {
        if self.shared.stop() == Stop::Now {
            // Shutdown(0) asked mid-pass: not one more datagram.
            return;
        }
        if self.out.pending() > 0 {
            if self.socket.send_batch(&mut self.out) == Sent::WouldBlock {
                return;
            }
            self.blocked_send = None;
        }
        if let Some(link) = &mut self.sim_out {
            while let Some(t) = self.endpoint.poll_transmit(now, &mut self.send_buf) {
                link.submit(now, t.destination, &self.send_buf, &self.shared.sim_out);
            }
            self.transmit_simulated(now);
            return;
        }
        loop {
            while let Some(buf) = self.out.slot() {
                let Some(t) = self.endpoint.poll_transmit(now, buf) else {
                    break;
                };
                self.out.push(t.destination);
            }
            if self.out.pending() == 0 {
                return;
            }
            let full = self.out.is_full();
            if self.socket.send_batch(&mut self.out) == Sent::WouldBlock {
                self.blocked_send = self.out.next_destination();
                return;
            }
            if !full {
                return;
            }
        }
    }

    fn collect_events(&mut self, now: Time) {
        while let Some(ev) = self.endpoint.poll_event() {
            match ev {
                Event::Connected {
                    conn,
                    addr,
                    guid,
                    incoming,
                } => {
                    let cap = self.endpoint.config().reliability.max_send_buffer_bytes;
                    self.sends.open(&self.shared.budgets, conn, cap);
                    self.shared
                        .registry
                        .set_connected(conn, addr, guid, incoming);
                    if self.flushing {
                        // Arrived during a flushing shutdown: close it like the rest.
                        let _ = self.endpoint.close(now, conn, true);
                    }
                }
                Event::ConnectFailed { conn, .. } | Event::Disconnected { conn, .. } => {
                    self.shared.registry.remove(conn);
                    self.sends.close(&self.shared.budgets, conn);
                }
                Event::Message { .. }
                | Event::Receipt { .. }
                | Event::Pong { .. }
                | Event::Advertise { .. }
                | Event::SecurityAlert { .. } => {}
            }
            self.deliver(ev);
        }
    }

    fn deliver(&mut self, ev: Event) {
        log_event(&self.log, &ev);
        self.outbox.deliver(&self.shared.events, PeerEvent::Net(ev));
    }
}

/// Writes the log lines queued by partial passes.
pub(crate) fn forward_logs(shared: &Shared, log: &Logger) {
    while let Some((level, text)) = shared.deferred_logs.pop() {
        log.forward(level, &text);
    }
}
