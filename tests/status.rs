#![allow(clippy::unwrap_used)]
//! The status worker in the real httpd: the seed's /jkmanager, the formats monitoring
//! parses, runtime changes seen by every child and kept over a graceful restart, read_only,
//! and the Prometheus output read by a real Prometheus-format parser.

mod support;

use jk_ajp_testserver::{Behaviour, Response as AjpResponse, TestServer};
use support::*;

struct Setup {
    servers: Vec<TestServer>,
    h: Httpd,
    workers: std::path::PathBuf,
}

fn setup(tag: &str, mpm: Mpm, extra: &str) -> Setup {
    let servers = vec![
        member_server("tomcat1", "127.0.0.1:0"),
        member_server("tomcat2", "127.0.0.1:0"),
    ];
    let dir = TestDir::new(tag);
    let body = jk_body(
        &dir,
        &(seed_workers_at([servers[0].port(), servers[1].port()], &[]) + extra),
        "<Location /jkmanager>\n  JkMount jkstatus\n</Location>\n\
         JkMount /jkmanager/* jkstatus\nJkMount /app loadbalancer\nJkMount /app/* loadbalancer\n\
         JkMount /ro/* jkro\n",
    );
    let workers = dir.path().join("workers.properties");
    let h = Httpd::try_start(dir, mpm, &body).unwrap_or_else(|e| panic!("{e}"));
    Setup {
        servers,
        h,
        workers,
    }
}

fn prop(h: &Httpd, key: &str) -> Option<String> {
    let r = h.get("/jkmanager/?mime=prop");
    r.text()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
}

#[test]
fn seed_jkmanager_answers_in_every_format() {
    let s = setup("status-formats", Mpm::Event, "");
    let h = &s.h;
    let html = h.get("/jkmanager/").text();
    assert!(html.contains("<title>JK Status Manager</title>"), "{html}");
    let xml = h.get("/jkmanager/?mime=xml");
    assert_eq!(
        xml.header("Content-Type")
            .map(|c| c.starts_with("text/xml")),
        Some(true)
    );
    assert!(
        xml.text().contains("<jk:balancer\n") && xml.text().contains("name=\"loadbalancer\""),
        "{}",
        xml.text()
    );
    let txt = h.get("/jkmanager/?mime=txt").text();
    assert!(
        txt.lines().any(|l| l.starts_with("Member: name=tomcat1 ")),
        "{txt}"
    );
    assert_eq!(
        prop(h, "worker.tomcat2.port"),
        Some(s.servers[1].port().to_string())
    );
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("ACT"));
    // The seed exposes a writable status worker: one startup warning says so and how to fix it.
    let log = h.dir.read("logs/mod_jk.log");
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("status worker 'jkstatus' can change"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(
        warnings[0].contains("/jkmanager") && warnings[0].contains("Require"),
        "{}",
        warnings[0]
    );
    let json = h.get("/jkmanager/?mime=json").text();
    assert!(
        json.starts_with('{') && json.contains("\"balancers\""),
        "{json}"
    );
    // The documented document shape, with native JSON types.
    let doc: serde_json::Value = serde_json::from_str(&json).expect("the status JSON parses");
    for key in [
        "server",
        "time",
        "software",
        "balancers",
        "ajp_workers",
        "result",
    ] {
        assert!(doc.get(key).is_some(), "no \"{key}\" in {json}");
    }
    assert_eq!(
        doc["server"]["port"].as_u64(),
        Some(u64::from(h.port)),
        "{json}"
    );
    assert!(
        doc["time"]["unix"]
            .as_i64()
            .is_some_and(|t| t > 1_700_000_000),
        "{json}"
    );
    assert_eq!(doc["result"]["type"].as_str(), Some("OK"), "{json}");
    let lb = &doc["balancers"][0];
    assert_eq!(lb["name"].as_str(), Some("loadbalancer"), "{json}");
    let members: Vec<&str> = lb["members"]
        .as_array()
        .expect("members is an array")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(members, ["tomcat1", "tomcat2"], "{json}");
    assert_eq!(
        lb["members"][1]["port"].as_u64(),
        Some(u64::from(s.servers[1].port())),
        "{json}"
    );
    // mod_jk answers 200 even for errors.
    let r = h.get("/jkmanager/?cmd=bogus&mime=txt");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Invalid command."), "{}", r.text());
}

