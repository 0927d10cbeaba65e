#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use jk_ajp_client::Traffic;
use jk_config::{
    build as build_config, Activation, BuildOptions, LbMethod, MemberState, PropertyMap,
    WorkersConfig,
};
use jk_shm::{ChildIndex, Field, Region};
use jk_status::{AjpChanges, Apply, LbChanges, MemberChanges, WriteVerdict};

use crate::status::{model, Applier, Header};
use crate::{build, Built, Served, View};

const T0: u64 = 1_700_000_000;

fn region() -> Region<'static> {
    Region::in_heap(4, 64)
}

/// The seed's shape: lb `loadbalancer` over tomcat1/tomcat2, a status worker, and a
/// standalone worker `solo`; then `extra`.
fn config(extra: &str) -> (PropertyMap, WorkersConfig) {
    let text = format!(
        "worker.list=loadbalancer,jkstatus,solo\n\
         worker.jkstatus.type=status\n\
         worker.loadbalancer.type=lb\nworker.loadbalancer.balance_workers=tomcat1,tomcat2\n\
         worker.loadbalancer.secret=s3cret\n\
         worker.tomcat1.host=127.0.0.1\nworker.tomcat1.port=8009\n\
         worker.tomcat2.host=127.0.0.1\nworker.tomcat2.port=8010\n\
         worker.solo.type=ajp13\nworker.solo.host=127.0.0.1\nworker.solo.port=8011\n{extra}"
    );
    let mut map = PropertyMap::new();
    map.read_str(&text, "workers.properties").unwrap();
    let cfg = build_config(
        &map,
        &BuildOptions {
            default_pool_size: 1,
        },
    )
    .unwrap();
    (map, cfg)
}

pub(crate) struct Fx {
    props: PropertyMap,
    workers: WorkersConfig,
    pub(crate) built: Built,
    region: Region<'static>,
    log: RefCell<Vec<String>>,
}

pub(crate) fn fx(extra: &str) -> Fx {
    let (props, workers) = config(extra);
    let region = region();
    let built = build(&workers, region, Arc::new(jk_lb::FakeClock::new(T0)), 64).unwrap();
    Fx {
        props,
        workers,
        built,
        region,
        log: RefCell::new(Vec::new()),
    }
}

