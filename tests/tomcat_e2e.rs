#![allow(clippy::unwrap_used)]
//! End to end: a real httpd loading our mod_jk in front of a real Tomcat 10, over AJP13.
//!
//! The whole scenario runs twice: once with the Tomcat AJP connector requiring
//! `secret="s3cret"` (and `worker.tomcat.secret=s3cret`), once with `secretRequired="false"`
//! and no secret. Per scenario one Tomcat (its own loopback address, AJP port 8009) serves
//! - an event-MPM httpd with `JkMount /app/* tomcat` (reply_timeout=500, retries=1): sessions,
//!   10 MB download and upload, form POST, redirect, 404, reply timeout ⇒ 504, the request as
//!   Tomcat sees it, and the secret (a wrong or missing one gets Tomcat's 403);
//! - a prefork httpd with exactly one child: its VmRSS while it serves a 10 MB download and a
//!   10 MB upload (printed, must grow by less than 2 MB).
//!
//! Every step runs even when an earlier one failed; the test prints a pass/fail line per step
//! and fails at the end with the failed steps' messages.

mod support;

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use support::tomcat::{
    byte_sum, crc32, echo_attrs, echo_headers, field, pattern, Tomcat, TomcatOptions, STATIC_TXT,
};
use support::{http_request_to, tail, Httpd, Mpm, Response};

const SECRET: &str = "s3cret";
const TEN_MB: usize = 10 * 1024 * 1024;
const AJP_PORT: u16 = 8009;

// ---------------------------------------------------------------------------------------
// Step runner: every step runs; failures are collected and reported together.

struct Steps {
    scenario: String,
    results: Vec<(String, Duration, Option<String>)>,
}

impl Steps {
    fn new(scenario: &str) -> Steps {
        Steps {
            scenario: scenario.to_string(),
            results: Vec::new(),
        }
    }

