//! The runtime-status file (`JkShmFile`): a file-backed `MAP_SHARED` region holding the
//! jk-shm layout, created by the httpd parent and inherited by every child, named like
//! mod_jk's `<JkShmFile>.<parent pid>` (mode 0600, with a `.lock` companion).
//!
//! Beyond mod_jk: the file is kept across graceful and plain restarts (the parent's pid does
//! not change) and reopened by the next configuration generation, so runtime changes made
//! through the status worker survive them; it is removed when httpd exits.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::AtomicU64;

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
    children: usize,
    slots: usize,
    /// The file held an earlier generation's state that this one reuses.
    pub reused: bool,
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
        let mut region = ShmRegion {
            path,
            lock_path,
            base: base_ptr,
            len,
            _file: file,
            _lock: lock,
            owner_pid: pid,
            children,
            slots,
            reused,
        };
        if let Err(e) = Region::open(region.words(), children, slots) {
            if !reused {
                return Err(e.to_string());
            }
            // Another layout version or geometry: start over.
            // SAFETY: we own the mapping; nobody else uses it before post_config returns.
            unsafe { ptr::write_bytes(region.base.cast::<u8>(), 0, region.len) };
            region.reused = false;
            Region::open(region.words(), children, slots).map_err(|e| e.to_string())?;
        }
        Ok(region)
    }

    /// The mapped words.
    pub fn words(&self) -> &'static [AtomicU64] {
        // SAFETY: the mapping is `len` bytes, page aligned, and lives until this value is
        // dropped; the Generation that owns it drops its users (balancers) first. AtomicU64
        // has the size and alignment of u64, and any bit pattern is a valid value.
        unsafe { std::slice::from_raw_parts(self.base.cast::<AtomicU64>(), self.len / 8) }
    }

    /// The region view.
    pub fn region(&self) -> Region<'static> {
        // The geometry was validated in `open`.
        match Region::open(self.words(), self.children, self.slots) {
            Ok(r) => r,
            Err(_) => unreachable_region(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cold]
fn unreachable_region() -> Region<'static> {
    // `open` validated this exact geometry; reaching here would be a bug. Fall back to an
    // empty, private region rather than aborting an httpd process.
    let words: &'static [AtomicU64] = Box::leak(
        (0..jk_shm::words_needed(1, 1))
            .map(|_| AtomicU64::new(0))
            .collect(),
    );
    Region::open(words, 1, 1).unwrap_or_else(|_| unreachable_region())
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
