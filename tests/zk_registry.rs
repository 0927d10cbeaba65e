#![allow(clippy::unwrap_used)]
//! The registry client against a real ZooKeeper (Debian's 3.8, tests/support/zookeeper.rs):
//! a follower sees records come and go through its watch, keeps the last members while
//! ZooKeeper is down, and reconnects when it is back; and a real httpd (event MPM, several
//! children) whose lb follows a ZooKeeper path: members announced there join through readiness
//! within a second, leave by draining, stay while ZooKeeper is down. Addresses 127.0.1.20-29.
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jk_ajp_testserver::{Behaviour, Response as AjpResponse, TestServer};
use jk_zk::{ConnState, FollowConfig, Follower, Session};
use support::zookeeper::ZooKeeper;
use support::*;

fn lb_status(h: &Httpd) -> serde_json::Value {
    jk_lb(h, "lb")
}

fn member(h: &Httpd, name: &str) -> Option<serde_json::Value> {
    jk_member(h, "lb", name)
}

fn follower(connect: &str, path: &str) -> Follower {
    let cfg = FollowConfig {
        connect: connect.into(),
        path: path.into(),
        session_timeout: Duration::from_secs(4),
        auth: None,
        tag: "lb".into(),
        state_root: None,
        gateway: "test".into(),
    };
    Follower::start(cfg, Arc::new(|l, m| eprintln!("[{l:?}] {m}"))).unwrap()
}

/// Waits until `f` holds for the follower's snapshot; returns how long it took.
fn until(f: &Follower, what: &str, secs: u64, ok: impl Fn(&jk_zk::Snapshot) -> bool) -> Duration {
    let t0 = Instant::now();
    let mut seen = 0;
    while t0.elapsed() < Duration::from_secs(secs) {
        let s = f.wait_newer(seen, Duration::from_millis(100));
        if ok(&s) {
            return t0.elapsed();
        }
        seen = s.version;
    }
    panic!("timed out waiting for {what}: {:?}", f.snapshot());
}

fn routes(s: &jk_zk::Snapshot) -> Vec<String> {
    s.members
        .iter()
        .flatten()
        .map(|i| i.route_or_id().to_string())
        .collect()
}

#[test]
fn follower_sees_records_come_and_go_and_survives_zookeeper_restart() {
    if let Err(e) = support::zookeeper::require_zookeeper() {
        panic!("{e}");
    }
    let mut zk = ZooKeeper::start_or_panic("127.0.1.21");
    eprintln!("zookeeper ready in {:?}", zk.startup);
    let path = "/services/app";
    let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let f = Follower::start(
        FollowConfig {
            connect: zk.hostport(),
            path: path.into(),
            session_timeout: Duration::from_secs(4),
            auth: None,
            tag: "lb".into(),
            state_root: None,
            gateway: "test".into(),
        },
        Arc::new(move |l, m| sink.lock().unwrap().push(format!("[{l:?}] {m}"))),
    )
    .unwrap();
    until(&f, "connected", 10, |s| s.state == ConnState::Connected);
    assert!(f.snapshot().members.is_none(), "no path yet: nothing read");

    let w = Session::connect(
        &zk.hostport(),
        // (longer than ZooKeeper is down below: this writer keeps its session)
        Duration::from_secs(30),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    w.ensure_parents(&format!("{path}/tc1"), None).unwrap();
    let rec = jk_zk::record::build("app", "tc1", "127.0.1.22", 8009, "tc1", 1, 0);
    w.create(&format!("{path}/tc1"), &rec, true, None).unwrap();
    let took = until(&f, "tc1 listed", 5, |s| routes(s) == ["tc1"]);
    eprintln!("record seen after {took:?}");
    assert!(
        took < Duration::from_secs(1),
        "a watch, not polling: {took:?}"
    );
    assert_eq!(
        f.snapshot().world_writable,
        Some(true),
        "the path is world:anyone"
    );

    // A bad record is skipped, the good one stays.
    w.create(&format!("{path}/bad"), b"{\"address\":\"x y\"}", true, None)
        .unwrap();
    let rec2 = jk_zk::record::build("app", "tc2", "127.0.1.23", 8009, "r2", 1, 0);
    w.create(&format!("{path}/tc2"), &rec2, true, None).unwrap();
    until(&f, "tc1 and r2", 5, |s| routes(s) == ["tc1", "r2"]);

    // ZooKeeper killed: the last members stay, the state says so.
    zk.kill();
    until(&f, "disconnected", 10, |s| {
        matches!(s.state, ConnState::Disconnected | ConnState::Expired)
    });
    assert_eq!(
        routes(&f.snapshot()),
        ["tc1", "r2"],
        "the last members are kept"
    );
    // Down for 6 s (several reconnection attempts with backoff): one line per state change,
    // not per attempt.
    std::thread::sleep(Duration::from_secs(6));
    let warns: Vec<String> = lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("ZooKeeper lost"))
        .cloned()
        .collect();
    // (disconnected; the session expired on the client's side after its timeout; cannot
    // connect: three changes, each said once)
    assert!(warns.len() <= 3, "{warns:#?}");
    assert!(warns.windows(2).all(|w| w[0] != w[1]), "{warns:#?}");
    zk.restart().unwrap();
    until(&f, "connected again", 20, |s| {
        s.state == ConnState::Connected
    });

    // A deletion after the restart is seen (the watch is back).
    w.delete(&format!("{path}/tc2"))
        .unwrap_or_else(|e| eprintln!("{e}"));
    until(&f, "r2 gone", 10, |s| routes(s) == ["tc1"]);
    drop(w);
    until(
        &f,
        "writer's session closed: its ephemeral nodes gone",
        10,
        |s| routes(s).is_empty(),
    );
    drop(f);
}

