//! One lb worker's state in shared memory: creation with the graceful-restart merge, global
//! maintenance, watchdog probes, the status worker's edits and read-only snapshots.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use jk_config::{Activation, AjpWorker, LbLock, LbMethod, LbWorker, MemberState};
use jk_shm::{
    ChildField, ChildIndex, Field, HistogramCounts, Region, Slot, SlotKind, StrField, HOLD_TIME,
    REPLY_TIME,
};
use parking_lot::{Mutex, RwLock};

use crate::fingerprint::{self, num_part, str_part, Fingerprint};
use crate::rolling::{MemberReadiness, RollingSettings};
use crate::state::usable;
use crate::Clock;

/// mod_jk's JK_LB_MAINTAIN_TOLERANCE: a run a little early still counts.
const MAINTAIN_TOLERANCE: u64 = 2;

/// The `JK_LB_FIRST_*` notes (mod_jk `lb_add_log_items`), in mod_jk's order; NUL-terminated
/// so httpd can keep them without a copy.
pub const FIRST_NOTE_KEYS: [&std::ffi::CStr; 10] = [
    c"JK_LB_FIRST_NAME",
    c"JK_LB_FIRST_VALUE",
    c"JK_LB_FIRST_ACCESSED",
    c"JK_LB_FIRST_SESSIONS",
    c"JK_LB_FIRST_READ",
    c"JK_LB_FIRST_TRANSFERRED",
    c"JK_LB_FIRST_ERRORS",
    c"JK_LB_FIRST_BUSY",
    c"JK_LB_FIRST_ACTIVATION",
    c"JK_LB_FIRST_STATE",
];

/// The `JK_LB_LAST_*` notes, in the order of [`FIRST_NOTE_KEYS`].
pub const LAST_NOTE_KEYS: [&std::ffi::CStr; 10] = [
    c"JK_LB_LAST_NAME",
    c"JK_LB_LAST_VALUE",
    c"JK_LB_LAST_ACCESSED",
    c"JK_LB_LAST_SESSIONS",
    c"JK_LB_LAST_READ",
    c"JK_LB_LAST_TRANSFERRED",
    c"JK_LB_LAST_ERRORS",
    c"JK_LB_LAST_BUSY",
    c"JK_LB_LAST_ACTIVATION",
    c"JK_LB_LAST_STATE",
];

/// One note value: text, or a number the caller formats where it stores it (no allocation
/// on the request path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteValue<'a> {
    Text(&'a str),
    Number(u64),
}

impl std::fmt::Display for NoteValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoteValue::Text(t) => f.write_str(t),
            NoteValue::Number(n) => write!(f, "{n}"),
        }
    }
}

/// One member's ten note values, in the order of [`FIRST_NOTE_KEYS`].
pub type NoteValues<'a> = [NoteValue<'a>; 10];

/// A request's `JK_LB_LAST_*` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastNotes<'a> {
    /// The same values as the `JK_LB_FIRST_*` notes (one try: the same member, nothing of it
    /// changed since), so the host can store them once and point both keys at them.
    SameAsFirst,
    Values(NoteValues<'a>),
}

/// A request's `JK_LB_FIRST_*` and `JK_LB_LAST_*` note values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notes<'a> {
    pub first: Option<NoteValues<'a>>,
    pub last: Option<LastNotes<'a>>,
}

impl<'a> Notes<'a> {
    /// Each note as key and value (the last notes' values spelled out when they are the
    /// first's).
    pub fn for_each(&self, mut f: impl FnMut(&'static std::ffi::CStr, NoteValue<'a>)) {
        if let Some(first) = &self.first {
            for (k, v) in FIRST_NOTE_KEYS.iter().zip(first) {
                f(k, *v);
            }
        }
        let last = match &self.last {
            Some(LastNotes::SameAsFirst) => self.first.as_ref(),
            Some(LastNotes::Values(v)) => Some(v),
            None => None,
        };
        if let Some(last) = last {
            for (k, v) in LAST_NOTE_KEYS.iter().zip(last) {
                f(k, *v);
            }
        }
    }
}

/// The values behind one member's notes at one moment (taken when the member is first
/// chosen, for the `FIRST` notes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct NoteSnapshot {
    pub(crate) member: usize,
    /// lb_value, elected, sessions, read, transferred, errors, busy.
    numbers: [u64; 7],
    activation: &'static str,
    state: &'static str,
}

pub(crate) struct Member {
    pub name: String,
    pub slot: Slot<'static>,
    /// The member's ajp worker record (`SlotKind::Ajp`, by name: shared with the worker's
    /// standalone use, as mod_jk shares one ajp record per worker name): the AJP bytes and
    /// open connections the status worker shows for the member.
    pub ajp: Slot<'static>,
    /// Requests held for the member, per child (busy words of a `Held` slot).
    pub held: Slot<'static>,
    pub busy_limit: AtomicU64,
    /// Its configured activation, route, domain and redirect: what the balancer goes by when
    /// its slot no longer holds a member record (the runtime-status file was overwritten).
    pub configured: ConfiguredMember,
}

/// A member's values from workers.properties.
#[derive(Clone, Debug)]
pub(crate) struct ConfiguredMember {
    pub activation: Activation,
    pub route: String,
    pub domain: String,
    pub redirect: String,
}

type EndpointCheck = Arc<dyn Fn(usize) -> bool + Send + Sync>;

/// A load balancer whose shared state lives in a [`Region`].
///
/// # Graceful-restart merge (beyond mod_jk)
///
/// mod_jk re-creates its shared memory on every restart, so status-worker edits are lost.
/// Here the region survives a graceful restart and [`Balancer::new`] finds the existing slots
/// again. Each slot remembers the configured values it was last set from (`Configured*`
/// fields and a packed fingerprint in `ConfigHash`): member activation, lbfactor, route,
/// domain, redirect, distance; lb sticky_session, sticky_session_force, method, lock, retries,
/// retry_interval, recover_time, error_escalation_time, max_reply_timeouts. **Per value**: when
/// the new configuration has the same value as before, the runtime value (possibly edited
/// through the status worker) is kept; when the configuration changed that value, the new
/// configured value wins. States, load values and counters of existing slots are kept. A new
/// slot starts from the configuration with state IDLE.
pub struct Balancer {
    pub(crate) name: String,
    pub(crate) region: Region<'static>,
    pub(crate) lb: Slot<'static>,
    pub(crate) members: Vec<Member>,
    /// Index of the first growth slot (members from here on are spare slots filled at
    /// runtime: [`crate::membership`]); the configured members come before it.
    pub(crate) growth_start: usize,
    /// `drain_timeout` and `drain_idle` (seconds) of the lb: how removed members drain.
    pub(crate) drain_timeout_s: u64,
    pub(crate) drain_idle_s: u64,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) child: AtomicUsize,
    /// Per-process rotating start of the non-sticky search (mod_jk `next_offset`).
    pub(crate) next_offset: AtomicUsize,
    /// Optimistic locking: a process-local critical section around the choice.
    pub(crate) choice_lock: Mutex<()>,
    pub(crate) lb_retries: u32,
    pub(crate) session_cookie: String,
    pub(crate) session_path: String,
    pub(crate) set_session_cookie: bool,
    pub(crate) session_cookie_path: String,
    maintain_secs: AtomicU64,
    endpoint_check: RwLock<Option<EndpointCheck>>,
    /// The lb settings workers.properties gives: used for any value in shared memory that is
    /// out of its range, and for all of them when the lb slot no longer holds an lb record.
    configured: LbSettings,
    /// Rolling-restart settings ([`Balancer::with_rolling`]).
    pub(crate) rolling: RollingSettings,
    /// Each member's readiness settings, resolved from `rolling`.
    pub(crate) readiness: Vec<MemberReadiness>,
    /// This process's copy of the members' routes, domains and redirects, valid while the
    /// region's generation counter (bumped by every runtime edit) is unchanged: reading the
    /// strings out of shared memory on every request costs allocations and seqlock reads.
    pub(crate) strings: Mutex<Option<(u64, Arc<MemberStrings>)>>,
    /// This process's copy of every member's state, activation, gate and distance, valid
    /// while the region's generation and the lb's state epoch are unchanged (reading them
    /// out of shared memory costs per member on every request).
    pub(crate) views: Mutex<Option<ViewCache>>,
    /// The region generation this process last looked at the membership for the state file
    /// ([`Balancer::generation_moved`]).
    pub(crate) saved_seen: AtomicU64,
}

