//! The per-server URI map: rules in precedence order, lookup, and `JkMountFile` reload.
//!
//! Lookups run concurrently on every request thread. The rules are an immutable sorted
//! snapshot behind a `RwLock<Arc<…>>`: a lookup clones the `Arc` and matches without holding
//! the lock, and a reload builds a new snapshot and swaps it in. Rules from `JkMount` and
//! `worker.X.mount` never change after start-up; only the mount file's rules are replaced.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};

use crate::rule::{make_rules, Rule, RuleSource};
use crate::uriworkermap::parse_uriworkermap;
use jk_config::RuleExtensions;

/// URIs longer than this many bytes are never mapped (mod_jk `JK_MAX_URI_LEN`).
pub const MAX_URI_LEN: usize = 4095;

/// Default of `JkMountFileReload`, in seconds.
pub const DEFAULT_RELOAD_SECS: u64 = 60;

/// A configuration error in a mount rule or mount file; Display is operator-ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapError {
    /// A rule that cannot mean anything; `loc` is e.g. `uriworkermap.properties:7`.
    Rule {
        /// Where the rule was written, if known.
        loc: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// A mount file that cannot be read or stat'ed.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::Rule {
                loc: Some(loc),
                message,
            } => write!(f, "{loc}: {message}"),
            MapError::Rule { loc: None, message } => f.write_str(message),
            MapError::Io { path, message } => {
                write!(f, "cannot read mount file '{}': {message}", path.display())
            }
        }
    }
}

impl std::error::Error for MapError {}

/// The rule that maps a request: cheap to clone, independent of later reloads.
#[derive(Debug, Clone)]
pub struct MatchResult {
    /// The worker that serves the request.
    pub worker: Arc<str>,
    /// The rule's extensions (reply_timeout, activation overrides, …).
    pub ext: Arc<RuleExtensions>,
    /// The whole rule, for debug logging (`pattern`, `type_text()`, `source`).
    pub rule: Arc<Rule>,
}

/// Why [`UriMap::lookup`] did not map a URI; all of them mean "not for mod_jk".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoMatch {
    /// Not starting with `/`, e.g. `*` of `OPTIONS *`.
    NotAbsolute,
    /// Longer than [`MAX_URI_LEN`] bytes (mod_jk logs a warning).
    TooLong,
    /// `RejectUnsafeURI` is on and the URI holds `%` or `\` (mod_jk logs at info).
    Unsafe,
    /// No enabled mount rule matches.
    NoRule,
    /// A rule matched but this unmount rule vetoes it.
    Excluded {
        /// The matching unmount pattern.
        pattern: String,
    },
}

impl fmt::Display for NoMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoMatch::NotAbsolute => f.write_str("URI does not start with '/'"),
            NoMatch::TooLong => write!(f, "URI longer than {MAX_URI_LEN} bytes is not mapped"),
            NoMatch::Unsafe => f.write_str("potentially unsafe request URL rejected"),
            NoMatch::NoRule => f.write_str("no mount rule matches"),
            NoMatch::Excluded { pattern } => write!(f, "excluded by unmount rule '{pattern}'"),
        }
    }
}

/// What a mount-file reload check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// Reload is off (`JkMountFileReload 0`) or the interval has not passed yet.
    NotDue,
    /// This map has no mount file.
    NoFile,
    /// The file's modification time did not change.
    Unchanged,
    /// The file rules were replaced.
    Reloaded {
        /// The mount file.
        path: PathBuf,
        /// Number of rules read from it.
        rules: usize,
        /// Warnings from parsing it.
        warnings: Vec<String>,
    },
    /// The file could not be stat'ed, read or parsed; the previous rules stay in force.
    Failed {
        /// The mount file.
        path: PathBuf,
        /// Why, ready for the log.
        message: String,
    },
}

/// The current time as Unix seconds, the clock [`UriMap::map_with_reload`] expects.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The URI → worker map of one server (main server or `<VirtualHost>`).
///
/// Built at configuration time with [`UriMap::add_mount`] and [`UriMap::load_file`] (or
/// through [`crate::MapBuilder`]); afterwards shared by all request threads, which call
/// [`UriMap::map_with_reload`] (or [`UriMap::map`] when reload is not wanted).
#[derive(Debug, Clone)]
pub struct UriMap {
    inner: Arc<MapInner>,
    reject_unsafe: bool,
}

