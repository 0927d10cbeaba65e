#![allow(clippy::unwrap_used)]
//! The request loop without httpd: a balanced or plain request against the repository's AJP
//! test server over real sockets, through a recording client and host. One table row per
//! decision the loop makes (fail over, hold then serve, hold expiring, replay a body, a
//! paused connector, recovery_options, the client going away).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jk_ajp_client::{Body, Endpoint, Peer, ServiceRequest};
use jk_ajp_testserver::{Behaviour, Response, TestServer};
use jk_config::{Activation, AjpWorker, BuildOptions, PropertyMap, WorkerKind, WorkersConfig};
use jk_lb::{Balancer, Notes, RequestInfo};
use jk_log::Level;
use jk_runtime::request::{
    serve_ajp, serve_lb, AjpTarget, Answer, Client, Forward, Host, LbContext,
};
use jk_runtime::Built;
use jk_shm::Region;

/// A host that records log lines and notes; the client "goes away" when `abort` is set.
#[derive(Default)]
struct TestHost {
    log: RefCell<Vec<String>>,
    route: RefCell<Option<String>>,
    notes: RefCell<HashMap<String, String>>,
    abort: AtomicBool,
}

impl Host for TestHost {
    fn log_at(&self, _: &'static std::panic::Location<'static>, level: Level, msg: &str) {
        self.log.borrow_mut().push(format!("[{level:?}] {msg}"));
    }
    fn client_aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }
    fn worker_route(&self, route: &str) {
        *self.route.borrow_mut() = Some(route.into());
    }
    fn lb_notes(&self, notes: &Notes<'_>) {
        notes.for_each(|key, value| {
            self.notes
                .borrow_mut()
                .insert(key.to_string_lossy().into_owned(), value.to_string());
        });
    }
}

impl TestHost {
    fn logged(&self, part: &str) -> bool {
        self.log.borrow().iter().any(|l| l.contains(part))
    }
}

/// A client that holds the answer back like the httpd peer (nothing committed until a
/// flush) and can discard it; its body read fails after `fail_read_after` bytes.
#[derive(Default)]
struct TestClient {
    body: Vec<u8>,
    pos: usize,
    fail_read_after: Option<usize>,
    status: Option<u16>,
    headers: Vec<(String, String)>,
    extra: Vec<(String, String)>,
    out: Vec<u8>,
    flushed: bool,
    discards: usize,
}

