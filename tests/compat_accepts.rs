#![allow(clippy::unwrap_used)]
//! Configurations that Debian's mod_jk 1.2.48 accepts (it starts with them) are accepted by
//! ours too: each case is started with the original module first (proving the case is
//! valid for mod_jk), then with ours.

mod support;

use support::*;

struct Case {
    name: &'static str,
    workers: &'static str,
    uriworkermap: Option<&'static str>,
    directives: &'static str,
}

const RICH_WORKERS: &str = r#"# every kind of worker and most attributes, with valid values
workers.tomcat_home=/usr/share/tomcat10
workers.java_home=/usr/lib/jvm/default-java
ps=/
base_port=8009
worker.list=lb, status1
worker.list=plain
worker.maintain=30
worker.template.type=ajp13
worker.template.host=127.0.0.1
worker.template.socket_keepalive=true
worker.template.socket_timeout=10
worker.template.socket_connect_timeout=2000
worker.template.connection_pool_timeout=600
worker.template.connection_pool_minsize=0
worker.template.ping_mode=A
worker.template.ping_timeout=5000
worker.template.reply_timeout=30000
worker.template.retries=3
worker.template.retry_interval=200
worker.template.recovery_options=7
worker.template.max_packet_size=16k
worker.template.fail_on_status=500,-404
worker.m1.reference=worker.template
worker.m1.port=$(base_port)
worker.m1.route=node1
worker.m1.lbfactor=2
worker.m1.distance=0
worker.m2.reference=worker.template
worker.m2.port=8010
worker.m2.jvm_route=node2.dom
worker.m2.activation=disabled
worker.m2.redirect=node1
worker.m3.reference=worker.template
worker.m3.port=8011
worker.m3.activation=S
worker.m3.cachesize=4
worker.lb.type=lb
worker.lb.balance_workers=m1,m2
worker.lb.balance_workers=m3
worker.lb.method=B
worker.lb.lock=P
worker.lb.sticky_session=1
worker.lb.sticky_session_force=False
worker.lb.recover_time=30
worker.lb.error_escalation_time=10
worker.lb.max_reply_timeouts=2
worker.lb.session_cookie=SESSION
worker.lb.session_path=;session
worker.lb.set_session_cookie=yes
worker.lb.retries=3
worker.lb.secret=s3cret
worker.plain.host=localhost
worker.plain.port=8009
worker.plain.mount=/plain/*
worker.status1.type=status
worker.status1.read_only=True
worker.status1.user=admin,ops
worker.status1.user_case_insensitive=on
worker.status1.good=a.o,a.n
worker.status1.bad=s,e
worker.status1.prefix=jk
worker.status1.ns=-
worker.status1.css=/jk.css
"#;

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "seed",
            workers: include_str!("fixtures/seed/workers.properties"),
            uriworkermap: None,
            directives: "Include tests/fixtures/seed/000-default.conf\n",
        },
        Case {
            name: "rich",
            workers: RICH_WORKERS,
            uriworkermap: Some("/app/*=lb;reply_timeout=5000;stopped=m3\n-/old/*=lb\n!/app/static/*=*\n/x|/*=plain\n"),
            directives: "JkMount /lb/* lb;sticky_ignore=1\nJkUnMount /lb/img/* lb\nJkMount /st status1\n\
                         JkMountCopy All\nJkOptions +ForwardURICompatUnparsed -ForwardKeySize +FlushPackets +RejectUnsafeURI\n\
                         JkEnvVar SSL_CLIENT_S_DN\nJkEnvVar MY_VAR default\nJkStripSession On ;sid\n\
                         JkLogLevel debug\nJkLogStampFormat \"[%Y-%m-%d %H:%M:%S.%q] \"\n\
                         JkRequestLogFormat \"%w %V %T %s %U%q\"\nJkWatchdogInterval 5\n\
                         JkRemoteAddrIndicator X_ADDR\nJkExtractSSL Off\nJkMountFileReload 0\n\
                         <VirtualHost 127.0.0.1:*>\n  ServerName v1.test\n  JkMount /v1/* plain\n  JkMountCopy Off\n</VirtualHost>\n\
                         <Location /manager>\n  JkMount status1\n</Location>\n",
        },
        Case {
            name: "worker properties only",
            workers: "",
            uriworkermap: None,
            directives: "JkWorkerProperty worker.list=w\nJkWorkerProperty worker.w.host=127.0.0.1\n\
                         JkWorkerProperty worker.w.port=8009\nJkMount /w/* w\n",
        },
    ]
}

#[test]
fn configurations_debian_mod_jk_accepts_start_with_ours() {
    let debian = debian_mod_jk();
    let mut failures = Vec::new();
    for case in cases() {
        for (which, so) in [("Debian's mod_jk", debian.clone()), ("ours", module_so())] {
            let dir = TestDir::new("compat");
            let mut body = String::new();
            if !case.workers.is_empty() {
                let wp = dir.write("workers.properties", case.workers);
                body.push_str(&format!("JkWorkersFile {}\n", wp.display()));
            }
            if let Some(u) = case.uriworkermap {
                let p = dir.write("uriworkermap.properties", u);
                body.push_str(&format!("JkMountFile {}\n", p.display()));
            }
            body.push_str(&format!(
                "JkLogFile logs/mod_jk.log\nJkShmFile logs/jk-runtime-status\n{}",
                case.directives.replace(
                    "Include tests/",
                    &format!("Include {}/tests/", repo().display())
                )
            ));
            match Httpd::try_start_with(dir, Mpm::Event, &body, &so) {
                Ok(h) => {
                    // Both answer a plain request.
                    h.dir.write("htdocs/ok.txt", "ok");
                    let r = h.get("/ok.txt");
                    if r.status != 200 {
                        failures.push(format!(
                            "{}: {which}: GET /ok.txt -> {}",
                            case.name, r.status
                        ));
                    }
                }
                Err(e) => failures.push(format!("{}: {which} did not start:\n{e}", case.name)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}
