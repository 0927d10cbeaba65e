//! Serving a request mapped to a worker: an ajp13 worker forwards it to its Tomcat; a load
//! balancer picks members (jk-lb) and fails over while the request can be replayed; the
//! status worker lands with its milestone.

use std::ffi::c_int;
use std::sync::Arc;
use std::time::Duration;

use jk_ajp_client::{
    Body, Endpoint, ErrorKind, RequestBody, ResponseSummary, ServiceError, ServiceRequest,
};
use jk_config::{AjpWorker, WorkerKind};
use jk_directives::OptionBits;
use jk_lb::Outcome;
use jk_log::Level;
use jk_runtime::failover::{after_failure, reply_timeout_override, FailedTry, Next};
use jk_runtime::Served;
use jk_urimap::RuleExtensions;

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
    let st = crate::reqstate::state(req);
    // SAFETY: the kept r->uri pointer is a string of the live request's pool.
    let orig_uri: &'r [u8] = match st.orig_uri {
        Some(p) => unsafe { crate::cstr::opt_bytes(p) },
        // SAFETY: r->uri is a string of the live request's pool.
        None => unsafe { crate::cstr::opt_bytes((*r).uri) },
    }
    .unwrap_or_default();
    let ext = st.ext.clone();
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
    activation: &str,
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

fn service_request<'a>(req: Req, p: &'a Prepared, packet: &'a [u8]) -> ServiceRequest<'a> {
    ServiceRequest {
        packet,
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
    }
}

fn too_large(rt: &ServerRuntime, name: &str, e: &jk_ajp::AjpError) -> c_int {
    rt.log(
        Level::Error,
        &format!(
            "({name}) Creating AJP message failed without recovery - check max_packet_size ({e})"
        ),
    );
    ffi::HTTP_REQUEST_ENTITY_TOO_LARGE as c_int
}

