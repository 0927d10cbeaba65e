//! The typed worker model built from the properties, with mod_jk 1.2.48's defaults applied.

use std::fmt;

use crate::diagnostic::{Diagnostic, Location};
use crate::lb::{Activation, LbLock, LbMethod};

/// Everything `workers.properties` configures.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkersConfig {
    /// `worker.list`, de-duplicated, in order (default `ajp13`).
    pub list: Vec<String>,
    /// `worker.maintain` in seconds (default 60; 0 disables maintenance).
    pub maintain_secs: u32,
    /// Instantiated workers: the listed ones, then members of listed lb workers.
    pub workers: Vec<Worker>,
    /// mod_jk-rs: the lbs' growth slots (hidden spare members, `<lb>~<n>`, see
    /// [`LbWorker::growth_members`]); [`WorkersConfig::worker`] finds them too.
    pub growth: Vec<Worker>,
    /// `worker.<w>.mount` patterns of listed workers.
    pub mounts: Vec<WorkerMount>,
    /// Warnings from reading and from building.
    pub warnings: Vec<Diagnostic>,
    /// Where each worker of `workers` (false) and `growth` (true) is, by name: the request
    /// path looks workers up by name (a linear search would cost per member).
    pub(crate) by_name: std::collections::HashMap<String, (bool, usize), rustc_hash::FxBuildHasher>,
}

impl WorkersConfig {
    /// The worker named `name`: one of the configuration or a growth slot.
    pub fn worker(&self, name: &str) -> Option<&Worker> {
        let found = self.by_name.get(name).and_then(|&(growth, i)| {
            if growth {
                self.growth.get(i)
            } else {
                self.workers.get(i)
            }
        });
        match found {
            Some(w) if w.name == name => Some(w),
            // The lists were changed after build: look through them.
            _ => self
                .workers
                .iter()
                .find(|w| w.name == name)
                .or_else(|| self.growth.iter().find(|w| w.name == name)),
        }
    }

    /// Every worker that needs a runtime: the configuration's, then the growth slots.
    pub fn all_workers(&self) -> impl Iterator<Item = &Worker> {
        self.workers.iter().chain(&self.growth)
    }

    /// Listed workers can be mapped to URIs; lb members that are not listed cannot.
    pub fn is_listed(&self, name: &str) -> bool {
        self.list.iter().any(|n| n == name)
    }
}

