//! Servlet-style URI normalisation, as mod_jk applies it before mapping (`jk_servlet_normalize`).
//!
//! httpd has already %-decoded `r->uri` and removed dot segments once; mod_jk normalises again
//! with servlet rules so that `/app;jsessionid=X/secret.jsp` and `/app//x` cannot slip past
//! a mapping rule. The glue answers **400** when this fails.

use std::fmt;

/// Why a URI cannot be normalised; the glue answers `400 Bad Request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NormalizeError {
    /// The URI does not begin with `/` (and is not the `OPTIONS *` target `*`).
    NotAbsolute(String),
    /// A `..` segment would climb above `/`.
    TraversalAboveRoot(String),
}

impl fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NormalizeError::NotAbsolute(uri) => write!(f, "URI '{uri}' does not start with '/'"),
            NormalizeError::TraversalAboveRoot(uri) => {
                write!(f, "URI '{uri}' climbs above the root with '..'")
            }
        }
    }
}

impl std::error::Error for NormalizeError {}

/// Normalises a decoded request URI the way mod_jk does before matching mount rules.
///
/// In this order: every path parameter (`;` up to the next `/`) is removed, runs of `/` are
/// collapsed, `.` segments are dropped and `..` segments remove the segment before them.
/// A trailing `.` or `..` segment leaves a trailing `/` (`/a/b/..` → `/a/`).
/// `*` (the `OPTIONS *` target) is returned unchanged; it is never mapped.
///
/// The URI is bytes, as httpd holds `r->uri` after %-decoding (it need not be UTF-8: `%E9`
/// decodes to the single byte `E9`); only ASCII `/`, `;` and `.` are interpreted and every
/// other byte is kept as it is.
///
/// ```
/// use jk_urimap::normalize;
/// assert_eq!(normalize(b"/a;jsessionid=X/b").unwrap(), b"/a/b");
/// assert_eq!(normalize(b"/a//./c/../d").unwrap(), b"/a/d");
/// assert_eq!(normalize(b"/caf\xe9/./x").unwrap(), b"/caf\xe9/x");
/// assert!(normalize(b"/../etc/passwd").is_err());
/// ```
pub fn normalize(uri: &[u8]) -> Result<Vec<u8>, NormalizeError> {
    let text = || String::from_utf8_lossy(uri).into_owned();
    if uri == b"*" {
        return Ok(uri.to_vec());
    }
    if uri.first() != Some(&b'/') {
        return Err(NormalizeError::NotAbsolute(text()));
    }
    let without_params = strip_path_parameters(uri);

    // Segments after the leading '/'; empty ones come from '//' runs and vanish, except a
    // final empty one, which records a trailing '/'.
    let mut segments: Vec<&[u8]> = Vec::new();
    let mut trailing_slash = false;
    let mut parts = without_params[1..].split(|&b| b == b'/').peekable();
    while let Some(segment) = parts.next() {
        let last = parts.peek().is_none();
        match segment {
            b"" => trailing_slash = last,
            b"." => trailing_slash = last,
            b".." => {
                if segments.pop().is_none() {
                    return Err(NormalizeError::TraversalAboveRoot(text()));
                }
                trailing_slash = last;
            }
            _ => {
                segments.push(segment);
                trailing_slash = false;
            }
        }
    }

    let mut out = Vec::with_capacity(without_params.len());
    for segment in &segments {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if trailing_slash || segments.is_empty() {
        out.push(b'/');
    }
    Ok(out)
}

/// Removes every `;…` path parameter up to (not including) the next `/`.
fn strip_path_parameters(uri: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if memchr::memchr(b';', uri).is_none() {
        return std::borrow::Cow::Borrowed(uri);
    }
    let mut out = Vec::with_capacity(uri.len());
    let mut rest = uri;
    while let Some(semi) = memchr::memchr(b';', rest) {
        out.extend_from_slice(&rest[..semi]);
        rest = &rest[semi..];
        match memchr::memchr(b'/', rest) {
            Some(slash) => rest = &rest[slash..],
            None => rest = b"",
        }
    }
    out.extend_from_slice(rest);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accepts_and_cleans() {
        let cases = [
            ("/", "/"),
            ("/a", "/a"),
            ("/a/", "/a/"),
            ("/a;jsessionid=X/b", "/a/b"),
            ("/a;x;y/b;z", "/a/b"),
            ("/;x/b", "/b"),
            ("//a///b//", "/a/b/"),
            ("/./a/./b/.", "/a/b/"),
            ("/.", "/"),
            ("/a/..", "/"),
            ("/a/b/..", "/a/"),
            ("/a/b/../c", "/a/c"),
            ("/a/../../", "ERR"),
            ("/a/..;x/b", "/b"),
            ("/a/...", "/a/..."),
            ("/a/.b/..c", "/a/.b/..c"),
            ("/a/./../b", "/b"),
            ("*", "*"),
        ];
        for (input, want) in cases {
            match normalize(input.as_bytes()) {
                Ok(got) => assert_eq!(got, want.as_bytes(), "input {input}"),
                Err(e) => assert_eq!("ERR", want, "input {input}: {e}"),
            }
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept() {
        // `%E9` decoded by httpd is the single byte E9 (Latin-1 é), not UTF-8.
        let cases: [(&[u8], &[u8]); 5] = [
            (b"/app/caf\xe9/x", b"/app/caf\xe9/x"),
            (
                b"/app/caf\xe9;jsessionid=A\xff/\xe9x",
                b"/app/caf\xe9/\xe9x",
            ),
            (b"/\xe9//\xff/./\x80/../y", b"/\xe9/\xff/y"),
            (b"/\xc3/\xa9", b"/\xc3/\xa9"),
            (b"/a/\xe9/..", b"/a/"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).unwrap(), want, "input {input:?}");
        }
        assert_eq!(
            normalize(b"/\xe9/../.."),
            Err(NormalizeError::TraversalAboveRoot("/\u{fffd}/../..".into()))
        );
        assert_eq!(
            normalize(b"\xe9"),
            Err(NormalizeError::NotAbsolute("\u{fffd}".into()))
        );
    }

    #[test]
    fn rejects() {
        assert_eq!(
            normalize(b"/.."),
            Err(NormalizeError::TraversalAboveRoot("/..".into()))
        );
        assert!(matches!(
            normalize(b"/a/../.."),
            Err(NormalizeError::TraversalAboveRoot(_))
        ));
        assert!(matches!(
            normalize(b""),
            Err(NormalizeError::NotAbsolute(_))
        ));
        assert!(matches!(
            normalize(b"a/b"),
            Err(NormalizeError::NotAbsolute(_))
        ));
        assert!(matches!(
            normalize(b"**"),
            Err(NormalizeError::NotAbsolute(_))
        ));
    }
}
