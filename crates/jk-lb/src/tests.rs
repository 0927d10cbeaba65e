//! Behaviour tests of the balancer against a heap-backed shm region and a fake clock.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jk_config::{build, AjpWorker, BuildOptions, PropertyMap, WorkersConfig};
use jk_shm::{ChildIndex, Region};

use crate::*;

const T0: u64 = 1_700_000_000;

fn region() -> Region<'static> {
    Region::in_heap(4, 64)
}

/// Members a and b (unless `extra` sets balance_workers itself), then `extra`.
fn config(extra: &str) -> WorkersConfig {
    let members = if extra.contains("balance_workers") {
        ""
    } else {
        "worker.lb.balance_workers=a,b\n"
    };
    let text = format!(
        "worker.list=lb\nworker.lb.type=lb\n{members}\
         worker.a.host=h1\nworker.b.host=h2\n{extra}"
    );
    let mut map = PropertyMap::new();
    map.read_str(&text, "workers.properties").unwrap();
    build(
        &map,
        &BuildOptions {
            default_pool_size: 1,
        },
    )
    .unwrap()
}

/// The lb worker `lb` of `cfg` and its member table (configured members, then the growth
/// slots, as the runtime builds it) with their ajp configuration.
fn lb_and_members(cfg: &WorkersConfig) -> (&jk_config::LbWorker, Vec<(String, &AjpWorker)>) {
    let lb = cfg.worker("lb").unwrap().as_lb().unwrap();
    let members = lb
        .member_table()
        .map(|m| (m.clone(), cfg.worker(m).unwrap().as_ajp().unwrap()))
        .collect();
    (lb, members)
}

fn balancer_on(cfg: &WorkersConfig, region: Region<'static>, clock: &Arc<FakeClock>) -> Balancer {
    let (lb, members) = lb_and_members(cfg);
    Balancer::new("lb", lb, &members, region, clock.clone()).unwrap()
}

struct Fx {
    b: Balancer,
    clock: Arc<FakeClock>,
    region: Region<'static>,
}

fn fx(extra: &str) -> Fx {
    let clock = Arc::new(FakeClock::new(T0));
    let region = region();
    let b = balancer_on(&config(extra), region, &clock);
    Fx { b, clock, region }
}

const OK: Outcome = Outcome::Success;

fn cookie_req<'a>(cookies: &'a [&'a str]) -> RequestInfo<'a> {
    RequestInfo {
        uri: "/app/x",
        cookies,
        ..Default::default()
    }
}

/// Serves one request successfully on the first member chosen; its name.
fn serve(b: &Balancer, req: &RequestInfo) -> Option<String> {
    let mut a = b.start(req);
    let c = a.next_member()?;
    a.report(&c, OK, 200);
    Some(c.name.to_string())
}

fn serve_new(b: &Balancer) -> String {
    serve(b, &RequestInfo::default()).unwrap()
}

fn with_session(b: &Balancer, cookie: &str) -> Option<String> {
    serve(b, &cookie_req(&[cookie]))
}

fn state(b: &Balancer, name: &str) -> MemberState {
    b.snapshot(b.member_index(name).unwrap()).unwrap().state
}

fn snap(b: &Balancer, name: &str) -> MemberSnapshot {
    b.snapshot(b.member_index(name).unwrap()).unwrap()
}

/// Puts `name` into ERROR through a failed request with nothing else in flight.
fn fail_member(b: &Balancer, name: &str) {
    let i = b.member_index(name).unwrap();
    let ext = RuleExtensions {
        activations: (0..b.member_count())
            .filter(|&j| j != i)
            .map(|j| (b.member_name(j).unwrap().to_string(), Activation::Stopped))
            .collect(),
        ..Default::default()
    };
    let mut a = b.start(&RequestInfo {
        rule: Some(&ext),
        ..Default::default()
    });
    let c = a.next_member().unwrap();
    assert_eq!(c.name, name);
    a.report(&c, Outcome::Failed, 503);
    assert_eq!(state(b, name), MemberState::Error);
}

fn count(b: &Balancer, n: usize, req: &RequestInfo) -> (usize, usize) {
    let mut a = 0;
    for _ in 0..n {
        if serve(b, req).unwrap() == "a" {
            a += 1;
        }
    }
    (a, n - a)
}

fn within_2_percent(got: usize, want: f64) {
    assert!(
        ((got as f64) - want).abs() <= want * 0.02,
        "got {got}, want {want} ± 2%"
    );
}

// ----- methods ----------------------------------------------------------------------------

#[test]
fn request_method_distributes_one_to_one() {
    let f = fx("");
    let (a, b) = count(&f.b, 4000, &RequestInfo::default());
    within_2_percent(a, 2000.0);
    within_2_percent(b, 2000.0);
}

#[test]
fn request_method_distributes_one_to_three_by_lbfactor() {
    let f = fx("worker.a.lbfactor=1\nworker.b.lbfactor=3\n");
    assert_eq!(snap(&f.b, "a").lb_mult, 3);
    assert_eq!(snap(&f.b, "b").lb_mult, 1);
    let (a, b) = count(&f.b, 4000, &RequestInfo::default());
    within_2_percent(a, 1000.0);
    within_2_percent(b, 3000.0);
}

#[test]
fn request_method_counts_sticky_requests_too() {
    let f = fx("");
    for _ in 0..10 {
        assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("a"));
    }
    assert_eq!(snap(&f.b, "a").lb_value, 10);
    assert_eq!(
        snap(&f.b, "a").sessions,
        0,
        "requests with a session are no new sessions"
    );
    // New requests now go to b until it caught up.
    for _ in 0..10 {
        assert_eq!(serve_new(&f.b), "b");
    }
}

#[test]
fn sessions_method_counts_only_new_sessions_one_to_three() {
    let f = fx("worker.lb.method=S\nworker.a.lbfactor=1\nworker.b.lbfactor=3\n");
    for _ in 0..50 {
        with_session(&f.b, "JSESSIONID=x.a");
    }
    assert_eq!(snap(&f.b, "a").lb_value, 0);
    let (a, b) = count(&f.b, 4000, &RequestInfo::default());
    within_2_percent(a, 1000.0);
    within_2_percent(b, 3000.0);
    assert_eq!(snap(&f.b, "a").sessions + snap(&f.b, "b").sessions, 4000);
}

#[test]
fn sessions_method_ignores_stateless_requests() {
    let f = fx("worker.lb.method=S\n");
    let req = RequestInfo {
        jk_stateless: Some("1"),
        ..Default::default()
    };
    for _ in 0..4 {
        serve(&f.b, &req);
    }
    assert_eq!(snap(&f.b, "a").lb_value + snap(&f.b, "b").lb_value, 0);
    assert_eq!(snap(&f.b, "a").sessions + snap(&f.b, "b").sessions, 0);
}

#[test]
fn next_method_maintenance_subtracts_the_minimum_instead_of_halving() {
    let f = fx("worker.lb.method=N\nworker.a.lbfactor=1\nworker.b.lbfactor=3\n");
    for _ in 0..8 {
        serve_new(&f.b);
    }
    let (va, vb) = (snap(&f.b, "a").lb_value, snap(&f.b, "b").lb_value);
    assert_eq!((va, vb), (6, 6));
    serve_new(&f.b);
    f.clock.advance(60);
    assert!(f.b.maintain());
    let (va, vb) = (snap(&f.b, "a").lb_value, snap(&f.b, "b").lb_value);
    assert_eq!(va.min(vb), 0);
    assert!(va.max(vb) == 3 || va.max(vb) == 1, "{va} {vb}");
}

