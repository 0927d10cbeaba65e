//! The decisions a load balancer request makes about a failed try: how the balancer counts
//! it (the [`failure`](crate::failure) table, and hold), and whether the request is answered with the error, waits for the same member (hold),
//! or goes to the next member. Also the per-request reply timeout.

use std::time::Duration;

use jk_ajp_client::ErrorKind;
use jk_lb::Outcome;

use crate::failure::disposition;

/// What happened on the try that failed.
#[derive(Clone, Copy, Debug)]
pub struct FailedTry {
    pub kind: ErrorKind,
    /// The client may get an answer from another try (nothing irreversible happened).
    pub recoverable: bool,
    /// The backend provably did not process the request.
    pub before_reply: bool,
    /// The request body can still be sent again.
    pub body_replayable: bool,
    /// Nothing of the failed answer reached httpd's output yet.
    pub output_untouched: bool,
    /// The member was chosen by the request's session.
    pub sticky: bool,
    /// This request already waited for its member once.
    pub already_held: bool,
    /// The balancer holds requests for restarting members (hold_timeout set).
    pub hold_enabled: bool,
}

/// The next step after a failed try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Answer the client with this failure (no other member is tried).
    Answer,
    /// The session's own member failed before processing the request: wait until it is
    /// ready and send the request to it again (mod_jk-rs safe replay).
    HoldForSameMember,
    /// Try the next member.
    TryNext,
}

/// How the balancer counts the failed try, and the next step.
pub fn after_failure(t: FailedTry) -> (Outcome, Next) {
    let mut outcome = disposition(t.kind).outcome;
    if t.before_reply && t.hold_enabled {
        // With hold on, a member that refuses connections is restarting or down: it goes to
        // ERROR at once (mod_jk's hard failure), so held requests wait for its readiness
        // probes instead of trying it again right away.
        outcome = Outcome::FailOnStatus { hard: true };
    }
    let replayable = t.recoverable && t.body_replayable && t.output_untouched;
    let next = if matches!(outcome, Outcome::ClientError) || !replayable {
        Next::Answer
    } else if t.before_reply && t.sticky && !t.already_held && t.hold_enabled {
        Next::HoldForSameMember
    } else {
        Next::TryNext
    };
    (outcome, next)
}

/// mod_jk-rs: whether a try's 503 or 404 answer is held back and checked for a stopping
/// Tomcat (`ServiceRequest::check_for_stop`: its application unavailable or unmapped
/// already, then the connection closed; such a try fails like a paused connector's and is
/// held for its member). Only with hold on, and only for the methods that may be sent twice:
/// an application may have processed a POST before answering 503 itself.
pub fn check_for_stop(hold_enabled: bool, is_get: bool, is_head: bool) -> bool {
    hold_enabled && (is_get || is_head)
}

