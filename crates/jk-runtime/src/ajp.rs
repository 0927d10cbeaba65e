//! Runtime-editable connection settings of ajp workers (status worker `va*` parameters): kept
//! in the shared region so every httpd child's endpoint follows an edit made through any
//! child, and kept over restarts while workers.properties does not change them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use jk_ajp_client::worker::{resolve, RuntimeSettings};
use jk_ajp_client::{ConnectionCounter, Endpoint, Traffic};
use jk_config::{AjpWorker, MemberState, WorkerKind, WorkersConfig};
use jk_shm::{ChildField, ChildIndex, Field, Region, Slot, SlotKind, StrField};

/// The shared settings of one ajp worker, and the edit count this process has applied.
pub struct AjpShared {
    pub slot: Slot<'static>,
    seen: AtomicU64,
    /// The address the configured host and port resolved to when this generation started:
    /// an edit back to the configured host/port returns to it, unless the name was followed
    /// elsewhere since (the slot's [`StrField::Followed`], which every child reads).
    configured_addr: Option<SocketAddr>,
}

/// How a request on a standalone ajp worker ended, for its statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    Ok,
    ClientError,
    ReplyTimeout,
    Error,
}

/// This process's entry in the shared child table, once it has one (httpd's child_init);
/// the per-child words of the shared region are written only while it is set.
#[derive(Debug)]
pub struct ChildCell(AtomicUsize);

const NO_CHILD: usize = usize::MAX;

impl Default for ChildCell {
    fn default() -> Self {
        ChildCell(AtomicUsize::new(NO_CHILD))
    }
}

impl ChildCell {
    pub fn set(&self, c: ChildIndex) {
        self.0.store(c.0, Ordering::Release);
    }

    /// The process left the child table: what it still closes is no longer its to count.
    pub fn clear(&self) {
        self.0.store(NO_CHILD, Ordering::Release);
    }

    pub fn get(&self) -> Option<ChildIndex> {
        match self.0.load(Ordering::Acquire) {
            NO_CHILD => None,
            c => Some(ChildIndex(c)),
        }
    }
}

/// Counts an endpoint's open connections in its worker's slot, on this child's line
/// (mod_jk `connected` / `max_connected`, summed over the children by the status worker).
struct SlotConnections {
    slot: Slot<'static>,
    child: Arc<ChildCell>,
}

impl ConnectionCounter for SlotConnections {
    fn opened(&self) -> usize {
        match self.child.get() {
            Some(c) => {
                self.slot.connected_inc(c);
                c.0
            }
            None => NO_CHILD,
        }
    }

    fn closed(&self, token: usize) {
        // Only while this process still holds the entry it counted the connection under
        // (after it left, the entry may be another child's).
        if token != NO_CHILD && self.child.get() == Some(ChildIndex(token)) {
            self.slot.connected_dec(ChildIndex(token));
        }
    }
}