#[test]
fn traffic_method_adds_bytes_times_mult_after_the_request() {
    let f = fx("worker.lb.method=T\n");
    let mut a = f.b.start(&RequestInfo::default());
    let c = a.next_member().unwrap();
    assert_eq!(snap(&f.b, c.name).lb_value, 0, "nothing added at choice");
    a.count_traffic(&c, 100, 900);
    a.report(&c, OK, 200);
    let s = snap(&f.b, c.name);
    assert_eq!((s.lb_value, s.read, s.transferred), (1000, 100, 900));
    // The other member is preferred until it transferred as much.
    let other = if c.name == "a" { "b" } else { "a" };
    assert_eq!(serve_new(&f.b), other);
    assert_eq!(serve_new(&f.b), other);
}

#[test]
fn ajp_bytes_of_every_try_count_in_the_members_ajp_record() {
    let f = fx("worker.lb.method=T\n");
    f.b.set_child(ChildIndex(2));
    let mut a = f.b.start(&RequestInfo::default());
    let c1 = a.next_member().unwrap();
    // A failed try still sent its request and read part of an answer (mod_jk adds rd/wr of
    // every try, and with the Traffic method their sum to lb_value).
    a.count_traffic(&c1, 10, 202);
    a.report(&c1, Outcome::Failed, 502);
    let c2 = a.next_member().unwrap();
    assert_ne!(c1.name, c2.name);
    a.count_traffic(&c2, 61, 202);
    a.report(&c2, OK, 200);
    drop(a);
    let (s1, s2) = (snap(&f.b, c1.name), snap(&f.b, c2.name));
    assert_eq!((s1.read, s1.transferred, s1.lb_value), (10, 202, 212));
    assert_eq!((s2.read, s2.transferred, s2.lb_value), (61, 202, 263));
    // They live in the ajp worker record of the member's name, on this child's line: a
    // standalone use of the same worker shows (and adds to) the same figures, as in mod_jk.
    let ajp = f.region.find(jk_shm::SlotKind::Ajp, c2.name, "").unwrap();
    assert_eq!(ajp.child_sum(jk_shm::ChildField::Transferred), 202);
    ajp.child_add(ChildIndex(0), jk_shm::ChildField::Transferred, 100);
    assert_eq!(snap(&f.b, c2.name).transferred, 302);
    // Connections open to the member's backend (counted in the same record).
    ajp.connected_inc(ChildIndex(0));
    ajp.connected_inc(ChildIndex(1));
    ajp.connected_dec(ChildIndex(0));
    let s = snap(&f.b, c2.name);
    assert_eq!((s.connected, s.max_connected), (1, 2));
    // A reset zeroes bytes and max_connected, not the connections still open.
    f.b.reset(f.b.member_index(c2.name)).unwrap();
    let s = snap(&f.b, c2.name);
    assert_eq!(
        (s.read, s.transferred, s.connected, s.max_connected),
        (0, 0, 1, 0)
    );
    assert_eq!(
        snap(&f.b, c1.name).transferred,
        202,
        "only the member reset"
    );
}

#[test]
fn busyness_method_counts_requests_in_flight() {
    let f = fx("worker.lb.method=B\nworker.a.lbfactor=1\nworker.b.lbfactor=3\n");
    let mut attempts: Vec<_> = (0..4).map(|_| f.b.start(&RequestInfo::default())).collect();
    let choices: Vec<Choice> = attempts
        .iter_mut()
        .map(|a| a.next_member().unwrap())
        .collect();
    let names: Vec<&str> = choices.iter().map(|c| c.name).collect();
    // b takes three times as many concurrent requests as a.
    assert_eq!(names.iter().filter(|n| **n == "b").count(), 3);
    assert_eq!(snap(&f.b, "a").lb_value, 3);
    assert_eq!(snap(&f.b, "b").lb_value, 3);
    assert_eq!(snap(&f.b, "b").busy, 3);
    for (a, c) in attempts.iter_mut().zip(&choices) {
        a.report(c, OK, 200);
    }
    assert_eq!(snap(&f.b, "a").lb_value + snap(&f.b, "b").lb_value, 0);
    assert_eq!(snap(&f.b, "b").busy, 0);
    assert_eq!(snap(&f.b, "b").max_busy, 3);
    // No decay with Busyness.
    f.b.start(&RequestInfo::default()).next_member().unwrap();
    f.clock.advance(120);
    assert!(f.b.maintain());
    assert_eq!(
        snap(&f.b, "a").lb_value + snap(&f.b, "b").lb_value,
        0,
        "dropped attempt released"
    );
}

#[test]
fn decay_halves_lb_values_once_per_elapsed_interval() {
    let f = fx("");
    for _ in 0..16 {
        with_session(&f.b, "JSESSIONID=x.a");
    }
    f.clock.advance(60);
    assert!(f.b.maintain());
    assert_eq!(snap(&f.b, "a").lb_value, 8);
    f.clock.advance(180);
    assert!(f.b.maintain());
    assert_eq!(snap(&f.b, "a").lb_value, 1, "three intervals: >> 3");
}

// ----- stickiness -------------------------------------------------------------------------

#[test]
fn session_routes_to_the_member_with_that_exact_route() {
    let f = fx("");
    for _ in 0..5 {
        assert_eq!(with_session(&f.b, "JSESSIONID=ABC.b").as_deref(), Some("b"));
    }
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=ABC.b"]));
    let c = a.next_member().unwrap();
    assert!(c.sticky);
    assert_eq!(a.worker_route(), Some("b"));
    assert_eq!(c.activation, Activation::Active);
}

#[test]
fn route_is_everything_after_the_first_dot() {
    let f = fx("worker.a.route=node1.x\nworker.b.route=node2.x\n");
    assert_eq!(snap(&f.b, "b").domain, "node2", "domain derived from route");
    for _ in 0..3 {
        assert_eq!(
            with_session(&f.b, "JSESSIONID=S1.node2.x").as_deref(),
            Some("b")
        );
    }
}

#[test]
fn unknown_route_falls_back_to_the_best_member_of_its_domain() {
    let f = fx("worker.lb.balance_workers=a,b,c\nworker.c.host=h3\n\
         worker.a.domain=d1\nworker.b.domain=d2\nworker.c.domain=d2\n");
    // b has more load than c: c is the best of domain d2.
    with_session(&f.b, "JSESSIONID=x.b");
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.d2.gone"]));
    let c = a.next_member().unwrap();
    assert_eq!(c.name, "c");
    assert_eq!(a.worker_route(), Some("d2"), "the domain is sent as route");
    assert!(!c.sticky, "not the exact member");
}

#[test]
fn unusable_session_member_redirects_to_its_redirect_route() {
    let f = fx("worker.a.redirect=b\n");
    fail_member(&f.b, "a");
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let c = a.next_member().unwrap();
    assert_eq!(c.name, "b");
    assert!(c.sticky, "mod_jk keeps s->sticky after a redirect");
}

#[test]
fn unusable_session_member_falls_back_to_its_domain() {
    let f = fx("worker.lb.balance_workers=a,b,c\nworker.c.host=h3\n\
         worker.a.domain=d1\nworker.b.domain=d1\nworker.c.domain=d2\n");
    fail_member(&f.b, "a");
    for _ in 0..3 {
        let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
        let c = a.next_member().unwrap();
        assert_eq!((c.name, a.worker_route()), ("b", Some("d1")));
        a.report(&c, OK, 200);
    }
}

