//! One request over a worker, without httpd (ARCHITECTURE rule 11): for a plain ajp13 worker
//! send, classify and count; for a load balancer pick a member, hold for a restarting one,
//! send, classify, then answer, wait for the same member or try the next one, replaying the
//! body when that is safe. The glue supplies the request (its encoded forward packet per
//! member, its body and answer through [`Client`]) and the few things only httpd knows
//! ([`Host`]); it gets back an [`Answer`] to turn into httpd's response.

use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jk_ajp::AjpError;
use jk_ajp_client::{
    Body, Endpoint, Peer, RequestBody, ResponseSummary, ServiceError, ServiceRequest,
};
use jk_config::{Activation, AjpWorker};
use jk_lb::{Attempt, Balancer, Lifecycle, Notes, Outcome, RequestInfo};
use jk_log::Level;
use jk_shm::ChildIndex;

use crate::ajp::{AjpShared, Served};
use crate::failover::{after_failure, check_for_stop, FailedTry, Next};
use crate::failure::{disposition, Reply};

/// What only the web server knows about the request in progress.
pub trait Host {
    /// Writes a line to the request's log (mod_jk's log for the handler); `at` is the line
    /// of this crate that decided it.
    fn log_at(&self, at: &'static Location<'static>, level: Level, msg: &str);
    /// The client went away (a held request stops waiting for its member).
    fn client_aborted(&self) -> bool;
    /// Sets the `JK_WORKER_ROUTE` note: the route of the member that served the request.
    fn worker_route(&self, route: &str);
    /// Adds the balancer's `JK_LB_FIRST_*` and `JK_LB_LAST_*` notes (once per request).
    fn lb_notes(&self, notes: &Notes<'_>);
}

/// Logs through the host, naming the line of this crate that logs.
trait LogHere {
    fn log(&self, level: Level, msg: &str);
}

impl<H: Host + ?Sized> LogHere for H {
    #[track_caller]
    fn log(&self, level: Level, msg: &str) {
        self.log_at(Location::caller(), level, msg);
    }
}

/// The client's side of the request: its body in, the answer out (see [`Peer`]), and the
/// means to take back an answer that has not reached the client yet.
pub trait Client: Peer {
    /// Nothing of an answer reached the client's connection yet: an error status can still
    /// replace it (and another member can still answer).
    fn can_still_fail(&self) -> bool;
    /// Forgets a failed try's status, headers and held-back body (nothing when there is
    /// nothing of a backend answer to forget).
    fn discard_response(&mut self);
    /// Headers sent after the backend's (the balancer's generated session cookie).
    fn set_extra_headers(&mut self, headers: Vec<(String, String)>);
}

/// What a request sends to whichever member serves it.
pub struct Forward<'a> {
    /// The request body the client announced.
    pub body: Body,
    /// `is_head`, `is_get`, timeouts and flags; `packet` is filled per member.
    pub template: ServiceRequest<'a>,
    /// The FORWARD_REQUEST for a worker, with the member's route and activation
    /// (`None`, active for a plain ajp13 worker).
    pub encode: &'a Encode<'a>,
}

/// Encodes the FORWARD_REQUEST for a worker, a route and an activation.
pub type Encode<'a> =
    dyn Fn(&AjpWorker, Option<&str>, Activation) -> Result<Vec<u8>, AjpError> + 'a;

/// A member's ajp settings and endpoint, by name.
pub type MemberLookup<'a> = dyn Fn(&str) -> Option<(&'a AjpWorker, Arc<Endpoint>)> + 'a;

/// How the request ends, for the glue to turn into httpd's answer.
#[derive(Debug)]
pub enum Answer {
    /// The backend answered; its status, headers and body went to the client.
    Served(ResponseSummary),
    /// Answer with this error status (nothing of a backend answer is left).
    Status(u16),
    /// The client's connection is aborted, the handler returns `status` (None: OK). Used
    /// when the client went away and when part of an answer reached it before a failure.
    Abort { status: Option<u16> },
}

