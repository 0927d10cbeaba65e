//! When a member counts as idle (drained), ready (back after a restart) and usable.

use crate::doc::{Member, Sticky};
use jk_config::MemberState;

/// The drain criterion, evaluated on one status document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrainCheck {
    /// Requests in progress (`in_flight`, else `busy`); `None` when neither is reported.
    pub in_flight: Option<u64>,
    /// The last sticky request.
    pub sticky: Sticky,
    /// The quiet period asked for, seconds.
    pub quiet: u64,
}

impl DrainCheck {
    /// Evaluates member `m` at the server's time `now`.
    pub fn of(m: &Member, now: u64, quiet: u64) -> DrainCheck {
        DrainCheck {
            in_flight: m.in_flight_or_busy(),
            sticky: m.last_sticky(now),
            quiet,
        }
    }

    /// No request in flight.
    pub fn no_requests(&self) -> bool {
        self.in_flight == Some(0)
    }

    /// No sticky request for `quiet` seconds. A status worker that does not report the
    /// last sticky request cannot hold the drain up (in-flight requests alone decide).
    pub fn sticky_quiet(&self) -> bool {
        match self.sticky {
            Sticky::Unknown | Sticky::Never => true,
            Sticky::Ago(s) => s >= self.quiet,
        }
    }

    /// Idle: no request in flight and no sticky request for `quiet` seconds.
    pub fn idle(&self) -> bool {
        self.no_requests() && self.sticky_quiet()
    }

    /// `3 in flight, last sticky 2 s ago`.
    pub fn describe(&self) -> String {
        let inflight = match self.in_flight {
            Some(n) => format!("{n} in flight"),
            None => "in flight unknown (neither in_flight nor busy reported)".into(),
        };
        let sticky = match self.sticky {
            Sticky::Unknown => "last sticky not reported".into(),
            Sticky::Never => "no sticky request seen".into(),
            Sticky::Ago(s) => format!("last sticky {s} s ago"),
        };
        format!("{inflight}, {sticky}")
    }
}

/// Whether the state text is `OK` or `OK/IDLE`.
pub fn is_ok_state(m: &Member) -> bool {
    matches!(m.state(), Some(MemberState::Ok | MemberState::Idle))
}

/// Neither in restart maintenance nor waiting for readiness probes (as far as reported).
pub fn is_ungated(m: &Member) -> bool {
    m.restarting != Some(true) && m.awaiting_readiness != Some(true)
}

/// Ready after a restart: state `OK` or `OK/IDLE`, not restarting, not awaiting readiness.
pub fn is_ready(m: &Member) -> bool {
    is_ok_state(m) && is_ungated(m)
}

/// `state ERR, awaiting readiness`.
pub fn describe_readiness(m: &Member) -> String {
    let r = match (m.restarting, m.awaiting_readiness) {
        (Some(true), _) => "restarting",
        (_, Some(true)) => "awaiting readiness",
        (_, Some(false)) => "ready",
        (Some(false), None) => "not restarting (readiness not reported)",
        (None, None) => "restarting/readiness not reported",
    };
    format!("state {}, {r}", m.state_text())
}

/// Usable for traffic: activation `ACT`, state `OK`, `OK/IDLE` or `OK/BUSY`, not restarting,
/// not awaiting readiness.
pub fn is_usable(m: &Member) -> bool {
    m.is_active()
        && matches!(
            m.state(),
            Some(MemberState::Ok | MemberState::Idle | MemberState::Busy)
        )
        && is_ungated(m)
}