#[test]
fn sticky_session_force_fails_instead_of_failing_over() {
    let f = fx("worker.lb.sticky_session_force=true\nworker.a.redirect=b\n");
    // A dead session member: only it is tried (forced recovery included), then 503.
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let mut tried = Vec::new();
    while let Some(c) = a.next_member() {
        tried.push(c.name);
        a.report(&c, Outcome::Failed, 503);
    }
    assert_eq!(tried, ["a", "a"]);
    assert_eq!(a.final_status(), 503);
    // A stopped session member, or an unknown route: no member at all.
    f.b.set_activation(0, Activation::Stopped).unwrap();
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    assert_eq!(a.next_member(), None);
    assert_eq!((a.final_status(), a.tries()), (503, 0));
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.zz"]));
    assert_eq!(a.next_member(), None);
    // Without a session the lb balances normally.
    assert_eq!(serve_new(&f.b), "b");
}

#[test]
fn empty_session_id_is_no_session() {
    let f = fx("worker.lb.sticky_session_force=true\n");
    let a = f.b.start(&cookie_req(&["JSESSIONID=; x=1"]));
    assert_eq!(a.session_id(), None);
    assert!(serve(&f.b, &cookie_req(&["JSESSIONID="])).is_some());
}

#[test]
fn several_cookies_are_tried_in_order() {
    let f = fx("");
    for _ in 0..3 {
        assert_eq!(
            with_session(&f.b, "JSESSIONID=abc.zzz; JSESSIONID=def.b").as_deref(),
            Some("b")
        );
    }
    let two_headers = ["JSESSIONID=abc.a", "JSESSIONID=def.b"];
    for _ in 0..3 {
        assert_eq!(serve(&f.b, &cookie_req(&two_headers)).as_deref(), Some("a"));
    }
}

#[test]
fn path_parameter_wins_over_cookie() {
    let f = fx("");
    let req = RequestInfo {
        uri: "/app/x;jsessionid=p.b?q=1",
        cookies: &["JSESSIONID=c.a"],
        ..Default::default()
    };
    for _ in 0..3 {
        assert_eq!(serve(&f.b, &req).as_deref(), Some("b"));
    }
}

#[test]
fn rule_session_cookie_and_path_names_are_used() {
    let f = fx("");
    let ext = RuleExtensions {
        session_cookie: Some("SID".into()),
        session_path: Some("sid".into()),
        ..Default::default()
    };
    let req = RequestInfo {
        cookies: &["JSESSIONID=x.a; SID=y.b"],
        rule: Some(&ext),
        ..Default::default()
    };
    assert_eq!(f.b.start(&req).session_id(), Some("y.b"));
    let req = RequestInfo {
        uri: "/x;sid=z.a",
        rule: Some(&ext),
        ..Default::default()
    };
    assert_eq!(f.b.start(&req).session_id(), Some("z.a"));
}

#[test]
fn jk_route_overrides_the_session_and_is_sent_as_route() {
    let f = fx("");
    let req = RequestInfo {
        cookies: &["JSESSIONID=x.a"],
        jk_route: Some("b"),
        ..Default::default()
    };
    let mut a = f.b.start(&req);
    assert_eq!(a.session_id(), Some(".b"));
    let c = a.next_member().unwrap();
    assert_eq!((c.name, a.worker_route()), ("b", Some("b")));
}

#[test]
fn sticky_ignore_from_config_rule_and_env() {
    let f = fx("worker.lb.sticky_session=false\n");
    assert_eq!(
        f.b.start(&cookie_req(&["JSESSIONID=x.a"])).session_id(),
        None
    );
    let f = fx("");
    let ext = RuleExtensions {
        sticky_ignore: true,
        ..Default::default()
    };
    let mut req = cookie_req(&["JSESSIONID=x.a"]);
    req.rule = Some(&ext);
    assert_eq!(f.b.start(&req).session_id(), None);
    req.jk_sticky_ignore = Some("0");
    assert_eq!(f.b.start(&req).session_id(), Some("x.a"), "env 0 wins");
    req.rule = None;
    req.jk_sticky_ignore = Some("");
    assert_eq!(f.b.start(&req).session_id(), None, "empty env ignores");
}

#[test]
fn stateless_requests_rotate_regardless_of_lb_value() {
    let f = fx("");
    for _ in 0..10 {
        with_session(&f.b, "JSESSIONID=x.a");
    }
    let req = RequestInfo {
        jk_stateless: Some(""),
        ..Default::default()
    };
    let names: Vec<_> = (0..4).map(|_| serve(&f.b, &req).unwrap()).collect();
    assert_eq!(names.iter().filter(|n| *n == "a").count(), 2, "{names:?}");
}

/// A request with nothing of its own (no rule override, no failure mark) chooses among the
/// process's precomputed usable members; one with an override scans every member. Both
/// visit the usable members in the same rotating order.
#[test]
fn choosing_by_value_skips_unusable_members_in_the_same_order_either_way() {
    let f = fx(
        "worker.lb.balance_workers=a,b,c,d,e\nworker.c.host=h3\nworker.d.host=h4\n\
                worker.e.host=h5\nworker.c.activation=stopped\nworker.d.activation=disabled\n",
    );
    let stateless = RequestInfo {
        jk_stateless: Some(""),
        ..Default::default()
    };
    let fast: Vec<_> = (0..6).map(|_| serve(&f.b, &stateless).unwrap()).collect();
    assert_eq!(fast, ["a", "b", "e", "a", "b", "e"]);
    // The same activation restated by the rule: the request scans every member.
    let ext = RuleExtensions {
        activations: vec![("a".to_string(), Activation::Active)],
        ..Default::default()
    };
    let scanned = RequestInfo {
        jk_stateless: Some(""),
        rule: Some(&ext),
        ..Default::default()
    };
    let slow: Vec<_> = (0..6).map(|_| serve(&f.b, &scanned).unwrap()).collect();
    assert_eq!(slow, ["a", "b", "e", "a", "b", "e"]);
    // Lowest distance first, whatever the rotation.
    let g = fx("worker.lb.balance_workers=a,b,c\nworker.c.host=h3\n\
                worker.a.distance=1\nworker.b.distance=1\n");
    for _ in 0..3 {
        assert_eq!(serve(&g.b, &stateless).as_deref(), Some("c"));
    }
}

// ----- activation, distance, hot standby -------------------------------------------------

#[test]
fn disabled_member_takes_sticky_requests_but_no_new_ones() {
    let f = fx("worker.a.activation=disabled\n");
    for _ in 0..5 {
        assert_eq!(serve_new(&f.b), "b");
    }
    assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("a"));
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    assert_eq!(a.next_member().unwrap().activation, Activation::Disabled);
}

#[test]
fn stopped_member_takes_neither() {
    let f = fx("worker.a.activation=stopped\n");
    for _ in 0..3 {
        assert_eq!(serve_new(&f.b), "b");
        assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("b"));
    }
    let f = fx("worker.a.activation=stopped\nworker.lb.sticky_session_force=1\n");
    assert_eq!(with_session(&f.b, "JSESSIONID=x.a"), None);
}

#[test]
fn member_with_port_zero_is_stopped() {
    let f = fx("worker.a.port=0\n");
    assert_eq!(snap(&f.b, "a").activation, Activation::Stopped);
    assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("b"));
}

#[test]
fn rule_activation_overrides_apply_per_request() {
    let f = fx("worker.b.activation=disabled\n");
    let ext = RuleExtensions {
        activations: vec![
            ("a".into(), Activation::Disabled),
            ("b".into(), Activation::Active),
        ],
        ..Default::default()
    };
    let req = RequestInfo {
        rule: Some(&ext),
        ..Default::default()
    };
    for _ in 0..3 {
        assert_eq!(serve(&f.b, &req).as_deref(), Some("b"));
    }
    assert_eq!(
        serve_new(&f.b),
        "a",
        "without the rule the configuration applies"
    );
    let stop_b = RuleExtensions {
        activations: vec![("b".into(), Activation::Stopped)],
        ..Default::default()
    };
    let mut req = cookie_req(&["JSESSIONID=x.b"]);
    req.rule = Some(&stop_b);
    assert_eq!(serve(&f.b, &req).as_deref(), Some("a"));
}

