//! Real Tomcat 10 backends for end-to-end tests (Debian's `tomcat10` package): a typed wrapper
//! over `scripts/tomcat.sh`, the one launcher that `make demo`, `make bench` and `jkctl roll
//! --cmd` use too (see the script for what it writes and how it starts and stops Tomcat).
//!
//! Every [`Tomcat`] gets its own CATALINA_BASE in a temporary directory (conf/, logs/,
//! webapps/ROOT with the test application from `tests/fixtures/tomcat/ROOT`, work/, temp/),
//! an AJP connector on a chosen loopback address/port and an HTTP connector on a free port of
//! the same address (readiness checks, comparison baseline). The script starts `catalina.sh
//! run` (which `exec`s java, so the pid in BASE/tomcat.pid IS the JVM) in its own session and
//! stops it by that pid: SIGTERM (Tomcat's shutdown hook stops it cleanly, saving sessions when
//! persistence is on), SIGKILL to the group after 10 s. The shutdown port is disabled unless
//! asked for.
//!
//! The test application (see the JSPs for details):
//! - `session.jsp[?login=NAME][&logout=1]` → `user=NAME session=ID node=NODE count=N new=BOOL`
//! - `echo.jsp` → `key=value` lines, `header: Name: value`, `attr: name=value`,
//!   `body_length`/`body_sum`/`body_crc32` (any method, PUT included)
//! - `download.jsp?bytes=N[&chunked=1][&flush=K]` → N bytes of [`pattern`]
//! - `upload.jsp` → `length=`, `sum=` ([`byte_sum`]), `crc32=` ([`crc32`])
//! - `form.jsp` → `name=value` per parameter value, then `count=`
//! - `redirect.jsp[?to=URL]` → 302 to session.jsp
//! - `slow.jsp?ms=N[&first=1]` → sleeps, then `done`
//! - `status.jsp?code=N` → that status, body `status=N`
//! - `static.txt` → `hello from static.txt\n`; big static files via [`Tomcat::generate_file`].
#![allow(dead_code, clippy::unwrap_used)]

use super::{free_port_on, http_request_to, tail, Response};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The body of `static.txt` in the test application.
pub const STATIC_TXT: &str = "hello from static.txt\n";

/// CATALINA_HOME: `$TOMCAT_HOME` or Debian's `/usr/share/tomcat10`.
pub fn catalina_home() -> PathBuf {
    PathBuf::from(std::env::var("TOMCAT_HOME").unwrap_or_else(|_| "/usr/share/tomcat10".into()))
}

/// Err with the installation hint when Tomcat 10 is missing (tests fail on it, never skip).
pub fn require_tomcat() -> Result<(), String> {
    let home = catalina_home();
    if !home.join("bin/catalina.sh").exists() || !home.join("lib/catalina.jar").exists() {
        return Err(format!(
            "Tomcat 10 not found in {} (CATALINA_HOME; override with TOMCAT_HOME): \
             run `apt-get install tomcat10` (`make test` installs it); Java 17 is needed too",
            home.display()
        ));
    }
    Ok(())
}

/// The launcher every Tomcat of this repository is started with.
pub fn script() -> PathBuf {
    super::repo().join("scripts/tomcat.sh")
}

/// Where sessions go when the JVM stops (`--sessions` of the script).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sessions {
    /// They end with the JVM.
    None,
    /// `<Manager pathname="SESSIONS.ser"/>`: saved in work/ on stop, read at the next start.
    File,
    /// A PersistentManager with a FileStore in this directory, which Tomcats of one route
    /// share: saved on stop, loaded on demand by whichever Tomcat gets the session next.
    SharedStore(PathBuf),
}

