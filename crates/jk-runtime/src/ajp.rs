//! Runtime-editable connection settings of ajp workers (status worker `va*` parameters): kept
//! in the shared region so every httpd child's endpoint follows an edit made through any
//! child, and kept over restarts while workers.properties does not change them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use jk_ajp_client::worker::{resolve, RuntimeSettings};
use jk_ajp_client::Endpoint;
use jk_config::{AjpWorker, WorkerKind, WorkersConfig};
use jk_shm::{ChildIndex, Field, Region, Slot, SlotKind, StrField};

/// The shared settings of one ajp worker, and the edit count this process has applied.
pub struct AjpShared {
    pub slot: Slot<'static>,
    seen: AtomicU64,
    /// The address the configured host and port resolved to when this generation started:
    /// an edit back to the configured host/port returns to it.
    configured_addr: Option<SocketAddr>,
}

/// How a request on a standalone ajp worker ended, for its statistics.
#[derive(Clone, Copy, Debug)]
pub enum Served {
    Ok { read: u64, transferred: u64 },
    ClientError,
    ReplyTimeout,
    Error,
}

/// `Field::State` of an ajp worker slot (0 = idle, never served).
const STATE_OK: u64 = 1;
const STATE_ERROR: u64 = 2;

/// The shared fields holding [`RuntimeSettings::numbers`], in that order.
const FIELDS: [Field; 11] = [
    Field::AjpPort,
    Field::AjpPoolTimeout,
    Field::AjpPingTimeout,
    Field::AjpConnectTimeout,
    Field::AjpPrepostTimeout,
    Field::AjpReplyTimeout,
    Field::AjpRetries,
    Field::AjpRetryInterval,
    Field::AjpPingInterval,
    Field::AjpRecoveryOptions,
    Field::AjpMaxPacketSize,
];

