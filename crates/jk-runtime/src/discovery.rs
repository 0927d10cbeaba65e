//! DNS discovery (README "Runtime membership"): `worker.<lb>.discover_dns = NAME:PORT` makes
//! every address NAME resolves to a member of the lb (compose `--scale`, swarm's
//! `tasks.<service>`, a Kubernetes headless service). One child per gateway resolves, under
//! the lb's discovery lease (ARCHITECTURE rule 13), every `discover_interval` seconds; new
//! addresses join as runtime members do (readiness probes, slow start, route learned from
//! their first session), vanished ones drain and leave.
//!
//! Discovery never empties a balancer (rule 14): a failed resolution or an empty answer keeps
//! every member found before (logged once per change of the problem), and an answer that
//! would remove more than half of the discovered members at once is applied only when it is
//! still the answer `discover_hold` seconds later.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use jk_lb::{Balancer, Lifecycle, Origin};
use jk_log::Level;
use parking_lot::Mutex;

use crate::membership::{add, AddSpec};
use crate::View;

/// Resolves a name to addresses (the system resolver, or a fake in tests).
pub trait Resolver: Send + Sync {
    fn resolve(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, String>;
}

/// getaddrinfo (`/etc/hosts`, DNS, as nsswitch.conf says).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        (name, port)
            .to_socket_addrs()
            .map(Iterator::collect)
            .map_err(|e| e.to_string())
    }
}

/// The most addresses one answer may bring (more are ignored, and said so).
pub const MAX_ANSWER: usize = 256;

/// What the discovering process remembers between rounds, per lb.
#[derive(Debug, Default)]
struct LbState {
    /// The problem last logged (None: the last round was fine).
    problem: Option<String>,
    /// Since when (unix s) the answer would remove more than half of the members.
    shrink_since: Option<u64>,
    /// The answer that left no free slot, last logged.
    full_logged: bool,
}

/// One process's discovery state (kept by its discovery thread).
#[derive(Debug, Default)]
pub struct Discovery {
    lbs: Mutex<HashMap<String, LbState>>,
}

/// The label a discovered member goes by: its address.
pub fn label(a: SocketAddr) -> String {
    a.to_string()
}

/// The address a growth slot's member is at, if it is an IP address.
fn member_addr(v: &View<'_>, b: &Balancer, i: usize) -> Option<SocketAddr> {
    let sh = v.ajp.get(b.member_name(i)?)?;
    let ip: IpAddr = sh.host().trim_matches(['[', ']']).parse().ok()?;
    Some(SocketAddr::new(ip, sh.port()))
}

