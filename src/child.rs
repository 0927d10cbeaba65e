//! The life of an httpd child process: registering in the shared child table, and the
//! background threads (watchdog maintenance, readiness prober) that run until the child exits.
//! Everything is handed to the child's pool, whose cleanups undo it when the child exits; the
//! threads stop at once then (see `jk_runtime::background`), so an exiting child never holds
//! up a graceful restart.

use std::sync::Arc;
use std::time::Duration;

use jk_log::Level;
use jk_runtime::background::Background;

use crate::ffi;
use crate::generation::{for_server, Generation, ServerRuntime};
use crate::httpd_query::servers;
use crate::pool_owned;

/// This child's entry in the shared child table; leaving it (on drop) frees its per-child
/// counters for a later child.
struct ChildEntry(Arc<Generation>);

impl Drop for ChildEntry {
    fn drop(&mut self) {
        if let Some(idx) = self.0.child.get() {
            // Connections closed after this are no longer this child's to count: the entry
            // (and its line in every slot) may soon be another child's.
            self.0.child_cell.clear();
            self.0.shm.region().detach_child(*idx);
        }
    }
}

/// child_init: the child's entry in the shared child table, the readiness prober and (with
/// `JkWatchdogInterval` > 0) the watchdog, all owned by the child's pool.
///
/// # Safety
/// `pchild` and `main` must be live.
pub unsafe fn init(pchild: *mut ffi::apr_pool_t, main: *mut ffi::server_rec) {
    // SAFETY: forwarded contract.
    let Some(rt) = (unsafe { for_server(main) }) else {
        return;
    };
    rt.check_shm(true);
    // Register in the shared child table (per-child busy counters) and leave it on exit. A
    // full table may hold dead children (or entries that are no pids): reap them and retry.
    let region = rt.gen.shm.region();
    let attached = region.attach_child(std::process::id()).or_else(|| {
        rt.gen.reap_dead_children();
        region.attach_child(std::process::id())
    });
    match attached {
        Some(idx) => {
            let _ = rt.gen.child.set(idx);
            rt.gen.child_cell.set(idx);
            for b in rt.gen.balancers.values() {
                b.set_child(idx);
            }
            // SAFETY: the child pool lives until the child exits.
            unsafe { pool_owned::give(pchild, ChildEntry(rt.gen.clone())) };
        }
        None => {
            rt.log_at(
                Level::Warn,
                "jk_child_init",
                "the shared child table is full",
            );
        }
    }
    // SAFETY: forwarded.
    unsafe { start_readiness_prober(pchild, &rt) };
    // SAFETY: forwarded.
    unsafe { start_reresolver(pchild, &rt) };
    // SAFETY: forwarded.
    unsafe { start_discovery(pchild, &rt) };
    // SAFETY: forwarded.
    unsafe { start_registry(pchild, &rt) };
    let interval = rt.gen.watchdog_interval;
    if interval == 0 {
        return;
    }
    // SAFETY: forwarded contract (live main server).
    let maps: Vec<Arc<ServerRuntime>> = unsafe { servers(main) }
        .into_iter()
        // SAFETY: the live server list.
        .filter_map(|s| unsafe { for_server(s) })
        .collect();
    let round = move || {
        // A panic in one round is logged and the next round runs: maintenance must not stop
        // for the rest of the child's life.
        crate::boundary::guard("the watchdog", (), || {
            for rt in &maps {
                rt.maintain();
            }
            if let Some(rt) = maps.first() {
                rt.gen.maintain();
                rt.check_shm(true);
            }
        });
    };
    let every = Duration::from_secs(u64::from(interval));
    // SAFETY: forwarded.
    if unsafe {
        spawn_owned(
            pchild,
            &rt,
            "jk-watchdog",
            every,
            "init watchdog thread",
            round,
        )
    } {
        rt.log_at(
            Level::Debug,
            "jk_child_init",
            &format!("watchdog thread started, interval {interval} s"),
        );
    }
}

/// Starts background thread `name` running `round` every `every`, owned by the child pool
/// (dropping it with the pool stops the thread, within a bounded grace); logs "Could not
/// {what}" when the thread cannot start. True when it runs.
///
/// # Safety
/// `pchild` must be the live child pool.
unsafe fn spawn_owned(
    pchild: *mut ffi::apr_pool_t,
    rt: &ServerRuntime,
    name: &str,
    every: Duration,
    what: &str,
    round: impl FnMut() + Send + 'static,
) -> bool {
    match Background::spawn(name, every, round) {
        Ok(bg) => {
            // SAFETY: the child pool lives until the child exits; dropping stops the thread.
            unsafe { pool_owned::give(pchild, bg) };
            true
        }
        Err(e) => {
            rt.log_at(
                Level::Error,
                "jk_child_init",
                &format!("Could not {what}: {e}"),
            );
            false
        }
    }
}

