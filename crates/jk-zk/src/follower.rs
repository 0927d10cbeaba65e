//! Following one registry path: a thread of its own keeps a ZooKeeper session, watches the
//! path (one persistent recursive watch: no polling), reads the records of its children after
//! every change and publishes them as a [`Snapshot`]. The gateway's discovery thread reads the
//! snapshot; request threads never touch any of this.
//!
//! Failure rules (README "ZooKeeper"): while ZooKeeper is unreachable, the session expired or
//! the ensemble lost quorum, the last members read stay in the snapshot (the gateway keeps
//! serving them); the thread reconnects with backoff (250 ms doubling to 8 s) and logs once
//! per change of state, not per attempt.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{select, Either};
use futures::FutureExt;
use jk_log::Level;
use parking_lot::{Condvar, Mutex};
use zookeeper_client as zk;

use crate::desired::{parse_desired, Desired};
use crate::record::{self, Instance};

/// The most children of the path read (more are ignored, and said so).
pub const MAX_MEMBERS: usize = 256;

/// The connection to the registry, as the status worker shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnState {
    /// No registry (or not followed by this gateway yet).
    #[default]
    None,
    Connecting,
    Connected,
    /// Connection lost; the session may still be recovered.
    Disconnected,
    /// The session expired; a new one is being made.
    Expired,
    /// The credentials were refused.
    AuthFailed,
}

impl ConnState {
    pub fn code(self) -> u64 {
        match self {
            ConnState::None => 0,
            ConnState::Connecting => 1,
            ConnState::Connected => 2,
            ConnState::Disconnected => 3,
            ConnState::Expired => 4,
            ConnState::AuthFailed => 5,
        }
    }

    pub fn from_code(c: u64) -> ConnState {
        match c {
            1 => ConnState::Connecting,
            2 => ConnState::Connected,
            3 => ConnState::Disconnected,
            4 => ConnState::Expired,
            5 => ConnState::AuthFailed,
            _ => ConnState::None,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            ConnState::None => "none",
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Disconnected => "disconnected",
            ConnState::Expired => "expired",
            ConnState::AuthFailed => "auth_failed",
        }
    }
}

/// What to follow.
#[derive(Clone, Debug)]
pub struct FollowConfig {
    /// `h1:p1,h2:p2`.
    pub connect: String,
    /// The members' parent znode.
    pub path: String,
    pub session_timeout: Duration,
    /// Digest credentials `user:password`.
    pub auth: Option<String>,
    /// What log lines say this is about (the lb's name).
    pub tag: String,
    /// The service's desired state and gateway reports (`/mod_jk/<service>`, see
    /// [`crate::desired`]); None: not followed.
    pub state_root: Option<String>,
    /// This gateway's report node name (under `<state_root>/gateways`).
    pub gateway: String,
}

/// What the follower knows now.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub state: ConnState,
    pub session_id: i64,
    /// The members last read completely (None: none read yet, or the path does not exist).
    pub members: Option<Vec<Instance>>,
    /// Moves with every publication (members read or state changed).
    pub version: u64,
    /// Unix ms of the last registry event (a watch firing or a connection state change), and
    /// what it was.
    pub last_event_ms: u64,
    pub last_event: String,
    /// Unix ms of the event whose read gave `members` (the gateway's lag is measured from it).
    pub members_event_ms: u64,
    /// Whether anyone may create or change nodes under the path (None: not known yet).
    pub world_writable: Option<bool>,
    /// Records refused at the last read.
    pub bad_records: usize,
    /// The desired state last read, by member id (None: not read yet).
    pub desired: Option<BTreeMap<String, Desired>>,
    /// The members and the desired state have both been read (once the path and the desired
    /// records were looked at, even if there were none).
    pub read_once: bool,
}

/// Where a follower logs (the lb's log, through httpd in the module).
pub type Log = Arc<dyn Fn(Level, &str) + Send + Sync>;

struct Shared {
    snap: Mutex<Snapshot>,
    /// The gateway report to publish (the follower writes it when it changed).
    report: Mutex<Option<Vec<u8>>>,
    moved: Condvar,
    stop: AtomicBool,
}

