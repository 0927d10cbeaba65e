//! Real Tomcat 10 backends for end-to-end tests (Debian's `tomcat10` package).
//!
//! Every [`Tomcat`] gets its own CATALINA_BASE in a temporary directory (conf/, logs/,
//! webapps/ROOT with the test application from `tests/fixtures/tomcat/ROOT`, work/, temp/),
//! an AJP connector on a chosen loopback address/port and an HTTP connector on a free port of
//! the same address (readiness checks, comparison baseline). It runs
//! `$CATALINA_HOME/bin/catalina.sh run` (which `exec`s java, so the child's pid IS the JVM)
//! in its own process group, and is stopped by that pid: SIGTERM (Tomcat's shutdown hook
//! stops it cleanly, writing SESSIONS.ser when persistence is on), SIGKILL to the group after
//! 10 s. The shutdown port is disabled unless asked for.
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

use super::{parse_response, Response};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The body of `static.txt` in the test application.
pub const STATIC_TXT: &str = "hello from static.txt\n";

/// Java flags: small heaps so two Tomcats and httpd fit easily, fast startup.
pub const JAVA_OPTS: &str = "-Djava.awt.headless=true -Xms64m -Xmx256m -Xss512k \
     -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
     -Djava.security.egd=file:/dev/./urandom";

/// CATALINA_HOME: `$TOMCAT_HOME` or Debian's `/usr/share/tomcat10`.
pub fn catalina_home() -> PathBuf {
    PathBuf::from(std::env::var("TOMCAT_HOME").unwrap_or_else(|_| "/usr/share/tomcat10".into()))
}

/// Whether Tomcat 10 is installed (tests should not skip on this: use [`require_tomcat`]).
pub fn tomcat_installed() -> bool {
    catalina_home().join("bin/catalina.sh").exists()
}

/// Err with the installation hint when Tomcat 10 is missing.
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

/// Where Debian keeps the pristine default configuration (world-readable, unlike /etc/tomcat10).
fn debian_conf_file(name: &str) -> Result<PathBuf, String> {
    let candidates = [
        catalina_home().join("etc").join(name),
        PathBuf::from("/etc/tomcat10").join(name),
        catalina_home().join("conf").join(name),
    ];
    candidates
        .iter()
        .find(|p| std::fs::File::open(p).is_ok())
        .cloned()
        .ok_or_else(|| {
            format!(
                "no readable Tomcat default {name} (looked in {candidates:?}): \
                 run `apt-get install tomcat10`"
            )
        })
}

/// The test web application's sources.
pub fn fixture_root() -> PathBuf {
    super::repo().join("tests/fixtures/tomcat/ROOT")
}

