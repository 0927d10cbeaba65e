//! What the map tests share: mount files in the temp directory.
#![allow(dead_code, clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A uniquely named file under the temp directory, removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(tag: &str, text: &str) -> TempFile {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "jk-urimap-{tag}-{}-{nanos}.properties",
            std::process::id()
        ));
        fs::write(&path, text).unwrap();
        TempFile(path)
    }

    /// Rewrites the file and moves its modification time `secs` into the future, so the
    /// change is visible even on file systems with coarse time stamps.
    pub fn rewrite(&self, text: &str, secs: u64) {
        fs::write(&self.0, text).unwrap();
        let file = fs::OpenOptions::new().write(true).open(&self.0).unwrap();
        file.set_modified(SystemTime::now() + Duration::from_secs(secs))
            .unwrap();
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
