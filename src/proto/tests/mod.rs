//! Scenario tests of the sans-IO core on the simulated network (`sim.rs`).

mod abuse;
mod access;
mod attacks;
mod bandwidth;
mod budget;
mod close;
mod cookies;
mod goodput;
mod handshake;
mod manage;
mod replay;
mod scale;
mod scenarios;
mod secure;
pub(crate) mod sim;
mod stats;
mod time_sync;
