//! A configured member's host name followed when the member fails (mod_jk-rs; mod_jk
//! resolves a worker's host once, at start-up). A container that is restarted or recreated
//! (docker compose) often comes back on a new address under the same name: the requests held
//! for it (hold_timeout) would wait for the old address until they fail over and lose their
//! sessions. While a configured member of a balancer is not ready (down, recovering, awaiting
//! readiness; not stopped by the operator) and its `host` is a name, not an address, a
//! thread of this process's own (so a hanging resolver delays nothing else) resolves the
//! name (at most every [`EVERY`]); when the member's endpoint points at none of the
//! addresses it now has, the endpoint follows the name
//! ([`AjpShared::follow_configured_host`]) and publishes the new address in the worker's
//! shared record, so every child's endpoint moves there with its next use (also a child that
//! never saw the member down, or one forked later); the readiness probes and held requests
//! reach the Tomcat at its new address. A member whose name did not resolve when httpd
//! started (no address at all: "contact disabled") is followed the same way, ready or not,
//! until its name resolves. A failed or empty resolution changes nothing.
//! Request threads never resolve. The followed address lasts until httpd (re)starts and
//! resolves the name anew.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use jk_config::{Activation, WorkerKind};
use jk_log::Level;

use crate::discovery::Resolver;
use crate::View;

/// The shortest time between two resolutions of one member's host by one process.
pub const EVERY: Duration = Duration::from_secs(2);

/// What one process remembers between rounds: when it last resolved each member's host.
#[derive(Default)]
pub struct Reresolver {
    last: HashMap<String, Instant>,
}

