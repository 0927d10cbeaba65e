//! The open code sets of AJP13 (reference §7.2, §7.4, §7.5, §7.7): newtypes over the wire
//! value with named constants, so an unknown value can still be carried and reported.

use std::fmt;

/// Message type byte, the first payload byte of every packet except request body data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageType(pub u8);

impl MessageType {
    /// Web server → container: the request line, headers and attributes.
    pub const FORWARD_REQUEST: MessageType = MessageType(2);
    /// Container → web server: a piece of the response body.
    pub const SEND_BODY_CHUNK: MessageType = MessageType(3);
    /// Container → web server: status line and response headers.
    pub const SEND_HEADERS: MessageType = MessageType(4);
    /// Container → web server: response complete, with the connection reuse flag.
    pub const END_RESPONSE: MessageType = MessageType(5);
    /// Container → web server: asks for (more) request body.
    pub const GET_BODY_CHUNK: MessageType = MessageType(6);
    /// Web server → container; defined but never sent by mod_jk.
    pub const SHUTDOWN: MessageType = MessageType(7);
    /// Web server → container; defined but never sent by mod_jk.
    pub const PING: MessageType = MessageType(8);
    /// Container → web server: answer to CPING.
    pub const CPONG_REPLY: MessageType = MessageType(9);
    /// Web server → container: liveness probe.
    pub const CPING: MessageType = MessageType(10);

    /// The protocol name of this type, if it is one of AJP13's.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            MessageType::FORWARD_REQUEST => "FORWARD_REQUEST",
            MessageType::SEND_BODY_CHUNK => "SEND_BODY_CHUNK",
            MessageType::SEND_HEADERS => "SEND_HEADERS",
            MessageType::END_RESPONSE => "END_RESPONSE",
            MessageType::GET_BODY_CHUNK => "GET_BODY_CHUNK",
            MessageType::SHUTDOWN => "SHUTDOWN",
            MessageType::PING => "PING",
            MessageType::CPONG_REPLY => "CPONG_REPLY",
            MessageType::CPING => "CPING",
            _ => return None,
        })
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "type {:02X}", self.0),
        }
    }
}

/// Request method byte of FORWARD_REQUEST (§7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Method(pub u8);

/// Method names in code order, code = index + 1.
const METHOD_NAMES: [&str; 27] = [
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

#[allow(missing_docs)]
impl Method {
    pub const OPTIONS: Method = Method(1);
    pub const GET: Method = Method(2);
    pub const HEAD: Method = Method(3);
    pub const POST: Method = Method(4);
    pub const PUT: Method = Method(5);
    pub const DELETE: Method = Method(6);
    pub const TRACE: Method = Method(7);
    pub const PROPFIND: Method = Method(8);
    pub const PROPPATCH: Method = Method(9);
    pub const MKCOL: Method = Method(10);
    pub const COPY: Method = Method(11);
    pub const MOVE: Method = Method(12);
    pub const LOCK: Method = Method(13);
    pub const UNLOCK: Method = Method(14);
    pub const ACL: Method = Method(15);
    pub const REPORT: Method = Method(16);
    pub const VERSION_CONTROL: Method = Method(17);
    pub const CHECKIN: Method = Method(18);
    pub const CHECKOUT: Method = Method(19);
    pub const UNCHECKOUT: Method = Method(20);
    pub const SEARCH: Method = Method(21);
    pub const MKWORKSPACE: Method = Method(22);
    pub const UPDATE: Method = Method(23);
    pub const LABEL: Method = Method(24);
    pub const MERGE: Method = Method(25);
    pub const BASELINE_CONTROL: Method = Method(26);
    pub const MKACTIVITY: Method = Method(27);
    /// SC_M_JK_STORED: the method has no code; its name travels as attribute 0x0D.
    pub const STORED: Method = Method(0xFF);
}

impl Method {
    /// The code for a method name. Like mod_jk, the comparison is case-sensitive and exact:
    /// `PATCH` or `get` become [`Method::STORED`].
    pub fn from_name(name: &str) -> Method {
        Method::from_bytes(name.as_bytes())
    }

    /// [`Method::from_name`] for a name that is not known to be UTF-8.
    pub fn from_bytes(name: &[u8]) -> Method {
        METHOD_NAMES
            .iter()
            .zip(1u8..)
            .find(|(known, _)| known.as_bytes() == name)
            .map_or(Method::STORED, |(_, code)| Method(code))
    }

    /// The method name for a coded method; `None` for [`Method::STORED`] and unknown codes.
    pub fn name(self) -> Option<&'static str> {
        let index = usize::from(self.0).checked_sub(1)?;
        METHOD_NAMES.get(index).copied()
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None if *self == Method::STORED => f.write_str("(stored method)"),
            None => write!(f, "method {:02X}", self.0),
        }
    }
}