impl Peer for TestClient {
    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.fail_read_after.is_some_and(|n| self.pos >= n) {
            return Err(io::Error::other("the client went away"));
        }
        let end = self
            .fail_read_after
            .unwrap_or(usize::MAX)
            .min(self.body.len());
        let n = buf.len().min(end - self.pos);
        buf[..n].copy_from_slice(&self.body[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
    fn start_response(
        &mut self,
        status: u16,
        _: &[u8],
        headers: &[(&[u8], &[u8])],
    ) -> io::Result<()> {
        self.status = Some(status);
        self.headers = headers
            .iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .chain(self.extra.iter().cloned())
            .collect();
        Ok(())
    }
    fn write_body(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.extend_from_slice(data);
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.flushed = true;
        Ok(())
    }
    fn output_committed(&self) -> bool {
        self.flushed
    }
}

impl Client for TestClient {
    fn can_still_fail(&self) -> bool {
        !self.flushed
    }
    fn discard_response(&mut self) {
        if self.status.is_some() || !self.out.is_empty() {
            self.discards += 1;
        }
        self.status = None;
        self.headers.clear();
        self.out.clear();
    }
    fn set_extra_headers(&mut self, headers: Vec<(String, String)>) {
        self.extra = headers;
    }
}

/// A port nothing listens on (connections are refused): tcpmux's, which no test binds. A port
/// that was free a moment ago is not enough here: the tests run in parallel and start
/// servers on ports the kernel picks, and one got such a port (every_member_refusing_is_503
/// was once served 200 by another test's server).
const REFUSED_PORT: u16 = 1;

/// A free port for a member that is down now and comes back on it later in the test.
fn port_for_later() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn text(member: &str) -> Behaviour {
    Behaviour::Respond(Response::text(200, "OK", &format!("member={member}\n")))
}

/// lb `lb` over t1 and t2 at the given ports, with `extra` properties.
struct Lb {
    workers: WorkersConfig,
    built: Built,
    region: Region<'static>,
    held: AtomicUsize,
}

fn lb(t1: u16, t2: u16, extra: &str) -> Lb {
    let text = format!(
        "worker.list=lb,solo\nworker.lb.type=lb\nworker.lb.balance_workers=t1,t2\n\
         worker.t1.host=127.0.0.1\nworker.t1.port={t1}\nworker.t1.route=t1\n\
         worker.t2.host=127.0.0.1\nworker.t2.port={t2}\nworker.t2.route=t2\n\
         worker.solo.host=127.0.0.1\nworker.solo.port={t1}\n{extra}"
    );
    let mut map = PropertyMap::new();
    map.read_str(&text, "workers.properties").unwrap();
    let workers = jk_config::build(
        &map,
        &BuildOptions {
            default_pool_size: 4,
        },
    )
    .unwrap();
    let region = Region::in_heap(4, 64);
    let built = jk_runtime::build(&workers, region, Arc::new(jk_lb::SystemClock), 4).unwrap();
    Lb {
        workers,
        built,
        region,
        held: AtomicUsize::new(0),
    }
}

impl Lb {
    /// A GET through the balancer (`cookie` picks a sticky member): who served it, as
    /// [`served_by`] says.
    fn get(&self, host: &TestHost, cookie: Option<&str>) -> String {
        let mut c = TestClient::default();
        let a = self.serve(host, &mut c, "GET", cookie);
        served_by(&a, &c)
    }

    fn balancer(&self) -> &Arc<Balancer> {
        &self.built.balancers["lb"]
    }

    fn ajp(&self, name: &str) -> &AjpWorker {
        match &self.workers.worker(name).unwrap().kind {
            WorkerKind::Ajp(a) => a,
            _ => panic!("{name} is not ajp13"),
        }
    }

    /// One request through the balancer; `cookie` picks a sticky member.
    fn serve(
        &self,
        host: &TestHost,
        client: &mut TestClient,
        method: &str,
        cookie: Option<&str>,
    ) -> Answer {
        let member = |n: &str| {
            let ep = self.built.endpoints.get(n)?.clone();
            // As the glue's Generation::endpoint: follow runtime edits (a growth slot's
            // address).
            self.built.ajp.get(n)?.sync(&ep, self.ajp(n));
            Some((self.ajp(n), ep))
        };
        let ctx = LbContext {
            name: "lb",
            balancer: self.balancer(),
            member: &member,
            replay_limit: 65536,
            held: &self.held,
        };
        let cookies: Vec<&str> = cookie.into_iter().collect();
        let info = RequestInfo {
            uri: "/app/x",
            cookies: &cookies,
            ..Default::default()
        };
        let body = if client.body.is_empty() {
            Body::None
        } else {
            Body::Length(client.body.len() as u64)
        };
        let encode = |w: &AjpWorker, route: Option<&str>, act: Activation| {
            let len = client_len(body);
            jk_ajp::ForwardRequest {
                method: method.as_bytes(),
                protocol: b"HTTP/1.1",
                req_uri: b"/app/x",
                remote_addr: b"127.0.0.1",
                server_name: b"localhost",
                server_port: 80,
                content_length: len,
                route: route.map(str::as_bytes),
                lb_activation: act,
                secret: w.secret.as_deref().map(str::as_bytes),
                remote_port: b"0",
                local_addr: b"127.0.0.1",
                ..Default::default()
            }
            .encode(w.max_packet_size as usize)
        };
        let fwd = Forward {
            body,
            template: template(method),
            encode: &encode,
        };
        serve_lb(host, client, &ctx, &info, &fwd)
    }
}

fn client_len(body: Body) -> Option<u64> {
    match body {
        Body::Length(n) => Some(n),
        _ => None,
    }
}

fn template(method: &str) -> ServiceRequest<'static> {
    ServiceRequest {
        packet: &[],
        is_head: method == "HEAD",
        is_get: method == "GET",
        reply_timeout: None,
        fail_on_status: None,
        flush_packets: false,
        flush_header: false,
        disable_reuse: false,
        check_for_stop: false,
    }
}

fn served_by(a: &Answer, c: &TestClient) -> String {
    match a {
        Answer::Served(s) => format!("{} {}", s.status, String::from_utf8_lossy(&c.out).trim()),
        other => format!("{other:?}"),
    }
}

#[test]
fn a_refused_member_fails_over_to_the_next() {
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let lb = lb(REFUSED_PORT, t2.port(), "");
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let a = lb.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"));
    assert_eq!(served_by(&a, &client), "200 member=t2");
    assert!(host.logged("trying another member of lb"), "{:?}", host.log);
    // mod_jk's JK_WORKER_ROUTE is the session's route (s->route), kept through the failover.
    assert_eq!(host.route.borrow().as_deref(), Some("t1"));
    assert_eq!(host.notes.borrow()["JK_LB_FIRST_NAME"], "t1");
    assert_eq!(host.notes.borrow()["JK_LB_LAST_NAME"], "t2");
    // The reply of t2 is in its latency figures and the balancer's; t1 gave none.
    let snap = lb.balancer().lb_snapshot();
    let (t1, t2) = (&snap.members[0].latency, &snap.members[1].latency);
    assert_eq!((t1.reply.count(), t1.replies), (0, [0; 5]));
    assert_eq!((t2.reply.count(), t2.replies), (1, [0, 1, 0, 0, 0]));
    assert!(t2.reply.sum_us > 0 && t2.reply.sum_us < 5_000_000);
    assert_eq!(snap.latency.reply.count(), 1);
    assert_eq!(snap.latency.hold.count(), 0);
}

#[test]
fn the_last_notes_are_the_served_members_counters_after_its_try() {
    let t1 = TestServer::start("127.0.0.1:0", text("t1")).unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let pair = lb(t1.port(), t2.port(), "");
    let dead = lb(REFUSED_PORT, t2.port(), "");
    let note = |h: &TestHost, k: &str| h.notes.borrow()[k].clone();
    // One try (t1 by session): first and last are t1 as after that try.
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let a = pair.serve(&host, &mut client, "GET", Some("JSESSIONID=a.t1"));
    assert_eq!(served_by(&a, &client), "200 member=t1");
    for k in jk_lb::LAST_NOTE_KEYS {
        let k = k.to_str().unwrap();
        let first = k.replace("_LAST_", "_FIRST_");
        assert_eq!(note(&host, k), note(&host, &first), "{k}");
    }
    assert_eq!(note(&host, "JK_LB_LAST_NAME"), "t1");
    assert_eq!(note(&host, "JK_LB_LAST_ACCESSED"), "1");
    assert_eq!(note(&host, "JK_LB_LAST_BUSY"), "0", "the try ended");
    assert_ne!(note(&host, "JK_LB_LAST_READ"), "0", "its reply counted");
    // A second request by the same session: the counters moved on.
    let (host, mut client) = (TestHost::default(), TestClient::default());
    pair.serve(&host, &mut client, "GET", Some("JSESSIONID=a.t1"));
    assert_eq!(note(&host, "JK_LB_LAST_ACCESSED"), "2");
    // Two tries (t1 refuses, t2 serves): the last notes are t2's own, taken at the end.
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let a = dead.serve(&host, &mut client, "GET", Some("JSESSIONID=b.t1"));
    assert_eq!(served_by(&a, &client), "200 member=t2");
    assert_eq!(
        (
            note(&host, "JK_LB_FIRST_NAME"),
            note(&host, "JK_LB_FIRST_ERRORS")
        ),
        ("t1".to_string(), "1".to_string())
    );
    assert_eq!(
        (
            note(&host, "JK_LB_LAST_NAME"),
            note(&host, "JK_LB_LAST_ERRORS")
        ),
        ("t2".to_string(), "0".to_string())
    );
    assert_eq!(note(&host, "JK_LB_LAST_ACCESSED"), "1");
}

#[test]
fn every_member_refusing_is_503_with_both_named() {
    let lb = lb(REFUSED_PORT, REFUSED_PORT, "");
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let a = lb.serve(&host, &mut client, "GET", None);
    assert!(matches!(a, Answer::Status(503)), "{a:?}");
    let log = host.log.borrow().join("\n");
    assert!(
        log.contains("All tomcat instances failed") && log.contains("t1: ") && log.contains("t2: "),
        "{log}"
    );
}

#[test]
fn a_sticky_request_is_held_until_its_restarting_member_is_ready_then_served_by_it() {
    // t1 answers like a Tomcat connector paused for shutdown, then (after a restart) normally.
    let t1 = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Sequence(vec![Behaviour::Paused, text("t1")]),
    )
    .unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let lb = Arc::new(lb(
        t1.port(),
        t2.port(),
        "worker.lb.hold_timeout=5000\nworker.lb.probe_interval=50\n",
    ));
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let a = with_prober(&lb, || {
        lb.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"))
    });
    assert_eq!(served_by(&a, &client), "200 member=t1", "{:?}", host.log);
    assert!(
        t2.requests().is_empty(),
        "t2 never saw the session's request"
    );
    assert!(
        host.logged("sending the request to t1 again"),
        "{:?}",
        host.log
    );
    assert_eq!(lb.held.load(Ordering::Relaxed), 0, "the hold was released");
    // One hold of t1, as long as the restart took (under the hold_timeout of 5 s).
    let snap = lb.balancer().lb_snapshot();
    let hold = &snap.members[0].latency.hold;
    assert_eq!(hold.count(), 1, "{hold:?}");
    assert!(hold.sum_us < 5_000_000, "{hold:?}");
    assert_eq!(snap.members[0].latency.replies, [0, 1, 0, 0, 0]);
    assert_eq!(snap.latency.hold.count(), 1);
}

