//! The load balancer's vocabulary, defined once for the configuration, the balancer, the
//! status worker and `jkctl`: member activation, member state, balancing method and locking,
//! each with mod_jk's numeric codes (kept in shared memory, sent in status forms), its status
//! texts and the words workers.properties and status forms accept.

use std::fmt;

/// The variant a word names: its first letter (any case, after leading blanks) is the first
/// letter of a variant's [`name`](Activation::name), or a digit is a variant's code. mod_jk
/// reads workers.properties values and status worker form values this way.
fn by_first_char<T: Copy>(
    word: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    code: fn(T) -> u8,
) -> Option<T> {
    let first = word.trim_start().chars().next()?.to_ascii_lowercase();
    all.iter().copied().find(|&v| {
        name(v).starts_with(first.to_ascii_uppercase()) || char::from(b'0' + code(v)) == first
    })
}

/// Member activation (reference §5.1): configured with `activation`, changed at run time by
/// the status worker, overridden per request by rule extensions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `ACT`: takes every request.
    #[default]
    Active = 0,
    /// `DIS`: no new sessions, requests of its sessions still served.
    Disabled = 1,
    /// `STP`: no requests at all.
    Stopped = 2,
}

impl Activation {
    /// All activations, in code order.
    pub const ALL: [Activation; 3] = [
        Activation::Active,
        Activation::Disabled,
        Activation::Stopped,
    ];

    /// The short text mod_jk shows (status worker, `JK_LB_ACTIVATION`): `ACT`, `DIS`, `STP`.
    pub fn text(self) -> &'static str {
        match self {
            Activation::Active => "ACT",
            Activation::Disabled => "DIS",
            Activation::Stopped => "STP",
        }
    }

    /// The long name of forms: `Active`, `Disabled`, `Stopped`.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Active => "Active",
            Activation::Disabled => "Disabled",
            Activation::Stopped => "Stopped",
        }
    }

    /// The letter the status page's buttons and `jkctl` send as `vwa`: `A`, `D`, `S`.
    pub fn letter(self) -> &'static str {
        &self.name()[..1]
    }

    /// `a…`/`d…`/`s…` (any case) or `0`/`1`/`2`, as mod_jk reads it.
    pub fn from_word(word: &str) -> Option<Activation> {
        by_first_char(word, &Self::ALL, Self::name, Self::code)
    }

    /// The documented spellings (lower case); other words with the right first letter are
    /// accepted with a warning in workers.properties.
    pub fn spellings(self) -> &'static [&'static str] {
        match self {
            Activation::Active => &["active"],
            Activation::Disabled => &["disabled"],
            Activation::Stopped => &["stopped"],
        }
    }
}

/// Runtime state of an lb member (and of a standalone ajp worker: idle, OK or error), with
/// mod_jk's `JK_LB_STATE_*` codes, stored in shared memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MemberState {
    /// `OK/IDLE`: initial, or OK but unused since the previous global maintenance.
    #[default]
    Idle = 0,
    /// `OK`: the last request succeeded.
    Ok = 1,
    /// `ERR/REC`: ERROR for longer than recover_time: the next request is a trial.
    Recover = 2,
    /// `ERR/FRC`: forced recovery, no other member was usable.
    Force = 3,
    /// `OK/BUSY`: no free connection, or busy_limit reached.
    Busy = 4,
    /// `ERR`: failed.
    Error = 5,
    /// `ERR/PRB`: a trial request runs on a formerly RECOVER member.
    Probe = 6,
}

impl MemberState {
    /// All states, in code order.
    pub const ALL: [MemberState; 7] = [
        MemberState::Idle,
        MemberState::Ok,
        MemberState::Recover,
        MemberState::Force,
        MemberState::Busy,
        MemberState::Error,
        MemberState::Probe,
    ];

    /// mod_jk's status text (`jk_lb_get_state`), also the `JK_LB_*_STATE` notes.
    pub fn text(self) -> &'static str {
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

    /// Whether the status text starts with `ERR`.
    pub fn is_error(self) -> bool {
        self.text().starts_with("ERR")
    }
}

/// Balancing method of an lb worker (`method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LbMethod {
    /// `Request`.
    #[default]
    Request = 0,
    /// `Traffic`.
    Traffic = 1,
    /// `Busyness`.
    Busyness = 2,
    /// `Sessions`.
    Sessions = 3,
    /// `Next`.
    Next = 4,
}

impl LbMethod {
    /// All methods, in code order.
    pub const ALL: [LbMethod; 5] = [
        LbMethod::Request,
        LbMethod::Traffic,
        LbMethod::Busyness,
        LbMethod::Sessions,
        LbMethod::Next,
    ];

    /// The status text, also the name.
    pub fn text(self) -> &'static str {
        match self {
            LbMethod::Request => "Request",
            LbMethod::Traffic => "Traffic",
            LbMethod::Busyness => "Busyness",
            LbMethod::Sessions => "Sessions",
            LbMethod::Next => "Next",
        }
    }

    /// `r…`/`t…`/`b…`/`s…`/`n…` (any case) or `0`–`4`, as mod_jk reads it.
    pub fn from_word(word: &str) -> Option<LbMethod> {
        by_first_char(word, &Self::ALL, Self::text, Self::code)
    }

    /// The documented spellings (lower case).
    pub fn spellings(self) -> &'static [&'static str] {
        match self {
            LbMethod::Request => &["request", "requests"],
            LbMethod::Traffic => &["traffic"],
            LbMethod::Busyness => &["busyness"],
            LbMethod::Sessions => &["session", "sessions"],
            LbMethod::Next => &["next"],
        }
    }
}

