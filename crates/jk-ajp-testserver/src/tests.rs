//! End-to-end tests with a raw-bytes client on real sockets.
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::wire::*;
use crate::*;

const T: Duration = Duration::from_secs(5);

/// Appends an AJP string by hand.
fn s(out: &mut Vec<u8>, v: &str) {
    out.extend_from_slice(&(v.len() as u16).to_be_bytes());
    out.extend_from_slice(v.as_bytes());
    out.push(0);
}

/// A hand-built FORWARD_REQUEST payload: method code, uri, headers (code or name), query.
fn forward(method: u8, uri: &str, headers: &[(&str, &str)], query: Option<&str>) -> Vec<u8> {
    let mut p = vec![0x02, method];
    s(&mut p, "HTTP/1.1");
    s(&mut p, uri);
    s(&mut p, "127.0.0.1");
    p.extend_from_slice(&[0xFF, 0xFF]);
    s(&mut p, "localhost");
    p.extend_from_slice(&80u16.to_be_bytes());
    p.push(0);
    p.extend_from_slice(&(headers.len() as u16).to_be_bytes());
    for (n, v) in headers {
        match *n {
            "host" => p.extend_from_slice(&[0xA0, 0x0B]),
            "content-length" => p.extend_from_slice(&[0xA0, 0x08]),
            other => s(&mut p, other),
        }
        s(&mut p, v);
    }
    if let Some(q) = query {
        p.push(0x05);
        s(&mut p, q);
    }
    p.push(0x0A);
    s(&mut p, "AJP_REMOTE_PORT");
    s(&mut p, "50000");
    p.push(0xFF);
    p
}

fn framed(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x12, 0x34];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn data_packet(data: &[u8]) -> Vec<u8> {
    let mut p = (data.len() as u16).to_be_bytes().to_vec();
    p.extend_from_slice(data);
    framed(&p)
}

struct Client {
    s: TcpStream,
}

