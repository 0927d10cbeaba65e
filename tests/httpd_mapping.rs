#![allow(clippy::unwrap_used)]
//! URI mapping inside the real httpd: which requests mod_jk takes (the JK_WORKER_NAME note,
//! logged by the test's access log) and which it leaves to httpd.

mod support;

use support::*;

const WORKERS: &str = "worker.list=tomcat1,tomcat2,loadbalancer,jkstatus\n\
worker.tomcat1.host=127.0.0.2\nworker.tomcat1.port=8009\n\
worker.tomcat2.host=127.0.0.3\nworker.tomcat2.port=8009\n\
worker.loadbalancer.type=lb\nworker.loadbalancer.balance_workers=tomcat1,tomcat2\n\
worker.jkstatus.type=status\n";

/// The worker the access log recorded for the last request of `path` ("-" if none).
fn worker_for(h: &Httpd, method: &str, path: &str) -> String {
    let line = format!("\"{method} {path} HTTP/1.0\"");
    let log = h.access_log();
    let l = log
        .lines()
        .rev()
        .find(|l| l.contains(&line))
        .unwrap_or_else(|| panic!("{path} not logged:\n{log}"));
    // ... "<worker>" "<type>"
    let parts: Vec<&str> = l.rsplitn(5, '"').collect();
    parts[3].to_string()
}

fn start(tag: &str, mpm: Mpm, directives: &str) -> Httpd {
    let dir = TestDir::new(tag);
    dir.write("htdocs/static.html", "static\n");
    std::fs::create_dir_all(dir.path().join("webapps/shop/WEB-INF")).unwrap();
    dir.write("webapps/shop/index.html", "shop page\n");
    let body = jk_body(&dir, WORKERS, directives);
    Httpd::try_start(dir, mpm, &body).unwrap_or_else(|e| panic!("{e}"))
}

fn get_worker(h: &Httpd, path: &str) -> (u16, String) {
    let r = h.get(path);
    // The access log is written after the response; give it a moment.
    std::thread::sleep(std::time::Duration::from_millis(30));
    (r.status, worker_for(h, "GET", path))
}

fn mapping_rules(mpm: Mpm) {
    let uwm_body = "/file/*=tomcat2\n-/disabled/*=tomcat2\n/ex/*=tomcat1\n!/ex/static/*=tomcat1\n";
    let h = {
        let dir = TestDir::new("map");
        let uwm = dir.write("uriworkermap.properties", uwm_body);
        dir.write("htdocs/static.html", "static\n");
        std::fs::create_dir_all(dir.path().join("htdocs/ex/static")).unwrap();
        dir.write("htdocs/ex/static/s.css", "css\n");
        let directives = format!(
            "JkMountFile {}\n\
             JkMount /app loadbalancer\nJkMount /app/* loadbalancer\n\
             JkUnMount /app/images/* loadbalancer\n\
             JkMount /*.jsp tomcat2\n\
             JkMount /other|/* tomcat1\n\
             <Location /jkmanager>\n  JkMount jkstatus\n</Location>\n\
             SetEnvIf Request_URI \"\\.gif$\" no-jk\n\
             <Location /manual>\n  SetHandler jakarta-servlet\n  SetEnv JK_WORKER_NAME tomcat2\n</Location>\n\
             <Location /ghost>\n  SetHandler jakarta-servlet\n  SetEnv JK_WORKER_NAME nosuchworker\n</Location>\n\
             <Location /nothing>\n  SetHandler jakarta-servlet\n</Location>\n",
            uwm.display()
        );
        let body = jk_body(&dir, WORKERS, &directives);
        Httpd::try_start(dir, mpm, &body).unwrap_or_else(|e| panic!("{e}"))
    };
    let cases: &[(&str, &str)] = &[
        ("/app", "loadbalancer"),
        ("/app/", "loadbalancer"),
        ("/app/a/b/c", "loadbalancer"),
        ("/app;jsessionid=ABC.tomcat1/x", "loadbalancer"),
        ("/app//x", "loadbalancer"),
        ("/app/images/logo.png", "-"),
        ("/x/page.jsp", "tomcat2"),
        ("/other", "tomcat1"),
        ("/other/y", "tomcat1"),
        ("/otherwise", "-"),
        ("/jkmanager", "jkstatus"),
        ("/jkmanager/x", "-"),
        ("/static.html", "-"),
        ("/app/pic.gif", "-"),
        ("/file/a", "tomcat2"),
        ("/disabled/a", "-"),
        ("/ex/a", "tomcat1"),
        ("/ex/static/s.css", "-"),
        ("/manual/anything", "tomcat2"),
    ];
    for (path, want) in cases {
        let (_, got) = get_worker(&h, path);
        assert_eq!(&got, want, "{mpm:?}: {path}\n{}", h.error_log());
    }
    // Unmapped requests are served by httpd itself.
    assert_eq!(h.get("/static.html").status, 200);
    assert_eq!(h.get("/ex/static/s.css").status, 200);
    // SetHandler without any worker: not ours (Debian's CVE-2023-41081 behaviour) => 404.
    assert_eq!(h.get("/nothing").status, 404);
    // A worker name that does not exist: 500 and mod_jk's log line.
    assert_eq!(h.get("/ghost").status, 500);
    let jklog = h.dir.read("logs/mod_jk.log");
    assert!(
        jklog.contains("Could not find a worker for worker name=nosuchworker"),
        "{jklog}"
    );
    // `..` above the root is a bad request.
    assert_eq!(h.get("/app/../../etc/passwd").status, 400);
    assert!(!h.error_log().contains("panic"), "{}", h.error_log());
}

