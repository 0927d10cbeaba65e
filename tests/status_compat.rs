#![allow(clippy::unwrap_used)]
//! Compatibility of the status worker with Debian's mod_jk 1.2.48, run in CI.
//!
//! The seed configuration (tests/fixtures/seed, tomcat1/tomcat2 on two recording AJP test
//! servers) runs once under Debian's module and once under ours. `list` and `show` in
//! `mime=xml`, `prop` and `txt` must have the same keys/elements/attributes in the same order
//! and the same values for everything that is configuration; only the figures named in
//! [`RUNTIME_KEYS`] may differ. Then every update command scripts use is applied to both
//! modules from the same starting state, comparing the answer and its effect (a following
//! `mime=prop` list). Every mismatch is collected into one assertion message.

mod support;

#[path = "fixtures/status/seed_config.rs"]
mod seed_config;

use std::collections::BTreeSet;
use std::time::Duration;

use jk_ajp_testserver::TestServer;
use seed_config::{ajp_servers, start_seed};
use support::*;

/// Attribute / property names whose values are runtime figures (times, counters, lb values,
/// states that depend on traffic): their presence and order are compared, not their values.
/// (Which child serves a request decides some of them here; tests/status_values.rs compares
/// `transferred`, `read`, `connected`, `max_connected` and the server name and port with
/// Debian's under conditions that make them deterministic.)
const RUNTIME_KEYS: &[&str] = &[
    // clock
    "datetime",
    "unix",
    "time_datetime",
    "time_unix",
    "last_reset_at",
    "last_reset_ago",
    "time_to_maintenance_min",
    "time_to_maintenance_max",
    "time_to_recover_min",
    "time_to_recover_max",
    "error_time_datetime",
    "error_time_tz",
    "error_time_unix_seconds",
    "error_time_ago",
    "error_time_unix seconds",
    "error_time_ago seconds",
    // counters and balancing figures
    "state",
    "lbvalue",
    "elected",
    "used",
    "sessions",
    "errors",
    "client_errors",
    "reply_timeouts",
    "transferred",
    "read",
    "busy",
    "max_busy",
    "connected",
    "max_connected",
];

/// The one deliberate difference (README, "Differences from Debian's mod_jk 1.2.48"): our
/// module adds its own version token to httpd's description, which the status worker prints
/// as `web_server`. Debian's value is compared with its token replaced by ours.
const DEBIAN_TOKEN: &str = "mod_jk/1.2.48";
const OUR_TOKEN: &str = concat!("mod_jk-rs/", env!("CARGO_PKG_VERSION"));

/// One comparable item of a response: a structural key (element, attribute, label or
/// property name, including its context) and its value if it has one.
#[derive(Clone, Debug)]
struct Entry {
    key: String,
    attr: String,
    value: Option<String>,
}

fn entry(key: String, attr: &str, value: Option<String>) -> Entry {
    Entry {
        key,
        attr: attr.to_string(),
        value,
    }
}

/// `mime=prop`: one entry per `key=value` line.
fn flatten_prop(body: &str) -> Vec<Entry> {
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => {
                let attr = k.rsplit('.').next().unwrap_or(k);
                entry(k.to_string(), attr, Some(v.to_string()))
            }
            None => entry(format!("line {l}"), "", None),
        })
        .collect()
}

/// `mime=txt`: `Label: k=v k="v w" …` lines.
fn flatten_txt(body: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let Some((label, rest)) = line.split_once(':').filter(|(l, _)| !l.contains('=')) else {
            out.push(entry(format!("line {line}"), "", None));
            continue;
        };
        out.push(entry(format!("{label}:"), "", None));
        let b = rest.as_bytes();
        let mut i = 0;
        while i < b.len() {
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            if i >= b.len() {
                break;
            }
            let ks = i;
            while i < b.len() && b[i] != b'=' && b[i] != b' ' {
                i += 1;
            }
            let key = &rest[ks..i];
            if i >= b.len() || b[i] != b'=' {
                out.push(entry(format!("{label}: {key}"), key, None));
                continue;
            }
            i += 1;
            let value = if i < b.len() && b[i] == b'"' {
                let vs = i + 1;
                let ve = rest[vs..].find('"').map_or(b.len(), |p| vs + p);
                i = (ve + 1).min(b.len());
                format!("\"{}\"", &rest[vs..ve])
            } else {
                let vs = i;
                while i < b.len() && b[i] != b' ' {
                    i += 1;
                }
                rest[vs..i].to_string()
            };
            out.push(entry(format!("{label}: {key}"), key, Some(value)));
        }
    }
    out
}

