//! What one endpoint needs from the ajp13 worker's configuration.

use std::net::SocketAddr;
use std::time::Duration;

/// mod_jk's `ping_mode` letters, already combined with the timeouts that imply them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PingModes {
    /// C: CPing after connecting, waiting `connect` at most.
    pub connect: Option<Duration>,
    /// P: CPing before a request on a reused connection, waiting `prepost` at most.
    pub prepost: Option<Duration>,
    /// I: CPing idle pooled connections during maintenance, waiting this long.
    pub interval: Option<Duration>,
}

/// Connection and request settings of one AJP endpoint (an ajp13 worker or lb member).
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Worker name, for messages.
    pub name: String,
    /// Resolved backend address; `None` means contact is disabled (port 0 or unresolvable).
    pub addr: Option<SocketAddr>,
    /// Local address to bind before connecting (`source`).
    pub source: Option<std::net::IpAddr>,
    /// `socket_connect_timeout`; `None` = blocking connect.
    pub connect_timeout: Option<Duration>,
    /// `socket_timeout` for every read/write; `None` = none.
    pub socket_timeout: Option<Duration>,
    /// `socket_keepalive`.
    pub keepalive: bool,
    /// `socket_buffer` (SO_SNDBUF/SO_RCVBUF) in bytes; 0 = OS default.
    pub socket_buffer: usize,
    /// CPing modes and their waits.
    pub ping: PingModes,
    /// `connection_ping_interval`: idle time before an interval CPing.
    pub ping_interval: Option<Duration>,
    /// `reply_timeout`: the longest wait for each packet from the backend; `None` = forever.
    pub reply_timeout: Option<Duration>,
    /// `retries`: attempts on this endpoint (at least 1).
    pub retries: u32,
    /// `retry_interval`: sleep before each retry.
    pub retry_interval: Duration,
    /// `recovery_options` bit mask.
    pub recovery_options: u32,
    /// `max_packet_size` in bytes.
    pub max_packet_size: usize,
    /// `connection_pool_size`: connections per httpd child.
    pub pool_size: usize,
    /// `connection_pool_minsize`: kept when closing idle ones.
    pub pool_minsize: usize,
    /// `connection_pool_timeout`: idle connections older than this are closed.
    pub pool_timeout: Option<Duration>,
    /// `connection_acquire_timeout`: the longest wait for a free pool slot.
    pub acquire_timeout: Duration,
    /// `fail_on_status`: positive codes fail and mark the worker, negative only fail.
    pub fail_on_status: Vec<i32>,
    /// `JkOptions +DisableReuse`: close the connection after every request.
    pub disable_reuse: bool,
}

impl EndpointConfig {
    /// A config with mod_jk's defaults for `addr` (used by tests and as a base).
    pub fn new(name: &str, addr: Option<SocketAddr>) -> EndpointConfig {
        EndpointConfig {
            name: name.to_string(),
            addr,
            source: None,
            connect_timeout: None,
            socket_timeout: None,
            keepalive: false,
            socket_buffer: 0,
            ping: PingModes::default(),
            ping_interval: None,
            reply_timeout: None,
            retries: 2,
            retry_interval: Duration::from_millis(100),
            recovery_options: 0,
            max_packet_size: 8192,
            pool_size: 1,
            pool_minsize: 1,
            pool_timeout: None,
            acquire_timeout: Duration::from_millis(200),
            fail_on_status: Vec::new(),
            disable_reuse: false,
        }
    }
}

/// recovery_options bits (reference §3.4).
pub mod recovery {
    /// No retry after the request was sent, before response headers.
    pub const NO_RETRY_AFTER_SEND: u32 = 1;
    /// No retry after response headers were received.
    pub const NO_RETRY_AFTER_HEADERS: u32 = 2;
    /// Close the backend connection hard on a client error.
    pub const CLOSE_ON_CLIENT_ERROR: u32 = 4;
    /// HEAD stays recoverable despite bit 1.
    pub const HEAD_RECOVERABLE: u32 = 8;
    /// GET stays recoverable despite bit 1 (only checked when bit 8 is not set: mod_jk).
    pub const GET_RECOVERABLE: u32 = 16;
}
