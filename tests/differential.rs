#![allow(clippy::unwrap_used)]
//! Differential test against Debian's mod_jk 1.2.48 (the oracle): the same raw requests go
//! through httpd + Debian's module and through httpd + ours (same configuration, same port,
//! one after the other; only the LoadModule line differs) to the same recording AJP server.
//! The FORWARD_REQUEST packets must be equal field by field, the request bodies equal (data
//! and body packet sizes), and the client-visible responses equal. A second test sends one
//! request per canned backend answer and compares what the client sees.
//!
//! Every mismatch of a run is collected into ONE assertion message. Differences that are kept
//! on purpose must be listed in [`INTENDED_DIFFERENCES`]; values that legitimately differ
//! between two runs are rewritten in [`normalise_run_specific`] only.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use jk_ajp_testserver::{
    pattern, AttributeValue, Behaviour, ForwardRequest, HeaderName, RecordedRequest, Response,
    TestServer,
};
use support::*;

/// Differences between Debian's mod_jk and ours that are kept on purpose: (field, reason).
/// `field` is either a field name as printed in a mismatch (e.g. `forward.uri`) — then it
/// applies to every request — or `"<case>: <field>"` for one request only.
const INTENDED_DIFFERENCES: &[(&str, &str)] = &[];

/// The placeholder for the client's source port (it differs on every connection).
const CLIENT_PORT: &str = "<client source port>";

/// Rewrites the values that legitimately differ between the two runs, in ONE place:
///
/// * `AJP_REMOTE_PORT` (req_attribute 0x0A): the source port of the test client's TCP
///   connection, different for every connection. Replaced by [`CLIENT_PORT`] only when it is
///   exactly the port the client used (so an override through `JK_REMOTE_PORT` is still
///   compared as is).
///
/// The same replacement is made in the raw FORWARD_REQUEST bytes (compared when a packet
/// does not decode, or when every decoded field is equal).
///
/// The httpd port is NOT normalised: both httpds listen on the same port, one after the other.
fn normalise_run_specific(rec: &mut RecordedRequest, client_port: u16) {
    let port = client_port.to_string();
    for (code, name, value) in &mut rec.decoded.attributes {
        if *code == 0x0A
            && name.as_deref() == Some("AJP_REMOTE_PORT")
            && value.as_str() == Some(port.as_str())
        {
            *value = AttributeValue::Str(CLIENT_PORT.to_string());
        }
    }
    // Raw: 0x0A, string "AJP_REMOTE_PORT", string "<port>".
    let mut key = vec![0x0A, 0x00, 15];
    key.extend_from_slice(b"AJP_REMOTE_PORT\0");
    let mut val = (port.len() as u16).to_be_bytes().to_vec();
    val.extend_from_slice(port.as_bytes());
    val.push(0);
    if let Some(at) = find(&rec.raw, &key) {
        let start = at + key.len();
        if rec.raw[start..].starts_with(&val) {
            let mut with = (CLIENT_PORT.len() as u16).to_be_bytes().to_vec();
            with.extend_from_slice(CLIENT_PORT.as_bytes());
            with.push(0);
            rec.raw.splice(start..start + val.len(), with);
        }
    }
}

// ------------------------------------------------------------------------------------------
// httpd on a chosen port
// ------------------------------------------------------------------------------------------

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts httpd (prefork) with `body` and the module `so` on `port` (the harness picks a
/// random port; both runs here must use the same one).
fn start_on(tag: &str, port: u16, body: &str, so: &Path) -> Httpd {
    let dir = TestDir::new(tag);
    let static_file = dir.write("htdocs/static.html", "static\n");
    // Same Last-Modified/ETag in both runs.
    std::fs::File::options()
        .write(true)
        .open(&static_file)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000))
        .unwrap();
    let conf = dir.write(
        "httpd.conf",
        &httpd_conf_with(dir.path(), port, Mpm::Prefork, body, so),
    );
    let out = Command::new(apache2())
        .arg("-f")
        .arg(&conf)
        .arg("-k")
        .arg("start")
        .output()
        .unwrap();
    let h = Httpd {
        dir,
        port,
        conf,
        mpm: Mpm::Prefork,
    };
    assert!(
        out.status.success(),
        "{tag}: apache2 -k start on port {port} failed: {}{}\nerror log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        h.error_log()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if h.pid().is_some() && TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return h;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{tag}: httpd did not come up on port {port}\nerror log:\n{}",
        h.error_log()
    );
}

