//! The C ABI (`rak_*`): argument checks, panic barrier, error mapping. No logic.
//!
//! One file per C object, as in rustls-ffi: [`config`] (`rak_config`), [`log`]
//! (`rak_log_level`, the log callback), [`peer`] (`rak_peer`: create, connect, send,
//! poll), [`manage`] (connection management, bans, discovery; `rak_connect_options`),
//! [`stats`] (`rak_conn_stats`, `rak_stats`), [`dispatch`] (`rak_callbacks`),
//! [`message`] (`rak_message`), [`event`] (`rak_event` and reasons), [`options`]
//! (`rak_send_options`), [`sim`] (`rak_sim_options`, `rak_runtime_stats`), [`address`]
//! (`rak_address`), [`handle`] (`rak_conn` and the live-object registries), [`result`]
//! (`rak_result`), [`version`], and [`boundary`] (the panic barrier and pointer
//! helpers, the only place that dereferences caller pointers).
//!
//! cbindgen reads this module tree (and nothing else) to write `include/raknet.h`, in
//! the order of the declarations below, so the `///` docs here are the C
//! documentation. See STYLE §5 for the conventions.
#![allow(non_camel_case_types)]
// The exports are safe `extern "C"` fns so that Rust tests can call them without
// `unsafe`; their pointer contracts are documented in the header instead.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

// The header lists items in this order (one group per line keeps rustfmt from sorting).
pub mod version;

pub mod result;

pub mod handle;

pub mod address;

pub mod config;

pub mod log;

pub mod options;

pub mod sim;

pub mod peer;

pub mod manage;

pub mod secure;

pub mod stats;

pub mod dispatch;

pub mod event;

pub mod message;

pub mod boundary;