impl Fx {
    pub(crate) fn view(&self) -> View<'_> {
        View {
            props: &self.props,
            workers: &self.workers,
            endpoints: &self.built.endpoints,
            balancers: &self.built.balancers,
            ajp: &self.built.ajp,
            maps: &[],
            maintain_secs: 60,
        }
    }

    fn apply(&self, f: impl FnOnce(&mut Applier<'_>) -> Result<(), String>) -> Result<(), String> {
        self.apply_as(WriteVerdict::Allow, f)
    }

    /// As [`Fx::apply`] for a request whose origin got `write`; refusals are logged
    /// with a `WARN ` prefix.
    fn apply_as(
        &self,
        write: WriteVerdict,
        f: impl FnOnce(&mut Applier<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        let log = |m: &str| self.log.borrow_mut().push(m.to_string());
        let warn = |m: &str| self.log.borrow_mut().push(format!("WARN {m}"));
        let mut a = Applier {
            view: self.view(),
            status_worker: "jkstatus",
            client: "127.0.0.9".into(),
            now: T0 + 100,
            log: &log,
            write,
            warn: &warn,
        };
        f(&mut a)
    }

    fn model(&self) -> jk_status::StatusModel {
        let local = jk_log::BrokenDownTime::from_epoch(T0 as i64, 0, 3600, "");
        model(
            self.view(),
            Header {
                request_uri: "/jkmanager/".into(),
                server_name: "localhost".into(),
                server_port: 80,
                web_server: "Apache/2.4".into(),
            },
            T0,
            &local,
        )
    }
}

#[test]
fn build_makes_an_endpoint_and_shared_settings_per_ajp_worker_and_a_balancer_per_lb() {
    let f = fx("worker.loadbalancer.hold_timeout=2000\n");
    // One per ajp worker, and one per growth slot of the lb (runtime membership: spare
    // members with contact disabled until a member is added).
    let expected = [
        "loadbalancer~1",
        "loadbalancer~2",
        "loadbalancer~3",
        "loadbalancer~4",
        "solo",
        "tomcat1",
        "tomcat2",
    ];
    let mut eps: Vec<&str> = f.built.endpoints.keys().map(String::as_str).collect();
    eps.sort_unstable();
    assert_eq!(eps, expected);
    assert_eq!(f.built.endpoints["loadbalancer~1"].config().addr, None);
    let mut ajp: Vec<&str> = f.built.ajp.keys().map(String::as_str).collect();
    ajp.sort_unstable();
    assert_eq!(ajp, expected);
    let b = &f.built.balancers["loadbalancer"];
    assert_eq!(b.member_index("tomcat2"), Some(1));
    assert_eq!(b.hold_max(), 32, "half of 64 threads");
    assert!(f.built.warnings.is_empty(), "{:?}", f.built.warnings);
    let solo = f.built.endpoints["solo"].config();
    assert_eq!(solo.addr, Some("127.0.0.1:8011".parse().unwrap()));
}

#[test]
fn an_unresolvable_host_is_a_warning_not_an_error() {
    let f = fx("worker.solo.host=no-such-host.invalid\n");
    assert_eq!(f.built.warnings.len(), 1);
    assert!(
        f.built.warnings[0].starts_with("worker solo: cannot resolve host"),
        "{:?}",
        f.built.warnings
    );
    assert!(f.built.endpoints["solo"].config().addr.is_none());
}

#[test]
fn the_model_shows_configuration_runtime_and_request_facts() {
    let f = fx("worker.loadbalancer.method=B\nworker.tomcat2.activation=D\n");
    let m = f.model();
    assert_eq!(
        (
            m.request_uri.as_str(),
            m.server_name.as_str(),
            m.server_port
        ),
        ("/jkmanager/", "localhost", 80)
    );
    assert_eq!(m.time.unix, T0 as i64);
    assert_eq!(m.time.tz, "+0100");
    assert_eq!(m.status_workers, ["jkstatus"]);
    let lb = &m.lbs[0];
    assert_eq!(lb.name, "loadbalancer");
    assert_eq!(lb.method, LbMethod::Busyness);
    assert!(lb.sticky_session);
    let names: Vec<&str> = lb.members.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["tomcat1", "tomcat2"]);
    assert_eq!(lb.members[1].activation, Activation::Disabled);
    assert_eq!(lb.members[0].settings.port, 8009);
    assert_eq!(lb.members[0].settings.address, "127.0.0.1:8009");
    let solo = &m.ajps[0];
    assert_eq!((solo.name.as_str(), solo.used), ("solo", 0));
    assert_eq!(solo.state, MemberState::Idle);
    assert_eq!(
        solo.last_reset_at, T0 as i64,
        "set when the slot is created"
    );
    // cmd=dump never shows a secret.
    assert!(m.dump.iter().any(|(k, _)| k == "worker.tomcat1.port"));
    assert!(
        !m.dump.iter().any(|(k, _)| k.ends_with(".secret")),
        "{:?}",
        m.dump
    );
}

#[test]
fn member_changes_reach_the_balancer_and_are_logged_with_old_and_new_values() {
    let f = fx("");
    f.apply(|a| {
        a.update_member(
            "loadbalancer",
            "tomcat1",
            &MemberChanges {
                activation: Some(Activation::Disabled),
                lbfactor: Some(3),
                ..Default::default()
            },
        )
    })
    .unwrap();
    let b = &f.built.balancers["loadbalancer"];
    let s = b.snapshot(0).unwrap();
    assert_eq!(s.activation, Activation::Disabled);
    assert_eq!(s.lbfactor, 3);
    assert_eq!(
        *f.log.borrow(),
        [
            "Status worker 'jkstatus' changing 'activation' for sub worker 'tomcat1' of lb worker \
             'loadbalancer' from 'ACT' to 'DIS' (client 127.0.0.9)",
            "Status worker 'jkstatus' changing 'lbfactor' for sub worker 'tomcat1' of lb worker \
             'loadbalancer' from '1' to '3' (client 127.0.0.9)",
        ]
    );
    // The model shows it.
    assert_eq!(f.model().lbs[0].members[0].activation, Activation::Disabled);
}

