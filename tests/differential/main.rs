#![allow(clippy::unwrap_used)]
//! Differential test against Debian's mod_jk 1.2.48 (the oracle): the same raw requests go
//! through httpd + Debian's module and through httpd + ours (same configuration, same port,
//! one after the other; only the LoadModule line differs) to the same recording AJP server.
//! The FORWARD_REQUEST packets must be equal field by field, the request bodies equal (data
//! and body packet sizes), and the client-visible responses equal. A second test sends one
//! request per canned backend answer and compares what the client sees.
//!
//! Every mismatch of a run is collected into ONE assertion message. Differences that are kept
//! on purpose must be listed in [`compare::INTENDED_DIFFERENCES`]; values that legitimately
//! differ between two runs are rewritten in [`compare::normalise_run_specific`] only.
//!
//! This file is the driver; the requests, configurations and backend answers are data in
//! `cases.rs`, the comparison in `compare.rs`, the HTTP client and parser in `tests/support`.

#[path = "../support/mod.rs"]
mod support;

mod cases;
mod compare;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use jk_ajp_testserver::{Behaviour, TestServer};

use cases::{
    backend_answers, jk_config, replace_all, req, requests, vhost_config_a, vhost_config_b,
};
use compare::{compare_observed, observed, show_request, Observed, Report};
use support::*;

/// How long one request may take before its answer counts as cut short.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// Starts httpd (prefork) with `body` and the module `so` on `port` (both runs of a
/// comparison use the same port, one after the other).
fn start_on(tag: &str, port: u16, body: &str, so: &Path) -> Httpd {
    let dir = TestDir::new(tag);
    let static_file = dir.write("htdocs/static.html", "static\n");
    // Same Last-Modified/ETag in both runs.
    std::fs::File::options()
        .write(true)
        .open(&static_file)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000))
        .unwrap();
    Httpd::try_start_on(dir, Mpm::Prefork, body, so, port)
        .unwrap_or_else(|e| panic!("{tag} on port {port}: {e}"))
}

