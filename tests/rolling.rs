#![allow(clippy::unwrap_used)]
//! Rolling restarts (mod_jk-rs beyond mod_jk) in the real httpd, in front of recording AJP
//! servers: restart maintenance through the status worker, requests held for their session's
//! member while it restarts, readiness before traffic, and the drain signal.

mod support;

use std::time::{Duration, Instant};

use jk_ajp_testserver::{Behaviour, Response as AjpResponse, TestServer};
use support::*;

struct Cluster {
    servers: Vec<Option<TestServer>>,
    addrs: Vec<String>,
    h: Httpd,
}

fn cluster(tag: &str, lb_extra: &str) -> Cluster {
    cluster_with(tag, lb_extra, "")
}

/// As [`cluster`], with extra httpd directives after the generated ones (the last of a
/// repeated MPM directive wins).
fn cluster_with(tag: &str, lb_extra: &str, httpd_extra: &str) -> Cluster {
    let servers = vec![
        member_server("t1", "127.0.0.1:0"),
        member_server("t2", "127.0.0.1:0"),
    ];
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
    let h = Httpd::with_workers(
        tag,
        Mpm::Event,
        &props,
        &format!("JkMount /app/* lb\nJkMount /jk/* jkstatus\n{httpd_extra}"),
    );
    Cluster {
        servers: servers.into_iter().map(Some).collect(),
        addrs,
        h,
    }
}

/// Asserts a 200 from member `want` (mod_jk.log in the failure message).
fn assert_served(h: &Httpd, (status, member): (u16, &str), want: &str) {
    let log = h.dir.read("logs/mod_jk.log");
    assert_eq!((status, member), (200, want), "{log}");
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
    assert_eq!(member_of(&h.request("GET", "/app/a", &sticky)), "t1");

    // Restart maintenance on t1: new sessions go to t2, sticky requests for t1 wait.
    let r = h.get("/jk/?cmd=update&w=lb&sw=t1&vwm=R&mime=txt");
    assert!(r.text().contains("type=OK"), "{}", r.text());
    assert!(
        json_member(h, "t1").contains("\"restarting\":true"),
        "{}",
        json_member(h, "t1")
    );
    for i in 0..10 {
        assert_eq!(member_of(&h.get(&format!("/app/new{i}"))), "t2");
    }
    let port = h.port;
    let held = std::thread::spawn(move || {
        let t = Instant::now();
        let r = http_request(port, "GET", "/app/held", &[("Cookie", "JSESSIONID=abc.t1")]);
        (r.status, member_of(&r), t.elapsed())
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
    assert_eq!(member_of(&c.h.get_in_session("/app/a", "s.t1")), "t1");
    // t1 goes away (its Tomcat is restarting) ...
    c.servers[0] = None;
    let held = std::thread::spawn(move || {
        let r = http_request(port, "GET", "/app/during", &[("Cookie", "JSESSIONID=s.t1")]);
        (r.status, member_of(&r))
    });
    std::thread::sleep(Duration::from_millis(1500));
    // ... and comes back on the same address.
    c.servers[0] = Some(member_server("t1", &c.addrs[0]));
    let (status, m) = held.join().unwrap();
    assert_served(&c.h, (status, m.as_str()), "t1");
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
    assert_eq!(member_of(&c.h.get_in_session("/app/a", "s.t1")), "t1");
    c.servers[0] = None;
    let t = Instant::now();
    let r = c.h.get_in_session("/app/b", "s.t1");
    assert_eq!((r.status, member_of(&r).as_str()), (200, "t2"));
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
    assert_eq!(member_of(&h.get_in_session("/app/x", "q.t1")), "t1");
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
        let r = h.get_in_session(&format!("/app/p{i}"), "s.t1");
        assert_served(h, (r.status, member_of(&r).as_str()), "t2");
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

/// The status JSON, parsed.
fn status_doc(h: &Httpd) -> serde_json::Value {
    let j = h.get("/jk/?mime=json").text();
    serde_json::from_str(&j).unwrap_or_else(|e| panic!("{e}: {j}"))
}

/// The balancer `lb` of the status JSON.
fn lb_doc(doc: &serde_json::Value) -> &serde_json::Value {
    doc["balancers"]
        .as_array()
        .and_then(|a| a.iter().find(|b| b["name"] == "lb"))
        .unwrap_or_else(|| panic!("no lb in {doc}"))
}

/// Member `name` of the balancer `lb` in the status JSON.
fn member_doc<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    lb_doc(doc)["members"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["name"] == name))
        .unwrap_or_else(|| panic!("no member {name} in {doc}"))
}

fn awaiting_readiness(h: &Httpd, name: &str) -> bool {
    let doc = status_doc(h);
    member_doc(&doc, name)["awaiting_readiness"]
        .as_bool()
        .unwrap_or_else(|| panic!("awaiting_readiness not a bool: {doc}"))
}

/// The pids whose parent is `ppid` (httpd's children).
fn children_of(ppid: i32) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if rest.split_whitespace().nth(1) == Some(&ppid.to_string()) {
            n += 1;
        }
    }
    n
}

