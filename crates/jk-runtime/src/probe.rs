//! Readiness probes of balancer members (ARCHITECTURE rule 11: when a member is ready again
//! is decided here, not in the glue): a CPing on a fresh connection, then the member's
//! `health_url` when it has one. One round probes the members due (a lease in shared memory
//! makes one child probe a member per interval).

use std::sync::Arc;
use std::time::Duration;

use jk_ajp_client::{Body, Endpoint, RequestBody, ServiceRequest};
use jk_config::{AjpWorker, WorkerKind, WorkersConfig};
use jk_lb::Balancer;

/// How often the prober thread looks for members due: the shortest probe_interval of the
/// balancers, kept within 50 ms..1 s.
pub fn prober_tick(balancers: &crate::ByName<Arc<Balancer>>) -> Duration {
    let ms = balancers
        .values()
        .map(|b| b.rolling().probe_interval_ms)
        .min()
        .unwrap_or(500)
        .clamp(50, 1000);
    Duration::from_millis(ms)
}

/// One maintenance pass of a process (the watchdog's round, or request-driven every
/// worker.maintain): idle connections of every endpoint, dead children (`reap`), and each
/// balancer's global maintenance with a CPing probe of the members waiting for recovery
/// (mod_jk would send them a user request instead).
pub fn maintenance_round<'a>(
    endpoints: &crate::ByName<Arc<Endpoint>>,
    balancers: &crate::ByName<Arc<Balancer>>,
    endpoint: impl Fn(&str) -> Option<&'a Arc<Endpoint>>,
    reap: impl FnOnce(),
) {
    for ep in endpoints.values() {
        ep.maintain();
    }
    reap();
    for b in balancers.values() {
        b.maintain();
        for i in b.members_to_probe() {
            let Some(ep) = b.member_name(i).and_then(&endpoint) else {
                continue;
            };
            let wait = ep.config().ping.interval.unwrap_or(Duration::from_secs(10));
            b.probe_result(i, ep.probe(wait).is_ok());
        }
    }
}

/// One prober round at `now_ms` (unix ms): every member due is probed and the result handed
/// to its balancer. `endpoint` gives a member's endpoint following runtime edits.
pub fn readiness_round<'a>(
    balancers: &crate::ByName<Arc<Balancer>>,
    workers: &WorkersConfig,
    endpoint: impl Fn(&str) -> Option<&'a Arc<Endpoint>>,
    now_ms: u64,
) {
    for b in balancers.values() {
        for i in b.fast_probe_targets(now_ms) {
            let Some(name) = b.member_name(i) else {
                continue;
            };
            let (Some(ep), Some(w)) = (endpoint(name), workers.worker(name)) else {
                continue;
            };
            let WorkerKind::Ajp(aw) = &w.kind else {
                continue;
            };
            probe_member(b, i, ep, aw);
        }
    }
}

/// One readiness probe of member `i` of `b` (a CPing on a fresh connection, then its
/// health_url when it has one), reported to the balancer.
pub fn probe_member(b: &Balancer, i: usize, ep: &Endpoint, aw: &AjpWorker) {
    probe_member_within(b, i, ep, aw, HEALTH_REPLY_WAIT);
}

/// As [`probe_member`], waiting at most `limit` for the CPong and for the health page's
/// answer (a held request probes within what is left of its hold_timeout).
pub fn probe_member_within(b: &Balancer, i: usize, ep: &Endpoint, aw: &AjpWorker, limit: Duration) {
    let wait = Duration::from_millis(u64::from(aw.ping_timeout_ms.clamp(100, 5000))).min(limit);
    let mut route = None;
    let cookie = b.learning_route(i).then(|| b.session_cookie_name());
    let ok = ep.probe(wait).is_ok()
        && b.health_url(i).is_none_or(|path| {
            let (ok, r) = health_check(ep, aw, path, limit, cookie);
            route = r;
            ok
        });
    // A member that does not know its route yet learns it from its health page's session
    // cookie, before it takes any request (a replacement of a serving member then waits as
    // its standby).
    if let Some(r) = route {
        let member = b.display_name(i);
        let event = match b.learn_route(i, &r) {
            Ok(true) => Some((
                jk_log::Level::Info,
                match b.predecessor(i) {
                    Some(p) => format!(
                        "({}) member '{member}' learned its route '{r}' from its health page; \
                         '{}' serves that route: '{member}' waits as its standby and takes the \
                         route over once it stops",
                        b.name(),
                        b.display_name(p)
                    ),
                    None => format!(
                        "({}) member '{member}' learned its route '{r}' from its health page",
                        b.name()
                    ),
                },
            )),
            Ok(false) => None,
            Err(e) => Some((jk_log::Level::Warn, format!("({}) {e}", b.name()))),
        };
        if let Some((level, msg)) = event {
            crate::membership::note(level, msg);
        }
    }
    b.probe_result(i, ok);
    if !ok && b.successor(i).is_some() && backend_gone_within(b, i, ep, limit) {
        // Handover: the member's backend has stopped (sessions saved, port closed).
        if let Some(s) = b.hand_over(i) {
            crate::membership::note(
                jk_log::Level::Info,
                format!(
                    "({}) member '{}' stopped (its AJP port is closed): its route went to \
                     '{}', which serves its sessions from now on",
                    b.name(),
                    b.display_name(i),
                    b.display_name(s)
                ),
            );
        }
    }
}

