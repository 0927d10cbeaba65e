//! The cases of the differential test, as data: the raw requests of the request-side test, the
//! httpd configuration they run under, the canned backend answers of the response-side test,
//! and the JkOptions virtual hosts with the requests sent to each. The driver (main.rs) runs
//! them through both modules; compare.rs says what must be equal.

use std::path::Path;

use jk_ajp_testserver::{pattern, Behaviour, Response};

use crate::support::find;

/// One raw HTTP request, sent byte for byte.
pub struct Case {
    pub name: String,
    pub raw: Vec<u8>,
}

/// What follows a request's head.
#[derive(Clone, Copy)]
pub enum Body {
    None,
    Bytes(&'static [u8]),
    /// `n` bytes of the test server's `pattern`.
    Pattern(usize),
    /// Every byte value in turn, `n` bytes.
    AllBytes(usize),
    /// `pattern` data chunked in parts of these sizes, then the trailer lines.
    Chunked(&'static [usize], &'static str),
}

impl Body {
    fn bytes(self) -> Vec<u8> {
        match self {
            Body::None => Vec::new(),
            Body::Bytes(b) => b.to_vec(),
            Body::Pattern(n) => pattern(0, n),
            Body::AllBytes(n) => (0..=255u8).cycle().take(n).collect(),
            Body::Chunked(parts, trailer) => chunked(parts, trailer),
        }
    }
}

/// A request as data: name, method, target, protocol, headers, body. `{HOST}` stands for
/// httpd's address; a `Host: NOHOST` header is left out.
type Req = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Body,
);

const H11: &str = "HTTP/1.1";
const H10: &str = "HTTP/1.0";
const CHUNKED: (&str, &str) = ("Transfer-Encoding", "chunked");
const PROPFIND: &[u8] = br#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#;
const LOCK: &[u8] = br#"<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#;