/// Runs `f` while the readiness prober of jk_runtime::probe runs as a child's thread does.
fn with_prober<T>(lb: &Arc<Lb>, f: impl FnOnce() -> T) -> T {
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let (lb, stop) = (lb.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as u64;
                jk_runtime::probe::readiness_round(
                    &lb.built.balancers,
                    &lb.workers,
                    |n| lb.built.endpoints.get(n),
                    now_ms,
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let out = f();
    stop.store(true, Ordering::Relaxed);
    prober.join().unwrap();
    out
}

#[test]
fn a_get_answered_503_or_404_by_a_stopping_member_is_held_and_sent_to_it_again() {
    // t1 read the request just before its connector paused; its application is already
    // stopping: an error page, then the connection closed. After the restart it answers
    // normally.
    let t1 = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Sequence(vec![Behaviour::Stopping { status: 503 }, text("t1")]),
    )
    .unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let stopping = TestServer::start("127.0.0.1:0", Behaviour::Stopping { status: 503 }).unwrap();
    let plain = lb(stopping.port(), t2.port(), "");
    let lb = Arc::new(lb(
        t1.port(),
        t2.port(),
        "worker.lb.hold_timeout=5000\nworker.lb.probe_interval=50\n",
    ));
    // 503: the application is unavailable; 404: it is gone from the mapper already.
    for (round, status) in [503u16, 404].into_iter().enumerate() {
        if round > 0 {
            t1.set_behaviour(Behaviour::Sequence(vec![
                Behaviour::Stopping { status },
                text("t1"),
            ]));
        }
        let (host, mut client) = (TestHost::default(), TestClient::default());
        let a = with_prober(&lb, || {
            lb.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"))
        });
        assert_eq!(served_by(&a, &client), "200 member=t1", "{:?}", host.log);
        assert!(t2.requests().is_empty(), "the session stayed on t1");
        assert_eq!(t1.requests().len(), 2 * (round + 1), "asked again once");
        assert!(
            host.logged(&format!("Tomcat is stopping: it answered {status}")),
            "{:?}",
            host.log
        );
        assert_eq!(lb.held.load(Ordering::Relaxed), 0, "the hold was released");
    }

    // A POST may have been processed by an application answering 503 itself: not sent
    // again, the 503 is the client's.
    t1.set_behaviour(Behaviour::Stopping { status: 503 });
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let a = lb.serve(&host, &mut client, "POST", Some("JSESSIONID=abc.t1"));
    assert!(
        served_by(&a, &client).starts_with("503 <!doctype html>"),
        "{a:?}"
    );
    assert!(t2.requests().is_empty());

    // Without hold_timeout (mod_jk), a GET gets the 503 too.
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let a = plain.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"));
    assert!(
        served_by(&a, &client).starts_with("503 <!doctype html>"),
        "{a:?}"
    );
    assert!(t2.requests().is_empty());
}

#[test]
fn a_hold_that_expires_fails_over_and_says_why() {
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let lb = lb(REFUSED_PORT, t2.port(), "worker.lb.hold_timeout=300\n");
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let t = Instant::now();
    let a = lb.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"));
    assert_eq!(served_by(&a, &client), "200 member=t2");
    assert!(
        t.elapsed() >= Duration::from_millis(280),
        "held first: {:?}",
        t.elapsed()
    );
    assert!(
        host.logged("t1 not ready after holding a request"),
        "{:?}",
        host.log
    );
}

#[test]
fn a_client_that_goes_away_ends_the_hold_at_once() {
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let lb = lb(REFUSED_PORT, t2.port(), "worker.lb.hold_timeout=30000\n");
    let (host, mut client) = (TestHost::default(), TestClient::default());
    host.abort.store(true, Ordering::Relaxed);
    let t = Instant::now();
    let _ = lb.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"));
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "not the 30 s hold: {:?}",
        t.elapsed()
    );
}

