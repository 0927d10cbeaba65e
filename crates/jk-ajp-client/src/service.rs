//! One request through one endpoint: acquire a connection, send, stream the body both ways,
//! classify what went wrong, retry when nothing irreversible has happened yet.

use std::io;
use std::time::Duration;

use jk_ajp::Reply;

use crate::config::{recovery, EndpointConfig};
use crate::conn::{Conn, PingAnswer, ReadError};
use crate::error::{ErrorKind, ServiceError};
use crate::meter::{ConnectionCounter, Traffic};
use crate::pool::{Pool, PoolStats, Slot};

/// The HTTP side of one request, implemented by the httpd glue.
pub trait Peer {
    /// Reads request body bytes; Ok(0) at the end of the body.
    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Sets status, reason (may be empty: the web server picks its own phrase) and headers,
    /// as the backend sent them (bytes: no re-encoding on the way to the client).
    fn start_response(
        &mut self,
        status: u16,
        reason: &[u8],
        headers: &[(&[u8], &[u8])],
    ) -> io::Result<()>;
    /// Writes response body bytes.
    fn write_body(&mut self, data: &[u8]) -> io::Result<()>;
    /// Pushes what was written so far to the client.
    fn flush(&mut self) -> io::Result<()>;
    /// Whether what was written may be on its way to the client. A peer that holds back the
    /// start of the body (and can still discard it) answers false until it passed something
    /// on: a failure until then stays recoverable by the caller (the load balancer), which
    /// discards the partial answer before another member's.
    fn output_committed(&self) -> bool {
        true
    }
}

/// The request body the client announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body (Content-Length 0 or none, not chunked).
    None,
    /// Content-Length bytes.
    Length(u64),
    /// Chunked (or Content-Length ignored): read until the end.
    Chunked,
}

/// What the glue hands over for one request.
pub struct ServiceRequest<'a> {
    /// The encoded FORWARD_REQUEST packet (header included).
    pub packet: &'a [u8],
    /// HEAD: body chunks are read from the backend but not written.
    pub is_head: bool,
    /// GET (for recovery_options 16).
    pub is_get: bool,
    /// Per-request reply timeout (mount extension or JK_REPLY_TIMEOUT): Some(None) = wait
    /// forever; None = the worker's.
    pub reply_timeout: Option<Option<Duration>>,
    /// Per-mount fail_on_status replacing the worker's.
    pub fail_on_status: Option<&'a [i32]>,
    /// JkOptions +FlushPackets.
    pub flush_packets: bool,
    /// JkOptions +FlushHeader.
    pub flush_header: bool,
    /// JkOptions +DisableReuse: close the connection after this request.
    pub disable_reuse: bool,
    /// mod_jk-rs: hold back a 503 or 404 answer (status, headers and up to
    /// [`HELD_ANSWER_BODY`] bytes of body) until it ends; when the backend then closes the
    /// connection instead of answering a CPING, the answer came from a Tomcat that was
    /// stopping (its connector paused, the application already unavailable: 503, or already
    /// gone from its mapper: 404 from the ROOT application) and the try fails as
    /// `BackendPaused`, so the load balancer holds the request for the member and sends it
    /// again. Set by the load balancer for GET and HEAD when hold is on; mod_jk passes such
    /// an answer to the client.
    pub check_for_stop: bool,
}

/// The statuses a Tomcat that is stopping answers a request it read just before its
/// connector paused: 503 (the application is unavailable) and 404 (the application is gone
/// from the mapper, the request fell to the ROOT application).
const STOPPING_STATUSES: [u16; 2] = [503, 404];

/// The most body bytes of an answer held back for [`ServiceRequest::check_for_stop`]
/// (Tomcat's error page is well under 2 KiB); a longer answer is passed on as it comes.
pub const HELD_ANSWER_BODY: usize = 16 * 1024;

/// The longest wait for the CPONG that tells a stopping Tomcat's answer from an ordinary one.
const STOP_CHECK_WAIT: Duration = Duration::from_secs(2);

/// An answer held back until what follows it tells whether the backend was stopping.
struct HeldAnswer {
    status: u16,
    reason: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    /// Held for [`ServiceRequest::check_for_stop`] (to the end of the answer), not only for
    /// the paused connector's 503 with no header (to the next packet).
    to_end: bool,
}