    fn run(&mut self, step: &str, f: impl FnOnce()) {
        let t = Instant::now();
        let r = std::panic::catch_unwind(AssertUnwindSafe(f));
        let took = t.elapsed();
        let err = r.err().map(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(non-string panic)".into())
        });
        println!(
            "[{}] {step}: {} ({took:.2?})",
            self.scenario,
            if err.is_none() { "PASS" } else { "FAIL" }
        );
        self.results.push((step.to_string(), took, err));
    }

    fn finish(self) {
        println!("==== {} summary", self.scenario);
        for (step, took, err) in &self.results {
            println!(
                "  {:4} {step} ({took:.2?})",
                if err.is_none() { "PASS" } else { "FAIL" }
            );
        }
        let failed: Vec<String> = self
            .results
            .iter()
            .filter_map(|(step, _, err)| err.as_ref().map(|e| format!("--- {step}:\n{e}")))
            .collect();
        assert!(
            failed.is_empty(),
            "[{}] {} step(s) failed:\n{}",
            self.scenario,
            failed.len(),
            failed.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// Starts the scenario's Tomcat and compiles every JSP of both contexts (ROOT and /app)
/// over the HTTP connector, so that no request through httpd (reply_timeout=500) waits for
/// Jasper.
fn start_tomcat(addr: &str, secret: Option<&str>, tag: &str) -> Tomcat {
    let mut opts = TomcatOptions::new(addr, AJP_PORT).tag(tag);
    if let Some(s) = secret {
        opts = opts.secret(s);
    }
    let t = Tomcat::start_or_panic(opts);
    let warm = t.warm_up();
    // The static 10 MB file (DefaultServlet) next to the JSPs of /app.
    t.generate_file("/app/big.bin", TEN_MB);
    println!(
        "tomcat {} (secret: {}) started in {:.2?}, JSPs compiled in {warm:.2?}",
        t.ajp_addr(),
        secret.unwrap_or("none"),
        t.startup_time()
    );
    t
}

/// workers.properties: `tomcat` (the mounted worker, with the scenario's secret), plus
/// `wrongsecret` (secret "wrong") and `nosecret` (none) on the same Tomcat.
fn workers_properties(t: &Tomcat, secret: Option<&str>, tomcat_extra: &str) -> String {
    let mut w = String::from("worker.list=tomcat,wrongsecret,nosecret\n");
    for name in ["tomcat", "wrongsecret", "nosecret"] {
        w.push_str(&format!(
            "worker.{name}.type=ajp13\nworker.{name}.host={}\nworker.{name}.port={}\n",
            t.address(),
            t.ajp_port()
        ));
    }
    if let Some(s) = secret {
        w.push_str(&format!("worker.tomcat.secret={s}\n"));
    }
    w.push_str("worker.wrongsecret.secret=wrong\n");
    w.push_str(tomcat_extra);
    w
}

/// httpd with the workers above: `/app/*` → tomcat, `/static.txt` → wrongsecret,
/// `/echo.jsp` → nosecret (both ROOT context pages), plus `extra` directives.
fn start_httpd(tag: &str, mpm: Mpm, workers: &str, extra: &str) -> Httpd {
    Httpd::with_workers(
        tag,
        mpm,
        workers,
        &format!(
            "JkLogLevel info\n\
             JkMount /app/* tomcat\n\
             JkMount /static.txt wrongsecret\n\
             JkMount /echo.jsp nosecret\n\
             {extra}\n"
        ),
    )
}

/// Evidence for a failure: the response head, httpd's error log, mod_jk.log, access logs.
fn evidence(h: &Httpd, t: &Tomcat, r: Option<&Response>) -> String {
    let mut s = String::new();
    if let Some(r) = r {
        let body = r.text();
        s.push_str(&format!(
            "response: {} headers {:?} body ({} bytes): {:?}\n",
            r.status_line,
            r.headers,
            r.body.len(),
            tail(&body, 1500)
        ));
    }
    s.push_str(&format!(
        "---- httpd error.log\n{}\n---- mod_jk.log\n{}\n---- httpd access.log\n{}\n\
         ---- tomcat access.log\n{}\n",
        tail(&h.error_log(), 4000),
        tail(&h.dir.read("logs/mod_jk.log"), 6000),
        tail(&h.access_log(), 2000),
        tail(&t.access_log(), 2000)
    ));
    s
}

/// Whether a line of Tomcat's access log satisfies `pred` within 5 s (the AccessLogValve
/// writes its line after the response went out, so the client can be faster).
fn tomcat_logged(t: &Tomcat, pred: impl Fn(&str) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if t.access_log().lines().any(&pred) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A request with a body (Content-Length) to httpd.
fn send(h: &Httpd, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    http_request_to("127.0.0.1", h.port, method, path, headers, Some(body))
}

/// A binary POST of `data` to upload.jsp through httpd.
fn upload(h: &Httpd, data: &[u8]) -> Response {
    let octets = [("Content-Type", "application/octet-stream")];
    send(h, "POST", "/app/upload.jsp", &octets, data)
}

fn no_crash(h: &Httpd) {
    let log = h.error_log();
    assert!(
        !log.contains("exit signal"),
        "a child crashed (exit signal):\n{}",
        tail(&log, 6000)
    );
    assert!(
        !log.to_ascii_lowercase().contains("panic"),
        "panic in the error log:\n{}",
        tail(&log, 6000)
    );
}

/// A `/proc/<pid>/status` field in kB (VmRSS, VmHWM).
fn proc_status_kb(pid: i32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status:\n{status}"))
}

/// Pids whose parent is `ppid`.
fn children_of(ppid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let parent = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if parent == Some(ppid) {
            out.push(pid);
        }
    }
    out.sort_unstable();
    out
}

// ---------------------------------------------------------------------------------------
// The scenario.

fn scenario(name: &str, addr: &str, secret: Option<&str>) {
    let started = Instant::now();
    let t = start_tomcat(addr, secret, &format!("e2e-{name}"));
    let mut steps = Steps::new(name);

    // ---- event MPM, JkMount /app/* tomcat, reply_timeout=500, retries=1
    let workers = workers_properties(
        &t,
        secret,
        "worker.tomcat.reply_timeout=500\nworker.tomcat.retries=1\n",
    );
    let h = start_httpd(&format!("e2e-{name}"), Mpm::Event, &workers, "");
    let h = &h;
    let t = &t;

    steps.run(
        "1 session: Set-Cookie passes, cookie keeps the session",
        || {
            let r = h.get("/app/session.jsp?login=alice");
            let ev = || evidence(h, t, Some(&r));
            assert_eq!(r.status, 200, "first session request\n{}", ev());
            let body = r.text();
            assert_eq!(field(&body, "count").as_deref(), Some("1"), "{}", ev());
            assert_eq!(field(&body, "new").as_deref(), Some("true"), "{}", ev());
            let sid = field(&body, "session").unwrap_or_else(|| panic!("no session\n{}", ev()));
            let cookie = r
                .header("Set-Cookie")
                .unwrap_or_else(|| panic!("no Set-Cookie passed through\n{}", ev()));
            assert!(
                cookie.starts_with(&format!("JSESSIONID={sid}")),
                "Set-Cookie {cookie:?} is not for session {sid}\n{}",
                ev()
            );
            assert!(cookie.contains("Path=/app"), "{cookie}");

            let r2 = h.request(
                "GET",
                "/app/session.jsp",
                &[("Cookie", &format!("JSESSIONID={sid}"))],
            );
            let ev2 = || evidence(h, t, Some(&r2));
            assert_eq!(r2.status, 200, "second session request\n{}", ev2());
            let body2 = r2.text();
            assert_eq!(field(&body2, "session"), Some(sid), "{}", ev2());
            assert_eq!(field(&body2, "count").as_deref(), Some("2"), "{}", ev2());
            assert_eq!(field(&body2, "user").as_deref(), Some("alice"), "{}", ev2());
            assert_eq!(field(&body2, "new").as_deref(), Some("false"), "{}", ev2());
            assert!(
                r2.header("Set-Cookie").is_none(),
                "no new cookie for an existing session\n{}",
                ev2()
            );
        },
    );

    steps.run("2 10 MB download (download.jsp and static big.bin)", || {
        let want = pattern(TEN_MB);
        for path in [
            format!("/app/download.jsp?bytes={TEN_MB}"),
            "/app/big.bin".to_string(),
        ] {
            let c = Instant::now();
            let r = h.get(&path);
            println!("[{name}] GET {path}: {} in {:.2?}", r.status, c.elapsed());
            // The evidence shows the head and the first bytes only.
            let head_only = Response {
                body: r.body[..r.body.len().min(64)].to_vec(),
                ..r.clone()
            };
            let ev = || evidence(h, t, Some(&head_only));
            assert_eq!(r.status, 200, "{path}\n{}", ev());
            assert_eq!(
                r.header("Content-Length"),
                Some(TEN_MB.to_string().as_str()),
                "{path}\n{}",
                ev()
            );
            assert_eq!(r.body.len(), TEN_MB, "{path}: body length\n{}", ev());
            if r.body != want {
                let first = r.body.iter().zip(&want).position(|(a, b)| a != b);
                panic!(
                    "{path}: body differs from the pattern, first difference at byte {first:?}\n{}",
                    ev()
                );
            }
        }
    });

    steps.run("3 10 MB upload (POST upload.jsp)", || {
        let data = pattern(TEN_MB);
        let c = Instant::now();
        let r = upload(h, &data);
        println!(
            "[{name}] POST /app/upload.jsp 10 MB: {} in {:.2?}",
            r.status,
            c.elapsed()
        );
        let ev = || evidence(h, t, Some(&r));
        assert_eq!(r.status, 200, "{}", ev());
        let body = r.text();
        assert_eq!(field(&body, "length"), Some(TEN_MB.to_string()), "{}", ev());
        assert_eq!(
            field(&body, "sum"),
            Some(byte_sum(&data).to_string()),
            "{}",
            ev()
        );
        assert_eq!(
            field(&body, "crc32"),
            Some(crc32(&data).to_string()),
            "{}",
            ev()
        );
    });

    steps.run("5 form POST echoed by form.jsp", || {
        let r = send(
            h,
            "POST",
            "/app/form.jsp?q=1",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"name=J%C3%BCrgen+X&multi=1&multi=2",
        );
        let ev = || evidence(h, t, Some(&r));
        assert_eq!(r.status, 200, "{}", ev());
        let body = r.text();
        assert_eq!(field(&body, "method").as_deref(), Some("POST"), "{}", ev());
        assert_eq!(field(&body, "q").as_deref(), Some("1"), "{}", ev());
        assert_eq!(
            field(&body, "name").as_deref(),
            Some("Jürgen X"),
            "{}",
            ev()
        );
        assert!(body.contains("multi=1\nmulti=2\n"), "{}", ev());
        assert_eq!(field(&body, "count").as_deref(), Some("3"), "{}", ev());
    });

    steps.run("6 redirect: 302 with Location", || {
        let r = h.get("/app/redirect.jsp");
        let ev = || evidence(h, t, Some(&r));
        assert_eq!(r.status, 302, "{}", ev());
        let loc = r
            .header("Location")
            .unwrap_or_else(|| panic!("no Location\n{}", ev()));
        assert!(
            loc.ends_with("/app/session.jsp"),
            "Location {loc}\n{}",
            ev()
        );
        if loc.starts_with("http") {
            assert!(
                loc.contains(&format!("127.0.0.1:{}", h.port)),
                "absolute Location not pointing at httpd: {loc}\n{}",
                ev()
            );
        }
    });

    steps.run("7 missing page: Tomcat's 404 reaches the client", || {
        let r = h.get("/app/no-such-page.jsp");
        let ev = || evidence(h, t, Some(&r));
        assert_eq!(r.status, 404, "{}", ev());
        let r = h.get("/app/no-such-file.txt");
        let ev = || evidence(h, t, Some(&r));
        assert_eq!(r.status, 404, "{}", ev());
        assert!(
            tomcat_logged(t, |l| l
                .contains("\"GET /app/no-such-file.txt HTTP/1.0\" 404")),
            "the 404 is Tomcat's\n{}",
            ev()
        );
    });

    steps.run(
        "8 reply_timeout=500 + slow.jsp?ms=3000 ⇒ 504, next works",
        || {
            let c = Instant::now();
            let r = h.get("/app/slow.jsp?ms=3000");
            let took = c.elapsed();
            println!("[{name}] slow.jsp?ms=3000: {} after {took:.2?}", r.status);
            let ev = || evidence(h, t, Some(&r));
            assert_eq!(r.status, 504, "after {took:?}\n{}", ev());
            assert!(
                took < Duration::from_millis(2500),
                "504 only after {took:?} (reply_timeout 500 ms, retries=1)\n{}",
                ev()
            );
            let r = h.get("/app/session.jsp");
            let ev = || evidence(h, t, Some(&r));
            assert_eq!(r.status, 200, "request after the timeout\n{}", ev());
            assert_eq!(field(&r.text(), "count").as_deref(), Some("1"), "{}", ev());
            let r = h.get("/app/slow.jsp?ms=100");
            let ev = || evidence(h, t, Some(&r));
            assert_eq!(
                (r.status, r.text().as_str()),
                (200, "done\n"),
                "a short slow.jsp\n{}",
                ev()
            );
        },
    );

    steps.run("9 echo.jsp: the request as Tomcat sees it", || {
        let r = h.request(
            "GET",
            "/app/echo.jsp?a=1&b=two%20words",
            &[
                ("X-Custom-Test", "hello e2e"),
                ("User-Agent", "mod_jk-rs-e2e"),
            ],
        );
        let ev = || evidence(h, t, Some(&r));
        assert_eq!(r.status, 200, "{}", ev());
        let body = r.text();
        let f = |k: &str| field(&body, k);
        assert_eq!(f("method").as_deref(), Some("GET"), "{}", ev());
        assert_eq!(f("uri").as_deref(), Some("/app/echo.jsp"), "{}", ev());
        assert_eq!(f("query").as_deref(), Some("a=1&b=two%20words"), "{}", ev());
        assert_eq!(f("protocol").as_deref(), Some("HTTP/1.0"), "{}", ev());
        assert_eq!(f("context_path").as_deref(), Some("/app"), "{}", ev());
        assert_eq!(f("remote_addr").as_deref(), Some("127.0.0.1"), "{}", ev());
        assert_eq!(
            f("server_port"),
            Some(h.port.to_string()),
            "server port must be httpd's\n{}",
            ev()
        );
        assert_eq!(f("server_name").as_deref(), Some("127.0.0.1"), "{}", ev());
        assert_eq!(f("secure").as_deref(), Some("false"), "{}", ev());
        assert_eq!(f("scheme").as_deref(), Some("http"), "{}", ev());
        // AJP_LOCAL_ADDR and AJP_REMOTE_PORT become Tomcat's local address / remote port.
        assert_eq!(f("local_addr").as_deref(), Some("127.0.0.1"), "{}", ev());
        assert!(
            f("remote_port")
                .and_then(|p| p.parse::<u16>().ok())
                .is_some_and(|p| p > 0),
            "remote_port\n{}",
            ev()
        );
        let headers = echo_headers(&body);
        let header = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("X-Custom-Test"), Some("hello e2e"), "{}", ev());
        assert_eq!(header("User-Agent"), Some("mod_jk-rs-e2e"), "{}", ev());
        assert_eq!(
            header("Host"),
            Some(format!("127.0.0.1:{}", h.port).as_str()),
            "{}",
            ev()
        );
        let attrs = echo_attrs(&body);
        assert!(
            attrs
                .iter()
                .any(|(k, v)| k == "JK_LB_ACTIVATION" && v == "ACT"),
            "JK_LB_ACTIVATION=ACT attribute\n{}",
            ev()
        );
        // It really went over AJP (the thread name in Tomcat's access log).
        let thread = format!("ajp-nio-{}-{AJP_PORT}-exec", t.address());
        assert!(
            tomcat_logged(t, |l| l
                .contains("\"GET /app/echo.jsp?a=1&b=two%20words HTTP/1.0\" 200")
                && l.contains(&thread)),
            "echo request not in Tomcat's access log as an AJP request\n{}",
            ev()
        );
    });

    steps.run("9b secret: wrong/missing secret on our side", || {
        // /static.txt → worker `wrongsecret` (secret=wrong), /echo.jsp → `nosecret`.
        let wrong = h.get("/static.txt");
        let missing = h.get("/echo.jsp");
        println!(
            "[{name}] secret=wrong: {} {:?}; no secret: {} {:?}",
            wrong.status_line, wrong.headers, missing.status_line, missing.headers
        );
        match secret {
            Some(_) => {
                assert_eq!(
                    wrong.status,
                    403,
                    "Tomcat requires {SECRET}; a worker with secret=wrong must get 403\n{}",
                    evidence(h, t, Some(&wrong))
                );
                assert_eq!(
                    missing.status,
                    403,
                    "a worker without secret must get 403\n{}",
                    evidence(h, t, Some(&missing))
                );
            }
            None => {
                // secretRequired="false" and no secret: Tomcat ignores whatever is sent.
                assert_eq!(
                    (wrong.status, wrong.text().as_str()),
                    (200, STATIC_TXT),
                    "{}",
                    evidence(h, t, Some(&wrong))
                );
                assert_eq!(missing.status, 200, "{}", evidence(h, t, Some(&missing)));
            }
        }
        // And the mounted worker still works (with the right secret in the secret case).
        let r = h.get("/app/status.jsp?code=200");
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "status=200\n"),
            "{}",
            evidence(h, t, Some(&r))
        );
    });

    steps.run("event httpd: no crash, no panic in error log", || {
        no_crash(h)
    });

    // ---- MEMORY: prefork with exactly one child, which serves everything.
    steps.run(
        "4 MEMORY: child VmRSS while 10 MB download + upload",
        || {
            memory(name, t, secret);
        },
    );

    steps.finish();
    println!("[{name}] scenario took {:.2?}", started.elapsed());
}

