#![allow(clippy::unwrap_used)]
//! The real apache2 loads our mod_jk.so: configurations Debian's mod_jk accepts start, broken
//! ones are rejected by `apache2 -t` with FILE:LINE messages.

mod support;

use support::*;

const SEED_WP: &str = "workers.properties";

/// The seed configuration, unchanged, as the user has it.
fn seed_body() -> String {
    seed_httpd_body(&seed(SEED_WP))
}

#[test]
fn seed_configuration_passes_configtest() {
    let dir = TestDir::new("seed-t");
    let t = configtest(&dir, &seed_body());
    assert!(t.ok, "configtest failed:\n{}", t.output);
    assert!(t.output.contains("Syntax OK"), "{}", t.output);
}

fn seed_starts(mpm: Mpm) {
    let h = Httpd::start("seed-start", mpm, &seed_body());
    h.dir.write("htdocs/index.html", "hello from httpd\n");
    let r = h.get("/index.html");
    assert_eq!(r.status, 200, "{r:?}\n{}", h.error_log());
    assert_eq!(r.text(), "hello from httpd\n");
    let jklog = h.dir.read("logs/mod_jk.log");
    assert!(jklog.contains("initialized"), "mod_jk.log:\n{jklog}");
    // The runtime-status file exists while httpd runs, 0600, named after the parent's pid.
    let pid = h.pid().unwrap();
    let shm = h.dir.path().join(format!("logs/jk-runtime-status.{pid}"));
    let meta = std::fs::metadata(&shm).unwrap_or_else(|e| panic!("{}: {e}", shm.display()));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(!h.error_log().contains("panic"), "{}", h.error_log());
}

test_each_mpm!(seed_configuration_starts: seed_starts);

#[test]
fn debian_jk_conf_passes_configtest() {
    // Our apache-conf/jk.conf carries the same directives as Debian's; Debian's own file is
    // checked too where libapache2-mod-jk is installed (CI installs it).
    let mut files = vec![repo().join("apache-conf/jk.conf")];
    let debian = std::path::Path::new("/etc/apache2/mods-available/jk.conf");
    if debian.exists() {
        files.push(debian.to_path_buf());
    }
    for f in files {
        let dir = TestDir::new("debian-jkconf");
        let t = configtest(&dir, &format!("Include {}\n", f.display()));
        assert!(t.ok, "{}: configtest failed:\n{}", f.display(), t.output);
    }
}

#[test]
fn ifmodule_matches_both_names() {
    let body = format!(
        "<IfModule mod_jk.c>\nJkWorkersFile {wp}\n</IfModule>\n\
         <IfModule jk_module>\nJkMount /both/* loadbalancer\n</IfModule>\n\
         <IfModule !jk_module>\nThisDirectiveDoesNotExist\n</IfModule>\n",
        wp = seed(SEED_WP).display()
    );
    let h = Httpd::start("ifmodule", Mpm::Event, &body);
    h.get("/both/x");
    let log = h.access_log();
    assert!(
        log.contains("\"GET /both/x HTTP/1.0\"") && log.contains("\"loadbalancer\" \"lb\""),
        "{log}"
    );
}

#[test]
fn graceful_restart_keeps_serving() {
    let body = format!(
        "JkWorkersFile {}\nJkMount /app/* loadbalancer\nJkLogFile logs/mod_jk.log\n",
        seed(SEED_WP).display()
    );
    let h = Httpd::start("graceful", Mpm::Event, &body);
    h.dir.write("htdocs/a.txt", "a");
    assert_eq!(h.get("/a.txt").status, 200);
    for _ in 0..2 {
        h.graceful();
        wait_for("server after graceful", 10, || {
            std::net::TcpStream::connect(("127.0.0.1", h.port)).is_ok()
        });
        assert_eq!(h.get("/a.txt").status, 200, "{}", h.error_log());
        h.get("/app/x");
    }
    let mapped = h.access_log().matches("\"loadbalancer\" \"lb\"").count();
    assert_eq!(mapped, 2, "{}", h.access_log());
    assert!(!h.error_log().contains("panic"), "{}", h.error_log());
    // The runtime-status file is kept across restarts (runtime state survives them) and
    // removed when httpd stops.
    let jklog = h.dir.read("logs/mod_jk.log");
    assert_eq!(
        jklog
            .matches("state kept from the previous generation")
            .count(),
        2,
        "{jklog}"
    );
    let shm = h
        .dir
        .path()
        .join(format!("logs/jk-runtime-status.{}", h.pid().unwrap()));
    assert!(shm.exists());
    let mut h = h;
    h.stop();
    assert!(!shm.exists(), "{} left behind", shm.display());
}

/// A broken configuration: a workers.properties body (or None) and httpd directives; the
/// expected fragments of the configtest output.
struct Broken {
    name: &'static str,
    workers: Option<&'static str>,
    directives: &'static str,
    expect: &'static [&'static str],
}

