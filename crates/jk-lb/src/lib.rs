//! The load balancer of mod_jk-rs (worker type `lb`, reference §5): pure logic, no sockets.
//!
//! * [`state`]: the usability rules of §5.1 for jk-config's member states and activations.
//! * [`session`]: session-id extraction from the path parameter and `Cookie` headers (§5.4).
//! * [`Balancer`]: the shared state of one lb in a [`jk_shm::Region`] (so every httpd child
//!   sees the same states, load values and counters), the graceful-restart merge, global
//!   maintenance, watchdog probes and the runtime edits of the status worker.
//! * [`rolling`]: rolling restarts (beyond mod_jk): restart maintenance
//!   ([`Balancer::set_restarting`]), readiness probes ([`Balancer::fast_probe_targets`],
//!   [`Balancer::probe_result`]), slow start, holding sticky requests for a member that is
//!   coming back ([`Attempt::hold_for`]) and the drain signal ([`Balancer::idle`]), set up with
//!   [`Balancer::with_rolling`].
//! * [`Attempt`]: the per-request failover plan of §5.3/§5.6 as an iterator: the glue takes the
//!   next member, forwards the request, and [reports](Attempt::report) the outcome, which
//!   applies the state transitions of §5.5. Failover is "take the next one".
//!
//! ```text
//! let mut attempt = balancer.start(&RequestInfo { uri, cookies, ..Default::default() });
//! if let Some(i) = attempt.hold_for() {
//!     // wait (≤ hold timeout, ≤ hold_max held in this child) until balancer.is_ready(i),
//!     // else attempt.give_up_hold()
//! }
//! while let Some(choice) = attempt.next_member() {
//!     sleep(choice.sleep_before);
//!     let (outcome, status) = forward_to(&choice);
//!     attempt.report(&choice, outcome, status);
//! }
//! let status = attempt.final_status();
//! ```
//!
//! # Member state machine (§5.5)
//!
//! ```text
//!  new slot ─► IDLE ──request ok──► OK ──unused for a maintenance period──► IDLE
//!  OK/IDLE/FORCE ── hard failure (fail_on_status>0, reply timeouts > max, connect failure
//!                   with no other request in flight or escalated) ──► ERROR
//!  OK/IDLE ── local failure ages past error_escalation_time (maintenance) ──► ERROR
//!  ERROR ── last error older than recover_time (maintenance, cmd=recover) ──► RECOVER
//!  ERROR/RECOVER ── good watchdog probe ──► OK          (beyond mod_jk)
//!  RECOVER ── chosen for a request ──► PROBE ── ok ──► OK / fails ──► ERROR
//!  all members ERROR (maintenance) or nothing usable (once per request) ──► FORCE
//!  no free connection / busy_limit ──► BUSY ── a connection is free again ──► OK
//! ```
//!
//! Beyond these states, two flags take a member out of rotation (see [`rolling`]):
//!
//! ```text
//!  any ── set_restarting(true) ──► restarting + awaiting readiness
//!  restarting ── set_restarting(false) ──► awaiting readiness (good-probe count from 0)
//!  ERROR (hold on) ──► awaiting readiness       (maintenance no longer makes it RECOVER)
//!  awaiting readiness ── ready_probes consecutive good probes ──► back (OK, slow start)
//!  awaiting readiness ── cmd=recover, cmd=reset, forced recovery ──► cleared
//! ```
//!
//! # Shared-memory fields used
//!
//! lb slot ([`jk_shm::SlotKind::Lb`], parent `""`): the runtime settings `Retries`,
//! `RetryInterval`, `RecoverTime`, `ErrorEscalationTime`, `MaxReplyTimeouts`, `StickySession`,
//! `StickySessionForce`, `Method`, `Lock`; `Elected` (requests), `MaxBusy` and the per-child
//! busy counters (member tries in flight), `LastReset`, `ConfigHash`, and `LbLastMaintain`
//! (unix time of the last global maintenance of this lb).
//!
//! held slot ([`jk_shm::SlotKind::Held`], one per member, parent = lb name): only its per-child
//! busy counters, the requests held for the member (reaped with a dead child).
//!
//! member slot ([`jk_shm::SlotKind::Member`], parent = lb name): `Activation`, `State`,
//! `StateSince`, `LbFactor`, `LbMult`, `LbValue`, `Distance`, the `Route`/`Domain`/`Redirect`
//! strings, `FirstErrorTime`, `LastErrorTime`, `Elected` (requests sent, mod_jk's `used`),
//! `Sessions`, `Errors`, `ClientErrors`, `ReplyTimeouts`, `MaxBusy`,
//! per-child busy counters, `LastReset`, `GoodProbes`, `LastStickyTime`, `ConfigHash`,
//! `ConfiguredActivation`, `ConfiguredLbFactor`, `ConfiguredDistance`, `ElectedSnapshot`
//! (`Elected` at the previous maintenance, mod_jk's `elected_snapshot`), and for rolling
//! restarts `Flags`, `ProbeLease`, `ReturnedAt`, `SessionWindow`, `SessionBits` (see
//! [`rolling`]).
//!
//! the member's ajp worker slot ([`jk_shm::SlotKind::Ajp`], by member name, parent `""`, shared
//! with the worker's standalone use as mod_jk shares one ajp record per name): the per-child
//! `Read`/`Transferred` AJP byte counters ([`Attempt::count_traffic`]) and `Connected` gauges
//! (kept by the runtime's connection counter), `MaxConnected`, and on a reset `Elected`,
//! `ClientErrors`, `ReplyTimeouts`, `MaxBusy`, `LastReset`.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};

mod attempt;
mod balancer;
mod fingerprint;
pub mod membership;
pub mod rolling;
pub mod session;
pub mod state;

pub use attempt::{Attempt, Choice, Outcome, RequestInfo};
pub use balancer::{
    Balancer, LastNotes, Latency, LbSettings, LbSnapshot, MemberSnapshot, NoteValue, NoteValues,
    Notes, FIRST_NOTE_KEYS, LAST_NOTE_KEYS,
};
pub use jk_config::{Activation, LbLock, LbMethod, MemberState, RuleExtensions};
pub use membership::{Claim, Lifecycle, Origin, RegistryState, RegistryStatus};
pub use rolling::{HoldGuard, MemberReadiness, RollingSettings};
pub use session::{env_flag, session_ids};

/// Wall-clock seconds, injectable so tests control time.
pub trait Clock: Send + Sync {
    /// Unix time in seconds.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct FakeClock(AtomicU64);

impl FakeClock {
    pub fn new(now: u64) -> FakeClock {
        FakeClock(AtomicU64::new(now))
    }

    pub fn set(&self, now: u64) {
        self.0.store(now, Ordering::SeqCst);
    }

    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests;
