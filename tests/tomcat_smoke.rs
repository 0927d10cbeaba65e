#![allow(clippy::unwrap_used)]
//! The Tomcat test backends themselves (scripts/tomcat.sh through tests/support/tomcat.rs):
//! two real Tomcat 10 instances sharing AJP port 8009 on distinct loopback addresses (as the
//! seed config's app/app2 do), the test application over their HTTP connectors, AJP
//! CPing/CPong, a clean stop by pid, and both kinds of session persistence.

mod support;

use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::tomcat::{
    ajp_cping, byte_sum, crc32, echo_headers, field, pattern, pid_alive, require_tomcat, Sessions,
    Tomcat, TomcatOptions, STATIC_TXT,
};
use support::{free_port_on, port_is_free, wait_for, TestDir};

#[test]
fn two_tomcats_start_serve_and_stop() {
    // Fails (does not skip) without Tomcat: the message says `apt-get install tomcat10`.
    require_tomcat().unwrap_or_else(|e| panic!("{e}"));

    // Start both at once: on 2 cores that is what later end-to-end tests will do.
    let t0 = Instant::now();
    let h1 =
        std::thread::spawn(|| Tomcat::start(TomcatOptions::new("127.0.0.2", 8009).tag("smoke1")));
    let h2 = std::thread::spawn(|| {
        Tomcat::start(
            TomcatOptions::new("127.0.0.3", 8009)
                .tag("smoke2")
                .secret("s3cret")
                .jvm_route("tomcat2"),
        )
    });
    let t1 = h1.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
    let t2 = h2.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "tomcat startup: 127.0.0.2 {:?}, 127.0.0.3 {:?} (both in parallel: {:?})",
        t1.startup_time(),
        t2.startup_time(),
        t0.elapsed()
    );

    for t in [&t1, &t2] {
        let ctx = t.logs();
        assert_eq!(t.ajp_port(), 8009);

        // Static file (DefaultServlet).
        let r = t.get("/static.txt");
        assert_eq!(r.status, 200, "{ctx}");
        assert_eq!(r.text(), STATIC_TXT);

        // session.jsp: first hit compiles it (time it), new session, count=1.
        let c = Instant::now();
        let r = t.get("/session.jsp?login=alice");
        eprintln!("{}: session.jsp first hit {:?}", t.ajp_addr(), c.elapsed());
        assert_eq!(r.status, 200, "{}\n{ctx}", r.text());
        let body = r.text();
        assert_eq!(field(&body, "user").as_deref(), Some("alice"), "{body}");
        assert_eq!(field(&body, "count").as_deref(), Some("1"), "{body}");
        assert_eq!(field(&body, "new").as_deref(), Some("true"), "{body}");
        let sid = field(&body, "session").unwrap();
        let cookie = r.header("Set-Cookie").unwrap().to_string();
        assert!(cookie.starts_with(&format!("JSESSIONID={sid}")), "{cookie}");
        // Same session again: counter, user kept.
        let body = t.get_in_session("/session.jsp", &sid).text();
        assert_eq!(field(&body, "session").as_deref(), Some(sid.as_str()));
        assert_eq!(field(&body, "count").as_deref(), Some("2"), "{body}");
        assert_eq!(field(&body, "user").as_deref(), Some("alice"), "{body}");
        assert_eq!(field(&body, "new").as_deref(), Some("false"), "{body}");
        match t.options().jvm_route.as_deref() {
            Some(route) => {
                assert!(sid.ends_with(&format!(".{route}")), "{sid}");
                assert_eq!(field(&body, "node").as_deref(), Some(route));
            }
            None => {
                assert!(!sid.contains('.'), "{sid}");
                assert_eq!(field(&body, "node").as_deref(), Some(t.ajp_addr().as_str()));
            }
        }

        // echo.jsp: GET with headers in order, then a PUT body (JSPs normally refuse PUT).
        let c = Instant::now();
        let r = t.request(
            "GET",
            "/echo.jsp?a=1&b=two",
            &[("X-First", "1"), ("X-Second", "two words")],
            None,
        );
        eprintln!("{}: echo.jsp first hit {:?}", t.ajp_addr(), c.elapsed());
        let body = r.text();
        assert_eq!(r.status, 200, "{body}\n{ctx}");
        assert_eq!(field(&body, "method").as_deref(), Some("GET"));
        assert_eq!(field(&body, "uri").as_deref(), Some("/echo.jsp"));
        assert_eq!(field(&body, "query").as_deref(), Some("a=1&b=two"));
        assert_eq!(field(&body, "protocol").as_deref(), Some("HTTP/1.0"));
        assert_eq!(field(&body, "remote_addr").as_deref(), Some("127.0.0.1"));
        assert_eq!(field(&body, "local_addr").as_deref(), Some(t.address()));
        assert_eq!(field(&body, "secure").as_deref(), Some("false"));
        assert_eq!(field(&body, "body_length").as_deref(), Some("0"));
        let h = echo_headers(&body);
        let names: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["host", "x-first", "x-second"], "{body}");
        assert_eq!(h[2].1, "two words");

        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let r = t.request("PUT", "/echo.jsp", &[], Some(&data));
        let body = r.text();
        assert_eq!(r.status, 200, "{body}\n{ctx}");
        assert_eq!(field(&body, "method").as_deref(), Some("PUT"));
        assert_eq!(
            field(&body, "body_length"),
            Some(data.len().to_string()),
            "{body}"
        );
        assert_eq!(field(&body, "body_sum"), Some(byte_sum(&data).to_string()));
        assert_eq!(field(&body, "body_crc32"), Some(crc32(&data).to_string()));

        // upload.jsp, same checksums.
        let r = t.request("POST", "/upload.jsp", &[], Some(&data));
        let body = r.text();
        assert_eq!(field(&body, "length"), Some(data.len().to_string()));
        assert_eq!(field(&body, "sum"), Some(byte_sum(&data).to_string()));
        assert_eq!(field(&body, "crc32"), Some(crc32(&data).to_string()));

        // download.jsp: exact bytes and Content-Length.
        let r = t.get("/download.jsp?bytes=1000");
        assert_eq!(r.status, 200, "{}\n{ctx}", r.text());
        assert_eq!(r.header("Content-Length"), Some("1000"));
        assert_eq!(r.body, pattern(1000));

        // form.jsp, redirect.jsp, status.jsp, slow.jsp.
        let r = t.request(
            "POST",
            "/form.jsp?q=1",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(b"name=J%C3%BCrgen+X&multi=1&multi=2"),
        );
        let body = r.text();
        assert_eq!(field(&body, "name").as_deref(), Some("Jürgen X"), "{body}");
        assert!(body.contains("multi=1\nmulti=2\n"), "{body}");
        assert_eq!(field(&body, "count").as_deref(), Some("3"), "{body}");
        let r = t.get("/redirect.jsp");
        assert_eq!(r.status, 302);
        assert!(
            r.header("Location").unwrap().ends_with("/session.jsp"),
            "{:?}",
            r.headers
        );
        let r = t.get("/status.jsp?code=503");
        assert_eq!((r.status, r.text().as_str()), (503, "status=503\n"));
        let r = t.get("/slow.jsp?ms=200");
        assert_eq!(r.text(), "done\n");
        // The same application under /app (the seed's JkMount /app/*).
        let r = t.get("/app/echo.jsp");
        assert_eq!(field(&r.text(), "context_path").as_deref(), Some("/app"));

        // The AJP connector: TCP accept and a CPong.
        TcpStream::connect(t.ajp_addr()).unwrap();
        ajp_cping(&t.ajp_addr(), Duration::from_secs(5)).unwrap();

        // Big static file generated at test time.
        t.generate_file("/big.bin", 10 << 20);
        let r = t.get("/big.bin");
        assert_eq!(r.status, 200);
        assert_eq!(r.body.len(), 10 << 20);
        assert_eq!(crc32(&r.body), crc32(&pattern(10 << 20)));

        assert!(
            t.access_log()
                .contains("\"GET /download.jsp?bytes=1000 HTTP/1.0\" 200 1000"),
            "{}",
            t.access_log()
        );
    }

    // The second Tomcat really requires its secret: both share 8009, distinct addresses.
    assert!(t2.server_xml().contains("secret=\"s3cret\""));
    assert!(t1.server_xml().contains("secretRequired=\"false\""));

    let pids = [t1.pid().unwrap(), t2.pid().unwrap()];
    for pid in pids {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
        assert!(
            exe.to_string_lossy().contains("java"),
            "pid {pid} is {exe:?}"
        );
    }
    let c = Instant::now();
    drop(t1);
    drop(t2);
    eprintln!("both stopped in {:?}", c.elapsed());
    for pid in pids {
        assert!(!pid_alive(pid), "pid {pid} still alive");
    }
    for addr in ["127.0.0.2", "127.0.0.3"] {
        assert!(port_is_free(addr, 8009), "{addr}:8009 still in use");
    }
}

