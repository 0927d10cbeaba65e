#![allow(clippy::unwrap_used)]
//! The status worker's runtime values next to Debian's mod_jk 1.2.48, on the same backends
//! with the same requests (run in CI; tests/status_compat.rs compares the structure and the
//! configuration values, and leaves these figures out):
//!
//! * the server name and port of the answer (HTML heading, XML `server` element, TXT
//!   `Server:` line, PROP `server_name`/`server_port`; our JSON against Debian's PROP) for
//!   requests with several Host headers (name, name:port, an IPv4 address, an IPv6 literal,
//!   the server's own address, none at all with HTTP/1.0) under UseCanonicalName Off, On and
//!   DNS, and with JK_LOCAL_NAME / JK_LOCAL_PORT set;
//! * `transferred` and `read` (the AJP bytes sent to and received from the backend) of a
//!   standalone ajp worker and of lb members after the same GETs and POSTs, and
//!   `connected`/`max_connected` (connections open across httpd children) after concurrent
//!   requests to two prefork children, then after a reset;
//! * the log line and level of a mount naming a worker that does not exist, and of a
//!   request mapped to it.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use jk_ajp_testserver::{Behaviour, Response as AjpResponse, TestServer};
use support::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Debian's and our httpd with the same configuration, each in its own directory and port.
struct Pair {
    debian: Httpd,
    ours: Httpd,
}

