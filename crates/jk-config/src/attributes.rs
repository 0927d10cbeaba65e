//! The `worker.*` attribute names mod_jk 1.2.48 accepts, how repeated keys combine, and the
//! nearest known name for a misspelt one.

/// Attributes accepted by mod_jk 1.2.48 (`jk_util.c`'s list of supported properties).
pub const CURRENT: &[&str] = &[
    "secret",
    "reference",
    "host",
    "source",
    "port",
    "type",
    "connection_pool_size",
    "connection_pool_minsize",
    "connection_pool_timeout",
    "connection_acquire_timeout",
    "recovery_options",
    "connect_timeout",
    "prepost_timeout",
    "ping_timeout",
    "ping_mode",
    "reply_timeout",
    "socket_timeout",
    "socket_connect_timeout",
    "socket_buffer",
    "socket_keepalive",
    "connection_ping_interval",
    "lbfactor",
    "distance",
    "balance_workers",
    "sticky_session",
    "sticky_session_force",
    "session_cookie",
    "session_path",
    "set_session_cookie",
    "session_cookie_path",
    "route",
    "domain",
    "redirect",
    "mount",
    "method",
    "lock",
    "activation",
    "recover_time",
    "error_escalation_time",
    "max_reply_timeouts",
    "retry_interval",
    "busy_limit",
    "max_packet_size",
    "css",
    "ns",
    "xmlns",
    "doctype",
    "prefix",
    "read_only",
    "user",
    "user_case_insensitive",
    "good",
    "bad",
    "secretkey",
    "retries",
    "lb_retries",
    "fail_on_status",
    "list",
    "maintain",
    "prefer_ipv6",
    // mod_jk-rs extensions for rolling restarts (README "Rolling restarts").
    "hold_timeout",
    "hold_max",
    "probe_interval",
    "session_window",
    "replay_buffer",
    "ready_probes",
    "health_url",
    "slow_start",
    // mod_jk-rs extension: status writes only as a POST with the page's token.
    "write_requires_token",
    // mod_jk-rs extensions for runtime membership (README "Runtime membership").
    "growth",
    "template",
    "drain_timeout",
    "drain_idle",
    "discover_dns",
    "discover_interval",
    "discover_hold",
    "state_file",
    // mod_jk-rs: ZooKeeper discovery (README "ZooKeeper").
    "discovery",
    "discover_session_timeout",
    "discover_auth",
];

/// What a deprecated attribute still does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deprecated {
    /// Read as this current attribute when the current one is not set.
    Alias(&'static str),
    /// Read as `activation` (booleans `stopped`, then `disabled`) when activation is not set.
    Activation,
    /// Accepted and ignored (JNI worker settings, recycling, local workers).
    Ignored,
}

pub fn deprecated(attr: &str) -> Option<Deprecated> {
    Some(match attr {
        "cachesize" => Deprecated::Alias("connection_pool_size"),
        "cache_timeout" => Deprecated::Alias("connection_pool_timeout"),
        "balanced_workers" => Deprecated::Alias("balance_workers"),
        "jvm_route" => Deprecated::Alias("route"),
        "disabled" | "stopped" => Deprecated::Activation,
        "recycle_timeout" | "local_worker" | "local_worker_only" | "sysprops" | "stderr"
        | "stdout" | "mx" | "ms" | "class_path" | "bridge" | "jvm_lib" | "ld_path" | "cmd_line"
        | "native_lib" => Deprecated::Ignored,
        _ => return None,
    })
}

const DEPRECATED_NAMES: &[&str] = &[
    "cachesize",
    "cache_timeout",
    "recycle_timeout",
    "balanced_workers",
    "jvm_route",
    "local_worker",
    "local_worker_only",
    "disabled",
    "stopped",
    "sysprops",
    "stderr",
    "stdout",
    "mx",
    "ms",
    "class_path",
    "bridge",
    "jvm_lib",
    "ld_path",
    "cmd_line",
    "native_lib",
];