/// Locking of an lb worker's shared state (`lock`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LbLock {
    /// `Optimistic`.
    #[default]
    Optimistic = 0,
    /// `Pessimistic`.
    Pessimistic = 1,
}

impl LbLock {
    /// Both locks, in code order.
    pub const ALL: [LbLock; 2] = [LbLock::Optimistic, LbLock::Pessimistic];

    /// The status text, also the name.
    pub fn text(self) -> &'static str {
        match self {
            LbLock::Optimistic => "Optimistic",
            LbLock::Pessimistic => "Pessimistic",
        }
    }

    /// `o…`/`p…` (any case) or `0`/`1`, as mod_jk reads it.
    pub fn from_word(word: &str) -> Option<LbLock> {
        by_first_char(word, &Self::ALL, Self::text, Self::code)
    }

    /// The documented spellings (lower case).
    pub fn spellings(self) -> &'static [&'static str] {
        match self {
            LbLock::Optimistic => &["optimistic"],
            LbLock::Pessimistic => &["pessimistic"],
        }
    }
}

/// What the four types have alike: mod_jk's numeric code (the discriminant), the inverse of
/// the code and of the status text, and `Display` as the status text.
macro_rules! coded {
    ($($t:ident),+) => {$(
        impl $t {
            /// mod_jk's numeric code (shared memory, status form value).
            pub fn code(self) -> u8 {
                self as u8
            }

            /// The value of a code; `None` for an unknown one.
            pub fn from_code(code: u64) -> Option<$t> {
                Self::ALL.into_iter().find(|v| u64::from(v.code()) == code)
            }

            /// The value a status text names (what `jkctl` reads back); `None` for another
            /// text.
            pub fn from_text(text: &str) -> Option<$t> {
                Self::ALL.into_iter().find(|v| v.text() == text)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.text())
            }
        }
    )+};
}

coded!(Activation, MemberState, LbMethod, LbLock);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_codes_texts_and_words_are_mod_jks() {
        for (a, code, text, name, letter) in [
            (Activation::Active, 0, "ACT", "Active", "A"),
            (Activation::Disabled, 1, "DIS", "Disabled", "D"),
            (Activation::Stopped, 2, "STP", "Stopped", "S"),
        ] {
            assert_eq!(a.code(), code);
            assert_eq!(Activation::from_code(u64::from(code)), Some(a));
            assert_eq!((a.text(), a.to_string().as_str()), (text, text));
            assert_eq!(Activation::from_text(text), Some(a));
            assert_eq!((a.name(), a.letter()), (name, letter));
            let lower = format!(" {}", name.to_lowercase());
            for w in [name, letter, &lower, &code.to_string()] {
                assert_eq!(Activation::from_word(w), Some(a), "{w}");
            }
        }
        assert_eq!(Activation::from_code(3), None);
        assert_eq!(Activation::from_word("x"), None);
        assert_eq!(Activation::from_word(""), None);
        assert_eq!(Activation::from_word("3"), None);
        assert_eq!(Activation::default(), Activation::Active);
    }

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
            assert_eq!(MemberState::from_code(u64::from(code)), Some(s));
            assert_eq!(s.to_string(), text);
            assert_eq!(MemberState::from_text(text), Some(s));
            assert_eq!(s.is_error(), text.starts_with("ERR"));
        }
        assert_eq!(MemberState::from_code(7), None);
        assert_eq!(MemberState::from_text("ERR/XYZ"), None);
        assert_eq!(MemberState::default(), MemberState::Idle);
    }

    #[test]
    fn method_and_lock_words() {
        assert_eq!(LbMethod::from_word("S"), Some(LbMethod::Sessions));
        assert_eq!(LbMethod::from_word("busyness"), Some(LbMethod::Busyness));
        assert_eq!(LbMethod::from_word("4"), Some(LbMethod::Next));
        assert_eq!(LbMethod::from_word("Fastest"), None);
        assert_eq!(LbMethod::Traffic.code(), 1);
        assert_eq!(LbMethod::from_code(3), Some(LbMethod::Sessions));
        assert_eq!(LbMethod::from_code(5), None);
        assert_eq!(LbMethod::Sessions.to_string(), "Sessions");
        assert_eq!(LbLock::from_word("P"), Some(LbLock::Pessimistic));
        assert_eq!(LbLock::from_word("0"), Some(LbLock::Optimistic));
        assert_eq!(LbLock::from_code(1), Some(LbLock::Pessimistic));
        assert_eq!(LbLock::Pessimistic.to_string(), "Pessimistic");
        assert_eq!(LbLock::from_text("Optimistic"), Some(LbLock::Optimistic));
        assert_eq!(LbMethod::from_text("Next"), Some(LbMethod::Next));
    }
}
