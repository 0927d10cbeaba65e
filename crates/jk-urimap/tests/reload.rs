//! JkMountFile loading and JkMountFileReload (compat reference §4.5).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::sync::Arc;

use jk_urimap::{unix_now, MapError, ReloadOutcome, RuleSource, UriMap};

mod common;
use common::TempFile;

fn worker(map: &UriMap, uri: &str, now: u64) -> Option<String> {
    map.map_with_reload(uri, now).map(|m| m.worker.to_string())
}

#[test]
fn reload_replaces_file_rules_only() {
    let file = TempFile::new("reload", "/app/*=w1\n");
    let mut map = UriMap::new();
    map.add_mount("/jk/*", "jkw", false, RuleSource::JkMount, None)
        .unwrap();
    map.add_mount("/wd/*", "wd", false, RuleSource::WorkerDefinition, None)
        .unwrap();
    map.set_reload_interval(60);
    assert!(map.load_file(&file.0).unwrap().is_empty());
    assert_eq!(map.mount_file(), Some(file.0.as_path()));
    let t0 = unix_now();

    assert_eq!(worker(&map, "/app/x", t0).as_deref(), Some("w1"));

    file.rewrite("/other/*=w2\n-/jk/*=w3\n", 10);
    // Interval not yet passed: old rules.
    assert_eq!(worker(&map, "/other/x", t0 + 30), None);
    assert_eq!(worker(&map, "/app/x", t0 + 60), Some("w1".into()));
    assert!(map.take_reload_events().is_empty());

    // More than 60 s after the load: the change is noticed.
    assert_eq!(worker(&map, "/other/x", t0 + 61).as_deref(), Some("w2"));
    assert_eq!(worker(&map, "/app/x", t0 + 61), None);
    // JkMount and worker-definition rules survive; a disabled file rule does not remove them.
    assert_eq!(worker(&map, "/jk/x", t0 + 61).as_deref(), Some("jkw"));
    assert_eq!(worker(&map, "/wd/x", t0 + 61).as_deref(), Some("wd"));
    let events = map.take_reload_events();
    assert!(
        matches!(&events[..], [ReloadOutcome::Reloaded { rules: 2, warnings, .. }] if warnings.is_empty()),
        "{events:?}"
    );
    assert_eq!(map.len(), 4);

    // Unchanged file: nothing happens.
    assert_eq!(map.check_reload(t0 + 200, false), ReloadOutcome::Unchanged);
    // Checked at t0+200, so t0+230 is not due.
    assert_eq!(map.check_reload(t0 + 230, false), ReloadOutcome::NotDue);

    // A broken file keeps the old rules and is reported once.
    file.rewrite("/fine=w\nnot-a-pattern=w\n", 20);
    assert_eq!(worker(&map, "/other/x", t0 + 300).as_deref(), Some("w2"));
    assert_eq!(worker(&map, "/fine", t0 + 300), None);
    let events = map.take_reload_events();
    match &events[..] {
        [ReloadOutcome::Failed { message, .. }] => {
            assert!(
                message.contains(":2: invalid context 'not-a-pattern'"),
                "{message}"
            );
            assert!(message.ends_with("keeping the previous rules"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(map.check_reload(t0 + 400, false), ReloadOutcome::Unchanged);

    // Fixed again: reloaded.
    file.rewrite("/fine=w\n", 30);
    assert_eq!(worker(&map, "/fine", t0 + 500).as_deref(), Some("w"));

    // A file that cannot be stat'ed keeps the old rules.
    fs::remove_file(&file.0).unwrap();
    match map.force_reload_check(t0 + 501) {
        ReloadOutcome::Failed { message, .. } => {
            assert!(message.contains("cannot stat"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(worker(&map, "/fine", t0 + 502).as_deref(), Some("w"));
}

#[test]
fn reload_interval_zero_never_checks_but_force_does() {
    let file = TempFile::new("noreload", "/a=w1\n");
    let mut map = UriMap::new();
    map.set_reload_interval(0);
    map.load_file(&file.0).unwrap();
    let t0 = unix_now();
    file.rewrite("/a=w2\n", 10);
    assert_eq!(worker(&map, "/a", t0 + 100_000).as_deref(), Some("w1"));
    assert_eq!(map.check_reload(t0 + 100_000, false), ReloadOutcome::NotDue);
    // The status worker forces a check regardless of the interval.
    assert!(matches!(
        map.force_reload_check(t0),
        ReloadOutcome::Reloaded { rules: 1, .. }
    ));
    assert_eq!(worker(&map, "/a", t0).as_deref(), Some("w2"));
    assert_eq!(map.force_reload_check(t0), ReloadOutcome::Unchanged);
    // Forced checks are recorded for logging like the periodic ones.
    let events = map.take_reload_events();
    assert!(
        matches!(&events[..], [ReloadOutcome::Reloaded { .. }]),
        "{events:?}"
    );
}

#[test]
fn map_without_file_and_missing_file() {
    let map = UriMap::new();
    assert_eq!(map.force_reload_check(0), ReloadOutcome::NoFile);
    assert!(map.is_empty());
    let mut map = UriMap::new();
    let missing = std::env::temp_dir().join("jk-urimap-definitely-missing.properties");
    let err = map.load_file(&missing).unwrap_err();
    assert!(matches!(err, MapError::Io { .. }));
    assert!(
        err.to_string().starts_with("cannot read mount file"),
        "{err}"
    );
}

#[test]
fn load_file_reports_file_and_line() {
    let file = TempFile::new("badline", "# header\n/ok=w\n*.jsp=w\n");
    let mut map = UriMap::new();
    let err = map.load_file(&file.0).unwrap_err().to_string();
    let want = format!("{}:3: invalid context '*.jsp'", file.0.display());
    assert!(err.starts_with(&want), "{err}");
}

#[test]
fn concurrent_lookups_during_reload() {
    let file = TempFile::new("threads", "/a/*=w1\n");
    let mut map = UriMap::new();
    map.set_reload_interval(1);
    map.load_file(&file.0).unwrap();
    let map = Arc::new(map);
    let t0 = unix_now();
    file.rewrite("/a/*=w2\n", 10);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let map = Arc::clone(&map);
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for step in 0..200u64 {
                    let w = worker(&map, "/a/x", t0 + step / 50 + i % 2);
                    seen.push(w.unwrap());
                }
                seen
            })
        })
        .collect();
    for t in threads {
        let seen = t.join().unwrap();
        assert!(seen.iter().all(|w| w == "w1" || w == "w2"));
    }
    assert_eq!(map.map("/a/x").unwrap().worker.as_ref(), "w2");
    // Exactly one thread did the reload.
    let reloads = map
        .take_reload_events()
        .into_iter()
        .filter(|e| matches!(e, ReloadOutcome::Reloaded { .. }))
        .count();
    assert_eq!(reloads, 1);
}
