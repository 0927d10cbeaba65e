//! Runtime membership: growth slots claimed, joining through readiness, draining, freed;
//! routes learned; the slots invisible while free.

use super::*;

/// A balancer with the runtime's rolling settings (readiness per member from the
/// configuration: growth slots copy their template's) and hold on.
fn mfx(extra: &str) -> Fx {
    let clock = Arc::new(FakeClock::new(T0));
    let region = region();
    let cfg = config(&format!("worker.lb.hold_timeout=2000\n{extra}"));
    let (lb, members) = lb_and_members(&cfg);
    let b = balancer_on(&cfg, region, &clock)
        .with_rolling(RollingSettings::from_config(lb, &members, 8));
    Fx { b, clock, region }
}

fn claim(b: &Balancer, label: &str, route: Option<&str>) -> usize {
    b.claim_slot(&Claim {
        label: Some(label),
        route,
        origin: Origin::Runtime,
        successor_of: None,
    })
    .unwrap()
}

/// The members `n` new requests went to, with their counts.
fn chosen(b: &Balancer, n: usize) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        *seen.entry(serve_new(b)).or_default() += 1;
    }
    seen
}

use std::collections::BTreeMap;

#[test]
fn free_growth_slots_are_invisible_and_never_chosen() {
    let f = mfx("");
    let b = &f.b;
    assert_eq!(b.member_count(), 2 + jk_config::DEFAULT_GROWTH as usize);
    assert_eq!(b.growth_capacity(), jk_config::DEFAULT_GROWTH as usize);
    assert_eq!(b.members_in_use(), 2);
    let snap = b.lb_snapshot();
    assert_eq!(
        snap.members
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(snap.member_slots, 6);
    assert_eq!(snap.members[0].origin, Origin::Config);
    assert_eq!(snap.members[0].lifecycle, Lifecycle::Active);
    let seen = chosen(b, 40);
    assert_eq!(seen.keys().collect::<Vec<_>>(), ["a", "b"]);
    // All configured members down: forced recovery still happens (free slots do not count
    // as members that are not in error).
    fail_member(b, "a");
    fail_member(b, "b");
    f.clock.advance(1);
    let mut a = b.start(&RequestInfo::default());
    assert!(a.next_member().is_some(), "forced recovery picks a member");
}

#[test]
fn an_added_member_joins_after_readiness_then_takes_its_share() {
    let f = mfx("worker.a.ready_probes=3");
    let b = &f.b;
    let i = claim(b, "app3", Some("tc3"));
    assert!(b.is_growth(i));
    assert_eq!(b.lifecycle(i), Lifecycle::Joining);
    assert_eq!(b.origin(i), Origin::Runtime);
    assert_eq!(b.find_member("app3"), Some(i));
    assert_eq!(b.display_name(i), "app3");
    assert_eq!(b.members_in_use(), 3);
    assert!(b.awaiting_readiness(i));
    // Joining: no new request, no sticky one either.
    assert!(!chosen(b, 30).contains_key(b.member_name(i).unwrap()));
    assert_ne!(
        with_session(b, "JSESSIONID=x.tc3").as_deref(),
        b.member_name(i)
    );
    // The template (a) asks for 3 good probes: the growth slot copied it.
    b.probe_result(i, true);
    b.probe_result(i, true);
    assert_eq!(b.lifecycle(i), Lifecycle::Joining);
    b.probe_result(i, true);
    assert_eq!(b.lifecycle(i), Lifecycle::Active);
    assert!(!b.awaiting_readiness(i));
    let name = b.member_name(i).unwrap().to_string();
    assert_eq!(with_session(b, "JSESSIONID=x.tc3"), Some(name.clone()));
    let seen = chosen(b, 60);
    assert!(seen.get(&name).copied().unwrap_or(0) >= 10, "{seen:?}");
    let s = b.lb_snapshot();
    let m = s.members.iter().find(|m| m.name == "app3").unwrap();
    assert_eq!(
        (m.worker.as_str(), m.route.as_str()),
        (name.as_str(), "tc3")
    );
    assert_eq!(m.lifecycle, Lifecycle::Active);
}

#[test]
fn claims_are_refused_for_taken_names_routes_and_a_full_table() {
    let f = mfx("worker.lb.growth=2");
    let b = &f.b;
    let e = b
        .claim_slot(&Claim {
            label: Some("a"),
            route: None,
            origin: Origin::Runtime,
            successor_of: None,
        })
        .unwrap_err();
    assert!(e.contains("already has a member named 'a'"), "{e}");
    let e = b
        .claim_slot(&Claim {
            label: Some("x"),
            route: Some("b"),
            origin: Origin::Runtime,
            successor_of: None,
        })
        .unwrap_err();
    assert!(
        e.contains("route 'b' is already the route of member 'b'"),
        "{e}"
    );
    claim(b, "x", None);
    claim(b, "y", None);
    let e = b
        .claim_slot(&Claim {
            label: Some("z"),
            route: None,
            origin: Origin::Runtime,
            successor_of: None,
        })
        .unwrap_err();
    assert!(
        e.contains("no free member slot (4 in use; raise worker.lb.growth)"),
        "{e}"
    );
    let e = b.start_drain(0, 60).unwrap_err();
    assert!(e.contains("comes from workers.properties"), "{e}");
}

#[test]
fn a_removed_member_drains_keeps_its_sessions_then_is_freed() {
    let f = mfx("");
    let b = &f.b;
    let i = claim(b, "app3", Some("tc3"));
    probe_ok_n(b, i, 2);
    let name = b.member_name(i).unwrap().to_string();
    b.start_drain(i, 300).unwrap();
    assert_eq!(b.lifecycle(i), Lifecycle::Draining);
    // No new sessions; its own sessions still reach it.
    assert!(!chosen(b, 40).contains_key(&name));
    assert_eq!(with_session(b, "JSESSIONID=x.tc3"), Some(name.clone()));
    assert!(!b.drained(i, 10), "a sticky request just now");
    f.clock.advance(9);
    assert!(!b.drained(i, 10));
    f.clock.advance(1);
    assert!(b.drained(i, 10), "idle for drain_idle");
    assert_eq!(b.drained_members(10), [i]);
    assert!(b.free_slot(i));
    assert!(!b.free_slot(i), "freed once");
    assert_eq!(b.lifecycle(i), Lifecycle::Free);
    assert_eq!(b.find_member("app3"), None);
    assert_eq!(b.members_in_use(), 2);
    assert_eq!(b.lb_snapshot().members.len(), 2);
    // Its sessions now fail over like any vanished route.
    let to = with_session(b, "JSESSIONID=x.tc3").unwrap();
    assert!(to == "a" || to == "b", "{to}");
    // The slot is reused, clean.
    let j = claim(b, "app4", None);
    assert_eq!(j, i);
    let s = b.snapshot(j).unwrap();
    assert_eq!((s.elected, s.route.as_str()), (0, name.as_str()));
    assert!(s.learning_route);
}

#[test]
fn a_busy_draining_member_is_freed_at_its_deadline() {
    let f = mfx("");
    let b = &f.b;
    let i = claim(b, "app3", Some("tc3"));
    probe_ok_n(b, i, 2);
    b.start_drain(i, 30).unwrap();
    for _ in 0..6 {
        f.clock.advance(5);
        with_session(b, "JSESSIONID=x.tc3");
        assert!(!b.drained(i, 10) || f.clock.now() >= T0 + 30);
    }
    assert!(b.drained(i, 10), "deadline passed");
    // Removing again does not move the deadline.
    let f = mfx("");
    let b = &f.b;
    let i = claim(b, "app3", Some("tc3"));
    b.start_drain(i, 30).unwrap();
    f.clock.advance(20);
    b.start_drain(i, 30).unwrap();
    f.clock.advance(10);
    assert!(b.drained(i, 1000));
}

#[test]
fn a_route_is_learned_and_a_replacement_waits_as_standby_until_the_handover() {
    let f = mfx("");
    let b = &f.b;
    let i = claim(b, "old", None);
    probe_ok_n(b, i, 2);
    assert!(b.learning_route(i));
    assert_eq!(b.learn_route(i, "tc3"), Ok(true));
    assert!(!b.learning_route(i));
    assert_eq!(b.member_with_route("tc3"), Some(i));
    let old = b.member_name(i).unwrap().to_string();
    assert_eq!(with_session(b, "JSESSIONID=s.tc3"), Some(old.clone()));
    assert_eq!(b.learn_route(i, "tc9"), Ok(false), "learned once");
    // A replacement with the same jvmRoute on a new address (start-first update): it waits
    // as standby while the older one serves; the route stays.
    let j = claim(b, "new", None);
    probe_ok_n(b, j, 2);
    assert_eq!(b.learn_route(j, "tc3"), Ok(true));
    assert_eq!(b.lifecycle(j), Lifecycle::Standby);
    assert_eq!((b.successor(i), b.predecessor(j)), (Some(j), Some(i)));
    assert_eq!(b.member_with_route("tc3"), Some(i));
    assert_eq!(with_session(b, "JSESSIONID=s.tc3"), Some(old.clone()));
    assert!(
        !chosen(b, 30).contains_key(b.member_name(j).unwrap()),
        "standby: no traffic"
    );
    // The older one's backend stopped: the route moves, the older one drains.
    assert_eq!(b.hand_over(i), Some(j));
    assert!(b.handed_over(i));
    assert_eq!(b.member_with_route("tc3"), Some(j));
    assert_eq!(b.lifecycle(i), Lifecycle::Draining);
    assert_eq!(b.lifecycle(j), Lifecycle::Active);
    assert_eq!(
        with_session(b, "JSESSIONID=s.tc3").as_deref(),
        b.member_name(j)
    );
    assert_eq!(b.hand_over(i), None, "once");
    // A configured member's route: the learner becomes its standby; nonsense is refused.
    let k = claim(b, "third", None);
    assert!(b.learn_route(k, "x y").is_err());
    assert!(b.learning_route(k));
    assert_eq!(b.learn_route(k, "a"), Ok(true));
    assert_eq!(
        (b.lifecycle(k), b.successor(0)),
        (Lifecycle::Standby, Some(k))
    );
    assert_eq!(
        b.member_with_route("a"),
        Some(0),
        "a keeps its route while it serves"
    );
    let l = claim(b, "fourth", None);
    assert!(b
        .learn_route(l, "a")
        .unwrap_err()
        .contains("already has a successor"));
}

#[test]
fn a_route_learned_after_its_old_member_began_draining_waits_as_its_standby() {
    // Swarm removed the old task from DNS (it drains) before the new one learned the route:
    // the old one's Tomcat may still be saving its sessions, so the new one waits as standby.
    let f = mfx("");
    let b = &f.b;
    let i = claim(b, "old", Some("tc3"));
    probe_ok_n(b, i, 2);
    b.start_drain(i, 30).unwrap();
    let j = claim(b, "new", None);
    probe_ok_n(b, j, 2);
    assert_eq!(b.learn_route(j, "tc3"), Ok(true));
    assert_eq!(b.lifecycle(j), Lifecycle::Standby);
    assert_eq!((b.successor(i), b.predecessor(j)), (Some(j), Some(i)));
    assert_eq!(b.member_with_route("tc3"), Some(i));
    assert!(!b.route_learner_pending());
    // Its backend stopped: the route moves; requests held for the old one go on, and the
    // new one takes the old one's place in the balance (not flooded with new sessions).
    for _ in 0..10 {
        assert_eq!(
            with_session(b, "JSESSIONID=s.tc3"),
            b.member_name(i).map(String::from)
        );
    }
    let old_value = b.snapshot(i).unwrap().lb_value;
    assert!(old_value > b.snapshot(j).unwrap().lb_value, "{old_value}");
    assert_eq!(b.hand_over(i), Some(j));
    assert_eq!(b.snapshot(j).unwrap().lb_value, old_value);
    assert!(b.handed_over(i));
    assert_eq!(b.member_with_route("tc3"), Some(j));
    assert_eq!(b.lifecycle(j), Lifecycle::Active);
    // Its address came back (DNS): it serves again under its own name, nothing handed over.
    assert!(b.undrain(i));
    assert!(!b.handed_over(i));
    assert_eq!(b.member_with_route("tc3"), Some(j));
}

#[test]
fn a_route_held_by_a_member_that_never_served_goes_to_the_learner_at_once() {
    // A member the state file brought back from an earlier deployment (its address gone: it
    // never passes readiness) must not keep a new task of its route waiting as its standby.
    let f = mfx("");
    let b = &f.b;
    let stale = claim(b, "stale", Some("tc3"));
    assert_eq!(b.lifecycle(stale), Lifecycle::Joining);
    let j = claim(b, "new", None);
    probe_ok_n(b, j, 2);
    assert_eq!(b.learn_route(j, "tc3"), Ok(true));
    assert_eq!(b.lifecycle(j), Lifecycle::Active);
    assert_eq!(b.member_with_route("tc3"), Some(j));
    assert!(b.handed_over(stale));
    assert_eq!(
        with_session(b, "JSESSIONID=s.tc3").as_deref(),
        b.member_name(j)
    );
}

#[test]
fn a_configured_member_hands_over_to_a_standby_added_for_it() {
    let f = mfx("");
    let b = &f.b;
    let s = b
        .claim_slot(&Claim {
            label: Some("a-next"),
            route: None,
            origin: Origin::Runtime,
            successor_of: Some(0),
        })
        .unwrap();
    assert_eq!(b.lifecycle(s), Lifecycle::Standby);
    let e = b
        .claim_slot(&Claim {
            label: Some("a-next2"),
            route: None,
            origin: Origin::Runtime,
            successor_of: Some(0),
        })
        .unwrap_err();
    assert!(e.contains("already hands over to 'a-next'"), "{e}");
    // Not ready yet at the handover: it takes the route and joins when its probes pass.
    assert_eq!(b.hand_over(0), Some(s));
    assert_eq!(b.lifecycle(s), Lifecycle::Joining);
    assert_eq!(b.snapshot(s).unwrap().route, "a");
    assert_eq!(b.snapshot(0).unwrap().activation, Activation::Stopped);
    assert_eq!(b.snapshot(0).unwrap().route, "a~old");
    assert_eq!(
        b.member_with_route("a"),
        Some(s),
        "the standby's route wins the lookup"
    );
    probe_ok_n(b, s, 2);
    assert_eq!(b.lifecycle(s), Lifecycle::Active);
    assert_eq!(
        with_session(b, "JSESSIONID=x.a").as_deref(),
        b.member_name(s)
    );
}

#[test]
fn one_configured_member_keeps_the_one_member_shortcut_until_another_joins() {
    let f = mfx("worker.lb.balance_workers=a\n");
    let b = &f.b;
    assert_eq!(b.only_member(), Some(0));
    let i = claim(b, "two", Some("r2"));
    assert_eq!(b.only_member(), None);
    assert!(b.free_slot(i));
    assert_eq!(b.only_member(), Some(0));
}

#[test]
fn a_graceful_restart_keeps_runtime_members() {
    let clock = Arc::new(FakeClock::new(T0));
    let region = region();
    let cfg = config("");
    let b = balancer_on(&cfg, region, &clock);
    let i = claim(&b, "app3", Some("tc3"));
    b.probe_result(i, true);
    b.probe_result(i, true);
    drop(b);
    // The next generation finds the slots again (same configuration).
    let b = balancer_on(&cfg, region, &clock);
    assert_eq!(b.find_member("app3"), Some(i));
    assert_eq!(b.lifecycle(i), Lifecycle::Active);
    assert_eq!(b.snapshot(i).unwrap().route, "tc3");
    assert_eq!(b.snapshot(i).unwrap().activation, Activation::Active);
    // A configuration that names a member like the runtime one: its own member wins; the
    // runtime one keeps its slot (the glue frees same-named runtime members).
    let cfg2 = config("worker.lb.balance_workers=a,b,app3\nworker.app3.host=h3\n");
    let b2 = balancer_on(&cfg2, region, &clock);
    assert_eq!(b2.member_index("app3"), Some(2));
    assert_eq!(b2.find_member("app3"), Some(2));
}

fn probe_ok_n(b: &Balancer, i: usize, n: usize) {
    for _ in 0..n {
        b.probe_result(i, true);
    }
}
