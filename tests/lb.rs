#![allow(clippy::unwrap_used)]
//! The load balancer in the real httpd, in front of recording AJP servers: distribution by
//! lbfactor, stickiness across httpd children, activation, failover without failed requests,
//! and the status mod_jk answers when every member fails.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use jk_ajp_testserver::{Behaviour, TestServer};
use support::*;

struct Cluster {
    servers: Vec<TestServer>,
    h: Httpd,
}

/// httpd with lb `lb` over one test server per (name, extra properties) member.
fn cluster(
    tag: &str,
    mpm: Mpm,
    members: &[(&str, &str)],
    lb_extra: &str,
    directives: &str,
) -> Cluster {
    let mut props = String::from("worker.list=lb\nworker.lb.type=lb\n");
    let mut servers = Vec::new();
    for (name, extra) in members {
        let s = member_server(name, "127.0.0.1:0");
        props.push_str(&format!(
            "worker.{name}.type=ajp13\nworker.{name}.host=127.0.0.1\nworker.{name}.port={}\n{extra}\n",
            s.port()
        ));
        props.push_str(&format!("worker.lb.balance_workers={name}\n"));
        servers.push(s);
    }
    props.push_str(lb_extra);
    let h = Httpd::with_workers(
        tag,
        mpm,
        &props,
        &format!(
            "JkMount /app/* lb\nJkMount /app lb\n\
             LogFormat \"%U %{{JK_WORKER_ROUTE}}n %{{JK_LB_FIRST_NAME}}n %{{JK_LB_LAST_NAME}}n %{{JK_LB_LAST_STATE}}n %{{JK_LB_LAST_ACCESSED}}n %{{JK_LB_LAST_BUSY}}n %{{JK_LB_FIRST_READ}}n\" lbnotes\n\
             CustomLog logs/lb.log lbnotes\n{directives}"
        ),
    );
    Cluster { servers, h }
}

/// [`cluster`] of t1 and t2 under the event MPM.
fn pair(tag: &str, lb_extra: &str, directives: &str) -> Cluster {
    cluster(
        tag,
        Mpm::Event,
        &[("t1", ""), ("t2", "")],
        lb_extra,
        directives,
    )
}

