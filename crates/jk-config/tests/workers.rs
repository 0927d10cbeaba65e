//! workers.properties end to end: the user's seed file, mod_jk's defaults, and the mistakes
//! mod_jk silently misreads, each rejected with `FILE:LINE: KEY: message`.
#![allow(clippy::unwrap_used)]

use jk_config::*;

const SEED: &str = include_str!("data/seed-workers.properties");
const FILE: &str = "workers.properties";

fn opts() -> BuildOptions {
    BuildOptions {
        default_pool_size: 25,
    }
}

fn config(text: &str) -> WorkersConfig {
    let mut map = PropertyMap::new();
    map.read_str(text, FILE).unwrap();
    build(&map, &opts()).unwrap()
}

/// The errors of reading, or else of building, as the operator sees them.
fn errors(text: &str) -> String {
    let mut map = PropertyMap::new();
    if let Err(e) = map.read_str(text, FILE) {
        return e.to_string();
    }
    match build(&map, &opts()) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn warnings(cfg: &WorkersConfig) -> Vec<String> {
    cfg.warnings.iter().map(|w| w.to_string()).collect()
}

fn ajp<'a>(cfg: &'a WorkersConfig, name: &str) -> &'a AjpWorker {
    cfg.worker(name).and_then(Worker::as_ajp).unwrap()
}

fn lb<'a>(cfg: &'a WorkersConfig, name: &str) -> &'a LbWorker {
    cfg.worker(name).and_then(Worker::as_lb).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The seed file and defaults

#[test]
fn seed_file_parses_unchanged() {
    let cfg = config(SEED);
    assert_eq!(cfg.list, ["tomcat1", "tomcat2", "loadbalancer", "jkstatus"]);
    assert_eq!(cfg.maintain_secs, 60);
    assert!(cfg.mounts.is_empty());
    assert_eq!(warnings(&cfg), Vec::<String>::new());
    let names: Vec<_> = cfg.workers.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["tomcat1", "tomcat2", "loadbalancer", "jkstatus"]);
    assert!(cfg.is_listed("jkstatus"));
    assert!(!cfg.is_listed("ajp13"));

    for (name, host) in [("tomcat1", "app"), ("tomcat2", "app2")] {
        let w = ajp(&cfg, name);
        assert_eq!(w.protocol, AjpProtocol::Ajp13);
        assert_eq!(w.host, host);
        assert_eq!(w.port, 8009);
        assert_eq!(w.connection_pool_timeout_s, 600);
        assert_eq!(w.connection_pool_size, 25);
        assert_eq!(w.connection_pool_minsize, 13);
        assert_eq!(w.connection_acquire_timeout_ms, 200);
        assert_eq!(w.lbfactor, 1);
        assert_eq!(w.route, name);
        assert_eq!(w.domain, "");
        assert_eq!(w.redirect, None);
        assert_eq!(w.distance, 0);
        assert_eq!(w.activation, Activation::Active);
        assert_eq!(w.retries, 2);
        assert_eq!(w.lb_retries, 2);
        assert_eq!(w.retry_interval_ms, 100);
        assert_eq!(w.socket_timeout_s, 0);
        assert_eq!(w.socket_connect_timeout_ms, 0);
        assert!(!w.socket_keepalive);
        assert_eq!(w.socket_buffer, 0);
        assert_eq!(w.ping_mode, PingMode::NONE);
        assert_eq!(w.ping_timeout_ms, 10_000);
        assert_eq!(w.connect_timeout_ms, 0);
        assert_eq!(w.prepost_timeout_ms, 0);
        assert_eq!(w.connection_ping_interval_s, 0);
        assert_eq!(w.reply_timeout_ms, 0);
        assert_eq!(w.recovery_options, RecoveryOptions(0));
        assert!(w.fail_on_status.is_empty());
        assert_eq!(w.busy_limit, 0);
        assert_eq!(w.max_packet_size, 8192);
        assert_eq!(w.secret, None);
        assert_eq!(w.source, None);
        assert!(!w.prefer_ipv6);
    }
    assert_eq!(
        cfg.worker("tomcat1")
            .unwrap()
            .loc
            .as_ref()
            .unwrap()
            .to_string(),
        "workers.properties:12"
    );

    let l = lb(&cfg, "loadbalancer");
    assert_eq!(l.members, ["tomcat1", "tomcat2"]);
    assert!(l.sticky_session);
    assert!(!l.sticky_session_force);
    assert_eq!(l.method, LbMethod::Request);
    assert_eq!(l.lock, LbLock::Optimistic);
    assert_eq!(l.retries, 2);
    assert_eq!(l.lb_retries, 2);
    assert_eq!(l.retry_interval_ms, 100);
    assert_eq!(l.recover_time_s, 60);
    assert_eq!(l.error_escalation_time_s, 30);
    assert_eq!(l.max_reply_timeouts, 0);
    assert_eq!(l.session_cookie, "JSESSIONID");
    assert_eq!(l.session_path, ";jsessionid");
    assert!(!l.set_session_cookie);
    assert_eq!(l.session_cookie_path, "/");
    assert_eq!(l.secret, None);
    assert_eq!(l.max_packet_size, 8192);

    let s = cfg.worker("jkstatus").and_then(Worker::as_status).unwrap();
    assert!(!s.read_only);
    assert!(s.users.is_empty());
    assert!(!s.user_case_insensitive);
    assert_eq!(s.good, ["a.o", "a.n", "a.b", "a.r"]);
    assert_eq!(s.bad, ["s", "e"]);
    assert_eq!(s.css, None);
    assert_eq!(s.prefix, "worker");
    assert_eq!(s.ns.as_deref(), Some("jk:"));
    assert_eq!(
        s.xmlns.as_deref(),
        Some("xmlns:jk=\"http://tomcat.apache.org\"")
    );
    assert_eq!(s.doctype, None);
    assert!(!s.write_requires_token);
}