#[derive(Debug)]
struct MapInner {
    /// JkMount, worker-definition and directly added rules, in insertion order.
    fixed: Vec<Arc<Rule>>,
    file: Option<MountFile>,
    reload_secs: u64,
    /// All rules (fixed + file) in precedence order.
    sorted: RwLock<Arc<[Arc<Rule>]>>,
    /// Reload results noticed by request threads, for the glue to log.
    events: Mutex<Vec<ReloadOutcome>>,
    /// `events` is not empty: lets [`UriMap::take_reload_events`] skip the lock on the
    /// request path, where it is called after every mapping.
    has_events: AtomicBool,
}

#[derive(Debug)]
struct MountFile {
    path: PathBuf,
    /// Unix seconds of the last modification-time check.
    last_check: AtomicU64,
    state: Mutex<FileState>,
}

#[derive(Debug, Clone)]
struct FileState {
    mtime: Option<SystemTime>,
    rules: Vec<Arc<Rule>>,
}

impl Clone for MapInner {
    // Copy-on-write for a map shared with a vhost (`JkMountCopy On` without own mounts)
    // that is changed afterwards: the copy gets its own locks and reload clock.
    fn clone(&self) -> Self {
        MapInner {
            fixed: self.fixed.clone(),
            file: self.file.as_ref().map(|f| MountFile {
                path: f.path.clone(),
                last_check: AtomicU64::new(f.last_check.load(Ordering::Relaxed)),
                state: Mutex::new(f.state.lock().clone()),
            }),
            reload_secs: self.reload_secs,
            sorted: RwLock::new(Arc::clone(&self.sorted.read())),
            events: Mutex::new(Vec::new()),
            has_events: AtomicBool::new(false),
        }
    }
}

impl MapInner {
    fn rebuild(&self, file_rules: &[Arc<Rule>]) {
        let mut all: Vec<Arc<Rule>> = self.fixed.iter().chain(file_rules).cloned().collect();
        // Stable: remaining ties keep configuration order (mod_jk's qsort leaves them open).
        all.sort_by_key(|r| r.sort_key());
        *self.sorted.write() = Arc::from(all);
    }

    fn rebuild_now(&self) {
        match &self.file {
            Some(file) => {
                let state = file.state.lock();
                self.rebuild(&state.rules);
            }
            None => self.rebuild(&[]),
        }
    }
}

impl Default for UriMap {
    fn default() -> Self {
        UriMap::new()
    }
}

impl UriMap {
    /// An empty map: maps nothing; reload interval [`DEFAULT_RELOAD_SECS`].
    pub fn new() -> UriMap {
        UriMap {
            inner: Arc::new(MapInner {
                fixed: Vec::new(),
                file: None,
                reload_secs: DEFAULT_RELOAD_SECS,
                sorted: RwLock::new(Arc::from(Vec::new())),
                events: Mutex::new(Vec::new()),
                has_events: AtomicBool::new(false),
            }),
            reject_unsafe: false,
        }
    }

    /// A map that shares `other`'s rules and reload state but has its own unsafe-URI flag
    /// (a vhost with `JkMountCopy On` and no mount directive of its own).
    pub(crate) fn shared_with(other: &UriMap, reject_unsafe: bool) -> UriMap {
        UriMap {
            inner: Arc::clone(&other.inner),
            reject_unsafe,
        }
    }

    /// True if both maps use the same rule set object (vhost sharing the main server's map).
    pub fn shares_rules_with(&self, other: &UriMap) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    fn inner_mut(&mut self) -> &mut MapInner {
        Arc::make_mut(&mut self.inner)
    }

    /// `JkOptions +RejectUnsafeURI`: URIs containing `%` or `\` are not mapped.
    pub fn set_reject_unsafe(&mut self, on: bool) {
        self.reject_unsafe = on;
    }

    /// `JkMountFileReload`: check the mount file at most every `secs` seconds; 0 = never.
    pub fn set_reload_interval(&mut self, secs: u64) {
        self.inner_mut().reload_secs = secs;
    }

    /// The reload interval in seconds (0 = never).
    pub fn reload_interval(&self) -> u64 {
        self.inner.reload_secs
    }

    /// The mount file, if one was loaded.
    pub fn mount_file(&self) -> Option<&Path> {
        self.inner.file.as_ref().map(|f| f.path.as_path())
    }

