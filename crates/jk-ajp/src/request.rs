//! What the web server sends (§7.3–§7.6, §7.8): FORWARD_REQUEST, request body packets and
//! CPING; and, for tests and the test server, the decoding of both.

use jk_config::Activation;

use crate::codes::{AttributeCode, MessageType, Method, RequestHeaderCode};
use crate::error::AjpError;
use crate::wire::{Reader, Writer, HEADER_LEN, REQUEST_MAGIC};

/// CPING as sent by mod_jk.
pub const CPING: [u8; 5] = [0x12, 0x34, 0x00, 0x01, MessageType::CPING.0];
/// The empty body packet: end of the request body, or nothing left to send.
pub const EMPTY_BODY_PACKET: [u8; 4] = [0x12, 0x34, 0x00, 0x00];

/// Request attribute carrying the TLS protocol (when known).
pub const REQ_ATTR_SSL_PROTOCOL: &[u8] = b"AJP_SSL_PROTOCOL";
/// Request attribute carrying the client's port (always sent).
pub const REQ_ATTR_REMOTE_PORT: &[u8] = b"AJP_REMOTE_PORT";
/// Request attribute carrying the server's local address (always sent).
pub const REQ_ATTR_LOCAL_ADDR: &[u8] = b"AJP_LOCAL_ADDR";
/// Request attribute carrying the lb member's activation (always sent).
pub const REQ_ATTR_LB_ACTIVATION: &[u8] = b"JK_LB_ACTIVATION";

/// Everything mod_jk puts into one FORWARD_REQUEST, borrowed from the request. Optional
/// attributes are sent by the rules of §7.5, which [`ForwardRequest::encode`] applies; the
/// caller fills in what httpd and the worker know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardRequest<'a> {
    /// Method name (`r->method`, bytes as httpd holds them); without an AJP code it is sent
    /// as [`Method::STORED`] + attribute 0x0D.
    pub method: &'a [u8],
    /// `r->protocol`, e.g. `HTTP/1.1`.
    pub protocol: &'a [u8],
    /// The URI as chosen by the JkOptions ForwardURI* setting, without the query.
    pub req_uri: &'a [u8],
    /// Client address. Empty is sent as a null string, as mod_jk does for an empty
    /// `JK_REMOTE_ADDR` override.
    pub remote_addr: &'a [u8],
    /// Client host name; `None` (null string) unless HostnameLookups or JK_REMOTE_HOST.
    pub remote_host: Option<&'a [u8]>,
    /// `ap_get_server_name(r)` or JK_LOCAL_NAME.
    pub server_name: &'a [u8],
    /// `ap_get_server_port(r)` or JK_LOCAL_PORT.
    pub server_port: u16,
    /// JkExtractSSL On and `HTTPS=on`. The SSL attributes are only sent when set.
    pub is_ssl: bool,
    /// Request headers in `r->headers_in` order, with the client's spelling.
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    /// The request body length from Content-Length (`None`: no such header).
    pub content_length: Option<u64>,
    /// The body comes chunked: every Content-Length header is dropped.
    pub chunked: bool,
    /// The worker's (or its lb's) `secret`; sent when non-empty.
    pub secret: Option<&'a [u8]>,
    /// `r->user` / JK_REMOTE_USER; sent when non-empty.
    pub remote_user: Option<&'a [u8]>,
    /// `r->ap_auth_type` / JK_AUTH_TYPE; sent when non-empty.
    pub auth_type: Option<&'a [u8]>,
    /// `r->args`, raw, without `?`; sent whenever present, even empty.
    pub query_string: Option<&'a [u8]>,
    /// The route (jvm_route); sent when non-empty.
    pub route: Option<&'a [u8]>,
    /// Client certificate PEM (chain appended); sent when SSL and non-empty.
    pub ssl_cert: Option<&'a [u8]>,
    /// Cipher name; sent when SSL and present.
    pub ssl_cipher: Option<&'a [u8]>,
    /// SSL session id; sent when SSL and present.
    pub ssl_session: Option<&'a [u8]>,
    /// Key size (ForwardKeySize); sent as an int when SSL and present.
    pub ssl_key_size: Option<u16>,
    /// TLS protocol name; sent as `AJP_SSL_PROTOCOL` when SSL and non-empty.
    pub ssl_protocol: Option<&'a [u8]>,
    /// Client port as decimal text (`AJP_REMOTE_PORT`, always sent).
    pub remote_port: &'a [u8],
    /// Local address (`AJP_LOCAL_ADDR`, always sent).
    pub local_addr: &'a [u8],
    /// The lb member's activation, sent as its text (`JK_LB_ACTIVATION`, always sent; `ACT`
    /// for workers outside a load balancer).
    pub lb_activation: Activation,
    /// JkEnvVar attributes in configuration order, sent after the fixed ones.
    pub env: Vec<(&'a [u8], &'a [u8])>,
}

impl Default for ForwardRequest<'_> {
    fn default() -> Self {
        ForwardRequest {
            method: b"GET",
            protocol: b"HTTP/1.1",
            req_uri: b"/",
            remote_addr: b"",
            remote_host: None,
            server_name: b"",
            server_port: 80,
            is_ssl: false,
            headers: Vec::new(),
            content_length: None,
            chunked: false,
            secret: None,
            remote_user: None,
            auth_type: None,
            query_string: None,
            route: None,
            ssl_cert: None,
            ssl_cipher: None,
            ssl_session: None,
            ssl_key_size: None,
            ssl_protocol: None,
            remote_port: b"",
            local_addr: b"",
            lb_activation: Activation::Active,
            env: Vec::new(),
        }
    }
}

