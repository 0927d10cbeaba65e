//! Simulated testers against httpd with the seed's configuration and its two real Tomcats
//! (`tests/rolling_e2e.rs`, `tests/soak.rs`): each logs in once, then clicks every 50 ms with
//! its own cookie and checks the page still knows who it is. Counts requests, failed requests
//! (any status but 200, or no answer at all) and re-logins, and keeps when each failure and
//! re-login happened so a caller can attribute them to what was going on at the time.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::tomcat::{field, seed_tomcats, Tomcat};
use super::{module_so, parse_response, request_bytes, seed_httpd, send_raw, session_cookie};
use super::{Httpd, Response, TestDir};

pub const TESTERS: usize = 20;

/// The seed's Tomcats in `dir`/tomcat1 and `dir`/tomcat2 (stopped before `dir` goes).
pub struct Tomcats {
    pub all: Vec<Tomcat>,
    pub dir: TestDir,
}

impl Tomcats {
    pub fn start() -> Tomcats {
        let dir = TestDir::new("roll-tomcats");
        let all = seed_tomcats(dir.path());
        Tomcats { all, dir }
    }

    pub fn get(&mut self, m: &str) -> &mut Tomcat {
        let i = ["tomcat1", "tomcat2"].iter().position(|n| *n == m).unwrap();
        &mut self.all[i]
    }

    pub fn restart(&mut self, m: &str) {
        self.get(m)
            .restart()
            .unwrap_or_else(|e| panic!("restart {m}: {e}"));
    }

    /// The pid of member `m`'s Tomcat, from the file the script wrote at its latest start.
    pub fn pid(&mut self, m: &str) -> i32 {
        self.get(m).pid().unwrap()
    }
}

/// httpd with the seed's configuration plus `extra_props`, with Debian's stock event MPM
/// sizing (mpm_event.conf: 25 threads per child) instead of the harness's small one;
/// hold_max defaults to half a child's threads.
pub fn rolling_httpd(tag: &str, so: &Path, extra_props: &str) -> Httpd {
    seed_httpd(
        tag,
        so,
        extra_props,
        "ThreadLimit 64\nThreadsPerChild 25\nMaxRequestWorkers 50\nMaxSpareThreads 75\n",
    )
}

/// What `jkctl roll` needs to restart members without anybody noticing.
pub const ROLLING: &str =
    "worker.loadbalancer.hold_timeout=30000\nworker.loadbalancer.probe_interval=200\n";

/// One failed request: when it was sent and answered, and what came back.
#[derive(Clone, Debug)]
pub struct Failure {
    pub sent: Instant,
    pub done: Instant,
    pub what: String,
}

/// One forced re-login: when the page no longer knew the tester, and the member its lost
/// session was on.
#[derive(Clone, Debug)]
pub struct Relogin {
    pub at: Instant,
    pub node: String,
    /// The node the page that did not know the tester came from, and its session id.
    pub served_by: String,
}

#[derive(Default, Debug)]
pub struct Figures {
    pub requests: usize,
    pub failed: usize,
    pub relogins: usize,
    pub longest_stall: Duration,
    pub relogins_by_node: BTreeMap<String, usize>,
    pub failures: Vec<Failure>,
    pub relogin_log: Vec<Relogin>,
    /// Requests slower than 100 ms: (unix ms when sent, duration), to set each restart's
    /// stall beside the Tomcat's own restart time.
    pub slow: Vec<(u128, Duration)>,
}

impl Figures {
    fn add(&mut self, f: Figures) {
        self.requests += f.requests;
        self.failed += f.failed;
        self.relogins += f.relogins;
        self.longest_stall = self.longest_stall.max(f.longest_stall);
        for (k, v) in f.relogins_by_node {
            *self.relogins_by_node.entry(k).or_default() += v;
        }
        self.failures.extend(f.failures);
        self.relogin_log.extend(f.relogin_log);
        self.slow.extend(f.slow);
    }
}

/// Wall-clock milliseconds (also what `date +%s%3N` prints in a restart command).
pub fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// One restart of a Tomcat: member, unix ms when its restart began and ended.
pub type Restart = (String, u128, u128);

