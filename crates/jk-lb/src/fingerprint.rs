//! Packed fingerprints of configured values (stored in `Field::ConfigHash`), so a new
//! configuration can be compared with the one a slot was set from value by value.
//!
//! The numbers that have their own `Configured*` field are compared exactly; the others get a
//! few bits each of one 64-bit word: small numbers and flags exactly, strings and large numbers
//! as a hash (a collision would keep a runtime value the new configuration changed: for the
//! 20-bit string parts that is one chance in a million).

/// Set in every fingerprint written by this crate (a zero word means "never written").
const MARK: u64 = 1 << 63;

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A packed fingerprint: `(bits, value)` parts from the lowest bit up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fingerprint(pub u64);

impl Fingerprint {
    pub fn is_set(self) -> bool {
        self.0 & MARK != 0
    }

    fn part(self, shift: u32, bits: u32) -> u64 {
        (self.0 >> shift) & ((1u64 << bits) - 1)
    }
}

/// Layout of a fingerprint: the bit width of each part, in order.
pub(crate) struct Layout(pub &'static [u32]);

impl Layout {
    fn shift(&self, i: usize) -> u32 {
        self.0[..i].iter().sum()
    }

    pub fn pack(&self, parts: &[u64]) -> Fingerprint {
        let mut w = MARK;
        for (i, (&bits, &v)) in self.0.iter().zip(parts).enumerate() {
            w |= (v & ((1u64 << bits) - 1)) << self.shift(i);
        }
        Fingerprint(w)
    }

    /// Whether part `i` of the stored fingerprint equals part `i` of the new one.
    pub fn same(&self, old: Fingerprint, new: Fingerprint, i: usize) -> bool {
        old.is_set() && old.part(self.shift(i), self.0[i]) == new.part(self.shift(i), self.0[i])
    }
}

/// A string as a part.
pub(crate) fn str_part(s: &str) -> u64 {
    fnv1a(s.as_bytes())
}

/// A number as an 11-bit part: exact below 1024, hashed above.
pub(crate) fn num_part(v: u64) -> u64 {
    if v < 1024 {
        v
    } else {
        1024 | (fnv1a(&v.to_le_bytes()) & 1023)
    }
}

/// Member: route, domain, redirect (20 bits each), activation (2 bits).
pub(crate) const MEMBER: Layout = Layout(&[20, 20, 20, 2]);
pub(crate) const M_ROUTE: usize = 0;
pub(crate) const M_DOMAIN: usize = 1;
pub(crate) const M_REDIRECT: usize = 2;

/// lb: sticky_session, sticky_session_force (1), method (3), lock (1), then retries,
/// retry_interval, recover_time, error_escalation_time, max_reply_timeouts (11 each).
pub(crate) const LB: Layout = Layout(&[1, 1, 3, 1, 11, 11, 11, 11, 11]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_compare_independently() {
        let a = MEMBER.pack(&[str_part("n1"), str_part("d"), str_part(""), 0]);
        let b = MEMBER.pack(&[str_part("n1"), str_part("e"), str_part(""), 1]);
        assert!(MEMBER.same(a, b, M_ROUTE));
        assert!(!MEMBER.same(a, b, M_DOMAIN));
        assert!(MEMBER.same(a, b, M_REDIRECT));
        assert!(!MEMBER.same(a, b, 3));
        assert!(
            !MEMBER.same(Fingerprint(0), a, M_ROUTE),
            "unset never matches"
        );
        let l1 = LB.pack(&[1, 0, 2, 0, num_part(2), num_part(100), num_part(60), 30, 0]);
        let l2 = LB.pack(&[1, 0, 2, 0, num_part(3), num_part(100), num_part(60), 30, 0]);
        assert!(!LB.same(l1, l2, 4));
        assert!((0..9).filter(|&i| i != 4).all(|i| LB.same(l1, l2, i)));
        assert_ne!(num_part(5000), num_part(5001));
    }
}