#[test]
fn invalid_changes_are_refused() {
    let f = fx("");
    let member =
        |lb: &str, m: &str, c: MemberChanges| f.apply(|a| a.update_member(lb, m, &c)).unwrap_err();
    assert_eq!(
        member("loadbalancer", "nope", MemberChanges::default()),
        "no member 'nope' in 'loadbalancer'"
    );
    assert_eq!(
        member("nolb", "tomcat1", MemberChanges::default()),
        "no load balancer 'nolb'"
    );
    let e = member(
        "loadbalancer",
        "tomcat1",
        MemberChanges {
            lbfactor: Some(-1),
            ..Default::default()
        },
    );
    assert_eq!(e, "negative lbfactor");
    let e = f
        .apply(|a| {
            a.update_lb(
                "loadbalancer",
                &LbChanges {
                    retries: Some(-2),
                    ..Default::default()
                },
            )
        })
        .unwrap_err();
    assert_eq!(e, "-2 is negative");
    let e = f
        .apply(|a| {
            a.update_ajp(
                "ghost",
                &AjpChanges {
                    retries: Some(2),
                    ..Default::default()
                },
            )
        })
        .unwrap_err();
    assert_eq!(e, "no ajp worker 'ghost'");
    assert!(f.log.borrow().is_empty(), "nothing changed, nothing logged");
}

#[test]
fn lb_changes_reach_the_shared_settings() {
    let f = fx("");
    f.apply(|a| {
        a.update_lb(
            "loadbalancer",
            &LbChanges {
                method: Some(LbMethod::Sessions),
                sticky_session: Some(false),
                retries: Some(5),
                ..Default::default()
            },
        )
    })
    .unwrap();
    let s = f.built.balancers["loadbalancer"].lb_snapshot().settings;
    assert_eq!(s.method, LbMethod::Sessions);
    assert!(!s.sticky_session);
    assert_eq!(s.retries, 5);
    assert_eq!(f.log.borrow().len(), 3);
}

#[test]
fn ajp_changes_are_shared_counted_once_and_followed_by_the_endpoint() {
    let f = fx("");
    let sh = &f.built.ajp["solo"];
    let seq = sh.get(Field::AjpSeq);
    f.apply(|a| {
        a.update_ajp(
            "solo",
            &AjpChanges {
                host: Some("127.0.0.2".into()),
                reply_timeout: Some(4321),
                ..Default::default()
            },
        )
    })
    .unwrap();
    assert_eq!(sh.host(), "127.0.0.2");
    assert_eq!(sh.get(Field::AjpReplyTimeout), 4321);
    assert_eq!(
        sh.get(Field::AjpSeq),
        seq + 1,
        "one edit count for the request"
    );
    let log = f.log.borrow();
    assert_eq!(log.len(), 2);
    assert!(
        log[0].contains("changing 'host' for ajp worker 'solo' from '127.0.0.1' to '127.0.0.2'"),
        "{log:?}"
    );
    drop(log);
    // This process's endpoint follows on its next use.
    let ep = &f.built.endpoints["solo"];
    let w = f.workers.worker("solo").unwrap().as_ajp().unwrap();
    sh.sync(ep, w);
    let c = ep.config();
    assert_eq!(c.reply_timeout, Some(Duration::from_millis(4321)));
    assert_eq!(c.addr, Some("127.0.0.2:8011".parse().unwrap()));
    // The model shows the shared values.
    let m = f.model();
    assert_eq!(m.ajps[0].settings.host, "127.0.0.2");
    assert_eq!(m.ajps[0].settings.reply_timeout, 4321);
    // Back to the configured host: the endpoint returns to the configured address (it used
    // to keep the temporary one, since the host matched the configuration again).
    f.apply(|a| {
        a.update_ajp(
            "solo",
            &AjpChanges {
                host: Some("127.0.0.1".into()),
                ..Default::default()
            },
        )
    })
    .unwrap();
    sh.sync(ep, w);
    assert_eq!(ep.config().addr, Some("127.0.0.1:8011".parse().unwrap()));
    assert_eq!(f.model().ajps[0].settings.address, "127.0.0.1:8011");
}