#[test]
fn script_update_url_changes_every_child_and_survives_graceful() {
    let s = setup("status-update", Mpm::Prefork, "");
    let h = &s.h;
    // The URL the user's scripts call: disable tomcat1.
    let r = h.get("/jkmanager/?cmd=update&from=list&w=loadbalancer&sw=tomcat1&vwa=1");
    assert_eq!(r.status, 200);
    // Every child agrees (prefork: the requests spread over several processes).
    for _ in 0..20 {
        assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("DIS"));
    }
    // New sessions go to tomcat2 only.
    for i in 0..20 {
        assert_eq!(h.get(&format!("/app/n{i}")).text(), "member=tomcat2\n");
    }
    let log = h.dir.read("logs/mod_jk.log");
    assert!(
        log.contains("changing 'activation' for sub worker 'tomcat1' of lb worker 'loadbalancer' from 'ACT' to 'DIS' (client 127.0.0.1)"),
        "{log}"
    );
    // A graceful restart keeps the runtime change (the configuration did not change it).
    h.graceful();
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("DIS"));
    // A changed workers.properties wins for what it changes.
    let mut text = std::fs::read_to_string(&s.workers).unwrap();
    text.push_str("worker.tomcat1.activation=S\n");
    std::fs::write(&s.workers, text).unwrap();
    h.graceful();
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("STP"));
}

#[test]
fn read_only_status_worker_refuses_changes() {
    let s = setup(
        "status-ro",
        Mpm::Event,
        "worker.list=jkro\nworker.jkro.type=status\nworker.jkro.read_only=true\n",
    );
    let h = &s.h;
    let r = h.get("/ro/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=S&mime=txt");
    assert!(
        r.text()
            .contains("This command is not allowed in read only mode."),
        "{}",
        r.text()
    );
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("ACT"));
}

#[test]
fn prometheus_output_parses_with_a_prometheus_parser() {
    let s = setup("status-prom", Mpm::Event, "");
    let h = &s.h;
    for i in 0..10 {
        h.get(&format!("/app/p{i}"));
    }
    let r = h.get("/jkmanager/?mime=prometheus");
    assert_eq!(r.status, 200);
    let text = r.text();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let requests: f64 = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "mod_jk_member_requests_total")
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum();
    assert_eq!(requests, 10.0, "{text}");
    assert!(
        scrape.docs.contains_key("mod_jk_member_requests_total"),
        "HELP missing"
    );
    let members: Vec<String> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "mod_jk_member_requests_total")
        .filter_map(|s| s.labels.get("member").map(str::to_string))
        .collect();
    assert!(members.contains(&"tomcat1".to_string()) && members.contains(&"tomcat2".to_string()));
}

#[test]
fn ajp_settings_change_at_runtime_in_every_child() {
    let s = setup("status-ajp", Mpm::Prefork, "");
    let h = &s.h;
    let sticky = [("Cookie", "JSESSIONID=x.tomcat1")];
    assert_eq!(
        h.request("GET", "/app/a", &sticky).text(),
        "member=tomcat1\n"
    );
    // Point tomcat1 at the other server's port and change its reply timeout.
    let other = s.servers[1].port();
    let r = h.get(&format!(
        "/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vaprt={other}&vart=1234&mime=txt"
    ));
    assert!(r.text().contains("type=OK"), "{}", r.text());
    // Every child follows (prefork: several processes).
    for i in 0..12 {
        assert_eq!(
            h.request("GET", &format!("/app/b{i}"), &sticky).text(),
            "member=tomcat2\n"
        );
    }
    assert_eq!(prop(h, "worker.tomcat1.port"), Some(other.to_string()));
    assert_eq!(
        prop(h, "worker.tomcat1.reply_timeout").as_deref(),
        Some("1234")
    );
    let log = h.dir.read("logs/mod_jk.log");
    assert!(
        log.contains("changing 'port' for ajp worker 'tomcat1'"),
        "{log}"
    );
    // Kept over a graceful restart (workers.properties did not change these values).
    h.graceful();
    assert_eq!(prop(h, "worker.tomcat1.port"), Some(other.to_string()));
    assert_eq!(
        h.request("GET", "/app/c", &sticky).text(),
        "member=tomcat2\n"
    );
}

