//! Runtime membership without httpd (README "Runtime membership"): adding a member into one
//! of an lb's growth slots (its address into the slot's ajp record, then jk-lb's claim),
//! removing one (drain, or free at once), the housekeeping round every child's prober runs
//! (drained members freed), and what a start-up does with runtime members a new
//! configuration now names itself.

use jk_config::WorkerKind;
use jk_lb::{Balancer, Claim, Origin};
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
    let i = b.claim_slot(&Claim {
        label: s.name,
        route: s.route,
        origin: s.origin,
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
        if !b.is_growth(i) {
            // The same refusal as a drain of a configured member.
            b.start_drain(i, 0)?;
        }
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
/// draining members that are idle or past their deadline are freed. `log` gets one line
/// per change.
pub fn round(v: &View<'_>, log: &dyn Fn(Level, &str)) {
    for (lb, b) in v.balancers {
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