/// The per-request reply timeout: `JK_REPLY_TIMEOUT` (an integer ≥ 0; 0 = wait forever)
/// wins over the mount rule's `reply_timeout` extension (-1 = not set). `None`: the
/// worker's own; `Some(None)`: forever.
pub fn reply_timeout_override(env: Option<&str>, rule_ms: Option<i32>) -> Option<Option<Duration>> {
    let to = |ms: i64| {
        if ms == 0 {
            None
        } else {
            Some(Duration::from_millis(ms as u64))
        }
    };
    if let Some(v) = env.and_then(|v| v.trim().parse::<i64>().ok()) {
        if v >= 0 {
            return Some(to(v));
        }
    }
    rule_ms.filter(|&v| v >= 0).map(|v| to(i64::from(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONNECT: ErrorKind = ErrorKind::Connect;

    fn t(kind: ErrorKind) -> FailedTry {
        FailedTry {
            kind,
            recoverable: true,
            before_reply: matches!(
                kind,
                ErrorKind::Connect | ErrorKind::Send | ErrorKind::BackendPaused
            ),
            body_replayable: true,
            output_untouched: true,
            sticky: true,
            already_held: false,
            hold_enabled: false,
        }
    }

    #[test]
    fn only_gets_and_heads_with_hold_are_checked_for_a_stopping_tomcat() {
        assert!(check_for_stop(true, true, false));
        assert!(check_for_stop(true, false, true));
        assert!(!check_for_stop(true, false, false), "POST and the like");
        assert!(!check_for_stop(false, true, false), "no hold: as mod_jk");
    }

    #[test]
    fn decision_table() {
        let hard = Outcome::FailOnStatus { hard: true };
        let cases: Vec<(&str, FailedTry, Outcome, Next)> = vec![
            (
                "refused, no hold",
                t(CONNECT),
                Outcome::Failed,
                Next::TryNext,
            ),
            (
                "refused, hold, sticky",
                FailedTry {
                    hold_enabled: true,
                    ..t(CONNECT)
                },
                hard,
                Next::HoldForSameMember,
            ),
            (
                "refused, hold, held once already",
                FailedTry {
                    hold_enabled: true,
                    already_held: true,
                    ..t(CONNECT)
                },
                hard,
                Next::TryNext,
            ),
            (
                "refused, hold, no session",
                FailedTry {
                    hold_enabled: true,
                    sticky: false,
                    ..t(CONNECT)
                },
                hard,
                Next::TryNext,
            ),
            (
                "paused connector, hold, sticky",
                FailedTry {
                    hold_enabled: true,
                    ..t(ErrorKind::BackendPaused)
                },
                hard,
                Next::HoldForSameMember,
            ),
            (
                "reply timeout",
                t(ErrorKind::ReplyTimeout),
                Outcome::ReplyTimeout,
                Next::TryNext,
            ),
            (
                "reply timeout, hold: processed maybe, so not held",
                FailedTry {
                    hold_enabled: true,
                    ..t(ErrorKind::ReplyTimeout)
                },
                Outcome::ReplyTimeout,
                Next::TryNext,
            ),
            (
                "soft fail_on_status",
                t(ErrorKind::FailOnStatus { hard: false }),
                Outcome::FailOnStatus { hard: false },
                Next::TryNext,
            ),
            (
                "client went away",
                t(ErrorKind::ClientWrite),
                Outcome::ClientError,
                Next::Answer,
            ),
            (
                "body already streamed",
                FailedTry {
                    body_replayable: false,
                    ..t(CONNECT)
                },
                Outcome::Failed,
                Next::Answer,
            ),
            (
                "part of the answer reached httpd",
                FailedTry {
                    output_untouched: false,
                    ..t(ErrorKind::BackendClosed)
                },
                Outcome::Failed,
                Next::Answer,
            ),
            (
                "not recoverable (recovery_options)",
                FailedTry {
                    recoverable: false,
                    ..t(ErrorKind::ProtocolContent)
                },
                Outcome::Failed,
                Next::Answer,
            ),
            (
                "no free connection",
                t(ErrorKind::NoConnection),
                Outcome::NoConnection,
                Next::TryNext,
            ),
        ];
        for (what, f, outcome, next) in cases {
            assert_eq!(after_failure(f), (outcome, next), "{what}");
        }
    }

    #[test]
    fn reply_timeout_from_the_environment_wins_over_the_rule() {
        let ms = |v| Some(Some(Duration::from_millis(v)));
        assert_eq!(reply_timeout_override(None, None), None);
        assert_eq!(reply_timeout_override(None, Some(-1)), None, "rule not set");
        assert_eq!(reply_timeout_override(None, Some(2500)), ms(2500));
        assert_eq!(
            reply_timeout_override(None, Some(0)),
            Some(None),
            "0 = forever"
        );
        assert_eq!(reply_timeout_override(Some(" 700 "), Some(2500)), ms(700));
        assert_eq!(reply_timeout_override(Some("0"), Some(2500)), Some(None));
        assert_eq!(
            reply_timeout_override(Some("-1"), Some(2500)),
            ms(2500),
            "negative: ignored"
        );
        assert_eq!(
            reply_timeout_override(Some("abc"), None),
            None,
            "not a number: ignored"
        );
    }
}
