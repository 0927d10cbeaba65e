//! The packets captured from mod_jk 1.2.48 (reference §14), rebuilt byte for byte.
#![allow(clippy::unwrap_used)]

use jk_ajp::{
    decode_forward_request, Attribute, AttributeCode, ForwardRequest, Method, RequestHeaderCode,
    RequestHeaderName,
};
use jk_config::Activation;

/// An AJP string: u16 length, bytes, NUL.
fn s(v: &str) -> Vec<u8> {
    let mut out = u16::try_from(v.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(v.as_bytes());
    out.push(0);
    out
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x12, 0x34];
    out.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// `GET /app/x%20y;jsessionid=ABC.m2/z?q=1&r=%41` through a plain ajp13 worker, as curl
/// sends it plus Accept-Encoding, Accept-Language, Cookie and X-Custom.
fn captured_request<'a>() -> ForwardRequest<'a> {
    ForwardRequest {
        method: b"GET",
        protocol: b"HTTP/1.1",
        req_uri: b"/app/x%20y;jsessionid=ABC.m2/z",
        remote_addr: b"127.0.0.1",
        remote_host: None,
        server_name: b"127.0.0.1",
        server_port: 28080,
        is_ssl: false,
        headers: vec![
            (b"Host", b"127.0.0.1:28080"),
            (b"User-Agent", b"curl/7.88.1"),
            (b"Accept", b"*/*"),
            (b"Accept-Encoding", b"gzip"),
            (b"Accept-Language", b"en"),
            (b"Cookie", b"a=b"),
            (b"X-Custom", b"v"),
        ],
        content_length: None,
        chunked: false,
        query_string: Some(b"q=1&r=%41"),
        remote_port: b"48468",
        local_addr: b"127.0.0.1",
        lb_activation: Activation::Active,
        ..ForwardRequest::default()
    }
}

/// The decoded listing of §14, turned back into bytes by hand: type to last header.
fn captured_prefix() -> Vec<u8> {
    let mut p = vec![0x02, 0x02];
    p.extend(s("HTTP/1.1"));
    p.extend(s("/app/x%20y;jsessionid=ABC.m2/z"));
    p.extend(s("127.0.0.1"));
    p.extend([0xFF, 0xFF]);
    p.extend(s("127.0.0.1"));
    p.extend([0x6D, 0xB0, 0x00, 0x00, 0x08]);
    p.extend([0xA0, 0x0B]);
    p.extend(s("127.0.0.1:28080"));
    p.extend([0xA0, 0x0E]);
    p.extend(s("curl/7.88.1"));
    p.extend([0xA0, 0x01]);
    p.extend(s("*/*"));
    p.extend(s("Accept-Encoding"));
    p.extend(s("gzip"));
    p.extend(s("Accept-Language"));
    p.extend(s("en"));
    p.extend([0xA0, 0x09]);
    p.extend(s("a=b"));
    p.extend(s("X-Custom"));
    p.extend(s("v"));
    p.extend([0xA0, 0x08]);
    p.extend(s("0"));
    p
}

/// The whole captured packet.
fn captured_bytes() -> Vec<u8> {
    let mut p = captured_prefix();
    p.push(0x05);
    p.extend(s("q=1&r=%41"));
    p.push(0x0A);
    p.extend(s("AJP_REMOTE_PORT"));
    p.extend(s("48468"));
    p.push(0x0A);
    p.extend(s("AJP_LOCAL_ADDR"));
    p.extend(s("127.0.0.1"));
    p.push(0x0A);
    p.extend(s("JK_LB_ACTIVATION"));
    p.extend(s("ACT"));
    p.push(0xFF);
    frame(&p)
}

#[test]
fn the_string_helper_matches_literal_bytes() {
    assert_eq!(s("HTTP/1.1"), b"\x00\x08HTTP/1.1\x00");
}

#[test]
fn captured_forward_request_byte_for_byte() {
    let got = captured_request().encode(8192).unwrap();
    let want = captured_bytes();
    assert_eq!(got, want);
    let len = u16::try_from(want.len() - 4).unwrap().to_be_bytes();
    assert_eq!(&got[..4], &[0x12, 0x34, len[0], len[1]]);
}

#[test]
fn captured_forward_request_decodes_field_by_field() {
    let bytes = captured_bytes();
    let d = decode_forward_request(&bytes[4..]).unwrap();
    assert_eq!(d.method, Method::GET);
    assert_eq!(d.protocol, Some(&b"HTTP/1.1"[..]));
    assert_eq!(d.req_uri, Some(&b"/app/x%20y;jsessionid=ABC.m2/z"[..]));
    assert_eq!(d.remote_addr, Some(&b"127.0.0.1"[..]));
    assert_eq!(d.remote_host, None);
    assert_eq!(d.server_name, Some(&b"127.0.0.1"[..]));
    assert_eq!(d.server_port, 28080);
    assert!(!d.is_ssl);
    let names: Vec<RequestHeaderName<'_>> = d.headers.iter().map(|h| h.0).collect();
    assert_eq!(
        names,
        [
            RequestHeaderName::Coded(RequestHeaderCode::HOST),
            RequestHeaderName::Coded(RequestHeaderCode::USER_AGENT),
            RequestHeaderName::Coded(RequestHeaderCode::ACCEPT),
            RequestHeaderName::Named(b"Accept-Encoding"),
            RequestHeaderName::Named(b"Accept-Language"),
            RequestHeaderName::Coded(RequestHeaderCode::COOKIE),
            RequestHeaderName::Named(b"X-Custom"),
            RequestHeaderName::Coded(RequestHeaderCode::CONTENT_LENGTH),
        ]
    );
    assert_eq!(d.header(b"content-length"), Some(&b"0"[..]));
    assert_eq!(d.header(b"ACCEPT-ENCODING"), Some(&b"gzip"[..]));
    assert_eq!(
        d.attributes,
        [
            Attribute::Str(AttributeCode::QUERY_STRING, Some(b"q=1&r=%41")),
            Attribute::Req {
                name: b"AJP_REMOTE_PORT",
                value: b"48468"
            },
            Attribute::Req {
                name: b"AJP_LOCAL_ADDR",
                value: b"127.0.0.1"
            },
            Attribute::Req {
                name: b"JK_LB_ACTIVATION",
                value: b"ACT"
            },
        ]
    );
}

#[test]
fn captured_ssl_attribute_order() {
    let cert = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n\
                -----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n";
    let req = ForwardRequest {
        is_ssl: true,
        server_port: 443,
        secret: Some(b"changeit"),
        ssl_cert: Some(cert.as_bytes()),
        ssl_cipher: Some(b"TLS_AES_256_GCM_SHA384"),
        ssl_session: Some(b"0123abcd"),
        ssl_key_size: Some(256),
        ssl_protocol: Some(b"TLSv1.3"),
        env: vec![(b"MY_VAR", b"my value")],
        ..captured_request()
    };
    let got = req.encode(8192).unwrap();

    // Same prefix as the plain capture, with is_ssl set and port 443.
    let mut p = captured_prefix();
    let port_at = p.windows(3).position(|w| w == [0x6D, 0xB0, 0x00]).unwrap();
    p[port_at..port_at + 3].copy_from_slice(&[0x01, 0xBB, 0x01]);
    p.push(0x0C);
    p.extend(s("changeit"));
    p.push(0x05);
    p.extend(s("q=1&r=%41"));
    p.push(0x07);
    p.extend(s(cert));
    p.push(0x08);
    p.extend(s("TLS_AES_256_GCM_SHA384"));
    p.push(0x09);
    p.extend(s("0123abcd"));
    p.extend([0x0B, 0x01, 0x00]);
    for (name, value) in [
        ("AJP_SSL_PROTOCOL", "TLSv1.3"),
        ("AJP_REMOTE_PORT", "48468"),
        ("AJP_LOCAL_ADDR", "127.0.0.1"),
        ("JK_LB_ACTIVATION", "ACT"),
        ("MY_VAR", "my value"),
    ] {
        p.push(0x0A);
        p.extend(s(name));
        p.extend(s(value));
    }
    p.push(0xFF);
    assert_eq!(got, frame(&p));

    let d = decode_forward_request(&got[4..]).unwrap();
    let order: Vec<(u8, Option<&[u8]>)> = d
        .attributes
        .iter()
        .map(|a| match a {
            Attribute::Req { name, .. } => (0x0A, Some(*name)),
            other => (other.code().0, None),
        })
        .collect();
    assert_eq!(
        order,
        [
            (0x0C, None),
            (0x05, None),
            (0x07, None),
            (0x08, None),
            (0x09, None),
            (0x0B, None),
            (0x0A, Some(&b"AJP_SSL_PROTOCOL"[..])),
            (0x0A, Some(&b"AJP_REMOTE_PORT"[..])),
            (0x0A, Some(&b"AJP_LOCAL_ADDR"[..])),
            (0x0A, Some(&b"JK_LB_ACTIVATION"[..])),
            (0x0A, Some(&b"MY_VAR"[..])),
        ]
    );
}

#[test]
fn captured_first_body_packet() {
    // §7.6: 11 bytes of body sent right after the FORWARD_REQUEST.
    let p = jk_ajp::encode_body_chunk(b"hello=world", 8192).unwrap();
    let hex: String = p[4..].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "000b68656c6c6f3d776f726c64");
    assert_eq!(&p[..4], &[0x12, 0x34, 0x00, 0x0D]);
}
