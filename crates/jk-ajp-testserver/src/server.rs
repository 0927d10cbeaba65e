//! The TCP server: one acceptor thread, one thread per connection, shared recording state.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::wire::{self, ForwardRequest};

/// A canned reply for [`Behaviour::Respond`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status sent in SEND_HEADERS.
    pub status: u16,
    /// Reason phrase (Tomcat 8.5+ sends the numeric code, e.g. `"200"`).
    pub reason: String,
    /// Response headers, in order, sent as given (no Content-Length is added).
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
    /// Largest SEND_BODY_CHUNK data length (0 means the default 8184).
    pub chunk_size: usize,
    /// Send known response header names (§7.7) as 0xA0xx codes, like Tomcat.
    pub send_headers_coded: bool,
    /// Size requested in each GET_BODY_CHUNK while reading the request body (default 8186).
    pub max_chunk: u16,
}

impl Default for Response {
    /// `200 OK`, `Content-Type: text/plain`, `Content-Length: 3`, body `"OK\n"`.
    fn default() -> Self {
        Response::text(200, "OK", "OK\n")
    }
}

impl Response {
    /// A response with no headers and no body.
    pub fn new(status: u16, reason: &str) -> Response {
        Response {
            status,
            reason: reason.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            chunk_size: wire::DEFAULT_SEND_CHUNK,
            send_headers_coded: true,
            max_chunk: wire::DEFAULT_READ_CHUNK,
        }
    }

    /// A `text/plain` response with a Content-Length header.
    pub fn text(status: u16, reason: &str, body: &str) -> Response {
        Response::new(status, reason)
            .header("Content-Type", "text/plain")
            .header("Content-Length", &body.len().to_string())
            .body(body.as_bytes())
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body (headers are not touched).
    pub fn body(mut self, body: &[u8]) -> Response {
        self.body = body.to_vec();
        self
    }

    /// Sets the SEND_BODY_CHUNK size.
    pub fn chunk_size(mut self, n: usize) -> Response {
        self.chunk_size = n;
        self
    }

    /// Chooses coded (Tomcat) or string header names.
    pub fn coded(mut self, coded: bool) -> Response {
        self.send_headers_coded = coded;
        self
    }
}

/// What the server does with each FORWARD_REQUEST (and with CPINGs).
///
/// Unless stated otherwise the whole request body is read first (see [`Behaviour::Respond`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer like Tomcat: read the whole body (first packet arrives unsolicited when
    /// Content-Length > 0; then GET_BODY_CHUNK as needed, requesting `max_chunk` each time;
    /// without Content-Length GET_BODY_CHUNK until the empty packet), then SEND_HEADERS, the
    /// body in SEND_BODY_CHUNKs of at most `chunk_size` bytes (each with a trailing 0x00), then
    /// END_RESPONSE reuse=1.
    Respond(Response),
    /// 200 `OK`, `text/plain`, Content-Length; body = the request body, or when empty a
    /// listing: `method: M\nuri: U\nquery: Q\n` then one `header: Name: value\n` per header.
    Echo,
    /// 200 `OK`, `application/octet-stream`, Content-Length `bytes`, body [`pattern`]`(0, bytes)`
    /// in chunks of `chunk_size` (0 = 8184).
    Download {
        /// Body length.
        bytes: u64,
        /// SEND_BODY_CHUNK data size.
        chunk_size: usize,
    },
    /// Read the FORWARD_REQUEST (and the unsolicited first body packet when Content-Length > 0),
    /// then close without sending a byte.
    CloseImmediately,
    /// Read the body, send SEND_HEADERS (200 `OK`, `Content-Type: text/plain`), then close.
    CloseAfterHeaders,
    /// Read the body, send SEND_HEADERS (200, Content-Length = `after_bytes` + 8184), then
    /// `after_bytes` bytes of [`pattern`] in SEND_BODY_CHUNKs, then close.
    CloseMidBody {
        /// Body bytes sent before closing.
        after_bytes: usize,
    },
    /// Read the body, send 64 non-AJP bytes (starting `HTTP/1.1 200 OK`, so a bad magic), close.
    Garbage,
    /// Read the body, send a well-formed SEND_HEADERS packet whose length field is 65535
    /// (one `X-Padding` header fills it), then close.
    OversizedPacket,
    /// Read the body, send a normal SEND_HEADERS, then a SEND_BODY_CHUNK packet of payload
    /// length 8 whose inner length says 1000 (`41 42 00 08 03 03 E8 hello`), then close.
    BadLength,
    /// Read the body, send a packet of unknown type 0x7F (`41 42 00 01 7F`), then close.
    UnknownMessageType,
    /// Read the body, wait `millis`, then answer with `Response::default()`.
    Stall {
        /// Delay before answering.
        millis: u64,
    },
    /// `Response::default()` but END_RESPONSE reuse=0, then close.
    EndWithoutReuse,
    /// One behaviour per request, in turn (server-wide request order); the last one repeats.
    /// Nested sequences are flattened. An empty sequence means `Respond(Response::default())`.
    /// [`TestServer::set_behaviour`] restarts at the first element.
    Sequence(Vec<Behaviour>),
    /// Ignore CPINGs (no CPONG, connection kept); requests get `Response::default()`. In a
    /// sequence, CPINGs are ignored while the next request's behaviour is `RefuseCpong`.
    RefuseCpong,
    /// Like a Tomcat connector paused for shutdown (its AjpProcessor): read the FORWARD_REQUEST
    /// (and swallow the unsolicited first body packet), answer SEND_HEADERS 503 with reason
    /// `503` and no header, then END_RESPONSE reuse=0, and close; the request is never
    /// processed. A CPING is not answered: the connection is closed.
    Paused,
    /// Like a Tomcat that is stopping and read the request just before its connector paused:
    /// the application is already unavailable (503) or gone from the mapper (404 from the
    /// ROOT application), so an error page answers (SEND_HEADERS `status` with
    /// `Content-Type`, `Content-Language` and `Content-Length`, [`STOPPING_PAGE`],
    /// END_RESPONSE reuse=1), then the connection is closed (the paused connector processes
    /// no further request on it). A CPING is not answered: closed.
    Stopping {
        /// 503 or 404.
        status: u16,
    },
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour::Respond(Response::default())
    }
}