/// The readiness prober: probes members that are down or in restart maintenance every
/// probe_interval (see `jk_runtime::probe`) and runs the membership housekeeping.
///
/// # Safety
/// `pchild` must be the live child pool.
unsafe fn start_readiness_prober(pchild: *mut ffi::apr_pool_t, rt: &Arc<ServerRuntime>) {
    let gen = rt.gen.clone();
    if gen.balancers.is_empty() {
        return;
    }
    let tick = jk_runtime::probe::prober_tick(&gen.balancers);
    let log = rt.clone();
    let round = move || {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        // A panic in one round is logged; probing goes on with the next round.
        crate::boundary::guard("the readiness prober", (), || {
            jk_runtime::probe::readiness_round(
                &gen.balancers,
                &gen.workers,
                |name| gen.endpoint(name),
                now_ms,
            );
            // Runtime membership: drained members leave (one child does each).
            jk_runtime::membership::round(&gen.view(), &|level, msg| {
                log.log_at(level, "jk_membership", msg);
            });
        });
    };
    // SAFETY: forwarded.
    unsafe {
        spawn_owned(
            pchild,
            rt,
            "jk-readiness",
            tick,
            "start the readiness prober",
            round,
        )
    };
}

/// A down configured member's host name followed to a new address (`jk_runtime::reresolve`),
/// on a thread of its own: a resolver that hangs delays only this thread, never the
/// readiness probes or a request, and the thread's stop is bounded like the others'.
///
/// # Safety
/// `pchild` must be the live child pool.
unsafe fn start_reresolver(pchild: *mut ffi::apr_pool_t, rt: &Arc<ServerRuntime>) {
    let gen = rt.gen.clone();
    if gen.balancers.is_empty() {
        return;
    }
    let log = rt.clone();
    let mut reresolver = jk_runtime::reresolve::Reresolver::default();
    let round = move || {
        crate::boundary::guard("the host name follower", (), || {
            reresolver.round(
                &gen.view(),
                &jk_runtime::discovery::SystemResolver,
                &|level, msg| log.log_at(level, "jk_reresolve", msg),
            );
        });
    };
    let every = Duration::from_secs(1);
    // SAFETY: forwarded.
    unsafe {
        spawn_owned(
            pchild,
            rt,
            "jk-reresolve",
            every,
            "start the host name follower",
            round,
        )
    };
}

/// DNS discovery (`worker.<lb>.discover_dns`): a thread in every child that looks once a
/// second whether this child holds (or may take) an lb's discovery lease and its interval has
/// passed; only then it resolves (see `jk_runtime::discovery`). Request threads never wait
/// for it.
///
/// # Safety
/// `pchild` must be the live child pool.
unsafe fn start_discovery(pchild: *mut ffi::apr_pool_t, rt: &Arc<ServerRuntime>) {
    let gen = rt.gen.clone();
    let wanted = gen
        .balancers
        .keys()
        .filter_map(|lb| gen.workers.worker(lb).and_then(|w| w.as_lb()))
        .any(|l| l.discover_dns.is_some());
    if !wanted {
        return;
    }
    let log = rt.clone();
    let state = jk_runtime::discovery::Discovery::default();
    let pid = std::process::id();
    let round = move || {
        crate::boundary::guard("DNS discovery", (), || {
            state.round(
                &gen.view(),
                &jk_runtime::discovery::SystemResolver,
                pid,
                jk_urimap::unix_now(),
                &|holder| process_alive(holder),
                &|level, msg| log.log_at(level, "jk_discovery", msg),
            );
        });
    };
    let every = Duration::from_secs(1);
    // SAFETY: forwarded.
    unsafe {
        spawn_owned(
            pchild,
            rt,
            "jk-discovery",
            every,
            "start DNS discovery",
            round,
        )
    };
}

/// Whether process `holder` still runs (kill with signal 0).
fn process_alive(holder: u32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(holder as libc::pid_t, 0) } == 0;
    exists || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// What the registry thread of this child keeps per lb it follows.
struct Following {
    follower: jk_zk::Follower,
    state: jk_runtime::registry::RegistryLb,
    /// The members_event_ms of the list last applied (its lag is measured once).
    applied_event_ms: u64,
    lag_ms: u64,
    applied_at_ms: u64,
    /// Desired records applied, by (id, version, member index): each once.
    enforced: std::collections::BTreeSet<(String, i32, usize)>,
}