#[test]
fn edited_ajp_settings_survive_a_restart_unless_the_configuration_changed() {
    let (_, workers) = config("");
    let region = region();
    let clock = || -> Arc<dyn jk_lb::Clock> { Arc::new(jk_lb::FakeClock::new(T0)) };
    let first = build(&workers, region, clock(), 64).unwrap();
    first.ajp["solo"].slot.set(Field::AjpRetries, 7);
    // Same configuration, same region (a graceful restart): the edit stays.
    let again = build(&workers, region, clock(), 64).unwrap();
    assert_eq!(again.ajp["solo"].get(Field::AjpRetries), 7);
    assert_eq!(again.endpoints["solo"].config().retries, 7);
    // workers.properties changed solo: its configured values win.
    let (_, changed) = config("worker.solo.reply_timeout=900\n");
    let third = build(&changed, region, clock(), 64).unwrap();
    assert_eq!(third.ajp["solo"].get(Field::AjpRetries), 2);
    assert_eq!(third.ajp["solo"].get(Field::AjpReplyTimeout), 900);
}

#[test]
fn standalone_statistics_count_outcomes_and_reset() {
    let f = fx("");
    let sh = &f.built.ajp["solo"];
    let c = ChildIndex(1);
    sh.begin(c);
    assert_eq!(sh.slot.busy(), 1);
    let t = |sent, received| Traffic { sent, received };
    sh.end(c, Served::Ok, t(202, 61), T0);
    // Another child's request: its own line, summed.
    sh.begin(ChildIndex(3));
    sh.end(ChildIndex(3), Served::Ok, t(100, 10), T0 + 1);
    // Failed requests count the bytes that crossed the wire too (mod_jk ajp_update_stats).
    for how in [Served::ClientError, Served::ReplyTimeout, Served::Error] {
        sh.begin(c);
        sh.end(c, how, t(202, 4), T0 + 5);
    }
    let m = f.model();
    let v = &m.ajps[0];
    assert_eq!(
        (v.used, v.errors, v.client_errors, v.reply_timeouts),
        (5, 2, 1, 1)
    );
    assert_eq!(
        (v.read, v.transferred, v.busy, v.max_busy),
        (61 + 3 * 4 + 10, 4 * 202 + 100, 0, 1)
    );
    assert_eq!(v.state, MemberState::Error, "the last request failed");
    assert_eq!(v.error_time.as_ref().unwrap().unix, (T0 + 5) as i64);
    sh.slot.connected_inc(c);
    sh.slot.connected_inc(ChildIndex(3));
    sh.slot.connected_dec(ChildIndex(3));
    let v = &f.model().ajps[0];
    assert_eq!((v.connected, v.max_connected), (1, 2));
    f.apply(|a| a.reset("solo", None)).unwrap();
    let v = &f.model().ajps[0];
    assert_eq!((v.used, v.errors, v.state), (0, 0, MemberState::Idle));
    // mod_jk's reset: read, transferred and max_connected too, not the open connections.
    assert_eq!(
        (v.read, v.transferred, v.connected, v.max_connected),
        (0, 0, 1, 0)
    );
    assert_eq!(v.last_reset_at, (T0 + 100) as i64);
    assert!(f.log.borrow()[0].contains("changing 'statistics' for solo"));
    let _ = f.region;
}

