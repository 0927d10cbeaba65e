//! Runtime membership (beyond mod_jk): members added and removed while httpd runs.
//!
//! An lb's member table is its configured members followed by its **growth slots**
//! (`worker.<lb>.growth`, jk-config's `<lb>~<n>` workers): spare members whose slots exist in
//! the shared region from start-up, so every httpd child indexes the same table and sees a
//! change with its next request. A growth slot is free while its `Lifecycle` word is
//! [`Lifecycle::Free`] (all zeros): activation Stopped, contact disabled, hidden from the
//! status worker.
//!
//! ```text
//!  FREE ── claim (jkctl add, DNS, registry) ──► JOINING ── ready_probes good probes ──► ACTIVE
//!   ▲                                             │                  (slow start)        │
//!   │                                             └──── remove ───► DRAINING ◄── remove ─┘
//!   └──── idle for drain_idle s, or drain_timeout s after remove, or remove --force ──┘
//! ```
//!
//! * **claim** ([`Balancer::claim_slot`]): the slot is taken with a compare-and-swap of its
//!   lifecycle word (two children or gateways adding at once get two slots); it gets its
//!   name (`Label`), route (given, else the slot's own name until one is
//!   [learned](Balancer::learn_route)), origin, activation Active, and awaits readiness: the
//!   prober sends it `ready_probes` good probes before it takes requests, then slow start.
//!   The glue writes the address into the slot's ajp record first (every child's endpoint
//!   follows it and drops connections to the old address).
//! * **remove** ([`Balancer::start_drain`]): activation Disabled (no new sessions, sticky
//!   requests still served), lifecycle DRAINING with a deadline; [`Balancer::drained`] says
//!   when to [free](Balancer::free_slot) it. A draining member whose backend stops is held
//!   for and failed over by the rules of [`crate::rolling`], as any member.
//! * configured members are never claimed, drained by membership or freed: their slot
//!   belongs to workers.properties (disable or stop them instead).
//!
//! # Shared-memory fields
//!
//! member slot: `Lifecycle`, `LifecycleSince`, `DrainDeadline`, `Origin`, the `Label`
//! string, and bit 2 of `Flags` (route still to be learned).

use std::sync::atomic::Ordering;

use jk_config::{Activation, LbMethod, MemberState};
use jk_shm::{Field, StrField};

use crate::balancer::Balancer;
use crate::rolling::FLAG_NOT_READY;

/// `Flags` bit: the member's route is still its slot's own name; the first session it
/// issues (or its health page) teaches the real one.
pub(crate) const FLAG_LEARN_ROUTE: u64 = 4;
/// `Flags` bit: a standby member (handover): out of rotation until it takes over the route
/// of its predecessor (`Predecessor`), once that member's backend has stopped.
pub(crate) const FLAG_STANDBY: u64 = 8;
/// `Flags` bit: this member's route went to its successor (a request held for it goes on
/// with the successor).
pub(crate) const FLAG_HANDED_OVER: u64 = 16;
/// The `Flags` bits this module owns.
pub(crate) const MEMBERSHIP_FLAGS: u64 = FLAG_LEARN_ROUTE | FLAG_STANDBY | FLAG_HANDED_OVER;

/// Where a member came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Origin {
    /// workers.properties.
    #[default]
    Config = 0,
    /// Added through the status worker or `jkctl add`.
    Runtime = 1,
    /// One address of the lb's `discover_dns` name.
    Dns = 2,
    /// A registry (ZooKeeper).
    Registry = 3,
}

/// A registry connection's state (shared-memory codes; jk-zk's `ConnState` uses the same).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RegistryState {
    #[default]
    None = 0,
    Connecting = 1,
    Connected = 2,
    Disconnected = 3,
    Expired = 4,
    AuthFailed = 5,
}

impl RegistryState {
    pub fn code(self) -> u64 {
        self as u64
    }

    pub fn from_code(c: u64) -> RegistryState {
        match c {
            1 => RegistryState::Connecting,
            2 => RegistryState::Connected,
            3 => RegistryState::Disconnected,
            4 => RegistryState::Expired,
            5 => RegistryState::AuthFailed,
            _ => RegistryState::None,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            RegistryState::None => "none",
            RegistryState::Connecting => "connecting",
            RegistryState::Connected => "connected",
            RegistryState::Disconnected => "disconnected",
            RegistryState::Expired => "expired",
            RegistryState::AuthFailed => "auth_failed",
        }
    }
}

