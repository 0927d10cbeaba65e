//! The runtime-status file (`JkShmFile`): a file-backed `MAP_SHARED` region that the httpd
//! parent creates on each configuration generation and every child inherits, as mod_jk's
//! `<JkShmFile>.<parent pid>` (mode 0600, with a `.lock` companion). For now it carries only the
//! versioned header; the load balancer's member records live here once they land.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::ptr;

/// Header magic of our layout (mod_jk's own is `!JKSHM13`; ours is deliberately different so
/// no tool mistakes one for the other).
pub const MAGIC: &[u8; 8] = b"JKRSSHM1";
/// Layout version written after the magic.
pub const LAYOUT_VERSION: u32 = 1;
/// mod_jk's minimum for JkShmSize (bytes).
pub const MIN_SIZE: usize = 74112;
/// Size of one record slot (mod_jk uses 384-byte records too).
pub const SLOT: usize = 384;

pub struct ShmRegion {
    path: PathBuf,
    lock_path: PathBuf,
    base: *mut libc::c_void,
    len: usize,
    _file: File,
    _lock: File,
    owner_pid: u32,
}

// SAFETY: the mapping is plain shared memory; its users access it through atomics only.
unsafe impl Send for ShmRegion {}
// SAFETY: as above.
unsafe impl Sync for ShmRegion {}

/// Size mod_jk would compute: header + a slot per ajp worker + two per lb member + one per lb.
pub fn computed_size(ajp: usize, lb_members: usize, lbs: usize) -> usize {
    SLOT * (1 + ajp + 2 * lb_members + lbs)
}

impl ShmRegion {
    /// Creates `<base>.<pid>` of `len` bytes and its `.lock` file, both 0600.
    pub fn create(base: &Path, len: usize) -> Result<ShmRegion, String> {
        let pid = std::process::id();
        let path = PathBuf::from(format!("{}.{pid}", base.display()));
        let lock_path = PathBuf::from(format!("{}.{pid}.lock", base.display()));
        let open = |p: &Path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(p)
                .map_err(|e| format!("cannot create {}: {e}", p.display()))
        };
        let file = open(&path)?;
        let lock = open(&lock_path)?;
        file.set_len(len as u64)
            .map_err(|e| format!("cannot size {}: {e}", path.display()))?;
        // SAFETY: mapping a regular file we just sized to `len` bytes, shared so that forked
        // children see one region.
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
        // SAFETY: the mapping is at least 16 bytes (len >= MIN_SIZE) and exclusively ours now.
        unsafe {
            ptr::copy_nonoverlapping(MAGIC.as_ptr(), base_ptr.cast::<u8>(), MAGIC.len());
            ptr::write_unaligned(base_ptr.cast::<u8>().add(8).cast::<u32>(), LAYOUT_VERSION);
            ptr::write_unaligned(base_ptr.cast::<u8>().add(12).cast::<u32>(), SLOT as u32);
        }
        Ok(ShmRegion {
            path,
            lock_path,
            base: base_ptr,
            len,
            _file: file,
            _lock: lock,
            owner_pid: pid,
        })
    }
}

impl Drop for ShmRegion {
    fn drop(&mut self) {
        // SAFETY: unmapping the region we mapped; nothing refers to it any more.
        unsafe {
            libc::munmap(self.base, self.len);
        }
        // Only the creating (parent) process removes the files.
        if std::process::id() == self.owner_pid {
            let _ = std::fs::remove_file(&self.path);
            let _ = std::fs::remove_file(&self.lock_path);
        }
    }
}