/// A running follower; dropping it stops its thread (within a quarter of a second; nothing
/// waits for it).
pub struct Follower {
    shared: Arc<Shared>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Follower {
    /// Starts the thread (`jk-zk`) that follows `cfg.path`.
    pub fn start(cfg: FollowConfig, log: Log) -> std::io::Result<Follower> {
        let shared = Arc::new(Shared {
            snap: Mutex::new(Snapshot::default()),
            report: Mutex::new(None),
            moved: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::Builder::new()
            .name("jk-zk".into())
            .spawn(move || {
                // A panic in the client (or here) must not leave the gateway without a
                // follower for the rest of the child's life: logged, and followed again.
                loop {
                    let (cfg2, s2, log2) = (cfg.clone(), s.clone(), log.clone());
                    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        spawns::block_on(async move {
                            let mut f = Follow {
                                cfg: cfg2,
                                shared: s2,
                                log: log2,
                                logged_state: None,
                                bad: HashMap::new(),
                                acl_warned: false,
                                written: None,
                            };
                            f.run().await;
                        })
                    }));
                    if run.is_ok() || s.stop.load(Ordering::Acquire) {
                        return;
                    }
                    log(
                        Level::Error,
                        &format!(
                            "({}) the ZooKeeper thread panicked; following again in 1 s",
                            cfg.tag
                        ),
                    );
                    std::thread::sleep(Duration::from_secs(1));
                }
            })?;
        Ok(Follower { shared })
    }

    /// Sets the report this gateway publishes (written within a fifth of a second when
    /// connected, and again after a new session).
    pub fn set_report(&self, data: Vec<u8>) {
        *self.shared.report.lock() = Some(data);
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.snap.lock().clone()
    }

    /// Waits at most `limit` for a snapshot newer than version `seen`; returns the current one.
    pub fn wait_newer(&self, seen: u64, limit: Duration) -> Snapshot {
        let mut g = self.shared.snap.lock();
        if g.version == seen {
            let _ = self.shared.moved.wait_for(&mut g, limit);
        }
        g.clone()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.moved.notify_all();
    }
}

struct Follow {
    cfg: FollowConfig,
    shared: Arc<Shared>,
    log: Log,
    /// The state (and problem) last logged: one line per change, not per attempt.
    logged_state: Option<String>,
    /// Records refused, by node, with the reason last logged.
    bad: HashMap<String, String>,
    acl_warned: bool,
    /// The report last written in this session.
    written: Option<Vec<u8>>,
}

/// Sleeps `d` in steps, returning early (true) when asked to stop.
async fn nap(shared: &Shared, d: Duration) -> bool {
    let step = Duration::from_millis(200);
    let mut left = d;
    while !left.is_zero() {
        if shared.stop.load(Ordering::Acquire) {
            return true;
        }
        let s = left.min(step);
        async_io::Timer::after(s).await;
        left -= s;
    }
    shared.stop.load(Ordering::Acquire)
}

/// What a wait ended with.
enum Woke {
    Watch(zk::WatchedEvent),
    Desired(zk::WatchedEvent),
    State(zk::SessionState),
    Tick,
}

/// Why reading stopped.
enum End {
    Stop,
    /// The session is over (expired, closed, refused): a new client is needed.
    Session,
}

