//! What an AJP13 container sends, from arbitrary bytes: the input is read as the client reads
//! its connection, packet after packet (4-byte header checked by `read_header`, then the
//! announced payload through `decode_reply`: SEND_HEADERS, SEND_BODY_CHUNK, END_RESPONSE,
//! GET_BODY_CHUNK, CPONG), and the whole input once more as a single payload whatever a header
//! would have said. Run with `cargo +nightly fuzz run ajp_reply`.
//!
//! Asserted, beyond "no panic":
//! * the header check accepts only `41 42` and lengths up to the limit, and refuses as a
//!   protocol error (502) otherwise; a payload error is never a protocol or size error;
//! * every decoded slice borrows from the payload; status is never 0; coded header names are
//!   in the table;
//! * a decoded message encoded again with the test server's encoders decodes to the same
//!   message (SEND_HEADERS, SEND_BODY_CHUNK, END_RESPONSE, GET_BODY_CHUNK);
//! * the body packet answering GET_BODY_CHUNK (at most what was asked, at most what fits)
//!   can be built and reads back as the same bytes.
#![no_main]

use jk_ajp::{
    decode_body_chunk, decode_reply, encode_body_chunk, encode_end_response, encode_get_body_chunk,
    encode_send_body_chunk, encode_send_headers, read_header, read_request_header, AjpError,
    HeaderName, Reply, DEFAULT_MAX_PACKET_SIZE, HEADER_LEN, MAX_PACKET_SIZE_LIMIT,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks max_packet_size as a worker could configure it.
    let max = match data.first() {
        Some(b) if b & 1 == 1 => MAX_PACKET_SIZE_LIMIT,
        _ => DEFAULT_MAX_PACKET_SIZE,
    };
    let mut stream = data.get(1..).unwrap_or_default();
    while let Some((head, rest)) = stream.split_first_chunk::<HEADER_LEN>() {
        match read_header(head, max) {
            Ok(len) => {
                assert!(len <= max);
                assert_eq!(&head[..2], b"AB");
                let Some(payload) = rest.get(..len) else {
                    break; // the connection closed mid-packet
                };
                check(payload, max);
                stream = &rest[len..];
            }
            Err(e) => {
                assert!(e.is_protocol_error(), "{e:?}");
                assert_eq!(e.http_status(), 502);
                assert!(!e.to_string().is_empty());
                break; // mod_jk closes the connection
            }
        }
    }
    check(data, max);
});

fn within(payload: &[u8], s: &[u8]) -> bool {
    let start = payload.as_ptr() as usize;
    let p = s.as_ptr() as usize;
    s.is_empty() || (p >= start && p + s.len() <= start + payload.len())
}

fn check(payload: &[u8], max: usize) {
    let reply = match decode_reply(payload) {
        Ok(reply) => reply,
        Err(e) => {
            assert!(!e.is_protocol_error() && !e.is_too_large(), "{e:?}");
            assert_eq!(e.http_status(), 500);
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    // Encoded again (a packet holds at most u16::MAX payload bytes).
    let limit = HEADER_LEN + usize::from(u16::MAX);
    let again: Result<Vec<u8>, AjpError> = match &reply {
        Reply::SendHeaders {
            status,
            reason,
            headers,
        } => {
            assert_ne!(*status, 0);
            assert!(within(payload, reason));
            for (name, value) in headers {
                match name {
                    HeaderName::Coded(code) => assert!(code.name().is_some()),
                    HeaderName::Named(n) => assert!(within(payload, n)),
                }
                assert!(within(payload, value));
            }
            // A null reason and an empty one both read as empty.
            let reason = (!reason.is_empty()).then_some(*reason);
            encode_send_headers(*status, reason, headers, limit)
        }
        Reply::SendBodyChunk(chunk) => {
            assert!(within(payload, chunk));
            assert!(chunk.len() + 3 <= payload.len());
            encode_send_body_chunk(chunk, limit)
        }
        Reply::EndResponse { reuse } => Ok(encode_end_response(*reuse).to_vec()),
        Reply::GetBodyChunk { requested } => {
            // The client's answer: at most `requested` bytes, at most what fits in a packet.
            let n = usize::from(*requested).min(max - 6);
            let body = vec![0x5a; n];
            let packet = encode_body_chunk(&body, max).expect("a body packet that fits");
            assert!(packet.len() <= max);
            let len = read_request_header(&[packet[0], packet[1], packet[2], packet[3]], max)
                .expect("own body packet header");
            assert_eq!(
                decode_body_chunk(&packet[HEADER_LEN..HEADER_LEN + len]),
                Ok(&body[..])
            );
            Ok(encode_get_body_chunk(*requested).to_vec())
        }
        Reply::CPong => return,
    };
    if payload.len() > usize::from(u16::MAX) {
        return; // no header could have announced it
    }
    match again {
        Ok(packet) => {
            let len = read_header(&[packet[0], packet[1], packet[2], packet[3]], limit)
                .expect("own header");
            assert_eq!(len + HEADER_LEN, packet.len());
            assert!(len <= payload.len() + 1, "re-encoding grew the message");
            assert_eq!(decode_reply(&packet[HEADER_LEN..]).as_ref(), Ok(&reply));
        }
        // Only a body chunk at the very limit may not fit with Tomcat's trailing 00.
        Err(e) => assert!(
            e.is_too_large() && matches!(reply, Reply::SendBodyChunk(_)),
            "{reply:?} cannot be encoded again: {e:?}"
        ),
    }
}
