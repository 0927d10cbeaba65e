//! Deterministic pseudo-random mutation of valid replies: decoding must never panic, and an
//! accepted message must only borrow bytes that were in the payload.
#![allow(clippy::unwrap_used)]

use jk_ajp::{
    decode_forward_request, decode_reply, encode_end_response, encode_get_body_chunk,
    encode_send_body_chunk, encode_send_headers, read_header, ForwardRequest, HeaderName, Reply,
    ResponseHeaderCode, CPONG,
};

/// xorshift64*: enough randomness for mutation, no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap()).unwrap()
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let headers = [
        (
            HeaderName::Coded(ResponseHeaderCode::CONTENT_TYPE),
            &b"text/html;charset=UTF-8"[..],
        ),
        (
            HeaderName::Coded(ResponseHeaderCode::SET_COOKIE),
            b"JSESSIONID=ABC.m2; Path=/",
        ),
        (HeaderName::Named(b"X-Powered-By"), b"Servlet"),
        (HeaderName::Coded(ResponseHeaderCode::CONTENT_LENGTH), b"42"),
    ];
    vec![
        encode_send_headers(200, Some(b"200"), &headers, 8192).unwrap(),
        encode_send_headers(404, None, &[], 8192).unwrap(),
        encode_send_body_chunk(b"<html>hello</html>", 8192).unwrap(),
        encode_end_response(true).to_vec(),
        encode_get_body_chunk(8186).to_vec(),
        CPONG.to_vec(),
    ]
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut p = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !p.is_empty() => {
                let i = rng.below(p.len());
                p[i] = u8::try_from(rng.next() & 0xFF).unwrap();
            }
            1 if !p.is_empty() => {
                let i = rng.below(p.len());
                p[i] ^= 1 << rng.below(8);
            }
            2 => p.truncate(rng.below(p.len() + 1)),
            3 => {
                let i = rng.below(p.len() + 1);
                let special = [0x00, 0xFF, 0xA0, 0x0B, 0x0C, 0x03, 0x04];
                p.insert(i, special[rng.below(special.len())]);
            }
            4 if p.len() > 1 => {
                let i = rng.below(p.len() - 1);
                let word = [[0xFF, 0xFF], [0xA0, 0x0C], [0x00, 0x00], [0x7F, 0xFF]];
                p[i..i + 2].copy_from_slice(&word[rng.below(word.len())]);
            }
            _ => p.push(u8::try_from(rng.next() & 0xFF).unwrap()),
        }
    }
    p
}

fn within(payload: &[u8], s: &[u8]) -> bool {
    let start = payload.as_ptr() as usize;
    let end = start + payload.len();
    let p = s.as_ptr() as usize;
    s.is_empty() || (p >= start && p + s.len() <= end)
}

#[test]
fn ten_thousand_mutated_replies_never_panic() {
    let seeds = seeds();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut err) = (0usize, 0usize);
    for round in 0..20_000 {
        let seed = &seeds[round % seeds.len()];
        let packet = mutate(&mut rng, seed);
        if packet.len() >= 4 {
            let head = [packet[0], packet[1], packet[2], packet[3]];
            let _ = read_header(&head, 8192);
        }
        // Decode the payload with the header's length ignored, as a fuzzer would.
        let payload = packet.get(4..).unwrap_or(&[]);
        match decode_reply(payload) {
            Ok(reply) => {
                ok += 1;
                match reply {
                    Reply::SendHeaders {
                        status,
                        reason,
                        headers,
                    } => {
                        assert_ne!(status, 0);
                        assert!(within(payload, reason));
                        for (name, value) in headers {
                            assert!(within(payload, value));
                            if let HeaderName::Named(n) = name {
                                assert!(within(payload, n));
                            }
                            assert!(!name.as_bytes().is_empty() || name == HeaderName::Named(b""));
                        }
                    }
                    Reply::SendBodyChunk(data) => assert!(within(payload, data)),
                    _ => {}
                }
            }
            Err(e) => {
                err += 1;
                assert!(!e.to_string().is_empty());
                assert!(matches!(e.http_status(), 500 | 502 | 413));
            }
        }
        let _ = decode_forward_request(payload);
    }
    assert!(ok > 1000 && err > 1000, "ok {ok}, err {err}");
}

#[test]
fn mutated_forward_requests_never_panic() {
    let req = ForwardRequest {
        method: b"PATCH",
        is_ssl: true,
        headers: vec![(b"Host", b"h"), (b"X-A", b"b")],
        query_string: Some(b"a=1"),
        ssl_key_size: Some(256),
        remote_port: b"1234",
        local_addr: b"127.0.0.1",
        env: vec![(b"E", b"v")],
        ..ForwardRequest::default()
    };
    let packet = req.encode(8192).unwrap();
    let mut rng = Rng(42);
    for _ in 0..10_000 {
        let p = mutate(&mut rng, &packet[4..]);
        let _ = decode_forward_request(&p);
        let _ = decode_reply(&p);
    }
}

#[test]
fn every_header_word_and_every_type_byte() {
    for word in 0u16..=0xFFFF {
        let [hi, lo] = word.to_be_bytes();
        let _ = read_header(&[hi, lo, hi, lo], 8192);
        let p = [
            0x04, 0x00, 0xC8, 0xFF, 0xFF, 0x00, 0x01, hi, lo, 0x00, 0x00, 0x00,
        ];
        let _ = decode_reply(&p);
    }
    for t in 0u8..=0xFF {
        let _ = decode_reply(&[t]);
        let _ = decode_reply(&[t, 0xFF, 0xFF, 0xFF]);
    }
}
