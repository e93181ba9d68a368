//! The network thread's loop (STYLE §4): it owns the socket and the `Endpoint` and moves
//! bytes, commands, events and deadlines between them and the shared queues.
//!
//! One pass: drain commands (bounded) into the endpoint; read datagrams until the socket
//! would block (bounded); run timers that are due; send every datagram the endpoint
//! produces; publish its events (updating the registry first); sleep in `wake.rs` until
//! the next deadline, a datagram, or an application wakeup. It makes no protocol
//! decisions: the only events it creates itself stand in for core refusals that would
//! otherwise leave the application waiting (a refused connect becomes `ConnectFailed`,
//! a refused send with a receipt becomes a lost receipt). Each pass runs under
//! `catch_unwind`; a panic marks the peer failed and ends the thread.

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::clock;
use super::peer::PeerEvent;
use super::queues::{Command, EventOutbox};
use super::shared::{Shared, Stop};
use super::socket::{Recv, Sent, Socket};
use super::wake::Interest;
use crate::proto::{ConnectError, ConnectFailure, Endpoint, Event, SendError, Time};

/// Commands applied per pass, so a flood of sends cannot starve the socket.
const COMMANDS_PER_PASS: usize = 4096;
/// Datagrams read per pass, so a flood of traffic cannot starve timers and sends.
const DATAGRAMS_PER_PASS: usize = 1024;
/// Receive buffer: the largest UDP payload, so nothing is ever truncated.
const RECV_BUFFER: usize = 65_536;

/// Whether the loop goes on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// The network thread's state.
pub(crate) struct NetThread {
    shared: Arc<Shared>,
    endpoint: Endpoint,
    socket: Socket,
    outbox: EventOutbox,
    recv_buf: Vec<u8>,
    send_buf: Vec<u8>,
    /// The datagram in `send_buf` could not be sent (socket buffer full); retry first.
    blocked_send: Option<SocketAddr>,
    /// A send the core refused for a full send buffer: retried before anything else, and
    /// no further commands are taken until it goes through. Reliable data is never
    /// dropped for lack of room; the command queue fills up instead (QueueFull).
    stalled: Option<Command>,
    /// A flushing shutdown has closed every connection.
    flushing: bool,
}

impl NetThread {
    /// Wraps an endpoint and its socket.
    pub(crate) fn new(shared: Arc<Shared>, endpoint: Endpoint, socket: Socket) -> NetThread {
        NetThread {
            shared,
            endpoint,
            socket,
            outbox: EventOutbox::default(),
            recv_buf: vec![0; RECV_BUFFER],
            send_buf: Vec::with_capacity(2048),
            blocked_send: None,
            stalled: None,
            flushing: false,
        }
    }

