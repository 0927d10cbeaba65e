//! Log levels of mod_jk (`JkLogLevel`), numbered as in mod_jk's `jk_logger.h`.

use std::fmt;

/// The six levels a `JkLogLevel` can name; a logger writes a line when the line's level is at
/// least the configured one. Request-log lines (mod_jk's level 6) bypass levels entirely, see
/// [`crate::Logger::request_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// 0: adds function enter/exit lines.
    Trace,
    /// 1: includes packet dumps.
    Debug,
    /// 2: mod_jk's default level.
    #[default]
    Info,
    /// 3: the directive word is `warn`, not `warning`.
    Warn,
    /// 4
    Error,
    /// 5
    Emerg,
}

impl Level {
    /// All levels, lowest first.
    pub const ALL: [Level; 6] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Emerg,
    ];

    /// The `JkLogLevel` word, compared case-insensitively. mod_jk's `jk_parse_log_level`
    /// silently turns an unknown word into `info`; returning `None` lets the glue say so.
    pub fn parse(word: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(word))
    }

    /// The tag printed between brackets in a log line, and the directive word.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Emerg => "emerg",
        }
    }

    /// mod_jk's numeric level (0 = trace … 5 = emerg).
    pub fn number(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_word_case_insensitively() {
        assert_eq!(Level::parse("trace"), Some(Level::Trace));
        assert_eq!(Level::parse("DEBUG"), Some(Level::Debug));
        assert_eq!(Level::parse("Info"), Some(Level::Info));
        assert_eq!(Level::parse("warn"), Some(Level::Warn));
        assert_eq!(Level::parse("eRRor"), Some(Level::Error));
        assert_eq!(Level::parse("emerg"), Some(Level::Emerg));
    }

    #[test]
    fn rejects_unknown_words() {
        assert_eq!(Level::parse("warning"), None);
        assert_eq!(Level::parse(""), None);
        assert_eq!(Level::parse("request"), None);
        assert_eq!(Level::parse(" info"), None);
    }

    #[test]
    fn numbers_tags_and_order() {
        for (i, l) in Level::ALL.iter().enumerate() {
            assert_eq!(usize::from(l.number()), i);
            assert_eq!(Level::parse(l.as_str()), Some(*l));
            assert_eq!(l.to_string(), l.as_str());
        }
        assert!(Level::Trace < Level::Emerg);
        assert_eq!(Level::default(), Level::Info);
    }
}
