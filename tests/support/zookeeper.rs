//! A real ZooKeeper for tests: Debian 12's ZooKeeper 3.8 (`libzookeeper-java` and a headless
//! JRE), started in the foreground from a temporary directory on a loopback address, ready when
//! its `srvr` four-letter word reports a mode (`ruok` answers before the server serves), and
//! stopped by its own pid. [`Ensemble`] starts three of them as one quorum, for the failure
//! tests (one node killed, quorum lost).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port_on;

/// Where Debian puts ZooKeeper's jars (`ZOOKEEPER_JARS` overrides).
fn jar_dir() -> PathBuf {
    std::env::var("ZOOKEEPER_JARS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/usr/share/java"))
}

/// The class path ZooKeeperServerMain and QuorumPeerMain need: the server, jute, logging (slf4j
/// with its simple binding), metrics-core and snappy (its metrics and snapshot code load them),
/// netty (ClientCnxnSocketNetty classes are referenced) and commons-io.
fn classpath() -> Result<String, String> {
    let dir = jar_dir();
    let jars = [
        "zookeeper.jar",
        "zookeeper-jute.jar",
        "slf4j-api.jar",
        "slf4j-simple.jar",
        "metrics-core.jar",
        "snappy-java.jar",
        "commons-io.jar",
        "netty-all.jar",
    ];
    let mut cp = Vec::new();
    for j in jars {
        let p = dir.join(j);
        if !p.exists() {
            return Err(format!(
                "{} is missing: install libzookeeper-java (make deps-test)",
                p.display()
            ));
        }
        cp.push(p.display().to_string());
    }
    Ok(cp.join(":"))
}

/// Whether ZooKeeper can run here (the jars and java); Err says what is missing.
pub fn require_zookeeper() -> Result<(), String> {
    classpath()?;
    Command::new("java")
        .arg("-version")
        .output()
        .map_err(|e| format!("java: {e} (install a headless JRE)"))?;
    Ok(())
}

/// Sends a four-letter word and returns the answer ("" when the server does not answer).
pub fn four_letter(addr: &str, port: u16, word: &str) -> String {
    let Ok(sa) = format!("{addr}:{port}").parse() else {
        return String::new();
    };
    let Ok(mut s) = TcpStream::connect_timeout(&sa, Duration::from_millis(300)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = s.write_all(word.as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// One ZooKeeper server process.
pub struct ZooKeeper {
    pub addr: String,
    pub port: u16,
    dir: PathBuf,
    cfg: PathBuf,
    quorum: bool,
    child: Option<Child>,
    /// How long the last start took until `srvr` reported a mode.
    pub startup: Duration,
}

impl ZooKeeper {
    /// A standalone server on `addr` (a loopback address) and a free port.
    pub fn start(addr: &str) -> Result<ZooKeeper, String> {
        ZooKeeper::start_on(addr, free_port_on(addr)?)
    }

    /// A standalone server on `addr`:`port`.
    pub fn start_on(addr: &str, port: u16) -> Result<ZooKeeper, String> {
        let dir = temp_dir(&format!("zk-{addr}-{port}"));
        let cfg = dir.join("zoo.cfg");
        std::fs::write(&cfg, config(&dir, addr, port, &[], 0)).map_err(|e| e.to_string())?;
        let mut z = ZooKeeper {
            addr: addr.into(),
            port,
            dir,
            cfg,
            quorum: false,
            child: None,
            startup: Duration::ZERO,
        };
        z.launch()?;
        z.wait_ready(Duration::from_secs(20))?;
        Ok(z)
    }

    /// As [`ZooKeeper::start`], panicking with the message.
    pub fn start_or_panic(addr: &str) -> ZooKeeper {
        ZooKeeper::start(addr).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `host:port` for a connect string.
    pub fn hostport(&self) -> String {
        format!("{}:{}", self.addr, self.port)
    }

    /// Starts the JVM (in the foreground of its own process group), logs in the temp dir.
    fn launch(&mut self) -> Result<(), String> {
        let cp = classpath()?;
        let log =
            std::fs::File::create(self.dir.join("zookeeper.log")).map_err(|e| e.to_string())?;
        let main = if self.quorum {
            "org.apache.zookeeper.server.quorum.QuorumPeerMain"
        } else {
            "org.apache.zookeeper.server.ZooKeeperServerMain"
        };
        let mut cmd = Command::new("java");
        cmd.args([
            "-Xmx128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Dzookeeper.admin.enableServer=false",
            "-Dzookeeper.4lw.commands.whitelist=*",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp",
            &cp,
            main,
        ])
        .arg(&self.cfg)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        self.child = Some(cmd.spawn().map_err(|e| format!("java: {e}"))?);
        Ok(())
    }

    /// Waits until `srvr` reports a mode (standalone, leader or follower).
    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if self.mode().is_some() {
                self.startup = t0.elapsed();
                return Ok(());
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    return Err(format!("zookeeper exited ({st}):\n{}", self.log()));
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "zookeeper on {} did not report a mode within {limit:?}:\n{}",
            self.hostport(),
            self.log()
        ))
    }

    /// The mode `srvr` reports (None: not serving).
    pub fn mode(&self) -> Option<String> {
        four_letter(&self.addr, self.port, "srvr")
            .lines()
            .find_map(|l| l.strip_prefix("Mode: ").map(str::to_string))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("zookeeper.log")).unwrap_or_default()
    }

    /// The pid of the running JVM.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `kill -9` (a crash: sessions are not closed, the data stays on disk).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: our own child's pid (its process group: the JVM only).
            unsafe {
                libc::kill(c.id() as i32, libc::SIGKILL);
            }
            let _ = c.wait();
        }
    }

    /// Starts again from the same data directory (after [`ZooKeeper::kill`]) and waits until
    /// it serves (a quorum member: until the quorum has a leader again).
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        self.launch()?;
        self.wait_ready(Duration::from_secs(30))
    }

    /// SIGTERM, then SIGKILL after 5 s. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: our own child's pid.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // SAFETY: as above.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGKILL);
            }
            let _ = c.wait();
        }
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("modjk-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("data")).unwrap();
    d
}

