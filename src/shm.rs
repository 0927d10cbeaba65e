//! The runtime-status file (`JkShmFile`): a file-backed `MAP_SHARED` region holding the
//! jk-shm layout, created by the httpd parent and inherited by every child, named like
//! mod_jk's `<JkShmFile>.<parent pid>` (mode 0600, with a `.lock` companion).
//!
//! Beyond mod_jk: the file is kept across graceful and plain restarts (the parent's pid does
//! not change) and reopened by the next configuration generation, so runtime changes made
//! through the status worker survive them; it is removed when httpd exits.
//!
//! The file is never trusted blindly: a reopened file whose header or slot table does not
//! validate is recreated (and the log says so), and a region that stops validating while in
//! use (overwritten by another program) is marked corrupt, logged once, and recreated by the
//! next generation; meanwhile its values count as unknown (jk-lb, jk-runtime).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use jk_shm::Region;

/// mod_jk's minimum for JkShmSize (bytes).
pub const MIN_SIZE: usize = 74112;

pub struct ShmRegion {
    path: PathBuf,
    lock_path: PathBuf,
    base: *mut libc::c_void,
    len: usize,
    _file: File,
    _lock: File,
    owner_pid: u32,
    /// The view of the mapping, validated once by `open`.
    region: Region<'static>,
    /// This process found the region corrupt (stays so for the generation).
    known_bad: AtomicBool,
    /// The file held an earlier generation's state that this one reuses.
    pub reused: bool,
    /// The file held a region that did not validate (why), so it was recreated.
    pub recreated: Option<String>,
}

// SAFETY: the mapping is shared memory accessed through atomics only.
unsafe impl Send for ShmRegion {}
// SAFETY: as above.
unsafe impl Sync for ShmRegion {}

/// Slot capacity for `needed` slots: rounded up with headroom, so that adding a worker or two
/// does not change the geometry (and lose the remembered state) on the next restart.
pub fn slot_capacity(needed: usize) -> usize {
    (needed + 16).div_ceil(64) * 64
}

impl ShmRegion {
    /// Opens (or creates) `<base>.<pid>` for `children` httpd children and `slots` records;
    /// `min_bytes` is JkShmSize. An existing file of the same geometry is reused.
    pub fn open(
        base: &Path,
        children: usize,
        slots: usize,
        min_bytes: usize,
    ) -> Result<ShmRegion, String> {
        let pid = std::process::id();
        let path = PathBuf::from(format!("{}.{pid}", base.display()));
        let lock_path = PathBuf::from(format!("{}.{pid}.lock", base.display()));
        let words = jk_shm::words_needed(children, slots);
        let len = (words * 8)
            .max(min_bytes)
            .max(MIN_SIZE)
            .next_multiple_of(4096);
        let open = |p: &Path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(p)
                .map_err(|e| format!("cannot create {}: {e}", p.display()))
        };
        let file = open(&path)?;
        let lock = open(&lock_path)?;
        let existing = file.metadata().map(|m| m.len()).unwrap_or(0);
        let reused = existing == len as u64;
        if !reused {
            // A new file, or another geometry: start from zeros.
            file.set_len(0)
                .map_err(|e| format!("cannot truncate {}: {e}", path.display()))?;
        }
        file.set_len(len as u64)
            .map_err(|e| format!("cannot size {}: {e}", path.display()))?;
        // SAFETY: mapping a regular file of `len` bytes, shared so that forked children see
        // one region.
        let base_ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if base_ptr == libc::MAP_FAILED {
            return Err(format!(
                "cannot map {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: the mapping is `len` bytes, page aligned, and lives until the ShmRegion
        // built below is dropped; the Generation that owns it drops its users (balancers)
        // first. AtomicU64 has the size and alignment of u64, and any bit pattern is valid.
        let words: &'static [AtomicU64] =
            unsafe { std::slice::from_raw_parts(base_ptr.cast::<AtomicU64>(), len / 8) };
        let mut recreated = None;
        let region = match Region::open(words, children, slots) {
            Ok(r) => r,
            Err(e) => {
                if !reused {
                    // SAFETY: unmapping what we just mapped; nothing uses it.
                    unsafe { libc::munmap(base_ptr, len) };
                    return Err(e.to_string());
                }
                // Another layout version or geometry, or contents that are not ours (an
                // overwritten file, a region a child marked corrupt): never trusted, start
                // over. The outgoing generation's children may still write into it while it
                // is zeroed (a word half zeroed when one of them marks it corrupt): a few
                // tries.
                recreated = Some(e.to_string());
                let mut last = e;
                let mut opened = None;
                for _ in 0..3 {
                    // SAFETY: we own the mapping; this generation's children do not exist
                    // yet.
                    unsafe { ptr::write_bytes(base_ptr.cast::<u8>(), 0, len) };
                    match Region::open(words, children, slots) {
                        Ok(r) => {
                            opened = Some(r);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                match opened {
                    Some(r) => r,
                    None => {
                        // SAFETY: as above.
                        unsafe { libc::munmap(base_ptr, len) };
                        return Err(last.to_string());
                    }
                }
            }
        };
        Ok(ShmRegion {
            path,
            lock_path,
            base: base_ptr,
            len,
            _file: file,
            _lock: lock,
            owner_pid: pid,
            region,
            known_bad: AtomicBool::new(false),
            reused: reused && recreated.is_none(),
            recreated,
        })
    }

    /// The region view.
    pub fn region(&self) -> Region<'static> {
        self.region
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks the region while in use: the header only (a few loads, for every request), or
    /// with `full` the child table and slot kinds too (maintenance). When it no longer
    /// validates, the region is marked corrupt (so the next generation recreates it) and the
    /// line to log is returned, to the one process (of all children) that marked it.
    pub fn check(&self, full: bool) -> Option<String> {
        if self.known_bad.load(Ordering::Relaxed) {
            return None;
        }
        let e = if full {
            self.region.validate().err()?
        } else {
            self.region.check_header().err()?
        };
        if !matches!(e, jk_shm::ShmError::Corrupt(_)) {
            // Zeroed or being initialised, or the next generation's layout (this process
            // belongs to an outgoing generation): not a corruption. Records this process
            // cannot recognise any more are not trusted anyway.
            return None;
        }
        self.known_bad.store(true, Ordering::Relaxed);
        self.region.mark_corrupt().then(|| {
            format!(
                "runtime-status file {} is corrupt, it does not validate any more ({e}): its \
                 shared worker state is treated as unknown (workers.properties values are \
                 used) until the next restart recreates it",
                self.path.display()
            )
        })
    }

    /// Whether this process found the region corrupt.
    pub fn known_bad(&self) -> bool {
        self.known_bad.load(Ordering::Relaxed)
    }
}

impl Drop for ShmRegion {
    fn drop(&mut self) {
        // SAFETY: unmapping the region we mapped; its users were dropped before.
        unsafe {
            libc::munmap(self.base, self.len);
        }
        // Only the parent removes the files, and only when httpd exits: a restart's next
        // generation reopens them.
        // SAFETY: plain query of httpd's state.
        let exiting = unsafe { crate::ffi::ap_state_query(crate::ffi::AP_SQ_MAIN_STATE as i32) }
            == crate::ffi::AP_SQ_MS_EXITING as i32;
        if std::process::id() == self.owner_pid && exiting {
            let _ = std::fs::remove_file(&self.path);
            let _ = std::fs::remove_file(&self.lock_path);
        }
    }
}