/// How to start one Tomcat: [`TomcatOptions::new`], then the chained setters or the fields
/// (`TomcatOptions { full_jit: true, ..TomcatOptions::new(addr, port) }`).
#[derive(Clone, Debug)]
pub struct TomcatOptions {
    /// Loopback address for both connectors (and the shutdown port), e.g. "127.0.0.2".
    pub ajp_address: String,
    /// AJP port, e.g. 8009.
    pub ajp_port: u16,
    /// HTTP port on `ajp_address`; None picks a free one.
    pub http_port: Option<u16>,
    /// Server shutdown port; -1 disables it (the default: we stop by pid).
    pub shutdown_port: i32,
    /// AJP `secret`; None ⇒ `secretRequired="false"`.
    pub secret: Option<String>,
    /// Engine `jvmRoute` (session id suffix, for sticky sessions).
    pub jvm_route: Option<String>,
    pub sessions: Sessions,
    /// C1 only (`-XX:TieredStopAtLevel=1`, the default: fast startup) or C1+C2.
    pub full_jit: bool,
    /// -Xmx (256m when None).
    pub heap: Option<String>,
    /// More AJP connector attributes (`packetSize`, ...); they replace defaults of the same
    /// name.
    pub ajp_attributes: Vec<(String, String)>,
    /// More HTTP connector attributes.
    pub http_attributes: Vec<(String, String)>,
    /// What session.jsp prints as node= (system property `test.node`); defaults to the
    /// jvmRoute, else "ADDRESS:AJPPORT".
    pub node_name: Option<String>,
    /// More contexts deployed with the same test application besides ROOT; default
    /// `["app"]`, the seed configuration's `JkMount /app/*`.
    pub extra_contexts: Vec<String>,
    /// Name part of the temporary directory.
    pub tag: String,
    /// CATALINA_BASE itself instead of a temporary directory named by `tag` (a shell command
    /// such as `jkctl roll --cmd` may then name it).
    pub base: Option<PathBuf>,
    /// How long to wait for both connectors.
    pub start_timeout: Duration,
}

impl TomcatOptions {
    pub fn new(ajp_address: &str, ajp_port: u16) -> TomcatOptions {
        TomcatOptions {
            ajp_address: ajp_address.to_string(),
            ajp_port,
            http_port: None,
            shutdown_port: -1,
            secret: None,
            jvm_route: None,
            sessions: Sessions::None,
            full_jit: false,
            heap: None,
            ajp_attributes: Vec::new(),
            http_attributes: Vec::new(),
            node_name: None,
            extra_contexts: vec!["app".into()],
            tag: "tomcat".into(),
            base: None,
            start_timeout: Duration::from_secs(
                std::env::var("TOMCAT_START_TIMEOUT")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(60),
            ),
        }
    }

    pub fn secret(mut self, s: &str) -> Self {
        self.secret = Some(s.into());
        self
    }

    pub fn jvm_route(mut self, r: &str) -> Self {
        self.jvm_route = Some(r.into());
        self
    }

    pub fn sessions(mut self, s: Sessions) -> Self {
        self.sessions = s;
        self
    }

    pub fn tag(mut self, t: &str) -> Self {
        self.tag = t.into();
        self
    }

    pub fn base(mut self, dir: &Path) -> Self {
        self.base = Some(dir.to_path_buf());
        self
    }

