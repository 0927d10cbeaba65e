//! The URI mod_jk forwards to Tomcat (`JkOptions ForwardURI*`, reference §2.1).

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

/// The URI to put in the forward request.
///
/// `decoded` is httpd's `r->uri` as it was before mod_jk's normalisation replaced it;
/// `unparsed` is `r->unparsed_uri` (may carry `?query`).
pub fn forward_uri(mode: ForwardUriMode, decoded: &str, unparsed: &str) -> String {
    match mode {
        ForwardUriMode::Proxy => escape_proxy(decoded),
        ForwardUriMode::CompatUnparsed => unparsed
            .split_once('?')
            .map(|(p, _)| p)
            .unwrap_or(unparsed)
            .to_string(),
        ForwardUriMode::Compat => decoded.to_string(),
        ForwardUriMode::Escaped => escape_uri(decoded),
    }
}

fn escape_with(s: &str, keep: &[u8], hex: &[u8; 16]) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(hex[(b >> 4) as usize]));
            out.push(char::from(hex[(b & 15) as usize]));
        }
    }
    out
}

/// ForwardURIProxy: every byte that is not alphanumeric, not `/` and not one of
/// ``~$-_.+!*'(),;:@&=`` becomes `%XX` (upper-case hex).
pub fn escape_proxy(decoded: &str) -> String {
    escape_with(decoded, b"/~$-_.+!*'(),;:@&=", b"0123456789ABCDEF")
}

/// ForwardURIEscaped: httpd 2.4's `ap_escape_uri` (`ap_os_escape_path(…, partial=1)`): keeps
/// alphanumerics and ``$-_.+!*'(),:;@&=/~``, lower-case hex (checked against Debian's mod_jk
/// by tests/differential.rs).
pub fn escape_uri(decoded: &str) -> String {
    escape_with(decoded, b"$-_.+!*'(),:;@&=/~", b"0123456789abcdef")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_mode_reencodes_but_keeps_path_parameters() {
        // The reference's captured request: /app/x%20y;jsessionid=ABC.m2/z
        assert_eq!(
            forward_uri(ForwardUriMode::Proxy, "/app/x y;jsessionid=ABC.m2/z", ""),
            "/app/x%20y;jsessionid=ABC.m2/z"
        );
        assert_eq!(escape_proxy("/a?b#c%d\u{e9}"), "/a%3Fb%23c%25d%C3%A9");
        assert_eq!(escape_proxy("/~$-_.+!*'(),;:@&="), "/~$-_.+!*'(),;:@&=");
    }

    #[test]
    fn unparsed_mode_cuts_the_query() {
        assert_eq!(
            forward_uri(ForwardUriMode::CompatUnparsed, "/a b", "/a%20b;x=1?q=2"),
            "/a%20b;x=1"
        );
        assert_eq!(
            forward_uri(ForwardUriMode::CompatUnparsed, "/a", "/a"),
            "/a"
        );
    }

    #[test]
    fn compat_and_escaped_modes() {
        assert_eq!(forward_uri(ForwardUriMode::Compat, "/a b;c", "x"), "/a b;c");
        // ap_escape_uri keeps ';' and '~', escapes '?', '#' and '\\' in lower-case hex.
        assert_eq!(
            forward_uri(ForwardUriMode::Escaped, "/a b;c~?#\\\u{e9}", "x"),
            "/a%20b;c~%3f%23%5c%c3%a9"
        );
    }
}
