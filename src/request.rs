//! A thin adapter over `request_rec`: the accessors the hooks need, with the unsafe pointer
//! work in one place.

use std::ffi::{c_char, CStr, CString};

use crate::cstr::{opt_bytes, pmemdup};
use crate::ffi;

/// The handler name mod_jk registers (`SetHandler jakarta-servlet`).
pub const JK_HANDLER: &CStr = c"jakarta-servlet";
/// The handler mod_dir uses for directory requests.
pub const DIR_MAGIC_TYPE: &CStr = c"httpd/unix-directory";

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

    /// `r->handler` as bytes (no copy: every request of the server asks our handler hook).
    pub fn handler(&self) -> Option<&[u8]> {
        // SAFETY: as for uri.
        unsafe { opt_bytes(self.rec().handler) }
    }

    /// Whether `r->handler` is `h`.
    pub fn handler_is(&self, h: &CStr) -> bool {
        self.handler() == Some(h.to_bytes())
    }

    /// Sets `r->handler` to a static name (httpd keeps the pointer; nothing is copied).
    pub fn set_handler(&self, h: &'static CStr) {
        // SAFETY: httpd gives this thread exclusive use of the live request; the name is
        // static, so it outlives the request.
        unsafe { (*self.0).handler = h.as_ptr() };
    }

    fn table_get(table: *mut ffi::apr_table_t, key: &str) -> Option<String> {
        // SAFETY: a live request table; the value is copied before the borrow ends.
        unsafe { table_get_bytes(table, key) }.map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Sets `key` (static: the table keeps the pointer) to a pool copy of `val`.
    fn table_set(&self, table: *mut ffi::apr_table_t, key: &'static CStr, val: &[u8]) {
        if table.is_null() {
            return;
        }
        // SAFETY: the value is copied into the request pool and the key is static;
        // apr_table_setn keeps both pointers, which outlive the request.
        unsafe {
            let v = pmemdup(self.pool(), val);
            ffi::apr_table_setn(table, key.as_ptr(), v);
        }
    }

    /// Adds the load balancer's `JK_LB_FIRST_*` and `JK_LB_LAST_*` notes (none is present
    /// yet: they are added once per request). Each member's ten values are written once,
    /// into one block of the request pool; when the last notes are the first's, both keys
    /// point at the same strings. No heap allocation, no scan of the notes table, no
    /// `core::fmt` (callgrind: the twenty notes cost ~8k instructions per request through
    /// `write!` and a copy each, issue 17).
    pub fn add_lb_notes(&self, notes: &jk_lb::Notes<'_>) {
        let table = self.rec().notes;
        if table.is_null() {
            return;
        }
        let add = |keys: &[&'static std::ffi::CStr; 10], values: &[*const c_char; 10]| {
            for (k, v) in keys.iter().zip(values) {
                // SAFETY: a live table; static keys, values in the request pool.
                unsafe { ffi::apr_table_addn(table, k.as_ptr(), *v) };
            }
        };
        let first = notes.first.as_ref().map(|v| self.note_strings(v));
        if let Some(f) = &first {
            add(&jk_lb::FIRST_NOTE_KEYS, f);
        }
        match (&notes.last, &first) {
            (Some(jk_lb::LastNotes::SameAsFirst), Some(f)) => add(&jk_lb::LAST_NOTE_KEYS, f),
            (Some(jk_lb::LastNotes::Values(v)), _) => {
                add(&jk_lb::LAST_NOTE_KEYS, &self.note_strings(v));
            }
            _ => {}
        }
    }

    /// Ten note values as NUL-terminated strings in one block of the request pool (a text
    /// is cut at an interior NUL, as every string we hand to httpd).
    fn note_strings(&self, values: &jk_lb::NoteValues<'_>) -> [*const c_char; 10] {
        let mut digits = [itoa::Buffer::new(); 10];
        let mut bytes: [&[u8]; 10] = [&[]; 10];
        for ((b, v), d) in bytes.iter_mut().zip(values).zip(digits.iter_mut()) {
            *b = match v {
                jk_lb::NoteValue::Text(t) => {
                    let t = t.as_bytes();
                    &t[..t.iter().position(|&c| c == 0).unwrap_or(t.len())]
                }
                jk_lb::NoteValue::Number(n) => d.format(*n).as_bytes(),
            };
        }
        let total: usize = bytes.iter().map(|b| b.len() + 1).sum();
        let mut out = [std::ptr::null::<c_char>(); 10];
        // SAFETY: apr_palloc returns `total` writable bytes from the live request pool (or
        // aborts on OOM); each value and its NUL are written inside them.
        unsafe {
            let block = ffi::apr_palloc(self.pool(), total).cast::<u8>();
            let mut at = 0;
            for (o, b) in out.iter_mut().zip(bytes) {
                std::ptr::copy_nonoverlapping(b.as_ptr(), block.add(at), b.len());
                *block.add(at + b.len()) = 0;
                *o = block.add(at).cast::<c_char>().cast_const();
                at += b.len() + 1;
            }
        }
        out
    }

    /// A HEAD request (httpd sends no body).
    pub fn is_head_request(&self) -> bool {
        self.rec().header_only != 0
    }

    pub fn note(&self, key: &CStr) -> Option<String> {
        self.note_bytes(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Note `key` as the bytes the table holds (borrowed from the request pool).
    pub fn note_bytes(&self, key: &CStr) -> Option<&[u8]> {
        // SAFETY: the live request's notes; values live in the request pool.
        unsafe { table_get_cstr(self.rec().notes, key) }
    }

    /// Whether note `key` is set (no copy of its value: the hooks ask this of every request).
    pub fn has_note(&self, key: &CStr) -> bool {
        self.note_bytes(key).is_some()
    }

    pub fn set_note(&self, key: &'static CStr, val: &str) {
        self.table_set(self.rec().notes, key, val.as_bytes())
    }

    /// Sets note `key` to bytes (a number formatted on the stack, say).
    pub fn set_note_bytes(&self, key: &'static CStr, val: &[u8]) {
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
    // A key that holds a NUL cannot be looked up as itself: it takes the slow path below,
    // whose CString::new refuses it. The check runs over the whole fixed-size buffer
    // (filled with 0xFF past the key), which compiles to a few vector instructions; a
    // memchr call per lookup cost more than the copy (callgrind, issue 17).
    let mut stack = [0xFFu8; 64];
    let heap;
    let short = key.len() < stack.len();
    let clean = short && {
        stack[..key.len()].copy_from_slice(key.as_bytes());
        !stack.iter().fold(false, |nul, &b| nul | (b == 0))
    };
    if clean {
        stack[key.len()] = 0;
    }
    let key: &CStr = if clean {
        // SAFETY: the key's bytes hold no NUL (checked above) and the NUL after them was
        // just written: exactly one NUL, at the end.
        unsafe { CStr::from_bytes_with_nul_unchecked(&stack[..=key.len()]) }
    } else {
        heap = CString::new(key).ok()?;
        &heap
    };
    // SAFETY: forwarded contract.
    unsafe { table_get_cstr(table, key) }
}

/// [`table_get_bytes`] for a key that is a C string already (the notes' static keys): no
/// copy of the key.
///
/// # Safety
/// As for [`table_get_bytes`].
pub unsafe fn table_get_cstr<'a>(table: *mut ffi::apr_table_t, key: &CStr) -> Option<&'a [u8]> {
    if table.is_null() {
        return None;
    }
    // SAFETY: a live table and a NUL-terminated key that outlives the call.
    let v: *const c_char = unsafe { ffi::apr_table_get(table, key.as_ptr()) };
    // SAFETY: NULL or a string owned by the table's pool, living for 'a.
    unsafe { opt_bytes(v) }
}
