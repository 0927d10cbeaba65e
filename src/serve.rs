//! Serving a request mapped to a worker: an ajp13 worker forwards it to its Tomcat; a load
//! balancer picks members (jk-lb) and fails over while the request can be replayed; the
//! status worker lands with its milestone.

use std::ffi::c_int;
use std::sync::Arc;

use jk_ajp_client::{Body, Endpoint, ResponseSummary, ServiceRequest};
use jk_config::{Activation, AjpWorker, WorkerKind};
use jk_directives::OptionBits;
use jk_log::Level;
use jk_runtime::failover::reply_timeout_override;
use jk_runtime::request::{self, AjpTarget, Answer, Forward, Host, LbContext};
use jk_urimap::RuleExtensions;

use crate::facts::RequestFacts;
use crate::ffi;
use crate::generation::ServerRuntime;
use crate::http_peer::HttpPeer;
use crate::request::Req;

const OK: c_int = ffi::OK as c_int;

/// Serves `req` with worker `name` (known to exist); returns the handler's status.
pub fn serve(req: Req, rt: &ServerRuntime, name: &str, kind: &WorkerKind) -> c_int {
    match kind {
        WorkerKind::Ajp(w) => match rt.endpoint(name) {
            Some(ep) => serve_ajp(req, rt, name, w, &ep),
            None => {
                rt.log(
                    Level::Error,
                    &format!("worker {name}: no endpoint in this process"),
                );
                ffi::HTTP_INTERNAL_SERVER_ERROR as c_int
            }
        },
        WorkerKind::Lb(_) => match rt.balancer(name) {
            Some(b) => serve_lb(req, rt, name, &b),
            None => {
                rt.log(
                    Level::Error,
                    &format!("worker {name}: no balancer in this process"),
                );
                ffi::HTTP_INTERNAL_SERVER_ERROR as c_int
            }
        },
        WorkerKind::Status(sw) => crate::status::serve_status(req, rt, name, sw),
    }
}

/// What is read once per request, whatever member serves it.
struct Prepared<'r> {
    facts: RequestFacts<'r>,
    ext: Option<Arc<RuleExtensions>>,
    opts: OptionBits,
    body: Body,
}

/// Sets up reading of the body and collects the request's facts; Err is the handler status.
///
/// # Safety
/// `req` is live, in its handler; the result borrows its header table and must not outlive
/// the handler call (see [`RequestFacts::collect`]).
unsafe fn prepare<'r>(req: Req, rt: &'r ServerRuntime, name: &str) -> Result<Prepared<'r>, c_int> {
    let r = req.raw();
    // SAFETY: live request; sets up reading of a chunked or Content-Length body.
    let rc = unsafe { ffi::ap_setup_client_block(r, ffi::REQUEST_CHUNKED_DECHUNK as c_int) };
    if rc != OK {
        return Err(rc);
    }
    // SAFETY: live connection.
    if unsafe { (*(*r).connection).aborted } != 0 {
        rt.log(
            Level::Info,
            &format!("Client connection aborted for worker={name}"),
        );
        return Err(OK);
    }
    let (kept_uri, ext) = crate::request_state::mapping(req);
    // SAFETY: the kept r->uri pointer is a string of the live request's pool.
    let orig_uri: &'r [u8] = match kept_uri {
        Some(p) => unsafe { crate::cstr::opt_bytes(p) },
        // SAFETY: r->uri is a string of the live request's pool.
        None => unsafe { crate::cstr::opt_bytes((*r).uri) },
    }
    .unwrap_or_default();
    let opts = rt.conf.effective_options();
    // SAFETY: forwarded contract of this function.
    let facts =
        unsafe { RequestFacts::collect(req, &rt.conf, opts, orig_uri, rt.is_main_server()) };
    let body = if facts.chunked {
        Body::Chunked
    } else if facts.content_length > 0 {
        Body::Length(facts.content_length)
    } else {
        Body::None
    };
    Ok(Prepared {
        facts,
        ext,
        opts,
        body,
    })
}

