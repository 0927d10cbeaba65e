//! Building a configuration generation from httpd's directives: `check` in check_config
//! (also for `apachectl configtest`), `start_generation` in post_config on the real pass
//! (workers, every server's URI map and logs, the runtime-status region).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use jk_config::{BuildOptions, PropertyMap, WorkerKind, WorkersConfig};
use jk_directives::ServerConf;
use jk_log::{Level, LogSink, Logger, RequestLogFormat, StampFormat};
use jk_urimap::UriMap;

use crate::cstr::str_or_empty;
use crate::ffi;
use crate::generation::{source_name, Generation, ServerRuntime, VERSION};
use crate::httpd_log::{log_server, HttpdLevel};
use crate::httpd_query::{
    hard_limit_daemons, main_state, mpm_threads, pthread_id, run_mode, server_label, servers,
};
use crate::module_log::{JkLog, PipeSink};
use crate::server_conf::{alloc_state, set_state, state_of, ServerState};
use crate::shm::{self, ShmRegion};

/// The JkLogFile used when httpd.conf sets none ("": httpd's ErrorLog) and the JkShmFile
/// likewise, fixed at build time (build.rs: `MOD_JK_DEFAULT_LOG_FILE`,
/// `MOD_JK_DEFAULT_SHM_FILE`). Debian's build compiles in /var/log/apache2/mod_jk.log and
/// /var/log/apache2/jk-runtime-status (its patch 0002), so a configuration that includes only
/// jk.load finds its log there; `make` and `make deb` build with those. Relative: ServerRoot's.
const DEFAULT_LOG_FILE: &str = env!("MOD_JK_DEFAULT_LOG_FILE");
const DEFAULT_SHM_FILE: &str = env!("MOD_JK_DEFAULT_SHM_FILE");

/// `path` relative to ServerRoot `root` unless it is absolute (or a `|program`).
fn server_root_relative(root: &str, path: &str) -> String {
    if path.starts_with('/') || path.starts_with('|') {
        path.to_string()
    } else {
        format!("{}/{path}", root.trim_end_matches('/'))
    }
}

