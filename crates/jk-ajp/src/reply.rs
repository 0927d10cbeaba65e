//! What the container sends (§7.7, §7.8): the packet header check, the decoding of each
//! reply message, and, for the test server, their encoding.

use crate::codes::{MessageType, ResponseHeaderCode};
use crate::error::AjpError;
use crate::wire::{Reader, Writer, HEADER_LEN, REPLY_MAGIC};

/// CPONG as Tomcat sends it.
pub const CPONG: [u8; 5] = [0x41, 0x42, 0x00, 0x01, MessageType::CPONG_REPLY.0];

/// Checks the 4-byte header of a packet from the container and returns its payload length.
/// The magic must be `41 42` ([`AjpError::BadMagic`] otherwise, mod_jk's "wrong message
/// format"); the payload may be at most `max_packet_size` bytes ([`AjpError::BadLength`],
/// mod_jk's "wrong message size"). Both are protocol errors: close the connection, 502.
pub fn read_header(header: &[u8; 4], max_packet_size: usize) -> Result<usize, AjpError> {
    if [header[0], header[1]] != REPLY_MAGIC {
        return Err(AjpError::BadMagic(u16::from_be_bytes([
            header[0], header[1],
        ])));
    }
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if len > max_packet_size {
        return Err(AjpError::BadLength {
            len,
            max: max_packet_size,
        });
    }
    Ok(len)
}

/// A response header name: a code from the table of §7.7 or the string sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderName<'a> {
    /// Sent as a code `A001..=A00B`.
    Coded(ResponseHeaderCode),
    /// Sent as a string.
    Named(&'a [u8]),
}

impl<'a> HeaderName<'a> {
    /// The name: the table spelling for a code (e.g. `Content-Type`), else the bytes sent.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            HeaderName::Coded(code) => code.name().unwrap_or("").as_bytes(),
            HeaderName::Named(name) => name,
        }
    }
}

/// One decoded message from the container, borrowing from the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply<'a> {
    /// Status line and headers.
    SendHeaders {
        /// HTTP status, never 0.
        status: u16,
        /// Reason phrase; empty when the container sent an empty or null one.
        reason: &'a [u8],
        /// Headers in the order sent.
        headers: Vec<(HeaderName<'a>, &'a [u8])>,
    },
    /// Response body bytes; empty means "flush".
    SendBodyChunk(&'a [u8]),
    /// End of the response; `reuse` false means the connection must be closed.
    EndResponse {
        /// The connection may go back to the pool.
        reuse: bool,
    },
    /// The container wants at most `requested` more bytes of request body.
    GetBodyChunk {
        /// Bytes asked for.
        requested: u16,
    },
    /// Answer to CPING.
    CPong,
}

/// Decodes one payload from the container (the bytes after the header that
/// [`read_header`] accepted). A message type that has no meaning from the container is
/// [`AjpError::UnknownType`]; whether a known type is acceptable at this point of the
/// exchange is for the caller to decide.
pub fn decode_reply(payload: &[u8]) -> Result<Reply<'_>, AjpError> {
    let mut r = Reader::new(payload);
    let t = MessageType(r.get_byte().map_err(|e| e.in_field("message type"))?);
    match t {
        MessageType::SEND_HEADERS => send_headers(&mut r),
        MessageType::SEND_BODY_CHUNK => send_body_chunk(&mut r),
        MessageType::END_RESPONSE => end_response(&mut r),
        MessageType::GET_BODY_CHUNK => get_body_chunk(&mut r),
        MessageType::CPONG_REPLY => Ok(Reply::CPong),
        MessageType(other) => Err(AjpError::UnknownType(other)),
    }
}

/// SEND_HEADERS: status, reason, num_headers, then per header a code (high byte `A0`) or a
/// string name, and a string value. Like mod_jk's `ajp_unmarshal_response`: status 0, a
/// code beyond the table, a null name or a null value are errors; a null reason is empty.
fn send_headers<'a>(r: &mut Reader<'a>) -> Result<Reply<'a>, AjpError> {
    let status = r.get_u16().map_err(|e| e.in_field("status"))?;
    if status == 0 {
        return Err(AjpError::ZeroStatus);
    }
    let reason = r
        .get_string()
        .map_err(|e| e.in_field("reason"))?
        .unwrap_or_default();
    let count = r.get_u16().map_err(|e| e.in_field("num_headers"))?;
    // Never trust a count for an allocation: each header needs at least 5 bytes.
    let mut headers = Vec::with_capacity(usize::from(count).min(r.remaining() / 5));
    for _ in 0..count {
        headers.push(response_header(r)?);
    }
    Ok(Reply::SendHeaders {
        status,
        reason,
        headers,
    })
}