/// A standalone ajp13 worker `solo` at 127.0.0.1:`port` and the status worker `jkstatus`.
fn solo_workers(port: u16) -> String {
    format!(
        "worker.list=solo,jkstatus\nworker.jkstatus.type=status\n\
         worker.solo.type=ajp13\nworker.solo.host=127.0.0.1\nworker.solo.port={port}\n"
    )
}

const SOLO_MOUNTS: &str = "JkMount /solo/* solo\nJkMount /jk/* jkstatus\n";

#[test]
fn a_standalone_ajp_worker_counts_its_requests_in_every_child() {
    let server = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Sequence(vec![
            Behaviour::Respond(AjpResponse::text(200, "OK", "hello")),
            Behaviour::Respond(AjpResponse::text(200, "OK", "hello")),
            Behaviour::Respond(AjpResponse::text(200, "OK", "hello")),
            Behaviour::Stall { millis: 3000 },
            Behaviour::CloseImmediately,
            Behaviour::Respond(AjpResponse::text(200, "OK", "hello")),
        ]),
    )
    .unwrap();
    let workers =
        solo_workers(server.port()) + "worker.solo.reply_timeout=1000\nworker.solo.retries=1\n";
    // prefork: the requests land in several processes; the counters are shared.
    let h = Httpd::with_workers("status-solo", Mpm::Prefork, &workers, SOLO_MOUNTS);
    let get = |key: &str| {
        let r = h.get("/jk/?mime=prop");
        r.text()
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!("worker.solo.{key}="))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("no worker.solo.{key} in {}", r.text()))
    };
    assert_eq!(get("used"), "0");
    for i in 0..3 {
        assert_eq!(h.get(&format!("/solo/a{i}")).status, 200);
    }
    assert_eq!(h.get("/solo/slow").status, 504, "reply timeout");
    assert_eq!(h.get("/solo/closed").status, 502, "closed before answering");
    assert_eq!(h.get("/solo/again").status, 200);
    assert_eq!(
        (get("used"), get("errors"), get("reply_timeouts")),
        ("6".to_string(), "2".to_string(), "1".to_string())
    );
    // transferred: the AJP bytes sent to the backend (mod_jk's count, failed requests
    // included): the six forward requests with their 4-byte headers.
    let sent: usize = server.requests().iter().map(|r| 4 + r.raw.len()).sum();
    assert_eq!(server.requests().len(), 6);
    assert_eq!(get("transferred"), sent.to_string());
    assert_ne!(get("read"), "0", "the answers' packets");
    assert_eq!(get("busy"), "0");
    let j: serde_json::Value = serde_json::from_str(&h.get("/jk/?mime=json").text()).unwrap();
    let solo = j["ajp_workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "solo")
        .unwrap_or_else(|| panic!("{j}"))
        .clone();
    assert_eq!(solo["used"], 6, "{solo}");
    assert_eq!(solo["in_flight"], 0, "{solo}");
    assert_eq!(solo["state"], "OK", "the last request succeeded: {solo}");
    // cmd=reset zeroes them.
    let r = h.get("/jk/?cmd=reset&w=solo&mime=txt");
    assert!(r.text().contains("type=OK"), "{}", r.text());
    assert_eq!(
        (get("used"), get("errors"), get("transferred"), get("read")),
        ("0".into(), "0".into(), "0".into(), "0".into())
    );
}

// Under prefork: every child follows the new host.
test_each_mpm!(vahst_moves_a_worker_to_another_host_and_back: vahst_moves_a_worker_and_back);

