//! From an ajp13 worker's configuration (jk-config) to its endpoint: address resolution as
//! mod_jk does it at startup, the CPing waits each `ping_mode` implies, and the settings the
//! status worker may edit at runtime (`va*`), with the rule that decides whether an edited
//! value survives a restart.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use jk_config::{AjpWorker, PingMode};

use crate::config::{EndpointConfig, PingModes};

/// Smallest and largest `max_packet_size` (reference §3.4).
pub const MAX_PACKET_SIZE_RANGE: (usize, usize) = (8192, 65536);

fn ms(v: u64) -> Option<Duration> {
    (v > 0).then(|| Duration::from_millis(v))
}

fn secs(v: u64) -> Option<Duration> {
    (v > 0).then(|| Duration::from_secs(v))
}

/// Resolves `host:port` once (mod_jk: the first address; the first IPv6 one with
/// `prefer_ipv6`; no fallback). Err names the problem for the startup log.
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

/// The CPing waits of a worker: a mode named in `ping_mode` uses its own timeout, or
/// `ping_timeout` when that is 0; a mode not named still uses its own timeout when set
/// (mod_jk's connect_timeout / prepost_timeout). Interval CPings run with `ping_mode` I or
/// a `connection_ping_interval`, waiting `ping_timeout`.
pub fn ping_modes(w: &AjpWorker) -> PingModes {
    let (ping, connect, prepost) = (
        u64::from(w.ping_timeout_ms),
        u64::from(w.connect_timeout_ms),
        u64::from(w.prepost_timeout_ms),
    );
    let named = |m| w.ping_mode.contains(m);
    PingModes {
        connect: if named(PingMode::CONNECT) {
            ms(connect).or(ms(ping))
        } else {
            ms(connect)
        },
        prepost: if named(PingMode::PREPOST) {
            ms(prepost).or(ms(ping))
        } else {
            ms(prepost)
        },
        interval: (named(PingMode::INTERVAL) || w.connection_ping_interval_s > 0)
            .then(|| ms(ping))
            .flatten(),
    }
}

/// The endpoint configuration of ajp13 worker `name`, and a startup warning when its host
/// cannot be resolved (contact is then disabled, as with port 0).
pub fn endpoint_config(name: &str, w: &AjpWorker) -> (EndpointConfig, Option<String>) {
    let (addr, problem) = if w.port == 0 {
        (None, None)
    } else {
        match resolve(&w.host, w.port, w.prefer_ipv6) {
            Ok(a) => (Some(a), None),
            Err(e) => (None, Some(format!("worker {name}: {e}; contact disabled"))),
        }
    };
    let cfg = EndpointConfig {
        name: name.to_string(),
        addr,
        source: w.source.as_deref().and_then(|s| s.parse().ok()),
        connect_timeout: ms(u64::from(w.socket_connect_timeout_ms)),
        socket_timeout: secs(u64::from(w.socket_timeout_s)),
        keepalive: w.socket_keepalive,
        socket_buffer: w.socket_buffer as usize,
        ping: ping_modes(w),
        ping_interval: secs(u64::from(w.connection_ping_interval_s)),
        reply_timeout: ms(u64::from(w.reply_timeout_ms)),
        retries: w.retries.max(1),
        retry_interval: Duration::from_millis(u64::from(w.retry_interval_ms)),
        recovery_options: w.recovery_options.0,
        max_packet_size: w.max_packet_size as usize,
        pool_size: w.connection_pool_size.max(1) as usize,
        pool_minsize: w.connection_pool_minsize as usize,
        pool_timeout: secs(u64::from(w.connection_pool_timeout_s)),
        acquire_timeout: Duration::from_millis(u64::from(w.connection_acquire_timeout_ms)),
        fail_on_status: w.fail_on_status.clone(),
        disable_reuse: false,
    };
    (cfg, problem)
}

/// The settings of an ajp worker the status worker edits at runtime (`vahst`, `vaprt`,
/// `vacpt`, `vapng`, `vact`, `vapt`, `vart`, `var`, `vari`, `vacpi`, `varo`, `vamps`), in the
/// units workers.properties uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeSettings {
    pub host: String,
    pub port: u16,
    pub pool_timeout_s: u64,
    pub ping_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub prepost_timeout_ms: u64,
    pub reply_timeout_ms: u64,
    pub retries: u64,
    pub retry_interval_ms: u64,
    pub ping_interval_s: u64,
    pub recovery_options: u64,
    pub max_packet_size: u64,
}

impl RuntimeSettings {
    /// The values workers.properties gives `w`.
    pub fn configured(w: &AjpWorker) -> RuntimeSettings {
        RuntimeSettings {
            host: w.host.clone(),
            port: w.port,
            pool_timeout_s: u64::from(w.connection_pool_timeout_s),
            ping_timeout_ms: u64::from(w.ping_timeout_ms),
            connect_timeout_ms: u64::from(w.connect_timeout_ms),
            prepost_timeout_ms: u64::from(w.prepost_timeout_ms),
            reply_timeout_ms: u64::from(w.reply_timeout_ms),
            retries: u64::from(w.retries),
            retry_interval_ms: u64::from(w.retry_interval_ms),
            ping_interval_s: u64::from(w.connection_ping_interval_s),
            recovery_options: u64::from(w.recovery_options.0),
            max_packet_size: u64::from(w.max_packet_size),
        }
    }

