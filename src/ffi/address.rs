//! `rak_address`: a socket address as a fixed C struct, its text form, and host-name
//! resolution for the exports that take `(host, port)`.

use std::ffi::c_char;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use super::boundary::{boundary, obj_ref, write_text};
use super::result::rak_result;

/// A buffer of this many bytes always holds `rak_address_str()`'s text and its NUL.
pub const RAK_ADDRESS_STR_BYTES: usize = 64;

/// An IPv4 or IPv6 socket address.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct rak_address {
    /// The IP in network byte order: IPv4 in `ip[0..4]` (the rest 0), IPv6 in all 16.
    pub ip: [u8; 16],
    /// The port, in host byte order.
    pub port: u16,
    /// 4 or 6; 0 when the event carries no address.
    pub family: u8,
}

impl rak_address {
    /// No address (family 0).
    pub(crate) const NONE: rak_address = rak_address {
        ip: [0; 16],
        port: 0,
        family: 0,
    };

    /// The Rust address, `None` for family 0 or an unknown family.
    pub(crate) fn to_socket_addr(self) -> Option<SocketAddr> {
        let ip = match self.family {
            4 => IpAddr::V4(Ipv4Addr::new(
                self.ip[0], self.ip[1], self.ip[2], self.ip[3],
            )),
            6 => IpAddr::V6(Ipv6Addr::from(self.ip)),
            _ => return None,
        };
        Some(SocketAddr::new(ip, self.port))
    }
}

impl From<SocketAddr> for rak_address {
    fn from(a: SocketAddr) -> rak_address {
        let mut ip = [0u8; 16];
        let family = match a.ip() {
            IpAddr::V4(v4) => {
                ip[..4].copy_from_slice(&v4.octets());
                4
            }
            IpAddr::V6(v6) => {
                ip = v6.octets();
                6
            }
        };
        rak_address {
            ip,
            port: a.port(),
            family,
        }
    }
}

/// Resolves `host` (an IP literal, also in brackets like `[::1]`, or a host name, which
/// blocks in the OS resolver) with `port`: the first resolved address `usable` accepts,
/// else the first one. Unresolvable → RAK_RESULT_ADDRESS.
pub(crate) fn resolve(
    host: &str,
    port: u16,
    usable: impl Fn(SocketAddr) -> bool,
) -> Result<SocketAddr, rak_result> {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let found: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|_| rak_result::Address)?
        .collect();
    found
        .iter()
        .find(|a| usable(**a))
        .or(found.first())
        .copied()
        .ok_or(rak_result::Address)
}

/// Writes `address` as text (`1.2.3.4:5678` or `[::1]:5678`) plus a NUL into
/// `buf[0..cap]`, and its length without the NUL into `*out_len`.
///
/// A buffer of `RAK_ADDRESS_STR_BYTES` bytes is always enough.
///
/// Returns RAK_RESULT_OK; RAK_RESULT_NULL_ARGUMENT if any pointer is NULL;
/// RAK_RESULT_INVALID_ARGUMENT if `family` is neither 4 nor 6;
/// RAK_RESULT_BUFFER_TOO_SMALL if the text and its NUL do not fit (nothing written).
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_address_str(
    address: *const rak_address,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> rak_result {
    boundary(|| {
        let a = obj_ref(address)?
            .to_socket_addr()
            .ok_or(rak_result::InvalidArgument)?;
        write_text(&a.to_string(), buf, cap, out_len)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_fits() {
        for s in [
            "1.2.3.4:5678",
            "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
        ] {
            let a: SocketAddr = s.parse().unwrap();
            assert_eq!(rak_address::from(a).to_socket_addr(), Some(a));
            assert!(a.to_string().len() < RAK_ADDRESS_STR_BYTES);
        }
        assert_eq!(rak_address::NONE.to_socket_addr(), None);
        assert_eq!(
            resolve("127.0.0.1", 9, |_| true),
            Ok("127.0.0.1:9".parse().unwrap())
        );
        assert_eq!(
            resolve("[::1]", 9, |_| true),
            Ok("[::1]:9".parse().unwrap())
        );
        assert_eq!(
            resolve("localhost", 9, |a| a.is_ipv4()),
            Ok("127.0.0.1:9".parse().unwrap())
        );
    }
}