/// An lb's registry connection (status: JSON, Prometheus, the page).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryStatus {
    pub state: RegistryState,
    pub session: i64,
    /// Unix ms of the last registry event.
    pub event_at_ms: u64,
    /// Milliseconds from the last change's event to its members being applied.
    pub lag_ms: u64,
    /// Members the registry lists.
    pub members: u64,
    /// [`RegistryStatus::WORLD_WRITABLE`] | [`RegistryStatus::SHRINK_HELD`] |
    /// [`RegistryStatus::BAD_RECORDS`] | [`RegistryStatus::START_WAIT_OVER`].
    pub flags: u64,
    /// Unix ms the members were last applied.
    pub applied_at_ms: u64,
}

impl RegistryStatus {
    pub const WORLD_WRITABLE: u64 = 1;
    pub const SHRINK_HELD: u64 = 2;
    pub const BAD_RECORDS: u64 = 4;
    /// A child gave up waiting for the first read at its start (ZooKeeper did not answer):
    /// later children do not wait either.
    pub const START_WAIT_OVER: u64 = 8;
}

impl Origin {
    pub fn from_code(c: u64) -> Origin {
        match c {
            1 => Origin::Runtime,
            2 => Origin::Dns,
            3 => Origin::Registry,
            _ => Origin::Config,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Runtime => "runtime",
            Origin::Dns => "dns",
            Origin::Registry => "registry",
        }
    }
}

/// Where a member is in its life (a configured member is always [`Lifecycle::Active`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lifecycle {
    /// A growth slot nobody uses.
    #[default]
    Free = 0,
    /// Added, waiting for its readiness probes.
    Joining = 1,
    /// In rotation.
    Active = 2,
    /// Removed: no new sessions, its sessions served until it is idle or its deadline.
    Draining = 3,
    /// Being freed (for the moment its slot is cleaned up).
    Leaving = 4,
    /// Waits to take over another member's route (handover), out of rotation.
    Standby = 5,
}

impl Lifecycle {
    pub fn from_code(c: u64) -> Lifecycle {
        match c {
            1 => Lifecycle::Joining,
            2 => Lifecycle::Active,
            3 => Lifecycle::Draining,
            4 => Lifecycle::Leaving,
            5 => Lifecycle::Standby,
            _ => Lifecycle::Free,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Lifecycle::Free => "free",
            Lifecycle::Joining => "joining",
            Lifecycle::Active => "active",
            Lifecycle::Draining => "draining",
            Lifecycle::Leaving => "leaving",
            Lifecycle::Standby => "standby",
        }
    }
}

/// What a new member gets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claim<'a> {
    /// The name it goes by (status worker, jkctl); None: the slot's own name.
    pub label: Option<&'a str>,
    /// Its route; None: learned from the first session it issues.
    pub route: Option<&'a str>,
    pub origin: Origin,
    /// Handover: the member whose route it takes over once that member's backend stopped
    /// (it waits as a standby member; `route` is ignored).
    pub successor_of: Option<usize>,
}

impl Balancer {
    /// Whether member `i` is a growth slot (not a configured member).
    pub fn is_growth(&self, i: usize) -> bool {
        i >= self.growth_start && i < self.members.len()
    }

    /// Growth slots of this lb (free or not).
    pub fn growth_capacity(&self) -> usize {
        self.members.len() - self.growth_start
    }

    /// Member `i`'s lifecycle: configured members are always active.
    pub fn lifecycle(&self, i: usize) -> Lifecycle {
        if !self.is_growth(i) {
            return Lifecycle::Active;
        }
        if !self.member_trusted(i) {
            return Lifecycle::Free;
        }
        Lifecycle::from_code(self.slot(i).get(Field::Lifecycle))
    }

    /// Whether member `i` exists for the users: configured, or a growth slot in use.
    pub fn in_use(&self, i: usize) -> bool {
        i < self.members.len() && self.lifecycle(i) != Lifecycle::Free
    }