/// Turns a failure into the answer (the [`failure`](crate::failure) table): the client's own
/// errors abort its connection; otherwise the error status, unless part of the answer already
/// reached the client (then only an abort is left).
fn failed(host: &dyn Host, client: &mut dyn Client, name: &str, e: &ServiceError) -> Answer {
    let d = disposition(e.kind);
    let status = d.http_status;
    match d.reply {
        Reply::Abort => {
            host.log(
                d.level,
                &format!("{e}; aborting connection for worker={name}"),
            );
            Answer::Abort {
                status: d.abort_status(),
            }
        }
        Reply::Status => {
            if !client.can_still_fail() {
                host.log(
                    d.level,
                    &format!("{e} (part of the answer was sent: closing the connection)"),
                );
                return Answer::Abort { status: None };
            }
            host.log(d.level, &format!("{e} (answering {status})"));
            client.discard_response();
            Answer::Status(status)
        }
    }
}

fn too_large(host: &dyn Host, name: &str, e: &AjpError) -> Answer {
    host.log(
        Level::Error,
        &format!(
            "({name}) Creating AJP message failed without recovery - check max_packet_size ({e})"
        ),
    );
    Answer::Status(413)
}

/// A plain ajp13 worker a request goes to.
pub struct AjpTarget<'a> {
    pub name: &'a str,
    pub worker: &'a AjpWorker,
    pub endpoint: &'a Endpoint,
    /// The worker's shared statistics (a standalone worker; members are counted by their
    /// balancer) and this process's entry in the child table.
    pub stats: Option<(&'a AjpShared, ChildIndex)>,
}

/// Serves a request with a plain ajp13 worker; `now` (unix seconds) stamps an error in the
/// statistics.
pub fn serve_ajp(
    host: &dyn Host,
    client: &mut dyn Client,
    target: &AjpTarget<'_>,
    fwd: &Forward<'_>,
    now: fn() -> u64,
) -> Answer {
    let (name, w, ep) = (target.name, target.worker, target.endpoint);
    let packet = match (fwd.encode)(w, None, Activation::Active) {
        Ok(p) => p,
        Err(e) => return too_large(host, name, &e),
    };
    let mut body = RequestBody::new(fwd.body);
    let sreq = ServiceRequest {
        packet: &packet,
        ..fwd.template
    };
    let tracked = target.stats.map(|(sh, child)| sh.track(child));
    let result = ep.service(&sreq, &mut body, client);
    if let Some(t) = tracked {
        let (how, traffic) = match &result {
            Ok(s) => (Served::Ok, s.ajp),
            Err(e) => (disposition(e.kind).stats, e.traffic),
        };
        t.finish(how, traffic, now());
    }
    match result {
        Ok(s) => Answer::Served(s),
        Err(e) => failed(host, client, name, &e),
    }
}

/// What a balanced request needs besides the request itself.
pub struct LbContext<'a> {
    /// The lb worker's name (log lines).
    pub name: &'a str,
    pub balancer: &'a Balancer,
    /// A member's ajp settings and endpoint (following runtime edits).
    pub member: &'a MemberLookup<'a>,
    /// Request bodies up to this many bytes are kept for a replay on another member.
    pub replay_limit: usize,
    /// Requests of this process held for a restarting member (capped by hold_max).
    pub held: &'a AtomicUsize,
}

/// How often a held request looks whether its member is ready again.
const HOLD_POLL: Duration = Duration::from_millis(25);

