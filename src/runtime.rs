//! One configuration generation: everything built from the directives after httpd has read
//! them (check_config, again in post_config), and what the request hooks read.
//!
//! httpd unloads and reloads the module between its startup passes and on every restart
//! (ARCHITECTURE.md rule 4), so nothing here lives in a Rust static: the generation hangs off
//! each server's state, which the configuration pool frees.

use std::collections::HashMap;
use std::ffi::c_int;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use jk_config::{BuildOptions, PropertyMap, WorkerKind, WorkersConfig};
use jk_directives::ServerConf;
use jk_log::{Level, LogSink, Logger, RequestLogFormat, StampFormat};
use jk_urimap::UriMap;

use crate::cstr::str_or_empty;
use crate::errlog::{log_server, HttpdLevel};
use crate::ffi;
use crate::jklog::{JkLog, PipeSink};
use crate::request::Req;
use crate::server_conf::{alloc_state, set_state, state_of, state_ref, ServerState};
use crate::shm::{self, ShmRegion};

/// Version token (Server header with `ServerTokens Full`, logs, status).
pub const VERSION: &str = concat!("mod_jk-rs/", env!("CARGO_PKG_VERSION"));

/// What all servers of one generation share.
pub struct Generation {
    pub props: PropertyMap,
    pub workers: WorkersConfig,
    pub watchdog_interval: u32,
    /// One AJP endpoint per ajp13 worker; each child fills its own connection pools.
    pub endpoints: HashMap<String, Arc<jk_ajp_client::Endpoint>>,
    /// worker.maintain in seconds.
    pub maintain_secs: u64,
    /// Unix time of this process's last maintenance run (request-driven maintenance).
    pub last_maintain: std::sync::atomic::AtomicU64,
    /// One balancer per lb worker, over the shared region (declared before `shm`).
    pub balancers: HashMap<String, Arc<jk_lb::Balancer>>,
    /// Runtime-editable ajp settings in the shared region (declared before `shm`).
    pub ajp: HashMap<String, jk_runtime::AjpShared>,
    /// Every server's URI map with the server's label, for the status worker.
    pub maps: std::sync::OnceLock<Vec<(String, Arc<UriMap>)>>,
    /// Requests of this process currently held for a restarting member (capped by hold_max).
    pub held: std::sync::atomic::AtomicUsize,
    /// This child's entry in the shared child table (set in child_init).
    pub child: std::sync::OnceLock<jk_shm::ChildIndex>,
    /// The same entry for the endpoints' connection counters (cleared when the child
    /// leaves the table).
    pub child_cell: Arc<jk_runtime::ChildCell>,
    /// The runtime-status region; declared last so it is unmapped after its users.
    pub shm: ShmRegion,
}

impl Generation {
    /// What the status worker reads and changes.
    pub fn view(&self) -> jk_runtime::View<'_> {
        jk_runtime::View {
            props: &self.props,
            workers: &self.workers,
            endpoints: &self.endpoints,
            balancers: &self.balancers,
            ajp: &self.ajp,
            maps: self.all_maps(),
            maintain_secs: self.maintain_secs,
        }
    }

    /// Every server's URI map (main server first) with its label.
    pub fn all_maps(&self) -> &[(String, Arc<UriMap>)] {
        self.maps.get().map(Vec::as_slice).unwrap_or(&[])
    }

    /// The AJP endpoint of an ajp13 worker, brought in line with runtime edits of its
    /// settings (host, port, timeouts) made through any child.
    pub fn endpoint(&self, name: &str) -> Option<&Arc<jk_ajp_client::Endpoint>> {
        let ep = self.endpoints.get(name)?;
        if let (Some(shared), Some(WorkerKind::Ajp(w))) = (
            self.ajp.get(name),
            self.workers.worker(name).map(|w| &w.kind),
        ) {
            shared.sync(ep, w);
        }
        Some(ep)
    }

    /// One maintenance pass of this process: connection pools, dead children, and the
    /// balancers' global maintenance (once per worker.maintain across all children) with
    /// readiness probes of members waiting for recovery.
    pub fn maintain(&self) {
        for ep in self.endpoints.values() {
            ep.maintain();
        }
        self.reap_dead_children();
        for b in self.balancers.values() {
            b.maintain();
            for i in b.members_to_probe() {
                let Some(ep) = b.member_name(i).and_then(|n| self.endpoint(n)) else {
                    continue;
                };
                let wait = ep.config().ping.interval.unwrap_or(Duration::from_secs(10));
                b.probe_result(i, ep.probe(wait).is_ok());
            }
        }
    }

    /// Cross-process maintenance that any child may do: releases the shared entries of
    /// children that died (a child killed mid-request must not leave members busy).
    pub fn reap_dead_children(&self) -> usize {
        self.shm.region().reap_dead_children(|pid| {
            // SAFETY: kill with signal 0 only checks that the process exists.
            let exists = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
            // EPERM means it exists under another user: alive.
            exists || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
        })
    }
}

