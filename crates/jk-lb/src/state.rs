//! Member states and activations (reference §5.1) and the status worker's rating (§6.7).

use std::fmt;

use jk_config::Activation;

/// Runtime state of an lb member, with mod_jk's `JK_LB_STATE_*` codes (stored in shm).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// Initial, or OK but unused since the previous global maintenance.
    Idle = 0,
    /// The last request succeeded.
    Ok = 1,
    /// ERROR for longer than recover_time: the next request is a trial.
    Recover = 2,
    /// Forced recovery: no other member was usable.
    Force = 3,
    /// No free connection, or busy_limit reached.
    Busy = 4,
    /// Failed.
    Error = 5,
    /// A trial request runs on a formerly RECOVER member.
    Probe = 6,
}

impl MemberState {
    /// The code stored in shared memory.
    pub fn code(self) -> u64 {
        self as u64
    }

    /// The state of a shm code; unknown codes read as IDLE (mod_jk's default state).
    pub fn from_code(code: u64) -> MemberState {
        match code {
            1 => MemberState::Ok,
            2 => MemberState::Recover,
            3 => MemberState::Force,
            4 => MemberState::Busy,
            5 => MemberState::Error,
            6 => MemberState::Probe,
            _ => MemberState::Idle,
        }
    }

    /// mod_jk's status text (`jk_lb_get_state`), also the `JK_LB_*_STATE` note.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberState::Idle => "OK/IDLE",
            MemberState::Ok => "OK",
            MemberState::Recover => "ERR/REC",
            MemberState::Force => "ERR/FRC",
            MemberState::Busy => "OK/BUSY",
            MemberState::Error => "ERR",
            MemberState::Probe => "ERR/PRB",
        }
    }

    /// Whether the state allows requests at all (`JK_WORKER_USABLE` without activation).
    pub fn is_usable(self) -> bool {
        matches!(
            self,
            MemberState::Idle | MemberState::Ok | MemberState::Recover | MemberState::Force
        )
    }
}

impl fmt::Display for MemberState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// mod_jk's `JK_LB_ACTIVATION_*` code.
pub fn activation_code(a: Activation) -> u64 {
    match a {
        Activation::Active => 0,
        Activation::Disabled => 1,
        Activation::Stopped => 2,
    }
}

/// The activation of a shm code; unknown codes read as Active (mod_jk's default).
pub fn activation_from_code(code: u64) -> Activation {
    match code {
        1 => Activation::Disabled,
        2 => Activation::Stopped,
        _ => Activation::Active,
    }
}

/// Usable for a request without (matching) session: `JK_WORKER_USABLE`.
pub(crate) fn usable(s: MemberState, a: Activation) -> bool {
    s.is_usable() && a == Activation::Active
}

/// Usable for a request whose session names this member: `JK_WORKER_USABLE_STICKY`.
pub(crate) fn usable_sticky(s: MemberState, a: Activation) -> bool {
    s.is_usable() && a != Activation::Stopped
}

/// The status worker's summary of a member (§6.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rating {
    Good,
    Degraded,
    Bad,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Good => "good",
            Rating::Degraded => "degraded",
            Rating::Bad => "bad",
        }
    }
}

/// Default `good` entries of a status worker.
pub const DEFAULT_GOOD: &[&str] = &["a.o", "a.n", "a.b", "a.r"];
/// Default `bad` entries of a status worker.
pub const DEFAULT_BAD: &[&str] = &["s", "e"];

// jk_status.c's JK_STATUS_MASK_*: one byte per activation, one bit per state in each byte.
const MASK_ACTIVE: u32 = 0x0000_00FF;
const MASK_DISABLED: u32 = 0x0000_FF00;
const MASK_STOPPED: u32 = 0x00FF_0000;
const MASK_OK: u32 = 0x0101_0101;
const MASK_IDLE: u32 = 0x0202_0202;
const MASK_BUSY: u32 = 0x0404_0404;
const MASK_RECOVER: u32 = 0x0808_0808;
const MASK_ERROR: u32 = 0x1010_1010;

fn letter_mask(c: char) -> Option<u32> {
    Some(match c.to_ascii_lowercase() {
        'a' => MASK_ACTIVE,
        'd' => MASK_DISABLED,
        's' => MASK_STOPPED,
        'o' => MASK_OK,
        'i' | 'n' => MASK_IDLE,
        'b' => MASK_BUSY,
        'r' => MASK_RECOVER,
        'e' => MASK_ERROR,
        _ => return None,
    })
}

