//! Rolling restarts no user notices (beyond mod_jk): restart maintenance, readiness probes,
//! slow start, holding sticky requests for a member that is coming back, and the drain
//! signal (in-flight requests, last sticky request, recent distinct sessions).
//!
//! # Flags and states
//!
//! Two bits of the member's `Flags` word gate it independently of its [`MemberState`]:
//!
//! * **restarting** ([`Balancer::set_restarting`]): no new requests at all; sticky requests
//!   for it are held (hold on) or fail over (hold off); requests in flight finish.
//! * **awaiting readiness** ("not ready"): set together with restarting, and when a member
//!   enters ERROR while hold is on. It keeps the member out of rotation until
//!   `ready_probes` consecutive good probes arrive through [`Balancer::probe_result`] while
//!   it is not restarting (probes during the restart are counted and shown, but clearing
//!   restarting starts the count again, so the member only returns after a restarted
//!   backend answered N times). Maintenance does not move such a member from ERROR to
//!   RECOVER (no trial with a user request); `cmd=recover`, `cmd=reset` and forced recovery
//!   (every member down) clear it, as the operator's or mod_jk's last resort.
//!
//! Members needing readiness are probed on the fast path: [`Balancer::fast_probe_targets`],
//! called often by every child's watchdog, hands out each due member to exactly one caller
//! per `probe_interval_ms` (a compare-and-swap of the `ProbeLease` timestamp).
//!
//! # Shared-memory fields
//!
//! member slot: `Flags` (bit 0 restarting, bit 1 awaiting readiness), `GoodProbes`
//! (consecutive good probes), `ProbeLease` (ms of the last claimed probe), `ReturnedAt`
//! (unix time of the last return, for slow start), `LastStickyTime`, `SessionWindow` and the
//! 32 `SessionBits` words (two 1024-bit linear-counting bitmaps, current and previous
//! session window).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jk_config::{LbMethod, MemberState};
use jk_shm::{Field, Slot, SESSION_BITMAP_WORDS};

use crate::balancer::Balancer;
use crate::state::usable_sticky;

/// `Flags` bit: the member is being restarted (maintenance).
pub(crate) const FLAG_RESTARTING: u64 = 1;
/// `Flags` bit: the member returns only after `ready_probes` consecutive good probes.
pub(crate) const FLAG_NOT_READY: u64 = 2;

const BITMAP_BITS: u64 = (SESSION_BITMAP_WORDS * 64) as u64;

/// Readiness settings of one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberReadiness {
    /// Consecutive good probes a member that was down needs to return (default 2; 0 counts
    /// as 1).
    pub ready_probes: u32,
    /// Path of an HTTP health check the glue GETs over AJP instead of (or after) a CPing;
    /// None: the CPing/CPong probe alone.
    pub health_url: Option<String>,
    /// After returning, the member's share ramps up linearly over this many seconds
    /// (0 = at once).
    pub slow_start_s: u32,
}

impl Default for MemberReadiness {
    fn default() -> MemberReadiness {
        MemberReadiness {
            ready_probes: 2,
            health_url: None,
            slow_start_s: 0,
        }
    }
}

/// The rolling-restart settings of an lb (from workers.properties), given to
/// [`Balancer::with_rolling`]. They are per process (every child reads the same
/// configuration); the states they act on are in shared memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollingSettings {
    /// How long a request whose session names a restarting or down member waits for it
    /// (ms); 0 = off: fail over at once, as mod_jk.
    pub hold_timeout_ms: u64,
    /// Requests one httpd child holds at most (the glue counts them); 0 = none is held.
    pub hold_max: u32,
    /// A member needing readiness is probed at most once per this many ms across all
    /// children (default 500).
    pub probe_interval_ms: u64,
    /// Length of a recent-sessions window in seconds (default 60): the estimate covers the
    /// current and the previous window.
    pub session_window_s: u64,
    /// Readiness settings of members not named in `members`.
    pub member_defaults: MemberReadiness,
    /// Per-member readiness settings, by member (worker) name.
    pub members: BTreeMap<String, MemberReadiness>,
}