#[test]
fn seed_map_keeps_order_for_dump() {
    let mut map = PropertyMap::new();
    map.set_builtin("ServerRoot", "/etc/apache2");
    map.read_str(SEED, FILE).unwrap();
    let keys: Vec<_> = map.entries().map(|(k, _, _)| k).take(4).collect();
    // Empty assignments (`workers.tomcat_home=`) are skipped, as mod_jk does.
    assert_eq!(
        keys,
        ["ServerRoot", "ps", "worker.list", "worker.tomcat1.port"]
    );
    assert_eq!(
        map.get("worker.list"),
        Some("tomcat1,tomcat2,loadbalancer,jkstatus")
    );
}

#[test]
fn seed_file_from_disk() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/seed-workers.properties");
    let mut map = PropertyMap::new();
    map.read_file(&path).unwrap();
    let cfg = build(&map, &opts()).unwrap();
    let loc = cfg.worker("loadbalancer").unwrap().loc.clone().unwrap();
    assert_eq!(loc.line, 24);
    assert!(loc.file.ends_with("seed-workers.properties"));
}

#[test]
fn debian_sample_lb_is_not_instantiated() {
    let cfg = config(
        "workers.tomcat_home=/usr/share/tomcat8\nworkers.java_home=/usr/lib/jvm/default-java\n\
         ps=/\nworker.list=ajp13_worker\nworker.ajp13_worker.port=8009\n\
         worker.ajp13_worker.host=localhost\nworker.ajp13_worker.type=ajp13\n\
         worker.ajp13_worker.lbfactor=1\nworker.loadbalancer.type=lb\n\
         worker.loadbalancer.balance_workers=ajp13_worker\n",
    );
    assert_eq!(cfg.workers.len(), 1);
    assert!(cfg.worker("loadbalancer").is_none());
}

#[test]
fn no_worker_list_means_ajp13() {
    let cfg = config("ps=/\n");
    assert_eq!(cfg.list, ["ajp13"]);
    let w = ajp(&cfg, "ajp13");
    assert_eq!((w.host.as_str(), w.port), ("localhost", 8009));
    assert_eq!(
        warnings(&cfg),
        ["worker.list: worker 'ajp13' has no properties; it is an ajp13 worker to localhost:8009 \
          (mod_jk default)"]
    );
}

#[test]
fn listed_worker_without_properties_warns() {
    let cfg = config("worker.list=a,b a\nworker.b.port=8010\n");
    assert_eq!(cfg.list, ["a", "b"]);
    assert_eq!(ajp(&cfg, "a").port, 8009);
    assert_eq!(
        warnings(&cfg),
        ["workers.properties:1: worker.list: worker 'a' has no properties; it is an ajp13 worker \
          to localhost:8009 (mod_jk default)"]
    );
}

#[test]
fn protocol_default_ports() {
    let cfg = config("worker.list=a,b\nworker.a.type=ajp14\nworker.b.type=ajp12\n");
    assert_eq!(ajp(&cfg, "a").port, 8011);
    assert_eq!(ajp(&cfg, "b").port, 8007);
    assert_eq!(cfg.worker("b").unwrap().worker_type(), WorkerType::Ajp12);
}

#[test]
fn derived_defaults() {
    let cfg = config(
        "worker.list=a,b,c\n\
         worker.a.socket_timeout=7\nworker.a.ping_mode=A\nworker.a.ping_timeout=5000\n\
         worker.a.retries=3\nworker.a.retry_interval=50\nworker.a.route=node1.east\n\
         worker.a.connection_pool_size=1\n\
         worker.b.ping_mode=I\nworker.b.socket_connect_timeout=2000\nworker.b.socket_timeout=7\n\
         worker.c.max_packet_size=10000\nworker.c.socket_buffer=100\nworker.c.port=8k\n",
    );
    let a = ajp(&cfg, "a");
    assert_eq!(a.socket_connect_timeout_ms, 7000);
    assert_eq!(a.ping_mode, PingMode::ALL);
    assert_eq!(a.connect_timeout_ms, 5000);
    assert_eq!(a.prepost_timeout_ms, 5000);
    assert_eq!(a.connection_ping_interval_s, 50);
    assert_eq!(a.connection_acquire_timeout_ms, 150);
    assert_eq!(a.domain, "node1");
    assert_eq!(a.connection_pool_minsize, 1);
    let b = ajp(&cfg, "b");
    assert_eq!(b.connect_timeout_ms, 0);
    assert_eq!(b.connection_ping_interval_s, 100);
    assert_eq!(b.socket_connect_timeout_ms, 2000);
    let c = ajp(&cfg, "c");
    assert_eq!(c.max_packet_size, 10240);
    assert_eq!(c.socket_buffer, 10240);
    assert_eq!(c.port, 8192);
    assert_eq!(
        warnings(&cfg),
        [
            "workers.properties:12: worker.c.max_packet_size: \"10000\" is changed to 10240 (a \
             multiple of 1024 within 8192-65536)",
            "workers.properties:13: worker.c.socket_buffer: \"100\" is raised to max_packet_size \
             10240",
        ]
    );
}