/// The startup warning for a configuration without jk.conf's settings (Debian's jk.conf sets
/// JkWorkersFile, JkLogFile and JkShmFile; a setup that includes only jk.load has none of
/// them): names each one missing and what is used instead. None when all three are set.
fn missing_jk_conf(missing: &[(&str, String)]) -> Option<String> {
    if missing.is_empty() {
        return None;
    }
    let names: Vec<&str> = missing.iter().map(|(n, _)| *n).collect();
    let used: Vec<String> = missing.iter().map(|(n, u)| format!("{n}: {u}")).collect();
    Some(format!(
        "mod_jk: httpd.conf sets no {} (Debian's /etc/apache2/mods-available/jk.conf sets \
         them; is only jk.load included?); using {}",
        names.join(", "),
        used.join("; ")
    ))
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
    // SAFETY: forwarded contract (live main server).
    let all = unsafe { servers(main) };
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

    // SAFETY: ap_server_root is set.
    let root = unsafe { str_or_empty(ffi::ap_server_root) }.into_owned();
    let mut missing = Vec::new();
    if global.workers_file.is_none() && global.worker_properties.is_empty() {
        missing.push((
            "JkWorkersFile",
            "no workers file (only the default worker ajp13)".to_string(),
        ));
    }
    // The main server's JkLogFile, else the built-in default for every server without one
    // (as mod_jk: a virtual host without JkLogFile logs where the main server does).
    let main_log = built
        .servers
        .iter()
        .find(|(s, _, _)| *s == main)
        .and_then(|(_, c, _)| c.log_file.clone());
    let default_log = match main_log {
        Some(_) => None,
        None if DEFAULT_LOG_FILE.is_empty() => {
            log_server(
                HttpdLevel::Warning,
                false,
                main,
                "No JkLogFile defined in httpd.conf. Using httpd's ErrorLog",
            );
            missing.push(("JkLogFile", "httpd's ErrorLog".to_string()));
            None
        }
        None => {
            let p = server_root_relative(&root, DEFAULT_LOG_FILE);
            log_server(
                HttpdLevel::Warning,
                false,
                main,
                &format!("No JkLogFile defined in httpd.conf. Using default {p}"),
            );
            missing.push(("JkLogFile", p.clone()));
            Some(p)
        }
    };
    // The runtime-status file.
    let shm_base = match &global.shm_file {
        Some(p) => p.clone(),
        None => {
            let p = server_root_relative(&root, DEFAULT_SHM_FILE);
            log_server(
                HttpdLevel::Warning,
                false,
                main,
                &format!("No JkShmFile defined in httpd.conf. Using default {p}"),
            );
            missing.push(("JkShmFile", p.clone()));
            p
        }
    };
    if let Some(line) = missing_jk_conf(&missing) {
        log_server(HttpdLevel::Warning, false, main, &line);
    }
    let (mut ajp, mut members, mut lbs) = (0, 0, 0);
    // Growth slots (runtime membership) count as workers and members.
    for w in built.workers.all_workers() {
        match &w.kind {
            WorkerKind::Ajp(_) => ajp += 1,
            WorkerKind::Lb(lb) => {
                lbs += 1;
                members += lb.member_table().count();
            }
            WorkerKind::Status(_) => {}
        }
    }
    let min_bytes = global.shm_size_kb.map_or(0, |kb| kb as usize * 1024);
    let children = hard_limit_daemons();
    // A member has two slots: its state and its per-child held counts.
    let slots = shm::slot_capacity(ajp + 2 * members + lbs);
    let shm = match ShmRegion::open(Path::new(&shm_base), children, slots, min_bytes) {
        Ok(r) => {
            if let Some(why) = &r.recreated {
                log_server(
                    HttpdLevel::Warning,
                    false,
                    main,
                    &format!("mod_jk: {}", recreated_line(&r, why)),
                );
            }
            r
        }
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
    // The status workers' write token (their page's forms carry it): one per generation.
    let write_token =
        match std::fs::File::open("/dev/urandom").and_then(jk_runtime::status::new_write_token) {
            Ok(t) => t,
            Err(e) => {
                log_server(
                    HttpdLevel::Emerg,
                    true,
                    main,
                    &format!("mod_jk: cannot read /dev/urandom for the status write token: {e}"),
                );
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
        shm_stale_logged: AtomicBool::new(false),
        shm_timeout_logged: AtomicBool::new(false),
        write_token,
        child_cell,
        held: std::sync::atomic::AtomicUsize::new(0),
        maps: std::sync::OnceLock::new(),
        shm,
    });
    // Members added at runtime survive a restart, unless workers.properties now configures
    // a member with the same name or route.
    for line in jk_runtime::membership::yield_to_configuration(&gen.view()) {
        log_server(HttpdLevel::Notice, false, main, &format!("mod_jk: {line}"));
    }
    // With a state file they also survive a full stop and start.
    for lb in gen.balancers.keys() {
        if let Some(line) = prepare_state_file(&gen.view(), lb) {
            log_server(HttpdLevel::Warning, false, main, &format!("mod_jk: {line}"));
        }
        for line in jk_runtime::membership::restore_state_file(&gen.view(), lb) {
            log_server(HttpdLevel::Notice, false, main, &format!("mod_jk: {line}"));
        }
    }
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
    for (s, mut conf, map) in built.servers {
        if conf.log_file.is_none() {
            conf.log_file = default_log.clone();
        }
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
                // SAFETY: a live server of this configuration.
                all_maps.push((unsafe { server_label(s, s == main) }, m.clone()));
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
        for w in crate::inert_directives::startup_warnings(main) {
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
        if let Some(why) = &gen.shm.recreated {
            log.log(
                Level::Warn,
                "init_jk",
                source_name(file!()),
                line!(),
                &recreated_line(&gen.shm, why),
            );
        }
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

/// The line saying that the runtime-status file did not validate and was recreated.
fn recreated_line(shm: &ShmRegion, why: &str) -> String {
    format!(
        "runtime-status file {} did not validate ({why}); recreated it empty (runtime changes \
         and counters of the previous generation are lost)",
        shm.path().display()
    )
}

/// Started as root, httpd creates lb `lb`'s missing `state_file` for the user its children run
/// as (they rewrite it, and the file's directory is usually not theirs). A warning line when
/// that fails.
fn prepare_state_file(v: &jk_runtime::View<'_>, lb: &str) -> Option<String> {
    let path = v
        .workers
        .worker(lb)
        .and_then(|w| w.as_lb())
        .and_then(|l| l.state_file.as_deref())?;
    // SAFETY: geteuid has no preconditions.
    if std::path::Path::new(path).exists() || unsafe { libc::geteuid() } != 0 {
        return None;
    }
    use std::os::unix::fs::OpenOptionsExt;
    // SAFETY: httpd filled ap_unixd_config from User/Group before the post-config hooks run;
    // plain integer fields read.
    let (uid, gid) = unsafe {
        let c = std::ptr::addr_of!(crate::ffi::ap_unixd_config);
        ((*c).user_id, (*c).group_id)
    };
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(path)
        .and_then(|f| std::os::unix::fs::fchown(&f, Some(uid), Some(gid)));
    made.err().map(|e| {
        format!(
            "cannot create the state file {path} of lb worker {lb} for httpd's children (uid \
             {uid}): {e}; members added at runtime will not survive a full stop"
        )
    })
}
