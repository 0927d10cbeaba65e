//! The URI mod_jk forwards to Tomcat (`JkOptions ForwardURI*`, reference §2.1).

use std::borrow::Cow;

/// Which request URI form is forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardUriMode {
    /// Default: the decoded URI (before mod_jk's normalisation; path parameters kept)
    /// re-encoded by [`escape_proxy`].
    Proxy,
    /// The client's original bytes (`r->unparsed_uri`) up to the first `?`.
    CompatUnparsed,
    /// The decoded URI as is.
    Compat,
    /// The decoded URI escaped like httpd's `ap_escape_uri`.
    Escaped,
}

/// The URI to put in the forward request, as bytes: httpd's URIs need not be UTF-8 (`%E9`
/// decodes to the single byte `E9`), and mod_jk forwards them unchanged or escapes them byte
/// by byte. The compat modes borrow; the escaping modes allocate the escaped copy.
///
/// `decoded` is httpd's `r->uri` as it was before mod_jk's normalisation replaced it;
/// `unparsed` is `r->unparsed_uri` (may carry `?query`).
pub fn forward_uri<'a>(
    mode: ForwardUriMode,
    decoded: &'a [u8],
    unparsed: &'a [u8],
) -> Cow<'a, [u8]> {
    match mode {
        ForwardUriMode::Proxy => Cow::Owned(escape_proxy(decoded).into_bytes()),
        ForwardUriMode::CompatUnparsed => Cow::Borrowed(match memchr::memchr(b'?', unparsed) {
            Some(q) => &unparsed[..q],
            None => unparsed,
        }),
        ForwardUriMode::Compat => Cow::Borrowed(decoded),
        ForwardUriMode::Escaped => Cow::Owned(escape_uri(decoded).into_bytes()),
    }
}

fn escape_with(s: &[u8], keep: &[u8], hex: &[u8; 16]) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for &b in s {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(hex[usize::from(b >> 4)]));
            out.push(char::from(hex[usize::from(b & 15)]));
        }
    }
    out
}

/// ForwardURIProxy: every byte that is not alphanumeric, not `/` and not one of
/// ``~$-_.+!*'(),;:@&=`` becomes `%XX` (upper-case hex). The result is ASCII.
pub fn escape_proxy(decoded: &[u8]) -> String {
    escape_with(decoded, b"/~$-_.+!*'(),;:@&=", b"0123456789ABCDEF")
}

/// ForwardURIEscaped: httpd 2.4's `ap_escape_uri` (`ap_os_escape_path(…, partial=1)`): keeps
/// alphanumerics and ``$-_.+!*'(),:;@&=/~``, lower-case hex (checked against Debian's mod_jk
/// by tests/differential/). The result is ASCII.
pub fn escape_uri(decoded: &[u8]) -> String {
    escape_with(decoded, b"$-_.+!*'(),:;@&=/~", b"0123456789abcdef")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd<'a>(mode: ForwardUriMode, decoded: &'a [u8], unparsed: &'a [u8]) -> Cow<'a, [u8]> {
        forward_uri(mode, decoded, unparsed)
    }

    #[test]
    fn proxy_mode_reencodes_but_keeps_path_parameters() {
        // The reference's captured request: /app/x%20y;jsessionid=ABC.m2/z
        assert_eq!(
            fwd(ForwardUriMode::Proxy, b"/app/x y;jsessionid=ABC.m2/z", b""),
            &b"/app/x%20y;jsessionid=ABC.m2/z"[..]
        );
        assert_eq!(
            escape_proxy("/a?b#c%d\u{e9}".as_bytes()),
            "/a%3Fb%23c%25d%C3%A9"
        );
        assert_eq!(escape_proxy(b"/~$-_.+!*'(),;:@&="), "/~$-_.+!*'(),;:@&=");
    }

    #[test]
    fn unparsed_mode_cuts_the_query() {
        assert_eq!(
            fwd(ForwardUriMode::CompatUnparsed, b"/a b", b"/a%20b;x=1?q=2"),
            &b"/a%20b;x=1"[..]
        );
        assert_eq!(
            fwd(ForwardUriMode::CompatUnparsed, b"/a", b"/a"),
            &b"/a"[..]
        );
    }

    #[test]
    fn compat_and_escaped_modes() {
        assert_eq!(fwd(ForwardUriMode::Compat, b"/a b;c", b"x"), &b"/a b;c"[..]);
        // ap_escape_uri keeps ';' and '~', escapes '?', '#' and '\\' in lower-case hex.
        assert_eq!(
            fwd(
                ForwardUriMode::Escaped,
                "/a b;c~?#\\\u{e9}".as_bytes(),
                b"x"
            ),
            &b"/a%20b;c~%3f%23%5c%c3%a9"[..]
        );
    }

    /// `/app/caf%E9/x`: httpd decodes `%E9` to the byte E9, which is not UTF-8. Every mode
    /// forwards that byte (raw or escaped as `%E9`/`%e9`), never U+FFFD (`EF BF BD`), as
    /// Debian's mod_jk does (tests/differential/cases.rs, the `*_not_utf8` cases).
    #[test]
    fn bytes_that_are_not_utf8_are_forwarded_as_they_are() {
        let decoded = b"/app/caf\xe9;jsessionid=A1.n1/\xffx";
        let unparsed = b"/app/caf%E9;jsessionid=A1.n1/\xffx?q=%E9\xe9";
        let cases: [(ForwardUriMode, &[u8]); 4] = [
            (ForwardUriMode::Proxy, b"/app/caf%E9;jsessionid=A1.n1/%FFx"),
            (
                ForwardUriMode::Escaped,
                b"/app/caf%e9;jsessionid=A1.n1/%ffx",
            ),
            (
                ForwardUriMode::Compat,
                b"/app/caf\xe9;jsessionid=A1.n1/\xffx",
            ),
            (
                ForwardUriMode::CompatUnparsed,
                b"/app/caf%E9;jsessionid=A1.n1/\xffx",
            ),
        ];
        for (mode, want) in cases {
            let got = fwd(mode, decoded, unparsed);
            assert_eq!(&got[..], want, "{mode:?}");
            assert!(
                !got.windows(3).any(|w| w == b"\xef\xbf\xbd"),
                "{mode:?}: U+FFFD"
            );
        }
    }

    #[test]
    fn compat_modes_borrow_and_escaping_modes_allocate_once() {
        assert!(matches!(
            fwd(ForwardUriMode::Compat, b"/a\xe9", b"/a%E9?q"),
            Cow::Borrowed(b"/a\xe9")
        ));
        assert!(matches!(
            fwd(ForwardUriMode::CompatUnparsed, b"/a\xe9", b"/a%E9?q"),
            Cow::Borrowed(b"/a%E9")
        ));
        assert!(matches!(
            fwd(ForwardUriMode::Proxy, b"/a\xe9", b""),
            Cow::Owned(_)
        ));
    }
}