#[test]
fn packet_size_is_clamped() {
    let cfg =
        config("worker.list=a,b\nworker.a.max_packet_size=100k\nworker.b.max_packet_size=1\n");
    assert_eq!(ajp(&cfg, "a").max_packet_size, 65536);
    assert_eq!(ajp(&cfg, "b").max_packet_size, 8192);
}

#[test]
fn clamped_values_warn() {
    let cfg = config(
        "worker.list=l\nworker.l.type=lb\nworker.l.balance_workers=a\nworker.l.recover_time=0\n\
         worker.l.retries=0\nworker.a.lbfactor=0\nworker.a.retries=0\nworker.l.method=Rxyz\n\
         worker.a.connection_pool_minsize=99\n",
    );
    assert_eq!(ajp(&cfg, "a").lbfactor, 1);
    assert_eq!(ajp(&cfg, "a").retries, 1);
    assert_eq!(ajp(&cfg, "a").connection_pool_minsize, 25);
    assert_eq!(lb(&cfg, "l").recover_time_s, 1);
    assert_eq!(lb(&cfg, "l").error_escalation_time_s, 0);
    assert_eq!(lb(&cfg, "l").retries, 1);
    assert_eq!(
        warnings(&cfg),
        [
            "workers.properties:8: worker.l.method: \"Rxyz\" is read as 'Request' (by its first \
             letter)",
            "workers.properties:5: worker.l.retries: \"0\" is raised to 1, as mod_jk does",
            "workers.properties:4: worker.l.recover_time: \"0\" is raised to 1, as mod_jk does",
            "workers.properties:7: worker.a.retries: \"0\" is raised to 1, as mod_jk does",
            "workers.properties:9: worker.a.connection_pool_minsize: \"99\" is lowered to \
             connection_pool_size 25",
            "workers.properties:6: worker.a.lbfactor: \"0\" is raised to 1, as mod_jk does",
        ]
    );
}

#[test]
fn lb_members_secret_activation_and_redirect() {
    let cfg = config(
        "worker.list=l\nworker.l.type=lb\nworker.l.balance_workers=a,b,c\nworker.l.secret=s3\n\
         worker.a.host=h1\nworker.b.secret=own\nworker.b.activation=disabled\nworker.c.port=0\n\
         worker.a.redirect=b\nworker.b.redirect=nowhere\nworker.l.method=B\nworker.l.lock=P\n\
         worker.a.max_packet_size=16k\n",
    );
    assert_eq!(cfg.workers.len(), 4);
    assert!(!cfg.is_listed("a"));
    assert_eq!(ajp(&cfg, "a").secret.as_deref(), Some("s3"));
    assert_eq!(ajp(&cfg, "b").secret.as_deref(), Some("own"));
    assert_eq!(ajp(&cfg, "b").activation, Activation::Disabled);
    assert_eq!(ajp(&cfg, "c").activation, Activation::Stopped);
    assert_eq!(ajp(&cfg, "a").redirect.as_deref(), Some("b"));
    assert_eq!(lb(&cfg, "l").method, LbMethod::Busyness);
    assert_eq!(lb(&cfg, "l").lock, LbLock::Pessimistic);
    assert_eq!(lb(&cfg, "l").max_packet_size, 16384);
    assert_eq!(
        warnings(&cfg),
        [
            "workers.properties:8: worker.c.port: port 0 disables contact: the worker's \
             activation is Stopped",
            "workers.properties:10: worker.b.redirect: redirect 'nowhere' is not the route of \
             another member of lb 'l'",
        ]
    );
}

#[test]
fn deprecated_aliases_still_work() {
    let cfg = config(
        "worker.list=l\nworker.l.type=lb\nworker.l.balanced_workers=a\n\
         worker.l.balanced_workers=b\n\
         worker.a.cachesize=5\nworker.a.cache_timeout=9\nworker.a.jvm_route=r1\n\
         worker.a.stopped=true\nworker.b.disabled=yes\nworker.b.mx=512\n",
    );
    let a = ajp(&cfg, "a");
    assert_eq!(lb(&cfg, "l").members, ["a", "b"]);
    assert_eq!(
        (a.connection_pool_size, a.connection_pool_timeout_s),
        (5, 9)
    );
    assert_eq!(a.route, "r1");
    assert_eq!(a.activation, Activation::Stopped);
    assert_eq!(ajp(&cfg, "b").activation, Activation::Disabled);
    assert_eq!(cfg.warnings.len(), 8);
    assert!(cfg
        .warnings
        .iter()
        .all(|w| w.message.contains("deprecated")));
}

#[test]
fn mounts_of_listed_workers() {
    let mut map = PropertyMap::new();
    map.add_line(
        "worker.w.mount=/app/*",
        Location::new("/etc/apache2/mods-enabled/jk.conf", 9),
    )
    .unwrap();
    map.read_str(
        "worker.list=w,l\nworker.w.mount=/x /y\nworker.l.type=lb\n\
                  worker.l.balance_workers=m\nworker.m.mount=/ignored\n",
        FILE,
    )
    .unwrap();
    let cfg = build(&map, &opts()).unwrap();
    let m: Vec<_> = cfg
        .mounts
        .iter()
        .map(|m| (m.pattern.as_str(), m.worker.as_str()))
        .collect();
    assert_eq!(m, [("/app/*", "w"), ("/x", "w"), ("/y", "w")]);
    assert_eq!(
        cfg.mounts[0].loc.as_ref().unwrap().to_string(),
        "workers.properties:2"
    );
    assert_eq!(
        warnings(&cfg),
        [
            "workers.properties:5: worker.m.mount: worker 'm' is not in worker.list, its mount is \
          ignored"
        ]
    );
}

