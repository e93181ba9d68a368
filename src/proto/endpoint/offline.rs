//! Offline messages at the endpoint (docs/protocol.md §4): dispatching a decoded one
//! (§4.1), unconnected ping and pong with the application's offline data (§4.2), and
//! ADVERTISE_SYSTEM from others (§4.3). Pongs and advertisements anyone can make us
//! report, so they are dropped while the event queue is long; pongs never carry more
//! than `Config::ping_amplification` times the bytes the ping had.
//!
//! The handshake's offline messages (§5.2–§5.5) are handled in `handshake/`; sending an
//! advertisement is `manage.rs`; decoding is `wire::offline`.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Endpoint, MAX_PENDING_OFFLINE_EVENTS};
use crate::proto::config::MAX_OFFLINE_DATA;
use crate::proto::event::{ConnectFailure, Event};
use crate::proto::time::Time;
use crate::proto::wire::id;
use crate::proto::wire::offline::Offline;

/// Bytes of an unconnected pong before its offline data.
const PONG_HEADER: usize = 33;

impl Endpoint {
    /// Sends an unconnected ping to `addr`.
    pub fn ping(&mut self, now: Time, addr: SocketAddr, open_connections_only: bool) {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        Offline::UnconnectedPing {
            open_connections_only,
            time: now.as_millis(),
            guid: Some(self.guid),
        }
        .encode(&mut buf);
        // Padded to the largest pong, so a server that never answers with more bytes than
        // it received can still send its whole offline data back to us.
        buf.resize(PONG_HEADER + MAX_OFFLINE_DATA, 0);
        self.queue_offline(addr, buf);
    }

    /// An offline message (§4.1), even from a connected address: pings and pongs (§4.2),
    /// advertisements (§4.3) here; the handshake's messages go to `handshake/`.
    pub(super) fn handle_offline(
        &mut self,
        now: Time,
        from: SocketAddr,
        bytes: &[u8],
        msg: Offline<'_>,
    ) {
        let received = bytes.len();
        match msg {
            Offline::UnconnectedPing {
                open_connections_only,
                time,
                ..
            } => {
                if open_connections_only && self.incoming_full() {
                    return;
                }
                let mut buf = self.spare.pop().unwrap_or_default();
                buf.clear();
                let prefixed;
                let data = if self.config.is_bedrock() {
                    prefixed = bedrock_pong_data(&self.config.offline_data);
                    &prefixed[..]
                } else {
                    &self.config.offline_data[..]
                };
                let limit = received.saturating_mul(self.config.ping_amplification.max(1) as usize);
                let data = if PONG_HEADER + data.len() <= limit {
                    data
                } else {
                    self.stats.dropped.amplification += 1;
                    // Without the data; a Bedrock pong keeps its (zero) length field, which
                    // its clients require (docs/protocol.md §4.2).
                    if self.config.is_bedrock() {
                        &[0u8, 0][..]
                    } else {
                        &[][..]
                    }
                };
                if PONG_HEADER + data.len() > limit {
                    self.recycle(buf);
                    return;
                }
                Offline::UnconnectedPong {
                    time,
                    guid: self.guid,
                    data,
                }
                .encode(&mut buf);
                self.queue_offline(from, buf);
            }
            Offline::UnconnectedPong { time, guid, data } => {
                let rtt = Duration::from_millis(now.as_millis().saturating_sub(time));
                let data = match (self.config.is_bedrock(), data) {
                    // Bedrock pongs carry a u16be length before the string (docs/protocol.md
                    // §4.2); hand the application the string alone when it adds up.
                    (true, [hi, lo, rest @ ..])
                        if usize::from(u16::from_be_bytes([*hi, *lo])) == rest.len() =>
                    {
                        rest
                    }
                    _ => data,
                };
                self.push_offline_event(Event::Pong {
                    addr: from,
                    guid,
                    rtt,
                    data: data.to_vec(),
                });
            }
            Offline::OpenConnectionRequest1 { protocol, mtu } => {
                self.on_request_1(now, from, bytes, protocol, mtu)
            }
            Offline::OpenConnectionRequest2 {
                cookie, guid, mtu, ..
            } => self.on_request_2(now, from, received, cookie, guid, mtu),
            Offline::OpenConnectionReply1 {
                guid,
                cookie,
                has_public_key,
                mtu,
            } => {
                let offer = crate::proto::wire::secure::offer_of(bytes);
                self.on_reply_1(now, from, guid, cookie, has_public_key, mtu, offer)
            }
            Offline::OpenConnectionReply2 {
                guid,
                mtu,
                security,
                ..
            } => self.on_reply_2(now, from, guid, mtu, security),
            Offline::Rejection { id: rid, .. } => self.on_rejection(from, rid),
            Offline::IncompatibleProtocol { protocol, .. } => self.fail_attempt(
                from,
                ConnectFailure::IncompatibleProtocol {
                    server_version: protocol,
                },
            ),
            Offline::OutOfBand { guid, payload } => match payload.split_first() {
                Some((&id::ADVERTISE_SYSTEM, data)) => self.push_offline_event(Event::Advertise {
                    addr: from,
                    guid,
                    data: data.to_vec(),
                }),
                _ => self.stats.dropped.out_of_band_ignored += 1,
            },
        }
    }

    /// Reports an event caused by an unconnected sender, unless too many events wait.
    fn push_offline_event(&mut self, e: Event) {
        if self.events.len() < MAX_PENDING_OFFLINE_EVENTS {
            self.events.push_back(e);
        } else {
            self.stats.dropped.event_queue_full += 1;
        }
    }
}

/// Bedrock-flavour pong data: the application's bytes behind a `u16be` length
/// (docs/protocol.md §4.2), kept within RakNet's 399-byte limit.
fn bedrock_pong_data(data: &[u8]) -> Vec<u8> {
    let n = data.len().min(MAX_OFFLINE_DATA - 2);
    let mut v = Vec::with_capacity(n + 2);
    v.extend_from_slice(&(n as u16).to_be_bytes());
    v.extend_from_slice(&data[..n]);
    v
}
