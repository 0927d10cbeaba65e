//! What mod_jk forwards about a request, read from httpd's request and connection records
//! and the request environment (reference §1.4, §7.3, §7.5, §8.1). Attributes come only from
//! httpd's own data and the configured indicator variables, never from client headers
//! (ARCHITECTURE.md rule 8).

use std::ffi::c_int;

use jk_directives::{ForwardAddress, ForwardUri, Indicator, OptionBits, ServerConf};

use crate::cstr::opt_str;
use crate::ffi;
use crate::request::Req;

/// The facts of one request (the lb may encode them once per member). Header bytes are
/// borrowed from the request's table for the request's life `'r`.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts<'r> {
    pub method: String,
    pub protocol: String,
    pub req_uri: String,
    pub remote_addr: String,
    pub remote_port: String,
    pub remote_host: Option<String>,
    pub server_name: String,
    pub server_port: u16,
    pub local_addr: String,
    pub is_ssl: bool,
    /// `r->headers_in` in order, as the client sent them (bytes are forwarded unchanged).
    pub headers: Vec<(&'r [u8], &'r [u8])>,
    pub remote_user: Option<String>,
    pub auth_type: Option<String>,
    pub query_string: Option<String>,
    pub ssl_cert: Option<String>,
    pub ssl_cipher: Option<String>,
    pub ssl_session: Option<String>,
    pub ssl_key_size: Option<u16>,
    pub ssl_protocol: Option<String>,
    pub env: Vec<(String, String)>,
    /// Chunked body (or Content-Length ignored through JK_IGNORE_CL).
    pub chunked: bool,
    /// Content-Length when not chunked (0 when none).
    pub content_length: u64,
}

fn s(p: *const std::ffi::c_char) -> Option<String> {
    // SAFETY: NULL or a NUL-terminated string of a live request/connection.
    unsafe { opt_str(p) }.map(|c| c.into_owned())
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|x| !x.is_empty())
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
    /// `r->uri` as it was before mod_jk's normalisation replaced it.
    ///
    /// # Safety
    /// `req` must be live, in its handler. The facts borrow the request's header table for
    /// `'r`: the caller keeps them within the handler call that collects them.
    pub unsafe fn collect(
        req: Req,
        conf: &ServerConf,
        opts: OptionBits,
        orig_uri: &str,
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
        let env = |name: &str| req.env(name);

        let unparsed = s(rec.unparsed_uri).unwrap_or_default();
        let mode = match opts.forward_uri_mode() {
            ForwardUri::Proxy => jk_urimap::ForwardUriMode::Proxy,
            ForwardUri::CompatUnparsed => jk_urimap::ForwardUriMode::CompatUnparsed,
            ForwardUri::Compat => jk_urimap::ForwardUriMode::Compat,
            ForwardUri::Escaped => jk_urimap::ForwardUriMode::Escaped,
        };
        let req_uri = jk_urimap::forward_uri(mode, orig_uri, &unparsed);

        // Client address and port (§8.1).
        // SAFETY: sockaddr pointers of a live request/connection, or NULL.
        let port_of =
            |a: *mut ffi::apr_sockaddr_t| if a.is_null() { 0 } else { unsafe { (*a).port } };
        let (mut remote_addr, mut remote_port) = match opts.forward_address() {
            ForwardAddress::Local => (s(conn.local_ip).unwrap_or_default(), "0".to_string()),
            ForwardAddress::Physical => (
                s(conn.client_ip).unwrap_or_default(),
                port_of(conn.client_addr).to_string(),
            ),
            ForwardAddress::UserAgent => (
                s(rec.useragent_ip).unwrap_or_default(),
                port_of(rec.useragent_addr).to_string(),
            ),
        };
        if let Some(v) = env(ind(Indicator::RemoteAddr)) {
            remote_addr = v;
        }
        if let Some(v) = env(ind(Indicator::RemotePort)) {
            remote_port = v;
        }
        let remote_host = env(ind(Indicator::RemoteHost)).or_else(|| {
            // SAFETY: live connection and per-dir config; REMOTE_HOST gives NULL without lookups.
            let h = unsafe {
                ffi::ap_get_remote_host(
                    (*r).connection,
                    (*r).per_dir_config.cast(),
                    ffi::REMOTE_HOST as c_int,
                    std::ptr::null_mut(),
                )
            };
            s(h)
        });
        let remote_user = non_empty(env(ind(Indicator::RemoteUser)).or_else(|| s(rec.user)));
        let auth_type = non_empty(env(ind(Indicator::AuthType)).or_else(|| s(rec.ap_auth_type)));
        // SAFETY: live request.
        let server_name = env(ind(Indicator::LocalName))
            .or_else(|| s(unsafe { ffi::ap_get_server_name(r) }))
            .unwrap_or_default();
        // SAFETY: live request.
        let default_port = unsafe { ffi::ap_get_server_port(r) };
        let server_port = env(ind(Indicator::LocalPort))
            .map(|p| p.trim().parse::<u16>().unwrap_or(0))
            .unwrap_or(default_port);
        // JK_LOCAL_ADDR is honoured for the main server only (mod_jk does not merge it).
        let local_addr = (main_server || conf.indicators.get(Indicator::LocalAddr).is_some())
            .then(|| env(ind(Indicator::LocalAddr)))
            .flatten()
            .or_else(|| s(conn.local_ip))
            .unwrap_or_default();

        let is_ssl = conf.effective_extract_ssl()
            && env(ind(Indicator::Https)).is_some_and(|v| v.eq_ignore_ascii_case("on"));
        let (mut ssl_cert, mut ssl_cipher, mut ssl_session, mut ssl_key_size, mut ssl_protocol) =
            (None, None, None, None, None);
        if is_ssl {
            ssl_cert = non_empty(env(ind(Indicator::Certs)));
            if opts.forward_ssl_cert_chain() {
                let prefix = ind(Indicator::CertChainPrefix);
                // SAFETY: the request environment is a live table.
                for (k, v) in unsafe { table_entries(rec.subprocess_env) } {
                    // Compared as bytes: a variable name need not be ASCII.
                    let named = k.get(..prefix.len());
                    if named.is_some_and(|b| b.eq_ignore_ascii_case(prefix.as_bytes())) {
                        ssl_cert
                            .get_or_insert_with(String::new)
                            .push_str(&String::from_utf8_lossy(v));
                    }
                }
            }
            ssl_cipher = non_empty(env(ind(Indicator::Cipher)));
            ssl_session = non_empty(env(ind(Indicator::Session)));
            if opts.forward_key_size() {
                ssl_key_size = env(ind(Indicator::KeySize)).and_then(|v| v.trim().parse().ok());
            }
            ssl_protocol = non_empty(env(ind(Indicator::SslProtocol)));
        }
        // JkEnvVar: sent when set, or always when a default exists.
        let mut env_attrs = Vec::new();
        for v in conf.effective_env_vars() {
            match (env(&v.name), &v.default) {
                (Some(val), _) => env_attrs.push((v.name.clone(), val)),
                (None, Some(d)) => env_attrs.push((v.name.clone(), d.clone())),
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
            method: s(rec.method).unwrap_or_default(),
            protocol: s(rec.protocol).unwrap_or_default(),
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
            query_string: s(rec.args),
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
