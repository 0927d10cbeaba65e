//! A configured log: level, stamp format and sink (one per distinct `JkLogFile`/vhost).

use crate::line::{finish_line, format_line};
use crate::{BrokenDownTime, Level, LogSink, StampFormat};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Writes mod_jk log lines at or above a level to a sink.
#[derive(Clone)]
pub struct Logger {
    level: Level,
    stamp: StampFormat,
    sink: Arc<dyn LogSink>,
    thread_id: fn() -> u64,
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("level", &self.level)
            .field("stamp", &self.stamp.as_str())
            .finish_non_exhaustive()
    }
}

/// A small per-thread number, used until the glue installs `pthread_self` (which is what mod_jk
/// prints and what a pure crate cannot ask for).
fn default_thread_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local!(static ID: u64 = NEXT.fetch_add(1, Ordering::Relaxed));
    ID.with(|id| *id)
}

impl Logger {
    /// A logger writing lines of `level` and above.
    pub fn new(level: Level, stamp: StampFormat, sink: Arc<dyn LogSink>) -> Logger {
        Logger {
            level,
            stamp,
            sink,
            thread_id: default_thread_id,
        }
    }

    /// Uses `thread_id` for the `<tid>` of each line (the glue passes a `pthread_self` wrapper).
    pub fn with_thread_id(mut self, thread_id: fn() -> u64) -> Logger {
        self.thread_id = thread_id;
        self
    }

    /// The configured level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The configured stamp format.
    pub fn stamp_format(&self) -> &StampFormat {
        &self.stamp
    }

    /// The sink lines go to.
    pub fn sink(&self) -> &Arc<dyn LogSink> {
        &self.sink
    }

    /// Whether a line of `level` would be written; check it before building costly messages
    /// (mod_jk's `JK_IS_DEBUG_LEVEL`).
    pub fn enabled(&self, level: Level) -> bool {
        level >= self.level
    }

    /// Writes one line if `level` is enabled. The pid is read at each call, so children forked
    /// after the logger was built print their own pid.
    pub fn log(
        &self,
        level: Level,
        function: &str,
        file: &str,
        line: u32,
        args: fmt::Arguments<'_>,
        now: &BrokenDownTime,
    ) {
        if !self.enabled(level) {
            return;
        }
        let stamp = self.stamp.render(now);
        let msg = fmt::format(args);
        let text = format_line(
            &stamp,
            std::process::id(),
            (self.thread_id)(),
            level,
            function,
            file,
            line,
            &msg,
        );
        self.sink.write_line(text.as_bytes());
    }

    /// Writes a `JkRequestLogFormat` line, `<stamp><text>\n`, whatever the level (mod_jk's
    /// `JK_LOG_REQUEST` level); capped like every other line.
    pub fn request_line(&self, now: &BrokenDownTime, text: &str) {
        let mut line = self.stamp.render(now);
        line.push_str(text);
        self.sink.write_line(finish_line(line).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{jk_log, MemorySink};

    fn now() -> BrokenDownTime {
        BrokenDownTime::from_epoch(1_795_574_599, 907_000, 0, "UTC")
    }

    fn logger(level: Level) -> (Logger, Arc<MemorySink>) {
        let sink = Arc::new(MemorySink::default());
        let logger = Logger::new(level, StampFormat::default(), sink.clone()).with_thread_id(|| 77);
        (logger, sink)
    }

    #[test]
    fn writes_enabled_levels_only() {
        let (logger, sink) = logger(Level::Warn);
        assert!(!logger.enabled(Level::Info));
        assert!(logger.enabled(Level::Warn));
        assert!(logger.enabled(Level::Emerg));
        logger.log(Level::Info, "f", "a.rs", 1, format_args!("skipped"), &now());
        logger.log(
            Level::Error,
            "f",
            "src/a.rs",
            2,
            format_args!("x={}", 5),
            &now(),
        );
        let pid = std::process::id();
        assert_eq!(
            sink.lines(),
            vec![format!(
                "[Wed Nov 25 02:43:19.907 2026] [{pid}:77] [error] f::a.rs (2): x=5\n"
            )]
        );
    }

    #[test]
    fn request_lines_ignore_the_level() {
        let (logger, sink) = logger(Level::Emerg);
        logger.request_line(&now(), "lb 127.0.0.1 0.002500 m1 200 /lb/a");
        assert_eq!(
            sink.contents(),
            "[Wed Nov 25 02:43:19.907 2026] lb 127.0.0.1 0.002500 m1 200 /lb/a\n"
        );
    }

    #[test]
    fn macro_skips_formatting_when_disabled() {
        let (logger, sink) = logger(Level::Info);
        let mut evaluated = false;
        let mut side_effect = || {
            evaluated = true;
            1
        };
        jk_log!(logger, &now(), Level::Debug, "f", "{}", side_effect());
        assert!(!evaluated);
        jk_log!(
            logger,
            &now(),
            Level::Info,
            "init_jk",
            "{} initialized",
            "mod_jk/1.2.48"
        );
        let lines = sink.lines();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("[info] init_jk::logger.rs ("));
        assert!(lines[0].ends_with("): mod_jk/1.2.48 initialized\n"));
    }

    #[test]
    fn default_thread_ids_differ_between_threads() {
        let here = default_thread_id();
        assert_eq!(here, default_thread_id());
        let there = std::thread::spawn(default_thread_id).join().unwrap_or(here);
        assert_ne!(here, there);
    }

    #[test]
    fn accessors_and_debug() {
        let (logger, _sink) = logger(Level::Debug);
        assert_eq!(logger.level(), Level::Debug);
        assert_eq!(logger.stamp_format().as_str(), crate::DEFAULT_STAMP_FORMAT);
        assert!(format!("{logger:?}").contains("Debug"));
        logger.sink().write_line(b"raw\n");
    }
}
