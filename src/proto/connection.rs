//! One remote system: handshake state, reliability layer, timers.
