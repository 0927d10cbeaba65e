//! Rust values owned by an APR pool: the one way the glue hands a value's lifetime to httpd.
//! The value is boxed and dropped by a cleanup of the pool (when the pool is cleared or
//! destroyed), inside the panic boundary.

use std::ffi::c_void;

use crate::ffi;

unsafe extern "C" fn drop_boxed<T>(data: *mut c_void) -> ffi::apr_status_t {
    crate::boundary::guard("pool cleanup", 0, || {
        if !data.is_null() {
            // SAFETY: `data` is the pointer Box::into_raw produced in `give` for this T, and a
            // registered cleanup runs exactly once.
            drop(unsafe { Box::from_raw(data.cast::<T>()) });
        }
        0
    })
}

unsafe extern "C" fn keep_in_forked_child(_: *mut c_void) -> ffi::apr_status_t {
    0
}

/// Moves `value` into `pool`: it is dropped when the pool is cleared or destroyed. Returns a
/// pointer to it, valid until then. A process forked from this one (`apr_proc_create`'s child
/// cleanups) does not drop it: the value belongs to the process that created the pool.
///
/// # Safety
/// `pool` must be a live APR pool; the caller must not use the pointer after the pool's
/// cleanups ran.
pub unsafe fn give<T: 'static>(pool: *mut ffi::apr_pool_t, value: T) -> *mut T {
    let raw = Box::into_raw(Box::new(value));
    // SAFETY: `pool` is live (caller's contract); the cleanup frees `raw` exactly once.
    unsafe {
        ffi::apr_pool_cleanup_register(
            pool,
            raw.cast(),
            Some(drop_boxed::<T>),
            Some(keep_in_forked_child),
        );
    }
    raw
}