fn vahst_moves_a_worker_and_back(mpm: Mpm) {
    let text = |t: &str| Behaviour::Respond(AjpResponse::text(200, "OK", t));
    let b = TestServer::start("127.0.0.2:0", text("host=b\n")).unwrap();
    let a = TestServer::start(&format!("127.0.0.1:{}", b.port()), text("host=a\n")).unwrap();
    let h = Httpd::with_workers("status-vahst", mpm, &solo_workers(a.port()), SOLO_MOUNTS);
    assert_eq!(h.get("/solo/x").text(), "host=a\n");
    // Every child (prefork: several processes) follows the host the status worker sets.
    let move_to = |host: &str, answer: &str, tag: &str| {
        let r = h.get(&format!("/jk/?cmd=update&w=solo&vahst={host}&mime=txt"));
        assert!(r.text().contains("type=OK"), "{}", r.text());
        for i in 0..12 {
            assert_eq!(h.get(&format!("/solo/{tag}{i}")).text(), answer);
        }
        let prop = h.get("/jk/?mime=prop").text();
        assert!(prop.contains(&format!("worker.solo.host={host}")), "{prop}");
    };
    move_to("127.0.0.2", "host=b\n", "y");
    let log = h.dir.read("logs/mod_jk.log");
    assert!(
        log.contains("changing 'host' for ajp worker 'solo'"),
        "{log}"
    );
    // Kept over a graceful restart: workers.properties did not change the host.
    h.graceful();
    assert_eq!(h.get("/solo/z").text(), "host=b\n");
    assert!(a.requests().len() == 1, "only the first request went to a");
    // And back to the configured host: every child returns to it at once (the edit back used
    // to leave every child on the temporary address until a restart).
    move_to("127.0.0.1", "host=a\n", "back");
    let json: serde_json::Value = serde_json::from_str(&h.get("/jk/?mime=json").text()).unwrap();
    let text = json.to_string();
    assert!(
        !text.contains("127.0.0.2"),
        "no view keeps the temporary address: {text}"
    );
}

// ---------- writes a browser cannot be tricked into (mod_jk-rs) ----------

/// The generation's write token, as `mime=json` shows it to whoever may read the page.
fn write_token(h: &Httpd) -> String {
    let j: serde_json::Value = serde_json::from_str(&h.get("/jkmanager/?mime=json").text())
        .expect("the status JSON parses");
    let t = j["write_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no write_token in {j}"))
        .to_string();
    assert!(
        t.len() == 32 && t.bytes().all(|c| c.is_ascii_hexdigit()),
        "{t}"
    );
    t
}

