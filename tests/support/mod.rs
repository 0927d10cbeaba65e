//! Test harness: a private Apache httpd (Debian's `apache2`) loading our freshly built
//! mod_jk.so, with its own ServerRoot, PidFile, ErrorLog and loopback port in a temporary
//! directory (its httpd.conf from `apache-conf/private-httpd.conf.in`, the template `make demo`
//! and `make bench` fill in too). Every instance is stopped by its own pid file when dropped.
//! [`http`] is the client side, [`tomcat`] real Tomcat backends.
#![allow(dead_code, clippy::unwrap_used)]

pub mod browser;
pub mod http;
pub mod testers;
pub mod tomcat;
pub mod zookeeper;
pub use http::*;
use jk_ajp_testserver::{Behaviour, Response as AjpResponse, TestServer};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mpm {
    Event,
    Prefork,
}

/// Two `#[test]`s for a test body that takes the MPM: `$name::event` and `$name::prefork` run
/// `$body(Mpm::Event)` and `$body(Mpm::Prefork)`.
#[macro_export]
macro_rules! test_each_mpm {
    ($name:ident: $body:ident) => {
        mod $name {
            #[test]
            fn event() {
                super::$body($crate::support::Mpm::Event)
            }

            #[test]
            fn prefork() {
                super::$body($crate::support::Mpm::Prefork)
            }
        }
    };
}

pub fn apache2() -> String {
    std::env::var("APACHE2").unwrap_or_else(|_| "/usr/sbin/apache2".into())
}

pub fn modules_dir() -> String {
    std::env::var("APACHE_MODULES").unwrap_or_else(|_| "/usr/lib/apache2/modules".into())
}

/// Our module, as cargo built it next to this test binary (or `MOD_JK_SO`).
pub fn module_so() -> PathBuf {
    if let Ok(p) = std::env::var("MOD_JK_SO") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target/<profile>/libmod_jk.so
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let so = profile_dir.join("libmod_jk.so");
    assert!(
        so.exists(),
        "{} not built (run `cargo build` first)",
        so.display()
    );
    // `cargo test` does not rebuild a cdylib: refuse to test a module older than its sources.
    let built = std::fs::metadata(&so).and_then(|m| m.modified()).unwrap();
    if let Some(src) = newest_source(&repo()) {
        assert!(
            built >= src,
            "{} is older than the sources: run `cargo build` (make test does) before the tests",
            so.display()
        );
    }
    so
}

/// The newest modification time of the module's Rust and C sources.
fn newest_source(root: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    let mut dirs = vec![root.join("src")];
    // Only the workspace crates the module links ([dependencies] of the root package).
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let deps = manifest.split("\n[dependencies]\n").nth(1).unwrap_or("");
    let deps = deps.split("\n[").next().unwrap_or("");
    for line in deps.lines() {
        if let Some(name) = line.split('.').next().filter(|n| n.starts_with("jk-")) {
            dirs.push(root.join("crates").join(name.trim()).join("src"));
        }
    }
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p
                .extension()
                .is_some_and(|x| x == "rs" || x == "c" || x == "h")
            {
                let t = e.metadata().and_then(|m| m.modified()).ok();
                newest = newest.max(t);
            }
        }
    }
    newest
}

/// The repository root (for fixtures).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn seed(name: &str) -> PathBuf {
    repo().join("tests/fixtures/seed").join(name)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A private directory for one httpd; removed on drop unless KEEP_TEST_DIRS is set.
pub struct TestDir(pub PathBuf);