#[test]
fn a_post_body_is_replayed_whole_to_the_next_member() {
    // t1 reads the request and its first body packet, then closes without answering.
    let t1 = TestServer::start("127.0.0.1:0", Behaviour::CloseImmediately).unwrap();
    let t2 = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let lb = lb(t1.port(), t2.port(), "");
    let body: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let host = TestHost::default();
    let mut client = TestClient {
        body: body.clone(),
        ..Default::default()
    };
    let a = lb.serve(&host, &mut client, "POST", Some("JSESSIONID=abc.t1"));
    assert!(
        matches!(a, Answer::Served(ref s) if s.status == 200),
        "{a:?} {:?}",
        host.log
    );
    assert_eq!(client.out, body, "t2 echoed the whole body");
    assert_eq!(t2.requests()[0].body, body);
}

#[test]
fn a_paused_connectors_503_goes_to_another_member_never_to_the_client() {
    let t1 = TestServer::start("127.0.0.1:0", Behaviour::Paused).unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let lb = lb(t1.port(), t2.port(), "");
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let a = lb.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"));
    assert_eq!(served_by(&a, &client), "200 member=t2");
    assert_eq!(t1.requests().len(), 1, "asked once");
}

#[test]
fn recovery_options_decide_whether_a_failure_after_headers_goes_elsewhere() {
    // recovery_options 0: t1's headers are discarded and t2 answers; 2: the error is answered.
    for (opts, want) in [
        ("", "200 member=t2"),
        ("worker.t1.recovery_options=2\n", "Status(502)"),
    ] {
        let t1 =
            TestServer::start("127.0.0.1:0", Behaviour::CloseMidBody { after_bytes: 100 }).unwrap();
        let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
        let lb = lb(t1.port(), t2.port(), opts);
        let (host, mut client) = (TestHost::default(), TestClient::default());
        let a = lb.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"));
        assert_eq!(served_by(&a, &client), want, "{opts:?}: {:?}", host.log);
        assert!(client.discards >= 1, "t1's partial answer was discarded");
    }
}

#[test]
fn a_failure_after_the_answer_was_flushed_aborts_the_connection() {
    let t1 =
        TestServer::start("127.0.0.1:0", Behaviour::CloseMidBody { after_bytes: 100 }).unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let lb = lb(t1.port(), t2.port(), "");
    let host = TestHost::default();
    // A client whose output is committed from the start (as if flushed at the headers).
    let mut client = TestClient {
        flushed: true,
        ..Default::default()
    };
    let a = lb.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"));
    assert!(matches!(a, Answer::Abort { status: None }), "{a:?}");
    assert!(t2.requests().is_empty(), "too late for another member");
    assert!(host.logged("part of the answer was sent"), "{:?}", host.log);
}

#[test]
fn a_client_that_goes_away_mid_body_aborts_without_trying_another_member() {
    let t1 = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let t2 = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let lb = lb(t1.port(), t2.port(), "");
    let host = TestHost::default();
    let mut client = TestClient {
        body: vec![b'x'; 50_000],
        fail_read_after: Some(20_000),
        ..Default::default()
    };
    let a = lb.serve(&host, &mut client, "POST", Some("JSESSIONID=abc.t1"));
    assert!(matches!(a, Answer::Abort { status: Some(_) }), "{a:?}");
    assert!(
        t2.requests().is_empty(),
        "a client error is not the member's fault"
    );
    assert!(
        host.logged("aborting connection for worker=lb"),
        "{:?}",
        host.log
    );
}

