//! `Peer`: the application's handle on one network thread.
//!
//! Every call here is cheap and never blocks on the network thread (except `wait_event`,
//! which blocks by request, and `shutdown`). Calls check what they can synchronously
//! against the connection registry and the configuration, then queue a command and wake
//! the thread (`wake.rs`). What the protocol core refuses later is not reported back,
//! except where the application would otherwise wait forever (see `driver.rs`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::budget::Refused;
use super::clock;
use super::driver::{Driver, DriverSlot};
use super::log::{install_quiet_hook, quietly, Logger};
use super::netsim::{SimConfig, SimStats};
use super::pool::{self, PooledBuf};
use super::queues::Command;
use super::shared::{Shared, Stop};
use super::sys::{BindOptions, Socket};
use super::thread::NetThread;
use super::types::{ConnInfo, ConnState, PeerEvent};
use crate::proto::config::{MAX_OFFLINE_DATA, MAX_PASSWORD};
use crate::proto::{self, ConnId, ConnectError, ConnectOptions, Endpoint, Receipt, SendOptions};

mod caller;
mod manage;

/// Longest ADVERTISE_SYSTEM payload `Peer::advertise` accepts (the core's limit).
pub const MAX_ADVERTISE_DATA: usize = MAX_OFFLINE_DATA - 1;

/// Configuration of a peer.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// Address to bind (port 0 = any free port). Default `0.0.0.0:0`. An IPv6 address
    /// (`[::]:P`) makes a dual-stack socket unless `ipv6_only` is set.
    pub bind: SocketAddr,
    /// With an IPv6 `bind`: refuse IPv4 (`IPV6_V6ONLY`). Default false (dual-stack),
    /// whatever the system's default is.
    pub ipv6_only: bool,
    /// `SO_REUSEADDR`: several peers (processes) with this set may bind the same port,
    /// and each receives broadcasts to it (LAN discovery of several servers on one
    /// machine). Unicast datagrams reach only one of them. Default false.
    pub reuse_address: bool,
    /// Where the peer's log messages go (default: nowhere). Called on the network thread.
    pub log: Logger,
    /// Protocol configuration.
    pub proto: proto::Config,
    /// Capacity of the application → network command queue.
    pub command_queue: usize,
    /// Capacity of the network → application event queue.
    pub event_queue: usize,
    /// Name of the network thread.
    pub thread_name: String,
    /// Network simulator applied to datagrams leaving this peer (off by default). Its
    /// random choices are seeded from `proto.seed`: set that for a repeatable pattern.
    pub sim_outgoing: SimConfig,
    /// Network simulator applied to datagrams arriving at this peer (off by default).
    pub sim_incoming: SimConfig,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            bind: SocketAddr::from(([0, 0, 0, 0], 0)),
            ipv6_only: false,
            reuse_address: false,
            log: Logger::default(),
            proto: proto::Config::default(),
            command_queue: 65_536,
            event_queue: 65_536,
            thread_name: "raknet-net".into(),
            sim_outgoing: SimConfig::OFF,
            sim_incoming: SimConfig::OFF,
        }
    }
}

/// Counters of a peer's runtime, since it started.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Sends that `send` accepted but the core then refused for a full send buffer
    /// (its internal messages took the last room meanwhile), and that were dropped.
    /// Those with a receipt kind also produced a `Receipt { acked: false }` event.
    pub sends_dropped: u64,
    /// Network simulator, datagrams leaving the peer.
    pub sim_outgoing: SimStats,
    /// Network simulator, datagrams arriving at the peer.
    pub sim_incoming: SimStats,
    /// Sends applied and handed to the socket by the sending thread (`send`).
    pub sends_on_caller: u64,
    /// Receive passes run by a thread waiting in `wait_event` (Linux).
    pub receives_on_caller: u64,
    /// Times such a pass woke the network thread to re-plan its sleep.
    pub network_thread_retunes: u64,
}