fn is_content_length(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"content-length")
}

/// `Some(v)` with `v` non-empty.
fn non_empty(v: Option<&[u8]>) -> Option<&[u8]> {
    v.filter(|v| !v.is_empty())
}

impl<'a> ForwardRequest<'a> {
    /// The headers as they go on the wire (§7.3): for a chunked body every Content-Length is
    /// dropped; a request that is not chunked, has no body and carries no Content-Length gets
    /// `Content-Length: 0` appended, since AJP reads a missing length as "unknown length".
    pub fn wire_headers(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        let chunked = self.chunked;
        let sent = self
            .headers
            .iter()
            .copied()
            .filter(move |(n, _)| !(chunked && is_content_length(n)));
        let zero_length = !self.chunked
            && self.content_length.unwrap_or(0) == 0
            && !self.headers.iter().any(|(n, _)| is_content_length(n));
        sent.chain(zero_length.then_some((&b"Content-Length"[..], &b"0"[..])))
    }

    /// The FORWARD_REQUEST packet, header included, byte for byte as mod_jk 1.2.48 builds
    /// it; [`AjpError::TooLarge`] when it does not fit into `max_packet_size` (the handler
    /// answers 413 and contacts no backend).
    pub fn encode(&self, max_packet_size: usize) -> Result<Vec<u8>, AjpError> {
        let mut w = Writer::new(max_packet_size);
        let method = Method::from_bytes(self.method);
        w.put_byte(MessageType::FORWARD_REQUEST.0)?;
        w.put_byte(method.0)?;
        w.put_str(self.protocol)?;
        w.put_str(self.req_uri)?;
        w.put_string((!self.remote_addr.is_empty()).then_some(self.remote_addr))?;
        w.put_string(self.remote_host)?;
        w.put_str(self.server_name)?;
        w.put_u16(self.server_port)?;
        w.put_bool(self.is_ssl)?;
        self.put_headers(&mut w)?;
        self.put_attributes(&mut w, method)?;
        w.put_byte(AttributeCode::ARE_DONE.0)?;
        w.finish()
    }

    fn put_headers(&self, w: &mut Writer) -> Result<(), AjpError> {
        let count = self.wire_headers().count();
        // Each header takes at least 5 bytes, so a count beyond u16 can never fit anyway.
        let count = u16::try_from(count).map_err(|_| AjpError::TooLarge {
            size: w.len().saturating_add(count.saturating_mul(5)),
            max: w.max_packet_size(),
        })?;
        w.put_u16(count)?;
        for (name, value) in self.wire_headers() {
            put_header(w, name, value)?;
        }
        Ok(())
    }

    /// The attributes in mod_jk's fixed order (§7.5 table).
    fn put_attributes(&self, w: &mut Writer, method: Method) -> Result<(), AjpError> {
        put_attribute(w, AttributeCode::SECRET, non_empty(self.secret))?;
        put_attribute(w, AttributeCode::REMOTE_USER, non_empty(self.remote_user))?;
        put_attribute(w, AttributeCode::AUTH_TYPE, non_empty(self.auth_type))?;
        put_attribute(w, AttributeCode::QUERY_STRING, self.query_string)?;
        put_attribute(w, AttributeCode::ROUTE, non_empty(self.route))?;
        if self.is_ssl {
            put_attribute(w, AttributeCode::SSL_CERT, non_empty(self.ssl_cert))?;
            put_attribute(w, AttributeCode::SSL_CIPHER, self.ssl_cipher)?;
            put_attribute(w, AttributeCode::SSL_SESSION, self.ssl_session)?;
            if let Some(size) = self.ssl_key_size {
                w.put_byte(AttributeCode::SSL_KEY_SIZE.0)?;
                w.put_u16(size)?;
            }
        }
        if method == Method::STORED {
            put_attribute(w, AttributeCode::STORED_METHOD, Some(self.method))?;
        }
        if self.is_ssl {
            if let Some(protocol) = non_empty(self.ssl_protocol) {
                put_req_attribute(w, REQ_ATTR_SSL_PROTOCOL, protocol)?;
            }
        }
        put_req_attribute(w, REQ_ATTR_REMOTE_PORT, self.remote_port)?;
        put_req_attribute(w, REQ_ATTR_LOCAL_ADDR, self.local_addr)?;
        put_req_attribute(
            w,
            REQ_ATTR_LB_ACTIVATION,
            self.lb_activation.text().as_bytes(),
        )?;
        for (name, value) in &self.env {
            put_req_attribute(w, name, value)?;
        }
        Ok(())
    }
}

/// One header: the code when mod_jk has one for the name, else the name as a string.
fn put_header(w: &mut Writer, name: &[u8], value: &[u8]) -> Result<(), AjpError> {
    match RequestHeaderCode::for_name(name) {
        Some(code) => w.put_u16(code.0)?,
        None => w.put_str(name)?,
    }
    w.put_str(value)
}

