//! `jkctl announce` (README "ZooKeeper"): registers one Tomcat in ZooKeeper as an ephemeral
//! znode (an Apache Curator service-discovery record) while its AJP port answers CPing, takes
//! it away when the port stops answering, and on SIGTERM or SIGINT drains it first (desired
//! state disabled on every gateway, until no gateway has a request of it in flight, at most
//! `--drain` seconds), then takes it away and exits, so that a container's stop loses nothing.
//!
//! The node is ephemeral: if jkctl itself dies, ZooKeeper removes it after the session
//! timeout. A session that expires (ZooKeeper unreachable for longer) is replaced by a new
//! one, and the node registered again.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::Error;

/// What to announce.
#[derive(Clone, Debug)]
pub struct Announce {
    /// ZooKeeper connect string.
    pub zk: String,
    /// The service's path (`/services/app`): the node is `<path>/<name>`.
    pub path: String,
    /// The instance id (the member's name on every gateway).
    pub name: String,
    /// The AJP address gateways use.
    pub host: String,
    pub port: u16,
    /// jvmRoute (default: the name).
    pub route: String,
    pub weight: u32,
    /// How often to CPing.
    pub interval: Duration,
    /// CPings that must fail in a row before the node is taken away.
    pub failures: u32,
    pub session_timeout: Duration,
    /// Digest credentials (`user:password`): the node is created with them and readable by
    /// anyone, writable by them only.
    pub auth: Option<String>,
    /// After SIGTERM: the longest wait for the member to be idle on every gateway.
    pub drain: Duration,
    /// Stop after this long (tests); None: until a signal.
    pub run_for: Option<Duration>,
}

/// `jkctl announce` arguments.
#[derive(Debug, clap::Args)]
pub struct AnnounceArgs {
    /// ZooKeeper servers, HOST:PORT[,HOST:PORT...]
    #[arg(long, value_name = "HOSTS")]
    pub zk: String,
    /// The service's znode (the gateways' discovery path), e.g. /services/app
    #[arg(long, value_name = "PATH")]
    pub path: String,
    /// This instance's id: its node's name and the member's name on every gateway
    #[arg(long, value_name = "NAME", value_parser = crate::cli::parse_worker_name)]
    pub name: String,
    /// The AJP address gateways reach this Tomcat at, HOST:PORT
    #[arg(long, value_name = "HOST:PORT", value_parser = crate::cli::parse_host_port)]
    pub ajp: crate::cli::HostPort,
    /// Tomcat's jvmRoute (default: NAME)
    #[arg(long, value_name = "ROUTE", value_parser = crate::cli::parse_worker_name)]
    pub route: Option<String>,
    /// lbfactor gateways give the member
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub weight: u32,
    /// Seconds between two CPings
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = crate::cli::parse_secs)]
    pub interval: Duration,
    /// Failed CPings in a row that take the node away
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub failures: u32,
    /// ZooKeeper session timeout, seconds (the node outlives a killed jkctl this long)
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::cli::parse_secs)]
    pub session_timeout: Duration,
    /// Digest credentials USER:PASSWORD (else JKCTL_ZK_AUTH); the node is then writable by
    /// that user only
    #[arg(
        long,
        env = "JKCTL_ZK_AUTH",
        hide_env_values = true,
        value_name = "USER:PASSWORD"
    )]
    pub auth: Option<String>,
    /// After SIGTERM/SIGINT: the longest wait, in seconds, for the member to be disabled and
    /// idle on every gateway before the node is deleted
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::cli::parse_secs)]
    pub drain: Duration,
    /// Exit after this many seconds (for tests and scripts)
    #[arg(long, value_name = "SECS", value_parser = crate::cli::parse_secs, hide = true)]
    pub run_for: Option<Duration>,
}

impl AnnounceArgs {
    pub fn to_announce(&self) -> Result<Announce, Error> {
        if self.weight == 0 || self.weight > 100_000 {
            return Err(Error::Usage("--weight must be 1..100000".into()));
        }
        if let Some(a) = &self.auth {
            if !a.contains(':') {
                return Err(Error::Usage("--auth is not USER:PASSWORD".into()));
            }
        }
        Ok(Announce {
            zk: self.zk.clone(),
            path: self.path.clone(),
            name: self.name.clone(),
            host: self.ajp.host.clone(),
            port: self.ajp.port,
            route: self.route.clone().unwrap_or_else(|| self.name.clone()),
            weight: self.weight,
            interval: self.interval.max(Duration::from_millis(100)),
            failures: self.failures.max(1),
            session_timeout: self.session_timeout.max(Duration::from_secs(2)),
            auth: self.auth.clone(),
            drain: self.drain,
            run_for: self.run_for,
        })
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn install_signals() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic (async-signal-safe).
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// One AJP13 CPing: true when the port answers CPong within `limit`.
pub fn cping(addr: &SocketAddr, limit: Duration) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(addr, limit) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(limit));
    let _ = s.set_write_timeout(Some(limit));
    // Web server → container packet: 0x1234, length 1, CPING (10).
    if s.write_all(&[0x12, 0x34, 0x00, 0x01, 0x0A]).is_err() {
        return false;
    }
    // Container → web server: "AB", length 1, CPONG (9).
    let mut r = [0u8; 5];
    s.read_exact(&mut r).is_ok() && r == [b'A', b'B', 0x00, 0x01, 0x09]
}