impl HeldAnswer {
    /// Passes the held answer on to the peer.
    fn release(self, peer: &mut dyn Peer, is_head: bool) -> io::Result<()> {
        let hs: Vec<(&[u8], &[u8])> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
            .collect();
        peer.start_response(self.status, &self.reason, &hs)?;
        if !self.body.is_empty() && !is_head {
            peer.write_body(&self.body)?;
        }
        Ok(())
    }
}

/// What a served request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponseSummary {
    /// The backend's status.
    pub status: u16,
    /// Response body bytes received from the backend.
    pub body_bytes: u64,
    /// Request body bytes read from the client.
    pub read_bytes: u64,
    /// Connection attempts used (1 = first try).
    pub attempts: u32,
    /// AJP bytes sent to and received from the backend, over all attempts.
    pub ajp: Traffic,
    /// From sending the forward request (of the attempt that answered) to the end of the
    /// reply (END_RESPONSE): the latency histograms' reply time.
    pub reply_time: std::time::Duration,
}

/// One ajp13 worker in one httpd child.
pub struct Endpoint {
    /// Replaced whole when the status worker changes a setting at runtime.
    cfg: parking_lot::RwLock<std::sync::Arc<EndpointConfig>>,
    /// Bumped after every replacement of `cfg`: a request works from one snapshot of the
    /// settings and, by a plain load of this word, knows whether it is still current.
    edits: std::sync::atomic::AtomicU64,
    pool: Pool,
    /// Counts the connections this endpoint opens (set once by the runtime).
    counter: std::sync::OnceLock<std::sync::Arc<dyn ConnectionCounter>>,
}

/// The request body of one request, across attempts and (in a load balancer) across
/// members: it keeps the first body packet so the request can be replayed elsewhere as long
/// as no more than that packet was read from the client.
pub struct RequestBody {
    kind: Body,
    /// Content-Length bytes not yet read from the client.
    remaining: u64,
    /// The chunked body ended.
    ended: bool,
    /// The first body packet, kept to replay it on a retry.
    first_packet: Option<Vec<u8>>,
    /// Body packets after the first, kept while their total stays within `replay_limit`.
    kept: Vec<Vec<u8>>,
    kept_bytes: usize,
    /// Bytes of body (after the first packet) that may be kept for a replay.
    replay_limit: usize,
    /// More than the first packet was read: the request cannot be replayed any more.
    streamed: bool,
    read_bytes: u64,
}

enum Attempt {
    Done(ResponseSummary),
    /// Retry on a fresh connection without counting an attempt (stale pooled connection).
    Stale,
    Failed(ServiceError),
}

impl RequestBody {
    /// The body the client announced.
    pub fn new(kind: Body) -> RequestBody {
        RequestBody {
            kind,
            remaining: match kind {
                Body::Length(n) => n,
                _ => 0,
            },
            ended: matches!(kind, Body::None),
            first_packet: None,
            kept: Vec::new(),
            kept_bytes: 0,
            replay_limit: 0,
            streamed: false,
            read_bytes: 0,
        }
    }

    /// Keeps up to `bytes` of body beyond the first packet so the request can still be
    /// replayed elsewhere (mod_jk keeps only the first packet: 0).
    pub fn with_replay_limit(mut self, bytes: usize) -> RequestBody {
        self.replay_limit = bytes;
        self
    }

    /// True while the request can still be sent again (to another member).
    pub fn replayable(&self) -> bool {
        !self.streamed
    }

    /// Bytes read from the client so far.
    pub fn read_bytes(&self) -> u64 {
        self.read_bytes
    }
}

impl Endpoint {
    pub fn new(cfg: EndpointConfig) -> Endpoint {
        let pool = Pool::new(cfg.pool_size);
        Endpoint {
            cfg: parking_lot::RwLock::new(std::sync::Arc::new(cfg)),
            edits: std::sync::atomic::AtomicU64::new(0),
            pool,
            counter: std::sync::OnceLock::new(),
        }
    }

    /// Reports every connection this endpoint opens from now on to `counter` (and its close).
    /// Only the first counter set is kept.
    pub fn set_connection_counter(&self, counter: std::sync::Arc<dyn ConnectionCounter>) {
        let _ = self.counter.set(counter);
    }

    /// The current settings.
    pub fn config(&self) -> std::sync::Arc<EndpointConfig> {
        self.cfg.read().clone()
    }

