//! The status worker in httpd: reads the request and server facts, lets jk-runtime build the
//! model and jk-status handle the request, applies accepted changes through jk-runtime (its
//! log lines go to the mod_jk log) and writes the answer.
//!
//! Changes a browser was tricked into are refused (mod_jk-rs): the request's method, `Host`,
//! `Sec-Fetch-Site`, `Origin`, `Referer` and `token` parameter go to
//! [`jk_status::check_write`] with the generation's token. The status page's buttons POST
//! their parameters as a form body, read here (at most [`jk_status::MAX_FORM_BYTES`] bytes) and parsed after
//! the query string.

use std::ffi::{c_char, c_int};

use jk_config::StatusWorker;
use jk_directives::Indicator;
use jk_log::Level;
use jk_runtime::status::{model, status_config, Applier, Header};
use jk_status::{Mime, WriteOrigin};

use crate::cstr::{opt_str, pstrdup};
use crate::ffi;
use crate::generation::ServerRuntime;
use crate::request::{table_get_bytes, Req};

fn s(p: *const std::ffi::c_char) -> String {
    // SAFETY: NULL or a NUL-terminated string of a live request/server.
    unsafe { opt_str(p) }
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

/// A request header as text (lossy), if present.
fn header(req: Req, name: &str) -> Option<String> {
    // SAFETY: the live request's header table; values live in the request pool.
    unsafe { table_get_bytes((*req.raw()).headers_in, name) }
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Reads an `application/x-www-form-urlencoded` body of up to [`jk_status::MAX_FORM_BYTES`] bytes.
/// `Ok(None)`: no form body; `Err(message)`: too large or unreadable. What is not read,
/// httpd discards after the handler.
fn read_form(req: Req) -> Result<Option<String>, String> {
    if !header(req, "Content-Type").is_some_and(|t| jk_status::is_form_type(&t)) {
        return Ok(None);
    }
    let r = req.raw();
    // SAFETY: live request, in its handler; sets up reading of the body.
    if unsafe { ffi::ap_setup_client_block(r, ffi::REQUEST_CHUNKED_DECHUNK as c_int) }
        != ffi::OK as c_int
    {
        return Err("the request body could not be read".into());
    }
    // SAFETY: live request, after ap_setup_client_block.
    if unsafe { ffi::ap_should_client_block(r) } == 0 {
        return Ok(None);
    }
    let mut body = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        // SAFETY: live request; a buffer of buf.len() bytes.
        let n =
            unsafe { ffi::ap_get_client_block(r, buf.as_mut_ptr().cast::<c_char>(), buf.len()) };
        if n < 0 {
            return Err("the request body could not be read".into());
        }
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n as usize]);
        if body.len() > jk_status::MAX_FORM_BYTES {
            return Err(format!(
                "the request body is larger than {} KiB",
                jk_status::MAX_FORM_BYTES / 1024
            ));
        }
    }
    Ok(Some(String::from_utf8_lossy(&body).into_owned()))
}

/// Serves a request mapped to a status worker; always HTTP 200, as mod_jk.
pub fn serve_status(req: Req, rt: &ServerRuntime, name: &str, sw: &StatusWorker) -> c_int {
    let r = req.raw();
    let cfg = status_config(sw, &rt.gen.write_token);
    // mod_jk's init_ws_service: s->server_name is the JK_LOCAL_NAME variable or httpd's
    // ap_get_server_name (UseCanonicalName, Host header), s->server_port JK_LOCAL_PORT read
    // with atoi or ap_get_server_port; the status worker prints those.
    let ind = |i: Indicator| rt.conf.indicators.effective(i);
    let server_name = match req.env_bytes(ind(Indicator::LocalName)) {
        Some(v) => String::from_utf8_lossy(v).into_owned(),
        // SAFETY: live request; the name is a string of the request or its server.
        None => s(unsafe { ffi::ap_get_server_name(r) }),
    };
    let server_port = match req.env_bytes(ind(Indicator::LocalPort)) {
        // C's int: what does not fit wraps as (int)strtol(...) does.
        Some(v) => jk_status::atoi(&String::from_utf8_lossy(v)) as i32,
        // SAFETY: live request.
        None => i32::from(unsafe { ffi::ap_get_server_port(r) }),
    };
    let header_facts = Header {
        request_uri: String::from_utf8_lossy(req.uri().unwrap_or_default()).into_owned(),
        server_name,
        server_port,
        // SAFETY: httpd's static description string.
        web_server: s(unsafe { ffi::ap_get_server_description() }),
    };
    let now = jk_urimap::unix_now();
    let view = rt.gen.view();
    let model = model(view, header_facts, now, &crate::clock::now_local());
    // SAFETY: live request.
    let (query, user, client, method) = unsafe {
        (
            s((*r).args),
            opt_str((*r).user).map(|c| c.into_owned()),
            s((*r).useragent_ip),
            s((*r).method),
        )
    };
    let resp = match read_form(req) {
        Err(e) => {
            let p = jk_status::parse_query(&query).unwrap_or_default();
            let mime = p.mime().unwrap_or(Mime::Prop);
            jk_status::error_response(&cfg, &model, &p, mime, &e)
        }
        Ok(form) => {
            let query = jk_status::query_with_form(&query, form.as_deref().unwrap_or(""));
            let token = jk_status::parse_query(&query)
                .ok()
                .and_then(|p| p.get("token").map(str::to_string));
            let (host, sec_fetch_site, origin, referer) = (
                header(req, "Host"),
                header(req, "Sec-Fetch-Site"),
                header(req, "Origin"),
                header(req, "Referer"),
            );
            let write = jk_status::check_write(
                &WriteOrigin {
                    method: &method,
                    host: host.as_deref(),
                    sec_fetch_site: sec_fetch_site.as_deref(),
                    origin: origin.as_deref(),
                    referer: referer.as_deref(),
                    token: token.as_deref(),
                },
                &cfg.write_token,
                cfg.write_requires_token,
            );
            let log = |msg: &str| rt.log_at(Level::Info, "status_cmd_update", msg);
            let warn = |msg: &str| rt.log_at(Level::Warn, "status_cmd_update", msg);
            let mut apply = Applier {
                view,
                status_worker: name,
                client,
                now,
                log: &log,
                write,
                warn: &warn,
            };
            jk_status::handle_query(&cfg, &query, user.as_deref(), &model, &mut apply)
        }
    };
    if let Some(e) = &resp.error {
        // A refused change was logged with the client by the Applier.
        if !e.starts_with(jk_status::msg::WRITE_REFUSED) {
            rt.log(Level::Warn, &format!("status worker {name}: {e}"));
        }
    }
    // SAFETY: live request; strings copied into its pool.
    unsafe {
        (*r).status = c_int::from(resp.status);
        ffi::ap_set_content_type(r, pstrdup(req.pool(), &resp.content_type));
        for (k, v) in &resp.headers {
            ffi::apr_table_setn(
                (*r).headers_out,
                pstrdup(req.pool(), k),
                pstrdup(req.pool(), v),
            );
        }
        let body = resp.body.as_bytes();
        if !req.is_head_request() && !body.is_empty() {
            ffi::ap_rwrite(body.as_ptr().cast(), body.len() as c_int, r);
        }
    }
    ffi::OK as c_int
}
