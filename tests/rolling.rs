#![allow(clippy::unwrap_used)]
//! Rolling restarts (mod_jk-rs beyond mod_jk) in the real httpd, in front of recording AJP
//! servers: restart maintenance through the status worker, requests held for their session's
//! member while it restarts, readiness before traffic, and the drain signal.

mod support;

use std::time::{Duration, Instant};

use jk_ajp_testserver::{Behaviour, Response as AjpResponse, TestServer};
use support::*;

fn server(name: &str, addr: &str) -> TestServer {
    TestServer::start(
        addr,
        Behaviour::Respond(AjpResponse::text(200, "OK", &format!("member={name}\n"))),
    )
    .unwrap()
}

struct Cluster {
    servers: Vec<Option<TestServer>>,
    addrs: Vec<String>,
    h: Httpd,
}

fn cluster(tag: &str, lb_extra: &str) -> Cluster {
    let servers = vec![server("t1", "127.0.0.1:0"), server("t2", "127.0.0.1:0")];
    let addrs: Vec<String> = servers.iter().map(|s| s.addr().to_string()).collect();
    let mut props =
        String::from("worker.list=lb,jkstatus\nworker.jkstatus.type=status\nworker.lb.type=lb\n");
    for (n, s) in ["t1", "t2"].iter().zip(&servers) {
        props.push_str(&format!(
            "worker.{n}.host=127.0.0.1\nworker.{n}.port={}\nworker.lb.balance_workers={n}\n",
            s.port()
        ));
    }
    props.push_str(lb_extra);
    let dir = TestDir::new(tag);
    let wp = dir.write("workers.properties", &props);
    let body = format!(
        "JkWorkersFile {}\nJkLogFile logs/mod_jk.log\nJkMount /app/* lb\nJkMount /jk/* jkstatus\n",
        wp.display()
    );
    let h = Httpd::try_start(dir, Mpm::Event, &body).unwrap_or_else(|e| panic!("{e}"));
    Cluster {
        servers: servers.into_iter().map(Some).collect(),
        addrs,
        h,
    }
}

fn member(r: &Response) -> String {
    r.text()
        .trim()
        .strip_prefix("member=")
        .unwrap_or("?")
        .to_string()
}

fn json_member(h: &Httpd, name: &str) -> String {
    let j = h.get("/jk/?mime=json").text();
    let at = j
        .find(&format!("\"name\":\"{name}\""))
        .unwrap_or_else(|| panic!("{j}"));
    j[at..].split('}').next().unwrap().to_string()
}

const HOLD: &str = "worker.lb.hold_timeout=8000\nworker.lb.probe_interval=100\nworker.t1.ready_probes=2\nworker.t2.ready_probes=2\n";

