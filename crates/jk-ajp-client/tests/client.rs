#![allow(clippy::unwrap_used)]
//! The client against the independent recording AJP server, over real sockets.

use std::io;
use std::time::{Duration, Instant};

use jk_ajp_client::{Body, Endpoint, EndpointConfig, ErrorKind, Peer, PingModes, RequestBody};
use jk_ajp_testserver::{Behaviour, Response, TestServer};

mod common;
use common::{endpoint_at, packet, req};

/// A Peer that records what the backend answered and serves a fixed request body.
#[derive(Default)]
struct Recorder {
    body_in: Vec<u8>,
    read_pos: usize,
    status: Option<u16>,
    reason: String,
    headers: Vec<(String, String)>,
    out: Vec<u8>,
    flushes: usize,
    fail_writes: bool,
    /// Holds the body back like the httpd peer (nothing committed until a flush).
    holds_body: bool,
}

impl Peer for Recorder {
    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.body_in.len() - self.read_pos);
        buf[..n].copy_from_slice(&self.body_in[self.read_pos..self.read_pos + n]);
        self.read_pos += n;
        Ok(n)
    }
    fn start_response(
        &mut self,
        status: u16,
        reason: &[u8],
        headers: &[(&[u8], &[u8])],
    ) -> io::Result<()> {
        self.status = Some(status);
        self.reason = String::from_utf8_lossy(reason).into_owned();
        self.headers = headers
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        Ok(())
    }
    fn write_body(&mut self, data: &[u8]) -> io::Result<()> {
        if self.fail_writes {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "client gone"));
        }
        self.out.extend_from_slice(data);
        Ok(())
    }
    fn output_committed(&self) -> bool {
        !self.holds_body || self.flushes > 0
    }
    fn flush(&mut self) -> io::Result<()> {
        self.flushes += 1;
        Ok(())
    }
}

fn endpoint(server: &TestServer, tweak: impl FnOnce(&mut EndpointConfig)) -> Endpoint {
    endpoint_at(server.addr(), tweak)
}

#[test]
fn serves_and_reuses_the_connection() {
    let server = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Respond(Response::text(200, "OK", "hi")),
    )
    .unwrap();
    let ep = endpoint(&server, |_| {});
    let p = packet("GET", "/a", None, false);
    for _ in 0..5 {
        let mut peer = Recorder::default();
        let s = ep
            .service(&req(&p), &mut RequestBody::new(Body::None), &mut peer)
            .unwrap();
        assert_eq!((s.status, peer.out.as_slice()), (200, &b"hi"[..]));
        assert_eq!(s.attempts, 1);
    }
    assert_eq!(server.connections_accepted(), 1);
    assert_eq!(ep.pool_stats().idle, 1);
}

#[test]
fn uploads_a_content_length_body_in_packets() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let ep = endpoint(&server, |_| {});
    let body: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
    let p = packet("POST", "/up", Some(body.len() as u64), false);
    let mut peer = Recorder {
        body_in: body.clone(),
        ..Default::default()
    };
    let s = ep
        .service(
            &req(&p),
            &mut RequestBody::new(Body::Length(body.len() as u64)),
            &mut peer,
        )
        .unwrap();
    assert_eq!(peer.out, body);
    assert_eq!(s.read_bytes, 30_000);
    let rec = server.requests();
    // 8186 + 8186 + 8186 + 5442 bytes; first unsolicited.
    let sizes: Vec<usize> = rec[0].body_packets.iter().map(|p| p.len()).collect();
    assert_eq!(sizes[0], 8186 + 2, "{sizes:?}");
    assert_eq!(rec[0].body, body);
}

#[test]
fn uploads_a_chunked_body_on_request() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let ep = endpoint(&server, |_| {});
    let body = vec![7u8; 20_000];
    let p = packet("POST", "/up", None, true);
    let mut peer = Recorder {
        body_in: body.clone(),
        ..Default::default()
    };
    ep.service(&req(&p), &mut RequestBody::new(Body::Chunked), &mut peer)
        .unwrap();
    assert_eq!(peer.out, body);
    let rec = server.requests();
    assert!(rec[0].body_complete);
    assert_eq!(rec[0].body, body);
}

