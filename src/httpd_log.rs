//! Bridge to httpd's own error log (`ErrorLog`), used for startup diagnostics, for panics
//! caught at the boundary, and as the mod_jk log when no `JkLogFile` is configured.

use std::ffi::{c_int, CString};
use std::ptr;

use crate::ffi;
use crate::module::module_ptr;

/// httpd error-log levels we use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpdLevel {
    Emerg,
    Err,
    Warning,
    Notice,
    Info,
    Debug,
}

impl HttpdLevel {
    fn raw(self) -> c_int {
        (match self {
            HttpdLevel::Emerg => ffi::APLOG_EMERG,
            HttpdLevel::Err => ffi::APLOG_ERR,
            HttpdLevel::Warning => ffi::APLOG_WARNING,
            HttpdLevel::Notice => ffi::APLOG_NOTICE,
            HttpdLevel::Info => ffi::APLOG_INFO,
            HttpdLevel::Debug => ffi::APLOG_DEBUG,
        }) as c_int
    }

    /// The httpd level a mod_jk level maps to.
    pub fn from_jk(level: jk_log::Level) -> HttpdLevel {
        match level {
            jk_log::Level::Trace | jk_log::Level::Debug => HttpdLevel::Debug,
            jk_log::Level::Info => HttpdLevel::Info,
            jk_log::Level::Warn => HttpdLevel::Warning,
            jk_log::Level::Error => HttpdLevel::Err,
            _ => HttpdLevel::Emerg,
        }
    }
}

fn c_message(msg: &str) -> CString {
    // Interior NULs cannot cross into C; replace them so nothing is lost silently.
    CString::new(msg.replace('\0', "\\0")).unwrap_or_default()
}

/// Logs `msg` for server `s` (NULL: the main server) at `level`.
/// `startup` adds APLOG_STARTUP: the line goes to stderr without a prefix, which is how
/// `apachectl configtest` shows configuration errors.
pub fn log_server(level: HttpdLevel, startup: bool, s: *const ffi::server_rec, msg: &str) {
    let c = c_message(msg);
    let mut lvl = level.raw();
    if startup {
        lvl |= ffi::APLOG_STARTUP as c_int;
    }
    // SAFETY: the shim reads module_index from our static record and passes `c` as a "%s"
    // argument; `s` is NULL or a server_rec owned by httpd for the duration of the call.
    unsafe {
        ffi::jk_shim_log_error(c"mod_jk.c".as_ptr(), 0, module_ptr(), lvl, 0, s, c.as_ptr());
    }
}

/// Reports a panic caught at an FFI boundary.
pub fn panic_report(what: &str, msg: &str) {
    log_server(
        HttpdLevel::Err,
        false,
        ptr::null(),
        &format!(
            "mod_jk: internal error (panic) in {what}: {msg}; request answered with the fallback"
        ),
    );
}
