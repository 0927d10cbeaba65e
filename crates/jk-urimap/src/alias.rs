//! Helpers for requests that are *not* mapped to a worker: `JkAutoAlias` and
//! `JkStripSession` (both in mod_jk's translate hook).

/// What the translate hook does for an unmapped URI when `JkAutoAlias <dir>` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoAlias {
    /// `WEB-INF`/`META-INF` below a context: answer 404.
    NotFound404,
    /// A `.war` context that is not unpacked: answer 403.
    Forbidden403,
    /// Set `r->filename` to this path and let httpd serve the file statically.
    ServeFile(String),
    /// Not ours; httpd translates the URI normally.
    Decline,
}

/// mod_jk's JkAutoAlias decision for an unmapped, normalised URI.
///
/// The context is the first path segment. A second segment equal to `WEB-INF` or
/// `META-INF` (any case; mod_jk compares the whole segment) ⇒ 404. If `<alias_dir>/<context>` is a
/// directory (`is_dir`) ⇒ serve `<alias_dir><uri>`; else a context ending in `.war` (any
/// case) ⇒ 403; otherwise decline. `/` itself is always declined. ROOT, nested (`a#b`) and
/// versioned (`a##v1`) contexts are not special, as in mod_jk.
///
/// ```
/// use jk_urimap::{auto_alias_decision, AutoAlias};
/// let d = auto_alias_decision("/srv/webapps", "/app/index.html", |p| p == "/srv/webapps/app");
/// assert_eq!(d, AutoAlias::ServeFile("/srv/webapps/app/index.html".into()));
/// ```
pub fn auto_alias_decision(
    alias_dir: &str,
    clean_uri: &str,
    is_dir: impl Fn(&str) -> bool,
) -> AutoAlias {
    let Some(after_root) = clean_uri.strip_prefix('/') else {
        return AutoAlias::Decline;
    };
    if after_root.is_empty() {
        return AutoAlias::Decline;
    }
    let (context, below) = match after_root.find('/') {
        Some(slash) => (&after_root[..slash], &after_root[slash..]),
        None => (after_root, ""),
    };
    let child = below
        .strip_prefix('/')
        .map(|b| b.split('/').next().unwrap_or(b));
    if child
        .is_some_and(|c| c.eq_ignore_ascii_case("WEB-INF") || c.eq_ignore_ascii_case("META-INF"))
    {
        return AutoAlias::NotFound404;
    }
    let dir = alias_dir.trim_end_matches('/');
    if is_dir(&format!("{dir}/{context}")) {
        return AutoAlias::ServeFile(format!("{dir}{clean_uri}"));
    }
    if context.len() >= 4 && context[context.len() - 4..].eq_ignore_ascii_case(".war") {
        return AutoAlias::Forbidden403;
    }
    AutoAlias::Decline
}

/// `JkStripSession`: removes the first occurrence of `identifier` and what follows it up to
/// (not including) the next `;` or `/` or the end. Case-sensitive; `=` is not required.
/// Returns `None` when the identifier does not occur (or is empty).
///
/// ```
/// use jk_urimap::strip_session;
/// assert_eq!(strip_session("/a;jsessionid=ABC/b", ";jsessionid").as_deref(), Some("/a/b"));
/// ```
pub fn strip_session(uri: &str, identifier: &str) -> Option<String> {
    if identifier.is_empty() {
        return None;
    }
    let start = uri.find(identifier)?;
    let after = start + identifier.len();
    let end = uri[after..]
        .find([';', '/'])
        .map_or(uri.len(), |offset| after + offset);
    let mut out = String::with_capacity(uri.len() - (end - start));
    out.push_str(&uri[..start]);
    out.push_str(&uri[end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(path: &str) -> bool {
        matches!(path, "/srv/w/app" | "/srv/w/shop.war")
    }

    #[test]
    fn auto_alias() {
        let d = |uri: &str| auto_alias_decision("/srv/w/", uri, dirs);
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
            auto_alias_decision("/srv/w", "/app/x", dirs),
            AutoAlias::ServeFile("/srv/w/app/x".into())
        );
    }

    #[test]
    fn strip() {
        let id = ";jsessionid";
        assert_eq!(
            strip_session("/a;jsessionid=X/b", id).as_deref(),
            Some("/a/b")
        );
        assert_eq!(
            strip_session("/a;jsessionid=X;v=1", id).as_deref(),
            Some("/a;v=1")
        );
        assert_eq!(
            strip_session("/a/b.jsp;jsessionid=X.node1", id).as_deref(),
            Some("/a/b.jsp")
        );
        assert_eq!(strip_session("/a;jsessionid", id).as_deref(), Some("/a"));
        assert_eq!(
            strip_session("/a;jsessionid=1/b;jsessionid=2", id).as_deref(),
            Some("/a/b;jsessionid=2")
        );
        assert_eq!(strip_session("/a;JSESSIONID=X", id), None);
        assert_eq!(strip_session("/a/b", id), None);
        assert_eq!(strip_session("/a/b", ""), None);
        assert_eq!(strip_session("/a;sid=7/b", ";sid").as_deref(), Some("/a/b"));
    }
}