#[test]
fn endpoints_count_their_connections_on_this_childs_line_once_it_has_one() {
    let server = jk_ajp_testserver::TestServer::start(
        "127.0.0.1:0",
        jk_ajp_testserver::Behaviour::Respond(jk_ajp_testserver::Response::text(200, "OK", "x")),
    )
    .unwrap();
    let extra = format!("worker.solo.port={}\n", server.port());
    let f = fx(&extra);
    let ep = &f.built.endpoints["solo"];
    let sh = &f.built.ajp["solo"];
    // Not yet a child (the parent, or a child with no table entry): nothing is counted.
    assert!(ep.probe(Duration::from_secs(2)).is_ok());
    assert_eq!(sh.connected(), 0);
    ep.reset_connections();
    f.built.child.set(ChildIndex(1));
    assert!(ep.probe(Duration::from_secs(2)).is_ok());
    let v = &f.model().ajps[0];
    assert_eq!((v.connected, v.max_connected), (1, 1));
    // The child leaves the table: a connection it closes afterwards is no longer its to
    // count (the table entry, and its line, may already be another child's).
    f.built.child.clear();
    sh.slot.connected_inc(ChildIndex(1)); // as if a new child took the entry meanwhile
    ep.reset_connections();
    assert_eq!(sh.connected(), 2);
    f.built.child.set(ChildIndex(1));
    let _ = &f.region;
}

#[test]
fn a_members_bytes_and_connections_are_its_ajp_records() {
    let f = fx("");
    let b = &f.built.balancers["loadbalancer"];
    let mut a = b.start(&jk_lb::RequestInfo::default());
    let c = a.next_member().unwrap();
    a.count_traffic(&c, 61, 202);
    a.report(&c, jk_lb::Outcome::Success, 200);
    drop(a);
    // The member's ajp record (shared by name with a standalone use of the worker).
    let sh = &f.built.ajp[c.name];
    assert_eq!((sh.transferred(), sh.read()), (202, 61));
    sh.slot.connected_inc(ChildIndex(0));
    let m = f.model();
    let mv = m.lbs[0].members.iter().find(|m| m.name == c.name).unwrap();
    assert_eq!(
        (mv.transferred, mv.read, mv.connected, mv.max_connected),
        (202, 61, 1, 1)
    );
    f.apply(|a| a.reset("loadbalancer", Some(c.name))).unwrap();
    let m = f.model();
    let mv = m.lbs[0].members.iter().find(|m| m.name == c.name).unwrap();
    assert_eq!(
        (mv.transferred, mv.read, mv.connected, mv.max_connected),
        (0, 0, 1, 0)
    );
}

// ----- URI maps of every server, JkMountCopy, status exposure ---------------------------------

fn server(mounts: &[(&str, &str)], copy: Option<&str>) -> jk_directives::ServerConf {
    let mut c = jk_directives::ServerConf::new(false);
    for (i, (pattern, worker)) in mounts.iter().enumerate() {
        c.add_mount(
            false,
            None,
            pattern,
            Some(worker),
            &format!("httpd.conf:{}", i + 1),
        )
        .unwrap();
    }
    if let Some(v) = copy {
        c.set_mount_copy(v).unwrap();
    }
    c
}

fn worker_of(map: &jk_urimap::UriMap, uri: &str) -> Option<String> {
    map.map(uri).map(|m| m.worker.to_string())
}