/// What went wrong in a `Peer` call.
#[derive(Debug)]
pub enum PeerError {
    /// Binding or configuring the socket failed.
    Io(std::io::Error),
    /// The command queue is full; retry later.
    QueueFull,
    /// No such connection (closed, failed, or never existed).
    StaleConnection,
    /// The connection exists but is not connected yet (or is closing).
    NotConnected,
    /// An argument is out of range.
    InvalidArgument,
    /// The protocol core refused the send.
    Send(proto::SendError),
    /// The protocol core refused the connect.
    Connect(proto::ConnectError),
    /// The network thread failed (panicked); the peer is unusable.
    Failed,
}

/// One RakNet peer: a UDP socket and the network thread that owns it.
///
/// `Send + Sync`: every method but `shutdown` may be called from any thread at once.
/// Dropping a peer that was not shut down runs `shutdown(Duration::from_millis(500))`.
pub struct Peer {
    shared: Arc<Shared>,
    /// The network thread's driver, which application threads lock to run part of a
    /// pass themselves (`peer/caller.rs`).
    driver: DriverSlot,
    /// The socket, shared with the network thread's `Driver`: an application thread
    /// in `wait_event` polls it and names it to the epoll set, so it must stay open
    /// (its descriptor number not reused) until the peer itself goes, even when the
    /// network thread has already ended and dropped its state.
    socket: Arc<Socket>,
    thread: Option<JoinHandle<()>>,
    local_addr: SocketAddr,
    ipv6_only: bool,
    guid: u64,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("local_addr", &self.local_addr)
            .field("guid", &self.guid)
            .field("running", &self.thread.is_some())
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// Binds the socket and starts the network thread.
    ///
    /// If `config.proto.guid` is 0, a GUID is drawn from the operating system's random
    /// source (and, unless the caller changed it from the default, a random `seed` is
    /// chosen for the simulator). The cookie secret, unless the caller set one, is drawn
    /// from that source too, whatever the GUID and seed. Fails with `Io` if the socket,
    /// the random source or the thread fails, `InvalidArgument` for an over-long password
    /// or offline data or an invalid simulator setting (`SimConfig::is_valid`), `Failed`
    /// if the protocol core cannot be built.
    pub fn start(config: PeerConfig) -> Result<Peer, PeerError> {
        Peer::start_with_hook(config, || {})
    }

