//! Serving a request mapped to a worker: an ajp13 worker forwards it to Tomcat; the load
//! balancer and the status worker land with their milestones.

use std::ffi::c_int;
use std::sync::Arc;
use std::time::Duration;

use jk_ajp_client::{Body, Endpoint, ErrorKind, RequestBody, ServiceRequest};
use jk_config::{AjpWorker, WorkerKind};
use jk_log::Level;

use crate::facts::RequestFacts;
use crate::ffi;
use crate::http_peer::HttpPeer;
use crate::request::Req;
use crate::runtime::ServerRuntime;

const OK: c_int = ffi::OK as c_int;

/// Serves `req` with worker `name` (known to exist); returns the handler's status.
pub fn serve(req: Req, rt: &ServerRuntime, name: &str, kind: &WorkerKind) -> c_int {
    match kind {
        WorkerKind::Ajp(w) => match rt.endpoint(name) {
            Some(ep) => serve_ajp(req, rt, name, w, &ep, None, "ACT"),
            None => {
                rt.log(
                    Level::Error,
                    &format!("worker {name}: no endpoint in this process"),
                );
                ffi::HTTP_INTERNAL_SERVER_ERROR as c_int
            }
        },
        WorkerKind::Lb(_) | WorkerKind::Status(_) => {
            let what = if matches!(kind, WorkerKind::Lb(_)) {
                "load balancer"
            } else {
                "status"
            };
            rt.log(
                Level::Error,
                &format!("worker {name}: the {what} worker is not implemented in this build yet; answering 503"),
            );
            ffi::HTTP_SERVICE_UNAVAILABLE as c_int
        }
    }
}

/// The per-request reply timeout: `JK_REPLY_TIMEOUT` (≥0, 0 = forever) wins over the mount
/// rule's `reply_timeout` extension (-1 = not set).
fn reply_timeout_override(req: Req, rule_ms: Option<i32>) -> Option<Option<Duration>> {
    let to = |ms: i64| {
        if ms == 0 {
            None
        } else {
            Some(Duration::from_millis(ms as u64))
        }
    };
    if let Some(v) = req
        .env("JK_REPLY_TIMEOUT")
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        if v >= 0 {
            return Some(to(v));
        }
    }
    rule_ms.filter(|&v| v >= 0).map(|v| to(i64::from(v)))
}