/// One response header of SEND_HEADERS.
fn response_header<'a>(r: &mut Reader<'a>) -> Result<(HeaderName<'a>, &'a [u8]), AjpError> {
    let word = r.peek_u16().map_err(|e| e.in_field("header name"))?;
    let name = if word & 0xFF00 == 0xA000 {
        let code = ResponseHeaderCode(r.get_u16()?);
        if code.name().is_none() {
            return Err(AjpError::UnknownHeaderCode(word));
        }
        HeaderName::Coded(code)
    } else {
        HeaderName::Named(r.get_str().map_err(|e| e.in_field("header name"))?)
    };
    let value = r.get_str().map_err(|e| e.in_field("header value"))?;
    Ok((name, value))
}

/// SEND_BODY_CHUNK: u16 length and the data. Tomcat adds a `00` after the data, which is
/// ignored, as is anything else after it.
fn send_body_chunk<'a>(r: &mut Reader<'a>) -> Result<Reply<'a>, AjpError> {
    let len = usize::from(r.get_u16().map_err(|e| e.in_field("chunk length"))?);
    let available = r.remaining();
    if len > available {
        return Err(AjpError::ChunkTooLong { len, available });
    }
    Ok(Reply::SendBodyChunk(r.get_bytes(len)?))
}

/// END_RESPONSE: the reuse byte, non-zero meaning the connection may be pooled.
fn end_response<'a>(r: &mut Reader<'a>) -> Result<Reply<'a>, AjpError> {
    let reuse = r.get_bool().map_err(|e| e.in_field("reuse flag"))?;
    Ok(Reply::EndResponse { reuse })
}

/// GET_BODY_CHUNK: the number of body bytes the container asks for.
fn get_body_chunk<'a>(r: &mut Reader<'a>) -> Result<Reply<'a>, AjpError> {
    let requested = r.get_u16().map_err(|e| e.in_field("requested length"))?;
    Ok(Reply::GetBodyChunk { requested })
}

