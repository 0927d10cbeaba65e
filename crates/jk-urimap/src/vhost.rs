//! Per-server mount configuration and `JkMountCopy` (mod_jk's merge of the main server's
//! mounts into virtual hosts, done in `jk_post_config`).
//!
//! Usage from the glue:
//! 1. while httpd parses the configuration, each server (main and every `<VirtualHost>`)
//!    collects its `JkMount`/`JkUnMount`/`JkMountFile` in a [`MapBuilder`]; the main server's
//!    builder also gets the `worker.X.mount` entries of workers.properties;
//! 2. in post_config, [`MapBuilder::build_main`] builds the main server's [`UriMap`], then
//!    every vhost calls [`MapBuilder::build_vhost`] with the main builder, the main map and
//!    its effective `JkMountCopy` ([`mount_copy_enabled`]).

use std::path::{Path, PathBuf};

use crate::map::{MapError, UriMap, DEFAULT_RELOAD_SECS};
use crate::rule::{make_rules, Rule, RuleSource};

/// Value of the `JkMountCopy` directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountCopy {
    /// Do not copy the main server's mounts (the default).
    Off,
    /// Copy them into this vhost.
    On,
    /// Main server only: every vhost behaves as if it said `On` unless it says `Off`.
    All,
}

impl MountCopy {
    /// Parses the directive argument, case-insensitively.
    pub fn parse(arg: &str) -> Result<MountCopy, String> {
        if arg.eq_ignore_ascii_case("on") {
            Ok(MountCopy::On)
        } else if arg.eq_ignore_ascii_case("off") {
            Ok(MountCopy::Off)
        } else if arg.eq_ignore_ascii_case("all") {
            Ok(MountCopy::All)
        } else {
            Err("JkMountCopy must be All, On or Off".to_owned())
        }
    }
}

/// Whether a vhost copies the main server's mounts: its own `On`/`Off` wins, otherwise
/// `JkMountCopy All` in the main server means yes, otherwise no.
///
/// (`All` inside a vhost is a configuration error the glue reports; here it counts as On.)
pub fn mount_copy_enabled(main: Option<MountCopy>, vhost: Option<MountCopy>) -> bool {
    match vhost {
        Some(MountCopy::On | MountCopy::All) => true,
        Some(MountCopy::Off) => false,
        None => main == Some(MountCopy::All),
    }
}

/// One `JkMount`/`JkUnMount`/`worker.X.mount` as configured, kept unexpanded so that a vhost
/// can copy it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    pattern: String,
    worker_spec: String,
    unmount: bool,
    source: RuleSource,
    loc: Option<String>,
}

/// The mount configuration of one server, collected while httpd parses its directives.
#[derive(Debug, Clone)]
pub struct MapBuilder {
    mounts: Vec<Mount>,
    worker_mounts: Vec<Mount>,
    mount_file: Option<PathBuf>,
    reload_secs: u64,
    reject_unsafe: bool,
}

impl Default for MapBuilder {
    fn default() -> Self {
        MapBuilder::new()
    }
}

impl MapBuilder {
    /// No mounts, no mount file, reload interval [`DEFAULT_RELOAD_SECS`].
    pub fn new() -> MapBuilder {
        MapBuilder {
            mounts: Vec::new(),
            worker_mounts: Vec::new(),
            mount_file: None,
            reload_secs: DEFAULT_RELOAD_SECS,
            reject_unsafe: false,
        }
    }

    /// `JkMount <pattern> <worker[;ext]>` (or the `<Location>` path as pattern): checked now
    /// so the error points at the directive; returns extension warnings.
    pub fn jk_mount(
        &mut self,
        pattern: &str,
        worker_spec: &str,
        loc: Option<String>,
    ) -> Result<Vec<String>, MapError> {
        self.push(pattern, worker_spec, false, RuleSource::JkMount, loc)
    }

    /// `JkUnMount <pattern> <worker[;ext]>`; worker `*` vetoes every worker.
    pub fn jk_unmount(
        &mut self,
        pattern: &str,
        worker_spec: &str,
        loc: Option<String>,
    ) -> Result<Vec<String>, MapError> {
        self.push(pattern, worker_spec, true, RuleSource::JkMount, loc)
    }

    /// One entry of `worker.<worker>.mount` (main server only; `-`/`!` prefixes allowed).
    pub fn worker_mount(
        &mut self,
        worker: &str,
        pattern: &str,
        loc: Option<String>,
    ) -> Result<Vec<String>, MapError> {
        self.push(pattern, worker, false, RuleSource::WorkerDefinition, loc)
    }

    fn push(
        &mut self,
        pattern: &str,
        worker_spec: &str,
        unmount: bool,
        source: RuleSource,
        loc: Option<String>,
    ) -> Result<Vec<String>, MapError> {
        let (_, warnings) = make_rules(pattern, worker_spec, unmount, source, loc.as_deref())?;
        let mount = Mount {
            pattern: pattern.to_owned(),
            worker_spec: worker_spec.to_owned(),
            unmount,
            source,
            loc,
        };
        match source {
            RuleSource::WorkerDefinition => self.worker_mounts.push(mount),
            _ => self.mounts.push(mount),
        }
        Ok(warnings)
    }

