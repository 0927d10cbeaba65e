#![allow(clippy::unwrap_used)]
//! Runtime membership (mod_jk-rs, issue 12) in the real httpd under the event and prefork
//! MPMs, in front of recording AJP servers: `jkctl add` / `jkctl remove` through the status
//! worker (every child sees the member, readiness before traffic, the route learned from the
//! first session it issues, kept over a graceful restart, drained then gone), and DNS
//! discovery following /etc/hosts (a name that resolves to several loopback addresses,
//! changed during the test; kept while the name does not resolve), a down member's host
//! name followed to its new address by every child, and a GET answered by a stopping Tomcat
//! held and sent again.

mod support;

use std::process::Command;
use std::time::Duration;

use jk_ajp_testserver::{Behaviour, Response as AjpResponse, TestServer};
use support::testers::jkctl;
use support::*;

/// A recording AJP server answering `member=NAME` and, with `route`, setting a session
/// cookie `JSESSIONID=<n>.<route>` as a Tomcat with that jvmRoute does.
fn status(h: &Httpd) -> serde_json::Value {
    jk_status(h)
}

fn member(h: &Httpd, name: &str) -> Option<serde_json::Value> {
    jk_member(h, "lb", name)
}

fn server(name: &str, addr: &str, route: Option<&str>) -> TestServer {
    let mut answer = AjpResponse::text(200, "OK", &format!("member={name}\n"));
    if let Some(r) = route {
        answer.headers.push((
            "Set-Cookie".into(),
            format!("JSESSIONID=S{name}.{r}; Path=/app; HttpOnly"),
        ));
    }
    TestServer::start(addr, Behaviour::Respond(answer)).unwrap()
}

/// httpd under `mpm` over t1 and t2 (configured) with `lb_extra`, the status worker at /jk/.
fn gateway(tag: &str, mpm: Mpm, t: &[&TestServer], lb_extra: &str) -> Httpd {
    let mut props =
        String::from("worker.list=lb,jkstatus\nworker.jkstatus.type=status\nworker.lb.type=lb\n");
    for (n, s) in ["t1", "t2"].iter().zip(t) {
        props.push_str(&format!(
            "worker.{n}.host=127.0.0.1\nworker.{n}.port={}\nworker.{n}.route={n}\n\
             worker.lb.balance_workers={n}\n",
            s.port()
        ));
    }
    props.push_str(lb_extra);
    Httpd::with_workers(
        tag,
        mpm,
        &props,
        "JkMount /app/* lb\nJkMount /jk/* jkstatus\n",
    )
}

