//! Members from a registry (README "ZooKeeper"): `worker.<lb>.discovery = zk://...`. The child
//! that holds the lb's discovery lease follows the registry (a thread of the glue's, jk-zk) and
//! hands each list it reads to [`reconcile`], which changes the membership the way every other
//! source does (jk-runtime's membership: readiness, slow start, drain): a listed member that is
//! not one yet joins under its id with its route, a member no longer listed drains and leaves.
//!
//! The registry never empties a balancer (ARCHITECTURE rule 14): while it cannot be read the
//! last list stays applied (the caller simply does not call this); a list that would drain more
//! than half of the lb's serving members (an empty one included) is applied only when it is
//! still the list `discover_hold` seconds later, and the lb's last serving member is never
//! drained by the registry.

use std::collections::{BTreeMap, BTreeSet};

use jk_lb::{Balancer, Lifecycle, Origin};
use jk_log::Level;

use crate::membership::{add, AddSpec};
use crate::View;

/// A member as the registry lists it (validated by the registry client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The instance id: the name the member goes by.
    pub id: String,
    pub host: String,
    pub port: u16,
    pub route: String,
    /// lbfactor, if the record gives one.
    pub weight: Option<u32>,
}

/// What the applying process remembers between lists, per lb.
#[derive(Debug, Default)]
pub struct RegistryLb {
    /// Since when (unix s) the list would drain more than half of the serving members.
    shrink_since: Option<u64>,
    /// Problems logged once (a listed member that cannot be added, ...), by text.
    logged: BTreeSet<String>,
}

impl RegistryLb {
    /// Whether a shrink is being held back now.
    pub fn shrink_held(&self) -> bool {
        self.shrink_since.is_some()
    }
}

fn once(st: &mut RegistryLb, log: &dyn Fn(Level, &str), level: Level, msg: String) {
    if st.logged.insert(msg.clone()) {
        log(level, &msg);
    }
}