/// What the request hooks of one server read.
pub struct ServerRuntime {
    pub gen: Arc<Generation>,
    pub conf: ServerConf,
    map: Option<Arc<UriMap>>,
    log: JkLog,
    request_log: Option<RequestLogFormat>,
    is_main: bool,
}

/// The runtime of server `s`, if this generation has started.
pub fn for_server(s: *mut ffi::server_rec) -> Option<Arc<ServerRuntime>> {
    // SAFETY: s comes from a live request; the state outlives the request.
    unsafe { state_ref(s) }.and_then(|st| st.runtime.clone())
}

impl ServerRuntime {
    /// Whether a line of `level` would be written (skip building costly messages).
    pub fn log_enabled(&self, level: Level) -> bool {
        self.log.enabled(level)
    }

    /// Logs for the request handler; the line names the caller's source file and line.
    #[track_caller]
    pub fn log(&self, level: Level, msg: &str) {
        self.log_at(level, "jk_handler", msg);
    }

    #[track_caller]
    pub fn log_at(&self, level: Level, function: &str, msg: &str) {
        self.log_located(std::panic::Location::caller(), level, function, msg);
    }

    /// Logs naming `at` (a line of a pure crate that decided what is logged).
    pub fn log_located(
        &self,
        at: &std::panic::Location<'_>,
        level: Level,
        function: &str,
        msg: &str,
    ) {
        self.log
            .log(level, function, source_name(at.file()), at.line(), msg);
    }

    /// The rule a normalised URI maps to (checking the mount file for changes when due).
    pub fn map_uri(&self, clean: &[u8]) -> Option<jk_urimap::MatchResult> {
        let map = self.map.as_ref()?;
        let m = map.map_with_reload(clean, jk_urimap::unix_now());
        for ev in map.take_reload_events() {
            self.log_at(Level::Info, "uri_worker_map_update", &format!("{ev:?}"));
        }
        m
    }

    /// Whether this is the main server (JK_LOCAL_ADDR is honoured there only).
    pub fn is_main_server(&self) -> bool {
        self.is_main
    }

    /// The AJP endpoint of an ajp13 worker, following runtime edits of its settings.
    pub fn endpoint(&self, name: &str) -> Option<Arc<jk_ajp_client::Endpoint>> {
        self.gen.endpoint(name).cloned()
    }

    /// The configured worker `name`.
    pub fn worker(&self, name: &str) -> Option<&jk_config::Worker> {
        self.gen.workers.worker(name)
    }

    /// The configuration of ajp13 worker `name`.
    pub fn ajp_worker(&self, name: &str) -> Option<&jk_config::AjpWorker> {
        match &self.gen.workers.worker(name)?.kind {
            WorkerKind::Ajp(a) => Some(a),
            _ => None,
        }
    }

    /// The configuration of lb worker `name`.
    pub fn lb_config(&self, name: &str) -> Option<&jk_config::LbWorker> {
        match &self.gen.workers.worker(name)?.kind {
            WorkerKind::Lb(l) => Some(l),
            _ => None,
        }
    }