#[test]
fn status_worker_attributes() {
    let cfg = config(
        "worker.list=s\nworker.s.type=status\nworker.s.read_only=on\nworker.s.user=a,b\n\
         worker.s.user=c\nworker.s.ns=-\nworker.s.good=a.o\nworker.s.bad=s,e,d\n\
         worker.s.css=/s.css\nworker.s.port=1\n",
    );
    let s = cfg.worker("s").and_then(Worker::as_status).unwrap();
    assert!(s.read_only);
    assert_eq!(s.users, ["a", "b", "c"]);
    assert_eq!(s.ns, None);
    assert_eq!(s.good, ["a.o"]);
    assert_eq!(s.bad, ["s", "e", "d"]);
    assert_eq!(s.css.as_deref(), Some("/s.css"));
    assert_eq!(
        warnings(&cfg),
        ["workers.properties:10: worker.s.port: 'port' has no effect on a status worker"]
    );
}

#[test]
fn write_requires_token_is_a_status_worker_boolean() {
    let cfg = config(
        "worker.list=s,w\nworker.s.type=status\nworker.s.write_requires_token=true\n\
         worker.w.host=h\nworker.w.write_requires_token=on\n",
    );
    let s = cfg.worker("s").and_then(Worker::as_status).unwrap();
    assert!(s.write_requires_token);
    assert_eq!(
        warnings(&cfg),
        [
            "workers.properties:5: worker.w.write_requires_token: 'write_requires_token' has no \
          effect on an ajp worker"
        ]
    );
    let e = errors("worker.list=s\nworker.s.type=status\nworker.s.write_requires_token=maybe\n");
    assert!(
        e.contains("worker.s.write_requires_token") && e.contains("is not a boolean"),
        "{e}"
    );
    // A typo is pointed at the property.
    let e = errors("worker.list=s\nworker.s.type=status\nworker.s.write_require_token=1\n");
    assert!(e.contains("write_requires_token"), "{e}");
}

#[test]
fn substitution_and_free_variables() {
    let cfg = config("ps=/\nbase=app$(ps)x\nworker.list=w\nworker.w.host=$(base)\n");
    assert_eq!(ajp(&cfg, "w").host, "app/x");
}

#[test]
fn maintain_values() {
    assert_eq!(config("worker.maintain=30\n").maintain_secs, 30);
    let cfg = config("worker.maintain=-5\n");
    assert_eq!(cfg.maintain_secs, 0);
    assert!(warnings(&cfg).contains(
        &"workers.properties:1: worker.maintain: \"-5\" is read as 0 (maintenance disabled)".into()
    ));
}

#[test]
fn name_charset_warning() {
    let cfg = config("worker.list=my.worker\nworker.my.worker.port=8010\n");
    assert_eq!(ajp(&cfg, "my.worker").port, 8010);
    assert_eq!(
        warnings(&cfg),
        ["workers.properties:1: worker.list: worker name 'my.worker' has characters outside A-Z \
          a-z 0-9 _ -"]
    );
}

// ---------------------------------------------------------------------------------------------
// reference

#[test]
fn reference_chain_inherits_unset_attributes() {
    let cfg = config(
        "worker.base.port=8010\nworker.base.host=base\nworker.base.mount=/t\n\
         worker.mid.reference=worker.base\nworker.mid.host=mid\nworker.mid.lbfactor=3\n\
         worker.list=a\nworker.a.reference=worker.mid\nworker.a.lbfactor=5\n",
    );
    let a = ajp(&cfg, "a");
    assert_eq!((a.host.as_str(), a.port, a.lbfactor), ("mid", 8010, 5));
    assert!(
        cfg.worker("base").is_none(),
        "templates are not instantiated"
    );
    assert_eq!(cfg.mounts[0].pattern, "/t");
}

#[test]
fn reference_with_trailing_dot() {
    let cfg = config("worker.t.port=9\nworker.list=a\nworker.a.reference=worker.t.\n");
    assert_eq!(ajp(&cfg, "a").port, 9);
}

#[test]
fn inherited_error_points_at_template() {
    assert_eq!(
        errors("worker.t.port=80x9\nworker.list=a\nworker.a.reference=worker.t\n"),
        "workers.properties:1: worker.t.port: \"80x9\" is not a port number (0-65535) (inherited \
         by worker 'a')"
    );
}

#[test]
fn reference_loop_is_rejected() {
    assert_eq!(
        errors("worker.list=a\nworker.a.reference=worker.b\nworker.b.reference=worker.a\n"),
        "workers.properties:3: worker.b.reference: reference loop: worker.a -> worker.b -> \
         worker.a"
    );
}

#[test]
fn reference_depth_is_limited() {
    let mut text = String::from("worker.list=w0\n");
    for i in 0..21 {
        text.push_str(&format!("worker.w{i}.reference=worker.w{}\n", i + 1));
    }
    text.push_str("worker.w21.port=1\n");
    assert_eq!(
        errors(&text),
        "workers.properties:22: worker.w20.reference: references are nested more than 20 deep"
    );
    // 20 levels are fine.
    let mut ok = String::from("worker.list=w0\n");
    for i in 0..20 {
        ok.push_str(&format!("worker.w{i}.reference=worker.w{}\n", i + 1));
    }
    ok.push_str("worker.w20.port=1\n");
    assert_eq!(ajp(&config(&ok), "w0").port, 1);
}