impl Pair {
    fn both(&self) -> [(&'static str, &Httpd); 2] {
        [("debian", &self.debian), ("ours", &self.ours)]
    }
}

/// Starts both modules with `body(dir, port)` (a port picked in advance can be taken in
/// between: a few tries).
fn pair(tag: &str, mpm: Mpm, workers: &str, body: impl Fn(&Path, u16) -> String + Sync) -> Pair {
    let (deb_so, our_so) = (debian_mod_jk(), module_so());
    let start = |which: &str, so: &Path| {
        let mut last = String::new();
        for _ in 0..3 {
            let dir = TestDir::new(&format!("{tag}-{which}"));
            let wp = dir.write("workers.properties", workers);
            let port = free_port();
            let b = format!(
                "JkWorkersFile {}\nJkLogFile logs/mod_jk.log\nJkLogLevel info\n{}",
                wp.display(),
                body(dir.path(), port)
            );
            match Httpd::try_start_on(dir, mpm, &b, so, port) {
                Ok(h) => return h,
                Err(e) => last = e,
            }
        }
        panic!("{tag} with {}: {last}", so.display())
    };
    let (debian, ours) = std::thread::scope(|s| {
        let d = s.spawn(|| start("deb", &deb_so));
        let o = s.spawn(|| start("ours", &our_so));
        (d.join().unwrap(), o.join().unwrap())
    });
    Pair { debian, ours }
}

/// Sends `head` (request line and headers, without the blank line) and `body`; returns the
/// response. No header is added: the test controls Host completely.
fn raw(port: u16, head: &str, body: &[u8]) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = head.to_string();
    if !body.is_empty() {
        req.push_str(&format!("\r\nContent-Length: {}", body.len()));
    }
    req.push_str("\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    parse_response(&out).unwrap()
}

fn get(h: &Httpd, path: &str, host: Option<&str>) -> Response {
    let head = match host {
        Some(host) => format!("GET {path} HTTP/1.0\r\nHost: {host}"),
        None => format!("GET {path} HTTP/1.0"),
    };
    raw(h.port, &head, b"")
}

/// A `mime=prop` body as a key → value lookup.
fn prop(body: &str, key: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
}

/// The value of `name="…"` after `after` in an XML body.
fn xml_attr(body: &str, after: &str, name: &str) -> Option<String> {
    let rest = &body[body.find(after)?..];
    let rest = &rest[rest.find(&format!("{name}=\""))? + name.len() + 2..];
    Some(rest[..rest.find('"')?].to_string())
}

/// `key=value` of the line starting with `label` in a TXT body.
fn txt_value(body: &str, label: &str, key: &str) -> Option<String> {
    let line = body.lines().find(|l| l.starts_with(label))?;
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    Some(line[at..].split(' ').next()?.to_string())
}

// ----- server name and port ---------------------------------------------------------------

const STATUS_ONLY: &str = "worker.list=jkstatus\nworker.jkstatus.type=status\n";

/// The server name and port an answer shows, in `mime`.
fn server_of(mime: &str, body: &str) -> Option<(String, String)> {
    match mime {
        "prop" => Some((
            prop(body, "worker.server_name")?,
            prop(body, "worker.server_port")?,
        )),
        "xml" => Some((
            xml_attr(body, "<jk:server", "name")?,
            xml_attr(body, "<jk:server", "port")?,
        )),
        "txt" => Some((
            txt_value(body, "Server:", "name")?,
            txt_value(body, "Server:", "port")?,
        )),
        "html" => {
            let at = body.find("<h1>JK Status Manager for ")? + 26;
            let h1 = &body[at..at + body[at..].find("</h1>")?];
            let (name, port) = h1.rsplit_once(':')?;
            Some((name.to_string(), port.to_string()))
        }
        "json" => {
            let v: serde_json::Value = serde_json::from_str(body).ok()?;
            let s = v.get("server")?;
            Some((
                s.get("name")?.as_str()?.to_string(),
                s.get("port")?.to_string(),
            ))
        }
        _ => None,
    }
}

#[test]
fn server_name_and_port_match_debian_for_every_host_header_and_use_canonical_name() {
    let p = pair("sv-name", Mpm::Event, STATUS_ONLY, |_, port| {
        format!(
            "<VirtualHost *:{port}>\n\
             \x20 ServerName canon.example.test:8081\n\
             \x20 JkMount /off/* jkstatus\n\
             \x20 JkMount /on/* jkstatus\n\
             \x20 JkMount /dns/* jkstatus\n\
             \x20 JkMount /env/* jkstatus\n\
             \x20 <Location /on/>\n    UseCanonicalName On\n  </Location>\n\
             \x20 <Location /dns/>\n    UseCanonicalName DNS\n  </Location>\n\
             \x20 <Location /env/>\n    SetEnv JK_LOCAL_NAME local.example.test\n    \
             SetEnv JK_LOCAL_PORT \"8123x\"\n  </Location>\n\
             </VirtualHost>\n"
        )
    });
    // None: an HTTP/1.0 request without Host. "OWN": the server's own address and port.
    let hosts: [Option<&str>; 6] = [
        Some("www.example.com"),
        Some("www.example.com:8888"),
        Some("10.1.2.3"),
        Some("[::1]:7777"),
        Some("OWN"),
        None,
    ];
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for loc in ["off", "on", "dns", "env"] {
        for host in hosts {
            for mime in ["prop", "xml", "txt", "html"] {
                let path = format!("/{loc}/?cmd=version&mime={mime}");
                let mut got = Vec::new();
                for (_, h) in p.both() {
                    let own = format!("127.0.0.1:{}", h.port);
                    let host = host.map(|x| if x == "OWN" { own.as_str() } else { x });
                    let r = get(h, &path, host);
                    let v = server_of(mime, &r.text()).map(|(n, port)| {
                        // The two servers listen on different ports.
                        let port = if port == h.port.to_string() {
                            "OWN".into()
                        } else {
                            port
                        };
                        (n, port)
                    });
                    got.push((v, r.text()));
                }
                let [(d, dbody), (o, obody)] = &got[..] else {
                    unreachable!()
                };
                compared += 1;
                if d.is_none() {
                    mismatches.push(format!(
                        "{loc} {host:?} {mime}: no server in Debian's answer:\n{dbody}"
                    ));
                } else if d != o {
                    mismatches.push(format!(
                        "{loc} Host {host:?} mime={mime}: debian={d:?} ours={o:?}{}",
                        if o.is_none() {
                            format!("\n{obody}")
                        } else {
                            String::new()
                        }
                    ));
                }
                // Our JSON shows what Debian's PROP shows.
                if mime == "prop" {
                    let own = format!("127.0.0.1:{}", p.ours.port);
                    let host = host.map(|x| if x == "OWN" { own.as_str() } else { x });
                    let r = get(&p.ours, &format!("/{loc}/?cmd=version&mime=json"), host);
                    let j = server_of("json", &r.text()).map(|(n, port)| {
                        let port = if port == p.ours.port.to_string() {
                            "OWN".into()
                        } else {
                            port
                        };
                        (n, port)
                    });
                    if &j != d {
                        mismatches.push(format!(
                            "{loc} Host {host:?} mime=json: debian prop={d:?} ours={j:?}"
                        ));
                    }
                }
            }
        }
    }
    assert_eq!(compared, 4 * 6 * 4);
    assert!(
        mismatches.is_empty(),
        "{} of {compared} server name/port answers differ from Debian's mod_jk:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

// ----- transferred / read / connected / max_connected -------------------------------------

/// `solo` (standalone) on backend 0, lb `bal` over `m1`/`m2` on backends 1 and 2.
fn counter_workers(ports: [u16; 3]) -> String {
    format!(
        "worker.list=solo,bal,jkstatus\n\
         worker.solo.type=ajp13\nworker.solo.host=127.0.0.1\nworker.solo.port={}\n\
         worker.m1.type=ajp13\nworker.m1.host=127.0.0.1\nworker.m1.port={}\n\
         worker.m2.type=ajp13\nworker.m2.host=127.0.0.1\nworker.m2.port={}\n\
         worker.bal.type=lb\nworker.bal.balance_workers=m1,m2\n\
         worker.jkstatus.type=status\n",
        ports[0], ports[1], ports[2]
    )
}

fn counter_mounts(port: u16, extra: &str) -> String {
    format!(
        "{extra}\n<VirtualHost *:{port}>\n\
         \x20 JkMount /solo/* solo\n\
         \x20 JkMount /bal/* bal\n\
         \x20 JkMount /jk/* jkstatus\n\
         </VirtualHost>\n"
    )
}

const COUNTERS: [&str; 4] = ["transferred", "read", "connected", "max_connected"];

/// `worker.<w>.<counter>` of both modules for every counter and worker; mismatches pushed.
fn compare_counters(
    p: &Pair,
    what: &str,
    workers: &[&str],
    out: &mut Vec<String>,
) -> Vec<(String, String)> {
    let bodies: Vec<String> = p
        .both()
        .iter()
        .map(|(_, h)| get(h, "/jk/?mime=prop", Some("status.example.test")).text())
        .collect();
    let mut values = Vec::new();
    for w in workers {
        for c in COUNTERS {
            let key = format!("worker.{w}.{c}");
            let (d, o) = (prop(&bodies[0], &key), prop(&bodies[1], &key));
            if d.is_none() || d != o {
                out.push(format!("{what}: {key}: debian={d:?} ours={o:?}"));
            }
            values.push((key, d.unwrap_or_default()));
        }
    }
    // HTML: the counts of the `N (R/sec)` cells (Acc, Sess, Wr and Rd of each member, Acc,
    // Wr and Rd of each ajp worker) in page order; the rates depend on the second the page
    // was made, so only their presence is compared.
    let cells: Vec<Vec<String>> = p
        .both()
        .iter()
        .map(|(_, h)| {
            let html = get(h, "/jk/", Some("status.example.test")).text();
            html.split("<td>")
                .filter_map(|c| c.split_once("</td>").map(|(c, _)| c))
                .filter(|c| c.ends_with("/sec)"))
                .map(|c| c.split_once(" (").map_or(c, |(n, _)| n).to_string())
                .collect()
        })
        .collect();
    // Two members (Acc, Sess, Wr, Rd) and one ajp worker (Acc, Wr, Rd).
    if cells[0].len() != 11 {
        out.push(format!("{what}: Debian's HTML count cells: {:?}", cells[0]));
    }
    if cells[0] != cells[1] {
        out.push(format!(
            "{what}: HTML count cells: debian={:?} ours={:?}",
            cells[0], cells[1]
        ));
    }
    // The same figures in XML and TXT.
    for (i, (_, h)) in p.both().iter().enumerate() {
        let who = if i == 0 { "debian" } else { "ours" };
        let xml = get(h, "/jk/?mime=xml", Some("status.example.test")).text();
        let txt = get(h, "/jk/?mime=txt", Some("status.example.test")).text();
        for w in workers {
            for c in COUNTERS {
                let want = prop(&bodies[i], &format!("worker.{w}.{c}"));
                let x = xml_attr(&xml, &format!("name=\"{w}\""), c);
                let t = txt
                    .lines()
                    .find(|l| l.contains(&format!(" name={w} ")))
                    .and_then(|l| txt_value(l, "", c));
                if x != want || t != want {
                    out.push(format!(
                        "{what}: {who}: {w}.{c}: prop={want:?} xml={x:?} txt={t:?}"
                    ));
                }
            }
        }
    }
    values
}

#[test]
fn transferred_and_read_count_the_ajp_bytes_of_gets_and_posts_like_debian() {
    let servers: Vec<TestServer> = ["solo", "m1", "m2"]
        .iter()
        .map(|n| {
            TestServer::start(
                "127.0.0.1:0",
                Behaviour::Respond(AjpResponse::text(200, "OK", &format!("served by {n}\n"))),
            )
            .unwrap()
        })
        .collect();
    let workers = counter_workers([servers[0].port(), servers[1].port(), servers[2].port()]);
    // One event child: which child serves a request (and so opens a connection) is then
    // the same in both.
    let one_child = "StartServers 1\nServerLimit 1\nMaxRequestWorkers 8\n\
                     MinSpareThreads 1\nMaxSpareThreads 9";
    let p = pair("sv-bytes", Mpm::Event, &workers, |_, port| {
        counter_mounts(port, one_child)
    });
    let mut mismatches = Vec::new();
    // Before any request: all zero.
    let fresh = compare_counters(&p, "fresh", &["solo", "m1", "m2"], &mut mismatches);
    assert!(fresh.iter().all(|(_, v)| v == "0"), "{fresh:?}");

    let small = b"name=value&x=1".to_vec();
    let large: Vec<u8> = (0..20_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    for (_, h) in p.both() {
        let host = "Host: app.example.test";
        for path in ["/solo/a", "/solo/b?q=1", "/bal/a", "/bal/b?q=2", "/bal/c"] {
            let r = raw(h.port, &format!("GET {path} HTTP/1.0\r\n{host}"), b"");
            assert_eq!(r.status, 200, "{path}: {}", h.error_log());
        }
        for (path, body) in [("/solo/p", &small), ("/bal/p", &large), ("/solo/q", &large)] {
            let r = raw(
                h.port,
                &format!("POST {path} HTTP/1.0\r\n{host}\r\nContent-Type: text/plain"),
                body,
            );
            assert_eq!(r.status, 200, "{path}: {}", h.error_log());
        }
    }
    let after = compare_counters(
        &p,
        "after 5 GETs and 3 POSTs",
        &["solo", "m1", "m2"],
        &mut mismatches,
    );
    let v = |k: &str| {
        after
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.parse::<u64>().unwrap_or(0))
            .unwrap_or(0)
    };
    // The test must exercise something: Debian counted bytes both ways for every worker,
    // and each worker's one connection (one child, requests one after the other).
    for w in ["solo", "m1", "m2"] {
        assert!(
            v(&format!("worker.{w}.transferred")) > 0 && v(&format!("worker.{w}.read")) > 0,
            "{after:?}"
        );
        assert_eq!(v(&format!("worker.{w}.connected")), 1, "{after:?}");
    }
    // The POSTs' bodies went out: more sent than received for solo.
    assert!(v("worker.solo.transferred") > 20_000, "{after:?}");
    assert!(
        mismatches.is_empty(),
        "{} counter value(s) differ from Debian's mod_jk:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn connected_sums_the_connections_of_every_child_like_debian_and_survives_a_reset() {
    let slow = TestServer::start("127.0.0.1:0", Behaviour::Stall { millis: 1500 }).unwrap();
    let idle: Vec<TestServer> = (0..2)
        .map(|_| {
            TestServer::start(
                "127.0.0.1:0",
                Behaviour::Respond(AjpResponse::text(200, "OK", "x\n")),
            )
            .unwrap()
        })
        .collect();
    let workers = counter_workers([slow.port(), idle[0].port(), idle[1].port()]);
    // Exactly two prefork children, never more, never fewer: two concurrent requests are
    // served by both, and each child keeps its connection in its pool.
    let two_children = "StartServers 2\nMinSpareServers 1\nMaxSpareServers 2\n\
                        MaxRequestWorkers 2\nServerLimit 2";
    let p = pair("sv-conn", Mpm::Prefork, &workers, |_, port| {
        counter_mounts(port, two_children)
    });
    std::thread::scope(|s| {
        let hs: Vec<_> = p
            .both()
            .into_iter()
            .flat_map(|(_, h)| [h, h])
            .enumerate()
            .map(|(i, h)| {
                s.spawn(move || {
                    // The second request of each server starts 300 ms after the first: both
                    // are still in the backend together (1.5 s stall), so both children serve
                    // one, but they do not finish at the same instant. Debian adds the bytes
                    // with a plain `+=` on shared memory (jk_ajp_common.c, ajp_update_stats):
                    // two children finishing together can lose one request's `read` and
                    // `transferred` (a clean-clone CI run saw 177/52 for two requests of
                    // 177/52 each). Ours sums per-child lines and is exact either way.
                    std::thread::sleep(Duration::from_millis(300 * (i as u64 % 2)));
                    let r = get(h, &format!("/solo/c{i}"), Some("app.example.test"));
                    assert_eq!(r.status, 200, "{}", h.error_log());
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
    let mut mismatches = Vec::new();
    let after = compare_counters(
        &p,
        "after two concurrent requests",
        &["solo"],
        &mut mismatches,
    );
    let get_v = |vals: &[(String, String)], k: &str| {
        vals.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        (
            get_v(&after, "worker.solo.connected"),
            get_v(&after, "worker.solo.max_connected")
        ),
        ("2".to_string(), "2".to_string()),
        "Debian: one connection per child"
    );
    // A reset: bytes and max_connected back to 0, the open connections stay.
    for (_, h) in p.both() {
        let r = get(
            h,
            "/jk/?cmd=reset&w=solo&mime=prop",
            Some("status.example.test"),
        );
        assert_eq!(
            prop(&r.text(), "worker.result.type").as_deref(),
            Some("OK"),
            "{}",
            r.text()
        );
    }
    let reset = compare_counters(&p, "after cmd=reset", &["solo"], &mut mismatches);
    assert_eq!(
        COUNTERS.map(|c| get_v(&reset, &format!("worker.solo.{c}"))),
        ["0", "0", "2", "0"].map(String::from),
        "Debian after the reset"
    );
    assert!(
        mismatches.is_empty(),
        "{} value(s) differ from Debian's mod_jk:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

// ----- a worker that does not exist -------------------------------------------------------

/// `(level, message)` of every line of `log` that mentions `needle` (mod_jk's line format:
/// `[stamp] [pid:tid] [level] function::file (line): message`).
fn log_lines(log: &str, needle: &str) -> Vec<(String, String)> {
    log.lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| {
            let lv = l.split("] [").find(|p| {
                ["trace", "debug", "info", "warn", "error", "emerg"]
                    .iter()
                    .any(|x| p.starts_with(x))
            })?;
            let level = lv.split(']').next()?.to_string();
            let msg = l.split_once("): ")?.1.to_string();
            Some((level, msg))
        })
        .collect()
}

#[test]
fn an_unknown_worker_is_logged_as_debian_logs_it() {
    let workers = "worker.list=w1,jkstatus\nworker.w1.type=ajp13\nworker.w1.host=127.0.0.1\n\
                   worker.w1.port=1\nworker.jkstatus.type=status\n";
    let p = pair("sv-unknown", Mpm::Event, workers, |_, _| {
        "JkMount /ghost/* nosuch\nJkMount /ghost2/* nosuch\n".to_string()
    });
    for (who, h) in p.both() {
        assert_eq!(h.get("/ghost/a").status, 500, "{who}");
    }
    let mut seen = Vec::new();
    for (who, h) in p.both() {
        let mut lines = Vec::new();
        wait_for("the request's log line", 5, || {
            lines = log_lines(&h.dir.read("logs/mod_jk.log"), "nosuch");
            lines.iter().any(|(_, m)| m.contains("worker name=nosuch"))
        });
        let mut distinct = lines.clone();
        distinct.sort();
        distinct.dedup();
        let per_rule = lines
            .iter()
            .filter(|(_, m)| m.contains("uri map post processing"))
            .count();
        seen.push((who, distinct, per_rule));
    }
    let (d, o) = (&seen[0], &seen[1]);
    let want = vec![
        (
            "error".to_string(),
            "Could not find a worker for worker name=nosuch".to_string(),
        ),
        (
            "error".to_string(),
            "Could not find worker with name 'nosuch' in uri map post processing.".to_string(),
        ),
    ];
    assert_eq!(d.1, want, "Debian's lines (the oracle)");
    assert_eq!(o.1, d.1, "our lines differ from Debian's");
    // Debian writes the mount's line once per rule on each of its two start-up passes; ours
    // has one pass.
    assert_eq!((d.2, o.2), (4, 2), "one line per rule naming the worker");
}