    /// Members in use (configured members and used growth slots).
    pub fn members_in_use(&self) -> usize {
        self.growth_start
            + (self.growth_start..self.members.len())
                .filter(|&i| self.in_use(i))
                .count()
    }

    /// Member `i`'s origin.
    pub fn origin(&self, i: usize) -> Origin {
        if !self.is_growth(i) || !self.member_trusted(i) {
            return Origin::Config;
        }
        Origin::from_code(self.slot(i).get(Field::Origin))
    }

    /// The name member `i` goes by: its label when added under one, else its worker name.
    pub fn display_name(&self, i: usize) -> String {
        let Some(m) = self.members.get(i) else {
            return String::new();
        };
        if self.is_growth(i) && self.in_use(i) {
            let label = m.slot.string(StrField::Label);
            if !label.is_empty() {
                return label;
            }
        }
        m.name.clone()
    }

    /// The member named `name` (its display name, or its worker name) among the members
    /// in use.
    pub fn find_member(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.member_index(name) {
            if self.in_use(i) {
                return Some(i);
            }
        }
        (self.growth_start..self.members.len())
            .find(|&i| self.in_use(i) && self.slot(i).string(StrField::Label) == name)
    }

    /// Whether member `i`'s route is still to be learned.
    pub fn learning_route(&self, i: usize) -> bool {
        self.is_growth(i) && self.flags(i) & FLAG_LEARN_ROUTE != 0
    }

    /// Whether some member in use is still to learn its route: a newcomer that may yet take
    /// over the route of a member that left (a swarm task replaced after its predecessor
    /// was already gone).
    pub fn route_learner_pending(&self) -> bool {
        (self.growth_start..self.members.len()).any(|i| self.in_use(i) && self.learning_route(i))
    }

    /// Takes a free growth slot for a new member (see the module docs); returns its index.
    /// The glue has written (or writes right after) the member's address into the slot's
    /// ajp record: until its readiness probes pass it gets no request.
    pub fn claim_slot(&self, c: &Claim<'_>) -> Result<usize, String> {
        if let Some(label) = c.label {
            if let Some(j) = self.find_member(label) {
                return Err(format!(
                    "lb worker '{}' already has a member named '{label}' ({})",
                    self.name, self.members[j].name
                ));
            }
        }
        if let Some(p) = c.successor_of {
            if !self.in_use(p) || self.lifecycle(p) == Lifecycle::Standby {
                return Err(format!(
                    "lb worker '{}' has no serving member #{p} to hand over",
                    self.name
                ));
            }
            if let Some(s) = self.successor(p) {
                return Err(format!(
                    "member '{}' of lb worker '{}' already hands over to '{}'",
                    self.display_name(p),
                    self.name,
                    self.display_name(s)
                ));
            }
        } else if let Some(route) = c.route {
            if let Some(j) = self.member_with_route(route) {
                return Err(format!(
                    "route '{route}' is already the route of member '{}' of lb worker '{}'",
                    self.display_name(j),
                    self.name
                ));
            }
        }
        let now = self.now();
        let i = (self.growth_start..self.members.len())
            .find(|&i| {
                self.member_trusted(i)
                    && self
                        .slot(i)
                        .atomic(Field::Lifecycle)
                        .compare_exchange(
                            Lifecycle::Free as u64,
                            Lifecycle::Joining as u64,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        )
                        .is_ok()
            })
            .ok_or_else(|| {
                format!(
                    "lb worker '{}' has no free member slot ({} in use; raise \
                     worker.{}.growth)",
                    self.name,
                    self.members_in_use(),
                    self.name
                )
            })?;
        let slot = self.slot(i);
        let name = &self.members[i].name;
        slot.set(Field::LifecycleSince, now);
        slot.set(Field::DrainDeadline, 0);
        slot.set(Field::Origin, c.origin as u64);
        let route = if c.successor_of.is_some() {
            None
        } else {
            c.route
        };
        let strings = slot
            .set_string(StrField::Label, c.label.unwrap_or(""))
            .and_then(|()| slot.set_string(StrField::Route, route.unwrap_or(name)));
        if let Err(e) = strings {
            let _ = self.free_slot(i);
            return Err(format!("member of lb worker '{}': {e}", self.name));
        }
        self.reset(Some(i))?;
        // Out of rotation until its readiness probes pass, before it is activated.
        let extra = match (c.successor_of, c.route) {
            (Some(_), _) => FLAG_STANDBY,
            (None, None) => FLAG_LEARN_ROUTE,
            (None, Some(_)) => 0,
        };
        slot.atomic(Field::Flags)
            .store(FLAG_NOT_READY | extra, Ordering::Release);
        slot.set(
            Field::Predecessor,
            c.successor_of.map_or(0, |p| p as u64 + 1),
        );
        if c.successor_of.is_some() {
            slot.set(Field::Lifecycle, Lifecycle::Standby as u64);
        }
        slot.set(Field::GoodProbes, 0);
        slot.set(Field::ProbeLease, 0);
        slot.set(Field::ReturnedAt, 0);
        slot.set(Field::LastStickyTime, 0);
        slot.set(Field::State, u64::from(MemberState::Idle.code()));
        slot.set(Field::StateSince, now);
        slot.set(Field::Activation, u64::from(Activation::Active.code()));
        self.bump();
        Ok(i)
    }