/// A form POST to /jkmanager/ as our page's buttons send it (same-origin browser headers).
fn post_form(h: &Httpd, form: &str, extra: &[(&str, &str)]) -> Response {
    let origin = format!("http://127.0.0.1:{}", h.port);
    let mut headers = vec![
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Origin", origin.as_str()),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    headers.extend_from_slice(extra);
    http_request_body(h.port, "POST", "/jkmanager/", &headers, form.as_bytes())
}

fn refused_count(h: &Httpd) -> usize {
    h.dir
        .read("logs/mod_jk.log")
        .lines()
        .filter(|l| l.contains("refused a change (client 127.0.0.1)") && l.contains("[warn]"))
        .count()
}

#[test]
fn status_writes_a_browser_sends_from_another_site_are_refused() {
    let s = setup("status-csrf", Mpm::Prefork, "");
    let h = &s.h;
    let update = "/jkmanager/?cmd=update&from=list&w=loadbalancer&sw=tomcat1&vwa=S&mime=txt";
    // What another web page makes an operator's browser send: refused, member unchanged.
    let foreign: [&[(&str, &str)]; 5] = [
        &[("Sec-Fetch-Site", "cross-site")],
        &[("Sec-Fetch-Site", "same-site")],
        &[("Origin", "http://evil.example")],
        &[("Referer", "http://evil.example/page.html")],
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "http://evil.example"),
            ("Referer", "http://evil.example/"),
        ],
    ];
    for (i, headers) in foreign.iter().enumerate() {
        let r = h.request("GET", update, headers);
        assert_eq!(r.status, 200);
        assert!(
            r.text().contains(
                "Result: type=ERROR message=\"Change refused: a change sent by a browser"
            ),
            "{headers:?}: {}",
            r.text()
        );
        assert_eq!(
            prop(h, "worker.tomcat1.activation").as_deref(),
            Some("ACT"),
            "{headers:?}"
        );
        // Logged at warn level with the client and the reason.
        assert_eq!(refused_count(h), i + 1, "{}", h.dir.read("logs/mod_jk.log"));
    }
    // The same refusal for every changing command, e.g. a statistics reset.
    let r = h.request(
        "GET",
        "/jkmanager/?cmd=reset&w=loadbalancer&mime=txt",
        &[("Sec-Fetch-Site", "cross-site")],
    );
    assert!(r.text().contains("Change refused"), "{}", r.text());
    // A script's GET (curl, jkctl, monitoring: no browser headers) keeps working, and so does
    // a browser's own page (same origin) or an address typed in (Sec-Fetch-Site: none).
    let r = h.get(update);
    assert!(r.text().contains("type=OK"), "{}", r.text());
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("STP"));
    let r = h.request(
        "GET",
        "/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=D&mime=txt",
        &[("Sec-Fetch-Site", "none")],
    );
    assert!(r.text().contains("type=OK"), "{}", r.text());
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("DIS"));
    let log = h.dir.read("logs/mod_jk.log");
    let line = log
        .lines()
        .find(|l| l.contains("refused a change"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        line.contains("Status worker 'jkstatus' refused a change (client 127.0.0.1): a change sent by a browser from another site (Sec-Fetch-Site: cross-site)"),
        "{line}"
    );

    // Our page's POST with the token: accepted by every child (prefork: several processes
    // share the generation's token).
    let token = write_token(h);
    for (i, vwa) in ["A", "D", "A", "D", "A", "D", "A", "D", "A", "D"]
        .iter()
        .enumerate()
    {
        let r = post_form(
            h,
            &format!(
                "cmd=update&from=list&w=loadbalancer&sw=tomcat1&vwa={vwa}&mime=txt&token={token}"
            ),
            &[],
        );
        assert!(r.text().contains("type=OK"), "POST {i}: {}", r.text());
        let want = if *vwa == "A" { "ACT" } else { "DIS" };
        assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some(want));
    }
    // A form POST with a wrong token, or with the token from another site, is refused.
    let r = post_form(
        h,
        "cmd=update&w=loadbalancer&sw=tomcat1&vwa=A&mime=txt&token=00000000000000000000000000000000",
        &[],
    );
    assert!(
        r.text().contains("Change refused: the request's token"),
        "{}",
        r.text()
    );
    let r = http_request_body(
        h.port,
        "POST",
        "/jkmanager/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", "http://evil.example"),
        ],
        format!("cmd=update&w=loadbalancer&sw=tomcat1&vwa=A&mime=txt&token={token}").as_bytes(),
    );
    assert!(r.text().contains("Change refused"), "{}", r.text());
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("DIS"));

    // The HTML page may not be framed, runs no script, posts forms only to itself; its
    // buttons carry the token.
    let r = h.get("/jkmanager/");
    assert_eq!(r.header("X-Frame-Options"), Some("DENY"));
    let csp = r.header("Content-Security-Policy").unwrap_or_default();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert!(
        r.text().contains(&format!(
            "<input type=\"hidden\" name=\"token\" value=\"{token}\"/>"
        )),
        "{}",
        r.text()
    );
    // The error page too, not the machine formats.
    let r = h.get("/jkmanager/?cmd=show&w=nope");
    assert_eq!(r.header("X-Frame-Options"), Some("DENY"));
    assert_eq!(
        h.get("/jkmanager/?mime=txt").header("X-Frame-Options"),
        None
    );

    // A graceful restart makes a new token: the old one is refused.
    h.graceful();
    let fresh = write_token(h);
    assert_ne!(fresh, token);
    let r = post_form(
        h,
        &format!("cmd=update&w=loadbalancer&sw=tomcat1&vwa=A&mime=txt&token={token}"),
        &[],
    );
    assert!(r.text().contains("Change refused"), "{}", r.text());
    let r = post_form(
        h,
        &format!("cmd=update&w=loadbalancer&sw=tomcat1&vwa=A&mime=txt&token={fresh}"),
        &[],
    );
    assert!(r.text().contains("type=OK"), "{}", r.text());
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("ACT"));
    // Without write_requires_token jkctl keeps using mod_jk's GET update URL.
    let out = jkctl(h, &["disable", "tomcat2"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(prop(h, "worker.tomcat2.activation").as_deref(), Some("DIS"));
    let access = h.access_log();
    assert!(
        access.contains("\"GET /jkmanager/?cmd=update&from=list&w=loadbalancer&sw=tomcat2&vwa=D"),
        "{access}"
    );
}

fn jkctl(h: &Httpd, args: &[&str]) -> std::process::Output {
    let bin = module_so().parent().unwrap().join("jkctl");
    assert!(bin.exists(), "{} not built", bin.display());
    std::process::Command::new(bin)
        .arg("--url")
        .arg(format!("http://127.0.0.1:{}/jkmanager/", h.port))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn write_requires_token_takes_changes_only_as_a_post_with_the_token() {
    let s = setup(
        "status-token",
        Mpm::Event,
        "worker.jkstatus.write_requires_token=true\n",
    );
    let h = &s.h;
    // mod_jk's GET update URL, from a script: refused, member unchanged.
    let r = h.get("/jkmanager/?cmd=update&from=list&w=loadbalancer&sw=tomcat1&vwa=S&mime=txt");
    assert!(
        r.text().contains(
            "Change refused: this status worker takes changes only as a POST with its page's token"
        ),
        "{}",
        r.text()
    );
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("ACT"));
    assert_eq!(refused_count(h), 1);
    // The token in a GET URL is not enough (URLs end up in logs and Referers).
    let token = write_token(h);
    let r = h.get(&format!(
        "/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=S&mime=txt&token={token}"
    ));
    assert!(r.text().contains("Change refused"), "{}", r.text());
    // A POST without it neither.
    let r = post_form(
        h,
        "cmd=update&w=loadbalancer&sw=tomcat1&vwa=S&mime=txt",
        &[],
    );
    assert!(r.text().contains("Change refused"), "{}", r.text());
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("ACT"));
    // A POST with it, from a script (no browser headers) or our page: applied.
    let r = http_request_body(
        h.port,
        "POST",
        "/jkmanager/",
        &[(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )],
        format!("cmd=update&w=loadbalancer&sw=tomcat1&vwa=S&mime=txt&token={token}").as_bytes(),
    );
    assert!(r.text().contains("type=OK"), "{}", r.text());
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("STP"));
    // Query and form body together: the body's parameters follow the query's.
    let r = http_request_body(
        h.port,
        "POST",
        "/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&mime=txt&vwa=A",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("vwa=D&token={token}").as_bytes(),
    );
    assert!(r.text().contains("type=OK"), "{}", r.text());
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("DIS"));
    // An oversized body is an error, not a change.
    let big = format!(
        "cmd=update&w=loadbalancer&sw=tomcat1&vwa=A&mime=txt&token={token}&pad={}",
        "x".repeat(9000)
    );
    let r = http_request_body(
        h.port,
        "POST",
        "/jkmanager/?mime=txt",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        big.as_bytes(),
    );
    assert!(
        r.text().contains("type=ERROR") && r.text().contains("larger than 8 KiB"),
        "{}",
        r.text()
    );
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("DIS"));
    // The JSON says tokens are required; jkctl reads that and POSTs its changes with it.
    let j: serde_json::Value =
        serde_json::from_str(&h.get("/jkmanager/?mime=json").text()).unwrap();
    assert_eq!(j["write_requires_token"], true, "{j}");
    let out = jkctl(h, &["activate", "tomcat1"]);
    assert!(
        out.status.success(),
        "jkctl activate: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(prop(h, "worker.tomcat1.activation").as_deref(), Some("ACT"));
    let out = jkctl(h, &["stop", "tomcat2"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(prop(h, "worker.tomcat2.activation").as_deref(), Some("STP"));
    assert_eq!(refused_count(h), 3, "jkctl never sent a refused change");
    let access = h.access_log();
    assert!(
        access.contains("\"POST /jkmanager/ HTTP/1.1\" 200"),
        "jkctl POSTed: {access}"
    );
}