test_each_mpm!(mapping_rules_apply: mapping_rules);

#[test]
fn vhosts_need_jkmountcopy() {
    let h = start(
        "vhost",
        Mpm::Event,
        "JkMount /main/* tomcat1\n\
         <VirtualHost 127.0.0.1:*>\n  ServerName plain.test\n  JkMount /own/* tomcat2\n</VirtualHost>\n\
         <VirtualHost 127.0.0.1:*>\n  ServerName copy.test\n  JkMountCopy On\n  JkMount /own/* tomcat2\n</VirtualHost>\n",
    );
    let req = |host: &str, path: &str| {
        h.request("GET", path, &[("Host", host)]);
        std::thread::sleep(std::time::Duration::from_millis(30));
        worker_for(&h, "GET", path)
    };
    assert_eq!(req("plain.test", "/main/a"), "-");
    assert_eq!(req("plain.test", "/own/a"), "tomcat2");
    assert_eq!(req("copy.test", "/main/b"), "tomcat1");
    assert_eq!(req("copy.test", "/own/b"), "tomcat2");
}

#[test]
fn auto_alias_serves_static_context_files() {
    let h = start(
        "alias",
        Mpm::Event,
        "JkAutoAlias webapps\nJkMount /shop/*.jsp tomcat1\n",
    );
    let r = h.get("/shop/index.html");
    assert_eq!(r.status, 200, "{}", h.error_log());
    assert_eq!(r.text(), "shop page\n");
    assert_eq!(h.get("/shop/WEB-INF/web.xml").status, 404);
    assert_eq!(h.get("/shop.war/x").status, 403);
    let (_, w) = get_worker(&h, "/shop/a.jsp");
    assert_eq!(w, "tomcat1");
}

#[test]
fn strip_session_on_unmapped_requests() {
    let h = start("strip", Mpm::Event, "JkStripSession On\n");
    let r = h.get("/static.html;jsessionid=ABC123");
    assert_eq!(r.status, 200, "{}", h.error_log());
    assert_eq!(r.text(), "static\n");
}

#[test]
fn mount_file_reload_picks_up_changes() {
    let dir = TestDir::new("reload");
    let wp = dir.write("workers.properties", WORKERS);
    let uwm = dir.write("uriworkermap.properties", "/one/*=tomcat1\n");
    let body = format!(
        "JkWorkersFile {}\nJkMountFile {}\nJkMountFileReload 1\n",
        wp.display(),
        uwm.display()
    );
    let h = Httpd::try_start(dir, Mpm::Prefork, &body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(get_worker(&h, "/one/a").1, "tomcat1");
    assert_eq!(get_worker(&h, "/two/a").1, "-");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&uwm, "/two/*=tomcat2\n").unwrap();
    // Make the mtime change visible even on coarse-grained file systems.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
    std::fs::File::options()
        .write(true)
        .open(&uwm)
        .unwrap()
        .set_modified(later)
        .unwrap();
    wait_for("reloaded mount file", 15, || {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        get_worker(&h, "/two/b").1 == "tomcat2"
    });
    assert_eq!(get_worker(&h, "/one/c").1, "-");
}

#[test]
fn a_panic_in_the_handler_is_a_500_and_the_child_survives() {
    // The debug build's fault injection (JK_TEST_FAULT=panic) panics inside the handler.
    let h = start(
        "panic",
        Mpm::Prefork,
        "JkMount /boom/* tomcat1\n<Location /boom>\n  SetEnv JK_TEST_FAULT panic\n</Location>\n",
    );
    let before = h.error_log();
    let r = h.get("/boom/x");
    assert_eq!(r.status, 500, "{}", h.error_log());
    let log = h.error_log();
    assert!(log.contains("internal error (panic) in handler"), "{log}");
    assert!(
        !log[before.len()..].contains("exit signal"),
        "a child died:\n{log}"
    );
    // The same children keep serving.
    for _ in 0..5 {
        assert_eq!(h.get("/static.html").status, 200);
    }
}
