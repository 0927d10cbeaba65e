//! Builds every server's URI map from its mount directives, the `worker.X.mount` properties
//! and the mount files, with mod_jk's JkMountCopy rules (jk-urimap holds the logic).

use jk_config::WorkersConfig;
use jk_directives::{GlobalConf, MountCopy, ServerConf};
use jk_urimap::{MapBuilder, UriMap};

fn to_urimap_copy(c: Option<MountCopy>) -> Option<jk_urimap::MountCopy> {
    c.map(|c| match c {
        MountCopy::On => jk_urimap::MountCopy::On,
        MountCopy::Off => jk_urimap::MountCopy::Off,
        MountCopy::All => jk_urimap::MountCopy::All,
    })
}

fn builder_for(
    conf: &ServerConf,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> MapBuilder {
    let mut b = MapBuilder::new();
    for m in &conf.mounts {
        let res = if m.unmount {
            b.jk_unmount(&m.pattern, &m.worker_spec, Some(m.loc.clone()))
        } else {
            b.jk_mount(&m.pattern, &m.worker_spec, Some(m.loc.clone()))
        };
        match res {
            Ok(w) => warnings.extend(w.into_iter().map(|w| format!("{}: {w}", m.loc))),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if let Some(f) = &conf.mount_file {
        b.set_mount_file(f);
    }
    b.set_reload_interval(conf.effective_mount_file_reload() as u64);
    b.set_reject_unsafe(conf.effective_options().reject_unsafe_uri());
    b
}

/// One map per server (same order as the servers), and the warnings.
pub type ServerMaps = (Vec<Option<UriMap>>, Vec<String>);

/// One map per server (same order as `confs`, the main server first), plus warnings; or
/// every error found.
pub fn build_maps(
    confs: &[&ServerConf],
    workers: &WorkersConfig,
    global: &GlobalConf,
) -> Result<ServerMaps, Vec<String>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let Some(main_conf) = confs.first() else {
        return Ok((Vec::new(), warnings));
    };

    let mut main_b = builder_for(main_conf, &mut errors, &mut warnings);
    for m in &workers.mounts {
        let loc = m.loc.as_ref().map(|l| l.to_string());
        match main_b.worker_mount(&m.worker, &m.pattern, loc) {
            Ok(w) => warnings.extend(w),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let main_map = match main_b.build_main() {
        Ok((map, w)) => {
            warnings.extend(w);
            map
        }
        Err(e) => {
            errors.push(e.to_string());
            return Err(errors);
        }
    };
    let main_copy = to_urimap_copy(
        main_conf
            .mount_copy
            .or(global.mount_copy_all.then_some(MountCopy::All)),
    );
    let mut maps = vec![Some(main_map.clone())];
    for conf in confs.iter().skip(1) {
        let b = builder_for(conf, &mut errors, &mut warnings);
        let copy = jk_urimap::mount_copy_enabled(main_copy, to_urimap_copy(conf.mount_copy));
        match b.build_vhost(&main_b, &main_map, copy) {
            Ok((map, w)) => {
                warnings.extend(w);
                maps.push(Some(map));
            }
            Err(e) => {
                errors.push(e.to_string());
                maps.push(None);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((maps, warnings))
}

/// A rule of a server's map naming a worker that does not exist. mod_jk
/// (`uri_worker_map_ext` → `extension_fix`) logs it at error level once per such rule (unmount
/// rules aside) of every server's own map; requests it maps are answered 500 ("Could not find
/// a worker for worker name=…").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWorker {
    pub worker: String,
    /// Where the rule was written (file:line), when known.
    pub loc: Option<String>,
}

impl UnknownWorker {
    /// mod_jk's log line, word for word.
    pub fn message(&self) -> String {
        format!(
            "Could not find worker with name '{}' in uri map post processing.",
            self.worker
        )
    }
}

impl std::fmt::Display for UnknownWorker {
    /// The message with the rule's location in front (for `apachectl configtest`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(l) = &self.loc {
            write!(f, "{l}: ")?;
        }
        f.write_str(&self.message())
    }
}

/// The rules of `map` whose worker does not exist, in map order (one per rule, as mod_jk
/// logs them; Debian's stock jk.conf mounts jk-status and jk-manager, which it does not
/// define).
pub fn unknown_workers(map: &UriMap, workers: &WorkersConfig) -> Vec<UnknownWorker> {
    map.rules()
        .iter()
        .filter(|r| !r.exclusion && &*r.worker != "*" && workers.worker(&r.worker).is_none())
        .map(|r| UnknownWorker {
            worker: r.worker.to_string(),
            loc: r.loc.clone(),
        })
        .collect()
}

/// Whether JkMountCopy is in effect for a vhost (JkAutoAlias and JkMountFile inherit with it).
pub fn copy_enabled(main: &ServerConf, global: &GlobalConf, vhost: &ServerConf) -> bool {
    let main_copy = to_urimap_copy(
        main.mount_copy
            .or(global.mount_copy_all.then_some(MountCopy::All)),
    );
    jk_urimap::mount_copy_enabled(main_copy, to_urimap_copy(vhost.mount_copy))
}