#[test]
fn a_stale_pooled_connection_is_replaced_transparently() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let ep = endpoint(&server, |c| c.retries = 1);
    let p = packet("GET", "/a", None, false);
    ep.service(
        &req(&p),
        &mut RequestBody::new(Body::None),
        &mut Recorder::default(),
    )
    .unwrap();
    // The backend goes away (drops every connection) and a new one comes up on the same port.
    let addr = server.addr();
    drop(server);
    let server = TestServer::start(&addr.to_string(), Behaviour::Echo).unwrap();
    let mut peer = Recorder::default();
    let s = ep
        .service(&req(&p), &mut RequestBody::new(Body::None), &mut peer)
        .unwrap();
    assert_eq!(s.status, 200);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn connect_refused_is_retried_then_503() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut cfg = EndpointConfig::new("w", Some(addr));
    cfg.retries = 3;
    cfg.retry_interval = Duration::from_millis(50);
    let ep = Endpoint::new(cfg);
    let p = packet("GET", "/a", None, false);
    let t = Instant::now();
    let e = ep
        .service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Recorder::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connect);
    assert!(e.message.contains("Tomcat is probably not started"), "{e}");
    // Two sleeps between three attempts.
    assert!(t.elapsed() >= Duration::from_millis(100));
}

#[test]
fn reply_timeout_is_504_and_retried_by_default() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Stall { millis: 600 }).unwrap();
    let ep = endpoint(&server, |c| {
        c.reply_timeout = Some(Duration::from_millis(100));
        c.retries = 2;
    });
    let p = packet("GET", "/slow", None, false);
    let e = ep
        .service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Recorder::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReplyTimeout);
    assert!(
        server.wait_for_requests(2, Duration::from_secs(2)),
        "retried once"
    );
}

#[test]
fn recovery_option_1_stops_retries_after_send() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Stall { millis: 600 }).unwrap();
    let ep = endpoint(&server, |c| {
        c.reply_timeout = Some(Duration::from_millis(100));
        c.retries = 3;
        c.recovery_options = 1;
    });
    let p = packet("POST", "/slow", None, false);
    let mut r = req(&p);
    let b = Body::None;
    r.is_get = false;
    let e = ep
        .service(&r, &mut RequestBody::new(b), &mut Recorder::default())
        .unwrap_err();
    assert!(!e.recoverable);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn per_request_reply_timeout_overrides_the_worker() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Stall { millis: 300 }).unwrap();
    let ep = endpoint(&server, |c| {
        c.reply_timeout = Some(Duration::from_millis(50))
    });
    let p = packet("GET", "/slow", None, false);
    let mut r = req(&p);
    let b = Body::None;
    r.reply_timeout = Some(None); // wait forever for this request
    let s = ep
        .service(&r, &mut RequestBody::new(b), &mut Recorder::default())
        .unwrap();
    assert_eq!(s.status, 200);
}

#[test]
fn fail_on_status_discards_the_response() {
    let server = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Respond(Response::text(500, "Err", "x")),
    )
    .unwrap();
    let ep = endpoint(&server, |c| c.fail_on_status = vec![500, -404]);
    let p = packet("GET", "/a", None, false);
    let mut peer = Recorder::default();
    let e = ep
        .service(&req(&p), &mut RequestBody::new(Body::None), &mut peer)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::FailOnStatus { hard: true });
    assert!(peer.status.is_none(), "nothing reached the client");
    server.set_behaviour(Behaviour::Respond(Response::text(404, "NF", "x")));
    let e = ep
        .service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Recorder::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::FailOnStatus { hard: false });
}