    /// Adds the rules of one mount (`JkMount`, `JkUnMount`, a uriworkermap-style line or a
    /// `worker.X.mount` entry) and returns warnings (unknown extensions …).
    ///
    /// The pattern must start with `/` (for [`RuleSource::JkMount`] the error says
    /// "JkMount context should start with /"); for the other sources `-` (disabled) and `!`
    /// (exclusion) prefixes are understood first. `X|Y` adds `X` and `XY`. Worker `*` is
    /// only valid on exclusion rules. A rule with the same source, flags and pattern as an
    /// earlier one replaces it (JkMount of the same pattern twice: the last worker wins);
    /// `JkUnMount /x` is a different key than `JkMount /x`, so both coexist.
    pub fn add_mount(
        &mut self,
        pattern: &str,
        worker_spec: &str,
        unmount: bool,
        source: RuleSource,
        loc: Option<String>,
    ) -> Result<Vec<String>, MapError> {
        let (rules, warnings) = make_rules(pattern, worker_spec, unmount, source, loc.as_deref())?;
        self.insert_rules(rules, true);
        Ok(warnings)
    }

    /// Inserts rules; an existing rule with the same key is replaced when `overwrite`,
    /// otherwise the new rule is dropped (JkMountCopy: the vhost's own rule wins).
    pub(crate) fn insert_rules(&mut self, rules: Vec<Rule>, overwrite: bool) {
        let inner = self.inner_mut();
        for rule in rules {
            match inner.fixed.iter_mut().find(|r| r.same_key(&rule)) {
                Some(slot) if overwrite => *slot = Arc::new(rule),
                Some(_) => {}
                None => inner.fixed.push(Arc::new(rule)),
            }
        }
        inner.rebuild_now();
    }

    /// `JkMountFile`: reads a uriworkermap.properties file and remembers it for reload.
    ///
    /// Replaces the rules of a previously loaded file. Returns the parser's warnings; an
    /// unreadable file or an invalid line is an error (`FILE:LINE: …`).
    pub fn load_file(&mut self, path: impl AsRef<Path>) -> Result<Vec<String>, MapError> {
        let path = path.as_ref().to_path_buf();
        let (mtime, rules, warnings) = read_mount_file(&path)?;
        let inner = self.inner_mut();
        inner.file = Some(MountFile {
            path,
            last_check: AtomicU64::new(unix_now()),
            state: Mutex::new(FileState {
                mtime: Some(mtime),
                rules: rules.into_iter().map(Arc::new).collect(),
            }),
        });
        inner.rebuild_now();
        Ok(warnings)
    }

    /// All rules in precedence order (the order the status worker shows and lookup walks).
    pub fn rules(&self) -> Vec<Rule> {
        let sorted = Arc::clone(&self.inner.sorted.read());
        sorted.iter().map(|r| Rule::clone(r)).collect()
    }

    /// Number of rules, including disabled and exclusion rules.
    pub fn len(&self) -> usize {
        self.inner.sorted.read().len()
    }

    /// True if the map has no rule at all (mod_jk: "No worker maps defined for …").
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Maps a normalised URI (see [`crate::normalize`]) to a worker; `None` = not for mod_jk.
    /// The URI is compared as bytes (it need not be UTF-8), as mod_jk does.
    pub fn map(&self, normalized_uri: impl AsRef<[u8]>) -> Option<MatchResult> {
        self.lookup(normalized_uri).ok()
    }

    /// Like [`UriMap::map`] but first lets the mount file reload if due (`now_secs` is the
    /// Unix time, see [`unix_now`]). Reload results are kept for [`UriMap::take_reload_events`].
    pub fn map_with_reload(
        &self,
        normalized_uri: impl AsRef<[u8]>,
        now_secs: u64,
    ) -> Option<MatchResult> {
        self.check_reload(now_secs, false);
        self.map(normalized_uri)
    }

    /// `Reloaded`/`Failed` results of reload checks since the last call, for logging.
    pub fn take_reload_events(&self) -> Vec<ReloadOutcome> {
        if !self.inner.has_events.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut events = self.inner.events.lock();
        self.inner.has_events.store(false, Ordering::Release);
        std::mem::take(&mut *events)
    }

    /// Compares the mount file's modification time now, regardless of the interval (the
    /// status worker does this before showing maps), and reloads it if it changed.
    pub fn force_reload_check(&self, now_secs: u64) -> ReloadOutcome {
        self.check_reload(now_secs, true)
    }

    /// mod_jk `uri_worker_map_update`: at most once per interval (always when `force`), stat
    /// the file and re-read it when its modification time changed. Only one thread does the
    /// check; the others go on with the current rules. `Reloaded`/`Failed` outcomes are also
    /// kept for [`UriMap::take_reload_events`].
    pub fn check_reload(&self, now_secs: u64, force: bool) -> ReloadOutcome {
        let outcome = self.reload_if_due(now_secs, force);
        if matches!(
            outcome,
            ReloadOutcome::Reloaded { .. } | ReloadOutcome::Failed { .. }
        ) {
            let mut events = self.inner.events.lock();
            events.push(outcome.clone());
            self.inner.has_events.store(true, Ordering::Release);
        }
        outcome
    }

