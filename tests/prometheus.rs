#![allow(clippy::unwrap_used)]
//! The latency histograms and counters checked by the real thing (Debian's `prometheus`
//! package, which `make test` installs; these tests fail, they do not skip, without it):
//!
//! * `promtool check metrics` accepts what `/jkmanager/?mime=prometheus` of a running httpd
//!   (our module) serves after traffic, without a lint remark, and its replies by class, reply
//!   time and hold time (a request held half a second for a member in restart maintenance)
//!   are what the test did;
//! * a Prometheus server on 127.0.3.3 scrapes that httpd every second, and queries through
//!   its HTTP API (`sum`, `rate`, `increase`, `histogram_quantile`) return the requests the
//!   test sent and the latency the backends were told to take, and every query of the Grafana
//!   dashboard (`contrib/grafana/mod_jk-rs.json`) returns data;
//! * the dashboard's panels drawn by `contrib/grafana/preview.html` in headless Chromium from a
//!   real run (30 s of traffic, t2 failing for 10 s) all draw, none fails (target/dashboard.png;
//!   docs/dashboard.png with UPDATE_DOCS set);
//! * `contrib/prometheus/alerts.yml` passes `promtool check rules`, and its unit tests
//!   (`contrib/prometheus/alerts_test.yml`: a member in error for a minute fires, a recovered
//!   one resolves, held requests piling up, a balancer without a good member) pass
//!   `promtool test rules`.
//!
//! Backends: two AJP test servers on 127.0.3.1 and 127.0.3.2 (free ports).

mod support;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jk_ajp_testserver::{Behaviour, Response as AjpResponse, TestServer};
use support::*;

const PROMETHEUS: &str = "/usr/bin/prometheus";
const PROMTOOL: &str = "/usr/bin/promtool";

fn need(bin: &str) {
    assert!(
        Path::new(bin).exists(),
        "{bin} missing: `make test` installs it (apt-get install prometheus); this test fails \
         rather than skips without it"
    );
}

/// httpd with lb `lb` over t1 (127.0.3.1) and t2 (127.0.3.2) mounted at /app/*, and the status
/// worker at /jkmanager/*; `extra` properties appended.
fn httpd_with(tag: &str, t1: &TestServer, t2: &TestServer, extra: &str) -> Httpd {
    let workers = format!(
        "worker.list=lb,jkstatus\n\
         worker.lb.type=lb\nworker.lb.balance_workers=t1,t2\n\
         worker.t1.host=127.0.3.1\nworker.t1.port={}\nworker.t1.route=t1\n\
         worker.t2.host=127.0.3.2\nworker.t2.port={}\nworker.t2.route=t2\n\
         worker.jkstatus.type=status\n{extra}",
        t1.port(),
        t2.port()
    );
    Httpd::with_workers(
        tag,
        Mpm::Event,
        &workers,
        "JkShmFile logs/jk-shm\nJkMount /app/* lb\nJkMount /jkmanager/* jkstatus\n",
    )
}

fn metrics(h: &Httpd) -> String {
    let r = h.get("/jkmanager/?mime=prometheus");
    assert_eq!(r.status, 200);
    r.text()
}

