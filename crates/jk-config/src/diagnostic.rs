//! Where a setting came from, and what is wrong with it.
//!
//! Every message an operator sees has the shape `FILE:LINE: KEY: what is wrong`, so that
//! `apachectl configtest` output can be pasted into an editor's "go to line".

use std::fmt;
use std::sync::Arc;

/// A line in a configuration file (workers.properties, or the httpd file holding a
/// `JkWorkerProperty` directive). Displays as `file:line`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<str>,
    pub line: u32,
}

impl Location {
    pub fn new(file: impl Into<Arc<str>>, line: u32) -> Self {
        Location {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Accepted, but the operator should know (deprecated name, clamped value, ...).
    Warning,
    /// The configuration cannot be used; httpd must not start with it.
    Error,
}

/// One finding about the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub loc: Option<Location>,
    pub key: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn error(loc: Option<&Location>, key: Option<&str>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            loc: loc.cloned(),
            key: key.map(str::to_owned),
            message: message.into(),
        }
    }

    pub fn warning(loc: Option<&Location>, key: Option<&str>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            loc: loc.cloned(),
            key: key.map(str::to_owned),
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.loc {
            write!(f, "{loc}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// All errors found in one pass (never just the first), one per line when displayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub errors: Vec<Diagnostic>,
}

impl ConfigError {
    pub fn single(d: Diagnostic) -> Self {
        ConfigError { errors: vec![d] }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_all_parts() {
        let loc = Location::new("/etc/x/workers.properties", 14);
        let d = Diagnostic::error(Some(&loc), Some("worker.a.port"), "bad");
        assert_eq!(
            d.to_string(),
            "/etc/x/workers.properties:14: worker.a.port: bad"
        );
    }

    #[test]
    fn display_omits_missing_parts() {
        assert_eq!(
            Diagnostic::warning(None, Some("k"), "m").to_string(),
            "k: m"
        );
        assert_eq!(Diagnostic::warning(None, None, "m").to_string(), "m");
        let loc = Location::new("f", 1);
        assert_eq!(
            Diagnostic::warning(Some(&loc), None, "m").to_string(),
            "f:1: m"
        );
    }

    #[test]
    fn config_error_joins_lines() {
        let e = ConfigError {
            errors: vec![
                Diagnostic::error(None, None, "a"),
                Diagnostic::error(None, None, "b"),
            ],
        };
        assert_eq!(e.to_string(), "a\nb");
    }
}
