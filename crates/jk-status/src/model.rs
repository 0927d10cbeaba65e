//! The read-only picture of the workers that the glue fills before calling
//! [`handle`](crate::handle). Everything is plain data; texts are produced by the enums,
//! jk-config's [`Activation`], [`MemberState`], [`LbMethod`] and [`LbLock`].

pub use jk_config::{Activation, LbLock, LbMethod, MemberState};

/// The version string mod_jk reports (`jk_version`).
pub const JK_VERSION: &str = "mod_jk/1.2.48";

/// A point in time as the status worker prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeView {
    /// Local time `YYYYmmddHHMMSS`.
    pub datetime: String,
    /// Offset `+hhmm` / `-hhmm`.
    pub tz: String,
    /// Seconds since the epoch.
    pub unix: i64,
}

/// A recorded error time (member: first error time; ajp worker: last error time).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorTime {
    /// Local time `YYYYmmddHHMMSS`.
    pub datetime: String,
    /// Offset `+hhmm`.
    pub tz: String,
    /// Seconds since the epoch.
    pub unix: i64,
    /// Seconds since then.
    pub ago: i64,
}

/// The AJP connection settings shared by lb members and standalone ajp workers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AjpSettings {
    /// `ajp13` or `ajp14`.
    pub worker_type: String,
    /// Configured host name.
    pub host: String,
    /// Configured port.
    pub port: i32,
    /// Resolved `ip:port`, or `unresolved`/`invalid`.
    pub address: String,
    /// Source address, `undefined` when unset.
    pub source: String,
    /// connection_pool_timeout (s).
    pub connection_pool_timeout: i32,
    /// ping_timeout (ms).
    pub ping_timeout: i32,
    /// connect_timeout (ms).
    pub connect_timeout: i32,
    /// prepost_timeout (ms).
    pub prepost_timeout: i32,
    /// reply_timeout (ms).
    pub reply_timeout: i32,
    /// connection_ping_interval (s).
    pub connection_ping_interval: i32,
    /// retries.
    pub retries: i32,
    /// retry_interval (ms); not in XML, shown in edit forms.
    pub retry_interval: i32,
    /// recovery_options.
    pub recovery_options: u32,
    /// busy_limit.
    pub busy_limit: i32,
    /// max_packet_size.
    pub max_packet_size: u32,
}

impl Default for AjpSettings {
    fn default() -> Self {
        AjpSettings {
            worker_type: "ajp13".into(),
            host: "localhost".into(),
            port: 8009,
            address: "127.0.0.1:8009".into(),
            source: "undefined".into(),
            connection_pool_timeout: 0,
            ping_timeout: 10000,
            connect_timeout: 0,
            prepost_timeout: 0,
            reply_timeout: 0,
            connection_ping_interval: 0,
            retries: 2,
            retry_interval: 100,
            recovery_options: 0,
            busy_limit: 0,
            max_packet_size: 8192,
        }
    }
}

/// A latency histogram (mod_jk-rs): per-bucket counts, not cumulative (the last bucket is
/// above every bound), and the sum of the observations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistogramView {
    /// Upper bounds of the buckets, microseconds, increasing.
    pub bounds_us: Vec<u64>,
    /// Observations per bucket (`bounds_us.len() + 1` of them).
    pub counts: Vec<u64>,
    /// Sum of the observations, microseconds.
    pub sum_us: u64,
}

impl HistogramView {
    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, &c| a.saturating_add(c))
    }

    /// Observations at or below each bound, then in all (Prometheus `le` buckets).
    pub fn cumulative(&self) -> Vec<u64> {
        let mut total = 0u64;
        self.counts
            .iter()
            .map(|&c| {
                total = total.saturating_add(c);
                total
            })
            .collect()
    }
}

/// Latency figures of a member, or of a balancer (the sum of its members') (mod_jk-rs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencyView {
    /// From sending the request to the end of the reply, of the replies the member gave.
    pub reply: HistogramView,
    /// How long requests were held for the member (restarting, awaiting readiness).
    pub hold: HistogramView,
    /// Replies by status class: 1xx, 2xx, 3xx, 4xx, 5xx.
    pub replies: [u64; 5],
}