/// A string attribute, when it has a value.
fn put_attribute(
    w: &mut Writer,
    code: AttributeCode,
    value: Option<&[u8]>,
) -> Result<(), AjpError> {
    if let Some(value) = value {
        w.put_byte(code.0)?;
        w.put_str(value)?;
    }
    Ok(())
}

/// A named request attribute (code 0x0A).
fn put_req_attribute(w: &mut Writer, name: &[u8], value: &[u8]) -> Result<(), AjpError> {
    w.put_byte(AttributeCode::REQ_ATTRIBUTE.0)?;
    w.put_str(name)?;
    w.put_str(value)
}

/// A request body packet (§7.6): `12 34`, u16 (n+2), u16 n, the data. At most
/// `max_packet_size − 6` data bytes; more is [`AjpError::TooLarge`].
pub fn encode_body_chunk(data: &[u8], max_packet_size: usize) -> Result<Vec<u8>, AjpError> {
    let mut w = Writer::new(max_packet_size);
    let n = u16::try_from(data.len()).map_err(|_| AjpError::TooLarge {
        size: data.len() + 6,
        max: w.max_packet_size(),
    })?;
    w.put_u16(n)?;
    w.put_bytes(data)?;
    w.finish()
}

/// The 6 bytes before `n` bytes of body data, for a caller that writes the data itself
/// (same limits as [`encode_body_chunk`]).
pub fn encode_body_chunk_header(n: usize, max_packet_size: usize) -> Result<[u8; 6], AjpError> {
    let max = max_packet_size.min(HEADER_LEN + usize::from(u16::MAX));
    let too_large = AjpError::TooLarge {
        size: n.saturating_add(6),
        max,
    };
    if n.saturating_add(6) > max {
        return Err(too_large);
    }
    let len = u16::try_from(n).map_err(|_| too_large.clone())?;
    let outer = u16::try_from(n + 2).map_err(|_| too_large)?;
    let [a, b] = outer.to_be_bytes();
    let [c, d] = len.to_be_bytes();
    Ok([REQUEST_MAGIC[0], REQUEST_MAGIC[1], a, b, c, d])
}

/// Reads the header of a packet from the web server (test server side): the payload length,
/// or an error for a magic other than `12 34` or a packet larger than `max_packet_size`.
pub fn read_request_header(header: &[u8; 4], max_packet_size: usize) -> Result<usize, AjpError> {
    let magic = u16::from_be_bytes([header[0], header[1]]);
    if [header[0], header[1]] != REQUEST_MAGIC {
        return Err(AjpError::BadMagic(magic));
    }
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if len + HEADER_LEN > max_packet_size {
        return Err(AjpError::BadLength {
            len,
            max: max_packet_size,
        });
    }
    Ok(len)
}

/// The data of a request body packet's payload (test server side): empty for the empty
/// packet `12 34 00 00`, else the u16-counted bytes, which must fill the payload exactly.
pub fn decode_body_chunk(payload: &[u8]) -> Result<&[u8], AjpError> {
    if payload.is_empty() {
        return Ok(payload);
    }
    let mut r = Reader::new(payload);
    let n = r.get_u16().map_err(|e| e.in_field("body chunk length"))?;
    let data = r
        .get_bytes(usize::from(n))
        .map_err(|e| e.in_field("body chunk data"))?;
    end_of_message(&r)?;
    Ok(data)
}

/// A request header name as decoded: a code or the string the client spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestHeaderName<'a> {
    /// Sent as a code `A0xx`.
    Coded(RequestHeaderCode),
    /// Sent as a string.
    Named(&'a [u8]),
}

impl<'a> RequestHeaderName<'a> {
    /// The name: the lower-case table name for a code, else the bytes sent.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            RequestHeaderName::Coded(code) => code.name().unwrap_or("").as_bytes(),
            RequestHeaderName::Named(name) => name,
        }
    }
}

/// One attribute of a decoded FORWARD_REQUEST, in the order received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribute<'a> {
    /// An attribute with one string value (`None`: null string).
    Str(AttributeCode, Option<&'a [u8]>),
    /// `ssl_key_size` (0x0B), an int.
    SslKeySize(u16),
    /// A named request attribute (0x0A).
    Req {
        /// Attribute name, e.g. `AJP_REMOTE_PORT`.
        name: &'a [u8],
        /// Its value.
        value: &'a [u8],
    },
}

impl Attribute<'_> {
    /// The attribute's code.
    pub fn code(&self) -> AttributeCode {
        match self {
            Attribute::Str(code, _) => *code,
            Attribute::SslKeySize(_) => AttributeCode::SSL_KEY_SIZE,
            Attribute::Req { .. } => AttributeCode::REQ_ATTRIBUTE,
        }
    }
}

/// A FORWARD_REQUEST as the container sees it, borrowed from the payload. Strings are
/// `Option` so a null string stays distinguishable from an empty one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedForwardRequest<'a> {
    /// The method byte.
    pub method: Method,
    /// Protocol string.
    pub protocol: Option<&'a [u8]>,
    /// Request URI.
    pub req_uri: Option<&'a [u8]>,
    /// Client address.
    pub remote_addr: Option<&'a [u8]>,
    /// Client host name.
    pub remote_host: Option<&'a [u8]>,
    /// Server name.
    pub server_name: Option<&'a [u8]>,
    /// Server port.
    pub server_port: u16,
    /// The is_ssl flag.
    pub is_ssl: bool,
    /// Headers in order, code or name preserved.
    pub headers: Vec<(RequestHeaderName<'a>, &'a [u8])>,
    /// Attributes in order, `are_done` excluded.
    pub attributes: Vec<Attribute<'a>>,
}