    /// Changes settings at runtime (status worker edits). A new address closes the idle
    /// connections to the old one; the pool size stays as configured.
    pub fn update_config(&self, f: impl FnOnce(&mut EndpointConfig)) {
        let mut next = (*self.config()).clone();
        let old_addr = next.addr;
        f(&mut next);
        next.pool_size = self.pool.stats().size;
        let moved = next.addr != old_addr;
        *self.cfg.write() = std::sync::Arc::new(next);
        self.edits.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if moved {
            self.pool.clear_idle();
        }
    }

    /// Gives a connection's pool slot back and keeps the connection for reuse, unless the
    /// endpoint moved to another address while it was in use (then it is closed: a request
    /// after a `vahst`/`vaprt` edit must never reach the old address through the pool).
    ///
    /// `cfg` is the snapshot the request worked from, taken when `edits` was `seen`; when an
    /// edit happened since, the address is read again.
    fn keep(&self, cfg: &EndpointConfig, seen: u64, slot: Slot<'_>, conn: Conn) {
        let addr = if self.edits.load(std::sync::atomic::Ordering::Acquire) == seen {
            cfg.addr
        } else {
            self.config().addr
        };
        if addr == Some(conn.addr) {
            slot.release(Some(conn));
        } else {
            conn.shutdown();
            slot.release(None);
        }
    }

    /// [`keep`](Endpoint::keep) outside a request: against the settings now.
    fn keep_now(&self, slot: Slot<'_>, conn: Conn) {
        let seen = self.edits.load(std::sync::atomic::Ordering::Acquire);
        self.keep(&self.config(), seen, slot, conn);
    }

    pub fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    fn err(&self, kind: ErrorKind, recoverable: bool, what: &str) -> ServiceError {
        let addr = self
            .config()
            .addr
            .map(|a| a.to_string())
            .unwrap_or_else(|| "(disabled)".into());
        ServiceError::new(
            kind,
            recoverable,
            format!("({}) {addr}: {what}", self.config().name),
        )
    }

    /// Serves one request (reference §7.6–7.8, §8.3).
    ///
    /// `body` carries the request body across calls: a load balancer passes the same one to
    /// the next member after a recoverable failure, and the first packet is replayed.
    ///
    /// The AJP bytes of the request (all attempts) come back in [`ResponseSummary::ajp`] or
    /// [`ServiceError::traffic`]: mod_jk counts them whatever the outcome.
    pub fn service(
        &self,
        req: &ServiceRequest<'_>,
        body: &mut RequestBody,
        peer: &mut dyn Peer,
    ) -> Result<ResponseSummary, ServiceError> {
        let mut t = Traffic::default();
        match self.service_counted(req, body, peer, &mut t) {
            Ok(mut s) => {
                s.ajp = t;
                Ok(s)
            }
            Err(mut e) => {
                e.traffic = t;
                Err(e)
            }
        }
    }