/// One member of an lb worker (`<jk:member>`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberView {
    /// Member (worker) name.
    pub name: String,
    /// Its AJP settings.
    pub settings: AjpSettings,
    /// Activation.
    pub activation: Activation,
    /// lbfactor.
    pub lbfactor: i32,
    /// route (jvmRoute).
    pub route: String,
    /// redirect.
    pub redirect: String,
    /// domain.
    pub domain: String,
    /// distance.
    pub distance: i32,
    /// Runtime state.
    pub state: MemberState,
    /// lb_mult.
    pub lbmult: u64,
    /// lb_value.
    pub lbvalue: u64,
    /// Times chosen.
    pub elected: u64,
    /// Requests without session id.
    pub sessions: u64,
    /// Errors (lb record).
    pub errors: u64,
    /// Client errors.
    pub client_errors: u64,
    /// Reply timeouts.
    pub reply_timeouts: u64,
    /// Bytes sent to the backend.
    pub transferred: u64,
    /// Bytes read from the backend.
    pub read: u64,
    /// Busy connections now.
    pub busy: u64,
    /// Maximum busy.
    pub max_busy: u64,
    /// Connected now.
    pub connected: u64,
    /// Maximum connected.
    pub max_connected: u64,
    /// Seconds until recovery (min), 0 unless in error.
    pub time_to_recover_min: i64,
    /// Seconds until recovery (max).
    pub time_to_recover_max: i64,
    /// Epoch of the last reset.
    pub last_reset_at: i64,
    /// Seconds since the last reset.
    pub last_reset_ago: i64,
    /// First error time, if any.
    pub error_time: Option<ErrorTime>,
    /// Extra (JSON/page): requests in flight now.
    pub in_flight: Option<u64>,
    /// Extra (JSON/page): text of the last error.
    pub last_error: Option<String>,
    /// Extra (JSON/page): the backend is restarting.
    pub restarting: Option<bool>,
    /// mod_jk-rs readiness: the member is kept out until its readiness probes pass.
    pub awaiting_readiness: Option<bool>,
    /// mod_jk-rs drain signal: unix time of the last request routed by session.
    pub last_sticky_time: Option<u64>,
    /// mod_jk-rs drain signal: distinct sessions seen in the recent window (estimate).
    pub recent_sessions: Option<u64>,
    /// mod_jk-rs hold: requests waiting for this member now (not in flight).
    pub held: Option<u64>,
    /// Extra (JSON/page): the member is draining.
    pub draining: Option<bool>,
    /// mod_jk-rs runtime membership: where the member comes from, `config`, `runtime`,
    /// `dns` or `registry` (`None`: a build without runtime membership; all are `config`).
    /// Never in XML/TXT/PROP.
    pub origin: Option<String>,
    /// mod_jk-rs runtime membership: `joining` (readiness probes, slow start), `active`,
    /// `draining` (being removed: no new sessions, sticky requests still served) or
    /// `leaving` (its slot is being freed). Never in XML/TXT/PROP.
    pub lifecycle: Option<String>,
    /// mod_jk-rs latency histograms and replies by status class (JSON, Prometheus, page).
    pub latency: Option<LatencyView>,
}

impl MemberView {
    /// Whether the member came from the configuration (origin `config` or not reported):
    /// such members are not removed from the page.
    pub fn is_configured(&self) -> bool {
        self.origin.as_deref().is_none_or(|o| o == "config")
    }
}

