//! What mod_jk forwards about a request, read from httpd's request and connection records
//! and the request environment (reference §1.4, §7.3, §7.5, §8.1). Attributes come only from
//! httpd's own data and the configured indicator variables, never from client headers
//! (ARCHITECTURE.md rule 8).

use std::borrow::Cow;
use std::ffi::c_int;

use jk_directives::{ForwardAddress, ForwardUri, Indicator, OptionBits, ServerConf};

use crate::cstr::opt_bytes;
use crate::ffi;
use crate::request::{table_get_bytes, Req};

/// The facts of one request (the lb may encode them once per member).
///
/// Every string is the bytes httpd holds, borrowed from the request (its record, tables and
/// pool) or from the server configuration for `'r`, never converted to UTF-8: a path, query
/// string, variable or header need not be UTF-8, and mod_jk forwards such bytes unchanged.
/// Only values mod_jk computes are owned (the escaped URI, a port number, an appended
/// certificate chain).
#[derive(Debug, Clone, Default)]
pub struct RequestFacts<'r> {
    pub method: &'r [u8],
    pub protocol: &'r [u8],
    pub req_uri: Cow<'r, [u8]>,
    pub remote_addr: &'r [u8],
    pub remote_port: Cow<'r, [u8]>,
    pub remote_host: Option<&'r [u8]>,
    pub server_name: &'r [u8],
    pub server_port: u16,
    pub local_addr: &'r [u8],
    pub is_ssl: bool,
    /// `r->headers_in` in order, as the client sent them (bytes are forwarded unchanged).
    pub headers: Vec<(&'r [u8], &'r [u8])>,
    pub remote_user: Option<&'r [u8]>,
    pub auth_type: Option<&'r [u8]>,
    /// `r->args`, raw (httpd does not decode the query string).
    pub query_string: Option<&'r [u8]>,
    pub ssl_cert: Option<Cow<'r, [u8]>>,
    pub ssl_cipher: Option<&'r [u8]>,
    pub ssl_session: Option<&'r [u8]>,
    pub ssl_key_size: Option<u16>,
    pub ssl_protocol: Option<&'r [u8]>,
    /// JkEnvVar attributes: the configured name and the variable's (or default) value.
    pub env: Vec<(&'r [u8], &'r [u8])>,
    /// Chunked body (or Content-Length ignored through JK_IGNORE_CL).
    pub chunked: bool,
    /// Content-Length when not chunked (0 when none).
    pub content_length: u64,
}

/// A request or connection string as bytes, for `'r`.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string living at least as long as `'r` (request or
/// connection pool, or the server record).
unsafe fn b<'r>(p: *const std::ffi::c_char) -> Option<&'r [u8]> {
    // SAFETY: forwarded contract.
    unsafe { opt_bytes(p) }
}

fn non_empty(v: Option<&[u8]>) -> Option<&[u8]> {
    v.filter(|x| !x.is_empty())
}

/// A decimal number from a variable's text (surrounding whitespace allowed); `None` when it
/// is not one.
fn number<T: std::str::FromStr>(v: &[u8]) -> Option<T> {
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}

/// The entries of an APR table in order, as the bytes httpd holds (no re-encoding).
///
/// # Safety
/// `t` must be NULL or a live table whose entries outlive `'r` (a request's tables live as
/// long as its pool).
pub unsafe fn table_entries<'r>(t: *const ffi::apr_table_t) -> Vec<(&'r [u8], &'r [u8])> {
    if t.is_null() {
        return Vec::new();
    }
    // SAFETY: apr_table_elts returns the table's entry array; entries are apr_table_entry_t
    // with NUL-terminated keys and values living in the table's pool.
    unsafe {
        let arr = ffi::apr_table_elts(t);
        if arr.is_null() {
            return Vec::new();
        }
        let n = (*arr).nelts.max(0) as usize;
        let elts = (*arr).elts.cast::<ffi::apr_table_entry_t>();
        let bytes = |p: *const std::ffi::c_char| -> &'r [u8] {
            if p.is_null() {
                b""
            } else {
                std::ffi::CStr::from_ptr(p).to_bytes()
            }
        };
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let e = &*elts.add(i);
            // Removed entries have a NULL key.
            if !e.key.is_null() {
                out.push((bytes(e.key), bytes(e.val)));
            }
        }
        out
    }
}