/// [`Balancer::views`]: the region generation and lb state epoch a copy was read at.
pub(crate) type ViewCache = (u64, u64, Arc<MemberViews>);

/// Every member's [`MemberView`] as one process read them, with what a request derives from
/// them on every choice computed once per copy: the states alone (copied into a request as
/// one block), whether any member is BUSY, and the members usable for a request without a
/// session (so choosing by value does not look at members that cannot win: the cost of a
/// choice follows the usable members, not the growth slots or stopped members).
#[derive(Debug, Default)]
pub(crate) struct MemberViews {
    pub(crate) members: Vec<MemberView>,
    pub(crate) states: Vec<MemberState>,
    pub(crate) any_busy: bool,
    /// Usable members (`usable(state, activation)`, not gated), in member order.
    pub(crate) candidates: Vec<Candidate>,
}

/// A member that can win a choice by value: its index, distance and shared lb_value word.
#[derive(Debug)]
pub(crate) struct Candidate {
    pub(crate) index: usize,
    pub(crate) distance: u64,
    pub(crate) lb_value: &'static std::sync::atomic::AtomicU64,
}

impl MemberViews {
    fn new(members: Vec<MemberView>, slots: &[Member]) -> MemberViews {
        let states: Vec<MemberState> = members.iter().map(|v| v.state).collect();
        let candidates = members
            .iter()
            .zip(slots)
            .enumerate()
            .filter(|(_, (v, _))| !v.gated && crate::state::usable(v.state, v.act))
            .map(|(index, (v, m))| Candidate {
                index,
                distance: v.distance,
                lb_value: m.slot.atomic(Field::LbValue),
            })
            .collect();
        MemberViews {
            any_busy: states.contains(&MemberState::Busy),
            states,
            members,
            candidates,
        }
    }
}

impl std::ops::Index<usize> for MemberViews {
    type Output = MemberView;
    fn index(&self, i: usize) -> &MemberView {
        &self.members[i]
    }
}

/// One member's shared values a request reads ([`Balancer::member_views`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct MemberView {
    pub(crate) state: MemberState,
    pub(crate) act: Activation,
    pub(crate) gated: bool,
    pub(crate) distance: u64,
}

/// Routes, domains and redirects of the members, in member order.
#[derive(Debug, Default)]
pub(crate) struct MemberStrings {
    pub(crate) routes: Vec<String>,
    pub(crate) domains: Vec<String>,
    pub(crate) redirects: Vec<String>,
    /// Which members are in use (growth slots that are free are not), how many, and the
    /// only one when just one is (mod_jk's one-member shortcut): membership changes bump
    /// the generation, so a request reads no free slot's shared memory.
    pub(crate) in_use: Vec<bool>,
    pub(crate) in_use_count: usize,
    pub(crate) only: Option<usize>,
}

/// The lb settings that live in shared memory (editable through the status worker).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbSettings {
    pub sticky_session: bool,
    pub sticky_session_force: bool,
    pub method: LbMethod,
    pub lock: LbLock,
    pub retries: u32,
    pub retry_interval_ms: u32,
    pub recover_time_s: u32,
    pub error_escalation_time_s: u32,
    pub max_reply_timeouts: u32,
}

/// Everything the status worker shows about a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSnapshot {
    pub index: usize,
    /// The name the member goes by (a runtime member's label, else its worker name).
    pub name: String,
    /// Its worker name (its endpoint; `<lb>~<n>` for a growth slot).
    pub worker: String,
    /// Where it came from, and where it is in its life ([`crate::membership`]).
    pub origin: crate::Origin,
    pub lifecycle: crate::Lifecycle,
    /// Its route is still to be learned from the first session it issues.
    pub learning_route: bool,
    pub route: String,
    pub domain: String,
    pub redirect: String,
    pub distance: u64,
    pub activation: Activation,
    pub state: MemberState,
    /// Unix time the current state was entered.
    pub state_since: u64,
    pub lbfactor: u64,
    pub lb_mult: u64,
    pub lb_value: u64,
    /// Requests sent to the member (mod_jk `used`, status "Acc", note ACCESSED).
    pub elected: u64,
    pub sessions: u64,
    pub errors: u64,
    pub client_errors: u64,
    pub reply_timeouts: u64,
    /// AJP bytes received from the member's backend (its ajp record, all children).
    pub read: u64,
    /// AJP bytes sent to the member's backend (its ajp record, all children).
    pub transferred: u64,
    pub busy: u64,
    pub max_busy: u64,
    /// Connections open to the member's backend across children, and their maximum.
    pub connected: u64,
    pub max_connected: u64,
    pub busy_limit: u64,
    pub first_error_time: u64,
    pub last_error_time: u64,
    pub last_reset: u64,
    /// Seconds until maintenance moves an ERROR member to RECOVER (status "RR").
    pub time_to_recover: Option<u64>,
    pub good_probes: u64,
    /// Requests in flight across all children (the same as `busy`; drain signal).
    pub in_flight: u64,
    /// Requests waiting for this member right now (hold), across children; not in flight.
    pub held: u64,
    /// Unix time of the last request routed to the member by its session (0 = none).
    pub last_sticky_time: u64,
    /// Estimated distinct sessions routed to it in the current and previous session window.
    pub recent_sessions: u64,
    /// Restart maintenance ([`Balancer::set_restarting`]).
    pub restarting: bool,
    /// Out of rotation until enough consecutive good readiness probes arrive.
    pub awaiting_readiness: bool,
    /// Consecutive good probes so far (readiness; the same as `good_probes`).
    pub ready_probes_seen: u64,
    /// Reply and hold time histograms, replies by status class.
    pub latency: Latency,
}

