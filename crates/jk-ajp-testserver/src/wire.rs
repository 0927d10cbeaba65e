//! The container side of AJP13, written from the compatibility reference (§7) on its own so it
//! shares nothing with the connector's codec: a strict FORWARD_REQUEST decoder, an encoder
//! (handy for hand-made test clients) and the container → web server packet builders.

use std::fmt;
use std::io;

/// Magic of packets sent by the web server (`0x12 0x34`).
pub const MAGIC_FROM_WEB_SERVER: [u8; 2] = [0x12, 0x34];
/// Magic of packets sent by the container (`"AB"`).
pub const MAGIC_FROM_CONTAINER: [u8; 2] = [0x41, 0x42];

/// FORWARD_REQUEST type byte.
pub const FORWARD_REQUEST: u8 = 2;
/// SEND_BODY_CHUNK type byte.
pub const SEND_BODY_CHUNK: u8 = 3;
/// SEND_HEADERS type byte.
pub const SEND_HEADERS: u8 = 4;
/// END_RESPONSE type byte.
pub const END_RESPONSE: u8 = 5;
/// GET_BODY_CHUNK type byte.
pub const GET_BODY_CHUNK: u8 = 6;
/// SHUTDOWN type byte (never sent by mod_jk).
pub const SHUTDOWN: u8 = 7;
/// PING type byte (never sent by mod_jk).
pub const PING: u8 = 8;
/// CPONG_REPLY type byte.
pub const CPONG_REPLY: u8 = 9;
/// CPING type byte.
pub const CPING: u8 = 10;

/// The complete CPING packet mod_jk sends.
pub const CPING_PACKET: [u8; 5] = [0x12, 0x34, 0x00, 0x01, CPING];
/// The complete CPONG packet the container answers with.
pub const CPONG_PACKET: [u8; 5] = [0x41, 0x42, 0x00, 0x01, CPONG_REPLY];

/// Tomcat's default size for one SEND_BODY_CHUNK's data (8192 − 4 header − 4 chunk overhead).
pub const DEFAULT_SEND_CHUNK: usize = 8184;
/// Tomcat's default GET_BODY_CHUNK request size (8192 − 6).
pub const DEFAULT_READ_CHUNK: u16 = 8186;

/// Attribute code of the `req_attribute` (name + value) form.
pub const ATTR_REQ_ATTRIBUTE: u8 = 0x0A;
/// Attribute code of the SSL key size, the only attribute encoded as an int.
pub const ATTR_SSL_KEY_SIZE: u8 = 0x0B;
/// Attribute code of the stored method (method byte 0xFF).
pub const ATTR_STORED_METHOD: u8 = 0x0D;
/// Method byte meaning "the method name is in attribute 0x0D".
pub const METHOD_STORED: u8 = 0xFF;
/// Attribute list terminator.
pub const ATTR_ARE_DONE: u8 = 0xFF;

/// Method names indexed by code − 1 (§7.4).
const METHODS: [&str; 27] = [
    "OPTIONS",
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "TRACE",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "ACL",
    "REPORT",
    "VERSION-CONTROL",
    "CHECKIN",
    "CHECKOUT",
    "UNCHECKOUT",
    "SEARCH",
    "MKWORKSPACE",
    "UPDATE",
    "LABEL",
    "MERGE",
    "BASELINE-CONTROL",
    "MKACTIVITY",
];

/// Request header names indexed by code − 0xA001 (§7.5).
const REQUEST_HEADERS: [&str; 14] = [
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "authorization",
    "connection",
    "content-type",
    "content-length",
    "cookie",
    "cookie2",
    "host",
    "pragma",
    "referer",
    "user-agent",
];

/// Response header names indexed by code − 0xA001 (§7.7).
const RESPONSE_HEADERS: [&str; 11] = [
    "Content-Type",
    "Content-Language",
    "Content-Length",
    "Date",
    "Last-Modified",
    "Location",
    "Set-Cookie",
    "Set-Cookie2",
    "Servlet-Engine",
    "Status",
    "WWW-Authenticate",
];

