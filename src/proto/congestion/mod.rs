//! Congestion control behind a small trait (one file per algorithm), and RTT estimation.
//!
//! OWNER: send-side helper.