    /// `JkMountFile <path>` (already resolved against ServerRoot); the last one wins.
    pub fn set_mount_file(&mut self, path: impl Into<PathBuf>) {
        self.mount_file = Some(path.into());
    }

    /// The configured mount file, if any.
    pub fn mount_file(&self) -> Option<&Path> {
        self.mount_file.as_deref()
    }

    /// `JkMountFileReload` (the glue passes the inherited value for vhosts); 0 = never.
    pub fn set_reload_interval(&mut self, secs: u64) {
        self.reload_secs = secs;
    }

    /// `JkOptions +RejectUnsafeURI` in effect for this server.
    pub fn set_reject_unsafe(&mut self, on: bool) {
        self.reject_unsafe = on;
    }

    /// True if this server has its own `JkMount`, `JkUnMount` or `JkMountFile`.
    pub fn has_own_mounts(&self) -> bool {
        !self.mounts.is_empty() || self.mount_file.is_some()
    }

    /// The main server's map: its mounts, the `worker.X.mount` rules and its mount file.
    /// Returns the mount file's warnings (directive warnings were returned when collected).
    pub fn build_main(&self) -> Result<(UriMap, Vec<String>), MapError> {
        let mut map = self.empty_map();
        for mount in self.mounts.iter().chain(&self.worker_mounts) {
            add(&mut map, mount)?;
        }
        let warnings = self.load_file(&mut map, self.mount_file.as_deref())?;
        Ok((map, warnings))
    }

    /// A virtual host's map, given the main server's builder and built map.
    ///
    /// * `copy == false`: only the vhost's own mounts and mount file.
    /// * `copy` and no own mount directive: the main server's map object itself (shared,
    ///   so `worker.X.mount` rules and the main mount file apply, with one reload state).
    /// * `copy` and own mounts: own rules, plus the main server's `JkMount`/`JkUnMount` rules
    ///   whose pattern the vhost does not mount itself, plus the main mount file if the
    ///   vhost has none; the `worker.X.mount` rules are *not* copied.
    pub fn build_vhost(
        &self,
        main: &MapBuilder,
        main_map: &UriMap,
        copy: bool,
    ) -> Result<(UriMap, Vec<String>), MapError> {
        if copy && !self.has_own_mounts() {
            return Ok((
                UriMap::shared_with(main_map, self.reject_unsafe),
                Vec::new(),
            ));
        }
        let mut map = self.empty_map();
        for mount in &self.mounts {
            add(&mut map, mount)?;
        }
        let mut file = self.mount_file.as_deref();
        if copy {
            // The vhost's own rule wins for an equal pattern; among the main server's
            // mounts the last one still wins, as in the main server itself.
            let own = map.rules();
            for mount in &main.mounts {
                let rules = expand(mount)?
                    .into_iter()
                    .filter(|r| !own.iter().any(|o| o.same_key(r)))
                    .collect();
                map.insert_rules(rules, true);
            }
            file = file.or(main.mount_file.as_deref());
        }
        let warnings = self.load_file(&mut map, file)?;
        Ok((map, warnings))
    }

    fn empty_map(&self) -> UriMap {
        let mut map = UriMap::new();
        map.set_reload_interval(self.reload_secs);
        map.set_reject_unsafe(self.reject_unsafe);
        map
    }

    fn load_file(&self, map: &mut UriMap, file: Option<&Path>) -> Result<Vec<String>, MapError> {
        match file {
            Some(path) => map.load_file(path),
            None => Ok(Vec::new()),
        }
    }
}

fn expand(mount: &Mount) -> Result<Vec<Rule>, MapError> {
    let (rules, _) = make_rules(
        &mount.pattern,
        &mount.worker_spec,
        mount.unmount,
        mount.source,
        mount.loc.as_deref(),
    )?;
    Ok(rules)
}

fn add(map: &mut UriMap, mount: &Mount) -> Result<(), MapError> {
    map.insert_rules(expand(mount)?, true);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_copy_values() {
        assert_eq!(MountCopy::parse("ON"), Ok(MountCopy::On));
        assert_eq!(MountCopy::parse("off"), Ok(MountCopy::Off));
        assert_eq!(MountCopy::parse("All"), Ok(MountCopy::All));
        assert_eq!(
            MountCopy::parse("yes"),
            Err("JkMountCopy must be All, On or Off".to_owned())
        );
        assert!(!mount_copy_enabled(None, None));
        assert!(!mount_copy_enabled(Some(MountCopy::Off), None));
        assert!(!mount_copy_enabled(Some(MountCopy::On), None));
        assert!(mount_copy_enabled(Some(MountCopy::All), None));
        assert!(!mount_copy_enabled(
            Some(MountCopy::All),
            Some(MountCopy::Off)
        ));
        assert!(mount_copy_enabled(None, Some(MountCopy::On)));
    }
}