/// Well-known attribute names (lower case) and their codes (§7.5).
const ATTRIBUTE_NAMES: [(&str, u8); 13] = [
    ("context", 0x01),
    ("servlet_path", 0x02),
    ("remote_user", 0x03),
    ("auth_type", 0x04),
    ("query_string", 0x05),
    ("route", 0x06),
    ("jvm_route", 0x06),
    ("ssl_cert", 0x07),
    ("ssl_cipher", 0x08),
    ("ssl_session", 0x09),
    ("ssl_key_size", 0x0B),
    ("secret", 0x0C),
    ("stored_method", 0x0D),
];

/// The name of an AJP method code (1..=27), if it has one.
pub fn method_name(code: u8) -> Option<&'static str> {
    METHODS.get(usize::from(code).checked_sub(1)?).copied()
}

/// The AJP code of a method name (exact, case-sensitive match as in mod_jk).
pub fn method_code(name: &str) -> Option<u8> {
    METHODS
        .iter()
        .position(|m| *m == name)
        .and_then(|i| u8::try_from(i + 1).ok())
}

/// The lower-case name of a request header code 0xA001..=0xA00E.
pub fn request_header_name(code: u16) -> Option<&'static str> {
    REQUEST_HEADERS
        .get(usize::from(code.checked_sub(0xA001)?))
        .copied()
}

/// The request header code for a name (case-insensitive), as the AJP specification defines it.
/// (mod_jk itself never uses 0xA002..=0xA004, see §7.5.)
pub fn request_header_code(name: &str) -> Option<u16> {
    let i = REQUEST_HEADERS
        .iter()
        .position(|h| h.eq_ignore_ascii_case(name))?;
    u16::try_from(i).ok().map(|i| 0xA001 + i)
}

/// The response header code Tomcat uses for a name (case-insensitive), if any.
pub fn response_header_code(name: &str) -> Option<u16> {
    let i = RESPONSE_HEADERS
        .iter()
        .position(|h| h.eq_ignore_ascii_case(name))?;
    u16::try_from(i).ok().map(|i| 0xA001 + i)
}

/// The canonical name of a response header code 0xA001..=0xA00B.
pub fn response_header_name(code: u16) -> Option<&'static str> {
    RESPONSE_HEADERS
        .get(usize::from(code.checked_sub(0xA001)?))
        .copied()
}

/// The name of a request header: either a well-known code or the literal string sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HeaderName {
    /// Sent as a 0xA0xx code.
    Code(u16),
    /// Sent as a string, with the client's spelling.
    Name(String),
}

impl HeaderName {
    /// The header's name: the lower-case table name for a code, the literal string otherwise.
    pub fn as_str(&self) -> &str {
        match self {
            HeaderName::Code(c) => request_header_name(*c).unwrap_or("?"),
            HeaderName::Name(n) => n,
        }
    }

    /// Whether this is `name`, compared case-insensitively after resolving codes.
    pub fn matches(&self, name: &str) -> bool {
        self.as_str().eq_ignore_ascii_case(name)
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An attribute value: a string, or an int for the SSL key size (0x0B).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeValue {
    /// Every attribute except 0x0B.
    Str(String),
    /// The SSL key size (0x0B), encoded as a u16.
    U16(u16),
}

impl AttributeValue {
    /// The string value (None for the int form).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttributeValue::Str(s) => Some(s),
            AttributeValue::U16(_) => None,
        }
    }

    /// The int value (None for the string form).
    pub fn as_u16(&self) -> Option<u16> {
        match self {
            AttributeValue::Str(_) => None,
            AttributeValue::U16(v) => Some(*v),
        }
    }
}

impl fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeValue::Str(s) => f.write_str(s),
            AttributeValue::U16(v) => write!(f, "{v}"),
        }
    }
}