#[test]
fn client_gone_stops_the_download_and_drops_the_connection() {
    let server = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Download {
            bytes: 1_000_000,
            chunk_size: 8184,
        },
    )
    .unwrap();
    let ep = endpoint(&server, |_| {});
    let p = packet("GET", "/big", None, false);
    let mut peer = Recorder {
        fail_writes: true,
        ..Default::default()
    };
    let e = ep
        .service(&req(&p), &mut RequestBody::new(Body::None), &mut peer)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ClientWrite);
    assert!(!e.recoverable);
    assert_eq!(
        ep.pool_stats().idle,
        0,
        "the half-read connection is not reused"
    );
}

#[test]
fn head_reads_but_does_not_write_the_body() {
    let server = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Respond(Response::text(200, "OK", "body")),
    )
    .unwrap();
    let ep = endpoint(&server, |_| {});
    let p = packet("HEAD", "/a", None, false);
    let mut r = req(&p);
    let b = Body::None;
    r.is_head = true;
    let mut peer = Recorder::default();
    let s = ep.service(&r, &mut RequestBody::new(b), &mut peer).unwrap();
    assert_eq!(s.body_bytes, 4);
    assert!(peer.out.is_empty());
    assert_eq!(ep.pool_stats().idle, 1);
}

#[test]
fn end_without_reuse_closes_the_connection() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::EndWithoutReuse).unwrap();
    let ep = endpoint(&server, |_| {});
    let p = packet("GET", "/a", None, false);
    ep.service(
        &req(&p),
        &mut RequestBody::new(Body::None),
        &mut Recorder::default(),
    )
    .unwrap();
    assert_eq!(ep.pool_stats().idle, 0);
}

#[test]
fn prepost_cping_before_reusing_a_connection() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let ep = endpoint(&server, |c| {
        c.ping = PingModes {
            prepost: Some(Duration::from_millis(500)),
            ..Default::default()
        }
    });
    let p = packet("GET", "/a", None, false);
    ep.service(
        &req(&p),
        &mut RequestBody::new(Body::None),
        &mut Recorder::default(),
    )
    .unwrap();
    ep.service(
        &req(&p),
        &mut RequestBody::new(Body::None),
        &mut Recorder::default(),
    )
    .unwrap();
    assert_eq!(
        server.cpings_received(),
        1,
        "one CPing, before the reused connection's request"
    );
}

#[test]
fn connect_cping_failure_is_a_connect_error() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::RefuseCpong).unwrap();
    let ep = endpoint(&server, |c| {
        c.retries = 1;
        c.ping = PingModes {
            connect: Some(Duration::from_millis(100)),
            ..Default::default()
        }
    });
    let p = packet("GET", "/a", None, false);
    let e = ep
        .service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Recorder::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connect);
}

#[test]
fn acquire_timeout_when_the_pool_is_exhausted() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Stall { millis: 500 }).unwrap();
    let ep = std::sync::Arc::new(endpoint(&server, |c| {
        c.pool_size = 1;
        c.retries = 1;
        c.acquire_timeout = Duration::from_millis(50);
    }));
    let ep2 = ep.clone();
    let t = std::thread::spawn(move || {
        let p = packet("GET", "/slow", None, false);
        ep2.service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Recorder::default(),
        )
        .map(|s| s.status)
    });
    assert!(server.wait_for_requests(1, Duration::from_secs(2)));
    let p = packet("GET", "/b", None, false);
    let e = ep
        .service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Recorder::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoConnection);
    assert_eq!(t.join().unwrap().unwrap(), 200);
}

#[test]
fn protocol_errors_are_classified() {
    for (b, kind) in [
        (Behaviour::Garbage, ErrorKind::ProtocolFraming),
        (Behaviour::OversizedPacket, ErrorKind::ProtocolFraming),
        (Behaviour::UnknownMessageType, ErrorKind::ProtocolContent),
        (Behaviour::CloseImmediately, ErrorKind::BackendClosed),
    ] {
        let server = TestServer::start("127.0.0.1:0", b).unwrap();
        let ep = endpoint(&server, |c| c.retries = 1);
        let p = packet("GET", "/a", None, false);
        let e = ep
            .service(
                &req(&p),
                &mut RequestBody::new(Body::None),
                &mut Recorder::default(),
            )
            .unwrap_err();
        assert_eq!(e.kind, kind, "{e}");
    }
}