    /// The balancer of lb worker `name`.
    pub fn balancer(&self, name: &str) -> Option<Arc<jk_lb::Balancer>> {
        self.gen.balancers.get(name).cloned()
    }

    /// Request-driven maintenance when no watchdog runs: at most once per worker.maintain.
    pub fn maybe_maintain(&self) {
        if self.gen.watchdog_interval > 0 || self.gen.maintain_secs == 0 {
            return;
        }
        let now = jk_urimap::unix_now();
        let last = self.gen.last_maintain.load(Ordering::Relaxed);
        if now >= last + self.gen.maintain_secs
            && self
                .gen
                .last_maintain
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.gen.maintain();
        }
    }

    pub fn auto_alias_dir(&self) -> Option<&str> {
        self.conf.auto_alias.as_deref()
    }

    pub fn strip_session_identifier(&self) -> Option<&str> {
        match &self.conf.strip_session {
            Some((true, ident)) => Some(ident.as_str()),
            _ => None,
        }
    }

    pub fn forward_directories(&self) -> bool {
        self.conf.effective_options().forward_directories()
    }

    pub fn worker_indicator(&self) -> &str {
        self.conf
            .indicators
            .effective(jk_directives::Indicator::Worker)
    }

    /// mod_jk's type name of a configured worker (`JK_WORKER_TYPE` note), if it exists.
    pub fn worker_type(&self, name: &str) -> Option<&'static str> {
        self.gen
            .workers
            .worker(name)
            .map(|w| w.worker_type().as_str())
    }

    /// Writes the JkRequestLogFormat line of a request mod_jk handled.
    pub fn write_request_log(&self, req: Req) {
        if let Some(fmt) = &self.request_log {
            let line = fmt.render(&crate::reqlog::Values::new(req));
            self.log.request_line(&line);
        }
    }
}

/// The file name of a source path (`src/hooks.rs` -> `hooks.rs`), as mod_jk prints `mod_jk.c`.
pub fn source_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The numeric `pthread_t` of the calling thread, as mod_jk prints it.
fn pthread_id() -> u64 {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as u64 }
}

/// mod_jk's label of a server in status output: the main server `name:port`, a virtual
/// host `name [addr:port]`.
fn server_label(s: *mut ffi::server_rec, main: bool) -> String {
    // SAFETY: live server_rec of the current configuration.
    unsafe {
        let name = crate::cstr::opt_str((*s).server_hostname)
            .map(|n| n.into_owned())
            .unwrap_or_default();
        let port = (*s).port;
        if main {
            if port == 0 {
                name
            } else {
                format!("{name}:{port}")
            }
        } else {
            let addrs = (*s).addrs;
            let (ip, vport) = if addrs.is_null() || (*addrs).host_addr.is_null() {
                (String::from("*"), port)
            } else {
                let a = (*addrs).host_addr;
                let ip = crate::cstr::opt_str((*a).hostname)
                    .map(|h| h.into_owned())
                    .unwrap_or_else(|| "*".into());
                (ip, (*addrs).host_port)
            };
            format!("{name} [{ip}:{vport}]")
        }
    }
}

/// The most httpd children that can exist at once (ServerLimit): the child table's size.
fn hard_limit_daemons() -> usize {
    let mut n: c_int = 0;
    // SAFETY: ap_mpm_query writes one int.
    let rc = unsafe { ffi::ap_mpm_query(ffi::AP_MPMQ_HARD_LIMIT_DAEMONS as c_int, &mut n) };
    if rc != 0 || n <= 0 {
        256
    } else {
        n as usize
    }
}

/// Walks httpd's server list (main first).
pub(crate) fn servers(main: *mut ffi::server_rec) -> Vec<*mut ffi::server_rec> {
    let mut v = Vec::new();
    let mut s = main;
    while !s.is_null() {
        v.push(s);
        // SAFETY: httpd's server list is a NULL-terminated chain of live records.
        s = unsafe { (*s).next };
    }
    v
}

