//! Per-server configuration storage: one [`ServerState`] per `server_rec` (the main server and
//! each `<VirtualHost>` with a Jk directive), owned by a Box whose drop is registered as a
//! cleanup of the configuration pool, so each configuration generation frees its own.

use std::ffi::c_void;
use std::sync::Arc;

use jk_directives::{GlobalConf, ServerConf};

use crate::boundary::guard;
use crate::ffi;
use crate::generation::ServerRuntime;
use crate::module::module_ptr;

pub struct ServerState {
    /// What the Jk directives of this server said (for vhosts: after the httpd merge step,
    /// the effective values; see merge_server_config).
    pub conf: ServerConf,
    /// Process-wide directives (JkWorkersFile, JkShm*, …); only the main server's is used.
    pub global: GlobalConf,
    /// The server this state was created for. A vhost without any Jk directive shares the
    /// main server's state pointer; post_config detects that and gives it its own.
    pub server: *mut ffi::server_rec,
    /// Built in post_config for this generation; read by the request hooks.
    pub runtime: Option<Arc<ServerRuntime>>,
}

/// Allocates a state owned by `pool`.
///
/// # Safety
/// `pool` must be a live APR pool.
pub unsafe fn alloc_state(pool: *mut ffi::apr_pool_t, state: ServerState) -> *mut ServerState {
    // SAFETY: forwarded; the state is dropped with the configuration pool.
    unsafe { crate::pool_owned::give(pool, state) }
}

/// httpd's create_server_config callback.
pub unsafe extern "C" fn create_server_config(
    pool: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> *mut c_void {
    guard("create_server_config", std::ptr::null_mut(), || {
        // SAFETY: httpd passes its live server_rec.
        let is_virtual = !s.is_null() && unsafe { (*s).is_virtual } != 0;
        let st = ServerState {
            conf: ServerConf::new(is_virtual),
            global: GlobalConf::default(),
            server: s,
            runtime: None,
        };
        // SAFETY: `pool` is the live configuration pool.
        unsafe { alloc_state(pool, st) }.cast()
    })
}

/// httpd's merge_server_config callback: the vhost gets the effective values of the
/// directives that mod_jk inherits (jk-directives knows which); its own mounts stay its own.
pub unsafe extern "C" fn merge_server_config(
    pool: *mut ffi::apr_pool_t,
    base: *mut c_void,
    add: *mut c_void,
) -> *mut c_void {
    guard("merge_server_config", add, || {
        if base.is_null() || add.is_null() {
            return add;
        }
        // SAFETY: both are ServerState pointers we created; nothing else runs during merge.
        let (main, vhost) = unsafe { (&*base.cast::<ServerState>(), &*add.cast::<ServerState>()) };
        let st = ServerState {
            conf: ServerConf::merged(&main.conf, &vhost.conf),
            global: GlobalConf::default(),
            server: vhost.server,
            runtime: None,
        };
        // SAFETY: live configuration pool.
        unsafe { alloc_state(pool, st) }.cast()
    })
}

/// The state of server `s`.
///
/// # Safety
/// `s` must be a live server_rec of the current generation. The returned reference must not
/// be held across a point where httpd could replace the module config (only post_config does
/// that, single-threaded).
pub unsafe fn state_of<'a>(s: *const ffi::server_rec) -> Option<&'a mut ServerState> {
    // SAFETY: forwarded contract; every non-NULL entry for our module is a ServerState we
    // allocated.
    unsafe { state_ptr(s).map(|p| &mut *p) }
}

/// The state of server `s`, shared: what request threads use (several run at once, so they
/// must never make a `&mut` to it).
///
/// # Safety
/// As [`state_of`].
pub unsafe fn state_ref<'a>(s: *const ffi::server_rec) -> Option<&'a ServerState> {
    // SAFETY: forwarded contract.
    unsafe { state_ptr(s).map(|p| &*p) }
}

/// Our module's config entry of server `s`, if any.
///
/// # Safety
/// `s` must be NULL or a live server_rec.
unsafe fn state_ptr(s: *const ffi::server_rec) -> Option<*mut ServerState> {
    if s.is_null() {
        return None;
    }
    // SAFETY: `module_config` of a live server_rec is a valid config vector.
    let p = unsafe { ffi::jk_shim_get_module_config((*s).module_config, module_ptr()) };
    (!p.is_null()).then(|| p.cast::<ServerState>())
}

/// Replaces the state of server `s`.
///
/// # Safety
/// `s` must be a live server_rec; `st` a state allocated with [`alloc_state`].
pub unsafe fn set_state(s: *mut ffi::server_rec, st: *mut ServerState) {
    // SAFETY: forwarded contract.
    unsafe { ffi::jk_shim_set_module_config((*s).module_config, module_ptr(), st.cast()) }
}
