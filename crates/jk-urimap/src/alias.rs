//! Helpers for requests that are *not* mapped to a worker: `JkAutoAlias` and
//! `JkStripSession` (both in mod_jk's translate hook).

/// What the translate hook does for an unmapped URI when `JkAutoAlias <dir>` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoAlias {
    /// `WEB-INF`/`META-INF` below a context: answer 404.
    NotFound404,
    /// A `.war` context that is not unpacked: answer 403.
    Forbidden403,
    /// Set `r->filename` to this path and let httpd serve the file statically (bytes: the
    /// URI's bytes need not be UTF-8, and neither need file names).
    ServeFile(Vec<u8>),
    /// Not ours; httpd translates the URI normally.
    Decline,
}

/// mod_jk's JkAutoAlias decision for an unmapped, normalised URI (bytes, as httpd holds it).
///
/// The context is the first path segment. A second segment equal to `WEB-INF` or
/// `META-INF` (any case; mod_jk compares the whole segment) ⇒ 404. If `<alias_dir>/<context>` is a
/// directory (`is_dir`) ⇒ serve `<alias_dir><uri>`; else a context ending in `.war` (any
/// case) ⇒ 403; otherwise decline. `/` itself is always declined. ROOT, nested (`a#b`) and
/// versioned (`a##v1`) contexts are not special, as in mod_jk.
///
/// ```
/// use jk_urimap::{auto_alias_decision, AutoAlias};
/// let d = auto_alias_decision("/srv/webapps", b"/app/index.html", |p| p == b"/srv/webapps/app");
/// assert_eq!(d, AutoAlias::ServeFile(b"/srv/webapps/app/index.html".to_vec()));
/// ```
pub fn auto_alias_decision(
    alias_dir: &str,
    clean_uri: &[u8],
    is_dir: impl Fn(&[u8]) -> bool,
) -> AutoAlias {
    let Some(after_root) = clean_uri.strip_prefix(b"/") else {
        return AutoAlias::Decline;
    };
    if after_root.is_empty() {
        return AutoAlias::Decline;
    }
    let (context, below) = match memchr::memchr(b'/', after_root) {
        Some(slash) => after_root.split_at(slash),
        None => (after_root, &b""[..]),
    };
    let child = below
        .strip_prefix(b"/")
        .map(|b| b.split(|&c| c == b'/').next().unwrap_or(b));
    if child
        .is_some_and(|c| c.eq_ignore_ascii_case(b"WEB-INF") || c.eq_ignore_ascii_case(b"META-INF"))
    {
        return AutoAlias::NotFound404;
    }
    let dir = alias_dir.trim_end_matches('/').as_bytes();
    let joined = |rest: &[&[u8]]| {
        let mut p = Vec::with_capacity(dir.len() + rest.iter().map(|r| r.len()).sum::<usize>());
        p.extend_from_slice(dir);
        rest.iter().for_each(|r| p.extend_from_slice(r));
        p
    };
    if is_dir(&joined(&[b"/", context])) {
        return AutoAlias::ServeFile(joined(&[clean_uri]));
    }
    if context.len() >= 4 && context[context.len() - 4..].eq_ignore_ascii_case(b".war") {
        return AutoAlias::Forbidden403;
    }
    AutoAlias::Decline
}