/// One URI mapping rule shown for a worker (`<jk:map>`; `id` is the 1-based position).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapView {
    /// `ServerName[:port]` or `ServerName [addr:port]`.
    pub server: String,
    /// Pattern (without `-`/`!`).
    pub uri: String,
    /// `Exact` / `Wildchar`, optionally prefixed `Disabled ` / `Unmount ` (see jk-urimap).
    pub map_type: String,
    /// `worker definition`, `JkMount` or `uriworkermap`.
    pub source: String,
    /// Extension reply_timeout (-1 = unset).
    pub reply_timeout: i32,
    /// Extension sticky_ignore.
    pub sticky_ignore: i32,
    /// Extension stateless.
    pub stateless: i32,
    /// Extension fail_on_status (raw).
    pub fail_on_status: String,
    /// Extension active.
    pub active: String,
    /// Extension disabled.
    pub disabled: String,
    /// Extension stopped.
    pub stopped: String,
    /// Extension use_server_errors.
    pub use_server_errors: i32,
}

impl Default for MapView {
    fn default() -> Self {
        MapView {
            server: String::new(),
            uri: String::new(),
            map_type: "Exact".into(),
            source: "JkMount".into(),
            reply_timeout: -1,
            sticky_ignore: 0,
            stateless: 0,
            fail_on_status: String::new(),
            active: String::new(),
            disabled: String::new(),
            stopped: String::new(),
            use_server_errors: 0,
        }
    }
}

/// One lb worker (`<jk:balancer>`). good/degraded/bad are computed from the members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbView {
    /// Worker name.
    pub name: String,
    /// sticky_session.
    pub sticky_session: bool,
    /// sticky_session_force.
    pub sticky_session_force: bool,
    /// retries.
    pub retries: i32,
    /// retry_interval (ms); edit form only.
    pub retry_interval: i32,
    /// recover_time (s).
    pub recover_time: i32,
    /// error_escalation_time (s).
    pub error_escalation_time: i32,
    /// max_reply_timeouts.
    pub max_reply_timeouts: i32,
    /// method.
    pub method: LbMethod,
    /// lock.
    pub lock: LbLock,
    /// Busy now.
    pub busy: u64,
    /// Maximum busy.
    pub max_busy: u64,
    /// Seconds until next maintenance (min).
    pub time_to_maintenance_min: i64,
    /// Seconds until next maintenance (max).
    pub time_to_maintenance_max: i64,
    /// Epoch of the last reset.
    pub last_reset_at: i64,
    /// Seconds since the last reset.
    pub last_reset_ago: i64,
    /// Members in configuration order.
    pub members: Vec<MemberView>,
    /// URI maps of this worker.
    pub maps: Vec<MapView>,
    /// mod_jk-rs runtime membership: member slots of the balancer (configured members plus
    /// growth slots); used = `members.len()`, free = slots - used. `None`: not reported.
    pub member_slots: Option<u64>,
    /// mod_jk-rs ZooKeeper discovery: the lb's registry connection (`None`: no registry).
    pub registry: Option<RegistryView>,
    /// mod_jk-rs latency histograms of the balancer: the sum of its member slots'.
    pub latency: Option<LatencyView>,
}

/// An lb's registry connection (README "ZooKeeper", status fields).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryView {
    /// `zk://servers/path`.
    pub source: String,
    /// none, connecting, connected, disconnected, expired, auth_failed.
    pub state: String,
    /// The ZooKeeper session id (`0x...`; empty before the first session).
    pub session_id: String,
    /// The child following the registry (0: none yet).
    pub holder_pid: u32,
    /// Unix ms of the last registry event (a watch firing or a connection state change).
    pub last_event_ms: u64,
    /// Milliseconds since then.
    pub last_event_ago_ms: u64,
    /// Milliseconds from the last change's event to its members being applied.
    pub lag_ms: u64,
    /// Members the registry lists.
    pub members: u64,
    /// The members' path may be written by anyone.
    pub world_writable: bool,
    /// A shrink (or empty list) is being held back for discover_hold.
    pub shrink_held: bool,
    /// Records were refused at the last read.
    pub bad_records: bool,
}

impl Default for LbView {
    fn default() -> Self {
        LbView {
            name: String::new(),
            sticky_session: true,
            sticky_session_force: false,
            retries: 2,
            retry_interval: 100,
            recover_time: 60,
            error_escalation_time: 30,
            max_reply_timeouts: 0,
            method: LbMethod::Request,
            lock: LbLock::Optimistic,
            busy: 0,
            max_busy: 0,
            time_to_maintenance_min: 0,
            time_to_maintenance_max: 0,
            last_reset_at: 0,
            last_reset_ago: 0,
            members: Vec::new(),
            maps: Vec::new(),
            member_slots: None,
            registry: None,
            latency: None,
        }
    }
}

