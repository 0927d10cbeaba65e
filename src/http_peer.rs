//! The HTTP side of a forwarded request: reads the client's body and writes the backend's
//! response through httpd (reference §7.9, `ws_read`/`ws_start_response`/`ws_write`).

use std::ffi::{c_char, c_int};
use std::io;

use crate::cstr::{opt_str, pconcat, pmemdup};
use crate::ffi;
use crate::request::Req;

pub struct HttpPeer {
    req: Req,
    read_started: bool,
    /// Response body bytes received for the client (buffered or passed to httpd).
    pub written: u64,
    /// The response body not yet passed to httpd's output filters (see [`Output`]).
    out: Output,
    pub headers_sent: bool,
    /// Something was flushed to the client (headers or body may be on the wire).
    pub flushed: bool,
    /// `use_server_errors=N` mount extension: backend answers with status >= N are swallowed
    /// and httpd produces its own error page (0 = off).
    pub server_errors_from: u16,
    /// The backend status that was swallowed for httpd's error page.
    pub swallowed: Option<u16>,
    /// Headers added after the backend's (the load balancer's generated session cookie).
    pub extra_headers: Vec<(String, String)>,
    /// HEAD request (the response has no body).
    pub is_head: bool,
}

impl HttpPeer {
    pub fn new(req: Req) -> HttpPeer {
        HttpPeer {
            req,
            read_started: false,
            written: 0,
            out: Output {
                filters: std::ptr::null_mut(),
                bb: std::ptr::null_mut(),
                passed: false,
            },
            headers_sent: false,
            flushed: false,
            server_errors_from: 0,
            swallowed: None,
            extra_headers: Vec::new(),
            is_head: false,
        }
    }

    fn r(&self) -> *mut ffi::request_rec {
        self.req.raw()
    }

    fn table_set_bytes(&self, table: *mut ffi::apr_table_t, k: &[u8], v: &[u8], add: bool) {
        // SAFETY: strings copied into the request pool; the table belongs to the live request.
        unsafe {
            let kp = pmemdup(self.req.pool(), k);
            let vp = pmemdup(self.req.pool(), v);
            if add {
                ffi::apr_table_addn(table, kp, vp);
            } else {
                ffi::apr_table_setn(table, kp, vp);
            }
        }
    }
}

/// The reason phrase httpd knows for `status`, or mod_jk's "Unknown Reason".
fn default_reason(status: u16) -> String {
    // SAFETY: ap_get_status_line returns a static string ("500 Internal..." for unknown codes).
    let line = unsafe { opt_str(ffi::ap_get_status_line(c_int::from(status))) }
        .map(|s| s.into_owned())
        .unwrap_or_default();
    if status != 500 && line.starts_with("500 ") {
        "Unknown Reason".to_string()
    } else {
        line.get(4..).unwrap_or("").to_string()
    }
}

/// The start of a response body, held back in a brigade of our own until it outgrows one
/// buffer (8000 bytes, as `ap_rwrite` buffers), the backend flushes or the response ends.
/// While nothing was passed to httpd's output filters, the response can still be replaced:
/// a backend that breaks after its headers and part of the body gets the client a clean 502
/// (or another member's whole answer), not a truncated answer on an aborted connection.
struct Output {
    /// The request's output filter chain (set with the brigade).
    filters: *mut ffi::ap_filter_t,
    /// Created in the request pool on the first body write.
    bb: *mut ffi::apr_bucket_brigade,
    /// Something went down the filter chain: the status and headers are committed.
    passed: bool,
}

fn client_gone_unless(rv: ffi::apr_status_t) -> io::Result<()> {
    if rv == ffi::APR_SUCCESS as ffi::apr_status_t {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "the client went away",
        ))
    }
}

/// `apr_brigade_write`'s flush callback: passes the full brigade down the filter chain.
unsafe extern "C" fn pass_down(
    bb: *mut ffi::apr_bucket_brigade,
    ctx: *mut std::ffi::c_void,
) -> ffi::apr_status_t {
    // SAFETY: ctx is the `Output` of the peer that is writing (alive for the call).
    let out = unsafe { &mut *ctx.cast::<Output>() };
    out.passed = true;
    // SAFETY: a live brigade and the request's live filter chain; ap_filter_flush passes
    // the brigade and empties it.
    unsafe { ffi::ap_filter_flush(bb, out.filters.cast()) }
}