/// This gateway's name among the service's gateways: host name, httpd parent pid, lb.
fn gateway_name(lb: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(60)
        .collect();
    format!("{host}-{}-{lb}", std::os::unix::process::parent_id())
}

/// ZooKeeper discovery (`worker.<lb>.discovery = zk://...`, README "ZooKeeper"): a thread in
/// every child looks ten times a second whether this child holds (or may take) the lb's
/// discovery lease (ARCHITECTURE rule 13); the holder runs the lb's registry session (a
/// `jk-zk` thread: watch, read), applies each list it reads to the shared membership
/// (`jk_runtime::registry`) and publishes the connection's state for the status worker. A
/// child that loses the lease (or exits) drops its session; the next holder opens its own.
/// Request threads never wait for any of it.
///
/// # Safety
/// `pchild` must be the live child pool.
unsafe fn start_registry(pchild: *mut ffi::apr_pool_t, rt: &Arc<ServerRuntime>) {
    let gen = rt.gen.clone();
    let lbs: Vec<(String, jk_config::ZkDiscovery, u64)> = gen
        .balancers
        .keys()
        .filter_map(|lb| {
            let l = gen.workers.worker(lb).and_then(|w| w.as_lb())?;
            let z = l.discovery_zk.clone()?;
            Some((lb.clone(), z, u64::from(l.discover_hold_s)))
        })
        .collect();
    if lbs.is_empty() {
        return;
    }
    let log = rt.clone();
    let pid = std::process::id();
    let waiting: Vec<Arc<jk_lb::Balancer>> = lbs
        .iter()
        .filter_map(|(lb, _, _)| gen.balancers.get(lb).cloned())
        .collect();
    let following: parking_lot::Mutex<std::collections::HashMap<String, Following>> =
        parking_lot::Mutex::new(std::collections::HashMap::new());
    let round = move || {
        crate::boundary::guard("ZooKeeper discovery", (), || {
            let now = jk_urimap::unix_now();
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let mut f = following.lock();
            for (lb, z, hold_s) in &lbs {
                let Some(b) = gen.balancers.get(lb) else {
                    continue;
                };
                let holds =
                    b.claim_discovery(pid, now, 1, &process_alive) || b.discovery_holder() == pid;
                if !holds {
                    f.remove(lb);
                    continue;
                }
                if !f.contains_key(lb) {
                    let l = log.clone();
                    let cfg = jk_zk::FollowConfig {
                        connect: z.connect_string(),
                        path: z.path.clone(),
                        session_timeout: Duration::from_millis(u64::from(z.session_timeout_ms)),
                        auth: z.auth.clone(),
                        tag: lb.clone(),
                        state_root: Some(jk_zk::desired::state_root(&z.path)),
                        gateway: gateway_name(lb),
                    };
                    let sink: jk_zk::Log =
                        Arc::new(move |level, msg| l.log_at(level, "jk_registry", msg));
                    match jk_zk::Follower::start(cfg, sink) {
                        Ok(follower) => {
                            f.insert(
                                lb.clone(),
                                Following {
                                    follower,
                                    state: Default::default(),
                                    applied_event_ms: 0,
                                    lag_ms: 0,
                                    applied_at_ms: 0,
                                    enforced: Default::default(),
                                },
                            );
                        }
                        Err(e) => {
                            log.log_at(
                                Level::Error,
                                "jk_child_init",
                                &format!("({lb}) cannot start the ZooKeeper thread: {e}"),
                            );
                            continue;
                        }
                    }
                }
                let Some(fo) = f.get_mut(lb) else {
                    continue;
                };
                let snap = fo.follower.snapshot();
                if let Some(members) = &snap.members {
                    let listed: Vec<jk_runtime::registry::Listed> = members
                        .iter()
                        .map(|i| jk_runtime::registry::Listed {
                            id: i.id.clone(),
                            host: i.address.clone(),
                            port: i.port,
                            route: i.route_or_id().to_string(),
                            weight: i.weight,
                        })
                        .collect();
                    let what = format!("zk://{}{}", z.connect_string(), z.path);
                    jk_runtime::registry::reconcile(
                        &gen.view(),
                        lb,
                        b,
                        &what,
                        &listed,
                        *hold_s,
                        now,
                        &mut fo.state,
                        &|level, msg| log.log_at(level, "jk_registry", msg),
                    );
                    if fo.applied_event_ms != snap.members_event_ms {
                        fo.applied_event_ms = snap.members_event_ms;
                        fo.lag_ms = now_ms.saturating_sub(snap.members_event_ms);
                        if snap.read_once {
                            fo.applied_at_ms = now_ms;
                        }
                    }
                }
                // The desired state (one for all gateways): each record applied once per
                // version to the member of that name, then this gateway's report.
                let mut applied = std::collections::BTreeMap::new();
                if let Some(desired) = &snap.desired {
                    for (id, d) in desired {
                        if let Some(i) = b.find_member(id) {
                            if fo.enforced.insert((id.clone(), d.version, i)) {
                                let done = jk_runtime::registry::apply_desired(
                                    b,
                                    i,
                                    &d.activation,
                                    d.weight,
                                );
                                if !done.is_empty() {
                                    log.log_at(
                                        Level::Info,
                                        "jk_registry",
                                        &format!(
                                            "({lb}) member '{id}': desired state {} (version \
                                             {}) applied: {}",
                                            d.activation,
                                            d.version,
                                            done.join(", ")
                                        ),
                                    );
                                }
                            }
                        }
                        applied.insert(id.clone(), d.version);
                    }
                    let members = (0..b.member_count())
                        .filter(|&i| b.in_use(i))
                        .filter_map(|i| b.snapshot(i))
                        .map(|m| {
                            (
                                m.name.clone(),
                                jk_zk::desired::MemberReport {
                                    activation: m.activation.text().to_string(),
                                    restarting: m.restarting,
                                    lifecycle: m.lifecycle.text().to_string(),
                                    in_flight: m.in_flight,
                                    ready: !m.restarting
                                        && !m.awaiting_readiness
                                        && m.state.text().starts_with("OK"),
                                },
                            )
                        })
                        .collect();
                    let report = jk_zk::desired::GatewayReport {
                        gateway: gateway_name(lb),
                        lb: lb.clone(),
                        applied,
                        members,
                    };
                    fo.follower.set_report(report.to_json());
                }
                if snap.read_once && fo.applied_at_ms == 0 {
                    // (first read applied: children waiting in child_init may go on)
                    fo.applied_at_ms = now_ms.max(1);
                }
                let mut flags = 0;
                if snap.world_writable == Some(true) {
                    flags |= jk_lb::RegistryStatus::WORLD_WRITABLE;
                }
                if fo.state.shrink_held() {
                    flags |= jk_lb::RegistryStatus::SHRINK_HELD;
                }
                if snap.bad_records > 0 {
                    flags |= jk_lb::RegistryStatus::BAD_RECORDS;
                }
                flags |= b.registry_status().flags & jk_lb::RegistryStatus::START_WAIT_OVER;
                b.set_registry_status(&jk_lb::RegistryStatus {
                    state: jk_lb::RegistryState::from_code(snap.state.code()),
                    session: snap.session_id,
                    event_at_ms: snap.last_event_ms,
                    lag_ms: fo.lag_ms,
                    members: snap.members.as_ref().map_or(0, |m| m.len() as u64),
                    flags,
                    applied_at_ms: fo.applied_at_ms,
                });
            }
        });
    };
    let every = Duration::from_millis(100);
    // SAFETY: forwarded.
    if unsafe {
        spawn_owned(
            pchild,
            rt,
            "jk-registry",
            every,
            "start ZooKeeper discovery",
            round,
        )
    } {
        wait_first_read(rt, &waiting);
    }
}