/// The httpd directives shared by both runs (only the LoadModule line differs).
fn jk_config(dir_for_workers: &Path, ajp_port: u16) -> String {
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

// ------------------------------------------------------------------------------------------
// Requests
// ------------------------------------------------------------------------------------------

/// One raw HTTP request, sent byte for byte.
struct Case {
    name: String,
    raw: Vec<u8>,
}

/// Builds a request: `HTTP/1.1` requests get `Host` (unless `headers` has one or the target
/// says `NOHOST`) and `Connection: close` (unless given); `HTTP/1.0` ones get `Host` only.
fn req(name: &str, method: &str, target: &str, proto: &str, headers: &[(&str, &str)]) -> Case {
    req_body(name, method, target, proto, headers, b"")
}

fn req_body(
    name: &str,
    method: &str,
    target: &str,
    proto: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Case {
    req_bytes(name, method, target.as_bytes(), proto, headers, body)
}

fn req_bytes(
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

/// Value lengths of the `long_header_*` requests, around the 8192-byte packet limit: with
/// this configuration 7964 gives the largest FORWARD_REQUEST that still goes out (8203-byte
/// payload with Debian's module), 7965 is refused with 413 before connecting.
const LONG_HEADER_SIZES: &[usize] = &[7800, 7900, 7950, 7963, 7964, 7965, 7966, 8000, 8150];

fn cases() -> Vec<Case> {
    let h11 = "HTTP/1.1";
    let h10 = "HTTP/1.0";
    let half = "H".repeat(4500);
    let all_bytes: Vec<u8> = (0..=255u8).cycle().take(1024).collect();
    let p20000 = pattern(0, 20_000);
    let p8186 = pattern(0, 8186);
    let p8187 = pattern(0, 8187);
    let p5000 = pattern(0, 5000);
    let long_uri = format!("/app/{}", "u".repeat(4000));
    let propfind = br#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#;
    let lock = br#"<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#;
    let mut v = vec![
        // Methods, protocols, request targets.
        req("get_simple", "GET", "/app/hello", h11, &[]),
        req(
            "get_http10_no_host",
            "GET",
            "/app/hello",
            h10,
            &[("Host", "NOHOST")],
        ),
        req("get_http10_with_host", "GET", "/app/hello10", h10, &[]),
        req("get_mount_root", "GET", "/app", h11, &[]),
        req(
            "get_query",
            "GET",
            "/app/q?a=1&b=two%20words&c&d=%E2%82%AC&e=a+b",
            h11,
            &[],
        ),
        req("get_empty_query", "GET", "/app/q?", h11, &[]),
        req(
            "get_jsessionid",
            "GET",
            "/app/x;jsessionid=ABC123.node1?x=1",
            h11,
            &[],
        ),
        req(
            "get_path_params",
            "GET",
            "/app/a;p=1/b;q=2;jsessionid=Z.n2/c",
            h11,
            &[],
        ),
        req(
            "get_mount_root_jsessionid",
            "GET",
            "/app;jsessionid=R00T",
            h11,
            &[],
        ),
        req(
            "get_percent_encoded",
            "GET",
            "/app/x%20y/%41%42/%7euser/%25",
            h11,
            &[],
        ),
        req_bytes(
            "get_utf8_raw",
            "GET",
            b"/app/caf\xc3\xa9/\xe2\x82\xac",
            h11,
            &[],
            b"",
        ),
        req(
            "get_utf8_encoded",
            "GET",
            "/app/caf%C3%A9/%E2%82%AC?n=%C3%A9",
            h11,
            &[],
        ),
        req("get_dot_segments", "GET", "/app/a/./b/../c//d", h11, &[]),
        req("get_encoded_slash", "GET", "/app/a%2Fb", h11, &[]),
        req("get_sub_delims", "GET", "/app/a+b!$&'()*,=:@~", h11, &[]),
        req(
            "get_absolute_form",
            "GET",
            "http://{HOST}/app/absolute?y=2",
            h11,
            &[],
        ),
        req(
            "get_other_host",
            "GET",
            "/app/vhost",
            h11,
            &[("Host", "Example.COM:8080")],
        ),
        req("get_long_uri", "GET", &long_uri, h11, &[]),
        req("head", "HEAD", "/app/head", h11, &[]),
        req("head_http10", "HEAD", "/app/head10", h10, &[]),
        req("options", "OPTIONS", "/app/options", h11, &[]),
        req("options_star", "OPTIONS", "*", h11, &[]),
        req("trace", "TRACE", "/app/trace", h11, &[("X-T", "1")]),
        req("delete", "DELETE", "/app/res/1", h11, &[]),
        req_body(
            "propfind",
            "PROPFIND",
            "/app/dav/",
            h11,
            &[
                ("Depth", "1"),
                ("Content-Type", "application/xml; charset=utf-8"),
                ("Content-Length", &propfind.len().to_string()),
            ],
            propfind,
        ),
        req_body(
            "proppatch",
            "PROPPATCH",
            "/app/dav/f",
            h11,
            &[("Content-Type", "text/xml"), ("Content-Length", "5")],
            b"<x/>\n",
        ),
        req("mkcol", "MKCOL", "/app/dav/newdir/", h11, &[]),
        req(
            "copy",
            "COPY",
            "/app/dav/a",
            h11,
            &[
                ("Destination", "http://{HOST}/app/dav/b"),
                ("Overwrite", "F"),
            ],
        ),
        req(
            "move",
            "MOVE",
            "/app/dav/b",
            h11,
            &[("Destination", "/app/dav/c")],
        ),
        req_body(
            "lock",
            "LOCK",
            "/app/dav/c",
            h11,
            &[
                ("Timeout", "Second-3600"),
                ("Content-Type", "application/xml"),
                ("Content-Length", &lock.len().to_string()),
            ],
            lock,
        ),
        req(
            "unlock",
            "UNLOCK",
            "/app/dav/c",
            h11,
            &[("Lock-Token", "<opaquelocktoken:1234>")],
        ),
        req("report", "REPORT", "/app/dav/r", h11, &[]),
        req("search", "SEARCH", "/app/dav/s", h11, &[]),
        req("version_control", "VERSION-CONTROL", "/app/dav/v", h11, &[]),
        req("mkactivity", "MKACTIVITY", "/app/dav/act", h11, &[]),
        req(
            "baseline_control",
            "BASELINE-CONTROL",
            "/app/dav/bl",
            h11,
            &[],
        ),
        req_body(
            "patch",
            "PATCH",
            "/app/res/1",
            h11,
            &[
                ("Content-Type", "application/json-patch+json"),
                ("Content-Length", "2"),
            ],
            b"[]",
        ),
        req("custom_method", "BREW", "/app/pot", h11, &[]),
        req("lowercase_method", "get", "/app/lower", h11, &[]),
        // Headers: coded names in odd spellings, strings, duplicates, long ones.
        req(
            "coded_headers",
            "GET",
            "/app/h",
            h11,
            &[
                ("ACCEPT", "text/html"),
                ("accept-charset", "utf-8"),
                ("Accept-Encoding", "gzip, br"),
                ("Accept-Language", "de-CH, en;q=0.5"),
                ("content-TYPE", "text/plain"),
                ("Cookie2", "$Version=1"),
                ("Pragma", "no-cache"),
                ("Referer", "http://example.org/ref"),
                ("user-agent", "differential/1.0"),
            ],
        ),
        req(
            "custom_headers",
            "GET",
            "/app/h",
            h11,
            &[
                ("X-Custom", "v"),
                ("x-lower", "lower"),
                ("X-UPPER", "UPPER"),
                ("X-Empty", ""),
                ("X-Spaces", "a   b"),
                ("X-Utf8", "caf\u{e9}"),
                ("Accept", "*/*"),
            ],
        ),
        req(
            "duplicate_headers",
            "GET",
            "/app/dup",
            h11,
            &[
                ("X-Dup", "1"),
                ("Accept", "a/b"),
                ("x-dup", "2"),
                ("Cookie", "a=1"),
                ("Accept", "c/d"),
                ("Cookie", "b=2"),
                ("X-Dup", "3"),
            ],
        ),
        req(
            "cookies",
            "GET",
            "/app/c",
            h11,
            &[("Cookie", "JSESSIONID=ABC.node1; theme=dark; $Version=1; e=")],
        ),
        req(
            "authorization",
            "GET",
            "/app/secret",
            h11,
            &[("Authorization", "Basic YWxpY2U6c2VjcmV0")],
        ),
        req(
            "two_headers_over_packet",
            "GET",
            "/app/long",
            h11,
            &[("X-A", &half), ("X-B", &half)],
        ),
        // Bodies.
        req_body(
            "post_small",
            "POST",
            "/app/form",
            h11,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Content-Length", "11"),
            ],
            b"hello=world",
        ),
        req_body(
            "post_20000",
            "POST",
            "/app/upload",
            h11,
            &[
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", "20000"),
            ],
            &p20000,
        ),
        req_body(
            "post_8186",
            "POST",
            "/app/upload",
            h11,
            &[("Content-Length", "8186")],
            &p8186,
        ),
        req_body(
            "post_8187",
            "POST",
            "/app/upload",
            h11,
            &[("Content-Length", "8187")],
            &p8187,
        ),
        req_body(
            "put_binary",
            "PUT",
            "/app/file.bin",
            h11,
            &[
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", "1024"),
            ],
            &all_bytes,
        ),
        req_body(
            "post_http10_body",
            "POST",
            "/app/form10",
            h10,
            &[("Content-Length", "5")],
            b"a=b&c",
        ),
        req_body(
            "post_chunked",
            "POST",
            "/app/upload",
            h11,
            &[("Transfer-Encoding", "chunked")],
            &chunked(&[1, 100, 7000, 9000, 3], ""),
        ),
        req_body(
            "post_chunked_small",
            "POST",
            "/app/upload",
            h11,
            &[
                ("Transfer-Encoding", "chunked"),
                ("Content-Type", "text/plain"),
            ],
            &chunked(&[5], ""),
        ),
        req_body(
            "post_chunked_empty",
            "POST",
            "/app/upload",
            h11,
            &[("Transfer-Encoding", "chunked")],
            &chunked(&[], ""),
        ),
        req_body(
            "post_chunked_trailer",
            "POST",
            "/app/upload",
            h11,
            &[("Transfer-Encoding", "chunked")],
            &chunked(&[10, 20], "X-Trailer: t\r\n"),
        ),
        req_body(
            "post_content_length_0",
            "POST",
            "/app/empty",
            h11,
            &[("Content-Length", "0")],
            b"",
        ),
        req("post_no_body_http10", "POST", "/app/empty10", h10, &[]),
        req_body(
            "expect_100_continue",
            "POST",
            "/app/expect",
            h11,
            &[("Expect", "100-continue"), ("Content-Length", "5000")],
            &p5000,
        ),
        req_body(
            "expect_100_continue_chunked",
            "PUT",
            "/app/expect",
            h11,
            &[("Expect", "100-continue"), ("Transfer-Encoding", "chunked")],
            &chunked(&[4000, 4000, 4000], ""),
        ),
        // Environment: JkEnvVar, indicators, SSL variables, JK_IGNORE_CL, secret.
        req(
            "env_set_by_header",
            "GET",
            "/app/env/x",
            h11,
            &[("X-Set-Env", "hello env")],
        ),
        req(
            "env_set_empty_value",
            "GET",
            "/app/env/emptyval/x",
            h11,
            &[],
        ),
        req(
            "env_default_overridden",
            "GET",
            "/app/env/override",
            h11,
            &[],
        ),
        req("env_set_empty", "GET", "/app/env/empty", h11, &[]),
        req(
            "env_http_header_var",
            "GET",
            "/app/env/http",
            h11,
            &[("X-Trace", "trace-42")],
        ),
        req("indicator_overrides", "GET", "/app/ind/x?i=1", h11, &[]),
        req(
            "indicator_empty_remote_addr",
            "GET",
            "/app/emptyaddr/x",
            h11,
            &[],
        ),
        req("ssl_env", "GET", "/app/ssl/x", h11, &[]),
        req_body(
            "ignore_cl",
            "POST",
            "/app/ignorecl/x",
            h11,
            &[("Content-Length", "100")],
            &pattern(0, 100),
        ),
        req("secret_worker", "GET", "/sec/x?s=1", h11, &[]),
        req_body(
            "secret_worker_post",
            "POST",
            "/sec/upload",
            h11,
            &[("Content-Length", "9000")],
            &pattern(0, 9000),
        ),
        // Not forwarded: httpd serves it itself with both modules.
        req("not_mapped_static", "GET", "/static.html", h11, &[]),
    ];
    // One long header, its value sized around the 8192-byte packet limit.
    for n in LONG_HEADER_SIZES {
        v.push(req(
            &format!("long_header_{n}"),
            "GET",
            "/app/long",
            h11,
            &[("X-Long", &"L".repeat(*n))],
        ));
    }
    // Header values that are not UTF-8 (Latin-1 and stray bytes): forwarded byte for byte.
    let mut latin1 = req(
        "header_bytes_not_utf8",
        "GET",
        "/app/bytes",
        h11,
        &[("X-Name", "PLACEHOLDER"), ("Cookie", "a=PLACEHOLDER")],
    );
    while let Some(p) = find(&latin1.raw, b"PLACEHOLDER") {
        latin1.raw.splice(
            p..p + b"PLACEHOLDER".len(),
            b"Jos\xe9 \xff\x80".iter().copied(),
        );
    }
    v.push(latin1);
    // Path and query bytes that are not UTF-8, percent-encoded and raw (the raw ones go out
    // byte for byte over the socket): forwarded as httpd holds them, never as U+FFFD.
    for (name, target) in NOT_UTF8_TARGETS {
        v.push(req_bytes(name, "GET", target, h11, &[], b""));
    }
    // A method that is not UTF-8: httpd (HttpProtocolOptions Strict, the default) answers
    // 400 itself before any handler, with both modules. The method's bytes on the wire
    // (stored method, attribute 0x0D) are covered by jk-ajp's unit tests.
    let mut method = req("method_not_utf8", "MPLACEHOLDER", "/app/m", h11, &[]);
    method
        .raw
        .splice(1..1 + b"PLACEHOLDER".len(), b"\xe9TH".iter().copied());
    v.push(method);
    // Environment values that are not UTF-8 (set from a header by SetEnvIf): the
    // JK_REMOTE_*/JK_AUTH_TYPE/JK_LOCAL_NAME overrides, a JkEnvVar and the SSL attributes.
    for (name, target) in [
        ("env_bytes_not_utf8", &b"/app/envbytes/x"[..]),
        ("ssl_bytes_not_utf8", b"/app/sslbytes/x"),
    ] {
        let mut c = req_bytes(name, "GET", target, h11, &[("X-Bytes", "PLACEHOLDER")], b"");
        let p = find(&c.raw, b"PLACEHOLDER").unwrap();
        c.raw
            .splice(p..p + b"PLACEHOLDER".len(), b"Jos\xe9\xff".iter().copied());
        v.push(c);
    }
    // HTTP/1.0 without Host: drop the placeholder line.
    for c in &mut v {
        if let Some(p) = find(&c.raw, b"Host: NOHOST\r\n") {
            c.raw.drain(p..p + b"Host: NOHOST\r\n".len());
        }
    }
    v
}

/// Request targets whose path or query is not UTF-8 (0xE9 is Latin-1 `é`), sent to the
/// main server and to every vhost (each ForwardURI* option).
const NOT_UTF8_TARGETS: &[(&str, &[u8])] = &[
    ("path_percent_not_utf8", b"/app/caf%E9/x"),
    ("path_raw_not_utf8", b"/app/caf\xe9/x"),
    ("query_raw_not_utf8", b"/app/q?n=caf\xe9&x=\xff"),
    ("query_percent_not_utf8", b"/app/q?n=caf%E9"),
    (
        "path_params_not_utf8",
        b"/app/caf%E9;jsessionid=A1.n1/\xe9x?q=%E9\xe9",
    ),
];

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

// ------------------------------------------------------------------------------------------
// Raw client and response parsing
// ------------------------------------------------------------------------------------------

/// What the client saw: every status line (1xx interim ones first), the final headers
/// without the ones that may differ between runs, and the (de-chunked) body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Seen {
    interim: Vec<String>,
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Transport trouble (timeout, unparsable answer).
    problem: Option<String>,
}

/// Response headers not compared (they differ between two runs by nature).
const IGNORED_RESPONSE_HEADERS: &[&str] = &["date", "server", "keep-alive", "connection"];

/// Sends `raw` on a new connection and reads until the server closes. Returns the client's
/// source port and the raw answer (plus a note on a timeout or reset).
fn send_raw(port: u16, raw: &[u8]) -> (u16, Vec<u8>, Option<String>) {
    send_raw_to("127.0.0.1", port, raw)
}

/// As [`send_raw`], to the httpd address `addr`.
fn send_raw_to(addr: &str, port: u16, raw: &[u8]) -> (u16, Vec<u8>, Option<String>) {
    let mut s = TcpStream::connect((addr, port)).unwrap();
    let client_port = s.local_addr().unwrap().port();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // The server may answer (413, 400) and close before reading everything.
    let _ = s.write_all(raw);
    let _ = s.flush();
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    let mut problem = None;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                problem = Some(format!("read error after {} bytes: {e}", out.len()));
                break;
            }
        }
    }
    let _ = s.shutdown(Shutdown::Both);
    (client_port, out, problem)
}