    fn service_counted(
        &self,
        req: &ServiceRequest<'_>,
        body: &mut RequestBody,
        peer: &mut dyn Peer,
        t: &mut Traffic,
    ) -> Result<ResponseSummary, ServiceError> {
        // One snapshot of the settings for the whole request: every `config()` is a read lock
        // and a reference count on words that all of this child's threads write (issue 17).
        let seen = self.edits.load(std::sync::atomic::Ordering::Acquire);
        let cfg = self.config();
        let cfg = &*cfg;
        let Some(addr) = cfg.addr else {
            return Err(self.err(
                ErrorKind::Disabled,
                true,
                "contact disabled (port 0 or unresolvable host)",
            ));
        };
        let max = cfg.max_packet_size;
        // mod_jk sends the first body packet right after the forward request when the
        // client announced a Content-Length.
        if let Body::Length(n) = body.kind {
            if n > 0 && body.first_packet.is_none() && body.read_bytes == 0 {
                let data = self.read_client(peer, body, max - 6)?;
                body.first_packet = Some(encode_chunk(&data, max)?);
            }
        }
        if !body.replayable() {
            return Err(self.err(
                ErrorKind::Send,
                false,
                "the request body was already streamed to another backend; it cannot be replayed",
            ));
        }
        let retries = cfg.retries.max(1);
        let mut last: Option<ServiceError> = None;
        let mut attempt = 0;
        let mut stale_retries = 0;
        while attempt < retries {
            if attempt > 0 && !cfg.retry_interval.is_zero() {
                std::thread::sleep(cfg.retry_interval);
            }
            attempt += 1;
            let Some(mut slot) = self.pool.acquire(cfg.acquire_timeout) else {
                last = Some(self.err(
                    ErrorKind::NoConnection,
                    true,
                    "Unable to get the free endpoint",
                ));
                continue;
            };
            let (conn, reused) = match slot.conn.take() {
                Some(mut c) => {
                    let alive =
                        c.is_alive() && cfg.ping.prepost.is_none_or(|wait| c.cping(wait, max, t));
                    if alive {
                        (c, true)
                    } else {
                        c.shutdown();
                        match self.open(addr, t) {
                            Ok(c) => (c, false),
                            Err(e) => {
                                slot.release(None);
                                last = Some(e);
                                continue;
                            }
                        }
                    }
                }
                None => match self.open(addr, t) {
                    Ok(c) => (c, false),
                    Err(e) => {
                        slot.release(None);
                        last = Some(e);
                        continue;
                    }
                },
            };
            let sent_at = std::time::Instant::now();
            match self.exchange((cfg, seen), slot, conn, reused, req, body, peer, t) {
                Attempt::Done(mut s) => {
                    s.reply_time = sent_at.elapsed();
                    s.attempts = attempt;
                    s.read_bytes = body.read_bytes;
                    return Ok(s);
                }
                Attempt::Stale if stale_retries < cfg.pool_size + 1 => {
                    // A pooled connection the backend had closed: not the request's fault.
                    stale_retries += 1;
                    attempt -= 1;
                }
                Attempt::Stale => {
                    last = Some(self.err(
                        ErrorKind::Send,
                        true,
                        "connections keep failing before any reply",
                    ));
                }
                Attempt::Failed(e) => {
                    // A paused connector stays paused until its Tomcat stops: asking it again
                    // only delays the failover (or the hold) the caller will do.
                    // Nor after headers reached the peer: only the caller (the load balancer)
                    // can discard them before another try.
                    if !e.recoverable || e.kind == ErrorKind::BackendPaused || e.after_headers {
                        return Err(e);
                    }
                    last = Some(e);
                }
            }
            if body.streamed {
                break;
            }
        }
        Err(last.unwrap_or_else(|| self.err(ErrorKind::Connect, true, "no attempt made")))
    }

    /// Connects (and CPings when ping mode C is on, counted in `t`). Errors are Connect class.
    fn open(&self, addr: std::net::SocketAddr, t: &mut Traffic) -> Result<Conn, ServiceError> {
        self.open_within(addr, t, None)
    }

    /// As [`Service::open`], the connect bounded by `limit` too (the shorter of it and
    /// `socket_connect_timeout`; without either a connect waits as long as the kernel retries
    /// its SYNs, about two minutes, for an address where nothing answers at all).
    fn open_within(
        &self,
        addr: std::net::SocketAddr,
        t: &mut Traffic,
        limit: Option<Duration>,
    ) -> Result<Conn, ServiceError> {
        let mut cfg = self.config();
        if let Some(limit) = limit {
            let bounded = match cfg.connect_timeout {
                Some(c) if !c.is_zero() => c.min(limit),
                _ => limit,
            };
            if cfg.connect_timeout != Some(bounded) {
                let mut c = (*cfg).clone();
                c.connect_timeout = Some(bounded);
                cfg = std::sync::Arc::new(c);
            }
        }
        let mut c = Conn::connect(&cfg, addr, self.counter.get()).map_err(|e| {
            self.err(
                ErrorKind::Connect,
                true,
                &format!(
                    "connecting to backend failed. Tomcat is probably not started or is listening on the wrong port (errno={}: {e})",
                    e.raw_os_error().unwrap_or(0)
                ),
            )
        })?;
        if let Some(wait) = self.config().ping.connect {
            if !c.cping(wait, self.config().max_packet_size, t) {
                c.shutdown();
                return Err(self.err(
                    ErrorKind::Connect,
                    true,
                    "no CPONG after connect within the timeout",
                ));
            }
        }
        Ok(c)
    }

