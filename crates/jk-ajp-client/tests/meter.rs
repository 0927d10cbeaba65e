#![allow(clippy::unwrap_used)]
//! What the client counts for the status worker, checked against what crossed the wire: a
//! relay between the endpoint and the recording AJP server counts the bytes of each direction,
//! and the request's `Traffic` must equal them (mod_jk's `transferred` and `read` are the AJP
//! bytes sent and received, packet headers included, whatever the outcome). The connection
//! counter must see every connection opened and closed.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jk_ajp_client::{Body, ConnectionCounter, ErrorKind, Peer, PingModes, RequestBody, Traffic};
use jk_ajp_testserver::{Behaviour, Response, TestServer};

mod common;
use common::{endpoint_at, req};

/// Forwards every connection to `backend`, counting the bytes each way.
struct Relay {
    addr: SocketAddr,
    /// Bytes from the endpoint to the backend.
    up: Arc<AtomicU64>,
    /// Bytes from the backend to the endpoint.
    down: Arc<AtomicU64>,
}

fn pump(mut from: TcpStream, mut to: TcpStream, count: Arc<AtomicU64>) {
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                count.fetch_add(n as u64, Ordering::SeqCst);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Relay {
    fn to(backend: SocketAddr) -> Relay {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (u, d) = (up.clone(), down.clone());
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(c) = c else { break };
                let Ok(b) = TcpStream::connect(backend) else {
                    continue;
                };
                c.set_nodelay(true).unwrap();
                b.set_nodelay(true).unwrap();
                let (c2, b2) = (c.try_clone().unwrap(), b.try_clone().unwrap());
                let (u, d) = (u.clone(), d.clone());
                std::thread::spawn(move || pump(c, b, u));
                std::thread::spawn(move || pump(b2, c2, d));
            }
        });
        Relay { addr, up, down }
    }

    /// The counts once they stopped moving (the relay's threads may lag the client).
    fn settled(&self) -> Traffic {
        let mut last = (u64::MAX, u64::MAX);
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = (
                self.up.load(Ordering::SeqCst),
                self.down.load(Ordering::SeqCst),
            );
            if now == last {
                return Traffic {
                    sent: now.0,
                    received: now.1,
                };
            }
            last = now;
        }
    }

    fn reset(&self) {
        self.settled();
        self.up.store(0, Ordering::SeqCst);
        self.down.store(0, Ordering::SeqCst);
    }
}

/// Serves a fixed request body and swallows the answer.
#[derive(Default)]
struct Client {
    body: Vec<u8>,
    pos: usize,
    out: Vec<u8>,
}

impl Peer for Client {
    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.body.len() - self.pos);
        buf[..n].copy_from_slice(&self.body[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
    fn start_response(&mut self, _: u16, _: &[u8], _: &[(&[u8], &[u8])]) -> io::Result<()> {
        Ok(())
    }
    fn write_body(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.extend_from_slice(data);
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn packet(method: &str, content_length: Option<u64>, chunked: bool) -> Vec<u8> {
    common::packet(method, "/app/x", content_length, chunked)
}

fn traffic_of(r: &Result<jk_ajp_client::ResponseSummary, jk_ajp_client::ServiceError>) -> Traffic {
    match r {
        Ok(s) => s.ajp,
        Err(e) => e.traffic,
    }
}

#[test]
fn a_small_get_counts_its_forward_request_and_every_reply_packet() {
    let server = TestServer::start(
        "127.0.0.1:0",
        Behaviour::Respond(Response::text(200, "OK", "hello\n")),
    )
    .unwrap();
    let relay = Relay::to(server.addr());
    let ep = endpoint_at(relay.addr, |_| {});
    let p = packet("GET", None, false);
    for round in 0..3 {
        let r = ep.service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Client::default(),
        );
        let t = traffic_of(&r);
        assert!(r.is_ok());
        let wire = relay.settled();
        assert_eq!(t, wire, "round {round}: counted vs on the wire");
        assert_eq!(
            t.sent,
            p.len() as u64,
            "a GET sends only its forward request"
        );
        // SEND_HEADERS, one SEND_BODY_CHUNK, END_RESPONSE: three headers of 4 bytes at least.
        assert!(t.received > 3 * 4 + 6, "{t:?}");
        relay.reset();
    }
}

#[test]
fn a_post_counts_every_body_packet_and_get_body_chunk() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let relay = Relay::to(server.addr());
    let ep = endpoint_at(relay.addr, |_| {});
    for (body, kind) in [
        (vec![5u8; 20_000], Body::Length(20_000)),
        (vec![6u8; 3_000], Body::Length(3_000)),
        (vec![7u8; 20_000], Body::Chunked),
    ] {
        let chunked = kind == Body::Chunked;
        let p = packet("POST", (!chunked).then_some(body.len() as u64), chunked);
        let mut client = Client {
            body: body.clone(),
            ..Default::default()
        };
        let r = ep.service(&req(&p), &mut RequestBody::new(kind), &mut client);
        assert_eq!(client.out, body);
        let t = traffic_of(&r);
        assert_eq!(t, relay.settled(), "{kind:?}");
        // The forward request, the body in packets of 4 + 2 + data bytes (and the empty
        // packet that ends a chunked body).
        assert!(
            t.sent >= p.len() as u64 + body.len() as u64 + 6,
            "{kind:?}: {t:?}"
        );
        // The echoed body comes back in SEND_BODY_CHUNKs.
        assert!(t.received > body.len() as u64, "{kind:?}: {t:?}");
        relay.reset();
    }
}

#[test]
fn cpings_on_behalf_of_the_request_count_too() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let relay = Relay::to(server.addr());
    let ep = endpoint_at(relay.addr, |c| {
        c.ping = PingModes {
            connect: Some(Duration::from_millis(500)),
            prepost: Some(Duration::from_millis(500)),
            ..Default::default()
        }
    });
    let p = packet("GET", None, false);
    for _ in 0..2 {
        let r = ep.service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Client::default(),
        );
        let t = traffic_of(&r);
        assert!(r.is_ok());
        // The connect CPing (first request) or the prepost one (second): 5 bytes out, 5 in.
        assert_eq!(t, relay.settled());
        assert_eq!(t.sent, p.len() as u64 + 5);
        relay.reset();
    }
    assert_eq!(server.cpings_received(), 2);
}

