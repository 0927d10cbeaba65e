#![allow(clippy::unwrap_used)]
//! `jkctl` against a real httpd with our module: `--output json`, `status --watch`, the
//! generated completions and man page, and errors that say what to do (a URL that is no
//! status worker, a read-only status worker, a misspelt member). Backends: two AJP test
//! servers on 127.0.3.8 and 127.0.3.9 (free ports).

mod support;

use std::process::Command;

use support::testers::jkctl;
use support::*;

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn run(url: Option<&str>, args: &[&str]) -> Run {
    let mut c = Command::new(jkctl());
    c.env_remove("JKCTL_URL")
        .env_remove("JKCTL_USER")
        .env_remove("JKCTL_PASSWORD");
    if let Some(u) = url {
        c.args(["--url", u]);
    }
    let o = c.args(args).output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn jkctl_fits_habits_against_a_real_status_worker() {
    let t1 = member_server("tomcat1", "127.0.3.8:0");
    let t2 = member_server("tomcat2", "127.0.3.9:0");
    let workers = format!(
        "worker.list=lb,jkstatus,jkro\n\
         worker.lb.type=lb\nworker.lb.balance_workers=tomcat1,tomcat2\n\
         worker.tomcat1.host=127.0.3.8\nworker.tomcat1.port={}\n\
         worker.tomcat2.host=127.0.3.9\nworker.tomcat2.port={}\n\
         worker.jkstatus.type=status\n\
         worker.jkro.type=status\nworker.jkro.read_only=true\n",
        t1.port(),
        t2.port()
    );
    let h = Httpd::with_workers(
        "jkctl-habits",
        Mpm::Event,
        &workers,
        "JkShmFile logs/jk-shm\nJkMount /app/* lb\nJkMount /jkmanager/* jkstatus\n\
         JkMount /jkro/* jkro\n",
    );
    let base = format!("http://127.0.0.1:{}", h.port);
    let url = format!("{base}/jkmanager/");
    let url = Some(url.as_str());
    for _ in 0..4 {
        h.get("/app/x");
    }

    // --output json: one document with every member.
    let r = run(url, &["--output", "json", "status"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    let members = v["balancers"][0]["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{v}");
    assert_eq!(members[0]["name"], "tomcat1");
    assert_eq!(members[0]["activation"], "ACT");
    let elected: u64 = members.iter().map(|m| m["elected"].as_u64().unwrap()).sum();
    assert_eq!(elected, 4, "{v}");

    // status --watch: a refreshing table (no screen clearing into a pipe); with -o json one
    // document per line.
    let r = run(url, &["status", "--watch", "0.2", "--count", "3"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.out.matches("every 0.2 s").count(), 3, "{}", r.out);
    assert_eq!(r.out.matches("tomcat2").count(), 3, "{}", r.out);
    assert!(!r.out.contains('\x1b'), "no terminal, no clearing");
    let r = run(
        url,
        &["-o", "json", "status", "--watch", "0.2", "--count", "2"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.out);
    for l in lines {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }

    // drain's check as JSON (exit 0: idle).
    let r = run(url, &["-o", "json", "drain", "tomcat1", "--quiet", "0"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(
        (&v["member"], &v["idle"]),
        (&"tomcat1".into(), &true.into())
    );

    // Errors that say what to do.
    let r = run(url, &["disable", "tomact1"]);
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.err.contains("did you mean tomcat1?"), "{}", r.err);
    let r = run(Some(&format!("{base}/nothing/")), &["status"]);
    assert_eq!(r.code, 3, "{}", r.err);
    assert!(
        r.err.contains("HTTP 404: no status worker there"),
        "{}",
        r.err
    );
    let r = run(Some(&format!("{base}/app/")), &["status"]);
    assert_eq!(r.code, 3, "{}", r.err);
    assert!(
        r.err.contains("not the status worker's JSON") && r.err.contains("JkMount"),
        "{}",
        r.err
    );
    let r = run(Some(&format!("{base}/jkro/")), &["disable", "tomcat1"]);
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(
        r.err.contains("the status worker is read-only"),
        "{}",
        r.err
    );
    let r = run(url, &["-o", "json", "status"]);
    assert!(r.out.contains("\"activation\":\"ACT\""), "nothing changed");

    // Generated from the definitions, no URL needed.
    let r = run(None, &["completions", "bash"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("_jkctl()") && r.out.contains("--watch"),
        "{}",
        r.out
    );
    let r = run(None, &["man"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains(".TH jkctl 1") && r.out.contains("JKCTL STATUS"));
}