/// restart() keeps the base: with session persistence a session survives it; a second Tomcat
/// on a busy address:port is refused up front; kill() is a crash.
#[test]
fn restart_keeps_persistent_sessions() {
    require_tomcat().unwrap_or_else(|e| panic!("{e}"));
    let addr = "127.0.0.4";
    let port = free_port_on(addr).unwrap();
    let opts = TomcatOptions::new(addr, port)
        .tag("restart")
        .jvm_route("p1")
        .sessions(Sessions::File);
    let mut t = Tomcat::start_or_panic(opts.clone());
    eprintln!("startup {:?}", t.startup_time());

    let busy = Tomcat::start(opts.clone().tag("busy")).err().unwrap();
    assert!(busy.contains("is not free"), "{busy}");

    let body = t.get("/session.jsp?login=bob").text();
    let sid = field(&body, "session").unwrap();
    assert!(sid.ends_with(".p1"), "{sid}");

    let old_pid = t.pid().unwrap();
    let c = Instant::now();
    t.restart().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("restart {:?} (startup {:?})", c.elapsed(), t.startup_time());
    assert!(!pid_alive(old_pid));
    assert_ne!(t.pid(), Some(old_pid));

    let body = t.get_in_session("/session.jsp", &sid).text();
    assert_eq!(field(&body, "session"), Some(sid), "{body}\n{}", t.logs());
    assert_eq!(field(&body, "user").as_deref(), Some("bob"), "{body}");
    assert_eq!(field(&body, "count").as_deref(), Some("2"), "{body}");

    let pid = t.pid().unwrap();
    t.kill();
    assert!(!pid_alive(pid));
    assert!(!t.is_running());
    // The kernel lets go of the listening socket as the killed JVM's last thread exits, a
    // moment after its pid stops answering: bounded wait.
    wait_for("the killed Tomcat's AJP port to be free", 5, || {
        port_is_free(addr, port)
    });
}