impl PartialEq<str> for AttributeValue {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for AttributeValue {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

/// How [`ForwardRequest::attribute`] selects an attribute.
pub trait AttributeKey {
    /// Whether the attribute `(code, name)` is the one wanted.
    fn matches(&self, code: u8, name: Option<&str>) -> bool;
}

/// By code (for 0x0A: the first req_attribute).
impl AttributeKey for u8 {
    fn matches(&self, code: u8, _name: Option<&str>) -> bool {
        *self == code
    }
}

/// By name: a well-known attribute name (`"query_string"`, `"secret"`, `"route"`,
/// `"ssl_key_size"`, … compared case-insensitively), otherwise the exact name of a
/// req_attribute (0x0A, e.g. `"AJP_REMOTE_PORT"`).
impl AttributeKey for &str {
    fn matches(&self, code: u8, name: Option<&str>) -> bool {
        match ATTRIBUTE_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(self))
        {
            Some((_, c)) => *c == code,
            None => code == ATTR_REQ_ATTRIBUTE && name == Some(*self),
        }
    }
}

/// A decoded FORWARD_REQUEST (§7.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForwardRequest {
    /// The method byte (0xFF = stored in attribute 0x0D).
    pub method_code: u8,
    /// The method name: from the table, or attribute 0x0D for code 0xFF.
    pub method: String,
    /// e.g. `HTTP/1.1`.
    pub protocol: String,
    /// The request URI (no query string).
    pub uri: String,
    /// Client address.
    pub remote_addr: String,
    /// Client host name; `None` when sent as the null string (0xFFFF).
    pub remote_host: Option<String>,
    /// Server name.
    pub server_name: String,
    /// Server port.
    pub port: u16,
    /// The is_ssl boolean (any non-zero byte is true; see `raw` for the exact byte).
    pub is_ssl: bool,
    /// Headers in the order sent.
    pub headers: Vec<(HeaderName, String)>,
    /// Attributes in the order sent: code, name (only for 0x0A), value.
    pub attributes: Vec<(u8, Option<String>, AttributeValue)>,
}

impl ForwardRequest {
    /// The first header called `name` (case-insensitive; codes resolve to their §7.5 names).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.matches(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the headers called `name`, in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.matches(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first attribute selected by `key` (a code `u8` or a name `&str`, see
    /// [`AttributeKey`]).
    pub fn attribute<K: AttributeKey>(&self, key: K) -> Option<&AttributeValue> {
        self.attributes
            .iter()
            .find(|(c, n, _)| key.matches(*c, n.as_deref()))
            .map(|(_, _, v)| v)
    }

    /// Like [`attribute`](Self::attribute) but only string values.
    pub fn attribute_str<K: AttributeKey>(&self, key: K) -> Option<&str> {
        self.attribute(key).and_then(AttributeValue::as_str)
    }

    /// The query string attribute (0x05).
    pub fn query(&self) -> Option<&str> {
        self.attribute_str(0x05u8)
    }

