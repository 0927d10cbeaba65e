//! Errors and exit codes.

use std::fmt;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: a step failed (update refused, timeout, command failed, verification failed).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error (bad arguments, unknown or ambiguous member or balancer).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the status URL could not be reached or did not answer as a status worker.
pub const EXIT_UNREACHABLE: u8 = 3;

/// What went wrong, and so which exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Usage error (exit 2).
    Usage(String),
    /// A step failed (exit 1).
    Failed(String),
    /// The status URL is unreachable or not a status worker (exit 3).
    Unreachable(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            Error::Failed(_) => EXIT_FAILED,
            Error::Unreachable(_) => EXIT_UNREACHABLE,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Error::Usage(m) | Error::Failed(m) | Error::Unreachable(m) => m,
        }
    }

    /// The same kind of error with the message changed by `f`.
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> Error {
        match self {
            Error::Usage(m) => Error::Usage(f(m)),
            Error::Failed(m) => Error::Failed(f(m)),
            Error::Unreachable(m) => Error::Unreachable(f(m)),
        }
    }

    /// The same kind of error with `prefix: ` in front of the message.
    pub fn context(self, prefix: &str) -> Error {
        self.map_message(|m| format!("{prefix}: {m}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}