/// Sends `n` requests from `threads` client threads (each request on its own connection, so
/// they spread over httpd's children) and returns the member that answered each.
fn load(h: &Httpd, n: usize, threads: usize, headers: &[(&str, &str)]) -> Vec<(u16, String)> {
    let port = h.port;
    let per = n / threads;
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (0..per)
                        .map(|i| {
                            let r = http_request(port, "GET", &format!("/app/r{t}-{i}"), headers);
                            (r.status, member_of(&r))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

fn share(results: &[(u16, String)], member: &str) -> f64 {
    results.iter().filter(|(_, m)| m == member).count() as f64 / results.len() as f64
}

fn distribution(mpm: Mpm) {
    for (f1, f2) in [(1, 1), (1, 3)] {
        let c = cluster(
            "lb-dist",
            mpm,
            &[
                ("t1", &format!("worker.t1.lbfactor={f1}")),
                ("t2", &format!("worker.t2.lbfactor={f2}")),
            ],
            "",
            "",
        );
        let res = load(&c.h, 2000, 8, &[]);
        assert!(res.iter().all(|(s, _)| *s == 200), "{}", c.h.error_log());
        let want = f2 as f64 / (f1 + f2) as f64;
        let got = share(&res, "t2");
        assert!(
            (got - want).abs() <= 0.05,
            "{mpm:?} {f1}:{f2}: t2 got {got:.3}, want {want:.3}"
        );
    }
}

test_each_mpm!(distribution_follows_lbfactor: distribution);

#[test]
fn sticky_sessions_hold_across_children() {
    let c = cluster("lb-sticky", Mpm::Prefork, &[("t1", ""), ("t2", "")], "", "");
    let res = load(&c.h, 200, 4, &[("Cookie", "JSESSIONID=abc.t2")]);
    assert!(res.iter().all(|(s, m)| *s == 200 && m == "t2"), "{res:?}");
    // The route also comes from the path parameter.
    let r = c.h.get("/app/x;jsessionid=zz.t1");
    assert_eq!(member_of(&r), "t1");
    // The route is forwarded as the AJP route attribute.
    let rec = c.servers[0].requests();
    assert_eq!(rec.last().unwrap().decoded.attribute_str(6u8), Some("t1"));
    let lbl = c.h.dir.read("logs/lb.log");
    assert!(
        lbl.lines().any(|l| l.starts_with("/app/x t1 t1 t1 ")),
        "{lbl}"
    );
    // Numeric notes are decimal: t1 was chosen once, nothing is in flight after the request,
    // and READ is the AJP bytes t1 has received (mod_jk: its ajp record's `readed`), here
    // the packets of its one answer.
    let x = lbl.lines().find(|l| l.starts_with("/app/x ")).unwrap();
    let f: Vec<&str> = x.split(' ').collect();
    assert_eq!(f[5..7], ["1", "0"], "{x}");
    assert!(f[7].parse::<u64>().is_ok_and(|n| n > 0), "{x}");
}

#[test]
fn after_a_failover_the_notes_name_the_first_member_tried_and_the_one_that_served() {
    let mut c = pair("lb-notes-failover", "", "");
    // t2 refuses connections from now on: the session's member is tried first and fails.
    drop(c.servers.remove(1));
    let r = c.h.get_in_session("/app/y", "abc.t2");
    assert_eq!((r.status, member_of(&r)), (200, "t1".to_string()));
    wait_for("the access log line", 5, || {
        c.h.dir.read("logs/lb.log").contains("/app/y ")
    });
    let lbl = c.h.dir.read("logs/lb.log");
    // JK_WORKER_ROUTE (the first member tried, as mod_jk), FIRST_NAME, LAST_NAME,
    // LAST_STATE, LAST_ACCESSED, LAST_BUSY, FIRST_READ: the last notes are t1's own values
    // (served once, idle again), not a copy of t2's.
    assert!(
        lbl.lines().any(|l| l == "/app/y t2 t2 t1 OK 1 0 0"),
        "{lbl}"
    );
}

#[test]
fn disabled_member_keeps_its_sessions_but_gets_no_new_ones() {
    let c = pair("lb-dis", "worker.t2.activation=D\n", "");
    let res = load(&c.h, 100, 4, &[]);
    assert!(res.iter().all(|(s, m)| *s == 200 && m == "t1"), "{res:?}");
    let res = load(&c.h, 40, 4, &[("Cookie", "JSESSIONID=abc.t2")]);
    assert!(res.iter().all(|(s, m)| *s == 200 && m == "t2"), "{res:?}");
}

#[test]
fn stopped_member_gets_nothing() {
    let c = pair("lb-stp", "worker.t2.activation=S\n", "");
    let res = load(&c.h, 40, 4, &[("Cookie", "JSESSIONID=abc.t2")]);
    assert!(res.iter().all(|(s, m)| *s == 200 && m == "t1"), "{res:?}");
    assert_eq!(c.servers[1].requests().len(), 0);
}

#[test]
fn sticky_session_force_fails_with_503_when_the_member_is_stopped() {
    let c = pair(
        "lb-force",
        "worker.t2.activation=S\nworker.lb.sticky_session_force=true\n",
        "",
    );
    let r = c.h.get_in_session("/app/x", "abc.t2");
    assert_eq!(r.status, 503);
}

#[test]
fn a_dying_member_under_load_fails_no_request() {
    let mut c = pair("lb-kill", "", "");
    let port = c.h.port;
    let victim = c.servers.remove(1);
    let results = std::thread::scope(|s| {
        let load = s.spawn(move || {
            (0..600)
                .map(|i| http_request(port, "GET", &format!("/app/k{i}"), &[]).status)
                .collect::<Vec<u16>>()
        });
        std::thread::sleep(Duration::from_millis(150));
        drop(victim); // every connection closed, the port refuses from now on
        load.join().unwrap()
    });
    let failed = results.iter().filter(|&&s| s != 200).count();
    assert_eq!(
        failed,
        0,
        "{failed} failed requests\n{}",
        c.h.dir.read("logs/mod_jk.log")
    );
}

#[test]
fn every_member_failing_is_503_with_one_line_naming_each() {
    let mut c = pair("lb-alldown", "", "");
    c.servers.clear(); // both gone
    let r = c.h.get("/app/x");
    assert_eq!(r.status, 503);
    let log = c.h.dir.read("logs/mod_jk.log");
    let line = log
        .lines()
        .find(|l| l.contains("All tomcat instances failed, no more workers left"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("t1") && line.contains("t2"), "{line}");
}

#[test]
fn a_member_failing_after_part_of_its_body_is_recovered_on_another() {
    // Headers and 100 body bytes from t1, then it closes: none of it reached the client, so
    // t2's whole answer is sent, with nothing of t1's in front of it.
    let c = pair("lb-mid-body", "", "");
    c.servers[0].set_behaviour(Behaviour::CloseMidBody { after_bytes: 100 });
    let r = c.h.get_in_session("/app/a", "s.t1");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "member=t2\n", "only t2's body");
    assert_eq!(r.header("Content-Length"), Some("10"), "{r:?}");
}

#[test]
fn a_member_failing_after_its_headers_is_recovered_on_another_unless_recovery_options_2() {
    // mod_jk recovers a request whose backend broke after sending headers, as long as nothing
    // reached the client (recovery_options 0); with bit 2 it answers the error instead.
    let c = pair("lb-after-headers", "", "");
    c.servers[0].set_behaviour(Behaviour::CloseAfterHeaders);
    let sticky = [("Cookie", "JSESSIONID=s.t1")];
    let r = c.h.request("GET", "/app/a", &sticky);
    assert_eq!((r.status, member_of(&r).as_str()), (200, "t2"), "{r:?}");
    assert_eq!(
        r.header("Content-Length"),
        Some("10"),
        "t2's own headers: {r:?}"
    );
    assert_eq!(
        c.servers[0].requests().len(),
        1,
        "t1 was not asked twice (its headers had reached httpd)"
    );

    let strict = cluster(
        "lb-after-headers-2",
        Mpm::Event,
        &[
            ("t1", "worker.t1.recovery_options=2"),
            ("t2", "worker.t2.recovery_options=2"),
        ],
        "",
        "",
    );
    strict.servers[0].set_behaviour(Behaviour::CloseAfterHeaders);
    let r = strict.h.request("GET", "/app/a", &sticky);
    assert_eq!(r.status, 502, "{r:?}");
    assert!(strict.servers[1].requests().is_empty(), "not sent to t2");
}

/// The httpd children of parent `pid` (from /proc).
fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        // pid (comm) state ppid ...
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse::<i32>().ok());
        if ppid == Some(pid) {
            out.push(p);
        }
    }
    out
}