/// `mime=xml`: start tags, each attribute, the end of the start tag (`>` or `/>`), end tags.
fn flatten_xml(body: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        let text = rest[..lt].trim();
        if !text.is_empty() {
            out.push(entry(
                format!("{} text", stack.join("/")),
                "",
                Some(text.into()),
            ));
        }
        rest = &rest[lt..];
        // The tag ends at the first '>' outside quotes.
        let mut in_q = false;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '"' => in_q = !in_q,
                '>' if !in_q => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let tag = &rest[1..end.min(rest.len())];
        rest = &rest[(end + 1).min(rest.len())..];
        if tag.starts_with('?') || tag.starts_with('!') {
            out.push(entry(
                format!("<{}", tag.split_whitespace().next().unwrap_or("")),
                "",
                Some(tag.to_string()),
            ));
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            out.push(entry(format!("</{}", name.trim()), "", None));
            stack.pop();
            continue;
        }
        let self_closing = tag.trim_end().ends_with('/');
        let tag = tag.trim_end().trim_end_matches('/');
        let name_end = tag.find(|c: char| c.is_whitespace()).unwrap_or(tag.len());
        let name = &tag[..name_end];
        out.push(entry(format!("<{name}"), "", None));
        let mut a = &tag[name_end..];
        loop {
            a = a.trim_start();
            if a.is_empty() {
                break;
            }
            let Some(eq) = a.find('=') else {
                out.push(entry(format!("{name} junk"), "", Some(a.into())));
                break;
            };
            let an = a[..eq].trim();
            let v = a[eq + 1..].trim_start();
            let (value, next) = match v.strip_prefix('"') {
                Some(q) => match q.find('"') {
                    Some(p) => (q[..p].to_string(), &q[p + 1..]),
                    None => (q.to_string(), ""),
                },
                None => {
                    let p = v.find(char::is_whitespace).unwrap_or(v.len());
                    (v[..p].to_string(), &v[p..])
                }
            };
            out.push(entry(format!("{name} @{an}"), an, Some(value)));
            a = next;
        }
        if self_closing {
            out.push(entry(format!("{name} />"), "", None));
        } else {
            out.push(entry(format!("{name} >"), "", None));
            stack.push(name.to_string());
        }
    }
    let tail = rest.trim();
    if !tail.is_empty() {
        out.push(entry("trailing text".into(), "", Some(tail.into())));
    }
    out
}

fn flatten(mime: &str, body: &str) -> Vec<Entry> {
    match mime {
        "xml" => flatten_xml(body),
        "txt" => flatten_txt(body),
        _ => flatten_prop(body),
    }
}

/// Replaces every run of digits equal to `port` by `PORT` (the two httpds listen on
/// different ports; the port shows in server_port and in map servers).
fn mask_port(v: &str, port: u16) -> String {
    let p = port.to_string();
    let mut out = String::new();
    let mut digits = String::new();
    for c in v.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            out.push_str(if digits == p { "PORT" } else { &digits });
            digits.clear();
        }
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// A fetched response of one module.
struct Fetched {
    port: u16,
    status: u16,
    content_type: String,
    cache_control: String,
    pragma: String,
    body: String,
}

fn fetch(h: &Httpd, path: &str) -> Fetched {
    let r = h.get(path);
    Fetched {
        port: h.port,
        status: r.status,
        content_type: r.header("Content-Type").unwrap_or("").to_string(),
        cache_control: r.header("Cache-Control").unwrap_or("").to_string(),
        pragma: r.header("Pragma").unwrap_or("").to_string(),
        body: r.text(),
    }
}

