//! What the multi-process tests share: an anonymous MAP_SHARED mapping that forked children
//! see as their parent does.

use std::sync::atomic::AtomicU64;

/// `n` zeroed words shared with every process forked after this call.
pub fn shared_words(n: usize) -> &'static [AtomicU64] {
    // SAFETY: an anonymous shared mapping of n words, zero-filled by the kernel, never unmapped
    // during the test; AtomicU64 has the layout of u64 and all zeros is valid.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            n * 8,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        std::slice::from_raw_parts(p.cast::<AtomicU64>(), n)
    }
}