pub fn is_current(attr: &str) -> bool {
    CURRENT.contains(&attr)
}

pub fn is_known(attr: &str) -> bool {
    is_current(attr) || deprecated(attr).is_some()
}

/// How a key that is set again combines with its earlier value (mod_jk `jk_map.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// List attributes: joined with `,` (so `worker.list` may be given on many lines).
    List,
    /// Attributes ending in `_path`: joined with `:`.
    Path,
    /// `cmd_line`: joined with a space.
    CmdLine,
    /// The later value wins, with a warning.
    Replace,
    /// Everything else (free variables, `distance`, `secretkey`, ...): joined with `*`.
    Star,
}

impl Merge {
    pub fn separator(self) -> Option<&'static str> {
        match self {
            Merge::List => Some(","),
            Merge::Path => Some(":"),
            Merge::CmdLine => Some(" "),
            Merge::Replace => None,
            Merge::Star => Some("*"),
        }
    }
}

/// Lists mod_jk joins with `,`. `balanced_workers` is joined the same way here (mod_jk joins it
/// with `*`, which then names a member that does not exist).
fn is_list(attr: &str) -> bool {
    matches!(
        attr,
        "list"
            | "balance_workers"
            | "balanced_workers"
            | "mount"
            | "user"
            | "good"
            | "bad"
            | "fail_on_status"
    )
}

/// `attr` is the part after the last `.` of a `worker.` key, or `None` for a free variable.
pub fn merge_rule(attr: Option<&str>) -> Merge {
    match attr {
        None => Merge::Star,
        Some(a) if is_list(a) => Merge::List,
        Some(a) if a.ends_with("_path") => Merge::Path,
        Some("cmd_line") => Merge::CmdLine,
        Some("distance" | "secretkey") => Merge::Star,
        Some(a) if is_current(a) => Merge::Replace,
        Some(_) => Merge::Star,
    }
}

/// Which worker types read an attribute.
pub const AJP: u8 = 1;
pub const LB: u8 = 2;
pub const STATUS: u8 = 4;
const ANY: u8 = AJP | LB | STATUS;

pub fn applies_to(attr: &str) -> u8 {
    match attr {
        "type" | "reference" | "mount" => ANY,
        "list" | "maintain" => 0,
        "retries" | "lb_retries" | "retry_interval" | "secret" => AJP | LB,
        "balance_workers"
        | "balanced_workers"
        | "sticky_session"
        | "sticky_session_force"
        | "method"
        | "lock"
        | "recover_time"
        | "error_escalation_time"
        | "max_reply_timeouts"
        | "session_cookie"
        | "session_path"
        | "set_session_cookie"
        | "session_cookie_path"
        | "hold_timeout"
        | "hold_max"
        | "probe_interval"
        | "session_window"
        | "replay_buffer"
        | "growth"
        | "template"
        | "drain_timeout"
        | "drain_idle"
        | "discover_dns"
        | "discover_interval"
        | "discover_hold"
        | "discovery"
        | "discover_session_timeout"
        | "discover_auth"
        | "state_file" => LB,
        "read_only"
        | "user"
        | "user_case_insensitive"
        | "good"
        | "bad"
        | "css"
        | "prefix"
        | "ns"
        | "xmlns"
        | "doctype"
        | "write_requires_token" => STATUS,
        _ => AJP,
    }
}

