//! Version and ABI queries. Both numbers come from Cargo.toml through build.rs, which
//! writes the same values into the header's RAK_VERSION_* and RAK_ABI_VERSION macros.

use std::ffi::c_char;

use super::boundary::boundary_or;

/// ABI version of this build (the soname is `libraknet.so.<ABI>`).
const ABI_VERSION: u32 = parse_u32(env!("RAKNET_ABI_VERSION"));

const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
) {
    Ok(s) => s,
    Err(_) => panic!("package version contains NUL"),
};

const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v: u32 = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "ABI version is not a number");
        v = v * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    v
}

/// The ABI version of the loaded library. A program built against this header should
/// check `rak_abi_version() == RAK_ABI_VERSION` at startup: a different value means
/// the library and the header disagree on types or functions.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_abi_version() -> u32 {
    ABI_VERSION
}

/// The library version as static NUL-terminated text, e.g. "0.1.0"; never free it.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn rak_version_string() -> *const c_char {
    boundary_or(c"unknown".as_ptr(), || VERSION.as_ptr())
}
