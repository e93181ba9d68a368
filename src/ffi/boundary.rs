//! The panic barrier every export runs inside, and the argument helpers that turn C
//! pointers into Rust references or a `rak_result`. This is the only file that reads
//! or writes through a pointer the caller passed; it makes no protocol decisions.
//!
//! Each helper's `unsafe` block leans on the same promise, stated once in the header
//! preamble: a non-NULL pointer argument points to valid, suitably aligned memory of
//! the documented size for the duration of the call.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use super::result::rak_result;
use crate::runtime::log::{install_quiet_hook, quietly, take_panic_message};

/// Runs `f`, turning an `Err` into its code and a panic into `RAK_RESULT_INTERNAL`,
/// so that no unwind ever crosses the C boundary. The panic's message is not printed
/// (`runtime/log.rs`: the library writes nothing to stderr).
///
/// Public so that tests can prove the barrier holds; C callers never see it.
pub fn boundary<F>(f: F) -> rak_result
where
    F: FnOnce() -> Result<(), rak_result>,
{
    install_quiet_hook();
    match quietly(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(())) => rak_result::Ok,
        Ok(Err(code)) => code,
        Err(_) => {
            let _ = take_panic_message();
            rak_result::Internal
        }
    }
}

/// Runs an infallible `f`, returning `fallback` if it panics.
pub fn boundary_or<T, F>(fallback: T, f: F) -> T
where
    F: FnOnce() -> T,
{
    install_quiet_hook();
    quietly(|| catch_unwind(AssertUnwindSafe(f))).unwrap_or_else(|_| {
        let _ = take_panic_message();
        fallback
    })
}

/// A shared reference to the object behind a caller's pointer.
pub(crate) fn obj_ref<'a, T>(p: *const T) -> Result<&'a T, rak_result> {
    // SAFETY: NULL is rejected by `as_ref`; otherwise the caller promises `p` points to a
    // live object (handle validity is checked by the caller of this helper first).
    unsafe { p.as_ref() }.ok_or(rak_result::NullArgument)
}

/// An exclusive reference to the object behind a caller's pointer.
pub(crate) fn obj_mut<'a, T>(p: *mut T) -> Result<&'a mut T, rak_result> {
    // SAFETY: as `obj_ref`; the export's doc makes the caller serialize calls on `p`
    // ("one thread at a time"), so no other reference exists during the call.
    unsafe { p.as_mut() }.ok_or(rak_result::NullArgument)
}

/// Borrows `data[0..len]`. A NULL `data` is fine when `len` is 0.
pub(crate) fn bytes<'a>(data: *const u8, len: usize) -> Result<&'a [u8], rak_result> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(rak_result::NullArgument);
    }
    if len > isize::MAX as usize {
        return Err(rak_result::TooLarge);
    }
    // SAFETY: non-NULL, len ≤ isize::MAX, and the caller promises `len` readable bytes
    // that stay unchanged for the duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// Borrows a NUL-terminated UTF-8 string.
pub(crate) fn text<'a>(s: *const c_char) -> Result<&'a str, rak_result> {
    if s.is_null() {
        return Err(rak_result::NullArgument);
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string.
    let s = unsafe { CStr::from_ptr(s) };
    s.to_str().map_err(|_| rak_result::InvalidArgument)
}

/// An output parameter, checked non-NULL before the call does anything, written only
/// once the call has succeeded.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Checks a required output pointer.
    pub(crate) fn new(p: *mut T) -> Result<Out<T>, rak_result> {
        NonNull::new(p).map(Out).ok_or(rak_result::NullArgument)
    }

    /// An optional output pointer: `None` for NULL.
    pub(crate) fn optional(p: *mut T) -> Option<Out<T>> {
        NonNull::new(p).map(Out)
    }

    /// Stores the value.
    pub(crate) fn write(self, value: T) {
        // SAFETY: non-NULL by construction; the caller promises room for one `T`. `write`
        // does not drop the previous (possibly uninitialized) contents.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// An output array `out[0..cap]`, checked before the call does anything.
pub(crate) struct OutSlice<T> {
    ptr: NonNull<T>,
    cap: usize,
}

impl<T> OutSlice<T> {
    /// Checks an output array: NULL → NULL_ARGUMENT, `cap` 0 → INVALID_ARGUMENT.
    pub(crate) fn new(p: *mut T, cap: usize) -> Result<OutSlice<T>, rak_result> {
        let ptr = NonNull::new(p).ok_or(rak_result::NullArgument)?;
        if cap == 0 {
            return Err(rak_result::InvalidArgument);
        }
        Ok(OutSlice { ptr, cap })
    }

    /// Capacity in elements.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// Stores `value` at `index` (< cap).
    pub(crate) fn write(&mut self, index: usize, value: T) {
        assert!(index < self.cap, "output index out of range");
        // SAFETY: index < cap, and the caller promises room for `cap` elements.
        unsafe { self.ptr.as_ptr().add(index).write(value) }
    }
}

/// Copies `s` plus a terminating NUL into `buf[0..cap]` and stores its length (without
/// the NUL) in `out_len`. Nothing is written unless all of it fits.
pub(crate) fn write_text(
    s: &str,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Result<(), rak_result> {
    let dst = NonNull::new(buf).ok_or(rak_result::NullArgument)?;
    let out_len = Out::new(out_len)?;
    if s.len() >= cap {
        return Err(rak_result::BufferTooSmall);
    }
    // SAFETY: `dst` is non-NULL with room for `cap` > s.len() bytes (the caller's promise);
    // `s` is our own string, so the regions cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), dst.as_ptr().cast::<u8>(), s.len());
        dst.as_ptr().add(s.len()).write(0);
    }
    out_len.write(s.len());
    Ok(())
}

/// Copies the first `size` bytes of `value` (at most all of it) to `out`: how a struct
/// the caller passes with its `sizeof` gets filled, so that a program built against an
/// older header, whose struct lacks the fields appended since, still works.
/// NULL `out` → NULL_ARGUMENT, `size` 0 → INVALID_ARGUMENT.
pub(crate) fn write_sized<T: Copy>(out: *mut T, size: usize, value: &T) -> Result<(), rak_result> {
    let dst = NonNull::new(out).ok_or(rak_result::NullArgument)?;
    if size == 0 {
        return Err(rak_result::InvalidArgument);
    }
    let n = size.min(std::mem::size_of::<T>());
    // SAFETY: the caller promises `size` writable bytes at `out`, and n <= size; the
    // source is our own value of at least n bytes, so the regions cannot overlap. The
    // destination is written as bytes, so its alignment does not matter.
    unsafe {
        std::ptr::copy_nonoverlapping(
            std::ptr::from_ref(value).cast::<u8>(),
            dst.as_ptr().cast::<u8>(),
            n,
        );
    }
    Ok(())
}