/// Edit distance (insertions, deletions, substitutions), on chars.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The known name closest to `word`, if it is close enough to be a plausible typo.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let len = word.chars().count();
    let limit = (len / 3).max(2);
    candidates
        .iter()
        // The distance is at least the difference in length: skip the quadratic computation
        // for candidates that cannot be close enough (a long garbage key against every name).
        .filter(|c| len.abs_diff(c.chars().count()) <= limit)
        .map(|c| (levenshtein(&lower, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The attribute closest to a misspelt one (current names first, then deprecated ones).
pub fn nearest_attribute(word: &str) -> Option<&'static str> {
    nearest(word, CURRENT).or_else(|| nearest(word, DEPRECATED_NAMES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_deprecated() {
        assert!(is_known("port"));
        assert!(is_known("cachesize"));
        assert!(!is_known("prot"));
        assert_eq!(deprecated("jvm_route"), Some(Deprecated::Alias("route")));
        assert_eq!(deprecated("disabled"), Some(Deprecated::Activation));
        assert_eq!(deprecated("mx"), Some(Deprecated::Ignored));
        assert_eq!(deprecated("port"), None);
        for d in DEPRECATED_NAMES {
            assert!(deprecated(d).is_some(), "{d}");
        }
    }

    #[test]
    fn merge_rules() {
        assert_eq!(merge_rule(Some("list")), Merge::List);
        assert_eq!(merge_rule(Some("balance_workers")), Merge::List);
        assert_eq!(merge_rule(Some("fail_on_status")), Merge::List);
        assert_eq!(merge_rule(Some("session_path")), Merge::Path);
        assert_eq!(merge_rule(Some("class_path")), Merge::Path);
        assert_eq!(merge_rule(Some("cmd_line")), Merge::CmdLine);
        assert_eq!(merge_rule(Some("port")), Merge::Replace);
        assert_eq!(merge_rule(Some("distance")), Merge::Star);
        assert_eq!(merge_rule(Some("mx")), Merge::Star);
        assert_eq!(merge_rule(None), Merge::Star);
        assert_eq!(Merge::Path.separator(), Some(":"));
        assert_eq!(Merge::Replace.separator(), None);
    }

    #[test]
    fn applicability() {
        assert_eq!(applies_to("port"), AJP);
        assert_eq!(applies_to("sticky_session"), LB);
        assert_eq!(applies_to("css"), STATUS);
        assert_eq!(applies_to("mount"), AJP | LB | STATUS);
        assert_eq!(applies_to("secret"), AJP | LB);
    }

    #[test]
    fn levenshtein_distances() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("prot", "port"), 2);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("", "ab"), 2);
        assert_eq!(levenshtein("héllo", "hello"), 1);
    }

    #[test]
    fn nearest_names() {
        assert_eq!(nearest_attribute("prot"), Some("port"));
        assert_eq!(nearest_attribute("lbfacter"), Some("lbfactor"));
        assert_eq!(nearest_attribute("Host"), Some("host"));
        assert_eq!(nearest_attribute("balance_worker"), Some("balance_workers"));
        assert_eq!(nearest_attribute("cachsize"), Some("cachesize"));
        assert_eq!(nearest_attribute("completely_unrelated"), None);
        // One insertion or deletion at the edge of the length bound still counts.
        assert_eq!(nearest_attribute("hostt"), Some("host"));
        assert_eq!(nearest_attribute("prt"), Some("port"));
    }

    /// The length bound agrees with the full computation for every known name (found while
    /// fuzzing: long garbage keys spent most of the time in levenshtein against every name).
    #[test]
    fn length_bound_changes_no_answer() {
        let long = "x".repeat(8000);
        assert_eq!(nearest_attribute(&long), None);
        for name in CURRENT.iter().chain(DEPRECATED_NAMES) {
            for word in [
                format!("{name}x"),
                format!("x{name}"),
                name[1..].to_string(),
                format!("{name}_{name}"),
            ] {
                let full = CURRENT
                    .iter()
                    .map(|c| (levenshtein(&word.to_ascii_lowercase(), c), *c))
                    .filter(|(d, _)| *d <= (word.chars().count() / 3).max(2))
                    .min_by_key(|(d, _)| *d)
                    .map(|(_, c)| c);
                assert_eq!(nearest(&word, CURRENT), full, "{word}");
            }
        }
    }
}
