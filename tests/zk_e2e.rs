#![allow(clippy::unwrap_used)]
//! Acceptance of ZooKeeper discovery and the shared desired state (issue 13 item 8) with real
//! Tomcat 10 and a real ZooKeeper: two gateways (an event and a prefork apache2, separate
//! shared memory, free ports on 127.0.0.1), Tomcats and ZooKeeper on 127.0.1.40-43, 20 testers
//! split over both gateways, clicking every 50 ms:
//! (a) a third Tomcat announced with `jkctl announce` takes new sessions on both gateways soon
//!     after passing readiness;
//! (b) `jkctl --zk ... roll` restarts every Tomcat once across both gateways: 0 failed, 0
//!     re-logins;
//! (c) ZooKeeper `kill -9` for 10 s in the middle of traffic, then restarted: 0 failed, no
//!     member lost;
//! (e) a third gateway started later applies the desired state (printed: how long after its
//!     start);
//! (d) `kill -9` of an announced Tomcat and its announcer: its node disappears after the
//!     session timeout; the gateways had already failed over (0 failed).

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::testers::*;
use support::tomcat::{field, Sessions, Tomcat, TomcatOptions};
use support::zookeeper::ZooKeeper;
use support::*;

const SERVICE: &str = "shop";

fn lb(h: &Httpd) -> serde_json::Value {
    jk_lb(h, "lb")
}

fn member(h: &Httpd, name: &str) -> Option<serde_json::Value> {
    jk_member(h, "lb", name)
}

fn tomcat(dir: &Path, addr: &str, route: &str) -> Tomcat {
    let t = Tomcat::start_or_panic(
        TomcatOptions::new(addr, 8009)
            .jvm_route(route)
            .sessions(Sessions::File)
            .base(&dir.join(route)),
    );
    t.warm_up();
    t
}

/// hold_timeout 8 s: longer than a Tomcat restart here (about 2 s), shorter than the testers'
/// 30 s patience, so requests held for a Tomcat that crashed (d) fail over before they fail.
fn props(zk: &str) -> String {
    format!(
        "worker.list=lb,jkstatus\nworker.jkstatus.type=status\nworker.lb.type=lb\n\
         worker.lb.balance_workers=tomcat1,tomcat2\n\
         worker.tomcat1.host=127.0.1.41\nworker.tomcat1.port=8009\nworker.tomcat1.route=tomcat1\n\
         worker.tomcat2.host=127.0.1.42\nworker.tomcat2.port=8009\nworker.tomcat2.route=tomcat2\n\
         worker.lb.hold_timeout=8000\nworker.lb.probe_interval=200\nworker.lb.drain_idle=3\n\
         worker.lb.discovery=zk://{zk}/services/{SERVICE}\n\
         worker.lb.discover_session_timeout=4\nworker.lb.discover_hold=3\n"
    )
}

