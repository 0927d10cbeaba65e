//! Table-driven precedence tests (compat reference §4.1–§4.3, pitfalls 6/7).
//!
//! Each case: the rules of one server, a request URI as httpd hands it over (decoded), and
//! what must happen: mapped to a worker, not mapped, or rejected by normalisation (400).
#![allow(clippy::unwrap_used)]

use jk_urimap::{normalize, RuleSource, UriMap};

#[derive(Clone, Copy)]
enum Src {
    /// `JkMount pattern worker`
    Mount,
    /// `JkUnMount pattern worker`
    Unmount,
    /// A uriworkermap line `pattern=worker` (prefixes `-`, `!` allowed).
    File,
    /// `worker.<worker>.mount=pattern`
    WorkerDef,
}

#[derive(Debug, PartialEq)]
enum Want {
    Worker(&'static str),
    NotMapped,
    BadRequest,
}
use Want::*;

struct Case {
    name: &'static str,
    rules: &'static [(Src, &'static str, &'static str)],
    uri: &'static str,
    reject_unsafe: bool,
    want: Want,
}

const fn case(
    name: &'static str,
    rules: &'static [(Src, &'static str, &'static str)],
    uri: &'static str,
    want: Want,
) -> Case {
    Case {
        name,
        rules,
        uri,
        reject_unsafe: false,
        want,
    }
}

use Src::*;

const JSP_AND_CTX: &[(Src, &str, &str)] = &[(Mount, "/*.jsp", "jsp"), (Mount, "/ctx/*", "ctx")];

fn cases() -> Vec<Case> {
    let long_uri: &'static str = Box::leak(format!("/a/{}", "x".repeat(4093)).into_boxed_str());
    let limit_uri: &'static str = Box::leak(format!("/a/{}", "x".repeat(4092)).into_boxed_str());
    vec![
        // --- exact and wildcard patterns (§4.2)
        case(
            "exact matches itself",
            &[(Mount, "/app", "w")],
            "/app",
            Worker("w"),
        ),
        case(
            "exact has no implicit prefix",
            &[(Mount, "/app", "w")],
            "/app/x",
            NotMapped,
        ),
        case(
            "exact has no trailing-slash tolerance",
            &[(Mount, "/app", "w")],
            "/app/",
            NotMapped,
        ),
        case(
            "/ctx/* matches below",
            &[(Mount, "/ctx/*", "w")],
            "/ctx/a/b",
            Worker("w"),
        ),
        case(
            "/ctx/* matches /ctx/",
            &[(Mount, "/ctx/*", "w")],
            "/ctx/",
            Worker("w"),
        ),
        case(
            "/ctx/* does not match /ctx",
            &[(Mount, "/ctx/*", "w")],
            "/ctx",
            NotMapped,
        ),
        case(
            "/ctx/* does not match /ctxfoo",
            &[(Mount, "/ctx/*", "w")],
            "/ctxfoo",
            NotMapped,
        ),
        case(
            "/*.jsp at top level",
            &[(Mount, "/*.jsp", "w")],
            "/a.jsp",
            Worker("w"),
        ),
        case(
            "/*.jsp at any depth",
            &[(Mount, "/*.jsp", "w")],
            "/a/b/c/d.jsp",
            Worker("w"),
        ),
        case(
            "/*.jsp not .jspx",
            &[(Mount, "/*.jsp", "w")],
            "/a.jspx",
            NotMapped,
        ),
        case("/* matches root", &[(Mount, "/*", "w")], "/", Worker("w")),
        case(
            "? is exactly one char",
            &[(Mount, "/a?c", "w")],
            "/abc",
            Worker("w"),
        ),
        case(
            "? does not match none",
            &[(Mount, "/a?c", "w")],
            "/ac",
            NotMapped,
        ),
        case(
            "? does not match two",
            &[(Mount, "/a?c", "w")],
            "/abbc",
            NotMapped,
        ),
        case(
            "? matches a slash",
            &[(Mount, "/a?c", "w")],
            "/a/c",
            Worker("w"),
        ),
        case(
            "| expands to X",
            &[(Mount, "/ctx|/*", "w")],
            "/ctx",
            Worker("w"),
        ),
        case(
            "| expands to XY",
            &[(Mount, "/ctx|/*", "w")],
            "/ctx/x/y",
            Worker("w"),
        ),
        case(
            "| in the file",
            &[(File, "/ctx|/*", "w")],
            "/ctx",
            Worker("w"),
        ),
        case(
            "case-sensitive exact",
            &[(Mount, "/App", "w")],
            "/app",
            NotMapped,
        ),
        case(
            "case-sensitive wildcard",
            &[(Mount, "/App/*", "w")],
            "/app/x",
            NotMapped,
        ),
        case(
            "case-sensitive extension",
            &[(Mount, "/*.jsp", "w")],
            "/a.JSP",
            NotMapped,
        ),
        // --- precedence (§4.3)
        case(
            "more slashes first: /ctx/* beats /*.jsp",
            JSP_AND_CTX,
            "/ctx/a/b.jsp",
            Worker("ctx"),
        ),
        case(
            "more slashes first, shallow URI",
            JSP_AND_CTX,
            "/ctx/b.jsp",
            Worker("ctx"),
        ),
        case(
            "/*.jsp applies outside /ctx",
            JSP_AND_CTX,
            "/x/y/b.jsp",
            Worker("jsp"),
        ),
        case(
            "more slashes beats longer pattern",
            &[
                (Mount, "/a/*xxxxxxxxxxxxxxxxx", "long"),
                (Mount, "/a/*/*", "deep"),
            ],
            "/a/b/cxxxxxxxxxxxxxxxxx",
            Worker("deep"),
        ),
        case(
            "exact does not beat a longer wildcard",
            &[(Mount, "/a/b", "exact"), (Mount, "/a*/*", "wild")],
            "/a/b",
            Worker("wild"),
        ),
        case(
            "exact wins over shorter wildcard of equal depth",
            &[(Mount, "/a/*", "wild"), (Mount, "/a/index", "exact")],
            "/a/index",
            Worker("exact"),
        ),
        case(
            "longer pattern first on equal slashes",
            &[(Mount, "/app/*", "short"), (Mount, "/app/x*", "long")],
            "/app/xyz",
            Worker("long"),
        ),
        case(
            "longer wildcard beats shorter exact",
            &[(Mount, "/app/*", "wild"), (Mount, "/app/", "exact")],
            "/app/",
            Worker("wild"),
        ),
        case(
            "source tie-break: uriworkermap before JkMount",
            &[(Mount, "/app/*", "mount"), (File, "/app/*", "file")],
            "/app/x",
            Worker("file"),
        ),
        case(
            "source tie-break: JkMount before worker definition",
            &[(WorkerDef, "/app/*", "wdef"), (Mount, "/app/*", "mount")],
            "/app/x",
            Worker("mount"),
        ),
        case(
            "source tie-break: uriworkermap before worker definition",
            &[(WorkerDef, "/app/*", "wdef"), (File, "/app/*", "file")],
            "/app/x",
            Worker("file"),
        ),
        case(
            "depth beats source",
            &[(File, "/*", "file"), (WorkerDef, "/app/*", "wdef")],
            "/app/x",
            Worker("wdef"),
        ),
        case(
            "last JkMount of a pattern wins",
            &[(Mount, "/app/*", "first"), (Mount, "/app/*", "second")],
            "/app/x",
            Worker("second"),
        ),
        case(
            "last uriworkermap line of a pattern wins",
            &[(File, "/app/*", "first"), (File, "/app/*", "second")],
            "/app/x",
            Worker("second"),
        ),
        // --- exclusions (§4.3 step 3)
        case(
            "unmount with the same worker",
            &[(Mount, "/app/*", "w"), (Unmount, "/app/*.gif", "w")],
            "/app/a.gif",
            NotMapped,
        ),
        case(
            "unmount leaves other URIs",
            &[(Mount, "/app/*", "w"), (Unmount, "/app/*.gif", "w")],
            "/app/a.jsp",
            Worker("w"),
        ),
        case(
            "unmount with worker *",
            &[(Mount, "/app/*", "w"), (Unmount, "/app/static/*", "*")],
            "/app/static/a.css",
            NotMapped,
        ),
        case(
            "unmount for another worker does not apply",
            &[(Mount, "/app/*", "w"), (Unmount, "/app/*.gif", "other")],
            "/app/a.gif",
            Worker("w"),
        ),
        case(
            "unmount blocks the fallback to a lower rule",
            &[
                (Mount, "/*", "w"),
                (Mount, "/app/*", "w"),
                (Unmount, "/app/*.gif", "w"),
            ],
            "/app/a.gif",
            NotMapped,
        ),
        case(
            "unmount of the winner only: lower rule with other worker not consulted",
            &[
                (Mount, "/*", "root"),
                (Mount, "/app/*", "app"),
                (Unmount, "/app/x", "app"),
            ],
            "/app/x",
            NotMapped,
        ),
        case(
            "unmount of the same pattern coexists with the mount",
            &[(Mount, "/app/x", "w"), (Unmount, "/app/x", "w")],
            "/app/x",
            NotMapped,
        ),
        case(
            "uriworkermap exclusion",
            &[(File, "/app/*", "w"), (File, "!/app/*.png", "w")],
            "/app/i.png",
            NotMapped,
        ),
        case(
            "exclusion alone maps nothing",
            &[(Unmount, "/app/*", "*")],
            "/app/x",
            NotMapped,
        ),
        // --- disabled rules
        case(
            "disabled rule ignored",
            &[(File, "-/app/*", "w")],
            "/app/x",
            NotMapped,
        ),
        case(
            "disabled rule lets a lower rule match",
            &[(File, "/*", "root"), (File, "-/app/*", "app")],
            "/app/x",
            Worker("root"),
        ),
        case(
            "disabled exclusion -! does not veto",
            &[(File, "/app/*", "w"), (File, "-!/app/*.gif", "w")],
            "/app/a.gif",
            Worker("w"),
        ),
        case(
            "disabled exclusion with worker *",
            &[(Mount, "/app/*", "w"), (File, "-!/app/*", "*")],
            "/app/a",
            Worker("w"),
        ),
        // --- limits and special URIs (§4.1)
        case(
            "URI of 4095 bytes is mapped",
            &[(Mount, "/a/*", "w")],
            limit_uri,
            Worker("w"),
        ),
        case(
            "URI over 4095 bytes is never mapped",
            &[(Mount, "/a/*", "w")],
            long_uri,
            NotMapped,
        ),
        case(
            "OPTIONS * is never mapped",
            &[(Mount, "/*", "w")],
            "*",
            NotMapped,
        ),
        Case {
            name: "RejectUnsafeURI: % is not mapped",
            rules: &[(Mount, "/app/*", "w")],
            uri: "/app/a%2fb",
            reject_unsafe: true,
            want: NotMapped,
        },
        Case {
            name: "RejectUnsafeURI: backslash is not mapped",
            rules: &[(Mount, "/app/*", "w")],
            uri: "/app/a\\b",
            reject_unsafe: true,
            want: NotMapped,
        },
        Case {
            name: "RejectUnsafeURI: clean URI still mapped",
            rules: &[(Mount, "/app/*", "w")],
            uri: "/app/ab",
            reject_unsafe: true,
            want: Worker("w"),
        },
        case(
            "without RejectUnsafeURI % maps",
            &[(Mount, "/app/*", "w")],
            "/app/%",
            Worker("w"),
        ),
        // --- <Location>-scoped JkMount: the location path verbatim (pitfall 7)
        case(
            "<Location /jk-status> exact",
            &[(Mount, "/jk-status", "st")],
            "/jk-status",
            Worker("st"),
        ),
        case(
            "<Location /jk-status> not below",
            &[(Mount, "/jk-status", "st")],
            "/jk-status/x",
            NotMapped,
        ),
        case(
            "<Location /app/*> acts as wildcard",
            &[(Mount, "/app/*", "w")],
            "/app/y",
            Worker("w"),
        ),
        // --- normalisation before matching (§4.1)
        case(
            "path parameter removed",
            &[(Mount, "/a/b", "w")],
            "/a;jsessionid=X/b",
            Worker("w"),
        ),
        case(
            "path parameter cannot hide an unmount",
            &[(Mount, "/app/*", "w"), (Unmount, "/app/secret/*", "w")],
            "/app/secret;x=1/data",
            NotMapped,
        ),
        case(
            "double slash collapsed",
            &[(Mount, "/a/b", "w")],
            "//a//b",
            Worker("w"),
        ),
        case(
            "dot segment removed",
            &[(Mount, "/a/b", "w")],
            "/a/./b",
            Worker("w"),
        ),
        case(
            "dot-dot resolved",
            &[(Mount, "/b/*", "w")],
            "/a/../b/c",
            Worker("w"),
        ),
        case(
            "dot-dot escaping the context is not mapped",
            &[(Mount, "/app/*", "w")],
            "/app/../etc/passwd",
            NotMapped,
        ),
        case(
            "above root is 400",
            &[(Mount, "/*", "w")],
            "/a/../../etc",
            BadRequest,
        ),
        case(
            "not starting with / is 400",
            &[(Mount, "/*", "w")],
            "a/b",
            BadRequest,
        ),
    ]
}

fn build(case: &Case) -> UriMap {
    let mut map = UriMap::new();
    map.set_reject_unsafe(case.reject_unsafe);
    for (i, &(src, pattern, worker)) in case.rules.iter().enumerate() {
        let loc = Some(format!("case:{}", i + 1));
        let (unmount, source) = match src {
            Mount => (false, RuleSource::JkMount),
            Unmount => (true, RuleSource::JkMount),
            File => (false, RuleSource::UriWorkerMap),
            WorkerDef => (false, RuleSource::WorkerDefinition),
        };
        map.add_mount(pattern, worker, unmount, source, loc)
            .unwrap_or_else(|e| panic!("{}: rule {pattern}: {e}", case.name));
    }
    map
}

#[test]
fn precedence_table() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let map = build(case);
        let got = match normalize(case.uri.as_bytes()) {
            Err(_) => BadRequest,
            Ok(clean) => match map.map(&clean) {
                Some(m) => Worker(Box::leak(m.worker.to_string().into_boxed_str())),
                None => NotMapped,
            },
        };
        if got != case.want {
            failures.push(format!(
                "{}: uri {:.60}: want {:?}, got {:?}",
                case.name, case.uri, case.want, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rules_are_listed_in_precedence_order() {
    let mut map = UriMap::new();
    let add = |m: &mut UriMap, p: &str, w: &str, src| {
        m.add_mount(p, w, false, src, None).unwrap();
    };
    add(&mut map, "/*", "a", RuleSource::JkMount);
    add(&mut map, "/app/*", "b", RuleSource::WorkerDefinition);
    add(&mut map, "/app/*", "c", RuleSource::JkMount);
    add(&mut map, "/app/*", "d", RuleSource::UriWorkerMap);
    add(&mut map, "/app/longer", "e", RuleSource::JkMount);
    add(&mut map, "/x/y/z", "f", RuleSource::JkMount);
    let order: Vec<String> = map.rules().iter().map(|r| r.worker.to_string()).collect();
    assert_eq!(order, ["f", "e", "d", "c", "b", "a"]);
}
