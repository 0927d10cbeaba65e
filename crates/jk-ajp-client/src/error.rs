//! Failure classes of one request to a backend. What follows from a class (the HTTP status,
//! the load balancer's outcome, the statistics class, the log level) is one table in
//! jk-runtime (`jk_runtime::failure`); whether a retry may happen is decided per failure
//! ([`ServiceError::recoverable`]).

use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Contact disabled (port 0 / unresolvable host).
    Disabled,
    /// No free pooled connection within connection_acquire_timeout.
    NoConnection,
    /// connect() failed or timed out, or the connect CPing failed.
    Connect,
    /// Sending the request failed (before the backend answered anything).
    Send,
    /// The backend did not send the next packet within reply_timeout.
    ReplyTimeout,
    /// The backend closed the connection or a read failed.
    BackendClosed,
    /// Bad packet magic or length (framing).
    ProtocolFraming,
    /// Invalid message content, unknown type, chunk too long.
    ProtocolContent,
    /// The forward request does not fit into max_packet_size.
    RequestTooLarge,
    /// Reading the request body from the client failed.
    ClientRead,
    /// Writing the response to the client failed (client went away).
    ClientWrite,
    /// The backend's connector is paused for shutdown: it answered 503 with no header and no
    /// body and closed the connection (END_RESPONSE reuse=0) without processing the request
    /// (Tomcat's AjpProcessor does this for every request it reads once paused).
    BackendPaused,
    /// The backend answered a status listed in fail_on_status.
    FailOnStatus {
        /// True for a positive code (the lb member goes to ERROR), false for a negative one.
        hard: bool,
    },
}

/// A failed request: its class, whether another attempt may be made, and an operator-readable
/// description naming the worker and address.
#[derive(Debug, Clone)]
pub struct ServiceError {
    /// The class.
    pub kind: ErrorKind,
    /// True when the request may be sent again (elsewhere): nothing the backend processed
    /// reached the client and the request body can be replayed.
    pub recoverable: bool,
    /// What happened, for the log.
    pub message: String,
    /// The backend provably did not process the request: it failed before any reply byte
    /// came back (connect refused, send failed, connection reset before answering), or its
    /// connector was paused for shutdown and said so (`BackendPaused`). Such a
    /// request is safe to send again, even to the same member once it is back.
    pub before_reply: bool,
    /// The backend's status and headers had been handed to the peer (not flushed) when it
    /// failed: a retry must first discard them.
    pub after_headers: bool,
    /// AJP bytes the failed request sent and received before it failed (mod_jk counts them
    /// in the worker's statistics too).
    pub traffic: crate::meter::Traffic,
}

impl ServiceError {
    pub(crate) fn new(kind: ErrorKind, recoverable: bool, message: impl Into<String>) -> Self {
        ServiceError {
            before_reply: matches!(
                kind,
                ErrorKind::Disabled
                    | ErrorKind::NoConnection
                    | ErrorKind::Connect
                    | ErrorKind::Send
                    | ErrorKind::BackendPaused
            ),
            kind,
            recoverable,
            message: message.into(),
            after_headers: false,
            traffic: crate::meter::Traffic::default(),
        }
    }

    pub(crate) fn after_headers(mut self, yes: bool) -> Self {
        self.after_headers = yes;
        self
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServiceError {}