    /// The Content-Length header parsed as a number (None if absent or not a number).
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")
            .and_then(|v| v.trim().parse().ok())
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> io::Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| {
                invalid(format!(
                "truncated FORWARD_REQUEST reading {what}: need {n} bytes at offset {}, have {}",
                self.pos,
                self.buf.len() - self.pos
            ))
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> io::Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> io::Result<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn peek_u16(&self, what: &str) -> io::Result<u16> {
        match self.buf.get(self.pos..self.pos + 2) {
            Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
            None => Err(invalid(format!("truncated FORWARD_REQUEST reading {what}"))),
        }
    }

    fn opt_string(&mut self, what: &str) -> io::Result<Option<String>> {
        let at = self.pos;
        let len = self.u16(what)?;
        if len == 0xFFFF {
            return Ok(None);
        }
        let bytes = self.take(usize::from(len), what)?;
        let term = self.u8(what)?;
        if term != 0 {
            return Err(invalid(format!(
                "string {what} at offset {at} (length {len}) not terminated by 0x00 (found {term:#04x})"
            )));
        }
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    fn string(&mut self, what: &str) -> io::Result<String> {
        let at = self.pos;
        self.opt_string(what)?
            .ok_or_else(|| invalid(format!("unexpected null string for {what} at offset {at}")))
    }
}

/// Decodes a FORWARD_REQUEST payload (the bytes after the 4-byte packet header, starting with
/// the 0x02 type byte). Strict: every length is checked, strings must be 0x00-terminated,
/// unknown method/header/attribute codes and trailing bytes after 0xFF are errors
/// (`InvalidData`). Never panics. Non-UTF-8 bytes are replaced (the exact bytes stay in the
/// payload).
pub fn decode_forward_request(payload: &[u8]) -> io::Result<ForwardRequest> {
    let mut r = Reader {
        buf: payload,
        pos: 0,
    };
    let ty = r.u8("type")?;
    if ty != FORWARD_REQUEST {
        return Err(invalid(format!("not a FORWARD_REQUEST: type {ty:#04x}")));
    }
    let method_code = r.u8("method")?;
    let mut method = match method_code {
        METHOD_STORED => String::new(),
        c => method_name(c)
            .ok_or_else(|| invalid(format!("unknown method code {c:#04x}")))?
            .to_owned(),
    };
    let protocol = r.string("protocol")?;
    let uri = r.string("req_uri")?;
    let remote_addr = r.string("remote_addr")?;
    let remote_host = r.opt_string("remote_host")?;
    let server_name = r.string("server_name")?;
    let port = r.u16("server_port")?;
    let is_ssl = r.u8("is_ssl")? != 0;
    let num_headers = r.u16("num_headers")?;
    let mut headers = Vec::with_capacity(usize::from(num_headers).min(256));
    for i in 0..num_headers {
        let peek = r.peek_u16("header name")?;
        let name = if peek >> 8 == 0xA0 {
            r.pos += 2;
            if request_header_name(peek).is_none() {
                return Err(invalid(format!(
                    "unknown request header code {peek:#06x} (#{i})"
                )));
            }
            HeaderName::Code(peek)
        } else {
            HeaderName::Name(r.string("header name")?)
        };
        let value = r.string("header value")?;
        headers.push((name, value));
    }
    let mut attributes = Vec::new();
    loop {
        let code = r.u8("attribute code")?;
        match code {
            ATTR_ARE_DONE => break,
            ATTR_REQ_ATTRIBUTE => {
                let name = r.string("req_attribute name")?;
                let value = r.string("req_attribute value")?;
                attributes.push((code, Some(name), AttributeValue::Str(value)));
            }
            ATTR_SSL_KEY_SIZE => {
                let v = r.u16("ssl_key_size")?;
                attributes.push((code, None, AttributeValue::U16(v)));
            }
            0x01..=0x09 | 0x0C | 0x0D => {
                let value = r.string("attribute value")?;
                attributes.push((code, None, AttributeValue::Str(value)));
            }
            other => return Err(invalid(format!("unknown attribute code {other:#04x}"))),
        }
    }
    if r.pos != payload.len() {
        return Err(invalid(format!(
            "{} trailing bytes after are_done (0xFF) at offset {}",
            payload.len() - r.pos,
            r.pos - 1
        )));
    }
    if method_code == METHOD_STORED {
        let stored = attributes
            .iter()
            .find(|(c, _, _)| *c == ATTR_STORED_METHOD)
            .and_then(|(_, _, v)| v.as_str())
            .ok_or_else(|| invalid("method 0xFF without stored_method attribute 0x0D".into()))?;
        method = stored.to_owned();
    }
    Ok(ForwardRequest {
        method_code,
        method,
        protocol,
        uri,
        remote_addr,
        remote_host,
        server_name,
        port,
        is_ssl,
        headers,
        attributes,
    })
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends an AJP string (u16 length, bytes, 0x00). Strings longer than 65534 bytes are cut.
pub fn put_string(out: &mut Vec<u8>, s: &str) {
    let b = &s.as_bytes()[..s.len().min(0xFFFE)];
    put_u16(out, b.len() as u16);
    out.extend_from_slice(b);
    out.push(0);
}

fn put_opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put_string(out, s),
        None => put_u16(out, 0xFFFF),
    }
}

/// Encodes a FORWARD_REQUEST payload (without the 4-byte header) exactly as the fields say:
/// `method_code` is written as is (`method` is not consulted; add attribute 0x0D yourself for
/// 0xFF), headers and attributes in their order, then 0xFF.
pub fn encode_forward_request(req: &ForwardRequest) -> Vec<u8> {
    let mut out = vec![FORWARD_REQUEST, req.method_code];
    put_string(&mut out, &req.protocol);
    put_string(&mut out, &req.uri);
    put_string(&mut out, &req.remote_addr);
    put_opt_string(&mut out, req.remote_host.as_deref());
    put_string(&mut out, &req.server_name);
    put_u16(&mut out, req.port);
    out.push(u8::from(req.is_ssl));
    put_u16(&mut out, req.headers.len().min(0xFFFF) as u16);
    for (name, value) in &req.headers {
        match name {
            HeaderName::Code(c) => put_u16(&mut out, *c),
            HeaderName::Name(n) => put_string(&mut out, n),
        }
        put_string(&mut out, value);
    }
    for (code, name, value) in &req.attributes {
        out.push(*code);
        if let Some(n) = name {
            put_string(&mut out, n);
        }
        match value {
            AttributeValue::Str(s) => put_string(&mut out, s),
            AttributeValue::U16(v) => put_u16(&mut out, *v),
        }
    }
    out.push(ATTR_ARE_DONE);
    out
}

/// Wraps a payload into a packet with the given magic (length field = payload length,
/// saturating at 0xFFFF).
pub fn packet(magic: [u8; 2], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&magic);
    put_u16(&mut out, payload.len().min(0xFFFF) as u16);
    out.extend_from_slice(payload);
    out
}