fn say(msg: &str) {
    println!("announce: {msg}");
    let _ = std::io::stdout().flush();
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, Error> {
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| Error::Usage(format!("{host}:{port} does not resolve")))
}

/// On SIGTERM: the member's desired state `disabled` for every gateway (no new sessions, its
/// sessions still served), then wait (at most `--drain`) until no gateway has a request of it
/// in flight; the desired record is put back as it was afterwards, so that the next start of
/// this instance is not disabled.
fn drain_first(s: &jk_zk::Session, a: &Announce) {
    let service = a.path.rsplit('/').next().unwrap_or("").to_string();
    let desired = format!("/mod_jk/{service}/desired/{}", a.name);
    let before = s.get(&desired).ok().flatten();
    let t0 = Instant::now();
    let written = crate::zk::write_desired(s, &service, &a.name, "disabled", a.auth.as_deref());
    match written {
        Ok(v) => {
            let idle = crate::zk::wait_gateways(
                s,
                &service,
                &a.name,
                v,
                crate::zk::Until::Idle,
                a.drain,
                Duration::from_millis(100),
            );
            match idle {
                Ok(n) => say(&format!(
                    "drained: disabled and idle on {n} gateway(s) after {:?}",
                    t0.elapsed()
                )),
                Err(e) => say(&format!("{e}; deregistering anyway")),
            }
        }
        Err(e) => say(&format!("cannot mark {desired} disabled: {e}")),
    }
    let restored = match before {
        None => s.delete(&desired),
        Some((data, _)) => s.get(&desired).and_then(|now| match now {
            Some((_, v)) => s.put(&desired, &data, Some(v)).map(|_| ()),
            None => Ok(()),
        }),
    };
    if let Err(e) = restored {
        say(&format!("cannot put {desired} back: {e}"));
    }
}

/// Checks the node's pieces as gateways will (a record they would refuse is refused here).
pub fn check(a: &Announce) -> Result<Vec<u8>, Error> {
    if !a.path.starts_with('/') || a.path.ends_with('/') || a.path.contains("//") {
        return Err(Error::Usage(format!(
            "--path {:?} is not an absolute znode path like /services/app",
            a.path
        )));
    }
    let data = jk_zk::record::build(
        a.path.rsplit('/').next().unwrap_or(""),
        &a.name,
        &a.host,
        a.port,
        &a.route,
        a.weight,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
    );
    jk_zk::record::parse(&a.name, &data)
        .map_err(|e| Error::Usage(format!("gateways would refuse this record: {e}")))?;
    Ok(data)
}

/// Runs until a signal (or `run_for`).
pub fn run(a: &Announce) -> Result<(), Error> {
    let data = check(a)?;
    let addr = resolve(&a.host, a.port)?;
    install_signals();
    let node = format!("{}/{}", a.path, a.name);
    let started = Instant::now();
    let mut session: Option<jk_zk::Session> = None;
    let mut registered = false;
    let mut failed = 0u32;
    let mut backoff = Duration::from_millis(250);
    let mut last_problem = String::new();
    let mut problem = |p: String| {
        if p != last_problem {
            say(&p);
            last_problem = p;
        }
    };
    while !STOP.load(Ordering::SeqCst) && a.run_for.is_none_or(|d| started.elapsed() < d) {
        // The session: (re)connect when there is none or it ended.
        let alive = session
            .as_ref()
            .and_then(|s| s.state().ok())
            .is_some_and(|st| !st.is_terminated());
        if !alive {
            if session.take().is_some() {
                registered = false;
                problem("the ZooKeeper session ended; connecting again".into());
            }
            match jk_zk::Session::connect(
                &a.zk,
                a.session_timeout,
                a.auth.as_deref(),
                a.session_timeout,
            ) {
                Ok(s) => {
                    say(&format!(
                        "connected to {} (session 0x{:x})",
                        a.zk,
                        s.session_id()
                    ));
                    session = Some(s);
                    backoff = Duration::from_millis(250);
                }
                Err(e) => {
                    problem(format!("{e}; retrying"));
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(8));
                    continue;
                }
            }
        }
        let Some(s) = session.as_ref() else {
            continue;
        };
        let up = cping(&addr, Duration::from_secs(2));
        failed = if up { 0 } else { failed + 1 };
        if up && !registered {
            let made = s
                .ensure_parents(&node, a.auth.as_deref())
                .and_then(|()| s.create(&node, &data, true, a.auth.as_deref()));
            match made {
                Ok(()) => {
                    registered = true;
                    say(&format!(
                        "{node} registered: {}:{} answers CPing (route {})",
                        a.host, a.port, a.route
                    ));
                }
                Err(e) => problem(format!("cannot register {node}: {e}")),
            }
        } else if !up && registered && failed >= a.failures {
            match s.delete(&node) {
                Ok(()) => {
                    registered = false;
                    say(&format!(
                        "{node} deregistered: {}:{} stopped answering CPing",
                        a.host, a.port
                    ));
                }
                Err(e) => problem(format!("cannot deregister {node}: {e}")),
            }
        }
        let t0 = Instant::now();
        while t0.elapsed() < a.interval && !STOP.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if let Some(s) = session.as_ref() {
        if registered {
            if STOP.load(Ordering::SeqCst) {
                drain_first(s, a);
            }
            match s.delete(&node) {
                Ok(()) => say(&format!("{node} deregistered (stopping)")),
                Err(e) => say(&format!("cannot deregister {node}: {e}")),
            }
        }
    }
    drop(session);
    say("stopped");
    Ok(())
}
