#![allow(clippy::unwrap_used)]
//! DNS discovery without httpd: a fake resolver's answers reconciled into an lb's members
//! (joining, draining, kept when the resolver fails or answers nothing, a big shrink held
//! back), one process at a time under the discovery lease.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use jk_config::{BuildOptions, PropertyMap, WorkersConfig};
use jk_lb::{Lifecycle, Origin};
use jk_runtime::discovery::{Discovery, Resolver};
use jk_runtime::{Built, View};
use jk_shm::Region;

struct FakeResolver {
    answer: Mutex<Result<Vec<SocketAddr>, String>>,
    calls: AtomicUsize,
}

impl FakeResolver {
    fn set(&self, a: Result<&[&str], &str>) {
        *self.answer.lock().unwrap() = a
            .map(|v| v.iter().map(|s| s.parse().unwrap()).collect())
            .map_err(str::to_owned);
    }
}

impl Resolver for FakeResolver {
    fn resolve(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        assert_eq!((name, port), ("tasks.app", 8009));
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.answer.lock().unwrap().clone()
    }
}

struct Fx {
    workers: WorkersConfig,
    built: Built,
    props: PropertyMap,
    resolver: FakeResolver,
    discovery: Discovery,
    log: RefCell<Vec<String>>,
}

const PID: u32 = 4242;
const T0: u64 = 1_800_000_000;

fn fx() -> Fx {
    fx_with("")
}