    /// The numeric settings in a fixed order (how they are stored side by side).
    pub fn numbers(&self) -> [u64; 11] {
        [
            u64::from(self.port),
            self.pool_timeout_s,
            self.ping_timeout_ms,
            self.connect_timeout_ms,
            self.prepost_timeout_ms,
            self.reply_timeout_ms,
            self.retries,
            self.retry_interval_ms,
            self.ping_interval_s,
            self.recovery_options,
            self.max_packet_size,
        ]
    }

    /// The settings from `numbers()` order and a host.
    pub fn from_numbers(host: String, n: [u64; 11]) -> RuntimeSettings {
        RuntimeSettings {
            host,
            port: u16::try_from(n[0]).unwrap_or(0),
            pool_timeout_s: n[1],
            ping_timeout_ms: n[2],
            connect_timeout_ms: n[3],
            prepost_timeout_ms: n[4],
            reply_timeout_ms: n[5],
            retries: n[6],
            retry_interval_ms: n[7],
            ping_interval_s: n[8],
            recovery_options: n[9],
            max_packet_size: n[10],
        }
    }

    /// A digest of the settings (FNV-1a over the numbers and the host), never 0. Values
    /// edited at runtime survive a restart while the configured settings keep the digest
    /// they had when the edit was made; a changed workers.properties wins.
    pub fn fingerprint(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |b: &[u8]| {
            for &x in b {
                h ^= u64::from(x);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        for v in self.numbers() {
            eat(&v.to_le_bytes());
        }
        eat(self.host.as_bytes());
        h | 1
    }

    /// Brings `c` in line with these settings. `configured` are the worker's own values
    /// (CPing waits that were not edited keep what `ping_mode` derived from them); `addr` is
    /// the resolved address of `host:port` (None: contact disabled).
    pub fn apply(
        &self,
        c: &mut EndpointConfig,
        configured: &RuntimeSettings,
        addr: Option<SocketAddr>,
    ) {
        c.addr = if self.port == 0 { None } else { addr };
        c.pool_timeout = secs(self.pool_timeout_s);
        if self.ping_timeout_ms != configured.ping_timeout_ms {
            c.ping.interval = c.ping.interval.and(ms(self.ping_timeout_ms));
        }
        if self.connect_timeout_ms != configured.connect_timeout_ms {
            c.ping.connect = ms(self.connect_timeout_ms);
        }
        if self.prepost_timeout_ms != configured.prepost_timeout_ms {
            c.ping.prepost = ms(self.prepost_timeout_ms);
        }
        c.reply_timeout = ms(self.reply_timeout_ms);
        c.retries = u32::try_from(self.retries).unwrap_or(u32::MAX).max(1);
        c.retry_interval = Duration::from_millis(self.retry_interval_ms);
        c.ping_interval = secs(self.ping_interval_s);
        c.recovery_options = u32::try_from(self.recovery_options).unwrap_or(0);
        let (lo, hi) = MAX_PACKET_SIZE_RANGE;
        c.max_packet_size = usize::try_from(self.max_packet_size)
            .unwrap_or(hi)
            .clamp(lo, hi);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jk_config::{build, BuildOptions, PropertyMap};

    fn worker(props: &str) -> AjpWorker {
        let text = format!("worker.list=w\nworker.w.type=ajp13\nworker.w.host=127.0.0.1\n{props}");
        let mut map = PropertyMap::new();
        map.read_str(&text, "workers.properties").unwrap();
        let cfg = build(
            &map,
            &BuildOptions {
                default_pool_size: 1,
            },
        )
        .unwrap();
        cfg.worker("w").unwrap().as_ajp().unwrap().clone()
    }

    fn d(v: u64) -> Option<Duration> {
        Some(Duration::from_millis(v))
    }

    /// (properties, connect, prepost, interval)
    type PingCase = (
        &'static str,
        Option<Duration>,
        Option<Duration>,
        Option<Duration>,
    );

    #[test]
    fn ping_mode_table() {
        let cases: &[PingCase] = &[
            ("", None, None, None),
            ("worker.w.ping_mode=C\n", d(10000), None, None),
            ("worker.w.ping_mode=P\n", None, d(10000), None),
            ("worker.w.ping_mode=I\n", None, None, d(10000)),
            ("worker.w.ping_mode=A\n", d(10000), d(10000), d(10000)),
            (
                "worker.w.ping_mode=A\nworker.w.ping_timeout=700\n",
                d(700),
                d(700),
                d(700),
            ),
            // A mode's own timeout wins over ping_timeout ...
            (
                "worker.w.ping_mode=CP\nworker.w.connect_timeout=300\nworker.w.prepost_timeout=400\n",
                d(300),
                d(400),
                None,
            ),
            // ... and counts even when the mode is not named (mod_jk's old properties).
            (
                "worker.w.connect_timeout=300\nworker.w.prepost_timeout=400\n",
                d(300),
                d(400),
                None,
            ),
            // connection_ping_interval turns interval CPings on.
            (
                "worker.w.connection_ping_interval=30\nworker.w.ping_timeout=900\n",
                None,
                None,
                d(900),
            ),
        ];
        for (props, connect, prepost, interval) in cases {
            let p = ping_modes(&worker(props));
            assert_eq!(
                (p.connect, p.prepost, p.interval),
                (*connect, *prepost, *interval),
                "{props:?}"
            );
        }
    }

    #[test]
    fn endpoint_config_carries_the_workers_values() {
        let w = worker(
            "worker.w.port=8019\nworker.w.socket_timeout=7\nworker.w.socket_connect_timeout=1500\n\
             worker.w.reply_timeout=2500\nworker.w.retries=0\nworker.w.connection_pool_size=3\n\
             worker.w.connection_pool_timeout=60\nworker.w.fail_on_status=503,-404\n",
        );
        let (c, problem) = endpoint_config("w", &w);
        assert!(problem.is_none());
        assert_eq!(c.addr, Some("127.0.0.1:8019".parse().unwrap()));
        assert_eq!(c.socket_timeout, Some(Duration::from_secs(7)));
        assert_eq!(c.connect_timeout, d(1500));
        assert_eq!(c.reply_timeout, d(2500));
        assert_eq!((c.retries, c.pool_size), (1, 3), "retries: at least one");
        assert_eq!(c.pool_timeout, Some(Duration::from_secs(60)));
        assert_eq!(c.fail_on_status, vec![503, -404]);
        let (c, problem) = endpoint_config("w", &worker("worker.w.port=0\n"));
        assert!(
            c.addr.is_none() && problem.is_none(),
            "port 0: contact disabled"
        );
    }

    #[test]
    fn an_unresolvable_host_disables_contact_with_a_warning() {
        let w = worker("worker.w.host=no-such-host.invalid\n");
        let (c, problem) = endpoint_config("w", &w);
        assert!(c.addr.is_none());
        let p = problem.unwrap();
        assert!(
            p.starts_with("worker w: cannot resolve host 'no-such-host.invalid'"),
            "{p}"
        );
        assert!(p.ends_with("contact disabled"), "{p}");
    }

    #[test]
    fn the_fingerprint_changes_with_every_setting_and_is_never_zero() {
        let base = RuntimeSettings::configured(&worker(""));
        let fp = base.fingerprint();
        assert_ne!(fp, 0);
        for i in 0..11 {
            let mut n = base.numbers();
            n[i] += 1;
            let changed = RuntimeSettings::from_numbers(base.host.clone(), n);
            assert_ne!(changed.fingerprint(), fp, "setting {i}");
        }
        let mut host = base.clone();
        host.host = "127.0.0.2".into();
        assert_ne!(host.fingerprint(), fp);
        assert_eq!(
            RuntimeSettings::from_numbers(base.host.clone(), base.numbers()),
            base
        );
    }

    #[test]
    fn applying_settings_keeps_unedited_cping_waits_and_clamps_the_packet_size() {
        let w = worker("worker.w.ping_mode=A\nworker.w.ping_timeout=700\n");
        let configured = RuntimeSettings::configured(&w);
        let (mut c, _) = endpoint_config("w", &w);
        let addr = c.addr;
        // Nothing edited: the ping_mode derivations stay.
        configured.apply(&mut c, &configured, addr);
        assert_eq!(
            (c.ping.connect, c.ping.prepost, c.ping.interval),
            (d(700), d(700), d(700))
        );
        // Edits: prepost and reply timeouts, retries 0, a packet size out of range, port 0.
        let mut edited = configured.clone();
        edited.prepost_timeout_ms = 250;
        edited.reply_timeout_ms = 4000;
        edited.retries = 0;
        edited.max_packet_size = 100_000;
        configured.apply(&mut c, &configured, addr);
        edited.apply(&mut c, &configured, addr);
        assert_eq!(c.ping.prepost, d(250));
        assert_eq!(c.ping.connect, d(700), "not edited");
        assert_eq!(c.reply_timeout, d(4000));
        assert_eq!(c.retries, 1);
        assert_eq!(c.max_packet_size, 65536);
        edited.max_packet_size = 10;
        edited.apply(&mut c, &configured, addr);
        assert_eq!(c.max_packet_size, 8192);
        edited.port = 0;
        edited.apply(&mut c, &configured, addr);
        assert!(c.addr.is_none(), "port 0 disables contact");
        // An edited ping_timeout changes interval CPings only where they are on.
        edited.ping_timeout_ms = 900;
        edited.apply(&mut c, &configured, addr);
        assert_eq!(c.ping.interval, d(900));
    }
}