#[test]
fn maintenance_closes_idle_connections_beyond_minsize() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let ep = endpoint(&server, |c| {
        c.pool_size = 2;
        c.pool_minsize = 0;
        c.pool_timeout = Some(Duration::from_millis(50));
    });
    let p = packet("GET", "/a", None, false);
    ep.service(
        &req(&p),
        &mut RequestBody::new(Body::None),
        &mut Recorder::default(),
    )
    .unwrap();
    assert_eq!(ep.pool_stats().idle, 1);
    std::thread::sleep(Duration::from_millis(100));
    ep.maintain();
    assert_eq!(ep.pool_stats().idle, 0);
}

#[test]
fn the_first_body_packet_is_replayed_to_another_endpoint() {
    // The first backend takes the request and its first body packet, then dies.
    let dead = TestServer::start("127.0.0.1:0", Behaviour::CloseImmediately).unwrap();
    let good = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let a = endpoint(&dead, |c| c.retries = 1);
    let b = endpoint(&good, |_| {});
    let body = b"name=value&x=1".to_vec();
    let p = packet("POST", "/form", Some(body.len() as u64), false);
    let mut rb = RequestBody::new(Body::Length(body.len() as u64));
    let mut peer = Recorder {
        body_in: body.clone(),
        ..Default::default()
    };
    let e = a.service(&req(&p), &mut rb, &mut peer).unwrap_err();
    assert!(e.recoverable, "{e}");
    assert!(rb.replayable());
    b.service(&req(&p), &mut rb, &mut peer).unwrap();
    assert_eq!(peer.out, body);
    assert_eq!(good.requests()[0].body, body);
    assert_eq!(
        rb.read_bytes(),
        body.len() as u64,
        "the client's body was read once"
    );
}

#[test]
fn a_body_within_the_replay_buffer_is_replayed_whole() {
    // 30 kB body: first packet plus three more; the dead backend asks for all of it.
    let dead = TestServer::start("127.0.0.1:0", Behaviour::CloseAfterHeaders).unwrap();
    let good = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let a = endpoint(&dead, |c| c.retries = 1);
    let b = endpoint(&good, |_| {});
    let body: Vec<u8> = (0..30_000u32).map(|i| (i % 239) as u8).collect();
    let p = packet("POST", "/up", Some(body.len() as u64), false);
    let mut rb = RequestBody::new(Body::Length(body.len() as u64)).with_replay_limit(64 * 1024);
    let mut peer = Recorder {
        body_in: body.clone(),
        ..Default::default()
    };
    let mut r = req(&p);
    r.is_get = false;
    let e = a.service(&r, &mut rb, &mut peer).unwrap_err();
    assert!(rb.replayable(), "{e}");
    // Nothing reached the client from the dead backend's headers? It sent SEND_HEADERS, so
    // the recorder saw them: reset it as the glue would (discard_response) and go on.
    let mut peer2 = Recorder {
        body_in: body.clone(),
        read_pos: body.len(),
        ..Default::default()
    };
    b.service(&r, &mut rb, &mut peer2).unwrap();
    assert_eq!(good.requests()[0].body, body, "the whole body was replayed");
    assert_eq!(rb.read_bytes(), body.len() as u64);

    // Without a replay buffer (mod_jk), the same request is no longer replayable.
    let dead = TestServer::start("127.0.0.1:0", Behaviour::CloseAfterHeaders).unwrap();
    let a = endpoint(&dead, |c| c.retries = 1);
    let mut rb = RequestBody::new(Body::Length(body.len() as u64));
    let mut peer = Recorder {
        body_in: body.clone(),
        ..Default::default()
    };
    let _ = a.service(&r, &mut rb, &mut peer).unwrap_err();
    assert!(!rb.replayable());
}