    /// The options of `scripts/tomcat.sh start BASE`.
    fn script_args(&self, http_port: u16) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--address".into(),
            self.ajp_address.clone(),
            "--ajp-port".into(),
            self.ajp_port.to_string(),
            "--http-port".into(),
            http_port.to_string(),
            "--shutdown-port".into(),
            self.shutdown_port.to_string(),
            "--contexts".into(),
            self.extra_contexts.join(","),
            "--jit".into(),
            if self.full_jit { "full" } else { "c1" }.into(),
            "--sessions".into(),
            match &self.sessions {
                Sessions::None => "none".into(),
                Sessions::File => "file".into(),
                Sessions::SharedStore(dir) => format!("store:{}", dir.display()),
            },
            "--timeout".into(),
            self.start_timeout.as_secs().max(1).to_string(),
        ];
        let optional = [
            ("--route", &self.jvm_route),
            ("--node", &self.node_name),
            ("--secret", &self.secret),
            ("--heap", &self.heap),
        ];
        for (flag, value) in optional {
            if let Some(v) = value {
                a.extend([flag.to_string(), v.clone()]);
            }
        }
        for (flag, list) in [
            ("--ajp-attr", &self.ajp_attributes),
            ("--http-attr", &self.http_attributes),
        ] {
            for (k, v) in list {
                a.extend([flag.to_string(), format!("{k}={v}")]);
            }
        }
        a
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A running Tomcat with its private CATALINA_BASE, stopped (and the base removed unless
/// KEEP_TEST_DIRS is set) when dropped.
pub struct Tomcat {
    opts: TomcatOptions,
    base: PathBuf,
    http_port: u16,
    startup: Duration,
}

impl Tomcat {
    /// Creates the CATALINA_BASE, starts Tomcat and waits until the HTTP connector serves
    /// static.txt and the AJP connector answers a CPing. Err carries the logs.
    pub fn start(opts: TomcatOptions) -> Result<Tomcat, String> {
        require_tomcat()?;
        let base = opts.base.clone().unwrap_or_else(|| {
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            std::env::temp_dir().join(format!(
                "modjk-{}-{}-{}-{n}",
                opts.tag,
                std::process::id(),
                opts.ajp_address
            ))
        });
        let _ = std::fs::remove_dir_all(&base);
        let http_port = match opts.http_port {
            Some(p) => p,
            None => free_port_on(&opts.ajp_address)?,
        };
        let mut t = Tomcat {
            opts,
            base,
            http_port,
            startup: Duration::ZERO,
        };
        let mut args = vec!["start".to_string(), t.base.display().to_string()];
        args.extend(t.opts.script_args(http_port));
        t.launch(&args)?;
        Ok(t)
    }

    /// As [`Tomcat::start`], panicking with the message.
    pub fn start_or_panic(opts: TomcatOptions) -> Tomcat {
        Tomcat::start(opts).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs the script's `start` or `restart`, timing it.
    fn launch(&mut self, args: &[String]) -> Result<(), String> {
        let started = Instant::now();
        let out = self.script(args)?;
        if !out.status.success() {
            return Err(format!(
                "scripts/tomcat.sh {}: {}{}\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout),
                self.logs()
            ));
        }
        self.startup = started.elapsed();
        Ok(())
    }

    fn script(&self, args: &[String]) -> Result<std::process::Output, String> {
        Command::new(script())
            .args(args)
            .output()
            .map_err(|e| format!("running {}: {e}", script().display()))
    }

    fn run(&self, cmd: &str) {
        match self.script(&[cmd.to_string(), self.base.display().to_string()]) {
            Ok(o) if !o.status.success() => {
                eprintln!("tomcat.sh {cmd}: {}", String::from_utf8_lossy(&o.stderr))
            }
            Ok(_) => {}
            Err(e) => eprintln!("{e}"),
        }
    }

    /// The conf/server.xml this Tomcat runs with.
    pub fn server_xml(&self) -> String {
        std::fs::read_to_string(self.base.join("conf/server.xml")).unwrap_or_default()
    }

    /// Stops the JVM by its pid: SIGTERM, SIGKILL to its process group after 10 s. Idempotent.
    pub fn stop(&self) {
        self.run("stop");
    }

    /// Stops and starts again in the same CATALINA_BASE (same ports, compiled JSPs and,
    /// with persistence on, the saved sessions).
    pub fn restart(&mut self) -> Result<(), String> {
        self.launch(&["restart".to_string(), self.base.display().to_string()])
    }

    /// The shell command that restarts this Tomcat, as `jkctl roll --cmd` runs it.
    pub fn restart_command(&self) -> String {
        format!("{} restart {}", script().display(), self.base.display())
    }

    /// Kills the JVM with SIGKILL (a crash: no session persistence, no clean close).
    pub fn kill(&self) {
        self.run("kill");
    }

    /// Whether our JVM is still running.
    pub fn is_running(&self) -> bool {
        self.pid().is_some_and(pid_alive)
    }

    /// The JVM's pid (catalina.sh execs java) from BASE/tomcat.pid, which the script rewrites
    /// on every start (also one that `jkctl roll --cmd` ran); None once stopped.
    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.base.join("tomcat.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// How long the latest start took until both connectors were ready.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    pub fn options(&self) -> &TomcatOptions {
        &self.opts
    }

    /// CATALINA_BASE.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The test application's directory (webapps/ROOT).
    pub fn docroot(&self) -> PathBuf {
        self.base.join("webapps/ROOT")
    }

    pub fn address(&self) -> &str {
        &self.opts.ajp_address
    }

    /// "ADDRESS:PORT" of the AJP connector (for workers.properties host/port).
    pub fn ajp_addr(&self) -> String {
        format!("{}:{}", self.opts.ajp_address, self.opts.ajp_port)
    }

    pub fn ajp_port(&self) -> u16 {
        self.opts.ajp_port
    }

    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// "http://ADDRESS:PORT" of the HTTP connector.
    pub fn http_url(&self) -> String {
        format!("http://{}:{}", self.opts.ajp_address, self.http_port)
    }

    /// Where SESSIONS.ser goes with [`Sessions::File`] (ROOT; other contexts have their own).
    pub fn sessions_file(&self) -> PathBuf {
        self.base.join("work/Catalina/localhost/ROOT/SESSIONS.ser")
    }

    /// Every file in logs/ (catalina.out, localhost.log, access.log), for
    /// failure messages.
    pub fn logs(&self) -> String {
        let mut s = format!(
            "==== Tomcat {} base {}\n",
            self.ajp_addr(),
            self.base.display()
        );
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.base.join("logs"))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            // The tail is what matters; keep failure messages readable.
            s.push_str(&format!("---- {}\n{}\n", f.display(), tail(&text, 20_000)));
        }
        s
    }

    /// logs/access.log, one line per request on either connector:
    /// `%a %{local}p %u "%r" %s %b %D %{JSESSIONID}c %I` — remote address, local port (over
    /// AJP: the port httpd forwarded), user, request line, status, bytes, microseconds,
    /// session cookie, and the thread name, which tells the connector:
    /// `ajp-nio-ADDR-PORT-exec-N` or `http-nio-ADDR-PORT-exec-N`.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.base.join("logs/access.log")).unwrap_or_default()
    }

    /// The file behind URL path `url_path` ("/big.bin" → webapps/ROOT/big.bin,
    /// "/app/big.bin" → webapps/app/big.bin for an extra context).
    pub fn webapp_file(&self, url_path: &str) -> PathBuf {
        let p = url_path.trim_start_matches('/');
        if let Some((first, rest)) = p.split_once('/') {
            if self.opts.extra_contexts.iter().any(|c| c == first) {
                return self.base.join("webapps").join(first).join(rest);
            }
        }
        self.docroot().join(p)
    }

    /// Writes `bytes` bytes of [`pattern`] to the file behind `url_path` (e.g. "/big.bin",
    /// 10 MiB), served by Tomcat's DefaultServlet.
    pub fn generate_file(&self, url_path: &str, bytes: usize) -> PathBuf {
        let p = self.webapp_file(url_path);
        std::fs::write(&p, pattern(bytes)).unwrap();
        p
    }

    /// One HTTP/1.0 request to the HTTP connector.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        http_request_to(
            &self.opts.ajp_address,
            self.http_port,
            method,
            path,
            headers,
            body,
        )
    }

    /// GET over the HTTP connector.
    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], None)
    }

    /// GET over the HTTP connector in session `sid` (its JSESSIONID cookie).
    pub fn get_in_session(&self, path: &str, sid: &str) -> Response {
        let cookie = format!("JSESSIONID={sid}");
        self.request("GET", path, &[("Cookie", &cookie)], None)
    }

    /// Requests every JSP of every context (ROOT and the extra ones) once over HTTP so Jasper
    /// compiles them now rather than during a timing-sensitive test. Returns how long it took.
    pub fn warm_up(&self) -> Duration {
        let t = Instant::now();
        let contexts = std::iter::once(String::new())
            .chain(self.opts.extra_contexts.iter().map(|c| format!("/{c}")));
        for ctx in contexts {
            for page in [
                "session.jsp",
                "echo.jsp",
                "download.jsp?bytes=1",
                "upload.jsp",
                "form.jsp",
                "redirect.jsp",
                "slow.jsp?ms=0",
                "status.jsp?code=200",
            ] {
                let p = format!("{ctx}/{page}");
                let r = self.get(&p);
                assert!(
                    r.status == 200 || r.status == 302,
                    "warm-up {p}: {}\n{}\n{}",
                    r.status_line,
                    r.text(),
                    self.logs()
                );
            }
        }
        t.elapsed()
    }
}

