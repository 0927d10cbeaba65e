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

/// Borrows a NUL-terminated C string as the bytes httpd holds (no UTF-8 check, nothing
/// replaced). `None` for NULL. What is forwarded to the backend is read with this, never
/// with [`opt_str`]: httpd's URIs, query strings and variables need not be UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub unsafe fn opt_bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        None
    } else {
        // SAFETY: caller guarantees a valid NUL-terminated string living for 'a.
        Some(unsafe { CStr::from_ptr(p) }.to_bytes())
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
    // SAFETY: forwarded contract.
    unsafe { pmemdup(pool, s.as_bytes()) }
}

/// Copies `bytes` into `pool` as a NUL-terminated string (cut at an interior NUL).
///
/// # Safety
/// `pool` must be a live APR pool.
pub unsafe fn pmemdup(pool: *mut ffi::apr_pool_t, bytes: &[u8]) -> *const c_char {
    let len = memchr::memchr(0, bytes).unwrap_or(bytes.len());
    // SAFETY: apr_pstrmemdup copies `len` bytes and appends a NUL, allocating from `pool`.
    unsafe { ffi::apr_pstrmemdup(pool, bytes.as_ptr().cast(), len) }
}

/// Concatenates `parts` into `pool` as one NUL-terminated string (each part cut at an
/// interior NUL).
///
/// # Safety
/// `pool` must be a live APR pool.
pub unsafe fn pconcat(pool: *mut ffi::apr_pool_t, parts: &[&[u8]]) -> *const c_char {
    let cut = |p: &[u8]| memchr::memchr(0, p).unwrap_or(p.len());
    let total: usize = parts.iter().map(|p| cut(p)).sum();
    // SAFETY: apr_palloc returns `total + 1` writable bytes from `pool` (or aborts on OOM).
    unsafe {
        let dst = ffi::apr_palloc(pool, total + 1).cast::<u8>();
        let mut at = 0;
        for p in parts {
            let n = cut(p);
            std::ptr::copy_nonoverlapping(p.as_ptr(), dst.add(at), n);
            at += n;
        }
        *dst.add(total) = 0;
        dst.cast_const().cast()
    }
}
