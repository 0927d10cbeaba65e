#![allow(clippy::unwrap_used)]
//! Stopping and restarting httpd with our module, as `apachectl` and a container runtime do:
//! a plain restart (SIGHUP), a graceful restart (SIGUSR1), a graceful stop (SIGWINCH, the
//! official httpd image's STOPSIGNAL) and a stop (SIGTERM). Each must end every child of the
//! old generation by itself: httpd never has to escalate (its "still did not exit" /
//! "could not make child process exit" lines), every old child is gone, and the parent exits
//! on a stop. Children run the module's background threads (watchdog, readiness prober, DNS
//! discovery) and hold pooled backend connections, the things that could hold an exit up.
//! How long each takes, ours against Debian's mod_jk, is measured by `make bench` (bench.py
//! "Stop and restart"), never asserted here.

mod support;

use std::time::Duration;
use support::*;

/// The httpd children of parent `pid` that have not exited (from /proc).
fn live_children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Some((state, ppid)) = stat_of(p) {
            if ppid == pid && state != "Z" && state != "X" {
                out.push(p);
            }
        }
    }
    out
}

/// (state, ppid) of process `pid`.
fn stat_of(pid: i32) -> Option<(String, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut f = stat.rsplit_once(')')?.1.split_whitespace();
    let state = f.next()?.to_string();
    Some((state, f.next()?.parse().ok()?))
}

/// Process `pid` has exited (gone, or a zombie its parent has not reaped yet).
fn exited(pid: i32) -> bool {
    stat_of(pid).is_none_or(|(state, _)| state == "Z" || state == "X")
}

/// The names of the threads of process `pid`.
fn thread_names(pid: i32) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect()
}

/// The lines in which httpd says it had to force children out (mpm_common's reclaim loop).
fn escalations(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("did not exit") || l.contains("could not make child"))
        .collect()
}

/// The seed's balancer over two member servers on 127.0.2.1, a second balancer with DNS
/// discovery (`localhost`, its configured member's address), a watchdog every second: every
/// background thread runs.
fn start(tag: &str, mpm: Mpm) -> (Httpd, Vec<jk_ajp_testserver::TestServer>) {
    let a = member_server("tomcat1", "127.0.2.1:0");
    let b = member_server("tomcat2", "127.0.2.1:0");
    let d = member_server("found", "127.0.0.1:0");
    let (pa, pb) = (
        format!("worker.tomcat1.port={}", a.port()),
        format!("worker.tomcat2.port={}", b.port()),
    );
    let workers = seed_workers_with(&[
        ("worker.tomcat1.host=app", "worker.tomcat1.host=127.0.2.1"),
        ("worker.tomcat2.host=app2", "worker.tomcat2.host=127.0.2.1"),
        ("worker.tomcat1.port=8009", &pa),
        ("worker.tomcat2.port=8009", &pb),
    ]) + &format!(
        "worker.list=disc\nworker.disc.type=lb\nworker.disc.balance_workers=found\n\
         worker.found.host=127.0.0.1\nworker.found.port={p}\n\
         worker.disc.discover_dns=localhost:{p}\n",
        p = d.port()
    );
    let dir = TestDir::new(tag);
    let wp = dir.write("workers.properties", &workers);
    let body = format!(
        "JkWorkersFile {}\nJkLogFile logs/mod_jk.log\nJkShmFile logs/jk-runtime-status\n\
         JkWatchdogInterval 1\nJkMount /app/* loadbalancer\nJkMount /found/* disc\n",
        wp.display()
    );
    let h = Httpd::try_start(dir, mpm, &body).unwrap_or_else(|e| panic!("{e}"));
    (h, vec![a, b, d])
}

/// Requests through both balancers, so that children hold pooled backend connections.
fn traffic(h: &Httpd) {
    for i in 0..8 {
        let r = h.get(&format!("/app/r{i}"));
        assert_eq!(r.status, 200, "{r:?}\n{}", h.error_log());
    }
    wait_for("the discovered member to serve", 15, || {
        h.get("/found/x").status == 200
    });
}

/// Sends `sig` to the parent and waits until every child of the generation before it exited
/// and the new generation serves.
fn restart(h: &Httpd, sig: libc::c_int, what: &str) {
    let parent = h.pid().unwrap();
    let old = live_children_of(parent);
    assert!(!old.is_empty(), "{what}: no children");
    // SAFETY: signalling the httpd parent this test started (pid from its own file).
    unsafe { libc::kill(parent, sig) };
    wait_for(&format!("{what}: every old child to exit"), 30, || {
        old.iter().all(|&p| exited(p))
    });
    wait_for(&format!("{what}: the new generation to serve"), 30, || {
        let kids = live_children_of(parent);
        !kids.is_empty()
            && kids.iter().all(|k| !old.contains(k))
            && http_request(h.port, "GET", "/app/after", &[]).status == 200
    });
    traffic(h);
}

/// Sends `sig` (a stop) and waits until the parent and every child exited.
fn stop(h: &Httpd, sig: libc::c_int, what: &str) {
    let parent = h.pid().unwrap();
    let kids = live_children_of(parent);
    assert!(!kids.is_empty(), "{what}: no children");
    // SAFETY: as above.
    unsafe { libc::kill(parent, sig) };
    wait_for(&format!("{what}: httpd to exit"), 30, || {
        exited(parent) && kids.iter().all(|&p| exited(p))
    });
}

fn restarts_and_stop_end_every_child(mpm: Mpm, last: libc::c_int) {
    let (mut h, _servers) = start("lifecycle", mpm);
    traffic(&h);
    // The threads that could hold an exit up are there (named by the module).
    let names: Vec<String> = live_children_of(h.pid().unwrap())
        .into_iter()
        .flat_map(thread_names)
        .collect();
    for t in ["jk-watchdog", "jk-readiness", "jk-discovery"] {
        assert!(names.iter().any(|n| n == t), "no {t} thread in {names:?}");
    }
    restart(&h, libc::SIGHUP, "restart (SIGHUP)");
    restart(&h, libc::SIGUSR1, "graceful restart (SIGUSR1)");
    restart(&h, libc::SIGHUP, "restart after a graceful one (SIGHUP)");
    stop(&h, last, "stop");
    let log = h.error_log();
    assert!(
        escalations(&log).is_empty(),
        "httpd forced children out:\n{log}"
    );
    assert!(!log.contains("panic"), "{log}");
    assert_eq!(
        log.matches("resuming normal operations").count(),
        4,
        "one start and three restarts:\n{log}"
    );
    // Nothing left to stop.
    h.stop();
    std::thread::sleep(Duration::from_millis(10));
}

fn stop_by_sigterm(mpm: Mpm) {
    restarts_and_stop_end_every_child(mpm, libc::SIGTERM);
}

fn graceful_stop_by_sigwinch(mpm: Mpm) {
    restarts_and_stop_end_every_child(mpm, libc::SIGWINCH);
}

test_each_mpm!(restarts_then_stop: stop_by_sigterm);
test_each_mpm!(restarts_then_graceful_stop: graceful_stop_by_sigwinch);