impl TestDir {
    pub fn new(tag: &str) -> TestDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("modjk-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("htdocs")).unwrap();
        std::fs::create_dir_all(p.join("logs")).unwrap();
        // httpd's children run as www-data when the tests run as root.
        use std::os::unix::fs::PermissionsExt;
        for d in [p.clone(), p.join("htdocs"), p.join("logs")] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        TestDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.join(name)).unwrap_or_default()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_TEST_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Debian's original mod_jk 1.2.48, the oracle for compatibility tests.
pub fn debian_mod_jk() -> PathBuf {
    let p = PathBuf::from(
        std::env::var("DEBIAN_MOD_JK").unwrap_or_else(|_| format!("{}/mod_jk.so", modules_dir())),
    );
    assert!(
        p.exists(),
        "{} missing: install libapache2-mod-jk (the oracle; `make test` installs it)",
        p.display()
    );
    p
}

/// The full httpd.conf for `body` (the test's own directives) under `dir`.
pub fn httpd_conf(dir: &Path, port: u16, mpm: Mpm, body: &str) -> String {
    httpd_conf_with(dir, port, mpm, body, &module_so())
}

/// `apache-conf/private-httpd.conf.in` filled in: ServerRoot `dir`, 127.0.0.1:`port`, the MPM
/// with `mpm_conf` as its sizing.
pub fn private_httpd_conf(dir: &Path, port: u16, mpm: &str, mpm_conf: &str) -> String {
    let user = if is_root() {
        "User www-data\nGroup www-data"
    } else {
        ""
    };
    include_str!("../../apache-conf/private-httpd.conf.in")
        .replace("@DIR@", &dir.display().to_string())
        .replace("@PORT@", &port.to_string())
        .replace("@LOGLEVEL@", "info")
        .replace("@MODULES@", &modules_dir())
        .replace("@MPM_CONF@", mpm_conf)
        .replace("@MPM@", mpm)
        .replace("@USER@", user)
}

/// As [`httpd_conf`], loading the module at `so` (ours or Debian's), with the tests' small MPM
/// sizing and an access log that names the worker of each request.
pub fn httpd_conf_with(dir: &Path, port: u16, mpm: Mpm, body: &str, so: &Path) -> String {
    let (name, sizing) = match mpm {
        Mpm::Event => (
            "event",
            "StartServers 2\nServerLimit 2\nThreadsPerChild 8\nMaxRequestWorkers 16\n\
             MinSpareThreads 8\nMaxSpareThreads 16\nThreadLimit 8",
        ),
        Mpm::Prefork => (
            "prefork",
            "StartServers 2\nMinSpareServers 2\nMaxSpareServers 3\nMaxRequestWorkers 4\nServerLimit 4",
        ),
    };
    format!(
        "{}LoadModule jk_module {}\n\
         LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b \\\"%{{JK_WORKER_NAME}}n\\\" \\\"%{{JK_WORKER_TYPE}}n\\\"\" jk\n\
         CustomLog \"{}/logs/access.log\" jk\n\
         {body}\n",
        private_httpd_conf(dir, port, name, sizing),
        so.display(),
        dir.display(),
    )
}

/// Writes `workers` as `dir`/workers.properties and returns the httpd.conf lines that load it
/// and log to logs/mod_jk.log, then `directives`.
pub fn jk_body(dir: &TestDir, workers: &str, directives: &str) -> String {
    let wp = dir.write("workers.properties", workers);
    format!(
        "JkWorkersFile {}\nJkLogFile logs/mod_jk.log\n{directives}",
        wp.display()
    )
}

/// The seed's workers.properties with each `(line, replacement)` applied; panics unless each
/// line is there exactly once (the seed changed shape).
pub fn seed_workers_with(replace: &[(&str, &str)]) -> String {
    let text = std::fs::read_to_string(seed("workers.properties")).unwrap();
    for (line, _) in replace {
        let n = text.lines().filter(|l| l == line).count();
        assert_eq!(n, 1, "{line:?} {n} times in the seed's workers.properties");
    }
    text.lines()
        .map(|l| {
            let new = replace.iter().find(|(line, _)| *line == l);
            format!("{}\n", new.map_or(l, |(_, with)| with))
        })
        .collect()
}

/// The seed's workers.properties with tomcat1 and tomcat2 at 127.0.0.1:`ports` (recording AJP
/// servers), and `more` replacements.
pub fn seed_workers_at(ports: [u16; 2], more: &[(&str, &str)]) -> String {
    let [p1, p2] = [1, 2].map(|n| format!("worker.tomcat{n}.port={}", ports[n - 1]));
    let mut replace = vec![
        ("worker.tomcat1.host=app", "worker.tomcat1.host=127.0.0.1"),
        ("worker.tomcat2.host=app2", "worker.tomcat2.host=127.0.0.1"),
        ("worker.tomcat1.port=8009", p1.as_str()),
        ("worker.tomcat2.port=8009", p2.as_str()),
    ];
    replace.extend_from_slice(more);
    seed_workers_with(&replace)
}

/// The seed's workers.properties with its Tomcat hosts `app` and `app2` at 127.0.0.2 and
/// 127.0.0.3 (what `make demo` and the end-to-end tests run; no /etc/hosts entries needed).
pub fn seed_workers_on_loopback() -> String {
    seed_workers_with(&[
        ("worker.tomcat1.host=app", "worker.tomcat1.host=127.0.0.2"),
        ("worker.tomcat2.host=app2", "worker.tomcat2.host=127.0.0.3"),
    ])
}

/// The seed's httpd configuration with `workers` as its workers.properties: JkWorkersFile,
/// JkLogFile, JkShmFile and the seed's 000-default.conf (its `<VirtualHost *:80>`).
pub fn seed_httpd_body(workers: &Path) -> String {
    format!(
        "JkWorkersFile {}\nJkLogFile logs/mod_jk.log\nJkShmFile logs/jk-runtime-status\nInclude {}\n",
        workers.display(),
        seed("000-default.conf").display()
    )
}

/// A recording AJP server on `addr` ("127.0.0.1:0": any port) that answers every request
/// with `member=NAME`, so a test sees which member of a balancer served it.
pub fn member_server(name: &str, addr: &str) -> TestServer {
    let answer = AjpResponse::text(200, "OK", &format!("member={name}\n"));
    TestServer::start(addr, Behaviour::Respond(answer)).unwrap()
}

/// The member a [`member_server`] answer names ("?" for any other answer).
pub fn member_of(r: &Response) -> String {
    let text = r.text();
    text.trim()
        .strip_prefix("member=")
        .unwrap_or("?")
        .to_string()
}

/// httpd on 127.0.0.1:80, the port of the seed's `<VirtualHost *:80>`, with the seed's
/// configuration ([`seed_httpd_body`]) and its Tomcats on loopback
/// ([`seed_workers_on_loopback`]) plus `extra_props`; `directives` come first. `so`: ours or
/// Debian's module.
pub fn seed_httpd(tag: &str, so: &Path, extra_props: &str, directives: &str) -> Httpd {
    let dir = TestDir::new(tag);
    let wp = dir.write(
        "workers.properties",
        &(seed_workers_on_loopback() + extra_props),
    );
    let body = format!("{directives}{}", seed_httpd_body(&wp));
    Httpd::try_start_on(dir, Mpm::Event, &body, so, 80)
        .unwrap_or_else(|e| panic!("httpd on 127.0.0.1:80 (the seed's vhost port): {e}"))
}

/// Result of `apache2 -t`.
pub struct ConfigTest {
    pub ok: bool,
    pub output: String,
}

/// Runs `apache2 -t` on `body`.
pub fn configtest(dir: &TestDir, body: &str) -> ConfigTest {
    let conf = dir.write(
        "httpd.conf",
        &httpd_conf(dir.path(), free_port(), Mpm::Event, body),
    );
    let out = Command::new(apache2())
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .output()
        .unwrap();
    ConfigTest {
        ok: out.status.success(),
        output: output_text(&out),
    }
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A running private httpd.
pub struct Httpd {
    pub dir: TestDir,
    pub port: u16,
    pub conf: PathBuf,
    pub mpm: Mpm,
}

impl Httpd {
    /// Starts httpd with `body`; panics with the error log if it does not come up.
    pub fn start(tag: &str, mpm: Mpm, body: &str) -> Httpd {
        Self::try_start(TestDir::new(tag), mpm, body).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts httpd with `workers` as its workers.properties and `directives` after the
    /// JkWorkersFile and JkLogFile lines ([`jk_body`]).
    pub fn with_workers(tag: &str, mpm: Mpm, workers: &str, directives: &str) -> Httpd {
        let dir = TestDir::new(tag);
        let body = jk_body(&dir, workers, directives);
        Self::try_start(dir, mpm, &body).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts httpd in an existing directory (so tests can put files there first).
    pub fn try_start(dir: TestDir, mpm: Mpm, body: &str) -> Result<Httpd, String> {
        Self::try_start_with(dir, mpm, body, &module_so())
    }

    /// Starts httpd loading the module at `so` (ours or Debian's original).
    pub fn try_start_with(dir: TestDir, mpm: Mpm, body: &str, so: &Path) -> Result<Httpd, String> {
        Self::try_start_on(dir, mpm, body, so, free_port())
    }

    /// Starts httpd listening on 127.0.0.1:`port`.
    pub fn try_start_on(
        dir: TestDir,
        mpm: Mpm,
        body: &str,
        so: &Path,
        port: u16,
    ) -> Result<Httpd, String> {
        let conf = dir.write(
            "httpd.conf",
            &httpd_conf_with(dir.path(), port, mpm, body, so),
        );
        let out = Command::new(apache2())
            .arg("-f")
            .arg(&conf)
            .arg("-k")
            .arg("start")
            .output()
            .unwrap();
        let h = Httpd {
            dir,
            port,
            conf,
            mpm,
        };
        if !out.status.success() {
            return Err(format!(
                "apache2 -k start failed: {}\nerror log:\n{}",
                output_text(&out),
                h.error_log()
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if h.pid().is_some() && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(h);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "httpd did not come up on port {port}\nerror log:\n{}",
            h.error_log()
        ))
    }

    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.path().join("httpd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn error_log(&self) -> String {
        self.dir.read("logs/error.log")
    }

    pub fn access_log(&self) -> String {
        self.dir.read("logs/access.log")
    }

    /// `apache2 -k graceful`, then waits until the new generation answers.
    pub fn graceful(&self) {
        let out = Command::new(apache2())
            .arg("-f")
            .arg(&self.conf)
            .arg("-k")
            .arg("graceful")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "graceful failed: {}",
            output_text(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    /// Sends one HTTP/1.0 request and returns the parsed response.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        http_request(self.port, method, path, headers)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[])
    }

    /// GET in session `sid` (its JSESSIONID cookie; the route after its dot).
    pub fn get_in_session(&self, path: &str, sid: &str) -> Response {
        self.request("GET", path, &[("Cookie", &format!("JSESSIONID={sid}"))])
    }
}

impl Drop for Httpd {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Httpd {
    /// Stops httpd by its pid (SIGTERM, SIGKILL after 10 s) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(pid) = self.pid() {
            // SAFETY: signalling the httpd parent this test started (pid from its own file).
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            // SAFETY: kill(pid, 0) only probes for existence.
            while Instant::now() < deadline && unsafe { libc::kill(pid, 0) } == 0 {
                std::thread::sleep(Duration::from_millis(50));
            }
            // SAFETY: as above; last resort so no test leaves a server behind.
            if unsafe { libc::kill(pid, 0) } == 0 {
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

/// Waits until `f` holds or the deadline passes.
pub fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// Lines for one host name in /etc/hosts (a name that resolves to loopback addresses the test
/// chooses, changed during the test: DNS discovery), removed when dropped. The
/// file is written in place: /etc/hosts may be a bind mount that cannot be replaced. Lines a
/// crashed earlier run left for the name are dropped first.
pub struct EtcHosts {
    name: String,
}
impl EtcHosts {
    pub fn new(name: &str) -> EtcHosts {
        let h = EtcHosts { name: name.into() };
        h.set(&[]);
        h
    }

    /// The name resolves to `addrs` from now on (none: it does not resolve). Only this name's
    /// lines change: the file is read again under a lock every time, so guards of other
    /// names (other tests, in this process or another) keep theirs.
    pub fn set(&self, addrs: &[&str]) {
        let _lock = HostsLock::take();
        let mut text: String = std::fs::read_to_string("/etc/hosts")
            .unwrap()
            .lines()
            .filter(|l| !l.split_whitespace().skip(1).any(|n| n == self.name))
            .map(|l| format!("{l}\n"))
            .collect();
        for a in addrs {
            text.push_str(&format!("{a} {}\n", self.name));
        }
        // Rewritten in place (a container's /etc/hosts is a bind mount: no rename).
        std::fs::write("/etc/hosts", text).expect("/etc/hosts is writable (the tests run as root)");
    }
}
impl Drop for EtcHosts {
    fn drop(&mut self) {
        self.set(&[]);
    }
}

/// An exclusive flock on /tmp/jkrs-etc-hosts.lock while /etc/hosts is read and rewritten.
struct HostsLock(std::fs::File);
impl HostsLock {
    fn take() -> HostsLock {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open("/tmp/jkrs-etc-hosts.lock")
            .unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this guard owns; released when the file closes.
        unsafe {
            libc::flock(f.as_raw_fd(), libc::LOCK_EX);
        }
        HostsLock(f)
    }
}

/// The status worker's JSON (`/jk/?mime=json`, where the membership and registry tests mount
/// it).
pub fn jk_status(h: &Httpd) -> serde_json::Value {
    let r = h.get("/jk/?mime=json");
    serde_json::from_str(&r.text()).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
}

/// Balancer `lb` in [`jk_status`].
pub fn jk_lb(h: &Httpd, lb: &str) -> serde_json::Value {
    let s = jk_status(h);
    s["balancers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == lb)
        .unwrap_or_else(|| panic!("no balancer {lb}: {s}"))
        .clone()
}

/// Member `name` of balancer `lb` in [`jk_status`], if listed.
pub fn jk_member(h: &Httpd, lb: &str, name: &str) -> Option<serde_json::Value> {
    jk_lb(h, lb)["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .cloned()
}

/// Waits (at most `secs`, polling every 20 ms) until `f` holds; returns how long it took.
/// Fails with the status JSON and the tail of mod_jk.log.
pub fn eventually(secs: u64, what: &str, h: &Httpd, f: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what} not within {secs} s\nstatus: {}\nmod_jk.log:\n{}",
            jk_status(h),
            tail(&h.dir.read("logs/mod_jk.log"), 4000)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}