const BASE_WORKERS: &str = "worker.list=tomcat1,lb,stat\n\
worker.tomcat1.host=127.0.0.1\n\
worker.tomcat1.port=8009\n\
worker.lb.type=lb\n\
worker.lb.balance_workers=tomcat1\n\
worker.stat.type=status\n";

fn broken_cases() -> Vec<Broken> {
    vec![
        Broken {
            name: "port with garbage",
            workers: Some("worker.list=tomcat1\nworker.tomcat1.port=80x9\n"),
            directives: "",
            expect: &["workers.properties:2: worker.tomcat1.port", "80x9"],
        },
        Broken {
            name: "lbfactor not a number",
            workers: Some("worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=t1\nworker.t1.port=8009\nworker.t1.lbfactor=abc\n"),
            directives: "",
            expect: &["workers.properties:5: worker.t1.lbfactor", "abc"],
        },
        Broken {
            name: "unknown lb method",
            workers: Some("worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=t1\nworker.t1.port=8009\nworker.lb.method=Fastest\n"),
            directives: "",
            expect: &["workers.properties:5: worker.lb.method", "Fastest"],
        },
        Broken {
            name: "unknown activation",
            workers: Some("worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=t1\nworker.t1.port=8009\nworker.t1.activation=Q\n"),
            directives: "",
            expect: &["workers.properties:5: worker.t1.activation", "Q"],
        },
        Broken {
            name: "undefined member",
            workers: Some("worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=t1,t9\nworker.t1.port=8009\n"),
            directives: "",
            expect: &["workers.properties:3: worker.lb.balance_workers", "t9"],
        },
        Broken {
            name: "line without =",
            workers: Some("worker.list=t1\nworker.t1.port 8009\n"),
            directives: "",
            expect: &["workers.properties:2:"],
        },
        Broken {
            name: "unterminated $(",
            workers: Some("worker.list=t1\nworker.t1.host=$(HOSTNAME\n"),
            directives: "",
            expect: &["workers.properties:2: worker.t1.host", "$("],
        },
        Broken {
            name: "unknown attribute with suggestion",
            workers: Some("worker.list=t1\nworker.t1.prot=8009\n"),
            directives: "",
            expect: &["workers.properties:2: worker.t1.prot", "port"],
        },
        Broken {
            name: "unknown worker type",
            workers: Some("worker.list=t1\nworker.t1.type=jni\n"),
            directives: "",
            expect: &["workers.properties:2: worker.t1.type", "jni"],
        },
        Broken {
            name: "port out of range",
            workers: Some("worker.list=t1\nworker.t1.port=70000\n"),
            directives: "",
            expect: &["workers.properties:2: worker.t1.port", "70000"],
        },
        Broken {
            name: "JkMount without a path outside a location",
            workers: Some(BASE_WORKERS),
            directives: "JkMount lb\n",
            expect: &["httpd.conf", "JkMount needs a path when not defined in a location"],
        },
        Broken {
            name: "JkMount with a path inside a location",
            workers: Some(BASE_WORKERS),
            directives: "<Location /x>\nJkMount /x lb\n</Location>\n",
            expect: &["httpd.conf", "JkMount can not have a path when defined in a location"],
        },
        Broken {
            name: "JkMount pattern without leading slash",
            workers: Some(BASE_WORKERS),
            directives: "JkMount app/* lb\n",
            expect: &["httpd.conf", "JkMount context should start with /"],
        },
        Broken {
            name: "JkWorkersFile in a virtual host",
            workers: None,
            directives: "<VirtualHost 127.0.0.1:1>\nJkWorkersFile /etc/hostname\n</VirtualHost>\n",
            expect: &["httpd.conf", "JkWorkersFile", "VirtualHost"],
        },
        Broken {
            name: "illegal JkOptions",
            workers: Some(BASE_WORKERS),
            directives: "JkOptions +ForwardEverything\n",
            expect: &["httpd.conf", "JkOptions: Illegal option 'ForwardEverything'"],
        },
        Broken {
            name: "ForwardURI option cannot be disabled",
            workers: Some(BASE_WORKERS),
            directives: "JkOptions -ForwardURIProxy\n",
            expect: &["httpd.conf", "option can not be disabled"],
        },
        Broken {
            name: "bad JkMountCopy",
            workers: Some(BASE_WORKERS),
            directives: "JkMountCopy Maybe\n",
            expect: &["httpd.conf", "JkMountCopy must be All, On or Off"],
        },
        Broken {
            name: "bad JkWorkerProperty",
            workers: None,
            directives: "JkWorkerProperty worker.list=t1\nJkWorkerProperty worker.t1.port=abc\n",
            expect: &["httpd.conf:", "worker.t1.port", "abc"],
        },
        Broken {
            name: "missing workers file",
            workers: None,
            directives: "JkWorkersFile /nonexistent/workers.properties\n",
            expect: &["httpd.conf", "JkWorkersFile", "/nonexistent/workers.properties"],
        },
    ]
}

