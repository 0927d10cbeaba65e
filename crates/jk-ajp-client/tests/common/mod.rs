//! What the client's integration tests share: a FORWARD_REQUEST, the per-request settings and
//! an endpoint with a short retry interval.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use jk_ajp_client::{Endpoint, EndpointConfig, ServiceRequest};

/// A FORWARD_REQUEST packet for `method uri` (with a body of `content_length`, or chunked).
pub fn packet(method: &str, uri: &str, content_length: Option<u64>, chunked: bool) -> Vec<u8> {
    jk_ajp::ForwardRequest {
        method: method.as_bytes(),
        req_uri: uri.as_bytes(),
        content_length,
        chunked,
        remote_port: b"1234",
        local_addr: b"127.0.0.1",
        remote_addr: b"127.0.0.1",
        server_name: b"localhost",
        ..Default::default()
    }
    .encode(8192)
    .unwrap()
}

/// A GET's per-request settings around `packet` (no overrides).
pub fn req(packet: &[u8]) -> ServiceRequest<'_> {
    ServiceRequest {
        packet,
        is_head: false,
        is_get: true,
        reply_timeout: None,
        fail_on_status: None,
        flush_packets: false,
        flush_header: false,
        disable_reuse: false,
        check_for_stop: false,
    }
}

/// An endpoint to `addr` with a 10 ms retry interval, then `tweak`.
pub fn endpoint_at(addr: SocketAddr, tweak: impl FnOnce(&mut EndpointConfig)) -> Endpoint {
    let mut cfg = EndpointConfig::new("w", Some(addr));
    cfg.retry_interval = Duration::from_millis(10);
    tweak(&mut cfg);
    Endpoint::new(cfg)
}