fn gateway(tag: &str, mpm: Mpm, zk: &str) -> Httpd {
    let dir = TestDir::new(tag);
    let body = jk_body(
        &dir,
        &props(zk),
        "JkMount /app/* lb\nJkMount /jk/* jkstatus\n",
    );
    // Debian's stock sizing for the MPM (the harness's small one would queue the testers).
    let sizing = match mpm {
        Mpm::Event => "ThreadLimit 64\nThreadsPerChild 25\nMaxRequestWorkers 50\n",
        Mpm::Prefork => {
            "StartServers 5\nMaxRequestWorkers 40\nServerLimit 40\nMaxSpareServers 40\n"
        }
    };
    Httpd::try_start_on(
        dir,
        mpm,
        &format!("{sizing}{body}"),
        &module_so(),
        free_port(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn jkctl_zk(zk: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(jkctl())
        .args(["--zk", zk])
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "jkctl --zk {args:?}:\n{text}");
    text
}

fn announcer(zk: &str, dir: &Path) -> std::process::Child {
    std::process::Command::new(jkctl())
        .args([
            "announce",
            "--zk",
            zk,
            "--path",
            &format!("/services/{SERVICE}"),
            "--name",
            "tc3",
            "--ajp",
            "127.0.1.43:8009",
            "--route",
            "tc3",
            "--interval",
            "0.2",
            // A planned restart (the roll) takes longer than a few failed CPings: keep the
            // node through it; a crash (d) takes the announcer down too.
            "--failures",
            "100",
            "--session-timeout",
            "4",
            "--drain",
            "1",
        ])
        .stdout(std::fs::File::create(dir.join("announce.log")).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// New logins on gateway `h` until one lands on `node` (at most `n`); how many it took.
fn logins_until(h: &Httpd, node: &str, n: usize) -> Option<usize> {
    (1..=n).find(|i| {
        let r = h.get(&format!("/app/session.jsp?login=late{i}"));
        assert_eq!(r.status, 200, "{}", r.text());
        field(&r.text(), "node").as_deref() == Some(node)
    })
}

#[test]
fn zookeeper_gateways_follow_announced_tomcats_and_one_desired_state() {
    if let Err(e) = support::tomcat::require_tomcat() {
        panic!("{e}");
    }
    support::zookeeper::require_zookeeper().unwrap();
    let mut zk = ZooKeeper::start_or_panic("127.0.1.40");
    let zks = zk.hostport();
    let dir = TestDir::new("zk-e2e-tomcats");
    let (t1, t2) = std::thread::scope(|s| {
        let a = s.spawn(|| tomcat(dir.path(), "127.0.1.41", "tomcat1"));
        let b = s.spawn(|| tomcat(dir.path(), "127.0.1.42", "tomcat2"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let g1 = gateway("zk-e2e-gw1", Mpm::Event, &zks);
    let g2 = gateway("zk-e2e-gw2", Mpm::Prefork, &zks);
    for g in [&g1, &g2] {
        eventually(10, "registry connected", g, || {
            lb(g)["registry"]["state"] == "connected"
        });
    }
    let stop = Arc::new(AtomicBool::new(false));
    let testers = testers_on(vec![g1.port, g2.port], stop.clone());
    std::thread::sleep(Duration::from_secs(2));

    // (a) A third Tomcat, announced.
    let t3 = tomcat(dir.path(), "127.0.1.43", "tc3");
    let mut ann = announcer(&zks, dir.path());
    let mut ready = Vec::new();
    for g in [&g1, &g2] {
        ready.push(eventually(30, "tc3 active", g, || {
            member(g, "tc3").is_some_and(|m| m["lifecycle"] == "active" && m["state"] != "ERR")
        }));
    }
    for (g, name) in [(&g1, "gateway 1 (event)"), (&g2, "gateway 2 (prefork)")] {
        let t0 = Instant::now();
        let n = logins_until(g, "tc3", 30);
        println!(
            "(a) {name}: tc3 active {:?} after jkctl announce started; a new login landed on it \
             after {n:?} logins, {:?} after it was active",
            ready[0],
            t0.elapsed()
        );
        assert!(n.is_some(), "{name}: no new session on tc3");
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "{name}: {:?}",
            t0.elapsed()
        );
    }

    // (b) A roll through ZooKeeper: every Tomcat restarted once, across both gateways.
    let cmd = format!(
        "{} restart {}/{{member}}",
        support::tomcat::script().display(),
        dir.path().display()
    );
    let t0 = Instant::now();
    let out = jkctl_zk(
        &zks,
        &[
            "roll",
            "-b",
            SERVICE,
            "--cmd",
            &cmd,
            "--ready-timeout",
            "120",
            "--drain-timeout",
            "60",
        ],
    );
    println!("(b) jkctl --zk roll took {:?}:\n{out}", t0.elapsed());
    for m in ["tc3", "tomcat1", "tomcat2"] {
        assert!(
            out.contains(&format!("roll {SERVICE}/{m}: ready on 2 gateway(s)")),
            "{out}"
        );
    }

    // (c) ZooKeeper killed for 10 s in the middle of traffic.
    zk.kill();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        for g in [&g1, &g2] {
            let n = lb(g)["members"].as_array().unwrap().len();
            assert_eq!(n, 3, "no member lost while ZooKeeper is down: {}", lb(g));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    zk.restart().unwrap();
    for g in [&g1, &g2] {
        let back = eventually(30, "registry connected again", g, || {
            lb(g)["registry"]["state"] == "connected"
        });
        println!("(c) registry connected again {back:?} after ZooKeeper's restart");
    }
    std::thread::sleep(Duration::from_secs(2));
    for g in [&g1, &g2] {
        for m in ["tomcat1", "tomcat2", "tc3"] {
            let v = member(g, m).unwrap_or_else(|| panic!("{m} lost: {}", lb(g)));
            assert_eq!(v["lifecycle"], "active", "{m}: {v}");
        }
    }

    // (e) A third gateway started later, with a desired state set before it started.
    jkctl_zk(&zks, &["disable", &format!("{SERVICE}/tomcat2")]);
    let started = Instant::now();
    let g3 = gateway("zk-e2e-gw3", Mpm::Event, &zks);
    // Its very first answer already has the desired state and the registry's members.
    let first = lb(&g3);
    let up = started.elapsed();
    println!(
        "(e) gateway 3's first answer came {up:?} after its start, with the desired state \
         (tomcat2 {}) and the registry's tc3 ({})",
        member(&g3, "tomcat2").unwrap()["activation"],
        member(&g3, "tc3").map_or("missing".into(), |m| m["lifecycle"].to_string())
    );
    assert_eq!(
        member(&g3, "tomcat2").unwrap()["activation"],
        "DIS",
        "{first}"
    );
    assert!(member(&g3, "tc3").is_some(), "{first}");
    let out = jkctl_zk(&zks, &["activate", &format!("{SERVICE}/tomcat2")]);
    assert!(out.contains("applied by 3 gateway(s)"), "{out}");
    drop(g3);

    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let f = testers.join().unwrap();
    report("(a)-(c), (e) with 20 testers over 2 gateways", &f);
    for x in f.failures.iter().take(5) {
        println!("  failed: {}", x.what);
    }
    assert_eq!(f.failed, 0, "failed requests");
    assert_eq!(f.relogins, 0, "re-logins: {:?}", f.relogin_log);

    // (d) kill -9 of an announced Tomcat (with its announcer: the container died).
    let stop = Arc::new(AtomicBool::new(false));
    let testers = testers_on(vec![g1.port, g2.port], stop.clone());
    std::thread::sleep(Duration::from_secs(2));
    let _ = ann.kill();
    let _ = ann.wait();
    t3.kill();
    let t0 = Instant::now();
    for g in [&g1, &g2] {
        eventually(20, "tc3 draining or gone", g, || {
            member(g, "tc3").is_none_or(|m| m["lifecycle"] == "draining")
        });
    }
    let gone = t0.elapsed();
    println!("(d) tc3's node gone (member draining) {gone:?} after kill -9 (session timeout 4 s)");
    assert!(
        gone >= Duration::from_secs(2),
        "an ephemeral node outlives its session a while"
    );
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let f = testers.join().unwrap();
    report("(d) with 20 testers over 2 gateways", &f);
    println!("(d) re-logins by node: {:?}", f.relogins_by_node);
    assert_eq!(f.failed, 0, "failed requests: {:?}", f.failures.first());
    assert!(
        f.relogins_by_node.keys().all(|n| n == "tc3"),
        "only tc3's sessions were lost: {:?}",
        f.relogins_by_node
    );
    for g in [&g1, &g2] {
        assert!(!g.error_log().contains("panicked"));
    }
    drop((t1, t2));
}
