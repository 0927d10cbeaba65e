#![allow(clippy::unwrap_used)]
//! Requests mapped to an ajp13 worker reach a real AJP server (the recording test server) and
//! its answers come back through the real httpd; a misbehaving backend gets mod_jk's status,
//! a log line, and no crashed child.

mod support;

use std::time::Duration;

use jk_ajp_testserver::{pattern, Behaviour, Response, TestServer};
use support::*;

fn setup(tag: &str, mpm: Mpm, behaviour: Behaviour, worker_extra: &str) -> (TestServer, Httpd) {
    let server = TestServer::start("127.0.0.1:0", behaviour).unwrap();
    let dir = TestDir::new(tag);
    dir.write("htdocs/static.html", "static\n");
    let workers = format!("{}{worker_extra}", one_worker(server.port()));
    let body = jk_body(&dir, &workers, "JkMount /app/* w\nJkMount /app w\n");
    let h = Httpd::try_start(dir, mpm, &body).unwrap_or_else(|e| panic!("{e}"));
    (server, h)
}

/// workers.properties with the one ajp13 worker `w` at 127.0.0.1:`port`.
fn one_worker(port: u16) -> String {
    format!("worker.list=w\nworker.w.host=127.0.0.1\nworker.w.port={port}\n")
}

fn no_crash(h: &Httpd) {
    let log = h.error_log();
    assert!(!log.contains("exit signal"), "a child crashed:\n{log}");
    assert!(!log.contains("panic"), "{log}");
}

fn forwards_get_and_response(mpm: Mpm) {
    let resp = Response::text(201, "Created", "hello from the backend\n")
        .header("Set-Cookie", "a=1")
        .header("Set-Cookie", "b=2")
        .header("X-Backend", "yes");
    let (server, h) = setup("fwd-get", mpm, Behaviour::Respond(resp), "");
    let r = h.request(
        "GET",
        "/app/x%20y;jsessionid=ABC.m2/z?q=1&r=%41",
        &[("X-Custom", "v"), ("Cookie", "c=d")],
    );
    assert_eq!(r.status, 201, "{r:?}\n{}", h.error_log());
    assert_eq!(r.status_line, "HTTP/1.1 201 Created");
    assert_eq!(r.text(), "hello from the backend\n");
    assert_eq!(r.header("X-Backend"), Some("yes"));
    let cookies: Vec<&str> = r.headers_named("Set-Cookie").collect();
    assert_eq!(cookies, vec!["a=1", "b=2"]);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let f = &reqs[0].decoded;
    assert_eq!(f.method, "GET");
    assert_eq!(f.protocol, "HTTP/1.0");
    assert_eq!(f.uri, "/app/x%20y;jsessionid=ABC.m2/z");
    assert_eq!(f.query(), Some("q=1&r=%41"));
    assert_eq!(f.remote_addr, "127.0.0.1");
    assert_eq!(f.header("x-custom"), Some("v"));
    assert_eq!(f.header("cookie"), Some("c=d"));
    // No body: mod_jk announces content-length 0.
    assert_eq!(f.header("content-length"), Some("0"));
    assert_eq!(f.attribute_str("AJP_LOCAL_ADDR"), Some("127.0.0.1"));
    assert_eq!(f.attribute_str("JK_LB_ACTIVATION"), Some("ACT"));
    assert!(f
        .attribute_str("AJP_REMOTE_PORT")
        .is_some_and(|p| p.parse::<u16>().is_ok()));
    assert_eq!(f.port, h.port);
    no_crash(&h);
}

test_each_mpm!(forwards_get: forwards_get_and_response);

