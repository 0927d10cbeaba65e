#![allow(clippy::unwrap_used)]
//! JkLogFile, JkLogLevel, JkLogStampFormat, JkRequestLogFormat and the ErrorLog fallback,
//! against the real httpd.

mod support;

use support::*;

const WORKERS: &str =
    "worker.list=w1,stat\nworker.w1.host=127.0.0.1\nworker.w1.port=1\nworker.stat.type=status\n";

fn start(tag: &str, directives: &str) -> Httpd {
    let dir = TestDir::new(tag);
    let wp = dir.write("workers.properties", WORKERS);
    Httpd::try_start(
        dir,
        Mpm::Event,
        &format!("JkWorkersFile {}\n{directives}", wp.display()),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// `[Wed Nov 25 02:43:19.907 2026] [12088:140153615734656] [info] function::file (line): msg`
fn is_mod_jk_line(l: &str) -> bool {
    let Some(rest) = l.strip_prefix('[') else {
        return false;
    };
    let Some((stamp, rest)) = rest.split_once("] [") else {
        return false;
    };
    let stamp_ok = stamp.len() == "Wed Nov 25 02:43:19.907 2026".len()
        && stamp.as_bytes()[19] == b'.'
        && stamp[20..23].bytes().all(|b| b.is_ascii_digit());
    let Some((pidtid, rest)) = rest.split_once("] [") else {
        return false;
    };
    let pid_ok = pidtid.split(':').count() == 2
        && pidtid
            .split(':')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let Some((level, rest)) = rest.split_once("] ") else {
        return false;
    };
    let level_ok = ["trace", "debug", "info", "warn", "error", "emerg"].contains(&level);
    stamp_ok && pid_ok && level_ok && rest.contains("::") && rest.contains("): ")
}

#[test]
fn jk_log_file_uses_mod_jk_line_format() {
    let h = start("logfmt", "JkLogFile logs/mod_jk.log\nJkLogLevel info\nJkMount /x/* nosuch\n<Location /ghost>\nSetHandler jakarta-servlet\nSetEnv JK_WORKER_NAME nosuch\n</Location>\n");
    assert_eq!(h.get("/ghost").status, 500);
    let log = h.dir.read("logs/mod_jk.log");
    let lines: Vec<&str> = log.lines().collect();
    assert!(!lines.is_empty());
    for l in &lines {
        assert!(is_mod_jk_line(l), "not in mod_jk's format: {l:?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[info]") && l.contains("initialized")),
        "{log}"
    );
    assert!(
        lines.iter().any(|l| l.contains("[error]")
            && l.contains("Could not find a worker for worker name=nosuch")),
        "{log}"
    );
}

#[test]
fn log_level_filters_lines() {
    let h = start("loglevel", "JkLogFile logs/mod_jk.log\nJkLogLevel error\n");
    h.get("/");
    let log = h.dir.read("logs/mod_jk.log");
    assert!(!log.contains("[info]"), "{log}");
}

#[test]
fn stamp_format_with_microseconds() {
    let h = start(
        "stamp",
        "JkLogFile logs/mod_jk.log\nJkLogStampFormat \"<%Y-%m-%d %H:%M:%S.%q> \"\n",
    );
    let log = h.dir.read("logs/mod_jk.log");
    let first = log.lines().next().unwrap_or_default();
    // <2026-11-25 03:12:45.123456> [pid:tid] ...
    assert!(
        first.starts_with('<') && first.as_bytes()[20] == b'.',
        "{first}"
    );
    assert!(
        first[21..27].bytes().all(|b| b.is_ascii_digit()) && &first[27..29] == "> ",
        "{first}"
    );
}

#[test]
fn request_log_format_line_for_handled_requests() {
    let h = start(
        "reqlog",
        "JkLogFile logs/mod_jk.log\nJkRequestLogFormat \"%w %V %s %m %U%q %T\"\nJkMount /r/* w1\n",
    );
    h.get("/r/a?b=1");
    h.dir.write("htdocs/s.txt", "s");
    h.get("/s.txt");
    wait_for("request log line", 5, || {
        h.dir.read("logs/mod_jk.log").contains("w1 127.0.0.1")
    });
    let log = h.dir.read("logs/mod_jk.log");
    let line = log.lines().find(|l| l.contains("w1 127.0.0.1")).unwrap();
    let (head, took) = line.rsplit_once(' ').unwrap();
    assert!(head.ends_with("w1 127.0.0.1 503 GET /r/a?b=1"), "{line}");
    // %T: the request's time in the handler as mod_jk writes it, seconds and six digits.
    let (secs, micros) = took.split_once('.').unwrap_or_else(|| panic!("{line}"));
    assert!(
        !secs.is_empty()
            && secs.bytes().all(|b| b.is_ascii_digit())
            && micros.len() == 6
            && micros.bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );
    assert!(!log.contains("/s.txt"), "unhandled request logged:\n{log}");
}

#[test]
fn piped_log_file() {
    let dir = TestDir::new("piped");
    let out = dir.path().join("logs/piped.log");
    let wp = dir.write("workers.properties", WORKERS);
    let body = format!(
        "JkWorkersFile {}\nJkLogFile \"|/bin/sh -c 'cat >> {}'\"\n",
        wp.display(),
        out.display()
    );
    let h = Httpd::try_start(dir, Mpm::Event, &body).unwrap_or_else(|e| panic!("{e}"));
    wait_for("piped log line", 10, || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("initialized")
    });
    drop(h);
}

#[test]
fn without_jk_log_file_messages_go_to_the_error_log() {
    let h = start("errlog", "JkMount /x/* w1\n");
    h.get("/x/y");
    let err = h.error_log();
    assert!(err.contains("mod_jk"), "{err}");
    assert!(!h.dir.path().join("logs/mod_jk.log").exists());
}

#[test]
fn directives_without_effect_get_one_startup_warning_each() {
    let h = start(
        "pending",
        "JkLogFile logs/mod_jk.log\nJkRequestIdIndicator MY_ID\nJkEnvVar A\n\
         <VirtualHost 127.0.0.1:*>\n  ServerName v.test\n  JkRequestIdIndicator OTHER\n</VirtualHost>\n",
    );
    let log = h.dir.read("logs/mod_jk.log");
    let count = |d: &str| {
        log.lines()
            .filter(|l| l.contains("[warn]") && l.contains(d))
            .count()
    };
    assert_eq!(count("JkRequestIdIndicator is accepted"), 1, "{log}");
    // JkEnvVar has its effect (forwarding), so no warning.
    assert_eq!(count("JkEnvVar"), 0, "{log}");
    assert!(
        h.error_log().contains("JkRequestIdIndicator is accepted"),
        "{}",
        h.error_log()
    );
}
