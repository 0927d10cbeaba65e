//! Packets from an AJP13 container, from arbitrary bytes, through the header check and the
//! reply decoder: must never panic, and never accept what the protocol forbids. Run with
//! `cargo +nightly fuzz run ajp_reply`.
#![no_main]

use jk_ajp::{decode_reply, read_header, HeaderName, Reply, DEFAULT_MAX_PACKET_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // As the client reads it: a 4-byte header, then the announced payload.
    if let [a, b, c, d, rest @ ..] = data {
        match read_header(&[*a, *b, *c, *d], DEFAULT_MAX_PACKET_SIZE) {
            Ok(len) => {
                assert!(len <= DEFAULT_MAX_PACKET_SIZE);
                if let Some(payload) = rest.get(..len) {
                    check(payload);
                }
            }
            Err(e) => {
                assert!(e.is_protocol_error());
                let _ = e.to_string();
            }
        }
    }
    // And the raw bytes as a payload, whatever the header would have said.
    check(data);
});

fn check(payload: &[u8]) {
    match decode_reply(payload) {
        Ok(Reply::SendHeaders {
            status,
            reason,
            headers,
        }) => {
            assert_ne!(status, 0);
            assert!(reason.len() < payload.len());
            for (name, value) in headers {
                if let HeaderName::Coded(code) = name {
                    assert!(code.name().is_some());
                }
                assert!(value.len() < payload.len());
            }
        }
        Ok(Reply::SendBodyChunk(chunk)) => assert!(chunk.len() + 3 <= payload.len()),
        Ok(_) => {}
        Err(e) => {
            assert!(!e.is_protocol_error() && !e.is_too_large());
            let _ = e.to_string();
        }
    }
}