    /// Reads up to `limit` bytes of request body (respecting Content-Length) from the client.
    fn read_client(
        &self,
        peer: &mut dyn Peer,
        body: &mut RequestBody,
        limit: usize,
    ) -> Result<Vec<u8>, ServiceError> {
        let want = match body.kind {
            Body::None => 0,
            Body::Length(_) => (body.remaining.min(limit as u64)) as usize,
            Body::Chunked if body.ended => 0,
            Body::Chunked => limit,
        };
        let mut data = vec![0u8; want];
        let mut got = 0;
        // For chunked bodies mod_jk collects at least (limit - 12) bytes or the end.
        let enough = match body.kind {
            Body::Chunked => limit.saturating_sub(12).max(1),
            _ => want,
        };
        while got < want && got < enough {
            match peer.read_body(&mut data[got..]) {
                Ok(0) => {
                    if let Body::Length(_) = body.kind {
                        return Err(self.err(
                            ErrorKind::ClientRead,
                            false,
                            "the client closed before sending the announced request body",
                        ));
                    }
                    body.ended = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) => {
                    return Err(self.err(
                        ErrorKind::ClientRead,
                        false,
                        &format!("reading the request body failed: {e}"),
                    ))
                }
            }
        }
        data.truncate(got);
        if let Body::Length(_) = body.kind {
            body.remaining -= got as u64;
            if body.remaining == 0 {
                body.ended = true;
            }
        }
        body.read_bytes += got as u64;
        Ok(data)
    }

    fn reply_wait(cfg: &EndpointConfig, req: &ServiceRequest<'_>) -> Option<Duration> {
        match req.reply_timeout {
            Some(t) => t,
            None => cfg.reply_timeout,
        }
    }

    /// Whether a failure after the request was sent (before headers) may be retried.
    fn recoverable_after_send(cfg: &EndpointConfig, req: &ServiceRequest<'_>) -> bool {
        let o = cfg.recovery_options;
        if o & recovery::NO_RETRY_AFTER_SEND == 0 {
            return true;
        }
        if o & recovery::HEAD_RECOVERABLE != 0 {
            return req.is_head;
        }
        o & recovery::GET_RECOVERABLE != 0 && req.is_get
    }

