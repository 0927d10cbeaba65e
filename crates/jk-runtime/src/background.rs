//! The background threads of an httpd child (the watchdog's maintenance, the readiness
//! prober): a round every tick until the child exits.
//!
//! Stopping must not hold up the child's exit: an old child that lingers on a graceful restart
//! keeps its scoreboard slot, and the event MPM starts the new generation's children only when
//! slots are free (a one-second stall of new connections per restart was measured with
//! sleep-polling threads). So a stop wakes the thread at once, waits a bounded grace for the
//! round in progress, and otherwise leaves the thread to end with the process.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// How long stopping waits for a round in progress (a probe blocked on a backend) to end.
pub const STOP_GRACE: Duration = Duration::from_millis(100);

#[derive(Default)]
struct Signal {
    /// (stop asked, thread ended)
    state: Mutex<(bool, bool)>,
    changed: Condvar,
}

impl Signal {
    /// Waits up to `tick` for a stop; true when one was asked.
    fn wait_stop(&self, tick: Duration) -> bool {
        let deadline = Instant::now() + tick;
        let mut g = self.state.lock();
        while !g.0 {
            if self.changed.wait_until(&mut g, deadline).timed_out() {
                break;
            }
        }
        g.0
    }
}

/// Marks the thread ended when its body returns or unwinds.
struct Ended(Arc<Signal>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.state.lock().1 = true;
        self.0.changed.notify_all();
    }
}

/// A background thread running `round` every tick; stopped (promptly) when dropped.
pub struct Background {
    signal: Arc<Signal>,
    handle: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts thread `name` that calls `round` every `tick` (first after one tick) until
    /// stopped. `round` should catch its own panics (a panic ends the thread).
    pub fn spawn(
        name: &str,
        tick: Duration,
        mut round: impl FnMut() + Send + 'static,
    ) -> std::io::Result<Background> {
        let signal = Arc::new(Signal::default());
        let s = signal.clone();
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _ended = Ended(s.clone());
                while !s.wait_stop(tick) {
                    round();
                }
            })?;
        Ok(Background {
            signal,
            handle: Some(handle),
        })
    }

    /// Asks the thread to stop and waits up to `grace` for it to end. True when it ended (and
    /// was joined); false when a round was still running (the thread is left to end on its
    /// own, or with the process).
    pub fn stop(&mut self, grace: Duration) -> bool {
        let deadline = Instant::now() + grace;
        let ended = {
            let mut g = self.signal.state.lock();
            g.0 = true;
            self.signal.changed.notify_all();
            while !g.1 {
                if self.signal.changed.wait_until(&mut g, deadline).timed_out() {
                    break;
                }
            }
            g.1
        };
        if let Some(h) = self.handle.take() {
            if ended {
                let _ = h.join();
            }
        }
        ended
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.handle.is_some() {
            self.stop(STOP_GRACE);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_long_tick_does_not_delay_the_stop() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let r = rounds.clone();
        let mut bg = Background::spawn("t-long-tick", Duration::from_secs(30), move || {
            r.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        let t = Instant::now();
        assert!(bg.stop(Duration::from_secs(5)), "ended and joined");
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "woken at once, not after the 30 s tick: {:?}",
            t.elapsed()
        );
        assert_eq!(rounds.load(Ordering::Relaxed), 0, "no round after the stop");
    }

    #[test]
    fn rounds_run_every_tick_until_stopped() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let r = rounds.clone();
        let bg = Background::spawn("t-ticks", Duration::from_millis(5), move || {
            r.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while rounds.load(Ordering::Relaxed) < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(bg);
        let after = rounds.load(Ordering::Relaxed);
        assert!(after >= 3, "{after} rounds");
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(rounds.load(Ordering::Relaxed), after, "none after the drop");
    }

    #[test]
    fn a_round_that_blocks_is_left_behind_after_the_grace() {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Mutex::new(release_rx);
        let mut bg = Background::spawn("t-blocked", Duration::from_millis(1), move || {
            let _ = started_tx.send(());
            // A probe stuck on a backend: blocks until the test releases it.
            let _ = release_rx.lock().recv_timeout(Duration::from_secs(10));
        })
        .unwrap();
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let t = Instant::now();
        assert!(!bg.stop(Duration::from_millis(50)), "still in its round");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        let _ = release_tx.send(());
    }

    #[test]
    fn a_panicking_round_ends_the_thread_and_the_stop_still_returns() {
        let mut bg = Background::spawn("t-panic", Duration::from_millis(1), || {
            panic!("round failed");
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(bg.stop(Duration::from_secs(5)));
    }
}