/// Whether nothing listens at the endpoint's address any more (a connection is refused):
/// a stopping Tomcat closes its AJP port only after its contexts stopped and saved their
/// sessions. A paused connector still accepts connections, so it does not count.
pub fn port_closed(ep: &Endpoint) -> bool {
    port_closed_within(ep, PORT_CHECK_WAIT, false)
}

/// Whether member `i`'s backend has stopped, for a handover of its route: its port is closed
/// ([`port_closed`]) or, when the member drains (its address left the discovery: a swarm task
/// that stopped), nothing answers at its address at all (the container is gone: connections
/// time out or the host is unreachable). A Tomcat still stopping accepts connections.
pub fn backend_gone(b: &Balancer, i: usize, ep: &Endpoint) -> bool {
    backend_gone_within(b, i, ep, PORT_CHECK_WAIT)
}

fn backend_gone_within(b: &Balancer, i: usize, ep: &Endpoint, limit: Duration) -> bool {
    port_closed_within(ep, limit, b.lifecycle(i) == jk_lb::Lifecycle::Draining)
}

/// The longest a port check waits for a connection (a refused one comes at once).
const PORT_CHECK_WAIT: Duration = Duration::from_millis(500);

/// As [`port_closed`], waiting at most `limit` (a held request checks within what is left
/// of its hold); `unanswered_too`: a connection that is not answered at all counts as well.
fn port_closed_within(ep: &Endpoint, limit: Duration, unanswered_too: bool) -> bool {
    let wait = limit.min(PORT_CHECK_WAIT);
    match ep.config().addr {
        None => true,
        Some(_) if wait.is_zero() => false,
        Some(a) => match std::net::TcpStream::connect_timeout(&a, wait) {
            Ok(_) => false,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionRefused || unanswered_too,
        },
    }
}

/// The longest wait for a health page's answer.
const HEALTH_REPLY_WAIT: Duration = Duration::from_secs(5);

/// A readiness probe of `path` (a member's health_url): an HTTP GET sent over AJP; ready when
/// the answer is 2xx (e.g. Tomcat's HealthCheckValve).
pub fn health_probe(ep: &Endpoint, w: &AjpWorker, path: &str) -> bool {
    health_probe_within(ep, w, path, HEALTH_REPLY_WAIT)
}

/// As [`health_probe`], waiting at most `limit` (and at most 5 s) for the answer.
pub fn health_probe_within(ep: &Endpoint, w: &AjpWorker, path: &str, limit: Duration) -> bool {
    health_check(ep, w, path, limit, None).0
}

/// The health page's verdict, and with `cookie` the route of the session cookie of that
/// name the answer sets, if any.
fn health_check(
    ep: &Endpoint,
    w: &AjpWorker,
    path: &str,
    limit: Duration,
    cookie: Option<&str>,
) -> (bool, Option<String>) {
    struct Sink<'c> {
        status: u16,
        cookie: Option<&'c str>,
        route: Option<String>,
    }
    impl jk_ajp_client::Peer for Sink<'_> {
        fn read_body(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Ok(0)
        }
        fn start_response(
            &mut self,
            status: u16,
            _: &[u8],
            headers: &[(&[u8], &[u8])],
        ) -> std::io::Result<()> {
            self.status = status;
            if let Some(c) = self.cookie {
                self.route = headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(b"set-cookie"))
                    .find_map(|(_, v)| crate::request::cookie_route(v, c))
                    .map(str::to_owned);
            }
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
        return (false, None);
    };
    let sreq = ServiceRequest {
        packet: &packet,
        is_head: false,
        is_get: true,
        reply_timeout: Some(Some(limit.min(HEALTH_REPLY_WAIT))),
        fail_on_status: None,
        flush_packets: false,
        flush_header: false,
        disable_reuse: false,
        check_for_stop: false,
    };
    let mut sink = Sink {
        status: 0,
        cookie,
        route: None,
    };
    match ep.service(&sreq, &mut RequestBody::new(Body::None), &mut sink) {
        Ok(s) => ((200..300).contains(&s.status), sink.route),
        Err(_) => (false, None),
    }
}