impl Client {
    fn connect(server: &TestServer) -> Client {
        let s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        Client { s }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// Reads one container packet: (full bytes incl. header, payload). Panics on EOF.
    fn packet(&mut self) -> (Vec<u8>, Vec<u8>) {
        let mut h = [0u8; 4];
        self.s.read_exact(&mut h).unwrap();
        assert_eq!(&h[..2], b"AB", "bad magic {h:02x?}");
        let mut p = vec![0u8; u16::from_be_bytes([h[2], h[3]]) as usize];
        self.s.read_exact(&mut p).unwrap();
        let mut full = h.to_vec();
        full.extend_from_slice(&p);
        (full, p)
    }

    /// Reads a whole response: (status, reason, headers, body, reuse).
    fn response(&mut self) -> Reply {
        let (_, p) = self.packet();
        assert_eq!(p[0], SEND_HEADERS, "expected SEND_HEADERS, got {p:02x?}");
        let mut r = Reply {
            status: u16::from_be_bytes([p[1], p[2]]),
            ..Reply::default()
        };
        let mut pos = 3;
        let string = |pos: &mut usize| {
            let n = u16::from_be_bytes([p[*pos], p[*pos + 1]]) as usize;
            let v = String::from_utf8(p[*pos + 2..*pos + 2 + n].to_vec()).unwrap();
            assert_eq!(p[*pos + 2 + n], 0);
            *pos += n + 3;
            v
        };
        r.reason = string(&mut pos);
        let count = u16::from_be_bytes([p[pos], p[pos + 1]]);
        pos += 2;
        for _ in 0..count {
            let name = if p[pos] == 0xA0 {
                let c = u16::from_be_bytes([p[pos], p[pos + 1]]);
                pos += 2;
                response_header_name(c).unwrap().to_owned()
            } else {
                string(&mut pos)
            };
            let value = string(&mut pos);
            r.headers.push((name, value));
        }
        assert_eq!(pos, p.len());
        loop {
            let (_, p) = self.packet();
            match p[0] {
                SEND_BODY_CHUNK => {
                    let n = u16::from_be_bytes([p[1], p[2]]) as usize;
                    assert_eq!(p.len(), n + 4, "chunk with Tomcat's trailing 0x00");
                    assert_eq!(p[3 + n], 0);
                    r.chunks.push(n);
                    r.body.extend_from_slice(&p[3..3 + n]);
                }
                END_RESPONSE => {
                    assert_eq!(p.len(), 2);
                    r.reuse = p[1] != 0;
                    return r;
                }
                other => panic!("unexpected type {other}"),
            }
        }
    }

    /// Asserts the server closes: EOF (or reset) with no further bytes within 5 s.
    fn expect_closed(&mut self) {
        let mut b = [0u8; 16];
        match self.s.read(&mut b) {
            Ok(0) => {}
            Ok(n) => panic!("expected close, got {:02x?}", &b[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("expected close, got {e}"),
        }
    }

    fn read_all(&mut self) -> Vec<u8> {
        let mut v = Vec::new();
        let _ = self.s.read_to_end(&mut v);
        v
    }

    fn cping(&mut self) {
        self.send(&[0x12, 0x34, 0x00, 0x01, 0x0A]);
        assert_eq!(self.packet().0, [0x41, 0x42, 0x00, 0x01, 0x09]);
    }
}

#[derive(Default, Debug)]
struct Reply {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    chunks: Vec<usize>,
    reuse: bool,
}

/// A GET as mod_jk sends it: with `content-length: 0` (no header would mean a chunked body).
fn get(uri: &str) -> Vec<u8> {
    framed(&forward(
        2,
        uri,
        &[("host", "localhost"), ("content-length", "0")],
        None,
    ))
}

fn server(b: Behaviour) -> TestServer {
    TestServer::start("127.0.0.1:0", b).unwrap()
}

#[test]
fn respond_exact_bytes() {
    let resp = Response::new(201, "Created")
        .header("Content-Type", "text/html")
        .header("X-Thing", "1")
        .header("Set-Cookie", "a=b")
        .body(b"hello world")
        .chunk_size(4);
    let srv = server(Behaviour::Respond(resp));
    let mut c = Client::connect(&srv);
    let headers = [("host", "h:1"), ("X-Custom", "v"), ("content-length", "0")];
    let payload = forward(2, "/app/x", &headers, Some("q=1"));
    c.send(&framed(&payload));

    let mut want = vec![0x04, 0x00, 201];
    s(&mut want, "Created");
    want.extend_from_slice(&[0x00, 0x03, 0xA0, 0x01]);
    s(&mut want, "text/html");
    s(&mut want, "X-Thing");
    s(&mut want, "1");
    want.extend_from_slice(&[0xA0, 0x07]);
    s(&mut want, "a=b");
    assert_eq!(c.packet().1, want);
    assert_eq!(c.packet().0, b"AB\x00\x08\x03\x00\x04hell\x00");
    assert_eq!(c.packet().0, b"AB\x00\x08\x03\x00\x04o wo\x00");
    assert_eq!(c.packet().0, b"AB\x00\x07\x03\x00\x03rld\x00");
    assert_eq!(c.packet().0, [0x41, 0x42, 0x00, 0x02, 0x05, 0x01]);

    assert!(srv.wait_for_requests(1, T));
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.raw, payload);
    assert_eq!(r.decoded.method, "GET");
    assert_eq!(r.decoded.uri, "/app/x");
    assert_eq!(r.decoded.header("HOST"), Some("h:1"));
    assert_eq!(r.decoded.header("x-custom"), Some("v"));
    assert_eq!(r.decoded.query(), Some("q=1"));
    assert_eq!(r.decoded.attribute_str("AJP_REMOTE_PORT"), Some("50000"));
    assert_eq!(r.connection_id, 1);
    assert!(r.body.is_empty() && r.body_packets.is_empty() && r.decode_error.is_none());
    assert_eq!(srv.connections_accepted(), 1);
}

#[test]
fn uncoded_headers_and_default_chunking() {
    let body = vec![b'z'; 20000];
    let resp = Response::new(200, "200")
        .header("Content-Type", "a/b")
        .body(&body)
        .coded(false);
    let srv = server(Behaviour::Respond(resp));
    let mut c = Client::connect(&srv);
    c.send(&get("/"));
    let (_, p) = c.packet();
    let mut want = vec![0x04, 0x00, 200];
    s(&mut want, "200");
    want.extend_from_slice(&[0, 1]);
    s(&mut want, "Content-Type");
    s(&mut want, "a/b");
    assert_eq!(p, want);
    let mut chunks = Vec::new();
    loop {
        let (full, p) = c.packet();
        if p[0] == END_RESPONSE {
            break;
        }
        assert!(full.len() <= 8192);
        chunks.push(p.len() - 4);
    }
    assert_eq!(chunks, [8184, 8184, 20000 - 2 * 8184]);
}

#[test]
fn cping_cpong_and_counts() {
    let srv = server(Behaviour::default());
    let mut c = Client::connect(&srv);
    c.cping();
    c.cping();
    c.send(&get("/a"));
    let r = c.response();
    assert_eq!(
        (r.status, r.reason.as_str(), r.body.as_slice()),
        (200, "OK", &b"OK\n"[..])
    );
    assert!(r.reuse);
    c.cping();
    c.send(&get("/b"));
    c.response();
    c.send(&get("/c"));
    c.response();
    let reqs = srv.requests();
    let counts: Vec<_> = reqs.iter().map(|r| r.cpings_before).collect();
    assert_eq!(counts, [2, 1, 0]);
    assert_eq!(srv.cpings_received(), 3);
    // A CPING on a fresh connection.
    let mut c2 = Client::connect(&srv);
    c2.cping();
    assert_eq!(srv.connections_accepted(), 2);
}

#[test]
fn content_length_body_in_three_packets() {
    let srv = server(Behaviour::Echo);
    let mut c = Client::connect(&srv);
    let payload = forward(4, "/up", &[("content-length", "30")], None);
    c.send(&framed(&payload));
    c.send(&data_packet(b"0123456789"));
    assert_eq!(c.packet().0, [0x41, 0x42, 0x00, 0x03, 0x06, 0x1F, 0xFA]);
    c.send(&data_packet(b"abcdefghij"));
    assert_eq!(c.packet().0, [0x41, 0x42, 0x00, 0x03, 0x06, 0x1F, 0xFA]);
    c.send(&data_packet(b"ABCDEFGHIJ"));
    let r = c.response();
    assert_eq!(r.body, b"0123456789abcdefghijABCDEFGHIJ");
    assert_eq!(r.headers[0], ("Content-Type".into(), "text/plain".into()));
    assert_eq!(r.headers[1], ("Content-Length".into(), "30".into()));
    let req = &srv.requests()[0];
    assert_eq!(req.decoded.method, "POST");
    assert_eq!(req.body, b"0123456789abcdefghijABCDEFGHIJ");
    assert_eq!(req.body_packets.len(), 3);
    assert_eq!(
        req.body_packets[0],
        [&[0u8, 10][..], b"0123456789"].concat()
    );
    assert!(req.body_complete);
}

#[test]
fn respond_uses_max_chunk() {
    let resp = Response {
        max_chunk: 5,
        ..Response::default()
    };
    let srv = server(Behaviour::Respond(resp));
    let mut c = Client::connect(&srv);
    c.send(&framed(&forward(4, "/", &[("content-length", "7")], None)));
    c.send(&data_packet(b"abcde"));
    assert_eq!(c.packet().0, [0x41, 0x42, 0x00, 0x03, 0x06, 0x00, 0x05]);
    c.send(&data_packet(b"fg"));
    assert_eq!(c.response().status, 200);
    assert_eq!(srv.requests()[0].body, b"abcdefg");
}

#[test]
fn chunked_body_until_empty_packet() {
    let srv = server(Behaviour::Echo);
    let mut c = Client::connect(&srv);
    let payload = forward(5, "/put", &[("Transfer-Encoding", "chunked")], None);
    c.send(&framed(&payload));
    for part in [&b"first,"[..], b"second,", b"third"] {
        assert_eq!(c.packet().0, [0x41, 0x42, 0x00, 0x03, 0x06, 0x1F, 0xFA]);
        c.send(&data_packet(part));
    }
    assert_eq!(c.packet().0, [0x41, 0x42, 0x00, 0x03, 0x06, 0x1F, 0xFA]);
    c.send(&[0x12, 0x34, 0x00, 0x00]);
    let r = c.response();
    assert_eq!(r.body, b"first,second,third");
    let req = &srv.requests()[0];
    assert_eq!(req.body_packets.len(), 4);
    assert!(req.body_packets[3].is_empty());
    assert!(req.body_complete);
    // `12 34 00 02 00 00` also ends a body.
    c.send(&framed(&payload));
    assert_eq!(c.packet().1[0], GET_BODY_CHUNK);
    c.send(&[0x12, 0x34, 0x00, 0x02, 0x00, 0x00]);
    let r = c.response();
    assert!(r
        .body
        .starts_with(b"method: PUT\nuri: /put\nquery: \nheader: Transfer-Encoding"));
}

#[test]
fn echo_listing_for_empty_body() {
    let srv = server(Behaviour::Echo);
    let mut c = Client::connect(&srv);
    c.send(&framed(&forward(
        2,
        "/e",
        &[("host", "x"), ("content-length", "0")],
        Some("a=1"),
    )));
    let r = c.response();
    assert_eq!(
        String::from_utf8(r.body).unwrap(),
        "method: GET\nuri: /e\nquery: a=1\nheader: host: x\nheader: content-length: 0\n"
    );
}

#[test]
fn connection_reuse_and_set_behaviour() {
    let srv = server(Behaviour::default());
    let mut c = Client::connect(&srv);
    c.send(&get("/1"));
    assert_eq!(c.response().status, 200);
    srv.set_behaviour(Behaviour::Respond(Response::text(404, "Not Found", "nope")));
    c.send(&get("/2"));
    let r = c.response();
    assert_eq!(
        (r.status, r.body.as_slice(), r.reuse),
        (404, &b"nope"[..], true)
    );
    assert_eq!(srv.connections_accepted(), 1);
    let reqs = srv.take_requests();
    assert_eq!(
        reqs.iter().map(|r| r.connection_id).collect::<Vec<_>>(),
        [1, 1]
    );
    assert_eq!(reqs[1].decoded.uri, "/2");
    assert!(srv.requests().is_empty());
    assert!(!srv.wait_for_requests(1, Duration::from_millis(50)));
}

#[test]
fn download_pattern() {
    let srv = server(Behaviour::Download {
        bytes: 20000,
        chunk_size: 0,
    });
    let mut c = Client::connect(&srv);
    c.send(&get("/big"));
    let r = c.response();
    assert_eq!(r.headers[1], ("Content-Length".into(), "20000".into()));
    assert_eq!(r.chunks, [8184, 8184, 3632]);
    assert_eq!(r.body, pattern(0, 20000));
    assert_eq!(&r.body[..12], b"0123456789ab");
    assert!(r.reuse);
    // A bigger one through the 64 KiB flushes, with small chunks.
    srv.set_behaviour(Behaviour::Download {
        bytes: 300_001,
        chunk_size: 1000,
    });
    c.send(&get("/big2"));
    let r = c.response();
    assert_eq!(r.body.len(), 300_001);
    assert_eq!(r.body, pattern(0, 300_001));
    assert_eq!(r.chunks.len(), 301);
}

#[test]
fn close_immediately() {
    let srv = server(Behaviour::CloseImmediately);
    let mut c = Client::connect(&srv);
    c.send(&get("/"));
    assert_eq!(c.read_all(), b"");
    // With a body: only the unsolicited first packet is read, no GET_BODY_CHUNK is sent.
    let mut c = Client::connect(&srv);
    c.send(&framed(&forward(
        4,
        "/",
        &[("content-length", "100")],
        None,
    )));
    c.send(&data_packet(b"abc"));
    assert_eq!(c.read_all(), b"");
    assert!(srv.wait_for_requests(2, T));
    let r = &srv.requests()[1];
    assert_eq!(r.body, b"abc");
    assert!(!r.body_complete);
}

#[test]
fn close_after_headers() {
    let srv = server(Behaviour::CloseAfterHeaders);
    let mut c = Client::connect(&srv);
    c.send(&get("/"));
    let (_, p) = c.packet();
    assert_eq!(p[..3], [0x04, 0x00, 200]);
    c.expect_closed();
}

#[test]
fn close_mid_body() {
    let srv = server(Behaviour::CloseMidBody { after_bytes: 10000 });
    let mut c = Client::connect(&srv);
    c.send(&get("/"));
    let (_, p) = c.packet();
    assert_eq!(p[0], SEND_HEADERS);
    let mut body = Vec::new();
    for _ in 0..2 {
        let (_, p) = c.packet();
        assert_eq!(p[0], SEND_BODY_CHUNK);
        body.extend_from_slice(&p[3..p.len() - 1]);
    }
    assert_eq!(body, pattern(0, 10000));
    c.expect_closed();
}

#[test]
fn garbage() {
    let srv = server(Behaviour::Garbage);
    let mut c = Client::connect(&srv);
    c.send(&get("/"));
    let g = c.read_all();
    assert_eq!(g.len(), 64);
    assert!(g.starts_with(b"HTTP/1.1 200 OK"));
    assert_ne!(&g[..2], b"AB");
}

#[test]
fn oversized_packet() {
    let srv = server(Behaviour::OversizedPacket);
    let mut c = Client::connect(&srv);
    c.send(&get("/"));
    let all = c.read_all();
    assert_eq!(&all[..4], [0x41, 0x42, 0xFF, 0xFF]);
    assert_eq!(all.len(), 4 + 65535);
    assert_eq!(all[4], SEND_HEADERS);
}

#[test]
fn bad_length() {
    let srv = server(Behaviour::BadLength);
    let mut c = Client::connect(&srv);
    c.send(&get("/"));
    assert_eq!(c.packet().1[0], SEND_HEADERS);
    let (full, p) = c.packet();
    assert_eq!(full, b"AB\x00\x08\x03\x03\xE8hello");
    assert!(usize::from(u16::from_be_bytes([p[1], p[2]])) > p.len() - 3);
    c.expect_closed();
}

#[test]
fn unknown_message_type() {
    let srv = server(Behaviour::UnknownMessageType);
    let mut c = Client::connect(&srv);
    c.send(&get("/"));
    assert_eq!(c.read_all(), [0x41, 0x42, 0x00, 0x01, 0x7F]);
}

#[test]
fn stall_then_answer() {
    let srv = server(Behaviour::Stall { millis: 300 });
    let mut c = Client::connect(&srv);
    let t0 = Instant::now();
    c.send(&get("/"));
    assert!(srv.wait_for_requests(1, T), "recorded before the stall");
    assert!(t0.elapsed() < Duration::from_millis(300));
    let r = c.response();
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.status, 200);
    assert!(r.reuse);
}

#[test]
fn end_without_reuse() {
    let srv = server(Behaviour::EndWithoutReuse);
    let mut c = Client::connect(&srv);
    c.send(&get("/"));
    let r = c.response();
    assert_eq!(r.status, 200);
    assert!(!r.reuse);
    c.expect_closed();
}

#[test]
fn sequence_last_repeats() {
    let srv = server(Behaviour::Sequence(vec![
        Behaviour::Respond(Response::text(503, "Busy", "")),
        Behaviour::Sequence(vec![Behaviour::CloseImmediately]),
        Behaviour::Echo,
    ]));
    let mut c = Client::connect(&srv);
    c.send(&get("/1"));
    assert_eq!(c.response().status, 503);
    c.send(&get("/2"));
    assert_eq!(c.read_all(), b"");
    let mut c = Client::connect(&srv);
    for uri in ["/3", "/4"] {
        c.send(&get(uri));
        let r = c.response();
        assert!(String::from_utf8(r.body).unwrap().contains(uri));
    }
    assert_eq!(srv.requests().len(), 4);
}

#[test]
fn refuse_cpong() {
    let srv = server(Behaviour::RefuseCpong);
    let mut c = Client::connect(&srv);
    c.send(&CPING_PACKET);
    c.s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut b = [0u8; 1];
    let e = c.s.read(&mut b).unwrap_err();
    assert!(matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut
    ));
    c.s.set_read_timeout(Some(T)).unwrap();
    c.send(&get("/"));
    assert_eq!(c.response().status, 200);
    assert_eq!(srv.requests()[0].cpings_before, 1);
    srv.set_behaviour(Behaviour::default());
    c.cping();
}

