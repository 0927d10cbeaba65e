//! Runtime-editable connection settings of ajp workers (status worker `va*` parameters): kept
//! in the shared region so every httpd child's endpoint follows an edit made through any
//! child, and kept over restarts while workers.properties does not change them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jk_ajp_client::Endpoint;
use jk_config::{AjpWorker, WorkerKind, WorkersConfig};
use jk_shm::{Field, Region, Slot, SlotKind, StrField};

/// The shared settings of one ajp worker, and the edit count this process has applied.
pub struct AjpShared {
    pub slot: Slot<'static>,
    seen: AtomicU64,
}

/// The settings in the order of the shared fields.
fn configured(w: &AjpWorker) -> [(Field, u64); 11] {
    [
        (Field::AjpPort, u64::from(w.port)),
        (
            Field::AjpPoolTimeout,
            u64::from(w.connection_pool_timeout_s),
        ),
        (Field::AjpPingTimeout, u64::from(w.ping_timeout_ms)),
        (Field::AjpConnectTimeout, u64::from(w.connect_timeout_ms)),
        (Field::AjpPrepostTimeout, u64::from(w.prepost_timeout_ms)),
        (Field::AjpReplyTimeout, u64::from(w.reply_timeout_ms)),
        (Field::AjpRetries, u64::from(w.retries)),
        (Field::AjpRetryInterval, u64::from(w.retry_interval_ms)),
        (
            Field::AjpPingInterval,
            u64::from(w.connection_ping_interval_s),
        ),
        (Field::AjpRecoveryOptions, u64::from(w.recovery_options.0)),
        (Field::AjpMaxPacketSize, u64::from(w.max_packet_size)),
    ]
}

fn fingerprint(w: &AjpWorker) -> u64 {
    // FNV-1a over the configured values and host; never 0 (0 = slot never configured).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: &[u8]| {
        for &x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (_, v) in configured(w) {
        eat(&v.to_le_bytes());
    }
    eat(w.host.as_bytes());
    h | 1
}

/// Creates or reopens the shared settings of every ajp worker. A slot whose stored
/// fingerprint matches the configuration keeps its (possibly edited) values; otherwise the
/// configuration is written. Endpoints are brought in line with the shared values.
pub fn open(
    region: Region<'static>,
    workers: &WorkersConfig,
    endpoints: &HashMap<String, Arc<Endpoint>>,
) -> Result<HashMap<String, AjpShared>, String> {
    let mut out = HashMap::new();
    for w in &workers.workers {
        let WorkerKind::Ajp(a) = &w.kind else {
            continue;
        };
        let (slot, _) = region
            .find_or_alloc(SlotKind::Ajp, &w.name, "")
            .map_err(|e| format!("worker {}: {e}", w.name))?;
        let fp = fingerprint(a);
        if slot.get(Field::AjpConfigHash) != fp {
            slot.with_lock(|| {
                for (f, v) in configured(a) {
                    slot.set(f, v);
                }
            });
            slot.set_string(StrField::Host, &a.host)
                .map_err(|e| format!("worker {}: {e}", w.name))?;
            slot.set(Field::AjpConfigHash, fp);
            slot.add(Field::AjpSeq, 1);
        }
        let shared = AjpShared {
            slot,
            seen: AtomicU64::new(u64::MAX),
        };
        if let Some(ep) = endpoints.get(&w.name) {
            shared.sync(ep, a);
        }
        out.insert(w.name.clone(), shared);
    }
    Ok(out)
}

impl AjpShared {
    /// Applies the shared values to this process's endpoint when they changed since.
    pub fn sync(&self, ep: &Endpoint, w: &AjpWorker) {
        let seq = self.slot.get(Field::AjpSeq);
        // A plain load first: the usual case (nothing changed) must not write the shared
        // cache line on every request.
        if self.seen.load(Ordering::Acquire) == seq || self.seen.swap(seq, Ordering::AcqRel) == seq
        {
            return;
        }
        let g = |f| self.slot.get(f);
        let host = self.slot.string(StrField::Host);
        let port = g(Field::AjpPort) as u16;
        let ms = |v: u64| (v > 0).then(|| Duration::from_millis(v));
        let cur = ep.config();
        let addr = if port == 0 {
            None
        } else if host == w.host && port == w.port && cur.addr.is_some() {
            cur.addr
        } else {
            crate::endpoints::resolve(&host, port, w.prefer_ipv6).ok()
        };
        ep.update_config(|c| {
            c.addr = addr;
            c.pool_timeout = (g(Field::AjpPoolTimeout) > 0)
                .then(|| Duration::from_secs(g(Field::AjpPoolTimeout)));
            // CPing waits follow an edited value; unedited ones keep what ping_mode derived.
            if g(Field::AjpPingTimeout) != u64::from(w.ping_timeout_ms) {
                c.ping.interval = c.ping.interval.and(ms(g(Field::AjpPingTimeout)));
            }
            if g(Field::AjpConnectTimeout) != u64::from(w.connect_timeout_ms) {
                c.ping.connect = ms(g(Field::AjpConnectTimeout));
            }
            if g(Field::AjpPrepostTimeout) != u64::from(w.prepost_timeout_ms) {
                c.ping.prepost = ms(g(Field::AjpPrepostTimeout));
            }
            c.reply_timeout = ms(g(Field::AjpReplyTimeout));
            c.retries = (g(Field::AjpRetries) as u32).max(1);
            c.retry_interval = Duration::from_millis(g(Field::AjpRetryInterval));
            c.ping_interval = (g(Field::AjpPingInterval) > 0)
                .then(|| Duration::from_secs(g(Field::AjpPingInterval)));
            c.recovery_options = g(Field::AjpRecoveryOptions) as u32;
            c.max_packet_size = (g(Field::AjpMaxPacketSize) as usize).clamp(8192, 65536);
        });
    }

    pub fn host(&self) -> String {
        self.slot.string(StrField::Host)
    }

    pub fn get(&self, f: Field) -> u64 {
        self.slot.get(f)
    }
}
