//! Directives that exist once per httpd (main server only).

use crate::parse_count;
use crate::server::{MountCopy, ServerConf};
use std::path::Path;

/// The smallest shared memory mod_jk allocates (`JK_SHM_DEF_SIZE`), in bytes.
pub const MIN_SHM_SIZE_BYTES: usize = 74_112;

/// httpd's `ap_check_cmd_context(cmd, GLOBAL_ONLY)` verdict for a main-server-only directive.
pub fn global_only(directive: &str, in_virtual_host: bool) -> Result<(), String> {
    if in_virtual_host {
        Err(format!(
            "{directive} cannot occur within <VirtualHost> section"
        ))
    } else {
        Ok(())
    }
}

/// The global directives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlobalConf {
    /// `JkWorkersFile` (resolved path that existed at directive time).
    pub workers_file: Option<String>,
    /// `JkWorkerProperty` lines in order, with their `file:line`; parsed with the
    /// workers.properties rules before the workers file is read.
    pub worker_properties: Vec<(String, String)>,
    /// `JkShmFile`.
    pub shm_file: Option<String>,
    /// `JkShmSize` in kilobytes as configured (see [`GlobalConf::shm_size_bytes`]).
    pub shm_size_kb: Option<u32>,
    /// `JkWatchdogInterval` in seconds, 0 = no watchdog thread.
    pub watchdog_interval: Option<u32>,
    /// `JkMountCopy All` was given in the main server.
    pub mount_copy_all: bool,
}

impl GlobalConf {
    /// `JkWorkersFile`, path already resolved against ServerRoot; once only, and the file must
    /// exist now.
    pub fn set_workers_file(&mut self, resolved_path: &str) -> Result<(), String> {
        if self.workers_file.is_some() {
            return Err("JkWorkersFile only allowed once".to_string());
        }
        if !Path::new(resolved_path).exists() {
            return Err("JkWorkersFile: Can't find the workers file specified".to_string());
        }
        self.workers_file = Some(resolved_path.to_string());
        Ok(())
    }

    /// `JkWorkerProperty`: the raw `name=value` line and its `file:line`. Its validation
    /// (`Invalid JkWorkerProperty <line>`) belongs to the workers.properties parser.
    pub fn add_worker_property(&mut self, line: &str, loc: &str) {
        self.worker_properties
            .push((line.to_string(), loc.to_string()));
    }

    /// `JkShmFile` (resolved path).
    pub fn set_shm_file(&mut self, resolved_path: &str) {
        self.shm_file = Some(resolved_path.to_string());
    }

    /// `JkShmSize` in kilobytes; negative → 0 (which then means the minimum size).
    pub fn set_shm_size(&mut self, value: &str) -> Result<(), String> {
        let kb = parse_count(value)
            .ok_or_else(|| format!("JkShmSize: '{value}' is not a size in kilobytes"))?;
        self.shm_size_kb = Some(kb);
        Ok(())
    }

    /// The configured size in bytes, at least [`MIN_SHM_SIZE_BYTES`]; `None` when `JkShmSize`
    /// was not given (the size is then computed from the workers). Slot alignment is left to
    /// the shared-memory code.
    pub fn shm_size_bytes(&self) -> Option<usize> {
        self.shm_size_kb.map(|kb| {
            let bytes = usize::try_from(kb)
                .unwrap_or(usize::MAX)
                .saturating_mul(1024);
            bytes.max(MIN_SHM_SIZE_BYTES)
        })
    }

    /// `JkWatchdogInterval` in seconds; negative → 0.
    pub fn set_watchdog_interval(&mut self, value: &str) -> Result<(), String> {
        let secs = parse_count(value)
            .ok_or_else(|| format!("JkWatchdogInterval: '{value}' is not a number of seconds"))?;
        self.watchdog_interval = Some(secs);
        Ok(())
    }