#[test]
fn lower_distance_is_preferred_while_usable() {
    let f = fx("worker.b.distance=1\n");
    for _ in 0..5 {
        assert_eq!(serve_new(&f.b), "a");
    }
    fail_member(&f.b, "a");
    assert_eq!(serve_new(&f.b), "b");
}

#[test]
fn disabled_redirect_target_is_hot_standby_when_nothing_else_is_usable() {
    let f = fx("worker.a.redirect=b\nworker.b.activation=disabled\n");
    assert_eq!(serve_new(&f.b), "a");
    fail_member(&f.b, "a");
    let mut a = f.b.start(&RequestInfo::default());
    let c = a.next_member().unwrap();
    assert_eq!(c.name, "b");
    assert!(!c.sticky);
}

#[test]
fn single_member_lb_is_always_sticky_unless_disabled() {
    let f = fx("worker.lb.balance_workers=a\n");
    let mut a = f.b.start(&RequestInfo::default());
    assert!(a.next_member().unwrap().sticky);
    let f = fx("worker.lb.balance_workers=a\nworker.a.activation=d\n");
    assert_eq!(serve(&f.b, &RequestInfo::default()), None);
    assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("a"));
}

// ----- state transitions (§5.5) -----------------------------------------------------------

#[test]
fn new_members_start_idle_and_success_makes_them_ok() {
    let f = fx("");
    assert_eq!(state(&f.b, "a"), MemberState::Idle);
    assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("a"));
    assert_eq!(state(&f.b, "a"), MemberState::Ok);
    assert_eq!(snap(&f.b, "a").elected, 1);
}

#[test]
fn client_error_ends_the_request_and_keeps_the_member_ok() {
    let f = fx("");
    let mut a = f.b.start(&RequestInfo::default());
    let c = a.next_member().unwrap();
    a.report(&c, Outcome::ClientError, 400);
    assert_eq!(a.next_member(), None);
    assert_eq!(a.final_status(), 400);
    assert_eq!(state(&f.b, c.name), MemberState::Ok);
    assert_eq!(snap(&f.b, c.name).client_errors, 1);
}

#[test]
fn soft_fail_on_status_fails_over_without_error_state() {
    let f = fx("");
    let mut a = f.b.start(&RequestInfo::default());
    let c1 = a.next_member().unwrap();
    a.report(&c1, Outcome::FailOnStatus { hard: false }, 503);
    let c2 = a.next_member().unwrap();
    assert_ne!(c1.name, c2.name);
    assert_eq!(state(&f.b, c1.name), MemberState::Ok);
    assert_eq!(snap(&f.b, c1.name).errors, 0);
}

#[test]
fn hard_fail_on_status_puts_the_member_in_error() {
    let f = fx("");
    f.b.set_child(ChildIndex(1));
    let mut a = f.b.start(&RequestInfo::default());
    let c1 = a.next_member().unwrap();
    a.report(&c1, Outcome::FailOnStatus { hard: true }, 503);
    let s = snap(&f.b, c1.name);
    assert_eq!((s.state, s.errors), (MemberState::Error, 1));
    assert_eq!((s.first_error_time, s.last_error_time), (T0, T0));
    let c2 = a.next_member().unwrap();
    a.report(&c2, OK, 200);
    assert_eq!(a.final_status(), 200);
}

#[test]
fn first_reply_timeout_is_an_error_with_default_max_reply_timeouts() {
    let f = fx("");
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let c = a.next_member().unwrap();
    a.report(&c, Outcome::ReplyTimeout, 504);
    assert_eq!(state(&f.b, "a"), MemberState::Error);
    assert_eq!(snap(&f.b, "a").reply_timeouts, 1);
}

#[test]
fn reply_timeouts_up_to_max_only_fail_the_request_and_decay() {
    let f = fx("worker.lb.max_reply_timeouts=2\n");
    for n in 1..=3 {
        let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
        let c = a.next_member().unwrap();
        assert_eq!(c.name, "a");
        a.report(&c, Outcome::ReplyTimeout, 504);
        let want = if n <= 2 {
            MemberState::Ok
        } else {
            MemberState::Error
        };
        assert_eq!(state(&f.b, "a"), want, "after {n} timeouts");
        if n <= 2 {
            assert_eq!(a.next_member().unwrap().name, "b", "locally failed");
        }
    }
    // Decay halves the counter per maintenance interval.
    f.b.reset(Some(0)).unwrap();
    for _ in 0..2 {
        let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
        let c = a.next_member().unwrap();
        a.report(&c, Outcome::ReplyTimeout, 504);
    }
    f.clock.advance(60);
    f.b.maintain();
    assert_eq!(snap(&f.b, "a").reply_timeouts, 1);
}

#[test]
fn connect_failure_with_nothing_in_flight_is_an_error_at_once() {
    let f = fx("");
    fail_member(&f.b, "a");
    assert_eq!(snap(&f.b, "a").errors, 1);
}

#[test]
fn connect_failure_with_other_requests_in_flight_escalates_after_the_escalation_time() {
    // recover_time 60 ⇒ error_escalation_time 30.
    let f = fx("");
    let pin = cookie_req(&["JSESSIONID=x.a"]);
    let mut busy = f.b.start(&pin);
    let _in_flight = busy.next_member().unwrap();
    let mut a = f.b.start(&pin);
    let c = a.next_member().unwrap();
    a.report(&c, Outcome::Failed, 503);
    let s = snap(&f.b, "a");
    assert_eq!(
        (s.state, s.errors, s.first_error_time),
        (MemberState::Ok, 1, T0)
    );
    assert_eq!(a.next_member().unwrap().name, "b", "failed locally only");
    // Still within the escalation time: still only local.
    f.clock.advance(29);
    let mut a = f.b.start(&pin);
    let c = a.next_member().unwrap();
    a.report(&c, Outcome::Failed, 503);
    assert_eq!(state(&f.b, "a"), MemberState::Ok);
    assert_eq!(snap(&f.b, "a").first_error_time, T0);
    // Once the first error is error_escalation_time old, the next failure is global.
    f.clock.advance(1);
    let mut a = f.b.start(&pin);
    let c = a.next_member().unwrap();
    a.report(&c, Outcome::Failed, 503);
    assert_eq!(state(&f.b, "a"), MemberState::Error);
}

#[test]
fn maintenance_escalates_an_old_local_error() {
    let f = fx("");
    let pin = cookie_req(&["JSESSIONID=x.a"]);
    let mut busy = f.b.start(&pin);
    let _in_flight = busy.next_member().unwrap();
    let mut a = f.b.start(&pin);
    let c = a.next_member().unwrap();
    a.report(&c, Outcome::Failed, 503);
    assert_eq!(state(&f.b, "a"), MemberState::Ok);
    f.clock.advance(60);
    assert!(f.b.maintain());
    assert_eq!(state(&f.b, "a"), MemberState::Error);
}

#[test]
fn success_clears_the_error_times() {
    let f = fx("");
    let pin = cookie_req(&["JSESSIONID=x.a"]);
    let mut busy = f.b.start(&pin);
    let _in_flight = busy.next_member().unwrap();
    let mut a = f.b.start(&pin);
    let c = a.next_member().unwrap();
    a.report(&c, Outcome::Failed, 503);
    with_session(&f.b, "JSESSIONID=x.a");
    let s = snap(&f.b, "a");
    assert_eq!((s.first_error_time, s.last_error_time), (0, 0));
}

