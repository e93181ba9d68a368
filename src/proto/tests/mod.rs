//! Scenario tests of the sans-IO core on a simulated network.
