//! The shared-memory layout of mod_jk-rs: the runtime state of workers and load-balancer
//! members that every httpd child process sees (reference §5.7, ARCHITECTURE.md rule 5).
//!
//! The region is an array of `AtomicU64` words, and this crate only ever indexes into it: no
//! pointers, no `String`, no locks that park per process. All zeros is a valid, empty region;
//! the httpd glue maps a file with `MAP_SHARED` and hands the words to [`Region::open`].
//!
//! Layout (word offsets):
//!
//! ```text
//! header   HEADER_WORDS   magic, version, geometry, allocation counter, maintenance stamp
//! children child_capacity the pid of each attached httpd child (0 = free), padded to a
//!          cache line
//! slots    slot_capacity × slot_words(child_capacity)
//!          FIXED_WORDS fields (see [`Field`] and the string fields), then one cache line
//!          of CHILD_WORDS per child (see [`ChildField`]): the in-flight requests and open
//!          backend connections of that child (gauges, cleared when the child is reaped, so
//!          a child killed mid-request no longer counts), and the bytes its requests sent to
//!          and received from the backend (counters, kept after the child is gone)
//! ```
//!
//! A value every request changes lives in the per-child lines: each child writes only its own
//! cache line of a slot, and a reader sums the children. The region is page-aligned and every
//! part starts on a cache line.
//!
//! Strings (names, routes) and other multi-word values are written under a per-slot
//! sequence lock: writers are rare (configuration, status-worker edits) and take it with a
//! compare-and-swap; readers retry while a write is in progress.
#![forbid(unsafe_code)]

use std::sync::atomic::{fence, AtomicU64, Ordering};

/// `b"JKRSSHM1"` as a little-endian word.
pub const MAGIC: u64 = u64::from_le_bytes(*b"JKRSSHM1");
/// Layout version; bump when a field moves.
pub const VERSION: u64 = 3;
/// Words of the header.
pub const HEADER_WORDS: usize = 16;
/// Fixed words of a slot (before the per-child lines).
pub const FIXED_WORDS: usize = 160;
/// Words of one cache line (64 bytes).
pub const LINE_WORDS: usize = 8;
/// Words per child in every slot: one cache line (see [`ChildField`]).
pub const CHILD_WORDS: usize = LINE_WORDS;
/// Longest string a slot stores (mod_jk's limit is 60 bytes).
pub const MAX_STR: usize = 64;
const STR_WORDS: usize = MAX_STR / 8;

const H_MAGIC: usize = 0;
const H_VERSION: usize = 1;
const H_CHILDREN: usize = 2;
const H_SLOTS: usize = 3;
const H_USED: usize = 4;
const H_MAINTAIN: usize = 5;
const H_GENERATION: usize = 6;

/// What a slot describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// An ajp13 worker (standalone or the connection side of a member).
    Ajp = 1,
    /// A load balancer.
    Lb = 2,
    /// A load-balancer member (its `parent` is the lb's name).
    Member = 3,
    /// Requests held for a load-balancer member, counted per child in the slot's busy words
    /// (reaped with a dead child); `parent` is the lb's name.
    Held = 4,
}

impl SlotKind {
    fn from_word(w: u64) -> Option<SlotKind> {
        match w {
            1 => Some(SlotKind::Ajp),
            2 => Some(SlotKind::Lb),
            3 => Some(SlotKind::Member),
            4 => Some(SlotKind::Held),
            _ => None,
        }
    }
}

