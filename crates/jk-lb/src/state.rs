//! The usability rules of member states and activations (reference §5.1). The states and
//! activations themselves, with mod_jk's codes and texts, are jk-config's
//! [`MemberState`] and [`Activation`].

use jk_config::{Activation, MemberState};

/// Usable for a request without (matching) session: `JK_WORKER_USABLE`.
pub(crate) fn usable(s: MemberState, a: Activation) -> bool {
    s.is_usable() && a == Activation::Active
}

/// Usable for a request whose session names this member: `JK_WORKER_USABLE_STICKY`.
pub(crate) fn usable_sticky(s: MemberState, a: Activation) -> bool {
    s.is_usable() && a != Activation::Stopped
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