#[test]
fn peer_closing_mid_body_is_recorded() {
    let srv = server(Behaviour::Echo);
    let mut c = Client::connect(&srv);
    c.send(&framed(&forward(
        4,
        "/",
        &[("content-length", "100")],
        None,
    )));
    c.send(&data_packet(b"partial"));
    assert_eq!(c.packet().1[0], GET_BODY_CHUNK);
    drop(c);
    assert!(srv.wait_for_requests(1, T));
    let r = &srv.requests()[0];
    assert_eq!(r.body, b"partial");
    assert!(!r.body_complete);
    // Half a header, then close.
    let mut c = Client::connect(&srv);
    c.send(&[0x12, 0x34, 0x00]);
    drop(c);
    // Bad magic closes the connection.
    let mut c = Client::connect(&srv);
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    c.expect_closed();
    // The server still works.
    let mut c = Client::connect(&srv);
    c.send(&get("/ok"));
    assert_eq!(c.response().status, 200);
}

#[test]
fn undecodable_request_is_recorded_and_closed() {
    let srv = server(Behaviour::default());
    let mut c = Client::connect(&srv);
    let mut p = forward(2, "/", &[], None);
    p.push(0x00); // trailing byte
    c.send(&framed(&p));
    c.expect_closed();
    assert!(srv.wait_for_requests(1, T));
    let r = &srv.requests()[0];
    assert_eq!(r.raw, p);
    assert!(r.decode_error.as_deref().unwrap().contains("trailing"));
}

