#![allow(clippy::unwrap_used)]
//! Members from a registry without ZooKeeper: lists reconciled into an lb's members (joining
//! with their route, draining when no longer listed, undrained when listed again), a big
//! shrink or an empty list held back for discover_hold, the last serving member never drained.

use std::cell::RefCell;
use std::sync::Arc;

use jk_config::{BuildOptions, PropertyMap, WorkersConfig};
use jk_lb::{Lifecycle, Origin};
use jk_runtime::registry::{apply_desired, reconcile, Listed, RegistryLb};
use jk_runtime::{Built, View};
use jk_shm::Region;

struct Fx {
    workers: WorkersConfig,
    built: Built,
    props: PropertyMap,
    st: RegistryLb,
    log: RefCell<Vec<String>>,
}

const T0: u64 = 1_800_000_000;

fn fx() -> Fx {
    let text = "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=t1\n\
         worker.t1.host=127.0.0.1\nworker.t1.port=8009\n\
         worker.lb.discovery=zk://127.0.0.1:2181/services/app\n\
         worker.lb.discover_hold=30\nworker.lb.growth=4\n";
    let mut props = PropertyMap::new();
    props.read_str(text, "workers.properties").unwrap();
    let workers = jk_config::build(
        &props,
        &BuildOptions {
            default_pool_size: 4,
        },
    )
    .unwrap();
    let region = Region::in_heap(4, 32);
    let built = jk_runtime::build(&workers, region, Arc::new(jk_lb::SystemClock), 4).unwrap();
    Fx {
        workers,
        built,
        props,
        st: RegistryLb::default(),
        log: RefCell::new(Vec::new()),
    }
}

fn m(id: &str, port: u16, route: &str) -> Listed {
    Listed {
        id: id.into(),
        host: "127.0.1.5".into(),
        port,
        route: route.into(),
        weight: None,
    }
}

impl Fx {
    fn view(&self) -> View<'_> {
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

    fn apply(&mut self, listed: &[Listed], now: u64) -> usize {
        let v = View {
            props: &self.props,
            workers: &self.workers,
            endpoints: &self.built.endpoints,
            balancers: &self.built.balancers,
            ajp: &self.built.ajp,
            maps: &[],
            maintain_secs: 60,
        };
        let b = self.built.balancers["lb"].clone();
        let log = |_: jk_log::Level, s: &str| self.log.borrow_mut().push(s.to_string());
        reconcile(&v, "lb", &b, "zk", listed, 30, now, &mut self.st, &log)
    }

    /// (name, route, lifecycle, origin) of the members in use.
    fn members(&self) -> Vec<(String, String, Lifecycle, Origin)> {
        let b = &self.built.balancers["lb"];
        (0..b.member_count())
            .filter(|&i| b.in_use(i))
            .map(|i| {
                (
                    b.display_name(i),
                    b.snapshot(i).unwrap().route,
                    b.lifecycle(i),
                    b.origin(i),
                )
            })
            .collect()
    }

    fn registry(&self) -> Vec<(String, String, Lifecycle)> {
        self.members()
            .into_iter()
            .filter(|m| m.3 == Origin::Registry)
            .map(|m| (m.0, m.1, m.2))
            .collect()
    }
}

#[test]
fn listed_members_join_with_their_route_and_leave_by_draining() {
    let mut f = fx();
    let _ = f.view();
    assert_eq!(
        f.apply(&[m("tc2", 8010, "r2"), m("tc3", 8011, "tc3")], T0),
        2
    );
    let reg = f.registry();
    assert_eq!(reg.len(), 2, "{reg:?}");
    assert_eq!((reg[0].0.as_str(), reg[0].1.as_str()), ("tc2", "r2"));
    assert_eq!((reg[1].0.as_str(), reg[1].1.as_str()), ("tc3", "tc3"));
    assert_eq!(
        f.apply(&[m("tc2", 8010, "r2"), m("tc3", 8011, "tc3")], T0),
        0,
        "same list: nothing"
    );
    // tc3 no longer listed: it drains (1 of 3 serving: no hold).
    assert_eq!(f.apply(&[m("tc2", 8010, "r2")], T0 + 1), 1);
    assert_eq!(f.registry()[1].2, Lifecycle::Draining);
    // Listed again while draining: serving again.
    assert_eq!(
        f.apply(&[m("tc2", 8010, "r2"), m("tc3", 8011, "tc3")], T0 + 2),
        1
    );
    assert_ne!(f.registry()[1].2, Lifecycle::Draining);
    let log = f.log.borrow().join("\n");
    assert!(
        log.contains("member 'tc2' (127.0.1.5:8010, route r2) listed by zk"),
        "{log}"
    );
    assert!(
        log.contains("'tc3' is no longer listed by zk: it drains"),
        "{log}"
    );
}