/// The value of the sample `name{labels}` (labels exactly as rendered), if present.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[test]
fn promtool_accepts_the_exposition_after_traffic() {
    need(PROMTOOL);
    let t1 = TestServer::start("127.0.3.1:0", Behaviour::default()).unwrap();
    let missing = AjpResponse::text(404, "Not Found", "no such page\n");
    let t2 = TestServer::start("127.0.3.2:0", Behaviour::Respond(missing)).unwrap();
    // Holds: a sticky request for a member in restart maintenance waits (up to 8 s) until its
    // readiness probes pass again.
    let h = httpd_with(
        "prom-check",
        &t1,
        &t2,
        "worker.lb.hold_timeout=8000\nworker.lb.probe_interval=100\nworker.t1.ready_probes=2\n",
    );
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(h.get("/app/x").status);
    }
    assert!(
        statuses.iter().all(|s| [200, 404].contains(s)),
        "{statuses:?}"
    );
    // One request held about half a second: t1 in restart maintenance, then back.
    let r = h.get("/jkmanager/?cmd=update&w=lb&sw=t1&vwm=R&mime=txt");
    assert!(r.text().contains("type=OK"), "{}", r.text());
    let port = h.port;
    let held = std::thread::spawn(move || {
        http_request(port, "GET", "/app/held", &[("Cookie", "JSESSIONID=abc.t1")]).status
    });
    std::thread::sleep(Duration::from_millis(500));
    h.get("/jkmanager/?cmd=update&w=lb&sw=t1&vwm=0&mime=txt");
    statuses.push(held.join().unwrap());
    let (ok, missing) = (
        statuses.iter().filter(|&&s| s == 200).count() as f64,
        statuses.iter().filter(|&&s| s == 404).count() as f64,
    );
    let text = metrics(&h);
    let mut child = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {}: {said}\n{text}",
        out.status
    );
    // What the requests were: 2xx from t1, 4xx from t2, all replies in the histograms.
    let lb = "balancer=\"lb\"";
    assert_eq!(
        sample(
            &text,
            &format!("mod_jk_lb_replies_total{{{lb},code=\"2xx\"}}")
        ),
        Some(ok)
    );
    assert_eq!(
        sample(
            &text,
            &format!("mod_jk_lb_replies_total{{{lb},code=\"4xx\"}}")
        ),
        Some(missing)
    );
    assert_eq!(
        sample(
            &text,
            &format!("mod_jk_member_replies_total{{{lb},member=\"t2\",code=\"4xx\"}}")
        ),
        Some(missing)
    );
    assert_eq!(
        sample(
            &text,
            &format!("mod_jk_lb_reply_duration_seconds_bucket{{{lb},le=\"+Inf\"}}")
        ),
        Some(21.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("mod_jk_lb_reply_duration_seconds_count{{{lb}}}")
        ),
        Some(21.0)
    );
    // The held request: one hold of t1, of at least the 500 ms it was in maintenance.
    let t1 = format!("{lb},member=\"t1\"");
    assert_eq!(
        sample(
            &text,
            &format!("mod_jk_member_hold_duration_seconds_count{{{t1}}}")
        ),
        Some(1.0),
        "{text}"
    );
    let held_for = sample(
        &text,
        &format!("mod_jk_member_hold_duration_seconds_sum{{{t1}}}"),
    )
    .unwrap();
    assert!((0.4..8.0).contains(&held_for), "held {held_for} s");
    assert_eq!(
        sample(
            &text,
            &format!("mod_jk_lb_hold_duration_seconds_count{{{lb}}}")
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("mod_jk_member_hold_duration_seconds_bucket{{{t1},le=\"0.25\"}}")
        ),
        Some(0.0)
    );
    println!("promtool check metrics: clean; one request held {held_for} s");
}

/// A Prometheus server of the test, in its own process group, stopped by its pid on drop.
struct Prometheus {
    child: Child,
    dir: TestDir,
    port: u16,
}

const PROM_ADDR: &str = "127.0.3.3";

