//! Runtime membership without httpd (README "Runtime membership"): adding a member into one
//! of an lb's growth slots (its address into the slot's ajp record, then jk-lb's claim),
//! removing one (drain, or free at once), the housekeeping round every child's prober runs
//! (drained members freed), and what a start-up does with runtime members a new
//! configuration now names itself.

use std::hash::{Hash, Hasher};

use jk_config::WorkerKind;
use jk_lb::{Balancer, Claim, Lifecycle, Origin};
use jk_log::Level;

use crate::View;

/// A member to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddSpec<'a> {
    /// The name it goes by; None: its growth slot's name (`<lb>~<n>`).
    pub name: Option<&'a str>,
    pub host: &'a str,
    pub port: u16,
    /// Its route; None: learned from the first session it issues.
    pub route: Option<&'a str>,
    /// The ajp worker whose runtime settings (timeouts, retries, ...) it takes; None: the
    /// lb's `template` (what its growth slots were built from).
    pub template: Option<&'a str>,
    pub origin: Origin,
    /// Handover: the member (by name) whose route the new member takes over once that
    /// member's backend has stopped; until then it waits as standby (`route` is ignored).
    pub handover_of: Option<&'a str>,
}

/// Membership events noticed where there is no log at hand (a readiness probe learning a
/// route), logged by the next housekeeping [`round`] of this process (at most 64 kept).
static EVENTS: std::sync::Mutex<Vec<(Level, String)>> = std::sync::Mutex::new(Vec::new());

pub(crate) fn note(level: Level, msg: String) {
    let mut q = EVENTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if q.len() < 64 {
        q.push((level, msg));
    }
}

/// The most bytes of a host name (mod_jk's 60-byte strings).
const MAX_HOST: usize = 60;

fn balancer<'v>(v: &View<'v>, lb: &str) -> Result<&'v std::sync::Arc<Balancer>, String> {
    v.balancers
        .get(lb)
        .ok_or_else(|| format!("'{lb}' is not an lb worker"))
}

/// Adds a member to lb `lb` (see [`jk_lb::membership`]): it joins after its readiness
/// probes, with slow start. Returns its index and the name it goes by.
pub fn add(v: &View<'_>, lb: &str, s: &AddSpec<'_>) -> Result<(usize, String), String> {
    let b = balancer(v, lb)?;
    if s.host.is_empty()
        || s.host.len() > MAX_HOST
        || !s
            .host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':'))
    {
        return Err(format!(
            "host '{}' is not a host name or address of at most {MAX_HOST} bytes",
            s.host.escape_default()
        ));
    }
    if s.port == 0 {
        return Err("port 0 is not a port to add a member at".into());
    }
    let template = match s.template {
        None => None,
        Some(t) => match (v.workers.worker(t).map(|w| &w.kind), v.ajp.get(t)) {
            (Some(WorkerKind::Ajp(_)), Some(sh)) => Some(sh),
            _ => return Err(format!("template '{t}' is not an ajp13 worker")),
        },
    };
    if let Some(j) = (0..b.member_count()).find(|&j| {
        b.in_use(j)
            && v.ajp
                .get(b.member_name(j).unwrap_or(""))
                .is_some_and(|sh| sh.port() == s.port && sh.host().eq_ignore_ascii_case(s.host))
    }) {
        return Err(format!(
            "member '{}' of lb worker '{lb}' is already at {}:{}",
            b.display_name(j),
            s.host,
            s.port
        ));
    }
    let successor_of = match s.handover_of {
        None => None,
        Some(m) => Some(
            b.find_member(m)
                .ok_or_else(|| format!("lb worker '{lb}' has no member '{m}' to hand over"))?,
        ),
    };
    let i = b.claim_slot(&Claim {
        label: s.name,
        route: s.route,
        origin: s.origin,
        successor_of,
    })?;
    let worker = b.member_name(i).unwrap_or("").to_string();
    let placed = match v.ajp.get(&worker) {
        Some(sh) => sh.set_address(s.host, s.port, template),
        None => Err(format!("growth slot '{worker}' has no ajp record")),
    };
    if let Err(e) = placed {
        free(v, b, i);
        return Err(e);
    }
    Ok((i, b.display_name(i)))
}