/// The FORWARD_REQUEST for one backend (route and activation differ per lb member).
fn encode(
    p: &Prepared,
    w: &AjpWorker,
    route: Option<&str>,
    activation: Activation,
) -> Result<Vec<u8>, jk_ajp::AjpError> {
    let f = &p.facts;
    let fwd = jk_ajp::ForwardRequest {
        method: f.method,
        protocol: f.protocol,
        req_uri: &f.req_uri,
        remote_addr: f.remote_addr,
        remote_host: f.remote_host,
        server_name: f.server_name,
        server_port: f.server_port,
        is_ssl: f.is_ssl,
        headers: f.headers.clone(),
        content_length: (!f.chunked).then_some(f.content_length),
        chunked: f.chunked,
        secret: w.secret.as_deref().map(str::as_bytes),
        remote_user: f.remote_user,
        auth_type: f.auth_type,
        query_string: f.query_string,
        route: route.map(str::as_bytes),
        ssl_cert: f.ssl_cert.as_deref(),
        ssl_cipher: f.ssl_cipher,
        ssl_session: f.ssl_session,
        ssl_key_size: f.ssl_key_size,
        ssl_protocol: f.ssl_protocol,
        remote_port: &f.remote_port,
        local_addr: f.local_addr,
        lb_activation: activation,
        env: f.env.clone(),
    };
    fwd.encode(w.max_packet_size as usize)
}

/// What every try of the request sends, whatever member serves it.
fn template<'a>(req: Req, p: &'a Prepared) -> ServiceRequest<'a> {
    ServiceRequest {
        packet: &[],
        is_head: p.facts.method == b"HEAD",
        is_get: p.facts.method == b"GET",
        reply_timeout: reply_timeout_override(
            req.env("JK_REPLY_TIMEOUT").as_deref(),
            p.ext.as_ref().map(|e| e.reply_timeout),
        ),
        fail_on_status: p.ext.as_ref().and_then(|e| e.fail_on_status.as_deref()),
        flush_packets: p.opts.flush_packets(),
        flush_header: p.opts.flush_header(),
        disable_reuse: p.opts.disable_reuse(),
        check_for_stop: false,
    }
}

/// The request as jk-runtime's request loop sees it.
struct Glue<'a> {
    req: Req,
    rt: &'a ServerRuntime,
}

impl Host for Glue<'_> {
    fn log_at(&self, at: &'static std::panic::Location<'static>, level: Level, msg: &str) {
        self.rt.log_located(at, level, "jk_handler", msg);
    }

    fn client_aborted(&self) -> bool {
        // SAFETY: live request and connection.
        unsafe { (*(*self.req.raw()).connection).aborted != 0 }
    }

    fn worker_route(&self, route: &str) {
        self.req.set_note(c"JK_WORKER_ROUTE", route);
    }

    fn lb_notes(&self, notes: &jk_lb::Notes<'_>) {
        self.req.add_lb_notes(notes);
    }
}

/// The handler status for the request loop's answer.
fn finish(req: Req, rt: &ServerRuntime, name: &str, answer: Answer, peer: &mut HttpPeer) -> c_int {
    match answer {
        Answer::Served(s) => finish_ok(req, rt, name, &s, peer),
        Answer::Status(status) => c_int::from(status),
        Answer::Abort { status } => {
            // SAFETY: live connection.
            unsafe { (*(*req.raw()).connection).aborted = 1 };
            status.map_or(OK, c_int::from)
        }
    }
}

/// The handler status after a served request (reference §7.9, §8.2).
fn finish_ok(
    req: Req,
    rt: &ServerRuntime,
    name: &str,
    s: &ResponseSummary,
    peer: &mut HttpPeer,
) -> c_int {
    let r = req.raw();
    if let Some(status) = peer.swallowed {
        rt.log(
            Level::Debug,
            &format!("({name}) forwarding status={status} to httpd's error page"),
        );
        return c_int::from(status);
    }
    if rt.log_enabled(Level::Debug) {
        rt.log(
            Level::Debug,
            &format!(
                "({name}) status {} body {} bytes after {} attempt(s)",
                s.status, s.body_bytes, s.attempts
            ),
        );
    }
    if let Err(e) = peer.end_body() {
        rt.log(Level::Info, &format!("({name}) {e}; aborting connection"));
        // SAFETY: live connection.
        unsafe { (*(*r).connection).aborted = 1 };
        return OK;
    }
    // mod_jk finalises the response when the backend ends it (`ws_done`).
    // SAFETY: live request; completes the response through httpd's filters.
    unsafe { ffi::ap_finalize_request_protocol(r) };
    // SAFETY: live request.
    let sent_body = unsafe { (*r).sent_bodyct } != 0;
    if !sent_body && s.status >= 400 && !peer.is_head {
        // mod_jk returns the status; the response is already complete, so the client sees
        // the backend's status with an empty body.
        return c_int::from(s.status);
    }
    OK
}

