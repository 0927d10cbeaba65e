//! One configuration generation: what the request hooks read (the workers, endpoints and
//! balancers every server shares, and each server's own runtime: its URI map, logs and
//! directives). `startup.rs` builds it in post_config; `child.rs` runs its per-child threads.
//!
//! httpd unloads and reloads the module between its startup passes and on every restart
//! (ARCHITECTURE.md rule 4), so nothing here lives in a Rust static: the generation hangs off
//! each server's state, which the configuration pool frees.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use jk_config::{PropertyMap, WorkerKind, WorkersConfig};
use jk_directives::ServerConf;
use jk_log::{Level, RequestLogFormat};
use jk_urimap::UriMap;

use crate::ffi;
use crate::httpd_log::{log_server, HttpdLevel};
use crate::module_log::JkLog;
use crate::request::Req;
use crate::server_conf::state_ref;
use crate::shm::ShmRegion;

/// Version token (Server header with `ServerTokens Full`, logs, status).
pub const VERSION: &str = concat!("mod_jk-rs/", env!("CARGO_PKG_VERSION"));

/// What all servers of one generation share.
pub struct Generation {
    pub props: PropertyMap,
    pub workers: WorkersConfig,
    pub watchdog_interval: u32,
    /// One AJP endpoint per ajp13 worker; each child fills its own connection pools.
    pub endpoints: jk_runtime::ByName<Arc<jk_ajp_client::Endpoint>>,
    /// worker.maintain in seconds.
    pub maintain_secs: u64,
    /// Unix time of this process's last maintenance run (request-driven maintenance).
    pub last_maintain: std::sync::atomic::AtomicU64,
    /// One balancer per lb worker, over the shared region (declared before `shm`).
    pub balancers: jk_runtime::ByName<Arc<jk_lb::Balancer>>,
    /// Runtime-editable ajp settings in the shared region (declared before `shm`).
    pub ajp: jk_runtime::ByName<jk_runtime::AjpShared>,
    /// Every server's URI map with the server's label, for the status worker.
    pub maps: std::sync::OnceLock<Vec<(String, Arc<UriMap>)>>,
    /// Requests of this process currently held for a restarting member (capped by hold_max).
    pub held: std::sync::atomic::AtomicUsize,
    /// This child's entry in the shared child table (set in child_init).
    pub child: std::sync::OnceLock<jk_shm::ChildIndex>,
    /// The same entry for the endpoints' connection counters (cleared when the child
    /// leaves the table).
    pub child_cell: Arc<jk_runtime::ChildCell>,
    /// This process logged a stale lock / a lock wait given up in the runtime-status file
    /// (once each per process and generation; later ones go to the debug level).
    pub shm_stale_logged: AtomicBool,
    pub shm_timeout_logged: AtomicBool,
    /// The status workers' write token of this generation (16 random bytes, hex): made in
    /// the parent at post_config, so every child accepts the same one and a graceful restart
    /// makes a new one.
    pub write_token: String,
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
        jk_runtime::probe::maintenance_round(
            &self.endpoints,
            &self.balancers,
            |n| self.endpoint(n),
            || {
                self.reap_dead_children();
            },
        );
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
    pub(crate) map: Option<Arc<UriMap>>,
    pub(crate) log: JkLog,
    pub(crate) request_log: Option<RequestLogFormat>,
    pub(crate) is_main: bool,
}

/// The runtime of server `s`, if this generation has started.
///
/// # Safety
/// `s` must be a live `server_rec` of the current configuration.
pub unsafe fn for_server(s: *mut ffi::server_rec) -> Option<Arc<ServerRuntime>> {
    // SAFETY: forwarded contract; the state outlives the configuration's servers.
    unsafe { state_ref(s) }.and_then(|st| st.runtime.clone())
}

/// The runtime of the server a request came to, if this generation has started.
pub fn for_request(req: Req) -> Option<Arc<ServerRuntime>> {
    // SAFETY: a live request's server is live.
    unsafe { for_server(req.server()) }
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

    /// Logs `msg` to the mod_jk log and, when that is a JkLogFile, to httpd's error log too:
    /// for what an operator must see wherever they look.
    #[track_caller]
    pub fn log_operator(&self, level: Level, function: &str, msg: &str) {
        self.log_at(level, function, msg);
        if matches!(self.log, JkLog::File(_)) {
            log_server(
                HttpdLevel::from_jk(level),
                false,
                std::ptr::null(),
                &format!("mod_jk: {msg}"),
            );
        }
    }

    /// Checks the runtime-status file (the header on every request; with `full` the slot
    /// table too) and logs what jk-shm ran into (stale or stuck sequence locks). A corrupt
    /// region is logged once, by the one process that found it first; a lock problem once per
    /// process and kind, and not at all (debug) once the region is known to be corrupt.
    pub fn check_shm(&self, full: bool) {
        let shm = &self.gen.shm;
        if let Some(line) = shm.check(full) {
            self.log_operator(Level::Error, "jk_shm_check", &line);
        }
        for a in jk_shm::take_anomalies() {
            let once = match a {
                jk_shm::Anomaly::StaleLock { .. } => &self.gen.shm_stale_logged,
                jk_shm::Anomaly::LockTimeout { .. } => &self.gen.shm_timeout_logged,
            };
            let line = format!("runtime-status file {}: {a}", shm.path().display());
            if shm.known_bad() || once.swap(true, Ordering::Relaxed) {
                self.log_at(Level::Debug, "jk_shm_check", &line);
            } else {
                self.log_operator(
                    Level::Warn,
                    "jk_shm_check",
                    &format!("{line} (further ones of this process at debug level)"),
                );
            }
        }
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
            self.check_shm(true);
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

    /// Writes the JkRequestLogFormat line of a request mod_jk handled.
    pub fn write_request_log(&self, req: Req) {
        if let Some(fmt) = &self.request_log {
            let line = fmt.render(&crate::request_log::Values::new(req));
            self.log.request_line(&line);
        }
    }
}

/// The file name of a source path (`src/hooks.rs` -> `hooks.rs`), as mod_jk prints `mod_jk.c`.
pub fn source_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
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