// ---------------------------------------------------------------------------------------------
// Rejected inputs: exact operator-facing text

fn seed_with(extra: &str) -> String {
    format!("{SEED}\n{extra}\n")
}

/// Line number of the first line of `seed_with`'s extra text.
const EXTRA: usize = 29;

#[test]
fn seed_extra_line_number() {
    assert_eq!(SEED.lines().count() + 2, EXTRA);
}

#[test]
fn rejects_port_with_garbage() {
    assert_eq!(
        errors("worker.list=tomcat1\nworker.tomcat1.port=80x9\n"),
        "workers.properties:2: worker.tomcat1.port: \"80x9\" is not a port number (0-65535)"
    );
}

#[test]
fn rejects_port_out_of_range() {
    assert_eq!(
        errors(&seed_with("worker.tomcat2.port=70000")),
        format!(
            "workers.properties:{EXTRA}: worker.tomcat2.port: \"70000\" is not a port number \
             (0-65535)"
        )
    );
}

#[test]
fn rejects_lbfactor_abc() {
    assert_eq!(
        errors(&seed_with("worker.tomcat1.lbfactor=abc")),
        format!("workers.properties:{EXTRA}: worker.tomcat1.lbfactor: \"abc\" is not a number")
    );
}

#[test]
fn rejects_unknown_method() {
    assert_eq!(
        errors(&seed_with("worker.loadbalancer.method=Fastest")),
        format!(
            "workers.properties:{EXTRA}: worker.loadbalancer.method: \"Fastest\" is not a \
             balancing method (use Request, Session, Next, Traffic or Busyness)"
        )
    );
}

#[test]
fn rejects_unknown_activation() {
    assert_eq!(
        errors(&seed_with("worker.tomcat1.activation=Q")),
        format!(
            "workers.properties:{EXTRA}: worker.tomcat1.activation: \"Q\" is not an activation \
             (use Active, Disabled or Stopped)"
        )
    );
}

#[test]
fn rejects_undefined_member() {
    assert_eq!(
        errors(&seed_with("worker.loadbalancer.balance_workers=tomcat3")),
        format!(
            "workers.properties:{EXTRA}: worker.loadbalancer.balance_workers: member 'tomcat3' \
             is not defined (no worker.tomcat3.* property and not in worker.list)"
        )
    );
}

#[test]
fn rejects_line_without_equals() {
    assert_eq!(
        errors(&seed_with("worker.tomcat1.port 8009")),
        format!(
            "workers.properties:{EXTRA}: \"worker.tomcat1.port 8009\" is not a property \
             (expected name=value)"
        )
    );
}

#[test]
fn rejects_unterminated_substitution() {
    assert_eq!(
        errors(&seed_with("worker.tomcat1.host=$(HOST")),
        format!(
            "workers.properties:{EXTRA}: worker.tomcat1.host: \"$(HOST\" has an unterminated \
             \"$(\" at byte 0 (expected $(name))"
        )
    );
}

#[test]
fn rejects_unknown_attribute_with_suggestion() {
    assert_eq!(
        errors("worker.list=tomcat1\n\n\n\n\n\nworker.tomcat1.prot=8009\n"),
        "workers.properties:7: worker.tomcat1.prot: unknown attribute 'prot' (did you mean \
         'port'?)"
    );
    assert_eq!(
        errors("worker.tomcat1.frobnicate=1\n"),
        "workers.properties:1: worker.tomcat1.frobnicate: unknown attribute 'frobnicate'"
    );
}

#[test]
fn rejects_type_jni() {
    assert_eq!(
        errors(&seed_with("worker.tomcat1.type=jni")),
        format!(
            "workers.properties:{EXTRA}: worker.tomcat1.type: worker type \"jni\" does not exist \
             in mod_jk 1.2.48 (known: ajp13, ajp14, ajp12, lb, status)"
        )
    );
}

#[test]
fn rejects_long_worker_name() {
    let name = "w".repeat(61);
    assert_eq!(
        errors(&format!("worker.list={name}\nworker.{name}.port=8009\n")),
        format!(
            "workers.properties:1: worker.list: worker name '{name}' is 1 bytes too long, at \
             most 60 bytes are supported"
        )
    );
}

#[test]
fn rejects_long_host() {
    let host = "h".repeat(61);
    assert_eq!(
        errors(&format!("worker.list=a\nworker.a.host={host}\n")),
        format!(
            "workers.properties:2: worker.a.host: \"{host}\" is 61 bytes long, at most 60 bytes \
             are supported"
        )
    );
}

#[test]
fn rejects_duplicate_route() {
    assert_eq!(
        errors(&seed_with("worker.tomcat2.route=tomcat1")),
        format!(
            "workers.properties:{EXTRA}: worker.tomcat2.route: route 'tomcat1' of member \
             'tomcat2' is already the route of member 'tomcat1' in lb 'loadbalancer'"
        )
    );
}

#[test]
fn rejects_sticky_session_maybe() {
    assert_eq!(
        errors(&seed_with("worker.loadbalancer.sticky_session=maybe")),
        format!(
            "workers.properties:{EXTRA}: worker.loadbalancer.sticky_session: \"maybe\" is not a \
             boolean (use true/false, on/off, yes/no or 1/0)"
        )
    );
}

#[test]
fn rejects_ping_mode_z() {
    assert_eq!(
        errors(&seed_with("worker.tomcat1.ping_mode=Z")),
        format!(
            "workers.properties:{EXTRA}: worker.tomcat1.ping_mode: \"Z\" is not a ping mode \
             (letters C, P, I or A)"
        )
    );
}

