//! The httpd hooks. Each is a thin `extern "C"` shell around safe Rust, behind the panic
//! boundary; the order and the decisions follow mod_jk's (reference §1.1, §1.2, §4, §8.2).

use std::ffi::c_int;
use std::ptr;
use std::time::Instant;

use jk_log::Level;

use crate::boundary::guard;
use crate::ffi;
use crate::generation::{self, ServerRuntime};
use crate::request::{Req, DIR_MAGIC_TYPE, JK_HANDLER};
use crate::startup;

const OK: c_int = ffi::OK as c_int;
const DECLINED: c_int = ffi::DECLINED;
const HTTP_BAD_REQUEST: c_int = ffi::HTTP_BAD_REQUEST as c_int;
const HTTP_FORBIDDEN: c_int = ffi::HTTP_FORBIDDEN as c_int;
const HTTP_NOT_FOUND: c_int = ffi::HTTP_NOT_FOUND as c_int;
const HTTP_INTERNAL_SERVER_ERROR: c_int = ffi::HTTP_INTERNAL_SERVER_ERROR as c_int;

/// Request notes mod_jk sets (usable as `%{NAME}n` in LogFormat).
pub const NOTE_WORKER_NAME: &std::ffi::CStr = c"JK_WORKER_NAME";
pub const NOTE_WORKER_TYPE: &std::ffi::CStr = c"JK_WORKER_TYPE";
pub const NOTE_REQUEST_DURATION: &std::ffi::CStr = c"JK_REQUEST_DURATION";

pub unsafe extern "C" fn register_hooks(_p: *mut ffi::apr_pool_t) {
    guard("register_hooks", (), || {
        crate::boundary::install_quiet_panic_hook();
        let mid = ffi::APR_HOOK_MIDDLE as c_int;
        // SAFETY: registering static functions with httpd's hook tables during module load.
        unsafe {
            ffi::ap_hook_check_config(Some(check_config), ptr::null(), ptr::null(), mid);
            ffi::ap_hook_post_config(Some(post_config), ptr::null(), ptr::null(), mid);
            ffi::ap_hook_child_init(Some(child_init), ptr::null(), ptr::null(), mid);
            ffi::ap_hook_translate_name(Some(translate_name), ptr::null(), ptr::null(), mid);
            ffi::ap_hook_map_to_storage(Some(map_to_storage), ptr::null(), ptr::null(), mid);
            ffi::ap_hook_handler(Some(handler), ptr::null(), ptr::null(), mid);
            ffi::ap_hook_log_transaction(Some(log_transaction), ptr::null(), ptr::null(), mid);
        }
    })
}

