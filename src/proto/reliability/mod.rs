//! The reliability layer of one connection: sending side (`send`), receiving side
//! (`recv`, `ordering`, `split`, `window`), per-channel state of both (`channels`).
//! docs/protocol.md §6–§9.

mod channels;
pub(crate) mod ordering;
pub(crate) mod recv;
pub(crate) mod send;
pub(crate) mod split;
mod window;

pub(crate) use recv::{Delivery, Receiver};
pub(crate) use send::Sender;