impl Drop for Tomcat {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("KEEP_TEST_DIRS").is_some() {
            eprintln!("keeping Tomcat base {}", self.base.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.base);
        }
    }
}

/// The seed configuration's two Tomcats, as its workers.properties names them once `app` and
/// `app2` are on loopback ([`super::seed_workers_on_loopback`]): `tomcat1` on 127.0.0.2:8009
/// and `tomcat2` on 127.0.0.3:8009 (jvmRoute and node named so), sessions kept across
/// restarts, CATALINA_BASE `dir`/tomcat1 and `dir`/tomcat2. Started side by side, their JSPs
/// compiled.
pub fn seed_tomcats(dir: &Path) -> Vec<Tomcat> {
    let tomcats: Vec<Tomcat> = std::thread::scope(|s| {
        let starting: Vec<_> = [("127.0.0.2", "tomcat1"), ("127.0.0.3", "tomcat2")]
            .into_iter()
            .map(|(addr, route)| {
                let opts = TomcatOptions::new(addr, 8009)
                    .jvm_route(route)
                    .sessions(Sessions::File)
                    .base(&dir.join(route));
                s.spawn(move || Tomcat::start(opts))
            })
            .collect();
        starting
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect::<Vec<_>>()
    })
    .into_iter()
    .map(|t| t.unwrap_or_else(|e| panic!("{e}")))
    .collect();
    for t in &tomcats {
        t.warm_up();
    }
    tomcats
}