/// Latency figures of a member, or of a balancer (the sum of its members'): reply time and
/// hold time histograms, replies by status class (`[1xx, 2xx, 3xx, 4xx, 5xx]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latency {
    pub reply: HistogramCounts,
    pub hold: HistogramCounts,
    pub replies: [u64; 5],
}

impl Latency {
    fn of(slot: &Slot<'_>) -> Latency {
        Latency {
            reply: slot.histogram(&REPLY_TIME),
            hold: slot.histogram(&HOLD_TIME),
            replies: slot.status_classes(),
        }
    }

    fn add(&mut self, o: &Latency) {
        self.reply.add(&o.reply);
        self.hold.add(&o.hold);
        for (a, b) in self.replies.iter_mut().zip(o.replies) {
            *a = a.saturating_add(b);
        }
    }
}

/// Whole microseconds, saturating.
fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The lb record as the status worker shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbSnapshot {
    pub name: String,
    /// The sum of every member slot's latency figures (growth slots included, so the sums
    /// never go down when a member leaves).
    pub latency: Latency,
    pub settings: LbSettings,
    pub lb_retries: u32,
    pub session_cookie: String,
    pub session_path: String,
    pub set_session_cookie: bool,
    pub session_cookie_path: String,
    /// Requests handled.
    pub requests: u64,
    /// Member tries in flight, and their maximum.
    pub busy: u64,
    pub max_busy: u64,
    pub last_reset: u64,
    pub last_maintain: u64,
    /// Configured members plus growth slots (used = `members.len()`).
    pub member_slots: usize,
    pub members: Vec<MemberSnapshot>,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b > 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn lcm(a: u64, b: u64) -> u64 {
    (a / gcd(a, b).max(1)).saturating_mul(b)
}

fn shr(v: u64, n: u64) -> u64 {
    u32::try_from(n)
        .ok()
        .and_then(|n| v.checked_shr(n))
        .unwrap_or(0)
}

/// The domain implied by a route `node.a` (mod_jk: the part before the first `.`).
fn domain_of_route(route: &str) -> Option<&str> {
    route.split_once('.').map(|(d, _)| d)
}

impl Balancer {
    /// Finds or allocates the lb slot (`SlotKind::Lb`, parent `""`), one member slot and one
    /// held slot per member (`SlotKind::Member`/`Held`, parent = `name`) and writes their
    /// configuration, merging
    /// with existing slots as described on [`Balancer`]. Members whose `port` is 0 are
    /// configured Stopped. Fails on an empty member list, two members with the same route,
    /// or a full region.
    pub fn new(
        name: &str,
        lb: &LbWorker,
        members: &[(String, &AjpWorker)],
        region: Region<'static>,
        clock: Arc<dyn Clock>,
    ) -> Result<Balancer, String> {
        if members.is_empty() {
            return Err(format!("lb worker '{name}' has no balance_workers"));
        }
        for (i, (a, wa)) in members.iter().enumerate() {
            if let Some((b, _)) = members[..i].iter().find(|(_, wb)| wb.route == wa.route) {
                return Err(format!(
                    "lb worker '{name}': members '{b}' and '{a}' have the same route '{}'",
                    wa.route
                ));
            }
        }
        let shm_err = |what: &str, e: jk_shm::ShmError| format!("lb worker '{name}' {what}: {e}");
        let now = clock.now();
        let (lb_slot, lb_new) = region
            .find_or_alloc(SlotKind::Lb, name, "")
            .map_err(|e| shm_err("record", e))?;
        write_lb_config(lb_slot, lb_new, lb, now);
        let mut ms = Vec::with_capacity(members.len());
        for (mname, w) in members {
            let (slot, new) = region
                .find_or_alloc(SlotKind::Member, mname, name)
                .map_err(|e| shm_err(&format!("member '{mname}'"), e))?;
            write_member_config(slot, new, w, now).map_err(|e| shm_err(mname, e))?;
            let (held, _) = region
                .find_or_alloc(SlotKind::Held, mname, name)
                .map_err(|e| shm_err(&format!("member '{mname}'"), e))?;
            let (ajp, ajp_new) = region
                .find_or_alloc(SlotKind::Ajp, mname, "")
                .map_err(|e| shm_err(&format!("member '{mname}'"), e))?;
            if ajp_new {
                ajp.set(Field::LastReset, now);
            }
            ms.push(Member {
                name: mname.clone(),
                slot,
                ajp,
                held,
                busy_limit: AtomicU64::new(u64::from(w.busy_limit)),
                configured: ConfiguredMember {
                    activation: configured_activation(w),
                    route: w.route.clone(),
                    domain: w.domain.clone(),
                    redirect: w.redirect.clone().unwrap_or_default(),
                },
            });
        }
        let growth_start = members
            .iter()
            .position(|(_, w)| w.growth_of.is_some())
            .unwrap_or(members.len());
        if ms.is_empty() {
            // (An lb may have none configured when it discovers them: growth slots only.)
            return Err(format!(
                "lb worker '{name}' has no member and no growth slot"
            ));
        }
        let b = Balancer {
            name: name.to_string(),
            region,
            lb: lb_slot,
            members: ms,
            growth_start,
            drain_timeout_s: u64::from(lb.drain_timeout_s),
            drain_idle_s: u64::from(lb.drain_idle_s),
            clock,
            child: AtomicUsize::new(0),
            next_offset: AtomicUsize::new(0),
            choice_lock: Mutex::new(()),
            lb_retries: lb.lb_retries.max(1),
            session_cookie: lb.session_cookie.clone(),
            session_path: lb.session_path.clone(),
            set_session_cookie: lb.set_session_cookie,
            session_cookie_path: lb.session_cookie_path.clone(),
            maintain_secs: AtomicU64::new(60),
            endpoint_check: RwLock::new(None),
            configured: configured_settings(lb),
            rolling: RollingSettings::default(),
            readiness: vec![MemberReadiness::default(); members.len()],
            strings: Mutex::new(None),
            views: Mutex::new(None),
            saved_seen: AtomicU64::new(u64::MAX),
        };
        b.update_mult();
        Ok(b)
    }

    /// Sets `worker.maintain` (seconds; 0 disables global maintenance). Default 60.
    pub fn with_maintain_interval(self, secs: u32) -> Balancer {
        self.maintain_secs.store(u64::from(secs), Ordering::Relaxed);
        self
    }

    /// The httpd child this process is, for the per-child busy counters (default 0).
    pub fn set_child(&self, child: ChildIndex) {
        self.child.store(child.0, Ordering::Relaxed);
    }

    /// How the glue tells whether member `i`'s pool has a free connection, so BUSY members
    /// return to OK at the start of a request (mod_jk `ajp_has_endpoint`). Without it, a BUSY
    /// member below its busy_limit counts as free.
    pub fn set_endpoint_check(&self, f: Arc<dyn Fn(usize) -> bool + Send + Sync>) {
        *self.endpoint_check.write() = Some(f);
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The session cookie's name (`session_cookie`, default `JSESSIONID`).
    pub fn session_cookie_name(&self) -> &str {
        &self.session_cookie
    }

    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    pub fn member_name(&self, i: usize) -> Option<&str> {
        self.members.get(i).map(|m| m.name.as_str())
    }

    pub fn member_index(&self, name: &str) -> Option<usize> {
        self.members.iter().position(|m| m.name == name)
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    pub(crate) fn child(&self) -> ChildIndex {
        ChildIndex(self.child.load(Ordering::Relaxed))
    }

    pub(crate) fn slot(&self, i: usize) -> Slot<'static> {
        self.members[i].slot
    }

    /// Member `i`'s ajp worker record.
    pub(crate) fn ajp_slot(&self, i: usize) -> Slot<'static> {
        self.members[i].ajp
    }

    pub(crate) fn busy_limit(&self, i: usize) -> u64 {
        self.members[i].busy_limit.load(Ordering::Relaxed)
    }

    /// Whether the lb slot still holds an lb record. When it does not (the runtime-status
    /// file was overwritten), its values are unknown and the configuration is used instead.
    pub(crate) fn lb_trusted(&self) -> bool {
        self.lb.kind() == Some(SlotKind::Lb)
    }

    /// Whether member `i`'s slot still holds a member record (see [`Balancer::lb_trusted`]).
    pub(crate) fn member_trusted(&self, i: usize) -> bool {
        self.members
            .get(i)
            .is_some_and(|m| m.slot.kind() == Some(SlotKind::Member))
    }

    /// Member `i`'s state; IDLE (mod_jk's initial state) while its slot is not trusted.
    pub(crate) fn state(&self, i: usize) -> MemberState {
        if !self.member_trusted(i) {
            return MemberState::Idle;
        }
        MemberState::from_code(self.slot(i).get(Field::State)).unwrap_or_default()
    }

    pub(crate) fn set_state(&self, i: usize, s: MemberState) {
        let slot = self.slot(i);
        let code = u64::from(s.code());
        // Read first: the usual case (OK after OK, on every request) must not write the
        // shared line, nor move the state epoch.
        if slot.get(Field::State) != code
            && slot.atomic(Field::State).swap(code, Ordering::AcqRel) != code
        {
            slot.set(Field::StateSince, self.now());
            self.touch();
        }
        if s == MemberState::Error {
            self.entered_error(i);
        }
    }

    /// Moves member `i` from `from` to `to` only if it is still in `from`.
    pub(crate) fn transition(&self, i: usize, from: MemberState, to: MemberState) -> bool {
        let slot = self.slot(i);
        let ok = slot
            .atomic(Field::State)
            .compare_exchange(
                u64::from(from.code()),
                u64::from(to.code()),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if ok && from != to {
            slot.set(Field::StateSince, self.now());
            self.touch();
        }
        ok
    }

    /// Member `i`'s state, activation and whether it is gated (restarting, awaiting
    /// readiness, standby), as [`Balancer::state`], [`Balancer::activation`] and
    /// [`Balancer::gated`] give them, read together (the request path reads every member).
    pub(crate) fn member_view(&self, i: usize) -> (MemberState, Activation, bool) {
        let Some(m) = self.members.get(i) else {
            return (MemberState::Idle, Activation::Stopped, true);
        };
        if m.slot.kind() != Some(SlotKind::Member) {
            return (MemberState::Idle, m.configured.activation, false);
        }
        let state = MemberState::from_code(m.slot.get(Field::State)).unwrap_or_default();
        let act = Activation::from_code(m.slot.get(Field::Activation)).unwrap_or_default();
        (state, act, self.gate_bits(m.slot.get(Field::Flags)))
    }

    /// Member `i`'s activation; the configured one while its slot is not trusted.
    pub(crate) fn activation(&self, i: usize) -> Activation {
        if !self.member_trusted(i) {
            return self
                .members
                .get(i)
                .map_or(Activation::Active, |m| m.configured.activation);
        }
        Activation::from_code(self.slot(i).get(Field::Activation)).unwrap_or_default()
    }

    pub(crate) fn method(&self) -> LbMethod {
        LbMethod::from_code(self.lb.get(Field::Method))
            .filter(|_| self.lb_trusted())
            .unwrap_or(self.configured.method)
    }

    /// String field `f` of member `i`; the configured value while its slot is not trusted.
    pub(crate) fn member_string(&self, i: usize, f: StrField) -> String {
        let Some(m) = self.members.get(i) else {
            return String::new();
        };
        if self.member_trusted(i) {
            return m.slot.string(f);
        }
        match f {
            StrField::Route => m.configured.route.clone(),
            StrField::Domain => m.configured.domain.clone(),
            StrField::Redirect => m.configured.redirect.clone(),
            StrField::Name => m.name.clone(),
            StrField::Parent => self.name.clone(),
            StrField::Host | StrField::Label | StrField::Followed => String::new(),
        }
    }

    pub(crate) fn endpoint_free(&self, i: usize) -> bool {
        let limit = self.busy_limit(i);
        // An untrusted slot's busy counters are unknown: they do not make a member busy.
        if limit > 0 && self.member_trusted(i) && self.slot(i).busy() >= limit {
            return false;
        }
        match &*self.endpoint_check.read() {
            Some(f) => f(i),
            None => true,
        }
    }

    /// The lb settings currently in shared memory. A value out of its range (the status
    /// worker writes flags as 0/1 and numbers as u32), or every value while the lb slot is
    /// not trusted, is the configured one.
    pub fn settings(&self) -> LbSettings {
        let c = &self.configured;
        if !self.lb_trusted() {
            return c.clone();
        }
        let g = |f| self.lb.get(f);
        let flag = |f, configured| match g(f) {
            0 => false,
            1 => true,
            _ => configured,
        };
        let u = |f, configured| u32::try_from(g(f)).unwrap_or(configured);
        LbSettings {
            sticky_session: flag(Field::StickySession, c.sticky_session),
            sticky_session_force: flag(Field::StickySessionForce, c.sticky_session_force),
            method: self.method(),
            lock: LbLock::from_code(g(Field::Lock)).unwrap_or(c.lock),
            retries: u(Field::Retries, c.retries).max(1),
            retry_interval_ms: u(Field::RetryInterval, c.retry_interval_ms),
            recover_time_s: u(Field::RecoverTime, c.recover_time_s),
            error_escalation_time_s: u(Field::ErrorEscalationTime, c.error_escalation_time_s),
            max_reply_timeouts: u(Field::MaxReplyTimeouts, c.max_reply_timeouts),
        }
    }

    /// lb_mult of every member = LCM(all lbfactors) / own lbfactor (mod_jk `update_mult`).
    fn update_mult(&self) {
        let factors: Vec<u64> = self
            .members
            .iter()
            .map(|m| m.slot.get(Field::LbFactor).max(1))
            .collect();
        let l = factors.iter().fold(1, |acc, &f| lcm(acc, f));
        for (m, f) in self.members.iter().zip(factors) {
            m.slot.set(Field::LbMult, l / f);
        }
    }

    /// The members' strings, from this process's cache when no edit happened since.
    pub(crate) fn member_strings(&self) -> Arc<MemberStrings> {
        let generation = self.region.generation().load(Ordering::Acquire);
        let mut cache = self.strings.lock();
        if let Some((g, s)) = cache.as_ref() {
            if *g == generation {
                return s.clone();
            }
        }
        let n = self.members.len();
        let read = |f| (0..n).map(|i| self.member_string(i, f)).collect::<Vec<_>>();
        let in_use: Vec<bool> = (0..n).map(|i| self.in_use(i)).collect();
        let s = Arc::new(MemberStrings {
            routes: read(StrField::Route),
            domains: read(StrField::Domain),
            redirects: read(StrField::Redirect),
            in_use_count: in_use.iter().filter(|u| **u).count(),
            in_use,
            only: self.only_member(),
        });
        *cache = Some((generation, s.clone()));
        s
    }

    pub(crate) fn bump(&self) {
        self.region.generation().fetch_add(1, Ordering::AcqRel);
    }

    /// A member's state or gate flags changed (after the change): other processes' copies
    /// ([`Balancer::member_views`]) are stale.
    pub(crate) fn touch(&self) {
        self.lb
            .atomic(Field::LbStateEpoch)
            .fetch_add(1, Ordering::AcqRel);
    }

    /// Every member's state, activation, gate and distance, from this process's copy while
    /// nothing changed since (the epoch is read before the values, and every writer changes
    /// a value before it moves the epoch, so a copy is never newer than its tag).
    pub(crate) fn member_views(&self, strings: &MemberStrings) -> Arc<MemberViews> {
        let generation = self.region.generation().load(Ordering::Acquire);
        let epoch = self.lb.get(Field::LbStateEpoch);
        let mut cache = self.views.lock();
        if let Some((g, e, v)) = cache.as_ref() {
            if *g == generation && *e == epoch && v.members.len() == self.members.len() {
                return v.clone();
            }
        }
        let v = Arc::new(MemberViews::new(
            (0..self.members.len())
                .map(|i| {
                    if strings.in_use.get(i).copied().unwrap_or(false) {
                        let (state, act, gated) = self.member_view(i);
                        MemberView {
                            state,
                            act,
                            gated,
                            distance: self.slot(i).get(Field::Distance),
                        }
                    } else {
                        // A free growth slot: never a candidate.
                        MemberView {
                            state: MemberState::Idle,
                            act: Activation::Stopped,
                            gated: true,
                            distance: 0,
                        }
                    }
                })
                .collect(),
            &self.members,
        ));
        *cache = Some((generation, epoch, v.clone()));
        v
    }

    fn check(&self, i: usize) -> Result<Slot<'static>, String> {
        self.members
            .get(i)
            .map(|m| m.slot)
            .ok_or_else(|| format!("lb worker '{}' has no member #{i}", self.name))
    }

    /// The largest lb_value of all members (a recovering member starts there, so it is not
    /// flooded with the requests the others accumulated).
    pub(crate) fn max_lb_value(&self) -> u64 {
        self.members
            .iter()
            .map(|m| m.slot.get(Field::LbValue))
            .max()
            .unwrap_or(0)
    }

    /// Sets every member's lb_value to 0, except with Busyness (mod_jk `reset_lb_values`).
    fn reset_lb_values(&self) {
        if self.method() != LbMethod::Busyness {
            for m in &self.members {
                m.slot.set(Field::LbValue, 0);
            }
        }
    }

    // ----- global maintenance ---------------------------------------------------------------

    /// Global maintenance: at most once per `worker.maintain` seconds across all children
    /// (coordinated by a compare-and-swap of the lb slot's maintenance timestamp). Decays
    /// lb_value (`>>= n`; Next: minus the minimum of the usable members) and the reply-timeout
    /// counters, moves ERROR members whose last error is older than recover_time to RECOVER
    /// (lb_value := current maximum), escalates old local errors to ERROR, marks OK members
    /// unused since the previous run IDLE, and forces recovery when every member is in ERROR.
    /// Returns whether this call did the work.
    pub fn maintain(&self) -> bool {
        let interval = self.maintain_secs.load(Ordering::Relaxed);
        if interval == 0 {
            return false;
        }
        let now = self.now();
        let stamp = self.lb.atomic(Field::LbLastMaintain);
        let last = stamp.load(Ordering::Acquire);
        if last == 0 {
            let _ = stamp.compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire);
            return false;
        }
        let delta = now.saturating_sub(last) + MAINTAIN_TOLERANCE;
        if delta < interval
            || stamp
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return false;
        }
        let curmax = self.decay_load(delta / interval);
        if self.recover_members(curmax, now) == 0 {
            self.force_recovery();
        }
        true
    }

    fn decay_load(&self, exponent: u64) -> u64 {
        let method = self.method();
        let mut curmax = 0;
        for m in &self.members {
            let v = m.slot.atomic(Field::LbValue);
            if method != LbMethod::Busyness {
                if method != LbMethod::Next {
                    let _ = v.fetch_update(Ordering::AcqRel, Ordering::Acquire, |x| {
                        Some(shr(x, exponent))
                    });
                }
                curmax = curmax.max(v.load(Ordering::Acquire));
            }
            let _ = m.slot.atomic(Field::ReplyTimeouts).fetch_update(
                Ordering::AcqRel,
                Ordering::Acquire,
                |x| Some(shr(x, exponent)),
            );
        }
        if method == LbMethod::Next {
            // Round robin of new sessions: subtract the minimum of the usable members
            // (rule activations cannot be respected here, as in mod_jk).
            let curmin = (0..self.members.len())
                .filter(|&i| usable(self.state(i), self.activation(i)))
                .map(|i| self.slot(i).get(Field::LbValue))
                .min()
                .unwrap_or(0);
            for m in &self.members {
                let _ = m.slot.atomic(Field::LbValue).fetch_update(
                    Ordering::AcqRel,
                    Ordering::Acquire,
                    |x| Some(x.saturating_sub(curmin)),
                );
            }
        }
        curmax
    }

    /// mod_jk `recover_workers`; returns the members not in ERROR.
    fn recover_members(&self, curmax: u64, now: u64) -> usize {
        let s = self.settings();
        let mut non_error = 0;
        for (i, m) in self.members.iter().enumerate() {
            if !self.in_use(i) {
                continue;
            }
            let st = self.state(i);
            let first = m.slot.get(Field::FirstErrorTime);
            if st == MemberState::Error {
                let elapsed = now.saturating_sub(m.slot.get(Field::LastErrorTime));
                // A member awaiting readiness comes back through probes, not a user request.
                if elapsed > u64::from(s.recover_time_s) && !self.awaiting_readiness(i) {
                    self.mark_recover(i, curmax);
                    non_error += 1;
                }
            } else if first > 0
                && now.saturating_sub(first) >= u64::from(s.error_escalation_time_s)
                && st != MemberState::Recover
            {
                self.set_state(i, MemberState::Error);
            } else {
                non_error += 1;
                let elected = m.slot.elected();
                if st == MemberState::Ok && elected == m.slot.get(Field::ElectedSnapshot) {
                    self.transition(i, MemberState::Ok, MemberState::Idle);
                }
            }
            m.slot.set(Field::ElectedSnapshot, m.slot.elected());
        }
        non_error
    }

    fn mark_recover(&self, i: usize, curmax: u64) {
        let slot = self.slot(i);
        if self.method() != LbMethod::Busyness {
            slot.set(Field::LbValue, curmax);
        }
        slot.set(Field::ReplyTimeouts, 0);
        self.set_state(i, MemberState::Recover);
    }

    /// Every ERROR member → FORCE (mod_jk `force_recovery`); returns how many. Forced
    /// members no longer await readiness (the last resort wins), unless restarting.
    pub(crate) fn force_recovery(&self) -> usize {
        let mut n = 0;
        for (i, m) in self.members.iter().enumerate() {
            if !self.in_use(i) {
                continue;
            }
            if self.transition(i, MemberState::Error, MemberState::Force) {
                m.slot.set(Field::ReplyTimeouts, 0);
                if !self.is_restarting(i) {
                    self.clear_not_ready(i);
                }
                n += 1;
            }
        }
        n
    }

    // ----- watchdog probes (beyond mod_jk) ------------------------------------------------

    /// Members the watchdog should CPing (slow path, once per maintenance): in RECOVER, or
    /// in ERROR with the last error older than recover_time, or awaiting readiness and not
    /// restarting. mod_jk only recovers by sending a real user request to such a member;
    /// with probes, a good CPong brings it back without risking a request. Members that are
    /// restarting or await readiness are probed faster through
    /// [`Balancer::fast_probe_targets`].
    pub fn members_to_probe(&self) -> Vec<usize> {
        let now = self.now();
        let recover = u64::from(self.settings().recover_time_s);
        (0..self.members.len())
            .filter(|&i| match self.state(i) {
                _ if self.is_restarting(i) => false,
                _ if self.awaiting_readiness(i) => true,
                MemberState::Recover => true,
                MemberState::Error => {
                    now.saturating_sub(self.slot(i).get(Field::LastErrorTime)) > recover
                }
                _ => false,
            })
            .collect()
    }

    /// The watchdog's probe result for member `i`: good ⇒ OK (error times and reply timeouts
    /// cleared, lb_value raised to the current maximum so the member is not flooded); bad ⇒ it
    /// stays (or goes back to) ERROR with a fresh last error time. A member that meanwhile
    /// became usable through a real request is left alone.
    ///
    /// A member that is restarting or awaits readiness (see [`crate::rolling`]) instead
    /// counts consecutive good probes (a bad one resets the count) and returns at the
    /// `ready_probes`-th one, unless it is still restarting.
    pub fn probe_result(&self, i: usize, ok: bool) {
        let Some(m) = self.members.get(i) else {
            return;
        };
        if self.readiness_probe(i, ok) {
            return;
        }
        let st = self.state(i);
        let in_error = matches!(
            st,
            MemberState::Error | MemberState::Recover | MemberState::Force
        );
        if ok {
            m.slot.add(Field::GoodProbes, 1);
            if in_error {
                if st == MemberState::Error && self.method() != LbMethod::Busyness {
                    m.slot.set(Field::LbValue, self.max_lb_value());
                }
                m.slot.set(Field::ReplyTimeouts, 0);
                m.slot.set(Field::FirstErrorTime, 0);
                m.slot.set(Field::LastErrorTime, 0);
                self.set_state(i, MemberState::Ok);
                m.slot.set(Field::ReturnedAt, self.now());
            }
        } else {
            m.slot.set(Field::GoodProbes, 0);
            if in_error {
                let now = self.now();
                let _ = m.slot.atomic(Field::FirstErrorTime).compare_exchange(
                    0,
                    now,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                m.slot.set(Field::LastErrorTime, now);
                self.set_state(i, MemberState::Error);
            }
        }
    }

    // ----- runtime edits (status worker) --------------------------------------------------

    /// `vwa`: member activation; resets all lb_values (except with Busyness).
    pub fn set_activation(&self, i: usize, a: Activation) -> Result<(), String> {
        let slot = self.check(i)?;
        slot.set(Field::Activation, u64::from(a.code()));
        self.reset_lb_values();
        self.bump();
        Ok(())
    }

    /// `vwf`: member lbfactor (≥ 1); recomputes every member's lb_mult.
    pub fn set_lbfactor(&self, i: usize, factor: u32) -> Result<(), String> {
        let slot = self.check(i)?;
        if factor < 1 {
            return Err(format!("lbfactor {factor} is below 1"));
        }
        slot.set(Field::LbFactor, u64::from(factor));
        self.update_mult();
        self.bump();
        Ok(())
    }

    /// `vwn`: member route; an empty domain is derived from a route containing `.`.
    pub fn set_route(&self, i: usize, route: &str) -> Result<(), String> {
        let slot = self.check(i)?;
        slot.set_string(StrField::Route, route)
            .map_err(|e| e.to_string())?;
        if slot.string(StrField::Domain).is_empty() {
            if let Some(d) = domain_of_route(route) {
                slot.set_string(StrField::Domain, d)
                    .map_err(|e| e.to_string())?;
            }
        }
        self.bump();
        Ok(())
    }

    /// `vwr`: member redirect (a route).
    pub fn set_redirect(&self, i: usize, redirect: &str) -> Result<(), String> {
        let slot = self.check(i)?;
        slot.set_string(StrField::Redirect, redirect)
            .map_err(|e| e.to_string())?;
        self.bump();
        Ok(())
    }

    /// `vwc`: member domain.
    pub fn set_domain(&self, i: usize, domain: &str) -> Result<(), String> {
        let slot = self.check(i)?;
        slot.set_string(StrField::Domain, domain)
            .map_err(|e| e.to_string())?;
        self.bump();
        Ok(())
    }

    /// `vwd`: member distance.
    pub fn set_distance(&self, i: usize, distance: u32) -> Result<(), String> {
        let slot = self.check(i)?;
        slot.set(Field::Distance, u64::from(distance));
        self.bump();
        Ok(())
    }

    /// `vabl` as seen by the lb: the member's busy_limit (0 = none). Kept per process.
    pub fn set_busy_limit(&self, i: usize, limit: u32) -> Result<(), String> {
        self.check(i)?;
        self.members[i]
            .busy_limit
            .store(u64::from(limit), Ordering::Relaxed);
        Ok(())
    }

    fn set_lb_field(&self, f: Field, v: u64) {
        self.lb.set(f, v);
        self.bump();
    }

    fn positive(what: &str, v: u32) -> Result<u64, String> {
        if v == 0 {
            Err(format!("{what} must be greater than 0"))
        } else {
            Ok(u64::from(v))
        }
    }

    /// `vls`.
    pub fn set_sticky_session(&self, on: bool) {
        self.set_lb_field(Field::StickySession, u64::from(on));
    }

    /// `vlf`.
    pub fn set_sticky_session_force(&self, on: bool) {
        self.set_lb_field(Field::StickySessionForce, u64::from(on));
    }

    /// `vlm`.
    pub fn set_method(&self, m: LbMethod) {
        self.set_lb_field(Field::Method, u64::from(m.code()));
    }

    /// `vll`.
    pub fn set_lock(&self, l: LbLock) {
        self.set_lb_field(Field::Lock, u64::from(l.code()));
    }

    /// `vlr` (> 0).
    pub fn set_retries(&self, v: u32) -> Result<(), String> {
        let v = Self::positive("retries", v)?;
        self.set_lb_field(Field::Retries, v);
        Ok(())
    }

    /// `vlri` (> 0, ms).
    pub fn set_retry_interval(&self, ms: u32) -> Result<(), String> {
        let v = Self::positive("retry_interval", ms)?;
        self.set_lb_field(Field::RetryInterval, v);
        Ok(())
    }

    /// `vlt` (> 0, s).
    pub fn set_recover_time(&self, s: u32) -> Result<(), String> {
        let v = Self::positive("recover_time", s)?;
        self.set_lb_field(Field::RecoverTime, v);
        Ok(())
    }

    /// `vlee` (> 0, s).
    pub fn set_error_escalation_time(&self, s: u32) -> Result<(), String> {
        let v = Self::positive("error_escalation_time", s)?;
        self.set_lb_field(Field::ErrorEscalationTime, v);
        Ok(())
    }

    /// `vlx` (≥ 0).
    pub fn set_max_reply_timeouts(&self, v: u32) {
        self.set_lb_field(Field::MaxReplyTimeouts, u64::from(v));
    }

    /// `cmd=reset` (§6.6): with `Some(i)` one member, with `None` the lb (max_busy,
    /// last_reset) and every member: state IDLE, sessions, errors, lb_value, error times,
    /// elected and its snapshot, client errors, reply timeouts, max_busy back to 0,
    /// last_reset = now; and in its ajp worker record (as mod_jk's `reset_worker`) used,
    /// client errors, reply timeouts, read, transferred, max_busy and max_connected back to
    /// 0, last_reset = now.
    pub fn reset(&self, member: Option<usize>) -> Result<(), String> {
        let now = self.now();
        let members: Vec<usize> = match member {
            Some(i) => {
                self.check(i)?;
                vec![i]
            }
            None => {
                self.lb.set(Field::MaxBusy, 0);
                self.lb.set(Field::LastReset, now);
                (0..self.members.len()).collect()
            }
        };
        for i in members {
            let slot = self.slot(i);
            slot.child_zero(ChildField::Sessions);
            slot.child_zero(ChildField::Elected);
            for f in [
                Field::Errors,
                Field::LbValue,
                Field::FirstErrorTime,
                Field::LastErrorTime,
                Field::ElectedSnapshot,
                Field::ClientErrors,
                Field::ReplyTimeouts,
                Field::MaxBusy,
            ] {
                slot.set(f, 0);
            }
            slot.set(Field::LastReset, now);
            let ajp = self.ajp_slot(i);
            for f in [
                Field::ClientErrors,
                Field::ReplyTimeouts,
                Field::MaxBusy,
                Field::MaxConnected,
            ] {
                ajp.set(f, 0);
            }
            ajp.child_zero(ChildField::Elected);
            ajp.child_zero(ChildField::Read);
            ajp.child_zero(ChildField::Transferred);
            ajp.set(Field::LastReset, now);
            self.set_state(i, MemberState::Idle);
            if !self.is_restarting(i) {
                self.clear_not_ready(i);
            }
        }
        self.bump();
        Ok(())
    }

    /// `cmd=recover`: an ERROR member goes to RECOVER now (lb_value := current maximum,
    /// except with Busyness) and no longer awaits readiness probes (unless restarting).
    /// Returns whether it was in ERROR.
    pub fn recover(&self, i: usize) -> Result<bool, String> {
        self.check(i)?;
        if self.state(i) != MemberState::Error {
            return Ok(false);
        }
        if !self.is_restarting(i) {
            self.clear_not_ready(i);
        }
        self.mark_recover(i, self.max_lb_value());
        self.bump();
        Ok(true)
    }

    // ----- snapshots ----------------------------------------------------------------------

    /// The status worker's view of member `i`.
    pub fn snapshot(&self, i: usize) -> Option<MemberSnapshot> {
        let m = self.members.get(i)?;
        let g = |f| m.slot.get(f);
        let state = self.state(i);
        let time_to_recover =
            (state == MemberState::Error && !self.awaiting_readiness(i)).then(|| {
                let elapsed = self.now().saturating_sub(g(Field::LastErrorTime));
                u64::from(self.settings().recover_time_s).saturating_sub(elapsed)
            });
        Some(MemberSnapshot {
            index: i,
            name: self.display_name(i),
            worker: m.name.clone(),
            origin: self.origin(i),
            lifecycle: self.lifecycle(i),
            learning_route: self.learning_route(i),
            route: self.member_string(i, StrField::Route),
            domain: self.member_string(i, StrField::Domain),
            redirect: self.member_string(i, StrField::Redirect),
            distance: g(Field::Distance),
            activation: self.activation(i),
            state,
            state_since: g(Field::StateSince),
            lbfactor: g(Field::LbFactor),
            lb_mult: g(Field::LbMult),
            lb_value: g(Field::LbValue),
            elected: m.slot.elected(),
            sessions: m.slot.sessions(),
            errors: g(Field::Errors),
            client_errors: g(Field::ClientErrors),
            reply_timeouts: g(Field::ReplyTimeouts),
            read: m.ajp.child_sum(ChildField::Read),
            transferred: m.ajp.child_sum(ChildField::Transferred),
            busy: m.slot.busy(),
            max_busy: g(Field::MaxBusy),
            connected: m.ajp.connected(),
            max_connected: m.ajp.get(Field::MaxConnected),
            busy_limit: self.busy_limit(i),
            first_error_time: g(Field::FirstErrorTime),
            last_error_time: g(Field::LastErrorTime),
            last_reset: g(Field::LastReset),
            time_to_recover,
            good_probes: g(Field::GoodProbes),
            in_flight: m.slot.busy(),
            held: m.held.busy(),
            last_sticky_time: g(Field::LastStickyTime),
            recent_sessions: self.recent_sessions(i),
            restarting: self.is_restarting(i),
            awaiting_readiness: self.awaiting_readiness(i),
            ready_probes_seen: g(Field::GoodProbes),
            latency: Latency::of(&m.slot),
        })
    }

    /// Counts a reply of member `i` (its status class, and the time from sending the request
    /// to the end of the reply) in the member's latency figures.
    pub fn record_reply(&self, i: usize, status: u16, took: std::time::Duration) {
        if let Some(m) = self.members.get(i) {
            m.slot.count_status_class(self.child(), status);
            m.slot.observe(&REPLY_TIME, self.child(), micros(took));
        }
    }

    /// Counts a request held `took` for member `i` in its hold-time histogram.
    pub fn record_hold(&self, i: usize, took: std::time::Duration) {
        if let Some(m) = self.members.get(i) {
            m.slot.observe(&HOLD_TIME, self.child(), micros(took));
        }
    }

    /// The balancer's latency figures: the sum of its member slots' (computed here, so that
    /// no word is written by every request of the balancer).
    pub fn lb_latency(&self) -> Latency {
        let mut sum = Latency::default();
        for m in &self.members {
            sum.add(&Latency::of(&m.slot));
        }
        sum
    }

    /// Every member's snapshot in balance_workers order, then the growth slots in use.
    pub fn snapshots(&self) -> Vec<MemberSnapshot> {
        (0..self.members.len())
            .filter(|&i| self.in_use(i))
            .filter_map(|i| self.snapshot(i))
            .collect()
    }

    /// The lb record and its members.
    pub fn lb_snapshot(&self) -> LbSnapshot {
        LbSnapshot {
            name: self.name.clone(),
            settings: self.settings(),
            lb_retries: self.lb_retries,
            session_cookie: self.session_cookie.clone(),
            session_path: self.session_path.clone(),
            set_session_cookie: self.set_session_cookie,
            session_cookie_path: self.session_cookie_path.clone(),
            requests: self.lb.elected(),
            busy: self.lb.busy(),
            max_busy: self.lb.get(Field::MaxBusy),
            last_reset: self.lb.get(Field::LastReset),
            last_maintain: self.lb.get(Field::LbLastMaintain),
            member_slots: self.members.len(),
            latency: self.lb_latency(),
            members: self.snapshots(),
        }
    }

    /// The values of the `JK_LB_FIRST_*`/`JK_LB_LAST_*` notes for member `i` now.
    pub(crate) fn note_snapshot(&self, i: usize) -> Option<NoteSnapshot> {
        let m = self.members.get(i)?;
        let g = |f| m.slot.get(f);
        // Every request sets these notes: one pass over the children's lines per slot.
        let [elected, sessions, busy] =
            m.slot
                .child_sums([ChildField::Elected, ChildField::Sessions, ChildField::Busy]);
        let [read, transferred] = m
            .ajp
            .child_sums([ChildField::Read, ChildField::Transferred]);
        Some(NoteSnapshot {
            member: i,
            numbers: [
                g(Field::LbValue),
                elected,
                sessions,
                read,
                transferred,
                g(Field::Errors),
                busy,
            ],
            activation: self.activation(i).text(),
            state: self.state(i).text(),
        })
    }

    /// The ten note values of `snap`, in key order.
    pub(crate) fn note_values(&self, snap: &NoteSnapshot) -> NoteValues<'_> {
        let name = self
            .members
            .get(snap.member)
            .map_or("", |m| m.name.as_str());
        let n = snap.numbers.map(NoteValue::Number);
        [
            NoteValue::Text(name),
            n[0],
            n[1],
            n[2],
            n[3],
            n[4],
            n[5],
            n[6],
            NoteValue::Text(snap.activation),
            NoteValue::Text(snap.state),
        ]
    }
}