/// `JkStripSession`: removes the first occurrence of `identifier` and what follows it up to
/// (not including) the next `;` or `/` or the end. Case-sensitive; `=` is not required.
/// Returns `None` when the identifier does not occur (or is empty). The URI is bytes, as
/// httpd holds it; every byte outside the removed part is kept.
///
/// ```
/// use jk_urimap::strip_session;
/// assert_eq!(strip_session(b"/a;jsessionid=ABC/b", ";jsessionid").as_deref(), Some(&b"/a/b"[..]));
/// ```
pub fn strip_session(uri: &[u8], identifier: &str) -> Option<Vec<u8>> {
    let ident = identifier.as_bytes();
    if ident.is_empty() {
        return None;
    }
    let start = memchr::memmem::find(uri, ident)?;
    let after = start + ident.len();
    let end = memchr::memchr2(b';', b'/', &uri[after..]).map_or(uri.len(), |offset| after + offset);
    let mut out = Vec::with_capacity(uri.len() - (end - start));
    out.extend_from_slice(&uri[..start]);
    out.extend_from_slice(&uri[end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(path: &[u8]) -> bool {
        matches!(path, b"/srv/w/app" | b"/srv/w/shop.war" | b"/srv/w/caf\xe9")
    }

    #[test]
    fn auto_alias() {
        let d = |uri: &str| auto_alias_decision("/srv/w/", uri.as_bytes(), dirs);
        assert_eq!(d("/"), AutoAlias::Decline);
        assert_eq!(d(""), AutoAlias::Decline);
        assert_eq!(d("/app"), AutoAlias::ServeFile("/srv/w/app".into()));
        assert_eq!(d("/app/"), AutoAlias::ServeFile("/srv/w/app/".into()));
        assert_eq!(
            d("/app/img/a.png"),
            AutoAlias::ServeFile("/srv/w/app/img/a.png".into())
        );
        assert_eq!(d("/app/WEB-INF/web.xml"), AutoAlias::NotFound404);
        assert_eq!(d("/app/web-inf"), AutoAlias::NotFound404);
        assert_eq!(d("/app/Meta-Inf/MANIFEST.MF"), AutoAlias::NotFound404);
        // Even for contexts that do not exist under the alias directory.
        assert_eq!(d("/nothere/WEB-INF/x"), AutoAlias::NotFound404);
        assert_eq!(d("/app/web-inf"), AutoAlias::NotFound404);
        // Only the whole segment is protected, as in mod_jk.
        assert_ne!(d("/app/WEB-INFO/x"), AutoAlias::NotFound404);
        assert_eq!(d("/other/x"), AutoAlias::Decline);
        assert_eq!(d("/other.war"), AutoAlias::Forbidden403);
        assert_eq!(d("/Other.WAR/x"), AutoAlias::Forbidden403);
        // An unpacked directory named *.war is served.
        assert_eq!(
            d("/shop.war/x"),
            AutoAlias::ServeFile("/srv/w/shop.war/x".into())
        );
        // WEB-INF as the context itself is not a second segment.
        assert_eq!(d("/WEB-INF/x"), AutoAlias::Decline);
        // No trailing slash on the alias directory works the same.
        assert_eq!(
            auto_alias_decision("/srv/w", b"/app/x", dirs),
            AutoAlias::ServeFile("/srv/w/app/x".into())
        );
    }

    #[test]
    fn strip() {
        let id = ";jsessionid";
        assert_eq!(
            strip_session(b"/a;jsessionid=X/b", id).as_deref(),
            Some(&b"/a/b"[..])
        );
        assert_eq!(
            strip_session(b"/a;jsessionid=X;v=1", id).as_deref(),
            Some(&b"/a;v=1"[..])
        );
        assert_eq!(
            strip_session(b"/a/b.jsp;jsessionid=X.node1", id).as_deref(),
            Some(&b"/a/b.jsp"[..])
        );
        assert_eq!(
            strip_session(b"/a;jsessionid", id).as_deref(),
            Some(&b"/a"[..])
        );
        assert_eq!(
            strip_session(b"/a;jsessionid=1/b;jsessionid=2", id).as_deref(),
            Some(&b"/a/b;jsessionid=2"[..])
        );
        assert_eq!(strip_session(b"/a;JSESSIONID=X", id), None);
        assert_eq!(strip_session(b"/a/b", id), None);
        assert_eq!(strip_session(b"/a/b", ""), None);
        assert_eq!(
            strip_session(b"/a;sid=7/b", ";sid").as_deref(),
            Some(&b"/a/b"[..])
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept() {
        let id = ";jsessionid";
        assert_eq!(
            strip_session(b"/caf\xe9;jsessionid=X\xff/\xe9", id).as_deref(),
            Some(&b"/caf\xe9/\xe9"[..])
        );
        let d = |uri: &[u8]| auto_alias_decision("/srv/w", uri, dirs);
        assert_eq!(
            d(b"/caf\xe9/a\xff.png"),
            AutoAlias::ServeFile(b"/srv/w/caf\xe9/a\xff.png".to_vec())
        );
        assert_eq!(d(b"/caf\xe9/web-inf/x"), AutoAlias::NotFound404);
        assert_eq!(d(b"/\xe9.WAR/x"), AutoAlias::Forbidden403);
        // Not the U+FFFD spelling of the same directory.
        assert_eq!(d("/caf\u{fffd}/x".as_bytes()), AutoAlias::Decline);
    }
}