/// One `worker.<w>.mount` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerMount {
    pub pattern: String,
    pub worker: String,
    pub loc: Option<Location>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Worker {
    pub name: String,
    /// Where the worker's `type` (or else its first property) was set.
    pub loc: Option<Location>,
    pub kind: WorkerKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum WorkerKind {
    Ajp(AjpWorker),
    Lb(LbWorker),
    Status(StatusWorker),
}

impl Worker {
    pub fn as_ajp(&self) -> Option<&AjpWorker> {
        match &self.kind {
            WorkerKind::Ajp(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_lb(&self) -> Option<&LbWorker> {
        match &self.kind {
            WorkerKind::Lb(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_status(&self) -> Option<&StatusWorker> {
        match &self.kind {
            WorkerKind::Status(s) => Some(s),
            _ => None,
        }
    }

    pub fn worker_type(&self) -> WorkerType {
        match &self.kind {
            WorkerKind::Ajp(a) => a.protocol.into(),
            WorkerKind::Lb(_) => WorkerType::Lb,
            WorkerKind::Status(_) => WorkerType::Status,
        }
    }
}

/// The `type` attribute (case-sensitive in mod_jk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerType {
    Ajp12,
    Ajp13,
    Ajp14,
    Lb,
    Status,
}

impl WorkerType {
    pub const NAMES: &'static [&'static str] = &["ajp13", "ajp14", "ajp12", "lb", "status"];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkerType::Ajp12 => "ajp12",
            WorkerType::Ajp13 => "ajp13",
            WorkerType::Ajp14 => "ajp14",
            WorkerType::Lb => "lb",
            WorkerType::Status => "status",
        }
    }

    /// mod_jk's internal type number (shown by the status worker).
    pub fn code(self) -> u32 {
        match self {
            WorkerType::Ajp12 => 1,
            WorkerType::Ajp13 => 2,
            WorkerType::Ajp14 => 3,
            WorkerType::Lb => 5,
            WorkerType::Status => 6,
        }
    }
}

impl fmt::Display for WorkerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<AjpProtocol> for WorkerType {
    fn from(p: AjpProtocol) -> Self {
        match p {
            AjpProtocol::Ajp12 => WorkerType::Ajp12,
            AjpProtocol::Ajp13 => WorkerType::Ajp13,
            AjpProtocol::Ajp14 => WorkerType::Ajp14,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AjpProtocol {
    Ajp12,
    Ajp13,
    Ajp14,
}

impl AjpProtocol {
    pub fn default_port(self) -> u16 {
        match self {
            AjpProtocol::Ajp12 => 8007,
            AjpProtocol::Ajp13 => 8009,
            AjpProtocol::Ajp14 => 8011,
        }
    }
}

/// When CPing/CPong probes are sent: a set of `C` (after connect), `P` (before each request on
/// a reused connection), `I` (idle pooled connections, during maintenance).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PingMode(u8);

impl PingMode {
    pub const NONE: PingMode = PingMode(0);
    pub const CONNECT: PingMode = PingMode(1);
    pub const PREPOST: PingMode = PingMode(2);
    pub const INTERVAL: PingMode = PingMode(4);
    pub const ALL: PingMode = PingMode(7);

    pub fn contains(self, other: PingMode) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: PingMode) -> PingMode {
        PingMode(self.0 | other.0)
    }

    pub fn bits(self) -> u8 {
        self.0
    }
}

impl fmt::Display for PingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (flag, letter) in [
            (PingMode::CONNECT, "C"),
            (PingMode::PREPOST, "P"),
            (PingMode::INTERVAL, "I"),
        ] {
            if self.contains(flag) {
                f.write_str(letter)?;
            }
        }
        Ok(())
    }
}

/// `recovery_options` bit mask (mod_jk §3.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryOptions(pub u32);

impl RecoveryOptions {
    /// No retry once the request reached Tomcat and no headers came back.
    pub const NO_RETRY_AFTER_REQUEST_SENT: u32 = 1;
    /// No retry once response headers were received.
    pub const NO_RETRY_AFTER_HEADERS: u32 = 2;
    /// Close the backend connection hard on a client read/write error.
    pub const CLOSE_ON_CLIENT_ERROR: u32 = 4;
    /// HEAD stays recoverable despite bit 1.
    pub const HEAD_RECOVERABLE: u32 = 8;
    /// GET stays recoverable despite bit 1 (only looked at when bit 8 is not set).
    pub const GET_RECOVERABLE: u32 = 16;
    pub const KNOWN_BITS: u32 = 31;

    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }
}

/// An ajp12/13/14 worker, including the attributes read when it is an lb member ("SUB").
#[derive(Clone, Debug, PartialEq)]
pub struct AjpWorker {
    pub protocol: AjpProtocol,
    pub host: String,
    /// 0 = contact disabled (lb members then start Stopped).
    pub port: u16,
    pub source: Option<String>,
    pub prefer_ipv6: bool,
    pub socket_timeout_s: u32,
    pub socket_connect_timeout_ms: u32,
    pub socket_keepalive: bool,
    /// SO_SNDBUF/SO_RCVBUF; 0 = OS default.
    pub socket_buffer: u32,
    pub ping_mode: PingMode,
    pub ping_timeout_ms: u32,
    pub connect_timeout_ms: u32,
    pub prepost_timeout_ms: u32,
    pub connection_ping_interval_s: u32,
    /// 0 = wait forever.
    pub reply_timeout_ms: u32,
    pub retries: u32,
    pub retry_interval_ms: u32,
    pub recovery_options: RecoveryOptions,
    /// Positive: fail and put the member in error; negative: fail the request only.
    pub fail_on_status: Vec<i32>,
    pub busy_limit: u32,
    /// mod_jk-rs: consecutive good probes before a member that was down returns (default 2).
    pub ready_probes: u32,
    /// mod_jk-rs: a path probed with an HTTP GET over AJP (2xx = ready), besides the CPing.
    pub health_url: Option<String>,
    /// mod_jk-rs: seconds over which a returning member's share ramps up (0 = at once).
    pub slow_start_s: u32,
    pub max_packet_size: u32,
    pub secret: Option<String>,
    /// ajp14 login secret.
    pub secretkey: Option<String>,
    pub connection_pool_size: u32,
    pub connection_pool_minsize: u32,
    pub connection_pool_timeout_s: u32,
    pub connection_acquire_timeout_ms: u32,
    pub lb_retries: u32,
    pub lbfactor: u32,
    pub route: String,
    pub domain: String,
    pub redirect: Option<String>,
    pub distance: u32,
    pub activation: Activation,
    /// mod_jk-rs: `Some(lb)` for a growth slot of lb `lb` (a hidden spare member, named
    /// `<lb>~<n>`, that runtime membership fills: README "Runtime membership"); `None` for a
    /// worker of the configuration.
    pub growth_of: Option<String>,
}

/// A host name and port whose addresses are an lb's members (`worker.<lb>.discover_dns`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsDiscovery {
    pub name: String,
    pub port: u16,
}

/// A ZooKeeper path whose ephemeral children are an lb's members
/// (`worker.<lb>.discovery = zk://HOST:PORT,.../PATH`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkDiscovery {
    /// The ensemble: `host:port` of each server, in the order given.
    pub servers: Vec<(String, u16)>,
    /// The members' parent znode (absolute, no trailing `/`).
    pub path: String,
    /// The session timeout asked for (`discover_session_timeout`, milliseconds).
    pub session_timeout_ms: u32,
    /// Digest credentials (`discover_auth = USER:PASSWORD`), sent as `digest` auth.
    pub auth: Option<String>,
}