/// Runs after all directives are read, also for `apachectl configtest` (`apache2 -t`): the
/// whole configuration (workers.properties, mounts, mount files) is built and checked here,
/// so a broken one is rejected before anything starts, with FILE:LINE messages on stderr.
unsafe extern "C" fn check_config(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> c_int {
    guard("check_config", HTTP_INTERNAL_SERVER_ERROR, || {
        // SAFETY: httpd passes its live main server and configuration pool.
        match unsafe { startup::check(pconf, s) } {
            Ok(()) => OK,
            Err(()) => HTTP_INTERNAL_SERVER_ERROR,
        }
    })
}

unsafe extern "C" fn post_config(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> c_int {
    guard("post_config", HTTP_INTERNAL_SERVER_ERROR, || {
        // SAFETY: as for check_config.
        match unsafe { startup::start_generation(pconf, s) } {
            Ok(()) => OK,
            Err(()) => HTTP_INTERNAL_SERVER_ERROR,
        }
    })
}

unsafe extern "C" fn child_init(pchild: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) {
    // SAFETY: httpd passes the child's pool and the main server.
    guard("child_init", (), || unsafe {
        crate::child::init(pchild, s)
    })
}

/// The normalised URI's mapping for this request, honouring `no-jk` and proxy requests.
enum Mapping {
    Skip,
    BadRequest,
    Unmapped {
        clean: Option<Vec<u8>>,
    },
    Mapped {
        m: jk_urimap::MatchResult,
        clean: Vec<u8>,
    },
}

fn map_request(req: Req, rt: &ServerRuntime) -> Mapping {
    if req.is_proxy() || req.has_env("no-jk") {
        return Mapping::Skip;
    }
    // The decoded URI's bytes (not necessarily UTF-8): normalised and matched as bytes.
    let Some(uri) = req.uri() else {
        return Mapping::Skip;
    };
    if uri.is_empty() || uri == b"*" {
        // File-based sub-requests and `OPTIONS *` are never mapped.
        return Mapping::Skip;
    }
    let clean = match jk_urimap::normalize(uri) {
        Ok(c) => c,
        Err(e) => {
            rt.log(Level::Info, &format!("rejecting URI: {e}"));
            return Mapping::BadRequest;
        }
    };
    match rt.map_uri(&clean) {
        Some(m) => Mapping::Mapped { m, clean },
        None => Mapping::Unmapped { clean: Some(clean) },
    }
}

fn mark_mapped(req: Req, m: &jk_urimap::MatchResult, clean: &[u8]) {
    let worker: &str = &m.worker;
    crate::request_state::remember_mapping(req, m.ext.clone());
    req.set_handler(JK_HANDLER);
    req.set_note(NOTE_WORKER_NAME, worker);
    req.set_uri(clean);
    // A sub-request (e.g. from mod_dir) carries the decision to its main request.
    if let Some(main) = req.main() {
        main.set_handler(JK_HANDLER);
        main.set_note(NOTE_WORKER_NAME, worker);
    }
}

unsafe extern "C" fn translate_name(r: *mut ffi::request_rec) -> c_int {
    guard("translate_name", DECLINED, || {
        // SAFETY: httpd passes a live request.
        let Some(req) = (unsafe { Req::new(r) }) else {
            return DECLINED;
        };
        if req.handler_is(JK_HANDLER) {
            return DECLINED;
        }
        let Some(rt) = generation::for_request(req) else {
            return DECLINED;
        };
        match map_request(req, &rt) {
            Mapping::Skip => DECLINED,
            Mapping::BadRequest => HTTP_BAD_REQUEST,
            Mapping::Mapped { m, clean } => {
                mark_mapped(req, &m, &clean);
                // OK: core translation (DocumentRoot) is skipped for forwarded requests.
                OK
            }
            Mapping::Unmapped { clean } => match (rt.auto_alias_dir(), clean) {
                (Some(dir), Some(clean)) => {
                    let is_dir = |p: &[u8]| {
                        use std::os::unix::ffi::OsStrExt;
                        std::path::Path::new(std::ffi::OsStr::from_bytes(p)).is_dir()
                    };
                    match jk_urimap::auto_alias_decision(dir, &clean, is_dir) {
                        jk_urimap::AutoAlias::NotFound404 => HTTP_NOT_FOUND,
                        jk_urimap::AutoAlias::Forbidden403 => HTTP_FORBIDDEN,
                        jk_urimap::AutoAlias::ServeFile(f) => {
                            req.set_filename(&f);
                            OK
                        }
                        jk_urimap::AutoAlias::Decline => DECLINED,
                    }
                }
                _ => DECLINED,
            },
        }
    })
}

unsafe extern "C" fn map_to_storage(r: *mut ffi::request_rec) -> c_int {
    guard("map_to_storage", DECLINED, || {
        // SAFETY: httpd passes a live request.
        let Some(req) = (unsafe { Req::new(r) }) else {
            return DECLINED;
        };
        let Some(rt) = generation::for_request(req) else {
            return DECLINED;
        };
        if !req.has_note(NOTE_WORKER_NAME) && !req.handler_is(JK_HANDLER) {
            match map_request(req, &rt) {
                Mapping::BadRequest => return HTTP_BAD_REQUEST,
                Mapping::Mapped { m, clean } => mark_mapped(req, &m, &clean),
                Mapping::Skip => return DECLINED,
                Mapping::Unmapped { .. } => {
                    // JkStripSession: only for requests that are not forwarded.
                    if let Some(ident) = rt.strip_session_identifier() {
                        if let Some(u) = req.uri().and_then(|u| jk_urimap::strip_session(u, ident))
                        {
                            req.set_uri(&u);
                        }
                        if let Some(f) = req
                            .filename()
                            .and_then(|f| jk_urimap::strip_session(f, ident))
                        {
                            req.set_filename(&f);
                        }
                    }
                    return DECLINED;
                }
            }
        }
        if req.has_note(NOTE_WORKER_NAME) {
            // Forwarded requests skip the directory walk: <Directory>, <Files> and
            // .htaccess do not apply to them (as with mod_jk); <Location> still does.
            let uri = req.uri().unwrap_or_default();
            let last = uri.rsplit(|&b| b == b'/').next().unwrap_or_default();
            req.set_filename(last);
            return OK;
        }
        DECLINED
    })
}

unsafe extern "C" fn handler(r: *mut ffi::request_rec) -> c_int {
    guard("handler", HTTP_INTERNAL_SERVER_ERROR, || {
        // SAFETY: httpd passes a live request.
        let Some(req) = (unsafe { Req::new(r) }) else {
            return DECLINED;
        };
        let h = req.handler();
        let is_dir = h == Some(DIR_MAGIC_TYPE.to_bytes());
        if !is_dir && h != Some(JK_HANDLER.to_bytes()) {
            return DECLINED;
        }
        if req.has_env("no-jk") {
            return DECLINED;
        }
        let Some(rt) = generation::for_request(req) else {
            return DECLINED;
        };
        // Debug builds only (the integration tests): proves a panic is caught at the boundary.
        #[cfg(debug_assertions)]
        if req.env("JK_TEST_FAULT").as_deref() == Some("panic") {
            panic!("fault injected by JK_TEST_FAULT=panic");
        }
        if is_dir && !rt.forward_directories() {
            return DECLINED;
        }
        // Worker choice (reference §1.2): the mapping note, then the indicator variable,
        // then the URI map again (for a handler set by SetHandler).
        // The note set at mapping time is borrowed (no copy, and it need not be set again).
        let worker_name: Option<std::borrow::Cow<'_, str>> = match req.note_bytes(NOTE_WORKER_NAME)
        {
            Some(w) => Some(String::from_utf8_lossy(w)),
            None => {
                let named = match req.env(rt.worker_indicator()) {
                    Some(spec) => Some(spec.split(';').next().unwrap_or("").to_string()),
                    None => match map_request(req, &rt) {
                        Mapping::BadRequest => return HTTP_BAD_REQUEST,
                        Mapping::Mapped { m, clean } => {
                            crate::request_state::remember_mapping(req, m.ext.clone());
                            req.set_uri(&clean);
                            Some(m.worker.to_string())
                        }
                        _ => None,
                    },
                };
                if let Some(w) = &named {
                    req.set_note(NOTE_WORKER_NAME, w);
                }
                named.map(std::borrow::Cow::Owned)
            }
        };
        // Debian's mod_jk (CVE-2023-41081 fix): no worker named => not ours.
        let Some(worker_name) = worker_name else {
            return DECLINED;
        };
        if req.is_proxy() {
            rt.log(
                Level::Info,
                &format!("Proxy request for worker={worker_name} is not allowed"),
            );
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        let Some(worker) = rt.worker(&worker_name) else {
            rt.log(
                Level::Error,
                &format!("Could not find a worker for worker name={worker_name}"),
            );
            return HTTP_INTERNAL_SERVER_ERROR;
        };
        let kind_name = worker.worker_type().as_str();
        req.set_note(NOTE_WORKER_TYPE, kind_name);
        rt.check_shm(false);
        rt.maybe_maintain();
        let started = Instant::now();
        let rc = crate::serve::serve(req, &rt, &worker_name, &worker.kind);
        // What this request ran into in shared memory is logged now, not at the next one.
        rt.check_shm(false);
        let mut buf = [0u8; 32];
        req.set_note_bytes(
            NOTE_REQUEST_DURATION,
            duration_text(started.elapsed(), &mut buf),
        );
        rc
    })
}

/// `JK_REQUEST_DURATION`'s text: seconds, a dot and six digits of microseconds
/// ("0.000412", as mod_jk writes it), formatted into `buf` (no `core::fmt`, no heap).
fn duration_text(d: std::time::Duration, buf: &mut [u8; 32]) -> &[u8] {
    let mut secs = itoa::Buffer::new();
    let secs = secs.format(d.as_secs()).as_bytes();
    let n = secs.len();
    buf[..n].copy_from_slice(secs);
    buf[n] = b'.';
    let mut m = d.subsec_micros();
    for i in (1..=6).rev() {
        buf[n + i] = b'0' + (m % 10) as u8;
        m /= 10;
    }
    &buf[..n + 7]
}

unsafe extern "C" fn log_transaction(r: *mut ffi::request_rec) -> c_int {
    guard("log_transaction", DECLINED, || {
        // SAFETY: httpd passes a live request.
        let Some(req) = (unsafe { Req::new(r) }) else {
            return DECLINED;
        };
        if !req.has_note(NOTE_WORKER_TYPE) {
            return DECLINED;
        }
        if let Some(rt) = generation::for_request(req) {
            rt.write_request_log(req);
        }
        DECLINED
    })
}
