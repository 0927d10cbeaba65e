//! Runs the real `jkctl` binary against a fake status worker: a loopback HTTP server on a
//! thread that answers `cmd=list&mime=json` from a small model, applies `cmd=update`
//! (`vwa`, `vwm`) to it, and records every update in order.
//!
//! The restart simulation follows the module (jk-lb `rolling.rs`): `vwm=R` sets `restarting`
//! and `awaiting_readiness` and (optionally) plays a list of in-flight counts, one per status
//! read; only `vwm=0` clears `restarting`. The test's `--cmd` touches
//! `<dir>/<member>.restarted`; once that file was seen the backend counts as restarted and
//! shows `ERR` until, with `restarting` cleared, [`READY_PROBES`] status reads ("good
//! probes") have passed: then `awaiting_readiness` clears and the state is `OK`. A backend
//! that was not restarted (the command did not run, or ran after `vwm=0`) never becomes
//! ready, so `restart` only succeeds with the steps in the right order.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

#[derive(Clone, Debug)]
struct FakeMember {
    name: String,
    activation: String,
    state: String,
    in_flight: u64,
    /// In-flight counts played one per status read.
    script: VecDeque<u64>,
    /// Played when restart maintenance is set.
    on_maintenance: Vec<u64>,
    /// `None`: the build does not know restart maintenance (`restarting: null`).
    restarting: Option<bool>,
    awaiting_readiness: bool,
    last_sticky_time: u64,
    /// The restart command ran (its flag file was seen) during restart maintenance.
    restarted: bool,
    good_probes: u32,
    /// Runtime membership (`None`: not reported, as by a build without it).
    origin: Option<String>,
    lifecycle: Option<String>,
}

/// Good probes (status reads after `vwm=0`) a restarted member needs to become ready.
const READY_PROBES: u32 = 5;

fn member(name: &str) -> FakeMember {
    FakeMember {
        name: name.into(),
        activation: "ACT".into(),
        state: "OK/IDLE".into(),
        in_flight: 0,
        script: VecDeque::new(),
        on_maintenance: Vec::new(),
        restarting: Some(false),
        awaiting_readiness: false,
        last_sticky_time: NOW - 100,
        restarted: false,
        good_probes: 0,
        origin: None,
        lifecycle: None,
    }
}

#[derive(Debug)]
struct Model {
    balancers: Vec<(String, Vec<FakeMember>)>,
    /// `member vwa=D`, `member vwm=R`, … in arrival order.
    updates: Vec<String>,
    dir: PathBuf,
    /// The server clock reported in `time.unix`: fixed, so ages are exact.
    now: u64,
    /// The module's `write_requires_token`: changes only as a POST with this token.
    token: Option<String>,
    /// The JSON says so (`write_requires_token`); false: only the token is shown (as after
    /// a graceful restart made the one jkctl knows stale).
    advertise_required: bool,
    /// `GET update`, `POST update` in arrival order, `refused` appended when refused.
    writes: Vec<String>,
    /// The token the JSON shows when not `token` (one that never works).
    json_token: Option<String>,
}

/// The fake server's fixed clock.
const NOW: u64 = 1_700_000_000;

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl FakeMember {
    /// Notices the restart command's flag file, and counts readiness probes.
    fn observe(&mut self, dir: &std::path::Path, probe: bool) {
        let flag = dir.join(format!("{}.restarted", self.name));
        if self.restarting == Some(true) && flag.exists() {
            let _ = std::fs::remove_file(&flag);
            self.restarted = true;
            self.state = "ERR".into();
        }
        if probe && self.awaiting_readiness && self.restarting == Some(false) && self.restarted {
            self.good_probes += 1;
            if self.good_probes >= READY_PROBES {
                self.awaiting_readiness = false;
                self.restarted = false;
                self.state = "OK".into();
            }
        }
    }
}