/// Sends a raw HTTP/1.1 request and returns (status, de-chunked body).
fn raw_request(port: u16, head: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let x = send_raw(
        "127.0.0.1",
        port,
        &[head.as_bytes(), body].concat(),
        Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(x.problem, None);
    let r = parse_response(&x.raw).unwrap();
    (r.status, r.decoded_body().unwrap())
}

#[test]
fn uploads_with_content_length_and_chunked() {
    let (server, h) = setup("fwd-post", Mpm::Event, Behaviour::Echo, "");
    let body = pattern(0, 100_000);
    let (st, echoed) = raw_request(
        h.port,
        &format!(
            "POST /app/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
        &body,
    );
    assert_eq!(st, 200, "{}", h.error_log());
    assert_eq!(echoed, body);
    let rec = server.take_requests();
    assert_eq!(rec[0].decoded.header("content-length"), Some("100000"));
    // The first body packet arrives unsolicited with at most max_packet_size-6 bytes.
    assert_eq!(
        rec[0].body_packets[0].len(),
        8186 + 2,
        "first packet payload (u16 length + data)"
    );

    // Chunked upload: no Content-Length is forwarded, Transfer-Encoding passes as a header.
    let mut chunked = Vec::new();
    for part in body.chunks(7000) {
        chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (st, echoed) = raw_request(
        h.port,
        "POST /app/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        &chunked,
    );
    assert_eq!(st, 200, "{}", h.error_log());
    assert_eq!(echoed, body);
    let rec = server.take_requests();
    assert_eq!(rec[0].decoded.header("content-length"), None);
    assert_eq!(rec[0].decoded.header("transfer-encoding"), Some("chunked"));
    no_crash(&h);
}

#[test]
fn streams_a_large_download_and_head() {
    let size = 5 * 1024 * 1024;
    let (_server, h) = setup(
        "fwd-dl",
        Mpm::Event,
        Behaviour::Download {
            bytes: size,
            chunk_size: 8184,
        },
        "",
    );
    let r = h.get("/app/big");
    assert_eq!(r.status, 200, "{}", h.error_log());
    assert_eq!(r.body.len() as u64, size);
    assert!(
        r.body == pattern(0, size as usize),
        "body differs from the pattern"
    );
    let r = h.request("HEAD", "/app/big", &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    no_crash(&h);
}

#[test]
fn connections_are_reused() {
    let (server, h) = setup("fwd-reuse", Mpm::Event, Behaviour::Echo, "");
    for _ in 0..20 {
        assert_eq!(h.get("/app/a").status, 200);
    }
    // At most one connection per httpd child (two children).
    assert!(
        server.connections_accepted() <= 2,
        "{} connections",
        server.connections_accepted()
    );
}

fn misbehaviour(b: Behaviour, want: u16, extra: &str) {
    let (server, h) = setup("fwd-bad", Mpm::Event, b, extra);
    let r = h.get("/app/x");
    assert_eq!(
        r.status,
        want,
        "{}\n{}",
        h.error_log(),
        h.dir.read("logs/mod_jk.log")
    );
    let jklog = h.dir.read("logs/mod_jk.log");
    assert!(
        jklog.contains("[error]") && jklog.contains("(w) 127.0.0.1:"),
        "{jklog}"
    );
    // The next request works.
    server.set_behaviour(Behaviour::Echo);
    assert_eq!(h.get("/app/y").status, 200, "{}", h.error_log());
    no_crash(&h);
}

#[test]
fn backend_closes_without_answer_is_502() {
    misbehaviour(Behaviour::CloseImmediately, 502, "");
}

#[test]
fn backend_closing_after_part_of_the_body_that_never_reached_the_client_is_502() {
    // Headers and 100 body bytes, then the backend closes: nothing reached the client yet
    // (the body start is held back), so the client gets a clean 502, not 0 bytes.
    misbehaviour(Behaviour::CloseMidBody { after_bytes: 100 }, 502, "");
}

#[test]
fn backend_closing_after_the_body_reached_the_client_truncates_the_answer() {
    // 64 kB went out before the backend closed: too late for an error page; the client sees
    // the backend's status and a body shorter than its Content-Length, then the close.
    let (_server, h) = setup(
        "fwd-midbody-late",
        Mpm::Event,
        Behaviour::CloseMidBody {
            after_bytes: 65_536,
        },
        "",
    );
    let request = b"GET /app/big HTTP/1.0\r\nHost: x\r\n\r\n";
    let raw = send_raw("127.0.0.1", h.port, request, Duration::from_secs(10))
        .unwrap()
        .raw;
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let got = raw.len() - head_end;
    assert!(
        (8000..65_536 + 8184).contains(&got),
        "a truncated body: {got} bytes\n{head}"
    );
    no_crash(&h);
}

#[test]
fn garbage_is_502() {
    misbehaviour(Behaviour::Garbage, 502, "");
}

#[test]
fn oversized_packet_is_502() {
    misbehaviour(Behaviour::OversizedPacket, 502, "");
}

#[test]
fn bad_chunk_length_is_500() {
    misbehaviour(Behaviour::BadLength, 500, "");
}

#[test]
fn unknown_message_type_is_500() {
    misbehaviour(Behaviour::UnknownMessageType, 500, "");
}

#[test]
fn stall_past_reply_timeout_is_504() {
    misbehaviour(
        Behaviour::Stall { millis: 1500 },
        504,
        "worker.w.reply_timeout=300\nworker.w.retries=1\n",
    );
}

#[test]
fn connection_refused_is_503() {
    let h = Httpd::with_workers(
        "fwd-refused",
        Mpm::Event,
        &one_worker(1),
        "JkMount /app/* w\n",
    );
    assert_eq!(h.get("/app/x").status, 503);
    let jklog = h.dir.read("logs/mod_jk.log");
    assert!(
        jklog.contains("Tomcat is probably not started or is listening on the wrong port"),
        "{jklog}"
    );
    no_crash(&h);
}

#[test]
fn use_server_errors_gives_httpds_error_page() {
    let server = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Respond(
            Response::text(401, "Unauthorized", "backend body")
                .header("WWW-Authenticate", "Basic realm=\"t\"")
                .header("X-Other", "dropped"),
        ),
    )
    .unwrap();
    let h = Httpd::with_workers(
        "server-errors",
        Mpm::Event,
        &one_worker(server.port()),
        "JkMount /app/* w;use_server_errors=400\nJkMount /raw/* w\n\
         ErrorDocument 401 \"httpd says no\"\nErrorDocument 500 \"httpd failed\"\n",
    );
    let r = h.get("/app/x");
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), "httpd says no");
    assert_eq!(r.header("WWW-Authenticate"), Some("Basic realm=\"t\""));
    assert_eq!(r.header("X-Other"), None);
    // Without the extension the backend's answer passes through.
    let r = h.get("/raw/x");
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), "backend body");
    // An error status with an empty body passes through empty, as with mod_jk (the response
    // is finalised when the backend ends it), not as httpd's ErrorDocument.
    server.set_behaviour(Behaviour::Respond(Response::new(500, "Boom")));
    let r = h.get("/raw/empty");
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), "");
    server.set_behaviour(Behaviour::Respond(Response::text(200, "OK", "fine")));
    assert_eq!(h.get("/app/y").text(), "fine");
    no_crash(&h);
}