#[test]
fn a_failed_request_still_counts_what_crossed_the_wire() {
    // Each try sends the forward request and reads a partial answer before the backend
    // closes; both tries count (mod_jk adds the bytes of every outcome).
    let server =
        TestServer::start("127.0.0.1:0", Behaviour::CloseMidBody { after_bytes: 100 }).unwrap();
    let relay = Relay::to(server.addr());
    let ep = endpoint_at(relay.addr, |c| c.retries = 2);
    let p = packet("GET", None, false);
    let r = ep.service(
        &req(&p),
        &mut RequestBody::new(Body::None),
        &mut Client::default(),
    );
    assert!(r.is_err());
    let t = traffic_of(&r);
    assert_eq!(t, relay.settled());
    assert!(t.sent >= p.len() as u64 && t.received > 100, "{t:?}");

    // A reply timeout: the request went out, nothing came back.
    let server = TestServer::start("127.0.0.1:0", Behaviour::Stall { millis: 800 }).unwrap();
    let relay = Relay::to(server.addr());
    let ep = endpoint_at(relay.addr, |c| {
        c.reply_timeout = Some(Duration::from_millis(100));
        c.retries = 1;
    });
    let e = ep
        .service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Client::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReplyTimeout);
    assert_eq!(
        e.traffic,
        Traffic {
            sent: p.len() as u64,
            received: 0
        }
    );

    // Nothing listening: nothing sent, nothing received.
    let gone = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let ep = endpoint_at(gone, |_| {});
    let e = ep
        .service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Client::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connect);
    assert_eq!(e.traffic, Traffic::default());
}

/// Opened minus closed, and the tokens handed out.
#[derive(Default)]
struct Open {
    now: AtomicI64,
    max: AtomicI64,
    opened: AtomicUsize,
}

impl ConnectionCounter for Open {
    fn opened(&self) -> usize {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
        self.opened.fetch_add(1, Ordering::SeqCst) + 100
    }
    fn closed(&self, token: usize) {
        assert!(token >= 100, "a token this counter handed out");
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn every_connection_is_reported_open_until_it_closes() {
    let server = TestServer::start("127.0.0.1:0", Behaviour::Stall { millis: 300 }).unwrap();
    let ep = Arc::new(endpoint_at(server.addr(), |c| c.pool_size = 4));
    let open = Arc::new(Open::default());
    ep.set_connection_counter(open.clone());
    let p = packet("GET", None, false);
    // Three parallel requests: three connections, kept in the pool afterwards.
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                ep.service(
                    &req(&p),
                    &mut RequestBody::new(Body::None),
                    &mut Client::default(),
                )
                .unwrap();
            });
        }
    });
    assert_eq!(open.now.load(Ordering::SeqCst), 3);
    assert_eq!(open.max.load(Ordering::SeqCst), 3);
    assert_eq!(server.connections_open(), 3);
    // Sequential requests reuse them.
    for _ in 0..2 {
        ep.service(
            &req(&p),
            &mut RequestBody::new(Body::None),
            &mut Client::default(),
        )
        .unwrap();
    }
    assert_eq!(open.opened.load(Ordering::SeqCst), 3);
    // A connection the backend ends (END_RESPONSE reuse=0) is closed and reported.
    server.set_behaviour(Behaviour::EndWithoutReuse);
    ep.service(
        &req(&p),
        &mut RequestBody::new(Body::None),
        &mut Client::default(),
    )
    .unwrap();
    assert_eq!(open.now.load(Ordering::SeqCst), 2);
    // Maintenance closing idle connections reports them; so does dropping the endpoint.
    ep.reset_connections();
    assert_eq!(open.now.load(Ordering::SeqCst), 0);
    server.set_behaviour(Behaviour::Respond(Response::text(200, "OK", "x")));
    ep.service(
        &req(&p),
        &mut RequestBody::new(Body::None),
        &mut Client::default(),
    )
    .unwrap();
    assert_eq!(open.now.load(Ordering::SeqCst), 1);
    drop(ep);
    wait_until("the pooled connection closed", || {
        open.now.load(Ordering::SeqCst) == 0
    });
    // A failed connect never counted.
    let gone = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let ep = endpoint_at(gone, |_| {});
    let refused = Arc::new(Open::default());
    ep.set_connection_counter(refused.clone());
    let _ = ep.service(
        &req(&p),
        &mut RequestBody::new(Body::None),
        &mut Client::default(),
    );
    assert_eq!(refused.opened.load(Ordering::SeqCst), 0);
}