fn flatten(b: Behaviour) -> Behaviour {
    fn push(out: &mut Vec<Behaviour>, b: Behaviour) {
        match b {
            Behaviour::Sequence(v) => v.into_iter().for_each(|b| push(out, b)),
            other => out.push(other),
        }
    }
    match b {
        Behaviour::Sequence(v) => {
            let mut out = Vec::new();
            v.into_iter().for_each(|b| push(&mut out, b));
            Behaviour::Sequence(out)
        }
        other => other,
    }
}

/// The body of [`Behaviour::Stopping`]'s answer: an HTML error page (Tomcat's is its
/// ErrorReportValve's).
pub const STOPPING_PAGE: &str = "<!doctype html><html><head><title>Error</title></head><body><h1>Error</h1><p>The test server plays a Tomcat whose application is stopping.</p></body></html>";

/// The repeating body pattern used by `Download` and `CloseMidBody`: byte `i` of the body is
/// `pattern_byte(i)`, a printable character with period 61 (a prime, so a lost or repeated
/// 8184-byte chunk shows).
pub fn pattern_byte(i: u64) -> u8 {
    const ALPHABET: &[u8; 61] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY";
    ALPHABET[(i % 61) as usize]
}

/// `len` pattern bytes starting at body offset `offset`.
pub fn pattern(offset: u64, len: usize) -> Vec<u8> {
    (offset..offset + len as u64).map(pattern_byte).collect()
}

/// One FORWARD_REQUEST as received, with its body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordedRequest {
    /// The FORWARD_REQUEST payload bytes (after the 4-byte header).
    pub raw: Vec<u8>,
    /// `raw` decoded (default-valued when decoding failed, see `decode_error`).
    pub decoded: ForwardRequest,
    /// Why `raw` did not decode; the server closes the connection after such a request.
    pub decode_error: Option<String>,
    /// Concatenated request body data.
    pub body: Vec<u8>,
    /// Each body packet payload as received (after the 4-byte header, including the u16
    /// length; the end-of-body packet is an empty vector).
    pub body_packets: Vec<Vec<u8>>,
    /// Whether the body was read to its end (Content-Length reached or the empty packet);
    /// false when the peer closed or for `CloseImmediately`.
    pub body_complete: bool,
    /// CPINGs received on this connection since the previous request (or since connect).
    pub cpings_before: usize,
    /// Connection number, 1 for the first accepted connection.
    pub connection_id: usize,
}

