//! Test harness: a private Apache httpd (Debian's `apache2`) loading our freshly built
//! mod_jk.so, with its own ServerRoot, PidFile, ErrorLog and loopback port in a temporary
//! directory. Every instance is stopped by its own pid file when dropped.
#![allow(dead_code, clippy::unwrap_used)]

pub mod tomcat;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mpm {
    Event,
    Prefork,
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// As [`httpd_conf`], loading the module at `so` (ours or Debian's).
pub fn httpd_conf_with(dir: &Path, port: u16, mpm: Mpm, body: &str, so: &Path) -> String {
    let m = modules_dir();
    let (mpm_load, mpm_conf) = match mpm {
        Mpm::Event => (
            "LoadModule mpm_event_module {m}/mod_mpm_event.so",
            "StartServers 2\nServerLimit 2\nThreadsPerChild 8\nMaxRequestWorkers 16\n\
             MinSpareThreads 8\nMaxSpareThreads 16\nThreadLimit 8",
        ),
        Mpm::Prefork => (
            "LoadModule mpm_prefork_module {m}/mod_mpm_prefork.so",
            "StartServers 2\nMinSpareServers 2\nMaxSpareServers 3\nMaxRequestWorkers 4\nServerLimit 4",
        ),
    };
    let user = if is_root() {
        "User www-data\nGroup www-data\n"
    } else {
        ""
    };
    format!(
        "ServerRoot \"{d}\"\n\
         DefaultRuntimeDir \"{d}\"\n\
         PidFile \"{d}/httpd.pid\"\n\
         ErrorLog \"{d}/logs/error.log\"\n\
         LogLevel info\n\
         Mutex file:{d} default\n\
         Listen 127.0.0.1:{port}\n\
         ServerName 127.0.0.1\n\
         {mpm_load}\n\
         {mpm_conf}\n\
         LoadModule authz_core_module {m}/mod_authz_core.so\n\
         LoadModule authz_host_module {m}/mod_authz_host.so\n\
         LoadModule access_compat_module {m}/mod_access_compat.so\n\
         LoadModule env_module {m}/mod_env.so\n\
         LoadModule setenvif_module {m}/mod_setenvif.so\n\
         LoadModule mime_module {m}/mod_mime.so\n\
         TypesConfig /etc/mime.types\n\
         LoadModule dir_module {m}/mod_dir.so\n\
         LoadModule jk_module {so}\n\
         {user}\
         DocumentRoot \"{d}/htdocs\"\n\
         <Directory \"{d}/htdocs\">\n  Require all granted\n</Directory>\n\
         LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b \\\"%{{JK_WORKER_NAME}}n\\\" \\\"%{{JK_WORKER_TYPE}}n\\\"\" jk\n\
         CustomLog \"{d}/logs/access.log\" jk\n\
         {body}\n",
        d = dir.display(),
        mpm_load = mpm_load.replace("{m}", &m),
        so = so.display(),
    )
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

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A minimal HTTP/1.0 client over a real socket (one request per connection).
pub fn http_request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.0\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    parse_response(&raw).unwrap()
}

/// Like [`http_request`] with a request body (Content-Length set).
pub fn http_request_body(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    parse_response(&raw).unwrap()
}

/// The `JSESSIONID=…` pair a response sets, if any.
pub fn session_cookie(r: &Response) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| {
            v.split(';')
                .next()
                .filter(|c| c.starts_with("JSESSIONID="))
                .map(str::to_string)
        })
}

/// Parses a complete HTTP/1.x response (headers + everything after them as the body).
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no header end in {:?}", String::from_utf8_lossy(raw)))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    Ok(Response {
        status,
        status_line,
        headers,
        body,
    })
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
