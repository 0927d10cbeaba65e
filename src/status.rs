//! The status worker in httpd: reads the request and server facts, lets jk-runtime build the
//! model and jk-status handle the request, applies accepted changes through jk-runtime (its
//! log lines go to the mod_jk log) and writes the answer.

use std::ffi::c_int;

use jk_config::StatusWorker;
use jk_directives::Indicator;
use jk_log::Level;
use jk_runtime::status::{model, status_config, Applier, Header};

use crate::cstr::{opt_str, pstrdup};
use crate::ffi;
use crate::generation::ServerRuntime;
use crate::request::Req;

fn s(p: *const std::ffi::c_char) -> String {
    // SAFETY: NULL or a NUL-terminated string of a live request/server.
    unsafe { opt_str(p) }
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

/// Serves a request mapped to a status worker; always HTTP 200, as mod_jk.
pub fn serve_status(req: Req, rt: &ServerRuntime, name: &str, sw: &StatusWorker) -> c_int {
    let r = req.raw();
    let cfg = status_config(sw);
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
    let header = Header {
        request_uri: String::from_utf8_lossy(req.uri().unwrap_or_default()).into_owned(),
        server_name,
        server_port,
        // SAFETY: httpd's static description string.
        web_server: s(unsafe { ffi::ap_get_server_description() }),
    };
    let now = jk_urimap::unix_now();
    let view = rt.gen.view();
    let model = model(view, header, now, &crate::clock::now_local());
    // SAFETY: live request.
    let (query, user, client) = unsafe {
        (
            s((*r).args),
            opt_str((*r).user).map(|c| c.into_owned()),
            s((*r).useragent_ip),
        )
    };
    let log = |msg: &str| rt.log_at(Level::Info, "status_cmd_update", msg);
    let mut apply = Applier {
        view,
        status_worker: name,
        client,
        now,
        log: &log,
    };
    let resp = jk_status::handle_query(&cfg, &query, user.as_deref(), &model, &mut apply);
    if let Some(e) = &resp.error {
        rt.log(Level::Warn, &format!("status worker {name}: {e}"));
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