/// A web server → container body packet: `12 34` + (n+2) + n + data; empty data gives the
/// end-of-body packet `12 34 00 00`.
pub fn body_packet(data: &[u8]) -> Vec<u8> {
    if data.is_empty() {
        return MAGIC_FROM_WEB_SERVER
            .iter()
            .copied()
            .chain([0, 0])
            .collect();
    }
    let mut payload = Vec::with_capacity(data.len() + 2);
    put_u16(&mut payload, data.len().min(0xFFFF) as u16);
    payload.extend_from_slice(data);
    packet(MAGIC_FROM_WEB_SERVER, &payload)
}

/// SEND_HEADERS packet (complete, with `AB` header). With `coded`, names Tomcat knows (§7.7)
/// are sent as 0xA0xx codes, others as strings.
pub fn send_headers_packet(
    status: u16,
    reason: &str,
    headers: &[(String, String)],
    coded: bool,
) -> Vec<u8> {
    let mut p = vec![SEND_HEADERS];
    put_u16(&mut p, status);
    put_string(&mut p, reason);
    put_u16(&mut p, headers.len().min(0xFFFF) as u16);
    for (name, value) in headers {
        match response_header_code(name).filter(|_| coded) {
            Some(code) => put_u16(&mut p, code),
            None => put_string(&mut p, name),
        }
        put_string(&mut p, value);
    }
    packet(MAGIC_FROM_CONTAINER, &p)
}

/// SEND_BODY_CHUNK packet with Tomcat's trailing 0x00 (`data` must be ≤ 65531 bytes).
pub fn send_body_chunk_packet(data: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(data.len() + 4);
    p.push(SEND_BODY_CHUNK);
    put_u16(&mut p, data.len().min(0xFFFF) as u16);
    p.extend_from_slice(data);
    p.push(0);
    packet(MAGIC_FROM_CONTAINER, &p)
}

/// END_RESPONSE packet: `41 42 00 02 05 reuse`.
pub fn end_response_packet(reuse: bool) -> Vec<u8> {
    packet(MAGIC_FROM_CONTAINER, &[END_RESPONSE, u8::from(reuse)])
}

