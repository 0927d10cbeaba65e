#![allow(clippy::unwrap_used)]
//! End to end with the user's configuration: two real Tomcat 10 instances on 127.0.0.2:8009
//! and 127.0.0.3:8009, httpd with the seed's 000-default.conf as it is (its
//! `<VirtualHost *:80>`, so httpd listens on 127.0.0.1:80) and the seed's workers.properties
//! in a generated copy that changes only the two host lines (`app` -> 127.0.0.2,
//! `app2` -> 127.0.0.3), so the test does not need /etc/hosts entries.

mod support;

use std::time::{Duration, Instant};

use support::tomcat::{field, seed_tomcats, Tomcat};
use support::*;

struct Setup {
    tomcats: Vec<Tomcat>,
    h: Httpd,
    _dir: TestDir,
}

fn setup() -> Setup {
    let dir = TestDir::new("seed-tomcats");
    let tomcats = seed_tomcats(dir.path());
    let h = seed_httpd("seed-e2e", &module_so(), "", "");
    Setup {
        tomcats,
        h,
        _dir: dir,
    }
}

#[test]
fn seed_configuration_balances_sticks_and_survives_a_killed_tomcat() {
    let s = setup();
    let h = &s.h;

    // New sessions spread over both Tomcats.
    let mut nodes = std::collections::BTreeMap::new();
    for _ in 0..40 {
        let r = h.get("/app/session.jsp");
        assert_eq!(r.status, 200, "{}", h.dir.read("logs/mod_jk.log"));
        *nodes.entry(field(&r.text(), "node").unwrap()).or_insert(0) += 1;
    }
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert!(nodes.values().all(|&n| n >= 15), "{nodes:?}");

    // A logged-in tester sticks to its Tomcat.
    let r = h.get("/app/session.jsp?login=tester");
    let cookie = session_cookie(&r).unwrap();
    let node = field(&r.text(), "node").unwrap();
    assert!(
        cookie.ends_with(&format!(".{node}")),
        "{cookie} from {node}"
    );
    for i in 2..=21 {
        let r = h.request("GET", "/app/session.jsp", &[("Cookie", &cookie)]);
        let t = r.text();
        assert_eq!(field(&t, "node").as_deref(), Some(node.as_str()), "{t}");
        assert_eq!(field(&t, "user").as_deref(), Some("tester"), "{t}");
        assert_eq!(field(&t, "count").unwrap(), i.to_string());
    }

    // kill -9 of one Tomcat under load: no failed request.
    let port = h.port;
    let deadline = Instant::now() + Duration::from_secs(4);
    let victim = &s.tomcats[0]; // tomcat1 on 127.0.0.2
    let (ok, failed) = std::thread::scope(|sc| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                sc.spawn(move || {
                    let first = http_request(port, "GET", "/app/session.jsp", &[]);
                    let mut cookie = session_cookie(&first);
                    let (mut ok, mut failed) = (0, Vec::new());
                    while Instant::now() < deadline {
                        let hdrs: Vec<(&str, &str)> =
                            cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
                        let r = http_request(port, "GET", "/app/session.jsp", &hdrs);
                        if r.status == 200 {
                            ok += 1;
                            if let Some(c) = session_cookie(&r) {
                                cookie = Some(c); // failed over: a new session
                            }
                        } else {
                            failed.push(r.status);
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1200));
        victim.kill();
        workers.into_iter().map(|w| w.join().unwrap()).fold(
            (0, Vec::new()),
            |(o, mut f), (o2, f2)| {
                f.extend(f2);
                (o + o2, f)
            },
        )
    });
    println!(
        "kill -9 under load: {ok} requests served, {} failed",
        failed.len()
    );
    assert!(ok > 100, "too little load: {ok}");
    assert!(
        failed.is_empty(),
        "failed: {failed:?}\n{}",
        h.dir.read("logs/mod_jk.log")
    );
    assert!(!h.error_log().contains("exit signal"), "{}", h.error_log());
}