/// How long a child starting with a fresh shared memory waits for the first registry read.
const FIRST_READ_WAIT: Duration = Duration::from_secs(2);

/// A gateway started later applies the desired state before it serves its first request: a
/// child whose balancers have never had their registry read (a fresh shared memory; a graceful
/// restart keeps what was applied) waits in child_init, before it takes any request, until the
/// lease holder applied the first read, at most [`FIRST_READ_WAIT`] (ZooKeeper unreachable at
/// start-up: it serves with workers.properties, and the registry's state follows; children
/// started after that do not wait). Request threads never wait.
fn wait_first_read(rt: &ServerRuntime, lbs: &[Arc<jk_lb::Balancer>]) {
    let pending = || {
        lbs.iter().any(|b| {
            let r = b.registry_status();
            r.applied_at_ms == 0 && r.flags & jk_lb::RegistryStatus::START_WAIT_OVER == 0
        })
    };
    if !pending() {
        return;
    }
    let t0 = std::time::Instant::now();
    while pending() && t0.elapsed() < FIRST_READ_WAIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    if pending() {
        // Later children (prefork starts them under load) do not wait again.
        for b in lbs {
            let mut r = b.registry_status();
            r.flags |= jk_lb::RegistryStatus::START_WAIT_OVER;
            b.set_registry_status(&r);
        }
        rt.log_at(
            Level::Warn,
            "jk_child_init",
            &format!(
                "the ZooKeeper registry was not read within {FIRST_READ_WAIT:?} of this child's \
                 start: serving with workers.properties until it is"
            ),
        );
    }
}