/// GET_BODY_CHUNK packet: `41 42 00 03 06` + size.
pub fn get_body_chunk_packet(size: u16) -> Vec<u8> {
    let [hi, lo] = size.to_be_bytes();
    packet(MAGIC_FROM_CONTAINER, &[GET_BODY_CHUNK, hi, lo])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        assert_eq!(method_name(2), Some("GET"));
        assert_eq!(method_name(27), Some("MKACTIVITY"));
        assert_eq!(method_name(0), None);
        assert_eq!(method_name(28), None);
        assert_eq!(method_code("PATCH"), None);
        assert_eq!(method_code("get"), None);
        assert_eq!(method_code("VERSION-CONTROL"), Some(17));
        assert_eq!(request_header_name(0xA00E), Some("user-agent"));
        assert_eq!(request_header_name(0xA00F), None);
        assert_eq!(request_header_name(0xA000), None);
        assert_eq!(request_header_code("Content-Length"), Some(0xA008));
        assert_eq!(response_header_code("www-authenticate"), Some(0xA00B));
        assert_eq!(response_header_name(0xA003), Some("Content-Length"));
        assert_eq!(response_header_code("X-Foo"), None);
    }

    #[test]
    fn reply_packets() {
        assert_eq!(end_response_packet(true), [0x41, 0x42, 0, 2, 5, 1]);
        assert_eq!(end_response_packet(false), [0x41, 0x42, 0, 2, 5, 0]);
        assert_eq!(
            get_body_chunk_packet(8186),
            [0x41, 0x42, 0, 3, 6, 0x1F, 0xFA]
        );
        assert_eq!(
            send_body_chunk_packet(b"hi"),
            [0x41, 0x42, 0, 6, 3, 0, 2, b'h', b'i', 0]
        );
        assert_eq!(body_packet(b""), [0x12, 0x34, 0, 0]);
        assert_eq!(body_packet(b"ab"), [0x12, 0x34, 0, 4, 0, 2, b'a', b'b']);
        let h = vec![("Content-Type".to_owned(), "text/plain".to_owned())];
        let mut want = vec![
            0x41, 0x42, 0, 0x19, 4, 0, 200, 0, 2, b'O', b'K', 0, 0, 1, 0xA0, 1,
        ];
        want.extend_from_slice(&[0, 10]);
        want.extend_from_slice(b"text/plain\0");
        assert_eq!(send_headers_packet(200, "OK", &h, true), want);
        let plain = send_headers_packet(200, "OK", &h, false);
        assert_eq!(&plain[14..16], &[0, 12]);
        assert_eq!(&plain[16..29], b"Content-Type\0");
    }

    #[test]
    fn attribute_keys() {
        let req = ForwardRequest {
            attributes: vec![
                (0x05, None, AttributeValue::Str("a=1".into())),
                (0x0B, None, AttributeValue::U16(256)),
                (
                    0x0A,
                    Some("AJP_REMOTE_PORT".into()),
                    AttributeValue::Str("4242".into()),
                ),
                (
                    0x0A,
                    Some("route".into()),
                    AttributeValue::Str("env".into()),
                ),
            ],
            ..Default::default()
        };
        assert_eq!(req.query(), Some("a=1"));
        assert_eq!(req.attribute("QUERY_STRING").unwrap(), "a=1");
        assert_eq!(req.attribute("ssl_key_size").unwrap().as_u16(), Some(256));
        assert_eq!(req.attribute(0x0Bu8).unwrap().to_string(), "256");
        assert_eq!(req.attribute_str("AJP_REMOTE_PORT"), Some("4242"));
        assert_eq!(req.attribute_str("ajp_remote_port"), None);
        assert_eq!(req.attribute_str(0x0Au8), Some("4242"));
        assert_eq!(
            req.attribute("route"),
            None,
            "well-known names win over req_attributes"
        );
        assert_eq!(req.attribute_str("secret"), None);
    }
}