    /// Runs the loop until a stop request is honoured or a pass panics.
    pub(crate) fn run(mut self) {
        let shared = self.shared.clone();
        loop {
            match catch_unwind(AssertUnwindSafe(|| self.pass())) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => break,
                Err(_) => {
                    shared.fail();
                    break;
                }
            }
        }
        // Tearing down the endpoint after a panic could panic again; the peer is already
        // failed or stopping, so swallow it rather than lose the thread's exit.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(self)));
    }

    fn pass(&mut self) -> Flow {
        let stop = self.shared.stop();
        if stop == Stop::Now {
            return Flow::Stop;
        }
        self.run_commands(clock::now());
        if let Stop::Flush(_) = stop {
            if !self.flushing && self.shared.commands.is_empty() {
                self.begin_flush(clock::now());
            }
        }
        if self.reading() {
            self.receive();
        }
        let now = clock::now();
        if self.endpoint.poll_timeout().is_some_and(|t| t <= now) {
            self.endpoint.handle_timeout(now);
        }
        self.transmit(now);
        self.collect_events(now);
        self.outbox.publish(&self.shared.events);

        let mut deadline = self.endpoint.poll_timeout();
        if let Stop::Flush(flush_deadline) = stop {
            if now >= flush_deadline || (self.flushing && self.endpoint.is_idle()) {
                return Flow::Stop;
            }
            deadline = Some(deadline.map_or(flush_deadline, |d| d.min(flush_deadline)));
        }
        self.sleep(deadline);
        Flow::Continue
    }

    /// Reading pauses while the application leaves a queue's worth of events unread.
    fn reading(&self) -> bool {
        self.outbox.len() < self.shared.events.capacity()
    }

    fn run_commands(&mut self, now: Time) {
        if let Some(cmd) = self.stalled.take() {
            if let Err(cmd) = self.apply(now, cmd) {
                self.stalled = Some(cmd);
                return;
            }
        }
        for _ in 0..COMMANDS_PER_PASS {
            let Some(cmd) = self.shared.commands.pop() else {
                break;
            };
            if let Err(cmd) = self.apply(now, cmd) {
                self.stalled = Some(cmd);
                break;
            }
        }
    }

    /// Applies one command; hands it back if it must wait for room.
    fn apply(&mut self, now: Time, cmd: Command) -> Result<(), Command> {
        match cmd {
            Command::Connect {
                conn,
                addr,
                password,
            } => {
                if let Err(e) = self.endpoint.connect(now, conn, addr, &password) {
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
            } => match self
                .endpoint
                .send_with_receipt(now, conn, &data, opts, receipt)
            {
                Ok(()) => {}
                Err(SendError::BufferFull) => {
                    return Err(Command::Send {
                        conn,
                        data,
                        opts,
                        receipt,
                    })
                }
                Err(_) => {
                    if opts.reliability.has_receipt() {
                        self.deliver(Event::Receipt {
                            conn,
                            receipt,
                            acked: false,
                        });
                    }
                }
            },
            Command::Close { conn, notify } => {
                let _ = self.endpoint.close(now, conn, notify);
            }
            Command::Ping {
                addr,
                open_connections_only,
            } => self.endpoint.ping(now, addr, open_connections_only),
            Command::SetOfflineData(data) => self.endpoint.set_offline_data(&data),
            Command::SetMaxIncoming(max) => self.endpoint.set_max_incoming(max),
            Command::InjectPanic => panic!("panic injected by Peer::inject_panic"),
        }
        Ok(())
    }

    /// Closes every connection with notification (RakNet's `Shutdown(>0)`).
    fn begin_flush(&mut self, now: Time) {
        self.flushing = true;
        self.stalled = None;
        for conn in self.shared.registry.open_ids() {
            let _ = self.endpoint.close(now, conn, true);
        }
    }

    fn receive(&mut self) {
        for _ in 0..DATAGRAMS_PER_PASS {
            match self.socket.recv(&mut self.recv_buf) {
                Recv::Datagram { len, from } => {
                    let bytes = self.recv_buf.get(..len).unwrap_or_default();
                    self.endpoint.handle_datagram(clock::now(), from, bytes);
                }
                Recv::Skipped => {}
                Recv::Empty => break,
            }
        }
    }

    fn transmit(&mut self, now: Time) {
        if self.shared.stop() == Stop::Now {
            // Shutdown(0) asked mid-pass: not one more datagram.
            return;
        }
        if let Some(to) = self.blocked_send {
            if self.socket.send(&self.send_buf, to) == Sent::WouldBlock {
                return;
            }
            self.blocked_send = None;
        }
        while let Some(t) = self.endpoint.poll_transmit(now, &mut self.send_buf) {
            if self.socket.send(&self.send_buf, t.destination) == Sent::WouldBlock {
                self.blocked_send = Some(t.destination);
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
                }
                Event::Message { .. } | Event::Receipt { .. } | Event::Pong { .. } => {}
            }
            self.deliver(ev);
        }
    }

    fn deliver(&mut self, ev: Event) {
        self.outbox.deliver(&self.shared.events, PeerEvent::Net(ev));
    }

    fn sleep(&mut self, deadline: Option<Time>) {
        let now = clock::now();
        let timeout = deadline.map(|d| d - now);
        let interest = Interest {
            read: self.reading(),
            write: self.blocked_send.is_some(),
        };
        let shared = &self.shared;
        let stalled = self.stalled.is_some();
        let flushing = self.flushing;
        let backlog = !self.outbox.is_empty();
        // Every condition an application thread calls `wake` for.
        let has_work = || {
            (!stalled && !shared.commands.is_empty())
                || (backlog && !shared.events.is_full())
                || match shared.stop() {
                    Stop::No => false,
                    Stop::Flush(_) => !flushing,
                    Stop::Now => true,
                }
        };
        shared
            .waker
            .sleep(Some(self.socket.raw_fd()), interest, timeout, has_work);
    }
}
