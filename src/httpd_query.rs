//! What the glue asks httpd about itself: the MPM's limits, the server list, the startup
//! state, and labels of servers as mod_jk prints them.

use std::ffi::c_int;

use crate::ffi;

/// The numeric `pthread_t` of the calling thread, as mod_jk prints it.
pub fn pthread_id() -> u64 {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as u64 }
}

/// mod_jk's label of a server in status output: the main server `name:port`, a virtual
/// host `name [addr:port]`.
///
/// # Safety
/// `s` must be a live `server_rec` of the current configuration.
pub unsafe fn server_label(s: *mut ffi::server_rec, main: bool) -> String {
    // SAFETY: forwarded contract.
    unsafe {
        let name = crate::cstr::opt_str((*s).server_hostname)
            .map(|n| n.into_owned())
            .unwrap_or_default();
        let port = (*s).port;
        if main {
            if port == 0 {
                name
            } else {
                format!("{name}:{port}")
            }
        } else {
            let addrs = (*s).addrs;
            let (ip, vport) = if addrs.is_null() || (*addrs).host_addr.is_null() {
                (String::from("*"), port)
            } else {
                let a = (*addrs).host_addr;
                let ip = crate::cstr::opt_str((*a).hostname)
                    .map(|h| h.into_owned())
                    .unwrap_or_else(|| "*".into());
                (ip, (*addrs).host_port)
            };
            format!("{name} [{ip}:{vport}]")
        }
    }
}

/// The most httpd children that can exist at once (ServerLimit): the child table's size.
pub fn hard_limit_daemons() -> usize {
    let mut n: c_int = 0;
    // SAFETY: ap_mpm_query writes one int.
    let rc = unsafe { ffi::ap_mpm_query(ffi::AP_MPMQ_HARD_LIMIT_DAEMONS as c_int, &mut n) };
    if rc != 0 || n <= 0 {
        256
    } else {
        n as usize
    }
}

/// Walks httpd's server list (main first).
///
/// # Safety
/// `main` must be httpd's live main server (or NULL).
pub unsafe fn servers(main: *mut ffi::server_rec) -> Vec<*mut ffi::server_rec> {
    let mut v = Vec::new();
    let mut s = main;
    while !s.is_null() {
        v.push(s);
        // SAFETY: the caller's contract: a NULL-terminated chain of live records.
        s = unsafe { (*s).next };
    }
    v
}

/// Worker threads per child (mod_jk's default connection_pool_size): 1 under prefork.
pub fn mpm_threads() -> u32 {
    let mut threaded: c_int = 0;
    let mut max: c_int = 1;
    // SAFETY: ap_mpm_query writes one int.
    unsafe {
        if ffi::ap_mpm_query(ffi::AP_MPMQ_IS_THREADED as c_int, &mut threaded) != 0 || threaded == 0
        {
            return 1;
        }
        if ffi::ap_mpm_query(ffi::AP_MPMQ_MAX_THREADS as c_int, &mut max) != 0 {
            return 1;
        }
    }
    max.max(1) as u32
}

pub fn run_mode() -> u32 {
    // SAFETY: plain query of httpd's state.
    unsafe { ffi::ap_state_query(ffi::AP_SQ_RUN_MODE as c_int) as u32 }
}

pub fn main_state() -> u32 {
    // SAFETY: plain query of httpd's state.
    unsafe { ffi::ap_state_query(ffi::AP_SQ_MAIN_STATE as c_int) as u32 }
}