#[test]
fn a_paused_connector_503_is_a_provably_unprocessed_failure() {
    // Tomcat's paused AjpProcessor: 503 "503", no header, END_RESPONSE reuse=0, close.
    let paused = TestServer::start("127.0.0.1:0", Behaviour::Paused).unwrap();
    let good = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let a = endpoint(&paused, |c| {
        c.retries = 3;
        // Even with "no retry after the request was sent", this one provably was not processed.
        c.recovery_options = 1;
    });
    let b = endpoint(&good, |_| {});
    let body = b"user=tester&pw=x".to_vec();
    let p = packet("POST", "/login", Some(body.len() as u64), false);
    let mut rb = RequestBody::new(Body::Length(body.len() as u64));
    let mut peer = Recorder {
        body_in: body.clone(),
        ..Default::default()
    };
    let mut r = req(&p);
    r.is_get = false;
    let e = a.service(&r, &mut rb, &mut peer).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BackendPaused, "{e}");
    assert!(e.recoverable && e.before_reply, "{e:?}");
    assert!(peer.status.is_none(), "the 503 did not reach the client");
    assert_eq!(a.pool_stats().idle, 0, "the connection is not pooled");
    let t = Instant::now();
    while paused.connections_open() > 0 && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(paused.connections_open(), 0, "the connection was closed");
    assert_eq!(
        paused.requests().len(),
        1,
        "a paused connector is not asked again"
    );
    // Sent again elsewhere, with its body.
    b.service(&r, &mut rb, &mut peer).unwrap();
    assert_eq!((peer.status, peer.out.clone()), (Some(200), body.clone()));
    assert_eq!(good.requests()[0].body, body);
}

#[test]
fn with_flush_header_a_503_goes_out_at_once() {
    // FlushHeader sends headers as soon as they arrive: a 503 is never held back, so even a
    // paused connector's answer reaches the client (as with mod_jk).
    let paused = TestServer::start("127.0.0.1:0", Behaviour::Paused).unwrap();
    let ep = endpoint(&paused, |_| {});
    let p = packet("GET", "/a", None, false);
    let mut r = req(&p);
    r.flush_header = true;
    let mut peer = Recorder::default();
    let s = ep
        .service(&r, &mut RequestBody::new(Body::None), &mut peer)
        .unwrap();
    assert_eq!((s.status, peer.status), (503, Some(503)));
    assert_eq!(peer.flushes, 1, "flushed with the headers");
}

/// A backend whose application answers 503 with headers and a body (an error page of its own).
fn maintenance_503() -> TestServer {
    let page = Response::text(503, "Service Unavailable", "down for maintenance");
    TestServer::start("127.0.0.1:0", Behaviour::Respond(page)).unwrap()
}

#[test]
fn an_application_503_is_passed_through() {
    let p = packet("GET", "/a", None, false);
    // A 503 without header but the connection kept: an application's bare setStatus(503).
    let s =
        TestServer::start("127.0.0.1:0", Behaviour::Respond(Response::new(503, "503"))).unwrap();
    let ep = endpoint(&s, |_| {});
    let mut peer = Recorder::default();
    let out = ep
        .service(&req(&p), &mut RequestBody::new(Body::None), &mut peer)
        .unwrap();
    assert_eq!((out.status, peer.status), (503, Some(503)));
    assert_eq!(peer.reason, "503");
    // A 503 with headers and a body (an error page).
    let s = maintenance_503();
    let ep = endpoint(&s, |_| {});
    let mut peer = Recorder::default();
    ep.service(&req(&p), &mut RequestBody::new(Body::None), &mut peer)
        .unwrap();
    assert_eq!(peer.status, Some(503));
    assert_eq!(peer.out, b"down for maintenance");
    // A 503 without header but with a body: an answer, not a pause.
    let s = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Respond(Response::new(503, "503").body(b"busy")),
    )
    .unwrap();
    let ep = endpoint(&s, |c| c.disable_reuse = true);
    let mut peer = Recorder::default();
    ep.service(&req(&p), &mut RequestBody::new(Body::None), &mut peer)
        .unwrap();
    assert_eq!(
        (peer.status, peer.out.as_slice()),
        (Some(503), &b"busy"[..])
    );
}

