//! `rak_sim_options` (the built-in network simulator's settings), `rak_sim_direction`,
//! and `rak_runtime_stats` (the runtime's counters): validated C values in,
//! `runtime::SimConfig` out, and `runtime::RuntimeStats` back. Conversion only.

use std::time::Duration;

use super::result::rak_result;
use crate::runtime::{RuntimeStats, SimConfig, SimStats, MAX_SIM_DELAY};

/// Largest `latency_ms` and `jitter_ms` of `rak_sim_options`.
pub const RAK_MAX_SIM_DELAY_MS: u32 = 10_000;

const _: () = assert!(RAK_MAX_SIM_DELAY_MS as u64 == MAX_SIM_DELAY.as_millis() as u64);

/// Which datagrams a simulator setting applies to: the `direction` of
/// `rak_config_set_simulator()` and `rak_peer_set_simulator()`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rak_sim_direction {
    /// Datagrams this peer sends.
    Outgoing = 1,
    /// Datagrams this peer receives.
    Incoming = 2,
    /// Both: each direction gets the same settings (and its own random choices).
    Both = 3,
}

/// `rak_sim_direction` as it crosses the ABI. The header declares it with the enum's
/// typedef (cbindgen.toml renames this alias); Rust receives the plain integer and
/// validates it, as a Rust enum holding a value C made up would be undefined behaviour.
pub type rak_sim_direction_raw = u32;

/// The built-in network simulator's model of one direction of the link: every datagram
/// is dropped with probability `loss_pct`, else delayed by `latency_ms` plus a uniform
/// random 0 to `jitter_ms` (so jitter reorders datagrams), duplicated with probability
/// `duplicate_pct` (each copy delayed independently), and held back with probability
/// `reorder_pct` by a further latency + jitter + up to 20 ms so that later datagrams
/// overtake it. All zero (or NULL options) turns the simulator off for that direction.
///
/// It works on the peer's own UDP datagrams, between the protocol and the socket, in
/// release builds too. Delayed datagrams wait in a queue of at most 65 536 datagrams
/// and 32 MiB per direction; beyond that they are dropped and counted
/// (`rak_runtime_stats`). Percentages are 0 to 100 (fractions allowed); delays at most
/// RAK_MAX_SIM_DELAY_MS.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq)]
#[allow(non_camel_case_types)]
pub struct rak_sim_options {
    /// Chance that a datagram is dropped, in percent.
    pub loss_pct: f64,
    /// Chance that a datagram is delivered twice, in percent.
    pub duplicate_pct: f64,
    /// Chance that a datagram is held back behind later ones, in percent.
    pub reorder_pct: f64,
    /// Delay added to every datagram, in milliseconds.
    pub latency_ms: u32,
    /// Largest extra random delay of a datagram, in milliseconds.
    pub jitter_ms: u32,
}

impl TryFrom<rak_sim_options> for SimConfig {
    type Error = rak_result;

    fn try_from(o: rak_sim_options) -> Result<SimConfig, rak_result> {
        let pct = |v: f64| {
            if (0.0..=100.0).contains(&v) {
                Ok(v / 100.0)
            } else {
                Err(rak_result::InvalidArgument)
            }
        };
        let ms = |v: u32| {
            if v <= RAK_MAX_SIM_DELAY_MS {
                Ok(Duration::from_millis(u64::from(v)))
            } else {
                Err(rak_result::InvalidArgument)
            }
        };
        Ok(SimConfig {
            loss: pct(o.loss_pct)?,
            latency: ms(o.latency_ms)?,
            jitter: ms(o.jitter_ms)?,
            duplicate: pct(o.duplicate_pct)?,
            reorder: pct(o.reorder_pct)?,
        })
    }
}

/// The settings for `direction` (a `rak_sim_direction` value) as (outgoing, incoming):
/// `None` leaves that direction as it is. NULL `options` means off.
pub(crate) fn sim_settings(
    direction: rak_sim_direction_raw,
    options: Option<&rak_sim_options>,
) -> Result<(Option<SimConfig>, Option<SimConfig>), rak_result> {
    let config = match options {
        Some(o) => SimConfig::try_from(*o)?,
        None => SimConfig::OFF,
    };
    match direction {
        d if d == rak_sim_direction::Outgoing as u32 => Ok((Some(config), None)),
        d if d == rak_sim_direction::Incoming as u32 => Ok((None, Some(config))),
        d if d == rak_sim_direction::Both as u32 => Ok((Some(config.clone()), Some(config))),
        _ => Err(rak_result::InvalidArgument),
    }
}