/// Makes every endpoint count its connections in its worker's shared slot, on the line of
/// the child `child` names.
pub(crate) fn count_connections(
    endpoints: &crate::ByName<Arc<Endpoint>>,
    shared: &crate::ByName<AjpShared>,
    child: &Arc<ChildCell>,
) {
    for (name, ep) in endpoints {
        if let Some(sh) = shared.get(name) {
            ep.set_connection_counter(Arc::new(SlotConnections {
                slot: sh.slot,
                child: Arc::clone(child),
            }));
        }
    }
}

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
    endpoints: &crate::ByName<Arc<Endpoint>>,
    now: u64,
) -> Result<crate::ByName<AjpShared>, String> {
    let mut out = crate::ByName::default();
    for w in workers.all_workers() {
        let WorkerKind::Ajp(a) = &w.kind else {
            continue;
        };
        let (slot, new) = region
            .find_or_alloc(SlotKind::Ajp, &w.name, "")
            .map_err(|e| format!("worker {}: {e}", w.name))?;
        if new || slot.get(Field::LastReset) == 0 {
            slot.set(Field::LastReset, now);
        }
        let configured = RuntimeSettings::configured(a);
        let fp = configured.fingerprint();
        // A growth slot's address belongs to the member added into it (runtime membership):
        // a changed template does not take it away.
        let runtime_address = a.growth_of.is_some() && slot.get(Field::AjpPort) != 0;
        if slot.get(Field::AjpConfigHash) != fp {
            slot.with_lock(|| {
                for (f, v) in FIELDS.into_iter().zip(configured.numbers()) {
                    if !(runtime_address && f == Field::AjpPort) {
                        slot.set(f, v);
                    }
                }
            });
            if !runtime_address {
                slot.set_string(StrField::Host, &a.host)
                    .map_err(|e| format!("worker {}: {e}", w.name))?;
            }
            slot.set(Field::AjpConfigHash, fp);
            slot.add(Field::AjpSeq, 1);
        }
        // The host name was resolved anew for this generation: an address followed by the
        // last one is older news.
        if !slot.string(StrField::Followed).is_empty() {
            let _ = slot.set_string(StrField::Followed, "");
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
        let at_configured = self.followed().or(self.configured_addr);
        let addr = if now.port == 0 {
            None
        } else if now.host == w.host && now.port == w.port && at_configured.is_some() {
            // Back to (or still at) the configured host: its address as last followed (by
            // any child), else from start-up; not the one the endpoint has now (that may be
            // a temporary edit's).
            at_configured
        } else {
            resolve(&now.host, now.port, w.prefer_ipv6).ok()
        };
        ep.update_config(|c| now.apply(c, &configured, addr));
    }

    /// Points this (growth slot's) worker at `host:port` with `template`'s runtime settings
    /// when given (runtime membership): every child's endpoint follows with its next use and
    /// drops connections to the old address.
    pub fn set_address(
        &self,
        host: &str,
        port: u16,
        template: Option<&AjpShared>,
    ) -> Result<(), String> {
        self.slot
            .set_string(StrField::Host, host)
            .map_err(|e| e.to_string())?;
        self.slot.with_lock(|| {
            if let Some(t) = template {
                for f in FIELDS {
                    self.slot.set(f, t.slot.get(f));
                }
            }
            self.slot.set(Field::AjpPort, u64::from(port));
        });
        self.slot.add(Field::AjpSeq, 1);
        Ok(())
    }

    /// This worker's configured host name resolves to `addrs` now (the member fails: a
    /// container that came back on a new address). When this process's endpoint points at
    /// none of them and no runtime edit changed the host or port, it follows the name: the
    /// first address (of the preferred family) from now on, its pooled connections to the
    /// old one dropped. The address goes into the shared record ([`StrField::Followed`]), so
    /// every child's endpoint moves with its next use, as after a status-worker edit (a
    /// child that only sees the member come back through another child's probe must not
    /// keep the old address). Returns (old, new) when it moved.
    pub fn follow_configured_host(
        &self,
        ep: &Endpoint,
        w: &AjpWorker,
        addrs: &[SocketAddr],
    ) -> Option<(Option<SocketAddr>, SocketAddr)> {
        if !self.trusted() || self.slot.string(StrField::Host) != w.host || self.port() != w.port {
            return None;
        }
        let old = ep.config().addr;
        if old.is_some_and(|a| addrs.contains(&a)) {
            return None;
        }
        let new = *addrs
            .iter()
            .find(|a| a.is_ipv6() == w.prefer_ipv6)
            .or_else(|| addrs.first())?;
        // An address too long for the record (an IPv6 scope) is not followed.
        self.slot
            .set_string(StrField::Followed, &new.to_string())
            .ok()?;
        self.slot.add(Field::AjpSeq, 1);
        self.sync(ep, w);
        Some((old, new))
    }

    /// The address the configured host name was last followed to, by any child.
    fn followed(&self) -> Option<SocketAddr> {
        let s = self.slot.string(StrField::Followed);
        if s.is_empty() {
            return None;
        }
        s.parse().ok()
    }

    /// Contact disabled (port 0): a freed growth slot.
    pub fn clear_address(&self) {
        self.slot.set(Field::AjpPort, 0);
        self.slot.add(Field::AjpSeq, 1);
    }

    /// The port in the shared settings (0: contact disabled).
    pub fn port(&self) -> u16 {
        u16::try_from(self.slot.get(Field::AjpPort)).unwrap_or(0)
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
        self.slot.child_add(child, ChildField::Elected, 1);
    }

    /// The request that [`begin`](Self::begin) counted ended `how` after `traffic` (mod_jk's
    /// `ajp_update_stats`: the AJP bytes sent and received whatever the outcome; errors,
    /// reply timeouts and client errors; the state OK or ERR with the time of the last
    /// error).
    pub fn end(&self, child: ChildIndex, how: Served, traffic: Traffic, now: u64) {
        self.slot.busy_dec(child);
        self.count_traffic(child, traffic);
        match how {
            Served::Ok => {
                self.set_state(MemberState::Ok);
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
                self.set_state(MemberState::Error);
            }
        }
    }

    /// AJP bytes of a request of child `child`, on its own line of the slot.
    pub fn count_traffic(&self, child: ChildIndex, t: Traffic) {
        self.slot.child_add(child, ChildField::Read, t.received);
        self.slot.child_add(child, ChildField::Transferred, t.sent);
    }

    /// AJP bytes received from the backend, all children.
    pub fn read(&self) -> u64 {
        self.slot.child_sum(ChildField::Read)
    }

    /// AJP bytes sent to the backend, all children.
    pub fn transferred(&self) -> u64 {
        self.slot.child_sum(ChildField::Transferred)
    }

    /// Connections open to the backend across children.
    pub fn connected(&self) -> u64 {
        self.slot.connected()
    }

    /// `Field::State` of the slot: [`MemberState`]'s codes, of which a standalone worker
    /// uses IDLE (never served, or reset), OK and ERR.
    fn set_state(&self, st: MemberState) {
        let st = u64::from(st.code());
        // Read first: the usual case (no change) must not write the shared line.
        if self.slot.get(Field::State) != st {
            self.slot.set(Field::State, st);
        }
    }

    /// The statistics back to zero (status worker `cmd=reset`; mod_jk also zeroes read,
    /// transferred and max_connected, not the open connections).
    pub fn reset(&self, now: u64) {
        for f in [
            Field::Errors,
            Field::ClientErrors,
            Field::ReplyTimeouts,
            Field::LastErrorTime,
            Field::MaxBusy,
            Field::MaxConnected,
            Field::State,
        ] {
            self.slot.set(f, 0);
        }
        self.slot.child_zero(ChildField::Read);
        self.slot.child_zero(ChildField::Transferred);
        self.slot.child_zero(ChildField::Elected);
        self.slot.set(Field::LastReset, now);
    }

    /// The worker's state for the status page: idle until a request was served, then OK or
    /// ERR after the last one.
    pub fn state(&self) -> MemberState {
        MemberState::from_code(self.slot.get(Field::State)).unwrap_or_default()
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
    /// The request ended `how` after `traffic`.
    pub fn finish(mut self, how: Served, traffic: Traffic, now: u64) {
        self.done = true;
        self.sh.end(self.child, how, traffic, now);
    }
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.sh.end(
                self.child,
                Served::Error,
                Traffic::default(),
                jk_urimap::unix_now(),
            );
        }
    }
}