fn fx_with(extra: &str) -> Fx {
    let text = format!(
        "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=t1\n\
         worker.t1.host=127.0.0.1\nworker.t1.port=8009\n\
         worker.lb.discover_dns=tasks.app:8009\nworker.lb.discover_interval=5\n\
         worker.lb.discover_hold=30\nworker.lb.growth=4\n{extra}"
    );
    let mut props = PropertyMap::new();
    props.read_str(&text, "workers.properties").unwrap();
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
        resolver: FakeResolver {
            answer: Mutex::new(Ok(Vec::new())),
            calls: AtomicUsize::new(0),
        },
        discovery: Discovery::default(),
        log: RefCell::new(Vec::new()),
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

    /// A round of process `pid` at `now`; every other process is alive.
    fn round_as(&self, pid: u32, now: u64) {
        self.discovery.round(
            &self.view(),
            &self.resolver,
            pid,
            now,
            &|_| true,
            &|level, m| self.log.borrow_mut().push(format!("[{level:?}] {m}")),
        );
    }

    fn round(&self, now: u64) {
        self.round_as(PID, now);
    }

    /// Discovered members: (label, lifecycle), sorted.
    fn members(&self) -> Vec<(String, Lifecycle)> {
        let b = &self.built.balancers["lb"];
        let mut v: Vec<_> = (0..b.member_count())
            .filter(|&i| b.in_use(i) && b.origin(i) == Origin::Dns)
            .map(|i| (b.display_name(i), b.lifecycle(i)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn logged(&self, part: &str) -> usize {
        self.log
            .borrow()
            .iter()
            .filter(|l| l.contains(part))
            .count()
    }
}

use Lifecycle::{Draining, Joining};

fn m(label: &str, l: Lifecycle) -> (String, Lifecycle) {
    (label.to_string(), l)
}

#[test]
fn addresses_join_vanished_ones_drain_and_return() {
    let f = fx();
    f.resolver.set(Ok(&["127.0.0.21:8009", "127.0.0.22:8009"]));
    f.round(T0);
    assert_eq!(
        f.members(),
        [m("127.0.0.21:8009", Joining), m("127.0.0.22:8009", Joining)]
    );
    assert_eq!(f.logged("discovered member '127.0.0.21:8009'"), 1);
    let b = &f.built.balancers["lb"];
    let i = b.find_member("127.0.0.22:8009").unwrap();
    let sh = &f.built.ajp[b.member_name(i).unwrap()];
    assert_eq!((sh.host().as_str(), sh.port()), ("127.0.0.22", 8009));
    assert!(b.learning_route(i), "a discovered member learns its route");
    // Not before the interval: the resolver is not asked.
    f.resolver.set(Ok(&["127.0.0.21:8009"]));
    f.round(T0 + 2);
    assert_eq!(f.resolver.calls.load(Ordering::SeqCst), 1);
    // One of two gone (not more than half): it drains at once.
    f.round(T0 + 5);
    assert_eq!(
        f.members(),
        [
            m("127.0.0.21:8009", Joining),
            m("127.0.0.22:8009", Draining)
        ]
    );
    assert_eq!(
        f.logged("'127.0.0.22:8009' is no longer in the discovery"),
        1
    );
    // Back before it left: serving again.
    f.resolver.set(Ok(&["127.0.0.21:8009", "127.0.0.22:8009"]));
    f.round(T0 + 10);
    assert_eq!(f.members()[1], m("127.0.0.22:8009", Lifecycle::Active));
    assert_eq!(f.logged("is back in the discovery"), 1);
}

#[test]
fn a_failing_or_empty_resolver_never_removes_a_member() {
    let f = fx();
    f.resolver.set(Ok(&["127.0.0.21:8009", "127.0.0.22:8009"]));
    f.round(T0);
    let before = f.members();
    for (k, answer) in [
        Err("Name or service not known"),
        Err("Name or service not known"),
        Ok(&[][..]),
        Ok(&[][..]),
    ]
    .into_iter()
    .enumerate()
    {
        f.resolver.set(answer);
        f.round(T0 + 5 * (k as u64 + 1));
        assert_eq!(f.members(), before, "round {k}");
    }
    // Logged once per change of the problem, with what is kept.
    assert_eq!(
        f.logged("resolving failed (Name or service not known); keeping all 3 members of the lb"),
        1
    );
    assert_eq!(f.logged("the answer is empty; keeping all 3 members"), 1);
    f.resolver.set(Ok(&["127.0.0.21:8009", "127.0.0.22:8009"]));
    f.round(T0 + 30);
    assert_eq!(
        f.logged("answers again (2 addresses) after: the answer is empty"),
        1
    );
    assert_eq!(f.members(), before);
}

#[test]
fn losing_more_than_half_at_once_waits_for_discover_hold() {
    let f = fx();
    f.resolver.set(Ok(&[
        "127.0.0.21:8009",
        "127.0.0.22:8009",
        "127.0.0.23:8009",
    ]));
    f.round(T0);
    f.resolver.set(Ok(&["127.0.0.24:8009"]));
    f.round(T0 + 5);
    let serving = |f: &Fx| f.members().iter().filter(|(_, l)| *l != Draining).count();
    assert_eq!(
        serving(&f),
        4,
        "the new one joins, none of the three leaves yet"
    );
    assert_eq!(
        f.logged("no longer lists 3 of the lb's 4 serving members"),
        1
    );
    f.round(T0 + 20);
    assert_eq!(serving(&f), 4);
    f.round(T0 + 35);
    assert_eq!(
        serving(&f),
        1,
        "still the answer after discover_hold: applied"
    );
    assert_eq!(f.logged("no longer lists"), 1, "said once");
}

#[test]
fn one_process_discovers_under_the_lease() {
    let f = fx();
    f.resolver.set(Ok(&["127.0.0.21:8009"]));
    f.round_as(1, T0);
    f.round_as(2, T0 + 5);
    f.round_as(2, T0 + 6);
    assert_eq!(
        f.resolver.calls.load(Ordering::SeqCst),
        1,
        "process 1 holds it"
    );
    assert_eq!(f.built.balancers["lb"].discovery_holder(), 1);
    f.round_as(1, T0 + 5);
    assert_eq!(f.resolver.calls.load(Ordering::SeqCst), 2);
    // Process 1 stops renewing (it exited): after twice the interval another takes over.
    f.round_as(2, T0 + 17);
    assert_eq!(
        f.resolver.calls.load(Ordering::SeqCst),
        2,
        "12 s: not yet stale"
    );
    f.round_as(2, T0 + 18);
    assert_eq!(f.resolver.calls.load(Ordering::SeqCst), 3);
    assert_eq!(f.built.balancers["lb"].discovery_holder(), 2);
    // A holder reported dead is replaced at once.
    f.discovery
        .round(&f.view(), &f.resolver, 3, T0 + 18, &|p| p != 2, &|_, _| {});
    assert_eq!(f.built.balancers["lb"].discovery_holder(), 3);
    // Still one member for the one address.
    assert_eq!(f.members().len(), 1);
}

#[test]
fn an_address_of_a_configured_member_is_that_member() {
    let f = fx();
    // t1 is the configured member at 127.0.0.1:8009.
    f.resolver.set(Ok(&["127.0.0.1:8009", "127.0.0.21:8009"]));
    f.round(T0);
    assert_eq!(f.members(), [m("127.0.0.21:8009", Joining)]);
    assert_eq!(f.logged("cannot add"), 0);
    // One of the lb's two serving members gone: not more than half, drained at once.
    f.resolver.set(Ok(&["127.0.0.1:8009"]));
    f.round(T0 + 5);
    assert_eq!(f.members(), [m("127.0.0.21:8009", Draining)]);
}

#[test]
fn a_full_table_is_said_once() {
    let f = fx();
    let many: Vec<String> = (30..40).map(|n| format!("127.0.0.{n}:8009")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    f.resolver.set(Ok(&refs));
    f.round(T0);
    assert_eq!(f.members().len(), 4, "growth=4");
    assert_eq!(f.logged("cannot add it"), 1);
    f.round(T0 + 5);
    assert_eq!(f.logged("cannot add it"), 1);
}

#[test]
fn runtime_members_are_written_to_the_state_file_and_restored_after_a_full_start() {
    let dir = std::env::temp_dir().join(format!("jkrs-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lb.members");
    let path_s = path.to_str().unwrap().to_string();
    let extra = format!("worker.lb.state_file={path_s}\n");
    let f = fx_with(&extra);
    let v = f.view();
    let spec = |name, port, route| jk_runtime::membership::AddSpec {
        name: Some(name),
        host: "127.0.0.31",
        port,
        route,
        template: None,
        origin: Origin::Runtime,
        handover_of: None,
    };
    jk_runtime::membership::add(&v, "lb", &spec("app3", 8101, Some("tc3"))).unwrap();
    jk_runtime::membership::add(&v, "lb", &spec("app4", 8102, None)).unwrap();
    jk_runtime::membership::round(&v, &|_, _| {});
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("app3\t127.0.0.31\t8101\ttc3\truntime\n"),
        "{text}"
    );
    assert!(
        text.contains("app4\t127.0.0.31\t8102\t-\truntime\n"),
        "{text}"
    );
    // Rewritten only when the members change.
    std::fs::write(&path, "tampered").unwrap();
    jk_runtime::membership::round(&v, &|_, _| {});
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "tampered");
    std::fs::write(&path, &text).unwrap();
    // A full stop and start: a fresh region, then the file.
    let g = fx_with(&extra);
    let gv = g.view();
    let b = &g.built.balancers["lb"];
    assert_eq!(b.find_member("app3"), None);
    let lines = jk_runtime::membership::restore(
        &gv,
        "lb",
        &path_s,
        &format!("{text}garbage line\napp5\t127.0.0.31\t8103\t-\tnonsense\n"),
    );
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].ends_with(":5: not 'name host port route origin' (tab-separated); skipped"));
    assert!(lines[2].contains("2 runtime members restored"), "{lines:?}");
    let i = b.find_member("app3").unwrap();
    assert_eq!(b.snapshot(i).unwrap().route, "tc3");
    assert_eq!(
        b.lifecycle(i),
        Lifecycle::Joining,
        "through readiness again"
    );
    assert!(b.learning_route(b.find_member("app4").unwrap()));
    // Restoring again (a graceful restart: the members are there) adds nothing.
    assert!(jk_runtime::membership::restore(&gv, "lb", &path_s, &text).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_state_file_restores_nothing_and_an_unreadable_one_says_so() {
    let dir = std::env::temp_dir().join(format!("jkrs-state-r-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("none.members");
    let f = fx_with(&format!("worker.lb.state_file={}\n", missing.display()));
    assert!(jk_runtime::membership::restore_state_file(&f.view(), "lb").is_empty());
    // A directory where the file should be: it cannot be read.
    let g = fx_with(&format!("worker.lb.state_file={}\n", dir.display()));
    let lines = jk_runtime::membership::restore_state_file(&g.view(), "lb");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("cannot read the state file"), "{lines:?}");
    // Without state_file: nothing.
    assert!(jk_runtime::membership::restore_state_file(&fx().view(), "lb").is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