#[test]
fn restart_maintenance_holds_sticky_requests_until_the_member_is_ready() {
    let c = cluster("roll-maint", HOLD);
    let h = &c.h;
    let sticky = [("Cookie", "JSESSIONID=abc.t1")];
    assert_eq!(member(&h.request("GET", "/app/a", &sticky)), "t1");

    // Restart maintenance on t1: new sessions go to t2, sticky requests for t1 wait.
    let r = h.get("/jk/?cmd=update&w=lb&sw=t1&vwm=R&mime=txt");
    assert!(r.text().contains("type=OK"), "{}", r.text());
    assert!(
        json_member(h, "t1").contains("\"restarting\":true"),
        "{}",
        json_member(h, "t1")
    );
    for i in 0..10 {
        assert_eq!(member(&h.get(&format!("/app/new{i}"))), "t2");
    }
    let port = h.port;
    let held = std::thread::spawn(move || {
        let t = Instant::now();
        let r = http_request(port, "GET", "/app/held", &[("Cookie", "JSESSIONID=abc.t1")]);
        (r.status, member(&r), t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(800));
    // The Tomcat is back: maintenance off; readiness probes bring t1 back.
    let r = h.get("/jk/?cmd=update&w=lb&sw=t1&vwm=0&mime=txt");
    assert!(r.text().contains("type=OK"), "{}", r.text());
    let (status, m, waited) = held.join().unwrap();
    assert_eq!(
        (status, m.as_str()),
        (200, "t1"),
        "the held request kept its session's member"
    );
    assert!(
        waited >= Duration::from_millis(700),
        "it was held: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(8),
        "released by readiness, not by the timeout: {waited:?}"
    );
    let log = h.dir.read("logs/mod_jk.log");
    assert!(log.contains("until t1 was ready"), "{log}");
    assert!(!json_member(h, "t1").contains("\"restarting\":true"));
}

#[test]
fn a_plain_restart_of_a_member_loses_no_sticky_request() {
    let mut c = cluster("roll-plain", HOLD);
    let port = c.h.port;
    assert_eq!(
        member(&c.h.request("GET", "/app/a", &[("Cookie", "JSESSIONID=s.t1")])),
        "t1"
    );
    // t1 goes away (its Tomcat is restarting) ...
    c.servers[0] = None;
    let held = std::thread::spawn(move || {
        let r = http_request(port, "GET", "/app/during", &[("Cookie", "JSESSIONID=s.t1")]);
        (r.status, member(&r))
    });
    std::thread::sleep(Duration::from_millis(1500));
    // ... and comes back on the same address.
    c.servers[0] = Some(server("t1", &c.addrs[0]));
    let (status, m) = held.join().unwrap();
    assert_eq!(
        (status, m.as_str()),
        (200, "t1"),
        "{}",
        c.h.dir.read("logs/mod_jk.log")
    );
    // Both members serve again; the log says the request was held and sent again.
    for i in 0..4 {
        assert_eq!(c.h.get(&format!("/app/after{i}")).status, 200);
    }
    let log = c.h.dir.read("logs/mod_jk.log");
    assert!(log.contains("sending the request to t1 again"), "{log}");
}

#[test]
fn without_hold_timeout_sticky_requests_fail_over_as_with_mod_jk() {
    let mut c = cluster("roll-nohold", "");
    assert_eq!(
        member(&c.h.request("GET", "/app/a", &[("Cookie", "JSESSIONID=s.t1")])),
        "t1"
    );
    c.servers[0] = None;
    let t = Instant::now();
    let r =
        c.h.request("GET", "/app/b", &[("Cookie", "JSESSIONID=s.t1")]);
    assert_eq!((r.status, member(&r).as_str()), (200, "t2"));
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn drain_signal_is_in_json_and_prometheus() {
    let c = cluster("roll-drain", HOLD);
    let h = &c.h;
    for i in 0..5 {
        h.request(
            "GET",
            "/app/s",
            &[("Cookie", &format!("JSESSIONID=sess{i}.t2"))],
        );
    }
    let m = json_member(h, "t2");
    assert!(m.contains("\"in_flight\":0"), "{m}");
    assert!(m.contains("\"recent_sessions\":5"), "{m}");
    let last: u64 = m
        .split("\"last_sticky_time\":")
        .nth(1)
        .unwrap()
        .split(&[',', '}'][..])
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now - last <= 2, "{m}");
    let prom = h.get("/jk/?mime=prometheus").text();
    assert!(
        prom.contains("mod_jk_member_recent_sessions{balancer=\"lb\",member=\"t2\"} 5"),
        "{prom}"
    );
}

#[test]
fn health_url_must_answer_2xx_before_a_member_returns() {
    let c = cluster(
        "roll-health",
        &format!("{HOLD}worker.t1.health_url=/health\n"),
    );
    let h = &c.h;
    // t1 goes into maintenance and comes out; its health page says 503 for now.
    c.servers[0]
        .as_ref()
        .unwrap()
        .set_behaviour(Behaviour::Respond(AjpResponse::text(
            503,
            "Unavailable",
            "starting",
        )));
    h.get("/jk/?cmd=update&w=lb&sw=t1&vwm=R&mime=txt");
    h.get("/jk/?cmd=update&w=lb&sw=t1&vwm=0&mime=txt");
    std::thread::sleep(Duration::from_millis(1500));
    let m = json_member(h, "t1");
    assert!(
        m.contains("\"awaiting_readiness\":true"),
        "CPing alone must not bring it back: {m}"
    );
    let probes = c.servers[0].as_ref().unwrap().requests();
    assert!(
        probes.iter().any(|r| r.decoded.uri == "/health"),
        "no health probe reached t1"
    );
    // The health page turns 200: t1 is ready again.
    c.servers[0]
        .as_ref()
        .unwrap()
        .set_behaviour(Behaviour::Respond(AjpResponse::text(
            200,
            "OK",
            "member=t1\n",
        )));
    let t = Instant::now();
    while json_member(h, "t1").contains("\"awaiting_readiness\":true") {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{}",
            json_member(h, "t1")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        member(&h.request("GET", "/app/x", &[("Cookie", "JSESSIONID=q.t1")])),
        "t1"
    );
}

#[test]
fn a_paused_connectors_503_is_sent_to_another_member_without_hold() {
    let c = cluster("roll-paused", "");
    let h = &c.h;
    // t1's Tomcat is shutting down: its connector answers every request 503 unprocessed.
    c.servers[0]
        .as_ref()
        .unwrap()
        .set_behaviour(Behaviour::Paused);
    for i in 0..4 {
        let r = h.request(
            "GET",
            &format!("/app/p{i}"),
            &[("Cookie", "JSESSIONID=s.t1")],
        );
        assert_eq!(
            (r.status, member(&r).as_str()),
            (200, "t2"),
            "{}",
            h.dir.read("logs/mod_jk.log")
        );
    }
    let log = h.dir.read("logs/mod_jk.log");
    assert!(
        log.contains("the connector is paused (shutting down)"),
        "{log}"
    );
}

#[test]
fn a_sticky_post_answered_by_a_paused_connector_is_held_and_replayed_with_its_body() {
    let c = cluster("roll-paused-hold", HOLD);
    let port = c.h.port;
    let t1 = c.servers[0].as_ref().unwrap();
    t1.set_behaviour(Behaviour::Paused);
    let body: Vec<u8> = (0..20_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let sent = body.clone();
    let held = std::thread::spawn(move || {
        let t = Instant::now();
        let r = http_request_body(
            port,
            "POST",
            "/app/save",
            &[("Cookie", "JSESSIONID=s.t1")],
            &sent,
        );
        (r, t.elapsed())
    });
    // The request reached t1 (and was answered "paused"); t1 comes back a second later.
    wait_for("the paused answer", 5, || !t1.requests().is_empty());
    std::thread::sleep(Duration::from_millis(1000));
    t1.set_behaviour(Behaviour::Echo);
    let (r, waited) = held.join().unwrap();
    assert_eq!(r.status, 200, "{}", c.h.dir.read("logs/mod_jk.log"));
    assert_eq!(r.body, body, "t1 echoed the whole replayed body");
    assert!(waited >= Duration::from_millis(900), "held: {waited:?}");
    let posts: Vec<_> = t1
        .requests()
        .into_iter()
        .filter(|q| q.decoded.uri == "/app/save")
        .collect();
    assert_eq!(posts.len(), 2, "paused answer, then the replay");
    assert_eq!(posts[1].body, body);
    assert!(
        c.servers[1]
            .as_ref()
            .unwrap()
            .requests()
            .iter()
            .all(|q| q.decoded.uri != "/app/save"),
        "the session's request did not go to t2"
    );
    let log = c.h.dir.read("logs/mod_jk.log");
    assert!(log.contains("sending the request to t1 again"), "{log}");
}