/// Two Tomcats of one route sharing a PersistentManager FileStore: the session the first one
/// saved when it stopped is loaded on demand by the second (the handover of a rolling deploy
/// onto a new instance).
#[test]
fn a_shared_session_store_hands_sessions_over() {
    require_tomcat().unwrap_or_else(|e| panic!("{e}"));
    let store = TestDir::new("tomcat-store");
    let opts = |addr: &str| {
        TomcatOptions::new(addr, free_port_on(addr).unwrap())
            .tag("store")
            .jvm_route("s1")
            .sessions(Sessions::SharedStore(store.path().join("sessions")))
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Tomcat::start_or_panic(opts("127.0.0.5")));
        let b = s.spawn(|| Tomcat::start_or_panic(opts("127.0.0.6")));
        (a.join().unwrap(), b.join().unwrap())
    });
    let body = a.get("/session.jsp?login=carol").text();
    let sid = field(&body, "session").unwrap();
    assert!(sid.ends_with(".s1"), "{sid}");
    a.stop();
    let body = b.get_in_session("/session.jsp", &sid).text();
    assert_eq!(field(&body, "session"), Some(sid), "{body}\n{}", b.logs());
    assert_eq!(field(&body, "user").as_deref(), Some("carol"), "{body}");
    assert_eq!(field(&body, "count").as_deref(), Some("2"), "{body}");
    assert_eq!(field(&body, "node").as_deref(), Some("s1"), "{body}");
}