#[test]
fn an_empty_list_or_a_big_shrink_waits_for_discover_hold() {
    let mut f = fx();
    f.apply(
        &[m("a", 8010, "a"), m("b", 8011, "b"), m("c", 8012, "c")],
        T0,
    );
    assert_eq!(f.registry().len(), 3);
    // 4 serving (t1 + 3); an empty list would drain 3 of them: held.
    assert_eq!(f.apply(&[], T0 + 1), 0);
    assert!(f.st.shrink_held());
    assert_eq!(f.apply(&[], T0 + 20), 0, "still within discover_hold");
    assert!(f.registry().iter().all(|r| r.2 != Lifecycle::Draining));
    // Back before the hold ran out: nothing happened, nothing held.
    f.apply(
        &[m("a", 8010, "a"), m("b", 8011, "b"), m("c", 8012, "c")],
        T0 + 25,
    );
    assert!(!f.st.shrink_held());
    // Empty for longer than discover_hold: applied.
    f.apply(&[], T0 + 100);
    assert_eq!(f.apply(&[], T0 + 131), 3);
    assert!(f.registry().iter().all(|r| r.2 == Lifecycle::Draining));
    let log = f.log.borrow().join("\n");
    assert!(
        log.contains("no longer lists 3 of the lb's 4 serving members"),
        "{log}"
    );
}

#[test]
fn a_listed_address_of_a_configured_member_is_not_added_twice_and_weights_apply() {
    let mut f = fx();
    let mut dup = m("x", 8009, "x");
    dup.host = "127.0.0.1".into();
    let mut w = m("w", 8010, "w");
    w.weight = Some(3);
    assert_eq!(f.apply(&[dup.clone(), w.clone()], T0), 1);
    assert_eq!(f.registry().len(), 1);
    let b = f.built.balancers["lb"].clone();
    let i = b.find_member("w").unwrap();
    assert_eq!(b.snapshot(i).unwrap().lbfactor, 3);
    w.weight = Some(5);
    assert_eq!(f.apply(&[dup, w], T0 + 1), 1);
    assert_eq!(b.snapshot(i).unwrap().lbfactor, 5);
    let log = f.log.borrow().join("\n");
    assert_eq!(
        log.matches("already a member of the lb").count(),
        1,
        "{log}"
    );
}

/// A desired state is applied once: only what differs is written (and reported), restart
/// maintenance goes on and off, an unknown activation changes nothing.
#[test]
fn desired_state_is_applied_once_and_only_where_it_differs() {
    let f = fx();
    let b = &f.built.balancers["lb"];
    let i = b.member_index("t1").unwrap();
    assert_eq!(
        apply_desired(b, i, "disabled", Some(3)),
        ["activation DIS", "lbfactor 3"]
    );
    assert!(
        apply_desired(b, i, "disabled", Some(3)).is_empty(),
        "nothing differs"
    );
    assert_eq!(
        apply_desired(b, i, "restarting", None),
        ["restart maintenance on"]
    );
    assert!(b.snapshot(i).unwrap().restarting);
    assert_eq!(
        apply_desired(b, i, "active", None),
        ["restart maintenance off", "activation ACT"]
    );
    assert!(apply_desired(b, i, "bogus", None).is_empty());
    assert_eq!(b.snapshot(i).unwrap().lbfactor, 3);
}