impl Prometheus {
    /// Scrapes `/jkmanager/?mime=prometheus` of httpd on 127.0.0.1:`httpd_port` every second.
    fn start(httpd_port: u16) -> Prometheus {
        need(PROMETHEUS);
        let dir = TestDir::new("prometheus");
        let config = dir.write(
            "prometheus.yml",
            &format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: jk\n    metrics_path: /jkmanager/\n\
                 \x20   params:\n      mime: [prometheus]\n\
                 \x20   static_configs:\n      - targets: ['127.0.0.1:{httpd_port}']\n"
            ),
        );
        let port = free_port_on(PROM_ADDR).unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={PROM_ADDR}:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap();
        let mut p = Prometheus { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(st)) = p.child.try_wait() {
                panic!("prometheus exited ({st}): {}", p.dir.read("prometheus.log"));
            }
            if std::net::TcpStream::connect((PROM_ADDR, port)).is_ok() {
                let r = http_request_to(PROM_ADDR, port, "GET", "/-/ready", &[], None);
                if r.status == 200 {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready within 60 s: {}",
                p.dir.read("prometheus.log")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }

    /// An instant query through the HTTP API: the `data.result` vector.
    fn query(&self, q: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/v1/query?query={}", percent_encode(q));
        let r = http_request_to(PROM_ADDR, self.port, "GET", &path, &[], None);
        let v: serde_json::Value =
            serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{q}: {e}: {}", r.text()));
        assert_eq!(v["status"], "success", "{q}: {v}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The single value `q` returns (None: an empty vector).
    fn value(&self, q: &str) -> Option<f64> {
        let r = self.query(q);
        assert!(r.len() <= 1, "{q}: more than one series: {r:?}");
        r.first()
            .map(|s| s["value"][1].as_str().unwrap().parse().unwrap())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: signalling the process this test started (its own pid).
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn prometheus_scrapes_httpd_and_its_queries_return_the_traffic_sent() {
    // Both backends take 100 ms per reply.
    let t1 = TestServer::start("127.0.3.1:0", Behaviour::Stall { millis: 100 }).unwrap();
    let t2 = TestServer::start("127.0.3.2:0", Behaviour::Stall { millis: 100 }).unwrap();
    let h = httpd_with("prom-scrape", &t1, &t2, "");
    let prom = Prometheus::start(h.port);
    // A first scrape before any traffic: the counters start from a sample at zero.
    let deadline = Instant::now() + Duration::from_secs(60);
    while prom
        .value("sum(mod_jk_lb_replies_total{balancer=\"lb\"})")
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "no scrape of httpd within 60 s: up = {:?}\n{}",
            prom.query("up"),
            prom.dir.read("prometheus.log")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(prom.value("up{job=\"jk\"}"), Some(1.0));

    // 4 clients × 40 requests, spread over a few scrapes.
    const SENT: usize = 160;
    let port = h.port;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                (0..SENT / 4)
                    .filter(|_| http_request(port, "GET", "/app/x", &[]).status == 200)
                    .count()
            })
        })
        .collect();
    let ok: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(ok, SENT, "every request answered 200");

    // Until a scrape after the last request has been stored.
    let total = "sum(mod_jk_lb_replies_total{balancer=\"lb\",code=\"2xx\"})";
    wait_for("prometheus to store the traffic", 30, || {
        prom.value(total) == Some(SENT as f64)
    });
    let by_member: f64 = prom
        .query("sum by (member) (mod_jk_member_reply_duration_seconds_count{balancer=\"lb\"})")
        .iter()
        .map(|s| s["value"][1].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(by_member, SENT as f64);
    // rate() over the whole run: positive; increase() extrapolates a little past the last
    // sample (never below the counter's start at 0), so at least what was sent.
    let rate = prom
        .value("sum(rate(mod_jk_lb_reply_duration_seconds_count{balancer=\"lb\"}[5m]))")
        .unwrap();
    assert!(rate > 0.0, "rate {rate}");
    let increase = prom
        .value("sum(increase(mod_jk_lb_replies_total{balancer=\"lb\"}[5m]))")
        .unwrap();
    assert!(
        (SENT as f64..=SENT as f64 * 1.5).contains(&increase),
        "increase {increase} for {SENT} requests"
    );
    // Every reply took 100 ms and a little (more on a busy machine): the median lies in the
    // (100 ms, 250 ms] bucket, and no quantile below 100 ms.
    let quantile = |q: &str| {
        let v = prom.value(q).unwrap();
        println!("prometheus: {q} = {v:.3}");
        v
    };
    let p50 = quantile(
        "histogram_quantile(0.5, sum by (le) \
         (rate(mod_jk_member_reply_duration_seconds_bucket{member=\"t1\"}[5m])))",
    );
    assert!(p50 > 0.1 && p50 <= 0.25, "p50 {p50}");
    let p99 = quantile(
        "histogram_quantile(0.99, sum by (le) \
         (rate(mod_jk_lb_reply_duration_seconds_bucket{balancer=\"lb\"}[5m])))",
    );
    assert!(p99 > 0.1 && p99 <= 2.5, "p99 {p99}");
    // The mean from _sum / _count: 100 ms plus the way through httpd and back.
    let mean = prom
        .value(
            "sum(mod_jk_lb_reply_duration_seconds_sum{balancer=\"lb\"}) / \
             sum(mod_jk_lb_reply_duration_seconds_count{balancer=\"lb\"})",
        )
        .unwrap();
    assert!((0.099..1.0).contains(&mean), "mean reply time {mean}");
    println!(
        "prometheus: {SENT} requests sent, {by_member} counted, rate {rate:.2}/s, \
         increase {increase:.1}, mean {:.1} ms",
        mean * 1000.0
    );

    // Every query of the Grafana dashboard (its variables set to "All") parses and returns
    // data from this run.
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("contrib/grafana/mod_jk-rs.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for p in dashboard["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            let q = t["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "1m")
                .replace("$instance", ".*")
                .replace("$balancer", ".*")
                .replace("$member", ".*");
            let r = prom.query(&q);
            assert!(
                !r.is_empty(),
                "dashboard panel {}: {q}: no data",
                p["title"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} dashboard queries");
    println!("prometheus: all {checked} queries of the Grafana dashboard return data");
}

#[test]
fn the_alert_rules_pass_promtool_check_and_their_unit_tests() {
    need(PROMTOOL);
    let dir = repo().join("contrib/prometheus");
    for (args, file) in [
        (["check", "rules"], "alerts.yml"),
        (["test", "rules"], "alerts_test.yml"),
    ] {
        let out = Command::new(PROMTOOL)
            .args(args)
            .arg(file)
            .current_dir(&dir)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "promtool {args:?} {file}: {said}");
        println!("promtool {} {file}: {}", args.join(" "), said.trim());
    }
}

/// Serves the files of `dir` (GET /NAME) on `addr`, from a thread of the test, until the test
/// ends; returns the port.
fn serve_dir(addr: &str, dir: std::path::PathBuf) -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind((addr, 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match s.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split(' ').nth(1).unwrap_or("/");
            let name = path.trim_start_matches('/').split('?').next().unwrap_or("");
            let (status, body, kind) = match std::fs::read(dir.join(name)) {
                Ok(b) if !name.contains('/') && !name.is_empty() => (
                    "200 OK",
                    b,
                    if name.ends_with(".html") {
                        "text/html"
                    } else {
                        "application/json"
                    },
                ),
                _ => ("404 Not Found", b"not found".to_vec(), "text/plain"),
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
        }
    });
    port
}

/// The Grafana dashboard's panels drawn from a real run (contrib/grafana/preview.html, in
/// headless Chromium, over a Prometheus that scraped httpd while t2 failed for a while):
/// every panel draws, none fails; saves target/dashboard.png, and docs/dashboard.png (README)
/// when UPDATE_DOCS is set.
#[test]
fn the_dashboard_renders_a_real_run() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let mixed = || {
        Behaviour::Sequence(vec![
            Behaviour::Stall { millis: 5 },
            Behaviour::Stall { millis: 20 },
            Behaviour::Stall { millis: 5 },
            Behaviour::Stall { millis: 60 },
        ])
    };
    let t1 = TestServer::start("127.0.3.1:0", mixed()).unwrap();
    let t2 = TestServer::start("127.0.3.2:0", mixed()).unwrap();
    let h = httpd_with("prom-dash", &t1, &t2, "");
    let prom = Prometheus::start(h.port);
    wait_for("a first scrape", 60, || {
        prom.value("sum(mod_jk_lb_members)").is_some()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (stop, port) = (stop.clone(), h.port);
            std::thread::spawn(move || {
                let end = Instant::now() + Duration::from_secs(90);
                while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                    http_request(port, "GET", "/app/x", &[]);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        })
        .collect();
    // 10 s of traffic, 10 s with t2 failing (its member goes into error), 10 s recovered.
    std::thread::sleep(Duration::from_secs(10));
    t2.set_behaviour(Behaviour::CloseImmediately);
    std::thread::sleep(Duration::from_secs(10));
    t2.set_behaviour(mixed());
    std::thread::sleep(Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    std::thread::sleep(Duration::from_secs(2));

    let port = serve_dir("127.0.3.6", repo().join("contrib/grafana"));
    let mut b = support::browser::Browser::launch();
    b.cdp().call("Page.enable", "{}").unwrap();
    b.cdp()
        .call(
            "Emulation.setDeviceMetricsOverride",
            "{\"width\":1280,\"height\":1020,\"deviceScaleFactor\":1,\"mobile\":false}",
        )
        .unwrap();
    b.navigate(&format!(
        "http://127.0.3.6:{port}/preview.html?prometheus=http://{PROM_ADDR}:{}&minutes=1&rate=10s",
        prom.port
    ));
    let rendered = b.wait_eval(
        "the dashboard preview",
        "document.body ? (document.body.getAttribute('data-rendered') || 'no') : 'no'",
        |v| v != "no",
    );
    eprintln!("dashboard preview: {rendered}");
    assert!(rendered.contains("\"failed\":[]"), "{rendered}");
    let v: serde_json::Value = serde_json::from_str(&rendered).unwrap();
    assert!(v["drawn"].as_u64().unwrap() >= 12, "{rendered}");
    b.screenshot(&repo().join("target/dashboard.png"));
    if std::env::var_os("UPDATE_DOCS").is_some() {
        b.screenshot(&repo().join("docs/dashboard.png"));
    }
}