/// A recording AJP server answering `member=NAME` with a session cookie of route `route`.
fn server(name: &str, addr: &str, route: &str) -> TestServer {
    let mut answer = AjpResponse::text(200, "OK", &format!("member={name}\n"));
    answer.headers.push((
        "Set-Cookie".into(),
        format!("JSESSIONID=S{name}.{route}; Path=/app; HttpOnly"),
    ));
    TestServer::start(addr, Behaviour::Respond(answer)).unwrap()
}

/// `n` new requests, each on its own connection: how many each member served (all 200).
fn spread(h: &Httpd, n: usize) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..n {
        let r = h.get("/app/x");
        assert_eq!(r.status, 200, "{}", r.text());
        *seen.entry(member_of(&r)).or_default() += 1;
    }
    seen
}

#[test]
fn gateway_follows_members_announced_in_zookeeper() {
    support::zookeeper::require_zookeeper().unwrap();
    let mut zk = ZooKeeper::start_or_panic("127.0.1.24");
    let t1 = server("t1", "127.0.1.25:0", "t1");
    let a = server("a", "127.0.1.26:0", "ra");
    let b = server("b", "127.0.1.27:0", "rb");
    let path = "/services/app";
    let props = format!(
        "worker.list=lb,jkstatus\nworker.jkstatus.type=status\nworker.lb.type=lb\n\
         worker.t1.host=127.0.1.25\nworker.t1.port={}\nworker.t1.route=t1\n\
         worker.lb.balance_workers=t1\n\
         worker.lb.discovery=zk://{}{path}\nworker.lb.discover_session_timeout=4\n\
         worker.lb.discover_hold=2\nworker.lb.probe_interval=100\nworker.lb.drain_idle=1\n",
        t1.port(),
        zk.hostport()
    );
    let h = Httpd::with_workers(
        "zk-follow",
        Mpm::Event,
        &props,
        "JkMount /app/* lb\nJkMount /jk/* jkstatus\n",
    );
    eventually(10, "the registry connected", &h, || {
        lb_status(&h)["registry"]["state"] == "connected"
    });
    let w = Session::connect(
        &zk.hostport(),
        Duration::from_secs(4),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    w.ensure_parents(&format!("{path}/a"), None).unwrap();
    let rec = |id: &str, s: &TestServer, route: &str| {
        jk_zk::record::build("app", id, "127.0.1.26", s.port(), route, 1, 0)
    };
    let mut rb = rec("b", &b, "rb");
    // (b listens on .27)
    rb = String::from_utf8(rb)
        .unwrap()
        .replace("127.0.1.26", "127.0.1.27")
        .into_bytes();
    w.create(&format!("{path}/a"), &rec("a", &a, "ra"), true, None)
        .unwrap();
    let listed = eventually(5, "a listed", &h, || member(&h, "a").is_some());
    eprintln!("member a in the status {listed:?} after its record was created");
    assert!(
        listed < Duration::from_secs(1),
        "within a second: {listed:?}"
    );
    let m = member(&h, "a").unwrap();
    assert_eq!(
        (m["origin"].as_str(), m["route"].as_str()),
        (Some("registry"), Some("ra")),
        "{m}"
    );
    eventually(5, "a active", &h, || {
        member(&h, "a").is_some_and(|m| m["lifecycle"] == "active")
    });
    w.create(&format!("{path}/b"), &rb, true, None).unwrap();
    eventually(5, "b active", &h, || {
        member(&h, "b").is_some_and(|m| m["lifecycle"] == "active")
    });
    let seen = spread(&h, 30);
    assert!(seen.contains_key("a") && seen.contains_key("b"), "{seen:?}");
    let reg = lb_status(&h)["registry"].clone();
    assert_eq!(reg["members"], 2, "{reg}");
    assert_eq!(reg["world_writable"], true, "{reg}");
    let jk = h.dir.read("logs/mod_jk.log");
    assert!(
        jk.contains("may be written by anyone"),
        "{}",
        tail(&jk, 2000)
    );
    assert!(
        reg["session_id"].as_str().unwrap().starts_with("0x"),
        "{reg}"
    );
    assert!(reg["last_event_ms"].as_u64().unwrap() > 0, "{reg}");
    let prom = h.get("/jk/?mime=prometheus").text();
    for line in [
        "mod_jk_lb_registry_state{balancer=\"lb\",state=\"connected\"} 1",
        "mod_jk_lb_registry_members{balancer=\"lb\"} 2",
        "mod_jk_lb_registry_world_writable{balancer=\"lb\"} 1",
    ] {
        assert!(prom.contains(line), "{line} missing:\n{prom}");
    }
    let page = h.get("/jk/").text();
    assert!(
        page.contains(&format!("Registry zk://{}{path}", zk.hostport())),
        "{page}"
    );

    // ZooKeeper down (kill -9) for a while: every member stays, nothing fails.
    zk.kill();
    eventually(10, "registry disconnected", &h, || {
        lb_status(&h)["registry"]["state"] != "connected"
    });
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        spread(&h, 5);
    }
    for n in ["a", "b"] {
        assert_eq!(member(&h, n).unwrap()["lifecycle"], "active", "{n} kept");
    }
    zk.restart().unwrap();
    eventually(20, "registry connected again", &h, || {
        lb_status(&h)["registry"]["state"] == "connected"
    });
    // The writer's session may have expired meanwhile (an announcer reconnects with a new
    // session and registers again): a new session puts the records back.
    drop(w);
    let w = Session::connect(
        &zk.hostport(),
        Duration::from_secs(4),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    for (id, data) in [("a", rec("a", &a, "ra")), ("b", rb.clone())] {
        w.create(&format!("{path}/{id}"), &data, true, None)
            .unwrap();
    }
    eventually(5, "a and b listed again", &h, || {
        lb_status(&h)["registry"]["members"] == 2
    });
    for n in ["a", "b"] {
        assert_eq!(member(&h, n).unwrap()["lifecycle"], "active", "{n} kept");
    }
    // b is deleted: it drains, then leaves; nothing reaches it afterwards.
    w.delete(&format!("{path}/b")).unwrap();
    eventually(5, "b draining or gone", &h, || {
        member(&h, "b").is_none_or(|m| m["lifecycle"] == "draining")
    });
    eventually(8, "b gone", &h, || member(&h, "b").is_none());
    let before = b.requests().len();
    assert!(!spread(&h, 20).contains_key("b"));
    assert_eq!(
        b.requests().len(),
        before,
        "nothing reaches a member that left"
    );
    // A graceful restart: the registry's member stays, a new child follows on.
    h.graceful();
    eventually(10, "registry followed after graceful", &h, || {
        lb_status(&h)["registry"]["state"] == "connected"
            && member(&h, "a").is_some_and(|m| m["lifecycle"] == "active")
    });
    assert!(spread(&h, 10).values().sum::<usize>() == 10);
    // The child following the registry exits (kill -9): another child takes the lease over
    // and follows on (ARCHITECTURE rule 13).
    let holder = lb_status(&h)["registry"]["holder_pid"].as_u64().unwrap() as i32;
    assert!(
        holder > 0 && Some(holder) != h.pid(),
        "a child, never the parent"
    );
    // SAFETY: a child of our own httpd.
    unsafe {
        libc::kill(holder, libc::SIGKILL);
    }
    let rd = jk_zk::record::build("app", "d", "127.0.1.26", a.port() + 1, "rd", 1, 0);
    w.create(&format!("{path}/d"), &rd, true, None).unwrap();
    let moved = eventually(10, "d listed after the lease moved", &h, || {
        member(&h, "d").is_some()
    });
    let now = lb_status(&h)["registry"]["holder_pid"].as_u64().unwrap() as i32;
    assert_ne!(now, holder, "the lease moved");
    eprintln!("lease moved from child {holder} to {now}; d listed {moved:?} after the kill");
    assert!(!h.error_log().contains("panicked"));
    drop(w);
}

/// `jkctl announce` next to a backend: registered once it answers CPing, deregistered when it
/// stops answering and registered again when it is back, deregistered on SIGTERM before jkctl
/// exits; the gateway follows each step.
#[test]
fn jkctl_announce_registers_while_cping_answers_and_deregisters_on_sigterm() {
    support::zookeeper::require_zookeeper().unwrap();
    let zk = ZooKeeper::start_or_panic("127.0.1.20");
    let t1 = server("t1", "127.0.1.28:0", "t1");
    let c = server("c", "127.0.1.29:0", "rc");
    let path = "/services/shop";
    let props = format!(
        "worker.list=lb,jkstatus\nworker.jkstatus.type=status\nworker.lb.type=lb\n\
         worker.t1.host=127.0.1.28\nworker.t1.port={}\nworker.t1.route=t1\n\
         worker.lb.balance_workers=t1\n\
         worker.lb.discovery=zk://{}{path}\nworker.lb.discover_session_timeout=4\n\
         worker.lb.probe_interval=100\nworker.lb.drain_idle=1\n",
        t1.port(),
        zk.hostport()
    );
    let h = Httpd::with_workers(
        "zk-announce",
        Mpm::Prefork,
        &props,
        "JkMount /app/* lb\nJkMount /jk/* jkstatus\n",
    );
    let log = h.dir.path().join("announce.log");
    let mut child = std::process::Command::new(support::testers::jkctl())
        .args([
            "announce",
            "--zk",
            &zk.hostport(),
            "--path",
            path,
            "--name",
            "c",
            "--ajp",
            &format!("127.0.1.29:{}", c.port()),
            "--route",
            "rc",
            "--interval",
            "0.2",
            "--drain",
            "5",
        ])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let announced = eventually(10, "c active through announce", &h, || {
        member(&h, "c").is_some_and(|m| m["lifecycle"] == "active" && m["route"] == "rc")
    });
    eprintln!("announced member active after {announced:?}");
    let seen = spread(&h, 20);
    assert!(seen.contains_key("c"), "{seen:?}");
    // The backend stops answering CPing: the node goes, the member drains and leaves.
    c.set_behaviour(Behaviour::Paused);
    eventually(10, "c gone after CPing failed", &h, || {
        member(&h, "c").is_none()
    });
    // Back: registered again.
    c.set_behaviour(Behaviour::Respond({
        let mut r = AjpResponse::text(200, "OK", "member=c\n");
        r.headers
            .push(("Set-Cookie".into(), "JSESSIONID=Sc.rc; Path=/app".into()));
        r
    }));
    eventually(10, "c back", &h, || {
        member(&h, "c").is_some_and(|m| m["lifecycle"] == "active")
    });
    // SIGTERM: deregistered first, then jkctl waits --drain and exits 0.
    // SAFETY: our own child's pid.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    eventually(5, "c draining or gone after SIGTERM", &h, || {
        member(&h, "c").is_none_or(|m| m["lifecycle"] == "draining")
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "jkctl announce did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status}: {out}");
    for line in [
        "/services/shop/c registered: 127.0.1.29",
        "deregistered: 127.0.1.29",
        "drained: disabled and idle on 1 gateway(s)",
        "deregistered (stopping)",
        "stopped",
    ] {
        assert!(out.contains(line), "{line:?} missing in:\n{out}");
    }
    // The desired record the drain wrote is gone again: a later start is not disabled.
    let s = Session::connect(
        &zk.hostport(),
        Duration::from_secs(4),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(s.get("/mod_jk/shop/desired/c").unwrap(), None);
    assert!(!h.error_log().contains("panicked"));
}

fn run_jkctl(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(support::testers::jkctl())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// One desired state for all gateways: `jkctl --zk ... disable app/a` reaches both gateways
/// (jkctl returns once both reported it applied), a gateway started later starts with it, and
/// `activate` undoes it everywhere.
#[test]
fn desired_state_written_once_reaches_every_gateway() {
    support::zookeeper::require_zookeeper().unwrap();
    let zk = ZooKeeper::start_or_panic("127.0.1.30");
    let t1 = server("t1", "127.0.1.31:0", "t1");
    let a = server("a", "127.0.1.32:0", "ra");
    let path = "/services/app";
    let props = format!(
        "worker.list=lb,jkstatus\nworker.jkstatus.type=status\nworker.lb.type=lb\n\
         worker.t1.host=127.0.1.31\nworker.t1.port={}\nworker.t1.route=t1\n\
         worker.lb.balance_workers=t1\n\
         worker.lb.discovery=zk://{}{path}\nworker.lb.probe_interval=100\n",
        t1.port(),
        zk.hostport()
    );
    let gw = |tag: &str| {
        Httpd::with_workers(
            tag,
            Mpm::Event,
            &props,
            "JkMount /app/* lb\nJkMount /jk/* jkstatus\n",
        )
    };
    let (g1, g2) = (gw("zk-gw1"), gw("zk-gw2"));
    let w = Session::connect(
        &zk.hostport(),
        Duration::from_secs(4),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    w.ensure_parents(&format!("{path}/a"), None).unwrap();
    let rec = jk_zk::record::build("app", "a", "127.0.1.32", a.port(), "ra", 1, 0);
    w.create(&format!("{path}/a"), &rec, true, None).unwrap();
    for g in [&g1, &g2] {
        eventually(5, "a active", g, || {
            member(g, "a").is_some_and(|m| m["lifecycle"] == "active")
        });
    }
    let zks = zk.hostport();
    let t0 = Instant::now();
    let (ok, out) = run_jkctl(&["--zk", &zks, "--zk-wait", "10", "disable", "app/a"]);
    let took = t0.elapsed();
    assert!(ok, "{out}");
    eprintln!("jkctl --zk disable: {took:?}\n{out}");
    assert!(out.contains("applied by 2 gateway(s)"), "{out}");
    for g in [&g1, &g2] {
        assert_eq!(
            member(g, "a").unwrap()["activation"],
            "DIS",
            "applied when jkctl returns"
        );
    }
    // A configured member is governed the same way.
    let (ok, out) = run_jkctl(&["--zk", &zks, "stop", "app/t1"]);
    assert!(ok && out.contains("applied by 2 gateway(s)"), "{out}");
    // A gateway started later starts with the desired state: its first answer has it.
    let t0 = Instant::now();
    let g3 = gw("zk-gw3");
    let a3 = member(&g3, "a").unwrap();
    let up = t0.elapsed();
    assert_eq!(a3["activation"], "DIS");
    assert_eq!(member(&g3, "t1").unwrap()["activation"], "STP");
    eprintln!("gateway 3's first answer came {up:?} after its start, with the desired state");
    for args in [["activate", "app/a"], ["activate", "app/t1"]] {
        let (ok, out) = run_jkctl(&["--zk", &zks, args[0], args[1]]);
        assert!(ok && out.contains("applied by 3 gateway(s)"), "{out}");
    }
    for g in [&g1, &g2, &g3] {
        assert_eq!(member(g, "a").unwrap()["activation"], "ACT");
        assert_eq!(member(g, "t1").unwrap()["activation"], "ACT");
        let seen = spread(g, 10);
        assert!(
            seen.contains_key("a") || seen.contains_key("t1"),
            "{seen:?}"
        );
    }
    // One member restarted across every gateway: restarting (held, idle) on all three, the
    // command (it sees the member's name), active and ready again on all three.
    let mark = g1.dir.path().join("restarted");
    let cmd = format!("echo {{member}} > {}", mark.display());
    let (ok, out) = run_jkctl(&["--zk", &zks, "restart", "app/a", "--cmd", &cmd]);
    assert!(ok, "{out}");
    for line in [
        "restart app/a: restarting on 3 gateway(s), idle on all",
        "restart app/a: command done",
        "restart app/a: ready on 3 gateway(s)",
        "restart app/a: done",
    ] {
        assert!(out.contains(line), "{line:?} in {out}");
    }
    assert_eq!(std::fs::read_to_string(&mark).unwrap().trim(), "a");
    for g in [&g1, &g2, &g3] {
        assert_eq!(member(g, "a").unwrap()["activation"], "ACT");
    }
    let (ok, out) = run_jkctl(&["--zk", &zks, "disable", "nosuchformat"]);
    assert!(!ok && out.contains("SERVICE/MEMBER"), "{out}");
    for g in [&g1, &g2, &g3] {
        assert!(!g.error_log().contains("panicked"));
    }
    drop(w);
}

/// A three-node ensemble losing its quorum (two of three servers killed): the follower says
/// so, keeps the last members, and follows again once the quorum is back.
#[test]
fn follower_keeps_members_while_the_ensemble_has_no_quorum() {
    support::zookeeper::require_zookeeper().unwrap();
    let mut ens =
        support::zookeeper::Ensemble::start(["127.0.1.50", "127.0.1.51", "127.0.1.52"]).unwrap();
    let path = "/services/q";
    let f = follower(&ens.connect(), path);
    until(&f, "connected", 20, |s| s.state == ConnState::Connected);
    let w = Session::connect(
        &ens.connect(),
        Duration::from_secs(4),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    w.ensure_parents(&format!("{path}/q1"), None).unwrap();
    let rec = jk_zk::record::build("q", "q1", "127.0.1.53", 8009, "q1", 1, 0);
    w.create(&format!("{path}/q1"), &rec, false, None).unwrap();
    until(&f, "q1 listed", 5, |s| routes(s) == ["q1"]);
    // Quorum lost.
    ens.nodes[1].kill();
    ens.nodes[2].kill();
    until(&f, "not connected", 20, |s| s.state != ConnState::Connected);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(routes(&f.snapshot()), ["q1"], "the last members are kept");
    // Quorum back: the follower reads again.
    let t0 = Instant::now();
    std::thread::scope(|s| {
        let (_, rest) = ens.nodes.split_at_mut(1);
        let (a, b) = rest.split_at_mut(1);
        let ha = s.spawn(|| a[0].restart());
        let hb = s.spawn(|| b[0].restart());
        ha.join().unwrap().unwrap();
        hb.join().unwrap().unwrap();
    });
    until(&f, "connected again", 30, |s| {
        s.state == ConnState::Connected
    });
    eprintln!(
        "quorum back and follower connected {:?} after the restarts began",
        t0.elapsed()
    );
    let w2 = Session::connect(
        &ens.connect(),
        Duration::from_secs(4),
        None,
        Duration::from_secs(10),
    )
    .unwrap();
    let rec = jk_zk::record::build("q", "q2", "127.0.1.54", 8009, "q2", 1, 0);
    w2.create(&format!("{path}/q2"), &rec, true, None).unwrap();
    until(&f, "q2 listed", 10, |s| routes(s) == ["q1", "q2"]);
}

/// Digest ACLs: what `jkctl announce --auth` (Session with credentials) creates is readable by
/// anyone (gateways without credentials follow it, and do not warn) and writable by its owner
/// only.
#[test]
fn digest_acls_protect_the_members_path() {
    support::zookeeper::require_zookeeper().unwrap();
    let zk = ZooKeeper::start_or_panic("127.0.1.55");
    let path = "/services/sec";
    let owner = Session::connect(
        &zk.hostport(),
        Duration::from_secs(4),
        Some("ops:s3cret"),
        Duration::from_secs(5),
    )
    .unwrap();
    owner
        .ensure_parents(&format!("{path}/a"), Some("ops:s3cret"))
        .unwrap();
    let rec = jk_zk::record::build("sec", "a", "127.0.1.56", 8009, "a", 1, 0);
    owner
        .create(&format!("{path}/a"), &rec, true, Some("ops:s3cret"))
        .unwrap();
    let f = follower(&zk.hostport(), path);
    until(&f, "a listed", 10, |s| routes(s) == ["a"]);
    until(&f, "ACL known", 5, |s| s.world_writable.is_some());
    assert_eq!(
        f.snapshot().world_writable,
        Some(false),
        "not world-writable"
    );
    let anyone = Session::connect(
        &zk.hostport(),
        Duration::from_secs(4),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    let evil = jk_zk::record::build("sec", "evil", "10.6.6.6", 8009, "a", 1, 0);
    let e = anyone
        .create(&format!("{path}/evil"), &evil, true, None)
        .unwrap_err();
    assert!(e.contains("cannot create"), "{e}");
    let other = Session::connect(
        &zk.hostport(),
        Duration::from_secs(4),
        Some("ops:wrong"),
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(other
        .create(&format!("{path}/evil"), &evil, true, None)
        .is_err());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(routes(&f.snapshot()), ["a"], "nobody else got in");
}

/// ZooKeeper unreachable when the gateway starts: it serves with workers.properties after at
/// most the start-up wait (logged once), shows the registry as not connected, and follows the
/// registry once it is there.
#[test]
fn gateway_starts_and_serves_when_zookeeper_is_unreachable() {
    support::zookeeper::require_zookeeper().unwrap();
    let t1 = server("t1", "127.0.1.58:0", "t1");
    let port = free_port_on("127.0.1.57").unwrap();
    let props = format!(
        "worker.list=lb,jkstatus\nworker.jkstatus.type=status\nworker.lb.type=lb\n\
         worker.t1.host=127.0.1.58\nworker.t1.port={}\nworker.t1.route=t1\n\
         worker.lb.balance_workers=t1\n\
         worker.lb.discovery=zk://127.0.1.57:{port}/services/late\n",
        t1.port()
    );
    let t0 = Instant::now();
    let h = Httpd::with_workers(
        "zk-unreachable",
        Mpm::Prefork,
        &props,
        "JkMount /app/* lb\nJkMount /jk/* jkstatus\n",
    );
    let r = h.get("/app/x");
    let first = t0.elapsed();
    assert_eq!(r.status, 200, "{}", r.text());
    eprintln!("first answer {first:?} after the start with ZooKeeper unreachable");
    assert!(first < Duration::from_secs(6), "{first:?}");
    assert_ne!(lb_status(&h)["registry"]["state"], "connected");
    let jk = h.dir.read("logs/mod_jk.log");
    assert!(jk.contains("was not read within"), "{}", tail(&jk, 2000));
    // More requests (prefork children) do not wait again.
    let t1s = Instant::now();
    spread(&h, 10);
    assert!(
        t1s.elapsed() < Duration::from_secs(2),
        "{:?}",
        t1s.elapsed()
    );
    // ZooKeeper comes: followed.
    let zk = ZooKeeper::start_on("127.0.1.57", port).unwrap();
    eventually(20, "registry connected", &h, || {
        lb_status(&h)["registry"]["state"] == "connected"
    });
    let w = Session::connect(
        &zk.hostport(),
        Duration::from_secs(4),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    let a = server("a", "127.0.1.59:0", "ra");
    w.ensure_parents("/services/late/a", None).unwrap();
    let rec = jk_zk::record::build("late", "a", "127.0.1.59", a.port(), "ra", 1, 0);
    w.create("/services/late/a", &rec, true, None).unwrap();
    eventually(5, "a listed", &h, || member(&h, "a").is_some());
    assert!(!h.error_log().contains("panicked"));
}