/// Process `pid` has exited (it is gone or a zombie not reaped yet).
fn exited(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
        Err(_) => true,
    }
}

#[test]
fn exiting_children_do_not_wait_for_their_background_threads() {
    // A readiness prober (every lb child) and a watchdog with a long interval: neither may
    // hold up a child's exit on a graceful restart or a stop (the old children kept their
    // scoreboard slots for up to a second, stalling new connections under the event MPM).
    let c = pair(
        "lb-child-exit",
        "worker.lb.probe_interval=1000\n",
        "JkWatchdogInterval 30\n",
    );
    let parent = c.h.pid().unwrap();
    assert_eq!(c.h.get("/app/x").status, 200);
    // The old prober slept through its tick (1 s here) before it looked at the stop flag: an
    // exit waited for the rest of the tick, on average half of it. Five rounds together
    // separate that (about 2.5 s) from a prompt exit (about 0.1 s each) whatever the phase.
    let mut total = Duration::ZERO;
    for round in 0..5 {
        let old = children_of(parent);
        assert!(!old.is_empty(), "round {round}: no children");
        let t = std::time::Instant::now();
        // SAFETY: signalling the httpd parent this test started: graceful restart.
        unsafe { libc::kill(parent, libc::SIGUSR1) };
        // Exited: gone, or a zombie (the child's own exit, whenever the parent reaps it).
        wait_for("the old children to exit", 10, || {
            old.iter().all(|&p| exited(p))
        });
        total += t.elapsed();
        wait_for("the new generation to serve", 10, || {
            http_request(c.h.port, "GET", "/app/y", &[]).status == 200
        });
    }
    eprintln!("old generations exited after {total:?} in all (5 graceful restarts)");
    assert!(
        total < Duration::from_millis(1250),
        "old children took {total:?} in all to exit after 5 graceful restarts"
    );
}

/// One GET answered within `secs`, or why not: a child that hangs must fail the test, not
/// hang it.
fn get_within(port: u16, path: &str, secs: u64) -> Result<Response, String> {
    let req = request_bytes(&format!("127.0.0.1:{port}"), "GET", path, &[], None);
    let x = send_raw("127.0.0.1", port, &req, Duration::from_secs(secs))?;
    match x.problem {
        Some(p) => Err(format!("GET {path}: no answer within {secs} s ({p})")),
        None => parse_response(&x.raw),
    }
}

/// An lb cluster with the status worker at /jkstatus and a runtime-status file, after one
/// request: (the cluster, that file).
fn shm_cluster(tag: &str) -> (Cluster, std::path::PathBuf) {
    let c = pair(
        tag,
        "worker.list=jkstatus\nworker.jkstatus.type=status\n",
        "JkShmFile logs/jk-runtime-status\nJkMount /jkstatus jkstatus\n",
    );
    assert_eq!(c.h.get("/app/before").status, 200);
    let shm =
        c.h.dir
            .path()
            .join(format!("logs/jk-runtime-status.{}", c.h.pid().unwrap()));
    (c, shm)
}

/// httpd's error log, then mod_jk.log.
fn both_logs(h: &Httpd) -> String {
    format!("{}\n{}", h.error_log(), h.dir.read("logs/mod_jk.log"))
}

