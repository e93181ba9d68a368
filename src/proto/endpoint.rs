//! The endpoint: demultiplexes datagrams by address, answers offline messages, runs
//! outgoing connection attempts, and owns the connection table (PROTOCOL.md §1.5, §4, §5).

use std::net::SocketAddr;

use super::config::Config;
use super::error::{ConnectError, SendError};
use super::event::{ConnId, Event};
use super::options::{Receipt, SendOptions};
use super::stats::EndpointStats;
use super::time::Time;

/// A datagram to send: the bytes are in the buffer passed to `poll_transmit`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
}

/// A RakNet peer's protocol state: client, server or both.
#[derive(Debug)]
pub struct Endpoint {
    _todo: (),
}

#[allow(missing_docs, unused_variables)]
impl Endpoint {
    /// An endpoint bound (as far as the caller's socket is concerned) to `local_addr`.
    pub fn new(config: Config, local_addr: SocketAddr) -> Endpoint {
        todo!()
    }
    /// This endpoint's GUID.
    pub fn guid(&self) -> u64 {
        todo!()
    }
    /// The configuration in effect.
    pub fn config(&self) -> &Config {
        todo!()
    }
    /// Replaces the data sent in unconnected pongs (truncated to 399 bytes).
    pub fn set_offline_data(&mut self, data: &[u8]) {
        todo!()
    }
    /// Starts connecting to `addr` with the caller-chosen `id` (non-zero, top bit clear).
    pub fn connect(
        &mut self,
        now: Time,
        id: ConnId,
        addr: SocketAddr,
        password: &[u8],
    ) -> Result<(), ConnectError> {
        todo!()
    }
    /// Queues a message on an established connection; returns its receipt serial.
    pub fn send(
        &mut self,
        now: Time,
        conn: ConnId,
        data: &[u8],
        opts: SendOptions,
    ) -> Result<Receipt, SendError> {
        todo!()
    }
    /// As `send`, with a receipt serial chosen by the caller.
    pub fn send_with_receipt(
        &mut self,
        now: Time,
        conn: ConnId,
        data: &[u8],
        opts: SendOptions,
        receipt: Receipt,
    ) -> Result<(), SendError> {
        todo!()
    }
    /// Closes a connection (or cancels an attempt). With `notify`, sends
    /// DISCONNECTION_NOTIFICATION after queued data and reports `Disconnected` once it is
    /// acknowledged (or the timeout passes); without, reports it at once.
    pub fn close(&mut self, now: Time, conn: ConnId, notify: bool) -> Result<(), SendError> {
        todo!()
    }
    /// Sends an unconnected ping to `addr`.
    pub fn ping(&mut self, now: Time, addr: SocketAddr, open_connections_only: bool) {
        todo!()
    }
    /// Feeds one received UDP payload.
    pub fn handle_datagram(&mut self, now: Time, from: SocketAddr, bytes: &[u8]) {
        todo!()
    }
    /// Runs timers due at `now`.
    pub fn handle_timeout(&mut self, now: Time) {
        todo!()
    }
    /// Writes the next datagram to send into `buf` (cleared first).
    pub fn poll_transmit(&mut self, now: Time, buf: &mut Vec<u8>) -> Option<Transmit> {
        todo!()
    }
    /// Next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        todo!()
    }
    /// Earliest deadline at which `handle_timeout` (or `poll_transmit`) has work.
    pub fn poll_timeout(&self) -> Option<Time> {
        todo!()
    }
    /// No connection has data queued or unacknowledged (for a flushing shutdown).
    pub fn is_idle(&self) -> bool {
        todo!()
    }
    /// Number of connections and attempts.
    pub fn connection_count(&self) -> usize {
        todo!()
    }
    /// Counters.
    pub fn stats(&self) -> &EndpointStats {
        todo!()
    }
}