/// Whether the final state after a restart is acceptable: activation `ACT`, a state that
/// is not `ERR…` (and is reported), not restarting.
pub fn verify_after_restart(m: &Member) -> Result<(), String> {
    let mut bad = Vec::new();
    if !m.is_active() {
        bad.push(format!("activation {} (want ACT)", m.activation_text()));
    }
    if m.state.is_none() || m.is_error_state() {
        bad.push(format!("state {}", m.state_text()));
    }
    if m.restarting == Some(true) {
        bad.push("still restarting".into());
    }
    if m.awaiting_readiness == Some(true) {
        bad.push("still awaiting readiness".into());
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(json: &str) -> Member {
        serde_json::from_str(json).expect("member")
    }

    #[test]
    fn drain_needs_zero_in_flight_and_quiet_sticky() {
        let m = member(r#"{"name":"t","in_flight":3,"last_sticky_time":998}"#);
        let c = DrainCheck::of(&m, 1000, 10);
        assert!(!c.idle());
        assert_eq!(c.describe(), "3 in flight, last sticky 2 s ago");

        let m = member(r#"{"name":"t","in_flight":0,"last_sticky_time":998}"#);
        let c = DrainCheck::of(&m, 1000, 10);
        assert!(c.no_requests() && !c.sticky_quiet() && !c.idle());
        assert!(DrainCheck::of(&m, 1008, 10).idle(), "10 s quiet");
        assert!(!DrainCheck::of(&m, 1007, 10).idle(), "9 s quiet");
        assert!(DrainCheck::of(&m, 1000, 0).idle(), "--quiet 0");
    }

    #[test]
    fn drain_falls_back_to_busy_and_tolerates_missing_sticky() {
        let m = member(r#"{"name":"t","busy":0}"#);
        let c = DrainCheck::of(&m, 1000, 10);
        assert!(c.idle());
        assert_eq!(c.describe(), "0 in flight, last sticky not reported");
        let m = member(r#"{"name":"t","busy":5,"in_flight":0,"last_sticky_time":0}"#);
        let c = DrainCheck::of(&m, 1000, 10);
        assert!(c.idle(), "in_flight wins over busy");
        assert_eq!(c.describe(), "0 in flight, no sticky request seen");
        let m = member(r#"{"name":"t"}"#);
        let c = DrainCheck::of(&m, 1000, 10);
        assert!(!c.idle(), "nothing reported is never idle");
        assert!(c.describe().starts_with("in flight unknown"));
    }

    #[test]
    fn ready_criterion() {
        assert!(is_ready(&member(
            r#"{"name":"t","state":"OK","restarting":false}"#
        )));
        assert!(is_ready(&member(r#"{"name":"t","state":"OK/IDLE"}"#)));
        assert!(!is_ready(&member(
            r#"{"name":"t","state":"OK","restarting":true}"#
        )));
        assert!(!is_ready(&member(
            r#"{"name":"t","state":"ERR","restarting":false}"#
        )));
        assert!(!is_ready(&member(r#"{"name":"t","state":"OK/BUSY"}"#)));
        assert!(!is_ready(&member(r#"{"name":"t"}"#)));
        assert!(!is_ready(&member(
            r#"{"name":"t","state":"OK","restarting":false,"awaiting_readiness":true}"#
        )));
        assert!(is_ready(&member(
            r#"{"name":"t","state":"OK","restarting":false,"awaiting_readiness":false}"#
        )));
        assert_eq!(
            describe_readiness(&member(r#"{"name":"t","state":"ERR","restarting":true}"#)),
            "state ERR, restarting"
        );
        assert_eq!(
            describe_readiness(&member(
                r#"{"name":"t","state":"ERR","restarting":false,"awaiting_readiness":true}"#
            )),
            "state ERR, awaiting readiness"
        );
        assert_eq!(
            describe_readiness(&member(r#"{"name":"t","state":"OK","restarting":false}"#)),
            "state OK, not restarting (readiness not reported)"
        );
    }

    #[test]
    fn usable_criterion() {
        assert!(is_usable(&member(
            r#"{"name":"t","activation":"ACT","state":"OK/IDLE"}"#
        )));
        assert!(is_usable(&member(
            r#"{"name":"t","activation":"ACT","state":"OK/BUSY"}"#
        )));
        assert!(!is_usable(&member(
            r#"{"name":"t","activation":"DIS","state":"OK"}"#
        )));
        assert!(!is_usable(&member(
            r#"{"name":"t","activation":"ACT","state":"ERR/REC"}"#
        )));
        assert!(!is_usable(&member(
            r#"{"name":"t","activation":"ACT","state":"OK","restarting":true}"#
        )));
    }

    #[test]
    fn verify_criterion() {
        assert!(verify_after_restart(&member(
            r#"{"name":"t","activation":"ACT","state":"OK/IDLE","restarting":false}"#
        ))
        .is_ok());
        let e = verify_after_restart(&member(
            r#"{"name":"t","activation":"DIS","state":"ERR","restarting":true,
                "awaiting_readiness":true}"#,
        ))
        .expect_err("bad");
        assert_eq!(
            e,
            "activation DIS (want ACT), state ERR, still restarting, still awaiting readiness"
        );
    }
}
