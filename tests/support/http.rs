//! The tests' network side: free loopback ports, one HTTP/1.x client over a real socket (one
//! request per connection, read until the server closes) and the one response parser.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

/// A free TCP port on `addr` (a loopback address): bound, then released.
pub fn free_port_on(addr: &str) -> Result<u16, String> {
    TcpListener::bind((addr, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on {addr}: {e}"))
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    free_port_on("127.0.0.1").unwrap()
}

/// Whether nothing listens on `addr:port` (a bind succeeds).
pub fn port_is_free(addr: &str, port: u16) -> bool {
    TcpListener::bind((addr, port)).is_ok()
}

/// What one connection carried back.
pub struct Exchange {
    /// The client's source port (AJP_REMOTE_PORT on the way to the backend).
    pub client_port: u16,
    /// Everything the server sent until it closed.
    pub raw: Vec<u8>,
    /// A read error or timeout, after `raw`.
    pub problem: Option<String>,
}

/// Sends `request` byte for byte on a new connection to `addr:port` and reads until the server
/// closes (or `timeout` passes without data). A write error is ignored: the server may answer
/// (413, 400) and close before it read everything. Err: the connection failed.
pub fn send_raw(
    addr: &str,
    port: u16,
    request: &[u8],
    timeout: Duration,
) -> Result<Exchange, String> {
    let e = |e: std::io::Error| format!("{addr}:{port}: {e}");
    let mut s = TcpStream::connect((addr, port)).map_err(e)?;
    let client_port = s.local_addr().map_err(e)?.port();
    s.set_read_timeout(Some(timeout)).map_err(e)?;
    let _ = s.write_all(request);
    let _ = s.flush();
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let mut problem = None;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                problem = Some(format!("read error after {} bytes: {e}", raw.len()));
                break;
            }
        }
    }
    let _ = s.shutdown(Shutdown::Both);
    Ok(Exchange {
        client_port,
        raw,
        problem,
    })
}

/// An HTTP/1.0 request: `Host` unless `headers` has one, `Content-Length` with a body unless
/// `headers` has one.
pub fn request_bytes(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let has = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    let mut req = format!("{method} {path} HTTP/1.0\r\n");
    if !has("host") {
        req.push_str(&format!("Host: {host}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body.filter(|_| !has("content-length")) {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    bytes
}

/// One HTTP/1.0 request to `addr:port`, answered within 30 s; panics with the URL and why
/// not.
pub fn http_request_to(
    addr: &str,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    let req = request_bytes(&format!("{addr}:{port}"), method, path, headers, body);
    let answer =
        send_raw(addr, port, &req, Duration::from_secs(30)).and_then(|x| match x.problem {
            Some(p) => Err(p),
            None => parse_response(&x.raw),
        });
    answer.unwrap_or_else(|e| panic!("{method} http://{addr}:{port}{path}: {e}"))
}

/// One HTTP/1.0 request to 127.0.0.1:`port` (httpd).
pub fn http_request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    http_request_to("127.0.0.1", port, method, path, headers, None)
}

/// As [`http_request`] with a request body (and its Content-Length).
pub fn http_request_body(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    http_request_to("127.0.0.1", port, method, path, headers, Some(body))
}

#[derive(Debug, Clone)]
pub struct Response {
    /// The status lines of interim (1xx) responses before the final one, in order.
    pub interim: Vec<String>,
    pub status: u16,
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    /// Everything after the final head, as sent (see [`Response::decoded_body`]).
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers_named(name).next()
    }

    /// Every value of header `name` (any case), in order.
    pub fn headers_named<'s: 'n, 'n>(
        &'s self,
        name: &'n str,
    ) -> impl Iterator<Item = &'s str> + 'n {
        let named = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name));
        named.map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn is_chunked(&self) -> bool {
        self.headers_named("Transfer-Encoding")
            .any(|v| v.eq_ignore_ascii_case("chunked"))
    }

    /// The body without chunked framing; None when that framing is broken.
    pub fn decoded_body(&self) -> Option<Vec<u8>> {
        if self.is_chunked() {
            dechunk(&self.body)
        } else {
            Some(self.body.clone())
        }
    }
}

/// The status lines of the interim (1xx, not 101) heads an answer starts with, and the rest.
pub fn split_interim(raw: &[u8]) -> (Vec<String>, &[u8]) {
    let mut interim = Vec::new();
    let mut rest = raw;
    while let Some(end) = find(rest, b"\r\n\r\n") {
        let status_line = String::from_utf8_lossy(&rest[..end])
            .split("\r\n")
            .next()
            .unwrap_or_default()
            .to_string();
        match status_code(&status_line) {
            c if (100..200).contains(&c) && c != 101 => interim.push(status_line),
            _ => break,
        }
        rest = &rest[end + 4..];
    }
    (interim, rest)
}

fn status_code(status_line: &str) -> u16 {
    status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Parses a complete HTTP/1.x answer: interim heads ([`split_interim`]), then the final
/// head's headers (names as sent, values trimmed) and everything after it.
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let (interim, rest) = split_interim(raw);
    let end = find(rest, b"\r\n\r\n").ok_or_else(|| {
        format!(
            "no complete response head in {:?}",
            String::from_utf8_lossy(raw)
        )
    })?;
    let head = String::from_utf8_lossy(&rest[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        })
        .collect();
    Ok(Response {
        interim,
        status: status_code(&status_line),
        status_line,
        headers,
        body: rest[end + 4..].to_vec(),
    })
}

/// The data of a chunked body (extensions ignored, trailers dropped); None when the framing
/// is broken.
pub fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
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

/// The `JSESSIONID=…` pair a response sets, if any.
pub fn session_cookie(r: &Response) -> Option<String> {
    r.headers_named("Set-Cookie").find_map(|v| {
        v.split(';')
            .next()
            .filter(|c| c.starts_with("JSESSIONID="))
            .map(str::to_string)
    })
}

/// Where `needle` first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The last `max` bytes of a log text (at a character boundary), so failure messages stay
/// readable.
pub fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut cut = s.len() - max;
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    &s[cut..]
}