fn parse_response(raw: &[u8], problem: Option<String>) -> Seen {
    let mut seen = Seen {
        problem,
        ..Seen::default()
    };
    let mut rest = raw;
    loop {
        let Some(end) = find(rest, b"\r\n\r\n") else {
            seen.problem.get_or_insert_with(|| {
                format!("no complete response head in {:?}", show_bytes(raw))
            });
            return seen;
        };
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = &rest[end + 4..];
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default().to_string();
        let code: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        if (100..200).contains(&code) && code != 101 {
            seen.interim.push(status_line);
            continue;
        }
        seen.status_line = status_line;
        let all: Vec<(String, String)> = lines
            .filter_map(|l| {
                l.split_once(':')
                    .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            })
            .collect();
        let is_chunked = all.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        seen.headers = all
            .into_iter()
            .filter(|(k, _)| {
                !IGNORED_RESPONSE_HEADERS
                    .iter()
                    .any(|i| k.eq_ignore_ascii_case(i))
            })
            .collect();
        seen.body = if is_chunked {
            match dechunk(rest) {
                Some(b) => b,
                None => {
                    seen.problem = Some("bad chunked framing".into());
                    rest.to_vec()
                }
            }
        } else {
            rest.to_vec()
        };
        return seen;
    }
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(b, b"\r\n")?;
        let size_str = std::str::from_utf8(&b[..line_end]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

// ------------------------------------------------------------------------------------------
// Comparison
// ------------------------------------------------------------------------------------------

/// Everything observed for one request through one module.
#[derive(Debug, Clone)]
struct Observed {
    seen: Seen,
    forwards: Vec<RecordedRequest>,
}

#[derive(Default)]
struct Report {
    /// (case, field, debian, ours)
    mismatches: Vec<(String, String, String, String)>,
    /// (case, field, reason) for differences found and listed in INTENDED_DIFFERENCES.
    intended: Vec<(String, String, String)>,
    /// Request text per case with mismatches.
    requests: Vec<(String, String)>,
}

impl Report {
    fn check(&mut self, case: &str, field: &str, debian: String, ours: String) {
        if debian == ours {
            return;
        }
        let scoped = format!("{case}: {field}");
        if let Some((_, why)) = INTENDED_DIFFERENCES
            .iter()
            .find(|(f, _)| *f == field || *f == scoped)
        {
            self.intended
                .push((case.to_string(), field.to_string(), why.to_string()));
            return;
        }
        self.mismatches
            .push((case.to_string(), field.to_string(), debian, ours));
    }

    fn text(&self) -> String {
        let mut s = format!(
            "{} mismatch(es) between Debian's mod_jk 1.2.48 and ours:\n",
            self.mismatches.len()
        );
        let mut last_case = "";
        for (case, field, d, o) in &self.mismatches {
            if case != last_case {
                let req = self
                    .requests
                    .iter()
                    .find(|(c, _)| c == case)
                    .map(|(_, r)| r.as_str())
                    .unwrap_or("");
                s.push_str(&format!("\n== request `{case}`:\n{req}\n"));
                last_case = case;
            }
            s.push_str(&format!(
                "  {field}:\n      Debian: {d}\n      ours:   {o}\n"
            ));
        }
        s
    }
}

/// Shortens long values for the report (keeping their length visible).
fn show(s: &str) -> String {
    if s.len() > 160 {
        let head: String = s.chars().take(60).collect();
        let tail: String = s
            .chars()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{head:?}…{tail:?} ({} bytes)", s.len())
    } else {
        format!("{s:?}")
    }
}

fn show_bytes(b: &[u8]) -> String {
    show(&String::from_utf8_lossy(b))
}

/// The request as sent, for the report (head escaped, body summarised).
fn show_request(raw: &[u8]) -> String {
    let split = find(raw, b"\r\n\r\n").map(|p| p + 4).unwrap_or(raw.len());
    let mut s = String::new();
    for line in String::from_utf8_lossy(&raw[..split]).split("\r\n") {
        if !line.is_empty() {
            s.push_str(&format!("    {}\n", show(line)));
        }
    }
    if split < raw.len() {
        s.push_str(&format!("    + body {} bytes\n", raw.len() - split));
    }
    s
}

/// Both raw packets around their first difference (equal strings when equal).
fn raw_diff(d: &[u8], o: &[u8]) -> (String, String) {
    if d == o {
        return (String::new(), String::new());
    }
    let at = d.iter().zip(o).take_while(|(a, b)| a == b).count();
    let from = at.saturating_sub(24);
    let hex = |b: &[u8]| {
        let end = (at + 24).min(b.len());
        let bytes: Vec<String> = b[from.min(end)..end]
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        format!(
            "{} bytes, first difference at offset {at}: [{from}..] {} | {}",
            b.len(),
            bytes.join(" "),
            show_bytes(&b[from.min(end)..end])
        )
    };
    (hex(d), hex(o))
}

fn header_name(n: &HeaderName) -> String {
    match n {
        HeaderName::Code(c) => format!("code 0x{c:04X} ({})", n.as_str()),
        HeaderName::Name(s) => format!("string {s:?}"),
    }
}

fn attr_label(code: u8, name: &Option<String>) -> String {
    let known = match code {
        0x01 => "context",
        0x02 => "servlet_path",
        0x03 => "remote_user",
        0x04 => "auth_type",
        0x05 => "query_string",
        0x06 => "route",
        0x07 => "ssl_cert",
        0x08 => "ssl_cipher",
        0x09 => "ssl_session",
        0x0A => "req_attribute",
        0x0B => "ssl_key_size",
        0x0C => "secret",
        0x0D => "stored_method",
        _ => "?",
    };
    match name {
        Some(n) => format!("0x{code:02X} {known} {n}"),
        None => format!("0x{code:02X} {known}"),
    }
}

fn attr_value(v: &AttributeValue) -> String {
    match v {
        AttributeValue::Str(s) => show(s),
        AttributeValue::U16(n) => format!("int {n}"),
    }
}

fn opt<T>(v: Option<&T>, f: impl Fn(&T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "<absent>".into())
}

/// Compares one FORWARD_REQUEST (with its body) field by field.
fn compare_forward(
    rep: &mut Report,
    case: &str,
    p: &str,
    d: &RecordedRequest,
    o: &RecordedRequest,
) {
    let before = rep.mismatches.len();
    let mut c = |field: &str, a: String, b: String| rep.check(case, &format!("{p}{field}"), a, b);
    c(
        "decode_error",
        format!("{:?}", d.decode_error),
        format!("{:?}", o.decode_error),
    );
    // A packet that does not decode is compared as raw bytes only (its decoded fields are
    // default values); one whose fields are all equal is also compared byte for byte.
    let decoded = d.decode_error.is_none() && o.decode_error.is_none();
    if decoded {
        compare_decoded(&mut c, &d.decoded, &o.decoded);
    }
    if !decoded || rep.mismatches.len() == before {
        let (a, b) = raw_diff(&d.raw, &o.raw);
        rep.check(case, &format!("{p}raw_bytes"), a, b);
    }
    let mut c = |field: &str, a: String, b: String| rep.check(case, &format!("{p}{field}"), a, b);
    c(
        "body",
        format!("{} bytes {}", d.body.len(), show_bytes(&d.body)),
        format!("{} bytes {}", o.body.len(), show_bytes(&o.body)),
    );
    let sizes = |r: &RecordedRequest| {
        r.body_packets
            .iter()
            .map(|p| p.len().to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    c(
        "body_packet_payload_sizes",
        format!("[{}]", sizes(d)),
        format!("[{}]", sizes(o)),
    );
    c(
        "body_complete",
        d.body_complete.to_string(),
        o.body_complete.to_string(),
    );
}

/// The decoded FORWARD_REQUEST fields, in wire order.
fn compare_decoded(
    c: &mut impl FnMut(&str, String, String),
    df: &ForwardRequest,
    of: &ForwardRequest,
) {
    c(
        "method",
        format!("{:?} (byte 0x{:02X})", df.method, df.method_code),
        format!("{:?} (byte 0x{:02X})", of.method, of.method_code),
    );
    c("protocol", show(&df.protocol), show(&of.protocol));
    c("uri", show(&df.uri), show(&of.uri));
    c("remote_addr", show(&df.remote_addr), show(&of.remote_addr));
    c(
        "remote_host",
        opt(df.remote_host.as_ref(), |s| show(s)),
        opt(of.remote_host.as_ref(), |s| show(s)),
    );
    c("server_name", show(&df.server_name), show(&of.server_name));
    c("port", df.port.to_string(), of.port.to_string());
    c("is_ssl", df.is_ssl.to_string(), of.is_ssl.to_string());
    c(
        "header_count",
        df.headers.len().to_string(),
        of.headers.len().to_string(),
    );
    for i in 0..df.headers.len().max(of.headers.len()) {
        let (dh, oh) = (df.headers.get(i), of.headers.get(i));
        c(
            &format!("header[{i}].name"),
            opt(dh, |h| header_name(&h.0)),
            opt(oh, |h| header_name(&h.0)),
        );
        let label = dh
            .or(oh)
            .map(|h| h.0.as_str().to_string())
            .unwrap_or_default();
        c(
            &format!("header[{i}]({label}).value"),
            opt(dh, |h| show(&h.1)),
            opt(oh, |h| show(&h.1)),
        );
    }
    c(
        "attribute_count",
        df.attributes.len().to_string(),
        of.attributes.len().to_string(),
    );
    for i in 0..df.attributes.len().max(of.attributes.len()) {
        let (da, oa) = (df.attributes.get(i), of.attributes.get(i));
        c(
            &format!("attribute[{i}].code/name"),
            opt(da, |a| attr_label(a.0, &a.1)),
            opt(oa, |a| attr_label(a.0, &a.1)),
        );
        let label = da
            .or(oa)
            .map(|a| a.1.clone().unwrap_or_else(|| attr_label(a.0, &None)))
            .unwrap_or_default();
        c(
            &format!("attribute[{i}]({label}).value"),
            opt(da, |a| attr_value(&a.2)),
            opt(oa, |a| attr_value(&a.2)),
        );
    }
}

fn compare_seen(rep: &mut Report, case: &str, d: &Seen, o: &Seen) {
    let mut c = |field: &str, a: String, b: String| rep.check(case, field, a, b);
    c(
        "response.problem",
        format!("{:?}", d.problem),
        format!("{:?}", o.problem),
    );
    c(
        "response.interim",
        format!("{:?}", d.interim),
        format!("{:?}", o.interim),
    );
    c(
        "response.status_line",
        show(&d.status_line),
        show(&o.status_line),
    );
    let hs = |s: &Seen| {
        s.headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    c("response.headers", hs(d), hs(o));
    c(
        "response.body",
        format!("{} bytes {}", d.body.len(), show_bytes(&d.body)),
        format!("{} bytes {}", o.body.len(), show_bytes(&o.body)),
    );
}

fn compare_observed(rep: &mut Report, case: &str, d: &Observed, o: &Observed) {
    rep.check(
        case,
        "forward_request_count",
        d.forwards.len().to_string(),
        o.forwards.len().to_string(),
    );
    for (i, (df, of)) in d.forwards.iter().zip(&o.forwards).enumerate() {
        let prefix = if d.forwards.len().max(o.forwards.len()) > 1 {
            format!("forward#{i}.")
        } else {
            "forward.".to_string()
        };
        compare_forward(rep, case, &prefix, df, of);
    }
    compare_seen(rep, case, &d.seen, &o.seen);
}

// ------------------------------------------------------------------------------------------
// Runs
// ------------------------------------------------------------------------------------------

/// Runs every request through httpd with module `so` on `port`; the server's recordings are
/// taken after each request and normalised.
fn run_module(
    tag: &str,
    so: &Path,
    port: u16,
    server: &TestServer,
    body: &str,
    requests: &[Vec<u8>],
    before_each: &dyn Fn(usize),
) -> (Vec<Observed>, String) {
    let h = start_on(tag, port, body, so);
    server.take_requests();
    let mut out = Vec::new();
    for (i, raw) in requests.iter().enumerate() {
        before_each(i);
        let (client_port, answer, problem) = send_raw(port, raw);
        // The server records a request before answering it, so once the client has the whole
        // answer every FORWARD_REQUEST of this request is recorded.
        let forwards = server.take_requests();
        out.push(observed(forwards, client_port, &answer, problem));
    }
    let logs = finish_run(tag, h);
    (out, logs)
}

/// One request's observation: the client's answer and the normalised FORWARD_REQUESTs.
fn observed(
    mut forwards: Vec<RecordedRequest>,
    client_port: u16,
    answer: &[u8],
    problem: Option<String>,
) -> Observed {
    for f in &mut forwards {
        normalise_run_specific(f, client_port);
    }
    Observed {
        seen: parse_response(answer, problem),
        forwards,
    }
}

/// Stops the server of a run after checking no child crashed; returns its log tails for the
/// failure report.
fn finish_run(tag: &str, h: Httpd) -> String {
    let logs = format!(
        "--- {tag} error.log:\n{}\n--- {tag} mod_jk.log (tail):\n{}",
        tail(&h.error_log(), 40),
        tail(&h.dir.read("logs/mod_jk.log"), 40)
    );
    let log = h.error_log();
    assert!(
        !log.contains("exit signal"),
        "{tag}: an httpd child crashed:\n{log}"
    );
    drop(h);
    logs
}

/// "n forward(s) [packet sizes]" for the progress lines.
fn forwards_summary(x: &Observed) -> String {
    let sizes: Vec<String> = x.forwards.iter().map(|f| f.raw.len().to_string()).collect();
    format!("{} forward(s) [{}]", x.forwards.len(), sizes.join(","))
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[test]
fn forward_requests_equal_debian_mod_jk() {
    let started = Instant::now();
    let debian = debian_mod_jk();
    let ours = module_so();
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let conf_dir = TestDir::new("diff-req-conf");
    let body = jk_config(conf_dir.path(), server.port());
    let port = free_port();
    let host = format!("127.0.0.1:{port}");
    let all = cases();
    assert!(all.len() >= 30, "only {} requests", all.len());
    let requests: Vec<Vec<u8>> = all
        .iter()
        .map(|c| replace_all(&c.raw, b"{HOST}", host.as_bytes()))
        .collect();

    let (d, dlogs) = run_module(
        "diff-debian",
        &debian,
        port,
        &server,
        &body,
        &requests,
        &|_| {},
    );
    let (o, ologs) = run_module("diff-ours", &ours, port, &server, &body, &requests, &|_| {});

    let mut rep = Report::default();
    for (i, c) in all.iter().enumerate() {
        rep.requests
            .push((c.name.clone(), show_request(&requests[i])));
        compare_observed(&mut rep, &c.name, &d[i], &o[i]);
    }
    for (i, c) in all.iter().enumerate() {
        eprintln!(
            "{:<30} Debian: {:<28} {} | ours: {:<28} {}",
            c.name,
            d[i].seen.status_line,
            forwards_summary(&d[i]),
            o[i].seen.status_line,
            forwards_summary(&o[i])
        );
    }
    if std::env::var_os("DIFFERENTIAL_DUMP").is_some() {
        for (i, c) in all.iter().enumerate() {
            for (who, x) in [("Debian", &d[i]), ("ours", &o[i])] {
                for f in &x.forwards {
                    eprintln!(
                        "{} {who}: {:?} body {} bytes",
                        c.name,
                        f.decoded,
                        f.body.len()
                    );
                }
                eprintln!(
                    "{} {who}: {:?} {:?}",
                    c.name, x.seen.interim, x.seen.status_line
                );
            }
        }
    }
    for (case, field, why) in &rep.intended {
        eprintln!("intended difference kept: {case}: {field}: {why}");
    }
    let forwarded = d.iter().filter(|x| !x.forwards.is_empty()).count();
    eprintln!(
        "differential (requests): {} requests compared ({forwarded} forwarded by Debian's \
         mod_jk), {} mismatches, {:.1}s",
        all.len(),
        rep.mismatches.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        rep.mismatches.is_empty(),
        "{}\n{dlogs}\n{ologs}",
        rep.text()
    );
}

/// The canned backend answers of the response-side test: (name, request method, answer).
fn backend_answers() -> Vec<(&'static str, &'static str, Response)> {
    let big = String::from_utf8(pattern(0, 20_000)).unwrap();
    vec![
        (
            "200_body_set_cookies",
            "GET",
            Response::text(200, "OK", "hello\n")
                .header("Set-Cookie", "JSESSIONID=ABC.node1; Path=/app; HttpOnly")
                .header("Set-Cookie", "theme=dark; Max-Age=60")
                .header("X-Multi", "1")
                .header("X-Multi", "2")
                .header("Set-Cookie", "third=3"),
        ),
        (
            "302_location",
            "GET",
            Response::new(302, "Found")
                .header("Location", "http://127.0.0.1/app/elsewhere?x=1")
                .header("Content-Length", "0"),
        ),
        (
            "302_relative_location",
            "GET",
            Response::new(302, "Found").header("Location", "/app/relative"),
        ),
        (
            "404_empty_no_headers",
            "GET",
            Response::new(404, "Not Found"),
        ),
        (
            "404_content_length_0",
            "GET",
            Response::new(404, "Not Found").header("Content-Length", "0"),
        ),
        (
            "500_with_body",
            "GET",
            Response::text(500, "Internal Server Error", "boom: stack trace here\n"),
        ),
        (
            "content_length_negative",
            "GET",
            Response::new(200, "OK")
                .header("Content-Type", "text/plain")
                .header("Content-Length", "-5")
                .body(b"hello"),
        ),
        (
            "content_length_not_a_number",
            "GET",
            Response::new(200, "OK")
                .header("Content-Type", "text/plain")
                .header("Content-Length", "five")
                .body(b"hello"),
        ),
        (
            "200_numeric_reason",
            "GET",
            Response::text(200, "200", "tomcat 8.5 style\n"),
        ),
        (
            "201_empty_reason",
            "GET",
            Response::text(201, "", "created\n"),
        ),
        (
            "299_unknown_code_empty_reason",
            "GET",
            Response::text(299, "", "odd\n"),
        ),
        (
            "head_response",
            "HEAD",
            Response::text(200, "OK", "body that HEAD must not show\n"),
        ),
        (
            "content_type_upper_case",
            "GET",
            Response::new(200, "OK")
                .header("CONTENT-TYPE", "TEXT/HTML; Charset=UTF-8")
                .header("Content-Length", "6")
                .body(b"<p/>\r\n"),
        ),
        (
            "string_header_names",
            "GET",
            Response::text(200, "OK", "strings\n")
                .header("Content-Language", "de")
                .header("X-Custom", "v")
                .coded(false),
        ),
        (
            "last_modified",
            "GET",
            Response::text(200, "OK", "lm\n")
                .header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
                .header("ETag", "\"abc\""),
        ),
        (
            "no_content_length_chunked_to_client",
            "GET",
            Response::new(200, "OK")
                .header("Content-Type", "text/plain")
                .body(big.as_bytes()),
        ),
        ("204_no_content", "GET", Response::new(204, "No Content")),
        (
            "304_not_modified",
            "GET",
            Response::new(304, "Not Modified").header("ETag", "\"abc\""),
        ),
        (
            "401_www_authenticate",
            "GET",
            Response::new(401, "Unauthorized")
                .header("WWW-Authenticate", "Basic realm=\"x\"")
                .header("Content-Length", "0"),
        ),
        (
            "503_with_body",
            "GET",
            Response::text(503, "Service Unavailable", "down\n").header("Retry-After", "10"),
        ),
    ]
}

#[test]
fn client_visible_responses_equal_debian_mod_jk() {
    let started = Instant::now();
    let debian = debian_mod_jk();
    let ours = module_so();
    let answers = backend_answers();
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let conf_dir = TestDir::new("diff-resp-conf");
    let body = jk_config(conf_dir.path(), server.port());
    let port = free_port();
    let host = format!("127.0.0.1:{port}");
    let requests: Vec<Vec<u8>> = answers
        .iter()
        .map(|(name, method, _)| {
            let c = req(name, method, &format!("/app/resp/{name}"), "HTTP/1.1", &[]);
            replace_all(&c.raw, b"{HOST}", host.as_bytes())
        })
        .collect();
    let set = |i: usize| server.set_behaviour(Behaviour::Respond(answers[i].2.clone()));

    let (d, dlogs) = run_module(
        "diffr-debian",
        &debian,
        port,
        &server,
        &body,
        &requests,
        &set,
    );
    let (o, ologs) = run_module("diffr-ours", &ours, port, &server, &body, &requests, &set);

    let mut rep = Report::default();
    for (i, (name, _, _)) in answers.iter().enumerate() {
        rep.requests.push((
            name.to_string(),
            format!(
                "{}    backend answer: {} {:?} headers {:?} body {} bytes\n",
                show_request(&requests[i]),
                answers[i].2.status,
                answers[i].2.reason,
                answers[i].2.headers,
                answers[i].2.body.len()
            ),
        ));
        compare_observed(&mut rep, name, &d[i], &o[i]);
    }
    for (case, field, why) in &rep.intended {
        eprintln!("intended difference kept: {case}: {field}: {why}");
    }
    eprintln!(
        "differential (responses): {} backend answers compared, {} mismatches, {:.1}s",
        answers.len(),
        rep.mismatches.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        rep.mismatches.is_empty(),
        "{}\n{dlogs}\n{ologs}",
        rep.text()
    );
}

// ------------------------------------------------------------------------------------------
// JkOptions per name-based virtual host
// ------------------------------------------------------------------------------------------

/// The fake mod_ssl environment (`SetEnv` lines) of the SSL-related vhosts. The last variable's
/// name is not ASCII and its `é` straddles the length of the chain prefix: it must be compared
/// as bytes (neither module forwards it).
const FAKE_SSL_ENV: &str = r#"  SetEnv HTTPS on
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
const ONE_CHILD: &str = "Listen 127.0.0.2:{PORT}\n\
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
struct VhostCase {
    name: String,
    raw: Vec<u8>,
    behaviour: Behaviour,
    /// The httpd address connected to: 127.0.0.1, or 127.0.0.2 so that httpd's local address
    /// differs from the client's (ForwardLocalAddress, AJP_LOCAL_ADDR).
    addr: &'static str,
}

/// One httpd configuration: the body and the requests (grouped by vhost through the
/// `<vhost>/` prefix of the case names).
struct VhostConfig {
    name: &'static str,
    body: String,
    cases: Vec<VhostCase>,
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
fn vhost_config_a(conf_dir: &Path, ajp_port: u16) -> VhostConfig {
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
fn vhost_config_b(conf_dir: &Path, ajp_port: u16) -> VhostConfig {
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

/// Runs every case of `cfg` through httpd with module `so`; returns what was observed and
/// the number of AJP connections the recording server accepted during each request.
fn run_vhost_module(
    tag: &str,
    so: &Path,
    port: u16,
    server: &TestServer,
    cfg: &VhostConfig,
    requests: &[Vec<u8>],
) -> (Vec<Observed>, Vec<usize>, String) {
    let body = cfg
        .body
        .replace("{PORT}", &port.to_string())
        .replace("{MODULES}", &modules_dir());
    let h = start_on(tag, port, &body, so);
    server.take_requests();
    let mut out = Vec::new();
    let mut conns = Vec::new();
    for (c, raw) in cfg.cases.iter().zip(requests) {
        server.set_behaviour(c.behaviour.clone());
        let before = server.connections_accepted();
        let (client_port, answer, problem) = send_raw_to(c.addr, port, raw);
        let forwards = server.take_requests();
        conns.push(server.connections_accepted() - before);
        out.push(observed(forwards, client_port, &answer, problem));
    }
    let logs = finish_run(tag, h);
    (out, conns, logs)
}

#[test]
fn jkoptions_equal_debian_mod_jk() {
    let started = Instant::now();
    let debian = debian_mod_jk();
    let ours = module_so();
    let server = TestServer::start("127.0.0.1:0", Behaviour::Echo).unwrap();
    let conf_dir = TestDir::new("diff-opts-conf");
    let configs = [
        vhost_config_a(conf_dir.path(), server.port()),
        vhost_config_b(conf_dir.path(), server.port()),
    ];
    let mut rep = Report::default();
    let mut all_logs = String::new();
    let mut total = 0;
    for cfg in &configs {
        let port = free_port();
        let requests: Vec<Vec<u8>> = cfg
            .cases
            .iter()
            .map(|c| replace_all(&c.raw, b"{PORT}", port.to_string().as_bytes()))
            .collect();
        let n = cfg.name;
        let (d, dconns, dlogs) = run_vhost_module(
            &format!("diffo{n}-debian"),
            &debian,
            port,
            &server,
            cfg,
            &requests,
        );
        let (o, oconns, ologs) = run_vhost_module(
            &format!("diffo{n}-ours"),
            &ours,
            port,
            &server,
            cfg,
            &requests,
        );
        for (i, c) in cfg.cases.iter().enumerate() {
            let name = format!("{n}:{}", c.name);
            rep.requests
                .push((name.clone(), show_request(&requests[i])));
            compare_observed(&mut rep, &name, &d[i], &o[i]);
            rep.check(
                &name,
                "ajp_connections_accepted",
                dconns[i].to_string(),
                oconns[i].to_string(),
            );
            eprintln!(
                "{name:<40} Debian: {:<28} {} conn+{} | ours: {:<28} {} conn+{}",
                d[i].seen.status_line,
                forwards_summary(&d[i]),
                dconns[i],
                o[i].seen.status_line,
                forwards_summary(&o[i]),
                oconns[i]
            );
            if std::env::var_os("DIFFERENTIAL_DUMP").is_some() {
                for (who, x) in [("Debian", &d[i]), ("ours", &o[i])] {
                    for f in &x.forwards {
                        eprintln!("{name} {who}: {:?}", f.decoded);
                    }
                }
            }
        }
        // AJP connections opened per vhost (e.g. 5 sequential requests with DisableReuse).
        let mut vhosts: Vec<&str> = Vec::new();
        for c in &cfg.cases {
            let v = c.name.split('/').next().unwrap_or_default();
            if !vhosts.contains(&v) {
                vhosts.push(v);
            }
        }
        for v in vhosts {
            let sum = |conns: &[usize]| -> usize {
                cfg.cases
                    .iter()
                    .zip(conns)
                    .filter(|(c, _)| c.name.starts_with(&format!("{v}/")))
                    .map(|(_, k)| *k)
                    .sum()
            };
            let name = format!("{n}:{v}/*");
            rep.requests.push((
                name.clone(),
                format!("    every request of vhost {v}.test, one after the other\n"),
            ));
            rep.check(
                &name,
                "ajp_connections_accepted_total",
                sum(&dconns).to_string(),
                sum(&oconns).to_string(),
            );
        }
        total += cfg.cases.len();
        all_logs.push_str(&format!("{dlogs}\n{ologs}\n"));
    }
    for (case, field, why) in &rep.intended {
        eprintln!("intended difference kept: {case}: {field}: {why}");
    }
    eprintln!(
        "differential (JkOptions): {total} requests compared, {} mismatches, {:.1}s",
        rep.mismatches.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(rep.mismatches.is_empty(), "{}\n{all_logs}", rep.text());
}
