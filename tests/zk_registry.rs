//! The registry client against a real ZooKeeper (Debian's 3.8, tests/support/zookeeper.rs):
//! a follower sees records come and go through its watch, keeps the last members while
//! ZooKeeper is down, and reconnects when it is back. Addresses 127.0.1.20-29.
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jk_zk::{ConnState, FollowConfig, Follower, Session};
use support::zookeeper::ZooKeeper;

fn follower(connect: &str, path: &str) -> Follower {
    let cfg = FollowConfig {
        connect: connect.into(),
        path: path.into(),
        session_timeout: Duration::from_secs(4),
        auth: None,
        tag: "lb".into(),
    };
    Follower::start(cfg, Arc::new(|l, m| eprintln!("[{l:?}] {m}"))).unwrap()
}

/// Waits until `f` holds for the follower's snapshot; returns how long it took.
fn until(f: &Follower, what: &str, secs: u64, ok: impl Fn(&jk_zk::Snapshot) -> bool) -> Duration {
    let t0 = Instant::now();
    let mut seen = 0;
    while t0.elapsed() < Duration::from_secs(secs) {
        let s = f.wait_newer(seen, Duration::from_millis(100));
        if ok(&s) {
            return t0.elapsed();
        }
        seen = s.version;
    }
    panic!("timed out waiting for {what}: {:?}", f.snapshot());
}

fn routes(s: &jk_zk::Snapshot) -> Vec<String> {
    s.members
        .iter()
        .flatten()
        .map(|i| i.route_or_id().to_string())
        .collect()
}

#[test]
fn follower_sees_records_come_and_go_and_survives_zookeeper_restart() {
    if let Err(e) = support::zookeeper::require_zookeeper() {
        panic!("{e}");
    }
    let mut zk = ZooKeeper::start_or_panic("127.0.1.21");
    eprintln!("zookeeper ready in {:?}", zk.startup);
    let path = "/services/app";
    let f = follower(&zk.hostport(), path);
    until(&f, "connected", 10, |s| s.state == ConnState::Connected);
    assert!(f.snapshot().members.is_none(), "no path yet: nothing read");

    let w = Session::connect(
        &zk.hostport(),
        Duration::from_secs(4),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    w.ensure_parents(&format!("{path}/tc1"), None).unwrap();
    let rec = jk_zk::record::build("app", "tc1", "127.0.1.22", 8009, "tc1", 1, 0);
    w.create(&format!("{path}/tc1"), &rec, true, None).unwrap();
    let took = until(&f, "tc1 listed", 5, |s| routes(s) == ["tc1"]);
    eprintln!("record seen after {took:?}");
    assert!(
        took < Duration::from_secs(1),
        "a watch, not polling: {took:?}"
    );
    assert_eq!(
        f.snapshot().world_writable,
        Some(true),
        "the path is world:anyone"
    );

    // A bad record is skipped, the good one stays.
    w.create(&format!("{path}/bad"), b"{\"address\":\"x y\"}", true, None)
        .unwrap();
    let rec2 = jk_zk::record::build("app", "tc2", "127.0.1.23", 8009, "r2", 1, 0);
    w.create(&format!("{path}/tc2"), &rec2, true, None).unwrap();
    until(&f, "tc1 and r2", 5, |s| routes(s) == ["tc1", "r2"]);

    // ZooKeeper killed: the last members stay, the state says so.
    zk.kill();
    until(&f, "disconnected", 10, |s| {
        s.state == ConnState::Disconnected
    });
    assert_eq!(
        routes(&f.snapshot()),
        ["tc1", "r2"],
        "the last members are kept"
    );
    std::thread::sleep(Duration::from_secs(2));
    zk.restart().unwrap();
    until(&f, "connected again", 20, |s| {
        s.state == ConnState::Connected
    });

    // A deletion after the restart is seen (the watch is back).
    w.delete(&format!("{path}/tc2"))
        .unwrap_or_else(|e| eprintln!("{e}"));
    until(&f, "r2 gone", 10, |s| routes(s) == ["tc1"]);
    drop(w);
    until(
        &f,
        "writer's session closed: its ephemeral nodes gone",
        10,
        |s| routes(s).is_empty(),
    );
    drop(f);
}
