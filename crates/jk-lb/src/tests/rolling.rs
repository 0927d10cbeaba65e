//! Rolling restarts: hold, restart maintenance, readiness, probe lease, drain signal, slow
//! start.

use std::collections::BTreeMap;

use super::*;

fn rolling(hold_ms: u64) -> RollingSettings {
    RollingSettings {
        hold_timeout_ms: hold_ms,
        ..Default::default()
    }
}

fn rfx(extra: &str, settings: RollingSettings) -> Fx {
    let clock = Arc::new(FakeClock::new(T0));
    let region = region();
    let b = balancer_on(&config(extra), region, &clock).with_rolling(settings);
    Fx { b, clock, region }
}

fn held(b: &Balancer, cookie: &str) -> Option<usize> {
    let cookies = [cookie];
    let mut a = b.start(&cookie_req(&cookies));
    a.hold_for()
}

/// Brings a gated member back with `n` good probes.
fn probe_ok(b: &Balancer, i: usize, n: usize) {
    for _ in 0..n {
        b.probe_result(i, true);
    }
}

#[test]
fn hold_for_a_restarting_or_failed_member_only_with_a_session_route_and_hold_on() {
    let f = rfx("", rolling(5000));
    assert_eq!(f.b.hold_timeout(), Some(Duration::from_secs(5)));
    assert_eq!(held(&f.b, "JSESSIONID=x.a"), None, "a is up");
    f.b.set_restarting(0, true).unwrap();
    assert_eq!(held(&f.b, "JSESSIONID=x.a"), Some(0));
    assert_eq!(held(&f.b, "JSESSIONID=x.b"), None, "b is up");
    assert_eq!(held(&f.b, "JSESSIONID=nodot"), None, "no route");
    let mut a = f.b.start(&RequestInfo::default());
    assert_eq!(a.hold_for(), None, "no session");
    let c = a.next_member().unwrap();
    assert_eq!(c.name, "b");
    a.report(&c, OK, 200);
    // A failed member: hold too, also when an unknown route comes first.
    f.b.set_restarting(0, false).unwrap();
    probe_ok(&f.b, 0, 2);
    fail_member(&f.b, "b");
    assert!(f.b.snapshot(1).unwrap().awaiting_readiness);
    assert_eq!(held(&f.b, "JSESSIONID=x.zzz; JSESSIONID=y.b"), Some(1));
    // An earlier session id that reaches a usable member wins.
    assert_eq!(held(&f.b, "JSESSIONID=x.a; JSESSIONID=y.b"), None);
    // A stopped member is not waited for.
    f.b.set_activation(1, Activation::Stopped).unwrap();
    assert_eq!(held(&f.b, "JSESSIONID=y.b"), None);

    // Hold off: no hold, the sticky request fails over at once.
    let f = rfx("", rolling(0));
    assert_eq!(f.b.hold_timeout(), None);
    f.b.set_restarting(0, true).unwrap();
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    assert_eq!(a.hold_for(), None);
    assert_eq!(a.next_member().unwrap().name, "b");
    // hold_max 0 also disables it.
    let f = rfx(
        "",
        RollingSettings {
            hold_max: 0,
            ..rolling(5000)
        },
    );
    f.b.set_restarting(0, true).unwrap();
    assert_eq!(held(&f.b, "JSESSIONID=x.a"), None);
}

#[test]
fn a_held_request_goes_to_its_member_once_ready_or_fails_over_after_giving_up() {
    let f = rfx("", rolling(5000));
    f.b.set_restarting(0, true).unwrap();
    let mut waiting = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    assert_eq!(waiting.hold_for(), Some(0));
    assert!(!f.b.is_ready(0));
    // The restart ends; readiness needs two good probes.
    f.b.set_restarting(0, false).unwrap();
    f.b.probe_result(0, true);
    assert!(!f.b.is_ready(0));
    f.b.probe_result(0, true);
    assert!(f.b.is_ready(0));
    let c = waiting.next_member().unwrap();
    assert_eq!((c.name, c.sticky), ("a", true));
    waiting.report(&c, OK, 200);

    // Giving up: the normal failover follows.
    f.b.set_restarting(0, true).unwrap();
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    assert_eq!(a.hold_for(), Some(0));
    a.give_up_hold();
    assert_eq!(a.hold_for(), None, "given up");
    let c = a.next_member().unwrap();
    assert_eq!(c.name, "b");
    a.report(&c, OK, 200);
    assert_eq!(a.hold_for(), None, "never after a try");
}