/// Longest common subsequence of the two key sequences: matched index pairs.
fn lcs(a: &[Entry], b: &[Entry]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let mut t = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i * (m + 1) + j] = if a[i].key == b[j].key {
                t[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                t[(i + 1) * (m + 1) + j].max(t[i * (m + 1) + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut pairs = Vec::new();
    while i < n && j < m {
        if a[i].key == b[j].key {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

fn show(e: &Entry, port: u16) -> String {
    match &e.value {
        Some(v) => format!("{} = {:?}", e.key, mask_port(v, port)),
        None => e.key.clone(),
    }
}

/// Compares Debian's (`d`) and our (`o`) response to `what` in `mime`; pushes mismatches.
fn compare(what: &str, mime: &str, d: &Fetched, o: &Fetched, out: &mut Vec<String>) {
    for (name, dv, ov) in [
        ("HTTP status", d.status.to_string(), o.status.to_string()),
        (
            "Content-Type",
            d.content_type.clone(),
            o.content_type.clone(),
        ),
        (
            "Cache-Control",
            d.cache_control.clone(),
            o.cache_control.clone(),
        ),
        ("Pragma", d.pragma.clone(), o.pragma.clone()),
    ] {
        if dv != ov {
            out.push(format!("{what}: {name}: debian={dv:?} ours={ov:?}"));
        }
    }
    let a = flatten(mime, &d.body);
    let b = flatten(mime, &o.body);
    let pairs = lcs(&a, &b);
    let (mut i, mut j) = (0, 0);
    let mut struct_diffs = Vec::new();
    for &(pi, pj) in pairs.iter().chain(std::iter::once(&(a.len(), b.len()))) {
        while i < pi {
            struct_diffs.push(format!(
                "{what}: only in debian (structure): {}",
                show(&a[i], d.port)
            ));
            i += 1;
        }
        while j < pj {
            struct_diffs.push(format!(
                "{what}: only in ours (structure): {}",
                show(&b[j], o.port)
            ));
            j += 1;
        }
        if pi < a.len() {
            let (x, y) = (&a[pi], &b[pj]);
            if !RUNTIME_KEYS.contains(&x.attr.as_str()) {
                let mut xv = x.value.as_deref().map(|v| mask_port(v, d.port));
                if x.attr == "web_server" {
                    xv = xv.map(|v| v.replace(DEBIAN_TOKEN, OUR_TOKEN));
                }
                let yv = y.value.as_deref().map(|v| mask_port(v, o.port));
                if xv != yv {
                    out.push(format!(
                        "{what}: {}: debian={:?} ours={:?}",
                        x.key,
                        xv.unwrap_or_default(),
                        yv.unwrap_or_default()
                    ));
                }
            }
            i = pi + 1;
            j = pj + 1;
        }
    }
    if !struct_diffs.is_empty() {
        out.extend(struct_diffs);
    }
    if a.is_empty() || b.is_empty() {
        out.push(format!(
            "{what}: empty or unparsable answer\n--- debian:\n{}\n--- ours:\n{}",
            d.body, o.body
        ));
    }
}

/// Debian's and our httpd with the seed configuration, both over the same AJP servers.
struct Pair {
    debian: Httpd,
    ours: Httpd,
}

fn pair(tag: &str, servers: &[TestServer]) -> Pair {
    let (deb_so, our_so) = (debian_mod_jk(), module_so());
    let (debian, ours) = std::thread::scope(|s| {
        let d = s.spawn(|| start_seed(&format!("{tag}-deb"), Mpm::Event, &deb_so, servers, ""));
        let o = s.spawn(|| start_seed(&format!("{tag}-ours"), Mpm::Event, &our_so, servers, ""));
        (d.join().unwrap(), o.join().unwrap())
    });
    Pair { debian, ours }
}

fn report(title: &str, mismatches: &[String]) {
    assert!(
        mismatches.is_empty(),
        "{title}: {} mismatch(es) between Debian's mod_jk 1.2.48 and ours:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn list_and_show_match_debian_in_xml_prop_and_txt() {
    let servers = ajp_servers();
    let p = pair("stc-list", &servers);
    // A little traffic so the listings are those of a running balancer.
    for h in [&p.debian, &p.ours] {
        for i in 0..4 {
            let r = h.get(&format!("/app/warm{i}"));
            assert_eq!(r.status, 200, "{}", h.error_log());
        }
    }
    let mut mismatches = Vec::new();
    for q in [
        "cmd=list",
        "cmd=show&w=loadbalancer",
        "cmd=show&w=loadbalancer&sw=tomcat1",
        "cmd=show&w=tomcat1",
        "cmd=version",
    ] {
        for mime in ["xml", "prop", "txt"] {
            let path = format!("/jkmanager/?{q}&mime={mime}");
            let d = fetch(&p.debian, &path);
            let o = fetch(&p.ours, &path);
            compare(&format!("GET {path}"), mime, &d, &o, &mut mismatches);
        }
    }
    report("list/show", &mismatches);
}

/// One update scenario: the requests applied in order to a fresh pair.
struct Case {
    name: &'static str,
    /// Requests (path and query without mime) applied in order.
    steps: &'static [&'static str],
    /// Debian's answer to the last step in `mime=prop`: (result.type, result.message).
    answer: (&'static str, &'static str),
    /// Values Debian's following `mime=prop` list must show (so a case cannot pass by both
    /// modules ignoring it).
    effect: &'static [(&'static str, &'static str)],
}

const OK: (&str, &str) = ("OK", "Action finished");

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "vwa letters: d",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=d"],
            answer: OK,
            effect: &[("worker.tomcat1.activation", "DIS")],
        },
        Case {
            name: "vwa letters: s",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=s"],
            answer: OK,
            effect: &[("worker.tomcat1.activation", "STP")],
        },
        Case {
            name: "vwa letters: s then a",
            steps: &[
                "/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=s",
                "/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=a",
            ],
            answer: OK,
            effect: &[("worker.tomcat1.activation", "ACT")],
        },
        Case {
            name: "vwa letters: upper-case D",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=D"],
            answer: OK,
            effect: &[("worker.tomcat1.activation", "DIS")],
        },
        Case {
            name: "vwa numbers: 1",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=1"],
            answer: OK,
            effect: &[("worker.tomcat1.activation", "DIS")],
        },
        Case {
            name: "vwa numbers: 2",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat2&vwa=2"],
            answer: OK,
            effect: &[("worker.tomcat2.activation", "STP")],
        },
        Case {
            name: "vwa numbers: 2 then 0",
            steps: &[
                "/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=2",
                "/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=0",
            ],
            answer: OK,
            effect: &[("worker.tomcat1.activation", "ACT")],
        },
        Case {
            name: "vwa invalid value",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=x"],
            answer: OK,
            effect: &[("worker.tomcat1.activation", "ACT")],
        },
        Case {
            name: "vwf",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwf=3"],
            answer: OK,
            effect: &[("worker.tomcat1.lbfactor", "3")],
        },
        Case {
            name: "vwf=0 (refused)",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwf=0"],
            answer: OK,
            effect: &[("worker.tomcat1.lbfactor", "1")],
        },
        Case {
            name: "vwn",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwn=node1"],
            answer: OK,
            effect: &[("worker.tomcat1.route", "node1")],
        },
        Case {
            name: "vwr",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwr=tomcat2"],
            answer: OK,
            effect: &[("worker.tomcat1.redirect", "tomcat2")],
        },
        Case {
            name: "vwc",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwc=dom1"],
            answer: OK,
            effect: &[("worker.tomcat1.domain", "dom1")],
        },
        Case {
            name: "vwd",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwd=2"],
            answer: OK,
            effect: &[("worker.tomcat1.distance", "2")],
        },
        Case {
            name: "AJP parameters of a member",
            steps: &[
                "/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vart=1234&var=3&vacpt=300&vact=500&vapt=700&varo=3",
            ],
            answer: OK,
            effect: &[
                ("worker.tomcat1.reply_timeout", "1234"),
                ("worker.tomcat1.retries", "3"),
                ("worker.tomcat1.connection_pool_timeout", "300"),
                ("worker.tomcat1.connect_timeout", "500"),
                ("worker.tomcat1.prepost_timeout", "700"),
                ("worker.tomcat1.recovery_options", "3"),
            ],
        },
        Case {
            name: "vamps rounds up",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat2&vamps=16000"],
            answer: OK,
            effect: &[("worker.tomcat2.max_packet_size", "16384")],
        },
        Case {
            name: "several member values at once",
            steps: &[
                "/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat2&vwa=d&vwf=4&vwd=1&vwr=tomcat1",
            ],
            answer: OK,
            effect: &[
                ("worker.tomcat2.activation", "DIS"),
                ("worker.tomcat2.lbfactor", "4"),
                ("worker.tomcat2.distance", "1"),
                ("worker.tomcat2.redirect", "tomcat1"),
            ],
        },
        Case {
            name: "att for all members",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&att=vwf&val0=2&val1=5"],
            answer: OK,
            effect: &[
                ("worker.tomcat1.lbfactor", "2"),
                ("worker.tomcat2.lbfactor", "5"),
            ],
        },
        Case {
            name: "wildcard member",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat*&vwd=3"],
            answer: OK,
            effect: &[
                ("worker.tomcat1.distance", "3"),
                ("worker.tomcat2.distance", "3"),
            ],
        },
        Case {
            name: "vlr",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vlr=5"],
            answer: OK,
            effect: &[("worker.loadbalancer.retries", "5")],
        },
        Case {
            name: "vlr=0 (refused)",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vlr=0"],
            answer: OK,
            effect: &[("worker.loadbalancer.retries", "2")],
        },
        Case {
            name: "vlt",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vlt=120"],
            answer: OK,
            effect: &[("worker.loadbalancer.recover_time", "120")],
        },
        Case {
            name: "vlee",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vlee=45"],
            answer: OK,
            effect: &[("worker.loadbalancer.error_escalation_time", "45")],
        },
        Case {
            name: "vlx",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vlx=3"],
            answer: OK,
            effect: &[("worker.loadbalancer.max_reply_timeouts", "3")],
        },
        Case {
            name: "vls",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vls=false"],
            answer: OK,
            effect: &[("worker.loadbalancer.sticky_session", "False")],
        },
        Case {
            name: "vls=0",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vls=0"],
            answer: OK,
            effect: &[("worker.loadbalancer.sticky_session", "False")],
        },
        Case {
            name: "vlf",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vlf=true"],
            answer: OK,
            effect: &[("worker.loadbalancer.sticky_session_force", "True")],
        },
        Case {
            name: "vlm letter",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vlm=b"],
            answer: OK,
            effect: &[("worker.loadbalancer.method", "Busyness")],
        },
        Case {
            name: "vlm number",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vlm=3"],
            answer: OK,
            effect: &[("worker.loadbalancer.method", "Sessions")],
        },
        Case {
            name: "vll letter",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vll=p"],
            answer: OK,
            effect: &[("worker.loadbalancer.lock", "Pessimistic")],
        },
        Case {
            name: "vll number",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&vll=1"],
            answer: OK,
            effect: &[("worker.loadbalancer.lock", "Pessimistic")],
        },
        Case {
            name: "read_only status worker refuses",
            steps: &["/jkro/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=d"],
            answer: ("ERROR", "This command is not allowed in read only mode."),
            effect: &[("worker.tomcat1.activation", "ACT")],
        },
        Case {
            name: "opt=32 read-only request refuses",
            steps: &["/jkmanager/?cmd=update&opt=32&w=loadbalancer&sw=tomcat1&vwa=d"],
            answer: ("ERROR", "This command is not allowed in read only mode."),
            effect: &[("worker.tomcat1.activation", "ACT")],
        },
        Case {
            name: "invalid command",
            steps: &["/jkmanager/?cmd=frobnicate&w=loadbalancer&sw=tomcat1&vwa=d"],
            answer: ("ERROR", "Invalid command."),
            effect: &[("worker.tomcat1.activation", "ACT")],
        },
        Case {
            name: "unknown worker",
            steps: &["/jkmanager/?cmd=update&w=nosuchlb&sw=tomcat1&vwa=d"],
            answer: ("ERROR", "Could not find given worker"),
            effect: &[("worker.tomcat1.activation", "ACT")],
        },
        Case {
            name: "unknown member",
            steps: &["/jkmanager/?cmd=update&w=loadbalancer&sw=nosuchmember&vwa=d"],
            answer: ("ERROR", "could not find sub worker"),
            effect: &[("worker.tomcat1.activation", "ACT")],
        },
        Case {
            name: "member of a non-lb worker",
            steps: &["/jkmanager/?cmd=update&w=tomcat1&sw=tomcat2&vwa=d"],
            answer: ("ERROR", "worker type has no sub workers"),
            effect: &[("worker.tomcat2.activation", "ACT")],
        },
    ]
}

/// Applies `c` to a fresh pair: each step in xml, txt and prop (the same change three times,
/// so the repeated, no-op application is compared as well), then the effect in a list.
fn run_case(c: &Case, servers: &[TestServer]) -> Vec<String> {
    let p = pair("stc-upd", servers);
    let mut out = Vec::new();
    let mut last_answer = String::new();
    for step in c.steps {
        for mime in ["xml", "txt", "prop"] {
            let path = format!("{step}&mime={mime}");
            let d = fetch(&p.debian, &path);
            let o = fetch(&p.ours, &path);
            last_answer = d.body.clone();
            compare(
                &format!("[{}] answer to GET {path}", c.name),
                mime,
                &d,
                &o,
                &mut out,
            );
        }
    }
    let path = "/jkmanager/?cmd=list&mime=prop";
    let d = fetch(&p.debian, path);
    let o = fetch(&p.ours, path);
    compare(
        &format!("[{}] effect: GET {path}", c.name),
        "prop",
        &d,
        &o,
        &mut out,
    );
    // The scenario itself must do what it claims on Debian's module (the oracle).
    let got = (
        prop(&last_answer, "worker.result.type").unwrap_or_default(),
        prop(&last_answer, "worker.result.message").unwrap_or_default(),
    );
    if (got.0.as_str(), got.1.as_str()) != c.answer {
        out.push(format!(
            "[{}] TEST EXPECTATION: Debian answered {got:?}, the case expects {:?}",
            c.name, c.answer
        ));
    }
    for (k, v) in c.effect {
        let got = prop(&d.body, k).unwrap_or_default();
        if got != *v {
            out.push(format!(
                "[{}] TEST EXPECTATION: Debian shows {k}={got:?}, the case expects {v:?}",
                c.name
            ));
        }
    }
    out
}

#[test]
fn update_commands_answer_and_act_like_debian() {
    let servers = ajp_servers();
    let cases = cases();
    let mut mismatches = Vec::new();
    for chunk in cases.chunks(6) {
        let results: Vec<Vec<String>> = std::thread::scope(|s| {
            let hs: Vec<_> = chunk
                .iter()
                .map(|c| s.spawn(|| run_case(c, &servers)))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in results {
            mismatches.extend(r);
        }
    }
    report("update commands", &mismatches);
}

/// A `mime=prop` body as a key → value lookup.
fn prop(body: &str, key: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
}

/// The pids that served the lines of `pid.log` whose path starts with `prefix`.
fn pids(log: &str, prefix: &str) -> BTreeSet<String> {
    log.lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, u)| u.starts_with(prefix))
        .map(|(p, _)| p.to_string())
        .collect()
}

/// `n` GETs of `path(i)` from `threads` client threads, one connection each.
fn parallel_gets(
    port: u16,
    n: usize,
    threads: usize,
    path: impl Fn(usize) -> String + Sync,
) -> Vec<Response> {
    let per = n / threads;
    let path = &path;
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (0..per)
                        .map(|i| http_request(port, "GET", &path(t * per + i), &[]))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn activation_change_is_seen_by_every_prefork_child_and_steers_new_requests() {
    let servers = ajp_servers();
    let h = start_seed(
        "stc-prefork",
        Mpm::Prefork,
        &module_so(),
        &servers,
        "StartServers 3\nMinSpareServers 3\nMaxSpareServers 4\nMaxRequestWorkers 4\n\
         LogFormat \"%P %U%q\" pids\nCustomLog logs/pid.log pids",
    );
    // Before: every child answers ACT (and we learn which children exist).
    let before = parallel_gets(h.port, 60, 4, |i| format!("/jkmanager/?mime=prop&n=b{i}"));
    for r in &before {
        assert_eq!(
            prop(&r.text(), "worker.tomcat1.activation").as_deref(),
            Some("ACT"),
            "{}",
            r.text()
        );
    }
    let r = h.get("/jkmanager/?cmd=update&w=loadbalancer&sw=tomcat1&vwa=D&mime=prop");
    assert_eq!(
        prop(&r.text(), "worker.result.type").as_deref(),
        Some("OK"),
        "update refused: {}\n{}",
        r.text(),
        h.error_log()
    );
    let after = parallel_gets(h.port, 120, 4, |i| format!("/jkmanager/?mime=prop&n=a{i}"));
    let stale: Vec<_> = after
        .iter()
        .map(|r| prop(&r.text(), "worker.tomcat1.activation").unwrap_or_else(|| r.text()))
        .filter(|a| a != "DIS")
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let log = h.dir.read("logs/pid.log");
    let pre = pids(&log, "/jkmanager/?mime=prop&n=b");
    let post = pids(&log, "/jkmanager/?mime=prop&n=a");
    assert!(
        stale.is_empty(),
        "{} of {} answers after vwa=D still show another activation: {:?}",
        stale.len(),
        after.len(),
        &stale[..stale.len().min(5)]
    );
    let both: Vec<_> = pre.intersection(&post).collect();
    assert!(
        both.len() >= 2,
        "the answers did not come from several children that existed before the change \
         (before {pre:?}, after {post:?})"
    );
    // New, non-sticky requests go to tomcat2 only.
    let t1_before = servers[0].requests().len();
    let app = parallel_gets(h.port, 40, 4, |i| format!("/app/after{i}"));
    for r in &app {
        assert_eq!(r.status, 200, "{}", h.error_log());
        assert_eq!(r.text().trim(), "member=tomcat2");
    }
    assert_eq!(servers[0].requests().len(), t1_before);
}

/// The comparison itself: runtime values are ignored, configuration values and structure
/// are not, in each format (so the Debian comparisons cannot pass vacuously).
#[test]
fn comparison_reports_value_and_structure_differences() {
    let f = |port: u16, body: &str| Fetched {
        port,
        status: 200,
        content_type: "text/plain".into(),
        cache_control: "no-cache".into(),
        pragma: "no-cache".into(),
        body: body.into(),
    };
    let run = |mime: &str, a: &str, b: &str| {
        let mut out = Vec::new();
        compare("t", mime, &f(1111, a), &f(2222, b), &mut out);
        out
    };
    // prop: runtime differs only, port masked
    assert!(run(
        "prop",
        "worker.server_port=1111\nworker.a.lbvalue=5\nworker.a.route=x",
        "worker.server_port=2222\nworker.a.lbvalue=9\nworker.a.route=x"
    )
    .is_empty());
    let d = run(
        "prop",
        "worker.a.route=x\nworker.a.lbfactor=1",
        "worker.a.route=y",
    );
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d[0].contains("debian=\"x\" ours=\"y\""), "{d:?}");
    assert!(
        d[1].contains("only in debian") && d[1].contains("lbfactor"),
        "{d:?}"
    );
    // txt: quoted values with spaces
    assert!(run(
        "txt",
        "Member: name=a route=\"r 1\" elected=3",
        "Member: name=a route=\"r 1\" elected=4"
    )
    .is_empty());
    let d = run(
        "txt",
        "Member: name=a route=\"r 1\"",
        "Member: name=a route=\"r 2\"",
    );
    assert_eq!(d.len(), 1, "{d:?}");
    // xml: attribute values, attribute order, self-closing vs open elements
    let x = "<?xml version=\"1.0\" ?>\n<jk:status\n  xmlns:jk=\"u\">\n<jk:member\n  name=\"a\"\n  \
             busy=\"1\"\n  activation=\"ACT\"\n/>\n</jk:status>\n";
    assert!(run("xml", x, &x.replace("busy=\"1\"", "busy=\"7\"")).is_empty());
    assert_eq!(run("xml", x, &x.replace("ACT", "DIS")).len(), 1);
    assert!(!run(
        "xml",
        x,
        &x.replace(
            "  busy=\"1\"\n  activation=\"ACT\"",
            "  activation=\"ACT\"\n  busy=\"1\""
        )
    )
    .is_empty());
    assert!(!run("xml", x, &x.replace("\n/>", ">\n</jk:member>")).is_empty());
}
