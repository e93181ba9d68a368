//! Secure mode in the C API: key pairs (generate, derive, save, load, hex), the
//! config's key pair and requirements, secure connects with a pinned server key, and
//! the remote system's proven key. The protocol is in `proto::secure`.

use std::ffi::c_char;
use std::io::Write;

use super::boundary::{boundary, text};
use super::config::{config_mut, rak_config};
use super::handle::rak_conn;
use super::manage::{connect, rak_connect_options};
use super::peer::{rak_peer, with_peer};
use super::result::rak_result;
use crate::proto::secure::{parse_key_hex, to_hex, KeyPair};
use crate::proto::{SecureConfig, SecureConnect};

/// Length in bytes of a secure-mode public or private key (X25519).
pub const RAK_KEY_BYTES: usize = 32;
/// Size of the buffer `rak_key_to_hex()` writes: 64 hex digits and a NUL.
pub const RAK_KEY_HEX_BYTES: usize = 65;

fn key_in(p: *const u8) -> Result<[u8; RAK_KEY_BYTES], rak_result> {
    if p.is_null() {
        return Err(rak_result::NullArgument);
    }
    let mut k = [0u8; RAK_KEY_BYTES];
    // SAFETY: the header requires RAK_KEY_BYTES readable bytes at a non-NULL `p`.
    unsafe { std::ptr::copy_nonoverlapping(p, k.as_mut_ptr(), RAK_KEY_BYTES) };
    Ok(k)
}

fn key_out(p: *mut u8, k: &[u8; RAK_KEY_BYTES]) {
    // SAFETY: callers checked `p` for NULL; the header requires RAK_KEY_BYTES writable
    // bytes there.
    unsafe { std::ptr::copy_nonoverlapping(k.as_ptr(), p, RAK_KEY_BYTES) };
}

fn non_null<T>(ps: &[*const T]) -> Result<(), rak_result> {
    if ps.iter().any(|p| p.is_null()) {
        Err(rak_result::NullArgument)
    } else {
        Ok(())
    }
}

/// Generates a new secure-mode key pair from the operating system's random source:
/// RAK_KEY_BYTES bytes each to `out_public_key` and `out_private_key`. Keep the private key
/// secret; give clients the public key to pin (`rak_peer_connect_secure()`).
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_INTERNAL if the random
/// source failed.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_key_pair_generate(
    out_public_key: *mut u8,
    out_private_key: *mut u8,
) -> rak_result {
    boundary(|| {
        non_null(&[out_public_key as *const u8, out_private_key as *const u8])?;
        let k = KeyPair::generate().map_err(|_| rak_result::Internal)?;
        key_out(out_public_key, k.public());
        key_out(out_private_key, k.private());
        Ok(())
    })
}

/// Writes the public key that belongs to `private_key` (RAK_KEY_BYTES bytes each).
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_key_pair_public_key(
    private_key: *const u8,
    out_public_key: *mut u8,
) -> rak_result {
    boundary(|| {
        non_null(&[out_public_key as *const u8])?;
        let k = KeyPair::from_private(key_in(private_key)?);
        key_out(out_public_key, k.public());
        Ok(())
    })
}

/// Saves the key pair of `private_key` to the file `path` (UTF-8), replacing it: a text
/// file with `private-key: HEX` and `public-key: HEX` lines, created with permissions
/// 0600 on Unix.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_INVALID_ARGUMENT if
/// `path` is not UTF-8; RAK_RESULT_IO if the file cannot be written.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_key_pair_save(path: *const c_char, private_key: *const u8) -> rak_result {
    boundary(|| {
        let path = text(path)?;
        let k = KeyPair::from_private(key_in(private_key)?);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path).map_err(|_| rak_result::Io)?;
        f.write_all(k.to_text().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|_| rak_result::Io)
    })
}

/// Loads a key pair saved by `rak_key_pair_save()` (a file with a `private-key: HEX`
/// line; a `public-key` line, if present, must match): RAK_KEY_BYTES bytes each to
/// `out_public_key` and `out_private_key`.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_INVALID_ARGUMENT if
/// `path` is not UTF-8 or the file holds no valid key pair; RAK_RESULT_NOT_FOUND if the
/// file does not exist; RAK_RESULT_IO if it cannot be read.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_key_pair_load(
    path: *const c_char,
    out_public_key: *mut u8,
    out_private_key: *mut u8,
) -> rak_result {
    boundary(|| {
        non_null(&[out_public_key as *const u8, out_private_key as *const u8])?;
        let path = text(path)?;
        let body = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => rak_result::NotFound,
            _ => rak_result::Io,
        })?;
        let body = std::str::from_utf8(&body).map_err(|_| rak_result::InvalidArgument)?;
        let k = KeyPair::from_text(body).map_err(|_| rak_result::InvalidArgument)?;
        key_out(out_public_key, k.public());
        key_out(out_private_key, k.private());
        Ok(())
    })
}

/// Writes `key` (RAK_KEY_BYTES bytes) as 64 lower-case hex digits and a NUL to `out`,
/// which must have room for RAK_KEY_HEX_BYTES bytes.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_key_to_hex(key: *const u8, out: *mut c_char) -> rak_result {
    boundary(|| {
        non_null(&[out as *const c_char])?;
        let hex = to_hex(&key_in(key)?);
        // SAFETY: `out` is non-NULL with RAK_KEY_HEX_BYTES writable bytes (header).
        unsafe {
            std::ptr::copy_nonoverlapping(hex.as_ptr().cast::<c_char>(), out, hex.len());
            *out.add(hex.len()) = 0;
        }
        Ok(())
    })
}

