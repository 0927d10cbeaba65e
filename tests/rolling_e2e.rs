#![allow(clippy::unwrap_used)]
//! Acceptance of rolling restarts with real Tomcat 10 (two instances with session
//! persistence, started by scripts/tomcat.sh, which `jkctl roll --cmd` calls to restart them),
//! httpd with the seed's configuration plus only the new properties, and 20 simulated testers
//! (each logs in once, then clicks every 50 ms with its own cookie and checks the page still
//! knows who it is). Prints failed requests, re-logins and the longest stall, for ours and, in
//! the same scenarios, for Debian's mod_jk.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::tomcat::{field, script, seed_tomcats, Tomcat};
use support::*;

const TESTERS: usize = 20;

/// The seed's Tomcats in `dir`/tomcat1 and `dir`/tomcat2 (stopped before `dir` goes).
struct Tomcats {
    all: Vec<Tomcat>,
    dir: TestDir,
}

impl Tomcats {
    fn start() -> Tomcats {
        let dir = TestDir::new("roll-tomcats");
        let all = seed_tomcats(dir.path());
        Tomcats { all, dir }
    }

    fn get(&mut self, m: &str) -> &mut Tomcat {
        let i = ["tomcat1", "tomcat2"].iter().position(|n| *n == m).unwrap();
        &mut self.all[i]
    }

    fn restart(&mut self, m: &str) {
        self.get(m)
            .restart()
            .unwrap_or_else(|e| panic!("restart {m}: {e}"));
    }

    /// The pid of member `m`'s Tomcat, from the file the script wrote at its latest start.
    fn pid(&mut self, m: &str) -> i32 {
        self.get(m).pid().unwrap()
    }
}

/// httpd with the seed's configuration plus `extra_props`, with Debian's stock event MPM
/// sizing (mpm_event.conf: 25 threads per child) instead of the harness's small one;
/// hold_max defaults to half a child's threads.
fn httpd(tag: &str, so: &Path, extra_props: &str) -> Httpd {
    seed_httpd(
        tag,
        so,
        extra_props,
        "ThreadLimit 64\nThreadsPerChild 25\nMaxRequestWorkers 50\nMaxSpareThreads 75\n",
    )
}

#[derive(Default, Debug)]
struct Figures {
    requests: usize,
    failed: usize,
    relogins: usize,
    longest_stall: Duration,
    relogins_by_node: std::collections::BTreeMap<String, usize>,
    /// Requests slower than 100 ms: (unix ms at the start, duration), to set each restart's
    /// stall beside the Tomcat's own restart time.
    slow: Vec<(u128, Duration)>,
}

/// Wall-clock milliseconds (also what `date +%s%3N` prints in the restart command).
fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// One restart of a Tomcat: member, unix ms when its restart began and ended.
type Restart = (String, u128, u128);

/// For each restart, the longest stall of a request that started while that Tomcat was
/// restarting, beside the Tomcat's own stop + start time.
fn stalls_by_restart(name: &str, f: &Figures, restarts: &[Restart]) {
    for (m, t0, t1) in restarts {
        let own = t1.saturating_sub(*t0);
        let stall = f
            .slow
            .iter()
            .filter(|(s, _)| s >= t0 && s <= t1)
            .map(|(_, d)| d.as_millis())
            .max()
            .unwrap_or(0);
        println!(
            "{name}: {m} restart (stop + start) {own} ms, longest stall of a request sent meanwhile \
             {stall} ms ({:+} ms)",
            stall as i128 - own as i128
        );
    }
}

