//! The connections of one endpoint in one httpd child, shared by its threads: a small LIFO of
//! idle connections (the most recently used is the warmest) and a count of slots, bounded by
//! connection_pool_size; a thread that finds no slot waits up to connection_acquire_timeout.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::conn::Conn;

struct Inner {
    idle: Vec<Conn>,
    /// Connections handed out plus slots reserved for a connect in progress.
    busy: usize,
}

pub struct Pool {
    inner: Mutex<Inner>,
    freed: Condvar,
    size: usize,
}

/// A reserved slot: either an idle connection or the right to open a new one. The slot goes
/// back to the pool exactly once: through [`Slot::release`], or when it is dropped (a panic
/// unwinding through a request, a path that forgot it), which closes the connection it was
/// for instead of leaking the slot.
pub struct Slot<'p> {
    pool: &'p Pool,
    pub conn: Option<Conn>,
    released: bool,
}

impl Slot<'_> {
    /// Gives the slot back, keeping `conn` for reuse when given.
    pub fn release(mut self, conn: Option<Conn>) {
        self.released = true;
        self.pool.release(conn);
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.released {
            if let Some(c) = self.conn.take() {
                c.shutdown();
            }
            self.pool.release(None);
        }
    }
}

/// Counts for status and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Idle connections kept.
    pub idle: usize,
    /// Slots in use.
    pub busy: usize,
    /// connection_pool_size.
    pub size: usize,
}

impl Pool {
    pub fn new(size: usize) -> Pool {
        Pool {
            inner: Mutex::new(Inner {
                idle: Vec::new(),
                busy: 0,
            }),
            freed: Condvar::new(),
            size: size.max(1),
        }
    }

    /// Takes a slot, waiting up to `timeout` (polled as mod_jk does, but woken at once when a
    /// slot is freed). None when none became free.
    pub fn acquire(&self, timeout: Duration) -> Option<Slot<'_>> {
        let deadline = Instant::now() + timeout;
        let mut g = self.inner.lock();
        loop {
            if let Some(conn) = g.idle.pop() {
                g.busy += 1;
                return Some(self.slot(Some(conn)));
            }
            if g.busy + g.idle.len() < self.size {
                g.busy += 1;
                return Some(self.slot(None));
            }
            if timeout.is_zero() || self.freed.wait_until(&mut g, deadline).timed_out() {
                // One last look after the deadline.
                if let Some(conn) = g.idle.pop() {
                    g.busy += 1;
                    return Some(self.slot(Some(conn)));
                }
                return None;
            }
        }
    }

    fn slot(&self, conn: Option<Conn>) -> Slot<'_> {
        Slot {
            pool: self,
            conn,
            released: false,
        }
    }

    /// Gives a slot back, keeping `conn` for reuse when given (only through [`Slot`]).
    fn release(&self, conn: Option<Conn>) {
        let mut g = self.inner.lock();
        g.busy = g.busy.saturating_sub(1);
        if let Some(c) = conn {
            g.idle.push(c);
        }
        drop(g);
        self.freed.notify_one();
    }

    /// Idle connections for maintenance: those idle longer than `older_than`, beyond the
    /// newest `keep`, are removed and returned (oldest first).
    pub fn take_idle_older_than(&self, older_than: Duration, keep: usize) -> Vec<Conn> {
        let now = Instant::now();
        let mut g = self.inner.lock();
        let mut out = Vec::new();
        // idle[0] is the oldest.
        while g.idle.len() > keep {
            match g.idle.first() {
                Some(c) if now.duration_since(c.last_used) > older_than => {
                    out.push(g.idle.remove(0))
                }
                _ => break,
            }
        }
        out
    }

    /// Takes the idle connections unused for at least `idle_for` (for interval CPing), each
    /// with its slot.
    pub fn take_idle_for(&self, idle_for: Duration) -> Vec<Slot<'_>> {
        let now = Instant::now();
        let old = {
            let mut g = self.inner.lock();
            let (old, fresh): (Vec<Conn>, Vec<Conn>) = g
                .idle
                .drain(..)
                .partition(|c| now.duration_since(c.last_used) >= idle_for);
            g.idle = fresh;
            g.busy += old.len();
            old
        };
        old.into_iter().map(|c| self.slot(Some(c))).collect()
    }

    pub fn stats(&self) -> PoolStats {
        let g = self.inner.lock();
        PoolStats {
            idle: g.idle.len(),
            busy: g.busy,
            size: self.size,
        }
    }

    /// Closes every idle connection (host/port changed, shutdown).
    pub fn clear_idle(&self) {
        let idle: Vec<Conn> = std::mem::take(&mut self.inner.lock().idle);
        for c in idle {
            c.shutdown();
        }
    }
}
