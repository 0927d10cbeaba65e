//! Where formatted lines go.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Receives complete lines (each ending in `\n`, at most 1024 bytes). Implementations must not
/// split a line into several writes.
pub trait LogSink: Send + Sync {
    /// Writes one line; failures are the sink's business (there is nowhere to log them).
    fn write_line(&self, line: &[u8]);
}

/// A `JkLogFile` that is a path: opened in append mode, created with mode 0644 (mod_jk's
/// `APR_OS_DEFAULT` minus the usual umask), shared by every vhost naming the same path.
///
/// Each line is one `write_all` under a mutex (serialising the threads of this process). Lines
/// from the several httpd child processes stay whole without a cross-process lock because the
/// file is opened with `O_APPEND` and each line is a single `write(2)` of at most 1024 bytes:
/// POSIX makes the seek-to-end and the write one atomic step for regular files, and Linux does
/// not split such small writes.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: Mutex<File>,
    failed_writes: AtomicU64,
}

impl FileSink {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: impl AsRef<Path>) -> io::Result<FileSink> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .open(path)?;
        Ok(FileSink {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            failed_writes: AtomicU64::new(0),
        })
    }

    /// The path the sink was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many lines could not be written (disk full, …).
    pub fn failed_writes(&self) -> u64 {
        self.failed_writes.load(Ordering::Relaxed)
    }
}

impl LogSink for FileSink {
    fn write_line(&self, line: &[u8]) {
        // A panic while holding the lock leaves the file usable: ignore the poison.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if file.write_all(line).is_err() {
            self.failed_writes.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Collects lines in memory, for tests.
#[derive(Debug, Default)]
pub struct MemorySink {
    buf: Mutex<Vec<u8>>,
}

impl MemorySink {
    /// Everything written so far (lossy UTF-8).
    pub fn contents(&self) -> String {
        let buf = self.buf.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// The lines written so far, each with its `\n`.
    pub fn lines(&self) -> Vec<String> {
        self.contents()
            .split_inclusive('\n')
            .map(str::to_string)
            .collect()
    }

    /// Forgets everything written so far.
    pub fn clear(&self) {
        self.buf
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl LogSink for MemorySink {
    fn write_line(&self, line: &[u8]) {
        self.buf
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(line);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("jk-log-{}-{name}", std::process::id()))
    }

    #[test]
    fn file_sink_appends_with_mode_0644() {
        let path = temp_path("append.log");
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, b"old\n").unwrap();
        let sink = FileSink::open(&path).unwrap();
        sink.write_line(b"one\n");
        sink.write_line(b"two\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\none\ntwo\n");
        assert_eq!(sink.path(), path.as_path());
        assert_eq!(sink.failed_writes(), 0);
        std::fs::remove_file(&path).unwrap();

        let fresh = FileSink::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // The umask can only remove bits.
        assert_eq!(mode & !0o644, 0);
        drop(fresh);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn file_sink_open_error() {
        assert!(FileSink::open("/nonexistent-dir-jk/x.log").is_err());
    }

    #[test]
    fn file_sink_keeps_lines_whole_across_threads() {
        let path = temp_path("threads.log");
        let _ = std::fs::remove_file(&path);
        let sink = Arc::new(FileSink::open(&path).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || {
                    let line = format!("{}\n", t.to_string().repeat(900));
                    for _ in 0..50 {
                        sink.write_line(line.as_bytes());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 200);
        for line in text.lines() {
            assert_eq!(line.len(), 900);
            let first = line.as_bytes()[0];
            assert!(line.bytes().all(|b| b == first));
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn memory_sink_collects_and_clears() {
        let sink = MemorySink::default();
        sink.write_line(b"a\n");
        sink.write_line(b"b\n");
        assert_eq!(sink.lines(), vec!["a\n", "b\n"]);
        assert_eq!(sink.contents(), "a\nb\n");
        sink.clear();
        assert!(sink.lines().is_empty());
    }
}