#[test]
fn no_free_connection_makes_the_member_busy_until_one_is_free() {
    let f = fx("");
    let free = Arc::new(AtomicU64::new(0));
    let free2 = free.clone();
    f.b.set_endpoint_check(Arc::new(move |_| free2.load(Ordering::SeqCst) == 1));
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let c = a.next_member().unwrap();
    a.report(&c, Outcome::NoConnection, 503);
    let s = snap(&f.b, "a");
    assert_eq!((s.state, s.elected, s.lb_value), (MemberState::Busy, 0, 0));
    assert_eq!(a.next_member().unwrap().name, "b");
    drop(a);
    assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("b"));
    free.store(1, Ordering::SeqCst);
    assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("a"));
    assert_eq!(state(&f.b, "a"), MemberState::Ok);
}

#[test]
fn busy_limit_rejects_before_sending_and_fails_over() {
    let f = fx("worker.a.busy_limit=1\n");
    let pin = cookie_req(&["JSESSIONID=x.a"]);
    let mut first = f.b.start(&pin);
    let c1 = first.next_member().unwrap();
    assert_eq!(c1.name, "a");
    let mut second = f.b.start(&pin);
    let c2 = second.next_member().unwrap();
    assert_eq!(c2.name, "b", "a is at its busy_limit");
    assert_eq!(state(&f.b, "a"), MemberState::Busy);
    assert_eq!(second.tries(), 2);
    first.report(&c1, OK, 200);
    second.report(&c2, OK, 200);
    // a has a free slot again: back to OK at the start of the next request.
    assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("a"));
}

#[test]
fn recover_member_becomes_probe_when_chosen_then_ok_or_error() {
    let f = fx("");
    fail_member(&f.b, "a");
    f.clock.advance(61);
    assert!(f.b.maintain());
    assert_eq!(state(&f.b, "a"), MemberState::Recover);
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let c = a.next_member().unwrap();
    assert_eq!(state(&f.b, "a"), MemberState::Probe);
    a.report(&c, OK, 200);
    assert_eq!(state(&f.b, "a"), MemberState::Ok);

    fail_member(&f.b, "a");
    f.b.recover(0).unwrap();
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let c = a.next_member().unwrap();
    a.report(&c, Outcome::Failed, 503);
    assert_eq!(state(&f.b, "a"), MemberState::Error);
}

// ----- maintenance ------------------------------------------------------------------------

#[test]
fn maintenance_runs_once_per_interval_across_children() {
    let f = fx("");
    let cfg = config("");
    let other_child = balancer_on(&cfg, f.region, &f.clock);
    assert!(!f.b.maintain(), "not yet due");
    f.clock.advance(60);
    assert!(f.b.maintain());
    assert!(!other_child.maintain(), "already done by the other child");
    f.clock.advance(59);
    assert!(other_child.maintain(), "2 s tolerance");
    let f = fx("");
    let off = balancer_on(&config(""), region(), &f.clock).with_maintain_interval(0);
    f.clock.advance(600);
    assert!(!off.maintain());
}

#[test]
fn error_member_recovers_after_recover_time_at_the_current_maximum() {
    let f = fx("worker.lb.recover_time=30\n");
    for _ in 0..6 {
        with_session(&f.b, "JSESSIONID=x.b");
    }
    fail_member(&f.b, "a");
    f.clock.advance(30);
    f.b.maintain();
    assert_eq!(
        state(&f.b, "a"),
        MemberState::Error,
        "not more than recover_time yet"
    );
    assert_eq!(snap(&f.b, "a").time_to_recover, Some(0));
    f.clock.advance(31);
    assert!(f.b.maintain());
    assert_eq!(state(&f.b, "a"), MemberState::Recover);
    assert_eq!(snap(&f.b, "a").lb_value, snap(&f.b, "b").lb_value);
}

#[test]
fn ok_member_unused_since_the_previous_maintenance_becomes_idle() {
    let f = fx("");
    with_session(&f.b, "JSESSIONID=x.a");
    f.clock.advance(60);
    f.b.maintain();
    assert_eq!(state(&f.b, "a"), MemberState::Ok, "used in this period");
    f.clock.advance(60);
    f.b.maintain();
    assert_eq!(state(&f.b, "a"), MemberState::Idle);
}

#[test]
fn all_members_in_error_are_forced_into_recovery_by_maintenance() {
    let f = fx("");
    fail_member(&f.b, "a");
    fail_member(&f.b, "b");
    f.clock.advance(60);
    assert!(f.b.maintain());
    assert_eq!(state(&f.b, "a"), MemberState::Force);
    assert_eq!(state(&f.b, "b"), MemberState::Force);
    assert!(serve(&f.b, &RequestInfo::default()).is_some());
}

// ----- retry plan (§5.6) ------------------------------------------------------------------

#[test]
fn two_dead_members_cost_two_rounds_of_two_tries_then_503() {
    let f = fx("");
    let mut a = f.b.start(&RequestInfo::default());
    let mut tried = Vec::new();
    while let Some(c) = a.next_member() {
        tried.push((c.name, c.sleep_before));
        a.report(&c, Outcome::Failed, 503);
    }
    assert_eq!(tried.len(), 4, "{tried:?}");
    assert_eq!(
        tried[2].1,
        Duration::from_millis(100),
        "retry_interval between rounds"
    );
    assert!(tried.iter().filter(|t| t.0 == "a").count() == 2);
    assert_eq!(a.final_status(), 503);
    assert_eq!(state(&f.b, "a"), MemberState::Error);
    assert_eq!(state(&f.b, "b"), MemberState::Error);
}

#[test]
fn final_status_is_504_when_the_last_failure_was_a_reply_timeout() {
    let f = fx("");
    let mut a = f.b.start(&RequestInfo::default());
    let mut n = 0;
    while let Some(c) = a.next_member() {
        n += 1;
        let (o, s) = if n == 1 {
            (Outcome::Failed, 503)
        } else {
            (Outcome::ReplyTimeout, 504)
        };
        a.report(&c, o, s);
    }
    assert_eq!(a.final_status(), 504);
}

#[test]
fn lb_retries_limits_the_members_per_round() {
    let f = fx(
        "worker.lb.balance_workers=a,b,c\nworker.c.host=h3\nworker.lb.lb_retries=1\n\
         worker.lb.retries=3\n",
    );
    let tried: Vec<String> = {
        let mut a = f.b.start(&RequestInfo::default());
        let mut v = Vec::new();
        while let Some(c) = a.next_member() {
            v.push(c.name.to_string());
            a.report(&c, Outcome::Failed, 503);
        }
        v
    };
    assert_eq!(tried.len(), 3, "{tried:?}");
}

#[test]
fn nothing_usable_means_no_try_and_503() {
    let f = fx("worker.a.activation=s\nworker.b.activation=s\n");
    let mut a = f.b.start(&RequestInfo::default());
    assert_eq!(a.next_member(), None);
    assert_eq!((a.final_status(), a.tries()), (503, 0));
}

#[test]
fn unrecoverable_failure_ends_the_plan_with_its_status() {
    let f = fx("");
    let mut a = f.b.start(&RequestInfo::default());
    let c = a.next_member().unwrap();
    a.report_unrecoverable(&c, Outcome::Failed, 502);
    assert_eq!(a.next_member(), None);
    assert_eq!(a.final_status(), 502);
}

#[test]
fn the_route_of_the_first_member_is_kept_for_the_request() {
    let f = fx("");
    let mut a = f.b.start(&RequestInfo::default());
    let c1 = a.next_member().unwrap();
    a.report(&c1, Outcome::Failed, 503);
    let c2 = a.next_member().unwrap();
    assert_ne!(c2.name, c1.name);
    // The members' routes are their names here.
    assert_eq!(a.worker_route(), Some(c1.name), "mod_jk keeps s->route");
    a.report(&c2, OK, 200);
    assert_eq!(a.worker_route(), Some(c1.name));
}

