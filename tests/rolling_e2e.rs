#![allow(clippy::unwrap_used)]
//! Acceptance of rolling restarts with real Tomcat 10 (two instances with session
//! persistence, started by scripts/tomcat.sh, which `jkctl roll --cmd` calls to restart them),
//! httpd with the seed's configuration plus only the new properties, and 20 simulated testers
//! (each logs in once, then clicks every 50 ms with its own cookie and checks the page still
//! knows who it is). Prints failed requests, re-logins and the longest stall, for ours and, in
//! the same scenarios, for Debian's mod_jk.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::testers::*;
use support::tomcat::script;
use support::*;

fn httpd(tag: &str, so: &Path, extra_props: &str) -> Httpd {
    rolling_httpd(tag, so, extra_props)
}

/// Restarts both Tomcats one after the other (stop, start; no jkctl) while the testers click
/// through httpd with the module `so` and `extra_props`.
fn plain_restarts(
    tomcats: &mut Tomcats,
    tag: &str,
    so: &Path,
    extra_props: &str,
) -> (Figures, Vec<Restart>) {
    let _h = httpd(tag, so, extra_props);
    let mut restarts = Vec::new();
    let f = with_testers(|| {
        for m in ["tomcat1", "tomcat2"] {
            let t0 = unix_ms();
            tomcats.restart(m);
            restarts.push((m.to_string(), t0, unix_ms()));
            std::thread::sleep(Duration::from_secs(2));
        }
    });
    (f, restarts)
}

#[test]
fn rolling_restarts_no_tester_notices() {
    let mut tomcats = Tomcats::start();
    let mut results = Vec::new();

    // (a) jkctl roll restarting both Tomcats.
    {
        let h = httpd("roll-a", &module_so(), ROLLING);
        let before = [tomcats.pid("tomcat1"), tomcats.pid("tomcat2")];
        let cmd = format!(
            "{} restart {}/{{member}}",
            script().display(),
            tomcats.dir.path().display()
        );
        assert_eq!(
            cmd.replace("{member}", "tomcat1"),
            tomcats.get("tomcat1").restart_command()
        );
        // The same command, timed: each restart's start and end go to a file.
        let times = h.dir.path().join("restarts.txt");
        let cmd = format!(
            "t0=$(date +%s%3N); {cmd}; rc=$?; echo \"{{member}} $t0 $(date +%s%3N)\" >> {}; exit $rc",
            times.display()
        );
        let f = with_testers(|| {
            let out = Command::new(jkctl())
                .args([
                    "--url",
                    "http://127.0.0.1:80/jkmanager/",
                    "roll",
                    "--balancer",
                    "loadbalancer",
                    "--cmd",
                    &cmd,
                ])
                .output()
                .unwrap();
            println!("{}", String::from_utf8_lossy(&out.stdout));
            assert!(
                out.status.success(),
                "jkctl roll failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                h.dir.read("logs/mod_jk.log")
            );
        });
        report("ours (a) jkctl roll", &f);
        let restarts: Vec<Restart> = std::fs::read_to_string(&times)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((
                    w.next()?.to_string(),
                    w.next()?.parse().ok()?,
                    w.next()?.parse().ok()?,
                ))
            })
            .collect();
        assert_eq!(restarts.len(), 2, "both restarts timed: {restarts:?}");
        stalls_by_restart("ours (a)", &f, &restarts);
        // The roll really restarted both Tomcats (new processes), one at a time.
        let after = [tomcats.pid("tomcat1"), tomcats.pid("tomcat2")];
        assert!(
            before[0] != after[0] && before[1] != after[1],
            "jkctl roll did not restart both Tomcats: pids {before:?} -> {after:?}"
        );
        results.push(("ours (a)", f));
    }
    // (b) plain restarts (stop, start; no jkctl) with hold_timeout set.
    let (f, restarts) = plain_restarts(&mut tomcats, "roll-b", &module_so(), ROLLING);
    report("ours (b) plain restarts", &f);
    stalls_by_restart("ours (b)", &f, &restarts);
    results.push(("ours (b)", f));
    // The same with Debian's mod_jk: (a) the closest it has (disable, wait, restart,
    // activate through jkstatus), and (b) plain restarts.
    {
        let h = httpd("roll-mj-a", &debian_mod_jk(), "");
        let f = with_testers(|| {
            for m in ["tomcat1", "tomcat2"] {
                h.get(&format!(
                    "/jkmanager/?cmd=update&w=loadbalancer&sw={m}&vwa=D"
                ));
                std::thread::sleep(Duration::from_secs(2));
                tomcats.restart(m);
                h.get(&format!(
                    "/jkmanager/?cmd=update&w=loadbalancer&sw={m}&vwa=A"
                ));
                std::thread::sleep(Duration::from_secs(2));
            }
        });
        report("Debian mod_jk (a) disable+restart", &f);
        results.push(("mod_jk (a)", f));
    }
    let (f, restarts) = plain_restarts(&mut tomcats, "roll-mj-b", &debian_mod_jk(), "");
    report("Debian mod_jk (b) plain restarts", &f);
    stalls_by_restart("Debian mod_jk (b)", &f, &restarts);
    results.push(("mod_jk (b)", f));
    // (c) kill -9 of one Tomcat that is not restarted: its testers are moved after
    // hold_timeout (one re-login each), nobody sees an error.
    {
        let h = httpd(
            "roll-c",
            &module_so(),
            "worker.loadbalancer.hold_timeout=3000\nworker.loadbalancer.probe_interval=200\n",
        );
        let f = with_testers(|| {
            tomcats.get("tomcat1").kill();
            std::thread::sleep(Duration::from_secs(6));
        });
        report("ours (c) kill -9 tomcat1", &f);
        println!("(c) re-logins by node: {:?}", f.relogins_by_node);
        assert_eq!(f.failed, 0, "{}", h.dir.read("logs/mod_jk.log"));
        assert_eq!(
            f.relogins_by_node.get("tomcat2").copied().unwrap_or(0),
            0,
            "{:?}",
            f.relogins_by_node
        );
        assert!(
            f.relogins <= TESTERS,
            "at most one re-login per tester: {:?}",
            f.relogins_by_node
        );
        // The dead member's requests were held (hold_timeout=3000) before they moved, which
        // plain mod_jk failover would not do.
        assert!(
            f.longest_stall >= Duration::from_millis(2500),
            "no request was held for the dead member: longest stall {} ms",
            f.longest_stall.as_millis()
        );
        results.push(("ours (c)", f));
    }
    println!(
        "\n| scenario | requests | failed | re-logins | longest stall |\n|---|---|---|---|---|"
    );
    for (n, f) in &results {
        println!(
            "| {n} | {} | {} | {} | {} ms |",
            f.requests,
            f.failed,
            f.relogins,
            f.longest_stall.as_millis()
        );
    }
    for (n, f) in results
        .iter()
        .filter(|(n, _)| n.starts_with("ours (a)") || n.starts_with("ours (b)"))
    {
        assert_eq!((f.failed, f.relogins), (0, 0), "{n}: {f:?}");
    }
}