/// The client's side of the request for `p`.
fn peer_for(req: Req, p: &Prepared) -> HttpPeer {
    let mut peer = HttpPeer::new(req);
    peer.is_head = p.facts.method == b"HEAD";
    peer.server_errors_from = p.ext.as_ref().map_or(0, |e| e.use_server_errors);
    peer
}

/// Forwards one request to an ajp13 worker.
pub fn serve_ajp(
    req: Req,
    rt: &ServerRuntime,
    name: &str,
    w: &AjpWorker,
    ep: &Arc<Endpoint>,
) -> c_int {
    // SAFETY: the request is in its handler; `p` lives only in this call.
    let p = match unsafe { prepare(req, rt, name) } {
        Ok(p) => p,
        Err(rc) => return rc,
    };
    let encode = |w: &AjpWorker, route: Option<&str>, act: Activation| encode(&p, w, route, act);
    let fwd = Forward {
        body: p.body,
        template: template(req, &p),
        encode: &encode,
    };
    let mut peer = peer_for(req, &p);
    // Statistics of the standalone worker (lb members are counted by their balancer).
    let stats = rt.gen.ajp.get(name).zip(rt.gen.child.get().copied());
    let target = AjpTarget {
        name,
        worker: w,
        endpoint: ep,
        stats,
    };
    let answer = request::serve_ajp(
        &Glue { req, rt },
        &mut peer,
        &target,
        &fwd,
        jk_urimap::unix_now,
    );
    finish(req, rt, name, answer, &mut peer)
}

/// Forwards one request through a load balancer (reference §5.3–5.6).
fn serve_lb(req: Req, rt: &ServerRuntime, name: &str, bal: &Arc<jk_lb::Balancer>) -> c_int {
    // SAFETY: the request is in its handler; `p` lives only in this call.
    let p = match unsafe { prepare(req, rt, name) } {
        Ok(p) => p,
        Err(rc) => return rc,
    };
    let cookie_values: Vec<std::borrow::Cow<'_, str>> = p
        .facts
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(b"cookie"))
        .map(|(_, v)| String::from_utf8_lossy(v))
        .collect();
    let cookies: Vec<&str> = cookie_values.iter().map(|c| c.as_ref()).collect();
    let env = |n: &str| req.env(n);
    let (jk_route, sticky_ignore, stateless) = (
        env("JK_ROUTE"),
        env("JK_STICKY_IGNORE"),
        env("JK_STATELESS"),
    );
    // Only to find the session path parameter (ASCII): lossy is enough here, and borrows
    // when the URI is UTF-8. What is forwarded is `p.facts.req_uri` itself.
    let uri = String::from_utf8_lossy(&p.facts.req_uri);
    let info = jk_lb::RequestInfo {
        uri: &uri,
        cookies: &cookies,
        is_ssl: p.facts.is_ssl,
        jk_route: jk_route.as_deref(),
        jk_sticky_ignore: sticky_ignore.as_deref(),
        jk_stateless: stateless.as_deref(),
        rule: p.ext.as_deref(),
    };
    let encode = |w: &AjpWorker, route: Option<&str>, act: Activation| encode(&p, w, route, act);
    let fwd = Forward {
        body: p.body,
        template: template(req, &p),
        encode: &encode,
    };
    let member = |n: &str| Some((rt.ajp_worker(n)?, rt.endpoint(n)?));
    let lb = LbContext {
        name,
        balancer: bal,
        member: &member,
        // mod_jk-rs: bodies up to replay_buffer are kept so the request can go to another
        // member.
        replay_limit: rt.lb_config(name).map_or(0, |l| l.replay_buffer as usize),
        held: &rt.gen.held,
    };
    let mut peer = peer_for(req, &p);
    let answer = request::serve_lb(&Glue { req, rt }, &mut peer, &lb, &info, &fwd);
    finish(req, rt, name, answer, &mut peer)
}
