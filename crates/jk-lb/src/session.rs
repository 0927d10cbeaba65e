//! Session-id extraction (reference §5.4; jk_lb_worker.c `get_sessionid`, `get_path_param`,
//! `get_cookie`).

fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// C `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The value of the path parameter `name` (e.g. `;jsessionid`) in `uri`: the first occurrence
/// followed by `=` and a non-empty rest; the value ends at `?`, `;` or `/`.
pub fn path_param(uri: &str, name: &str) -> Option<String> {
    let hay = uri.as_bytes();
    let n = name.as_bytes();
    let mut from = 0;
    while let Some(at) = find_from(hay, n, from) {
        let eq = at + n.len();
        if hay.get(eq) == Some(&b'=') && eq + 1 < hay.len() {
            let rest = &hay[eq + 1..];
            let end = rest
                .iter()
                .position(|&b| matches!(b, b'?' | b';' | b'/'))
                .unwrap_or(rest.len());
            return Some(String::from_utf8_lossy(&rest[..end]).into_owned());
        }
        from = at + 1;
    }
    None
}

/// Every value of cookie `name` in the `Cookie` header values, joined with `;`.
///
/// mod_jk's rules: the name is case-sensitive and must start the header or follow `;`, `,` or
/// whitespace; spaces may precede `=`; a value runs to `;` or `,`; surrounding double quotes
/// are removed; `name=` at the very end of a header is skipped.
pub fn cookie_values(headers: &[&str], name: &str) -> Option<String> {
    let n = name.as_bytes();
    let mut result: Option<String> = None;
    for header in headers {
        let hay = header.as_bytes();
        let mut from = 0;
        while let Some(at) = find_from(hay, n, from) {
            from = at + 1;
            if at > 0 && !matches!(hay[at - 1], b';' | b',') && !is_space(hay[at - 1]) {
                continue;
            }
            let mut p = at + n.len();
            while p < hay.len() && is_space(hay[p]) {
                p += 1;
            }
            if hay.get(p) != Some(&b'=') || p + 1 >= hay.len() {
                continue;
            }
            let start = p + 1;
            let end = hay[start..]
                .iter()
                .position(|&b| b == b';' || b == b',')
                .map_or(hay.len(), |e| e + start);
            let mut v = &hay[start..end];
            if v.len() > 1 && v[0] == b'"' && v[v.len() - 1] == b'"' {
                v = &v[1..v.len() - 1];
            }
            let v = String::from_utf8_lossy(v);
            match &mut result {
                None => result = Some(v.into_owned()),
                Some(r) => {
                    r.push(';');
                    r.push_str(&v);
                }
            }
            from = end;
        }
    }
    result
}

/// The session id(s) of a request, `;`-separated when there are several: the path parameter
/// `session_path` wins; otherwise every `Cookie` header is scanned for `session_cookie`.
/// An empty value counts as no session (mod_jk logs "Detected empty session identifier.").
/// `JK_ROUTE` is handled by the caller ([`crate::Balancer::start`]) as the session `.<route>`.
pub fn session_ids(
    uri: &str,
    cookie_headers: &[&str],
    session_path: &str,
    session_cookie: &str,
) -> Option<String> {
    let v = path_param(uri, session_path).or_else(|| cookie_values(cookie_headers, session_cookie));
    v.filter(|v| !v.is_empty())
}

/// An environment flag like `JK_STICKY_IGNORE`/`JK_STATELESS`: empty or a non-zero number
/// (C `atoi`) means true.
pub fn env_flag(v: &str) -> bool {
    v.is_empty() || atoi(v) != 0
}

/// C `atoi`: leading whitespace, optional sign, digits; anything else stops it.
pub(crate) fn atoi(v: &str) -> i64 {
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut n: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add(i64::from(b[i] - b'0'));
        i += 1;
    }
    if neg {
        -n
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = ";jsessionid";
    const C: &str = "JSESSIONID";

    #[test]
    fn path_parameter_value_ends_at_query_semicolon_or_slash() {
        assert_eq!(
            path_param("/a/b;jsessionid=abc.n1", P).as_deref(),
            Some("abc.n1")
        );
        assert_eq!(
            path_param("/a;jsessionid=abc.n1?x=1", P).as_deref(),
            Some("abc.n1")
        );
        assert_eq!(
            path_param("/a;jsessionid=abc.n1;v=2", P).as_deref(),
            Some("abc.n1")
        );
        assert_eq!(
            path_param("/a;jsessionid=abc.n1/more", P).as_deref(),
            Some("abc.n1")
        );
        assert_eq!(path_param("/a;jsessionidx=1", P), None);
        // The first occurrence followed by `=` wins.
        assert_eq!(
            path_param("/a;jsessionid;jsessionid=z.n2", P).as_deref(),
            Some("z.n2")
        );
        // `jsessionid=` at the very end is skipped.
        assert_eq!(path_param("/a;jsessionid=", P), None);
    }

    #[test]
    fn cookie_name_must_start_the_header_or_follow_a_separator() {
        assert_eq!(
            cookie_values(&["JSESSIONID=a.n1"], C).as_deref(),
            Some("a.n1")
        );
        assert_eq!(
            cookie_values(&["x=1; JSESSIONID=a.n1"], C).as_deref(),
            Some("a.n1")
        );
        assert_eq!(
            cookie_values(&["x=1,JSESSIONID=a.n1"], C).as_deref(),
            Some("a.n1")
        );
        assert_eq!(cookie_values(&["XJSESSIONID=a.n1"], C), None);
        assert_eq!(
            cookie_values(&["jsessionid=a.n1"], C),
            None,
            "case-sensitive"
        );
        assert_eq!(
            cookie_values(&["JSESSIONID  =a.n1; y=2"], C).as_deref(),
            Some("a.n1")
        );
        assert_eq!(
            cookie_values(&["JSESSIONID=\"a.n1\""], C).as_deref(),
            Some("a.n1")
        );
        assert_eq!(cookie_values(&["JSESSIONID="], C), None);
    }

    #[test]
    fn several_cookies_are_joined_in_order() {
        assert_eq!(
            cookie_values(&["JSESSIONID=abc.zzz; JSESSIONID=def.m1"], C).as_deref(),
            Some("abc.zzz;def.m1")
        );
        assert_eq!(
            cookie_values(&["a=b", "JSESSIONID=x.1", "JSESSIONID=y.2"], C).as_deref(),
            Some("x.1;y.2")
        );
    }

    #[test]
    fn path_parameter_wins_over_cookie_and_empty_means_none() {
        assert_eq!(
            session_ids("/a;jsessionid=p.n1", &["JSESSIONID=c.n2"], P, C).as_deref(),
            Some("p.n1")
        );
        assert_eq!(
            session_ids("/a", &["JSESSIONID=c.n2"], P, C).as_deref(),
            Some("c.n2")
        );
        assert_eq!(
            session_ids("/a;jsessionid=;x", &["JSESSIONID=c.n2"], P, C),
            None
        );
        assert_eq!(session_ids("/a", &["JSESSIONID=;x=1"], P, C), None);
        // A rule's `session_path=jsessionid` (without `;`) still matches.
        assert_eq!(
            session_ids("/a;jsessionid=p.n1", &[], "jsessionid", C).as_deref(),
            Some("p.n1")
        );
    }

    #[test]
    fn env_flags_follow_atoi() {
        assert!(env_flag(""));
        assert!(env_flag("1"));
        assert!(env_flag("-3"));
        assert!(!env_flag("0"));
        assert!(!env_flag("no"));
        assert_eq!(atoi("  42x"), 42);
    }
}