    /// As `start`, running `on_thread_start` first thing on the new network thread (to
    /// set its priority or affinity, register it with a profiler, ...). A panic in the
    /// hook makes `start` fail with `Failed`.
    ///
    /// Installs, once per process, a panic hook that keeps the library's own caught
    /// panics off stderr and hands them to the logger (see `log.rs`); other panics go to
    /// the hook installed before.
    pub fn start_with_hook<F>(config: PeerConfig, on_thread_start: F) -> Result<Peer, PeerError>
    where
        F: FnOnce() + Send + 'static,
    {
        if config.proto.password.len() > MAX_PASSWORD
            || config.proto.offline_data.len() > MAX_OFFLINE_DATA
            || !config.sim_outgoing.is_valid()
            || !config.sim_incoming.is_valid()
        {
            return Err(PeerError::InvalidArgument);
        }
        install_quiet_hook();
        let bind_options = BindOptions {
            ipv6_only: config.ipv6_only,
            reuse_address: config.reuse_address,
        };
        let socket = Arc::new(Socket::bind(config.bind, bind_options).map_err(PeerError::Io)?);
        let local_addr = socket.local_addr();
        let thread_socket = socket.clone();
        let mut proto = config.proto.clone();
        if proto.reliability.buffers == proto::BufferSource::default() {
            // Received messages come in recycled buffers (`pool.rs`).
            proto.reliability.buffers = pool::source();
        }
        // The GUID (when the application set none) and the cookie key come from the
        // operating system's random source, whatever the seed: a configured GUID or seed
        // must not make the cookies of every such server alike.
        if proto.guid == 0 {
            proto.guid = random_guid().map_err(PeerError::Io)?;
            if proto.seed == proto::Config::default().seed {
                proto.seed = random_u64(local_addr);
            }
        }
        if proto.cookie_secret.is_none() {
            let secret = proto::CookieSecret::from_os().map_err(|e| PeerError::Io(e.into()))?;
            proto.cookie_secret = Some(secret);
        }
        let shared = Arc::new(
            Shared::new(
                config.command_queue,
                config.event_queue,
                proto.reliability.max_split_message_bytes,
            )
            .map_err(PeerError::Io)?,
        );
        // The endpoint is built on its own thread (it never has to cross threads), which
        // reports its GUID, or its failure to start, back here.
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let thread_shared = shared.clone();
        let driver_slot = DriverSlot::default();
        let thread_slot = driver_slot.clone();
        let (sim_out, sim_in, sim_seed) = (config.sim_outgoing, config.sim_incoming, proto.seed);
        let log = config.log.clone();
        let thread = std::thread::Builder::new()
            .name(config.thread_name.clone())
            .spawn(move || {
                let built = catch_unwind(AssertUnwindSafe(move || {
                    quietly(|| {
                        on_thread_start();
                        let endpoint = Endpoint::new(proto, local_addr);
                        let guid = endpoint.guid();
                        (endpoint, guid)
                    })
                }));
                match built {
                    Ok((endpoint, guid)) => {
                        let driver = Driver::new(thread_shared.clone(), endpoint, thread_socket)
                            .with_simulator(&sim_out, &sim_in, sim_seed)
                            .with_logger(log);
                        let thread = NetThread::new(thread_shared, thread_slot.clone(), &driver);
                        *thread_slot.lock() = Some(driver);
                        let _ = ready_tx.send(Some(guid));
                        thread.run();
                    }
                    Err(_) => {
                        let _ = ready_tx.send(None);
                    }
                }
            })
            .map_err(PeerError::Io)?;
        match ready_rx.recv() {
            Ok(Some(guid)) => Ok(Peer {
                shared,
                driver: driver_slot,
                socket,
                thread: Some(thread),
                local_addr,
                ipv6_only: config.ipv6_only,
                guid,
            }),
            _ => {
                let _ = thread.join();
                Err(PeerError::Failed)
            }
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// This peer's GUID.
    pub fn guid(&self) -> u64 {
        self.guid
    }

    /// Whether this peer's socket can send to `addr`'s family: an IPv4 socket reaches
    /// IPv4 only, an IPv6-only socket IPv6 only, a dual-stack socket both.
    pub fn can_reach(&self, addr: SocketAddr) -> bool {
        match (self.local_addr, addr) {
            (SocketAddr::V4(_), SocketAddr::V4(_)) => true,
            (SocketAddr::V4(_), SocketAddr::V6(a)) => a.ip().to_ipv4_mapped().is_some(),
            (SocketAddr::V6(_), SocketAddr::V6(a)) => {
                !(self.ipv6_only && a.ip().to_ipv4_mapped().is_some())
            }
            (SocketAddr::V6(_), SocketAddr::V4(_)) => !self.ipv6_only,
        }
    }

    /// Starts connecting; the id is valid at once (state `Connecting`).
    ///
    /// Fails with `Connect(InvalidAddress)` for an unspecified address, port 0 or an
    /// address family the socket cannot reach (`can_reach`); `Connect(AlreadyConnected)`
    /// if a connection or attempt to `addr` exists; `InvalidArgument` for a password over
    /// 255 bytes; `QueueFull`. Later refusals by the core arrive as `ConnectFailed`.
    pub fn connect(&self, addr: SocketAddr, password: &[u8]) -> Result<ConnId, PeerError> {
        self.connect_with(addr, password, ConnectOptions::default())
    }

    /// As `connect`, with this attempt's probe count, probe spacing and connection
    /// timeout taken from `opts` where set (`InvalidArgument` for a zero count or
    /// duration).
    pub fn connect_with(
        &self,
        addr: SocketAddr,
        password: &[u8],
        opts: ConnectOptions,
    ) -> Result<ConnId, PeerError> {
        self.check_running()?;
        if password.len() > MAX_PASSWORD
            || opts.attempts == Some(0)
            || opts.interval.is_some_and(|d| d.is_zero())
            || opts.timeout.is_some_and(|d| d.is_zero())
        {
            return Err(PeerError::InvalidArgument);
        }
        let addr = normalize(addr);
        if addr.ip().is_unspecified() || addr.port() == 0 || !self.can_reach(addr) {
            return Err(PeerError::Connect(ConnectError::InvalidAddress));
        }
        let conn = self.shared.next_conn_id().ok_or(PeerError::Failed)?;
        if !self.shared.registry.insert_connecting(conn, addr) {
            return Err(PeerError::Connect(ConnectError::AlreadyConnected));
        }
        let cmd = Command::Connect {
            conn,
            addr,
            password: password.to_vec(),
            opts: Box::new(opts),
        };
        if self.shared.commands.push(cmd).is_err() {
            self.shared.registry.remove(conn);
            return Err(PeerError::QueueFull);
        }
        self.shared.waker.wake();
        Ok(conn)
    }

    /// Queues a copy of `data`. Returns the receipt serial.
    ///
    /// Fails with `StaleConnection` if `conn` is gone, `NotConnected` while it is
    /// connecting or closing, `InvalidArgument` for empty data or a channel ≥ 32,
    /// `Send(TooLarge)` above the configured message limit or the send buffer cap,
    /// `Send(BufferFull)` if the connection's buffered bytes (queued and unacknowledged,
    /// plus sends not yet applied) would exceed `max_send_buffer_bytes` (this connection
    /// only: the others are unaffected), `QueueFull`. A message the core refuses later
    /// (the connection died meanwhile, or rarely a full buffer: see `RuntimeStats`) is
    /// dropped; for the receipt kinds a `Receipt { acked: false }` event reports it.
    pub fn send(&self, conn: ConnId, data: &[u8], opts: SendOptions) -> Result<Receipt, PeerError> {
        self.check_running()?;
        if data.is_empty() || opts.channel >= proto::ORDERING_CHANNELS {
            return Err(PeerError::InvalidArgument);
        }
        if data.len() > self.shared.max_message_bytes {
            return Err(PeerError::Send(proto::SendError::TooLarge));
        }
        match self.shared.registry.get(conn).map(|c| c.state) {
            None => return Err(PeerError::StaleConnection),
            Some(ConnState::Connected) => {}
            Some(ConnState::Connecting | ConnState::Disconnecting) => {
                return Err(PeerError::NotConnected)
            }
        }
        match self.shared.budgets.reserve(conn, data.len()) {
            Ok(()) => {}
            Err(Refused::Unknown) => return Err(PeerError::StaleConnection),
            Err(Refused::TooLarge) => return Err(PeerError::Send(proto::SendError::TooLarge)),
            Err(Refused::Full) => return Err(PeerError::Send(proto::SendError::BufferFull)),
        }
        let receipt = self.shared.next_receipt();
        let cmd = Command::Send {
            conn,
            data: PooledBuf::copy_of(data),
            opts,
            receipt,
        };
        if self.shared.commands.push(cmd).is_err() {
            self.shared.budgets.release(conn, data.len());
            return Err(PeerError::QueueFull);
        }
        if !self.serve_sparse_send() {
            self.shared.waker.wake();
        }
        Ok(receipt)
    }

    /// Closes a connection or cancels an attempt.
    ///
    /// With `notify`, queued data and then a disconnection notification go out; the
    /// `Disconnected { ClosedLocally }` event follows once the notice is acknowledged, or
    /// after a bounded wait for that (four retransmission timeouts, 200 ms to 2 s), and
    /// at the latest one connection timeout after the call (see `proto::Endpoint::close`).
    /// Without, or on an attempt, the event (`ConnectFailed { Cancelled }` for an
    /// attempt) follows at once.
    /// Fails with `StaleConnection` if `conn` is gone, `QueueFull`.
    pub fn close(&self, conn: ConnId, notify: bool) -> Result<(), PeerError> {
        self.check_running()?;
        if self.shared.registry.get(conn).is_none() {
            return Err(PeerError::StaleConnection);
        }
        self.push(Command::Close { conn, notify })?;
        // After the push: if the network thread ended the connection meanwhile, this is
        // a no-op; if it completes the handshake meanwhile, the close stays in force.
        self.shared.registry.set_disconnecting(conn);
        Ok(())
    }

    /// Sends an unconnected ping; the answer arrives as a `Pong` event. `addr` may be a
    /// broadcast address (255.255.255.255, or a subnet's): every peer listening on that
    /// port on the LAN answers with its own `Pong`. Fails with
    /// `Connect(InvalidAddress)` for port 0 or an address the socket cannot reach.
    pub fn ping(&self, addr: SocketAddr, open_connections_only: bool) -> Result<(), PeerError> {
        self.check_running()?;
        let addr = normalize(addr);
        if addr.port() == 0 || !self.can_reach(addr) {
            return Err(PeerError::Connect(ConnectError::InvalidAddress));
        }
        self.push(Command::Ping {
            addr,
            open_connections_only,
        })
    }

    /// Replaces the offline ping response data (at most 399 bytes, else `InvalidArgument`).
    pub fn set_offline_data(&self, data: &[u8]) -> Result<(), PeerError> {
        self.check_running()?;
        if data.len() > MAX_OFFLINE_DATA {
            return Err(PeerError::InvalidArgument);
        }
        self.push(Command::SetOfflineData(data.to_vec()))
    }

    /// Changes how many remote-initiated connections are accepted at once (RakNet's
    /// `SetMaximumIncomingConnections`); existing connections are kept.
    pub fn set_max_incoming(&self, max: u32) -> Result<(), PeerError> {
        self.check_running()?;
        self.push(Command::SetMaxIncoming(max))
    }

    /// Changes the network simulator while the peer runs: `Some` replaces the model of
    /// that direction (`SimConfig::OFF` switches it off), `None` leaves it as it is.
    /// Datagrams already delayed keep their due times. Fails with `InvalidArgument` for
    /// an invalid setting (`SimConfig::is_valid`), `QueueFull`.
    pub fn set_simulator(
        &self,
        outgoing: Option<SimConfig>,
        incoming: Option<SimConfig>,
    ) -> Result<(), PeerError> {
        self.check_running()?;
        if !outgoing
            .iter()
            .chain(incoming.iter())
            .all(SimConfig::is_valid)
        {
            return Err(PeerError::InvalidArgument);
        }
        self.push(Command::SetSimulator(Box::new((outgoing, incoming))))
    }

    /// Counters of the runtime: dropped sends and the network simulator.
    pub fn runtime_stats(&self) -> RuntimeStats {
        RuntimeStats {
            sends_dropped: self.shared.sends_dropped.load(Ordering::Relaxed),
            sim_outgoing: self.shared.sim_out.snapshot(),
            sim_incoming: self.shared.sim_in.snapshot(),
            sends_on_caller: self.shared.sends_on_caller.load(Ordering::Relaxed),
            receives_on_caller: self.shared.receives_on_caller.load(Ordering::Relaxed),
            network_thread_retunes: self.shared.retunes.load(Ordering::Relaxed),
        }
    }

    /// Next event, without blocking. After the network thread failed, `Fatal` comes
    /// once, after every event queued before it.
    pub fn poll_event(&self) -> Option<PeerEvent> {
        self.shared.take_event()
    }

    /// Up to `max` more events without blocking, each handed to `f` in order (cheaper
    /// per event than `poll_event` in a loop). Returns how many.
    pub fn poll_events(&self, max: usize, mut f: impl FnMut(PeerEvent)) -> usize {
        let mut n = 0;
        while n < max {
            let Some(ev) = self.shared.take_event_quietly() else {
                break;
            };
            f(ev);
            n += 1;
        }
        if n > 0 {
            self.shared.after_taking();
        }
        n
    }

    /// Next event, waiting up to `timeout`.
    ///
    /// On Linux, one waiting thread at a time polls the socket itself and handles what
    /// arrives (`wake.rs`), so an answer reaches it without a hand-over from the network
    /// thread; other waiters, and other systems, wait for the network thread's events.
    pub fn wait_event(&self, timeout: Duration) -> Option<PeerEvent> {
        if self.shared.is_stopped() {
            return self.poll_event();
        }
        if let Some(ev) = self.shared.take_event() {
            return Some(ev);
        }
        if let Some(result) = self.wait_polling(timeout) {
            return result;
        }
        self.shared
            .events
            .wait(timeout, || self.shared.take_event())
    }

    /// Identity and state of a live connection.
    pub fn conn_info(&self, conn: ConnId) -> Result<ConnInfo, PeerError> {
        self.check_running()?;
        self.shared
            .registry
            .get(conn)
            .ok_or(PeerError::StaleConnection)
    }

    /// Sends disconnection notifications, waits up to `flush` for queued reliable data
    /// to be acknowledged, stops and joins the network thread. Idempotent.
    ///
    /// Commands queued before the call are applied first. With `flush` zero nothing more
    /// is sent at all (RakNet's `Shutdown(0)`): remote systems see a timeout. Events
    /// already queued stay readable through `poll_event`; every other call returns
    /// `Failed` afterwards.
    pub fn shutdown(&mut self, flush: Duration) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let stop = if flush.is_zero() {
            Stop::Now
        } else {
            Stop::Flush(clock::now() + flush)
        };
        self.shared.request_stop(stop);
        self.shared.waker.wake();
        let _ = thread.join();
        self.shared.set_stopped();
        self.shared.registry.clear();
        self.shared.budgets.clear();
    }

    /// Whether the network thread failed (panicked). Every call but `poll_event` and
    /// `wait_event` then returns `PeerError::Failed`.
    pub fn is_failed(&self) -> bool {
        self.shared.is_failed()
    }

    /// Makes the network thread panic, to test the failure path (`PeerEvent::Fatal`,
    /// `PeerError::Failed`) from outside the crate. Not for production use.
    #[doc(hidden)]
    pub fn inject_panic(&self) -> Result<(), PeerError> {
        self.check_running()?;
        self.push(Command::InjectPanic)
    }

    fn check_running(&self) -> Result<(), PeerError> {
        if self.shared.is_failed() || self.shared.is_stopped() {
            Err(PeerError::Failed)
        } else {
            Ok(())
        }
    }

    fn push(&self, cmd: Command) -> Result<(), PeerError> {
        self.shared
            .commands
            .push(cmd)
            .map_err(|_| PeerError::QueueFull)?;
        self.shared.waker.wake();
        Ok(())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.shutdown(Duration::from_millis(500));
    }
}

/// An IPv4-mapped IPv6 address as plain IPv4: the form the core and registry use.
fn normalize(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::from((v4, v6.port())),
            None => addr,
        },
        v4 => v4,
    }
}

/// 64 bits that differ between peers, processes and machines (the simulator's seed;
/// nothing secret): `RandomState` carries per-process random keys from the OS; the
/// clock, address and a counter separate peers inside one process.
fn random_u64(local: SocketAddr) -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    clock::now().hash(&mut h);
    local.hash(&mut h);
    COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut h);
    std::process::id().hash(&mut h);
    h.finish()
}

/// A GUID from the operating system's random source, other than 0 (unset) and all-ones
/// (RakNet's UNASSIGNED_RAKNET_GUID).
fn random_guid() -> std::io::Result<u64> {
    loop {
        let g = getrandom::u64().map_err(std::io::Error::from)?;
        if g != 0 && g != u64::MAX {
            return Ok(g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Peer>();
    }

    #[test]
    fn random_guids_differ() {
        let g: std::collections::HashSet<u64> = (0..100).map(|_| random_guid().unwrap()).collect();
        assert_eq!(g.len(), 100);
    }
}