#[test]
fn a_stopping_tomcats_503_or_404_is_a_failed_try_when_the_balancer_checks_for_it() {
    // A Tomcat stopping between its connector's pause and its application's end answers the
    // request it had just read with an error page (503: the application is unavailable; 404:
    // it is gone from the mapper; headers, body, END_RESPONSE reuse=1) and closes the
    // connection. The load balancer (hold on, GET) asks for the check.
    let p = packet("GET", "/app/session.jsp", None, false);
    for status in [503, 404] {
        let stopping = TestServer::start("127.0.0.1:0", Behaviour::Stopping { status }).unwrap();
        let a = endpoint(&stopping, |c| c.retries = 3);
        let mut peer = Recorder::default();
        let mut r = req(&p);
        r.check_for_stop = true;
        let e = a
            .service(&r, &mut RequestBody::new(Body::None), &mut peer)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::BackendPaused, "{status}: {e}");
        assert!(e.recoverable && e.before_reply, "{e:?}");
        assert!(
            e.message
                .contains(&format!("stopping: it answered {status}")),
            "{e}"
        );
        assert!(
            peer.status.is_none() && peer.out.is_empty(),
            "{status}: nothing of the answer reached the client"
        );
        assert_eq!(a.pool_stats().idle, 0, "the connection is not pooled");
        assert_eq!(stopping.requests().len(), 1, "not asked again");

        // Without the check (mod_jk, and every request the balancer does not check), the
        // same answer is the client's, page and all.
        let mut peer = Recorder::default();
        let s = a
            .service(&req(&p), &mut RequestBody::new(Body::None), &mut peer)
            .unwrap();
        assert_eq!((s.status, peer.status), (status, Some(status)));
        assert_eq!(peer.out, jk_ajp_testserver::STOPPING_PAGE.as_bytes());
    }
}

#[test]
fn a_checked_503_from_a_running_tomcat_is_the_clients_and_keeps_its_connection() {
    // An application's own 503 (the connection answers the CPING): passed on whole, headers
    // and body, and the connection serves the next request.
    let p = packet("GET", "/a", None, false);
    let s = maintenance_503();
    let ep = endpoint(&s, |_| {});
    let mut r = req(&p);
    r.check_for_stop = true;
    for round in 0..2 {
        let mut peer = Recorder::default();
        let out = ep
            .service(&r, &mut RequestBody::new(Body::None), &mut peer)
            .unwrap();
        assert_eq!((out.status, peer.status), (503, Some(503)), "round {round}");
        assert_eq!(peer.reason, "Service Unavailable");
        assert_eq!(peer.out, b"down for maintenance");
        assert_eq!(out.body_bytes, 20);
    }
    // An application's 404 likewise.
    s.set_behaviour(Behaviour::Respond(Response::text(
        404,
        "Not Found",
        "no such page",
    )));
    let mut peer = Recorder::default();
    let out = ep
        .service(&r, &mut RequestBody::new(Body::None), &mut peer)
        .unwrap();
    assert_eq!(
        (out.status, peer.out.as_slice()),
        (404, &b"no such page"[..])
    );
    let reqs = s.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[1].cpings_before, 1, "one CPING after the first 503");
    assert_eq!(reqs[2].cpings_before, 1, "and after the second");
    assert_eq!(s.connections_accepted(), 1, "one connection for all three");

    // A 503 longer than what is held back goes out as it comes, whole.
    let long = "x".repeat(jk_ajp_client::HELD_ANSWER_BODY + 5000);
    s.set_behaviour(Behaviour::Respond(Response::text(503, "Busy", &long)));
    let mut peer = Recorder::default();
    let out = ep
        .service(&r, &mut RequestBody::new(Body::None), &mut peer)
        .unwrap();
    assert_eq!((out.status, peer.out.len()), (503, long.len()));
    assert!(peer.out == long.as_bytes());
}