#[test]
fn maps_per_server_follow_jk_mount_copy_and_warn_about_unknown_workers() {
    let (_, workers) = config("worker.solo.mount=/solo/*\n");
    let global = jk_directives::GlobalConf::default();
    let main = server(
        &[("/app/*", "loadbalancer"), ("/jkmanager/*", "jkstatus")],
        None,
    );
    let copying = {
        let mut c = server(&[("/other/*", "solo")], Some("On"));
        c.is_virtual = true;
        c
    };
    let own = {
        let mut c = server(&[("/x/*", "nosuchworker")], None);
        c.is_virtual = true;
        c
    };
    let (maps, warnings) =
        crate::maps::build_maps(&[&main, &copying, &own], &workers, &global).unwrap();
    let [Some(m0), Some(m1), Some(m2)] = &maps[..] else {
        panic!("{maps:?}")
    };
    assert_eq!(worker_of(m0, "/app/a").as_deref(), Some("loadbalancer"));
    assert_eq!(
        worker_of(m0, "/solo/a").as_deref(),
        Some("solo"),
        "worker.solo.mount"
    );
    assert_eq!(
        worker_of(m1, "/app/a").as_deref(),
        Some("loadbalancer"),
        "copied"
    );
    assert_eq!(worker_of(m1, "/other/a").as_deref(), Some("solo"));
    assert_eq!(
        worker_of(m2, "/app/a"),
        None,
        "no JkMountCopy: own mounts only"
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    // The unknown worker is mod_jk's error line, once per rule of the map that has it.
    let unknown = |m| crate::maps::unknown_workers(m, &workers);
    assert!(unknown(m0).is_empty() && unknown(m1).is_empty());
    let u = unknown(m2);
    assert_eq!(
        u,
        [crate::maps::UnknownWorker {
            worker: "nosuchworker".into(),
            loc: Some("httpd.conf:1".into())
        }]
    );
    assert_eq!(
        u[0].message(),
        "Could not find worker with name 'nosuchworker' in uri map post processing."
    );
    assert_eq!(
        u[0].to_string(),
        "httpd.conf:1: Could not find worker with name 'nosuchworker' in uri map post processing."
    );
    assert!(crate::maps::copy_enabled(&main, &global, &copying));
    assert!(!crate::maps::copy_enabled(&main, &global, &own));
}

#[test]
fn every_rule_naming_an_unknown_worker_is_reported_but_not_an_unmount() {
    let (_, workers) = config("");
    let mut main = server(
        &[("/a/*", "ghost"), ("/b/*", "ghost"), ("/c", "solo")],
        None,
    );
    main.add_mount(true, None, "/a/x", Some("ghost2"), "httpd.conf:9")
        .unwrap();
    let (maps, _) =
        crate::maps::build_maps(&[&main], &workers, &jk_directives::GlobalConf::default()).unwrap();
    let map = maps[0].as_ref().unwrap();
    let mut got: Vec<(String, Option<String>)> = crate::maps::unknown_workers(map, &workers)
        .into_iter()
        .map(|u| (u.worker, u.loc))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("ghost".to_string(), Some("httpd.conf:1".to_string())),
            ("ghost".to_string(), Some("httpd.conf:2".to_string())),
        ]
    );
}

#[test]
fn a_bad_mount_is_an_error_naming_its_line() {
    let (_, workers) = config("");
    let main = server(&[("/app/*", "loadbalancer;reply_timeout=abc")], None);
    let errors = crate::maps::build_maps(&[&main], &workers, &jk_directives::GlobalConf::default())
        .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("reply_timeout"), "{errors:?}");
}

#[test]
fn a_mounted_writable_status_worker_is_warned_about_until_it_is_restricted() {
    let map = |mounts: &[(&str, &str)]| {
        let (_, workers) = config("");
        let (maps, _) = crate::maps::build_maps(
            &[&server(mounts, None)],
            &workers,
            &jk_directives::GlobalConf::default(),
        )
        .unwrap();
        vec![(
            "localhost:80".to_string(),
            Arc::new(maps[0].clone().unwrap()),
        )]
    };
    let warnings = |extra: &str, maps: &[(String, Arc<jk_urimap::UriMap>)]| {
        let f = fx(extra);
        let v = View { maps, ..f.view() };
        crate::status::exposure_warnings(v)
    };
    let mounted = map(&[("/jkmanager/*", "jkstatus")]);
    let w = warnings("", &mounted);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].starts_with("status worker 'jkstatus' can change workers at runtime")
            && w[0].contains("mounted at /jkmanager/*"),
        "{w:?}"
    );
    assert!(warnings("worker.jkstatus.read_only=true\n", &mounted).is_empty());
    assert!(warnings("worker.jkstatus.user=admin\n", &mounted).is_empty());
    assert!(
        warnings("", &map(&[("/app/*", "loadbalancer")])).is_empty(),
        "not mounted"
    );
}

#[test]
fn a_tracked_request_dropped_without_finishing_counts_as_an_error_and_leaves_no_busy() {
    let f = fx("");
    let sh = &f.built.ajp["solo"];
    let t = sh.track(ChildIndex(2));
    assert_eq!(sh.slot.busy(), 1);
    drop(t); // as when a panic unwinds through the request
    assert_eq!(sh.slot.busy(), 0);
    assert_eq!((sh.slot.elected(), sh.get(Field::Errors)), (1, 1));
    sh.track(ChildIndex(2)).finish(
        Served::Ok,
        Traffic {
            sent: 5,
            received: 0,
        },
        T0,
    );
    assert_eq!((sh.transferred(), sh.read()), (5, 0));
    assert_eq!(
        (sh.slot.elected(), sh.get(Field::Errors), sh.slot.busy()),
        (2, 1, 0)
    );
}

