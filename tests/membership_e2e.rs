#![allow(clippy::unwrap_used)]
//! Acceptance of runtime membership (issue 12) with real Tomcat 10 and 20 simulated testers
//! (each logs in once, then clicks every 50 ms and checks the page still knows who it is),
//! httpd with the seed's configuration plus the new properties, under the prefork and the
//! event MPM:
//!
//! (a) a third Tomcat found by DNS discovery (a name in /etc/hosts, changed during the test)
//!     gets new sessions after readiness, then is scaled away again;
//! (b) `jkctl add` then `jkctl remove` of a member under load;
//! (c) the name stops resolving: no member removed;
//! (d) the discovered member's route is learned from its sessions, which stick to it;
//! (e) (event) handover: a replacement Tomcat of each route on a new address, sharing the
//!     route's session store (PersistentManager + FileStore), takes the route over when the
//!     old one stops (`jkctl handover`), route after route.
//!
//! Every phase: 0 failed requests, 0 re-logins.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::testers::*;
use support::tomcat::{field, Sessions, Tomcat, TomcatOptions};
use support::*;

const NAME: &str = "jkrs-app-e2e.test";

fn tomcat(dir: &Path, addr: &str, route: &str, sessions: Sessions, base: &str) -> Tomcat {
    Tomcat::start_or_panic(
        TomcatOptions::new(addr, 8009)
            .jvm_route(route)
            .sessions(sessions)
            .base(&dir.join(base)),
    )
}

const PROPS: &str = "worker.loadbalancer.hold_timeout=30000\n\
                     worker.loadbalancer.probe_interval=200\n\
                     worker.loadbalancer.discover_dns=jkrs-app-e2e.test:8009\n\
                     worker.loadbalancer.discover_interval=1\n\
                     worker.loadbalancer.discover_hold=3\n\
                     worker.loadbalancer.drain_idle=3\n";

fn gateway(tag: &str, mpm: Mpm) -> Httpd {
    gateway_with(tag, mpm, "")
}

fn gateway_with(tag: &str, mpm: Mpm, extra: &str) -> Httpd {
    let dir = TestDir::new(tag);
    let wp = dir.write(
        "workers.properties",
        &(seed_workers_on_loopback() + PROPS + extra),
    );
    // Debian's stock sizing for the MPM (the harness's small one would queue 20 testers).
    let sizing = match mpm {
        Mpm::Event => "ThreadLimit 64\nThreadsPerChild 25\nMaxRequestWorkers 50\n",
        Mpm::Prefork => {
            "StartServers 5\nMaxRequestWorkers 40\nServerLimit 40\nMaxSpareServers 40\n"
        }
    };
    let body = format!("{sizing}{}", seed_httpd_body(&wp));
    Httpd::try_start_on(dir, mpm, &body, &module_so(), 80)
        .unwrap_or_else(|e| panic!("httpd on 127.0.0.1:80: {e}"))
}

fn members() -> Vec<serde_json::Value> {
    let r = try_get(80, "/jkmanager/?mime=json", &[]).unwrap();
    let s: serde_json::Value = serde_json::from_str(&r.text()).unwrap();
    s["balancers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "loadbalancer")
        .unwrap()["members"]
        .as_array()
        .unwrap()
        .clone()
}

fn member(name: &str) -> Option<serde_json::Value> {
    members().into_iter().find(|m| m["name"] == name)
}

fn eventually(secs: u64, what: &str, h: &Httpd, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what} not within {secs} s\nmembers: {:?}\nmod_jk.log:\n{}",
            members(),
            tail(&h.dir.read("logs/mod_jk.log"), 4000)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn jkctl_ok(args: &[&str]) -> String {
    let out = Command::new(jkctl())
        .args(["--url", "http://127.0.0.1:80/jkmanager/"])
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

/// Testers who log in now (`late<n>`, so their sessions can land on a new member), click
/// until `stop`, and report: requests, failures, re-logins and the node each logged in on.
fn late_testers(
    n: usize,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(usize, Vec<String>, Vec<String>)> {
    std::thread::spawn(move || {
        let hs: Vec<_> = (0..n)
            .map(|k| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let me = format!("late{k}");
                    let (mut requests, mut problems) = (0, Vec::new());
                    let r = try_get(80, &format!("/app/session.jsp?login={me}"), &[]).unwrap();
                    requests += 1;
                    let cookie = session_cookie(&r).unwrap();
                    let node = field(&r.text(), "node").unwrap_or_default();
                    println!("{me} logged in on {node}");
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(50));
                        requests += 1;
                        match try_get(80, "/app/session.jsp", &[("Cookie", cookie.as_str())]) {
                            Ok(r) if r.status == 200 => {
                                if field(&r.text(), "user").as_deref() != Some(me.as_str()) {
                                    problems.push(format!("{me} re-login (was on {node})"));
                                }
                            }
                            Ok(r) => problems.push(format!("{me}: {}", r.status_line)),
                            Err(e) => problems.push(format!("{me}: {e}")),
                        }
                    }
                    (requests, node, problems)
                })
            })
            .collect();
        let mut out = (0, Vec::new(), Vec::new());
        for h in hs {
            let (r, node, p) = h.join().unwrap();
            out.0 += r;
            out.1.push(node);
            out.2.extend(p);
        }
        out
    })
}