impl<'a> DecodedForwardRequest<'a> {
    /// The method name: the table name for a coded method, else the stored_method attribute.
    pub fn method_name(&self) -> Option<&'a [u8]> {
        match self.method.name() {
            Some(name) => Some(name.as_bytes()),
            None => self
                .attribute(AttributeCode::STORED_METHOD)
                .and_then(|a| match a {
                    Attribute::Str(_, value) => value,
                    _ => None,
                }),
        }
    }

    /// The first value of a header, name compared ASCII case-insensitively.
    pub fn header(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            .map(|h| h.1)
    }

    /// The first attribute with this code.
    pub fn attribute(&self, code: AttributeCode) -> Option<Attribute<'a>> {
        self.attributes.iter().copied().find(|a| a.code() == code)
    }

    /// The value of a named request attribute (0x0A).
    pub fn req_attribute(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Req { name: n, value } if *n == name => Some(*value),
            _ => None,
        })
    }
}

/// Decodes a FORWARD_REQUEST payload (the bytes after the 4-byte header), strictly: unknown
/// attribute codes, null header names or values, and bytes after `are_done` are errors.
pub fn decode_forward_request(payload: &[u8]) -> Result<DecodedForwardRequest<'_>, AjpError> {
    let mut r = Reader::new(payload);
    let found = r.get_byte().map_err(|e| e.in_field("message type"))?;
    if found != MessageType::FORWARD_REQUEST.0 {
        return Err(AjpError::UnexpectedType {
            expected: MessageType::FORWARD_REQUEST,
            found,
        });
    }
    let method = Method(r.get_byte().map_err(|e| e.in_field("method"))?);
    let protocol = r.get_string().map_err(|e| e.in_field("protocol"))?;
    let req_uri = r.get_string().map_err(|e| e.in_field("req_uri"))?;
    let remote_addr = r.get_string().map_err(|e| e.in_field("remote_addr"))?;
    let remote_host = r.get_string().map_err(|e| e.in_field("remote_host"))?;
    let server_name = r.get_string().map_err(|e| e.in_field("server_name"))?;
    let server_port = r.get_u16().map_err(|e| e.in_field("server_port"))?;
    let is_ssl = r.get_bool().map_err(|e| e.in_field("is_ssl"))?;
    let headers = request_headers(&mut r)?;
    let attributes = request_attributes(&mut r)?;
    end_of_message(&r)?;
    Ok(DecodedForwardRequest {
        method,
        protocol,
        req_uri,
        remote_addr,
        remote_host,
        server_name,
        server_port,
        is_ssl,
        headers,
        attributes,
    })
}

/// `num_headers` and the headers: a word with high byte `A0` is a code, else a string name.
fn request_headers<'a>(
    r: &mut Reader<'a>,
) -> Result<Vec<(RequestHeaderName<'a>, &'a [u8])>, AjpError> {
    let count = r.get_u16().map_err(|e| e.in_field("num_headers"))?;
    // Never trust a count for an allocation: each header needs at least 5 bytes.
    let mut headers = Vec::with_capacity(usize::from(count).min(r.remaining() / 5));
    for _ in 0..count {
        let word = r.peek_u16().map_err(|e| e.in_field("header name"))?;
        let name = if RequestHeaderCode::is_coded(word) {
            let code = RequestHeaderCode(r.get_u16()?);
            if code.name().is_none() {
                return Err(AjpError::UnknownHeaderCode(word));
            }
            RequestHeaderName::Coded(code)
        } else {
            RequestHeaderName::Named(r.get_str().map_err(|e| e.in_field("header name"))?)
        };
        let value = r.get_str().map_err(|e| e.in_field("header value"))?;
        headers.push((name, value));
    }
    Ok(headers)
}

/// Attributes up to and excluding `are_done`.
fn request_attributes<'a>(r: &mut Reader<'a>) -> Result<Vec<Attribute<'a>>, AjpError> {
    let mut attributes = Vec::new();
    loop {
        let code = AttributeCode(r.get_byte().map_err(|e| e.in_field("attribute code"))?);
        let attribute = match code {
            AttributeCode::ARE_DONE => return Ok(attributes),
            AttributeCode::SSL_KEY_SIZE => {
                Attribute::SslKeySize(r.get_u16().map_err(|e| e.in_field("ssl_key_size"))?)
            }
            AttributeCode::REQ_ATTRIBUTE => Attribute::Req {
                name: r.get_str().map_err(|e| e.in_field("req_attribute name"))?,
                value: r.get_str().map_err(|e| e.in_field("req_attribute value"))?,
            },
            AttributeCode(0x01..=0x09 | 0x0C | 0x0D) => Attribute::Str(
                code,
                r.get_string().map_err(|e| e.in_field("attribute value"))?,
            ),
            AttributeCode(other) => return Err(AjpError::UnknownAttribute(other)),
        };
        attributes.push(attribute);
    }
}

