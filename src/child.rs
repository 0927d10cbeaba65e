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
    unsafe { start_discovery(pchild, &rt) };
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
    match Background::spawn(
        "jk-watchdog",
        Duration::from_secs(u64::from(interval)),
        round,
    ) {
        Ok(bg) => {
            // SAFETY: the child pool lives until the child exits; dropping stops the thread.
            unsafe { pool_owned::give(pchild, bg) };
            rt.log_at(
                Level::Debug,
                "jk_child_init",
                &format!("watchdog thread started, interval {interval} s"),
            );
        }
        Err(e) => rt.log_at(
            Level::Error,
            "jk_child_init",
            &format!("Could not init watchdog thread: {e}"),
        ),
    }
}

/// The readiness prober: probes members that are down or in restart maintenance every
/// probe_interval (see `jk_runtime::probe`).
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
    match Background::spawn("jk-readiness", tick, round) {
        // SAFETY: the child pool lives until the child exits; dropping stops the thread.
        Ok(bg) => unsafe {
            pool_owned::give(pchild, bg);
        },
        Err(e) => rt.log_at(
            Level::Error,
            "jk_child_init",
            &format!("Could not start the readiness prober: {e}"),
        ),
    }
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
                &|holder| {
                    // SAFETY: kill with signal 0 only checks that the process exists.
                    let exists = unsafe { libc::kill(holder as libc::pid_t, 0) } == 0;
                    exists || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
                },
                &|level, msg| log.log_at(level, "jk_discovery", msg),
            );
        });
    };
    match Background::spawn("jk-discovery", Duration::from_secs(1), round) {
        // SAFETY: the child pool lives until the child exits; dropping stops the thread.
        Ok(bg) => unsafe {
            pool_owned::give(pchild, bg);
        },
        Err(e) => rt.log_at(
            Level::Error,
            "jk_child_init",
            &format!("Could not start DNS discovery: {e}"),
        ),
    }
}
