//! Anti-spoofing cookies (docs/protocol.md §5.3, §5.4): the key they are made with, the
//! epochs they rotate in, issuing one in OPEN_CONNECTION_REPLY_1 and checking the one a
//! REQUEST_2 (plain or secure) echoes. A client that cannot echo the cookie of its
//! address has not shown that it receives at that address, so no state is kept for it.
//!
//! This file does not answer REQUEST_1 or REQUEST_2 (`server.rs` and `secure.rs` do);
//! whether cookies are on is `Config::cookies`.

use std::hash::Hasher;
use std::net::SocketAddr;
use std::time::Duration;

use crate::proto::config::CookieSecret;
use crate::proto::endpoint::Endpoint;
use crate::proto::time::Time;

/// Cookies rotate every epoch: a cookie is SipHash-2-4, keyed with the endpoint's
/// `cookie_secret`, of the client's address and the epoch number, so each epoch has
/// cookies of its own, and one is accepted in the epoch it was made in and the next
/// (30 to 60 s), after which nothing it helped an eavesdropper learn is of use.
pub(in crate::proto) const COOKIE_EPOCH: Duration = Duration::from_secs(30);

/// The key cookies are made with: `Config::cookie_secret`, else one from the operating
/// system, never derived from the seed or the GUID.
pub(in crate::proto) fn cookie_key(secret: Option<CookieSecret>) -> CookieKey {
    let (a, b) = secret.map_or_else(os_cookie_key, |s| s.words());
    CookieKey(a, b)
}

/// The SipHash key of an endpoint's cookies. Its `Debug` output hides it, so that
/// printing an `Endpoint` never shows what would let anyone forge cookies.
#[derive(Copy, Clone)]
pub(in crate::proto) struct CookieKey(u64, u64);

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey(..)")
    }
}

impl Endpoint {
    /// The cookie of `addr` in the epoch `epoch_back` epochs before the current one.
    pub(super) fn cookie(&self, now: Time, addr: SocketAddr, epoch_back: u64) -> u32 {
        let epoch = (now.as_micros() / COOKIE_EPOCH.as_micros() as u64).wrapping_sub(epoch_back);
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new_with_keys(self.cookie_key.0, self.cookie_key.1);
        match addr.ip() {
            std::net::IpAddr::V4(v4) => h.write(&v4.octets()),
            std::net::IpAddr::V6(v6) => h.write(&v6.octets()),
        }
        h.write_u16(addr.port());
        h.write_u64(epoch);
        h.finish() as u32
    }

    /// Whether `cookie` is the one we gave `from` (this epoch or the last); always true
    /// with cookies off. Counts a bad one.
    pub(super) fn cookie_ok(&mut self, now: Time, from: SocketAddr, cookie: Option<u32>) -> bool {
        if !self.config.cookies {
            return true;
        }
        let ok = cookie
            .is_some_and(|c| c == self.cookie(now, from, 0) || c == self.cookie(now, from, 1));
        if !ok {
            self.stats.offline_dropped += 1;
            self.stats.dropped.bad_cookie += 1;
            if cookie.is_none() {
                // Not answered (an answer would serve spoofed floods), so the client
                // learns nothing: the count is how the server's operator can tell.
                self.stats.refused.missing_cookie += 1;
            }
        }
        ok
    }
}

/// A cookie key from the operating system's random source, for an endpoint whose
/// configuration brings none. Should that source fail, std's per-process hash keys
/// (drawn from the same source when the process first needed them) key a hash of the
/// address of a local: unpredictable from outside the process all the same.
fn os_cookie_key() -> (u64, u64) {
    use std::hash::BuildHasher;
    match CookieSecret::from_os() {
        Ok(s) => s.words(),
        Err(_) => {
            let state = std::collections::hash_map::RandomState::new();
            let marker = 0u8;
            let a = state.hash_one(std::ptr::addr_of!(marker) as usize);
            (a, state.hash_one(a))
        }
    }
}