    /// Readiness passed: a joining member is active.
    pub(crate) fn joined(&self, i: usize) {
        if self.is_growth(i) {
            let l = self.slot(i).atomic(Field::Lifecycle);
            if l.compare_exchange(
                Lifecycle::Joining as u64,
                Lifecycle::Active as u64,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
            {
                self.slot(i).set(Field::LifecycleSince, self.now());
                self.bump();
            }
        }
    }

    /// The lb's `drain_timeout` and `drain_idle` in seconds.
    pub fn drain_settings(&self) -> (u64, u64) {
        (self.drain_timeout_s, self.drain_idle_s)
    }

    /// Removes member `i`: it drains (no new sessions; its sessions are served) until
    /// [`Balancer::drained`], at most `timeout_s` seconds. Configured members cannot be
    /// removed. Removing a draining member again keeps its earlier deadline.
    pub fn start_drain(&self, i: usize, timeout_s: u64) -> Result<(), String> {
        self.check_removable(i)?;
        let slot = self.slot(i);
        let now = self.now();
        let old = slot
            .atomic(Field::Lifecycle)
            .swap(Lifecycle::Draining as u64, Ordering::AcqRel);
        if old != Lifecycle::Draining as u64 {
            slot.set(Field::LifecycleSince, now);
            slot.set(Field::DrainDeadline, now.saturating_add(timeout_s));
        }
        slot.set(Field::Activation, u64::from(Activation::Disabled.code()));
        self.bump();
        Ok(())
    }

    /// Whether member `i` may be removed at runtime: a growth slot in use (configured
    /// members belong to workers.properties).
    pub fn check_removable(&self, i: usize) -> Result<(), String> {
        if i >= self.members.len() {
            return Err(format!("lb worker '{}' has no member #{i}", self.name));
        }
        if !self.is_growth(i) {
            return Err(format!(
                "member '{}' of lb worker '{}' comes from workers.properties and cannot be \
                 removed at runtime (set its activation to disabled or stopped instead)",
                self.members[i].name, self.name
            ));
        }
        if !self.in_use(i) {
            return Err(format!(
                "member slot '{}' of lb worker '{}' is not in use",
                self.members[i].name, self.name
            ));
        }
        Ok(())
    }

    /// Whether draining member `i` may be freed now: nothing in flight or held for it and no
    /// request routed to it by its session for `idle_s` seconds, or its deadline passed.
    pub fn drained(&self, i: usize, idle_s: u64) -> bool {
        if self.lifecycle(i) != Lifecycle::Draining {
            return false;
        }
        let slot = self.slot(i);
        let now = self.now();
        let since = slot.get(Field::LifecycleSince);
        let quiet = self.idle(i, idle_s)
            && self.members[i].held.busy() == 0
            && now.saturating_sub(since) >= idle_s;
        let deadline = slot.get(Field::DrainDeadline);
        quiet || (deadline > 0 && now >= deadline)
    }

    /// Draining members that may be freed now ([`Balancer::drained`]).
    pub fn drained_members(&self, idle_s: u64) -> Vec<usize> {
        (self.growth_start..self.members.len())
            .filter(|&i| self.drained(i, idle_s))
            .collect()
    }

    /// Frees growth slot `i` (remove `--force`, or a drained member): Stopped, no name, its
    /// own route, lifecycle free. False when it was free already or another process is
    /// freeing it (the one that moves it to LEAVING does the work). The glue then sets the
    /// slot's ajp record to port 0 (every child drops its connections).
    pub fn free_slot(&self, i: usize) -> bool {
        if !self.is_growth(i) {
            return false;
        }
        let slot = self.slot(i);
        let l = slot.atomic(Field::Lifecycle);
        let cur = l.load(Ordering::Acquire);
        if matches!(
            Lifecycle::from_code(cur),
            Lifecycle::Free | Lifecycle::Leaving
        ) || l
            .compare_exchange(
                cur,
                Lifecycle::Leaving as u64,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            return false;
        }
        slot.set(Field::Activation, u64::from(Activation::Stopped.code()));
        slot.atomic(Field::Flags).store(0, Ordering::Release);
        let _ = slot.set_string(StrField::Label, "");
        let _ = slot.set_string(StrField::Route, &self.members[i].name);
        slot.set(Field::Origin, 0);
        slot.set(Field::Predecessor, 0);
        slot.set(Field::DrainDeadline, 0);
        slot.set(Field::LifecycleSince, self.now());
        slot.set(Field::State, u64::from(MemberState::Idle.code()));
        l.store(Lifecycle::Free as u64, Ordering::Release);
        self.bump();
        true
    }

    /// The member in use whose route is `route`.
    pub fn member_with_route(&self, route: &str) -> Option<usize> {
        (0..self.members.len())
            .find(|&i| self.in_use(i) && self.member_string(i, StrField::Route) == route)
    }

    /// Member `i` issued a session whose route is `route` (the `.jvmRoute` suffix of its
    /// session id) while its route was still to be learned: it becomes its route. When a
    /// member holds that route already (a replaced task, serving or draining), `i` becomes
    /// its standby and takes the route over once its backend stopped ([`Balancer::
    /// hand_over`]). Ok(true) when the route was learned (or `i` became a standby for it).
    pub fn learn_route(&self, i: usize, route: &str) -> Result<bool, String> {
        if !self.learning_route(i) || route.is_empty() {
            return Ok(false);
        }
        if route.len() > jk_shm::MAX_STR
            || !route
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(format!(
                "member '{}' of lb worker '{}' issued a session with the unusable route \
                 '{}'; not learned",
                self.display_name(i),
                self.name,
                route.escape_default()
            ));
        }
        let holder = self.member_with_route(route).filter(|&j| j != i);
        if let Some(j) =
            holder.filter(|&j| self.is_growth(j) && self.lifecycle(j) == Lifecycle::Joining)
        {
            // It never served (a member the state file brought back from an earlier
            // deployment whose address is gone, or a task that never came up): nothing of it
            // to hand over; `i` takes the route now, requests held for `j` follow it.
            let _ = self
                .slot(j)
                .set_string(StrField::Route, &self.members[j].name);
            self.slot(j)
                .atomic(Field::Flags)
                .fetch_or(FLAG_HANDED_OVER, Ordering::AcqRel);
        } else if let Some(j) = holder {
            if self.successor(j).is_some() {
                return Err(format!(
                    "member '{}' of lb worker '{}' issued a session with route '{route}', the \
                     route of member '{}', which already has a successor; not learned",
                    self.display_name(i),
                    self.name,
                    self.display_name(j)
                ));
            }
            // A replacement of a member that holds the route (swarm's start-first update, or
            // a configured member's Tomcat started anew elsewhere): it waits as standby and
            // takes the route over once the older one's backend stopped ([`Balancer::
            // hand_over`]), after it saved its sessions. Also when the older one drains
            // already (its task left the discovery first): its Tomcat may still be saving.
            let slot = self.slot(i);
            slot.atomic(Field::Flags)
                .fetch_or(FLAG_STANDBY, Ordering::AcqRel);
            slot.atomic(Field::Flags)
                .fetch_and(!FLAG_LEARN_ROUTE, Ordering::AcqRel);
            slot.set(Field::Predecessor, j as u64 + 1);
            slot.set(Field::Lifecycle, Lifecycle::Standby as u64);
            slot.set(Field::LifecycleSince, self.now());
            self.bump();
            return Ok(true);
        }
        self.slot(i)
            .set_string(StrField::Route, route)
            .map_err(|e| e.to_string())?;
        self.slot(i)
            .atomic(Field::Flags)
            .fetch_and(!FLAG_LEARN_ROUTE, Ordering::AcqRel);
        self.bump();
        Ok(true)
    }

