//! The AJP endpoints of one generation: one per ajp13 worker (standalone or lb member), with
//! its host resolved once at startup as mod_jk does (first address; the first IPv6 one with
//! `prefer_ipv6`; no fallback).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use jk_ajp_client::{Endpoint, EndpointConfig, PingModes};
use jk_config::{AjpWorker, PingMode, WorkerKind, WorkersConfig};

fn ms(v: u32) -> Option<Duration> {
    (v > 0).then(|| Duration::from_millis(u64::from(v)))
}

/// Resolves `host:port`; Err names the problem for the startup log.
pub fn resolve(host: &str, port: u16, prefer_ipv6: bool) -> Result<SocketAddr, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve host '{host}': {e}"))?
        .collect();
    let pick = if prefer_ipv6 {
        addrs.iter().find(|a| a.is_ipv6())
    } else {
        None
    };
    pick.or(addrs.first())
        .copied()
        .ok_or_else(|| format!("host '{host}' has no address"))
}

/// The endpoint configuration of an ajp13 worker.
pub fn endpoint_config(name: &str, w: &AjpWorker) -> (EndpointConfig, Option<String>) {
    let (addr, problem) = if w.port == 0 {
        (None, None)
    } else {
        match resolve(&w.host, w.port, w.prefer_ipv6) {
            Ok(a) => (Some(a), None),
            Err(e) => (None, Some(format!("worker {name}: {e}; contact disabled"))),
        }
    };
    let ping = PingModes {
        connect: if w.ping_mode.contains(PingMode::CONNECT) {
            ms(w.connect_timeout_ms).or(ms(w.ping_timeout_ms))
        } else {
            ms(w.connect_timeout_ms)
        },
        prepost: if w.ping_mode.contains(PingMode::PREPOST) {
            ms(w.prepost_timeout_ms).or(ms(w.ping_timeout_ms))
        } else {
            ms(w.prepost_timeout_ms)
        },
        interval: (w.ping_mode.contains(PingMode::INTERVAL) || w.connection_ping_interval_s > 0)
            .then(|| ms(w.ping_timeout_ms))
            .flatten(),
    };
    let cfg = EndpointConfig {
        name: name.to_string(),
        addr,
        source: w.source.as_deref().and_then(|s| s.parse().ok()),
        connect_timeout: ms(w.socket_connect_timeout_ms),
        socket_timeout: (w.socket_timeout_s > 0)
            .then(|| Duration::from_secs(u64::from(w.socket_timeout_s))),
        keepalive: w.socket_keepalive,
        socket_buffer: w.socket_buffer as usize,
        ping,
        ping_interval: (w.connection_ping_interval_s > 0)
            .then(|| Duration::from_secs(u64::from(w.connection_ping_interval_s))),
        reply_timeout: ms(w.reply_timeout_ms),
        retries: w.retries.max(1),
        retry_interval: Duration::from_millis(u64::from(w.retry_interval_ms)),
        recovery_options: w.recovery_options.0,
        max_packet_size: w.max_packet_size as usize,
        pool_size: w.connection_pool_size.max(1) as usize,
        pool_minsize: w.connection_pool_minsize as usize,
        pool_timeout: (w.connection_pool_timeout_s > 0)
            .then(|| Duration::from_secs(u64::from(w.connection_pool_timeout_s))),
        acquire_timeout: Duration::from_millis(u64::from(w.connection_acquire_timeout_ms)),
        fail_on_status: w.fail_on_status.clone(),
        disable_reuse: false,
    };
    (cfg, problem)
}

/// Endpoints for every ajp worker of the configuration, and startup warnings.
pub fn build(workers: &WorkersConfig) -> (HashMap<String, Arc<Endpoint>>, Vec<String>) {
    let mut map = HashMap::new();
    let mut warnings = Vec::new();
    for w in &workers.workers {
        if let WorkerKind::Ajp(a) = &w.kind {
            let (cfg, problem) = endpoint_config(&w.name, a);
            warnings.extend(problem);
            map.insert(w.name.clone(), Arc::new(Endpoint::new(cfg)));
        }
    }
    (map, warnings)
}
