//! Split-message reassembly by index with hard limits (PROTOCOL.md §8.2–8.3).
//!
//! OWNER: receive-side helper.
