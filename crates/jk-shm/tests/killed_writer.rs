#![allow(clippy::unwrap_used)]
//! A process killed in the middle of a string write leaves the slot's sequence lock odd in a
//! MAP_SHARED region: the other processes must not spin on it forever. The writer here is a
//! real forked process that exits inside the lock.

use std::time::{Duration, Instant};

mod common;
use common::shared_words;

use jk_shm::{words_needed, Region, SlotKind, StrField};

#[test]
fn a_writer_killed_inside_the_lock_does_not_hang_the_others() {
    let words = shared_words(words_needed(2, 2));
    let region = Region::open(words, 2, 2).unwrap();
    let (slot, _) = region.find_or_alloc(SlotKind::Member, "t1", "lb").unwrap();
    slot.set_string(StrField::Route, "node1").unwrap();
    // SAFETY: the child only touches the shared region, then leaves with _exit inside the
    // lock (as a writer killed mid-write would).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        slot.with_lock(|| unsafe { libc::_exit(0) });
        unsafe { libc::_exit(1) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let t = Instant::now();
        let route = slot.string(StrField::Route);
        slot.set_string(StrField::Route, "node2").unwrap();
        let _ = tx.send((route, slot.string(StrField::Route), t.elapsed()));
    });
    let (route, again, took) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("reading a slot whose writer died mid-write: still spinning after 10 s");
    assert_eq!((route.as_str(), again.as_str()), ("node1", "node2"));
    assert!(took < Duration::from_secs(2), "took {took:?}");
}
