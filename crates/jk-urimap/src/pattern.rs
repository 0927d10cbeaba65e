//! Mount pattern matching: exact byte comparison or a `*`/`?` glob (`jk_wildchar_match`).

/// Whether a rule pattern is compared byte for byte or as a glob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// No `*` or `?` in the pattern: only the identical URI matches.
    Exact,
    /// `*` matches any run of bytes (including `/` and nothing), `?` exactly one byte.
    Wildchar,
}

impl RuleKind {
    /// Classifies a pattern (already stripped of `-`/`!` prefixes) the way mod_jk does.
    pub fn of(pattern: &str) -> RuleKind {
        if memchr::memchr2(b'*', b'?', pattern.as_bytes()).is_some() {
            RuleKind::Wildchar
        } else {
            RuleKind::Exact
        }
    }

    /// Tests `uri` against `pattern` with this kind's semantics; case-sensitive, byte for
    /// byte (the URI need not be UTF-8).
    pub fn matches(self, pattern: &str, uri: impl AsRef<[u8]>) -> bool {
        let uri = uri.as_ref();
        match self {
            RuleKind::Exact => pattern.as_bytes() == uri,
            RuleKind::Wildchar => glob_match(pattern.as_bytes(), uri),
        }
    }
}

/// Glob match over bytes: `*` any sequence (also empty, also `/`), `?` exactly one byte.
///
/// Iterative with a single backtrack point, so it runs in O(pattern × text) at worst and
/// cannot blow the stack on hostile URIs.
pub(crate) fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // Position of the last '*' seen in the pattern and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last '*' swallow one more byte and retry from there.
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(RuleKind::of("/a/b"), RuleKind::Exact);
        assert_eq!(RuleKind::of("/a/*"), RuleKind::Wildchar);
        assert_eq!(RuleKind::of("/a?"), RuleKind::Wildchar);
    }

    #[test]
    fn globs() {
        let yes = [
            ("/*", "/"),
            ("/*", "/a/b/c"),
            ("/ctx/*", "/ctx/"),
            ("/ctx/*", "/ctx/a/b"),
            ("/*.jsp", "/a/b/c.jsp"),
            ("/*.jsp", "/.jsp"),
            ("/a?c", "/abc"),
            ("*", ""),
            ("/a*b*c", "/aXbYbZc"),
            ("/**", "/x"),
        ];
        let no = [
            ("/ctx/*", "/ctx"),
            ("/*.jsp", "/a.jspx"),
            ("/a?c", "/ac"),
            ("/a?c", "/abbc"),
            ("/A/*", "/a/x"),
            ("/a*b*c", "/aXbYbZ"),
        ];
        for (p, t) in yes {
            assert!(
                glob_match(p.as_bytes(), t.as_bytes()),
                "{p} should match {t}"
            );
        }
        for (p, t) in no {
            assert!(
                !glob_match(p.as_bytes(), t.as_bytes()),
                "{p} should not match {t}"
            );
        }
    }

    #[test]
    fn uris_that_are_not_utf8_match_byte_for_byte() {
        assert!(RuleKind::Wildchar.matches("/app/*", b"/app/caf\xe9/x"));
        assert!(RuleKind::Wildchar.matches("/app/caf?/*", b"/app/caf\xe9/x"));
        assert!(!RuleKind::Wildchar.matches("/app/caf??/*", b"/app/caf\xe9/x"));
        assert!(RuleKind::Exact.matches("/app", b"/app"));
        // U+FFFD in a pattern is three bytes; a lone E9 byte is not it.
        assert!(!RuleKind::Exact.matches("/caf\u{fffd}", b"/caf\xe9"));
        assert!(!RuleKind::Wildchar.matches("/caf\u{fffd}*", b"/caf\xe9"));
    }

    #[test]
    fn question_mark_is_one_byte() {
        // mod_jk compares bytes: a two-byte UTF-8 character needs two '?'.
        assert!(!glob_match(b"/?", "/é".as_bytes()));
        assert!(glob_match(b"/??", "/é".as_bytes()));
    }
}