    /// One attempt on one connection; its AJP bytes are counted in `t`.
    #[allow(clippy::too_many_arguments)]
    fn exchange(
        &self,
        (cfg, seen): (&EndpointConfig, u64),
        slot: Slot<'_>,
        mut conn: Conn,
        reused: bool,
        req: &ServiceRequest<'_>,
        body: &mut RequestBody,
        peer: &mut dyn Peer,
        t: &mut Traffic,
    ) -> Attempt {
        let max = cfg.max_packet_size;
        let mut sent = conn.send(req.packet, t);
        // A Content-Length body's first packet goes unsolicited; a chunked body's first packet
        // (kept from an earlier attempt) answers the first GET_BODY_CHUNK again.
        let mut replay: std::collections::VecDeque<Vec<u8>> = std::collections::VecDeque::new();
        match (&body.first_packet, body.kind) {
            (Some(p), Body::Length(_)) if sent.is_ok() => sent = conn.send(p, t),
            (Some(p), Body::Chunked) => replay.push_back(p.clone()),
            _ => {}
        }
        // Packets kept from an earlier attempt answer the backend's GET_BODY_CHUNKs again.
        replay.extend(body.kept.iter().cloned());
        if let Err(e) = sent {
            slot.release(None);
            if reused {
                return Attempt::Stale;
            }
            return Attempt::Failed(self.err(
                ErrorKind::Send,
                true,
                &format!("sending the request failed: {e}"),
            ));
        }
        let mut headers_started = false;
        // Something reached httpd's output beyond status and headers (body, or a flush).
        let mut output_started = false;
        // Status and headers were handed to the peer (not sent yet unless flushed).
        let mut headers_passed = false;
        let mut received_any = false;
        // An answer not yet passed on (see BackendPaused and check_for_stop).
        let mut held_answer: Option<HeldAnswer> = None;
        // The connection must not go back to the pool whatever the backend said.
        let mut unusable = false;
        let mut status = 0u16;
        let mut body_bytes = 0u64;
        let mut buf = std::mem::take(&mut conn.payload);
        let fail_on = req.fail_on_status.unwrap_or(&cfg.fail_on_status);
        loop {
            // An answer held back (see BackendPaused) is an answer in progress: a failure
            // after it is not safe to send again.
            // After headers (not yet sent), mod_jk recovers unless recovery_options has 2.
            let recoverable = (!output_started || !peer.output_committed())
                && held_answer.is_none()
                && !body.streamed
                && Self::recoverable_after_send(cfg, req)
                && (!headers_passed
                    || cfg.recovery_options & recovery::NO_RETRY_AFTER_HEADERS == 0);
            if let Err(e) = conn.read_packet(&mut buf, Self::reply_wait(cfg, req), max, t) {
                slot.release(None);
                conn.shutdown();
                return match e {
                    ReadError::Timeout => Attempt::Failed(self.err(
                        ErrorKind::ReplyTimeout,
                        recoverable,
                        "Timeout with waiting reply from tomcat. Tomcat is down, stopped or network problems",
                    ).after_headers(headers_passed)),
                    ReadError::Closed(e) => {
                        let mut err = self.err(
                            ErrorKind::BackendClosed,
                            recoverable,
                            &format!("Tomcat is down or refused connection. No response has been sent to the client (yet): {e}"),
                        );
                        err.before_reply = !received_any;
                        Attempt::Failed(err.after_headers(headers_passed))
                    }
                    ReadError::Framing(m) => Attempt::Failed(
                        self.err(ErrorKind::ProtocolFraming, recoverable, &m)
                            .after_headers(headers_passed),
                    ),
                };
            }
            let first_message = !received_any;
            received_any = true;
            let reply = match jk_ajp::decode_reply(&buf) {
                Ok(r) => r,
                Err(e) => {
                    slot.release(None);
                    conn.shutdown();
                    return Attempt::Failed(
                        self.err(ErrorKind::ProtocolContent, recoverable, &e.to_string())
                            .after_headers(headers_passed),
                    );
                }
            };
            if let Some(mut held) = held_answer.take() {
                let bare = held.headers.is_empty() && held.body.is_empty();
                match reply {
                    Reply::EndResponse { reuse: false } if bare && held.status == 503 => {
                        // A connector paused for shutdown answered without processing the
                        // request: provably unprocessed, so it may be sent again.
                        slot.release(None);
                        conn.shutdown();
                        return Attempt::Failed(self.err(
                            ErrorKind::BackendPaused,
                            !body.streamed,
                            "the connector is paused (shutting down): it answered 503 without processing the request",
                        ));
                    }
                    Reply::EndResponse { reuse: true } if held.to_end => {
                        // A Tomcat stopping between the connector's pause and the end of its
                        // applications answers 503 or 404 (see STOPPING_STATUSES) and then
                        // closes the connection: a CPING tells.
                        let answer = conn.cping_after_reply(STOP_CHECK_WAIT, max, t);
                        // A CPONG that may still come would answer the next request.
                        unusable = answer == PingAnswer::NoAnswer;
                        if answer == PingAnswer::Closed {
                            slot.release(None);
                            conn.shutdown();
                            return Attempt::Failed(self.err(
                                ErrorKind::BackendPaused,
                                !body.streamed,
                                &format!(
                                    "Tomcat is stopping: it answered {} (its application is stopping) and closed the connection",
                                    held.status
                                ),
                            ));
                        }
                    }
                    Reply::SendBodyChunk(data)
                        if held.to_end && held.body.len() + data.len() <= HELD_ANSWER_BODY =>
                    {
                        held.body.extend_from_slice(data);
                        held_answer = Some(held);
                        continue;
                    }
                    _ => {}
                }
                // Not a stopping backend's answer: an ordinary one after all.
                headers_passed = true;
                if !held.body.is_empty() {
                    body_bytes += held.body.len() as u64;
                    output_started = true;
                }
                if let Err(e) = held.release(peer, req.is_head) {
                    return self.client_gone(slot, conn, e);
                }
            }
            match reply {
                Reply::SendHeaders {
                    status: st,
                    reason,
                    headers,
                } => {
                    if headers_started {
                        slot.release(None);
                        conn.shutdown();
                        return Attempt::Failed(self.err(
                            ErrorKind::ProtocolContent,
                            false,
                            "a second SEND_HEADERS",
                        ));
                    }
                    headers_started = true;
                    status = st;
                    if let Some(&code) =
                        fail_on.iter().find(|&&c| c.unsigned_abs() == u32::from(st))
                    {
                        // The response is discarded; the connection cannot be reused mid-reply.
                        slot.release(None);
                        conn.shutdown();
                        return Attempt::Failed(self.err(
                            ErrorKind::FailOnStatus { hard: code > 0 },
                            !body.streamed,
                            &format!("response status {st} is listed in fail_on_status"),
                        ));
                    }
                    let paused_form = st == 503 && headers.is_empty();
                    let check = req.check_for_stop && STOPPING_STATUSES.contains(&st);
                    if (paused_form || check) && !req.flush_header {
                        // Possibly a paused connector (503, no header, then END_RESPONSE
                        // reuse=0), or a stopping Tomcat (check_for_stop): hold the answer
                        // back until what follows tells (not with FlushHeader, which sends
                        // headers at once).
                        held_answer = Some(HeldAnswer {
                            status: st,
                            reason: reason.to_vec(),
                            headers: headers
                                .iter()
                                .map(|(n, v)| (n.as_bytes().to_vec(), v.to_vec()))
                                .collect(),
                            body: Vec::new(),
                            to_end: check,
                        });
                        continue;
                    }
                    let hs: Vec<(&[u8], &[u8])> =
                        headers.iter().map(|(n, v)| (n.as_bytes(), *v)).collect();
                    headers_passed = true;
                    if let Err(e) = peer.start_response(st, reason, &hs) {
                        return self.client_gone(slot, conn, e);
                    }
                    if req.flush_header {
                        output_started = true;
                        if let Err(e) = peer.flush() {
                            return self.client_gone(slot, conn, e);
                        }
                    }
                }
                Reply::SendBodyChunk(data) => {
                    if data.is_empty() {
                        // A flush request; stale before headers (ignored).
                        if headers_started {
                            output_started = true;
                            if let Err(e) = peer.flush() {
                                return self.client_gone(slot, conn, e);
                            }
                        }
                        continue;
                    }
                    if !headers_started {
                        if first_message {
                            slot.release(None);
                            conn.shutdown();
                            return Attempt::Failed(self.err(
                                ErrorKind::ProtocolContent,
                                recoverable,
                                "Unexpected AJP13_SEND_BODY_CHUNK before SEND_HEADERS",
                            ));
                        }
                        // mod_jk: "Write without start, starting with defaults".
                        headers_started = true;
                        status = 200;
                        if let Err(e) = peer.start_response(200, b"", &[]) {
                            return self.client_gone(slot, conn, e);
                        }
                    }
                    body_bytes += data.len() as u64;
                    output_started = true;
                    if !req.is_head {
                        if let Err(e) = peer.write_body(data) {
                            return self.client_gone(slot, conn, e);
                        }
                        if req.flush_packets {
                            if let Err(e) = peer.flush() {
                                return self.client_gone(slot, conn, e);
                            }
                        }
                    }
                }
                Reply::GetBodyChunk { requested } => {
                    if let Some(p) = replay.pop_front() {
                        if let Err(e) = conn.send(&p, t) {
                            slot.release(None);
                            return Attempt::Failed(self.err(
                                ErrorKind::Send,
                                true,
                                &format!("sending the request body failed: {e}"),
                            ));
                        }
                        continue;
                    }
                    let limit = (requested as usize).min(max - 6);
                    let is_first = body.first_packet.is_none() && body.read_bytes == 0;
                    let data = match self.read_client(peer, body, limit) {
                        Ok(d) => d,
                        Err(e) => {
                            slot.release(None);
                            conn.shutdown();
                            return Attempt::Failed(e);
                        }
                    };
                    let packet = if data.is_empty() {
                        jk_ajp::EMPTY_BODY_PACKET.to_vec()
                    } else {
                        match encode_chunk(&data, max) {
                            Ok(p) => p,
                            Err(e) => {
                                slot.release(None);
                                return Attempt::Failed(e);
                            }
                        }
                    };
                    if is_first && !data.is_empty() {
                        body.first_packet = Some(packet.clone());
                    } else if !body.streamed {
                        if body.kept_bytes + data.len() <= body.replay_limit {
                            body.kept_bytes += data.len();
                            body.kept.push(packet.clone());
                        } else {
                            // Beyond the replay buffer: this request can no longer be replayed.
                            body.streamed = true;
                            body.kept = Vec::new();
                        }
                    }
                    if let Err(e) = conn.send(&packet, t) {
                        slot.release(None);
                        let mut err = self.err(
                            ErrorKind::Send,
                            !output_started && !body.streamed,
                            &format!("sending the request body failed: {e}"),
                        );
                        // The backend was already reading this request: not provably unprocessed.
                        err.before_reply = false;
                        return Attempt::Failed(err);
                    }
                }
                Reply::EndResponse { reuse } => {
                    if reuse && !unusable && !cfg.disable_reuse && !req.disable_reuse {
                        conn.payload = std::mem::take(&mut buf);
                        self.keep(cfg, seen, slot, conn);
                    } else {
                        slot.release(None);
                        conn.shutdown();
                    }
                    if !headers_started {
                        status = 200;
                        if let Err(e) = peer.start_response(200, b"", &[]) {
                            return Attempt::Failed(self.err(
                                ErrorKind::ClientWrite,
                                false,
                                &e.to_string(),
                            ));
                        }
                    }
                    return Attempt::Done(ResponseSummary {
                        status,
                        body_bytes,
                        read_bytes: 0,
                        attempts: 0,
                        ajp: Traffic::default(),
                        reply_time: std::time::Duration::ZERO,
                    });
                }
                Reply::CPong => {
                    slot.release(None);
                    conn.shutdown();
                    return Attempt::Failed(self.err(
                        ErrorKind::ProtocolContent,
                        recoverable,
                        "Unknown AJP protocol code: 09 (CPONG during a response)",
                    ));
                }
            }
        }
    }