#[test]
fn drop_stops_everything() {
    let srv = server(Behaviour::Stall { millis: 60_000 });
    let addr = srv.addr();
    let mut idle = Client::connect(&srv);
    idle.cping();
    let mut stalled = Client::connect(&srv);
    stalled.send(&get("/"));
    assert!(srv.wait_for_requests(1, T));
    assert_eq!(srv.connections_open(), 2);
    let t0 = Instant::now();
    drop(srv);
    assert!(t0.elapsed() < Duration::from_secs(2));
    idle.expect_closed();
    stalled.expect_closed();
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn start_errors_are_returned() {
    let srv = server(Behaviour::default());
    assert!(TestServer::start(&srv.addr().to_string(), Behaviour::Echo).is_err());
    assert!(TestServer::start("not an address", Behaviour::Echo).is_err());
}

/// The FORWARD_REQUEST captured from Debian's mod_jk (reference §14), built byte by byte.
fn captured_request() -> Vec<u8> {
    let mut p = vec![0x02, 0x02];
    s(&mut p, "HTTP/1.1");
    s(&mut p, "/app/x%20y;jsessionid=ABC.m2/z");
    s(&mut p, "127.0.0.1");
    p.extend_from_slice(&[0xFF, 0xFF]);
    s(&mut p, "127.0.0.1");
    p.extend_from_slice(&[0x6D, 0xB0, 0x00, 0x00, 0x08]);
    p.extend_from_slice(&[0xA0, 0x0B]);
    s(&mut p, "127.0.0.1:28080");
    p.extend_from_slice(&[0xA0, 0x0E]);
    s(&mut p, "curl/7.88.1");
    p.extend_from_slice(&[0xA0, 0x01]);
    s(&mut p, "*/*");
    s(&mut p, "Accept-Encoding");
    s(&mut p, "gzip");
    s(&mut p, "Accept-Language");
    s(&mut p, "en");
    p.extend_from_slice(&[0xA0, 0x09]);
    s(&mut p, "a=b");
    s(&mut p, "X-Custom");
    s(&mut p, "v");
    p.extend_from_slice(&[0xA0, 0x08]);
    s(&mut p, "0");
    p.push(0x05);
    s(&mut p, "q=1&r=%41");
    p.push(0x0A);
    s(&mut p, "AJP_REMOTE_PORT");
    s(&mut p, "48468");
    p.push(0x0A);
    s(&mut p, "AJP_LOCAL_ADDR");
    s(&mut p, "127.0.0.1");
    p.push(0x0A);
    s(&mut p, "JK_LB_ACTIVATION");
    s(&mut p, "ACT");
    p.push(0xFF);
    p
}

#[test]
fn decode_reference_capture() {
    let p = captured_request();
    // Spot-check the literal bytes of the beginning.
    assert_eq!(&p[..16], b"\x02\x02\x00\x08HTTP/1.1\x00\x00\x1e/");
    let d = decode_forward_request(&p).unwrap();
    assert_eq!(d.method_code, 2);
    assert_eq!(d.method, "GET");
    assert_eq!(d.protocol, "HTTP/1.1");
    assert_eq!(d.uri, "/app/x%20y;jsessionid=ABC.m2/z");
    assert_eq!(d.remote_addr, "127.0.0.1");
    assert_eq!(d.remote_host, None);
    assert_eq!(d.server_name, "127.0.0.1");
    assert_eq!(d.port, 28080);
    assert!(!d.is_ssl);
    assert_eq!(d.headers.len(), 8);
    assert_eq!(
        d.headers[0],
        (HeaderName::Code(0xA00B), "127.0.0.1:28080".into())
    );
    assert_eq!(
        d.headers[3],
        (HeaderName::Name("Accept-Encoding".into()), "gzip".into())
    );
    assert_eq!(d.header("Host"), Some("127.0.0.1:28080"));
    assert_eq!(d.header("user-agent"), Some("curl/7.88.1"));
    assert_eq!(d.header("ACCEPT"), Some("*/*"));
    assert_eq!(d.header("accept-language"), Some("en"));
    assert_eq!(d.header("Cookie"), Some("a=b"));
    assert_eq!(d.header("x-custom"), Some("v"));
    assert_eq!(d.header("Content-Length"), Some("0"));
    assert_eq!(d.content_length(), Some(0));
    assert_eq!(d.header("referer"), None);
    let names: Vec<_> = d.headers.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        names,
        [
            "host",
            "user-agent",
            "accept",
            "Accept-Encoding",
            "Accept-Language",
            "cookie",
            "X-Custom",
            "content-length"
        ]
    );
    assert_eq!(d.query(), Some("q=1&r=%41"));
    assert_eq!(d.attribute(5u8).unwrap(), "q=1&r=%41");
    assert_eq!(d.attribute_str("AJP_REMOTE_PORT"), Some("48468"));
    assert_eq!(d.attribute_str("AJP_LOCAL_ADDR"), Some("127.0.0.1"));
    assert_eq!(d.attribute_str("JK_LB_ACTIVATION"), Some("ACT"));
    let codes: Vec<_> = d.attributes.iter().map(|a| a.0).collect();
    assert_eq!(codes, [0x05, 0x0A, 0x0A, 0x0A]);
    // The encoder reproduces the capture byte for byte.
    assert_eq!(encode_forward_request(&d), p);
}

