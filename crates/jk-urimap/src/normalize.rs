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
/// ```
/// use jk_urimap::normalize;
/// assert_eq!(normalize("/a;jsessionid=X/b").unwrap(), "/a/b");
/// assert_eq!(normalize("/a//./c/../d").unwrap(), "/a/d");
/// assert!(normalize("/../etc/passwd").is_err());
/// ```
pub fn normalize(uri: &str) -> Result<String, NormalizeError> {
    if uri == "*" {
        return Ok(uri.to_owned());
    }
    if !uri.starts_with('/') {
        return Err(NormalizeError::NotAbsolute(uri.to_owned()));
    }
    let without_params = strip_path_parameters(uri);

    // Segments after the leading '/'; empty ones come from '//' runs and vanish, except a
    // final empty one, which records a trailing '/'.
    let mut segments: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    let mut parts = without_params[1..].split('/').peekable();
    while let Some(segment) = parts.next() {
        let last = parts.peek().is_none();
        match segment {
            "" => trailing_slash = last,
            "." => trailing_slash = last,
            ".." => {
                if segments.pop().is_none() {
                    return Err(NormalizeError::TraversalAboveRoot(uri.to_owned()));
                }
                trailing_slash = last;
            }
            _ => {
                segments.push(segment);
                trailing_slash = false;
            }
        }
    }

    let mut out = String::with_capacity(without_params.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if trailing_slash || segments.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// Removes every `;…` path parameter up to (not including) the next `/`.
fn strip_path_parameters(uri: &str) -> std::borrow::Cow<'_, str> {
    if memchr::memchr(b';', uri.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(uri);
    }
    let mut out = String::with_capacity(uri.len());
    let mut rest = uri;
    while let Some(semi) = rest.find(';') {
        out.push_str(&rest[..semi]);
        rest = &rest[semi..];
        match rest.find('/') {
            Some(slash) => rest = &rest[slash..],
            None => rest = "",
        }
    }
    out.push_str(rest);
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
            match normalize(input) {
                Ok(got) => assert_eq!(got, want, "input {input}"),
                Err(e) => assert_eq!("ERR", want, "input {input}: {e}"),
            }
        }
    }

    #[test]
    fn rejects() {
        assert_eq!(
            normalize("/.."),
            Err(NormalizeError::TraversalAboveRoot("/..".into()))
        );
        assert!(matches!(
            normalize("/a/../.."),
            Err(NormalizeError::TraversalAboveRoot(_))
        ));
        assert!(matches!(normalize(""), Err(NormalizeError::NotAbsolute(_))));
        assert!(matches!(
            normalize("a/b"),
            Err(NormalizeError::NotAbsolute(_))
        ));
        assert!(matches!(
            normalize("**"),
            Err(NormalizeError::NotAbsolute(_))
        ));
    }
}
