//! Conversions between C strings owned by httpd pools and Rust strings.

use std::ffi::{c_char, CStr};

use crate::ffi;

/// Borrows a NUL-terminated C string as `&str` (lossy for invalid UTF-8). `None` for NULL.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub unsafe fn opt_str<'a>(p: *const c_char) -> Option<std::borrow::Cow<'a, str>> {
    if p.is_null() {
        None
    } else {
        // SAFETY: caller guarantees a valid NUL-terminated string living for 'a.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy())
    }
}

/// Like [`opt_str`] but NULL becomes "".
///
/// # Safety
/// As for [`opt_str`].
pub unsafe fn str_or_empty<'a>(p: *const c_char) -> std::borrow::Cow<'a, str> {
    // SAFETY: forwarded contract.
    unsafe { opt_str(p) }.unwrap_or(std::borrow::Cow::Borrowed(""))
}

/// Copies `s` into `pool` as a NUL-terminated string (interior NULs are cut off).
///
/// # Safety
/// `pool` must be a live APR pool.
pub unsafe fn pstrdup(pool: *mut ffi::apr_pool_t, s: &str) -> *const c_char {
    let bytes = s.as_bytes();
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    // SAFETY: apr_pstrmemdup copies `len` bytes and appends a NUL, allocating from `pool`.
    unsafe { ffi::apr_pstrmemdup(pool, bytes.as_ptr().cast(), len) }
}