#[test]
fn decode_ssl_attributes_and_stored_method() {
    let mut p = vec![0x02, 0xFF];
    for v in ["HTTP/2.0", "/p", "::1"] {
        s(&mut p, v);
    }
    s(&mut p, "client.example");
    s(&mut p, "srv");
    p.extend_from_slice(&[0x01, 0xBB, 0x01, 0x00, 0x00]);
    p.push(0x0C);
    s(&mut p, "sekrit");
    p.push(0x07);
    s(&mut p, "-----BEGIN CERTIFICATE-----");
    p.push(0x08);
    s(&mut p, "TLS_AES_256_GCM_SHA384");
    p.push(0x09);
    s(&mut p, "abcd");
    p.extend_from_slice(&[0x0B, 0x01, 0x00]);
    p.push(0x0D);
    s(&mut p, "PATCH");
    p.push(0x0A);
    s(&mut p, "AJP_SSL_PROTOCOL");
    s(&mut p, "TLSv1.3");
    p.push(0xFF);
    let d = decode_forward_request(&p).unwrap();
    assert_eq!((d.method_code, d.method.as_str()), (0xFF, "PATCH"));
    assert_eq!(d.remote_host.as_deref(), Some("client.example"));
    assert_eq!(d.port, 443);
    assert!(d.is_ssl);
    assert!(d.headers.is_empty());
    assert_eq!(d.attribute("ssl_key_size").unwrap().as_u16(), Some(256));
    assert_eq!(d.attribute_str("secret"), Some("sekrit"));
    assert_eq!(d.attribute_str("stored_method"), Some("PATCH"));
    assert_eq!(d.attribute_str("AJP_SSL_PROTOCOL"), Some("TLSv1.3"));
    assert_eq!(encode_forward_request(&d), p);
}