/// For each restart, the longest stall of a request sent while that Tomcat was restarting,
/// beside the Tomcat's own stop + start time.
pub fn stalls_by_restart(name: &str, f: &Figures, restarts: &[Restart]) {
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

/// GET `path` from httpd on 127.0.0.1:`port` (30 s timeout); Err when no complete answer came.
pub fn try_get(port: u16, path: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
    let req = request_bytes(&format!("127.0.0.1:{port}"), "GET", path, headers, None);
    let x = send_raw("127.0.0.1", port, &req, Duration::from_secs(30))?;
    match x.problem {
        Some(p) => Err(p),
        None => parse_response(&x.raw),
    }
}

/// 20 testers clicking every 50 ms on httpd at 127.0.0.1:80 until `stop`; returns the figures.
pub fn testers(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Figures> {
    testers_on(vec![80], stop)
}

/// As [`testers`], tester n on the httpd at 127.0.0.1:`ports[n % ports.len()]` (several
/// gateways in front of the same Tomcats).
pub fn testers_on(ports: Vec<u16>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Figures> {
    std::thread::spawn(move || {
        let handles: Vec<_> = (0..TESTERS)
            .map(|n| {
                let stop = stop.clone();
                let port = ports[n % ports.len()];
                std::thread::spawn(move || tester(n, port, &stop))
            })
            .collect();
        let mut total = Figures::default();
        for h in handles {
            total.add(h.join().unwrap());
        }
        total
    })
}

/// One tester: counts a request, and a failure unless it was a 200.
fn click(f: &mut Figures, port: u16, path: &str, cookie: &Option<String>) -> Option<Response> {
    let hdrs: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
    let (sent, sent_ms) = (Instant::now(), unix_ms());
    let r = try_get(port, path, &hdrs);
    let done = Instant::now();
    f.longest_stall = f.longest_stall.max(done - sent);
    if done - sent > Duration::from_millis(100) {
        f.slow.push((sent_ms, done - sent));
    }
    f.requests += 1;
    let what = match r {
        Ok(r) if r.status == 200 => return Some(r),
        Ok(r) => format!("{} {}", r.status_line, super::tail(&r.text(), 200)),
        Err(e) => e,
    };
    f.failed += 1;
    f.failures.push(Failure { sent, done, what });
    None
}

fn tester(n: usize, port: u16, stop: &AtomicBool) -> Figures {
    let me = format!("tester{n}");
    let mut f = Figures::default();
    let login = |f: &mut Figures| -> (Option<String>, String) {
        loop {
            if let Some(r) = click(f, port, &format!("/app/session.jsp?login={me}"), &None) {
                return (
                    session_cookie(&r),
                    field(&r.text(), "node").unwrap_or_default(),
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let (mut cookie, mut node) = login(&mut f);
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        let Some(r) = click(&mut f, port, "/app/session.jsp", &cookie) else {
            continue;
        };
        if field(&r.text(), "user").as_deref() != Some(me.as_str()) {
            f.relogins += 1;
            *f.relogins_by_node.entry(node.clone()).or_default() += 1;
            let t = r.text();
            f.relogin_log.push(Relogin {
                at: Instant::now(),
                node: node.clone(),
                served_by: format!(
                    "{} session {}",
                    field(&t, "node").unwrap_or_default(),
                    field(&t, "session").unwrap_or_default()
                ),
            });
            (cookie, node) = login(&mut f);
        }
    }
    f
}

pub fn report(name: &str, f: &Figures) {
    println!(
        "{name}: {} requests, {} failed, {} re-logins, longest stall {} ms",
        f.requests,
        f.failed,
        f.relogins,
        f.longest_stall.as_millis()
    );
}

/// target/<profile>/jkctl, next to the module.
pub fn jkctl() -> PathBuf {
    let p = module_so().parent().unwrap().join("jkctl");
    assert!(
        p.exists(),
        "{} not built: run `make build` (cargo build --workspace --bins)",
        p.display()
    );
    p
}

/// Runs `during` while the testers click; returns their figures.
pub fn with_testers(during: impl FnOnce()) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let t = testers(stop.clone());
    std::thread::sleep(Duration::from_secs(2));
    during();
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap()
}
