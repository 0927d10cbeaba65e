//! The one way across the FFI boundary: every `extern "C"` function httpd calls runs its body
//! inside [`guard`], which catches a panic, reports it to httpd's error log and returns the
//! entry point's fallback (ARCHITECTURE.md rule 3). A panic must never unwind into httpd: under
//! the event MPM that would take down every in-flight request of the child.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`; on panic logs `what` and the panic message, then returns `fallback`.
pub fn guard<T>(what: &'static str, fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_string());
            // Logging itself must not panic again: errlog::panic_report only formats and
            // calls httpd's logger with a NUL-free message.
            let _ = catch_unwind(|| crate::httpd_log::panic_report(what, &msg));
            fallback
        }
    }
}

/// Silences the default panic hook's stderr output (stderr of an httpd child is the error log
/// without our prefix); the boundary logs panics itself. Installed once per generation.
pub fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|_| {}));
    });
}