/// Coded request header names of FORWARD_REQUEST (§7.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestHeaderCode(pub u16);

/// Request header names in code order, code = 0xA000 + index + 1.
const REQUEST_HEADER_NAMES: [&str; 14] = [
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

#[allow(missing_docs)]
impl RequestHeaderCode {
    pub const ACCEPT: RequestHeaderCode = RequestHeaderCode(0xA001);
    pub const ACCEPT_CHARSET: RequestHeaderCode = RequestHeaderCode(0xA002);
    pub const ACCEPT_ENCODING: RequestHeaderCode = RequestHeaderCode(0xA003);
    pub const ACCEPT_LANGUAGE: RequestHeaderCode = RequestHeaderCode(0xA004);
    pub const AUTHORIZATION: RequestHeaderCode = RequestHeaderCode(0xA005);
    pub const CONNECTION: RequestHeaderCode = RequestHeaderCode(0xA006);
    pub const CONTENT_TYPE: RequestHeaderCode = RequestHeaderCode(0xA007);
    pub const CONTENT_LENGTH: RequestHeaderCode = RequestHeaderCode(0xA008);
    pub const COOKIE: RequestHeaderCode = RequestHeaderCode(0xA009);
    pub const COOKIE2: RequestHeaderCode = RequestHeaderCode(0xA00A);
    pub const HOST: RequestHeaderCode = RequestHeaderCode(0xA00B);
    pub const PRAGMA: RequestHeaderCode = RequestHeaderCode(0xA00C);
    pub const REFERER: RequestHeaderCode = RequestHeaderCode(0xA00D);
    pub const USER_AGENT: RequestHeaderCode = RequestHeaderCode(0xA00E);
}

impl RequestHeaderCode {
    /// The code mod_jk 1.2.48 sends for a header name, or `None` when the name goes out as a
    /// string. Names are compared ASCII case-insensitively, and only names of 4 to 15 bytes
    /// are looked at (mod_jk's `sc_for_req_header`). Quirk reproduced on purpose: mod_jk's
    /// comparison for the `Accept-` family never matches, so `Accept-Charset`,
    /// `Accept-Encoding` and `Accept-Language` are never coded (0xA002..0xA004 are never sent).
    pub fn for_name(name: &[u8]) -> Option<RequestHeaderCode> {
        if !(4..=15).contains(&name.len()) {
            return None;
        }
        REQUEST_HEADER_NAMES
            .iter()
            .zip(0xA001u16..)
            .filter(|(_, code)| !(0xA002..=0xA004).contains(code))
            .find(|(known, _)| known.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, code)| RequestHeaderCode(code))
    }

    /// The lower-case header name of a known code (what Tomcat maps the code to).
    pub fn name(self) -> Option<&'static str> {
        let index = usize::from(self.0.checked_sub(0xA001)?);
        REQUEST_HEADER_NAMES.get(index).copied()
    }

    /// True for a value whose high byte is 0xA0: on the wire such a word is a code, not the
    /// length of a string name.
    pub fn is_coded(word: u16) -> bool {
        word & 0xFF00 == 0xA000
    }
}

/// Coded response header names of SEND_HEADERS (§7.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResponseHeaderCode(pub u16);