#[test]
fn after_one_try_the_last_notes_are_the_first_and_after_two_their_own() {
    let f = fx("");
    // One try: the host may store the values once and point both keys at them.
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let c = a.next_member().unwrap();
    a.report(&c, OK, 200);
    let n = a.notes();
    assert_eq!(n.last, Some(LastNotes::SameAsFirst));
    assert_eq!(n.first.unwrap()[0], NoteValue::Text("a"));
    // Two tries: the last member's own values.
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let c1 = a.next_member().unwrap();
    a.report(&c1, Outcome::Failed, 503);
    let c2 = a.next_member().unwrap();
    a.report(&c2, OK, 200);
    let n = a.notes();
    assert!(
        matches!(n.last, Some(LastNotes::Values(v)) if v[0] == NoteValue::Text("b")),
        "{n:?}"
    );
    // No try at all: no notes.
    let a = f.b.start(&cookie_req(&[]));
    assert_eq!(
        a.notes(),
        Notes {
            first: None,
            last: None
        }
    );
}

#[test]
fn notes_describe_the_first_and_last_member() {
    let f = fx("");
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.a"]));
    let c1 = a.next_member().unwrap();
    a.count_traffic(&c1, 4, 202);
    a.report(&c1, Outcome::Failed, 503);
    let c2 = a.next_member().unwrap();
    a.count_traffic(&c2, 61, 202);
    a.report(&c2, OK, 200);
    let mut notes: Vec<(String, String)> = Vec::new();
    a.for_each_note(|k, v| notes.push((k.to_str().unwrap().to_string(), v.to_string())));
    let get = |k: &str| notes.iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(get("JK_LB_FIRST_NAME"), "a");
    assert_eq!(get("JK_LB_FIRST_STATE"), "ERR");
    assert_eq!(get("JK_LB_FIRST_ERRORS"), "1");
    assert_eq!(get("JK_LB_LAST_NAME"), "b");
    assert_eq!(get("JK_LB_LAST_STATE"), "OK");
    assert_eq!(get("JK_LB_LAST_ACTIVATION"), "ACT");
    assert_eq!(get("JK_LB_LAST_ACCESSED"), "1");
    assert_eq!(get("JK_LB_LAST_BUSY"), "0");
    // READ and TRANSFERRED are the member's AJP bytes (mod_jk: its ajp record's).
    assert_eq!(get("JK_LB_FIRST_READ"), "4");
    assert_eq!(get("JK_LB_FIRST_TRANSFERRED"), "202");
    assert_eq!(get("JK_LB_LAST_READ"), "61");
    assert_eq!(get("JK_LB_LAST_TRANSFERRED"), "202");
    assert_eq!(notes.len(), 20);
}

// ----- set_session_cookie -----------------------------------------------------------------

#[test]
fn set_session_cookie_only_when_not_routed_to_the_exact_member() {
    let f = fx("worker.lb.set_session_cookie=true\n");
    let mut a = f.b.start(&RequestInfo::default());
    let c = a.next_member().unwrap();
    a.report(&c, OK, 200);
    assert_eq!(
        a.set_cookie_header(),
        Some(format!("JSESSIONID=.{};PATH=/;HttpOnly", c.name))
    );
    let mut a = f.b.start(&cookie_req(&["JSESSIONID=x.b"]));
    let c = a.next_member().unwrap();
    a.report(&c, OK, 200);
    assert_eq!(a.set_cookie_header(), None);
    let mut a = f.b.start(&RequestInfo {
        cookies: &["JSESSIONID=x.zz"],
        is_ssl: true,
        ..Default::default()
    });
    let c = a.next_member().unwrap();
    a.report(&c, OK, 200);
    assert_eq!(
        a.set_cookie_header(),
        Some(format!("JSESSIONID=.{};PATH=/;HttpOnly;Secure", c.name))
    );
}

#[test]
fn set_session_cookie_from_a_rule_and_never_for_a_single_member() {
    let f = fx("");
    let ext = RuleExtensions {
        set_session_cookie: true,
        ..Default::default()
    };
    let mut a = f.b.start(&RequestInfo {
        rule: Some(&ext),
        ..Default::default()
    });
    let c = a.next_member().unwrap();
    a.report(&c, OK, 200);
    assert!(a.set_cookie_header().is_some());
    let f = fx("worker.lb.balance_workers=a\nworker.lb.set_session_cookie=1\n");
    let mut a = f.b.start(&RequestInfo::default());
    let c = a.next_member().unwrap();
    a.report(&c, OK, 200);
    assert_eq!(a.set_cookie_header(), None);
}

// ----- graceful merge ---------------------------------------------------------------------

#[test]
fn runtime_activation_survives_a_restart_with_unchanged_configuration() {
    let f = fx("");
    f.b.set_activation(0, Activation::Disabled).unwrap();
    f.b.set_retries(5).unwrap();
    with_session(&f.b, "JSESSIONID=x.a");
    let again = balancer_on(&config(""), f.region, &f.clock);
    assert_eq!(snap(&again, "a").activation, Activation::Disabled);
    assert_eq!(again.settings().retries, 5);
    assert_eq!(snap(&again, "a").elected, 1, "counters kept");
    assert_eq!(state(&again, "a"), MemberState::Ok, "state kept");
}

#[test]
fn changed_configuration_wins_per_value() {
    let f = fx("");
    f.b.set_activation(0, Activation::Disabled).unwrap();
    f.b.set_route(0, "edited").unwrap();
    f.b.set_lbfactor(1, 7).unwrap();
    f.b.set_retries(5).unwrap();
    // The route of a and the method changed in the configuration; the rest did not.
    let cfg = config("worker.a.route=newroute\nworker.lb.method=B\n");
    let again = balancer_on(&cfg, f.region, &f.clock);
    let a = snap(&again, "a");
    assert_eq!(
        a.activation,
        Activation::Disabled,
        "unchanged in config: runtime kept"
    );
    assert_eq!(a.route, "newroute", "changed in config: config wins");
    assert_eq!(snap(&again, "b").lbfactor, 7);
    assert_eq!(snap(&again, "a").lb_mult, 7);
    assert_eq!(again.settings().retries, 5);
    assert_eq!(again.settings().method, LbMethod::Busyness);
    // Now the configured activation changes: it wins over the runtime edit.
    let cfg = config("worker.a.route=newroute\nworker.lb.method=B\nworker.a.activation=s\n");
    let third = balancer_on(&cfg, f.region, &f.clock);
    assert_eq!(snap(&third, "a").activation, Activation::Stopped);
}

#[test]
fn duplicate_routes_and_empty_member_lists_are_refused() {
    let cfg = config("");
    let lb = cfg.worker("lb").unwrap().as_lb().unwrap();
    let a = cfg.worker("a").unwrap().as_ajp().unwrap();
    let mut b = cfg.worker("b").unwrap().as_ajp().unwrap().clone();
    b.route = "a".into();
    let members = vec![("a".to_string(), a), ("b".to_string(), &b)];
    let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(T0));
    let err = Balancer::new("lb", lb, &members, region(), clock.clone())
        .err()
        .unwrap();
    assert!(err.contains("same route"), "{err}");
    assert!(Balancer::new("lb", lb, &[], region(), clock).is_err());
}

// ----- probes -----------------------------------------------------------------------------

#[test]
fn probes_recover_members_without_a_user_request() {
    let f = fx("");
    fail_member(&f.b, "a");
    assert!(f.b.members_to_probe().is_empty(), "recover_time not passed");
    f.clock.advance(61);
    assert_eq!(f.b.members_to_probe(), vec![0]);
    f.b.probe_result(0, false);
    let s = snap(&f.b, "a");
    assert_eq!((s.state, s.last_error_time), (MemberState::Error, T0 + 61));
    assert!(f.b.members_to_probe().is_empty(), "fresh error time");
    f.clock.advance(61);
    f.b.probe_result(0, true);
    let s = snap(&f.b, "a");
    assert_eq!(
        (s.state, s.first_error_time, s.good_probes),
        (MemberState::Ok, 0, 1)
    );
}