#[test]
fn a_member_in_probe_is_held_for_but_one_in_recover_is_ready_for_its_trial() {
    let f = rfx("", rolling(5000));
    fail_member(&f.b, "a");
    f.b.recover(0).unwrap();
    assert!(!f.b.snapshot(0).unwrap().awaiting_readiness, "cmd=recover");
    assert!(f.b.is_ready(0));
    assert_eq!(held(&f.b, "JSESSIONID=x.a"), None);
    let mut trial = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let c = trial.next_member().unwrap();
    assert_eq!(state(&f.b, "a"), MemberState::Probe);
    assert_eq!(held(&f.b, "JSESSIONID=x.a"), Some(0));
    trial.report(&c, OK, 200);
    assert_eq!(held(&f.b, "JSESSIONID=x.a"), None);
}

#[test]
fn readiness_needs_n_consecutive_good_probes_and_a_bad_one_resets() {
    let mut members = BTreeMap::new();
    members.insert(
        "a".to_string(),
        MemberReadiness {
            ready_probes: 3,
            health_url: Some("/health".into()),
            slow_start_s: 0,
        },
    );
    let f = rfx(
        "",
        RollingSettings {
            members,
            ..rolling(5000)
        },
    );
    assert_eq!(f.b.readiness(0).unwrap().ready_probes, 3);
    assert_eq!(f.b.health_url(0), Some("/health"));
    assert_eq!(f.b.readiness(1).unwrap().ready_probes, 2, "defaults");
    assert_eq!(f.b.health_url(1), None);
    fail_member(&f.b, "a");
    // Maintenance does not send a user request as a trial to a member awaiting readiness.
    f.clock.advance(61);
    assert!(f.b.maintain());
    assert_eq!(state(&f.b, "a"), MemberState::Error);
    assert_eq!(f.b.snapshot(0).unwrap().time_to_recover, None);
    f.b.probe_result(0, true);
    f.b.probe_result(0, true);
    f.b.probe_result(0, false);
    let s = snap(&f.b, "a");
    assert_eq!((s.state, s.ready_probes_seen), (MemberState::Error, 0));
    f.b.probe_result(0, true);
    f.b.probe_result(0, true);
    assert_eq!(snap(&f.b, "a").ready_probes_seen, 2);
    assert_eq!(serve_new(&f.b), "b", "not back yet");
    f.b.probe_result(0, true);
    let s = snap(&f.b, "a");
    assert_eq!(
        (
            s.state,
            s.awaiting_readiness,
            s.ready_probes_seen,
            s.last_error_time
        ),
        (MemberState::Ok, false, 3, 0)
    );
    assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("a"));
}

#[test]
fn without_hold_an_error_member_recovers_the_mod_jk_way() {
    let f = rfx("", rolling(0));
    fail_member(&f.b, "a");
    assert!(!f.b.snapshot(0).unwrap().awaiting_readiness);
    assert!(f.b.fast_probe_targets(1_000).is_empty());
    f.clock.advance(61);
    assert_eq!(f.b.members_to_probe(), vec![0]);
    f.b.probe_result(0, true);
    assert_eq!(
        state(&f.b, "a"),
        MemberState::Ok,
        "one good probe, as before"
    );
}

#[test]
fn every_member_down_is_still_forced_into_recovery() {
    let f = rfx("", rolling(5000));
    fail_member(&f.b, "a");
    fail_member(&f.b, "b");
    let mut a = f.b.start(&RequestInfo::default());
    assert_eq!(a.hold_for(), None);
    let c = a.next_member().expect("forced recovery");
    a.report(&c, OK, 200);
    assert_eq!(state(&f.b, c.name), MemberState::Ok);
    assert!(!f.b.snapshot(c.index).unwrap().awaiting_readiness);
}