    /// `JkMountCopy` for `server`, also recording `All` here (mod_jk keeps it in a global).
    pub fn set_mount_copy(&mut self, server: &mut ServerConf, value: &str) -> Result<(), String> {
        server.set_mount_copy(value)?;
        if server.mount_copy == Some(MountCopy::All) {
            self.mount_copy_all = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn global_only_message() {
        assert!(global_only("JkShmFile", false).is_ok());
        assert_eq!(
            global_only("JkShmFile", true).unwrap_err(),
            "JkShmFile cannot occur within <VirtualHost> section"
        );
    }

    #[test]
    fn workers_file_once_and_existing() {
        let mut g = GlobalConf::default();
        let path = std::env::temp_dir().join(format!(
            "jk-directives-{}-workers.properties",
            std::process::id()
        ));
        let p = path.to_str().unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            g.set_workers_file(p).unwrap_err(),
            "JkWorkersFile: Can't find the workers file specified"
        );
        assert_eq!(g.workers_file, None);
        std::fs::write(&path, "worker.list=w1\n").unwrap();
        g.set_workers_file(p).unwrap();
        assert_eq!(g.workers_file.as_deref(), Some(p));
        assert_eq!(
            g.set_workers_file(p).unwrap_err(),
            "JkWorkersFile only allowed once"
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn worker_properties_in_order() {
        let mut g = GlobalConf::default();
        g.add_worker_property("worker.list=w1", "httpd.conf:10");
        g.add_worker_property("worker.w1.port=8009", "httpd.conf:11");
        assert_eq!(
            g.worker_properties,
            vec![
                ("worker.list=w1".to_string(), "httpd.conf:10".to_string()),
                (
                    "worker.w1.port=8009".to_string(),
                    "httpd.conf:11".to_string()
                ),
            ]
        );
    }

    #[test]
    fn shm() {
        let mut g = GlobalConf::default();
        assert_eq!(g.shm_size_bytes(), None);
        g.set_shm_file("/run/jk-shm");
        assert_eq!(g.shm_file.as_deref(), Some("/run/jk-shm"));
        g.set_shm_size("256").unwrap();
        assert_eq!(g.shm_size_kb, Some(256));
        assert_eq!(g.shm_size_bytes(), Some(262_144));
        g.set_shm_size("10").unwrap();
        assert_eq!(g.shm_size_bytes(), Some(MIN_SHM_SIZE_BYTES));
        g.set_shm_size("-1").unwrap();
        assert_eq!(g.shm_size_bytes(), Some(MIN_SHM_SIZE_BYTES));
        assert_eq!(
            g.set_shm_size("1M").unwrap_err(),
            "JkShmSize: '1M' is not a size in kilobytes"
        );
    }

    #[test]
    fn watchdog() {
        let mut g = GlobalConf::default();
        g.set_watchdog_interval("60").unwrap();
        assert_eq!(g.watchdog_interval, Some(60));
        g.set_watchdog_interval("-5").unwrap();
        assert_eq!(g.watchdog_interval, Some(0));
        assert_eq!(
            g.set_watchdog_interval("x").unwrap_err(),
            "JkWatchdogInterval: 'x' is not a number of seconds"
        );
    }

    #[test]
    fn mount_copy_all_is_recorded() {
        let mut g = GlobalConf::default();
        let mut main = ServerConf::new(false);
        g.set_mount_copy(&mut main, "On").unwrap();
        assert!(!g.mount_copy_all);
        g.set_mount_copy(&mut main, "all").unwrap();
        assert!(g.mount_copy_all);
        let mut v = ServerConf::new(true);
        let mut g2 = GlobalConf::default();
        assert_eq!(
            g2.set_mount_copy(&mut v, "All").unwrap_err(),
            "JkMountCopy cannot occur within <VirtualHost> section"
        );
        assert!(!g2.mount_copy_all);
        assert_eq!(
            g2.set_mount_copy(&mut v, "maybe").unwrap_err(),
            "JkMountCopy must be All, On or Off"
        );
    }
}