/// Writes a value unless the slot was configured with the same value before (graceful merge).
fn merge(slot: Slot<'_>, keep: bool, f: Field, v: u64) {
    if !keep {
        slot.set(f, v);
    }
}

/// The lb settings as workers.properties gives them (as [`write_lb_config`] stores them).
fn configured_settings(lb: &LbWorker) -> LbSettings {
    LbSettings {
        sticky_session: lb.sticky_session,
        sticky_session_force: lb.sticky_session_force,
        method: lb.method,
        lock: lb.lock,
        retries: lb.retries.max(1),
        retry_interval_ms: lb.retry_interval_ms,
        recover_time_s: lb.recover_time_s.max(1),
        error_escalation_time_s: lb.error_escalation_time_s,
        max_reply_timeouts: lb.max_reply_timeouts,
    }
}

/// A member's configured activation: without contact (port 0) it is Stopped (mod_jk lb
/// validate).
fn configured_activation(w: &AjpWorker) -> Activation {
    if w.port == 0 {
        Activation::Stopped
    } else {
        w.activation
    }
}

fn write_lb_config(slot: Slot<'_>, new: bool, lb: &LbWorker, now: u64) {
    let values = [
        (Field::StickySession, u64::from(lb.sticky_session)),
        (
            Field::StickySessionForce,
            u64::from(lb.sticky_session_force),
        ),
        (Field::Method, u64::from(lb.method.code())),
        (Field::Lock, u64::from(lb.lock.code())),
        (Field::Retries, u64::from(lb.retries.max(1))),
        (Field::RetryInterval, u64::from(lb.retry_interval_ms)),
        (Field::RecoverTime, u64::from(lb.recover_time_s.max(1))),
        (
            Field::ErrorEscalationTime,
            u64::from(lb.error_escalation_time_s),
        ),
        (Field::MaxReplyTimeouts, u64::from(lb.max_reply_timeouts)),
    ];
    let parts: Vec<u64> = values
        .iter()
        .enumerate()
        .map(|(i, &(_, v))| if i < 4 { v } else { num_part(v) })
        .collect();
    let fp = fingerprint::LB.pack(&parts);
    let old = Fingerprint(slot.get(Field::ConfigHash));
    for (i, &(f, v)) in values.iter().enumerate() {
        merge(slot, !new && fingerprint::LB.same(old, fp, i), f, v);
    }
    slot.set(Field::ConfigHash, fp.0);
    if new {
        slot.set(Field::LastReset, now);
        slot.set(Field::LbLastMaintain, now);
    }
}