#[test]
fn every_lb_setting_change_is_applied_and_logged_in_order() {
    let f = fx("");
    f.apply(|a| {
        a.update_lb(
            "loadbalancer",
            &LbChanges {
                retries: Some(4),
                retry_interval: Some(250),
                recover_time: Some(30),
                error_escalation_time: Some(15),
                max_reply_timeouts: Some(3),
                sticky_session: Some(false),
                sticky_session_force: Some(true),
                ..Default::default()
            },
        )
    })
    .unwrap();
    let s = f.built.balancers["loadbalancer"].lb_snapshot().settings;
    assert_eq!(
        (
            s.retries,
            s.retry_interval_ms,
            s.recover_time_s,
            s.error_escalation_time_s,
            s.max_reply_timeouts
        ),
        (4, 250, 30, 15, 3)
    );
    assert!(!s.sticky_session && s.sticky_session_force);
    let changed: Vec<String> = f
        .log
        .borrow()
        .iter()
        .map(|l| {
            l.split("changing '")
                .nth(1)
                .unwrap()
                .split(" (client")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        changed,
        [
            "retries' for lb worker 'loadbalancer' from '2' to '4'",
            "retry_interval' for lb worker 'loadbalancer' from '100' to '250'",
            "recover_time' for lb worker 'loadbalancer' from '60' to '30'",
            "error_escalation_time' for lb worker 'loadbalancer' from '30' to '15'",
            "max_reply_timeouts' for lb worker 'loadbalancer' from '0' to '3'",
            "sticky_session' for lb worker 'loadbalancer' from 'true' to 'false'",
            "sticky_session_force' for lb worker 'loadbalancer' from 'false' to 'true'",
        ]
    );
}

#[test]
fn a_region_overwritten_with_0xff_leaves_endpoints_and_the_status_model_on_the_configuration() {
    let (tomcat1, members, port, routes) = {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let words: &'static [std::sync::atomic::AtomicU64] = Box::leak(
                (0..jk_shm::words_needed(4, 64))
                    .map(|_| std::sync::atomic::AtomicU64::new(0))
                    .collect(),
            );
            let (props, workers) = config("worker.tomcat1.route=r1\n");
            let region = Region::open(words, 4, 64).unwrap();
            let built = build(&workers, region, Arc::new(jk_lb::FakeClock::new(T0)), 64).unwrap();
            let f = Fx {
                props,
                workers,
                built,
                region,
                log: RefCell::new(Vec::new()),
            };
            for w in words {
                w.store(u64::MAX, std::sync::atomic::Ordering::Relaxed);
            }
            for name in ["tomcat1", "solo"] {
                let w = f.workers.worker(name).unwrap().as_ajp().unwrap();
                f.built.ajp[name].sync(&f.built.endpoints[name], w);
            }
            let sh = &f.built.ajp["solo"];
            sh.track(ChildIndex(0))
                .finish(Served::Error, jk_ajp_client::Traffic::default(), T0);
            sh.reset(T0);
            let m = f.model();
            let _ = f.apply(|a| {
                a.update_ajp(
                    "solo",
                    &AjpChanges {
                        reply_timeout: Some(10),
                        ..Default::default()
                    },
                )
            });
            let lb = &m.lbs[0];
            let _ = tx.send((
                f.built.endpoints["tomcat1"].config().addr,
                lb.members.len(),
                lb.members[0].settings.port,
                lb.members
                    .iter()
                    .map(|x| x.route.clone())
                    .collect::<Vec<_>>(),
            ));
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("on an all-0xFF region: hung (still running after 10 s) or panicked")
    };
    assert_eq!(
        tomcat1,
        Some("127.0.0.1:8009".parse().unwrap()),
        "contact kept"
    );
    assert_eq!((members, port), (2, 8009));
    assert_eq!(routes, ["r1", "tomcat2"], "the configured routes");
}