/// Numeric fields of a slot. The meaning of the values (activation codes, states) belongs to
/// the load balancer; this crate only stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Field {
    Activation = 42,
    State = 43,
    LbFactor = 44,
    LbMult = 45,
    LbValue = 46,
    Distance = 47,
    FirstErrorTime = 48,
    LastErrorTime = 49,
    Elected = 50,
    Sessions = 51,
    Errors = 52,
    ClientErrors = 53,
    ReplyTimeouts = 54,
    // 55, 56: free (bytes sent and received are per child since layout 3: ChildField).
    MaxBusy = 57,
    // 58: free (open connections are per child since layout 3: ChildField::Connected).
    /// Most connections open to the backend at once, across children (mod_jk
    /// `max_connected`).
    MaxConnected = 59,
    LastReset = 60,
    /// Fingerprint of the configured values this slot was last set from (graceful merge).
    ConfigHash = 61,
    /// Member flags (bits owned by the load balancer: restarting, awaiting readiness).
    Flags = 62,
    /// Time the current state was entered.
    StateSince = 63,
    /// lb settings changeable at runtime.
    Retries = 64,
    RetryInterval = 65,
    RecoverTime = 66,
    ErrorEscalationTime = 67,
    MaxReplyTimeouts = 68,
    StickySession = 69,
    StickySessionForce = 70,
    Method = 71,
    Lock = 72,
    /// Configured values remembered for the graceful merge.
    ConfiguredActivation = 73,
    ConfiguredLbFactor = 74,
    ConfiguredDistance = 75,
    /// Successive good probes (readiness).
    GoodProbes = 76,
    /// Unix time of the last request routed by session.
    LastStickyTime = 77,
    /// Free for later use.
    Reserved0 = 78,
    /// Recent distinct sessions: two bitmaps of [`SESSION_BITMAP_WORDS`] words each, this
    /// word and the following ones (offsets 79..=110); read them with [`Slot::atomics`].
    SessionBits = 79,
    /// Number (+1, 0 = never) of the session window the current bitmap belongs to.
    SessionWindow = 111,
    /// Readiness-probe lease: time in ms of the last claimed probe (compare-and-swap).
    ProbeLease = 112,
    /// Unix time a member last returned to rotation (slow start).
    ReturnedAt = 113,
    // 114..122: StrField::Host.
    /// An ajp worker's connection settings, editable at runtime through the status worker
    /// (every child's endpoint follows them); `AjpSeq` counts the edits.
    AjpPort = 122,
    AjpPoolTimeout = 123,
    AjpPingTimeout = 124,
    AjpConnectTimeout = 125,
    AjpPrepostTimeout = 126,
    AjpReplyTimeout = 127,
    AjpRetries = 128,
    AjpRetryInterval = 129,
    AjpPingInterval = 130,
    AjpRecoveryOptions = 131,
    AjpMaxPacketSize = 132,
    AjpSeq = 133,
    /// Fingerprint of the configured ajp settings these values were set from (restart merge).
    AjpConfigHash = 134,
}

/// Words of one recent-session bitmap ([`Field::SessionBits`] holds two).
pub const SESSION_BITMAP_WORDS: usize = 16;

const _: () = assert!(
    Field::SessionBits as usize + 2 * SESSION_BITMAP_WORDS <= Field::SessionWindow as usize
);
const _: () = assert!((Field::AjpConfigHash as usize) < FIXED_WORDS);
const _: () = assert!(FIXED_WORDS % LINE_WORDS == 0 && HEADER_WORDS % LINE_WORDS == 0);
const _: () = assert!((StrField::Host as usize) + 8 <= Field::AjpPort as usize);

/// Word offsets of the string fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum StrField {
    Name = 2,
    Parent = 10,
    Route = 18,
    Domain = 26,
    Redirect = 34,
    /// An ajp worker's host (runtime-editable).
    Host = 114,
}

/// The words of one child's cache line in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum ChildField {
    /// Requests of this child in flight (gauge).
    Busy = 0,
    /// Connections this child holds open to the backend (gauge; mod_jk `connected` is the
    /// sum over the children).
    Connected = 1,
    /// AJP bytes received from the backend by this child's requests (counter; mod_jk
    /// `readed`, the status worker's `read`).
    Read = 2,
    /// AJP bytes sent to the backend by this child's requests (counter; mod_jk
    /// `transferred`).
    Transferred = 3,
}

impl ChildField {
    /// Gauges describe the child's current activity: they go back to zero when it leaves or
    /// is reaped. Counters keep what the child did.
    fn is_gauge(self) -> bool {
        matches!(self, ChildField::Busy | ChildField::Connected)
    }

    const ALL: [ChildField; 4] = [
        ChildField::Busy,
        ChildField::Connected,
        ChildField::Read,
        ChildField::Transferred,
    ];
}

const _: () = assert!((ChildField::Transferred as usize) < CHILD_WORDS);

const S_KIND: usize = 0;
const S_SEQ: usize = 1;

/// Why a region cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShmError {
    /// The words are fewer than the geometry needs.
    TooSmall { needed: usize, have: usize },
    /// Another program's data, or another layout version.
    Incompatible(String),
    /// Every slot is taken.
    Full,
    /// A string longer than [`MAX_STR`] bytes.
    TooLong(usize),
}