#[test]
fn packets_of_every_size_arrive_whole_on_a_reused_connection() {
    // Chunk sizes below, around and far above the 16 KiB read buffer, with max_packet_size
    // 65536: every byte arrives in order, request after request on one connection.
    use jk_ajp_testserver::pattern;
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let ep = endpoint(&server, |c| c.max_packet_size = 65536);
    let p = packet("GET", "/dl", None, false);
    for (bytes, chunk) in [
        (1_000_000u64, 65_000usize),
        (300_000, 16_381),
        (300_000, 7_000),
        (5, 0),
        (200_000, 40_000),
        (50_000, 1),
    ] {
        server.set_behaviour(Behaviour::Download {
            bytes,
            chunk_size: chunk,
        });
        let mut peer = Recorder::default();
        let s = ep
            .service(&req(&p), &mut RequestBody::new(Body::None), &mut peer)
            .unwrap();
        assert_eq!(s.body_bytes, bytes, "chunk {chunk}");
        assert!(
            peer.out == pattern(0, bytes as usize),
            "chunk {chunk}: body differs"
        );
    }
    assert_eq!(
        server.connections_accepted(),
        1,
        "one connection throughout"
    );
}

#[test]
fn a_bare_503_then_a_stall_is_not_sent_again() {
    // An application's setStatus(503) + flushBuffer() (no header), then a slow or failing
    // servlet: the request was processed, so a failure after the 503 must not be retried.
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = accepted.clone();
    let server = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            let Ok((mut c, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            c.set_nonblocking(false).unwrap();
            let mut buf = [0u8; 8192];
            let _ = c.read(&mut buf);
            let mut p = vec![4u8, 0x01, 0xF7, 0x00, 0x13];
            p.extend_from_slice(b"Service Unavailable\0");
            p.extend_from_slice(&[0, 0]);
            let mut pkt = vec![b'A', b'B'];
            pkt.extend_from_slice(&(p.len() as u16).to_be_bytes());
            pkt.extend_from_slice(&p);
            let _ = c.write_all(&pkt);
            std::thread::sleep(Duration::from_millis(800));
        }
    });
    let mut cfg = EndpointConfig::new("w", Some(addr));
    cfg.retries = 3;
    cfg.retry_interval = Duration::from_millis(10);
    cfg.reply_timeout = Some(Duration::from_millis(200));
    let ep = Endpoint::new(cfg);
    let body = b"order=42".to_vec();
    let p = packet("POST", "/buy", Some(body.len() as u64), false);
    let mut r = req(&p);
    r.is_get = false;
    let mut peer = Recorder {
        body_in: body.clone(),
        ..Default::default()
    };
    let mut rb = RequestBody::new(Body::Length(body.len() as u64));
    let e = ep.service(&r, &mut rb, &mut peer).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReplyTimeout, "{e}");
    assert!(!e.recoverable, "processed: not to be sent again ({e:?})");
    assert!(!e.before_reply);
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the POST went to the backend once"
    );
    server.join().unwrap();
}

#[test]
fn a_failure_after_headers_is_recoverable_elsewhere_unless_recovery_options_2() {
    let dead = TestServer::start("127.0.0.1:0", Behaviour::CloseAfterHeaders).unwrap();
    let p = packet("GET", "/a", None, false);
    let ep = endpoint(&dead, |c| c.retries = 3);
    let mut peer = Recorder::default();
    let e = ep
        .service(&req(&p), &mut RequestBody::new(Body::None), &mut peer)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BackendClosed, "{e}");
    assert!(e.recoverable && e.after_headers, "{e:?}");
    assert_eq!(peer.status, Some(200), "the headers had reached the peer");
    assert_eq!(
        dead.requests().len(),
        1,
        "not retried on the same endpoint: only the caller can discard the headers"
    );
    let strict = endpoint(&dead, |c| c.recovery_options = 2);
    let e = strict
        .service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Recorder::default(),
        )
        .unwrap_err();
    assert!(!e.recoverable, "recovery_options 2: {e:?}");
}

