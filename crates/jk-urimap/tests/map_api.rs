//! UriMap API details: add_mount validation, lookup reasons, rule listing, Location mounts.
#![allow(clippy::unwrap_used)]

use jk_urimap::{MapError, NoMatch, RuleKind, RuleSource, UriMap, MAX_URI_LEN};

fn mount(map: &mut UriMap, pattern: &str, spec: &str) -> Vec<String> {
    map.add_mount(pattern, spec, false, RuleSource::JkMount, None)
        .unwrap()
}

#[test]
fn uri_map_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<UriMap>();
    check::<jk_urimap::MatchResult>();
}

#[test]
fn jkmount_pattern_must_start_with_slash() {
    let mut map = UriMap::new();
    for bad in ["app/*", "*.jsp", "", "!/x", "-/x"] {
        let err = map
            .add_mount(
                bad,
                "w",
                false,
                RuleSource::JkMount,
                Some("httpd.conf:12".into()),
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("JkMount context should start with /"),
            "{text}"
        );
        assert!(text.starts_with("httpd.conf:12: "), "{text}");
        assert!(matches!(err, MapError::Rule { .. }));
    }
    assert!(map.is_empty());
}

#[test]
fn bad_worker_specs_are_errors() {
    let mut map = UriMap::new();
    assert!(map
        .add_mount("/a", "", false, RuleSource::JkMount, None)
        .is_err());
    assert!(map
        .add_mount("/a", "w;reply_timeout=x", false, RuleSource::JkMount, None)
        .is_err());
    assert!(map
        .add_mount("/a", "*", false, RuleSource::JkMount, None)
        .is_err());
    assert!(map
        .add_mount("/a", "*", true, RuleSource::JkMount, None)
        .is_ok());
}

#[test]
fn match_result_carries_worker_and_extensions() {
    let mut map = UriMap::new();
    let warnings = mount(
        &mut map,
        "/app/*",
        "lb;reply_timeout=3000;active=a,b;nope=1",
    );
    assert_eq!(warnings, ["/app/*: unknown rule extension 'nope=1'"]);
    let m = map.map("/app/x").unwrap();
    assert_eq!(&*m.worker, "lb");
    assert_eq!(m.ext.reply_timeout, 3000);
    assert!(m.ext.members(jk_config::Activation::Active).eq(["a", "b"]));
    assert_eq!(m.rule.pattern, "/app/*");
    assert_eq!(m.rule.type_text(), "Wildchar");
    assert_eq!(m.rule.source.to_string(), "JkMount");
}

#[test]
fn lookup_says_why_not() {
    let mut map = UriMap::new();
    mount(&mut map, "/app/*", "w");
    map.add_mount("/app/*.gif", "*", true, RuleSource::JkMount, None)
        .unwrap();
    assert_eq!(map.lookup("*").unwrap_err(), NoMatch::NotAbsolute);
    assert_eq!(map.lookup("/other").unwrap_err(), NoMatch::NoRule);
    assert_eq!(
        map.lookup("/app/a.gif").unwrap_err(),
        NoMatch::Excluded {
            pattern: "/app/*.gif".into()
        }
    );
    let long = format!("/app/{}", "x".repeat(MAX_URI_LEN));
    assert_eq!(map.lookup(&long).unwrap_err(), NoMatch::TooLong);
    map.set_reject_unsafe(true);
    assert_eq!(map.lookup("/app/%2e").unwrap_err(), NoMatch::Unsafe);
    // A raw URI with a path parameter is matched on the part before ';' (mod_jk does too).
    map.set_reject_unsafe(false);
    assert_eq!(&*map.lookup("/app/x;jsessionid=1").unwrap().worker, "w");
}

#[test]
fn same_pattern_mount_and_unmount_are_separate_rules() {
    let mut map = UriMap::new();
    mount(&mut map, "/x", "a");
    mount(&mut map, "/x", "b");
    map.add_mount("/x", "b", true, RuleSource::JkMount, None)
        .unwrap();
    let rules = map.rules();
    assert_eq!(rules.len(), 2);
    assert_eq!(&*rules[0].worker, "b");
    assert!(rules.iter().any(|r| r.exclusion));
}

#[test]
fn location_scoped_jkmount_uses_the_path_verbatim() {
    // <Location /jk-status> JkMount jk-status </Location>
    let mut map = UriMap::new();
    map.add_mount(
        "/jk-status",
        "jk-status",
        false,
        RuleSource::JkMount,
        Some("jk.conf:20".into()),
    )
    .unwrap();
    // <Location /app/*.do> JkMount lb </Location>: '*' in the path is a wildcard.
    mount(&mut map, "/app/*.do", "lb");
    // <Location /q?> : '?' too.
    mount(&mut map, "/q?", "q");
    assert_eq!(&*map.map("/jk-status").unwrap().worker, "jk-status");
    assert!(map.map("/jk-status/").is_none());
    assert!(map.map("/jk-status/x").is_none());
    assert_eq!(&*map.map("/app/a/b.do").unwrap().worker, "lb");
    assert_eq!(&*map.map("/q1").unwrap().worker, "q");
    let rules = map.rules();
    let status = rules.iter().find(|r| r.pattern == "/jk-status").unwrap();
    assert_eq!(status.kind, RuleKind::Exact);
    assert_eq!(status.loc.as_deref(), Some("jk.conf:20"));
}

#[test]
fn status_worker_view_of_rules() {
    let mut map = UriMap::new();
    map.add_mount("-!/a/*", "*", false, RuleSource::UriWorkerMap, None)
        .unwrap();
    map.add_mount("/b", "w", false, RuleSource::WorkerDefinition, None)
        .unwrap();
    let shown: Vec<(String, String, String)> = map
        .rules()
        .iter()
        .map(|r| (r.pattern.clone(), r.type_text(), r.source.to_string()))
        .collect();
    assert_eq!(
        shown,
        [
            (
                "/a/*".into(),
                "Disabled Unmount Wildchar".into(),
                "uriworkermap".into()
            ),
            ("/b".into(), "Exact".into(), "worker definition".into()),
        ]
    );
}

/// httpd decodes `/app/caf%E9/x` to the bytes `/app/caf` E9 `/x` (not UTF-8): normalised and
/// mapped byte for byte, never through U+FFFD.
#[test]
fn uris_that_are_not_utf8_are_normalised_and_mapped_as_bytes() {
    let mut map = UriMap::new();
    mount(&mut map, "/app/*", "w");
    mount(&mut map, "/caf?/x", "one_byte");
    mount(&mut map, "/exact\u{fffd}", "fffd");
    let clean = jk_urimap::normalize(b"/app/caf\xe9;jsessionid=A\xff/./\xe9x").unwrap();
    assert_eq!(clean, b"/app/caf\xe9/\xe9x");
    assert_eq!(&*map.map(&clean).unwrap().worker, "w");
    // `?` is one byte: the single byte E9 (a two-byte UTF-8 é would need `??`).
    assert_eq!(&*map.map(b"/caf\xe9/x").unwrap().worker, "one_byte");
    assert!(map.map("/caf\u{e9}/x").is_none());
    // A pattern spelling U+FFFD does not match the byte it would replace.
    assert_eq!(map.lookup(b"/exact\xe9").unwrap_err(), NoMatch::NoRule);
    assert_eq!(&*map.map("/exact\u{fffd}").unwrap().worker, "fffd");
    map.set_reject_unsafe(true);
    assert_eq!(&*map.map(b"/app/\xe9").unwrap().worker, "w");
    assert_eq!(map.lookup(b"/app/%\xe9").unwrap_err(), NoMatch::Unsafe);
}