#[derive(Default)]
struct State {
    behaviour: Behaviour,
    seq_index: usize,
    requests: Vec<RecordedRequest>,
    connections_accepted: usize,
    cpings: usize,
    open: Vec<(usize, TcpStream)>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The behaviour for the next request, advancing a sequence.
    fn next_behaviour(&self) -> Behaviour {
        let mut st = self.lock();
        match &st.behaviour {
            Behaviour::Sequence(v) => {
                let b = v.get(st.seq_index.min(v.len().saturating_sub(1))).cloned();
                st.seq_index += 1;
                b.unwrap_or_default()
            }
            other => other.clone(),
        }
    }

    /// What a CPING gets now (does not advance a sequence).
    fn cping_answer(&self) -> CpingAnswer {
        let st = self.lock();
        let current = match &st.behaviour {
            Behaviour::Sequence(v) => v.get(st.seq_index.min(v.len().saturating_sub(1))),
            other => Some(other),
        };
        match current {
            Some(Behaviour::RefuseCpong) => CpingAnswer::Ignore,
            Some(Behaviour::Paused | Behaviour::Stopping { .. }) => CpingAnswer::Close,
            _ => CpingAnswer::Cpong,
        }
    }

    fn record(&self, req: RecordedRequest) {
        self.lock().requests.push(req);
        self.changed.notify_all();
    }

    /// Sleeps up to `d`, returning early (false) when the server stops.
    fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.stopped() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            thread::sleep((end - now).min(Duration::from_millis(10)));
        }
    }
}

/// A fake AJP13 container on a real TCP socket. Dropping it stops the acceptor, closes the
/// listener and every open connection, and joins all threads.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Binds `addr` (e.g. `"127.0.0.1:0"`) and starts serving with `behaviour`.
    pub fn start(addr: &str, behaviour: Behaviour) -> io::Result<TestServer> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                behaviour: flatten(behaviour),
                ..State::default()
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let sh = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name(format!("ajp-test-accept-{}", addr.port()))
            .spawn(move || accept_loop(&sh, &listener))?;
        Ok(TestServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Replaces the behaviour; applies from the next request (a sequence starts over).
    pub fn set_behaviour(&self, b: Behaviour) {
        let mut st = self.shared.lock();
        st.behaviour = flatten(b);
        st.seq_index = 0;
    }

    /// Every request recorded so far (and not taken), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Removes and returns the recorded requests.
    pub fn take_requests(&self) -> Vec<RecordedRequest> {
        std::mem::take(&mut self.shared.lock().requests)
    }

    /// Number of TCP connections accepted so far.
    pub fn connections_accepted(&self) -> usize {
        self.shared.lock().connections_accepted
    }

    /// Number of connections currently open (not yet closed by either side, as far as the
    /// server has noticed).
    pub fn connections_open(&self) -> usize {
        self.shared.lock().open.len()
    }

    /// Total CPINGs received on all connections (answered or not).
    pub fn cpings_received(&self) -> usize {
        self.shared.lock().cpings
    }

    /// Waits until at least `n` requests are held (as [`requests`](Self::requests) counts
    /// them); false on timeout. A request is recorded once its body has been read, before the
    /// reply is sent.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if st.requests.len() >= n {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = match self.shared.changed.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        let threads = {
            let mut st = self.shared.lock();
            for (_, s) in &st.open {
                let _ = s.shutdown(Shutdown::Both);
            }
            std::mem::take(&mut st.threads)
        };
        for t in threads {
            let _ = t.join();
        }
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    while !shared.stopped() {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(e) = spawn_connection(shared, stream) {
                    eprintln!("ajp-test-server: cannot start connection thread: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn spawn_connection(shared: &Arc<Shared>, stream: TcpStream) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    let tracked = stream.try_clone()?;
    let mut st = shared.lock();
    st.connections_accepted += 1;
    let id = st.connections_accepted;
    st.open.push((id, tracked));
    let sh = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name(format!("ajp-test-conn-{id}"))
        .spawn(move || {
            let mut conn = Connection {
                shared: &sh,
                stream,
                id,
                cpings: 0,
            };
            let _ = conn.serve();
            sh.lock().open.retain(|(i, _)| *i != id);
        });
    match spawned {
        Ok(handle) => {
            st.threads.retain(|h| !h.is_finished());
            st.threads.push(handle);
            Ok(())
        }
        Err(e) => {
            st.open.retain(|(i, _)| *i != id);
            Err(e)
        }
    }
}

/// Reads exactly `buf.len()` bytes; Ok(false) on EOF before the first byte.
fn read_full(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Reads one web server → container packet; None on a clean EOF between packets.
fn read_packet(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut head = [0u8; 4];
    if !read_full(stream, &mut head)? {
        return Ok(None);
    }
    if head[..2] != wire::MAGIC_FROM_WEB_SERVER {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad magic {:02x}{:02x}", head[0], head[1]),
        ));
    }
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes([head[2], head[3]]))];
    if !read_full(stream, &mut payload)? && !payload.is_empty() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(payload))
}