impl HttpPeer {
    /// True while nothing has reached httpd's output: an error status can still replace the
    /// backend's partial answer (httpd then sends its own error page).
    pub fn can_still_fail(&self) -> bool {
        !self.out.passed && !self.flushed
    }

    /// Passes the body held back to httpd's output filters (a flush). An error means the
    /// client went away.
    pub fn send_held_body(&mut self) -> io::Result<()> {
        if self.out.bb.is_null() || self.nothing_held() {
            return Ok(());
        }
        let ctx: *mut Output = &mut self.out;
        // SAFETY: our live brigade; pass_down runs within this call.
        let rv = unsafe { pass_down(self.out.bb, ctx.cast()) };
        client_gone_unless(rv)
    }

    /// Ends the response: the body held back and the end of stream go down the filter chain
    /// together (as httpd's own buffered writes do, so its content-length filter sets the
    /// length of a body it saw whole). A response with nothing held is ended by httpd's
    /// finalisation. An error means the client went away.
    pub fn end_body(&mut self) -> io::Result<()> {
        if self.out.bb.is_null() || self.nothing_held() {
            return Ok(());
        }
        self.out.passed = true;
        // SAFETY: live request and our live brigade; the shim empties it.
        let rv = unsafe { ffi::jk_shim_pass_with_eos(self.r(), self.out.bb) };
        client_gone_unless(rv)
    }

    fn nothing_held(&self) -> bool {
        let mut len: ffi::apr_off_t = 0;
        // SAFETY: our live brigade (heap buckets: their length is known without reading).
        unsafe { ffi::apr_brigade_length(self.out.bb, 0, &mut len) };
        len == 0
    }

    /// Forgets the backend's status line, headers, content type and length, so httpd's error
    /// response or another member's answer starts clean.
    pub fn discard_response(&mut self) {
        if !self.headers_sent && self.swallowed.is_none() && self.written == 0 {
            return;
        }
        let r = self.r();
        // SAFETY: live request; resetting what start_response set on it.
        unsafe {
            (*r).status = ffi::HTTP_OK as std::ffi::c_int;
            (*r).status_line = std::ptr::null();
            (*r).content_type = std::ptr::null();
            (*r).clength = 0;
            ffi::apr_table_clear((*r).headers_out);
            if self.swallowed == Some(401) {
                // The challenge kept for httpd's own 401 page.
                ffi::apr_table_unset((*r).err_headers_out, c"WWW-Authenticate".as_ptr());
            }
        }
        if !self.out.bb.is_null() {
            // SAFETY: our live brigade; its buckets were never passed on.
            unsafe { ffi::apr_brigade_cleanup(self.out.bb.cast()) };
        }
        self.written = 0;
        self.headers_sent = false;
        self.swallowed = None;
    }
}

