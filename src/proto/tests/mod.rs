//! Scenario tests of the sans-IO core on the simulated network (`sim.rs`).

mod bandwidth;
mod replay;
mod scenarios;
pub(crate) mod sim;