fn end_of_message(r: &Reader<'_>) -> Result<(), AjpError> {
    match r.remaining() {
        0 => Ok(()),
        count => Err(AjpError::TrailingBytes { count }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An AJP string as the test expects it on the wire.
    fn s(v: &[u8]) -> Vec<u8> {
        let mut out = u16::try_from(v.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(v);
        out.push(0);
        out
    }

    /// Frames a payload as a web-server packet.
    fn packet(payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0x12, 0x34];
        out.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn minimal<'a>() -> ForwardRequest<'a> {
        ForwardRequest {
            method: b"GET",
            protocol: b"HTTP/1.1",
            req_uri: b"/",
            remote_addr: b"10.0.0.1",
            server_name: b"h",
            server_port: 80,
            remote_port: b"1",
            local_addr: b"10.0.0.2",
            ..ForwardRequest::default()
        }
    }

    /// The fixed part of `minimal()` up to and including num_headers.
    fn minimal_prefix(method: u8, num_headers: u16) -> Vec<u8> {
        let mut p = vec![0x02, method];
        p.extend(s(b"HTTP/1.1"));
        p.extend(s(b"/"));
        p.extend(s(b"10.0.0.1"));
        p.extend([0xFF, 0xFF]);
        p.extend(s(b"h"));
        p.extend([0x00, 0x50, 0x00]);
        p.extend(num_headers.to_be_bytes());
        p
    }

    /// The always-sent tail of `minimal()`.
    fn minimal_tail() -> Vec<u8> {
        let mut p = vec![0x0A];
        p.extend(s(b"AJP_REMOTE_PORT"));
        p.extend(s(b"1"));
        p.push(0x0A);
        p.extend(s(b"AJP_LOCAL_ADDR"));
        p.extend(s(b"10.0.0.2"));
        p.push(0x0A);
        p.extend(s(b"JK_LB_ACTIVATION"));
        p.extend(s(b"ACT"));
        p.push(0xFF);
        p
    }

    #[test]
    fn minimal_get_appends_content_length_zero() {
        let mut want = minimal_prefix(0x02, 1);
        want.extend([0xA0, 0x08]);
        want.extend(s(b"0"));
        want.extend(minimal_tail());
        assert_eq!(minimal().encode(8192).unwrap(), packet(&want));
    }

    #[test]
    fn stored_method_goes_after_key_size_and_before_req_attributes() {
        let req = ForwardRequest {
            method: b"PATCH",
            content_length: Some(3),
            ..minimal()
        };
        let mut want = minimal_prefix(0xFF, 0);
        want.push(0x0D);
        want.extend(s(b"PATCH"));
        want.extend(minimal_tail());
        let encoded = req.encode(8192).unwrap();
        assert_eq!(encoded, packet(&want));
        let decoded = decode_forward_request(&encoded[4..]).unwrap();
        assert_eq!(decoded.method, Method::STORED);
        assert_eq!(decoded.method_name(), Some(&b"PATCH"[..]));
    }

    #[test]
    fn every_method_byte_is_encoded() {
        for code in 1u8..=27 {
            let name = Method(code).name().unwrap();
            let req = ForwardRequest {
                method: name.as_bytes(),
                ..minimal()
            };
            let p = req.encode(8192).unwrap();
            assert_eq!(p[5], code, "{name}");
            let d = decode_forward_request(&p[4..]).unwrap();
            assert_eq!(d.attribute(AttributeCode::STORED_METHOD), None);
            assert_eq!(d.method_name(), Some(name.as_bytes()));
        }
    }

    #[test]
    fn every_request_header_code_and_the_accept_quirk() {
        let names: [&[u8]; 14] = [
            b"Accept",
            b"Accept-Charset",
            b"Accept-Encoding",
            b"Accept-Language",
            b"Authorization",
            b"Connection",
            b"Content-Type",
            b"CONTENT-LENGTH",
            b"Cookie",
            b"Cookie2",
            b"Host",
            b"Pragma",
            b"Referer",
            b"User-Agent",
        ];
        let headers: Vec<(&[u8], &[u8])> = names.iter().map(|n| (*n, &b"v"[..])).collect();
        let req = ForwardRequest {
            headers,
            content_length: Some(1),
            ..minimal()
        };
        let mut want = minimal_prefix(0x02, 14);
        for (i, name) in names.iter().enumerate() {
            match i {
                1..=3 => want.extend(s(name)), // never coded, client's spelling
                _ => want.extend((0xA001 + u16::try_from(i).unwrap()).to_be_bytes()),
            }
            want.extend(s(b"v"));
        }
        want.extend(minimal_tail());
        assert_eq!(req.encode(8192).unwrap(), packet(&want));
    }

    #[test]
    fn content_length_rules() {
        let cl: (&[u8], &[u8]) = (b"content-length", b"5");
        let te: (&[u8], &[u8]) = (b"Transfer-Encoding", b"chunked");
        // Body announced by the client: its header is kept, nothing appended.
        let req = ForwardRequest {
            headers: vec![cl],
            content_length: Some(5),
            ..minimal()
        };
        assert_eq!(req.wire_headers().collect::<Vec<_>>(), vec![cl]);
        // Client said "Content-Length: 0" itself: kept, not doubled.
        let zero: (&[u8], &[u8]) = (b"Content-Length", b"0");
        let req = ForwardRequest {
            headers: vec![zero],
            content_length: Some(0),
            ..minimal()
        };
        assert_eq!(req.wire_headers().collect::<Vec<_>>(), vec![zero]);
        // Chunked: every Content-Length dropped, Transfer-Encoding passed, nothing appended.
        let req = ForwardRequest {
            headers: vec![cl, te, (b"CONTENT-LENGTH", b"7")],
            chunked: true,
            ..minimal()
        };
        assert_eq!(req.wire_headers().collect::<Vec<_>>(), vec![te]);
        let mut want = minimal_prefix(0x02, 1);
        want.extend(s(b"Transfer-Encoding"));
        want.extend(s(b"chunked"));
        want.extend(minimal_tail());
        assert_eq!(req.encode(8192).unwrap(), packet(&want));
        // No header, no length: Content-Length: 0 appended last.
        let req = ForwardRequest {
            headers: vec![te],
            ..minimal()
        };
        assert_eq!(
            req.wire_headers().collect::<Vec<_>>(),
            vec![te, (b"Content-Length", b"0")]
        );
    }

    #[test]
    fn every_attribute_in_its_order() {
        let req = ForwardRequest {
            method: b"PATCH",
            is_ssl: true,
            content_length: Some(1),
            secret: Some(b"s3"),
            remote_user: Some(b"bob"),
            auth_type: Some(b"Basic"),
            query_string: Some(b"a=1"),
            route: Some(b"node1"),
            ssl_cert: Some(b"PEM"),
            ssl_cipher: Some(b"AES"),
            ssl_session: Some(b"abcd"),
            ssl_key_size: Some(256),
            ssl_protocol: Some(b"TLSv1.3"),
            lb_activation: Activation::Disabled,
            env: vec![(b"E1", b"v1"), (b"E2", b"")],
            ..minimal()
        };
        let mut want = minimal_prefix(0xFF, 0);
        want[minimal_prefix(0xFF, 0).len() - 3] = 0x01; // is_ssl
        for (code, value) in [
            (0x0C, &b"s3"[..]),
            (0x03, b"bob"),
            (0x04, b"Basic"),
            (0x05, b"a=1"),
            (0x06, b"node1"),
            (0x07, b"PEM"),
            (0x08, b"AES"),
            (0x09, b"abcd"),
        ] {
            want.push(code);
            want.extend(s(value));
        }
        want.extend([0x0B, 0x01, 0x00]);
        want.push(0x0D);
        want.extend(s(b"PATCH"));
        for (name, value) in [
            (&b"AJP_SSL_PROTOCOL"[..], &b"TLSv1.3"[..]),
            (b"AJP_REMOTE_PORT", b"1"),
            (b"AJP_LOCAL_ADDR", b"10.0.0.2"),
            (b"JK_LB_ACTIVATION", b"DIS"),
            (b"E1", b"v1"),
            (b"E2", b""),
        ] {
            want.push(0x0A);
            want.extend(s(name));
            want.extend(s(value));
        }
        want.push(0xFF);
        let p = req.encode(8192).unwrap();
        assert_eq!(p, packet(&want));
        let d = decode_forward_request(&p[4..]).unwrap();
        let codes: Vec<u8> = d.attributes.iter().map(|a| a.code().0).collect();
        assert_eq!(
            codes,
            [0x0C, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0B, 0x0D, 10, 10, 10, 10, 10, 10]
        );
        assert_eq!(
            d.attribute(AttributeCode::SSL_KEY_SIZE),
            Some(Attribute::SslKeySize(256))
        );
        assert_eq!(d.req_attribute(b"JK_LB_ACTIVATION"), Some(&b"DIS"[..]));
    }

    /// Every string field is put on the wire as the bytes given: a request for
    /// `/app/caf%E9/x?n=caf\xE9` carries the byte E9, not U+FFFD (`EF BF BD`), wherever
    /// httpd holds bytes that are not UTF-8 (path, query, method, environment values).
    #[test]
    fn bytes_that_are_not_utf8_go_out_unchanged() {
        let latin1: &[u8] = b"Jos\xe9\xff";
        let req = ForwardRequest {
            method: b"M\xe9TH",
            protocol: b"HTTP/1.1",
            req_uri: b"/app/caf\xe9/x",
            remote_addr: latin1,
            remote_host: Some(latin1),
            server_name: latin1,
            is_ssl: true,
            headers: vec![(b"X-N\xe9", latin1)],
            content_length: Some(1),
            remote_user: Some(latin1),
            auth_type: Some(latin1),
            query_string: Some(b"n=caf\xe9&x=\xff"),
            route: Some(latin1),
            ssl_cert: Some(latin1),
            ssl_cipher: Some(latin1),
            ssl_session: Some(latin1),
            ssl_protocol: Some(latin1),
            remote_port: latin1,
            local_addr: latin1,
            env: vec![(b"E\xe9", latin1)],
            ..minimal()
        };
        let p = req.encode(8192).unwrap();
        assert!(
            !p.windows(3).any(|w| w == b"\xef\xbf\xbd"),
            "U+FFFD on the wire"
        );
        let d = decode_forward_request(&p[4..]).unwrap();
        assert_eq!(d.method, Method::STORED);
        assert_eq!(d.method_name(), Some(&b"M\xe9TH"[..]));
        assert_eq!(d.req_uri, Some(&b"/app/caf\xe9/x"[..]));
        for field in [d.remote_addr, d.remote_host, d.server_name] {
            assert_eq!(field, Some(latin1));
        }
        assert_eq!(d.headers[0].0.as_bytes(), b"X-N\xe9");
        assert_eq!(d.headers[0].1, latin1);
        let str_attr = |code| match d.attribute(code) {
            Some(Attribute::Str(_, v)) => v,
            other => panic!("{code:?}: {other:?}"),
        };
        assert_eq!(
            str_attr(AttributeCode::QUERY_STRING),
            Some(&b"n=caf\xe9&x=\xff"[..])
        );
        for code in [
            AttributeCode::REMOTE_USER,
            AttributeCode::AUTH_TYPE,
            AttributeCode::ROUTE,
            AttributeCode::SSL_CERT,
            AttributeCode::SSL_CIPHER,
            AttributeCode::SSL_SESSION,
        ] {
            assert_eq!(str_attr(code), Some(latin1), "{code:?}");
        }
        for name in [
            &b"AJP_SSL_PROTOCOL"[..],
            b"AJP_REMOTE_PORT",
            b"AJP_LOCAL_ADDR",
            b"E\xe9",
        ] {
            assert_eq!(d.req_attribute(name), Some(latin1));
        }
    }

    #[test]
    fn empty_and_none_rules_of_the_attribute_table() {
        let req = ForwardRequest {
            secret: Some(b""),
            remote_user: Some(b""),
            auth_type: Some(b""),
            route: Some(b""),
            ..minimal()
        };
        assert_eq!(req.encode(8192).unwrap(), minimal().encode(8192).unwrap());
        // Present but empty query string (`/x?`) is still sent.
        let req = ForwardRequest {
            query_string: Some(b""),
            ..minimal()
        };
        let d = req.encode(8192).unwrap();
        let d = decode_forward_request(&d[4..]).unwrap();
        assert_eq!(
            d.attributes[0],
            Attribute::Str(AttributeCode::QUERY_STRING, Some(b""))
        );
        // SSL attributes are only sent with is_ssl.
        let ssl_only = ForwardRequest {
            ssl_cert: Some(b"PEM"),
            ssl_cipher: Some(b"AES"),
            ssl_session: Some(b"x"),
            ssl_key_size: Some(128),
            ssl_protocol: Some(b"TLSv1.2"),
            ..minimal()
        };
        assert_eq!(
            ssl_only.encode(8192).unwrap(),
            minimal().encode(8192).unwrap()
        );
        // With is_ssl, an empty cert and protocol are still left out, empty cipher is sent.
        let req = ForwardRequest {
            is_ssl: true,
            ssl_cert: Some(b""),
            ssl_cipher: Some(b""),
            ssl_protocol: Some(b""),
            ..minimal()
        };
        let p = req.encode(8192).unwrap();
        let d = decode_forward_request(&p[4..]).unwrap();
        let codes: Vec<u8> = d.attributes.iter().map(|a| a.code().0).collect();
        assert_eq!(codes, [0x08, 10, 10, 10]);
    }

    #[test]
    fn remote_host_is_a_null_string_unless_known() {
        let p = minimal().encode(8192).unwrap();
        let d = decode_forward_request(&p[4..]).unwrap();
        assert_eq!(d.remote_host, None);
        let req = ForwardRequest {
            remote_host: Some(b"client.example"),
            ..minimal()
        };
        let p = req.encode(8192).unwrap();
        let d = decode_forward_request(&p[4..]).unwrap();
        assert_eq!(d.remote_host, Some(&b"client.example"[..]));
    }

    #[test]
    fn too_large_at_exactly_max_and_max_plus_one() {
        let exact = minimal().encode(8192).unwrap().len();
        assert_eq!(minimal().encode(exact).unwrap().len(), exact);
        assert!(matches!(
            minimal().encode(exact - 1),
            Err(AjpError::TooLarge { max, .. }) if max == exact - 1
        ));
        // A header value one byte longer than what fits.
        let base = ForwardRequest {
            headers: vec![(b"X", b"")],
            ..minimal()
        };
        let fixed = base.encode(8192).unwrap().len();
        let value = vec![b'v'; 8192 - fixed];
        let req = ForwardRequest {
            headers: vec![(b"X", &value)],
            ..minimal()
        };
        assert_eq!(req.encode(8192).unwrap().len(), 8192);
        let value = vec![b'v'; 8192 - fixed + 1];
        let req = ForwardRequest {
            headers: vec![(b"X", &value)],
            ..minimal()
        };
        let err = req.encode(8192).unwrap_err();
        assert!(err.is_too_large());
        assert_eq!(err.http_status(), 413);
    }

    #[test]
    fn body_chunk_at_max_minus_6_and_max_minus_5() {
        let max = 8192;
        let data = vec![0xAB; max - 6];
        let p = encode_body_chunk(&data, max).unwrap();
        assert_eq!(p.len(), max);
        assert_eq!(&p[..6], &[0x12, 0x34, 0x1F, 0xFC, 0x1F, 0xFA]);
        assert_eq!(
            encode_body_chunk_header(max - 6, max).unwrap(),
            [0x12, 0x34, 0x1F, 0xFC, 0x1F, 0xFA]
        );
        assert_eq!(decode_body_chunk(&p[4..]).unwrap(), &data[..]);
        let data = vec![0xAB; max - 5];
        assert_eq!(
            encode_body_chunk(&data, max),
            Err(AjpError::TooLarge { size: max + 1, max })
        );
        assert!(encode_body_chunk_header(max - 5, max).is_err());
        // At the largest max, the u16 limit holds.
        assert!(encode_body_chunk(&vec![0; 65530], 65536).is_ok());
        assert!(encode_body_chunk(&vec![0; 65531], 65536).is_err());
    }

    #[test]
    fn body_chunks_as_captured() {
        assert_eq!(
            encode_body_chunk(b"hello=world", 8192).unwrap(),
            packet(&[&[0x00, 0x0B][..], b"hello=world"].concat())
        );
        assert_eq!(
            encode_body_chunk(b"", 8192).unwrap(),
            [0x12, 0x34, 0x00, 0x02, 0x00, 0x00]
        );
        assert_eq!(EMPTY_BODY_PACKET, [0x12, 0x34, 0x00, 0x00]);
        assert_eq!(decode_body_chunk(&EMPTY_BODY_PACKET[4..]).unwrap(), b"");
        assert_eq!(decode_body_chunk(&[0x00, 0x00]).unwrap(), b"");
    }

    #[test]
    fn body_chunk_decoding_errors() {
        assert!(matches!(
            decode_body_chunk(&[0x00]),
            Err(AjpError::Truncated { .. })
        ));
        assert!(matches!(
            decode_body_chunk(&[0x00, 0x02, 1]),
            Err(AjpError::Truncated { .. })
        ));
        assert_eq!(
            decode_body_chunk(&[0x00, 0x01, 1, 2]),
            Err(AjpError::TrailingBytes { count: 1 })
        );
    }

    #[test]
    fn cping_bytes() {
        assert_eq!(CPING, [0x12, 0x34, 0x00, 0x01, 0x0A]);
        let mut w = Writer::new(8192);
        w.put_byte(MessageType::CPING.0).unwrap();
        assert_eq!(w.finish().unwrap(), CPING);
    }

    #[test]
    fn request_header_reading() {
        assert_eq!(read_request_header(&[0x12, 0x34, 0x00, 0x01], 8192), Ok(1));
        assert_eq!(
            read_request_header(&[0x12, 0x34, 0x1F, 0xFC], 8192),
            Ok(8188)
        );
        assert_eq!(
            read_request_header(&[0x12, 0x34, 0x1F, 0xFD], 8192),
            Err(AjpError::BadLength {
                len: 8189,
                max: 8192
            })
        );
        assert_eq!(
            read_request_header(&[0x41, 0x42, 0, 1], 8192),
            Err(AjpError::BadMagic(0x4142))
        );
    }

    #[test]
    fn forward_request_decoding_errors() {
        let p = minimal().encode(8192).unwrap();
        let payload = &p[4..];
        for cut in 0..payload.len() {
            assert!(
                decode_forward_request(&payload[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut extra = payload.to_vec();
        extra.push(0);
        assert_eq!(
            decode_forward_request(&extra),
            Err(AjpError::TrailingBytes { count: 1 })
        );
        assert_eq!(
            decode_forward_request(&[0x04]),
            Err(AjpError::UnexpectedType {
                expected: MessageType::FORWARD_REQUEST,
                found: 4
            })
        );
        let mut bad_attr = payload.to_vec();
        let last = bad_attr.len() - 1;
        bad_attr[last] = 0x0E;
        bad_attr.push(0xFF);
        assert_eq!(
            decode_forward_request(&bad_attr),
            Err(AjpError::UnknownAttribute(0x0E))
        );
        let mut bad_code = minimal_prefix(0x02, 1);
        bad_code.extend([0xA0, 0x0F]);
        bad_code.extend(s(b"v"));
        bad_code.push(0xFF);
        assert_eq!(
            decode_forward_request(&bad_code),
            Err(AjpError::UnknownHeaderCode(0xA00F))
        );
        let mut null_value = minimal_prefix(0x02, 1);
        null_value.extend([0xA0, 0x01, 0xFF, 0xFF, 0xFF]);
        assert_eq!(
            decode_forward_request(&null_value),
            Err(AjpError::NullString {
                field: "header value"
            })
        );
    }
}

#[cfg(test)]
mod null_remote_addr_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn empty_remote_addr_is_sent_as_a_null_string() {
        // mod_jk: an empty JK_REMOTE_ADDR override goes out as the null string 0xFFFF.
        let fr = ForwardRequest {
            remote_addr: b"",
            ..Default::default()
        };
        let bytes = fr.encode(8192).unwrap();
        let d = decode_forward_request(&bytes[4..]).unwrap();
        assert_eq!(d.remote_addr, None);
        let fr = ForwardRequest {
            remote_addr: b"10.1.2.3",
            ..Default::default()
        };
        let bytes = fr.encode(8192).unwrap();
        assert_eq!(
            decode_forward_request(&bytes[4..]).unwrap().remote_addr,
            Some(&b"10.1.2.3"[..])
        );
    }
}