/// Sends an AJP13 CPing on a fresh connection to `addr` ("HOST:PORT") and expects a CPong.
pub fn ajp_cping(addr: &str, timeout: Duration) -> Result<(), String> {
    let sa: SocketAddr = addr
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut s = TcpStream::connect_timeout(&sa, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.write_all(&[0x12, 0x34, 0x00, 0x01, 0x0a])
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).map_err(|e| e.to_string())?;
    if buf == [b'A', b'B', 0x00, 0x01, 0x09] {
        Ok(())
    } else {
        Err(format!("unexpected CPing reply {buf:02x?}"))
    }
}

/// The value of `key` in the test pages' output: a `key=value` line (echo.jsp, upload.jsp,
/// form.jsp) or a `key=value` token of a line (session.jsp).
pub fn field(text: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    for line in text.lines() {
        if let Some(v) = line.strip_prefix(&prefix) {
            if !line.contains(' ') || !v.contains('=') {
                return Some(v.to_string());
            }
        }
        for tok in line.split(' ') {
            if let Some(v) = tok.strip_prefix(&prefix) {
                return Some(v.to_string());
            }
        }
    }
    None
}

/// The `header: Name: value` lines of echo.jsp, in order.
pub fn echo_headers(text: &str) -> Vec<(String, String)> {
    echo_lines(text, "header: ", ": ")
}

/// The `attr: name=value` lines of echo.jsp.
pub fn echo_attrs(text: &str) -> Vec<(String, String)> {
    echo_lines(text, "attr: ", "=")
}

/// The (name, value) of each `PREFIX name SEP value` line.
fn echo_lines(text: &str, prefix: &str, sep: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix)?.split_once(sep))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// download.jsp's and generate_file's content: byte i is i % 251.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// The pages' `sum`: the sum of all bytes mod 2^32.
pub fn byte_sum(data: &[u8]) -> u32 {
    data.iter().fold(0u32, |a, &b| a.wrapping_add(u32::from(b)))
}

/// The pages' `crc32`: CRC-32 (IEEE, as java.util.zip.CRC32 and zlib).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Whether a process with this pid runs. A zombie does not: the JVM's parent was the script,
/// and not every init process reaps orphans.
pub fn pid_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| !r.starts_with('Z')))
        .unwrap_or(false)
}
