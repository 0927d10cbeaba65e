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
                    let (why, old) = match old {
                        Some(a) => ("is down", a.to_string()),
                        None => ("had no address", "none".to_string()),
                    };
                    log(
                        Level::Info,
                        &format!(
                            "({lb}) member '{name}' {why} and its host '{}' resolves to {new} \
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

    use super::*;
    use crate::tests::{fx, Fx};

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

    /// The unit tests' lb `loadbalancer` with tomcat1 on host `host`.
    fn with_host(host: &str) -> Fx {
        fx(&format!("worker.tomcat1.host={host}\n"))
    }

    fn addr(f: &Fx) -> Option<SocketAddr> {
        f.built.endpoints["tomcat1"].config().addr
    }

    /// One round of `rr` with `r`; the lines it logged.
    fn round(rr: &mut Reresolver, f: &Fx, r: &FakeResolver) -> Vec<String> {
        let log = RefCell::new(Vec::new());
        rr.round(&f.view(), r, &|_, m| log.borrow_mut().push(m.to_string()));
        log.into_inner()
    }

    #[test]
    fn a_ready_member_whose_name_did_not_resolve_at_start_is_followed() {
        // `.invalid` never resolves (RFC 6761): the endpoint starts without an address.
        let f = with_host("tc1.invalid");
        assert_eq!(addr(&f), None);
        assert!(
            f.built.balancers["loadbalancer"].is_ready(0),
            "nothing failed yet"
        );
        let there: SocketAddr = "127.0.0.5:8009".parse().unwrap();
        let r = fake(Ok(vec![there]));
        let mut rr = Reresolver::default();
        let log = round(&mut rr, &f, &r);
        assert_eq!(addr(&f), Some(there));
        assert!(
            log[0].contains(
                "'tomcat1' had no address and its host 'tc1.invalid' resolves to \
                             127.0.0.5:8009 now, not none"
            ),
            "{log:?}"
        );
        // Followed and ready now: not asked again, not logged again.
        rr.last.clear();
        let again = round(&mut rr, &f, &r);
        assert_eq!((r.asked.load(Ordering::Relaxed), again.len()), (1, 0));
    }

    #[test]
    fn a_ready_member_with_an_address_is_not_resolved_again() {
        let f = with_host("localhost");
        let before = addr(&f);
        assert!(before.is_some());
        let r = fake(Ok(vec!["127.0.0.5:8009".parse().unwrap()]));
        round(&mut Reresolver::default(), &f, &r);
        assert_eq!((r.asked.load(Ordering::Relaxed), addr(&f)), (0, before));
    }

    #[test]
    fn a_failing_or_empty_resolution_changes_nothing_and_keeps_every_member() {
        let f = with_host("tc1.invalid");
        for answer in [Err("SERVFAIL".to_string()), Ok(Vec::new())] {
            let r = fake(answer);
            let log = round(&mut Reresolver::default(), &f, &r);
            assert_eq!(r.asked.load(Ordering::Relaxed), 1);
            assert_eq!(addr(&f), None);
            assert!(log.is_empty());
            let lb = &f.built.balancers["loadbalancer"];
            assert_eq!(
                (lb.member_name(0), lb.member_name(1)),
                (Some("tomcat1"), Some("tomcat2"))
            );
        }
    }
}