/// One event-MPM child serves everything (hold_max counts per child).
const ONE_CHILD: &str =
    "StartServers 1\nServerLimit 1\nMaxRequestWorkers 8\nMinSpareThreads 1\nMaxSpareThreads 9\n";

#[test]
fn hold_max_caps_the_requests_one_child_holds_the_next_fails_over_at_once() {
    let mut c = cluster_with(
        "roll-holdmax",
        &format!("{HOLD}worker.lb.hold_max=1\n"),
        ONE_CHILD,
    );
    let port = c.h.port;
    let pid = c.h.pid().unwrap();
    wait_for("one httpd child", 10, || children_of(pid) == 1);
    let sticky = [("Cookie", "JSESSIONID=s.t1")];
    assert_eq!(member_of(&c.h.request("GET", "/app/a", &sticky)), "t1");
    // t1 goes away: the first sticky request finds it refusing and is held for it.
    c.servers[0] = None;
    let first = std::thread::spawn(move || {
        let t = Instant::now();
        let r = http_request(port, "GET", "/app/first", &[("Cookie", "JSESSIONID=s.t1")]);
        (r.status, member_of(&r), t.elapsed())
    });
    wait_for("t1 marked down by the first request", 10, || {
        awaiting_readiness(&c.h, "t1")
    });
    // The hold counter is taken right after t1 is marked; leave the first request time to
    // reach its wait.
    std::thread::sleep(Duration::from_millis(300));
    assert!(!first.is_finished(), "the first request was not held");
    // The second sticky request for t1 is past hold_max=1 in this child: failover at once.
    let t = Instant::now();
    let r = c.h.request("GET", "/app/second", &sticky);
    let second_took = t.elapsed();
    assert_served(&c.h, (r.status, member_of(&r).as_str()), "t2");
    assert!(
        second_took < Duration::from_secs(3),
        "the second request was held: {second_took:?}"
    );
    assert!(
        !first.is_finished(),
        "the first request is still held while the second was served"
    );
    let log = c.h.dir.read("logs/mod_jk.log");
    assert!(
        log.contains("(lb) hold_max reached: not holding a request for t1; failing over"),
        "{log}"
    );
    // t1 comes back on its address: the held request goes to it.
    c.servers[0] = Some(member_server("t1", &c.addrs[0]));
    let (status, m, waited) = first.join().unwrap();
    assert_served(&c.h, (status, m.as_str()), "t1");
    assert!(
        waited < Duration::from_secs(8),
        "released by readiness, not by hold_timeout: {waited:?}"
    );
    let log = c.h.dir.read("logs/mod_jk.log");
    assert!(log.contains("sending the request to t1 again"), "{log}");
}