impl Follow {
    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Acquire)
    }

    fn publish(&self, f: impl FnOnce(&mut Snapshot)) {
        let mut g = self.shared.snap.lock();
        f(&mut g);
        g.version += 1;
        drop(g);
        self.shared.moved.notify_all();
    }

    /// Sets the connection state; logs it when the state or problem differs from the last line.
    fn state(&mut self, st: ConnState, detail: &str) {
        let line = if detail.is_empty() {
            st.text().to_string()
        } else {
            format!("{} ({detail})", st.text())
        };
        // (connecting is not a change worth a line: the outcome is)
        if st != ConnState::Connecting && self.logged_state.as_deref() != Some(line.as_str()) {
            let (level, what) = match st {
                ConnState::Connected => (Level::Info, "connected to"),
                ConnState::Connecting => (Level::Debug, "connecting to"),
                _ => (Level::Warn, "lost"),
            };
            let keep = if st == ConnState::Connected || st == ConnState::Connecting {
                String::new()
            } else {
                "; the last members read keep serving, reconnecting with backoff".to_string()
            };
            (self.log)(
                level,
                &format!(
                    "({}) ZooKeeper {what} {} {}: {line}{keep}",
                    self.cfg.tag, self.cfg.connect, self.cfg.path
                ),
            );
            self.logged_state = Some(line);
        }
        let now = now_ms();
        self.publish(|s| {
            if s.state != st {
                s.last_event_ms = now;
                s.last_event = format!("state {}", st.text());
            }
            s.state = st;
        });
    }

    async fn run(&mut self) {
        let mut backoff = Duration::from_millis(250);
        while !self.stopping() {
            // Only the first attempt shows "connecting"; after a loss the state stays
            // disconnected (or expired) until a session is made.
            if self.shared.snap.lock().state == ConnState::None {
                self.state(ConnState::Connecting, "");
            }
            let mut connector = zk::Client::connector()
                .with_session_timeout(self.cfg.session_timeout)
                .with_fail_eagerly();
            if let Some(a) = &self.cfg.auth {
                connector = connector.with_auth("digest", a.as_bytes());
            }
            let cluster = self.cfg.connect.clone();
            let connect = async move { connector.connect(&cluster).await }.boxed();
            let limit =
                async_io::Timer::after(self.cfg.session_timeout.max(Duration::from_secs(2)));
            let outcome = select(connect, limit).await;
            let client = match outcome {
                Either::Left((Ok(c), _)) => c,
                Either::Left((Err(e), _)) => {
                    let st = if matches!(e, zk::Error::AuthFailed) {
                        ConnState::AuthFailed
                    } else {
                        ConnState::Disconnected
                    };
                    self.state(st, &format!("cannot connect: {e}"));
                    if nap(&self.shared, backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(8));
                    continue;
                }
                Either::Right(_) => {
                    self.state(ConnState::Disconnected, "cannot connect: timed out");
                    if nap(&self.shared, backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(8));
                    continue;
                }
            };
            backoff = Duration::from_millis(250);
            match self.session(&client).await {
                End::Stop => return,
                End::Session => {
                    if nap(&self.shared, backoff).await {
                        return;
                    }
                }
            }
        }
    }

    /// One session: watch, read, publish, until the session ends or the thread is stopped.
    async fn session(&mut self, client: &zk::Client) -> End {
        let sid = client.session_id().0;
        self.publish(|s| s.session_id = sid);
        self.state(ConnState::Connected, &format!("session 0x{sid:x}"));
        let mut states = client.state_watcher();
        // One persistent recursive watch on the path: every creation, deletion and change of
        // a record under it fires it (ZooKeeper 3.6+), and it survives reconnections.
        let mut watch = match client
            .watch(&self.cfg.path, zk::AddWatchMode::PersistentRecursive)
            .await
        {
            Ok(w) => w,
            Err(e) => {
                self.state(ConnState::Disconnected, &format!("cannot watch: {e}"));
                return End::Session;
            }
        };
        self.written = None;
        let desired_path = self.cfg.state_root.as_ref().map(|r| format!("{r}/desired"));
        let mut dwatch = match &desired_path {
            None => None,
            Some(p) => match client.watch(p, zk::AddWatchMode::PersistentRecursive).await {
                Ok(w) => Some(w),
                Err(e) => {
                    self.state(ConnState::Disconnected, &format!("cannot watch {p}: {e}"));
                    return End::Session;
                }
            },
        };
        let mut need_desired = desired_path.is_some();
        let mut need_read = true;
        let mut read_event_ms = now_ms();
        loop {
            if self.stopping() {
                return End::Stop;
            }
            if need_read {
                match self.read(client).await {
                    Ok(members) => {
                        need_read = false;
                        // (once the path exists: its ACL)
                        if members.is_some() && self.shared.snap.lock().world_writable.is_none() {
                            self.check_acl(client).await;
                        }
                        let bad = self.bad.len();
                        self.publish(|s| {
                            s.members = members;
                            s.members_event_ms = read_event_ms;
                            s.bad_records = bad;
                        });
                    }
                    Err(e) => {
                        // Keep the last members; the next state change (or a second) retries.
                        if matches!(
                            e,
                            zk::Error::SessionExpired
                                | zk::Error::AuthFailed
                                | zk::Error::ClientClosed
                                | zk::Error::NoHosts
                        ) {
                            self.state(ConnState::Expired, &format!("{e}"));
                            return End::Session;
                        }
                        self.state(ConnState::Disconnected, &format!("reading failed: {e}"));
                    }
                }
            }
            if need_desired {
                if let Some(p) = &desired_path {
                    match read_desired(client, p).await {
                        Ok(d) => {
                            need_desired = false;
                            self.publish(|s| s.desired = Some(d));
                        }
                        Err(e) => {
                            self.state(ConnState::Disconnected, &format!("reading failed: {e}"))
                        }
                    }
                }
            }
            if !need_read && !need_desired && !self.shared.snap.lock().read_once {
                self.publish(|s| s.read_once = true);
            }
            self.write_report(client).await;
            let tick =
                async_io::Timer::after(Duration::from_millis(if need_read || need_desired {
                    1000
                } else {
                    200
                }));
            let desired_changed = async {
                match dwatch.as_mut() {
                    Some(w) => w.changed().await,
                    None => futures::future::pending().await,
                }
            };
            let woke = match select(
                select(watch.changed().boxed(), desired_changed.boxed()),
                select(states.changed().boxed(), tick),
            )
            .await
            {
                Either::Left((Either::Left((e, _)), _)) => Woke::Watch(e),
                Either::Left((Either::Right((e, _)), _)) => Woke::Desired(e),
                Either::Right((Either::Left((st, _)), _)) => Woke::State(st),
                Either::Right((Either::Right(_), _)) => Woke::Tick,
            };
            match woke {
                Woke::Watch(e) => {
                    let now = now_ms();
                    if e.event_type == zk::EventType::Session {
                        if e.session_state.is_terminated() {
                            self.state(ConnState::Expired, &e.session_state.to_string());
                            return End::Session;
                        }
                        continue;
                    }
                    self.publish(|s| {
                        s.last_event_ms = now;
                        s.last_event = format!("{} {}", e.event_type, e.path);
                    });
                    read_event_ms = now;
                    need_read = true;
                }
                Woke::Desired(e) => {
                    if e.event_type == zk::EventType::Session {
                        continue;
                    }
                    let now = now_ms();
                    self.publish(|s| {
                        s.last_event_ms = now;
                        s.last_event = format!("{} {}", e.event_type, e.path);
                    });
                    need_desired = true;
                }
                Woke::State(st) => match st {
                    zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly => {
                        self.state(ConnState::Connected, &format!("session 0x{sid:x}"));
                        // zookeeper-client 0.11.2 does not resend persistent watches after a
                        // reconnection (its resend_watches never reaches SetWatches2): put
                        // ours back by hand.
                        #[allow(deprecated)] // (awaited: the removal goes before the new watch)
                        let _ = watch.remove().await;
                        watch = match client
                            .watch(&self.cfg.path, zk::AddWatchMode::PersistentRecursive)
                            .await
                        {
                            Ok(w) => w,
                            Err(e) => {
                                self.state(ConnState::Disconnected, &format!("cannot watch: {e}"));
                                return End::Session;
                            }
                        };
                        if let Some(p) = &desired_path {
                            if let Some(w) = dwatch.take() {
                                #[allow(deprecated)] // (awaited, as above)
                                let _ = w.remove().await;
                            }
                            match client.watch(p, zk::AddWatchMode::PersistentRecursive).await {
                                Ok(w) => dwatch = Some(w),
                                Err(e) => {
                                    self.state(
                                        ConnState::Disconnected,
                                        &format!("cannot watch {p}: {e}"),
                                    );
                                    return End::Session;
                                }
                            }
                        }
                        // Changes made while we were away fire no watch: read again.
                        read_event_ms = now_ms();
                        need_read = true;
                        need_desired = desired_path.is_some();
                    }
                    zk::SessionState::Disconnected => {
                        self.state(ConnState::Disconnected, "connection lost");
                    }
                    zk::SessionState::AuthFailed => {
                        self.state(ConnState::AuthFailed, "credentials refused");
                        return End::Session;
                    }
                    zk::SessionState::Expired | zk::SessionState::Closed => {
                        self.state(ConnState::Expired, &format!("session 0x{sid:x} {st}"));
                        return End::Session;
                    }
                },
                Woke::Tick => {}
            }
        }
    }

    /// Publishes this gateway's report when it changed (ephemeral: it goes with the session).
    async fn write_report(&mut self, client: &zk::Client) {
        let Some(root) = &self.cfg.state_root else {
            return;
        };
        let Some(data) = self.shared.report.lock().clone() else {
            return;
        };
        if self.written.as_ref() == Some(&data) {
            return;
        }
        let node = format!("{root}/gateways/{}", self.cfg.gateway);
        let open = [zk::Acl::new(zk::Permission::ALL, zk::AuthId::anyone())];
        let authed = [
            zk::Acl::new(zk::Permission::ALL, zk::AuthId::authed()),
            zk::Acl::new(zk::Permission::READ, zk::AuthId::anyone()),
        ];
        let acl: &[zk::Acl] = if self.cfg.auth.is_some() {
            &authed
        } else {
            &open
        };
        let done = if self.written.is_some() {
            client.set_data(&node, &data, None).await.map(|_| ())
        } else {
            let parent = zk::CreateMode::Persistent.with_acls(zk::Acls::new(acl));
            let _ = client.mkdir(&format!("{root}/gateways"), &parent).await;
            let opts = zk::CreateMode::Ephemeral.with_acls(zk::Acls::new(acl));
            match client.create(&node, &data, &opts).await {
                Err(zk::Error::NodeExists) => {
                    // Left by this gateway's previous session (another child held the
                    // lease): ours now.
                    let _ = client.delete(&node, None).await;
                    client.create(&node, &data, &opts).await.map(|_| ())
                }
                r => r.map(|_| ()),
            }
        };
        match done {
            Ok(()) => self.written = Some(data),
            Err(e) => {
                self.written = None;
                let msg = format!("cannot publish this gateway's report {node}: {e}");
                if !self.bad.contains_key(&node) {
                    (self.log)(Level::Warn, &format!("({}) {msg}", self.cfg.tag));
                }
                self.bad.insert(node, msg);
            }
        }
    }

    /// Reads every child's record. Ok(None): the path does not exist (yet).
    async fn read(&mut self, client: &zk::Client) -> Result<Option<Vec<Instance>>, zk::Error> {
        let mut children = match client.list_children(&self.cfg.path).await {
            Ok(c) => c,
            Err(zk::Error::NoNode) => return Ok(None),
            Err(e) => return Err(e),
        };
        children.sort();
        if children.len() > MAX_MEMBERS {
            (self.log)(
                Level::Warn,
                &format!(
                    "({}) {} lists {} members; only the first {MAX_MEMBERS} are read",
                    self.cfg.tag,
                    self.cfg.path,
                    children.len()
                ),
            );
            children.truncate(MAX_MEMBERS);
        }
        let mut out = BTreeMap::new();
        let mut bad_now = HashMap::new();
        for c in &children {
            let data = match client.get_data(&format!("{}/{c}", self.cfg.path)).await {
                Ok((d, _)) => d,
                // Gone between the listing and the read.
                Err(zk::Error::NoNode) => continue,
                Err(e) => return Err(e),
            };
            match record::parse(c, &data) {
                Ok(Some(i)) => {
                    out.entry(i.id.clone()).or_insert(i);
                }
                Ok(None) => {}
                Err(why) => {
                    if self.bad.get(c) != Some(&why) {
                        (self.log)(
                            Level::Warn,
                            &format!(
                                "({}) ZooKeeper record {}/{} is not used: {why}",
                                self.cfg.tag,
                                self.cfg.path,
                                c.escape_default()
                            ),
                        );
                    }
                    bad_now.insert(c.clone(), why);
                }
            }
        }
        self.bad = bad_now;
        Ok(Some(out.into_values().collect()))
    }

    /// Warns once when anyone may create or change nodes under the path: whoever can write
    /// there can send users to any host.
    async fn check_acl(&mut self, client: &zk::Client) {
        let Ok((acls, _)) = client.get_acl(&self.cfg.path).await else {
            return;
        };
        let open = acls.iter().any(|a| {
            a.scheme() == "world"
                && a.id() == "anyone"
                && (a.permission().has(zk::Permission::CREATE)
                    || a.permission().has(zk::Permission::WRITE))
        });
        self.publish(|s| s.world_writable = Some(open));
        if open && !self.acl_warned {
            self.acl_warned = true;
            (self.log)(
                Level::Warn,
                &format!(
                    "({}) ZooKeeper path {} may be written by anyone (ACL world:anyone): \
                     whoever can write there can send users to any host; restrict it with \
                     digest ACLs (README \"ZooKeeper\")",
                    self.cfg.tag, self.cfg.path
                ),
            );
        }
    }
}

/// Reads the desired records under `path` (none: empty).
async fn read_desired(
    client: &zk::Client,
    path: &str,
) -> Result<BTreeMap<String, Desired>, zk::Error> {
    let mut children = match client.list_children(path).await {
        Ok(c) => c,
        Err(zk::Error::NoNode) => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    children.sort();
    children.truncate(MAX_MEMBERS);
    let mut out = BTreeMap::new();
    for c in children {
        match client.get_data(&format!("{path}/{c}")).await {
            Ok((d, st)) => {
                if let Ok(d) = parse_desired(&d, st.version) {
                    out.insert(c, d);
                }
            }
            Err(zk::Error::NoNode) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