/// Applies `listed` (the registry's members now) to lb `lb` at `now` (unix s). Returns the
/// number of membership changes made (joins, drains, undrains, weights).
#[allow(clippy::too_many_arguments)]
pub fn reconcile(
    v: &View<'_>,
    lb: &str,
    b: &Balancer,
    what: &str,
    listed: &[Listed],
    hold_s: u64,
    now: u64,
    st: &mut RegistryLb,
    log: &dyn Fn(Level, &str),
) -> usize {
    let mut changes = 0;
    // The registry's members now, by name; and the addresses of the lb's other members.
    let mut current: BTreeMap<String, (usize, Lifecycle, String, u16)> = BTreeMap::new();
    let mut others: BTreeSet<(String, u16)> = BTreeSet::new();
    for i in (0..b.member_count()).filter(|&i| b.in_use(i)) {
        let Some(sh) = b.member_name(i).and_then(|w| v.ajp.get(w)) else {
            continue;
        };
        let addr = (sh.host().to_ascii_lowercase(), sh.port());
        if b.origin(i) == Origin::Registry {
            current.insert(b.display_name(i), (i, b.lifecycle(i), addr.0, addr.1));
        } else {
            others.insert(addr);
        }
    }
    let serving = (0..b.member_count())
        .filter(|&i| b.in_use(i) && b.lifecycle(i) != Lifecycle::Draining)
        .count();
    let by_id: BTreeMap<&str, &Listed> = listed.iter().map(|m| (m.id.as_str(), m)).collect();
    // (the lines logged once are forgotten when the list no longer has any member they
    // name, so a problem that comes back is logged again)
    st.logged
        .retain(|msg| listed.iter().any(|m| msg.contains(&format!("'{}'", m.id))));
    for m in listed {
        let addr = (m.host.to_ascii_lowercase(), m.port);
        match current.get(&m.id) {
            Some((i, lc, h, p)) if (h, p) == (&addr.0, &addr.1) => {
                if *lc == Lifecycle::Draining && b.undrain(*i) {
                    changes += 1;
                    log(
                        Level::Info,
                        &format!(
                            "({lb}) member '{}' is listed again by {what}: no longer draining",
                            m.id
                        ),
                    );
                }
                if let Some(w) = m.weight {
                    if b.snapshot(*i).is_some_and(|s| s.lbfactor != u64::from(w))
                        && b.set_lbfactor(*i, w).is_ok()
                    {
                        changes += 1;
                        log(
                            Level::Info,
                            &format!("({lb}) member '{}' weight {w} from {what}", m.id),
                        );
                    }
                }
            }
            Some((i, lc, h, p)) => {
                // The id moved to another address: the old one drains; the new one joins
                // under the id once the old has left.
                if *lc != Lifecycle::Draining {
                    let (timeout, _) = b.drain_settings();
                    if b.start_drain(*i, timeout).is_ok() {
                        changes += 1;
                        log(
                            Level::Info,
                            &format!(
                                "({lb}) member '{}' moved from {h}:{p} to {}:{} in {what}: the \
                                 old address drains, the new one joins once it has left",
                                m.id, m.host, m.port
                            ),
                        );
                    }
                }
            }
            None if others.contains(&addr) => once(
                st,
                log,
                Level::Info,
                format!(
                    "({lb}) {what} lists '{}' at {}:{}, already a member of the lb: not added \
                     twice",
                    m.id, m.host, m.port
                ),
            ),
            None => {
                let spec = AddSpec {
                    name: Some(&m.id),
                    host: &m.host,
                    port: m.port,
                    route: Some(&m.route),
                    template: None,
                    origin: Origin::Registry,
                    handover_of: None,
                };
                match add(v, lb, &spec) {
                    Ok((i, n)) => {
                        changes += 1;
                        if let Some(w) = m.weight {
                            let _ = b.set_lbfactor(i, w);
                        }
                        log(
                            Level::Info,
                            &format!(
                                "({lb}) member '{n}' ({}:{}, route {}) listed by {what}; it \
                                 joins after its readiness probes",
                                m.host, m.port, m.route
                            ),
                        );
                    }
                    Err(e) => once(
                        st,
                        log,
                        Level::Warn,
                        format!("({lb}) {what} lists '{}' but it cannot be added: {e}", m.id),
                    ),
                }
            }
        }
    }
    // Members no longer listed drain, unless too many go at once.
    let gone: Vec<(String, usize)> = current
        .iter()
        .filter(|(n, (_, l, _, _))| *l != Lifecycle::Draining && !by_id.contains_key(n.as_str()))
        .map(|(n, (i, _, _, _))| (n.clone(), *i))
        .collect();
    if gone.is_empty() {
        st.shrink_since = None;
        return changes;
    }
    if gone.len() * 2 > serving {
        let since = *st.shrink_since.get_or_insert_with(|| {
            log(
                Level::Warn,
                &format!(
                    "({lb}) {what} no longer lists {} of the lb's {serving} serving members; \
                     they drain only if that is still so in {hold_s} s (discover_hold)",
                    gone.len()
                ),
            );
            now
        });
        if now.saturating_sub(since) < hold_s {
            return changes;
        }
    }
    st.shrink_since = None;
    let (timeout, _) = b.drain_settings();
    let mut left = serving;
    for (n, i) in gone {
        if left <= 1 {
            once(
                st,
                log,
                Level::Warn,
                format!(
                    "({lb}) {what} no longer lists '{n}', but it is the lb's last serving \
                     member: it stays"
                ),
            );
            continue;
        }
        if b.start_drain(i, timeout).is_ok() {
            left -= 1;
            changes += 1;
            log(
                Level::Info,
                &format!(
                    "({lb}) member '{n}' is no longer listed by {what}: it drains, then leaves"
                ),
            );
        }
    }
    changes
}

/// Applies a desired state (one for all gateways, README "ZooKeeper") to member `i` of `b`:
/// `activation` is active, disabled, stopped or restarting (restart maintenance; anything
/// else changes no activation), `weight` the lbfactor. Only what differs is written; returns
/// what changed, for the log.
pub fn apply_desired(b: &Balancer, i: usize, activation: &str, weight: Option<u32>) -> Vec<String> {
    use jk_config::Activation;
    let mut done = Vec::new();
    let Some(m) = b.snapshot(i) else {
        return done;
    };
    let want = match activation {
        "disabled" => Some(Activation::Disabled),
        "stopped" => Some(Activation::Stopped),
        "active" => Some(Activation::Active),
        _ => None,
    };
    let restarting = activation == "restarting";
    if m.restarting != restarting && b.set_restarting(i, restarting).is_ok() {
        done.push(format!(
            "restart maintenance {}",
            if restarting { "on" } else { "off" }
        ));
    }
    if let Some(a) = want.filter(|a| *a != m.activation) {
        if b.set_activation(i, a).is_ok() {
            done.push(format!("activation {}", a.text()));
        }
    }
    if let Some(w) = weight.filter(|w| u64::from(*w) != m.lbfactor) {
        if b.set_lbfactor(i, w).is_ok() {
            done.push(format!("lbfactor {w}"));
        }
    }
    done
}