/// Worker threads per child (mod_jk's default connection_pool_size): 1 under prefork.
fn mpm_threads() -> u32 {
    let mut threaded: c_int = 0;
    let mut max: c_int = 1;
    // SAFETY: ap_mpm_query writes one int.
    unsafe {
        if ffi::ap_mpm_query(ffi::AP_MPMQ_IS_THREADED as c_int, &mut threaded) != 0 || threaded == 0
        {
            return 1;
        }
        if ffi::ap_mpm_query(ffi::AP_MPMQ_MAX_THREADS as c_int, &mut max) != 0 {
            return 1;
        }
    }
    max.max(1) as u32
}

/// What building a generation produced.
struct Built {
    props: PropertyMap,
    workers: WorkersConfig,
    servers: Vec<(*mut ffi::server_rec, ServerConf, Option<UriMap>)>,
    warnings: Vec<String>,
}

/// Builds the workers and every server's URI map from the directives.
///
/// # Safety
/// `main` must be httpd's live main server with our state attached.
unsafe fn build(main: *mut ffi::server_rec) -> Result<Built, Vec<String>> {
    // SAFETY: forwarded contract.
    let Some(main_state) = (unsafe { state_of(main) }) else {
        return Err(vec!["mod_jk: no configuration for the main server".into()]);
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    // Properties: all JkWorkerProperty lines first, then the JkWorkersFile (mod_jk's order).
    let mut props = PropertyMap::new();
    // SAFETY: ap_server_root is httpd's global, set before configuration is read.
    let server_root = unsafe { str_or_empty(ffi::ap_server_root) }.into_owned();
    props.set_builtin("ServerRoot", &server_root);
    for (line, loc) in &main_state.global.worker_properties {
        let (file, lineno) = loc.rsplit_once(':').unwrap_or((loc.as_str(), "0"));
        let l = jk_config::Location {
            file: file.into(),
            line: lineno.parse().unwrap_or(0),
        };
        if let Err(e) = props.add_line(line, l) {
            errors.extend(e.errors.iter().map(|d| d.to_string()));
        }
    }
    if let Some(f) = &main_state.global.workers_file {
        if let Err(e) = props.read_file(Path::new(f)) {
            errors.extend(e.errors.iter().map(|d| d.to_string()));
        }
    }
    warnings.extend(props.warnings().iter().map(|d| d.to_string()));
    if !errors.is_empty() {
        return Err(errors);
    }
    let workers = match jk_config::build(
        &props,
        &BuildOptions {
            default_pool_size: mpm_threads(),
        },
    ) {
        Ok(w) => w,
        Err(e) => return Err(e.errors.iter().map(|d| d.to_string()).collect()),
    };
    warnings.extend(
        workers
            .warnings
            .iter()
            .map(|d| d.to_string())
            .filter(|w| !warnings.contains(w))
            .collect::<Vec<_>>(),
    );

    // Every server's effective configuration and URI map.
    let all = servers(main);
    let main_conf = main_state.conf.clone();
    let mut confs = Vec::new();
    for &s in &all {
        // SAFETY: live server list.
        let st = unsafe { state_of(s) };
        let conf = match st {
            // A vhost without Jk directives shares the main server's state: it gets the
            // inherited values but none of the main server's own mounts.
            Some(st) if st.server == s => st.conf.clone(),
            _ => ServerConf::merged(&main_conf, &ServerConf::new(true)),
        };
        let mut conf = conf;
        // JkAutoAlias is inherited by a vhost only together with JkMountCopy.
        if s != main
            && conf.auto_alias.is_none()
            && jk_runtime::maps::copy_enabled(&main_conf, &main_state.global, &conf)
        {
            conf.auto_alias = main_conf.auto_alias.clone();
        }
        confs.push((s, conf));
    }
    let conf_refs: Vec<&ServerConf> = confs.iter().map(|(_, c)| c).collect();
    let maps = match jk_runtime::maps::build_maps(&conf_refs, &workers, &main_state.global) {
        Ok((maps, w)) => {
            warnings.extend(w);
            maps
        }
        Err(e) => return Err(e),
    };
    let servers = confs
        .into_iter()
        .zip(maps)
        .map(|((s, c), m)| (s, c, m))
        .collect();
    Ok(Built {
        props,
        workers,
        servers,
        warnings,
    })
}

fn run_mode() -> u32 {
    // SAFETY: plain query of httpd's state.
    unsafe { ffi::ap_state_query(ffi::AP_SQ_RUN_MODE as c_int) as u32 }
}

fn main_state() -> u32 {
    // SAFETY: plain query of httpd's state.
    unsafe { ffi::ap_state_query(ffi::AP_SQ_MAIN_STATE as c_int) as u32 }
}

/// check_config: builds everything once to reject a broken configuration (also for
/// `apachectl configtest`). Errors go to stderr with FILE:LINE; warnings only when testing.
///
/// # Safety
/// `main` must be httpd's live main server.
pub unsafe fn check(_pconf: *mut ffi::apr_pool_t, main: *mut ffi::server_rec) -> Result<(), ()> {
    // SAFETY: forwarded.
    match unsafe { build(main) } {
        Ok(b) => {
            if run_mode() == ffi::AP_SQ_RM_CONFIG_TEST {
                let unknown = b.servers.iter().filter_map(|(_, _, m)| m.as_ref());
                let unknown = unknown
                    .flat_map(|m| jk_runtime::maps::unknown_workers(m, &b.workers))
                    .map(|u| u.to_string());
                let mut seen = std::collections::BTreeSet::new();
                let unknown: Vec<String> = unknown.filter(|u| seen.insert(u.clone())).collect();
                for w in b.warnings.iter().chain(&unknown) {
                    log_server(
                        HttpdLevel::Warning,
                        true,
                        main,
                        &format!("mod_jk: warning: {w}"),
                    );
                }
            }
            Ok(())
        }
        Err(errors) => {
            for e in &errors {
                log_server(HttpdLevel::Emerg, true, main, &format!("mod_jk: {e}"));
            }
            log_server(
                HttpdLevel::Emerg,
                true,
                main,
                &format!(
                    "mod_jk: configuration rejected ({} error(s) above)",
                    errors.len()
                ),
            );
            Err(())
        }
    }
}

/// Opens the JkLogFile of each server (one handle per distinct path, as mod_jk does).
///
/// # Safety
/// `pconf` must be the live configuration pool.
unsafe fn open_log(
    pconf: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
    conf: &ServerConf,
    sinks: &mut HashMap<String, Arc<dyn LogSink>>,
) -> Result<JkLog, String> {
    let level = conf.log_level.unwrap_or(Level::Info);
    let Some(path) = conf.log_file.as_deref() else {
        return Ok(JkLog::ErrorLog {
            level,
            server: s as usize,
        });
    };
    if path.is_empty() {
        return Err("Invalid JkLogFile EMPTY".into());
    }
    let sink = match sinks.get(path) {
        Some(sink) => sink.clone(),
        None => {
            let sink: Arc<dyn LogSink> = if let Some(prog) = path.strip_prefix('|') {
                // SAFETY: forwarded pool contract.
                Arc::new(unsafe { PipeSink::open(pconf, prog) }?)
            } else {
                Arc::new(
                    jk_log::FileSink::open(Path::new(path))
                        .map_err(|e| format!("could not open JkLog file {path}: {e}"))?,
                )
            };
            sinks.insert(path.to_string(), sink.clone());
            sink
        }
    };
    let stamp = match conf.stamp_format.as_deref() {
        Some(f) => StampFormat::parse(f)?,
        None => StampFormat::default(),
    };
    Ok(JkLog::File(Arc::new(
        Logger::new(level, stamp, sink).with_thread_id(pthread_id),
    )))
}

/// post_config: on the real pass (not the first, pre-config pass) builds the generation,
/// opens logs, creates the runtime-status file and hands every server its runtime.
///
/// # Safety
/// `pconf` and `main` must be httpd's live configuration pool and main server.
pub unsafe fn start_generation(
    pconf: *mut ffi::apr_pool_t,
    main: *mut ffi::server_rec,
) -> Result<(), ()> {
    if main_state() == ffi::AP_SQ_MS_CREATE_PRE_CONFIG {
        // Rule 4: create nothing on the first pass; httpd unloads us right after it.
        return Ok(());
    }
    // SAFETY: forwarded.
    let built = match unsafe { build(main) } {
        Ok(b) => b,
        Err(errors) => {
            for e in &errors {
                log_server(HttpdLevel::Emerg, true, main, &format!("mod_jk: {e}"));
            }
            return Err(());
        }
    };
    // SAFETY: forwarded.
    let Some(main_st) = (unsafe { state_of(main) }) else {
        return Err(());
    };
    let global = main_st.global.clone();

    // The runtime-status file.
    let shm_base = match &global.shm_file {
        Some(p) => p.clone(),
        None => {
            // SAFETY: ap_server_root is set.
            let root = unsafe { str_or_empty(ffi::ap_server_root) }.into_owned();
            let p = format!("{root}/logs/jk-runtime-status");
            log_server(
                HttpdLevel::Warning,
                false,
                main,
                &format!("No JkShmFile defined in httpd.conf. Using default {p}"),
            );
            p
        }
    };
    let (mut ajp, mut members, mut lbs) = (0, 0, 0);
    for w in &built.workers.workers {
        match &w.kind {
            WorkerKind::Ajp(_) => ajp += 1,
            WorkerKind::Lb(lb) => {
                lbs += 1;
                members += lb.members.len();
            }
            WorkerKind::Status(_) => {}
        }
    }
    let min_bytes = global.shm_size_kb.map_or(0, |kb| kb as usize * 1024);
    let children = hard_limit_daemons();
    // A member has two slots: its state and its per-child held counts.
    let slots = shm::slot_capacity(ajp + 2 * members + lbs);
    let shm = match ShmRegion::open(Path::new(&shm_base), children, slots, min_bytes) {
        Ok(r) => r,
        Err(e) => {
            log_server(
                HttpdLevel::Emerg,
                true,
                main,
                &format!("Initializing shm:{shm_base} {e}. Unable to start due to shared memory failure."),
            );
            return Err(());
        }
    };
    let maintain_secs = u64::from(built.workers.maintain_secs);
    let clock: Arc<dyn jk_lb::Clock> = Arc::new(jk_lb::SystemClock);
    let jk_runtime::Built {
        endpoints,
        ajp,
        balancers,
        warnings: endpoint_warnings,
        child: child_cell,
    } = match jk_runtime::build(&built.workers, shm.region(), clock, mpm_threads()) {
        Ok(b) => b,
        Err(e) => {
            log_server(HttpdLevel::Emerg, true, main, &format!("mod_jk: {e}"));
            return Err(());
        }
    };
    let gen = Arc::new(Generation {
        props: built.props,
        workers: built.workers,
        watchdog_interval: global.watchdog_interval.unwrap_or(0),
        endpoints,
        balancers,
        ajp,
        maintain_secs,
        last_maintain: std::sync::atomic::AtomicU64::new(jk_urimap::unix_now()),
        child: std::sync::OnceLock::new(),
        child_cell,
        held: std::sync::atomic::AtomicUsize::new(0),
        maps: std::sync::OnceLock::new(),
        shm,
    });
    let shm_note = format!(
        "runtime status in {}{}",
        gen.shm.path().display(),
        if gen.shm.reused {
            " (state kept from the previous generation)"
        } else {
            ""
        }
    );

    let mut all_maps: Vec<(String, Arc<UriMap>)> = Vec::new();
    let mut sinks: HashMap<String, Arc<dyn LogSink>> = HashMap::new();
    let mut main_log: Option<JkLog> = None;
    for (s, conf, map) in built.servers {
        // SAFETY: live pool and server.
        let log = match unsafe { open_log(pconf, s, &conf, &mut sinks) } {
            Ok(l) => l,
            Err(e) => {
                log_server(HttpdLevel::Emerg, true, s, &format!("mod_jk: {e}"));
                return Err(());
            }
        };
        let request_log = match conf
            .request_log_format
            .as_deref()
            .map(RequestLogFormat::parse)
        {
            Some(Ok(f)) => Some(f),
            Some(Err(e)) => {
                log_server(
                    HttpdLevel::Err,
                    false,
                    s,
                    &format!("mod_jk: {e}; request logging off"),
                );
                None
            }
            None => None,
        };
        let map = map.map(Arc::new);
        if let Some(m) = &map {
            if !all_maps.iter().any(|(_, known)| known.shares_rules_with(m)) {
                all_maps.push((server_label(s, s == main), m.clone()));
                // mod_jk's extension_fix, for each server's own map, in that server's log.
                for u in jk_runtime::maps::unknown_workers(m, &gen.workers) {
                    log.log(
                        Level::Error,
                        "extension_fix",
                        source_name(file!()),
                        line!(),
                        &u.message(),
                    );
                }
            }
        }
        let rt = Arc::new(ServerRuntime {
            gen: gen.clone(),
            conf: conf.clone(),
            map,
            log: log.clone(),
            request_log,
            is_main: s == main,
        });
        if main_log.is_none() {
            main_log = Some(log);
        }
        // SAFETY: live server; single-threaded post_config.
        let st = unsafe { state_of(s) };
        match st {
            Some(st) if st.server == s => st.runtime = Some(rt),
            _ => {
                // This vhost shared the main server's state; give it its own.
                let own = ServerState {
                    conf,
                    global: Default::default(),
                    server: s,
                    runtime: Some(rt),
                };
                // SAFETY: live pool; the new state replaces the shared pointer for `s` only.
                unsafe { set_state(s, alloc_state(pconf, own)) };
            }
        }
    }
    let _ = gen.maps.set(all_maps);
    let status_warnings = jk_runtime::status::exposure_warnings(gen.view());
    if let Some(log) = main_log {
        for w in built.warnings.iter().chain(&endpoint_warnings) {
            log.log(Level::Warn, "init_jk", source_name(file!()), line!(), w);
        }
        for w in &status_warnings {
            log.log(Level::Warn, "init_jk", source_name(file!()), line!(), w);
            log_server(HttpdLevel::Warning, false, main, &format!("mod_jk: {w}"));
        }
        for w in crate::pending::startup_warnings(main) {
            log.log(Level::Warn, "init_jk", source_name(file!()), line!(), &w);
            log_server(HttpdLevel::Warning, false, main, &format!("mod_jk: {w}"));
        }
        log.log(
            Level::Debug,
            "init_jk",
            source_name(file!()),
            line!(),
            &format!(
                "{} worker properties, {} workers",
                gen.props.entries().count(),
                gen.workers.workers.len()
            ),
        );
        log.log(
            Level::Info,
            "init_jk",
            source_name(file!()),
            line!(),
            &shm_note,
        );
        log.log(
            Level::Info,
            "init_jk",
            source_name(file!()),
            line!(),
            &format!("{VERSION} initialized"),
        );
    }
    let c = std::ffi::CString::new(VERSION).unwrap_or_default();
    // SAFETY: live pool; httpd copies the token.
    unsafe { ffi::ap_add_version_component(pconf, c.as_ptr()) };
    Ok(())
}

impl ServerRuntime {
    /// One maintenance pass for this server (watchdog or request-driven).
    pub fn maintain(&self) {
        if let Some(map) = &self.map {
            map.check_reload(jk_urimap::unix_now(), false);
            for ev in map.take_reload_events() {
                self.log_at(Level::Info, "uri_worker_map_update", &format!("{ev:?}"));
            }
        }
    }
}