#[test]
fn broken_configurations_are_rejected_with_file_and_line() {
    let mut failures = Vec::new();
    let cases = broken_cases();
    assert!(cases.len() >= 10);
    for case in cases {
        let dir = TestDir::new("broken");
        let mut body = String::new();
        if let Some(w) = case.workers {
            let p = dir.write("workers.properties", w);
            body.push_str(&format!("JkWorkersFile {}\n", p.display()));
        }
        body.push_str(case.directives);
        let t = configtest(&dir, &body);
        if t.ok {
            failures.push(format!(
                "{}: accepted, expected rejection\n{}",
                case.name, t.output
            ));
            continue;
        }
        for e in case.expect {
            if !t.output.contains(e) {
                failures.push(format!("{}: output lacks {e:?}:\n{}", case.name, t.output));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn uriworkermap_error_names_its_file_and_line() {
    let dir = TestDir::new("uwm-bad");
    let wp = dir.write("workers.properties", BASE_WORKERS);
    let uwm = dir.write("uriworkermap.properties", "/ok/*=lb\nnot-a-path=lb\n");
    let t = configtest(
        &dir,
        &format!(
            "JkWorkersFile {}\nJkMountFile {}\n",
            wp.display(),
            uwm.display()
        ),
    );
    assert!(!t.ok, "{}", t.output);
    assert!(
        t.output.contains("uriworkermap.properties:2"),
        "{}",
        t.output
    );
}

#[test]
fn warnings_are_shown_by_configtest() {
    // A value mod_jk clamps is accepted, with a warning naming the file and line.
    let dir = TestDir::new("warn");
    let wp = dir.write(
        "workers.properties",
        "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=t1\nworker.t1.port=8009\nworker.t1.lbfactor=0\n",
    );
    let t = configtest(&dir, &format!("JkWorkersFile {}\n", wp.display()));
    assert!(t.ok, "{}", t.output);
    assert!(
        t.output
            .contains("workers.properties:5: worker.t1.lbfactor"),
        "{}",
        t.output
    );
}

/// Without jk.conf (a setup that includes only jk.load, as the seed's image does): the
/// built-in defaults of JkLogFile and JkShmFile are used, as in Debian's build (`make` and
/// `make deb` compile in Debian's /var/log/apache2 paths; a plain `cargo build` ServerRoot's
/// logs/ and the ErrorLog), and the startup warnings name what is missing.
fn without_jk_conf(mpm: Mpm) {
    let h = Httpd::start("no-jk-conf", mpm, "JkMount /app/* ajp13\n");
    let err = h.error_log();
    let root = h.dir.path().display().to_string();
    let at_root = |p: &str| {
        if p.starts_with('/') {
            p.to_string()
        } else {
            format!("{root}/{p}")
        }
    };
    let shm = at_root(env!("MOD_JK_DEFAULT_SHM_FILE"));
    assert!(
        err.contains(&format!(
            "No JkShmFile defined in httpd.conf. Using default {shm}"
        )),
        "{err}"
    );
    let pid = h.pid().unwrap();
    let shm_file = std::path::PathBuf::from(format!("{shm}.{pid}"));
    assert!(shm_file.exists(), "{} missing", shm_file.display());
    let log = env!("MOD_JK_DEFAULT_LOG_FILE");
    let (log_line, jk_log) = if log.is_empty() {
        (
            "No JkLogFile defined in httpd.conf. Using httpd's ErrorLog".to_string(),
            err.clone(),
        )
    } else {
        let p = at_root(log);
        (
            format!("No JkLogFile defined in httpd.conf. Using default {p}"),
            std::fs::read_to_string(&p).unwrap_or_default(),
        )
    };
    assert!(err.contains(&log_line), "{err}");
    assert!(jk_log.contains("initialized"), "mod_jk log:\n{jk_log}");
    // One line that names everything jk.conf would have set.
    let named = err
        .lines()
        .find(|l| l.contains("httpd.conf sets no JkWorkersFile, JkLogFile, JkShmFile"))
        .unwrap_or_else(|| panic!("no line naming what is missing:\n{err}"));
    assert!(named.contains("jk.load"), "{named}");
    assert!(named.contains(&format!("JkShmFile: {shm}")), "{named}");
    // The default worker ajp13 (localhost:8009) is there: the mount maps to it.
    h.get("/app/x");
    assert!(
        h.access_log().contains("\"GET /app/x HTTP/1.0\"") && h.access_log().contains("\"ajp13\""),
        "{}",
        h.access_log()
    );
    let mut h = h;
    h.stop();
    assert!(!shm_file.exists(), "{} left behind", shm_file.display());
}

test_each_mpm!(without_jk_conf_the_defaults_are_used_and_named: without_jk_conf);