/// The mask of one `good`/`bad` entry: one letter, or `x.y` (both must match).
fn entry_mask(entry: &str) -> u32 {
    entry
        .trim()
        .split('.')
        .filter_map(|p| p.chars().next().and_then(letter_mask))
        .fold(u32::MAX, |m, l| m & l)
}

fn member_mask(a: Activation, s: MemberState) -> u32 {
    let act = match a {
        Activation::Active => MASK_ACTIVE,
        Activation::Disabled => MASK_DISABLED,
        Activation::Stopped => MASK_STOPPED,
    };
    let st = match s {
        MemberState::Ok => MASK_OK,
        MemberState::Idle => MASK_IDLE,
        MemberState::Busy => MASK_BUSY,
        // PROBE and FORCE count as recovering.
        MemberState::Recover | MemberState::Force | MemberState::Probe => MASK_RECOVER,
        MemberState::Error => MASK_ERROR,
    };
    act & st
}

/// Rates a member: bad if any `bad` entry matches, else good if any `good` entry matches, else
/// degraded (jk_status.c `status_rate`).
pub fn rating<S: AsRef<str>>(a: Activation, s: MemberState, good: &[S], bad: &[S]) -> Rating {
    let m = member_mask(a, s);
    let any = |list: &[S]| list.iter().any(|e| entry_mask(e.as_ref()) & m != 0);
    if any(bad) {
        Rating::Bad
    } else if any(good) {
        Rating::Good
    } else {
        Rating::Degraded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_codes_and_texts_are_mod_jks() {
        let all = [
            (MemberState::Idle, 0, "OK/IDLE"),
            (MemberState::Ok, 1, "OK"),
            (MemberState::Recover, 2, "ERR/REC"),
            (MemberState::Force, 3, "ERR/FRC"),
            (MemberState::Busy, 4, "OK/BUSY"),
            (MemberState::Error, 5, "ERR"),
            (MemberState::Probe, 6, "ERR/PRB"),
        ];
        for (s, code, text) in all {
            assert_eq!(s.code(), code);
            assert_eq!(MemberState::from_code(code), s);
            assert_eq!(s.to_string(), text);
        }
        for (a, code, text) in [
            (Activation::Active, 0, "ACT"),
            (Activation::Disabled, 1, "DIS"),
            (Activation::Stopped, 2, "STP"),
        ] {
            assert_eq!(activation_code(a), code);
            assert_eq!(activation_from_code(code), a);
            assert_eq!(a.as_str(), text);
        }
    }

    #[test]
    fn usability_table_of_5_1() {
        use Activation::*;
        for s in [
            MemberState::Idle,
            MemberState::Ok,
            MemberState::Recover,
            MemberState::Force,
        ] {
            assert!(usable(s, Active) && usable_sticky(s, Active));
            assert!(!usable(s, Disabled) && usable_sticky(s, Disabled));
            assert!(!usable(s, Stopped) && !usable_sticky(s, Stopped));
        }
        for s in [MemberState::Busy, MemberState::Error, MemberState::Probe] {
            assert!(!usable(s, Active) && !usable_sticky(s, Active));
        }
    }

    #[test]
    fn default_rating_is_good_for_active_bad_for_stopped_or_error_else_degraded() {
        let r = |a, s| rating(a, s, DEFAULT_GOOD, DEFAULT_BAD);
        assert_eq!(r(Activation::Active, MemberState::Ok), Rating::Good);
        assert_eq!(r(Activation::Active, MemberState::Idle), Rating::Good);
        assert_eq!(r(Activation::Active, MemberState::Busy), Rating::Good);
        assert_eq!(r(Activation::Active, MemberState::Probe), Rating::Good);
        assert_eq!(r(Activation::Active, MemberState::Error), Rating::Bad);
        assert_eq!(r(Activation::Stopped, MemberState::Ok), Rating::Bad);
        assert_eq!(r(Activation::Disabled, MemberState::Ok), Rating::Degraded);
        assert_eq!(r(Activation::Disabled, MemberState::Error), Rating::Bad);
        // Custom lists: disabled counts as good, busy as bad.
        let good = ["d", "a.o"];
        let bad = ["b"];
        assert_eq!(
            rating(Activation::Disabled, MemberState::Idle, &good, &bad),
            Rating::Good
        );
        assert_eq!(
            rating(Activation::Active, MemberState::Busy, &good, &bad),
            Rating::Bad
        );
        assert_eq!(
            rating(Activation::Active, MemberState::Idle, &good, &bad),
            Rating::Degraded
        );
    }
}