#[test]
fn rejects_reference_to_unknown_prefix() {
    assert_eq!(
        errors(&seed_with("worker.tomcat1.reference=worker.templat")),
        format!(
            "workers.properties:{EXTRA}: worker.tomcat1.reference: reference 'worker.templat' \
             not found: no property starts with 'worker.templat.'"
        )
    );
    assert_eq!(
        errors("worker.t.port=1\nworker.list=a\nworker.a.reference=t\n"),
        "workers.properties:3: worker.a.reference: reference 't' not found: no property starts \
         with 't.' (did you mean 'worker.t'?)"
    );
}

#[test]
fn rejects_lb_member_that_is_lb_or_status() {
    assert_eq!(
        errors(&seed_with("worker.loadbalancer.balance_workers=jkstatus")),
        format!(
            "workers.properties:{EXTRA}: worker.loadbalancer.balance_workers: member 'jkstatus' \
             is a status worker; members must be ajp13 or ajp14 workers"
        )
    );
    assert_eq!(
        errors(
            "worker.list=l\nworker.l.type=lb\nworker.l.balance_workers=m\nworker.m.type=lb\n\
                worker.m.balance_workers=x\nworker.x.port=1\n"
        ),
        "workers.properties:3: worker.l.balance_workers: member 'm' is an lb worker; members \
         must be ajp13 or ajp14 workers"
    );
}

#[test]
fn rejects_lb_without_members() {
    assert_eq!(
        errors("worker.list=l\nworker.l.type=lb\n"),
        "workers.properties:2: worker.l.balance_workers: lb worker 'l' has no members (set \
         balance_workers, or discover_dns with a template)"
    );
    // Discovering its members, it needs the worker they copy.
    assert_eq!(
        errors("worker.list=l\nworker.l.type=lb\nworker.l.discover_dns=tasks.app:8009\n"),
        "workers.properties:2: worker.l.template: lb worker 'l' has no configured members: \
         name the ajp13 worker whose settings its discovered members take (template)"
    );
}

/// swarm: every member comes from DNS; they copy the template (not listed, no member).
#[test]
fn lb_without_configured_members_discovers_them_from_a_template() {
    let c = config(
        "worker.list=l\nworker.app.port=8009\nworker.app.secret=s\nworker.l.type=lb\n\
         worker.l.template=app\nworker.l.discover_dns=tasks.app:8009\n",
    );
    let lb = c.worker("l").unwrap().as_lb().unwrap();
    assert!(lb.members.is_empty());
    assert_eq!(lb.growth_members.len(), 16);
    let slot = c.worker(&lb.growth_members[0]).unwrap().as_ajp().unwrap();
    assert_eq!(slot.secret.as_deref(), Some("s"));
}

#[test]
fn rejects_negative_timeout_and_zero_pool() {
    assert_eq!(
        errors("worker.list=a\nworker.a.socket_timeout=-1\nworker.a.connection_pool_size=0\n"),
        "workers.properties:2: worker.a.socket_timeout: \"-1\" is out of range (0 or more)\n\
         workers.properties:3: worker.a.connection_pool_size: \"0\" is out of range (1 or more)"
    );
}

#[test]
fn rejects_fail_on_status_garbage() {
    assert_eq!(
        errors("worker.list=a\nworker.a.fail_on_status=500,5xx\n"),
        "workers.properties:2: worker.a.fail_on_status: \"5xx\" is not an HTTP status code \
         (100-999, or -100 to -999)"
    );
}

#[test]
fn rejects_host_with_port() {
    assert_eq!(
        errors("worker.list=a\nworker.a.host=app:8009\n"),
        "workers.properties:2: worker.a.host: \"app:8009\": a port in host is not supported, use \
         worker.a.port"
    );
    // IPv6 literals are fine.
    assert_eq!(
        ajp(&config("worker.list=a\nworker.a.host=::1\n"), "a").host,
        "::1"
    );
}

#[test]
fn rejects_unknown_type_with_hint() {
    assert_eq!(
        errors("worker.list=a\nworker.a.type=LB\n"),
        "workers.properties:2: worker.a.type: unknown worker type \"LB\" (known: ajp13, ajp14, \
         ajp12, lb, status, did you mean 'lb'?)"
    );
}

#[test]
fn all_errors_are_reported_together() {
    let e = errors(&seed_with(
        "worker.tomcat1.port=80x9\nworker.tomcat2.lbfactor=abc\nworker.loadbalancer.lock=Z",
    ));
    assert_eq!(e.lines().count(), 3, "{e}");
}

#[test]
fn jk_worker_property_location_in_errors() {
    let mut map = PropertyMap::new();
    map.add_line(
        "worker.tomcat1.port=80x9",
        Location::new("/etc/apache2/sites-enabled/000-default.conf", 12),
    )
    .unwrap();
    map.read_str(SEED, FILE).unwrap();
    // The later file value replaces the directive's (with a warning), as in mod_jk.
    assert!(build(&map, &opts()).is_ok());
    let mut map = PropertyMap::new();
    map.read_str(SEED, FILE).unwrap();
    map.add_line(
        "worker.tomcat1.lbfactor=x",
        Location::new("/etc/apache2/httpd.conf", 3),
    )
    .unwrap();
    assert_eq!(
        build(&map, &opts()).unwrap_err().to_string(),
        "/etc/apache2/httpd.conf:3: worker.tomcat1.lbfactor: \"x\" is not a number"
    );
}