#[test]
fn a_failure_after_part_of_the_body_is_recoverable_only_while_the_peer_holds_it_back() {
    let dead =
        TestServer::start("127.0.0.1:0", Behaviour::CloseMidBody { after_bytes: 100 }).unwrap();
    let p = packet("GET", "/a", None, false);
    let ep = endpoint(&dead, |c| c.retries = 3);
    // A peer that passes body bytes on at once: too late for anyone to recover.
    let e = ep
        .service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Recorder::default(),
        )
        .unwrap_err();
    assert!(!e.recoverable, "the body was on its way: {e:?}");
    // A peer holding the start of the body back (as the httpd peer does) can still discard it.
    let mut peer = Recorder {
        holds_body: true,
        ..Default::default()
    };
    let e = ep
        .service(&req(&p), &mut RequestBody::new(Body::None), &mut peer)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BackendClosed, "{e}");
    assert!(e.recoverable && e.after_headers, "{e:?}");
    assert_eq!(peer.out.len(), 100, "the body start reached the peer");
    assert_eq!(
        dead.requests().len(),
        2,
        "one try each, no retry on the same endpoint"
    );
}

#[test]
fn a_panic_mid_request_gives_its_pool_slot_back() {
    // A pool of 2 and no waiting for a slot: after a request that panicked in the middle of
    // its answer (a bug in the web server's side, caught at the module's boundary), two
    // requests at once must still each get a connection.
    let server = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Respond(Response::text(200, "OK", "hello")),
    )
    .unwrap();
    let ep = endpoint(&server, |c| {
        c.pool_size = 2;
        c.acquire_timeout = Duration::ZERO;
    });
    let p = packet("GET", "/a", None, false);
    struct Panicking;
    impl Peer for Panicking {
        fn read_body(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Ok(0)
        }
        fn start_response(&mut self, _: u16, _: &[u8], _: &[(&[u8], &[u8])]) -> io::Result<()> {
            Ok(())
        }
        fn write_body(&mut self, _: &[u8]) -> io::Result<()> {
            panic!("injected: the peer failed while writing the body");
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = ep.service(&req(&p), &mut RequestBody::new(Body::None), &mut Panicking);
    }));
    assert!(caught.is_err(), "the injected panic happened");
    assert_eq!(
        ep.pool_stats().busy,
        0,
        "the slot came back: {:?}",
        ep.pool_stats()
    );
    server.set_behaviour(Behaviour::Stall { millis: 300 });
    let statuses: Vec<Result<u16, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    ep.service(
                        &req(&p),
                        &mut RequestBody::new(Body::None),
                        &mut Recorder::default(),
                    )
                    .map(|r| r.status)
                    .map_err(|e| e.to_string())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses,
        vec![Ok(200), Ok(200)],
        "both parallel requests served"
    );
}

/// A loopback address where a connect hangs, as one to a container that went away (its SYNs
/// dropped without an answer): a listener with a backlog of 0 whose queue is full (Linux
/// then drops further SYNs). Returns the listener and the connections filling its queue.
fn unanswered_address() -> (
    socket2::Socket,
    Vec<std::net::TcpStream>,
    std::net::SocketAddr,
) {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let l = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    l.bind(&SockAddr::from(
        "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
    ))
    .unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => queued.push(s),
            Err(_) => return (l, queued, addr),
        }
    }
    panic!("the listen queue of {addr} never filled");
}

#[test]
fn a_probe_gives_up_on_an_address_that_never_answers() {
    // Without socket_connect_timeout a connect waits as long as the kernel retries its SYNs
    // (about two minutes): a readiness probe, which a held request runs itself, must stay
    // within its own wait instead (seen with a Tomcat container restarted on a new address).
    let (_l, _queued, addr) = unanswered_address();
    let ep = Endpoint::new(EndpointConfig::new("w", Some(addr)));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(ep.probe(Duration::from_millis(300)).map_err(|e| e.kind));
    });
    let r = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the probe did not return within 20 s");
    assert_eq!(r, Err(ErrorKind::Connect));
}