impl Default for RollingSettings {
    fn default() -> RollingSettings {
        RollingSettings {
            hold_timeout_ms: 0,
            hold_max: 100,
            probe_interval_ms: 500,
            session_window_s: 60,
            member_defaults: MemberReadiness::default(),
            members: BTreeMap::new(),
        }
    }
}

impl RollingSettings {
    /// The settings workers.properties gives lb `lb` and its `members`. `hold_max` not set
    /// (0) means half of an httpd child's worker threads (`threads_per_child`), at least 1:
    /// held requests never take all of a child's threads.
    pub fn from_config(
        lb: &jk_config::LbWorker,
        members: &[(String, &jk_config::AjpWorker)],
        threads_per_child: u32,
    ) -> RollingSettings {
        let hold_max = if lb.hold_max > 0 {
            lb.hold_max
        } else {
            (threads_per_child / 2).max(1)
        };
        RollingSettings {
            hold_timeout_ms: u64::from(lb.hold_timeout_ms),
            hold_max,
            probe_interval_ms: u64::from(lb.probe_interval_ms),
            session_window_s: u64::from(lb.session_window_s),
            members: members
                .iter()
                .map(|(name, w)| {
                    (
                        name.clone(),
                        MemberReadiness {
                            ready_probes: w.ready_probes,
                            health_url: w.health_url.clone(),
                            slow_start_s: w.slow_start_s,
                        },
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Whether sticky requests are held for a member that is coming back.
    pub fn hold_enabled(&self) -> bool {
        self.hold_timeout_ms > 0 && self.hold_max > 0
    }
}

fn mix(mut x: u64) -> u64 {
    // splitmix64's finaliser.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn session_bit(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in id.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h) % BITMAP_BITS
}

fn bitmap(slot: Slot<'static>, window: u64) -> &'static [std::sync::atomic::AtomicU64] {
    let all = slot.atomics(Field::SessionBits, 2 * SESSION_BITMAP_WORDS);
    let half = usize::from(window % 2 == 1) * SESSION_BITMAP_WORDS;
    &all[half..half + SESSION_BITMAP_WORDS]
}

/// Linear counting: `m · ln(m / zero bits)`.
fn linear_count(ones: u64) -> u64 {
    let m = BITMAP_BITS as f64;
    let zeros = (BITMAP_BITS - ones.min(BITMAP_BITS)).max(1) as f64;
    (m * (m / zeros).ln()).round() as u64
}

/// How often a member with requests held for it is probed (by the held requests themselves),
/// unless probe_interval is shorter: a held request goes out within about ready_probes times
/// this after its member answers again.
pub const HELD_PROBE_MS: u64 = 50;

impl Balancer {
    /// Sets the rolling-restart settings (hold, readiness, slow start, probe cadence,
    /// session window). Without it: hold off, 2 ready probes, no slow start, 500 ms, 60 s.
    pub fn with_rolling(mut self, settings: RollingSettings) -> Balancer {
        self.readiness = self
            .members
            .iter()
            .map(|m| {
                settings
                    .members
                    .get(&m.name)
                    .unwrap_or(&settings.member_defaults)
                    .clone()
            })
            .collect();
        self.rolling = settings;
        self
    }

    /// The rolling-restart settings.
    pub fn rolling(&self) -> &RollingSettings {
        &self.rolling
    }

    /// The readiness settings of member `i`.
    pub fn readiness(&self, i: usize) -> Option<&MemberReadiness> {
        self.readiness.get(i)
    }

    /// The health-check path of member `i` (the glue GETs it over AJP as a probe).
    pub fn health_url(&self, i: usize) -> Option<&str> {
        self.readiness.get(i)?.health_url.as_deref()
    }

    /// How long a held request waits at most; None when hold is off.
    pub fn hold_timeout(&self) -> Option<Duration> {
        self.rolling
            .hold_enabled()
            .then(|| Duration::from_millis(self.rolling.hold_timeout_ms))
    }

    /// Requests one httpd child may hold at once (the glue enforces it).
    pub fn hold_max(&self) -> u32 {
        self.rolling.hold_max
    }

    /// Counts a request held for member `i` (shown as `held` in its snapshot) until the
    /// guard is dropped.
    pub fn hold_guard(&self, i: usize) -> HoldGuard<'_> {
        if let Some(m) = self.members.get(i) {
            m.held.busy_inc(self.child());
        }
        HoldGuard { bal: self, i }
    }

    /// Member `i`'s flags; none while its slot is not trusted or when bits are set that no
    /// version writes (an overwritten word must not keep every member out of rotation).
    pub(crate) fn flags(&self, i: usize) -> u64 {
        let f = self.slot(i).get(Field::Flags);
        if f & !(FLAG_RESTARTING | FLAG_NOT_READY | crate::membership::MEMBERSHIP_FLAGS) != 0
            || !self.member_trusted(i)
        {
            0
        } else {
            f
        }
    }

    /// Whether member `i` is being restarted.
    pub fn is_restarting(&self, i: usize) -> bool {
        self.members.get(i).is_some() && self.flags(i) & FLAG_RESTARTING != 0
    }

    /// Whether member `i` waits for readiness probes before it returns to rotation.
    pub fn awaiting_readiness(&self, i: usize) -> bool {
        self.members.get(i).is_some() && self.flags(i) & FLAG_NOT_READY != 0
    }

    /// Restarting or awaiting readiness: out of rotation whatever its state.
    pub(crate) fn gated(&self, i: usize) -> bool {
        self.flags(i) & (FLAG_RESTARTING | FLAG_NOT_READY | crate::membership::FLAG_STANDBY) != 0
    }

    /// Whether a (trusted) member with this `Flags` word is gated (see [`Balancer::flags`]
    /// for words with unknown bits).
    pub(crate) fn gate_bits(&self, f: u64) -> bool {
        f & !(FLAG_RESTARTING | FLAG_NOT_READY | crate::membership::MEMBERSHIP_FLAGS) == 0
            && f & (FLAG_RESTARTING | FLAG_NOT_READY | crate::membership::FLAG_STANDBY) != 0
    }

    fn set_flag(&self, i: usize, bit: u64, on: bool) {
        let a = self.slot(i).atomic(Field::Flags);
        let had = if on {
            a.fetch_or(bit, Ordering::AcqRel)
        } else {
            a.fetch_and(!bit, Ordering::AcqRel)
        };
        if (had & bit != 0) != on {
            self.touch();
        }
    }

    /// Clears the readiness gate (recover/reset commands, forced recovery).
    pub(crate) fn clear_not_ready(&self, i: usize) {
        self.set_flag(i, FLAG_NOT_READY, false);
    }

    /// Called when member `i` enters ERROR: with hold on it then needs readiness probes.
    pub(crate) fn entered_error(&self, i: usize) {
        if self.rolling.hold_enabled() {
            let had = self
                .slot(i)
                .atomic(Field::Flags)
                .fetch_or(FLAG_NOT_READY, Ordering::AcqRel);
            if had & FLAG_NOT_READY == 0 {
                self.slot(i).set(Field::GoodProbes, 0);
                self.touch();
            }
        }
    }

    /// Restart maintenance of member `i`. `true`: the member gets no new requests, sticky
    /// requests for it are held (hold on) or fail over, requests in flight finish, and it
    /// awaits readiness. `false`: the restart is over; the member returns after
    /// `ready_probes` consecutive good probes from now on.
    pub fn set_restarting(&self, i: usize, on: bool) -> Result<(), String> {
        let slot = self
            .members
            .get(i)
            .map(|m| m.slot)
            .ok_or_else(|| format!("lb worker '{}' has no member #{i}", self.name))?;
        if on {
            slot.atomic(Field::Flags)
                .fetch_or(FLAG_RESTARTING | FLAG_NOT_READY, Ordering::AcqRel);
        } else {
            slot.atomic(Field::Flags)
                .fetch_and(!FLAG_RESTARTING, Ordering::AcqRel);
        }
        slot.set(Field::GoodProbes, 0);
        // Probe soon: a fresh lease.
        slot.set(Field::ProbeLease, 0);
        self.region.generation().fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Whether member `i` takes sticky requests again (a held request may go on): not
    /// restarting, not awaiting readiness, and usable for its session (state and activation).
    pub fn is_ready(&self, i: usize) -> bool {
        self.members.get(i).is_some()
            && !self.gated(i)
            && usable_sticky(self.state(i), self.activation(i))
    }

    /// Down for the purpose of holding: gated, or in ERROR/RECOVER/PROBE.
    pub(crate) fn down_for_hold(&self, i: usize) -> bool {
        self.gated(i)
            || matches!(
                self.state(i),
                MemberState::Error | MemberState::Recover | MemberState::Probe
            )
    }

    /// Members the watchdog should probe now (fast path, readiness): restarting or awaiting
    /// readiness, and whose probe lease is due. Each returned member's lease is claimed by
    /// this caller: across all children a member is handed out once per
    /// `probe_interval_ms`. `now_ms` is wall-clock milliseconds (any monotonic-enough ms
    /// clock shared by the children). Report each result with [`Balancer::probe_result`].
    pub fn fast_probe_targets(&self, now_ms: u64) -> Vec<usize> {
        let interval = self.rolling.probe_interval_ms.max(1);
        (0..self.members.len())
            .filter(|&i| self.gated(i))
            .filter(|&i| self.claim_probe_lease(i, now_ms, interval))
            .collect()
    }

    /// For a request held for member `i`: claims the member's probe lease when the last
    /// probe is at least `HELD_PROBE_MS` (or probe_interval, if shorter) old, so the held
    /// request itself can probe and release itself as soon as the member answers, instead of
    /// waiting for the prober's next round. True when the caller should probe now (report
    /// with [`Balancer::probe_result`]); one caller per interval across all children.
    pub fn claim_held_probe(&self, i: usize, now_ms: u64) -> bool {
        i < self.members.len()
            && self.gated(i)
            && self.claim_probe_lease(
                i,
                now_ms,
                self.rolling.probe_interval_ms.clamp(1, HELD_PROBE_MS),
            )
    }

    fn claim_probe_lease(&self, i: usize, now_ms: u64, interval: u64) -> bool {
        let lease = self.slot(i).atomic(Field::ProbeLease);
        let last = lease.load(Ordering::Acquire);
        // A clock that went back by an interval or more also makes it due.
        (last == 0 || now_ms.abs_diff(last) >= interval)
            && lease
                .compare_exchange(last, now_ms.max(1), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// A good probe while awaiting readiness: counts, and brings the member back at the
    /// `ready_probes`-th consecutive one unless it is restarting. Returns whether the probe
    /// was handled here (the member is gated).
    pub(crate) fn readiness_probe(&self, i: usize, ok: bool) -> bool {
        let flags = self.flags(i);
        if flags & (FLAG_RESTARTING | FLAG_NOT_READY) == 0 {
            return false;
        }
        let slot = self.slot(i);
        if !ok {
            slot.set(Field::GoodProbes, 0);
            let st = self.state(i);
            if matches!(
                st,
                MemberState::Error | MemberState::Recover | MemberState::Force
            ) {
                let now = self.now();
                let _ = slot.atomic(Field::FirstErrorTime).compare_exchange(
                    0,
                    now,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                slot.set(Field::LastErrorTime, now);
                self.set_state(i, MemberState::Error);
            }
            return true;
        }
        let seen = slot.add(Field::GoodProbes, 1).saturating_add(1);
        if flags & FLAG_RESTARTING != 0 {
            return true;
        }
        let need = self.readiness.get(i).map_or(2, |r| r.ready_probes.max(1));
        if seen >= u64::from(need) {
            self.bring_back(i);
            self.clear_not_ready(i);
            self.joined(i);
        }
        true
    }

    /// Back into rotation: out of an error state to OK with cleared error times, lb_value
    /// at the current maximum (not flooded), slow start from now.
    pub(crate) fn bring_back(&self, i: usize) {
        let slot = self.slot(i);
        if self.method() != LbMethod::Busyness {
            slot.set(Field::LbValue, self.max_lb_value());
        }
        slot.set(Field::ReplyTimeouts, 0);
        slot.set(Field::FirstErrorTime, 0);
        slot.set(Field::LastErrorTime, 0);
        if !matches!(
            self.state(i),
            MemberState::Ok | MemberState::Idle | MemberState::Busy
        ) {
            self.set_state(i, MemberState::Ok);
        }
        slot.set(Field::ReturnedAt, self.now());
    }

    /// The lb_value charge of a request (or traffic) to member `i`: `base`, multiplied by
    /// `slow_start_s / elapsed` while the member is in its slow start, so its share of new
    /// requests grows linearly from 0 to its full share over the window.
    pub(crate) fn slow_start_charge(&self, i: usize, base: u64) -> u64 {
        let window = self
            .readiness
            .get(i)
            .map_or(0, |r| u64::from(r.slow_start_s));
        let returned = self.slot(i).get(Field::ReturnedAt);
        if window == 0 || returned == 0 {
            return base;
        }
        let elapsed = self.now().saturating_sub(returned);
        if elapsed >= window {
            return base;
        }
        base.saturating_mul(window) / elapsed.max(1)
    }

    /// Records the session id of a sticky request to member `i`.
    pub(crate) fn record_session(&self, i: usize, id: &str) {
        let slot = self.slot(i);
        let w = self.rolling.session_window_s.max(1);
        let mut window = self.now() / w;
        let cur = slot.atomic(Field::SessionWindow);
        let stored = cur.load(Ordering::Acquire);
        if stored > window + 1 {
            // The clock went back: keep filling the newest window.
            window = stored - 1;
        } else if stored < window + 1
            && cur
                .compare_exchange(stored, window + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            // This caller rotates: the new current window starts empty; the previous one
            // stays only if it is the window just before.
            for word in bitmap(slot, window) {
                word.store(0, Ordering::Release);
            }
            if stored == 0 || stored < window {
                for word in bitmap(slot, window + 1) {
                    word.store(0, Ordering::Release);
                }
            }
        }
        let bit = session_bit(id);
        bitmap(slot, window)[(bit / 64) as usize].fetch_or(1 << (bit % 64), Ordering::AcqRel);
    }

    /// Estimated distinct sessions of member `i` in the current and previous window.
    pub(crate) fn recent_sessions(&self, i: usize) -> u64 {
        let slot = self.slot(i);
        let stored = slot.get(Field::SessionWindow);
        if stored == 0 {
            return 0;
        }
        let newest = stored - 1;
        let window = (self.now() / self.rolling.session_window_s.max(1)).max(newest);
        let ones_of = |w: u64| -> Vec<u64> {
            bitmap(slot, w)
                .iter()
                .map(|x| x.load(Ordering::Acquire))
                .collect()
        };
        let union: Vec<u64> = if window == newest {
            ones_of(newest)
                .into_iter()
                .zip(ones_of(newest + 1))
                .map(|(a, b)| a | b)
                .collect()
        } else if window == newest + 1 {
            ones_of(newest)
        } else {
            return 0;
        };
        linear_count(union.iter().map(|w| u64::from(w.count_ones())).sum())
    }

    /// The drain criterion of `jkctl drain --wait`: member `i` has no request in flight (in
    /// any child) and no request was routed to it by its session for `quiet_s` seconds.
    /// Sessions may still exist in Tomcat, but none of their users was active for that long.
    pub fn idle(&self, i: usize, quiet_s: u64) -> bool {
        let Some(m) = self.members.get(i) else {
            return false;
        };
        m.slot.busy() == 0
            && self.now().saturating_sub(m.slot.get(Field::LastStickyTime)) >= quiet_s
    }
}

/// A request held for a member: counted in the member's `held` while alive (per child, so a
/// child that dies while holding is reaped with its other counters).
pub struct HoldGuard<'a> {
    bal: &'a Balancer,
    i: usize,
}

impl Drop for HoldGuard<'_> {
    fn drop(&mut self) {
        if let Some(m) = self.bal.members.get(self.i) {
            m.held.busy_dec(self.bal.child());
        }
    }
}
