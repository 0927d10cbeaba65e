//! Virtual hosts and JkMountCopy (compat reference §4.6, pitfall 6).
#![allow(clippy::unwrap_used)]

use jk_urimap::{mount_copy_enabled, MapBuilder, MountCopy, UriMap};

mod common;
use common::TempFile;

fn worker(map: &UriMap, uri: &str) -> Option<String> {
    map.map(uri).map(|m| m.worker.to_string())
}

/// Main server: `JkMount /main/* m`, `JkUnMount /main/*.gif m`, `worker.w1.mount=/w1/*`.
fn main_server() -> (MapBuilder, UriMap) {
    let mut main = MapBuilder::new();
    main.jk_mount("/main/*", "m", Some("httpd.conf:1".into()))
        .unwrap();
    main.jk_unmount("/main/*.gif", "m", None).unwrap();
    main.worker_mount("w1", "/w1/*", None).unwrap();
    let (map, warnings) = main.build_main().unwrap();
    assert!(warnings.is_empty());
    (main, map)
}

#[test]
fn main_server_has_mounts_and_worker_definitions() {
    let (_, map) = main_server();
    assert_eq!(worker(&map, "/main/x").as_deref(), Some("m"));
    assert_eq!(worker(&map, "/main/x.gif"), None);
    assert_eq!(worker(&map, "/w1/x").as_deref(), Some("w1"));
}

#[test]
fn without_mount_copy_a_vhost_gets_nothing_from_main() {
    let (main, main_map) = main_server();
    let vhost = MapBuilder::new();
    let (map, _) = vhost.build_vhost(&main, &main_map, false).unwrap();
    assert!(map.is_empty());
    assert_eq!(worker(&map, "/main/x"), None);
    assert_eq!(worker(&map, "/w1/x"), None);

    let mut vhost = MapBuilder::new();
    vhost.jk_mount("/v/*", "v", None).unwrap();
    let (map, _) = vhost.build_vhost(&main, &main_map, false).unwrap();
    assert_eq!(worker(&map, "/v/x").as_deref(), Some("v"));
    assert_eq!(worker(&map, "/main/x"), None);
    assert_eq!(worker(&map, "/w1/x"), None);
}

/// Tested: vhost with `JkMountCopy On` only ⇒ main JkMount and `worker.w1.mount` both apply.
#[test]
fn mount_copy_on_without_own_mounts_shares_the_main_map() {
    let (main, main_map) = main_server();
    let vhost = MapBuilder::new();
    let (map, _) = vhost.build_vhost(&main, &main_map, true).unwrap();
    assert!(map.shares_rules_with(&main_map));
    assert_eq!(worker(&map, "/main/x").as_deref(), Some("m"));
    assert_eq!(worker(&map, "/w1/x").as_deref(), Some("w1"));
    assert_eq!(worker(&map, "/main/x.gif"), None);
}

/// Tested: vhost with `JkMountCopy On` plus its own JkMount ⇒ main JkMount rules apply but
/// the `worker.w1.mount` rule does not.
#[test]
fn mount_copy_on_with_own_mounts_copies_jkmounts_but_not_worker_mounts() {
    let (main, main_map) = main_server();
    let mut vhost = MapBuilder::new();
    vhost.jk_mount("/v/*", "v", None).unwrap();
    let (map, _) = vhost.build_vhost(&main, &main_map, true).unwrap();
    assert!(!map.shares_rules_with(&main_map));
    assert_eq!(worker(&map, "/v/x").as_deref(), Some("v"));
    assert_eq!(worker(&map, "/main/x").as_deref(), Some("m"));
    // The copied JkUnMount applies too.
    assert_eq!(worker(&map, "/main/x.gif"), None);
    assert_eq!(worker(&map, "/w1/x"), None);
}

#[test]
fn own_rule_wins_for_equal_patterns() {
    let mut main = MapBuilder::new();
    main.jk_mount("/app/*", "m1", None).unwrap();
    main.jk_mount("/app/*", "m2", None).unwrap(); // last wins in main
    main.jk_mount("/other/*", "o1", None).unwrap();
    main.jk_mount("/other/*", "o2", None).unwrap();
    main.jk_mount("/ctx|/*", "mc", None).unwrap();
    let (main_map, _) = main.build_main().unwrap();
    assert_eq!(worker(&main_map, "/app/x").as_deref(), Some("m2"));

    let mut vhost = MapBuilder::new();
    vhost.jk_mount("/app/*", "v", None).unwrap();
    vhost.jk_mount("/ctx", "vc", None).unwrap();
    let (map, _) = vhost.build_vhost(&main, &main_map, true).unwrap();
    assert_eq!(worker(&map, "/app/x").as_deref(), Some("v"));
    assert_eq!(worker(&map, "/other/x").as_deref(), Some("o2"));
    // Only the equal pattern of an expanded `|` mount is shadowed.
    assert_eq!(worker(&map, "/ctx").as_deref(), Some("vc"));
    assert_eq!(worker(&map, "/ctx/x").as_deref(), Some("mc"));
    // Own /app/* and /ctx, copied /other/* and /ctx/*: each pattern once.
    assert_eq!(map.len(), 4);
}