/// Wall-clock milliseconds (the probe lease's clock, shared by the children).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Serves a request through a load balancer (reference §5.3–5.6, and the mod_jk-rs hold and
/// safe replay): members are tried until one answers, the failure is not recoverable, or
/// none is left.
pub fn serve_lb(
    host: &dyn Host,
    client: &mut dyn Client,
    lb: &LbContext<'_>,
    info: &RequestInfo<'_>,
    fwd: &Forward<'_>,
) -> Answer {
    let (name, bal) = (lb.name, lb.balancer);
    let mut attempt = bal.start(info);
    let mut body = RequestBody::new(fwd.body).with_replay_limit(lb.replay_limit);
    let mut why: Vec<String> = Vec::new();
    let mut answer: Option<Answer> = None;
    hold_if_needed(host, lb, &mut attempt);
    let mut held_after_failure = false;
    while let Some(choice) = attempt.next_member() {
        if !choice.sleep_before.is_zero() {
            std::thread::sleep(choice.sleep_before);
        }
        let Some((w, ep)) = (lb.member)(choice.name) else {
            why.push(format!("{}: not an ajp13 worker", choice.name));
            attempt.report(&choice, Outcome::Failed, 500);
            continue;
        };
        let route = attempt.worker_route().filter(|r| !r.is_empty());
        let packet = match (fwd.encode)(w, route, choice.activation) {
            Ok(p) => p,
            Err(e) => {
                attempt.report_unrecoverable(&choice, Outcome::ClientError, 413);
                answer = Some(too_large(host, choice.name, &e));
                break;
            }
        };
        client.set_extra_headers(
            attempt
                .set_cookie_header()
                .map(|c| vec![("Set-Cookie".to_string(), c)])
                .unwrap_or_default(),
        );
        let sreq = ServiceRequest {
            packet: &packet,
            check_for_stop: check_for_stop(
                bal.hold_timeout().is_some(),
                fwd.template.is_get,
                fwd.template.is_head,
            ),
            ..fwd.template
        };
        let learning = Some(choice.index).filter(|&i| bal.learning_route(i));
        let result = match learning {
            // A member whose route is still unknown: its first session tells it.
            Some(i) => {
                let mut sniff = RouteSniffer {
                    inner: &mut *client,
                    cookie: bal.session_cookie_name(),
                    route: None,
                };
                let r = ep.service(&sreq, &mut body, &mut sniff);
                if let (Ok(_), Some(route)) = (&r, sniff.route.take()) {
                    learned(host, bal, i, &route);
                }
                r
            }
            None => ep.service(&sreq, &mut body, client),
        };
        let traffic = match &result {
            Ok(s) => s.ajp,
            Err(e) => e.traffic,
        };
        attempt.count_traffic(&choice, traffic.received, traffic.sent);
        match result {
            Ok(s) => {
                bal.record_reply(choice.index, s.status, s.reply_time);
                attempt.report(&choice, Outcome::Success, s.status);
                answer = Some(Answer::Served(s));
                break;
            }
            Err(e) => {
                let (outcome, next) = after_failure(FailedTry {
                    kind: e.kind,
                    recoverable: e.recoverable,
                    before_reply: e.before_reply,
                    body_replayable: body.replayable(),
                    output_untouched: client.can_still_fail(),
                    sticky: choice.sticky,
                    already_held: held_after_failure,
                    hold_enabled: bal.hold_timeout().is_some(),
                });
                let status = disposition(e.kind).http_status;
                if next == Next::Answer {
                    attempt.report_unrecoverable(&choice, outcome, status);
                    answer = Some(failed(host, client, name, &e));
                    break;
                }
                why.push(format!("{}: {}", choice.name, e.message));
                attempt.report(&choice, outcome, status);
                // The failed member's answer never left httpd (mod_jk recovers after
                // headers unless recovery_options has 2): the next answer starts clean.
                client.discard_response();
                if next == Next::HoldForSameMember {
                    // The session's own member failed before processing the request (it is
                    // restarting): wait for it rather than lose the session.
                    held_after_failure = true;
                    if let Some(i) = bal.member_index(choice.name) {
                        if wait_until_ready(host, lb, i) {
                            host.log(
                                Level::Info,
                                &format!("{e}; sending the request to {} again", choice.name),
                            );
                            attempt = bal.start(info);
                            // Its route may have moved to a successor still getting ready.
                            hold_if_needed(host, lb, &mut attempt);
                            continue;
                        }
                    }
                }
                host.log(
                    Level::Info,
                    &format!("{e}; trying another member of {name}"),
                );
            }
        }
    }
    if let Some(route) = attempt.worker_route() {
        host.worker_route(route);
    }
    host.lb_notes(&attempt.notes());
    if let Some(a) = answer {
        return a;
    }
    let status = attempt.final_status();
    let detail = if why.is_empty() {
        "no member is usable (all in error, stopped, disabled or busy)".to_string()
    } else {
        why.join("; ")
    };
    host.log(
        Level::Error,
        &format!("({name}) All tomcat instances failed, no more workers left: {detail} (answering {status})"),
    );
    client.discard_response();
    Answer::Status(status)
}