/// Removes member `name` of lb `lb`: it drains (no new sessions; its sessions are served
/// until it is idle for the lb's `drain_idle` or for `drain_timeout` at most), or with
/// `force` its slot is freed at once (its sessions fail over, held by the hold rules).
pub fn remove(v: &View<'_>, lb: &str, name: &str, force: bool) -> Result<usize, String> {
    let b = balancer(v, lb)?;
    let i = b
        .find_member(name)
        .ok_or_else(|| format!("lb worker '{lb}' has no member '{name}'"))?;
    if force {
        b.check_removable(i)?;
        free(v, b, i);
    } else {
        b.start_drain(i, b.drain_settings().0)?;
    }
    Ok(i)
}

fn lb_settings<'v>(v: &View<'v>, lb: &str) -> Option<&'v jk_config::LbWorker> {
    v.workers.worker(lb).and_then(|w| w.as_lb())
}

/// Frees growth slot `i` of `b` and disables contact to its address.
fn free(v: &View<'_>, b: &Balancer, i: usize) {
    if b.free_slot(i) {
        if let Some(sh) = b.member_name(i).and_then(|w| v.ajp.get(w)) {
            sh.clear_address();
        }
    }
}

/// One housekeeping round (every child's prober runs it; each change is made once):
/// draining members that are idle or past their deadline are freed, and an lb's
/// `state_file` is rewritten when its runtime members changed. `log` gets one line per
/// change.
pub fn round(v: &View<'_>, log: &dyn Fn(Level, &str)) {
    let events = std::mem::take(
        &mut *EVENTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for (level, msg) in events {
        log(level, &msg);
    }
    for (lb, b) in v.balancers {
        // Handovers whose predecessor is gone or stopped (no request needed to notice).
        for s in (0..b.member_count()).filter(|&s| b.in_use(s)) {
            let Some(p) = b.predecessor(s) else {
                continue;
            };
            let down = !b.in_use(p)
                || matches!(b.lifecycle(p), Lifecycle::Draining | Lifecycle::Leaving)
                || b.snapshot(p).is_some_and(|m| {
                    matches!(
                        m.state,
                        jk_config::MemberState::Error
                            | jk_config::MemberState::Recover
                            | jk_config::MemberState::Probe
                    ) || m.awaiting_readiness
                });
            let gone = !b.in_use(p)
                || b.member_name(p)
                    .and_then(|w| v.endpoints.get(w))
                    .is_none_or(|ep| crate::probe::backend_gone(b, p, ep));
            if down && gone {
                let (from, to) = (b.display_name(p), b.display_name(s));
                if b.hand_over(p).is_some() {
                    log(
                        Level::Info,
                        &format!(
                            "({lb}) member '{from}' stopped: its route went to '{to}', which \
                             serves its sessions from now on"
                        ),
                    );
                }
            }
        }
        if let Some(path) = lb_settings(v, lb)
            .and_then(|l| l.state_file.as_deref())
            .filter(|_| b.generation_moved())
        {
            let text = state_text(v, lb, b);
            let mut h = std::collections::hash_map::DefaultHasher::new();
            text.hash(&mut h);
            if b.claim_save(h.finish() | 1) {
                if let Err(e) = write_atomically(path, &text) {
                    log(
                        Level::Error,
                        &format!("({lb}) cannot write the state file {path}: {e}"),
                    );
                }
            }
        }
        let idle = b.drain_settings().1;
        for i in b.drained_members(idle) {
            let name = b.display_name(i);
            if b.free_slot(i) {
                if let Some(sh) = b.member_name(i).and_then(|w| v.ajp.get(w)) {
                    sh.clear_address();
                }
                log(
                    Level::Info,
                    &format!(
                        "member '{name}' of lb worker '{lb}' left: drained (idle for {idle} s \
                         or past its drain_timeout); its slot is free"
                    ),
                );
            }
        }
    }
}

/// At start-up: a runtime member whose name or route the configuration now gives one of its
/// own members leaves (workers.properties wins for the members it names). Returns a line
/// per member removed.
pub fn yield_to_configuration(v: &View<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for (lb, b) in v.balancers {
        let Some(l) = lb_settings(v, lb) else {
            continue;
        };
        for i in (0..b.member_count()).filter(|&i| b.is_growth(i) && b.in_use(i)) {
            let name = b.display_name(i);
            let route = b.snapshot(i).map(|s| s.route).unwrap_or_default();
            let clash = l.members.iter().find(|m| {
                **m == name
                    || v.workers
                        .worker(m)
                        .and_then(|w| w.as_ajp())
                        .is_some_and(|a| a.route == route)
            });
            if let Some(m) = clash {
                free(v, b, i);
                out.push(format!(
                    "member '{name}' of lb worker '{lb}' (added at runtime) left: \
                     workers.properties now configures member '{m}' with its name or route"
                ));
            }
        }
    }
    out
}

/// The lines of lb `lb`'s state file: one per runtime member that is joining or active
/// (`name host port route origin`, tab-separated; route `-` while it is to be learned).
pub fn state_text(v: &View<'_>, lb: &str, b: &Balancer) -> String {
    let mut out = format!(
        "# mod_jk-rs: the members of lb worker '{lb}' added at runtime, restored when httpd \
         starts\n# name\thost\tport\troute\torigin\n"
    );
    for i in (0..b.member_count()).filter(|&i| b.is_growth(i)) {
        if !matches!(b.lifecycle(i), Lifecycle::Joining | Lifecycle::Active) {
            continue;
        }
        let Some(sh) = b.member_name(i).and_then(|w| v.ajp.get(w)) else {
            continue;
        };
        let route = if b.learning_route(i) {
            "-".to_string()
        } else {
            b.snapshot(i).map(|s| s.route).unwrap_or_default()
        };
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            b.display_name(i),
            sh.host(),
            sh.port(),
            route,
            b.origin(i).text()
        ));
    }
    out
}