/// Response header names in code order, code = 0xA000 + index + 1, spelled as mod_jk hands
/// them to httpd.
const RESPONSE_HEADER_NAMES: [&str; 11] = [
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

#[allow(missing_docs)]
impl ResponseHeaderCode {
    pub const CONTENT_TYPE: ResponseHeaderCode = ResponseHeaderCode(0xA001);
    pub const CONTENT_LANGUAGE: ResponseHeaderCode = ResponseHeaderCode(0xA002);
    pub const CONTENT_LENGTH: ResponseHeaderCode = ResponseHeaderCode(0xA003);
    pub const DATE: ResponseHeaderCode = ResponseHeaderCode(0xA004);
    pub const LAST_MODIFIED: ResponseHeaderCode = ResponseHeaderCode(0xA005);
    pub const LOCATION: ResponseHeaderCode = ResponseHeaderCode(0xA006);
    pub const SET_COOKIE: ResponseHeaderCode = ResponseHeaderCode(0xA007);
    pub const SET_COOKIE2: ResponseHeaderCode = ResponseHeaderCode(0xA008);
    pub const SERVLET_ENGINE: ResponseHeaderCode = ResponseHeaderCode(0xA009);
    pub const STATUS: ResponseHeaderCode = ResponseHeaderCode(0xA00A);
    pub const WWW_AUTHENTICATE: ResponseHeaderCode = ResponseHeaderCode(0xA00B);
}

impl ResponseHeaderCode {
    /// The header name of a known code (0xA001..=0xA00B); anything else is "No such sc".
    pub fn name(self) -> Option<&'static str> {
        let index = usize::from(self.0.checked_sub(0xA001)?);
        RESPONSE_HEADER_NAMES.get(index).copied()
    }

    /// The code for a header name (ASCII case-insensitive), as a container may send it.
    pub fn for_name(name: &[u8]) -> Option<ResponseHeaderCode> {
        RESPONSE_HEADER_NAMES
            .iter()
            .zip(0xA001u16..)
            .find(|(known, _)| known.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, code)| ResponseHeaderCode(code))
    }
}

/// Attribute codes that follow the headers of FORWARD_REQUEST (§7.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttributeCode(pub u8);

#[allow(missing_docs)]
impl AttributeCode {
    /// Defined, never sent by mod_jk.
    pub const CONTEXT: AttributeCode = AttributeCode(0x01);
    /// Defined, never sent by mod_jk.
    pub const SERVLET_PATH: AttributeCode = AttributeCode(0x02);
    pub const REMOTE_USER: AttributeCode = AttributeCode(0x03);
    pub const AUTH_TYPE: AttributeCode = AttributeCode(0x04);
    pub const QUERY_STRING: AttributeCode = AttributeCode(0x05);
    /// jvm_route.
    pub const ROUTE: AttributeCode = AttributeCode(0x06);
    pub const SSL_CERT: AttributeCode = AttributeCode(0x07);
    pub const SSL_CIPHER: AttributeCode = AttributeCode(0x08);
    pub const SSL_SESSION: AttributeCode = AttributeCode(0x09);
    /// A named request attribute: name string, value string.
    pub const REQ_ATTRIBUTE: AttributeCode = AttributeCode(0x0A);
    /// The only attribute whose value is an int (u16), not a string.
    pub const SSL_KEY_SIZE: AttributeCode = AttributeCode(0x0B);
    pub const SECRET: AttributeCode = AttributeCode(0x0C);
    pub const STORED_METHOD: AttributeCode = AttributeCode(0x0D);
    /// End of the attribute list.
    pub const ARE_DONE: AttributeCode = AttributeCode(0xFF);

