//! Status writes a browser cannot be tricked into (beyond mod_jk, where any page an operator
//! visits can change a member with one GET to the status worker).
//!
//! Scripts (`curl`, `jkctl`, monitoring) send no browser headers: their GET update URLs keep
//! working. A browser says where a request comes from (`Sec-Fetch-Site`, `Origin`, or at
//! least `Referer`): a write it sends from another site is refused. Our own page's buttons
//! POST with a token of the configuration generation, and a status worker can require that
//! token (and POST) for every write.

/// What a write request says about where it comes from.
#[derive(Debug, Default, Clone, Copy)]
pub struct WriteOrigin<'a> {
    /// The request method (`GET`, `POST`).
    pub method: &'a str,
    /// The `Host` header (`name` or `name:port`).
    pub host: Option<&'a str>,
    /// The `Sec-Fetch-Site` header (`same-origin`, `same-site`, `cross-site`, `none`).
    pub sec_fetch_site: Option<&'a str>,
    /// The `Origin` header (`scheme://host[:port]`, or `null`).
    pub origin: Option<&'a str>,
    /// The `Referer` header (a URL).
    pub referer: Option<&'a str>,
    /// The token the request carries (`token` parameter of the query or the form body).
    pub token: Option<&'a str>,
}

/// Whether a state-changing status request may be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteVerdict {
    /// Apply it.
    Allow,
    /// Refused; the reason is for the log and the answer.
    Refuse(String),
}

/// The host part (`name[:port]`) of an `Origin` or `Referer` URL.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..end];
    // Drop userinfo.
    Some(host.rsplit_once('@').map_or(host, |(_, h)| h))
}

