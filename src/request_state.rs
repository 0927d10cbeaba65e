//! Per-request state of mod_jk (mod_jk's `jk_request_conf`): the URI before normalisation and
//! the mount rule's extensions, kept in the request's config vector and freed with its pool.

use std::ffi::c_char;
use std::sync::Arc;

use jk_urimap::RuleExtensions;

use crate::ffi;
use crate::module::module_ptr;
use crate::request::Req;

#[derive(Default)]
struct ReqState {
    /// `r->uri` before mod_jk replaced it by the normalised form (for the forwarded URI):
    /// the pointer itself, as mod_jk keeps it. The string lives in the request pool, so it
    /// outlives the replacement; its bytes are forwarded unchanged (no copy, no UTF-8).
    orig_uri: Option<*const c_char>,
    /// Extensions of the mount rule that mapped the request.
    ext: Option<Arc<RuleExtensions>>,
}

/// Runs `f` on the request's state, created on first use; the borrow ends with `f`.
fn with_state<R>(req: Req, f: impl FnOnce(&mut ReqState) -> R) -> R {
    let r = req.raw();
    // SAFETY: live request; the config vector entry for our module is NULL or the ReqState
    // this function put there, owned by the request pool. The &mut lives only for `f`, and
    // a request is handled by one thread at a time.
    unsafe {
        let mut p =
            ffi::jk_shim_get_module_config((*r).request_config, module_ptr()).cast::<ReqState>();
        if p.is_null() {
            p = crate::pool_owned::give(req.pool(), ReqState::default());
            ffi::jk_shim_set_module_config((*r).request_config, module_ptr(), p.cast());
        }
        f(&mut *p)
    }
}

/// A mount rule mapped the request: keeps `r->uri` as it came (before the normalised form
/// replaces it) and the rule's extensions, for the handler.
pub fn remember_mapping(req: Req, ext: Arc<RuleExtensions>) {
    let uri = req.uri_ptr();
    with_state(req, |st| {
        st.orig_uri = Some(uri);
        st.ext = Some(ext);
    });
}

/// What [`remember_mapping`] kept: the original `r->uri` pointer and the rule's extensions.
pub fn mapping(req: Req) -> (Option<*const c_char>, Option<Arc<RuleExtensions>>) {
    with_state(req, |st| (st.orig_uri, st.ext.clone()))
}