fn memory(name: &str, t: &Tomcat, secret: Option<&str>) {
    let workers = workers_properties(t, secret, "");
    let h = start_httpd(
        &format!("e2e-mem-{name}"),
        Mpm::Prefork,
        &workers,
        "StartServers 1\nMinSpareServers 1\nMaxSpareServers 1\nMaxRequestWorkers 1\n\
         MaxConnectionsPerChild 0\n\
         LogFormat \"%P %>s %B \\\"%r\\\"\" pidlog\nCustomLog logs/pid.log pidlog\n",
    );
    let h = &h;
    let parent = h.pid().unwrap();
    let mut kids = Vec::new();
    support::wait_for("the single prefork child", 10, || {
        kids = children_of(parent);
        kids.len() == 1
    });
    let child = kids[0];

    // Warm-up: a small download and upload (AJP connection, pools, buffers).
    let small = pattern(256 * 1024);
    let r = h.get(&format!("/app/download.jsp?bytes={}", small.len()));
    assert!(
        r.status == 200 && r.body == small,
        "warm-up download: {}\n{}",
        r.status_line,
        evidence(h, t, None)
    );
    let r = send(h, "POST", "/app/upload.jsp", &[], &small);
    assert_eq!(
        field(&r.text(), "length"),
        Some(small.len().to_string()),
        "warm-up upload\n{}",
        evidence(h, t, Some(&r))
    );

    let rss0 = proc_status_kb(child, "VmRSS");
    let hwm0 = proc_status_kb(child, "VmHWM");

    let want = pattern(TEN_MB);
    let c = Instant::now();
    let r = h.get(&format!("/app/download.jsp?bytes={TEN_MB}"));
    let dl_time = c.elapsed();
    assert_eq!(r.status, 200, "{}", evidence(h, t, None));
    assert!(
        r.body.len() == TEN_MB && r.body == want,
        "download body: {} bytes, equal to the pattern: {}\n{}",
        r.body.len(),
        r.body == want,
        evidence(h, t, None)
    );
    let rss1 = proc_status_kb(child, "VmRSS");
    let hwm1 = proc_status_kb(child, "VmHWM");

    let c = Instant::now();
    let r = upload(h, &want);
    let ul_time = c.elapsed();
    let body = r.text();
    assert!(
        r.status == 200
            && field(&body, "length") == Some(TEN_MB.to_string())
            && field(&body, "crc32") == Some(crc32(&want).to_string()),
        "upload\n{}",
        evidence(h, t, Some(&r))
    );
    let rss2 = proc_status_kb(child, "VmRSS");
    let hwm2 = proc_status_kb(child, "VmHWM");

    println!(
        "[{name}] MEMORY prefork child {child}: VmRSS before {rss0} kB, after 10 MB download \
         {rss1} kB (+{} kB, {dl_time:.2?}), after 10 MB upload {rss2} kB (+{} kB total, \
         {ul_time:.2?}); VmHWM {hwm0} → {hwm1} → {hwm2} kB",
        rss1 as i64 - rss0 as i64,
        rss2 as i64 - rss0 as i64,
    );

    // Every request was served by the child we measured.
    let pidlog = h.dir.read("logs/pid.log");
    assert_eq!(pidlog.lines().count(), 4, "pid.log:\n{pidlog}");
    assert!(
        pidlog.lines().all(|l| l.starts_with(&format!("{child} "))),
        "requests not all served by child {child}:\n{pidlog}"
    );
    assert_eq!(children_of(parent), vec![child], "the child was replaced");

    let growth = rss2.saturating_sub(rss0).max(rss1.saturating_sub(rss0));
    assert!(
        growth < 2048,
        "httpd child VmRSS grew by {growth} kB (before {rss0}, after download {rss1}, after \
         upload {rss2} kB; VmHWM {hwm0} → {hwm1} → {hwm2} kB): the 10 MB bodies are buffered?\n{}",
        evidence(h, t, None)
    );
    no_crash(h);
}

#[test]
fn tomcat_e2e_with_secret() {
    scenario("secret", "127.0.0.21", Some(SECRET));
}

#[test]
fn tomcat_e2e_without_secret() {
    scenario("nosecret", "127.0.0.22", None);
}