/// Forwards one request to an ajp13 endpoint and maps the outcome to the handler's status
/// (reference §8.2, §8.3).
pub fn serve_ajp(
    req: Req,
    rt: &ServerRuntime,
    name: &str,
    w: &AjpWorker,
    ep: &Arc<Endpoint>,
    route: Option<&str>,
    activation: &str,
) -> c_int {
    let r = req.raw();
    // SAFETY: live request; sets up reading of a chunked or Content-Length body.
    let rc = unsafe { ffi::ap_setup_client_block(r, ffi::REQUEST_CHUNKED_DECHUNK as c_int) };
    if rc != OK {
        return rc;
    }
    // SAFETY: live connection.
    if unsafe { (*(*r).connection).aborted } != 0 {
        rt.log(
            Level::Info,
            &format!("Client connection aborted for worker={name}"),
        );
        return OK;
    }
    let st = crate::reqstate::state(req);
    let orig_uri = st
        .orig_uri
        .clone()
        .or_else(|| req.uri())
        .unwrap_or_default();
    let ext = st.ext.clone();
    let opts = rt.conf.effective_options();
    let facts = RequestFacts::collect(req, &rt.conf, opts, &orig_uri, rt.is_main_server());
    let headers: Vec<(&[u8], &[u8])> = facts
        .headers
        .iter()
        .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
        .collect();
    let env: Vec<(&[u8], &[u8])> = facts
        .env
        .iter()
        .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
        .collect();
    fn b(o: &Option<String>) -> Option<&[u8]> {
        o.as_deref().map(str::as_bytes)
    }
    let fwd = jk_ajp::ForwardRequest {
        method: &facts.method,
        protocol: facts.protocol.as_bytes(),
        req_uri: facts.req_uri.as_bytes(),
        remote_addr: facts.remote_addr.as_bytes(),
        remote_host: b(&facts.remote_host),
        server_name: facts.server_name.as_bytes(),
        server_port: facts.server_port,
        is_ssl: facts.is_ssl,
        headers,
        content_length: (!facts.chunked).then_some(facts.content_length),
        chunked: facts.chunked,
        secret: w.secret.as_deref().map(str::as_bytes),
        remote_user: b(&facts.remote_user),
        auth_type: b(&facts.auth_type),
        query_string: b(&facts.query_string),
        route: route.map(str::as_bytes),
        ssl_cert: b(&facts.ssl_cert),
        ssl_cipher: b(&facts.ssl_cipher),
        ssl_session: b(&facts.ssl_session),
        ssl_key_size: facts.ssl_key_size,
        ssl_protocol: b(&facts.ssl_protocol),
        remote_port: facts.remote_port.as_bytes(),
        local_addr: facts.local_addr.as_bytes(),
        lb_activation: activation,
        env,
    };
    let packet = match fwd.encode(w.max_packet_size as usize) {
        Ok(p) => p,
        Err(e) => {
            rt.log(
                Level::Error,
                &format!(
                    "({name}) Creating AJP message failed without recovery - check max_packet_size ({e})"
                ),
            );
            return ffi::HTTP_REQUEST_ENTITY_TOO_LARGE as c_int;
        }
    };
    let is_head = facts.method == "HEAD";
    let body = if facts.chunked {
        Body::Chunked
    } else if facts.content_length > 0 {
        Body::Length(facts.content_length)
    } else {
        Body::None
    };
    let mut request_body = RequestBody::new(body);
    let sreq = ServiceRequest {
        packet: &packet,
        is_head,
        is_get: facts.method == "GET",
        reply_timeout: reply_timeout_override(req, ext.as_ref().map(|e| e.reply_timeout)),
        fail_on_status: ext.as_ref().and_then(|e| e.fail_on_status.as_deref()),
        flush_packets: opts.flush_packets(),
        flush_header: opts.flush_header(),
        disable_reuse: opts.disable_reuse(),
    };
    let mut peer = HttpPeer::new(req);
    peer.server_errors_from = ext.as_ref().map_or(0, |e| e.use_server_errors);
    let result = ep.service(&sreq, &mut request_body, &mut peer);
    match result {
        Ok(summary) => {
            if let Some(status) = peer.swallowed {
                rt.log(
                    Level::Debug,
                    &format!("({name}) forwarding status={status} to httpd's error page"),
                );
                return c_int::from(status);
            }
            rt.log(
                Level::Debug,
                &format!(
                    "({name}) status {} body {} bytes after {} attempt(s)",
                    summary.status, summary.body_bytes, summary.attempts
                ),
            );
            // mod_jk finalises the response when the backend ends it (`ws_done`).
            // SAFETY: live request; completes the response through httpd's filters.
            unsafe { ffi::ap_finalize_request_protocol(r) };
            // SAFETY: live request.
            let sent_body = unsafe { (*r).sent_bodyct } != 0;
            if !sent_body && summary.status >= 400 && !is_head {
                // mod_jk returns the status; the response was already completed, so the
                // client sees the backend's status with an empty body.
                return c_int::from(summary.status);
            }
            OK
        }
        Err(e) => {
            let status = e.http_status();
            match e.kind {
                ErrorKind::ClientWrite => {
                    rt.log(
                        Level::Info,
                        &format!("{e}; aborting connection for worker={name}"),
                    );
                    // SAFETY: live connection.
                    unsafe { (*(*r).connection).aborted = 1 };
                    OK
                }
                ErrorKind::ClientRead => {
                    rt.log(
                        Level::Info,
                        &format!("{e}; aborting connection for worker={name}"),
                    );
                    // SAFETY: live connection.
                    unsafe { (*(*r).connection).aborted = 1 };
                    c_int::from(status)
                }
                _ => {
                    rt.log(Level::Error, &format!("{e} (answering {status})"));
                    if !peer.can_still_fail() {
                        // Too late for an error page: the client got part of the answer.
                        // SAFETY: live connection.
                        unsafe { (*(*r).connection).aborted = 1 };
                        return OK;
                    }
                    if peer.headers_sent {
                        peer.discard_response();
                    }
                    c_int::from(status)
                }
            }
        }
    }
}