#[test]
fn a_plain_worker_counts_its_statistics_and_answers_a_clean_error() {
    let t1 =
        TestServer::start("127.0.0.1:0", Behaviour::CloseMidBody { after_bytes: 100 }).unwrap();
    let lb = lb(t1.port(), REFUSED_PORT, "");
    let ep: &Endpoint = &lb.built.endpoints["solo"];
    let sh = &lb.built.ajp["solo"];
    let child = lb.region.attach_child(1).unwrap();
    let encode = |w: &AjpWorker, _: Option<&str>, act: Activation| {
        jk_ajp::ForwardRequest {
            method: b"GET",
            protocol: b"HTTP/1.1",
            req_uri: b"/solo",
            remote_addr: b"127.0.0.1",
            server_name: b"localhost",
            server_port: 80,
            lb_activation: act,
            remote_port: b"0",
            local_addr: b"127.0.0.1",
            ..Default::default()
        }
        .encode(w.max_packet_size as usize)
    };
    let fwd = Forward {
        body: Body::None,
        template: template("GET"),
        encode: &encode,
    };
    let target = AjpTarget {
        name: "solo",
        worker: lb.ajp("solo"),
        endpoint: ep,
        stats: Some((sh, child)),
    };
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let a = serve_ajp(&host, &mut client, &target, &fwd, || 1);
    assert!(matches!(a, Answer::Status(502)), "{a:?}");
    assert_eq!(client.discards, 1, "the partial answer was discarded");
    assert!(host.logged("(answering 502)"), "{:?}", host.log);
    assert_eq!(sh.slot.get(jk_shm::Field::Errors), 1);
    // The failed request's AJP bytes count (mod_jk ajp_update_stats): each try sent the
    // forward request, and the headers and 100 body bytes came back before the close.
    let sent = encode(lb.ajp("solo"), None, Activation::Active)
        .unwrap()
        .len() as u64;
    let (tx, rx) = (sh.transferred(), sh.read());
    assert!(tx >= sent && tx % sent == 0, "{tx} for packets of {sent}");
    assert!(rx > 100, "{rx}");
    t1.set_behaviour(text("t1"));
    let mut client = TestClient::default();
    let a = serve_ajp(&host, &mut client, &target, &fwd, || 2);
    assert_eq!(served_by(&a, &client), "200 member=t1");
    assert_eq!(sh.slot.elected(), 2);
    assert_eq!(sh.transferred(), tx + sent);
    assert!(sh.read() > rx);
}

#[test]
fn the_maintenance_round_brings_a_recovered_member_back_by_cping() {
    // t1 refuses, so a request puts it in error; then its Tomcat comes back on the same port.
    let port = port_for_later();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let lb = lb(port, t2.port(), "worker.lb.recover_time=1\n");
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let a = lb.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"));
    assert_eq!(served_by(&a, &client), "200 member=t2");
    let state = |i| lb.balancer().snapshot(i).unwrap().state;
    assert_eq!(state(0), jk_lb::MemberState::Error);
    let t1 = TestServer::start(&format!("127.0.0.1:{port}"), text("t1")).unwrap();
    // recover_time (at least 1 s, as with mod_jk) counts whole seconds since the error.
    std::thread::sleep(Duration::from_millis(2100));
    let reaped = std::cell::Cell::new(false);
    jk_runtime::probe::maintenance_round(
        &lb.built.endpoints,
        &lb.built.balancers,
        |n| lb.built.endpoints.get(n),
        || reaped.set(true),
    );
    assert!(reaped.get(), "dead children were looked for");
    assert_eq!(state(0), jk_lb::MemberState::Ok, "recovered by the probe");
    assert!(t1.cpings_received() >= 1, "by a CPing, no user request");
    assert!(t1.requests().is_empty());
}

#[test]
fn a_held_request_probes_its_member_itself_and_goes_out_once_it_answers() {
    // No prober thread, and a probe_interval far longer than the test: only the held request's
    // own probes can bring t1 back.
    let port = port_for_later();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let lb = lb(
        port,
        t2.port(),
        "worker.lb.hold_timeout=10000\nworker.lb.probe_interval=60000\n",
    );
    let started = std::sync::Mutex::new(None::<Instant>);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let (answer, out) = std::thread::scope(|s| {
        let started = &started;
        s.spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            let t1 = TestServer::start(&format!("127.0.0.1:{port}"), text("t1")).unwrap();
            *started.lock().unwrap() = Some(Instant::now());
            // Keep t1 up until the request is done.
            let _ = done_rx.recv_timeout(Duration::from_secs(15));
            drop(t1);
        });
        let (host, mut client) = (TestHost::default(), TestClient::default());
        let a = lb.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"));
        let released = Instant::now();
        let _ = done_tx.send(());
        let up = started.lock().unwrap().expect("t1 was started");
        eprintln!(
            "released {} ms after t1 listened (ready_probes 2, held probes every {} ms)",
            released.duration_since(up).as_millis(),
            jk_lb::rolling::HELD_PROBE_MS
        );
        let out = host.log.borrow().join("\n");
        (served_by(&a, &client), out)
    });
    assert_eq!(answer, "200 member=t1", "{out}");
    assert!(
        t2.requests().is_empty(),
        "the session's request waited for t1"
    );
    assert!(out.contains("held a request"), "{out}");
}

#[test]
fn a_held_requests_own_probe_never_outlasts_the_hold() {
    // t1 answers like a paused connector, then accepts connections but never answers a CPing:
    // the held request's probe waits at most what is left of hold_timeout (800 ms), not the
    // 5 s probe wait, then fails over.
    let t1 = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Sequence(vec![Behaviour::Paused, Behaviour::RefuseCpong]),
    )
    .unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let lb = lb(
        t1.port(),
        t2.port(),
        "worker.lb.hold_timeout=800\nworker.t1.ping_timeout=10000\n",
    );
    let (host, mut client) = (TestHost::default(), TestClient::default());
    let t = Instant::now();
    let a = lb.serve(&host, &mut client, "GET", Some("JSESSIONID=abc.t1"));
    let took = t.elapsed();
    assert_eq!(served_by(&a, &client), "200 member=t2", "{:?}", host.log);
    assert!(
        took < Duration::from_secs(3),
        "held {took:?}: the probe outlasted hold_timeout"
    );
}

// ----- runtime membership --------------------------------------------------------------------