    fn reload_if_due(&self, now_secs: u64, force: bool) -> ReloadOutcome {
        let Some(file) = &self.inner.file else {
            return ReloadOutcome::NoFile;
        };
        if force {
            file.last_check.store(now_secs, Ordering::Relaxed);
        } else {
            let interval = self.inner.reload_secs;
            if interval == 0 {
                return ReloadOutcome::NotDue;
            }
            let last = file.last_check.load(Ordering::Acquire);
            if now_secs.saturating_sub(last) <= interval {
                return ReloadOutcome::NotDue;
            }
            if file
                .last_check
                .compare_exchange(last, now_secs, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return ReloadOutcome::NotDue;
            }
        }

        let mut state = file.state.lock();
        let failed = |message: String| ReloadOutcome::Failed {
            path: file.path.clone(),
            message: format!("{message}; keeping the previous rules"),
        };
        let mtime = match std::fs::metadata(&file.path).and_then(|m| m.modified()) {
            Ok(mtime) => mtime,
            Err(e) => {
                return failed(format!(
                    "cannot stat mount file '{}': {e}",
                    file.path.display()
                ))
            }
        };
        if state.mtime == Some(mtime) {
            return ReloadOutcome::Unchanged;
        }
        // Remember this version even if it is broken, so it is reported once, not on
        // every check; the next edit changes the time again.
        state.mtime = Some(mtime);
        match read_mount_file(&file.path) {
            Ok((_, rules, warnings)) => {
                state.rules = rules.into_iter().map(Arc::new).collect();
                self.inner.rebuild(&state.rules);
                ReloadOutcome::Reloaded {
                    path: file.path.clone(),
                    rules: state.rules.len(),
                    warnings,
                }
            }
            Err(e) => failed(e.to_string()),
        }
    }

    /// Maps a normalised URI and says why not when it does not map.
    ///
    /// Precedence (mod_jk `map_uri_to_worker_ext`): the first enabled, non-exclusion rule in
    /// [`UriMap::rules`] order that matches wins; then, if any enabled exclusion rule whose
    /// worker is the winner's or `*` matches too, nothing is mapped (no fallback).
    pub fn lookup(&self, normalized_uri: impl AsRef<[u8]>) -> Result<MatchResult, NoMatch> {
        let uri = normalized_uri.as_ref();
        if uri.first() != Some(&b'/') {
            return Err(NoMatch::NotAbsolute);
        }
        if uri.len() > MAX_URI_LEN {
            return Err(NoMatch::TooLong);
        }
        if self.reject_unsafe && memchr::memchr2(b'%', b'\\', uri).is_some() {
            return Err(NoMatch::Unsafe);
        }
        // mod_jk also matches only the part before a path parameter; after normalisation
        // there is none, so this only matters for callers passing raw URIs.
        let uri = match memchr::memchr(b';', uri) {
            Some(semi) => &uri[..semi],
            None => uri,
        };

        let rules = Arc::clone(&self.inner.sorted.read());
        let hit = rules
            .iter()
            .find(|r| !r.disabled && !r.exclusion && r.matches(uri))
            .ok_or(NoMatch::NoRule)?;
        if let Some(veto) = rules.iter().find(|r| {
            r.exclusion
                && !r.disabled
                && (r.worker == hit.worker || &*r.worker == "*")
                && r.matches(uri)
        }) {
            return Err(NoMatch::Excluded {
                pattern: veto.pattern.clone(),
            });
        }
        Ok(MatchResult {
            worker: Arc::clone(&hit.worker),
            ext: Arc::clone(&hit.ext),
            rule: Arc::clone(hit),
        })
    }
}

/// Reads and parses a mount file, returning its modification time, rules and warnings.
fn read_mount_file(path: &Path) -> Result<(SystemTime, Vec<Rule>, Vec<String>), MapError> {
    let io = |e: std::io::Error| MapError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(io)?;
    let bytes = std::fs::read(path).map_err(io)?;
    // As workers.properties: a line must be UTF-8 before its comment (a pattern with another
    // byte is an error naming its line), the comment may be in any encoding.
    let (rules, warnings) = parse_uriworkermap(&bytes, &path.display().to_string())?;
    Ok((mtime, rules, warnings))
}