// ---------------------------------------------------------------------------------------------
// Robustness: mutated seeds never panic (the fuzz target does the same with libFuzzer).

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "=",
    "#",
    "$(",
    ")",
    "$(ps)",
    ",",
    ".",
    "\n",
    "worker.",
    "0",
    "-1",
    "k",
    "M",
    "65536",
    "lb",
    "status",
    "reference=worker.tomcat1",
    "balance_workers=",
    "route=tomcat1",
    "port=",
    "activation=",
    "method=",
    "ping_mode=",
    "\u{3000}",
    "\u{fffd}",
    "99999999999999999999",
];

fn mutate(rng: &mut XorShift, seed: &str) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 if !bytes.is_empty() => {
                let end = (at + rng.below(16)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(at..at, t.bytes());
            }
            2 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] = rng.next() as u8;
            }
            _ => {
                // Duplicate a random line somewhere else.
                let lines: Vec<&str> = seed.lines().collect();
                let l = lines[rng.below(lines.len())];
                bytes.splice(at..at, format!("\n{l}\n").bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_seeds_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut accepted = 0;
    for _ in 0..4000 {
        let text = mutate(&mut rng, SEED);
        let mut map = PropertyMap::new();
        if map.read_str(&text, FILE).is_ok() {
            if let Ok(cfg) = build(
                &map,
                &BuildOptions {
                    default_pool_size: 1,
                },
            ) {
                accepted += 1;
                for w in &cfg.workers {
                    assert!(!w.name.is_empty());
                }
            }
        } else {
            let _ = build(&map, &BuildOptions::default());
        }
    }
    assert!(accepted > 100, "only {accepted} mutations accepted");
}

#[test]
fn rolling_restart_properties_have_defaults_and_are_checked() {
    use jk_config::{build, BuildOptions, PropertyMap, WorkerKind};
    let text = "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=a,b\n\
                worker.a.port=8009\nworker.b.port=8010\n\
                worker.lb.hold_timeout=30000\nworker.lb.hold_max=8\nworker.lb.replay_buffer=128k\n\
                worker.a.ready_probes=3\nworker.a.health_url=/health\nworker.a.slow_start=20\n";
    let mut m = PropertyMap::new();
    m.read_str(text, "w.properties").unwrap();
    let c = build(
        &m,
        &BuildOptions {
            default_pool_size: 4,
        },
    )
    .unwrap();
    let WorkerKind::Lb(lb) = &c.worker("lb").unwrap().kind else {
        panic!()
    };
    assert_eq!(
        (lb.hold_timeout_ms, lb.hold_max, lb.replay_buffer),
        (30_000, 8, 131_072)
    );
    assert_eq!((lb.probe_interval_ms, lb.session_window_s), (500, 60));
    let WorkerKind::Ajp(a) = &c.worker("a").unwrap().kind else {
        panic!()
    };
    assert_eq!(
        (a.ready_probes, a.health_url.as_deref(), a.slow_start_s),
        (3, Some("/health"), 20)
    );
    let WorkerKind::Ajp(b) = &c.worker("b").unwrap().kind else {
        panic!()
    };
    assert_eq!(
        (b.ready_probes, b.health_url.as_deref(), b.slow_start_s),
        (2, None, 0)
    );

    let mut m = PropertyMap::new();
    m.read_str(
        "worker.list=a\nworker.a.port=1\nworker.a.health_url=health\n",
        "w.properties",
    )
    .unwrap();
    let e = build(
        &m,
        &BuildOptions {
            default_pool_size: 4,
        },
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("w.properties:3: worker.a.health_url"),
        "{e}"
    );
    let mut m = PropertyMap::new();
    m.read_str("worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=a\nworker.a.port=1\nworker.lb.hold_timeout=soon\n", "w.properties").unwrap();
    let e = build(
        &m,
        &BuildOptions {
            default_pool_size: 4,
        },
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("w.properties:5: worker.lb.hold_timeout"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Runtime membership (mod_jk-rs): growth slots, template, discovery

#[test]
fn growth_slots_are_hidden_copies_of_the_template() {
    let cfg = config(SEED);
    let l = lb(&cfg, "loadbalancer");
    // Not in the configuration's workers or members: mod_jk's view is unchanged.
    assert_eq!(l.members, ["tomcat1", "tomcat2"]);
    assert_eq!(l.growth, DEFAULT_GROWTH);
    assert_eq!(
        l.growth_members,
        (1..=DEFAULT_GROWTH)
            .map(|n| format!("loadbalancer~{n}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        l.member_table().collect::<Vec<_>>(),
        [
            "tomcat1",
            "tomcat2",
            "loadbalancer~1",
            "loadbalancer~2",
            "loadbalancer~3",
            "loadbalancer~4"
        ]
    );
    assert_eq!(l.template, "tomcat1");
    assert_eq!(cfg.growth.len(), DEFAULT_GROWTH as usize);
    let g = ajp(&cfg, "loadbalancer~2");
    let t = ajp(&cfg, "tomcat1");
    assert_eq!(g.port, 0, "contact disabled until a member is added");
    assert_eq!(g.activation, Activation::Stopped);
    assert_eq!(g.route, "loadbalancer~2", "a route no session carries");
    assert_eq!(g.growth_of.as_deref(), Some("loadbalancer"));
    assert_eq!(g.socket_connect_timeout_ms, t.socket_connect_timeout_ms);
    assert_eq!(g.ping_mode, t.ping_mode);
    assert_eq!(g.connection_pool_size, t.connection_pool_size);
    assert!(t.growth_of.is_none());
    assert_eq!(cfg.all_workers().count(), 4 + DEFAULT_GROWTH as usize);
    assert_eq!(warnings(&cfg), Vec::<String>::new());
}

#[test]
fn growth_template_and_limits() {
    let cfg = config(&seed_with(
        "worker.tpl.port=9009\nworker.tpl.reply_timeout=1234\nworker.loadbalancer.growth=2\n\
         worker.loadbalancer.template=tpl\nworker.loadbalancer.drain_timeout=30\n\
         worker.loadbalancer.drain_idle=3",
    ));
    let l = lb(&cfg, "loadbalancer");
    assert_eq!(l.growth_members, ["loadbalancer~1", "loadbalancer~2"]);
    assert_eq!(ajp(&cfg, "loadbalancer~1").reply_timeout_ms, 1234);
    assert_eq!((l.drain_timeout_s, l.drain_idle_s), (30, 3));
    let none = config(&seed_with("worker.loadbalancer.growth=0"));
    assert!(none.growth.is_empty());
    assert!(lb(&none, "loadbalancer").growth_members.is_empty());

    assert_eq!(
        errors(&seed_with("worker.loadbalancer.growth=257")),
        format!("{FILE}:{EXTRA}: worker.loadbalancer.growth: \"257\" is more than {MAX_GROWTH}")
    );
    assert_eq!(
        errors(&seed_with("worker.loadbalancer.template=nothere")),
        format!(
            "{FILE}:{EXTRA}: worker.loadbalancer.template: template 'nothere' is not defined \
             (no worker.nothere.* property)"
        )
    );
    assert_eq!(
        errors(&seed_with("worker.loadbalancer.template=jkstatus")),
        format!(
            "{FILE}:{EXTRA}: worker.loadbalancer.template: template 'jkstatus' is not an \
             ajp13 worker; added members copy an ajp13 worker's settings"
        )
    );
}

#[test]
fn dns_discovery_properties() {
    let cfg = config(&seed_with(
        "worker.loadbalancer.discover_dns=tasks.app:8009\nworker.loadbalancer.discover_interval=2",
    ));
    let l = lb(&cfg, "loadbalancer");
    assert_eq!(
        l.discover_dns,
        Some(DnsDiscovery {
            name: "tasks.app".into(),
            port: 8009
        })
    );
    assert_eq!(l.growth, DEFAULT_DNS_GROWTH, "more room by default");
    assert_eq!((l.discover_interval_s, l.discover_hold_s), (2, 30));
    for bad in [
        "tasks.app",
        "tasks.app:0",
        ":8009",
        "tasks app:80",
        "x:99999",
    ] {
        assert_eq!(
            errors(&seed_with(&format!(
                "worker.loadbalancer.discover_dns={bad}"
            ))),
            format!(
                "{FILE}:{EXTRA}: worker.loadbalancer.discover_dns: \"{bad}\" is not NAME:PORT \
                 (a host name and a port 1..65535)"
            ),
            "{bad}"
        );
    }
    assert!(errors(&seed_with(
        "worker.loadbalancer.discover_dns=a:1\nworker.loadbalancer.growth=0"
    ))
    .contains("growth must not be 0"));
}

#[test]
fn zookeeper_discovery_properties() {
    let cfg = config(&seed_with(
        "worker.loadbalancer.discovery=zk://zk1:2181,zk2:2182/services/app\n\
         worker.loadbalancer.discover_session_timeout=6\n\
         worker.loadbalancer.discover_auth=gw:secret",
    ));
    let l = lb(&cfg, "loadbalancer");
    assert_eq!(
        l.discovery_zk,
        Some(ZkDiscovery {
            servers: vec![("zk1".into(), 2181), ("zk2".into(), 2182)],
            path: "/services/app".into(),
            session_timeout_ms: 6000,
            auth: Some("gw:secret".into()),
        })
    );
    assert_eq!(
        l.discovery_zk.as_ref().unwrap().connect_string(),
        "zk1:2181,zk2:2182"
    );
    assert_eq!(l.growth, DEFAULT_DNS_GROWTH, "more room by default");
    let cfg = config(&seed_with(
        "worker.loadbalancer.discovery=zk://127.0.1.1:2181/a",
    ));
    assert_eq!(
        lb(&cfg, "loadbalancer")
            .discovery_zk
            .as_ref()
            .map(|z| (z.session_timeout_ms, z.auth.clone())),
        Some((10_000, None)),
        "defaults: 10 s, no credentials"
    );
    assert_eq!(
        errors(&seed_with("worker.loadbalancer.discovery=zk://zk1:2181")),
        format!(
            "{FILE}:{EXTRA}: worker.loadbalancer.discovery: \"zk://zk1:2181\" is not \
             zk://HOST:PORT[,HOST:PORT...]/PATH: the path is missing"
        )
    );
    assert_eq!(
        errors(&seed_with("worker.loadbalancer.discover_auth=nopassword")),
        format!(
            "{FILE}:{EXTRA}: worker.loadbalancer.discover_auth: is not USER:PASSWORD \
             (ZooKeeper digest credentials)"
        )
    );
    assert!(errors(&seed_with(
        "worker.loadbalancer.discovery=zk://a:1/x\nworker.loadbalancer.discover_dns=a:1"
    ))
    .contains("both set"));
    assert!(errors(&seed_with(
        "worker.loadbalancer.discovery=zk://a:1/x\nworker.loadbalancer.growth=0"
    ))
    .contains("growth must not be 0"));
}