    /// The client went away: stop reading from the backend and drop the connection.
    fn client_gone(&self, slot: Slot<'_>, conn: Conn, e: io::Error) -> Attempt {
        slot.release(None);
        conn.shutdown();
        Attempt::Failed(self.err(
            ErrorKind::ClientWrite,
            false,
            &format!("writing to the client failed: {e}"),
        ))
    }

    /// Maintenance: close connections idle longer than connection_pool_timeout (keeping
    /// connection_pool_minsize), and CPing those idle longer than connection_ping_interval.
    pub fn maintain(&self) {
        if let Some(t) = self.config().pool_timeout {
            for c in self
                .pool
                .take_idle_older_than(t, self.config().pool_minsize)
            {
                c.shutdown();
            }
        }
        if let (Some(wait), Some(idle)) = (self.config().ping.interval, self.config().ping_interval)
        {
            for mut slot in self.pool.take_idle_for(idle) {
                let Some(mut c) = slot.conn.take() else {
                    continue;
                };
                // Not a request's traffic: mod_jk does not count maintenance CPings either.
                if c.cping(wait, self.config().max_packet_size, &mut Traffic::default()) {
                    self.keep_now(slot, c);
                } else {
                    c.shutdown();
                    slot.release(None);
                }
            }
        }
    }