impl ZkDiscovery {
    /// The connect string (`h1:p1,h2:p2`) a client takes, with the path as its chroot-free
    /// base.
    pub fn connect_string(&self) -> String {
        self.servers
            .iter()
            .map(|(h, p)| {
                if h.contains(':') {
                    format!("[{h}]:{p}")
                } else {
                    format!("{h}:{p}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LbWorker {
    pub members: Vec<String>,
    pub sticky_session: bool,
    pub sticky_session_force: bool,
    pub method: LbMethod,
    pub lock: LbLock,
    pub retries: u32,
    pub lb_retries: u32,
    pub retry_interval_ms: u32,
    pub recover_time_s: u32,
    pub error_escalation_time_s: u32,
    pub max_reply_timeouts: u32,
    /// mod_jk-rs: how long a request whose session member is restarting or down waits for
    /// it, in milliseconds (0 = mod_jk's behaviour: fail over at once).
    pub hold_timeout_ms: u32,
    /// mod_jk-rs: held requests per httpd child at most (0 = half the child's threads).
    pub hold_max: u32,
    /// mod_jk-rs: readiness probe interval for members that are down or restarting (ms).
    pub probe_interval_ms: u32,
    /// mod_jk-rs: window of the distinct-sessions drain counter (seconds).
    pub session_window_s: u32,
    /// mod_jk-rs: request bodies up to this many bytes are kept to be replayed (bytes).
    pub replay_buffer: u32,
    pub session_cookie: String,
    pub session_path: String,
    pub set_session_cookie: bool,
    pub session_cookie_path: String,
    pub secret: Option<String>,
    /// The largest `max_packet_size` of the members (sizes the failover buffer).
    pub max_packet_size: u32,
    /// mod_jk-rs runtime membership: spare member slots (`growth`, default
    /// [`DEFAULT_GROWTH`]), whose workers are [`WorkersConfig::growth`].
    pub growth: u32,
    /// The growth slots' worker names (`<lb>~1` ...): members after `members`.
    pub growth_members: Vec<String>,
    /// The worker whose AJP settings members added at runtime take (`template`; default the
    /// first configured member).
    pub template: String,
    /// The longest a removed member drains before its slot is freed (seconds).
    pub drain_timeout_s: u32,
    /// A draining member is idle (and freed) when nothing was in flight and no request was
    /// routed to it by its session for this many seconds.
    pub drain_idle_s: u32,
    /// `discover_dns = NAME:PORT`: every address NAME resolves to is a member.
    pub discover_dns: Option<DnsDiscovery>,
    /// `discovery = zk://...`: the ephemeral znodes under a ZooKeeper path are members.
    pub discovery_zk: Option<ZkDiscovery>,
    /// Seconds between two resolutions (`discover_interval`).
    pub discover_interval_s: u32,
    /// Seconds an answer that would remove more than half of the discovered members (or
    /// that fails) must last before members are removed (`discover_hold`).
    pub discover_hold_s: u32,
    /// `state_file`: where the members added at runtime are written, so that they also
    /// survive a full stop and start of httpd (graceful restarts keep them without it).
    pub state_file: Option<String>,
}

/// Spare member slots of an lb without `growth` (with `discover_dns`: [`DEFAULT_DNS_GROWTH`]).
pub const DEFAULT_GROWTH: u32 = 4;
/// Spare member slots of an lb with `discover_dns` or `discovery` and without `growth`.
pub const DEFAULT_DNS_GROWTH: u32 = 16;
/// The most spare member slots an lb may have.
pub const MAX_GROWTH: u32 = 256;

impl LbWorker {
    /// The configured members, then the growth slots: the balancer's member table.
    pub fn member_table(&self) -> impl Iterator<Item = &String> {
        self.members.iter().chain(&self.growth_members)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StatusWorker {
    pub read_only: bool,
    /// Allowed `REMOTE_USER` names; empty = everybody.
    pub users: Vec<String>,
    pub user_case_insensitive: bool,
    /// Rating entries such as `a.o` or `s` (mod_jk §6.7).
    pub good: Vec<String>,
    pub bad: Vec<String>,
    pub css: Option<String>,
    pub prefix: String,
    /// XML element prefix; `None` when configured as `-`.
    pub ns: Option<String>,
    /// Namespace declaration; `None` when configured as `-`.
    pub xmlns: Option<String>,
    pub doctype: Option<String>,
    /// `write_requires_token` (mod_jk-rs): every change must be a POST carrying the
    /// configuration generation's token (the status page's forms do; jkctl fetches it).
    pub write_requires_token: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert_eq!(WorkerType::Lb.code(), 5);
        assert_eq!(PingMode::ALL.to_string(), "CPI");
        assert_eq!(
            PingMode::CONNECT.union(PingMode::INTERVAL).to_string(),
            "CI"
        );
        assert!(RecoveryOptions(3).has(RecoveryOptions::NO_RETRY_AFTER_HEADERS));
        assert_eq!(AjpProtocol::Ajp14.default_port(), 8011);
    }
}