/// The handler status after a served request (reference §7.9, §8.2).
fn finish_ok(
    req: Req,
    rt: &ServerRuntime,
    name: &str,
    s: &ResponseSummary,
    peer: &HttpPeer,
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

/// The handler status after a failed request.
fn finish_err(
    req: Req,
    rt: &ServerRuntime,
    name: &str,
    e: &ServiceError,
    peer: &mut HttpPeer,
    log: bool,
) -> c_int {
    let r = req.raw();
    let status = e.http_status();
    match e.kind {
        ErrorKind::ClientWrite | ErrorKind::ClientRead => {
            rt.log(
                Level::Info,
                &format!("{e}; aborting connection for worker={name}"),
            );
            // SAFETY: live connection.
            unsafe { (*(*r).connection).aborted = 1 };
            if e.kind == ErrorKind::ClientWrite {
                OK
            } else {
                c_int::from(status)
            }
        }
        _ => {
            if log {
                rt.log(Level::Error, &format!("{e} (answering {status})"));
            }
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
    let packet = match encode(&p, w, None, "ACT") {
        Ok(pk) => pk,
        Err(e) => return too_large(rt, name, &e),
    };
    let mut body = RequestBody::new(p.body);
    let mut peer = HttpPeer::new(req);
    peer.is_head = p.facts.method == b"HEAD";
    peer.server_errors_from = p.ext.as_ref().map_or(0, |e| e.use_server_errors);
    let sreq = service_request(req, &p, &packet);
    // Statistics of the standalone worker (lb members are counted by their balancer).
    let tracked = rt
        .gen
        .ajp
        .get(name)
        .zip(rt.gen.child.get().copied())
        .map(|(sh, child)| sh.track(child));
    let result = ep.service(&sreq, &mut body, &mut peer);
    if let Some(t) = tracked {
        let how = match &result {
            Ok(s) => Served::Ok {
                read: s.read_bytes,
                transferred: s.body_bytes,
            },
            Err(e) if e.kind.is_client_error() => Served::ClientError,
            Err(e) if e.kind == ErrorKind::ReplyTimeout => Served::ReplyTimeout,
            Err(_) => Served::Error,
        };
        t.finish(how, jk_urimap::unix_now());
    }
    match result {
        Ok(s) => finish_ok(req, rt, name, &s, &peer),
        Err(e) => finish_err(req, rt, name, &e, &mut peer, true),
    }
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
    let rule = p.ext.as_ref().map(|e| lb_rule(e));
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
        rule: rule.as_ref(),
    };
    let mut attempt = bal.start(&info);
    // mod_jk-rs: bodies up to replay_buffer are kept so the request can go to another member.
    let replay = rt.lb_config(name).map_or(0, |l| l.replay_buffer as usize);
    let mut body = RequestBody::new(p.body).with_replay_limit(replay);
    let mut peer = HttpPeer::new(req);
    peer.is_head = p.facts.method == b"HEAD";
    peer.server_errors_from = p.ext.as_ref().map_or(0, |e| e.use_server_errors);
    let mut why: Vec<String> = Vec::new();
    let mut rc: Option<c_int> = None;
    hold_if_needed(req, rt, name, bal, &mut attempt);
    let mut held_after_failure = false;
    while let Some(choice) = attempt.next_member() {
        if !choice.sleep_before.is_zero() {
            std::thread::sleep(choice.sleep_before);
        }
        let (Some(w), Some(ep)) = (rt.ajp_worker(&choice.name), rt.endpoint(&choice.name)) else {
            why.push(format!("{}: not an ajp13 worker", choice.name));
            attempt.report(&choice, Outcome::Failed, 500);
            continue;
        };
        let route = (!choice.route.is_empty()).then_some(choice.route.as_str());
        let packet = match encode(&p, w, route, choice.activation_text()) {
            Ok(pk) => pk,
            Err(e) => {
                attempt.report_unrecoverable(&choice, Outcome::ClientError, 413);
                rc = Some(too_large(rt, &choice.name, &e));
                break;
            }
        };
        peer.extra_headers = attempt
            .set_cookie_header()
            .map(|c| vec![("Set-Cookie".to_string(), c)])
            .unwrap_or_default();
        let sreq = service_request(req, &p, &packet);
        match ep.service(&sreq, &mut body, &mut peer) {
            Ok(s) => {
                attempt.report(
                    &choice,
                    Outcome::Success {
                        bytes_read: s.read_bytes,
                        bytes_written: s.body_bytes,
                    },
                    s.status,
                );
                rc = Some(finish_ok(req, rt, name, &s, &peer));
                break;
            }
            Err(e) => {
                let (outcome, next) = after_failure(FailedTry {
                    kind: e.kind,
                    recoverable: e.recoverable,
                    before_reply: e.before_reply,
                    body_replayable: body.replayable(),
                    output_untouched: peer.can_still_fail(),
                    sticky: choice.sticky,
                    already_held: held_after_failure,
                    hold_enabled: bal.hold_timeout().is_some(),
                });
                let status = e.http_status();
                if next == Next::Answer {
                    attempt.report_unrecoverable(&choice, outcome, status);
                    rc = Some(finish_err(req, rt, name, &e, &mut peer, true));
                    break;
                }
                why.push(format!("{}: {}", choice.name, e.message));
                attempt.report(&choice, outcome, status);
                if peer.headers_sent || peer.swallowed.is_some() {
                    // The failed member's headers never left httpd (mod_jk recovers after
                    // headers unless recovery_options has 2): the next answer starts clean.
                    peer.discard_response();
                }
                if next == Next::HoldForSameMember {
                    // mod_jk-rs safe replay: the session's own member failed before
                    // processing the request (it is restarting): wait for it rather than
                    // lose the session.
                    held_after_failure = true;
                    if let Some(i) = bal.member_index(&choice.name) {
                        if wait_until_ready(req, rt, name, bal, i) {
                            rt.log(
                                Level::Info,
                                &format!("{e}; sending the request to {} again", choice.name),
                            );
                            attempt = bal.start(&info);
                            continue;
                        }
                    }
                }
                rt.log(
                    Level::Info,
                    &format!("{e}; trying another member of {name}"),
                );
            }
        }
    }
    if let Some(route) = attempt.worker_route() {
        req.set_note("JK_WORKER_ROUTE", route);
    }
    attempt.for_each_note(|k, v| req.add_lb_note(k, v));
    if let Some(rc) = rc {
        return rc;
    }
    let status = attempt.final_status();
    let detail = if why.is_empty() {
        "no member is usable (all in error, stopped, disabled or busy)".to_string()
    } else {
        why.join("; ")
    };
    rt.log(
        Level::Error,
        &format!("({name}) All tomcat instances failed, no more workers left: {detail} (answering {status})"),
    );
    if peer.headers_sent {
        peer.discard_response();
    }
    c_int::from(status)
}

/// mod_jk-rs hold: a request whose session member is restarting or down waits for it (up to
/// hold_timeout, at most hold_max such requests per httpd child) instead of failing over and
/// losing the session.
fn hold_if_needed(
    req: Req,
    rt: &ServerRuntime,
    name: &str,
    bal: &jk_lb::Balancer,
    attempt: &mut jk_lb::Attempt<'_>,
) {
    let Some(i) = attempt.hold_for() else { return };
    if !wait_until_ready(req, rt, name, bal, i) {
        attempt.give_up_hold();
    }
}

/// Holds the request until member `i` is ready (true) or hold_timeout/hold_max says no.
fn wait_until_ready(
    req: Req,
    rt: &ServerRuntime,
    name: &str,
    bal: &jk_lb::Balancer,
    i: usize,
) -> bool {
    use std::sync::atomic::Ordering;
    let Some(timeout) = bal.hold_timeout() else {
        return false;
    };
    let member = bal.member_name(i).unwrap_or("?").to_string();
    let held = &rt.gen.held;
    if held.fetch_add(1, Ordering::AcqRel) >= bal.hold_max() as usize {
        held.fetch_sub(1, Ordering::AcqRel);
        rt.log(
            Level::Warn,
            &format!("({name}) hold_max reached: not holding a request for {member}; failing over"),
        );
        return false;
    }
    let shown = bal.hold_guard(i);
    let started = std::time::Instant::now();
    // SAFETY: live connection; a client that went away stops the wait.
    let aborted = || unsafe { (*(*req.raw()).connection).aborted } != 0;
    while !bal.is_ready(i) && started.elapsed() < timeout && !aborted() {
        std::thread::sleep(Duration::from_millis(25));
    }
    held.fetch_sub(1, Ordering::AcqRel);
    drop(shown);
    let waited = started.elapsed().as_millis();
    if bal.is_ready(i) {
        if waited > 0 {
            rt.log(
                Level::Info,
                &format!("({name}) held a request {waited} ms until {member} was ready"),
            );
        }
        true
    } else {
        rt.log(
            Level::Warn,
            &format!(
                "({name}) {member} not ready after holding a request {waited} ms; failing over"
            ),
        );
        false
    }
}

/// A readiness probe of `path` (a member's health_url): an HTTP GET sent over AJP; ready when
/// the answer is 2xx (e.g. Tomcat's HealthCheckValve).
pub fn health_probe(ep: &Endpoint, w: &AjpWorker, path: &str) -> bool {
    struct Sink(u16);
    impl jk_ajp_client::Peer for Sink {
        fn read_body(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Ok(0)
        }
        fn start_response(
            &mut self,
            status: u16,
            _: &[u8],
            _: &[(&[u8], &[u8])],
        ) -> std::io::Result<()> {
            self.0 = status;
            Ok(())
        }
        fn write_body(&mut self, _: &[u8]) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let fwd = jk_ajp::ForwardRequest {
        method: b"GET",
        protocol: b"HTTP/1.1",
        req_uri: path.as_bytes(),
        remote_addr: b"127.0.0.1",
        server_name: b"localhost",
        server_port: 80,
        headers: vec![
            (&b"Host"[..], &b"localhost"[..]),
            (&b"User-Agent"[..], &b"mod_jk-rs readiness probe"[..]),
        ],
        secret: w.secret.as_deref().map(str::as_bytes),
        remote_port: b"0",
        local_addr: b"127.0.0.1",
        ..Default::default()
    };
    let Ok(packet) = fwd.encode(w.max_packet_size as usize) else {
        return false;
    };
    let sreq = ServiceRequest {
        packet: &packet,
        is_head: false,
        is_get: true,
        reply_timeout: Some(Some(Duration::from_secs(5))),
        fail_on_status: None,
        flush_packets: false,
        flush_header: false,
        disable_reuse: false,
    };
    let mut sink = Sink(0);
    match ep.service(&sreq, &mut RequestBody::new(Body::None), &mut sink) {
        Ok(s) => (200..300).contains(&s.status),
        Err(_) => false,
    }
}

/// The mount rule's extensions as the balancer reads them.
fn lb_rule(e: &RuleExtensions) -> jk_lb::RuleExtensions {
    use jk_config::Activation;
    let mut activations = Vec::new();
    for (list, a) in [
        (&e.active, Activation::Active),
        (&e.disabled, Activation::Disabled),
        (&e.stopped, Activation::Stopped),
    ] {
        activations.extend(list.iter().map(|m| (m.clone(), a)));
    }
    jk_lb::RuleExtensions {
        sticky_ignore: e.sticky_ignore,
        stateless: e.stateless,
        activations,
        session_cookie: e.session_cookie.clone(),
        session_path: e.session_path.clone(),
        set_session_cookie: e.set_session_cookie,
    }
}