struct Connection<'a> {
    shared: &'a Shared,
    stream: TcpStream,
    id: usize,
    cpings: usize,
}

/// The outcome of reading a request body.
struct Body {
    data: Vec<u8>,
    packets: Vec<Vec<u8>>,
    complete: bool,
}

enum Next {
    KeepAlive,
    Close,
}

enum CpingAnswer {
    Cpong,
    Ignore,
    Close,
}

impl Connection<'_> {
    fn serve(&mut self) -> io::Result<()> {
        while let Some(payload) = read_packet(&mut self.stream)? {
            match payload.first().copied() {
                Some(wire::CPING) if payload.len() == 1 => {
                    self.cpings += 1;
                    self.shared.lock().cpings += 1;
                    match self.shared.cping_answer() {
                        CpingAnswer::Cpong => self.stream.write_all(&wire::CPONG_PACKET)?,
                        CpingAnswer::Ignore => {}
                        CpingAnswer::Close => return self.close_gracefully(),
                    }
                }
                Some(wire::FORWARD_REQUEST) => {
                    if let Next::Close = self.request(payload)? {
                        return self.close_gracefully();
                    }
                }
                // Stray body packets, SHUTDOWN, PING, …: ignored.
                _ => {}
            }
            if self.shared.stopped() {
                break;
            }
        }
        Ok(())
    }

    fn request(&mut self, raw: Vec<u8>) -> io::Result<Next> {
        let cpings_before = std::mem::take(&mut self.cpings);
        let (decoded, decode_error) = match wire::decode_forward_request(&raw) {
            Ok(d) => (d, None),
            Err(e) => (ForwardRequest::default(), Some(e.to_string())),
        };
        let mut rec = RecordedRequest {
            raw,
            decoded,
            decode_error,
            cpings_before,
            connection_id: self.id,
            ..RecordedRequest::default()
        };
        if rec.decode_error.is_some() {
            self.shared.record(rec);
            return Ok(Next::Close);
        }
        let behaviour = self.shared.next_behaviour();
        let max_chunk = match &behaviour {
            Behaviour::Respond(r) => r.max_chunk,
            _ => wire::DEFAULT_READ_CHUNK,
        };
        let only_first = matches!(behaviour, Behaviour::CloseImmediately | Behaviour::Paused);
        let body = self.read_body(&rec.decoded, max_chunk, only_first);
        let (body, read_err) = match body {
            Ok(b) => (b, None),
            Err((b, e)) => (b, Some(e)),
        };
        rec.body = body.data;
        rec.body_packets = body.packets;
        rec.body_complete = body.complete;
        let echo_body = (behaviour == Behaviour::Echo).then(|| echo_body(&rec));
        self.shared.record(rec);
        if let Some(e) = read_err {
            return Err(e);
        }
        self.respond(behaviour, echo_body)
    }

    /// Reads the request body; on error returns what was received with the error.
    fn read_body(
        &mut self,
        req: &ForwardRequest,
        max_chunk: u16,
        only_first: bool,
    ) -> Result<Body, (Body, io::Error)> {
        let mut body = Body {
            data: Vec::new(),
            packets: Vec::new(),
            complete: false,
        };
        let content_length = if req.header("content-length").is_some() {
            match req.content_length() {
                Some(n) => Some(n),
                // An unparsable Content-Length: treat like Tomcat would not; read nothing.
                None => Some(0),
            }
        } else {
            None
        };
        if content_length == Some(0) {
            body.complete = true;
            return Ok(body);
        }
        if only_first && content_length.is_none() {
            return Ok(body);
        }
        let mut first = content_length.is_some();
        loop {
            if !first {
                if let Err(e) = self
                    .stream
                    .write_all(&wire::get_body_chunk_packet(max_chunk))
                {
                    return Err((body, e));
                }
            }
            first = false;
            let payload = match read_packet(&mut self.stream) {
                Ok(Some(p)) => p,
                Ok(None) => return Err((body, io::ErrorKind::UnexpectedEof.into())),
                Err(e) => return Err((body, e)),
            };
            let data: &[u8] = match payload.get(..2) {
                Some(n) => {
                    let n = usize::from(u16::from_be_bytes([n[0], n[1]]));
                    &payload[2..payload.len().min(2 + n)]
                }
                None => &[],
            };
            let end = data.is_empty();
            body.data.extend_from_slice(data);
            body.packets.push(payload);
            if end {
                body.complete = true;
                return Ok(body);
            }
            if let Some(cl) = content_length {
                if body.data.len() as u64 >= cl {
                    body.complete = true;
                    return Ok(body);
                }
            }
            if only_first {
                return Ok(body);
            }
        }
    }

    fn respond(&mut self, behaviour: Behaviour, echo: Option<Vec<u8>>) -> io::Result<Next> {
        let mut out = Vec::new();
        match behaviour {
            Behaviour::Respond(r) => {
                self.write_response(&r, &mut out)?;
                out.extend(wire::end_response_packet(true));
            }
            Behaviour::Echo => {
                let body = echo.unwrap_or_default();
                let r = Response::new(200, "OK")
                    .header("Content-Type", "text/plain")
                    .header("Content-Length", &body.len().to_string())
                    .body(&body);
                self.write_response(&r, &mut out)?;
                out.extend(wire::end_response_packet(true));
            }
            Behaviour::Download { bytes, chunk_size } => {
                let headers = vec![
                    (
                        "Content-Type".to_owned(),
                        "application/octet-stream".to_owned(),
                    ),
                    ("Content-Length".to_owned(), bytes.to_string()),
                ];
                out.extend(wire::send_headers_packet(200, "OK", &headers, true));
                self.write_pattern(bytes, chunk_size, &mut out)?;
                out.extend(wire::end_response_packet(true));
            }
            Behaviour::CloseImmediately => return Ok(Next::Close),
            Behaviour::CloseAfterHeaders => {
                let h = vec![("Content-Type".to_owned(), "text/plain".to_owned())];
                out.extend(wire::send_headers_packet(200, "OK", &h, true));
                self.stream.write_all(&out)?;
                return Ok(Next::Close);
            }
            Behaviour::CloseMidBody { after_bytes } => {
                let total = after_bytes + wire::DEFAULT_SEND_CHUNK;
                let headers = vec![
                    (
                        "Content-Type".to_owned(),
                        "application/octet-stream".to_owned(),
                    ),
                    ("Content-Length".to_owned(), total.to_string()),
                ];
                out.extend(wire::send_headers_packet(200, "OK", &headers, true));
                self.write_pattern(after_bytes as u64, 0, &mut out)?;
                self.stream.write_all(&out)?;
                return Ok(Next::Close);
            }
            Behaviour::Garbage => {
                let mut g = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
                let mut x: u32 = 0x9E37_79B9;
                while g.len() < 64 {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    g.push((x >> 24) as u8);
                }
                self.stream.write_all(&g)?;
                return Ok(Next::Close);
            }
            Behaviour::OversizedPacket => {
                // payload: 1 type + 2 status + (2 + 2 + 1) reason + 2 count
                //          + (2 + 9 + 1) name + (2 + pad + 1) value = 25 + pad = 65535
                let h = vec![("X-Padding".to_owned(), "x".repeat(65535 - 25))];
                let p = wire::send_headers_packet(200, "OK", &h, true);
                self.stream.write_all(&p)?;
                return Ok(Next::Close);
            }
            Behaviour::BadLength => {
                let h = vec![("Content-Type".to_owned(), "text/plain".to_owned())];
                out.extend(wire::send_headers_packet(200, "OK", &h, true));
                out.extend_from_slice(&[0x41, 0x42, 0x00, 0x08, 0x03, 0x03, 0xE8]);
                out.extend_from_slice(b"hello");
                self.stream.write_all(&out)?;
                return Ok(Next::Close);
            }
            Behaviour::UnknownMessageType => {
                self.stream.write_all(&[0x41, 0x42, 0x00, 0x01, 0x7F])?;
                return Ok(Next::Close);
            }
            Behaviour::Stall { millis } => {
                if !self.shared.sleep(Duration::from_millis(millis)) {
                    return Ok(Next::Close);
                }
                self.write_response(&Response::default(), &mut out)?;
                out.extend(wire::end_response_packet(true));
            }
            Behaviour::EndWithoutReuse => {
                self.write_response(&Response::default(), &mut out)?;
                out.extend(wire::end_response_packet(false));
                self.stream.write_all(&out)?;
                return Ok(Next::Close);
            }
            Behaviour::Paused => {
                out.extend(wire::send_headers_packet(503, "503", &[], true));
                out.extend(wire::end_response_packet(false));
                self.stream.write_all(&out)?;
                return Ok(Next::Close);
            }
            Behaviour::Stopping { status } => {
                let page = STOPPING_PAGE.as_bytes();
                let reason = if status == 404 {
                    "Not Found"
                } else {
                    "Service Unavailable"
                };
                let r = Response::new(status, reason)
                    .header("Content-Type", "text/html;charset=utf-8")
                    .header("Content-Language", "en")
                    .header("Content-Length", &page.len().to_string())
                    .body(page);
                self.write_response(&r, &mut out)?;
                out.extend(wire::end_response_packet(true));
                self.stream.write_all(&out)?;
                return Ok(Next::Close);
            }
            Behaviour::RefuseCpong | Behaviour::Sequence(_) => {
                // A sequence is resolved to one of its (flattened) elements before this point;
                // an empty one falls back to the default like RefuseCpong does.
                self.write_response(&Response::default(), &mut out)?;
                out.extend(wire::end_response_packet(true));
            }
        }
        self.stream.write_all(&out)?;
        Ok(Next::KeepAlive)
    }

    /// Appends SEND_HEADERS and the body chunks of `r` to `out` (flushing large bodies).
    fn write_response(&mut self, r: &Response, out: &mut Vec<u8>) -> io::Result<()> {
        out.extend(wire::send_headers_packet(
            r.status,
            &r.reason,
            &r.headers,
            r.send_headers_coded,
        ));
        for chunk in r.body.chunks(chunk_size(r.chunk_size)) {
            out.extend(wire::send_body_chunk_packet(chunk));
            self.flush_if_big(out)?;
        }
        Ok(())
    }

    fn write_pattern(&mut self, bytes: u64, chunk: usize, out: &mut Vec<u8>) -> io::Result<()> {
        let chunk = chunk_size(chunk) as u64;
        let mut off = 0u64;
        while off < bytes {
            let n = chunk.min(bytes - off);
            out.extend(wire::send_body_chunk_packet(&pattern(off, n as usize)));
            off += n;
            self.flush_if_big(out)?;
            if self.shared.stopped() {
                return Err(io::ErrorKind::Interrupted.into());
            }
        }
        Ok(())
    }

    fn flush_if_big(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        if out.len() >= 64 * 1024 {
            self.stream.write_all(out)?;
            out.clear();
        }
        Ok(())
    }

    /// Sends FIN, then drains what the peer still sends (so the close is not turned into a
    /// reset) until it closes, 1 s passes or the server stops.
    fn close_gracefully(&mut self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)?;
        self.stream
            .set_read_timeout(Some(Duration::from_millis(50)))?;
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut sink = [0u8; 4096];
        while Instant::now() < deadline && !self.shared.stopped() {
            match self.stream.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => break,
            }
        }
        Ok(())
    }
}

fn chunk_size(n: usize) -> usize {
    match n {
        0 => wire::DEFAULT_SEND_CHUNK,
        n => n.min(0xFFFF - 4),
    }
}

fn echo_body(rec: &RecordedRequest) -> Vec<u8> {
    if !rec.body.is_empty() {
        return rec.body.clone();
    }
    let d = &rec.decoded;
    let mut s = format!(
        "method: {}\nuri: {}\nquery: {}\n",
        d.method,
        d.uri,
        d.query().unwrap_or("")
    );
    for (name, value) in &d.headers {
        s.push_str(&format!("header: {name}: {value}\n"));
    }
    s.into_bytes()
}
