//! Per-channel ordering and sequencing on receive (PROTOCOL.md §7.4).
//!
//! OWNER: receive-side helper.