    /// The protocol name of the attribute, if AJP13 defines it.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            AttributeCode::CONTEXT => "context",
            AttributeCode::SERVLET_PATH => "servlet_path",
            AttributeCode::REMOTE_USER => "remote_user",
            AttributeCode::AUTH_TYPE => "auth_type",
            AttributeCode::QUERY_STRING => "query_string",
            AttributeCode::ROUTE => "jvm_route",
            AttributeCode::SSL_CERT => "ssl_cert",
            AttributeCode::SSL_CIPHER => "ssl_cipher",
            AttributeCode::SSL_SESSION => "ssl_session",
            AttributeCode::REQ_ATTRIBUTE => "req_attribute",
            AttributeCode::SSL_KEY_SIZE => "ssl_key_size",
            AttributeCode::SECRET => "secret",
            AttributeCode::STORED_METHOD => "stored_method",
            AttributeCode::ARE_DONE => "are_done",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_code_of_section_7_4() {
        let table: [(u8, &str); 27] = [
            (1, "OPTIONS"),
            (2, "GET"),
            (3, "HEAD"),
            (4, "POST"),
            (5, "PUT"),
            (6, "DELETE"),
            (7, "TRACE"),
            (8, "PROPFIND"),
            (9, "PROPPATCH"),
            (10, "MKCOL"),
            (11, "COPY"),
            (12, "MOVE"),
            (13, "LOCK"),
            (14, "UNLOCK"),
            (15, "ACL"),
            (16, "REPORT"),
            (17, "VERSION-CONTROL"),
            (18, "CHECKIN"),
            (19, "CHECKOUT"),
            (20, "UNCHECKOUT"),
            (21, "SEARCH"),
            (22, "MKWORKSPACE"),
            (23, "UPDATE"),
            (24, "LABEL"),
            (25, "MERGE"),
            (26, "BASELINE-CONTROL"),
            (27, "MKACTIVITY"),
        ];
        for (code, name) in table {
            assert_eq!(Method::from_name(name), Method(code), "{name}");
            assert_eq!(Method(code).name(), Some(name));
        }
        assert_eq!(Method::VERSION_CONTROL, Method(17));
        assert_eq!(Method::BASELINE_CONTROL, Method(26));
        assert_eq!(Method::MKACTIVITY, Method(27));
    }

    #[test]
    fn unknown_and_lower_case_methods_are_stored() {
        for name in ["PATCH", "get", "Get", "GET ", "", "CONNECT", "MKCALENDAR"] {
            assert_eq!(Method::from_name(name), Method::STORED, "{name:?}");
        }
        assert_eq!(Method::STORED.0, 0xFF);
        assert_eq!(Method::STORED.name(), None);
        assert_eq!(Method(0).name(), None);
        assert_eq!(Method(28).name(), None);
        assert_eq!(Method::GET.to_string(), "GET");
    }

    #[test]
    fn every_request_header_code_except_the_accept_family() {
        let table: [(u16, &str); 11] = [
            (0xA001, "Accept"),
            (0xA005, "Authorization"),
            (0xA006, "Connection"),
            (0xA007, "Content-Type"),
            (0xA008, "Content-Length"),
            (0xA009, "Cookie"),
            (0xA00A, "Cookie2"),
            (0xA00B, "Host"),
            (0xA00C, "Pragma"),
            (0xA00D, "Referer"),
            (0xA00E, "User-Agent"),
        ];
        for (code, name) in table {
            let c = Some(RequestHeaderCode(code));
            assert_eq!(RequestHeaderCode::for_name(name.as_bytes()), c, "{name}");
            let upper = name.to_ascii_uppercase();
            assert_eq!(RequestHeaderCode::for_name(upper.as_bytes()), c, "{upper}");
            let lower = name.to_ascii_lowercase();
            assert_eq!(RequestHeaderCode(code).name(), Some(lower.as_str()));
        }
    }

    #[test]
    fn accept_charset_encoding_language_are_never_coded() {
        for name in [
            "Accept-Charset",
            "accept-charset",
            "Accept-Encoding",
            "ACCEPT-ENCODING",
            "Accept-Language",
            "accept-language",
        ] {
            assert_eq!(RequestHeaderCode::for_name(name.as_bytes()), None, "{name}");
        }
        // The codes still have names, for decoding what another client might send.
        assert_eq!(
            RequestHeaderCode::ACCEPT_CHARSET.name(),
            Some("accept-charset")
        );
        assert_eq!(
            RequestHeaderCode::ACCEPT_ENCODING.name(),
            Some("accept-encoding")
        );
        assert_eq!(
            RequestHeaderCode::ACCEPT_LANGUAGE.name(),
            Some("accept-language")
        );
    }