impl jk_ajp_client::Peer for HttpPeer {
    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.r();
        if !self.read_started {
            // SAFETY: live request; ap_setup_client_block was called by the handler.
            if unsafe { ffi::ap_should_client_block(r) } == 0 {
                return Ok(0);
            }
            self.read_started = true;
        }
        // SAFETY: live request, buffer of buf.len() bytes.
        let n =
            unsafe { ffi::ap_get_client_block(r, buf.as_mut_ptr().cast::<c_char>(), buf.len()) };
        if n < 0 {
            Err(io::Error::other(
                "reading the request body from the client failed",
            ))
        } else {
            Ok(n as usize)
        }
    }

    fn start_response(
        &mut self,
        status: u16,
        reason: &[u8],
        headers: &[(&[u8], &[u8])],
    ) -> io::Result<()> {
        let r = self.r();
        if self.server_errors_from > 0 && status >= self.server_errors_from {
            // httpd answers with its own error page; only the challenge of a 401 is kept.
            self.swallowed = Some(status);
            if status == 401 {
                // SAFETY: the request's error header table is live.
                let err_out = unsafe { (*r).err_headers_out };
                for (name, value) in headers {
                    if name.eq_ignore_ascii_case(b"WWW-Authenticate") {
                        self.table_set_bytes(err_out, name, value, false);
                    }
                }
            }
            return Ok(());
        }
        let mut digits = itoa::Buffer::new();
        let code = digits.format(status).as_bytes();
        // SAFETY: live request; the status line is copied into its pool.
        unsafe {
            (*r).status = c_int::from(status);
            (*r).status_line = if reason.is_empty() {
                let d = default_reason(status);
                pconcat(self.req.pool(), &[code, b" ", d.as_bytes()])
            } else {
                pconcat(self.req.pool(), &[code, b" ", reason])
            };
        }
        // SAFETY: the request's header tables are live.
        let headers_out = unsafe { (*r).headers_out };
        for &(name, value) in headers {
            if name.eq_ignore_ascii_case(b"Content-Type") {
                // SAFETY: a pool copy of the value, lower-cased in place by httpd up to its
                // first ';' (parameters keep their case, as with mod_jk); httpd keeps it.
                unsafe {
                    let ct = pmemdup(self.req.pool(), value).cast_mut();
                    ffi::ap_content_type_tolower(ct);
                    ffi::ap_set_content_type(r, ct);
                }
            } else if name.eq_ignore_ascii_case(b"Content-Length") {
                let n = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse::<i64>().ok());
                match n {
                    // SAFETY: live request.
                    Some(n) => unsafe { ffi::ap_set_content_length(r, n) },
                    None => self.table_set_bytes(headers_out, name, value, false),
                }
            } else if name.eq_ignore_ascii_case(b"Location")
                || name.eq_ignore_ascii_case(b"Transfer-Encoding")
            {
                self.table_set_bytes(headers_out, name, value, false);
            } else if name.eq_ignore_ascii_case(b"Last-Modified") {
                // SAFETY: apr_date_parse_http reads the NUL-terminated pool copy; the request
                // is live.
                unsafe {
                    let t = ffi::apr_date_parse_http(pmemdup(self.req.pool(), value));
                    ffi::ap_update_mtime(r, t);
                    ffi::ap_set_last_modified(r);
                }
            } else {
                // Every other header is added: several Set-Cookie stay several.
                self.table_set_bytes(headers_out, name, value, true);
            }
        }
        for (name, value) in &self.extra_headers {
            self.table_set_bytes(headers_out, name.as_bytes(), value.as_bytes(), true);
        }
        self.headers_sent = true;
        Ok(())
    }

    fn write_body(&mut self, data: &[u8]) -> io::Result<()> {
        if self.swallowed.is_some() {
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let r = self.r();
        if self.out.bb.is_null() {
            // SAFETY: live request; the brigade lives in its pool.
            unsafe {
                self.out.filters = (*r).output_filters;
                self.out.bb =
                    ffi::apr_brigade_create(self.req.pool(), (*(*r).connection).bucket_alloc);
            }
        }
        let ctx: *mut Output = &mut self.out;
        // SAFETY: our live brigade; apr_brigade_write copies the bytes (into its buffer, or
        // passes them down through pass_down before returning).
        let rv = unsafe {
            ffi::apr_brigade_write(
                self.out.bb,
                Some(pass_down),
                ctx.cast(),
                data.as_ptr().cast(),
                data.len() as ffi::apr_size_t,
            )
        };
        client_gone_unless(rv)?;
        self.written += data.len() as u64;
        Ok(())
    }

    fn output_committed(&self) -> bool {
        !self.can_still_fail()
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.swallowed.is_some() {
            return Ok(());
        }
        self.flushed = true;
        self.send_held_body()?;
        // SAFETY: live request.
        if unsafe { ffi::ap_rflush(self.r()) } < 0 {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client went away",
            ));
        }
        Ok(())
    }
}

impl jk_runtime::request::Client for HttpPeer {
    fn can_still_fail(&self) -> bool {
        HttpPeer::can_still_fail(self)
    }

    fn discard_response(&mut self) {
        HttpPeer::discard_response(self)
    }

    fn set_extra_headers(&mut self, headers: Vec<(String, String)>) {
        self.extra_headers = headers;
    }
}