impl Model {
    fn json(&mut self) -> String {
        let mut lbs = Vec::new();
        for (lb, members) in &mut self.balancers {
            let mut ms = Vec::new();
            for m in members.iter_mut() {
                if let Some(n) = m.script.pop_front() {
                    m.in_flight = n;
                }
                m.observe(&self.dir, true);
                let (restarting, awaiting) = match m.restarting {
                    Some(b) => (b.to_string(), m.awaiting_readiness.to_string()),
                    None => ("null".into(), "null".into()),
                };
                let mut membership = String::new();
                if let Some(o) = &m.origin {
                    membership.push_str(&format!(r#","origin":"{o}""#));
                }
                if let Some(l) = &m.lifecycle {
                    membership.push_str(&format!(r#","lifecycle":"{l}""#));
                }
                ms.push(format!(
                    r#"{{"name":"{}","type":"ajp13","activation":"{}","state":"{}","busy":{},"in_flight":{},"held":0,"elected":7,"errors":1,"recent_sessions":2,"last_sticky_time":{},"restarting":{},"awaiting_readiness":{},"draining":null{membership}}}"#,
                    m.name,
                    m.activation,
                    m.state,
                    m.in_flight,
                    m.in_flight,
                    m.last_sticky_time,
                    restarting,
                    awaiting
                ));
            }
            lbs.push(format!(
                r#"{{"name":"{lb}","type":"lb","members":[{}],"maps":[]}}"#,
                ms.join(",")
            ));
        }
        let token = match self.json_token.as_ref().or(self.token.as_ref()) {
            Some(t) => format!(
                r#""write_token":"{t}","write_requires_token":{},"#,
                self.advertise_required
            ),
            None => String::new(),
        };
        format!(
            r#"{{"server":{{"name":"localhost","port":80}},"time":{{"unix":{}}},{token}"balancers":[{}],"ajp_workers":[],"result":{{"type":"OK","message":"Action finished"}}}}"#,
            self.now,
            lbs.join(",")
        )
    }

    /// `cmd=add` (the module's checks are jk-status's; here only what the tests need).
    fn add(&mut self, q: &[(String, String)]) -> String {
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let w = get("w").unwrap_or("");
        let Some((_, members)) = self.balancers.iter_mut().find(|(lb, _)| lb == w) else {
            return "Result: type=ERROR message=\"Could not find given worker\"\n".into();
        };
        if members.len() >= 4 {
            return format!(
                "Result: type=ERROR message=\"no free member slot in balancer '{w}' (4 of 4 used)\"\n"
            );
        }
        let name = get("name")
            .map(String::from)
            .unwrap_or_else(|| format!("{w}~{}", members.len() + 1));
        let mut request: Vec<String> = q
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "token" | "mime"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        request.sort();
        self.updates.push(format!("add {}", request.join("&")));
        let mut m = member(&name);
        m.origin = Some("runtime".into());
        m.lifecycle = Some("joining".into());
        members.push(m);
        format!("Result: type=OK message=\"Action finished: member {name} added to {w}\"\n")
    }

    /// `cmd=remove`.
    fn remove(&mut self, q: &[(String, String)]) -> String {
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let (w, sw) = (get("w").unwrap_or(""), get("sw").unwrap_or(""));
        let force = get("force") == Some("1");
        self.updates.push(format!(
            "remove {w}/{sw}{}",
            if force { " force" } else { "" }
        ));
        let Some((_, members)) = self.balancers.iter_mut().find(|(lb, _)| lb == w) else {
            return "Result: type=ERROR message=\"Could not find given worker\"\n".into();
        };
        let Some(i) = members.iter().position(|m| m.name == sw) else {
            return "Result: type=ERROR message=\"could not find sub worker\"\n".into();
        };
        if force {
            members.remove(i);
            format!("Result: type=OK message=\"Action finished: member {sw} removed from {w}\"\n")
        } else {
            members[i].lifecycle = Some("draining".into());
            format!(
                "Result: type=OK message=\"Action finished: member {sw} of {w} is draining, removed when idle\"\n"
            )
        }
    }

    fn update(&mut self, q: &[(String, String)]) -> String {
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let (Some(w), Some(sw)) = (get("w"), get("sw")) else {
            return "Result: type=ERROR message=\"NULL or EMPTY worker param\"\n".into();
        };
        let Some(m) = self
            .balancers
            .iter_mut()
            .filter(|(lb, _)| lb == w)
            .flat_map(|(_, ms)| ms.iter_mut())
            .find(|m| m.name == sw)
        else {
            return "Result: type=ERROR message=\"could not find sub worker\"\n".into();
        };
        if let Some(a) = get("vwa") {
            self.updates.push(format!("{sw} vwa={a}"));
            m.activation = match a {
                "A" => "ACT",
                "D" => "DIS",
                "S" => "STP",
                _ => return "Result: type=ERROR message=\"bad vwa\"\n".into(),
            }
            .into();
        }
        if let Some(v) = get("vwm") {
            self.updates.push(format!("{sw} vwm={v}"));
            // A build without restart maintenance ignores the parameter.
            if m.restarting.is_some() {
                m.observe(&self.dir, false);
                m.good_probes = 0;
                if v == "R" {
                    m.restarting = Some(true);
                    m.awaiting_readiness = true;
                    m.script = m.on_maintenance.iter().copied().collect();
                } else {
                    m.restarting = Some(false);
                }
            }
        }
        "Result: type=OK message=\"Action finished\"\n".into()
    }
}

struct Fake {
    url: String,
    model: Arc<Mutex<Model>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    dir: PathBuf,
}

impl Fake {
    fn start(name: &str, balancers: Vec<(&str, Vec<FakeMember>)>) -> Fake {
        let dir = std::env::temp_dir().join(format!("jkctl-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let model = Arc::new(Mutex::new(Model {
            balancers: balancers
                .into_iter()
                .map(|(n, m)| (n.to_string(), m))
                .collect(),
            updates: Vec::new(),
            dir: dir.clone(),
            now: NOW,
            token: None,
            advertise_required: false,
            writes: Vec::new(),
            json_token: None,
        }));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}/jkmanager/", listener.local_addr().expect("addr"));
        let stop = Arc::new(AtomicBool::new(false));
        let (m2, s2) = (model.clone(), stop.clone());
        let thread = thread::spawn(move || {
            while !s2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &m2),
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Fake {
            url,
            model,
            stop,
            thread: Some(thread),
            dir,
        }
    }

    fn updates(&self) -> Vec<String> {
        self.model.lock().expect("model").updates.clone()
    }

    fn member(&self, name: &str) -> FakeMember {
        let m = self.model.lock().expect("model");
        m.balancers
            .iter()
            .flat_map(|(_, ms)| ms.iter())
            .find(|m| m.name == name)
            .cloned()
            .expect("member")
    }

    fn touch_cmd(&self) -> String {
        format!(
            "echo restarting {{member}}; touch {}/{{member}}.restarted",
            self.dir.display()
        )
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_env(args, &[])
    }

    /// As [`run`](Self::run), with these environment variables set.
    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let out: Output = Command::new(env!("CARGO_BIN_EXE_jkctl"))
            .args(["--url", &self.url, "--poll-interval", "0.02"])
            .args(args)
            .env_remove("JKCTL_URL")
            .env_remove("JKCTL_USER")
            .env_remove("JKCTL_PASSWORD")
            .envs(env.iter().copied())
            .output()
            .expect("run jkctl");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        eprintln!("--- jkctl {args:?}\n{stdout}{stderr}");
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn serve(mut s: TcpStream, model: &Mutex<Model>) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[end..].to_vec();
    while body.len() < length {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let method = head.split_whitespace().next().unwrap_or("GET").to_string();
    let target = head.split_whitespace().nth(1).unwrap_or("/");
    let query = target.split_once('?').map_or("", |(_, q)| q);
    // A form body's parameters follow the query's (the module's order).
    let form = String::from_utf8_lossy(&body).into_owned();
    let params: Vec<(String, String)> = query
        .split('&')
        .chain(form.split('&'))
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (ctype, body) = {
        let mut m = model.lock().expect("model");
        match (get("cmd").unwrap_or("list"), get("mime").unwrap_or("html")) {
            ("list", "json") => ("application/json", m.json()),
            (cmd @ ("update" | "add" | "remove"), "txt") => {
                let refused = m
                    .token
                    .as_deref()
                    .is_some_and(|t| method != "POST" || get("token") != Some(t));
                m.writes.push(format!(
                    "{method} {cmd}{}",
                    if refused { " refused" } else { "" }
                ));
                if refused {
                    // The module's answer (jk-status guard.rs).
                    let why = if get("token").is_some() {
                        "the request's token is not this configuration's (reload the page)"
                    } else {
                        "this status worker takes changes only as a POST with its page's token"
                    };
                    (
                        "text/plain",
                        format!("Result: type=ERROR message=\"Change refused: {why}\"\n"),
                    )
                } else {
                    let answer = match cmd {
                        "add" => m.add(&params),
                        "remove" => m.remove(&params),
                        _ => m.update(&params),
                    };
                    ("text/plain", answer)
                }
            }
            _ => ("text/html", "<html>unexpected</html>".to_string()),
        }
    };
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn two_members() -> Vec<(&'static str, Vec<FakeMember>)> {
    vec![("lb", vec![member("tomcat1"), member("tomcat2")])]
}

#[test]
fn status_shows_a_table() {
    let fake = Fake::start("status", two_members());
    let (code, out, _) = fake.run(&["status"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("BALANCER  MEMBER   ACTIVATION"),
        "{out}"
    );
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "lb", "tomcat1", "ACT", "OK/IDLE", "0", "0", "1", "2", "100s", "ago", "no", "config",
            "-"
        ]
    );
    let (code, _, err) = fake.run(&["status", "--balancer", "nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no balancer nope (balancers: lb)"), "{err}");
}

#[test]
fn disable_changes_activation_and_unknown_member_is_usage_error() {
    let fake = Fake::start("disable", two_members());
    let (code, out, _) = fake.run(&["disable", "tomcat1"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "lb/tomcat1: DIS");
    assert_eq!(fake.updates(), ["tomcat1 vwa=D"]);
    assert_eq!(fake.member("tomcat1").activation, "DIS");

    let (code, _, err) = fake.run(&["stop", "tomcat9"]);
    assert_eq!(code, 2);
    assert!(err.contains("lb/tomcat1, lb/tomcat2"), "{err}");
    assert_eq!(fake.updates().len(), 1);
}

#[test]
fn ambiguous_member_needs_balancer() {
    let fake = Fake::start(
        "ambiguous",
        vec![("lb1", vec![member("t")]), ("lb2", vec![member("t")])],
    );
    let (code, _, err) = fake.run(&["activate", "t"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("several balancers") && err.contains("lb1, lb2"),
        "{err}"
    );
    let (code, _, _) = fake.run(&["activate", "t", "--balancer", "lb2"]);
    assert_eq!(code, 0);
    assert_eq!(fake.updates(), ["t vwa=A"]);
}

#[test]
fn drain_waits_until_in_flight_is_zero() {
    let mut t1 = member("tomcat1");
    t1.script = [3, 3, 2, 1, 0].into();
    let fake = Fake::start("drain", vec![("lb", vec![t1, member("tomcat2")])]);
    let (code, out, _) = fake.run(&["drain", "tomcat1", "--wait", "--disable", "--quiet", "5"]);
    assert_eq!(code, 0);
    assert!(out.contains("drain tomcat1: disabled"), "{out}");
    assert!(
        out.contains("drain tomcat1: 2 in flight, last sticky 100 s ago"),
        "{out}"
    );
    assert!(out.contains("drain tomcat1: 1 in flight"), "{out}");
    assert!(out.contains("drain tomcat1: idle"), "{out}");
    assert_eq!(fake.updates(), ["tomcat1 vwa=D"]);
}

#[test]
fn drain_times_out_while_requests_stay_in_flight() {
    let mut t1 = member("tomcat1");
    t1.in_flight = 2;
    let fake = Fake::start("drain-timeout", vec![("lb", vec![t1])]);
    let (code, _, err) = fake.run(&["drain", "tomcat1", "--wait", "--timeout", "0.3"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("idle not reached within 0.3 s (2 in flight"),
        "{err}"
    );
    // Without --wait: one check.
    let (code, out, err) = fake.run(&["drain", "tomcat1"]);
    assert_eq!(code, 1);
    assert_eq!(
        out.trim(),
        "drain tomcat1: 2 in flight, last sticky 100 s ago"
    );
    assert!(err.contains("not idle yet"), "{err}");
}

#[test]
fn restart_runs_the_full_sequence() {
    let mut t1 = member("tomcat1");
    t1.activation = "DIS".into();
    t1.on_maintenance = vec![3, 2, 1, 0];
    let fake = Fake::start("restart", vec![("lb", vec![t1, member("tomcat2")])]);
    let cmd = fake.touch_cmd();
    let (code, out, err) =
        fake.run(&["restart", "tomcat1", "--cmd", &cmd, "--ready-timeout", "10"]);
    assert_eq!(code, 0, "{err}");
    let want_in_order = [
        "restart tomcat1: step 1/6 marked restarting",
        "restart tomcat1: step 2/6 draining: 2 in flight",
        "restart tomcat1: step 2/6 drained",
        "restart tomcat1: step 3/6 running: echo restarting tomcat1;",
        "  [tomcat1] restarting tomcat1",
        "restart tomcat1: step 3/6 command finished",
        "restart tomcat1: step 4/6 restart maintenance cleared",
        "restart tomcat1: step 5/6 waiting for ready: state ERR, awaiting readiness",
        "restart tomcat1: step 5/6 ready",
        "restart tomcat1: step 6/6 verified (ACT, OK), activated (was DIS)",
        "restart tomcat1: done",
    ];
    let mut pos = 0;
    for w in want_in_order {
        match out[pos..].find(w) {
            Some(i) => pos += i + w.len(),
            None => panic!("missing (in order) {w:?} in\n{out}"),
        }
    }
    assert_eq!(
        fake.updates(),
        ["tomcat1 vwm=R", "tomcat1 vwm=0", "tomcat1 vwa=A"]
    );
    let m = fake.member("tomcat1");
    assert_eq!(
        (
            m.activation.as_str(),
            m.state.as_str(),
            m.restarting,
            m.awaiting_readiness
        ),
        ("ACT", "OK", Some(false), false)
    );
}

#[test]
fn the_restart_command_gets_no_status_worker_credentials() {
    let fake = Fake::start("restart-env", two_members());
    let (_, out, err) = fake.run_env(
        &[
            "restart",
            "tomcat1",
            "--cmd",
            "echo \"pw=[$JKCTL_PASSWORD] user=[$JKCTL_USER] member=[$JKCTL_MEMBER]\"; exit 1",
        ],
        &[("JKCTL_USER", "admin"), ("JKCTL_PASSWORD", "s3cret")],
    );
    assert!(
        out.contains("pw=[] user=[] member=[tomcat1]"),
        "{out}\n{err}"
    );
    assert!(!out.contains("s3cret") && !err.contains("s3cret"));
}

#[test]
fn restart_command_failure_leaves_maintenance_and_exits_1() {
    let fake = Fake::start("restart-fail", two_members());
    let (code, out, err) = fake.run(&[
        "restart",
        "tomcat1",
        "--cmd",
        "echo about to fail >&2; exit 1",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("  [tomcat1 stderr] about to fail"), "{out}");
    assert!(
        err.contains("step 3/6 (command) failed: the command exited with status 1"),
        "{err}"
    );
    assert!(
        err.contains("jkctl maintenance tomcat1 --balancer lb --clear"),
        "{err}"
    );
    assert_eq!(fake.updates(), ["tomcat1 vwm=R"]);
    assert_eq!(fake.member("tomcat1").restarting, Some(true));

    // The hint works.
    let (code, out, _) = fake.run(&["maintenance", "tomcat1", "--clear"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "lb/tomcat1: restart maintenance cleared");
    assert_eq!(fake.member("tomcat1").restarting, Some(false));
}

#[test]
fn restart_drain_timeout_clears_maintenance_again() {
    let mut t1 = member("tomcat1");
    t1.on_maintenance = vec![5];
    let fake = Fake::start("restart-drain", vec![("lb", vec![t1])]);
    let (code, _, err) = fake.run(&[
        "restart",
        "tomcat1",
        "--cmd",
        "echo never",
        "--drain-timeout",
        "0.2",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("step 2/6 (drain) failed"), "{err}");
    assert!(
        err.contains("restart maintenance cleared, the member is as before"),
        "{err}"
    );
    assert_eq!(fake.updates(), ["tomcat1 vwm=R", "tomcat1 vwm=0"]);
}

#[test]
fn restart_refuses_on_a_build_without_restart_maintenance() {
    let mut t1 = member("tomcat1");
    t1.restarting = None;
    let fake = Fake::start("restart-unsupported", vec![("lb", vec![t1])]);
    let (code, out, err) = fake.run(&["restart", "tomcat1", "--cmd", "echo never"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no restart maintenance (vwm=R); nothing was changed"),
        "{err}"
    );
    assert!(!out.contains("never"), "{out}");
}

#[test]
fn roll_restarts_every_member_in_order() {
    let mut t1 = member("tomcat1");
    t1.on_maintenance = vec![1, 0];
    let fake = Fake::start("roll", vec![("lb", vec![t1, member("tomcat2")])]);
    let cmd = fake.touch_cmd();
    let (code, out, err) =
        fake.run(&["roll", "--balancer", "lb", "--cmd", &cmd, "--pause", "0.05"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("roll lb: 2 members, 2 usable (tomcat1, tomcat2)"),
        "{out}"
    );
    assert!(out.contains("roll lb: [1/2] tomcat1"), "{out}");
    assert!(out.contains("  [tomcat2] restarting tomcat2"), "{out}");
    assert!(
        out.contains("roll lb: done, 2 of 2 members restarted"),
        "{out}"
    );
    assert_eq!(
        fake.updates(),
        [
            "tomcat1 vwm=R",
            "tomcat1 vwm=0",
            "tomcat2 vwm=R",
            "tomcat2 vwm=0"
        ]
    );
}

#[test]
fn roll_refuses_with_one_usable_member_and_stops_at_first_failure() {
    let mut t2 = member("tomcat2");
    t2.state = "ERR".into();
    let fake = Fake::start("roll-refuse", vec![("lb", vec![member("tomcat1"), t2])]);
    let (code, _, err) = fake.run(&["roll", "-b", "lb", "--cmd", "true"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("refusing to start: only 1 usable member"),
        "{err}"
    );
    assert!(fake.updates().is_empty());

    let fake = Fake::start(
        "roll-fail",
        vec![("lb", vec![member("tomcat1"), member("tomcat2")])],
    );
    let (code, _, err) = fake.run(&["roll", "-b", "lb", "--cmd", "exit 3"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("roll lb: stopped at tomcat1 (1/2, 0 restarted before)"),
        "{err}"
    );
    assert!(err.contains("the command exited with status 3"), "{err}");
    assert_eq!(fake.updates(), ["tomcat1 vwm=R"], "tomcat2 untouched");
}

#[test]
fn unreachable_url_exits_3_and_usage_errors_exit_2() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let out = Command::new(env!("CARGO_BIN_EXE_jkctl"))
        .args([
            "--url",
            &format!("http://127.0.0.1:{port}/jkmanager/"),
            "status",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let out = Command::new(env!("CARGO_BIN_EXE_jkctl"))
        .args(["status"])
        .env_remove("JKCTL_URL")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_jkctl"))
        .args(["restart", "tomcat1"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "--cmd is required");
    let out = Command::new(env!("CARGO_BIN_EXE_jkctl"))
        .args(["--help"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit codes:"));
}

#[test]
fn restart_ready_timeout_when_the_backend_does_not_come_back() {
    // The command "succeeds" but restarts nothing: the module never sees the member ready.
    let fake = Fake::start("restart-ready", two_members());
    let (code, out, err) = fake.run(&[
        "restart",
        "tomcat1",
        "--cmd",
        "echo did nothing",
        "--ready-timeout",
        "0.3",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("step 4/6 restart maintenance cleared"),
        "{out}"
    );
    assert!(err.contains("step 5/6 (ready) failed: ready"), "{err}");
    assert!(err.contains("awaiting readiness"), "{err}");
    assert!(
        err.contains("stays out of rotation until its readiness probes pass"),
        "{err}"
    );
    assert_eq!(fake.updates(), ["tomcat1 vwm=R", "tomcat1 vwm=0"]);
    assert!(fake.member("tomcat1").awaiting_readiness);
}

impl Fake {
    /// The module's `write_requires_token=true` with `token`; `advertise`: its JSON says so.
    fn require_token(&self, token: &str, advertise: bool) {
        let mut m = self.model.lock().expect("model");
        m.token = Some(token.into());
        m.advertise_required = advertise;
    }

    fn writes(&self) -> Vec<String> {
        self.model.lock().expect("model").writes.clone()
    }
}

#[test]
fn with_tokens_required_changes_are_posted_with_the_token() {
    let fake = Fake::start("token-required", two_members());
    fake.require_token("0123456789abcdef0123456789abcdef", true);
    let (code, out, err) = fake.run(&["disable", "tomcat1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(fake.member("tomcat1").activation, "DIS");
    assert_eq!(fake.writes(), ["POST update"], "no GET is tried first");
}

#[test]
fn a_write_refused_for_lack_of_the_token_is_posted_again_with_it() {
    let fake = Fake::start("token-refused", two_members());
    // The JSON shows the token but does not say it is required (as a status read before
    // the property was set, or a token made stale by a graceful restart would).
    fake.require_token("0123456789abcdef0123456789abcdef", false);
    let (code, out, err) = fake.run(&["stop", "tomcat2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(fake.member("tomcat2").activation, "STP");
    assert_eq!(fake.writes(), ["GET update refused", "POST update"]);
    assert_eq!(fake.updates(), ["tomcat2 vwa=S"]);
    // A token that does not work either: one retry, then the refusal is reported (exit 1).
    let fake = Fake::start("token-stale", two_members());
    fake.require_token("0123456789abcdef0123456789abcdef", false);
    fake.model.lock().expect("model").json_token = Some("ffffffffffffffffffffffffffffffff".into());
    let (code, out, err) = fake.run(&["activate", "tomcat1"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("Change refused: the request's token"), "{err}");
    assert_eq!(fake.writes(), ["GET update refused", "POST update refused"]);
}

// ---------- runtime membership ----------

#[test]
fn add_posts_the_member_and_prints_its_name() {
    let fake = Fake::start("add", two_members());
    let (code, out, err) = fake.run(&[
        "add",
        "lb",
        "10.0.0.7:8019",
        "--name",
        "app_3",
        "--route",
        "r3",
        "--template",
        "tomcat1",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "app_3\n", "only the name, for scripts");
    assert_eq!(
        fake.updates(),
        ["add cmd=add&from=list&host=10.0.0.7&name=app_3&port=8019&route=r3&template=tomcat1&w=lb"]
    );
    assert_eq!(fake.writes(), ["GET add"]);
    // The module names it; IPv6 goes without brackets.
    let (code, out, _) = fake.run(&["add", "lb", "[::1]:8009"]);
    assert_eq!(code, 0);
    assert_eq!(out, "lb~4\n");
    assert_eq!(
        fake.updates()[1],
        "add cmd=add&from=list&host=::1&port=8009&w=lb"
    );
    // status shows where they came from.
    let (_, out, _) = fake.run(&["status"]);
    let row = out.lines().find(|l| l.contains("app_3")).unwrap_or("");
    assert!(row.ends_with("runtime  joining"), "{out}");
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.ends_with("config   -")),
        "{out}"
    );
    // The module's refusal: exit 1 with its message.
    let (code, _, err) = fake.run(&["add", "lb", "h:1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no free member slot in balancer 'lb'"),
        "{err}"
    );
    // Unknown balancer and bad arguments: usage errors, nothing sent.
    let (code, _, err) = fake.run(&["add", "nope", "h:1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no balancer nope"), "{err}");
    let (code, _, _) = fake.run(&["add", "lb", "h:99999"]);
    assert_eq!(code, 2);
    let (code, _, _) = fake.run(&["add", "lb", "h:1", "--name", "a.b"]);
    assert_eq!(code, 2);
    assert_eq!(fake.updates().len(), 2);
}

#[test]
fn remove_drains_or_forces() {
    let fake = Fake::start("remove", two_members());
    let (code, out, err) = fake.run(&["remove", "lb", "tomcat2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "lb/tomcat2: draining, removed when idle");
    assert_eq!(
        fake.member("tomcat2").lifecycle.as_deref(),
        Some("draining")
    );
    let (code, out, _) = fake.run(&["remove", "lb", "tomcat2", "--force"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "lb/tomcat2: removed");
    assert_eq!(
        fake.updates(),
        ["remove lb/tomcat2", "remove lb/tomcat2 force"]
    );
    // Gone now: a usage error naming the members left, nothing sent.
    let (code, _, err) = fake.run(&["remove", "lb", "tomcat2"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("balancer lb has no member tomcat2; did you mean tomcat1? (members: tomcat1)"),
        "{err}"
    );
    assert_eq!(fake.updates().len(), 2);
}

#[test]
fn add_and_remove_use_the_token_like_the_other_changes() {
    let fake = Fake::start("membership-token", two_members());
    fake.require_token("0123456789abcdef0123456789abcdef", true);
    let (code, out, err) = fake.run(&["add", "lb", "h:8009", "--name", "n1"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = fake.run(&["remove", "lb", "n1", "--force"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(fake.writes(), ["POST add", "POST remove"]);

    let fake = Fake::start("membership-token-refused", two_members());
    fake.require_token("0123456789abcdef0123456789abcdef", false);
    let (code, out, err) = fake.run(&["add", "lb", "h:8009"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "lb~3\n");
    assert_eq!(fake.writes(), ["GET add refused", "POST add"]);
}

/// doc/jkctl.1 (the man page the Debian package installs) is what `jkctl man` generates from
/// the command definitions: regenerate it with `jkctl man > doc/jkctl.1` after changing them.
#[test]
fn the_packaged_man_page_is_the_generated_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_jkctl"))
        .arg("man")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../doc/jkctl.1");
    let packaged = std::fs::read_to_string(&page).expect("doc/jkctl.1");
    assert!(
        packaged == String::from_utf8_lossy(&out.stdout),
        "doc/jkctl.1 is stale: run `jkctl man > doc/jkctl.1`"
    );
}