/// How to start one Tomcat. Build with [`TomcatOptions::new`] and the chained setters.
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
    /// `<Manager pathname="SESSIONS.ser"/>` (sessions survive [`Tomcat::restart`]).
    pub session_persistence: bool,
    /// AJP `packetSize` (8192 when None).
    pub packet_size: Option<u32>,
    /// More AJP connector attributes; they replace defaults of the same name.
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
            session_persistence: false,
            packet_size: None,
            ajp_attributes: Vec::new(),
            http_attributes: Vec::new(),
            node_name: None,
            extra_contexts: vec!["app".into()],
            tag: "tomcat".into(),
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

    pub fn session_persistence(mut self, on: bool) -> Self {
        self.session_persistence = on;
        self
    }

    pub fn packet_size(mut self, n: u32) -> Self {
        self.packet_size = Some(n);
        self
    }

    pub fn http_port(mut self, p: u16) -> Self {
        self.http_port = Some(p);
        self
    }

    pub fn shutdown_port(mut self, p: i32) -> Self {
        self.shutdown_port = p;
        self
    }

    pub fn ajp_attr(mut self, k: &str, v: &str) -> Self {
        self.ajp_attributes.push((k.into(), v.into()));
        self
    }

    pub fn http_attr(mut self, k: &str, v: &str) -> Self {
        self.http_attributes.push((k.into(), v.into()));
        self
    }

    pub fn node_name(mut self, n: &str) -> Self {
        self.node_name = Some(n.into());
        self
    }

    pub fn extra_contexts(mut self, names: &[&str]) -> Self {
        self.extra_contexts = names.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn tag(mut self, t: &str) -> Self {
        self.tag = t.into();
        self
    }

    pub fn start_timeout(mut self, d: Duration) -> Self {
        self.start_timeout = d;
        self
    }

    fn node(&self) -> String {
        self.node_name
            .clone()
            .or_else(|| self.jvm_route.clone())
            .unwrap_or_else(|| format!("{}:{}", self.ajp_address, self.ajp_port))
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A running Tomcat with its private CATALINA_BASE.
pub struct Tomcat {
    opts: TomcatOptions,
    base: PathBuf,
    http_port: u16,
    child: Option<Child>,
    pid: Option<i32>,
    startup: Duration,
}

impl Tomcat {
    /// Creates the CATALINA_BASE, starts Tomcat and waits until the HTTP connector serves
    /// static.txt and the AJP connector answers a CPing. Err carries the logs.
    pub fn start(opts: TomcatOptions) -> Result<Tomcat, String> {
        require_tomcat()?;
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let base = std::env::temp_dir().join(format!(
            "modjk-{}-{}-{}-{n}",
            opts.tag,
            std::process::id(),
            opts.ajp_address
        ));
        let _ = std::fs::remove_dir_all(&base);
        let http_port = match opts.http_port {
            Some(p) => p,
            None => free_port_on(&opts.ajp_address)?,
        };
        let mut t = Tomcat {
            opts,
            base,
            http_port,
            child: None,
            pid: None,
            startup: Duration::ZERO,
        };
        t.write_base()?;
        t.launch()?;
        Ok(t)
    }

    /// As [`Tomcat::start`], panicking with the message.
    pub fn start_or_panic(opts: TomcatOptions) -> Tomcat {
        Tomcat::start(opts).unwrap_or_else(|e| panic!("{e}"))
    }

    fn write_base(&self) -> Result<(), String> {
        let b = &self.base;
        for d in ["conf", "logs", "temp", "work", "webapps", "lib"] {
            std::fs::create_dir_all(b.join(d)).map_err(|e| format!("mkdir {d}: {e}"))?;
        }
        let copy = |name: &str| -> Result<(), String> {
            let src = debian_conf_file(name)?;
            std::fs::copy(&src, b.join("conf").join(name))
                .map(|_| ())
                .map_err(|e| format!("copy {}: {e}", src.display()))
        };
        copy("web.xml")?;
        // Debian's catalina.properties, plus: scan no jar for TLDs/fragments (faster startup;
        // the test application uses no tag libraries). Later keys win in .properties.
        let props = std::fs::read_to_string(debian_conf_file("catalina.properties")?)
            .map_err(|e| format!("catalina.properties: {e}"))?;
        write(
            &b.join("conf/catalina.properties"),
            &format!(
                "{props}\n# mod_jk-rs tests\ntomcat.util.scan.StandardJarScanFilter.jarsToSkip=*.jar\n"
            ),
        )?;
        write(&b.join("conf/logging.properties"), LOGGING_PROPERTIES)?;
        write(&b.join("conf/server.xml"), &self.server_xml())?;
        write(&b.join("conf/context.xml"), &self.context_xml())?;
        copy_dir(&fixture_root(), &b.join("webapps/ROOT"))?;
        for ctx in &self.opts.extra_contexts {
            copy_dir(&fixture_root(), &b.join("webapps").join(ctx))?;
        }
        Ok(())
    }

    /// The conf/server.xml this Tomcat runs with.
    pub fn server_xml(&self) -> String {
        let o = &self.opts;
        let mut ajp: Vec<(String, String)> = vec![
            ("protocol".into(), "AJP/1.3".into()),
            ("address".into(), o.ajp_address.clone()),
            ("port".into(), o.ajp_port.to_string()),
        ];
        match &o.secret {
            Some(s) => {
                ajp.push(("secretRequired".into(), "true".into()));
                ajp.push(("secret".into(), s.clone()));
            }
            None => ajp.push(("secretRequired".into(), "false".into())),
        }
        ajp.push(("allowedRequestAttributesPattern".into(), ".*".into()));
        if let Some(p) = o.packet_size {
            ajp.push(("packetSize".into(), p.to_string()));
        }
        merge_attrs(&mut ajp, &o.ajp_attributes);
        let mut http: Vec<(String, String)> = vec![
            ("protocol".into(), "HTTP/1.1".into()),
            ("address".into(), o.ajp_address.clone()),
            ("port".into(), self.http_port.to_string()),
            ("connectionTimeout".into(), "20000".into()),
        ];
        merge_attrs(&mut http, &o.http_attributes);
        let server_addr = if o.shutdown_port > 0 {
            format!(" address=\"{}\"", xml_escape(&o.ajp_address))
        } else {
            String::new()
        };
        let route = o
            .jvm_route
            .as_ref()
            .map(|r| format!(" jvmRoute=\"{}\"", xml_escape(r)))
            .unwrap_or_default();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <!-- written by tests/support/tomcat.rs -->\n\
             <Server port=\"{sp}\"{server_addr} shutdown=\"SHUTDOWN\">\n\
             \x20 <Service name=\"Catalina\">\n\
             \x20   <Connector{http} />\n\
             \x20   <Connector{ajp} />\n\
             \x20   <Engine name=\"Catalina\" defaultHost=\"localhost\"{route}>\n\
             \x20     <Host name=\"localhost\" appBase=\"webapps\" unpackWARs=\"false\" autoDeploy=\"false\">\n\
             \x20       <Valve className=\"org.apache.catalina.valves.AccessLogValve\" directory=\"logs\"\n\
             \x20              prefix=\"access\" suffix=\".log\" rotatable=\"false\" buffered=\"false\"\n\
             \x20              pattern=\"%a %{{local}}p %u &quot;%r&quot; %s %b %D %{{JSESSIONID}}c %I\" />\n\
             \x20     </Host>\n\
             \x20   </Engine>\n\
             \x20 </Service>\n\
             </Server>\n",
            sp = o.shutdown_port,
            http = attrs(&http),
            ajp = attrs(&ajp),
        )
    }

    fn context_xml(&self) -> String {
        // Tomcat 10.1's StandardManager persists nothing unless pathname is set.
        let manager = if self.opts.session_persistence {
            "<Manager pathname=\"SESSIONS.ser\" />"
        } else {
            "<Manager pathname=\"\" />"
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Context>\n\
             \x20 <WatchedResource>WEB-INF/web.xml</WatchedResource>\n\
             \x20 <WatchedResource>${{catalina.base}}/conf/web.xml</WatchedResource>\n\
             \x20 <JarScanner scanClassPath=\"false\" scanManifest=\"false\" />\n\
             \x20 {manager}\n\
             </Context>\n"
        )
    }

    /// Spawns catalina.sh run in the existing base and waits for readiness.
    fn launch(&mut self) -> Result<(), String> {
        let (addr, ajp) = (self.opts.ajp_address.clone(), self.opts.ajp_port);
        for port in [ajp, self.http_port] {
            if let Err(e) = TcpListener::bind((addr.as_str(), port)) {
                return Err(format!(
                    "{addr}:{port} is not free ({e}): another test using it, or a Tomcat \
                     left behind by a killed test run? (pgrep -af 'catalina.base=/tmp/modjk-')"
                ));
            }
        }
        let out_path = self.base.join("logs/catalina.out");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out_path)
            .map_err(|e| format!("{}: {e}", out_path.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let java_opts = format!(
            "{JAVA_OPTS} -Dtest.node={} {}",
            self.opts.node(),
            std::env::var("TOMCAT_JAVA_OPTS").unwrap_or_default()
        );
        let home = catalina_home();
        let started = Instant::now();
        let child = Command::new(home.join("bin/catalina.sh"))
            .arg("run")
            .current_dir(&self.base)
            .env("CATALINA_HOME", &home)
            .env("CATALINA_BASE", &self.base)
            .env("CATALINA_TMPDIR", self.base.join("temp"))
            .env("JAVA_OPTS", java_opts)
            .env_remove("CATALINA_OPTS")
            .env_remove("CATALINA_PID")
            .env_remove("CATALINA_OUT")
            .env_remove("JPDA_OPTS")
            .env_remove("LOGGING_CONFIG")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("spawning {}/bin/catalina.sh: {e}", home.display()))?;
        self.pid = Some(child.id() as i32);
        self.child = Some(child);

        let deadline = started + self.opts.start_timeout;
        let (mut http_ok, mut ajp_ok) = (false, false);
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    self.child = None;
                    self.pid = None;
                    return Err(format!(
                        "Tomcat ({}:{ajp}) exited during startup ({status})\n{}",
                        addr,
                        self.logs()
                    ));
                }
            }
            if !http_ok {
                http_ok = try_http(&addr, self.http_port, "GET", "/static.txt", &[], None)
                    .map(|r| r.status == 200 && r.body == STATIC_TXT.as_bytes())
                    .unwrap_or(false);
            }
            if !ajp_ok {
                ajp_ok = ajp_cping(&self.ajp_addr(), Duration::from_secs(2)).is_ok();
            }
            if http_ok && ajp_ok {
                self.startup = started.elapsed();
                return Ok(());
            }
            if Instant::now() >= deadline {
                let logs = self.logs();
                self.stop();
                return Err(format!(
                    "Tomcat did not come up within {:?} (http {addr}:{} ok={http_ok}, \
                     ajp {addr}:{ajp} cpong={ajp_ok})\n{logs}",
                    self.opts.start_timeout, self.http_port
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the JVM by its pid: SIGTERM, SIGKILL to its process group after 10 s; reaps it.
    /// Idempotent.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id() as i32;
        // SAFETY: signalling the process this harness spawned (and still owns: not reaped).
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: the group is the one we created with process_group(0) for this child,
        // whose leader is still unreaped, so the id cannot have been reused.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = child.wait();
    }

    /// Stops and starts again in the same CATALINA_BASE (same ports, compiled JSPs and,
    /// with persistence on, the sessions in work/Catalina/localhost/ROOT/SESSIONS.ser).
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.launch()
    }

    /// Kills the JVM with SIGKILL (a crash: no session persistence, no clean close).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: as in stop().
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
        }
    }

    /// Whether our JVM is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The JVM's pid (catalina.sh execs java), from the latest launch.
    pub fn pid(&self) -> Option<i32> {
        self.pid
    }

    /// How long the latest launch took until both connectors were ready.
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

    /// Where SESSIONS.ser goes when persistence is on (ROOT; other contexts have their own).
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
            let tail = if text.len() > 20_000 {
                let mut cut = text.len() - 20_000;
                while !text.is_char_boundary(cut) {
                    cut += 1;
                }
                &text[cut..]
            } else {
                &text[..]
            };
            s.push_str(&format!("---- {}\n{tail}\n", f.display()));
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

    /// Requests every JSP once over HTTP so Jasper compiles them now rather than during a
    /// timing-sensitive test. Returns how long it took.
    pub fn warm_up(&self) -> Duration {
        let t = Instant::now();
        for p in [
            "/session.jsp",
            "/echo.jsp",
            "/download.jsp?bytes=1",
            "/upload.jsp",
            "/form.jsp",
            "/redirect.jsp",
            "/slow.jsp?ms=0",
            "/status.jsp?code=200",
        ] {
            let r = self.get(p);
            assert!(
                r.status == 200 || r.status == 302,
                "warm-up {p}: {}\n{}\n{}",
                r.status_line,
                r.text(),
                self.logs()
            );
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

/// Logging into CATALINA_BASE/logs, synchronously (complete when read after a failure),
/// without date suffixes: the server log goes to the console, i.e. logs/catalina.out (with
/// the JVM's and catalina.sh's own output), the webapp's to logs/localhost.log.
const LOGGING_PROPERTIES: &str = "\
handlers = 2localhost.org.apache.juli.FileHandler, java.util.logging.ConsoleHandler
.handlers = java.util.logging.ConsoleHandler
2localhost.org.apache.juli.FileHandler.level = FINE
2localhost.org.apache.juli.FileHandler.directory = ${catalina.base}/logs
2localhost.org.apache.juli.FileHandler.prefix = localhost
2localhost.org.apache.juli.FileHandler.suffix = .log
2localhost.org.apache.juli.FileHandler.rotatable = false
2localhost.org.apache.juli.FileHandler.formatter = org.apache.juli.OneLineFormatter
java.util.logging.ConsoleHandler.level = FINE
java.util.logging.ConsoleHandler.formatter = org.apache.juli.OneLineFormatter
org.apache.catalina.core.ContainerBase.[Catalina].[localhost].level = INFO
org.apache.catalina.core.ContainerBase.[Catalina].[localhost].handlers = 2localhost.org.apache.juli.FileHandler
";

fn write(p: &Path, s: &str) -> Result<(), String> {
    std::fs::write(p, s).map_err(|e| format!("{}: {e}", p.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let rd = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for e in rd {
        let e = e.map_err(|e| e.to_string())?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    Ok(())
}

fn merge_attrs(list: &mut Vec<(String, String)>, extra: &[(String, String)]) {
    for (k, v) in extra {
        match list.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v.clone(),
            None => list.push((k.clone(), v.clone())),
        }
    }
}

fn attrs(list: &[(String, String)]) -> String {
    list.iter()
        .map(|(k, v)| format!(" {k}=\"{}\"", xml_escape(v)))
        .collect()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A free TCP port on `addr` (a loopback address).
pub fn free_port_on(addr: &str) -> Result<u16, String> {
    TcpListener::bind((addr, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on {addr}: {e}"))
}

/// Whether nothing listens on `addr:port` (a bind succeeds).
pub fn port_is_free(addr: &str, port: u16) -> bool {
    TcpListener::bind((addr, port)).is_ok()
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

/// A minimal HTTP/1.0 client to any address (one request per connection); `body` is sent
/// with a Content-Length. Panics on socket errors.
pub fn http_request_to(
    addr: &str,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    try_http(addr, port, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} http://{addr}:{port}{path}: {e}"))
}

/// As [`http_request_to`], returning errors.
pub fn try_http(
    addr: &str,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Response, String> {
    let e = |e: std::io::Error| e.to_string();
    let mut s = TcpStream::connect((addr, port)).map_err(e)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(e)?;
    let mut req = format!("{method} {path} HTTP/1.0\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}:{port}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            req.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).map_err(e)?;
    if let Some(b) = body {
        s.write_all(b).map_err(e)?;
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(e)?;
    parse_response(&raw)
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
    text.lines()
        .filter_map(|l| l.strip_prefix("header: "))
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `attr: name=value` lines of echo.jsp.
pub fn echo_attrs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("attr: "))
        .filter_map(|l| l.split_once('='))
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

/// Whether a process with this pid exists (zombies count; ours are reaped by stop()).
pub fn pid_alive(pid: i32) -> bool {
    // SAFETY: kill(pid, 0) only probes for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}