#[test]
fn a_refused_write_changes_nothing_and_is_logged_with_the_client() {
    let f = fx("worker.jkstatus.write_requires_token=true\n");
    let jk_config::WorkerKind::Status(sw) = &f.workers.worker("jkstatus").unwrap().kind else {
        panic!("jkstatus is a status worker");
    };
    let token = "00112233445566778899aabbccddeeff";
    let cfg = crate::status::status_config(sw, token);
    assert!(cfg.write_requires_token);
    assert_eq!(cfg.write_token, token);
    let model = f.model();
    let q = "cmd=update&w=loadbalancer&sw=tomcat1&vwa=S&mime=txt";
    // A cross-site GET: the verdict the glue computes from the request's headers.
    let origin = jk_status::WriteOrigin {
        method: "GET",
        host: Some("localhost"),
        sec_fetch_site: Some("cross-site"),
        ..Default::default()
    };
    let verdict = jk_status::check_write(&origin, token, cfg.write_requires_token);
    let r = std::cell::RefCell::new(None);
    f.apply_as(verdict, |a| {
        *r.borrow_mut() = Some(jk_status::handle_query(&cfg, q, None, &model, a));
        Ok(())
    })
    .unwrap();
    let r = r.into_inner().unwrap();
    assert!(
        r.body.contains("type=ERROR message=\"Change refused: "),
        "{}",
        r.body
    );
    let b = &f.built.balancers["loadbalancer"];
    assert_eq!(
        b.snapshot(0).unwrap().activation,
        jk_config::Activation::Active
    );
    let log = f.log.borrow().clone();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(
        log[0].starts_with("WARN Status worker 'jkstatus' refused a change (client 127.0.0.9): ")
            && log[0].ends_with("takes changes only as a POST with its page's token"),
        "{log:?}"
    );
    // Without write_requires_token the same GET is refused for where it comes from.
    f.log.borrow_mut().clear();
    let verdict = jk_status::check_write(&origin, token, false);
    f.apply_as(verdict, |a| {
        let r = jk_status::handle_query(&cfg, q, None, &model, a);
        assert!(r.body.contains("type=ERROR"), "{}", r.body);
        Ok(())
    })
    .unwrap();
    assert!(
        f.log.borrow()[0].contains("(client 127.0.0.9): a change sent by a browser from another site (Sec-Fetch-Site: cross-site)"),
        "{:?}",
        f.log.borrow()
    );
    assert_eq!(
        b.snapshot(0).unwrap().activation,
        jk_config::Activation::Active
    );
    // Our page's POST with the token is applied and logged as usual.
    f.log.borrow_mut().clear();
    let origin = jk_status::WriteOrigin {
        method: "POST",
        host: Some("localhost"),
        sec_fetch_site: Some("same-origin"),
        origin: Some("http://localhost"),
        token: Some(token),
        ..Default::default()
    };
    let verdict = jk_status::check_write(&origin, token, cfg.write_requires_token);
    f.apply_as(verdict, |a| {
        let r = jk_status::handle_query(&cfg, q, None, &model, a);
        assert!(r.body.contains("type=OK"), "{}", r.body);
        Ok(())
    })
    .unwrap();
    assert_eq!(
        b.snapshot(0).unwrap().activation,
        jk_config::Activation::Stopped
    );
    assert!(
        f.log.borrow()[0].contains("changing 'activation'")
            && !f.log.borrow()[0].starts_with("WARN"),
        "{:?}",
        f.log.borrow()
    );
}

#[test]
fn write_tokens_are_16_random_bytes_in_hex() {
    let t = crate::status::new_write_token(&[0xab_u8; 16][..]).unwrap();
    assert_eq!(t, "ab".repeat(16));
    assert!(
        crate::status::new_write_token(&[1u8; 15][..]).is_err(),
        "short read"
    );
    assert!(
        crate::status::new_write_token(&[0u8; 16][..]).is_err(),
        "all zero"
    );
    let a = crate::status::new_write_token(std::fs::File::open("/dev/urandom").unwrap()).unwrap();
    let b = crate::status::new_write_token(std::fs::File::open("/dev/urandom").unwrap()).unwrap();
    assert_eq!(a.len(), 32);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}