/// Records the route of the first session cookie a member issues (`NAME=<id>.<route>`),
/// passing everything on unchanged.
struct RouteSniffer<'c> {
    inner: &'c mut dyn Client,
    cookie: &'c str,
    route: Option<String>,
}

/// The route of a `Set-Cookie` value `<cookie>=<id>.<route>; ...`.
pub fn cookie_route<'v>(value: &'v [u8], cookie: &str) -> Option<&'v str> {
    let v = std::str::from_utf8(value).ok()?;
    let pair = v.split(';').next()?.trim();
    let (name, id) = pair.split_once('=')?;
    if !name.trim().eq_ignore_ascii_case(cookie) {
        return None;
    }
    let (_, route) = id.trim().trim_matches('"').rsplit_once('.')?;
    (!route.is_empty()).then_some(route)
}

impl Peer for RouteSniffer<'_> {
    fn read_body(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read_body(buf)
    }
    fn start_response(
        &mut self,
        status: u16,
        reason: &[u8],
        headers: &[(&[u8], &[u8])],
    ) -> std::io::Result<()> {
        if self.route.is_none() {
            self.route = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(b"set-cookie"))
                .find_map(|(_, v)| cookie_route(v, self.cookie))
                .map(str::to_owned);
        }
        self.inner.start_response(status, reason, headers)
    }
    fn write_body(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.inner.write_body(data)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
    fn output_committed(&self) -> bool {
        self.inner.output_committed()
    }
}

impl Client for RouteSniffer<'_> {
    fn can_still_fail(&self) -> bool {
        self.inner.can_still_fail()
    }
    fn discard_response(&mut self) {
        self.route = None;
        self.inner.discard_response();
    }
    fn set_extra_headers(&mut self, headers: Vec<(String, String)>) {
        self.inner.set_extra_headers(headers);
    }
}

/// Member `i` issued a session with `route`: learn it (logged either way).
fn learned(host: &dyn Host, bal: &Balancer, i: usize, route: &str) {
    let member = bal.display_name(i);
    match bal.learn_route(i, route) {
        Ok(true) => host.log(
            Level::Info,
            &format!(
                "({}) member '{member}' learned its route '{route}' from the first session it \
                 issued",
                bal.name()
            ),
        ),
        Ok(false) => {}
        Err(e) => host.log(Level::Warn, &format!("({}) {e}", bal.name())),
    }
}

/// mod_jk-rs hold: a request whose session member is restarting or down waits for it (up to
/// hold_timeout, at most hold_max such requests per process) instead of failing over and
/// losing the session.
fn hold_if_needed(host: &dyn Host, lb: &LbContext<'_>, attempt: &mut Attempt<'_>) {
    let Some(i) = attempt.hold_for() else { return };
    if !wait_until_ready(host, lb, i) {
        attempt.give_up_hold();
    }
}

