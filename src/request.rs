//! A thin adapter over `request_rec`: the accessors the hooks need, with the unsafe pointer
//! work in one place.

use std::ffi::{c_char, CString};

use crate::cstr::{opt_bytes, opt_str, pmemdup, pstrdup};
use crate::ffi;

/// The handler name mod_jk registers (`SetHandler jakarta-servlet`).
pub const JK_HANDLER: &str = "jakarta-servlet";
/// The handler mod_dir uses for directory requests.
pub const DIR_MAGIC_TYPE: &str = "httpd/unix-directory";

/// A request being processed by one httpd thread.
#[derive(Clone, Copy)]
pub struct Req(*mut ffi::request_rec);

impl Req {
    /// # Safety
    /// `r` must be a live request_rec for as long as this value is used, on the thread
    /// httpd is processing it on.
    pub unsafe fn new(r: *mut ffi::request_rec) -> Option<Req> {
        (!r.is_null()).then_some(Req(r))
    }

    pub fn raw(self) -> *mut ffi::request_rec {
        self.0
    }

    fn rec(&self) -> &ffi::request_rec {
        // SAFETY: non-NULL and live by construction.
        unsafe { &*self.0 }
    }

    pub fn pool(&self) -> *mut ffi::apr_pool_t {
        self.rec().pool
    }

    pub fn server(&self) -> *mut ffi::server_rec {
        self.rec().server
    }

    pub fn main(&self) -> Option<Req> {
        // SAFETY: r->main is NULL or the live parent request.
        unsafe { Req::new(self.rec().main) }
    }

    pub fn is_proxy(&self) -> bool {
        self.rec().proxyreq != 0
    }

    /// `r->uri` as httpd holds it: %-decoded bytes, not necessarily UTF-8. The string lives
    /// in the request pool, so it stays valid after [`Req::set_uri`] points `r->uri`
    /// elsewhere.
    pub fn uri(&self) -> Option<&[u8]> {
        // SAFETY: NULL or a NUL-terminated pool string that lives as long as the request.
        unsafe { opt_bytes(self.rec().uri) }
    }

    /// The `r->uri` pointer itself (kept by mod_jk as the URI before normalisation).
    pub fn uri_ptr(&self) -> *const c_char {
        self.rec().uri
    }

    pub fn set_uri(&self, uri: &[u8]) {
        // SAFETY: request pool is live; httpd owns the string through the pool.
        let v = unsafe { pmemdup(self.pool(), uri) }.cast_mut();
        // SAFETY: httpd gives this thread exclusive use of the live request.
        unsafe { (*self.0).uri = v };
    }

    /// `r->filename` as bytes (a path need not be UTF-8).
    pub fn filename(&self) -> Option<&[u8]> {
        // SAFETY: as for uri.
        unsafe { opt_bytes(self.rec().filename) }
    }

    pub fn set_filename(&self, f: &[u8]) {
        // SAFETY: as for set_uri.
        let v = unsafe { pmemdup(self.pool(), f) }.cast_mut();
        // SAFETY: httpd gives this thread exclusive use of the live request.
        unsafe { (*self.0).filename = v };
    }

    pub fn handler(&self) -> Option<String> {
        // SAFETY: as for uri.
        unsafe { opt_str(self.rec().handler) }.map(|s| s.into_owned())
    }

    pub fn set_handler(&self, h: &str) {
        // SAFETY: as for set_uri.
        let v = unsafe { pstrdup(self.pool(), h) };
        // SAFETY: httpd gives this thread exclusive use of the live request.
        unsafe { (*self.0).handler = v };
    }

    fn table_get(table: *mut ffi::apr_table_t, key: &str) -> Option<String> {
        // SAFETY: a live request table; the value is copied before the borrow ends.
        unsafe { table_get_bytes(table, key) }.map(|v| String::from_utf8_lossy(v).into_owned())
    }