impl<'r> RequestFacts<'r> {
    /// Reads the facts of `req` under the server's effective configuration. `orig_uri` is
    /// `r->uri` as it was before mod_jk's normalisation replaced it (bytes, as httpd holds
    /// them).
    ///
    /// # Safety
    /// `req` must be live, in its handler. The facts borrow the request's record, tables and
    /// pool (and `orig_uri`, a string of that pool) for `'r`: the caller keeps them within
    /// the handler call that collects them.
    pub unsafe fn collect(
        req: Req,
        conf: &'r ServerConf,
        opts: OptionBits,
        orig_uri: &'r [u8],
        main_server: bool,
    ) -> RequestFacts<'r> {
        let r = req.raw();
        // mod_jk reads the environment after ap_add_common_vars: HTTP_* variables exist and
        // a variable set twice has its last value.
        // SAFETY: live request in its handler phase.
        unsafe { ffi::ap_add_common_vars(r) };
        // SAFETY: the request and its connection are live during the handler.
        let (rec, conn) = unsafe { (&*r, &*(*r).connection) };
        let ind = |i: Indicator| conf.indicators.effective(i);
        // SAFETY: the request environment lives in the request pool, for 'r.
        let env = |name: &str| -> Option<&'r [u8]> {
            unsafe { table_get_bytes(rec.subprocess_env, name) }
        };
        // SAFETY: strings of the live request and its connection (their pools), or NULL;
        // both outlive the handler call ('r).
        let (method, protocol, unparsed, args) = unsafe {
            (
                b(rec.method),
                b(rec.protocol),
                b(rec.unparsed_uri),
                b(rec.args),
            )
        };
        // SAFETY: as above.
        let (user, auth_type, useragent_ip, client_ip, local_ip) = unsafe {
            (
                b(rec.user),
                b(rec.ap_auth_type),
                b(rec.useragent_ip),
                b(conn.client_ip),
                b(conn.local_ip),
            )
        };
        let unparsed = unparsed.unwrap_or_default();
        let mode = match opts.forward_uri_mode() {
            ForwardUri::Proxy => jk_urimap::ForwardUriMode::Proxy,
            ForwardUri::CompatUnparsed => jk_urimap::ForwardUriMode::CompatUnparsed,
            ForwardUri::Compat => jk_urimap::ForwardUriMode::Compat,
            ForwardUri::Escaped => jk_urimap::ForwardUriMode::Escaped,
        };
        let req_uri = jk_urimap::forward_uri(mode, orig_uri, unparsed);

        // Client address and port (§8.1).
        // SAFETY: sockaddr pointers of a live request/connection, or NULL.
        let port_of =
            |a: *mut ffi::apr_sockaddr_t| if a.is_null() { 0 } else { unsafe { (*a).port } };
        // The port's digits in the request pool (borrowed for 'r, like the addresses).
        let port_text = |p: u16| -> Cow<'r, [u8]> {
            let mut digits = itoa::Buffer::new();
            let d = digits.format(p).as_bytes();
            // SAFETY: a copy into the live request's pool, which outlives 'r; the copy holds
            // the digits and a NUL.
            match unsafe { b(crate::cstr::pmemdup(req.pool(), d)) } {
                Some(v) => Cow::Borrowed(v),
                None => Cow::Owned(d.to_vec()),
            }
        };
        let (mut remote_addr, mut remote_port) = match opts.forward_address() {
            ForwardAddress::Local => (local_ip.unwrap_or_default(), Cow::Borrowed(&b"0"[..])),
            ForwardAddress::Physical => (
                client_ip.unwrap_or_default(),
                port_text(port_of(conn.client_addr)),
            ),
            ForwardAddress::UserAgent => (
                useragent_ip.unwrap_or_default(),
                port_text(port_of(rec.useragent_addr)),
            ),
        };
        if let Some(v) = env(ind(Indicator::RemoteAddr)) {
            remote_addr = v;
        }
        if let Some(v) = env(ind(Indicator::RemotePort)) {
            remote_port = Cow::Borrowed(v);
        }
        let remote_host = env(ind(Indicator::RemoteHost)).or_else(|| {
            // SAFETY: live connection and per-dir config; REMOTE_HOST gives NULL without
            // lookups, else a string of the connection pool.
            unsafe {
                b(ffi::ap_get_remote_host(
                    (*r).connection,
                    (*r).per_dir_config.cast(),
                    ffi::REMOTE_HOST as c_int,
                    std::ptr::null_mut(),
                ))
            }
        });
        let remote_user = non_empty(env(ind(Indicator::RemoteUser)).or(user));
        let auth_type = non_empty(env(ind(Indicator::AuthType)).or(auth_type));
        // SAFETY: live request; the name is a string of the request (its Host) or of the
        // server record, both outliving 'r.
        let server_name = env(ind(Indicator::LocalName))
            .or_else(|| unsafe { b(ffi::ap_get_server_name(r)) })
            .unwrap_or_default();
        // SAFETY: live request.
        let default_port = unsafe { ffi::ap_get_server_port(r) };
        let server_port = env(ind(Indicator::LocalPort))
            .map(|p| number::<u16>(p).unwrap_or(0))
            .unwrap_or(default_port);
        // JK_LOCAL_ADDR is honoured for the main server only (mod_jk does not merge it).
        let local_addr = (main_server || conf.indicators.get(Indicator::LocalAddr).is_some())
            .then(|| env(ind(Indicator::LocalAddr)))
            .flatten()
            .or(local_ip)
            .unwrap_or_default();

        let is_ssl = conf.effective_extract_ssl()
            && env(ind(Indicator::Https)).is_some_and(|v| v.eq_ignore_ascii_case(b"on"));
        let (mut ssl_cert, mut ssl_cipher, mut ssl_session, mut ssl_key_size, mut ssl_protocol) =
            (None, None, None, None, None);
        if is_ssl {
            ssl_cert = non_empty(env(ind(Indicator::Certs))).map(Cow::Borrowed);
            if opts.forward_ssl_cert_chain() {
                let prefix = ind(Indicator::CertChainPrefix);
                // SAFETY: the request environment is a live table.
                for (k, v) in unsafe { table_entries(rec.subprocess_env) } {
                    // Compared as bytes: a variable name need not be ASCII.
                    let named = k.get(..prefix.len());
                    if named.is_some_and(|n| n.eq_ignore_ascii_case(prefix.as_bytes())) {
                        ssl_cert
                            .get_or_insert_with(|| Cow::Borrowed(&b""[..]))
                            .to_mut()
                            .extend_from_slice(v);
                    }
                }
            }
            ssl_cipher = non_empty(env(ind(Indicator::Cipher)));
            ssl_session = non_empty(env(ind(Indicator::Session)));
            if opts.forward_key_size() {
                ssl_key_size = env(ind(Indicator::KeySize)).and_then(number);
            }
            ssl_protocol = non_empty(env(ind(Indicator::SslProtocol)));
        }
        // JkEnvVar: sent when set, or always when a default exists.
        let mut env_attrs = Vec::new();
        for v in conf.effective_env_vars() {
            match (env(&v.name), &v.default) {
                (Some(val), _) => env_attrs.push((v.name.as_bytes(), val)),
                (None, Some(d)) => env_attrs.push((v.name.as_bytes(), d.as_bytes())),
                (None, None) => {}
            }
        }
        let chunked = rec.read_chunked != 0 || env(ind(Indicator::IgnoreCl)).is_some();
        let content_length = if chunked {
            0
        } else {
            rec.remaining.max(0) as u64
        };
        RequestFacts {
            method: method.unwrap_or_default(),
            protocol: protocol.unwrap_or_default(),
            req_uri,
            remote_addr,
            remote_port,
            remote_host,
            server_name,
            server_port,
            local_addr,
            is_ssl,
            // SAFETY: live request headers table.
            headers: unsafe { table_entries(rec.headers_in) },
            remote_user,
            auth_type,
            query_string: args,
            ssl_cert,
            ssl_cipher,
            ssl_session,
            ssl_key_size,
            ssl_protocol,
            env: env_attrs,
            chunked,
            content_length,
        }
    }
}