/// Counters of a peer's runtime since it started, from `rak_peer_runtime_stats()`.
/// Fields are only ever appended.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct rak_runtime_stats {
    /// Sends that `rak_peer_send()` accepted but that were dropped because the
    /// connection's send buffer turned out full when the network thread applied them
    /// (the protocol's own messages took the last room meanwhile). Rare. Those sent with
    /// a *_WITH_ACK_RECEIPT reliability also produced a RAK_EVENT_KIND_RECEIPT_LOST.
    pub sends_dropped: u64,
    /// Simulator, outgoing: datagrams that entered it.
    pub sim_out_submitted: u64,
    /// Simulator, outgoing: datagrams dropped by `loss_pct`.
    pub sim_out_lost: u64,
    /// Simulator, outgoing: extra copies made by `duplicate_pct`.
    pub sim_out_duplicated: u64,
    /// Simulator, outgoing: datagrams held back by `reorder_pct`.
    pub sim_out_reordered: u64,
    /// Simulator, outgoing: datagrams dropped because its delay queue was full.
    pub sim_out_overflowed: u64,
    /// Simulator, outgoing: datagrams (and copies) passed on to the socket.
    pub sim_out_delivered: u64,
    /// Simulator, incoming: datagrams that entered it.
    pub sim_in_submitted: u64,
    /// Simulator, incoming: datagrams dropped by `loss_pct`.
    pub sim_in_lost: u64,
    /// Simulator, incoming: extra copies made by `duplicate_pct`.
    pub sim_in_duplicated: u64,
    /// Simulator, incoming: datagrams held back by `reorder_pct`.
    pub sim_in_reordered: u64,
    /// Simulator, incoming: datagrams dropped because its delay queue was full.
    pub sim_in_overflowed: u64,
    /// Simulator, incoming: datagrams (and copies) passed on to the protocol.
    pub sim_in_delivered: u64,
    /// Sends that `rak_peer_send()` applied and handed to the socket on the calling
    /// thread (it found the network thread asleep and the send was not right after
    /// another), sparing the network thread's wakeup.
    pub sends_on_caller: u64,
    /// Receive passes run by a thread waiting in `rak_peer_wait()`, which reads the
    /// socket itself (Linux; one waiter at a time).
    pub receives_on_caller: u64,
    /// Times a pass run on an application thread had to wake the network thread so it
    /// re-plans its sleep (an earlier timer, say).
    pub network_thread_retunes: u64,
}

impl From<RuntimeStats> for rak_runtime_stats {
    fn from(s: RuntimeStats) -> rak_runtime_stats {
        let SimStats {
            submitted: out_submitted,
            lost: out_lost,
            duplicated: out_duplicated,
            reordered: out_reordered,
            overflowed: out_overflowed,
            delivered: out_delivered,
        } = s.sim_outgoing;
        let i = s.sim_incoming;
        rak_runtime_stats {
            sends_dropped: s.sends_dropped,
            sim_out_submitted: out_submitted,
            sim_out_lost: out_lost,
            sim_out_duplicated: out_duplicated,
            sim_out_reordered: out_reordered,
            sim_out_overflowed: out_overflowed,
            sim_out_delivered: out_delivered,
            sim_in_submitted: i.submitted,
            sim_in_lost: i.lost,
            sim_in_duplicated: i.duplicated,
            sim_in_reordered: i.reordered,
            sim_in_overflowed: i.overflowed,
            sim_in_delivered: i.delivered,
            sends_on_caller: s.sends_on_caller,
            receives_on_caller: s.receives_on_caller,
            network_thread_retunes: s.network_thread_retunes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated_and_scaled() {
        let o = rak_sim_options {
            loss_pct: 10.0,
            duplicate_pct: 100.0,
            reorder_pct: 0.5,
            latency_ms: RAK_MAX_SIM_DELAY_MS,
            jitter_ms: 3,
        };
        let c = SimConfig::try_from(o).unwrap();
        assert_eq!(c.loss, 0.1);
        assert_eq!(c.duplicate, 1.0);
        assert_eq!(c.reorder, 0.005);
        assert_eq!(c.latency, MAX_SIM_DELAY);
        assert_eq!(c.jitter, Duration::from_millis(3));
        assert!(c.is_valid());
        for bad in [
            rak_sim_options {
                loss_pct: 100.5,
                ..o
            },
            rak_sim_options {
                loss_pct: -1.0,
                ..o
            },
            rak_sim_options {
                duplicate_pct: f64::NAN,
                ..o
            },
            rak_sim_options {
                reorder_pct: f64::INFINITY,
                ..o
            },
            rak_sim_options {
                latency_ms: RAK_MAX_SIM_DELAY_MS + 1,
                ..o
            },
            rak_sim_options {
                jitter_ms: u32::MAX,
                ..o
            },
        ] {
            assert_eq!(SimConfig::try_from(bad), Err(rak_result::InvalidArgument));
        }
    }

    #[test]
    fn directions() {
        let o = rak_sim_options {
            loss_pct: 1.0,
            ..Default::default()
        };
        let (out, inc) = sim_settings(1, Some(&o)).unwrap();
        assert!(out.is_some_and(|c| c.loss == 0.01) && inc.is_none());
        let (out, inc) = sim_settings(2, None).unwrap();
        assert!(out.is_none() && inc == Some(SimConfig::OFF));
        let (out, inc) = sim_settings(3, Some(&o)).unwrap();
        assert_eq!(out, inc);
        for bad in [0, 4, u32::MAX] {
            assert_eq!(sim_settings(bad, None), Err(rak_result::InvalidArgument));
        }
    }
}
