//! mod_jk's own log file: levels, the time stamp (`JkLogStampFormat`), the line layout, the
//! sinks lines are written to, and the per-request line (`JkRequestLogFormat`).
//!
//! This crate is pure: it never asks the system for the time or the thread id. The httpd glue
//! fills a [`BrokenDownTime`] from `localtime_r` and may install a `pthread_self` source with
//! [`Logger::with_thread_id`], so everything here is testable without a server.
#![forbid(unsafe_code)]

mod level;
mod line;
mod logger;
mod request_log;
mod sink;
mod stamp;

pub use level::Level;
pub use line::{format_line, MAX_LINE_BYTES};
pub use logger::Logger;
pub use request_log::{RequestLogFormat, RequestLogValues, REQUEST_LOG_CODES};
pub use sink::{FileSink, LogSink, MemorySink};
pub use stamp::{BrokenDownTime, StampFormat, DEFAULT_STAMP_FORMAT, MAX_STAMP_FORMAT_BYTES};

/// Logs one line through a [`Logger`] if its level is enabled, formatting the message only
/// then. The source file and line are taken from the call site; mod_jk prints the C function
/// name, which Rust cannot provide, so the caller names it.
///
/// ```
/// # use std::sync::Arc;
/// # use jk_log::*;
/// let sink = Arc::new(MemorySink::default());
/// let logger = Logger::new(Level::Info, StampFormat::default(), sink.clone());
/// let now = BrokenDownTime::from_epoch(0, 0, 0, "UTC");
/// jk_log!(logger, &now, Level::Info, "init_jk", "{} initialized", "mod_jk/1.2.48");
/// assert!(sink.lines()[0].ends_with("mod_jk/1.2.48 initialized\n"));
/// ```
#[macro_export]
macro_rules! jk_log {
    ($logger:expr, $now:expr, $level:expr, $function:expr, $($arg:tt)+) => {{
        let level: $crate::Level = $level;
        if $logger.enabled(level) {
            $logger.log(level, $function, file!(), line!(), format_args!($($arg)+), $now);
        }
    }};
}