// ----- status worker edits ----------------------------------------------------------------

#[test]
fn activation_change_resets_lb_values_and_bumps_the_generation() {
    let f = fx("");
    for _ in 0..4 {
        serve_new(&f.b);
    }
    let g = f.region.generation().load(Ordering::SeqCst);
    f.b.set_activation(1, Activation::Disabled).unwrap();
    assert_eq!(snap(&f.b, "a").lb_value + snap(&f.b, "b").lb_value, 0);
    assert!(f.region.generation().load(Ordering::SeqCst) > g);
    assert!(f.b.set_activation(9, Activation::Active).is_err());
}

#[test]
fn lbfactor_change_recomputes_every_lb_mult() {
    let f = fx("worker.a.lbfactor=2\nworker.b.lbfactor=3\n");
    assert_eq!((snap(&f.b, "a").lb_mult, snap(&f.b, "b").lb_mult), (3, 2));
    f.b.set_lbfactor(1, 4).unwrap();
    assert_eq!((snap(&f.b, "a").lb_mult, snap(&f.b, "b").lb_mult), (2, 1));
    assert!(f.b.set_lbfactor(0, 0).is_err());
}

#[test]
fn route_edit_derives_an_empty_domain_and_other_edits_apply() {
    let f = fx("");
    f.b.set_route(0, "n9.east").unwrap();
    assert_eq!(snap(&f.b, "a").domain, "n9");
    f.b.set_domain(0, "").unwrap();
    f.b.set_redirect(0, "b").unwrap();
    f.b.set_distance(0, 3).unwrap();
    let s = snap(&f.b, "a");
    assert_eq!(
        (s.domain.as_str(), s.redirect.as_str(), s.distance),
        ("", "b", 3)
    );
    assert_eq!(
        with_session(&f.b, "JSESSIONID=x.n9.east").as_deref(),
        Some("a")
    );
    f.b.set_sticky_session(false);
    f.b.set_sticky_session_force(true);
    f.b.set_lock(LbLock::Pessimistic);
    f.b.set_max_reply_timeouts(4);
    f.b.set_recover_time(10).unwrap();
    f.b.set_error_escalation_time(5).unwrap();
    f.b.set_retry_interval(50).unwrap();
    assert!(f.b.set_retries(0).is_err());
    let s = f.b.settings();
    assert!(!s.sticky_session && s.sticky_session_force);
    assert_eq!(
        (
            s.lock,
            s.max_reply_timeouts,
            s.recover_time_s,
            s.error_escalation_time_s
        ),
        (LbLock::Pessimistic, 4, 10, 5)
    );
    assert_eq!(s.retry_interval_ms, 50);
    // Pessimistic locking still chooses members.
    assert!(serve(&f.b, &RequestInfo::default()).is_some());
}

#[test]
fn reset_clears_counters_and_state() {
    let f = fx("");
    fail_member(&f.b, "a");
    serve_new(&f.b);
    f.clock.advance(5);
    f.b.reset(None).unwrap();
    for s in f.b.snapshots() {
        assert_eq!(s.state, MemberState::Idle);
        assert_eq!((s.errors, s.elected, s.lb_value, s.sessions), (0, 0, 0, 0));
        assert_eq!((s.first_error_time, s.last_reset), (0, T0 + 5));
    }
    let lb = f.b.lb_snapshot();
    assert_eq!((lb.max_busy, lb.last_reset), (0, T0 + 5));
}

#[test]
fn recover_command_only_moves_error_members() {
    let f = fx("");
    assert!(!f.b.recover(0).unwrap());
    fail_member(&f.b, "a");
    assert!(f.b.recover(0).unwrap());
    assert_eq!(state(&f.b, "a"), MemberState::Recover);
}

#[test]
fn snapshots_show_activation_and_state() {
    let f = fx("worker.b.activation=d\n");
    fail_member(&f.b, "a");
    let s = f.b.snapshots();
    assert_eq!(
        (s[0].activation, s[0].state),
        (Activation::Active, MemberState::Error)
    );
    assert_eq!(
        (s[1].activation, s[1].state),
        (Activation::Disabled, MemberState::Idle)
    );
    let lb = f.b.lb_snapshot();
    assert_eq!(lb.members.len(), 2);
    assert_eq!(lb.session_cookie, "JSESSIONID");
    assert_eq!(lb.settings.method, LbMethod::Request);
    assert_eq!(lb.requests, 1);
}

#[test]
fn balancer_is_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Balancer>();
    let f = fx("");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..250 {
                    serve_new(&f.b);
                }
            });
        }
    });
    let (a, b) = (snap(&f.b, "a").elected, snap(&f.b, "b").elected);
    assert_eq!(a + b, 1000);
    assert!(a.abs_diff(b) <= 20, "{a} {b}");
}

// ----- rolling restarts -------------------------------------------------------------------

mod membership;
mod rolling;

#[test]
fn a_route_changed_in_another_process_is_seen_through_the_string_cache() {
    let f = fx("");
    // A second httpd child: its own Balancer over the same shared region.
    let other = balancer_on(&config(""), f.region, &f.clock);
    assert_eq!(with_session(&f.b, "JSESSIONID=x.a").as_deref(), Some("a"));
    let i = other.member_index("a").unwrap();
    other.set_route(i, "renamed").unwrap();
    // This child's cached strings are refreshed because the generation moved: the new route
    // is followed by session (sticky), the old one no longer is.
    let sticky_to = |cookie: &str| {
        let cookies = [cookie];
        let req = cookie_req(&cookies);
        let mut a = f.b.start(&req);
        let c = a.next_member().unwrap();
        a.report(&c, OK, 200);
        (c.name, c.sticky)
    };
    assert_eq!(sticky_to("JSESSIONID=x.renamed"), ("a", true));
    assert!(!sticky_to("JSESSIONID=x.a").1);
}

// ----- rolling settings from workers.properties ---------------------------------------------

#[test]
fn rolling_settings_come_from_the_lb_and_its_members() {
    let cfg = config(
        "worker.lb.hold_timeout=3000\nworker.lb.probe_interval=200\nworker.lb.session_window=30\n\
         worker.a.ready_probes=4\nworker.a.health_url=/health\nworker.b.slow_start=20\n",
    );
    let (lb, members) = lb_and_members(&cfg);
    let r = crate::RollingSettings::from_config(lb, &members, 64);
    assert_eq!(
        (r.hold_timeout_ms, r.probe_interval_ms, r.session_window_s),
        (3000, 200, 30)
    );
    assert!(r.hold_enabled());
    assert_eq!(r.hold_max, 32, "unset hold_max: half of a child's threads");
    assert_eq!(
        crate::RollingSettings::from_config(lb, &members, 1).hold_max,
        1,
        "at least one (prefork: one thread per child)"
    );
    let a = &r.members["a"];
    assert_eq!(
        (a.ready_probes, a.health_url.as_deref()),
        (4, Some("/health"))
    );
    assert_eq!(r.members["b"].slow_start_s, 20);
    assert_eq!(r.members["b"].ready_probes, 2, "default");

    let cfg = config("worker.lb.hold_max=5\n");
    let lb = cfg.worker("lb").unwrap().as_lb().unwrap();
    let r = crate::RollingSettings::from_config(lb, &[], 64);
    assert_eq!(r.hold_max, 5, "an explicit hold_max wins");
    assert!(!r.hold_enabled(), "hold_timeout defaults to 0: off");
}

