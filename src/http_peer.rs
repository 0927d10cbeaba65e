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
    /// Response body bytes handed to httpd.
    pub written: u64,
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

impl HttpPeer {
    /// True while nothing has reached httpd's output: an error status can still replace the
    /// backend's partial answer (httpd then sends its own error page).
    pub fn can_still_fail(&self) -> bool {
        self.written == 0 && !self.flushed
    }

    /// Forgets the backend's status line, headers, content type and length, so httpd's error
    /// response or another member's answer starts clean.
    pub fn discard_response(&mut self) {
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
        let code = status.to_string();
        // SAFETY: live request; the status line is copied into its pool.
        unsafe {
            (*r).status = c_int::from(status);
            (*r).status_line = if reason.is_empty() {
                let d = default_reason(status);
                pconcat(self.req.pool(), &[code.as_bytes(), b" ", d.as_bytes()])
            } else {
                pconcat(self.req.pool(), &[code.as_bytes(), b" ", reason])
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
        let mut rest = data;
        while !rest.is_empty() {
            let n = rest.len().min(i32::MAX as usize);
            // SAFETY: live request; httpd copies or sends the bytes before returning.
            let w = unsafe { ffi::ap_rwrite(rest.as_ptr().cast(), n as c_int, self.r()) };
            if w < 0 {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the client went away",
                ));
            }
            self.written += n as u64;
            rest = &rest[n..];
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.swallowed.is_some() {
            return Ok(());
        }
        self.flushed = true;
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
