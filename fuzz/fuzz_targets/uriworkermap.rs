//! uriworkermap.properties text (`JkMountFile`), from arbitrary bytes read as the module reads
//! the file (lossy UTF-8), through the mount-file parser and, for the rules it accepts, the URI
//! map's precedence and lookup. Run with `cargo +nightly fuzz run uriworkermap`.
//!
//! Asserted, beyond "no panic":
//! * every rule has a pattern starting with `/`, a non-empty worker (`*` only on unmount
//!   rules), its file location, the kind its pattern implies, and no two rules share
//!   pattern + flags (the last line wins);
//! * written back as `[-][!]pattern=worker` lines (rules without extensions, `|` or `$(`),
//!   the rules parse again to the same rules;
//! * the map orders rules by mod_jk's precedence (more `/` first, then longer), and a lookup
//!   answers with an enabled mount rule that matches and that no unmount rule vetoes, or says
//!   truthfully why not.
#![no_main]

use jk_urimap::{parse_uriworkermap_with_env, NoMatch, Rule, RuleKind, RuleSource, UriMap};
use libfuzzer_sys::fuzz_target;

fn env(name: &str) -> Option<String> {
    // Deterministic: only one variable exists.
    (name == "JK_WORKER").then(|| "lb".to_owned())
}

fn prefixes(rule: &Rule) -> &'static str {
    match (rule.disabled, rule.exclusion) {
        (true, true) => "-!",
        (true, false) => "-",
        (false, true) => "!",
        (false, false) => "",
    }
}

fn shape(r: &Rule) -> (String, String, RuleKind, bool, bool) {
    (
        r.pattern.clone(),
        r.worker.to_string(),
        r.kind,
        r.exclusion,
        r.disabled,
    )
}

fuzz_target!(|data: &[u8]| {
    let (rules, warnings) = match parse_uriworkermap_with_env(data, "uwm.properties", &env) {
        Ok(ok) => ok,
        Err(e) => {
            assert!(e.to_string().starts_with("uwm.properties:"), "{e}");
            return;
        }
    };
    for w in &warnings {
        assert!(w.starts_with("uwm.properties:"), "{w}");
    }
    for (i, r) in rules.iter().enumerate() {
        assert!(r.pattern.starts_with('/'), "{r:?}");
        assert!(!r.worker.is_empty());
        assert!(&*r.worker != "*" || r.exclusion, "{r:?}");
        assert_eq!(r.source, RuleSource::UriWorkerMap);
        assert!(r
            .loc
            .as_deref()
            .is_some_and(|l| l.starts_with("uwm.properties:")));
        assert_eq!(r.kind, RuleKind::of(&r.pattern));
        let _ = r.type_text();
        for other in &rules[..i] {
            assert!(
                (&other.pattern, other.exclusion, other.disabled)
                    != (&r.pattern, r.exclusion, r.disabled),
                "duplicate rule {r:?}"
            );
        }
    }

    // Written back: rules whose line means the same thing again.
    let plain: Vec<&Rule> = rules
        .iter()
        .filter(|r| {
            r.ext.is_default()
                && r.pattern == r.pattern.trim()
                && !r.pattern.contains('|')
                && !r.worker.contains("$(")
                && !r.worker.contains(['\n', '\r'])
                && !r.pattern.contains(['\n', '\r'])
                && r.pattern.len() + r.worker.len() + 3 <= jk_config::lexer::MAX_LINE_BYTES
        })
        .collect();
    let mut written = String::new();
    for r in &plain {
        written.push_str(&format!("{}{}={}\n", prefixes(r), r.pattern, r.worker));
    }
    match parse_uriworkermap_with_env(written.as_bytes(), "again.properties", &env) {
        Ok((again, _)) => {
            let want: Vec<_> = plain.iter().map(|r| shape(r)).collect();
            let got: Vec<_> = again.iter().map(shape).collect();
            assert_eq!(got, want, "written back:\n{written}");
            assert!(again.iter().all(|r| r.ext.is_default()));
        }
        Err(e) => panic!("written back rules do not parse: {e}\n{written}"),
    }

    // The map built from the same rules (what lookup depends on: pattern, worker, flags).
    let mut map = UriMap::new();
    for r in &plain {
        let pattern = format!("{}{}", prefixes(r), r.pattern);
        if let Err(e) = map.add_mount(&pattern, &r.worker, false, RuleSource::UriWorkerMap, None) {
            panic!("{pattern}={}: {e}", r.worker);
        }
    }
    let sorted = map.rules();
    assert_eq!(sorted.len(), plain.len());
    let key = |r: &Rule| {
        let slashes = r.pattern.bytes().filter(|&b| b == b'/').count();
        (
            std::cmp::Reverse(slashes),
            std::cmp::Reverse(r.pattern.len()),
        )
    };
    assert!(sorted.windows(2).all(|w| key(&w[0]) <= key(&w[1])));

    // Probe URIs made from the patterns: `*` and `?` filled in, cut to a sane length.
    for r in plain.iter().take(8) {
        let probe: String = r
            .pattern
            .replace('*', "x/y")
            .replace('?', "q")
            .chars()
            .take(256)
            .collect();
        check_lookup(&map, &sorted, probe.as_bytes());
    }
    check_lookup(&map, &sorted, b"/");
    check_lookup(&map, &sorted, b"/app/index.jsp");
});

fn check_lookup(map: &UriMap, sorted: &[Rule], uri: &[u8]) {
    let cut = uri
        .iter()
        .position(|&b| b == b';')
        .map_or(uri, |s| &uri[..s]);
    let vetoes = |worker: &str| {
        sorted.iter().find(|v| {
            v.exclusion
                && !v.disabled
                && (&*v.worker == worker || &*v.worker == "*")
                && v.matches(cut)
        })
    };
    match map.lookup(uri) {
        Ok(m) => {
            assert!(!m.rule.disabled && !m.rule.exclusion);
            assert!(m.rule.matches(cut));
            assert_eq!(m.worker, m.rule.worker);
            assert!(
                vetoes(&m.worker).is_none(),
                "{uri:?} mapped despite an unmount rule"
            );
            // The first matching mount rule in precedence order wins.
            let first = sorted
                .iter()
                .find(|r| !r.disabled && !r.exclusion && r.matches(cut));
            assert_eq!(first.map(|r| &r.pattern), Some(&m.rule.pattern));
        }
        Err(NoMatch::NoRule) => {
            assert!(!sorted
                .iter()
                .any(|r| !r.disabled && !r.exclusion && r.matches(cut)));
        }
        Err(NoMatch::Excluded { pattern }) => {
            assert!(sorted
                .iter()
                .any(|r| r.exclusion && !r.disabled && r.pattern == pattern && r.matches(cut)));
        }
        Err(NoMatch::TooLong | NoMatch::NotAbsolute | NoMatch::Unsafe) => {
            assert!(uri.first() != Some(&b'/') || uri.len() > jk_urimap::MAX_URI_LEN);
        }
    }
}