#[test]
fn restarting_member_gets_no_new_requests_but_in_flight_ones_finish() {
    let f = rfx("", rolling(0));
    let mut inflight = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let c = inflight.next_member().unwrap();
    assert_eq!(c.name, "a");
    f.b.set_restarting(0, true).unwrap();
    let s = snap(&f.b, "a");
    assert!(s.restarting && s.awaiting_readiness);
    assert_eq!(s.in_flight, 1);
    assert!(!f.b.idle(0, 0));
    for _ in 0..10 {
        assert_eq!(serve_new(&f.b), "b");
        assert_eq!(with_session(&f.b, "JSESSIONID=y.a").as_deref(), Some("b"));
    }
    let s = snap(&f.b, "b");
    assert_eq!(
        (s.last_sticky_time, s.recent_sessions),
        (0, 0),
        "a failover is no sticky request"
    );
    inflight.report(&c, OK, 200);
    let s = snap(&f.b, "a");
    assert_eq!((s.in_flight, s.state), (0, MemberState::Ok));
    assert!(s.restarting, "a finished request does not end the restart");
    assert_eq!(serve_new(&f.b), "b");
    // Probes during the restart are shown but do not bring it back.
    probe_ok(&f.b, 0, 5);
    let s = snap(&f.b, "a");
    assert_eq!((s.restarting, s.ready_probes_seen), (true, 5));
    assert!(!f.b.is_ready(0));
    assert_eq!(f.b.members_to_probe(), Vec::<usize>::new());
    // The restart ends: two fresh good probes are needed.
    f.b.set_restarting(0, false).unwrap();
    assert_eq!(f.b.members_to_probe(), vec![0], "slow path probes it too");
    let s = snap(&f.b, "a");
    assert_eq!(
        (s.restarting, s.awaiting_readiness, s.ready_probes_seen),
        (false, true, 0)
    );
    f.b.probe_result(0, true);
    assert_eq!(serve_new(&f.b), "b");
    f.b.probe_result(0, true);
    assert!(f.b.is_ready(0));
    assert_eq!(with_session(&f.b, "JSESSIONID=y.a").as_deref(), Some("a"));
    let (a, b) = count(&f.b, 100, &RequestInfo::default());
    assert!(a > 30 && b > 30, "{a} {b}: back in rotation, not flooded");
    assert!(f.b.set_restarting(7, true).is_err());
}