/// zoo.cfg: `peers` are (address, client port, peer port, election port) of a quorum, `myid`
/// this server's number in it (1-based; 0 for standalone).
fn config(
    dir: &Path,
    addr: &str,
    port: u16,
    peers: &[(String, u16, u16, u16)],
    myid: usize,
) -> String {
    let mut c = format!(
        "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={port}\n\
         clientPortAddress={addr}\nadmin.enableServer=false\n4lw.commands.whitelist=*\n\
         maxSessionTimeout=60000\nminSessionTimeout=1000\n",
        dir.join("data").display()
    );
    if myid > 0 {
        std::fs::write(dir.join("data/myid"), format!("{myid}\n")).unwrap();
        for (i, (a, _, pp, ep)) in peers.iter().enumerate() {
            c.push_str(&format!("server.{}={a}:{pp}:{ep}\n", i + 1));
        }
    }
    c
}

/// A three-server ensemble (one quorum) on three loopback addresses.
pub struct Ensemble {
    pub nodes: Vec<ZooKeeper>,
}

impl Ensemble {
    pub fn start(addrs: [&str; 3]) -> Result<Ensemble, String> {
        let mut peers = Vec::new();
        for a in addrs {
            let port = free_port_on(a)?;
            let pp = free_port_on(a)?;
            let ep = free_port_on(a)?;
            peers.push((a.to_string(), port, pp, ep));
        }
        let mut nodes = Vec::new();
        for (i, (a, port, _, _)) in peers.iter().enumerate() {
            let dir = temp_dir(&format!("zk-{a}-{port}"));
            let cfg = dir.join("zoo.cfg");
            std::fs::write(&cfg, config(&dir, a, *port, &peers, i + 1))
                .map_err(|e| e.to_string())?;
            let mut z = ZooKeeper {
                addr: a.clone(),
                port: *port,
                dir,
                cfg,
                quorum: true,
                child: None,
                startup: Duration::ZERO,
            };
            z.launch()?;
            nodes.push(z);
        }
        for z in &mut nodes {
            z.wait_ready(Duration::from_secs(30))?;
        }
        Ok(Ensemble { nodes })
    }

    /// The connect string of all three (`a:p,b:p,c:p`).
    pub fn connect(&self) -> String {
        self.nodes
            .iter()
            .map(ZooKeeper::hostport)
            .collect::<Vec<_>>()
            .join(",")
    }
}