    /// A readiness probe: a fresh connection and a CPing answered within `wait`; the
    /// connection then joins the pool (when a slot is free). Used to recover a member in
    /// ERROR without sacrificing a user request.
    pub fn probe(&self, wait: Duration) -> Result<(), ServiceError> {
        let Some(addr) = self.config().addr else {
            return Err(self.err(ErrorKind::Disabled, false, "contact disabled"));
        };
        // A probe is not a request: its bytes are not counted (its connection is).
        let mut scratch = Traffic::default();
        // The connect is bounded by `wait` too: a member whose address vanished (a container
        // being replaced) drops the SYNs without an answer, and a probe blocked in connect
        // would hold a held request, or the prober, for minutes.
        let mut c = self.open_within(addr, &mut scratch, Some(wait))?;
        if !c.cping(wait, self.config().max_packet_size, &mut scratch) {
            c.shutdown();
            return Err(self.err(ErrorKind::Connect, true, "no CPONG to the readiness probe"));
        }
        match self.pool.acquire(Duration::ZERO) {
            Some(mut slot) => {
                if let Some(old) = slot.conn.take() {
                    old.shutdown();
                }
                self.keep_now(slot, c);
            }
            None => c.shutdown(),
        }
        Ok(())
    }

    /// True when a request could get a connection now (mod_jk `ajp_has_endpoint`).
    pub fn has_free_connection(&self) -> bool {
        let s = self.pool.stats();
        s.idle > 0 || s.busy + s.idle < s.size
    }

    /// Closes idle connections (after a host/port change).
    pub fn reset_connections(&self) {
        self.pool.clear_idle();
    }
}

fn encode_chunk(data: &[u8], max: usize) -> Result<Vec<u8>, ServiceError> {
    jk_ajp::encode_body_chunk(data, max).map_err(|e| {
        ServiceError::new(
            ErrorKind::ProtocolContent,
            false,
            format!("encoding a body chunk failed: {e}"),
        )
    })
}