#[test]
fn the_counters_of_two_children_add_up_in_the_status_figures() {
    // Layout 5 (issue 17): a request counts elected, sessions, its reply class and its reply
    // time in its own child's words; every child's status figures are the sums.
    let f = fx("");
    let other = balancer_on(&config(""), f.region, &f.clock);
    f.b.set_child(ChildIndex(0));
    other.set_child(ChildIndex(1));
    let mut served = Vec::new();
    for b in [&f.b, &f.b, &f.b, &other, &other] {
        served.push(serve_new(b));
    }
    let i = f.b.member_index("a").unwrap();
    f.b.record_reply(i, 200, Duration::from_micros(700));
    other.record_reply(i, 503, Duration::from_micros(30_000));
    for b in [&f.b, &other] {
        let lb = b.lb_snapshot();
        assert_eq!(lb.requests, 5);
        for name in ["a", "b"] {
            let n = served.iter().filter(|s| *s == name).count() as u64;
            assert_eq!(
                (snap(b, name).elected, snap(b, name).sessions),
                (n, n),
                "{name}"
            );
        }
        let a = snap(b, "a").latency;
        assert_eq!(a.replies, [0, 1, 0, 0, 1]);
        assert_eq!((a.reply.count(), a.reply.sum_us), (2, 30_700));
        assert_eq!(
            lb.latency.replies,
            [0, 1, 0, 0, 1],
            "the lb's: its members' sum"
        );
    }
    // A reset by either child zeroes every child's counters.
    other.reset(Some(i)).unwrap();
    assert_eq!((snap(&f.b, "a").elected, snap(&f.b, "a").sessions), (0, 0));
    assert_ne!(snap(&f.b, "b").elected, 0, "only the member named");
}

#[test]
fn held_requests_are_counted_per_child_and_reaped_with_a_dead_child() {
    let f = fx("");
    let b = &f.b;
    b.set_child(ChildIndex(1));
    let g1 = b.hold_guard(0);
    let g2 = b.hold_guard(0);
    assert_eq!(snap(b, "a").held, 2);
    assert_eq!(snap(b, "b").held, 0);
    drop(g1);
    assert_eq!(snap(b, "a").held, 1);
    // The child holding it dies without dropping its guard: reaping clears its count.
    std::mem::forget(g2);
    let pid = 4_000_000;
    let c = f.region.attach_child(pid).unwrap();
    b.set_child(c);
    let _g3 = b.hold_guard(0);
    assert_eq!(snap(b, "a").held, 2);
    f.region.reap_dead_children(|p| p != pid);
    assert_eq!(
        snap(b, "a").held,
        1,
        "the dead child's held request is gone"
    );
}

// ----- a corrupted runtime-status file ------------------------------------------------------

/// Runs `f` on its own thread; a hang (spinning on shared memory) or a panic fails the test
/// within 10 s instead of hanging it.
fn within_10s<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(r) => r,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still running after 10 s (spinning on shared memory)")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

#[test]
fn a_region_overwritten_with_0xff_keeps_the_balancer_serving_on_its_configuration() {
    let (names, plan, sleep) = within_10s("the balancer on an all-0xFF region", || {
        let words: &'static [AtomicU64] = Box::leak(
            (0..jk_shm::words_needed(4, 64))
                .map(|_| AtomicU64::new(0))
                .collect(),
        );
        let region = Region::open(words, 4, 64).unwrap();
        let clock = Arc::new(FakeClock::new(T0));
        let cfg = config("worker.lb.retries=2\nworker.a.busy_limit=5\nworker.b.activation=D\n");
        let b = balancer_on(&cfg, region, &clock).with_rolling(crate::RollingSettings {
            hold_timeout_ms: 2000,
            ..Default::default()
        });
        b.set_child(region.attach_child(1).unwrap());
        assert_eq!(serve_new(&b), "a");
        for w in words {
            w.store(u64::MAX, Ordering::Relaxed);
        }
        // New requests and sticky ones: the configuration decides (b is disabled).
        let names: Vec<Option<String>> = vec![
            serve(&b, &RequestInfo::default()),
            with_session(&b, "JSESSIONID=x.b"),
            with_session(&b, "JSESSIONID=x.zz"),
        ];
        // A request whose every try fails ends after the configured plan.
        let mut a = b.start(&RequestInfo::default());
        let mut plan = 0;
        let mut sleep = Duration::ZERO;
        while let Some(c) = a.next_member() {
            plan += 1;
            sleep += c.sleep_before;
            a.report(&c, Outcome::Failed, 503);
            if plan > 100 {
                break;
            }
        }
        drop(a);
        // Everything else an httpd child or the status worker calls.
        clock.advance(120);
        let _ = (b.maintain(), b.members_to_probe(), b.fast_probe_targets(1));
        b.probe_result(0, true);
        b.probe_result(1, false);
        let _ = (b.snapshots(), b.lb_snapshot(), b.settings());
        let _ = (
            b.is_ready(0),
            b.idle(0, 1),
            b.hold_timeout(),
            b.hold_guard(1),
        );
        b.set_route(1, "b2").unwrap();
        b.set_domain(1, "d").unwrap();
        b.set_redirect(1, "a").unwrap();
        b.set_activation(1, Activation::Active).unwrap();
        b.set_lbfactor(0, 3).unwrap();
        b.set_restarting(0, true).unwrap();
        b.set_restarting(0, false).unwrap();
        b.reset(None).unwrap();
        let _ = b.recover(0);
        let _ = serve(&b, &RequestInfo::default());
        (names, plan, sleep)
    });
    assert_eq!(
        names,
        [Some("a".into()), Some("b".into()), Some("a".into())],
        "new requests go to the active member; a disabled member keeps its sessions"
    );
    assert!(plan <= 4, "retries=2 over 2 members: {plan} tries");
    assert!(
        sleep < Duration::from_secs(2),
        "slept {sleep:?} between rounds"
    );
}

#[test]
fn a_process_sees_the_state_changes_another_made_on_its_next_request() {
    // Two balancers over one region: two httpd children. Each keeps a copy of the members'
    // states; a change through the other must show in the next choice.
    let clock = Arc::new(FakeClock::new(T0));
    let region = region();
    let cfg = config("worker.lb.hold_timeout=2000\n");
    let one = balancer_on(&cfg, region, &clock);
    let two = balancer_on(&cfg, region, &clock);
    let spread = |b: &Balancer| {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..8 {
            seen.insert(serve_new(b));
        }
        seen.into_iter().collect::<Vec<_>>()
    };
    assert_eq!(spread(&one), ["a", "b"]);
    // Error through the other process.
    fail_member(&two, "a");
    assert_eq!(spread(&one), ["b"], "ERROR seen");
    // Back by a probe (readiness: hold is on), through the other process.
    two.probe_result(0, true);
    two.probe_result(0, true);
    assert_eq!(spread(&one), ["a", "b"], "recovered seen");
    // Activation and restart maintenance through the other process.
    two.set_activation(1, Activation::Disabled).unwrap();
    assert_eq!(spread(&one), ["a"], "disabled seen");
    two.set_activation(1, Activation::Active).unwrap();
    two.set_restarting(0, true).unwrap();
    assert_eq!(spread(&one), ["b"], "restarting seen");
    two.set_restarting(0, false).unwrap();
    two.probe_result(0, true);
    two.probe_result(0, true);
    assert_eq!(spread(&one), ["a", "b"]);
    // A BUSY mark by the other process, with a free connection here: OK again at once.
    two.set_state(1, MemberState::Busy);
    assert_eq!(spread(&one), ["a", "b"]);
    assert_eq!(state(&one, "b"), MemberState::Ok);
}