/// The lb's members in the status JSON.
fn members(h: &Httpd) -> Vec<serde_json::Value> {
    let s = status(h);
    let lb = s["balancers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "lb")
        .unwrap_or_else(|| panic!("{s}"))
        .clone();
    lb["members"].as_array().unwrap().clone()
}

fn run_jkctl(h: &Httpd, args: &[&str]) -> String {
    let url = format!("http://127.0.0.1:{}/jk/", h.port);
    let out = Command::new(jkctl())
        .args(["--url", &url])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jkctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `n` requests in session `sticky` are all answered by `member`, none failed over to
/// `other`, and no child panicked.
fn sticky_requests_all_reach(
    h: &Httpd,
    sticky: Option<&str>,
    n: usize,
    member: &str,
    other: &TestServer,
) {
    assert_eq!(spread(h, n, sticky), [(member.to_string(), n)].into());
    assert!(other.requests().is_empty(), "nothing failed over");
    assert!(!h.error_log().contains("panicked"), "{}", h.error_log());
}

/// `n` new requests (each on its own connection, so both MPMs spread them over their
/// children): how many each member served; every one must be a 200.
fn spread(h: &Httpd, n: usize, cookie: Option<&str>) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..n {
        let hdrs: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", *c)).collect();
        let r = h.request("GET", "/app/x", &hdrs);
        assert_eq!(r.status, 200, "{}", r.text());
        *seen.entry(member_of(&r)).or_default() += 1;
    }
    seen
}

fn add_remove_learn(mpm: Mpm, tag: &str) {
    let t1 = member_server("t1", "127.0.0.1:0");
    let t2 = member_server("t2", "127.0.0.1:0");
    let t3 = server("t3", "127.0.0.1:0", Some("r3"));
    let h = gateway(
        tag,
        mpm,
        &[&t1, &t2],
        "worker.lb.probe_interval=100\nworker.lb.drain_idle=1\nworker.lb.hold_timeout=3000\n",
    );
    assert_eq!(member(&h, "t1").unwrap()["origin"], "config");
    assert_eq!(
        status(&h)["balancers"][0]["member_slots"],
        6,
        "2 + growth 4"
    );

    let added = run_jkctl(
        &h,
        &[
            "add",
            "lb",
            &format!("127.0.0.1:{}", t3.port()),
            "--name",
            "app3",
        ],
    );
    assert_eq!(added, "app3");
    let m = member(&h, "app3").expect("listed at once");
    assert_eq!(
        (m["origin"].as_str(), m["activation"].as_str()),
        (Some("runtime"), Some("ACT"))
    );
    eventually(5, "app3 active", &h, || {
        member(&h, "app3").is_some_and(|m| m["lifecycle"] == "active")
    });
    assert!(t3.cpings_received() >= 2, "readiness probes before traffic");
    // Every child sends it new sessions, and its first session teaches its route.
    let seen = spread(&h, 30, None);
    assert!(seen.get("t3").copied().unwrap_or(0) >= 3, "{seen:?}");
    eventually(3, "route r3 learned", &h, || {
        member(&h, "app3").is_some_and(|m| m["route"] == "r3")
    });
    assert_eq!(
        spread(&h, 12, Some("JSESSIONID=abc.r3")),
        [("t3".to_string(), 12)].into()
    );
    assert!(h
        .dir
        .read("logs/mod_jk.log")
        .contains("member 'app3' learned its route 'r3'"));

    // A graceful restart keeps it (shared memory), sticky and active.
    h.graceful();
    eventually(5, "app3 after graceful", &h, || {
        member(&h, "app3").is_some_and(|m| m["lifecycle"] == "active" && m["route"] == "r3")
    });
    assert_eq!(
        spread(&h, 6, Some("JSESSIONID=abc.r3")),
        [("t3".to_string(), 6)].into()
    );

    // Removed: it drains (its sessions still reach it, no new ones), then leaves when idle.
    run_jkctl(&h, &["remove", "lb", "app3"]);
    assert_eq!(member(&h, "app3").unwrap()["lifecycle"], "draining");
    assert_eq!(
        spread(&h, 4, Some("JSESSIONID=abc.r3")),
        [("t3".to_string(), 4)].into()
    );
    assert!(
        !spread(&h, 20, None).contains_key("t3"),
        "no new session while draining"
    );
    eventually(6, "app3 gone", &h, || member(&h, "app3").is_none());
    // Its sessions go elsewhere now, without an error.
    let after = spread(&h, 6, Some("JSESSIONID=abc.r3"));
    assert!(!after.contains_key("t3"), "{after:?}");
    assert_eq!(status(&h)["balancers"][0]["members_free"], 4);
    // Added and removed again by hand, with --force: gone at once.
    run_jkctl(
        &h,
        &[
            "add",
            "lb",
            &format!("127.0.0.1:{}", t3.port()),
            "--name",
            "app4",
        ],
    );
    run_jkctl(&h, &["remove", "lb", "app4", "--force"]);
    assert!(member(&h, "app4").is_none());
    let log = h.error_log();
    assert!(!log.contains("panicked"), "{log}");
    let jk = h.dir.read("logs/mod_jk.log");
    assert!(
        jk.contains("added member 'app3' at 127.0.0.1:"),
        "{}",
        tail(&jk, 3000)
    );
    assert!(
        jk.contains("member 'app3' of lb worker 'lb' left"),
        "{}",
        tail(&jk, 3000)
    );
}

#[test]
fn members_added_and_removed_at_runtime_reach_every_event_child() {
    add_remove_learn(Mpm::Event, "member-event");
}

#[test]
fn members_added_and_removed_at_runtime_reach_every_prefork_child() {
    add_remove_learn(Mpm::Prefork, "member-prefork");
}

#[test]
fn dns_discovery_follows_the_name_and_keeps_members_when_it_stops_resolving() {
    // Two backends of one service on one port, at two loopback addresses.
    let a = server("d1", "127.0.0.41:0", Some("d1"));
    let port = a.port();
    let b = server("d2", &format!("127.0.0.42:{port}"), Some("d2"));
    assert_eq!(b.port(), port);
    let t1 = member_server("t1", "127.0.0.1:0");
    let t2 = member_server("t2", "127.0.0.1:0");
    let name = format!("jkrs-disc-{}.test", std::process::id());
    let hosts = EtcHosts::new(&name);
    hosts.set(&["127.0.0.41"]);
    let h = gateway(
        "member-dns",
        Mpm::Event,
        &[&t1, &t2],
        &format!(
            "worker.lb.discover_dns={name}:{port}\nworker.lb.discover_interval=1\n\
             worker.lb.discover_hold=2\nworker.lb.probe_interval=100\nworker.lb.drain_idle=1\n"
        ),
    );
    let d1 = format!("127.0.0.41:{port}");
    let d2 = format!("127.0.0.42:{port}");
    eventually(6, "d1 discovered and active", &h, || {
        member(&h, &d1).is_some_and(|m| m["lifecycle"] == "active" && m["origin"] == "dns")
    });
    assert_eq!(
        status(&h)["balancers"][0]["member_slots"],
        18,
        "2 + growth 16 with discover_dns"
    );
    // Scaled to two.
    hosts.set(&["127.0.0.41", "127.0.0.42"]);
    eventually(6, "d2 discovered and active", &h, || {
        member(&h, &d2).is_some_and(|m| m["lifecycle"] == "active")
    });
    let seen = spread(&h, 40, None);
    assert!(
        seen.contains_key("d1") && seen.contains_key("d2"),
        "{seen:?}"
    );
    // The name stops resolving: nothing is removed, nothing fails.
    hosts.set(&[]);
    std::thread::sleep(Duration::from_secs(3));
    for m in [&d1, &d2] {
        assert_eq!(member(&h, m).unwrap()["lifecycle"], "active", "{m} kept");
    }
    spread(&h, 10, None);
    let jk = h.dir.read("logs/mod_jk.log");
    assert!(jk.contains("resolving failed"), "{}", tail(&jk, 2000));
    assert!(
        jk.contains("keeping all 4 members of the lb"),
        "{}",
        tail(&jk, 2000)
    );
    // Scaled back to one: d2 drains, then leaves; its sessions still reached it meanwhile.
    hosts.set(&["127.0.0.41"]);
    eventually(4, "d2 draining or gone", &h, || {
        member(&h, &d2).is_none_or(|m| m["lifecycle"] == "draining")
    });
    eventually(6, "d2 gone", &h, || member(&h, &d2).is_none());
    let before = b.requests().len();
    assert!(!spread(&h, 20, None).contains_key("d2"));
    assert_eq!(
        b.requests().len(),
        before,
        "nothing reaches a member that left"
    );
    assert_eq!(member(&h, &d1).unwrap()["lifecycle"], "active");
    drop(hosts);
    assert!(!h.error_log().contains("panicked"));
}

/// With `state_file`, a member added at runtime survives a full stop and start of httpd (the
/// shared memory is gone then): it is restored with its route and origin, enters through
/// readiness again and its sessions stick to it.
#[test]
fn state_file_keeps_runtime_members_over_a_full_stop_and_start() {
    let t1 = member_server("t1", "127.0.0.1:0");
    let t2 = member_server("t2", "127.0.0.1:0");
    let t3 = server("t3", "127.0.0.1:0", Some("r3"));
    let keep = TestDir::new("member-state-file");
    let file = keep.path().join("lb.members");
    let mut h = gateway(
        "member-state",
        Mpm::Event,
        &[&t1, &t2],
        &format!(
            "worker.lb.probe_interval=100\nworker.lb.state_file={}\n",
            file.display()
        ),
    );
    run_jkctl(
        &h,
        &[
            "add",
            "lb",
            &format!("127.0.0.1:{}", t3.port()),
            "--name",
            "app3",
        ],
    );
    eventually(5, "app3 active", &h, || {
        member(&h, "app3").is_some_and(|m| m["lifecycle"] == "active")
    });
    spread(&h, 20, None);
    eventually(3, "route r3 learned", &h, || {
        member(&h, "app3").is_some_and(|m| m["route"] == "r3")
    });
    eventually(5, "state file written with the route", &h, || {
        std::fs::read_to_string(&file).is_ok_and(|t| t.contains("app3") && t.contains("r3"))
    });

    // A full stop (every process gone, the shared memory with them), then a start.
    let pid = h.pid().unwrap();
    h.stop();
    // SAFETY: kill(pid, 0) only probes whether the parent this test started is gone.
    assert_ne!(unsafe { libc::kill(pid, 0) }, 0, "httpd stopped");
    let out = Command::new(apache2())
        .arg("-f")
        .arg(&h.conf)
        .args(["-k", "start"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for("httpd up again", 15, || {
        h.pid().is_some() && std::net::TcpStream::connect(("127.0.0.1", h.port)).is_ok()
    });
    eventually(6, "app3 restored and active", &h, || {
        member(&h, "app3").is_some_and(|m| {
            m["lifecycle"] == "active" && m["origin"] == "runtime" && m["route"] == "r3"
        })
    });
    assert_eq!(
        spread(&h, 8, Some("JSESSIONID=abc.r3")),
        [("t3".to_string(), 8)].into()
    );
    let log = h.error_log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        log.contains("lb worker 'lb': 1 runtime members restored from"),
        "{log}"
    );
    // The file httpd made for its children is theirs (its directory is not).
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(&file).unwrap().uid();
    let dir_owner = std::fs::metadata(keep.path()).unwrap().uid();
    if dir_owner == 0 {
        assert_ne!(owner, 0, "created for the children's user");
    }
}

/// swarm's case: an lb with no configured member at all takes every member from DNS (they copy
/// the template worker's settings), serves them, and its status page shows them.
#[test]
fn lb_without_configured_members_serves_the_members_dns_finds() {
    let a = server("s1", "127.0.0.43:0", Some("tc1"));
    let port = a.port();
    let b = server("s2", &format!("127.0.0.44:{port}"), Some("tc2"));
    let name = format!("jkrs-swarm-{}.test", std::process::id());
    let hosts = EtcHosts::new(&name);
    hosts.set(&["127.0.0.43", "127.0.0.44"]);
    let props = format!(
        "worker.list=lb,jkstatus\nworker.jkstatus.type=status\n\
         worker.app.type=ajp13\nworker.app.host={name}\nworker.app.port={port}\n\
         worker.lb.type=lb\nworker.lb.template=app\nworker.lb.discover_dns={name}:{port}\n\
         worker.lb.discover_interval=1\nworker.lb.probe_interval=100\n"
    );
    let h = Httpd::with_workers(
        "member-swarm",
        Mpm::Event,
        &props,
        "JkMount /app/* lb\nJkMount /jk/* jkstatus\n",
    );
    let (s1, s2) = (format!("127.0.0.43:{port}"), format!("127.0.0.44:{port}"));
    eventually(8, "both tasks discovered and active", &h, || {
        [&s1, &s2]
            .iter()
            .all(|m| member(&h, m).is_some_and(|m| m["lifecycle"] == "active"))
    });
    assert_eq!(members(&h).len(), 2, "only the discovered members");
    let seen = spread(&h, 30, None);
    assert!(
        seen.contains_key("s1") && seen.contains_key("s2"),
        "{seen:?}"
    );
    eventually(3, "routes learned", &h, || {
        member(&h, &s2).is_some_and(|m| m["route"] == "tc2")
    });
    assert_eq!(
        spread(&h, 6, Some("JSESSIONID=x.tc2")),
        [("s2".to_string(), 6)].into()
    );
    drop(hosts);
    assert!(!h.error_log().contains("panicked"), "{}", h.error_log());
    drop(b);
}

#[test]
fn a_down_configured_members_host_name_is_followed_to_its_new_address() {
    // docker compose recreates a Tomcat container: it comes back under its name on a new
    // address. mod_jk resolves a worker's host once, at start-up; here the request held for
    // the member goes to the new address instead of failing over (and losing its session).
    let name = format!("jkrs-moved-{}.test", std::process::id());
    let hosts = EtcHosts::new(&name);
    let old = server("old", "127.0.0.45:0", Some("tc1"));
    let port = old.port();
    hosts.set(&["127.0.0.45"]);
    let t2 = server("t2", "127.0.0.1:0", Some("t2"));
    let props = format!(
        "worker.list=lb,jkstatus\nworker.jkstatus.type=status\n\
         worker.tc1.host={name}\nworker.tc1.port={port}\nworker.tc1.route=tc1\n\
         worker.t2.host=127.0.0.1\nworker.t2.port={}\nworker.t2.route=t2\n\
         worker.lb.type=lb\nworker.lb.balance_workers=tc1,t2\n\
         worker.lb.hold_timeout=20000\nworker.lb.probe_interval=100\n",
        t2.port()
    );
    // Prefork children that serve one connection each: every request after the move is
    // served by a child forked after it, from a parent that never followed the name (it
    // must take the address from the shared record, not resolve or probe by itself).
    let h = Httpd::with_workers(
        "member-moved",
        Mpm::Prefork,
        &props,
        "JkMount /app/* lb\nJkMount /jk/* jkstatus\nMaxConnectionsPerChild 1\n",
    );
    let sticky = Some("JSESSIONID=x.tc1");
    assert_eq!(spread(&h, 4, sticky), [("old".to_string(), 4)].into());
    // The container goes away; a new one answers under the same name elsewhere.
    drop(old);
    hosts.set(&["127.0.0.46"]);
    let new = server("new", &format!("127.0.0.46:{port}"), Some("tc1"));
    let started = std::time::Instant::now();
    let r = h.request("GET", "/app/x", &[("Cookie", "JSESSIONID=x.tc1")]);
    let took = started.elapsed();
    assert_eq!(
        (r.status, member_of(&r)),
        (200, "new".to_string()),
        "{}",
        r.text()
    );
    assert!(took < Duration::from_secs(15), "held {took:?}");
    let log = h.dir.read("logs/mod_jk.log");
    assert!(
        log.contains(&format!(
            "member 'tc1' is down and its host '{name}' resolves to 127.0.0.46:{port} now, not \
             127.0.0.45:{port}"
        )),
        "{}",
        tail(&log, 3000)
    );
    sticky_requests_all_reach(&h, sticky, 6, "new", &t2);
    drop(hosts);
    drop(new);
}

#[test]
fn a_configured_members_host_name_that_resolves_only_after_the_start_is_followed() {
    // docker compose may start the gateway before its Tomcats' containers have names: the
    // member's host does not resolve when httpd starts, so its endpoint has no address. The
    // member is still ready (nothing failed yet): its name is followed all the same, so the
    // first request for it reaches its Tomcat instead of failing over.
    let name = format!("jkrs-late-{}.test", std::process::id());
    let hosts = EtcHosts::new(&name);
    let t2 = server("t2", "127.0.0.1:0", Some("t2"));
    let late_port = {
        let l = std::net::TcpListener::bind("127.0.0.47:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let props = format!(
        "worker.list=lb\n\
         worker.tc1.host={name}\nworker.tc1.port={late_port}\nworker.tc1.route=tc1\n\
         worker.t2.host=127.0.0.1\nworker.t2.port={}\nworker.t2.route=t2\n\
         worker.lb.type=lb\nworker.lb.balance_workers=tc1,t2\n",
        t2.port()
    );
    let h = Httpd::with_workers(
        "member-late-name",
        Mpm::Event,
        &props,
        "JkMount /app/* lb\n",
    );
    let unresolved = format!("worker tc1: cannot resolve host '{name}'");
    assert!(h.dir.read("logs/mod_jk.log").contains(&unresolved));
    let late = server("late", &format!("127.0.0.47:{late_port}"), Some("tc1"));
    hosts.set(&["127.0.0.47"]);
    let followed = format!("host '{name}' resolves to 127.0.0.47:{late_port} now, not none");
    wait_for("the name followed", 10, || {
        h.dir.read("logs/mod_jk.log").contains(&followed)
    });
    // The child that followed it published the address in the worker's shared record: every
    // child's endpoint takes it with its next use.
    let sticky = Some("JSESSIONID=x.tc1");
    sticky_requests_all_reach(&h, sticky, 4, "late", &t2);
    drop(hosts);
    drop(late);
}

#[test]
fn a_get_answered_by_a_stopping_tomcat_is_held_and_sent_to_it_again_through_httpd() {
    // t1 read the request just before its connector paused: its application is stopping
    // already, so an error page (503) comes back and the connection closes. With hold on, the
    // GET waits for t1 and goes to it again once it answers (restarted): the client never
    // sees the 503 and the session stays.
    let answer = AjpResponse::text(200, "OK", "member=t1\n");
    let t1 = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Sequence(vec![
            Behaviour::Stopping { status: 503 },
            Behaviour::Respond(answer),
        ]),
    )
    .unwrap();
    let t2 = server("t2", "127.0.0.1:0", Some("t2"));
    let h = gateway(
        "member-stopping",
        Mpm::Event,
        &[&t1, &t2],
        "worker.lb.hold_timeout=5000\nworker.lb.probe_interval=100\n",
    );
    let sticky = [("Cookie", "JSESSIONID=x.t1")];
    let r = h.request("GET", "/app/x", &sticky);
    assert_eq!(
        (r.status, member_of(&r)),
        (200, "t1".to_string()),
        "{}",
        r.text()
    );
    assert_eq!(t1.requests().len(), 2, "asked again once");
    assert!(t2.requests().is_empty(), "the session stayed on t1");
    let log = h.dir.read("logs/mod_jk.log");
    assert!(
        log.contains("Tomcat is stopping: it answered 503"),
        "{}",
        tail(&log, 3000)
    );
    // An application's own 503 (the connection answers the CPing) reaches the client whole
    // through httpd, headers and body, after being held back.
    t1.set_behaviour(Behaviour::Respond(AjpResponse::text(
        503,
        "Service Unavailable",
        "down for maintenance",
    )));
    let r = h.request("GET", "/app/x", &sticky);
    assert_eq!(
        (r.status, r.text()),
        (503, "down for maintenance".to_string())
    );
    assert_eq!(r.header("Content-Type"), Some("text/plain"));
    assert!(t2.requests().is_empty());
    assert!(!h.error_log().contains("panicked"), "{}", h.error_log());
}