/// 20 testers clicking every 50 ms until `stop`; returns the figures.
fn testers(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Figures> {
    std::thread::spawn(move || {
        let handles: Vec<_> = (0..TESTERS)
            .map(|n| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let me = format!("tester{n}");
                    let mut f = Figures::default();
                    let login = |f: &mut Figures| -> (Option<String>, String) {
                        loop {
                            let r = http_request(
                                80,
                                "GET",
                                &format!("/app/session.jsp?login={me}"),
                                &[],
                            );
                            f.requests += 1;
                            if r.status == 200 {
                                return (
                                    session_cookie(&r),
                                    field(&r.text(), "node").unwrap_or_default(),
                                );
                            }
                            f.failed += 1;
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    };
                    let (mut cookie, mut node) = login(&mut f);
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(50));
                        let hdrs: Vec<(&str, &str)> =
                            cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
                        let (t, sent) = (Instant::now(), unix_ms());
                        let r = http_request(80, "GET", "/app/session.jsp", &hdrs);
                        let took = t.elapsed();
                        f.longest_stall = f.longest_stall.max(took);
                        if took > Duration::from_millis(100) {
                            f.slow.push((sent, took));
                        }
                        f.requests += 1;
                        if r.status != 200 {
                            f.failed += 1;
                            continue;
                        }
                        if field(&r.text(), "user").as_deref() != Some(me.as_str()) {
                            f.relogins += 1;
                            *f.relogins_by_node.entry(node.clone()).or_default() += 1;
                            (cookie, node) = login(&mut f);
                        }
                    }
                    f
                })
            })
            .collect();
        let mut total = Figures::default();
        for h in handles {
            let f = h.join().unwrap();
            total.requests += f.requests;
            total.failed += f.failed;
            total.relogins += f.relogins;
            total.longest_stall = total.longest_stall.max(f.longest_stall);
            total.slow.extend(f.slow);
            for (k, v) in f.relogins_by_node {
                *total.relogins_by_node.entry(k).or_default() += v;
            }
        }
        total
    })
}

fn report(name: &str, f: &Figures) {
    println!(
        "{name}: {} requests, {} failed, {} re-logins, longest stall {} ms",
        f.requests,
        f.failed,
        f.relogins,
        f.longest_stall.as_millis()
    );
}

fn jkctl() -> PathBuf {
    let p = module_so().parent().unwrap().join("jkctl");
    assert!(
        p.exists(),
        "{} not built: run `make build` (cargo build --workspace --bins)",
        p.display()
    );
    p
}

/// Runs `during` while the testers click; returns their figures.
fn with_testers(during: impl FnOnce()) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let t = testers(stop.clone());
    std::thread::sleep(Duration::from_secs(2));
    during();
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap()
}

/// Restarts both Tomcats one after the other (stop, start; no jkctl) while the testers click
/// through httpd with the module `so` and `extra_props`.
fn plain_restarts(
    tomcats: &mut Tomcats,
    tag: &str,
    so: &Path,
    extra_props: &str,
) -> (Figures, Vec<Restart>) {
    let _h = httpd(tag, so, extra_props);
    let mut restarts = Vec::new();
    let f = with_testers(|| {
        for m in ["tomcat1", "tomcat2"] {
            let t0 = unix_ms();
            tomcats.restart(m);
            restarts.push((m.to_string(), t0, unix_ms()));
            std::thread::sleep(Duration::from_secs(2));
        }
    });
    (f, restarts)
}

const ROLLING: &str =
    "worker.loadbalancer.hold_timeout=30000\nworker.loadbalancer.probe_interval=200\n";