impl LbView {
    /// The member called `name`.
    pub fn member(&self, name: &str) -> Option<&MemberView> {
        self.members.iter().find(|m| m.name == name)
    }

    /// Free member slots (`member_slots` - members), `None` when slots are not reported.
    pub fn members_free(&self) -> Option<u64> {
        self.member_slots
            .map(|s| s.saturating_sub(self.members.len() as u64))
    }
}

/// A standalone ajp worker of worker.list (`<jk:ajp>`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AjpView {
    /// Worker name.
    pub name: String,
    /// AJP settings.
    pub settings: AjpSettings,
    /// Runtime state (HTML only).
    pub state: MemberState,
    /// Requests served.
    pub used: u64,
    /// Errors.
    pub errors: u64,
    /// Client errors.
    pub client_errors: u64,
    /// Reply timeouts.
    pub reply_timeouts: u64,
    /// Bytes sent.
    pub transferred: u64,
    /// Bytes read.
    pub read: u64,
    /// Busy now.
    pub busy: u64,
    /// Maximum busy.
    pub max_busy: u64,
    /// Connected now.
    pub connected: u64,
    /// Maximum connected.
    pub max_connected: u64,
    /// Epoch of the last reset.
    pub last_reset_at: i64,
    /// Seconds since the last reset.
    pub last_reset_ago: i64,
    /// Last error time, if any.
    pub error_time: Option<ErrorTime>,
    /// URI maps of this worker.
    pub maps: Vec<MapView>,
    /// Extra (JSON/page): requests in flight now.
    pub in_flight: Option<u64>,
    /// Extra (JSON/page): text of the last error.
    pub last_error: Option<String>,
}

/// Everything a status request may show. Filled by the glue for every request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusModel {
    /// The request's URI path (e.g. `/jkmanager`): target of every link and form.
    pub request_uri: String,
    /// The server name as mod_jk reports it for this request (`s->server_name`: the
    /// JK_LOCAL_NAME variable, else httpd's `ap_get_server_name`, which follows
    /// UseCanonicalName and the request's Host).
    pub server_name: String,
    /// The port likewise (`s->server_port`: JK_LOCAL_PORT read as C's `atoi`, else
    /// `ap_get_server_port`).
    pub server_port: i32,
    /// httpd's server description (`Apache/2.4.x (Debian) mod_jk/1.2.48`).
    pub web_server: String,
    /// [`JK_VERSION`].
    pub jk_version: String,
    /// Now.
    pub time: TimeView,
    /// lb workers of worker.list, in order.
    pub lbs: Vec<LbView>,
    /// ajp workers of worker.list, in order.
    pub ajps: Vec<AjpView>,
    /// Names of the status workers of worker.list (never listed, but `w=` may name them).
    pub status_workers: Vec<String>,
    /// `cmd=dump`: the original configuration map, `.secret` keys already removed.
    pub dump: Vec<(String, String)>,
}

impl Default for StatusModel {
    fn default() -> Self {
        StatusModel {
            request_uri: "/jkstatus".into(),
            server_name: "localhost".into(),
            server_port: 80,
            web_server: String::new(),
            jk_version: JK_VERSION.into(),
            time: TimeView::default(),
            lbs: Vec::new(),
            ajps: Vec::new(),
            status_workers: Vec::new(),
            dump: Vec::new(),
        }
    }
}

impl StatusModel {
    /// The lb worker called `name`.
    pub fn lb(&self, name: &str) -> Option<&LbView> {
        self.lbs.iter().find(|l| l.name == name)
    }

    /// The ajp worker called `name`.
    pub fn ajp(&self, name: &str) -> Option<&AjpView> {
        self.ajps.iter().find(|a| a.name == name)
    }
}
