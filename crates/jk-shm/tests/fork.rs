#![allow(clippy::unwrap_used)]
//! Several real processes (fork) share one MAP_SHARED region: counters add up exactly, every
//! child's attach is seen, strings written by one process are read whole by the others, and a
//! child killed with requests in flight (and connections open) is reaped while the bytes it
//! counted stay in the totals.

use std::sync::atomic::Ordering;

mod common;
use common::shared_words;

use jk_shm::{words_needed, ChildField, Field, Region, SlotKind, StrField, REPLY_TIME};

const CHILDREN: usize = 6;
const SLOTS: usize = 4;
const ROUNDS: u64 = 20_000;

fn fork(child: impl FnOnce() -> i32) -> libc::pid_t {
    // SAFETY: the test process is single-threaded at this point (cargo runs this file's one
    // test in its own process); the child only touches the shared region and exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = child();
        // SAFETY: leave the child without running the test harness's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    pid
}

fn wait(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    status
}

#[test]
fn processes_share_counters_strings_and_busy() {
    let words = shared_words(words_needed(CHILDREN + 2, SLOTS));
    let region = Region::open(words, CHILDREN + 2, SLOTS).unwrap();
    let (member, _) = region
        .find_or_alloc(SlotKind::Member, "tomcat1", "lb")
        .unwrap();
    member.set_string(StrField::Route, "r-initial").unwrap();

    let mut pids = Vec::new();
    for n in 0..CHILDREN {
        pids.push(fork(move || {
            let r = Region::open(words, CHILDREN + 2, SLOTS).unwrap();
            let me = r.attach_child(std::process::id()).unwrap();
            let m = r.find(SlotKind::Member, "tomcat1", "lb").unwrap();
            let route = format!("r{n}-{}", "x".repeat(40));
            for i in 0..ROUNDS {
                // A shared word and the per-child counters (layout 5) of one request.
                m.add(Field::Errors, 1);
                m.child_add(me, ChildField::Elected, 1);
                m.count_status_class(me, 200);
                m.observe(&REPLY_TIME, me, 700 + n as u64);
                m.busy_inc(me);
                m.child_add(me, ChildField::Transferred, 3);
                if i % 1000 == 0 {
                    m.set_string(StrField::Route, &route).unwrap();
                }
                let seen = m.string(StrField::Route);
                if !(seen == "r-initial"
                    || (seen.starts_with('r') && seen.ends_with(&"x".repeat(40))))
                {
                    return 2; // torn read
                }
                m.busy_dec(me);
            }
            r.detach_child(me);
            0
        }));
    }
    for pid in pids {
        assert_eq!(wait(pid), 0, "child failed");
    }
    let total = CHILDREN as u64 * ROUNDS;
    assert_eq!(member.get(Field::Errors), total);
    // The status worker's figures are the sums over the children's own lines.
    assert_eq!(member.elected(), total);
    assert_eq!(member.status_classes(), [0, total, 0, 0, 0]);
    let h = member.histogram(&REPLY_TIME);
    assert_eq!(
        (h.count(), h.counts[1]),
        (total, total),
        "700.. µs: second bucket"
    );
    let sum: u64 = (0..CHILDREN as u64).map(|n| (700 + n) * ROUNDS).sum();
    assert_eq!(h.sum_us, sum);
    assert_eq!(
        member.child_sum(ChildField::Transferred),
        3 * CHILDREN as u64 * ROUNDS,
        "per-child byte counters add up and outlive their children"
    );
    assert_eq!(member.busy(), 0);
    assert!(member.get(Field::MaxBusy) >= 1 && member.get(Field::MaxBusy) <= CHILDREN as u64);
    assert!(region.children().is_empty());

    // A child killed while holding three requests in flight.
    let (rd, wr) = {
        let mut fds = [0; 2];
        // SAFETY: creating a pipe for the child to say it is ready.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        (fds[0], fds[1])
    };
    let victim = fork(move || {
        let r = Region::open(words, CHILDREN + 2, SLOTS).unwrap();
        let me = r.attach_child(std::process::id()).unwrap();
        let m = r.find(SlotKind::Member, "tomcat1", "lb").unwrap();
        for _ in 0..3 {
            m.busy_inc(me);
        }
        m.connected_inc(me);
        m.connected_inc(me);
        // SAFETY: writing one byte to the pipe, then waiting to be killed.
        unsafe {
            libc::write(wr, b"x".as_ptr().cast(), 1);
            libc::pause();
        }
        0
    });
    let mut b = [0u8; 1];
    // SAFETY: reading the ready byte.
    unsafe { libc::read(rd, b.as_mut_ptr().cast(), 1) };
    assert_eq!(member.busy(), 3);
    assert_eq!(member.connected(), 2);
    // SAFETY: killing and reaping our own child.
    unsafe { libc::kill(victim, libc::SIGKILL) };
    wait(victim);
    let alive = |pid: u32| {
        // SAFETY: probing for existence only.
        unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
    };
    assert_eq!(region.reap_dead_children(alive), 1);
    assert_eq!(
        member.busy(),
        0,
        "the dead child's in-flight requests no longer count"
    );
    assert_eq!(member.connected(), 0, "nor its connections");
    assert_eq!(member.get(Field::MaxConnected), 2);
    assert_eq!(region.generation().load(Ordering::Relaxed), 0);
}