#[test]
fn decode_rejects_every_truncation_and_bad_field() {
    let p = captured_request();
    for n in 0..p.len() {
        assert!(
            decode_forward_request(&p[..n]).is_err(),
            "prefix of {n} bytes accepted"
        );
    }
    let bad = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut q = p.clone();
        f(&mut q);
        decode_forward_request(&q).unwrap_err().to_string()
    };
    assert!(bad(&|q| q[0] = 0x03).contains("not a FORWARD_REQUEST"));
    assert!(bad(&|q| q[1] = 0x00).contains("method"));
    assert!(bad(&|q| q[1] = 28).contains("method"));
    assert!(bad(&|q| q[1] = 0xFF).contains("stored_method"));
    assert!(bad(&|q| q[12] = b'X').contains("not terminated")); // protocol terminator
    assert!(bad(&|q| q.push(0)).contains("trailing"));
    assert!(bad(&|q| q[2..4].copy_from_slice(&[0xFF, 0xFF])).contains("null"));
    // Unknown header code 0xA00F in place of 0xA00B.
    let h = p.windows(2).position(|w| w == [0xA0, 0x0B]).unwrap();
    assert!(bad(&|q| q[h + 1] = 0x0F).contains("header code"));
    // Unknown attribute code in place of 0x05.
    let a = p
        .windows(4)
        .position(|w| w == [0x05, 0x00, 0x09, b'q'])
        .unwrap();
    assert!(bad(&|q| q[a] = 0x0E).contains("attribute code"));
    // A string length running past the end.
    let mut q = vec![0x02, 0x02, 0xFF, 0x00];
    q.extend_from_slice(b"HTTP");
    assert!(decode_forward_request(&q).is_err());
}

#[test]
fn decode_never_panics_on_mutations() {
    let base = captured_request();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let mut q = base.clone();
        for _ in 0..(rnd() % 4 + 1) {
            let i = (rnd() % q.len() as u64) as usize;
            match rnd() % 3 {
                0 => q[i] = rnd() as u8,
                1 => q.truncate(i),
                _ => q.insert(i, rnd() as u8),
            }
            if q.is_empty() {
                break;
            }
        }
        let _ = decode_forward_request(&q);
    }
}