#[test]
fn main_mount_file_is_inherited_only_when_the_vhost_has_none() {
    let main_file = TempFile::new("main", "/mf/*=mainfile\n");
    let vhost_file = TempFile::new("vhost", "/vf/*=vhostfile\n");
    let mut main = MapBuilder::new();
    main.jk_mount("/main/*", "m", None).unwrap();
    main.set_mount_file(&main_file.0);
    let (main_map, _) = main.build_main().unwrap();
    assert_eq!(worker(&main_map, "/mf/x").as_deref(), Some("mainfile"));

    // Own JkMount, no own file: main's file comes along.
    let mut vhost = MapBuilder::new();
    vhost.jk_mount("/v/*", "v", None).unwrap();
    let (map, _) = vhost.build_vhost(&main, &main_map, true).unwrap();
    assert_eq!(worker(&map, "/mf/x").as_deref(), Some("mainfile"));
    assert_eq!(map.mount_file(), Some(main_file.0.as_path()));

    // Own file (its only mount directive): own file replaces main's, main JkMounts copied.
    let mut vhost = MapBuilder::new();
    vhost.set_mount_file(&vhost_file.0);
    assert!(vhost.has_own_mounts());
    let (map, _) = vhost.build_vhost(&main, &main_map, true).unwrap();
    assert_eq!(worker(&map, "/vf/x").as_deref(), Some("vhostfile"));
    assert_eq!(worker(&map, "/mf/x"), None);
    assert_eq!(worker(&map, "/main/x").as_deref(), Some("m"));

    // Without JkMountCopy the main file is not used.
    let mut vhost = MapBuilder::new();
    vhost.jk_mount("/v/*", "v", None).unwrap();
    let (map, _) = vhost.build_vhost(&main, &main_map, false).unwrap();
    assert_eq!(worker(&map, "/mf/x"), None);
    assert_eq!(map.mount_file(), None);
}

#[test]
fn shared_map_keeps_the_vhost_reject_unsafe_flag() {
    let (main, main_map) = main_server();
    let mut vhost = MapBuilder::new();
    vhost.set_reject_unsafe(true);
    let (map, _) = vhost.build_vhost(&main, &main_map, true).unwrap();
    assert!(map.shares_rules_with(&main_map));
    assert_eq!(worker(&map, "/main/a%b"), None);
    assert_eq!(worker(&main_map, "/main/a%b").as_deref(), Some("m"));
}

#[test]
fn changing_a_shared_map_copies_it_first() {
    let (main, main_map) = main_server();
    let (mut map, _) = MapBuilder::new()
        .build_vhost(&main, &main_map, true)
        .unwrap();
    map.add_mount(
        "/late/*",
        "late",
        false,
        jk_urimap::RuleSource::JkMount,
        None,
    )
    .unwrap();
    assert!(!map.shares_rules_with(&main_map));
    assert_eq!(worker(&map, "/late/x").as_deref(), Some("late"));
    assert_eq!(worker(&main_map, "/late/x"), None);
}

#[test]
fn mount_copy_all_in_main_server() {
    let main_setting = MountCopy::parse("All").ok();
    assert!(mount_copy_enabled(main_setting, None));
    assert!(!mount_copy_enabled(
        main_setting,
        MountCopy::parse("off").ok()
    ));
    let (main, main_map) = main_server();
    let vhost = MapBuilder::new();
    let (map, _) = vhost
        .build_vhost(&main, &main_map, mount_copy_enabled(main_setting, None))
        .unwrap();
    assert_eq!(worker(&map, "/main/x").as_deref(), Some("m"));
}

#[test]
fn directive_errors_and_warnings_come_at_collection_time() {
    let mut b = MapBuilder::new();
    let err = b
        .jk_mount("app/*", "w", Some("httpd.conf:7".into()))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "httpd.conf:7: JkMount context should start with / (got 'app/*')"
    );
    let warnings = b.jk_mount("/a", "w;bogus=1", None).unwrap();
    assert_eq!(warnings, ["/a: unknown rule extension 'bogus=1'"]);
    assert!(b.jk_unmount("x", "*", None).is_err());
    assert!(b.worker_mount("w", "-/disabled/*", None).is_ok());
    assert!(b.worker_mount("w", "nope", None).is_err());
    // Only the valid JkMount was recorded.
    let (map, _) = b.build_main().unwrap();
    assert_eq!(map.len(), 2);
}
