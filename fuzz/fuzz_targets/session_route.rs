//! A request's URI and `Cookie` headers, from arbitrary bytes, through the session-id
//! extraction of the load balancer (`;jsessionid=` path parameter, then every cookie) and the
//! sticky choice it drives (`<id>.<route>`, several ids `;`-separated, route or domain).
//! Run with `cargo +nightly fuzz run session_route`.
//!
//! Input: byte 0 picks the session names (lb defaults or a mount rule's `session_path=` /
//! `session_cookie=`), the rest is lossy UTF-8: line 1 the URI, further lines Cookie headers.
//!
//! Asserted, beyond "no panic":
//! * a path-parameter value is text of the URI right after `name=` and ends before `?`, `;`,
//!   `/`; a cookie value has no `;` or `,`; a session id is never empty; the path parameter
//!   wins over cookies;
//! * on a balancer with members a (route t1), b (t2, domain d2) and c (t3, domain d2), all
//!   usable, the request goes to the member named by the first id whose route (after its first
//!   `.`) is t1/t2/t3, or to the domain d2 (b or c, route attribute `d2`); otherwise it is not
//!   sticky.
#![no_main]

use std::sync::{Arc, OnceLock};

use jk_config::{build, BuildOptions, PropertyMap};
use jk_lb::session::{cookie_values, path_param};
use jk_lb::{session_ids, Balancer, FakeClock, Outcome, RequestInfo, RuleExtensions};
use jk_shm::Region;
use libfuzzer_sys::fuzz_target;

const CONFIG: &str = "\
worker.list=lb
worker.lb.type=lb
worker.lb.balance_workers=a,b,c
worker.a.host=h1
worker.a.route=t1
worker.b.host=h2
worker.b.route=t2
worker.b.domain=d2
worker.c.host=h3
worker.c.route=t3
worker.c.domain=d2
";

/// Built once: the region lives for the process (as shared memory does in httpd).
fn balancer() -> &'static Balancer {
    static LB: OnceLock<Balancer> = OnceLock::new();
    LB.get_or_init(|| {
        let mut map = PropertyMap::new();
        map.read_str(CONFIG, "workers.properties")
            .expect("fixed config");
        let cfg = build(
            &map,
            &BuildOptions {
                default_pool_size: 1,
            },
        )
        .expect("fixed config");
        let lb = cfg.worker("lb").and_then(|w| w.as_lb()).expect("lb");
        let members: Vec<_> = lb
            .members
            .iter()
            .map(|m| {
                (
                    m.clone(),
                    cfg.worker(m).and_then(|w| w.as_ajp()).expect("ajp"),
                )
            })
            .collect();
        let clock = Arc::new(FakeClock::new(1_796_342_400));
        Balancer::new("lb", lb, &members, Region::in_heap(2, 16), clock).expect("balancer")
    })
}

/// The member (or domain) the first routable session id names, as the lb should choose it.
fn expected(session: &str) -> Option<&'static str> {
    for partial in session.split(';') {
        let Some((_, route)) = partial.split_once('.') else {
            continue;
        };
        match route {
            "t1" => return Some("a"),
            "t2" => return Some("b"),
            "t3" => return Some("c"),
            _ => {}
        }
        if route.split_once('.').map_or(route, |(d, _)| d) == "d2" {
            return Some("d2");
        }
    }
    None
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (path_name, cookie_name, rule) = match pick % 4 {
        0 => (";jsessionid", "JSESSIONID", None),
        1 => ("jsessionid", "JSESSIONID", Some((None, Some("jsessionid")))),
        2 => (";sid", "SID", Some((Some("SID"), Some(";sid")))),
        _ => (";jsessionid", "", Some((Some(""), None))),
    };
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let uri = lines.next().unwrap_or("");
    let cookies: Vec<&str> = lines.take(8).collect();

    let from_path = path_param(uri, path_name);
    if let Some(v) = &from_path {
        assert!(!v.contains(['?', ';', '/']), "{v}");
        assert!(uri.contains(&format!("{path_name}={v}")), "{uri} / {v}");
    }
    let from_cookies = cookie_values(&cookies, cookie_name);
    if let Some(all) = &from_cookies {
        for v in all.split(';') {
            assert!(!v.contains(','));
            assert!(cookies.iter().any(|c| c.contains(v)), "{v} from nowhere");
        }
    }
    let session = session_ids(uri, &cookies, path_name, cookie_name);
    if let Some(s) = &session {
        assert!(!s.is_empty());
        if let Some(p) = from_path.filter(|p| !p.is_empty()) {
            assert_eq!(s, &p, "the path parameter wins");
        }
    }

    // The balancer's choice for this request.
    let ext = rule.map(
        |(cookie, path): (Option<&str>, Option<&str>)| RuleExtensions {
            session_cookie: cookie.map(str::to_owned),
            session_path: path.map(str::to_owned),
            ..RuleExtensions::default()
        },
    );
    let bal = balancer();
    let mut attempt = bal.start(&RequestInfo {
        uri,
        cookies: &cookies,
        rule: ext.as_ref(),
        ..RequestInfo::default()
    });
    assert_eq!(attempt.session_id(), session.as_deref());
    let choice = attempt.next_member().expect("three usable members");
    // The AJP route sent with it; the member's own route from the fixed configuration.
    let route = attempt.worker_route().unwrap_or("");
    let member_route = match choice.name {
        "a" => "t1",
        "b" => "t2",
        _ => "t3",
    };
    match session.as_deref().and_then(expected) {
        Some("d2") => {
            assert!(choice.name == "b" || choice.name == "c", "{choice:?}");
            assert_eq!(route, "d2");
            assert!(!choice.sticky);
        }
        Some(member) => {
            assert_eq!(choice.name, member, "session {session:?}");
            assert_eq!(route, member_route);
            assert!(choice.sticky);
        }
        None => {
            assert!(!choice.sticky, "{choice:?} for session {session:?}");
            assert_eq!(route, member_route);
        }
    }
    attempt.report(&choice, Outcome::Success, 200);
});