/// Holds the request until member `i` is ready (true) or hold_timeout/hold_max says no. When
/// `i` hands its route over meanwhile (a start-first replacement took it: [`Balancer::
/// hand_over`], or learned it after `i` was already draining), the hold follows the route to
/// the member that has it now and waits for that one to be ready, within the same timeout.
pub fn wait_until_ready(host: &dyn Host, lb: &LbContext<'_>, i: usize) -> bool {
    let (name, bal) = (lb.name, lb.balancer);
    let Some(timeout) = bal.hold_timeout() else {
        return false;
    };
    let member = bal.member_name(i).unwrap_or("?").to_string();
    if lb.held.fetch_add(1, Ordering::AcqRel) >= bal.hold_max() as usize {
        lb.held.fetch_sub(1, Ordering::AcqRel);
        host.log(
            Level::Warn,
            &format!("({name}) hold_max reached: not holding a request for {member}; failing over"),
        );
        return false;
    }
    let shown = bal.hold_guard(i);
    let started = Instant::now();
    // The session's route, to follow it when `i` hands it over.
    let route = bal.snapshot(i).map(|s| s.route).unwrap_or_default();
    let (mut cur, mut successor, mut hops, mut gone) = (i, None::<String>, 0, false);
    let mut endpoint = (lb.member)(&member);
    loop {
        if bal.handed_over(cur) {
            match bal
                .member_with_route(&route)
                .filter(|&s| s != cur && !route.is_empty() && hops < 4)
            {
                Some(s) => {
                    hops += 1;
                    cur = s;
                    endpoint = (lb.member)(bal.member_name(s).unwrap_or("?"));
                    successor = Some(bal.display_name(s));
                    continue;
                }
                None => break,
            }
        }
        if bal.is_ready(cur) || started.elapsed() >= timeout || host.client_aborted() {
            break;
        }
        if bal.lifecycle(cur) == Lifecycle::Draining
            && bal.successor(cur).is_none()
            && !bal.route_learner_pending()
        {
            // It left the balancer (its task is gone: a swarm scale-down, `jkctl remove`),
            // no standby waits for its route and no newcomer is learning a route that could
            // be its: nothing will serve this session again; fail over now rather than at
            // hold_timeout.
            gone = true;
            break;
        }
        // The held request probes its member itself (one probe per HELD_PROBE_MS across all
        // held requests and children), so it goes out as soon as the member answers rather
        // than at the prober's next round.
        // Bounded by what is left of the hold: a backend that accepts and never answers must
        // not keep the request past hold_timeout.
        let left = timeout.saturating_sub(started.elapsed());
        if let Some((w, ep)) = &endpoint {
            if left >= HOLD_POLL && bal.claim_held_probe(cur, unix_ms()) {
                crate::probe::probe_member_within(bal, cur, ep, w, left);
                continue;
            }
        }
        std::thread::sleep(HOLD_POLL.min(timeout.saturating_sub(started.elapsed())));
    }
    lb.held.fetch_sub(1, Ordering::AcqRel);
    drop(shown);
    let held_for = started.elapsed();
    bal.record_hold(i, held_for);
    let waited = held_for.as_millis();
    if let Some(s) = &successor {
        let ready = bal.is_ready(cur);
        host.log(
            Level::Info,
            &format!(
                "({name}) held a request {waited} ms: {} handed its route over to {s}{}",
                bal.display_name(i),
                if ready { ", ready" } else { ", not ready yet" }
            ),
        );
        // Not ready yet (hold_timeout): the caller's next choice by session decides.
        return true;
    }
    if bal.handed_over(i) {
        host.log(
            Level::Info,
            &format!("({name}) held a request {waited} ms until {member} handed its route over"),
        );
        return true;
    }
    if gone {
        host.log(
            Level::Info,
            &format!(
                "({name}) {} left the balancer and no new member is learning a route: not \
                 holding its request longer ({waited} ms); failing over",
                bal.display_name(cur)
            ),
        );
        return false;
    }
    if bal.is_ready(i) {
        if waited > 0 {
            host.log(
                Level::Info,
                &format!("({name}) held a request {waited} ms until {member} was ready"),
            );
        }
        true
    } else {
        host.log(
            Level::Warn,
            &format!(
                "({name}) {member} not ready after holding a request {waited} ms; failing over"
            ),
        );
        false
    }
}