fn write_member_config(
    slot: Slot<'_>,
    new: bool,
    w: &AjpWorker,
    now: u64,
) -> Result<(), jk_shm::ShmError> {
    let act = u64::from(configured_activation(w).code());
    let redirect = w.redirect.as_deref().unwrap_or("");
    let fp = fingerprint::MEMBER.pack(&[
        str_part(&w.route),
        str_part(&w.domain),
        str_part(redirect),
        act,
    ]);
    let old = Fingerprint(slot.get(Field::ConfigHash));
    let was_set = !new && old.is_set();
    let same = |cf: Field, v: u64| was_set && slot.get(cf) == v;
    let lbfactor = u64::from(w.lbfactor.max(1));
    let distance = u64::from(w.distance);
    merge(
        slot,
        same(Field::ConfiguredActivation, act),
        Field::Activation,
        act,
    );
    merge(
        slot,
        same(Field::ConfiguredLbFactor, lbfactor),
        Field::LbFactor,
        lbfactor,
    );
    merge(
        slot,
        same(Field::ConfiguredDistance, distance),
        Field::Distance,
        distance,
    );
    for (i, f, v) in [
        (fingerprint::M_ROUTE, StrField::Route, w.route.as_str()),
        (fingerprint::M_DOMAIN, StrField::Domain, w.domain.as_str()),
        (fingerprint::M_REDIRECT, StrField::Redirect, redirect),
    ] {
        if !was_set || !fingerprint::MEMBER.same(old, fp, i) {
            slot.set_string(f, v)?;
        }
    }
    slot.set(Field::ConfiguredActivation, act);
    slot.set(Field::ConfiguredLbFactor, lbfactor);
    slot.set(Field::ConfiguredDistance, distance);
    slot.set(Field::ConfigHash, fp.0);
    if new {
        slot.set(Field::State, u64::from(MemberState::Idle.code()));
        slot.set(Field::StateSince, now);
        slot.set(Field::LastReset, now);
    }
    Ok(())
}