impl std::fmt::Display for ShmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShmError::TooSmall { needed, have } => {
                write!(
                    f,
                    "shared memory too small: {needed} words needed, {have} mapped"
                )
            }
            ShmError::Incompatible(m) => write!(f, "shared memory has another layout: {m}"),
            ShmError::Full => f.write_str("shared memory full: no free worker slot"),
            ShmError::TooLong(n) => write!(f, "string of {n} bytes is longer than {MAX_STR}"),
        }
    }
}

impl std::error::Error for ShmError {}

/// Words of one slot for `child_capacity` children.
pub fn slot_words(child_capacity: usize) -> usize {
    FIXED_WORDS + CHILD_WORDS * child_capacity
}

/// Words of the child table (whole cache lines, so the slots start on one).
fn child_table_words(child_capacity: usize) -> usize {
    child_capacity.next_multiple_of(LINE_WORDS)
}

/// Words a region with this geometry needs.
pub fn words_needed(child_capacity: usize, slot_capacity: usize) -> usize {
    HEADER_WORDS + child_table_words(child_capacity) + slot_capacity * slot_words(child_capacity)
}

/// The shared region.
#[derive(Clone, Copy)]
pub struct Region<'a> {
    words: &'a [AtomicU64],
    children: usize,
    slots: usize,
}

/// Index of an attached child in the child table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildIndex(pub usize);

impl Region<'static> {
    /// A new zeroed region in this process's heap, never freed: one process only (tests, or
    /// a tool that needs the layout without a shared file).
    pub fn in_heap(child_capacity: usize, slot_capacity: usize) -> Region<'static> {
        let words: Vec<AtomicU64> = (0..words_needed(child_capacity, slot_capacity))
            .map(|_| AtomicU64::new(0))
            .collect();
        let words: &'static [AtomicU64] = Box::leak(words.into_boxed_slice());
        match Region::open(words, child_capacity, slot_capacity) {
            Ok(r) => r,
            // Zeroed memory of exactly the needed size always opens.
            Err(e) => unreachable!("a fresh region does not open: {e}"),
        }
    }
}