impl Discovery {
    /// One round of process `pid` at `now` (unix s): each lb with `discover_dns` whose lease
    /// this process holds (or takes: `alive` tells whether the holder still runs) and whose
    /// interval has passed is resolved and reconciled. `log` gets a line per change.
    pub fn round(
        &self,
        v: &View<'_>,
        resolver: &dyn Resolver,
        pid: u32,
        now: u64,
        alive: &dyn Fn(u32) -> bool,
        log: &dyn Fn(Level, &str),
    ) {
        for (lb, b) in v.balancers {
            let Some(l) = v.workers.worker(lb).and_then(|w| w.as_lb()) else {
                continue;
            };
            let Some(d) = &l.discover_dns else {
                continue;
            };
            if !b.claim_discovery(pid, now, u64::from(l.discover_interval_s), alive) {
                continue;
            }
            let answer = resolver.resolve(&d.name, d.port);
            let mut lbs = self.lbs.lock();
            let st = lbs.entry(lb.clone()).or_default();
            reconcile(
                v,
                lb,
                b,
                &format!("{}:{}", d.name, d.port),
                answer,
                u64::from(l.discover_hold_s),
                now,
                st,
                log,
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn reconcile(
    v: &View<'_>,
    lb: &str,
    b: &Balancer,
    what: &str,
    answer: Result<Vec<SocketAddr>, String>,
    hold_s: u64,
    now: u64,
    st: &mut LbState,
    log: &dyn Fn(Level, &str),
) {
    // The discovered members now: address → (index, lifecycle); and the addresses of the
    // lb's other members (configured or added by hand), which the answer may also list.
    let mut current: HashMap<SocketAddr, (usize, Lifecycle)> = HashMap::new();
    let mut others: BTreeSet<SocketAddr> = BTreeSet::new();
    for i in (0..b.member_count()).filter(|&i| b.in_use(i)) {
        if b.origin(i) == Origin::Dns {
            if let Some(a) = member_addr(v, b, i) {
                current.insert(a, (i, b.lifecycle(i)));
            }
        } else if let Some(a) = member_addr(v, b, i).or_else(|| {
            let ep = v.endpoints.get(b.member_name(i)?)?;
            ep.config().addr
        }) {
            others.insert(a);
        }
    }
    // Losing more than half of the lb's serving members at once is held back.
    let serving = (0..b.member_count())
        .filter(|&i| b.in_use(i) && b.lifecycle(i) != Lifecycle::Draining)
        .count();
    let found: BTreeSet<SocketAddr> = match answer {
        Ok(a) if !a.is_empty() => {
            let mut set: BTreeSet<SocketAddr> = a.into_iter().collect();
            if set.len() > MAX_ANSWER {
                log(
                    Level::Warn,
                    &format!(
                        "({lb}) discovery of {what} answered {} addresses; only the first \
                         {MAX_ANSWER} are used",
                        set.len()
                    ),
                );
                set = set.into_iter().take(MAX_ANSWER).collect();
            }
            set
        }
        other => {
            let problem = match other {
                Err(e) => format!("resolving failed ({e})"),
                Ok(_) => "the answer is empty".to_string(),
            };
            if st.problem.as_deref() != Some(problem.as_str()) {
                log(
                    Level::Warn,
                    &format!(
                        "({lb}) discovery of {what}: {problem}; keeping all {serving} members \
                         of the lb"
                    ),
                );
                st.problem = Some(problem);
            }
            return;
        }
    };
    if let Some(p) = st.problem.take() {
        log(
            Level::Info,
            &format!(
                "({lb}) discovery of {what} answers again ({} addresses) after: {p}",
                found.len()
            ),
        );
    }
    // Come back while draining: serving again.
    for a in &found {
        if let Some(&(i, Lifecycle::Draining)) = current.get(a) {
            if b.undrain(i) {
                log(
                    Level::Info,
                    &format!(
                        "({lb}) member '{}' is back in the discovery of {what}: no longer draining",
                        label(*a)
                    ),
                );
            }
        }
    }
    // New addresses join (an address that is another member's already is that member).
    for a in found
        .iter()
        .filter(|a| !current.contains_key(a) && !others.contains(a))
    {
        let name = label(*a);
        let host = a.ip().to_string();
        let spec = AddSpec {
            name: Some(&name),
            host: &host,
            port: a.port(),
            route: None,
            template: None,
            origin: Origin::Dns,
            handover_of: None,
        };
        match add(v, lb, &spec) {
            Ok((_, n)) => {
                st.full_logged = false;
                log(
                    Level::Info,
                    &format!(
                        "({lb}) discovered member '{n}' ({what}); it joins after its readiness \
                         probes"
                    ),
                );
            }
            Err(e) => {
                if !st.full_logged {
                    log(
                        Level::Warn,
                        &format!("({lb}) discovered {name} ({what}) but cannot add it: {e}"),
                    );
                    st.full_logged = true;
                }
            }
        }
    }
    // Vanished addresses drain, unless too many vanish at once.
    let gone: Vec<(SocketAddr, usize)> = current
        .iter()
        .filter(|(a, (_, l))| *l != Lifecycle::Draining && !found.contains(a))
        .map(|(a, (i, _))| (*a, *i))
        .collect();
    if gone.is_empty() {
        st.shrink_since = None;
        return;
    }
    if gone.len() * 2 > serving {
        let since = *st.shrink_since.get_or_insert_with(|| {
            log(
                Level::Warn,
                &format!(
                    "({lb}) discovery of {what} no longer lists {} of the lb's {serving} serving \
                     members; they are removed only if that is still so in {hold_s} s \
                     (discover_hold)",
                    gone.len()
                ),
            );
            now
        });
        if now.saturating_sub(since) < hold_s {
            return;
        }
    }
    st.shrink_since = None;
    let (timeout, _) = b.drain_settings();
    for (a, i) in gone {
        if b.start_drain(i, timeout).is_ok() {
            log(
                Level::Info,
                &format!(
                    "({lb}) member '{}' is no longer in the discovery of {what}: it drains, then \
                     leaves",
                    label(a)
                ),
            );
        }
    }
}