impl Reresolver {
    /// One round over every configured member of every balancer (see the module docs).
    /// `log` gets a line per address followed.
    pub fn round(&mut self, v: &View<'_>, resolver: &dyn Resolver, log: &dyn Fn(Level, &str)) {
        let now = Instant::now();
        for (lb, b) in v.balancers {
            for i in (0..b.member_count()).filter(|&i| !b.is_growth(i)) {
                if b.snapshot(i)
                    .is_none_or(|m| m.activation == Activation::Stopped)
                {
                    continue;
                }
                let Some(name) = b.member_name(i) else {
                    continue;
                };
                let Some(WorkerKind::Ajp(w)) = v.workers.worker(name).map(|w| &w.kind) else {
                    continue;
                };
                if w.host.parse::<IpAddr>().is_ok() || w.host.is_empty() {
                    continue;
                }
                let (Some(shared), Some(ep)) = (v.ajp.get(name), v.endpoints.get(name)) else {
                    continue;
                };
                // A ready member is left alone, unless its name did not resolve when httpd
                // started (a gateway started before its Tomcats' containers had names): its
                // requests fail before they reach the balancer's error state ("contact
                // disabled"), so it would never look down and never be followed.
                if b.is_ready(i) && ep.config().addr.is_some() {
                    continue;
                }
                if self
                    .last
                    .get(name)
                    .is_some_and(|t| now.duration_since(*t) < EVERY)
                {
                    continue;
                }
                self.last.insert(name.to_string(), now);
                let Ok(addrs) = resolver.resolve(&w.host, w.port) else {
                    continue;
                };
                if let Some((old, new)) = shared.follow_configured_host(ep, w, &addrs) {
                    let old = old.map_or_else(|| "none".to_string(), |a| a.to_string());
                    log(
                        Level::Info,
                        &format!(
                            "({lb}) member '{name}' is down and its host '{}' resolves to {new} \
                             now, not {old}: connecting there",
                            w.host
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::cell::RefCell;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use jk_config::{BuildOptions, PropertyMap, WorkersConfig};
    use jk_shm::Region;

    use super::*;
    use crate::{build, Built};

    /// Answers every name with `answer`, counting the questions.
    struct FakeResolver {
        answer: Result<Vec<SocketAddr>, String>,
        asked: AtomicUsize,
    }

    impl Resolver for FakeResolver {
        fn resolve(&self, _name: &str, _port: u16) -> Result<Vec<SocketAddr>, String> {
            self.asked.fetch_add(1, Ordering::Relaxed);
            self.answer.clone()
        }
    }

    fn fake(answer: Result<Vec<SocketAddr>, String>) -> FakeResolver {
        FakeResolver {
            answer,
            asked: AtomicUsize::new(0),
        }
    }

    /// lb over tomcat1 (host `host`) and tomcat2 (127.0.0.1).
    fn built(host: &str) -> (PropertyMap, WorkersConfig, Built) {
        let text = format!(
            "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=tomcat1,tomcat2\n\
             worker.tomcat1.host={host}\nworker.tomcat1.port=8009\n\
             worker.tomcat2.host=127.0.0.1\nworker.tomcat2.port=8010\n"
        );
        let mut map = PropertyMap::new();
        map.read_str(&text, "workers.properties").unwrap();
        let workers = jk_config::build(
            &map,
            &BuildOptions {
                default_pool_size: 1,
            },
        )
        .unwrap();
        let clock = Arc::new(jk_lb::FakeClock::new(1_700_000_000));
        let b = build(&workers, Region::in_heap(2, 64), clock, 4).unwrap();
        (map, workers, b)
    }

    fn view<'a>(p: &'a PropertyMap, w: &'a WorkersConfig, b: &'a Built) -> View<'a> {
        View {
            props: p,
            workers: w,
            endpoints: &b.endpoints,
            balancers: &b.balancers,
            ajp: &b.ajp,
            maps: &[],
            maintain_secs: 60,
        }
    }

    fn addr(b: &Built) -> Option<SocketAddr> {
        b.endpoints["tomcat1"].config().addr
    }

    #[test]
    fn a_ready_member_whose_name_did_not_resolve_at_start_is_followed() {
        // `.invalid` never resolves (RFC 6761): the endpoint starts without an address.
        let (p, w, b) = built("tc1.invalid");
        assert_eq!(addr(&b), None);
        assert!(b.balancers["lb"].is_ready(0), "nothing failed yet");
        let there: SocketAddr = "127.0.0.5:8009".parse().unwrap();
        let r = fake(Ok(vec![there]));
        let log = RefCell::new(Vec::new());
        let mut rr = Reresolver::default();
        rr.round(&view(&p, &w, &b), &r, &|_, m| {
            log.borrow_mut().push(m.to_string())
        });
        assert_eq!(addr(&b), Some(there));
        assert!(
            log.borrow()[0].contains("resolves to 127.0.0.5:8009 now, not none"),
            "{:?}",
            log.borrow()
        );
        // Followed and ready now: not asked again, not logged again.
        rr.last.clear();
        rr.round(&view(&p, &w, &b), &r, &|_, m| {
            log.borrow_mut().push(m.to_string())
        });
        assert_eq!(
            (r.asked.load(Ordering::Relaxed), log.borrow().len()),
            (1, 1)
        );
    }

    #[test]
    fn a_ready_member_with_an_address_is_not_resolved_again() {
        let (p, w, b) = built("localhost");
        let before = addr(&b);
        assert!(before.is_some());
        let r = fake(Ok(vec!["127.0.0.5:8009".parse().unwrap()]));
        Reresolver::default().round(&view(&p, &w, &b), &r, &|_, _| {});
        assert_eq!((r.asked.load(Ordering::Relaxed), addr(&b)), (0, before));
    }

    #[test]
    fn a_failing_or_empty_resolution_changes_nothing_and_keeps_every_member() {
        let (p, w, b) = built("tc1.invalid");
        for answer in [Err("SERVFAIL".to_string()), Ok(Vec::new())] {
            let r = fake(answer);
            let log = RefCell::new(Vec::<String>::new());
            Reresolver::default().round(&view(&p, &w, &b), &r, &|_, m| {
                log.borrow_mut().push(m.to_string())
            });
            assert_eq!(r.asked.load(Ordering::Relaxed), 1);
            assert_eq!(addr(&b), None);
            assert!(log.borrow().is_empty());
            let lb = &b.balancers["lb"];
            assert_eq!(
                (lb.member_name(0), lb.member_name(1)),
                (Some("tomcat1"), Some("tomcat2"))
            );
        }
    }
}