    #[test]
    fn other_request_header_names_are_not_coded() {
        for name in [
            "X-Custom",
            "Hos",
            "Hostx",
            "Referrer",
            "Keep-Alive",
            "TE",
            "",
            "User-Agents",
        ] {
            assert_eq!(RequestHeaderCode::for_name(name.as_bytes()), None, "{name}");
        }
        assert_eq!(RequestHeaderCode(0xA000).name(), None);
        assert_eq!(RequestHeaderCode(0xA00F).name(), None);
        assert!(RequestHeaderCode::is_coded(0xA0FF));
        assert!(!RequestHeaderCode::is_coded(0x00A0));
    }

    #[test]
    fn every_response_header_code_of_section_7_7() {
        let table: [(u16, &str); 11] = [
            (0xA001, "Content-Type"),
            (0xA002, "Content-Language"),
            (0xA003, "Content-Length"),
            (0xA004, "Date"),
            (0xA005, "Last-Modified"),
            (0xA006, "Location"),
            (0xA007, "Set-Cookie"),
            (0xA008, "Set-Cookie2"),
            (0xA009, "Servlet-Engine"),
            (0xA00A, "Status"),
            (0xA00B, "WWW-Authenticate"),
        ];
        for (code, name) in table {
            assert_eq!(ResponseHeaderCode(code).name(), Some(name));
            let lower = name.to_ascii_lowercase();
            assert_eq!(
                ResponseHeaderCode::for_name(lower.as_bytes()),
                Some(ResponseHeaderCode(code))
            );
        }
        assert_eq!(ResponseHeaderCode(0xA000).name(), None);
        assert_eq!(ResponseHeaderCode(0xA00C).name(), None);
        assert_eq!(ResponseHeaderCode(0x0001).name(), None);
    }

    #[test]
    fn attribute_and_message_codes() {
        let attrs = [
            (AttributeCode::CONTEXT, 0x01),
            (AttributeCode::SERVLET_PATH, 0x02),
            (AttributeCode::REMOTE_USER, 0x03),
            (AttributeCode::AUTH_TYPE, 0x04),
            (AttributeCode::QUERY_STRING, 0x05),
            (AttributeCode::ROUTE, 0x06),
            (AttributeCode::SSL_CERT, 0x07),
            (AttributeCode::SSL_CIPHER, 0x08),
            (AttributeCode::SSL_SESSION, 0x09),
            (AttributeCode::REQ_ATTRIBUTE, 0x0A),
            (AttributeCode::SSL_KEY_SIZE, 0x0B),
            (AttributeCode::SECRET, 0x0C),
            (AttributeCode::STORED_METHOD, 0x0D),
            (AttributeCode::ARE_DONE, 0xFF),
        ];
        for (code, value) in attrs {
            assert_eq!(code.0, value);
            assert!(code.name().is_some());
        }
        assert_eq!(AttributeCode(0x0E).name(), None);
        let types = [
            (MessageType::FORWARD_REQUEST, 2, "FORWARD_REQUEST"),
            (MessageType::SEND_BODY_CHUNK, 3, "SEND_BODY_CHUNK"),
            (MessageType::SEND_HEADERS, 4, "SEND_HEADERS"),
            (MessageType::END_RESPONSE, 5, "END_RESPONSE"),
            (MessageType::GET_BODY_CHUNK, 6, "GET_BODY_CHUNK"),
            (MessageType::SHUTDOWN, 7, "SHUTDOWN"),
            (MessageType::PING, 8, "PING"),
            (MessageType::CPONG_REPLY, 9, "CPONG_REPLY"),
            (MessageType::CPING, 10, "CPING"),
        ];
        for (t, value, name) in types {
            assert_eq!(t.0, value);
            assert_eq!(t.to_string(), name);
        }
        assert_eq!(MessageType(1).to_string(), "type 01");
    }
}