/// Creates or reopens the shared settings of every ajp worker. A slot whose stored
/// fingerprint matches the configuration keeps its (possibly edited) values; otherwise the
/// configuration is written. Endpoints are brought in line with the shared values.
pub(crate) fn open(
    region: Region<'static>,
    workers: &WorkersConfig,
    endpoints: &HashMap<String, Arc<Endpoint>>,
    now: u64,
) -> Result<HashMap<String, AjpShared>, String> {
    let mut out = HashMap::new();
    for w in &workers.workers {
        let WorkerKind::Ajp(a) = &w.kind else {
            continue;
        };
        let (slot, new) = region
            .find_or_alloc(SlotKind::Ajp, &w.name, "")
            .map_err(|e| format!("worker {}: {e}", w.name))?;
        if new {
            slot.set(Field::LastReset, now);
        }
        let configured = RuntimeSettings::configured(a);
        let fp = configured.fingerprint();
        if slot.get(Field::AjpConfigHash) != fp {
            slot.with_lock(|| {
                for (f, v) in FIELDS.into_iter().zip(configured.numbers()) {
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
            configured_addr: endpoints.get(&w.name).and_then(|ep| ep.config().addr),
        };
        if let Some(ep) = endpoints.get(&w.name) {
            shared.sync(ep, a);
        }
        out.insert(w.name.clone(), shared);
    }
    Ok(out)
}

impl AjpShared {
    /// Whether the slot still holds this worker's record. When it does not (the
    /// runtime-status file was overwritten), its values are unknown: the endpoint keeps the
    /// settings it has and the status worker shows the configured ones.
    pub fn trusted(&self) -> bool {
        self.slot.kind() == Some(SlotKind::Ajp)
    }

    /// Applies the shared values to this process's endpoint when they changed since (not
    /// while the slot is not [trusted](AjpShared::trusted)).
    pub fn sync(&self, ep: &Endpoint, w: &AjpWorker) {
        if !self.trusted() {
            return;
        }
        let seq = self.slot.get(Field::AjpSeq);
        // A plain load first: the usual case (nothing changed) must not write the shared
        // cache line on every request.
        if self.seen.load(Ordering::Acquire) == seq || self.seen.swap(seq, Ordering::AcqRel) == seq
        {
            return;
        }
        let now = RuntimeSettings::from_numbers(
            self.slot.string(StrField::Host),
            FIELDS.map(|f| self.slot.get(f)),
        );
        let configured = RuntimeSettings::configured(w);
        let addr = if now.port == 0 {
            None
        } else if now.host == w.host && now.port == w.port && self.configured_addr.is_some() {
            // Back to (or still at) the configured host: its address from start-up, not the
            // one the endpoint has now (that may be a temporary edit's).
            self.configured_addr
        } else {
            resolve(&now.host, now.port, w.prefer_ipv6).ok()
        };
        ep.update_config(|c| now.apply(c, &configured, addr));
    }

    /// A request starts on this (standalone) worker; the statistics are completed by
    /// [`Tracked::finish`], or as an error if the guard is dropped without it (a panic).
    pub fn track(&self, child: ChildIndex) -> Tracked<'_> {
        self.begin(child);
        Tracked {
            sh: self,
            child,
            done: false,
        }
    }

    /// A request starts on this (standalone) worker: one more in flight and one more used.
    pub fn begin(&self, child: ChildIndex) {
        self.slot.busy_inc(child);
        self.slot.add(Field::Elected, 1);
    }

    /// The request that [`begin`](Self::begin) counted ended `how` (mod_jk's ajp worker
    /// statistics: bytes on success; errors, reply timeouts and client errors; the state
    /// OK or ERR with the time of the last error).
    pub fn end(&self, child: ChildIndex, how: Served, now: u64) {
        self.slot.busy_dec(child);
        match how {
            Served::Ok { read, transferred } => {
                self.slot.add(Field::Read, read);
                self.slot.add(Field::Transferred, transferred);
                self.set_state(STATE_OK);
            }
            Served::ClientError => {
                self.slot.add(Field::ClientErrors, 1);
            }
            Served::ReplyTimeout | Served::Error => {
                if matches!(how, Served::ReplyTimeout) {
                    self.slot.add(Field::ReplyTimeouts, 1);
                }
                self.slot.add(Field::Errors, 1);
                self.slot.set(Field::LastErrorTime, now);
                self.set_state(STATE_ERROR);
            }
        }
    }

    fn set_state(&self, st: u64) {
        // Read first: the usual case (no change) must not write the shared line.
        if self.slot.get(Field::State) != st {
            self.slot.set(Field::State, st);
        }
    }

    /// The statistics back to zero (status worker `cmd=reset`).
    pub fn reset(&self, now: u64) {
        for f in [
            Field::Elected,
            Field::Read,
            Field::Transferred,
            Field::Errors,
            Field::ClientErrors,
            Field::ReplyTimeouts,
            Field::LastErrorTime,
            Field::MaxBusy,
            Field::State,
        ] {
            self.slot.set(f, 0);
        }
        self.slot.set(Field::LastReset, now);
    }

    /// The worker's state for the status page: idle until a request was served, then OK or
    /// ERR after the last one.
    pub fn state(&self) -> jk_status::WorkerState {
        match self.slot.get(Field::State) {
            STATE_OK => jk_status::WorkerState::Ok,
            STATE_ERROR => jk_status::WorkerState::Error,
            _ => jk_status::WorkerState::Idle,
        }
    }

    pub fn host(&self) -> String {
        self.slot.string(StrField::Host)
    }

    pub fn get(&self, f: Field) -> u64 {
        self.slot.get(f)
    }
}

/// A request counted by [`AjpShared::track`].
pub struct Tracked<'a> {
    sh: &'a AjpShared,
    child: ChildIndex,
    done: bool,
}

impl Tracked<'_> {
    /// The request ended `how`.
    pub fn finish(mut self, how: Served, now: u64) {
        self.done = true;
        self.sh.end(self.child, how, now);
    }
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.sh
                .end(self.child, Served::Error, jk_urimap::unix_now());
        }
    }
}