/// The requests of the request-side test that need no generated value, in the order sent.
#[rustfmt::skip]
const REQUESTS: &[Req] = &[
    // Methods, protocols, request targets.
    ("get_simple", "GET", "/app/hello", H11, &[], Body::None),
    ("get_http10_no_host", "GET", "/app/hello", H10, &[("Host", "NOHOST")], Body::None),
    ("get_http10_with_host", "GET", "/app/hello10", H10, &[], Body::None),
    ("get_mount_root", "GET", "/app", H11, &[], Body::None),
    ("get_query", "GET", "/app/q?a=1&b=two%20words&c&d=%E2%82%AC&e=a+b", H11, &[], Body::None),
    ("get_empty_query", "GET", "/app/q?", H11, &[], Body::None),
    ("get_jsessionid", "GET", "/app/x;jsessionid=ABC123.node1?x=1", H11, &[], Body::None),
    ("get_path_params", "GET", "/app/a;p=1/b;q=2;jsessionid=Z.n2/c", H11, &[], Body::None),
    ("get_mount_root_jsessionid", "GET", "/app;jsessionid=R00T", H11, &[], Body::None),
    ("get_percent_encoded", "GET", "/app/x%20y/%41%42/%7euser/%25", H11, &[], Body::None),
    ("get_utf8_raw", "GET", "/app/caf\u{e9}/\u{20ac}", H11, &[], Body::None),
    ("get_utf8_encoded", "GET", "/app/caf%C3%A9/%E2%82%AC?n=%C3%A9", H11, &[], Body::None),
    ("get_dot_segments", "GET", "/app/a/./b/../c//d", H11, &[], Body::None),
    ("get_encoded_slash", "GET", "/app/a%2Fb", H11, &[], Body::None),
    ("get_sub_delims", "GET", "/app/a+b!$&'()*,=:@~", H11, &[], Body::None),
    ("get_absolute_form", "GET", "http://{HOST}/app/absolute?y=2", H11, &[], Body::None),
    ("get_other_host", "GET", "/app/vhost", H11, &[("Host", "Example.COM:8080")], Body::None),
    ("head", "HEAD", "/app/head", H11, &[], Body::None),
    ("head_http10", "HEAD", "/app/head10", H10, &[], Body::None),
    ("options", "OPTIONS", "/app/options", H11, &[], Body::None),
    ("options_star", "OPTIONS", "*", H11, &[], Body::None),
    ("trace", "TRACE", "/app/trace", H11, &[("X-T", "1")], Body::None),
    ("delete", "DELETE", "/app/res/1", H11, &[], Body::None),
    ("propfind", "PROPFIND", "/app/dav/", H11,
     &[("Depth", "1"), ("Content-Type", "application/xml; charset=utf-8"), ("Content-Length", "90")],
     Body::Bytes(PROPFIND)),
    ("proppatch", "PROPPATCH", "/app/dav/f", H11,
     &[("Content-Type", "text/xml"), ("Content-Length", "5")], Body::Bytes(b"<x/>\n")),
    ("mkcol", "MKCOL", "/app/dav/newdir/", H11, &[], Body::None),
    ("copy", "COPY", "/app/dav/a", H11,
     &[("Destination", "http://{HOST}/app/dav/b"), ("Overwrite", "F")], Body::None),
    ("move", "MOVE", "/app/dav/b", H11, &[("Destination", "/app/dav/c")], Body::None),
    ("lock", "LOCK", "/app/dav/c", H11,
     &[("Timeout", "Second-3600"), ("Content-Type", "application/xml"), ("Content-Length", "137")],
     Body::Bytes(LOCK)),
    ("unlock", "UNLOCK", "/app/dav/c", H11, &[("Lock-Token", "<opaquelocktoken:1234>")], Body::None),
    ("report", "REPORT", "/app/dav/r", H11, &[], Body::None),
    ("search", "SEARCH", "/app/dav/s", H11, &[], Body::None),
    ("version_control", "VERSION-CONTROL", "/app/dav/v", H11, &[], Body::None),
    ("mkactivity", "MKACTIVITY", "/app/dav/act", H11, &[], Body::None),
    ("baseline_control", "BASELINE-CONTROL", "/app/dav/bl", H11, &[], Body::None),
    ("patch", "PATCH", "/app/res/1", H11,
     &[("Content-Type", "application/json-patch+json"), ("Content-Length", "2")], Body::Bytes(b"[]")),
    ("custom_method", "BREW", "/app/pot", H11, &[], Body::None),
    ("lowercase_method", "get", "/app/lower", H11, &[], Body::None),
    // Headers: coded names in odd spellings, strings, duplicates.
    ("coded_headers", "GET", "/app/h", H11, &[
        ("ACCEPT", "text/html"), ("accept-charset", "utf-8"), ("Accept-Encoding", "gzip, br"),
        ("Accept-Language", "de-CH, en;q=0.5"), ("content-TYPE", "text/plain"),
        ("Cookie2", "$Version=1"), ("Pragma", "no-cache"), ("Referer", "http://example.org/ref"),
        ("user-agent", "differential/1.0"),
    ], Body::None),
    ("custom_headers", "GET", "/app/h", H11, &[
        ("X-Custom", "v"), ("x-lower", "lower"), ("X-UPPER", "UPPER"), ("X-Empty", ""),
        ("X-Spaces", "a   b"), ("X-Utf8", "caf\u{e9}"), ("Accept", "*/*"),
    ], Body::None),
    ("duplicate_headers", "GET", "/app/dup", H11, &[
        ("X-Dup", "1"), ("Accept", "a/b"), ("x-dup", "2"), ("Cookie", "a=1"), ("Accept", "c/d"),
        ("Cookie", "b=2"), ("X-Dup", "3"),
    ], Body::None),
    ("cookies", "GET", "/app/c", H11,
     &[("Cookie", "JSESSIONID=ABC.node1; theme=dark; $Version=1; e=")], Body::None),
    ("authorization", "GET", "/app/secret", H11,
     &[("Authorization", "Basic YWxpY2U6c2VjcmV0")], Body::None),
    // Bodies.
    ("post_small", "POST", "/app/form", H11,
     &[("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "11")],
     Body::Bytes(b"hello=world")),
    ("post_20000", "POST", "/app/upload", H11,
     &[("Content-Type", "application/octet-stream"), ("Content-Length", "20000")],
     Body::Pattern(20_000)),
    ("post_8186", "POST", "/app/upload", H11, &[("Content-Length", "8186")], Body::Pattern(8186)),
    ("post_8187", "POST", "/app/upload", H11, &[("Content-Length", "8187")], Body::Pattern(8187)),
    ("put_binary", "PUT", "/app/file.bin", H11,
     &[("Content-Type", "application/octet-stream"), ("Content-Length", "1024")],
     Body::AllBytes(1024)),
    ("post_http10_body", "POST", "/app/form10", H10, &[("Content-Length", "5")],
     Body::Bytes(b"a=b&c")),
    ("post_chunked", "POST", "/app/upload", H11, &[CHUNKED],
     Body::Chunked(&[1, 100, 7000, 9000, 3], "")),
    ("post_chunked_small", "POST", "/app/upload", H11, &[CHUNKED, ("Content-Type", "text/plain")],
     Body::Chunked(&[5], "")),
    ("post_chunked_empty", "POST", "/app/upload", H11, &[CHUNKED], Body::Chunked(&[], "")),
    ("post_chunked_trailer", "POST", "/app/upload", H11, &[CHUNKED],
     Body::Chunked(&[10, 20], "X-Trailer: t\r\n")),
    ("post_content_length_0", "POST", "/app/empty", H11, &[("Content-Length", "0")], Body::None),
    ("post_no_body_http10", "POST", "/app/empty10", H10, &[], Body::None),
    ("expect_100_continue", "POST", "/app/expect", H11,
     &[("Expect", "100-continue"), ("Content-Length", "5000")], Body::Pattern(5000)),
    ("expect_100_continue_chunked", "PUT", "/app/expect", H11,
     &[("Expect", "100-continue"), CHUNKED], Body::Chunked(&[4000, 4000, 4000], "")),
    // Environment: JkEnvVar, indicators, SSL variables, JK_IGNORE_CL, secret.
    ("env_set_by_header", "GET", "/app/env/x", H11, &[("X-Set-Env", "hello env")], Body::None),
    ("env_set_empty_value", "GET", "/app/env/emptyval/x", H11, &[], Body::None),
    ("env_default_overridden", "GET", "/app/env/override", H11, &[], Body::None),
    ("env_set_empty", "GET", "/app/env/empty", H11, &[], Body::None),
    ("env_http_header_var", "GET", "/app/env/http", H11, &[("X-Trace", "trace-42")], Body::None),
    ("indicator_overrides", "GET", "/app/ind/x?i=1", H11, &[], Body::None),
    ("indicator_empty_remote_addr", "GET", "/app/emptyaddr/x", H11, &[], Body::None),
    ("ssl_env", "GET", "/app/ssl/x", H11, &[], Body::None),
    ("ignore_cl", "POST", "/app/ignorecl/x", H11, &[("Content-Length", "100")], Body::Pattern(100)),
    ("secret_worker", "GET", "/sec/x?s=1", H11, &[], Body::None),
    ("secret_worker_post", "POST", "/sec/upload", H11, &[("Content-Length", "9000")],
     Body::Pattern(9000)),
    // Not forwarded: httpd serves it itself with both modules.
    ("not_mapped_static", "GET", "/static.html", H11, &[], Body::None),
];

/// Value lengths of the `long_header_*` requests, around the 8192-byte packet limit: with
/// this configuration 7964 gives the largest FORWARD_REQUEST that still goes out (8203-byte
/// payload with Debian's module), 7965 is refused with 413 before connecting.
const LONG_HEADER_SIZES: &[usize] = &[7800, 7900, 7950, 7963, 7964, 7965, 7966, 8000, 8150];

/// Request targets whose path or query is not UTF-8 (0xE9 is Latin-1 `é`), sent to the
/// main server and to every vhost (each ForwardURI* option).
pub const NOT_UTF8_TARGETS: &[(&str, &[u8])] = &[
    ("path_percent_not_utf8", b"/app/caf%E9/x"),
    ("path_raw_not_utf8", b"/app/caf\xe9/x"),
    ("query_raw_not_utf8", b"/app/q?n=caf\xe9&x=\xff"),
    ("query_percent_not_utf8", b"/app/q?n=caf%E9"),
    (
        "path_params_not_utf8",
        b"/app/caf%E9;jsessionid=A1.n1/\xe9x?q=%E9\xe9",
    ),
];

/// Every request of the request-side test: [`REQUESTS`], then the generated ones.
pub fn requests() -> Vec<Case> {
    let mut v: Vec<Case> = REQUESTS
        .iter()
        .map(|&(name, method, target, proto, headers, body)| {
            req_bytes(
                name,
                method,
                target.as_bytes(),
                proto,
                headers,
                &body.bytes(),
            )
        })
        .collect();
    // Sizes around the 8192-byte packet limit: a long URI, two headers that only together
    // exceed it, one long header.
    let long_uri = format!("/app/{}", "u".repeat(4000));
    v.push(req("get_long_uri", "GET", &long_uri, H11, &[]));
    let half = "H".repeat(4500);
    let two = [("X-A", half.as_str()), ("X-B", half.as_str())];
    v.push(req(
        "two_headers_over_packet",
        "GET",
        "/app/long",
        H11,
        &two,
    ));
    for n in LONG_HEADER_SIZES {
        let value = "L".repeat(*n);
        let name = format!("long_header_{n}");
        v.push(req(&name, "GET", "/app/long", H11, &[("X-Long", &value)]));
    }
    // Header values that are not UTF-8 (Latin-1 and stray bytes): forwarded byte for byte.
    let headers = [("X-Name", "PLACEHOLDER"), ("Cookie", "a=PLACEHOLDER")];
    let mut latin1 = req("header_bytes_not_utf8", "GET", "/app/bytes", H11, &headers);
    latin1.raw = replace_all(&latin1.raw, b"PLACEHOLDER", b"Jos\xe9 \xff\x80");
    v.push(latin1);
    // Path and query bytes that are not UTF-8, percent-encoded and raw (the raw ones go out
    // byte for byte over the socket): forwarded as httpd holds them, never as U+FFFD.
    for (name, target) in NOT_UTF8_TARGETS {
        v.push(req_bytes(name, "GET", target, H11, &[], b""));
    }
    // A method that is not UTF-8: httpd (HttpProtocolOptions Strict, the default) answers
    // 400 itself before any handler, with both modules. The method's bytes on the wire
    // (stored method, attribute 0x0D) are covered by jk-ajp's unit tests.
    let mut method = req("method_not_utf8", "MPLACEHOLDER", "/app/m", H11, &[]);
    method.raw = replace_all(&method.raw, b"PLACEHOLDER", b"\xe9TH");
    v.push(method);
    // Environment values that are not UTF-8 (set from a header by SetEnvIf): the
    // JK_REMOTE_*/JK_AUTH_TYPE/JK_LOCAL_NAME overrides, a JkEnvVar and the SSL attributes.
    for (name, target) in [
        ("env_bytes_not_utf8", "/app/envbytes/x"),
        ("ssl_bytes_not_utf8", "/app/sslbytes/x"),
    ] {
        let mut c = req(name, "GET", target, H11, &[("X-Bytes", "PLACEHOLDER")]);
        c.raw = replace_all(&c.raw, b"PLACEHOLDER", b"Jos\xe9\xff");
        v.push(c);
    }
    // HTTP/1.0 without Host: drop the placeholder line.
    for c in &mut v {
        c.raw = replace_all(&c.raw, b"Host: NOHOST\r\n", b"");
    }
    v
}

/// Builds a request: `Host: {HOST}` unless `headers` has one; `HTTP/1.1` requests also get
/// `Connection: close` unless given.
pub fn req(name: &str, method: &str, target: &str, proto: &str, headers: &[(&str, &str)]) -> Case {
    req_bytes(name, method, target.as_bytes(), proto, headers, b"")
}

pub fn req_bytes(
    name: &str,
    method: &str,
    target: &[u8],
    proto: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Case {
    let mut raw = Vec::new();
    raw.extend_from_slice(method.as_bytes());
    raw.push(b' ');
    raw.extend_from_slice(target);
    raw.extend_from_slice(format!(" {proto}\r\n").as_bytes());
    let has = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has("host") {
        raw.extend_from_slice(b"Host: {HOST}\r\n");
    }
    for (k, v) in headers {
        raw.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    if proto == "HTTP/1.1" && !has("connection") {
        raw.extend_from_slice(b"Connection: close\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(body);
    Case {
        name: name.to_string(),
        raw,
    }
}

/// A chunked encoding of `pattern` data in parts of the given sizes (+ optional trailer).
fn chunked(parts: &[usize], trailer: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut off = 0u64;
    for &n in parts {
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&pattern(off, n));
        out.extend_from_slice(b"\r\n");
        off += n as u64;
    }
    out.extend_from_slice(b"0\r\n");
    out.extend_from_slice(trailer.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// `hay` with every `from` replaced by `to`.
pub fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut rest = hay;
    while let Some(at) = find(rest, from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

// ------------------------------------------------------------------------------------------
// The configuration of the request and response tests

/// The httpd directives shared by both runs (only the LoadModule line differs).
pub fn jk_config(dir_for_workers: &Path, ajp_port: u16) -> String {
    let wp = dir_for_workers.join("workers.properties");
    std::fs::write(
        &wp,
        format!(
            "worker.list=w,ws\n\
             worker.w.type=ajp13\nworker.w.host=127.0.0.1\nworker.w.port={ajp_port}\n\
             worker.ws.type=ajp13\nworker.ws.host=127.0.0.1\nworker.ws.port={ajp_port}\n\
             worker.ws.secret=s3cr3t-Value\n"
        ),
    )
    .unwrap();
    format!(
        r#"JkWorkersFile {wp}
JkLogFile logs/mod_jk.log
JkLogLevel info
JkShmFile logs/jk-runtime-status
JkMount /app/* w
JkMount /app w
JkMount /sec/* ws
JkEnvVar JK_TEST_NODEFAULT
JkEnvVar JK_TEST_DEFAULT fallback-value
JkEnvVar JK_TEST_EMPTYDEFAULT ""
JkEnvVar HTTP_X_TRACE
SetEnvIf X-Set-Env "(.+)" JK_TEST_NODEFAULT=$1
SetEnvIf Request_URI "^/app/env/override" JK_TEST_DEFAULT=overridden
SetEnvIf Request_URI "^/app/env/empty" JK_TEST_NODEFAULT
<Location /app/ind/>
  SetEnv JK_REMOTE_ADDR 203.0.113.7
  SetEnv JK_REMOTE_PORT 4711
  SetEnv JK_REMOTE_HOST client.example.org
  SetEnv JK_REMOTE_USER alice
  SetEnv JK_AUTH_TYPE Basic
  SetEnv JK_LOCAL_NAME tomcat.example.org
  SetEnv JK_LOCAL_PORT 8443
  SetEnv JK_LOCAL_ADDR 192.0.2.1
</Location>
<Location /app/emptyaddr/>
  SetEnv JK_REMOTE_ADDR ""
</Location>
<Location /app/ssl/>
  SetEnv HTTPS on
  SetEnv SSL_CLIENT_CERT "-----BEGIN CERTIFICATE-----MIIBfake-----END CERTIFICATE-----"
  SetEnv SSL_CIPHER ECDHE-RSA-AES128-GCM-SHA256
  SetEnv SSL_SESSION_ID 0123456789abcdef
  SetEnv SSL_CIPHER_USEKEYSIZE 128
  SetEnv SSL_PROTOCOL TLSv1.3
</Location>
<Location /app/env/emptyval/>
  SetEnv JK_TEST_NODEFAULT ""
</Location>
<Location /app/ignorecl/>
  SetEnv JK_IGNORE_CL 1
</Location>
<Location /app/envbytes/>
  SetEnvIf X-Bytes "(.+)" JK_REMOTE_USER=$1 JK_AUTH_TYPE=$1 JK_REMOTE_HOST=$1 JK_LOCAL_NAME=$1 JK_REMOTE_ADDR=$1 JK_TEST_NODEFAULT=$1
</Location>
<Location /app/sslbytes/>
  SetEnv HTTPS on
  SetEnvIf X-Bytes "(.+)" SSL_CLIENT_CERT=$1 SSL_CIPHER=$1 SSL_SESSION_ID=$1 SSL_PROTOCOL=$1
</Location>
"#,
        wp = wp.display()
    )
}

/// The canned backend answers of the response-side test: (name, request method, answer).
#[rustfmt::skip]
pub fn backend_answers() -> Vec<(&'static str, &'static str, Response)> {
    let big = pattern(0, 20_000);
    let plain = || Response::new(200, "OK").header("Content-Type", "text/plain");
    vec![
        ("200_body_set_cookies", "GET", Response::text(200, "OK", "hello\n")
            .header("Set-Cookie", "JSESSIONID=ABC.node1; Path=/app; HttpOnly")
            .header("Set-Cookie", "theme=dark; Max-Age=60")
            .header("X-Multi", "1")
            .header("X-Multi", "2")
            .header("Set-Cookie", "third=3")),
        ("302_location", "GET", Response::new(302, "Found")
            .header("Location", "http://127.0.0.1/app/elsewhere?x=1")
            .header("Content-Length", "0")),
        ("302_relative_location", "GET",
         Response::new(302, "Found").header("Location", "/app/relative")),
        ("404_empty_no_headers", "GET", Response::new(404, "Not Found")),
        ("404_content_length_0", "GET",
         Response::new(404, "Not Found").header("Content-Length", "0")),
        ("500_with_body", "GET",
         Response::text(500, "Internal Server Error", "boom: stack trace here\n")),
        ("content_length_negative", "GET",
         plain().header("Content-Length", "-5").body(b"hello")),
        ("content_length_not_a_number", "GET",
         plain().header("Content-Length", "five").body(b"hello")),
        ("200_numeric_reason", "GET", Response::text(200, "200", "tomcat 8.5 style\n")),
        ("201_empty_reason", "GET", Response::text(201, "", "created\n")),
        ("299_unknown_code_empty_reason", "GET", Response::text(299, "", "odd\n")),
        ("head_response", "HEAD", Response::text(200, "OK", "body that HEAD must not show\n")),
        ("content_type_upper_case", "GET", Response::new(200, "OK")
            .header("CONTENT-TYPE", "TEXT/HTML; Charset=UTF-8")
            .header("Content-Length", "6")
            .body(b"<p/>\r\n")),
        ("string_header_names", "GET", Response::text(200, "OK", "strings\n")
            .header("Content-Language", "de")
            .header("X-Custom", "v")
            .coded(false)),
        ("last_modified", "GET", Response::text(200, "OK", "lm\n")
            .header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
            .header("ETag", "\"abc\"")),
        ("no_content_length_chunked_to_client", "GET", plain().body(&big)),
        ("204_no_content", "GET", Response::new(204, "No Content")),
        ("304_not_modified", "GET", Response::new(304, "Not Modified").header("ETag", "\"abc\"")),
        ("401_www_authenticate", "GET", Response::new(401, "Unauthorized")
            .header("WWW-Authenticate", "Basic realm=\"x\"")
            .header("Content-Length", "0")),
        ("503_with_body", "GET",
         Response::text(503, "Service Unavailable", "down\n").header("Retry-After", "10")),
    ]
}

// ------------------------------------------------------------------------------------------
// JkOptions per name-based virtual host
// ------------------------------------------------------------------------------------------

/// The fake mod_ssl environment (`SetEnv` lines) of the SSL-related vhosts. The last variable's
/// name is not ASCII and its `é` straddles the length of the chain prefix: it must be compared
/// as bytes (neither module forwards it).
pub const FAKE_SSL_ENV: &str = r#"  SetEnv HTTPS on
  SetEnv SSL_CIPHER_USEKEYSIZE 256
  SetEnv SSL_CIPHER TLS_AES_256_GCM_SHA384
  SetEnv SSL_SESSION_ID 0123456789abcdef0123456789abcdef
  SetEnv SSL_CLIENT_CERT "-----BEGIN CERTIFICATE-----MIIBclient-----END CERTIFICATE-----"
  SetEnv SSL_CLIENT_CERT_CHAIN_0 "-----BEGIN CERTIFICATE-----MIIBchain0-----END CERTIFICATE-----"
  SetEnv SSL_CLIENT_CERT_CHAIN_1 "-----BEGIN CERTIFICATE-----MIIBchain1-----END CERTIFICATE-----"
  SetEnv SSL_PROTOCOL TLSv1.3
  SetEnv SSL_CLIENT_CERT_CHAINé "not a chain variable: its name is not ASCII"
"#;

/// A second address (same port) for the vhosts, mod_remoteip, then prefork with ONE child,
/// so every request (and every backend connection) goes through the same process: the number
/// of AJP connections is then comparable (DisableReuse). These lines come after the
/// harness's prefork settings and override them.
pub const ONE_CHILD: &str = "Listen 127.0.0.2:{PORT}\n\
    LoadModule remoteip_module {MODULES}/mod_remoteip.so\n\
    RemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy 127.0.0.1\n\
    StartServers 1\nMinSpareServers 1\nMaxSpareServers 2\nServerLimit 1\nMaxRequestWorkers 1\n";

/// The request targets sent to every vhost: (name, target). No `%2F` (httpd refuses it).
fn vhost_uris() -> Vec<(&'static str, &'static [u8])> {
    let plain: [(&'static str, &'static [u8]); 15] = [
        ("plain", b"/app/plain"),
        ("space", b"/app/sp%20ace/a%20b.txt"),
        ("plus", b"/app/a+b"),
        ("utf8_raw", b"/app/caf\xc3\xa9/\xe2\x82\xac"),
        ("utf8_encoded", b"/app/caf%C3%A9/%E2%82%AC?n=%C3%A9"),
        ("reserved_encoded", b"/app/r/%41%7E%2B%3B%3D%40%3F%23%26%24"),
        ("unsafe_chars_encoded", b"/app/u/%22%3C%3E%60%7B%7D%7C%5E"),
        ("jsessionid", b"/app/x;jsessionid=ABC123.node1?x=1"),
        ("path_params", b"/app/a;p=1/b;q=2;jsessionid=Z.n2/c"),
        ("double_slash", b"/app//a//b/"),
        ("dot_segments", b"/app/./a/./b/../c"),
        (
            "query",
            b"/app/q?a=1&b=two%20words&c&d=%E2%82%AC&e=a+b&f=%2F",
        ),
        ("percent25", b"/app/p%25q"),
        ("backslash_raw", b"/app/back\\slash"),
        ("backslash_encoded", b"/app/back%5Cslash"),
    ];
    plain
        .into_iter()
        .chain(NOT_UTF8_TARGETS.iter().copied())
        .collect()
}

/// One request to one vhost, with the backend behaviour to use for it.
pub struct VhostCase {
    pub name: String,
    pub raw: Vec<u8>,
    pub behaviour: Behaviour,
    /// The httpd address connected to: 127.0.0.1, or 127.0.0.2 so that httpd's local address
    /// differs from the client's (ForwardLocalAddress, AJP_LOCAL_ADDR).
    pub addr: &'static str,
}

/// One httpd configuration: the body and the requests (grouped by vhost through the
/// `<vhost>/` prefix of the case names).
pub struct VhostConfig {
    pub name: &'static str,
    pub body: String,
    pub cases: Vec<VhostCase>,
}

fn vhost_block(name: &str, inner: &str) -> String {
    format!(
        "<VirtualHost 127.0.0.1:* 127.0.0.2:*>\n  ServerName {name}.test\n{inner}</VirtualHost>\n"
    )
}

/// A GET to vhost `vhost` (Host `<vhost>.test:{PORT}`).
fn vhost_get(vhost: &str, name: &str, target: &[u8], behaviour: Behaviour) -> VhostCase {
    let host = format!("{vhost}.test:{{PORT}}");
    let c = req_bytes(name, "GET", target, "HTTP/1.1", &[("Host", &host)], b"");
    VhostCase {
        name: format!("{vhost}/{name}"),
        raw: c.raw,
        behaviour,
        addr: "127.0.0.1",
    }
}

/// Requests to `vhost` through httpd's second address 127.0.0.2 (local address != client
/// address), once plain and once with an `X-Forwarded-For` that mod_remoteip accepts
/// (`r->useragent_ip` != `c->client_ip`: ForwardPhysicalAddress).
fn via_second_address(vhost: &str) -> Vec<VhostCase> {
    let host = format!("{vhost}.test:{{PORT}}");
    let xff = req_bytes(
        "x",
        "GET",
        b"/app/remoteip?b=2",
        "HTTP/1.1",
        &[("Host", &host), ("X-Forwarded-For", "198.51.100.9")],
        b"",
    );
    vec![
        VhostCase {
            addr: "127.0.0.2",
            ..vhost_get(vhost, "via_127.0.0.2", b"/app/second?a=1", Behaviour::Echo)
        },
        VhostCase {
            name: format!("{vhost}/via_127.0.0.2_x_forwarded_for"),
            raw: xff.raw,
            behaviour: Behaviour::Echo,
            addr: "127.0.0.2",
        },
    ]
}

/// A multi-chunk answer without Content-Length (chunked to the client): flushing matters.
fn chunked_answer() -> Behaviour {
    Behaviour::Respond(
        Response::new(200, "OK")
            .header("Content-Type", "text/plain")
            .body(&pattern(0, 30_000))
            .chunk_size(1000),
    )
}

/// The standard request set for `vhost` (every URI of [`vhost_uris`], echoed back).
fn standard_cases(vhost: &str) -> Vec<VhostCase> {
    vhost_uris()
        .into_iter()
        .map(|(n, t)| vhost_get(vhost, n, t, Behaviour::Echo))
        .collect()
}

/// Configuration A: the main server has no JkOptions; one vhost per option.
pub fn vhost_config_a(conf_dir: &Path, ajp_port: u16) -> VhostConfig {
    let docs = conf_dir.join("docs");
    for d in ["dir", "envdir", "plain"] {
        std::fs::create_dir_all(docs.join(d)).unwrap();
    }
    let mount = "  JkMount /app/* w\n";
    // With `index.jsp` mounted, mod_dir's index sub-request is what gets forwarded; without
    // it, only ForwardDirectories lets mod_jk's handler take `httpd/unix-directory`.
    let dirs_with = |index: &str, jsp: &str| {
        format!(
            "  DocumentRoot \"{}\"\n  DirectoryIndex {index}\n{mount}  JkMount /dir/* w\n{jsp}  \
             SetEnvIf Request_URI \"^/envdir\" JK_WORKER_NAME=w\n",
            docs.display()
        )
    };
    let dirs = dirs_with("index.html index.jsp", "  JkMount /*.jsp w\n");
    let dirs_noidx = dirs_with("index.html", "");
    let local_env = "  SetEnv JK_LOCAL_ADDR 192.0.2.66\n  SetEnv MY_LOCAL_ADDR 192.0.2.55\n";
    let vhosts: Vec<(&str, String)> = vec![
        // The first vhost is also the default one for unknown Host headers.
        ("default", mount.to_string()),
        (
            "proxy",
            format!("  JkOptions ForwardURICompat +ForwardURIProxy\n{mount}"),
        ),
        ("compat", format!("  JkOptions +ForwardURICompat\n{mount}")),
        (
            "unparsed",
            format!("  JkOptions +ForwardURICompatUnparsed\n{mount}"),
        ),
        (
            "escaped",
            format!("  JkOptions +ForwardURIEscaped\n{mount}"),
        ),
        (
            "local",
            format!("  JkOptions +ForwardLocalAddress\n{mount}"),
        ),
        (
            "physical",
            format!("  JkOptions +ForwardPhysicalAddress\n{mount}"),
        ),
        ("ssl", format!("{FAKE_SSL_ENV}{mount}")),
        (
            "nokeysize",
            format!("  JkOptions -ForwardKeySize\n{FAKE_SSL_ENV}{mount}"),
        ),
        (
            "certchain",
            format!("  JkOptions +ForwardSSLCertChain\n{FAKE_SSL_ENV}{mount}"),
        ),
        (
            "noextractssl",
            format!("  JkExtractSSL Off\n  JkOptions +ForwardSSLCertChain\n{FAKE_SSL_ENV}{mount}"),
        ),
        ("unsafe", format!("  JkOptions +RejectUnsafeURI\n{mount}")),
        (
            "fwddirs",
            format!("  JkOptions +ForwardDirectories\n{dirs}"),
        ),
        ("nofwddirs", dirs.clone()),
        (
            "fwddirs_noidx",
            format!("  JkOptions +ForwardDirectories\n{dirs_noidx}"),
        ),
        ("nofwddirs_noidx", dirs_noidx.clone()),
        // JkLocalAddrIndicator is set in the main server only (not merged into vhosts).
        ("localaddr", format!("{local_env}{mount}")),
        (
            "localaddr_own",
            format!("  JkLocalAddrIndicator MY_LOCAL_ADDR\n{local_env}{mount}"),
        ),
        (
            "flushpackets",
            format!("  JkOptions +FlushPackets\n{mount}"),
        ),
        ("flushheader", format!("  JkOptions +FlushHeader\n{mount}")),
        (
            "flushboth",
            format!("  JkOptions +FlushPackets +FlushHeader\n{mount}"),
        ),
        (
            "disablereuse",
            format!("  JkOptions +DisableReuse\n{mount}"),
        ),
    ];
    let mut body = format!(
        "{ONE_CHILD}{}JkLocalAddrIndicator MY_LOCAL_ADDR\n\
         <Directory \"{}\">\n  Require all granted\n</Directory>\n",
        jk_config(conf_dir, ajp_port),
        docs.display()
    );
    let mut cases = Vec::new();
    for (v, inner) in &vhosts {
        body.push_str(&vhost_block(v, inner));
        cases.extend(standard_cases(v));
        if ["default", "local", "physical", "localaddr", "localaddr_own"].contains(v) {
            cases.extend(via_second_address(v));
        }
        match *v {
            "default" => {
                let host = [("Host", "unknown.example:{PORT}")];
                let c = req("unknown_host", "GET", "/app/unknown?h=1", "HTTP/1.1", &host);
                cases.push(VhostCase {
                    name: "default/unknown_host".into(),
                    raw: c.raw,
                    behaviour: Behaviour::Echo,
                    addr: "127.0.0.1",
                });
                for i in 0..5 {
                    let t = format!("/app/reuse/{i}");
                    cases.push(vhost_get(
                        v,
                        &format!("seq{i}"),
                        t.as_bytes(),
                        Behaviour::Echo,
                    ));
                }
            }
            "disablereuse" => {
                for i in 0..5 {
                    let t = format!("/app/reuse/{i};jsessionid=S{i}?i={i}");
                    cases.push(vhost_get(
                        v,
                        &format!("seq{i}"),
                        t.as_bytes(),
                        Behaviour::Echo,
                    ));
                }
            }
            "fwddirs" | "nofwddirs" | "fwddirs_noidx" | "nofwddirs_noidx" => {
                for (n, t) in [
                    ("dir_slash", "/dir/"),
                    ("dir_no_slash", "/dir"),
                    ("dir_query", "/dir/?q=1"),
                    ("dir_double_slash", "/dir//"),
                    ("dir_dot", "/dir/./"),
                    ("dir_index_jsp", "/dir/index.jsp"),
                    ("plain_dir", "/plain/"),
                    ("plain_dir_no_slash", "/plain"),
                    ("envdir", "/envdir/"),
                    ("envdir_query", "/envdir/?a=%20b"),
                    ("envdir_jsessionid", "/envdir/;jsessionid=E1.n1"),
                ] {
                    cases.push(vhost_get(v, n, t.as_bytes(), Behaviour::Echo));
                }
            }
            "flushpackets" | "flushheader" | "flushboth" => {
                cases.push(vhost_get(
                    v,
                    "chunked_answer",
                    b"/app/chunked",
                    chunked_answer(),
                ));
                cases.push(vhost_get(
                    v,
                    "download",
                    b"/app/download?n=20000",
                    Behaviour::Download {
                        bytes: 20_000,
                        chunk_size: 3000,
                    },
                ));
                cases.push(vhost_get(
                    v,
                    "headers_only",
                    b"/app/empty",
                    Behaviour::Respond(Response::new(204, "No Content")),
                ));
            }
            _ => {}
        }
    }
    VhostConfig {
        name: "A",
        body,
        cases,
    }
}

/// Configuration B: the main server has JkOptions (and JkMount); vhosts inherit them.
pub fn vhost_config_b(conf_dir: &Path, ajp_port: u16) -> VhostConfig {
    let copy = "  JkMountCopy On\n";
    let vhosts: Vec<(&str, String)> = vec![
        ("inherit", copy.to_string()),
        ("inherit_own_mount", "  JkMount /app/* w\n".to_string()),
        (
            "inherit_escaped",
            format!("  JkOptions +ForwardURIEscaped\n{copy}"),
        ),
        (
            "inherit_proxy",
            format!("  JkOptions ForwardURIProxy\n{copy}"),
        ),
        (
            "inherit_physical",
            format!("  JkOptions +ForwardPhysicalAddress\n{copy}"),
        ),
        (
            "inherit_minus",
            format!(
                "  JkOptions +ForwardKeySize -ForwardSSLCertChain -DisableReuse \
                 -ForwardLocalAddress\n{copy}"
            ),
        ),
        (
            "inherit_flush",
            format!("  JkOptions +FlushPackets\n{copy}"),
        ),
    ];
    let mut body = format!(
        "{ONE_CHILD}{}JkOptions +ForwardURICompatUnparsed +ForwardLocalAddress -ForwardKeySize \
         +ForwardSSLCertChain +DisableReuse\n\
         JkLocalAddrIndicator MY_LOCAL_ADDR\n\
         SetEnv JK_LOCAL_ADDR 192.0.2.66\nSetEnv MY_LOCAL_ADDR 192.0.2.55\n{FAKE_SSL_ENV}",
        jk_config(conf_dir, ajp_port)
    );
    let mut cases = Vec::new();
    for (v, inner) in &vhosts {
        body.push_str(&vhost_block(v, inner));
        cases.extend(standard_cases(v));
        cases.extend(via_second_address(v));
        for i in 0..5 {
            let t = format!("/app/reuse/{i}");
            cases.push(vhost_get(
                v,
                &format!("seq{i}"),
                t.as_bytes(),
                Behaviour::Echo,
            ));
        }
        cases.push(vhost_get(
            v,
            "chunked_answer",
            b"/app/chunked",
            chunked_answer(),
        ));
    }
    VhostConfig {
        name: "B",
        body,
        cases,
    }
}