#[test]
fn probe_lease_goes_to_one_child_per_interval() {
    let f = rfx("", rolling(5000));
    let cfg = config("");
    let children: Vec<Balancer> = (0..4)
        .map(|k| {
            let b = balancer_on(&cfg, f.region, &f.clock).with_rolling(rolling(5000));
            b.set_child(ChildIndex(k));
            b
        })
        .collect();
    assert!(
        children[0].fast_probe_targets(10_000).is_empty(),
        "nothing down"
    );
    f.b.set_restarting(1, true).unwrap();
    let claims = |now_ms: u64| -> usize {
        std::thread::scope(|s| {
            let handles: Vec<_> = children
                .iter()
                .map(|b| {
                    s.spawn(move || {
                        (0..50)
                            .map(|_| b.fast_probe_targets(now_ms).len())
                            .sum::<usize>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        })
    };
    assert_eq!(claims(10_000), 1);
    assert_eq!(claims(10_499), 0, "within the interval");
    assert_eq!(claims(10_500), 1);
    assert_eq!(claims(10_700), 0);
    assert_eq!(claims(11_000), 1);
    assert_eq!(children[2].fast_probe_targets(11_500), vec![1]);
    // A clock that went back a long way does not block probing.
    assert_eq!(children[3].fast_probe_targets(2_000), vec![1]);
    // Back in rotation: no more readiness probes.
    f.b.set_restarting(1, false).unwrap();
    probe_ok(&f.b, 1, 2);
    assert!(children[0].fast_probe_targets(20_000).is_empty());
}

#[test]
fn drain_counters_last_sticky_time_and_recent_sessions() {
    let f = rfx("", rolling(0));
    assert_eq!(snap(&f.b, "a").recent_sessions, 0);
    serve_new(&f.b);
    assert_eq!(snap(&f.b, "a").last_sticky_time, 0, "not sticky");
    f.clock.advance(5);
    for k in 0..500 {
        with_session(&f.b, &format!("JSESSIONID=S{k:05}.a"));
        with_session(&f.b, &format!("JSESSIONID=S{k:05}.a")); // seen twice, counted once
    }
    let s = snap(&f.b, "a");
    assert_eq!(s.last_sticky_time, T0 + 5);
    assert!(
        (450..=550).contains(&s.recent_sessions),
        "estimate {} for 500",
        s.recent_sessions
    );
    assert_eq!(snap(&f.b, "b").recent_sessions, 0);
    // The next window still counts the previous one.
    let window = 60;
    f.clock.set((T0 / window + 1) * window + 1);
    for k in 0..100 {
        with_session(&f.b, &format!("JSESSIONID=T{k:05}.a"));
    }
    let r = snap(&f.b, "a").recent_sessions;
    assert!((540..=660).contains(&r), "estimate {r} for 600");
    // One window later only the 100 of the previous window count.
    f.clock.advance(window);
    let r = snap(&f.b, "a").recent_sessions;
    assert!((90..=110).contains(&r), "estimate {r} for 100");
    with_session(&f.b, "JSESSIONID=U1.a");
    let r = snap(&f.b, "a").recent_sessions;
    assert!((91..=111).contains(&r), "estimate {r} for 101");
    // Two quiet windows: nothing recent.
    f.clock.advance(2 * window);
    assert_eq!(snap(&f.b, "a").recent_sessions, 0);
    with_session(&f.b, "JSESSIONID=V1.a");
    assert_eq!(
        snap(&f.b, "a").recent_sessions,
        1,
        "old bitmaps were cleared"
    );
}

#[test]
fn session_window_is_configurable() {
    let f = rfx(
        "",
        RollingSettings {
            session_window_s: 10,
            ..rolling(0)
        },
    );
    for k in 0..50 {
        with_session(&f.b, &format!("JSESSIONID=S{k}.b"));
    }
    assert!(snap(&f.b, "b").recent_sessions >= 45);
    f.clock.advance(25);
    assert_eq!(snap(&f.b, "b").recent_sessions, 0);
}

#[test]
fn idle_means_nothing_in_flight_and_no_sticky_request_for_quiet_seconds() {
    let f = rfx("", rolling(0));
    assert!(f.b.idle(0, 30), "never used");
    assert!(!f.b.idle(9, 0));
    with_session(&f.b, "JSESSIONID=x.a");
    assert!(!f.b.idle(0, 30));
    assert!(f.b.idle(0, 0));
    f.clock.advance(29);
    assert!(!f.b.idle(0, 30));
    f.clock.advance(1);
    assert!(f.b.idle(0, 30));
    // Non-sticky requests do not keep it busy once they are done…
    serve_new(&f.b);
    serve_new(&f.b);
    assert!(f.b.idle(0, 30));
    // …but one in flight does.
    let mut a = f.b.start(&RequestInfo::default());
    let mut c = a.next_member().unwrap();
    if c.name != "a" {
        a.report(&c, OK, 200);
        a = f.b.start(&RequestInfo::default());
        c = a.next_member().unwrap();
    }
    assert_eq!(c.name, "a");
    assert!(!f.b.idle(0, 30));
    a.report(&c, OK, 200);
    assert!(f.b.idle(0, 30));
}

#[test]
fn slow_start_ramps_the_share_up_linearly() {
    let mut members = BTreeMap::new();
    members.insert(
        "a".to_string(),
        MemberReadiness {
            slow_start_s: 100,
            ..Default::default()
        },
    );
    let f = rfx(
        "",
        RollingSettings {
            members,
            ..rolling(5000)
        },
    );
    f.b.set_restarting(0, true).unwrap();
    for _ in 0..50 {
        serve_new(&f.b);
    }
    f.b.set_restarting(0, false).unwrap();
    probe_ok(&f.b, 0, 2);
    let returned = f.clock.now();
    let mut shares = Vec::new();
    for elapsed in [10, 25, 50, 100] {
        f.clock.set(returned + elapsed);
        let (a, _) = count(&f.b, 1000, &RequestInfo::default());
        shares.push(a);
    }
    // Weight elapsed/100 against b's 1: share f/(1+f).
    let want = [91.0, 200.0, 333.0, 500.0];
    for (got, want) in shares.iter().zip(want) {
        assert!(
            ((*got as f64) - want).abs() <= want * 0.15 + 5.0,
            "shares {shares:?}, want {want}"
        );
    }
    // Sticky requests are never delayed by the slow start.
    f.clock.set(returned + 1);
    assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("a"));
}

#[test]
fn busyness_slow_start_charge_is_taken_back() {
    let mut members = BTreeMap::new();
    members.insert(
        "a".to_string(),
        MemberReadiness {
            slow_start_s: 60,
            ..Default::default()
        },
    );
    let f = rfx(
        "worker.lb.method=B\n",
        RollingSettings {
            members,
            ..rolling(5000)
        },
    );
    f.b.set_restarting(0, true).unwrap();
    f.b.set_restarting(0, false).unwrap();
    probe_ok(&f.b, 0, 2);
    f.clock.advance(6);
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let c = a.next_member().unwrap();
    assert_eq!(c.name, "a");
    assert_eq!(snap(&f.b, "a").lb_value, 10, "one request weighs 60/6");
    a.report(&c, OK, 200);
    assert_eq!(snap(&f.b, "a").lb_value, 0);
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    a.next_member().unwrap();
    drop(a);
    assert_eq!(snap(&f.b, "a").lb_value, 0, "abandoned try released");
}