    /// The single member in use when the lb has only one (mod_jk's one-member shortcut).
    pub(crate) fn only_member(&self) -> Option<usize> {
        (self.growth_start == 1 && (1..self.members.len()).all(|i| !self.in_use(i))).then_some(0)
    }
}

impl Balancer {
    /// A draining member whose address came back (DNS): active again, taking new sessions.
    pub fn undrain(&self, i: usize) -> bool {
        if !self.is_growth(i) {
            return false;
        }
        let slot = self.slot(i);
        let ok = slot
            .atomic(Field::Lifecycle)
            .compare_exchange(
                Lifecycle::Draining as u64,
                Lifecycle::Active as u64,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if ok {
            slot.set(Field::DrainDeadline, 0);
            slot.set(Field::LifecycleSince, self.now());
            slot.set(Field::Activation, u64::from(Activation::Active.code()));
            // Back under its own name: a route it handed over stays with its successor.
            slot.atomic(Field::Flags)
                .fetch_and(!FLAG_HANDED_OVER, Ordering::AcqRel);
            self.bump();
        }
        ok
    }

    /// The registry connection of this lb (ZooKeeper discovery) as last published by the
    /// child that follows it.
    pub fn registry_status(&self) -> RegistryStatus {
        let g = |f| self.lb.get(f);
        RegistryStatus {
            state: RegistryState::from_code(g(Field::RegistryState)),
            session: g(Field::RegistrySession) as i64,
            event_at_ms: g(Field::RegistryEventAt),
            lag_ms: g(Field::RegistryLag),
            members: g(Field::RegistryMembers),
            flags: g(Field::RegistryFlags),
            applied_at_ms: g(Field::RegistryAppliedAt),
        }
    }

    /// Publishes the registry connection (only the lease holder calls this).
    pub fn set_registry_status(&self, r: &RegistryStatus) {
        self.lb.set(Field::RegistryState, r.state.code());
        self.lb.set(Field::RegistrySession, r.session as u64);
        self.lb.set(Field::RegistryEventAt, r.event_at_ms);
        self.lb.set(Field::RegistryLag, r.lag_ms);
        self.lb.set(Field::RegistryMembers, r.members);
        self.lb.set(Field::RegistryFlags, r.flags);
        self.lb.set(Field::RegistryAppliedAt, r.applied_at_ms);
    }

    /// The discovery lease of this lb (ARCHITECTURE rule 13: one watcher per gateway): true
    /// when process `pid` should run a discovery round now. It holds the lease while it
    /// renews it every `interval_s`; a lease not renewed for twice that (plus 2 s), or whose
    /// holder `alive` says is gone, is taken over. At most one caller per interval wins
    /// (compare-and-swap of `pid << 32 | seconds`).
    pub fn claim_discovery(
        &self,
        pid: u32,
        now: u64,
        interval_s: u64,
        alive: &dyn Fn(u32) -> bool,
    ) -> bool {
        let lease = self.lb.atomic(Field::DiscoveryLease);
        let cur = lease.load(Ordering::Acquire);
        let (holder, at) = ((cur >> 32) as u32, cur & 0xFFFF_FFFF);
        let now32 = now & 0xFFFF_FFFF;
        let age = now32.wrapping_sub(at) & 0xFFFF_FFFF;
        let mine = holder == pid;
        let stale = cur == 0 || age > interval_s.saturating_mul(2) + 2 || (!mine && !alive(holder));
        if !(mine || stale) || (mine && age < interval_s && cur != 0) {
            return false;
        }
        lease
            .compare_exchange(
                cur,
                (u64::from(pid) << 32) | now32,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// The process holding the discovery lease (0: none yet).
    pub fn discovery_holder(&self) -> u32 {
        (self.lb.get(Field::DiscoveryLease) >> 32) as u32
    }
}

impl Balancer {
    /// Whether anything changed at runtime (the region generation moved) since this process
    /// last asked: only then the state file's contents need to be looked at again.
    pub fn generation_moved(&self) -> bool {
        let g = self.region.generation().load(Ordering::Acquire);
        self.saved_seen.swap(g, Ordering::AcqRel) != g
    }

    /// The membership with fingerprint `fp` is to be written to the lb's state file: true
    /// for the one caller that swaps it in (it writes), false when it was written already.
    pub fn claim_save(&self, fp: u64) -> bool {
        let w = self.lb.atomic(Field::MembersSaved);
        let cur = w.load(Ordering::Acquire);
        cur != fp
            && w.compare_exchange(cur, fp, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }
}

impl Balancer {
    /// The standby member waiting to take over member `p`'s route.
    pub fn successor(&self, p: usize) -> Option<usize> {
        (self.growth_start..self.members.len()).find(|&s| {
            self.in_use(s)
                && self.flags(s) & FLAG_STANDBY != 0
                && self.slot(s).get(Field::Predecessor) == p as u64 + 1
        })
    }

    /// The member whose route standby member `s` takes over.
    pub fn predecessor(&self, s: usize) -> Option<usize> {
        if !self.is_growth(s) || self.flags(s) & FLAG_STANDBY == 0 {
            return None;
        }
        let p = usize::try_from(self.slot(s).get(Field::Predecessor))
            .ok()?
            .checked_sub(1)?;
        (p < self.members.len()).then_some(p)
    }

    /// Whether member `i`'s route went to its successor (a request held for it goes on).
    pub fn handed_over(&self, i: usize) -> bool {
        i < self.members.len() && self.flags(i) & FLAG_HANDED_OVER != 0
    }

    /// Member `p`'s backend has stopped (its port is closed): its route goes to its standby
    /// successor, which serves the route's sessions from now on (loading them from the
    /// store both share). `p` keeps its slot: a runtime member drains and leaves, a
    /// configured one is stopped (activation Stopped; the operator may activate it again).
    /// Returns the successor, if `p` had one.
    pub fn hand_over(&self, p: usize) -> Option<usize> {
        let s = self.successor(p)?;
        let route = self.member_string(p, StrField::Route);
        let slot = self.slot(s);
        // The predecessor gives the route up first (two members never share it): a growth
        // slot's own name is no session's route; a configured member's name may be (its
        // default route), so it gets `<name>~old`.
        let parked = if self.is_growth(p) {
            self.members[p].name.clone()
        } else {
            format!("{}~old", self.members[p].name)
        };
        let _ = self.slot(p).set_string(StrField::Route, &parked);
        self.slot(p)
            .atomic(Field::Flags)
            .fetch_or(FLAG_HANDED_OVER, Ordering::AcqRel);
        if self.is_growth(p) {
            let _ = self.start_drain(p, self.drain_timeout_s);
        } else {
            self.slot(p)
                .set(Field::Activation, u64::from(Activation::Stopped.code()));
        }
        let _ = slot.set_string(StrField::Route, &route);
        slot.set(Field::Predecessor, 0);
        let ready = self.flags(s) & FLAG_NOT_READY == 0;
        slot.set(
            Field::Lifecycle,
            if ready {
                Lifecycle::Active as u64
            } else {
                Lifecycle::Joining as u64
            },
        );
        slot.set(Field::LifecycleSince, self.now());
        // It takes its predecessor's sessions at once: no slow start. And its place in the
        // balance: the predecessor's lb_value (a standby's own was set when it became ready
        // and has not moved since; far below the others', it would get every new session
        // until it caught up).
        slot.set(Field::ReturnedAt, 0);
        if self.method() != LbMethod::Busyness {
            slot.set(Field::LbValue, self.slot(p).get(Field::LbValue));
        }
        slot.atomic(Field::Flags)
            .fetch_and(!FLAG_STANDBY, Ordering::AcqRel);
        self.bump();
        Some(s)
    }
}