/// A runtime member named `name` at 127.0.0.1:`port` (origin runtime unless `origin`), the
/// handover successor of `handover` when given.
fn spec<'a>(
    name: &'a str,
    port: u16,
    origin: jk_lb::Origin,
    handover: Option<&'a str>,
) -> jk_runtime::membership::AddSpec<'a> {
    jk_runtime::membership::AddSpec {
        name: Some(name),
        host: "127.0.0.1",
        port,
        route: None,
        template: None,
        origin,
        handover_of: handover,
    }
}

/// A member of lb "lb" as DNS discovery adds it, at 127.0.0.1:`port`; its index.
fn add_discovered(v: &jk_runtime::View<'_>, name: &str, port: u16, route: Option<&str>) -> usize {
    jk_runtime::membership::add(
        v,
        "lb",
        &jk_runtime::membership::AddSpec {
            route,
            ..spec(name, port, jk_lb::Origin::Dns, None)
        },
    )
    .unwrap()
    .0
}

fn view(lb: &Lb) -> jk_runtime::View<'_> {
    jk_runtime::View {
        props: Box::leak(Box::new(PropertyMap::new())),
        workers: &lb.workers,
        endpoints: &lb.built.endpoints,
        balancers: &lb.built.balancers,
        ajp: &lb.built.ajp,
        maps: &[],
        maintain_secs: 60,
    }
}