impl<'a> Region<'a> {
    /// Opens `words`: an all-zero region is initialised with this geometry; an initialised
    /// one must have the same magic, version and geometry.
    pub fn open(
        words: &'a [AtomicU64],
        child_capacity: usize,
        slot_capacity: usize,
    ) -> Result<Region<'a>, ShmError> {
        let needed = words_needed(child_capacity, slot_capacity);
        if words.len() < needed {
            return Err(ShmError::TooSmall {
                needed,
                have: words.len(),
            });
        }
        let r = Region {
            words,
            children: child_capacity,
            slots: slot_capacity,
        };
        let geometry = VERSION | ((child_capacity as u64) << 16) | ((slot_capacity as u64) << 40);
        match words[H_MAGIC].compare_exchange(0, MAGIC, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                words[H_CHILDREN].store(child_capacity as u64, Ordering::Relaxed);
                words[H_SLOTS].store(slot_capacity as u64, Ordering::Relaxed);
                words[H_VERSION].store(geometry, Ordering::Release);
                Ok(r)
            }
            Err(MAGIC) => {
                // Wait for a concurrent initialiser to publish the geometry.
                let mut g = words[H_VERSION].load(Ordering::Acquire);
                for _ in 0..1_000_000 {
                    if g != 0 {
                        break;
                    }
                    std::hint::spin_loop();
                    g = words[H_VERSION].load(Ordering::Acquire);
                }
                if g == geometry {
                    Ok(r)
                } else {
                    Err(ShmError::Incompatible(format!(
                        "version/geometry word {g:#x}, expected {geometry:#x}"
                    )))
                }
            }
            Err(other) => Err(ShmError::Incompatible(format!("magic {other:#x}"))),
        }
    }

    /// Capacity of the child table.
    pub fn child_capacity(&self) -> usize {
        self.children
    }

    /// Capacity of the slot table.
    pub fn slot_capacity(&self) -> usize {
        self.slots
    }

    /// Slots allocated so far.
    pub fn slots_used(&self) -> usize {
        (self.words[H_USED].load(Ordering::Acquire) as usize).min(self.slots)
    }

    /// Unix time of the last global maintenance (coordinated across children).
    pub fn last_maintain(&self) -> &AtomicU64 {
        &self.words[H_MAINTAIN]
    }

    /// A counter bumped whenever a configuration value changes at runtime, so children can
    /// notice edits made by another process.
    pub fn generation(&self) -> &AtomicU64 {
        &self.words[H_GENERATION]
    }

    fn child_word(&self, i: usize) -> &AtomicU64 {
        &self.words[HEADER_WORDS + i]
    }

    /// Registers a child process; None when the table is full.
    pub fn attach_child(&self, pid: u32) -> Option<ChildIndex> {
        (0..self.children).find_map(|i| {
            self.child_word(i)
                .compare_exchange(0, u64::from(pid), Ordering::AcqRel, Ordering::Relaxed)
                .ok()
                .map(|_| ChildIndex(i))
        })
    }

    /// Unregisters a child and clears its gauges (busy, connected); its byte counters stay
    /// in the totals.
    pub fn detach_child(&self, c: ChildIndex) {
        self.clear_child_gauges(c);
        self.child_word(c.0).store(0, Ordering::Release);
    }

    fn clear_child_gauges(&self, c: ChildIndex) {
        for s in self.slots() {
            for f in ChildField::ALL.into_iter().filter(|f| f.is_gauge()) {
                s.child_word(c, f).store(0, Ordering::Release);
            }
        }
    }

    /// Releases the entries of children that no longer exist (`alive(pid)` false), so a
    /// child killed mid-request does not leave members busy (or connections counted as open)
    /// forever. Returns how many.
    pub fn reap_dead_children(&self, alive: impl Fn(u32) -> bool) -> usize {
        let mut reaped = 0;
        for i in 0..self.children {
            let pid = self.child_word(i).load(Ordering::Acquire) as u32;
            if pid != 0 && !alive(pid) {
                self.clear_child_gauges(ChildIndex(i));
                if self
                    .child_word(i)
                    .compare_exchange(u64::from(pid), 0, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    reaped += 1;
                }
            }
        }
        reaped
    }

    /// The pids of attached children.
    pub fn children(&self) -> Vec<u32> {
        (0..self.children)
            .map(|i| self.child_word(i).load(Ordering::Acquire) as u32)
            .filter(|&p| p != 0)
            .collect()
    }

    fn slot_at(&self, i: usize) -> Slot<'a> {
        let w = slot_words(self.children);
        let start = HEADER_WORDS + child_table_words(self.children) + i * w;
        Slot {
            words: &self.words[start..start + w],
        }
    }

    /// Every allocated slot.
    pub fn slots(&self) -> impl Iterator<Item = Slot<'a>> + '_ {
        (0..self.slots_used())
            .map(|i| self.slot_at(i))
            .filter(|s| s.kind().is_some())
    }

    /// The slot of `kind` named `name` (members: of lb `parent`).
    pub fn find(&self, kind: SlotKind, name: &str, parent: &str) -> Option<Slot<'a>> {
        self.slots().find(|s| {
            s.kind() == Some(kind)
                && s.string(StrField::Name) == name
                && s.string(StrField::Parent) == parent
        })
    }

    /// The slot of `kind`/`name`/`parent`, allocated (zeroed) when it does not exist yet.
    /// Returns it and whether it was new.
    pub fn find_or_alloc(
        &self,
        kind: SlotKind,
        name: &str,
        parent: &str,
    ) -> Result<(Slot<'a>, bool), ShmError> {
        if name.len() > MAX_STR || parent.len() > MAX_STR {
            return Err(ShmError::TooLong(name.len().max(parent.len())));
        }
        if let Some(s) = self.find(kind, name, parent) {
            return Ok((s, false));
        }
        let i = self.words[H_USED].fetch_add(1, Ordering::AcqRel) as usize;
        if i >= self.slots {
            self.words[H_USED].fetch_sub(1, Ordering::AcqRel);
            return Err(ShmError::Full);
        }
        let s = self.slot_at(i);
        for w in s.words {
            w.store(0, Ordering::Relaxed);
        }
        s.set_string(StrField::Name, name)?;
        s.set_string(StrField::Parent, parent)?;
        s.words[S_KIND].store(kind as u64, Ordering::Release);
        Ok((s, true))
    }
}