/// `raw` to httpd at `addr`:`port`.
fn send(addr: &str, port: u16, raw: &[u8]) -> Exchange {
    send_raw(addr, port, raw, ANSWER_TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
}

/// One request of a run: its name, the httpd address it goes to, its bytes, the recording
/// server's behaviour while it is answered, and what a failure report adds to the request.
struct Step {
    name: String,
    addr: &'static str,
    raw: Vec<u8>,
    behaviour: Behaviour,
    note: String,
}

impl Step {
    /// A request to 127.0.0.1 with `{HOST}` in it replaced by `host`.
    fn local(name: &str, raw: &[u8], host: &str, behaviour: Behaviour) -> Step {
        Step {
            name: name.to_string(),
            addr: "127.0.0.1",
            raw: replace_all(raw, b"{HOST}", host.as_bytes()),
            behaviour,
            note: String::new(),
        }
    }
}

/// What one module made of every step: the observations, the AJP connections the recording
/// server accepted during each, and the run's log tails for a failure report.
struct Run {
    observed: Vec<Observed>,
    conns: Vec<usize>,
    logs: String,
}

/// Runs every step through httpd with module `so` on `port`; the server's recordings are
/// taken after each request and normalised.
fn run_module(
    tag: &str,
    so: &Path,
    port: u16,
    server: &TestServer,
    body: &str,
    steps: &[Step],
) -> Run {
    let h = start_on(tag, port, body, so);
    server.take_requests();
    let mut run = Run {
        observed: Vec::new(),
        conns: Vec::new(),
        logs: String::new(),
    };
    for step in steps {
        server.set_behaviour(step.behaviour.clone());
        let before = server.connections_accepted();
        let answer = send(step.addr, port, &step.raw);
        // The server records a request before answering it, so once the client has the whole
        // answer every FORWARD_REQUEST of this request is recorded.
        let forwards = server.take_requests();
        run.conns.push(server.connections_accepted() - before);
        run.observed.push(observed(forwards, answer));
    }
    run.logs = finish_run(tag, h);
    run
}

/// The same steps through Debian's module, then ours: same configuration, same port.
fn run_both(tag: &str, port: u16, server: &TestServer, body: &str, steps: &[Step]) -> [Run; 2] {
    [("debian", debian_mod_jk()), ("ours", module_so())]
        .map(|(who, so)| run_module(&format!("{tag}-{who}"), &so, port, server, body, steps))
}

/// Compares both runs step by step into `rep`, with a progress line per step. `conns`: the AJP
/// connections opened for each request are compared too (comparable with one httpd child
/// only).
fn compare_runs(rep: &mut Report, steps: &[Step], [d, o]: &[Run; 2], conns: bool) {
    for (i, step) in steps.iter().enumerate() {
        let name = &step.name;
        let (dx, ox) = (&d.observed[i], &o.observed[i]);
        compare_observed(rep, name, dx, ox);
        if conns {
            let (a, b) = (d.conns[i].to_string(), o.conns[i].to_string());
            rep.check(name, "ajp_connections_accepted", a, b);
        }
        eprintln!(
            "{name:<40} Debian: {:<28} {} conn+{} | ours: {:<28} {} conn+{}",
            dx.seen.status_line,
            forwards_summary(dx),
            d.conns[i],
            ox.seen.status_line,
            forwards_summary(ox),
            o.conns[i]
        );
        if std::env::var_os("DIFFERENTIAL_DUMP").is_some() {
            for (who, x) in [("Debian", dx), ("ours", ox)] {
                for f in &x.forwards {
                    eprintln!("{name} {who}: {:?} body {} bytes", f.decoded, f.body.len());
                }
                eprintln!(
                    "{name} {who}: {:?} {:?}",
                    x.seen.interim, x.seen.status_line
                );
            }
        }
        let request = format!("{}{}", show_request(&step.raw), step.note);
        rep.requests.push((name.clone(), request));
    }
}

/// Prints the intended differences and `summary`, then fails with every mismatch.
fn finish(rep: &Report, what: &str, summary: String, started: Instant, logs: &str) {
    for (case, field, why) in &rep.intended {
        eprintln!("intended difference kept: {case}: {field}: {why}");
    }
    eprintln!(
        "differential ({what}): {summary}, {} mismatches, {:.1}s",
        rep.mismatches.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(rep.mismatches.is_empty(), "{}\n{logs}", rep.text());
}

/// Stops the server of a run after checking no child crashed; returns its log tails for the
/// failure report.
fn finish_run(tag: &str, h: Httpd) -> String {
    let logs = format!(
        "--- {tag} error.log:\n{}\n--- {tag} mod_jk.log (tail):\n{}",
        tail_lines(&h.error_log(), 40),
        tail_lines(&h.dir.read("logs/mod_jk.log"), 40)
    );
    let log = h.error_log();
    assert!(
        !log.contains("exit signal"),
        "{tag}: an httpd child crashed:\n{log}"
    );
    drop(h);
    logs
}

/// "n forward(s) [packet sizes]" for the progress lines.
fn forwards_summary(x: &Observed) -> String {
    let sizes: Vec<String> = x.forwards.iter().map(|f| f.raw.len().to_string()).collect();
    format!("{} forward(s) [{}]", x.forwards.len(), sizes.join(","))
}

/// The last `n` lines of `s`.
fn tail_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The recording AJP server and the request-side configuration ([`jk_config`]) of the request
/// and response tests, on a free port: (server, httpd body, port, `{HOST}`'s value).
fn echo_setup(conf_dir: &TestDir) -> (TestServer, String, u16, String) {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let body = jk_config(conf_dir.path(), server.port());
    let port = free_port();
    (server, body, port, format!("127.0.0.1:{port}"))
}

#[test]
fn forward_requests_equal_debian_mod_jk() {
    let started = Instant::now();
    let conf_dir = TestDir::new("diff-req-conf");
    let (server, body, port, host) = echo_setup(&conf_dir);
    let all = requests();
    assert!(all.len() >= 30, "only {} requests", all.len());
    let steps: Vec<Step> = all
        .iter()
        .map(|c| Step::local(&c.name, &c.raw, &host, Behaviour::Echo))
        .collect();
    let runs = run_both("diff", port, &server, &body, &steps);
    let mut rep = Report::default();
    compare_runs(&mut rep, &steps, &runs, false);
    let forwarded = runs[0].observed.iter().filter(|x| !x.forwards.is_empty());
    let summary = format!(
        "{} requests compared ({} forwarded by Debian's mod_jk)",
        all.len(),
        forwarded.count()
    );
    let logs = format!("{}\n{}", runs[0].logs, runs[1].logs);
    finish(&rep, "requests", summary, started, &logs);
}

#[test]
fn client_visible_responses_equal_debian_mod_jk() {
    let started = Instant::now();
    let answers = backend_answers();
    let conf_dir = TestDir::new("diff-resp-conf");
    let (server, body, port, host) = echo_setup(&conf_dir);
    let steps: Vec<Step> = answers
        .iter()
        .map(|(name, method, answer)| {
            let c = req(name, method, &format!("/app/resp/{name}"), "HTTP/1.1", &[]);
            let behaviour = Behaviour::Respond(answer.clone());
            Step {
                note: format!(
                    "    backend answer: {} {:?} headers {:?} body {} bytes\n",
                    answer.status,
                    answer.reason,
                    answer.headers,
                    answer.body.len()
                ),
                ..Step::local(name, &c.raw, &host, behaviour)
            }
        })
        .collect();
    let runs = run_both("diffr", port, &server, &body, &steps);
    let mut rep = Report::default();
    compare_runs(&mut rep, &steps, &runs, false);
    let summary = format!("{} backend answers compared", answers.len());
    let logs = format!("{}\n{}", runs[0].logs, runs[1].logs);
    finish(&rep, "responses", summary, started, &logs);
}

#[test]
fn jkoptions_equal_debian_mod_jk() {
    let started = Instant::now();
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let conf_dir = TestDir::new("diff-opts-conf");
    let configs = [
        vhost_config_a(conf_dir.path(), server.port()),
        vhost_config_b(conf_dir.path(), server.port()),
    ];
    let mut rep = Report::default();
    let mut all_logs = String::new();
    let mut total = 0;
    for cfg in &configs {
        let port = free_port();
        let n = cfg.name;
        let steps: Vec<Step> = cfg
            .cases
            .iter()
            .map(|c| Step {
                name: format!("{n}:{}", c.name),
                addr: c.addr,
                raw: replace_all(&c.raw, b"{PORT}", port.to_string().as_bytes()),
                behaviour: c.behaviour.clone(),
                note: String::new(),
            })
            .collect();
        let body = cfg
            .body
            .replace("{PORT}", &port.to_string())
            .replace("{MODULES}", &modules_dir());
        let runs = run_both(&format!("diffo{n}"), port, &server, &body, &steps);
        let [dconns, oconns] = [&runs[0].conns, &runs[1].conns];
        compare_runs(&mut rep, &steps, &runs, true);
        // AJP connections opened per vhost (e.g. 5 sequential requests with DisableReuse).
        let mut vhosts: Vec<&str> = Vec::new();
        for c in &cfg.cases {
            let v = c.name.split('/').next().unwrap_or_default();
            if !vhosts.contains(&v) {
                vhosts.push(v);
            }
        }
        for v in vhosts {
            let sum = |conns: &[usize]| -> usize {
                cfg.cases
                    .iter()
                    .zip(conns)
                    .filter(|(c, _)| c.name.starts_with(&format!("{v}/")))
                    .map(|(_, k)| *k)
                    .sum()
            };
            let name = format!("{n}:{v}/*");
            rep.requests.push((
                name.clone(),
                format!("    every request of vhost {v}.test, one after the other\n"),
            ));
            rep.check(
                &name,
                "ajp_connections_accepted_total",
                sum(dconns).to_string(),
                sum(oconns).to_string(),
            );
        }
        total += cfg.cases.len();
        all_logs.push_str(&format!("{}\n{}\n", runs[0].logs, runs[1].logs));
    }
    let summary = format!("{total} requests compared");
    finish(&rep, "JkOptions", summary, started, &all_logs);
}