/// `a` and `b` name the same host and port (ASCII case-insensitive).
fn same_host(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Compares two tokens in time independent of where they differ.
fn token_matches(given: &str, expected: &str) -> bool {
    if given.len() != expected.len() || expected.is_empty() {
        return false;
    }
    given
        .bytes()
        .zip(expected.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// Decides whether a write may be applied. `expected_token` is the configuration
/// generation's token; with `require_token` every write must be a POST carrying it.
pub fn check_write(w: &WriteOrigin<'_>, expected_token: &str, require_token: bool) -> WriteVerdict {
    let refuse = |why: &str| WriteVerdict::Refuse(why.to_string());
    let token_ok = w.token.is_some_and(|t| token_matches(t, expected_token));
    if w.token.is_some() && !token_ok {
        return refuse("the request's token is not this configuration's (reload the page)");
    }
    if require_token && !(token_ok && w.method.eq_ignore_ascii_case("POST")) {
        return refuse("this status worker takes changes only as a POST with its page's token");
    }
    // A browser's own account of where the request comes from.
    if let Some(site) = w.sec_fetch_site {
        let site = site.trim();
        if !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")) {
            return refuse(&format!(
                "a change sent by a browser from another site (Sec-Fetch-Site: {site})"
            ));
        }
    }
    if let Some(origin) = w.origin.map(str::trim) {
        let same = match (url_host(origin), w.host) {
            (Some(o), Some(h)) => same_host(o, h.trim()),
            _ => false,
        };
        if !same {
            return refuse(&format!(
                "a change sent by a browser from another origin (Origin: {origin})"
            ));
        }
    } else if w.sec_fetch_site.is_none() {
        // Older browsers send neither header on a GET; their Referer still tells.
        if let Some(referer) = w.referer.map(str::trim) {
            let same = match (url_host(referer), w.host) {
                (Some(r), Some(h)) => same_host(r, h.trim()),
                _ => false,
            };
            if !same {
                return refuse(&format!(
                    "a change sent by a browser from another page (Referer: {referer})"
                ));
            }
        }
    }
    WriteVerdict::Allow
}

/// The largest form body the glue reads for a status request (the page's own forms send a
/// few hundred bytes).
pub const MAX_FORM_BYTES: usize = 8 * 1024;

/// Whether a `Content-Type` value is an HTML form's (`application/x-www-form-urlencoded`,
/// parameters such as `charset` allowed): only such a POST body is read as parameters.
pub fn is_form_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

/// The query string with a form body's parameters after it (a repeated parameter: the
/// body's wins, as the last one does in a query string).
pub fn query_with_form(query: &str, form: &str) -> String {
    match (query.is_empty(), form.is_empty()) {
        (_, true) => query.to_string(),
        (true, false) => form.to_string(),
        (false, false) => format!("{query}&{form}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn form_bodies_follow_the_query() {
        assert!(is_form_type("application/x-www-form-urlencoded"));
        assert!(is_form_type(
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8"
        ));
        assert!(!is_form_type("multipart/form-data; boundary=x"));
        assert!(!is_form_type("text/plain"));
        assert_eq!(query_with_form("", ""), "");
        assert_eq!(query_with_form("mime=txt", ""), "mime=txt");
        assert_eq!(query_with_form("", "cmd=update"), "cmd=update");
        let q = query_with_form("cmd=list&mime=txt", "cmd=update&token=ab&vwn=a+b");
        let p = crate::parse_query(&q).unwrap();
        assert_eq!((p.cmd(), p.get("token")), ("update", Some("ab")));
        assert_eq!(p.mime(), Some(crate::Mime::Txt));
        assert_eq!(p.get("vwn"), Some("a b"), "a form's + is a space");
    }

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn get() -> WriteOrigin<'static> {
        WriteOrigin {
            method: "GET",
            host: Some("gw.example:8080"),
            ..Default::default()
        }
    }

    #[test]
    fn the_table() {
        let allow = WriteVerdict::Allow;
        let cases: Vec<(&str, WriteOrigin<'static>, bool, bool)> = vec![
            ("a script's GET (no browser headers)", get(), false, true),
            (
                "our own page (same-origin fetch metadata and Origin)",
                WriteOrigin {
                    sec_fetch_site: Some("same-origin"),
                    origin: Some("http://gw.example:8080"),
                    ..get()
                },
                false,
                true,
            ),
            (
                "typed into the address bar",
                WriteOrigin {
                    sec_fetch_site: Some("none"),
                    ..get()
                },
                false,
                true,
            ),
            (
                "a link on another site",
                WriteOrigin {
                    sec_fetch_site: Some("cross-site"),
                    ..get()
                },
                false,
                false,
            ),
            (
                "a sibling subdomain",
                WriteOrigin {
                    sec_fetch_site: Some("same-site"),
                    ..get()
                },
                false,
                false,
            ),
            (
                "a form on another origin",
                WriteOrigin {
                    method: "POST",
                    origin: Some("https://evil.example"),
                    ..get()
                },
                false,
                false,
            ),
            (
                "an opaque origin",
                WriteOrigin {
                    origin: Some("null"),
                    ..get()
                },
                false,
                false,
            ),
            (
                "an old browser following a link on another page",
                WriteOrigin {
                    referer: Some("http://evil.example/page"),
                    ..get()
                },
                false,
                false,
            ),
            (
                "an old browser on our page",
                WriteOrigin {
                    referer: Some("http://gw.example:8080/jkmanager/?mime=html"),
                    ..get()
                },
                false,
                true,
            ),
            (
                "a wrong token",
                WriteOrigin {
                    method: "POST",
                    token: Some("ffffffffffffffffffffffffffffffff"),
                    ..get()
                },
                false,
                false,
            ),
            ("tokens required: a script's GET", get(), true, false),
            (
                "tokens required: a GET with the token",
                WriteOrigin {
                    token: Some(TOKEN),
                    ..get()
                },
                true,
                false,
            ),
            (
                "tokens required: our page's POST",
                WriteOrigin {
                    method: "POST",
                    token: Some(TOKEN),
                    sec_fetch_site: Some("same-origin"),
                    origin: Some("http://GW.example:8080"),
                    ..get()
                },
                true,
                true,
            ),
            (
                "a valid token does not excuse another site",
                WriteOrigin {
                    method: "POST",
                    token: Some(TOKEN),
                    sec_fetch_site: Some("cross-site"),
                    ..get()
                },
                true,
                false,
            ),
        ];
        for (what, w, require, allowed) in cases {
            let v = check_write(&w, TOKEN, require);
            assert_eq!(v == allow, allowed, "{what}: {v:?}");
        }
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(url_host("http://a.b:81/x?y"), Some("a.b:81"));
        assert_eq!(url_host("https://u:p@a.b"), Some("a.b"));
        assert_eq!(url_host("null"), None);
    }
}