#[test]
fn a_hold_that_times_out_fails_over_and_the_log_says_why() {
    let mut c = cluster(
        "roll-expire",
        "worker.lb.hold_timeout=1500\nworker.lb.probe_interval=100\n",
    );
    let sticky = [("Cookie", "JSESSIONID=s.t1")];
    assert_eq!(member_of(&c.h.request("GET", "/app/a", &sticky)), "t1");
    // t1 dies and stays dead.
    c.servers[0] = None;
    let t = Instant::now();
    let r = c.h.request("GET", "/app/b", &sticky);
    let took = t.elapsed();
    let log = c.h.dir.read("logs/mod_jk.log");
    assert_eq!((r.status, member_of(&r).as_str()), (200, "t2"), "{log}");
    assert!(
        took >= Duration::from_millis(1300),
        "it was held first: {took:?}"
    );
    assert!(
        took < Duration::from_millis(1500 + 4000),
        "released by hold_timeout: {took:?}"
    );
    let why = "(lb) t1 not ready after holding a request ";
    let at = log.find(why).unwrap_or_else(|| panic!("{log}"));
    let rest = &log[at + why.len()..];
    let ms: u64 = rest
        .split(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{rest}"));
    assert!((1500..5500).contains(&ms), "held {ms} ms: {log}");
    assert!(rest.starts_with(&format!("{ms} ms; failing over")), "{log}");
    assert!(log.contains("trying another member of lb"), "{log}");
}

#[test]
fn a_returning_member_needs_ready_probes_good_probes_in_a_row() {
    let c = cluster(
        "roll-inarow",
        "worker.lb.hold_timeout=8000\nworker.lb.probe_interval=100\n\
         worker.t1.ready_probes=3\nworker.t1.health_url=/health\nworker.t1.ping_timeout=200\n",
    );
    let h = &c.h;
    let t1 = c.servers[0].as_ref().unwrap();
    // The restarted backend does not answer CPings yet.
    t1.set_behaviour(Behaviour::RefuseCpong);
    h.get("/jk/?cmd=update&w=lb&sw=t1&vwm=R&mime=txt");
    h.get("/jk/?cmd=update&w=lb&sw=t1&vwm=0&mime=txt");
    let cpings = t1.cpings_received();
    wait_for("failing CPing probes", 10, || {
        t1.cpings_received() >= cpings + 4
    });
    assert!(
        awaiting_readiness(h, "t1"),
        "back without a CPong: {}",
        json_member(h, "t1")
    );
    assert!(
        t1.requests().iter().all(|r| r.decoded.uri != "/health"),
        "a health probe without a CPong first"
    );
    // CPings answered; the health page answers 200, 200, 503, three times over, then 200
    // for good: never 3 good probes in a row before the 10th, 11th and 12th.
    let good = || Behaviour::Respond(AjpResponse::text(200, "OK", "member=t1\n"));
    let bad = || Behaviour::Respond(AjpResponse::text(503, "Unavailable", "starting"));
    let mut seq = Vec::new();
    for _ in 0..3 {
        seq.extend([good(), good(), bad()]);
    }
    seq.push(good());
    t1.take_requests();
    t1.set_behaviour(Behaviour::Sequence(seq));
    let health = || {
        t1.requests()
            .iter()
            .filter(|r| r.decoded.uri == "/health")
            .count()
    };
    let t = Instant::now();
    loop {
        // The JSON first: if it says "back", the probes it counted were recorded before.
        let back = !awaiting_readiness(h, "t1");
        let seen = health();
        if back {
            // (13: one probe of another child may race the 12th.)
            assert!(
                (12..=13).contains(&seen),
                "t1 returned after {seen} health probes, not at the first 3 good ones in a row"
            );
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "t1 never returned ({seen} health probes): {}",
            json_member(h, "t1")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        t1.requests().iter().all(|r| r.decoded.uri == "/health"),
        "no user request reached t1 while it was awaiting readiness"
    );
    assert_eq!(member_of(&h.get_in_session("/app/x", "q.t1")), "t1");
}

#[test]
fn a_held_request_is_counted_as_held_not_in_flight() {
    // `in_flight` is a member's busy count (member tries in flight) and the lb's `busy`
    // counts member tries too; a request held before its member is tried (or between two
    // tries) is counted in neither (it must not hold up that member's drain), but in the
    // member's `held` (JSON and Prometheus).
    let c = cluster("roll-inflight", HOLD);
    let h = &c.h;
    let port = h.port;
    let r = h.get("/jk/?cmd=update&w=lb&sw=t1&vwm=R&mime=txt");
    assert!(r.text().contains("type=OK"), "{}", r.text());
    let held = std::thread::spawn(move || {
        let r = http_request(port, "GET", "/app/held", &[("Cookie", "JSESSIONID=h.t1")]);
        (r.status, member_of(&r))
    });
    std::thread::sleep(Duration::from_millis(600));
    assert!(!held.is_finished(), "the sticky request was not held");
    let doc = status_doc(h);
    let counts = |doc: &serde_json::Value| {
        (
            member_doc(doc, "t1")["in_flight"].as_u64(),
            member_doc(doc, "t2")["in_flight"].as_u64(),
            lb_doc(doc)["busy"].as_u64(),
        )
    };
    assert_eq!(
        counts(&doc),
        (Some(0), Some(0), Some(0)),
        "a held request is in flight nowhere: {doc}"
    );
    assert_eq!(member_doc(&doc, "t1")["held"].as_u64(), Some(1), "{doc}");
    assert_eq!(member_doc(&doc, "t2")["held"].as_u64(), Some(0), "{doc}");
    let prom = h.get("/jk/?mime=prometheus").text();
    assert!(
        prom.contains("mod_jk_member_held{balancer=\"lb\",member=\"t1\"} 1"),
        "{prom}"
    );
    // Control: a request actually sent to a member is counted there and in the lb.
    c.servers[1]
        .as_ref()
        .unwrap()
        .set_behaviour(Behaviour::Stall { millis: 3000 });
    let sent = std::thread::spawn(move || http_request(port, "GET", "/app/slow", &[]).status);
    wait_for("the stalled request in flight at t2", 10, || {
        counts(&status_doc(h)) == (Some(0), Some(1), Some(1))
    });
    assert_eq!(sent.join().unwrap(), 200);
    // Release the held request.
    c.servers[1]
        .as_ref()
        .unwrap()
        .set_behaviour(Behaviour::Respond(AjpResponse::text(
            200,
            "OK",
            "member=t2\n",
        )));
    h.get("/jk/?cmd=update&w=lb&sw=t1&vwm=0&mime=txt");
    let (status, m) = held.join().unwrap();
    assert_eq!((status, m.as_str()), (200, "t1"));
    let doc = status_doc(h);
    assert_eq!(counts(&doc), (Some(0), Some(0), Some(0)));
    assert_eq!(member_doc(&doc, "t1")["held"].as_u64(), Some(0), "{doc}");
}

#[test]
fn slow_start_ramps_a_returning_members_share_of_new_requests() {
    // slow_start=6: a request to t1 costs 6x (elapsed 0..1 s), 3x (2 s), 2x, 1.5x, 1.2x,
    // then 1x: with method Request t1 gets about 1/7 of new requests in its first 2 s.
    let c = cluster("roll-slowstart", &format!("{HOLD}worker.t1.slow_start=6\n"));
    let h = &c.h;
    let share = |from: usize, n_min: usize, dur: Option<Duration>| {
        let (mut t1, mut t2) = (0usize, 0usize);
        let t = Instant::now();
        let mut i = from;
        while dur.map_or(t1 + t2 < n_min, |d| t.elapsed() < d || t1 + t2 < n_min) {
            match member_of(&h.get(&format!("/app/x{i}"))).as_str() {
                "t1" => t1 += 1,
                "t2" => t2 += 1,
                other => panic!("answered by {other}"),
            }
            i += 1;
        }
        (t1, t2)
    };
    // Both share evenly to begin with.
    let (a, b) = share(0, 40, None);
    assert!(
        a >= 15 && b >= 15,
        "not balanced to begin with: t1 {a}, t2 {b}"
    );
    h.get("/jk/?cmd=update&w=lb&sw=t1&vwm=R&mime=txt");
    let (a, _) = share(100, 10, None);
    assert_eq!(a, 0, "t1 got new requests while restarting");
    h.get("/jk/?cmd=update&w=lb&sw=t1&vwm=0&mime=txt");
    let t = Instant::now();
    while awaiting_readiness(h, "t1") {
        assert!(t.elapsed() < Duration::from_secs(10), "t1 never returned");
        std::thread::sleep(Duration::from_millis(20));
    }
    let returned = Instant::now();
    // Early in the window (elapsed <= 2 s: each t1 request costs >= 3x).
    let (e1, e2) = share(1000, 30, Some(Duration::from_millis(1500)));
    let early = e1 as f64 / (e1 + e2) as f64;
    assert!(
        returned.elapsed() < Duration::from_millis(2500),
        "the early sample took too long to mean anything"
    );
    assert!(e1 >= 1, "t1 got nothing at all early: t1 {e1}, t2 {e2}");
    assert!(early < 0.35, "t1 early share {early:.2}: t1 {e1}, t2 {e2}");
    // After the window (7 s covers the whole-second clock) the shares are even again.
    std::thread::sleep(Duration::from_secs(7).saturating_sub(returned.elapsed()));
    let (l1, l2) = share(100_000, 60, None);
    let late = l1 as f64 / (l1 + l2) as f64;
    assert!(
        (0.35..=0.65).contains(&late),
        "t1 late share {late:.2}: t1 {l1}, t2 {l2} (early t1 {e1}, t2 {e2})"
    );
}