/// A SEND_HEADERS packet (test server side). A null reason is written for `None`.
pub fn encode_send_headers(
    status: u16,
    reason: Option<&[u8]>,
    headers: &[(HeaderName<'_>, &[u8])],
    max_packet_size: usize,
) -> Result<Vec<u8>, AjpError> {
    let mut w = Writer::new_reply(max_packet_size);
    w.put_byte(MessageType::SEND_HEADERS.0)?;
    w.put_u16(status)?;
    w.put_string(reason)?;
    let count = u16::try_from(headers.len()).map_err(|_| AjpError::TooLarge {
        size: headers.len().saturating_mul(5),
        max: w.max_packet_size(),
    })?;
    w.put_u16(count)?;
    for (name, value) in headers {
        match name {
            HeaderName::Coded(code) => w.put_u16(code.0)?,
            HeaderName::Named(name) => w.put_str(name)?,
        }
        w.put_str(value)?;
    }
    w.finish()
}

/// A SEND_BODY_CHUNK packet with Tomcat's trailing `00` (test server side): at most
/// `max_packet_size − 8` data bytes.
pub fn encode_send_body_chunk(data: &[u8], max_packet_size: usize) -> Result<Vec<u8>, AjpError> {
    let mut w = Writer::new_reply(max_packet_size);
    w.put_byte(MessageType::SEND_BODY_CHUNK.0)?;
    let n = u16::try_from(data.len()).map_err(|_| AjpError::TooLarge {
        size: data.len().saturating_add(HEADER_LEN + 4),
        max: w.max_packet_size(),
    })?;
    w.put_u16(n)?;
    w.put_bytes(data)?;
    w.put_byte(0)?;
    w.finish()
}

/// An END_RESPONSE packet (test server side).
pub fn encode_end_response(reuse: bool) -> [u8; 6] {
    [
        REPLY_MAGIC[0],
        REPLY_MAGIC[1],
        0x00,
        0x02,
        MessageType::END_RESPONSE.0,
        u8::from(reuse),
    ]
}

/// A GET_BODY_CHUNK packet (test server side).
pub fn encode_get_body_chunk(requested: u16) -> [u8; 7] {
    let [hi, lo] = requested.to_be_bytes();
    [
        REPLY_MAGIC[0],
        REPLY_MAGIC[1],
        0x00,
        0x03,
        MessageType::GET_BODY_CHUNK.0,
        hi,
        lo,
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn s(v: &[u8]) -> Vec<u8> {
        let mut out = u16::try_from(v.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(v);
        out.push(0);
        out
    }

    /// A typical SEND_HEADERS payload: 200 "OK", Content-Type coded, X-A named.
    fn send_headers_payload() -> Vec<u8> {
        let mut p = vec![0x04, 0x00, 0xC8];
        p.extend(s(b"OK"));
        p.extend([0x00, 0x02, 0xA0, 0x01]);
        p.extend(s(b"text/plain"));
        p.extend(s(b"X-A"));
        p.extend(s(b"1"));
        p
    }

    #[test]
    fn header_check() {
        assert_eq!(read_header(&[0x41, 0x42, 0x00, 0x01], 8192), Ok(1));
        assert_eq!(read_header(&[0x41, 0x42, 0x20, 0x00], 8192), Ok(8192));
        assert_eq!(read_header(&[0x41, 0x42, 0x00, 0x00], 8192), Ok(0));
        assert_eq!(
            read_header(&[0x41, 0x42, 0x20, 0x01], 8192),
            Err(AjpError::BadLength {
                len: 8193,
                max: 8192
            })
        );
        assert_eq!(
            read_header(&[0x12, 0x34, 0x00, 0x01], 8192),
            Err(AjpError::BadMagic(0x1234))
        );
        assert_eq!(
            read_header(&[0x12, 0x35, 0x00, 0x01], 8192),
            Err(AjpError::BadMagic(0x1235))
        );
        assert_eq!(read_header(b"HTTP", 8192), Err(AjpError::BadMagic(0x4854)));
        assert!(read_header(b"HTTP", 8192).unwrap_err().is_protocol_error());
        assert_eq!(read_header(&[0x41, 0x42, 0xFF, 0xFF], 65536), Ok(65535));
    }

    #[test]
    fn send_headers_decodes_codes_and_names() {
        let p = send_headers_payload();
        let reply = decode_reply(&p).unwrap();
        let Reply::SendHeaders {
            status,
            reason,
            headers,
        } = reply
        else {
            panic!("{reply:?}")
        };
        assert_eq!(status, 200);
        assert_eq!(reason, b"OK");
        assert_eq!(
            headers,
            vec![
                (
                    HeaderName::Coded(ResponseHeaderCode::CONTENT_TYPE),
                    &b"text/plain"[..]
                ),
                (HeaderName::Named(b"X-A"), &b"1"[..]),
            ]
        );
        assert_eq!(headers[0].0.as_bytes(), b"Content-Type");
        assert_eq!(headers[1].0.as_bytes(), b"X-A");
        let encoded = encode_send_headers(
            200,
            Some(b"OK"),
            &[
                (
                    HeaderName::Coded(ResponseHeaderCode::CONTENT_TYPE),
                    b"text/plain",
                ),
                (HeaderName::Named(b"X-A"), b"1"),
            ],
            8192,
        )
        .unwrap();
        assert_eq!(
            &encoded[..4],
            &[0x41, 0x42, 0x00, u8::try_from(p.len()).unwrap()]
        );
        assert_eq!(&encoded[4..], &p[..]);
    }

    #[test]
    fn every_response_header_code() {
        for code in 0xA001u16..=0xA00B {
            let mut p = vec![0x04, 0x01, 0x2C, 0xFF, 0xFF, 0x00, 0x01];
            p.extend(code.to_be_bytes());
            p.extend(s(b"v"));
            let Reply::SendHeaders {
                status,
                reason,
                headers,
            } = decode_reply(&p).unwrap()
            else {
                panic!("not headers")
            };
            assert_eq!(
                (status, reason),
                (300, &b""[..]),
                "null reason reads as empty"
            );
            assert_eq!(
                headers,
                vec![(HeaderName::Coded(ResponseHeaderCode(code)), &b"v"[..])]
            );
        }
        for code in [0xA000u16, 0xA00C, 0xA0FF] {
            let mut p = vec![0x04, 0x00, 0xC8, 0x00, 0x00, 0x00, 0x00, 0x01];
            p.extend(code.to_be_bytes());
            p.extend(s(b"v"));
            let err = decode_reply(&p).unwrap_err();
            assert_eq!(err, AjpError::UnknownHeaderCode(code));
            assert_eq!(err.http_status(), 500);
        }
    }

    #[test]
    fn status_zero_is_an_error() {
        let mut p = send_headers_payload();
        p[1] = 0;
        p[2] = 0;
        assert_eq!(decode_reply(&p), Err(AjpError::ZeroStatus));
    }

    #[test]
    fn null_header_name_or_value_is_an_error() {
        let mut p = vec![0x04, 0x00, 0xC8, 0x00, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF];
        p.extend(s(b"v"));
        assert_eq!(
            decode_reply(&p),
            Err(AjpError::NullString {
                field: "header name"
            })
        );
        let p = [
            0x04, 0x00, 0xC8, 0x00, 0x00, 0x00, 0x00, 0x01, 0xA0, 0x01, 0xFF, 0xFF,
        ];
        assert_eq!(
            decode_reply(&p),
            Err(AjpError::NullString {
                field: "header value"
            })
        );
    }

    #[test]
    fn truncated_send_headers_at_every_offset_is_an_error() {
        let p = send_headers_payload();
        for cut in 0..p.len() {
            let err = decode_reply(&p[..cut]).unwrap_err();
            assert!(err.is_message_error(), "cut {cut}: {err}");
        }
        assert!(decode_reply(&p).is_ok());
    }

    #[test]
    fn body_chunk_with_and_without_trailing_nul() {
        let p = [0x03, 0x00, 0x03, b'a', b'b', b'c', 0x00];
        assert_eq!(decode_reply(&p), Ok(Reply::SendBodyChunk(b"abc")));
        assert_eq!(decode_reply(&p[..6]), Ok(Reply::SendBodyChunk(b"abc")));
        assert_eq!(
            decode_reply(&[0x03, 0x00, 0x00]),
            Ok(Reply::SendBodyChunk(b""))
        );
        assert_eq!(
            decode_reply(&[0x03, 0x00, 0x04, b'a', b'b', b'c']),
            Err(AjpError::ChunkTooLong {
                len: 4,
                available: 3
            })
        );
        assert!(matches!(
            decode_reply(&[0x03, 0x00]),
            Err(AjpError::Truncated { .. })
        ));
        let encoded = encode_send_body_chunk(b"abc", 8192).unwrap();
        assert_eq!(
            encoded,
            [0x41, 0x42, 0x00, 0x07, 0x03, 0x00, 0x03, b'a', b'b', b'c', 0x00]
        );
    }

    #[test]
    fn send_body_chunk_encoding_limit() {
        let max = 8192;
        assert_eq!(
            encode_send_body_chunk(&vec![1; max - 8], max)
                .unwrap()
                .len(),
            max
        );
        assert!(encode_send_body_chunk(&vec![1; max - 7], max)
            .unwrap_err()
            .is_too_large());
    }

    #[test]
    fn end_response_get_body_chunk_cpong() {
        assert_eq!(
            encode_end_response(true),
            [0x41, 0x42, 0x00, 0x02, 0x05, 0x01]
        );
        assert_eq!(
            encode_end_response(false),
            [0x41, 0x42, 0x00, 0x02, 0x05, 0x00]
        );
        assert_eq!(
            decode_reply(&[0x05, 0x01]),
            Ok(Reply::EndResponse { reuse: true })
        );
        assert_eq!(
            decode_reply(&[0x05, 0x00]),
            Ok(Reply::EndResponse { reuse: false })
        );
        assert_eq!(
            decode_reply(&[0x05, 0x02]),
            Ok(Reply::EndResponse { reuse: true })
        );
        assert!(matches!(
            decode_reply(&[0x05]),
            Err(AjpError::Truncated { .. })
        ));

        assert_eq!(
            encode_get_body_chunk(8186),
            [0x41, 0x42, 0x00, 0x03, 0x06, 0x1F, 0xFA]
        );
        assert_eq!(
            decode_reply(&[0x06, 0x1F, 0xFA]),
            Ok(Reply::GetBodyChunk { requested: 8186 })
        );
        assert!(matches!(
            decode_reply(&[0x06, 0x1F]),
            Err(AjpError::Truncated { .. })
        ));

        assert_eq!(CPONG, [0x41, 0x42, 0x00, 0x01, 0x09]);
        assert_eq!(
            read_header(&[CPONG[0], CPONG[1], CPONG[2], CPONG[3]], 8192),
            Ok(1)
        );
        assert_eq!(decode_reply(&CPONG[4..]), Ok(Reply::CPong));
    }

    #[test]
    fn unknown_and_wrong_direction_types() {
        for t in [0u8, 1, 2, 7, 8, 10, 0x10, 0xFF] {
            assert_eq!(decode_reply(&[t, 0, 0, 0]), Err(AjpError::UnknownType(t)));
        }
        assert!(matches!(decode_reply(&[]), Err(AjpError::Truncated { .. })));
    }

    #[test]
    fn header_count_larger_than_the_packet_does_not_allocate_for_it() {
        let p = [0x04, 0x00, 0xC8, 0x00, 0x00, 0x00, 0xFF, 0xFF];
        assert!(matches!(decode_reply(&p), Err(AjpError::Truncated { .. })));
    }
}