/// Parses exactly 64 hex digits (either case, NUL-terminated) into RAK_KEY_BYTES bytes
/// at `out_key`.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_INVALID_ARGUMENT if
/// `hex` is not 64 hex digits (nothing written).
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_key_from_hex(hex: *const c_char, out_key: *mut u8) -> rak_result {
    boundary(|| {
        non_null(&[out_key as *const u8])?;
        let k = parse_key_hex(text(hex)?).ok_or(rak_result::InvalidArgument)?;
        key_out(out_key, &k);
        Ok(())
    })
}

/// Gives the peer a long-term key pair (RAK_KEY_BYTES private key, copied; the public
/// key is derived), which turns on secure mode: clients that ask for a secure
/// connection get one (encrypted and authenticated, proving this key), plain RakNet
/// clients keep connecting as before unless `rak_config_set_require_secure()`. When
/// this peer connects securely itself it proves the key as its identity. NULL removes
/// the key pair and both requirements.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if `config` is NULL;
/// RAK_RESULT_STALE_HANDLE.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_key_pair(
    config: *mut rak_config,
    private_key: *const u8,
) -> rak_result {
    boundary(|| {
        let c = config_mut(config)?;
        if private_key.is_null() {
            c.proto.secure = Default::default();
        } else {
            c.proto.secure.key_pair = Some(KeyPair::from_private(key_in(private_key)?));
        }
        Ok(())
    })
}

/// Sets one of the secure-mode requirements, which need a key pair.
fn set_requirement(
    config: *mut rak_config,
    required: bool,
    flag: fn(&mut SecureConfig) -> &mut bool,
) -> rak_result {
    boundary(|| {
        let secure = &mut config_mut(config)?.proto.secure;
        if required && secure.key_pair.is_none() {
            return Err(rak_result::InvalidArgument);
        }
        *flag(secure) = required;
        Ok(())
    })
}

/// Refuses plain (non-secure) incoming connections when `required`: RakNet 4 and
/// Bedrock clients get the security flag in OPEN_CONNECTION_REPLY_2 and give up
/// (libraknet clients report RAK_REASON_SECURITY_MISMATCH); counted in
/// `rak_stats.refused_security_required`. No state is kept for them. Default off.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT if `required` and no key pair was set with
/// `rak_config_set_key_pair()` first.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_require_secure(
    config: *mut rak_config,
    required: bool,
) -> rak_result {
    set_requirement(config, required, |s| &mut s.require_secure)
}

/// Requires secure clients to prove a key pair of their own (set with
/// `rak_config_set_key_pair()` on their side) when `required`; clients without one fail
/// with RAK_REASON_CLIENT_KEY_REQUIRED, counted in
/// `rak_stats.refused_client_key_required`. Read an accepted client's key with
/// `rak_peer_conn_remote_key()` to decide whom to trust. Default off.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_STALE_HANDLE;
/// RAK_RESULT_INVALID_ARGUMENT if `required` and no key pair was set first.
///
/// Thread safety: one thread at a time (per config).
#[no_mangle]
pub extern "C" fn rak_config_set_require_client_key(
    config: *mut rak_config,
    required: bool,
) -> rak_result {
    set_requirement(config, required, |s| &mut s.require_client_key)
}

/// As `rak_peer_connect_with_options()`, but the connection is secure: every datagram
/// after the handshake is encrypted and authenticated (Noise NX/IX, X25519,
/// ChaCha20-Poly1305, BLAKE2s; 24 bytes per datagram), replays are dropped. `server_key`
/// (RAK_KEY_BYTES, copied) pins the server's public key: a server that cannot prove it fails the
/// attempt with RAK_REASON_PUBLIC_KEY_MISMATCH. NULL `server_key` accepts whatever key
/// the server proves (read it with `rak_peer_conn_remote_key()`; encrypted but open to
/// a man in the middle on first contact).
///
/// Never falls back to a plain connection: a server without secure mode fails the
/// attempt with RAK_REASON_SERVER_NOT_SECURE; one that requires client keys, when this
/// peer has none, with RAK_REASON_CLIENT_KEY_REQUIRED. Only libraknet servers run
/// secure mode.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; otherwise as
/// `rak_peer_connect_with_options()`.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_connect_secure(
    peer: *const rak_peer,
    host: *const c_char,
    port: u16,
    options: *const rak_connect_options,
    server_key: *const u8,
    out_conn: *mut rak_conn,
) -> rak_result {
    // NULL is "no pin"; key_in only fails for NULL.
    let server_key = key_in(server_key).ok();
    connect(
        peer,
        host,
        port,
        options,
        Some(SecureConnect { server_key }),
        out_conn,
    )
}

/// Writes the remote system's proven public key (RAK_KEY_BYTES) of secure connection
/// `conn` to `out_key`: on the connecting side the server's key, on the accepting side
/// the client's, if it presented one.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT; RAK_RESULT_NOT_FOUND if the
/// connection is plain or the client presented no key (nothing written); otherwise as
/// `rak_peer_conn_stats()` (RAK_RESULT_STALE_HANDLE, RAK_RESULT_NOT_CONNECTED, ...).
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_peer_conn_remote_key(
    peer: *const rak_peer,
    conn: rak_conn,
    out_key: *mut u8,
) -> rak_result {
    boundary(|| {
        non_null(&[out_key as *const u8])?;
        with_peer(peer, |p| {
            let stats = p.conn_stats(conn.conn_id()?)?;
            let key = stats.remote_key.ok_or(rak_result::NotFound)?;
            key_out(out_key, &key);
            Ok(())
        })
    })
}