/// Writes `text` to `path` through a temporary file and a rename; where the directory is not
/// writable by this process (httpd's children run as its `User`) but the file is (httpd
/// creates it for them at start-up), the file is rewritten in place.
fn write_atomically(path: &str, text: &str) -> std::io::Result<()> {
    let tmp = format!("{path}.tmp.{}", std::process::id());
    match std::fs::write(&tmp, text) {
        Ok(()) => std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        }),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .map_err(|e2| {
                    std::io::Error::new(
                        e2.kind(),
                        format!(
                            "{e2} (neither the file nor its directory is writable by the user \
                             httpd's children run as)"
                        ),
                    )
                })?;
            f.write_all(text.as_bytes())?;
            f.sync_data()
        }
        Err(e) => Err(e),
    }
}

/// At start-up: the members lb `lb`'s `state_file` (if it has one and the file exists) names
/// are added again ([`restore`]); a file that cannot be read is one line of the result.
pub fn restore_state_file(v: &View<'_>, lb: &str) -> Vec<String> {
    let Some(path) = lb_settings(v, lb).and_then(|l| l.state_file.as_deref()) else {
        return Vec::new();
    };
    match std::fs::read_to_string(path) {
        Ok(text) => restore(v, lb, path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => vec![format!(
            "cannot read the state file {path} of lb worker {lb}: {e}; its runtime members \
             are not restored"
        )],
    }
}

/// At start-up: the members lb `lb`'s state file names that the lb does not have yet (a
/// full stop and start lost them; after a graceful restart they are still there) are added
/// again, joining through readiness. Returns the log lines (a line the file cannot give is
/// named with its line number and skipped).
pub fn restore(v: &View<'_>, lb: &str, path: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(b) = v.balancers.get(lb) else {
        return out;
    };
    let mut restored = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let parsed = match f.as_slice() {
            [name, host, port, route, origin] => port.parse::<u16>().ok().and_then(|port| {
                let origin = match *origin {
                    "runtime" => Origin::Runtime,
                    "dns" => Origin::Dns,
                    "registry" => Origin::Registry,
                    _ => return None,
                };
                Some((*name, *host, port, *route, origin))
            }),
            _ => None,
        };
        let Some((name, host, port, route, origin)) = parsed else {
            out.push(format!(
                "{path}:{}: not 'name host port route origin' (tab-separated); skipped",
                n + 1
            ));
            continue;
        };
        if b.find_member(name).is_some() {
            continue;
        }
        let spec = AddSpec {
            name: Some(name),
            host,
            port,
            route: (route != "-").then_some(route),
            template: None,
            origin,
            handover_of: None,
        };
        match add(v, lb, &spec) {
            Ok(_) => restored += 1,
            Err(e) => out.push(format!(
                "{path}:{}: member '{name}' not restored: {e}",
                n + 1
            )),
        }
    }
    if restored > 0 {
        out.push(format!(
            "lb worker '{lb}': {restored} runtime members restored from {path}; they join after \
             their readiness probes"
        ));
    }
    out
}