/// Phases (a)–(d) under `mpm` with tomcat1 and tomcat2 configured and `t3` (route tomcat3 at
/// 127.0.0.4) to be discovered. `t3` is stopped at the end of (a) (scaled away).
fn discovery_phases(tag: &str, mpm: Mpm, hosts: &EtcHosts, t3: &mut Tomcat) -> Figures {
    hosts.set(&["127.0.0.2", "127.0.0.3"]);
    let h = gateway(tag, mpm);
    let d3 = "127.0.0.4:8009";
    let f = with_testers(|| {
        // (b) jkctl add, then remove, under load (tomcat3 by hand, before DNS lists it).
        let added = jkctl_ok(&["add", "loadbalancer", "127.0.0.4:8009", "--name", "extra"]);
        assert_eq!(added, "extra");
        eventually(10, "extra active", &h, || {
            member("extra").is_some_and(|m| m["lifecycle"] == "active" && m["origin"] == "runtime")
        });
        jkctl_ok(&["remove", "loadbalancer", "extra"]);
        eventually(15, "extra gone", &h, || member("extra").is_none());
        // (a) a third Tomcat appears in the name: it joins after readiness.
        hosts.set(&["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
        eventually(10, "tomcat3 discovered and active", &h, || {
            member(d3).is_some_and(|m| m["lifecycle"] == "active" && m["origin"] == "dns")
        });
        // New testers log in: some land on it, and (d) its route is learned from their
        // sessions, which stick to it.
        let stop_late = Arc::new(AtomicBool::new(false));
        let late = late_testers(10, stop_late.clone());
        eventually(10, "route tomcat3 learned", &h, || {
            member(d3).is_some_and(|m| m["route"] == "tomcat3")
        });
        // (c) the name stops resolving: nothing is removed.
        hosts.set(&[]);
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(
            member(d3).unwrap()["lifecycle"],
            "active",
            "kept while unresolvable"
        );
        assert_eq!(members().len(), 3);
        hosts.set(&["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
        // (a) scaled away: it drains; its testers keep working until they stop, then it
        // leaves, and only then its Tomcat stops.
        hosts.set(&["127.0.0.2", "127.0.0.3"]);
        eventually(5, "tomcat3 draining", &h, || {
            member(d3).is_some_and(|m| m["lifecycle"] == "draining")
        });
        std::thread::sleep(Duration::from_secs(2));
        stop_late.store(true, Ordering::Relaxed);
        let (requests, nodes, problems) = late.join().unwrap();
        println!("{tag}: late testers {requests} requests, nodes {nodes:?}, problems {problems:?}");
        assert!(problems.is_empty(), "{problems:?}");
        assert!(
            nodes.iter().any(|n| n == "tomcat3"),
            "a new session on the discovered Tomcat: {nodes:?}"
        );
        eventually(15, "tomcat3 gone", &h, || member(d3).is_none());
        t3.stop();
    });
    assert!(!h.error_log().contains("panicked"), "{}", h.error_log());
    f
}

#[test]
fn members_come_and_go_and_routes_are_handed_over_without_a_tester_noticing() {
    let dir = TestDir::new("member-e2e-tomcats");
    let store1 = dir.path().join("store-tomcat1");
    let store2 = dir.path().join("store-tomcat2");
    let hosts = EtcHosts::new(NAME);
    let (mut t1, mut t2, mut t3) = std::thread::scope(|s| {
        let a = s.spawn(|| {
            tomcat(
                dir.path(),
                "127.0.0.2",
                "tomcat1",
                Sessions::SharedStore(store1.clone()),
                "t1",
            )
        });
        let b = s.spawn(|| {
            tomcat(
                dir.path(),
                "127.0.0.3",
                "tomcat2",
                Sessions::SharedStore(store2.clone()),
                "t2",
            )
        });
        let c = s.spawn(|| tomcat(dir.path(), "127.0.0.4", "tomcat3", Sessions::File, "t3"));
        (a.join().unwrap(), b.join().unwrap(), c.join().unwrap())
    });
    for t in [&t1, &t2, &t3] {
        t.warm_up();
    }

    let f = discovery_phases("member-e2e-prefork", Mpm::Prefork, &hosts, &mut t3);
    report("prefork (a)-(d)", &f);
    assert_eq!(
        (f.failed, f.relogins),
        (0, 0),
        "{:?} {:?}",
        f.failures,
        f.relogin_log
    );

    t3.restart().unwrap();
    let f = discovery_phases("member-e2e-event", Mpm::Event, &hosts, &mut t3);
    report("event (a)-(d)", &f);
    assert_eq!(
        (f.failed, f.relogins),
        (0, 0),
        "{:?} {:?}",
        f.failures,
        f.relogin_log
    );

    // (e) handover, route after route, with the event MPM: tomcat1's replacement found by
    // DNS (swarm's start-first update: the replacement task appears before the old one
    // stops; it learns its route from its health page, a session-creating page here, and
    // waits as standby), tomcat2's by `jkctl handover`.
    hosts.set(&["127.0.0.2", "127.0.0.3"]);
    let h = gateway_with(
        "member-e2e-handover",
        Mpm::Event,
        "worker.tomcat1.health_url=/app/session.jsp\n",
    );
    let mut stops = Vec::new();
    let mut replacements = Vec::new();
    let f = with_testers(|| {
        for (old, route, addr, store, base, by_dns) in [
            (&mut t1, "tomcat1", "127.0.0.5", &store1, "t1b", true),
            (&mut t2, "tomcat2", "127.0.0.6", &store2, "t2b", false),
        ] {
            // Start-first: the replacement runs before the old one stops.
            let next = tomcat(
                dir.path(),
                addr,
                route,
                Sessions::SharedStore(store.clone()),
                base,
            );
            next.warm_up();
            let name = if by_dns {
                hosts.set(&["127.0.0.2", "127.0.0.3", addr]);
                format!("{addr}:8009")
            } else {
                let name = format!("{route}-next");
                jkctl_ok(&[
                    "handover",
                    "loadbalancer",
                    route,
                    "--to",
                    &format!("{addr}:8009"),
                    "--name",
                    &name,
                ]);
                name
            };
            eventually(15, "standby ready", &h, || {
                member(&name).is_some_and(|m| {
                    m["lifecycle"] == "standby" && m["awaiting_readiness"] == false
                })
            });
            let t0 = unix_ms();
            old.stop();
            let t1 = unix_ms();
            stops.push((route.to_string(), t0, t1));
            eventually(10, "route handed over", &h, || {
                member(&name).is_some_and(|m| m["route"] == route && m["lifecycle"] == "active")
            });
            if by_dns {
                // The old task leaves the name too (it stopped).
                hosts.set(&["127.0.0.3", addr]);
            }
            std::thread::sleep(Duration::from_secs(2));
            replacements.push(next);
        }
    });
    report("event (e) handover", &f);
    for (route, t0, t1) in &stops {
        let own = t1 - t0;
        let stall = f
            .slow
            .iter()
            .filter(|(s, _)| *s >= t0.saturating_sub(100) && *s <= *t1)
            .map(|(_, d)| d.as_millis())
            .max()
            .unwrap_or(0);
        println!(
            "(e) {route}: the old Tomcat's stop took {own} ms; longest stall of a request sent \
             meanwhile {stall} ms"
        );
        // Held while it stops, released when its port closes: about its own stop time
        // (plus the held request's probe interval and scheduling), never a stop plus a start.
        assert!(
            stall <= own + 1000,
            "{route}: stall {stall} ms, stop {own} ms"
        );
    }
    assert_eq!(
        (f.failed, f.relogins),
        (0, 0),
        "{:?} {:?}",
        f.failures,
        f.relogin_log
    );
    let log = h.dir.read("logs/mod_jk.log");
    assert!(
        log.contains("member '127.0.0.5:8009' learned its route 'tomcat1' from its health page")
            && log.contains("waits as its standby"),
        "{}",
        tail(&log, 3000)
    );
    drop(hosts);
}