#[test]
fn rolling_restarts_no_tester_notices() {
    let mut tomcats = Tomcats::start();
    let mut results = Vec::new();

    // (a) jkctl roll restarting both Tomcats.
    {
        let h = httpd("roll-a", &module_so(), ROLLING);
        let before = [tomcats.pid("tomcat1"), tomcats.pid("tomcat2")];
        let cmd = format!(
            "{} restart {}/{{member}}",
            script().display(),
            tomcats.dir.path().display()
        );
        assert_eq!(
            cmd.replace("{member}", "tomcat1"),
            tomcats.get("tomcat1").restart_command()
        );
        // The same command, timed: each restart's start and end go to a file.
        let times = h.dir.path().join("restarts.txt");
        let cmd = format!(
            "t0=$(date +%s%3N); {cmd}; rc=$?; echo \"{{member}} $t0 $(date +%s%3N)\" >> {}; exit $rc",
            times.display()
        );
        let f = with_testers(|| {
            let out = Command::new(jkctl())
                .args([
                    "--url",
                    "http://127.0.0.1:80/jkmanager/",
                    "roll",
                    "--balancer",
                    "loadbalancer",
                    "--cmd",
                    &cmd,
                ])
                .output()
                .unwrap();
            println!("{}", String::from_utf8_lossy(&out.stdout));
            assert!(
                out.status.success(),
                "jkctl roll failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                h.dir.read("logs/mod_jk.log")
            );
        });
        report("ours (a) jkctl roll", &f);
        let restarts: Vec<Restart> = std::fs::read_to_string(&times)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((
                    w.next()?.to_string(),
                    w.next()?.parse().ok()?,
                    w.next()?.parse().ok()?,
                ))
            })
            .collect();
        assert_eq!(restarts.len(), 2, "both restarts timed: {restarts:?}");
        stalls_by_restart("ours (a)", &f, &restarts);
        // The roll really restarted both Tomcats (new processes), one at a time.
        let after = [tomcats.pid("tomcat1"), tomcats.pid("tomcat2")];
        assert!(
            before[0] != after[0] && before[1] != after[1],
            "jkctl roll did not restart both Tomcats: pids {before:?} -> {after:?}"
        );
        results.push(("ours (a)", f));
    }
    // (b) plain restarts (stop, start; no jkctl) with hold_timeout set.
    let (f, restarts) = plain_restarts(&mut tomcats, "roll-b", &module_so(), ROLLING);
    report("ours (b) plain restarts", &f);
    stalls_by_restart("ours (b)", &f, &restarts);
    results.push(("ours (b)", f));
    // The same with Debian's mod_jk: (a) the closest it has (disable, wait, restart,
    // activate through jkstatus), and (b) plain restarts.
    {
        let h = httpd("roll-mj-a", &debian_mod_jk(), "");
        let f = with_testers(|| {
            for m in ["tomcat1", "tomcat2"] {
                h.get(&format!(
                    "/jkmanager/?cmd=update&w=loadbalancer&sw={m}&vwa=D"
                ));
                std::thread::sleep(Duration::from_secs(2));
                tomcats.restart(m);
                h.get(&format!(
                    "/jkmanager/?cmd=update&w=loadbalancer&sw={m}&vwa=A"
                ));
                std::thread::sleep(Duration::from_secs(2));
            }
        });
        report("Debian mod_jk (a) disable+restart", &f);
        results.push(("mod_jk (a)", f));
    }
    let (f, restarts) = plain_restarts(&mut tomcats, "roll-mj-b", &debian_mod_jk(), "");
    report("Debian mod_jk (b) plain restarts", &f);
    stalls_by_restart("Debian mod_jk (b)", &f, &restarts);
    results.push(("mod_jk (b)", f));
    // (c) kill -9 of one Tomcat that is not restarted: its testers are moved after
    // hold_timeout (one re-login each), nobody sees an error.
    {
        let h = httpd(
            "roll-c",
            &module_so(),
            "worker.loadbalancer.hold_timeout=3000\nworker.loadbalancer.probe_interval=200\n",
        );
        let f = with_testers(|| {
            tomcats.get("tomcat1").kill();
            std::thread::sleep(Duration::from_secs(6));
        });
        report("ours (c) kill -9 tomcat1", &f);
        println!("(c) re-logins by node: {:?}", f.relogins_by_node);
        assert_eq!(f.failed, 0, "{}", h.dir.read("logs/mod_jk.log"));
        assert_eq!(
            f.relogins_by_node.get("tomcat2").copied().unwrap_or(0),
            0,
            "{:?}",
            f.relogins_by_node
        );
        assert!(
            f.relogins <= TESTERS,
            "at most one re-login per tester: {:?}",
            f.relogins_by_node
        );
        // The dead member's requests were held (hold_timeout=3000) before they moved, which
        // plain mod_jk failover would not do.
        assert!(
            f.longest_stall >= Duration::from_millis(2500),
            "no request was held for the dead member: longest stall {} ms",
            f.longest_stall.as_millis()
        );
        results.push(("ours (c)", f));
    }
    println!(
        "\n| scenario | requests | failed | re-logins | longest stall |\n|---|---|---|---|---|"
    );
    for (n, f) in &results {
        println!(
            "| {n} | {} | {} | {} | {} ms |",
            f.requests,
            f.failed,
            f.relogins,
            f.longest_stall.as_millis()
        );
    }
    for (n, f) in results
        .iter()
        .filter(|(n, _)| n.starts_with("ours (a)") || n.starts_with("ours (b)"))
    {
        assert_eq!((f.failed, f.relogins), (0, 0), "{n}: {f:?}");
    }
}