/// Exactly one line with all of `words` in each of httpd's error log and mod_jk.log (an
/// operator-readable message, not one per request or child).
fn logged_once(h: &Httpd, words: &[&str]) {
    for log in [h.error_log(), h.dir.read("logs/mod_jk.log")] {
        let n = log
            .lines()
            .filter(|l| words.iter().all(|w| l.contains(w)))
            .count();
        assert_eq!(n, 1, "{words:?}\n{}", both_logs(h));
    }
}

#[test]
fn a_runtime_status_file_overwritten_with_0xff_keeps_serving_and_is_recreated_on_graceful() {
    let (c, shm) = shm_cluster("lb-shm-ff");
    let h = &c.h;
    let len = std::fs::metadata(&shm).unwrap().len() as usize;
    // Overwrite every byte while httpd runs: same size, no truncation (the children's
    // MAP_SHARED mappings see it at once).
    let mut f = std::fs::OpenOptions::new().write(true).open(&shm).unwrap();
    f.write_all(&vec![0xFF; len]).unwrap();
    drop(f);
    let logs = || both_logs(h);

    // Requests from several clients at once (both children) are still answered.
    let port = h.port;
    let results: Vec<Result<u16, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|t| {
                s.spawn(move || {
                    (0..3)
                        .map(|i| {
                            get_within(port, &format!("/app/after{t}-{i}"), 5).map(|r| r.status)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|j| j.join().unwrap()).collect()
    });
    assert!(
        results.iter().all(|r| r == &Ok(200)),
        "{results:?}\n{}",
        logs()
    );
    let st =
        get_within(port, "/jkstatus?mime=prop", 5).unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    assert_eq!(st.status, 200, "{}", st.text());
    assert!(st.text().contains("worker.lb.type=lb"), "{}", st.text());
    for q in [
        "",
        "?mime=xml",
        "?mime=txt",
        "?mime=json",
        "?mime=prometheus",
    ] {
        let r = get_within(port, &format!("/jkstatus{q}"), 5)
            .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
        assert_eq!(r.status, 200, "{q}: {}", r.text());
    }

    // One operator-readable line naming the file, in each log (not one per request or child).
    let name = shm.file_name().unwrap().to_str().unwrap().to_string();
    logged_once(h, &["is corrupt", &name]);

    // The next generation recreates the region and says so.
    h.graceful();
    wait_for("the new generation to answer", 10, || {
        get_within(port, "/app/graceful", 5).is_ok_and(|r| r.status == 200)
    });
    let recreated = logs();
    assert!(
        recreated
            .lines()
            .any(|l| l.contains(&name) && l.contains("recreated")),
        "{recreated}"
    );
    let mut magic = [0u8; 8];
    std::fs::File::open(&shm)
        .unwrap()
        .read_exact(&mut magic)
        .unwrap();
    assert_eq!(&magic, b"JKRSSHM1", "a fresh header");
    assert_eq!(
        get_within(port, "/jkstatus?mime=prop", 5).unwrap().status,
        200
    );
}

#[test]
fn a_sequence_lock_left_odd_by_a_killed_writer_is_reset_and_logged_once() {
    use std::os::unix::fs::FileExt;
    let (c, shm) = shm_cluster("lb-shm-seq");
    let h = &c.h;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&shm)
        .unwrap();
    let word = |i: u64| {
        let mut b = [0u8; 8];
        f.read_exact_at(&mut b, i * 8).unwrap();
        u64::from_le_bytes(b)
    };
    // The layout (crates/jk-shm): header words (children at 2, slots in use at 4), the
    // child table in whole cache lines, then slots of fixed words plus CHILD_WORDS per
    // child: kind, sequence, name (8 words).
    let children = word(2) as usize;
    let slot_words = jk_shm::slot_words(children) as u64;
    let table = children.next_multiple_of(jk_shm::LINE_WORDS) as u64;
    let t1 = (0..word(4))
        .map(|i| jk_shm::HEADER_WORDS as u64 + table + i * slot_words)
        .find(|&s| word(s) == 3 && word(s + 2) == u64::from_le_bytes(*b"t1\0\0\0\0\0\0"))
        .expect("t1's member slot");
    // A writer killed inside the lock leaves the sequence word odd.
    f.write_all_at(&0x1001u64.to_le_bytes(), (t1 + 1) * 8)
        .unwrap();
    let logs = || both_logs(h);
    // The status page reads t1's route under that lock: it answers, and the lock is reset.
    let st =
        get_within(h.port, "/jkstatus?mime=prop", 5).unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    assert_eq!(st.status, 200);
    assert_eq!(word(t1 + 1), 0x1002, "reset to even");
    logged_once(h, &["stayed at the odd value 0x1001", "was reset"]);
    assert!(!logs().contains("is corrupt"), "{}", logs());
    assert_eq!(get_within(h.port, "/app/after", 5).unwrap().status, 200);
}