    fn table_set(&self, table: *mut ffi::apr_table_t, key: &str, val: &str) {
        if table.is_null() {
            return;
        }
        // SAFETY: strings copied into the request pool; apr_table_setn keeps the pointers,
        // which live as long as the request.
        unsafe {
            let k = pstrdup(self.pool(), key);
            let v = pstrdup(self.pool(), val);
            ffi::apr_table_setn(table, k, v);
        }
    }

    /// Adds the load balancer's `JK_LB_*` note `key` (not present yet: each is added once per
    /// request) with its value formatted into the request pool: no heap allocation and no
    /// scan of the notes table.
    pub fn add_lb_note(&self, key: &'static std::ffi::CStr, value: jk_lb::NoteValue<'_>) {
        let notes = self.rec().notes;
        if notes.is_null() {
            return;
        }
        let mut digits = [0u8; 20];
        let bytes = match value {
            jk_lb::NoteValue::Text(t) => t.as_bytes(),
            jk_lb::NoteValue::Number(n) => {
                use std::io::Write;
                let mut rest = &mut digits[..];
                // 20 bytes hold every u64.
                let _ = write!(rest, "{n}");
                let len = 20 - rest.len();
                &digits[..len]
            }
        };
        // SAFETY: the key is a static NUL-terminated string, the value a pool copy; both
        // outlive the request's notes table.
        unsafe {
            let v = pmemdup(self.pool(), bytes);
            ffi::apr_table_addn(notes, key.as_ptr(), v);
        }
    }

    /// A HEAD request (httpd sends no body).
    pub fn is_head_request(&self) -> bool {
        self.rec().header_only != 0
    }

    pub fn note(&self, key: &str) -> Option<String> {
        Self::table_get(self.rec().notes, key)
    }

    /// Whether note `key` is set (no copy of its value: the hooks ask this of every request).
    pub fn has_note(&self, key: &str) -> bool {
        // SAFETY: a live request table; only the presence is kept.
        unsafe { table_get_bytes(self.rec().notes, key) }.is_some()
    }

    pub fn set_note(&self, key: &str, val: &str) {
        self.table_set(self.rec().notes, key, val)
    }

    /// A variable of the request environment (`SetEnv`, `SetEnvIf`, mod_rewrite `E=`), as
    /// text for decisions (lossy for bytes that are not UTF-8: never forward this; the
    /// request facts read the bytes with [`Req::env_bytes`]).
    pub fn env(&self, key: &str) -> Option<String> {
        Self::table_get(self.rec().subprocess_env, key)
    }

    /// A variable of the request environment as the bytes httpd holds (borrowed from the
    /// request pool, valid for the request's life).
    pub fn env_bytes(&self, key: &str) -> Option<&[u8]> {
        // SAFETY: the live request's environment; values live in the request pool.
        unsafe { table_get_bytes(self.rec().subprocess_env, key) }
    }

    pub fn has_env(&self, key: &str) -> bool {
        self.env_bytes(key).is_some()
    }
}

/// The value of `key` in an APR table, as the bytes the table holds (no copy, no UTF-8
/// check). `None` when the table is NULL or has no such key.
///
/// # Safety
/// `table` must be NULL or a live table whose values outlive `'a` (a request's tables live
/// as long as its pool).
pub unsafe fn table_get_bytes<'a>(table: *mut ffi::apr_table_t, key: &str) -> Option<&'a [u8]> {
    if table.is_null() {
        return None;
    }
    // Keys are short names: NUL-terminate on the stack instead of allocating per lookup.
    let mut stack = [0u8; 64];
    let heap;
    let kp: *const c_char = if key.len() < stack.len() && !key.as_bytes().contains(&0) {
        stack[..key.len()].copy_from_slice(key.as_bytes());
        stack.as_ptr().cast()
    } else {
        heap = CString::new(key).ok()?;
        heap.as_ptr()
    };
    // SAFETY: a live table and a NUL-terminated key that outlives the call.
    let v: *const c_char = unsafe { ffi::apr_table_get(table, kp) };
    // SAFETY: NULL or a string owned by the table's pool, living for 'a.
    unsafe { opt_bytes(v) }
}
