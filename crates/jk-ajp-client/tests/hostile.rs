#![allow(clippy::unwrap_used)]
//! Hostile backends: a few hundred reply streams made of valid AJP packets, truncated and
//! oversized ones and garbage, each sent by a real socket after the request was read. The
//! client must end every request with a response or a classified error: no panic, no hang,
//! never more body bytes than the backend sent.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener};
use std::time::Duration;

mod common;

use jk_ajp_client::{Body, Endpoint, EndpointConfig, Peer, RequestBody, ServiceRequest};

#[derive(Default)]
struct Sink {
    started: usize,
    body: u64,
}

impl Peer for Sink {
    fn read_body(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
    fn start_response(&mut self, _: u16, _: &[u8], _: &[(&[u8], &[u8])]) -> io::Result<()> {
        self.started += 1;
        Ok(())
    }
    fn write_body(&mut self, data: &[u8]) -> io::Result<()> {
        self.body += data.len() as u64;
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn packet(payload: &[u8]) -> Vec<u8> {
    let mut p = vec![b'A', b'B'];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
    out.push(0);
}

/// One piece of a reply stream.
fn piece(r: &mut Rng) -> Vec<u8> {
    match r.below(9) {
        0 => {
            let mut p = vec![4];
            p.extend_from_slice(&(100 + r.below(500) as u16).to_be_bytes());
            put_string(&mut p, b"OK");
            let n = r.below(4) as u16;
            p.extend_from_slice(&n.to_be_bytes());
            for _ in 0..n {
                if r.below(2) == 0 {
                    p.extend_from_slice(&(0xA001 + r.below(12) as u16).to_be_bytes());
                } else {
                    put_string(&mut p, b"X-H");
                }
                put_string(&mut p, b"v");
            }
            packet(&p)
        }
        1 | 2 => {
            let n = r.below(20_000) as usize;
            let mut p = vec![3];
            p.extend_from_slice(&(n as u16).to_be_bytes());
            p.extend(std::iter::repeat_n(b'x', n));
            p.push(0);
            packet(&p)
        }
        3 => packet(&[5, r.below(2) as u8]),
        4 => packet(&[6, 0x1F, 0xFA]),
        5 => {
            // A chunk whose inner length lies.
            packet(&[3, 0xFF, 0xFF, b'a', b'b'])
        }
        6 => {
            // A header announcing more than arrives (truncated packet).
            let mut p = vec![b'A', b'B', 0x10, 0x00];
            p.extend(std::iter::repeat_n(3, r.below(100) as usize));
            p
        }
        7 => (0..r.below(64)).map(|_| r.next() as u8).collect(),
        _ => packet(&[r.next() as u8]),
    }
}

#[test]
fn random_reply_streams_end_in_a_response_or_a_classified_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cfg = EndpointConfig::new("hostile", Some(addr));
    cfg.retries = 1;
    cfg.reply_timeout = Some(Duration::from_millis(500));
    cfg.socket_timeout = Some(Duration::from_secs(2));
    cfg.max_packet_size = 65536;
    let ep = Endpoint::new(cfg);
    let request = jk_ajp::ForwardRequest {
        method: b"GET",
        req_uri: b"/h",
        remote_port: b"1",
        local_addr: b"127.0.0.1",
        remote_addr: b"127.0.0.1",
        server_name: b"localhost",
        ..Default::default()
    }
    .encode(8192)
    .unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let rounds = 300;
    let streams: Vec<Vec<u8>> = (0..rounds)
        .map(|_| {
            let mut s = Vec::new();
            for _ in 0..1 + rng.below(6) {
                s.extend(piece(&mut rng));
            }
            s
        })
        .collect();
    let sent_bodies: Vec<usize> = streams.iter().map(Vec::len).collect();
    let server = std::thread::spawn(move || {
        for s in streams {
            // Every request gets a fresh connection with one stream, then a close.
            let (mut c, _) = listener.accept().unwrap();
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut head = [0u8; 4];
            if c.read_exact(&mut head).is_err() {
                continue;
            }
            let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
            let mut rest = vec![0u8; len];
            let _ = c.read_exact(&mut rest);
            let _ = c.write_all(&s);
            let _ = c.shutdown(Shutdown::Write);
            // Drain until the client closes (so the close is not a reset).
            let mut sink = [0u8; 1024];
            while matches!(c.read(&mut sink), Ok(n) if n > 0) {}
        }
    });
    let (mut ok, mut err) = (0, 0);
    for sent in sent_bodies {
        let mut peer = Sink::default();
        let req = ServiceRequest {
            disable_reuse: true,
            check_for_stop: false,
            ..common::req(&request)
        };
        match ep.service(&req, &mut RequestBody::new(Body::None), &mut peer) {
            Ok(s) => {
                ok += 1;
                assert!(peer.started <= 1, "one start per response");
                assert_eq!(s.body_bytes, peer.body);
            }
            Err(e) => {
                err += 1;
                assert!(!e.message.is_empty());
            }
        }
        assert!(peer.body <= sent as u64, "more body than the backend sent");
    }
    server.join().unwrap();
    assert_eq!(ok + err, rounds);
    eprintln!("hostile backends: {ok} responses, {err} classified errors");
    assert!(
        ok > 0 && err > 0,
        "the streams cover both outcomes: {ok} ok, {err} errors"
    );
}