/// One worker or member record.
#[derive(Clone, Copy)]
pub struct Slot<'a> {
    words: &'a [AtomicU64],
}

impl<'a> Slot<'a> {
    /// What the slot describes (None while being allocated).
    pub fn kind(&self) -> Option<SlotKind> {
        SlotKind::from_word(self.words[S_KIND].load(Ordering::Acquire))
    }

    /// The atomic of a numeric field (for fetch_add, compare_exchange, …).
    pub fn atomic(&self, f: Field) -> &'a AtomicU64 {
        &self.words[f as usize]
    }

    /// `len` consecutive words starting at `f` (multi-word fields such as
    /// [`Field::SessionBits`]); cut at the end of the fixed fields.
    pub fn atomics(&self, f: Field, len: usize) -> &'a [AtomicU64] {
        let start = f as usize;
        let end = start.saturating_add(len).min(FIXED_WORDS);
        &self.words[start..end]
    }

    pub fn get(&self, f: Field) -> u64 {
        self.atomic(f).load(Ordering::Acquire)
    }

    pub fn set(&self, f: Field, v: u64) {
        self.atomic(f).store(v, Ordering::Release)
    }

    pub fn add(&self, f: Field, v: u64) -> u64 {
        self.atomic(f).fetch_add(v, Ordering::AcqRel)
    }

    /// Raises `f` to `v` if it is lower (max_busy, max_connected).
    pub fn raise(&self, f: Field, v: u64) {
        self.atomic(f).fetch_max(v, Ordering::AcqRel);
    }

    fn lock(&self) {
        let seq = &self.words[S_SEQ];
        loop {
            let s = seq.load(Ordering::Relaxed);
            if s % 2 == 0
                && seq
                    .compare_exchange_weak(s, s + 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
            std::hint::spin_loop();
        }
    }

    fn unlock(&self) {
        self.words[S_SEQ].fetch_add(1, Ordering::Release);
    }

    /// Writes a string field under the slot's sequence lock.
    pub fn set_string(&self, f: StrField, v: &str) -> Result<(), ShmError> {
        let b = v.as_bytes();
        if b.len() > MAX_STR {
            return Err(ShmError::TooLong(b.len()));
        }
        let mut buf = [0u8; MAX_STR];
        buf[..b.len()].copy_from_slice(b);
        self.lock();
        for (i, chunk) in buf.chunks_exact(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.words[f as usize + i].store(u64::from_le_bytes(word), Ordering::Relaxed);
        }
        self.unlock();
        Ok(())
    }

    /// Reads a string field consistently (retrying while a writer holds the lock).
    pub fn string(&self, f: StrField) -> String {
        let seq = &self.words[S_SEQ];
        loop {
            let s1 = seq.load(Ordering::Acquire);
            if s1 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut buf = [0u8; MAX_STR];
            for i in 0..STR_WORDS {
                let w = self.words[f as usize + i].load(Ordering::Relaxed);
                buf[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
            }
            fence(Ordering::Acquire);
            if seq.load(Ordering::Relaxed) == s1 {
                let end = buf.iter().position(|&b| b == 0).unwrap_or(MAX_STR);
                return String::from_utf8_lossy(&buf[..end]).into_owned();
            }
        }
    }

    /// Runs `f` under the slot's sequence lock (for multi-field updates).
    pub fn with_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        self.lock();
        let r = f();
        self.unlock();
        r
    }

    /// Word `f` of child `c`'s line (a child index beyond the table wraps around: the
    /// caller's bug must not panic an httpd child).
    fn child_word(&self, c: ChildIndex, f: ChildField) -> &'a AtomicU64 {
        let children = (self.words.len() - FIXED_WORDS) / CHILD_WORDS;
        let c = c.0 % children.max(1);
        &self.words[FIXED_WORDS + c * CHILD_WORDS + f as usize]
    }

    /// Adds `v` to child `c`'s word `f` (its own cache line: no other child writes there).
    pub fn child_add(&self, c: ChildIndex, f: ChildField, v: u64) {
        if v != 0 {
            self.child_word(c, f).fetch_add(v, Ordering::AcqRel);
        }
    }

    /// Takes one from child `c`'s word `f`, never below zero.
    fn child_sub_one(&self, c: ChildIndex, f: ChildField) {
        let _ = self
            .child_word(c, f)
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                Some(v.saturating_sub(1))
            });
    }

    /// Word `f` summed over all children.
    pub fn child_sum(&self, f: ChildField) -> u64 {
        self.words[FIXED_WORDS..]
            .chunks_exact(CHILD_WORDS)
            .map(|line| line[f as usize].load(Ordering::Acquire))
            .fold(0u64, u64::wrapping_add)
    }

    /// Word `f` back to zero for every child (a statistics reset).
    pub fn child_zero(&self, f: ChildField) {
        for line in self.words[FIXED_WORDS..].chunks_exact(CHILD_WORDS) {
            line[f as usize].store(0, Ordering::Release);
        }
    }

    /// One more in-flight request from child `c`; returns the new total across children.
    pub fn busy_inc(&self, c: ChildIndex) -> u64 {
        self.child_add(c, ChildField::Busy, 1);
        let total = self.busy();
        // Read first: the maximum rarely moves, and a plain load does not take the line.
        if total > self.get(Field::MaxBusy) {
            self.raise(Field::MaxBusy, total);
        }
        total
    }

    /// One in-flight request of child `c` ended.
    pub fn busy_dec(&self, c: ChildIndex) {
        self.child_sub_one(c, ChildField::Busy);
    }

    /// In-flight requests across all children.
    pub fn busy(&self) -> u64 {
        self.child_sum(ChildField::Busy)
    }

    /// Child `c` opened a connection to the backend; returns the new total across children
    /// and raises [`Field::MaxConnected`] to it (mod_jk `ajp_connect_to_endpoint`).
    pub fn connected_inc(&self, c: ChildIndex) -> u64 {
        self.child_add(c, ChildField::Connected, 1);
        let total = self.connected();
        // Read first: the maximum rarely moves, and a plain load does not take the line.
        if total > self.get(Field::MaxConnected) {
            self.raise(Field::MaxConnected, total);
        }
        total
    }

    /// Child `c` closed a connection to the backend.
    pub fn connected_dec(&self, c: ChildIndex) {
        self.child_sub_one(c, ChildField::Connected);
    }

    /// Connections open to the backend across all children (mod_jk `connected`).
    pub fn connected(&self) -> u64 {
        self.child_sum(ChildField::Connected)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn mem(children: usize, slots: usize) -> Vec<AtomicU64> {
        (0..words_needed(children, slots))
            .map(|_| AtomicU64::new(0))
            .collect()
    }

    #[test]
    fn a_heap_region_is_empty_with_the_asked_geometry() {
        let r = Region::in_heap(3, 5);
        assert_eq!(
            (r.child_capacity(), r.slot_capacity(), r.slots_used()),
            (3, 5, 0)
        );
        assert!(r.find_or_alloc(SlotKind::Lb, "lb", "").unwrap().1);
    }

    #[test]
    fn zeroed_memory_initialises_and_reopens() {
        let m = mem(4, 8);
        let r = Region::open(&m, 4, 8).unwrap();
        assert_eq!(r.slots_used(), 0);
        let (s, new) = r.find_or_alloc(SlotKind::Member, "tomcat1", "lb").unwrap();
        assert!(new);
        s.set(Field::LbFactor, 3);
        s.set_string(StrField::Route, "node1.a").unwrap();
        let r2 = Region::open(&m, 4, 8).unwrap();
        let s2 = r2.find(SlotKind::Member, "tomcat1", "lb").unwrap();
        assert_eq!(s2.get(Field::LbFactor), 3);
        assert_eq!(s2.string(StrField::Route), "node1.a");
        assert!(
            !r2.find_or_alloc(SlotKind::Member, "tomcat1", "lb")
                .unwrap()
                .1
        );
    }

    #[test]
    fn other_geometry_or_data_is_refused() {
        let m = mem(4, 8);
        Region::open(&m, 4, 8).unwrap();
        assert!(matches!(
            Region::open(&m, 4, 7),
            Err(ShmError::Incompatible(_))
        ));
        let junk: Vec<AtomicU64> = (0..words_needed(4, 8)).map(|_| AtomicU64::new(7)).collect();
        assert!(matches!(
            Region::open(&junk, 4, 8),
            Err(ShmError::Incompatible(_))
        ));
        let small = mem(1, 1);
        assert!(matches!(
            Region::open(&small, 4, 8),
            Err(ShmError::TooSmall { .. })
        ));
    }

    #[test]
    fn slots_run_out_cleanly() {
        let m = mem(2, 2);
        let r = Region::open(&m, 2, 2).unwrap();
        r.find_or_alloc(SlotKind::Lb, "a", "").unwrap();
        r.find_or_alloc(SlotKind::Lb, "b", "").unwrap();
        assert_eq!(
            r.find_or_alloc(SlotKind::Lb, "c", "").err(),
            Some(ShmError::Full)
        );
        assert_eq!(r.slots_used(), 2);
        assert_eq!(
            r.find_or_alloc(SlotKind::Lb, &"x".repeat(65), "").err(),
            Some(ShmError::TooLong(65))
        );
    }

    #[test]
    fn busy_is_counted_per_child_and_reaped() {
        let m = mem(3, 2);
        let r = Region::open(&m, 3, 2).unwrap();
        let (s, _) = r.find_or_alloc(SlotKind::Ajp, "w", "").unwrap();
        let a = r.attach_child(100).unwrap();
        let b = r.attach_child(200).unwrap();
        s.busy_inc(a);
        s.busy_inc(a);
        assert_eq!(s.busy_inc(b), 3);
        assert_eq!(s.get(Field::MaxBusy), 3);
        s.busy_dec(b);
        s.busy_dec(b); // never below zero
        assert_eq!(s.busy(), 2);
        // Child 100 was killed with two requests in flight.
        assert_eq!(r.reap_dead_children(|pid| pid != 100), 1);
        assert_eq!(s.busy(), 0);
        assert_eq!(r.children(), vec![200]);
        r.detach_child(b);
        assert!(r.children().is_empty());
        assert_eq!(r.attach_child(300), Some(ChildIndex(0)));
    }

    #[test]
    fn connections_are_counted_per_child_summed_and_reaped() {
        let m = mem(3, 1);
        let r = Region::open(&m, 3, 1).unwrap();
        let (s, _) = r.find_or_alloc(SlotKind::Ajp, "w", "").unwrap();
        let a = r.attach_child(100).unwrap();
        let b = r.attach_child(200).unwrap();
        assert_eq!(s.connected_inc(a), 1);
        assert_eq!(s.connected_inc(b), 2);
        assert_eq!(s.connected_inc(b), 3);
        s.connected_dec(b);
        assert_eq!((s.connected(), s.get(Field::MaxConnected)), (2, 3));
        s.connected_dec(a);
        s.connected_dec(a); // never below zero
        assert_eq!(s.connected(), 1);
        // Child 200 dies with its connection: the kernel closed it, it no longer counts.
        assert_eq!(r.reap_dead_children(|pid| pid != 200), 1);
        assert_eq!((s.connected(), s.get(Field::MaxConnected)), (0, 3));
    }

    #[test]
    fn byte_counters_are_per_child_and_outlive_the_child() {
        let m = mem(4, 2);
        let r = Region::open(&m, 4, 2).unwrap();
        let (s, _) = r.find_or_alloc(SlotKind::Ajp, "w", "").unwrap();
        let (other, _) = r.find_or_alloc(SlotKind::Ajp, "x", "").unwrap();
        let a = r.attach_child(1).unwrap();
        let b = r.attach_child(2).unwrap();
        s.child_add(a, ChildField::Transferred, 202);
        s.child_add(a, ChildField::Read, 61);
        s.child_add(b, ChildField::Transferred, 202);
        s.child_add(b, ChildField::Read, 61);
        s.child_add(b, ChildField::Read, 0);
        assert_eq!(
            (
                s.child_sum(ChildField::Transferred),
                s.child_sum(ChildField::Read)
            ),
            (404, 122)
        );
        assert_eq!(other.child_sum(ChildField::Read), 0, "slots are separate");
        // A child that leaves (or is reaped) keeps what it sent in the totals, and a new
        // child in its place adds to them.
        r.detach_child(a);
        assert_eq!(r.reap_dead_children(|pid| pid != 2), 1);
        assert_eq!(s.child_sum(ChildField::Transferred), 404);
        let c = r.attach_child(3).unwrap();
        s.child_add(c, ChildField::Transferred, 1);
        assert_eq!(s.child_sum(ChildField::Transferred), 405);
        // A statistics reset zeroes every child's counter.
        s.child_zero(ChildField::Transferred);
        assert_eq!(s.child_sum(ChildField::Transferred), 0);
        assert_eq!(s.child_sum(ChildField::Read), 122);
    }

    #[test]
    fn each_child_writes_its_own_cache_line() {
        for children in [1, 3, 8, 9] {
            let m = mem(children, 3);
            let base = m.as_ptr() as usize;
            let r = Region::open(&m, children, 3).unwrap();
            for name in ["a", "b", "c"] {
                let (s, _) = r.find_or_alloc(SlotKind::Member, name, "lb").unwrap();
                let mut lines = std::collections::BTreeSet::new();
                for c in 0..children {
                    let c = ChildIndex(c);
                    let words = [
                        s.child_word(c, ChildField::Busy),
                        s.child_word(c, ChildField::Connected),
                        s.child_word(c, ChildField::Read),
                        s.child_word(c, ChildField::Transferred),
                    ];
                    let offs: Vec<usize> = words
                        .iter()
                        .map(|w| (*w as *const AtomicU64 as usize - base) / 8)
                        .collect();
                    let line = offs[0] / LINE_WORDS;
                    assert_eq!(
                        offs[0] % LINE_WORDS,
                        0,
                        "a child's line starts a cache line"
                    );
                    assert!(offs.iter().all(|o| o / LINE_WORDS == line));
                    assert!(lines.insert(line), "two children share a line");
                    // Outside the fixed words of every slot.
                    assert!(s
                        .atomics(Field::Activation, FIXED_WORDS)
                        .iter()
                        .all(|f| { !std::ptr::eq(f, words[0]) }));
                }
            }
        }
    }

    #[test]
    fn multi_word_fields_stay_inside_the_fixed_words() {
        let m = mem(2, 1);
        let r = Region::open(&m, 2, 1).unwrap();
        let (s, _) = r.find_or_alloc(SlotKind::Member, "m", "lb").unwrap();
        let bits = s.atomics(Field::SessionBits, 2 * SESSION_BITMAP_WORDS);
        assert_eq!(bits.len(), 32);
        for w in bits {
            w.store(u64::MAX, Ordering::Relaxed);
        }
        assert_eq!(s.get(Field::Reserved0), 0);
        assert_eq!(s.get(Field::SessionWindow), 0);
        assert_eq!(s.atomics(Field::ReturnedAt, 100).len(), FIXED_WORDS - 113);
        assert_eq!(s.string(StrField::Host), "");
        let c = r.attach_child(1).unwrap();
        s.busy_inc(c);
        assert_eq!(s.busy(), 1, "busy counters untouched");
    }

    #[test]
    fn strings_are_bounded_and_round_trip() {
        let m = mem(1, 1);
        let r = Region::open(&m, 1, 1).unwrap();
        let (s, _) = r.find_or_alloc(SlotKind::Member, "m", "lb").unwrap();
        let max = "r".repeat(MAX_STR);
        s.set_string(StrField::Redirect, &max).unwrap();
        assert_eq!(s.string(StrField::Redirect), max);
        s.set_string(StrField::Redirect, "").unwrap();
        assert_eq!(s.string(StrField::Redirect), "");
        assert_eq!(
            s.set_string(StrField::Domain, &"d".repeat(65)),
            Err(ShmError::TooLong(65))
        );
        assert_eq!(s.string(StrField::Name), "m");
        assert_eq!(s.string(StrField::Parent), "lb");
    }

    #[test]
    fn concurrent_string_writes_are_never_torn() {
        let m = mem(1, 1);
        let r = Region::open(&m, 1, 1).unwrap();
        let (s, _) = r.find_or_alloc(SlotKind::Member, "m", "lb").unwrap();
        let a = "a".repeat(60);
        let b = "b".repeat(60);
        std::thread::scope(|sc| {
            for v in [&a, &b] {
                sc.spawn(move || {
                    for _ in 0..2000 {
                        s.set_string(StrField::Route, v).unwrap();
                    }
                });
            }
            sc.spawn(|| {
                for _ in 0..5000 {
                    let got = s.string(StrField::Route);
                    assert!(got.is_empty() || got == a || got == b, "torn: {got}");
                }
            });
        });
    }
}