/// The prober's round, until `done` or 3 s.
fn probe_until(lb: &Lb, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() && start.elapsed() < Duration::from_secs(3) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        jk_runtime::probe::readiness_round(
            &lb.built.balancers,
            &lb.workers,
            |n| {
                let ep = lb.built.endpoints.get(n)?;
                lb.built.ajp.get(n)?.sync(ep, lb.ajp(n));
                Some(ep)
            },
            now_ms,
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_member_added_at_runtime_joins_learns_its_route_drains_and_leaves() {
    let t1 = TestServer::start("127.0.0.1:0", text("t1")).unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let mut issued = Response::text(200, "OK", "member=t3\n");
    issued.headers.push((
        "Set-Cookie".into(),
        "JSESSIONID=S3.tc3; Path=/app; HttpOnly".into(),
    ));
    let t3 = TestServer::start("127.0.0.1:0", Behaviour::Respond(issued)).unwrap();
    let lb = lb(
        t1.port(),
        t2.port(),
        "worker.lb.probe_interval=50\nworker.lb.drain_idle=1\nworker.lb.growth=2\n",
    );
    let v = view(&lb);
    let b = lb.balancer().clone();
    let (i, name) = jk_runtime::membership::add(
        &v,
        "lb",
        &spec("app3", t3.port(), jk_lb::Origin::Runtime, None),
    )
    .unwrap();
    assert_eq!((i, name.as_str()), (2, "app3"));
    assert_eq!(b.lifecycle(i), jk_lb::Lifecycle::Joining);
    // A second add at the same address, or under the same name, is refused.
    let again = |name, port| {
        jk_runtime::membership::add(
            &v,
            "lb",
            &jk_runtime::membership::AddSpec {
                name: Some(name),
                host: "127.0.0.1",
                port,
                route: None,
                template: Some("t1"),
                origin: jk_lb::Origin::Runtime,
                handover_of: None,
            },
        )
    };
    assert!(again("x", t3.port()).unwrap_err().contains("already at"));
    assert!(again("app3", t3.port() ^ 1)
        .unwrap_err()
        .contains("named 'app3'"));
    // Joining: readiness probes (CPings to t3) before any request.
    let host = TestHost::default();
    for _ in 0..6 {
        let mut c = TestClient::default();
        let a = lb.serve(&host, &mut c, "GET", None);
        assert!(!served_by(&a, &c).contains("t3"));
    }
    assert!(t3.requests().is_empty());
    probe_until(&lb, || b.lifecycle(i) == jk_lb::Lifecycle::Active);
    assert_eq!(b.lifecycle(i), jk_lb::Lifecycle::Active);
    assert!(t3.cpings_received() >= 2);
    // Active: new requests reach it; its first session teaches the route tc3.
    let mut by_t3 = 0;
    for _ in 0..12 {
        let mut c = TestClient::default();
        let a = lb.serve(&host, &mut c, "GET", None);
        if served_by(&a, &c).contains("member=t3") {
            by_t3 += 1;
        }
    }
    assert!(by_t3 >= 2, "{by_t3} of 12 new requests");
    assert!(
        host.logged("member 'app3' learned its route 'tc3'"),
        "{:?}",
        host.log
    );
    assert_eq!(b.snapshot(i).unwrap().route, "tc3");
    // Sticky to it by the learned route.
    for _ in 0..4 {
        let mut c = TestClient::default();
        let a = lb.serve(&host, &mut c, "GET", Some("JSESSIONID=S3.tc3"));
        assert_eq!(served_by(&a, &c), "200 member=t3");
    }
    // Removed: drains (its session still served, no new ones), then leaves once idle.
    jk_runtime::membership::remove(&v, "lb", "app3", false).unwrap();
    assert_eq!(b.lifecycle(i), jk_lb::Lifecycle::Draining);
    let mut c = TestClient::default();
    let a = lb.serve(&host, &mut c, "GET", Some("JSESSIONID=S3.tc3"));
    assert_eq!(served_by(&a, &c), "200 member=t3");
    let before = t3.requests().len();
    for _ in 0..6 {
        let mut c = TestClient::default();
        lb.serve(&host, &mut c, "GET", None);
    }
    assert_eq!(t3.requests().len(), before, "no new session while draining");
    let lines = RefCell::new(Vec::new());
    let start = Instant::now();
    while b.in_use(i) && start.elapsed() < Duration::from_secs(5) {
        jk_runtime::membership::round(&v, &|_, m| lines.borrow_mut().push(m.to_string()));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!b.in_use(i), "freed once idle for drain_idle");
    // (Lines of other tests' probes, noted in this process, may come first.)
    assert!(
        lines
            .borrow()
            .iter()
            .any(|l| l.contains("member 'app3' of lb worker 'lb' left")),
        "{:?}",
        lines.borrow()
    );
    assert_eq!(
        lb.built.ajp[b.member_name(i).unwrap()].port(),
        0,
        "contact off"
    );
    // Its session now goes elsewhere; no error.
    let mut c = TestClient::default();
    let a = lb.serve(&host, &mut c, "GET", Some("JSESSIONID=S3.tc3"));
    assert!(
        served_by(&a, &c).starts_with("200 member=t"),
        "{}",
        served_by(&a, &c)
    );
    assert!(!served_by(&a, &c).contains("t3"));
    // A configured member cannot be removed; an unknown one is named.
    assert!(jk_runtime::membership::remove(&v, "lb", "t1", true)
        .unwrap_err()
        .contains("workers.properties"));
    assert!(jk_runtime::membership::remove(&v, "lb", "nope", false)
        .unwrap_err()
        .contains("no member 'nope'"));
}

#[test]
fn a_standby_member_takes_over_the_route_once_its_predecessors_port_is_closed() {
    let old = TestServer::start("127.0.0.1:0", text("t1")).unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let next = TestServer::start("127.0.0.1:0", text("t1-next")).unwrap();
    let lb = lb(
        old.port(),
        t2.port(),
        "worker.lb.hold_timeout=5000\nworker.lb.probe_interval=50\n",
    );
    let v = view(&lb);
    let b = lb.balancer().clone();
    let (s, _) = jk_runtime::membership::add(
        &v,
        "lb",
        &spec("t1-next", next.port(), jk_lb::Origin::Runtime, Some("t1")),
    )
    .unwrap();
    assert_eq!(b.lifecycle(s), jk_lb::Lifecycle::Standby);
    probe_until(&lb, || !b.awaiting_readiness(s));
    let host = TestHost::default();
    let sticky = |host: &TestHost| lb.get(host, Some("JSESSIONID=abc.t1"));
    // While the old one serves, the route stays with it; the standby gets nothing.
    for _ in 0..4 {
        assert_eq!(sticky(&host), "200 member=t1");
    }
    for _ in 0..6 {
        let mut c = TestClient::default();
        let a = lb.serve(&host, &mut c, "GET", None);
        assert!(!served_by(&a, &c).contains("t1-next"));
    }
    assert!(next.requests().is_empty());
    // The old backend stops (its port closes): the next sticky request is held, the held
    // request's probe finds the port closed, the route moves, the standby serves it.
    drop(old);
    let started = Instant::now();
    assert_eq!(sticky(&host), "200 member=t1-next");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(host.logged("handed its route over"), "{:?}", host.log);
    assert_eq!(b.snapshot(s).unwrap().route, "t1");
    assert_eq!(b.lifecycle(s), jk_lb::Lifecycle::Active);
    assert_eq!(sticky(&host), "200 member=t1-next");
    assert_eq!(b.snapshot(0).unwrap().activation, Activation::Stopped);
}

#[test]
fn a_request_held_for_a_drained_member_goes_to_the_member_that_learns_its_route_later() {
    // A swarm start-first update where the old task stopped (and left DNS: it drains) while
    // its replacement, discovered already, had not learned its route yet, so the replacement
    // never became its standby: a request of the route's sessions held for the old one goes
    // on to the replacement once that one learns the route (it failed after the client's
    // 30 s timeout before).
    let old = TestServer::start("127.0.0.1:0", text("old")).unwrap();
    let t1 = TestServer::start("127.0.0.1:0", text("t1")).unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let lb = lb(
        t1.port(),
        t2.port(),
        "worker.lb.hold_timeout=10000\nworker.lb.probe_interval=50\nworker.lb.growth=2\n",
    );
    let v = view(&lb);
    let b = lb.balancer().clone();
    let add = |name, port, route| add_discovered(&v, name, port, route);
    let o = add("old", old.port(), Some("tc2"));
    probe_until(&lb, || b.lifecycle(o) == jk_lb::Lifecycle::Active);
    let host = TestHost::default();
    let sticky = |host: &TestHost| lb.get(host, Some("JSESSIONID=abc.tc2"));
    assert_eq!(sticky(&host), "200 member=old");
    // The old task stops and leaves the discovery: its port closes, it drains.
    drop(old);
    jk_runtime::membership::remove(&v, "lb", "old", false).unwrap();
    assert_eq!(b.lifecycle(o), jk_lb::Lifecycle::Draining);
    // Its replacement was discovered already (swarm starts it first); it is still starting.
    let next = TestServer::start("127.0.0.1:0", text("new")).unwrap();
    let n = add("new", next.port(), None);
    let (answer, took, learned_after) = std::thread::scope(|sc| {
        let learner = sc.spawn(|| {
            std::thread::sleep(Duration::from_millis(500));
            probe_until(&lb, || !b.awaiting_readiness(n));
            let at = Instant::now();
            assert_eq!(b.learn_route(n, "tc2"), Ok(true));
            at
        });
        let started = Instant::now();
        let answer = sticky(&host);
        let done = Instant::now();
        let learned_at = learner.join().unwrap();
        (
            answer,
            done - started,
            done.saturating_duration_since(learned_at),
        )
    });
    assert_eq!(answer, "200 member=new", "{:?}", host.log);
    assert!(
        took < Duration::from_secs(5),
        "held {took:?}, {learned_after:?} after the route was learned (hold_timeout 10 s)"
    );
    assert!(
        host.logged("old handed its route over to new, ready"),
        "{:?}",
        host.log
    );
    assert!(t1.requests().is_empty() && t2.requests().is_empty());
    assert_eq!(sticky(&host), "200 member=new");
}

#[test]
fn a_request_for_a_member_that_left_with_no_newcomer_fails_over_without_waiting() {
    // A swarm scale-down: the task is gone for good (its port closed, discovery took it away)
    // and no new member is learning a route: its session's request fails over at once (a
    // re-login), not after hold_timeout (which the client's own timeout may cut short).
    let old = TestServer::start("127.0.0.1:0", text("old")).unwrap();
    let t1 = TestServer::start("127.0.0.1:0", text("t1")).unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let lb = lb(
        t1.port(),
        t2.port(),
        "worker.lb.hold_timeout=10000\nworker.lb.probe_interval=50\nworker.lb.growth=2\n",
    );
    let v = view(&lb);
    let b = lb.balancer().clone();
    let o = add_discovered(&v, "old", old.port(), Some("tc3"));
    probe_until(&lb, || b.lifecycle(o) == jk_lb::Lifecycle::Active);
    drop(old);
    jk_runtime::membership::remove(&v, "lb", "old", false).unwrap();
    let host = TestHost::default();
    let started = Instant::now();
    let mut c = TestClient::default();
    let a = lb.serve(&host, &mut c, "GET", Some("JSESSIONID=abc.tc3"));
    let took = started.elapsed();
    assert!(
        served_by(&a, &c).starts_with("200 member=t"),
        "{}: {:?}",
        served_by(&a, &c),
        host.log
    );
    assert!(took < Duration::from_secs(3), "held {took:?}");
    assert!(
        host.logged("old left the balancer and no new member is learning a route"),
        "{:?}",
        host.log
    );
}

#[test]
fn the_housekeeping_round_hands_a_route_over_when_a_failed_predecessor_stopped() {
    let old = TestServer::start("127.0.0.1:0", text("t1")).unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let next = TestServer::start("127.0.0.1:0", text("t1-next")).unwrap();
    let lb = lb(old.port(), t2.port(), "worker.lb.hold_timeout=5000\n");
    let v = view(&lb);
    let b = lb.balancer().clone();
    let spec = spec("t1-next", next.port(), jk_lb::Origin::Runtime, Some("t1"));
    let (s, _) = jk_runtime::membership::add(&v, "lb", &spec).unwrap();
    // Up and serving: the round does nothing.
    jk_runtime::membership::round(&v, &|_, _| {});
    assert_eq!(b.lifecycle(s), jk_lb::Lifecycle::Standby);
    // Stopped, and known to be down (a failed request or probe): handed over.
    drop(old);
    let host = TestHost::default();
    let mut c = TestClient::default();
    lb.serve(&host, &mut c, "GET", None);
    lb.serve(&host, &mut c, "GET", None);
    // The housekeeping round sees the failed member's port closed (no probe needed).
    let lines = RefCell::new(Vec::new());
    jk_runtime::membership::round(&v, &|_, m| lines.borrow_mut().push(m.to_string()));
    assert_ne!(
        b.lifecycle(s),
        jk_lb::Lifecycle::Standby,
        "{:?}",
        lines.borrow()
    );
    assert!(
        lines
            .borrow()
            .iter()
            .any(|l| l.contains("member 't1' stopped: its route went to 't1-next'")),
        "{:?}",
        lines.borrow()
    );
    assert_eq!(b.member_with_route("t1"), Some(s));
}

#[test]
fn a_discovered_replacement_learns_its_route_from_its_health_page_and_waits_as_standby() {
    let old = TestServer::start("127.0.0.1:0", text("t1")).unwrap();
    let t2 = TestServer::start("127.0.0.1:0", text("t2")).unwrap();
    let mut answer = Response::text(200, "OK", "member=t1-next\n");
    answer
        .headers
        .push(("Set-Cookie".into(), "JSESSIONID=H1.t1; Path=/".into()));
    let next = TestServer::start("127.0.0.1:0", Behaviour::Respond(answer)).unwrap();
    // Growth slots copy the template t1: its health_url is probed before any traffic.
    let lb = lb(
        old.port(),
        t2.port(),
        "worker.t1.health_url=/app/health\nworker.lb.hold_timeout=5000\nworker.lb.probe_interval=50\n",
    );
    let v = view(&lb);
    let b = lb.balancer().clone();
    let spec = spec("127.0.0.1:next", next.port(), jk_lb::Origin::Dns, None);
    let (s, _) = jk_runtime::membership::add(&v, "lb", &spec).unwrap();
    probe_until(&lb, || b.lifecycle(s) == jk_lb::Lifecycle::Standby);
    assert_eq!(b.lifecycle(s), jk_lb::Lifecycle::Standby);
    assert_eq!(b.predecessor(s), Some(0));
    // Only its health page was asked; no user request reaches it.
    let host = TestHost::default();
    for _ in 0..8 {
        let mut c = TestClient::default();
        let a = lb.serve(&host, &mut c, "GET", None);
        assert!(!served_by(&a, &c).contains("t1-next"));
    }
    assert!(next
        .requests()
        .iter()
        .all(|r| r.decoded.uri == "/app/health"));
    drop(old);
    let mut c = TestClient::default();
    let a = lb.serve(&host, &mut c, "GET", Some("JSESSIONID=abc.t1"));
    assert_eq!(served_by(&a, &c), "200 member=t1-next", "{:?}", host.log);
}
