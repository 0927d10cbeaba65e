//! Per-request state of mod_jk (mod_jk's `jk_request_conf`): the URI before normalisation and
//! the mount rule's extensions, kept in the request's config vector and freed with its pool.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use jk_urimap::RuleExtensions;

use crate::ffi;
use crate::module::module_ptr;
use crate::request::Req;

#[derive(Default)]
pub struct ReqState {
    /// `r->uri` before mod_jk replaced it by the normalised form (for the forwarded URI):
    /// the pointer itself, as mod_jk keeps it. The string lives in the request pool, so it
    /// outlives the replacement; its bytes are forwarded unchanged (no copy, no UTF-8).
    pub orig_uri: Option<*const c_char>,
    /// Extensions of the mount rule that mapped the request.
    pub ext: Option<Arc<RuleExtensions>>,
}

unsafe extern "C" fn drop_state(data: *mut c_void) -> ffi::apr_status_t {
    crate::boundary::guard("request cleanup", 0, || {
        if !data.is_null() {
            // SAFETY: the Box leaked in `state`, freed once with the request pool.
            drop(unsafe { Box::from_raw(data.cast::<ReqState>()) });
        }
        0
    })
}

unsafe extern "C" fn noop(_: *mut c_void) -> ffi::apr_status_t {
    0
}

/// The request's state, created on first use.
pub fn state<'a>(req: Req) -> &'a mut ReqState {
    let r = req.raw();
    // SAFETY: live request; the config vector entry for our module is NULL or our ReqState.
    unsafe {
        let p = ffi::jk_shim_get_module_config((*r).request_config, module_ptr());
        if !p.is_null() {
            return &mut *p.cast::<ReqState>();
        }
        let raw = Box::into_raw(Box::<ReqState>::default());
        ffi::apr_pool_cleanup_register((*r).pool, raw.cast(), Some(drop_state), Some(noop));
        ffi::jk_shim_set_module_config((*r).request_config, module_ptr(), raw.cast());
        &mut *raw
    }
}
