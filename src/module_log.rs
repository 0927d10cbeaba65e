//! The mod_jk log of one server: a `JkLogFile` (file or `|program`) written in mod_jk's line
//! format, or, without JkLogFile, httpd's own ErrorLog.

use std::ffi::c_int;
use std::sync::Arc;

use jk_log::{Level, LogSink, Logger};

use crate::ffi;
use crate::httpd_log::{log_server, HttpdLevel};

/// Where one server's mod_jk messages go.
#[derive(Clone)]
pub enum JkLog {
    File(Arc<Logger>),
    /// No JkLogFile: messages go to httpd's ErrorLog of `server` (filtered by `level` here
    /// and by httpd's LogLevel there).
    ErrorLog {
        level: Level,
        server: usize,
    },
}

impl JkLog {
    pub fn enabled(&self, level: Level) -> bool {
        match self {
            JkLog::File(l) => l.enabled(level),
            JkLog::ErrorLog { level: min, .. } => level >= *min,
        }
    }

    pub fn log(&self, level: Level, function: &str, file: &str, line: u32, msg: &str) {
        if !self.enabled(level) {
            return;
        }
        match self {
            JkLog::File(l) => l.log(
                level,
                function,
                file,
                line,
                format_args!("{msg}"),
                &crate::clock::now_local(),
            ),
            JkLog::ErrorLog { server, .. } => log_server(
                HttpdLevel::from_jk(level),
                false,
                *server as *const ffi::server_rec,
                &format!("mod_jk: {msg}"),
            ),
        }
    }

    /// A JkRequestLogFormat line (written whatever the level; only to a JkLogFile).
    pub fn request_line(&self, text: &str) {
        match self {
            JkLog::File(l) => l.request_line(&crate::clock::now_local(), text),
            JkLog::ErrorLog { server, .. } => log_server(
                HttpdLevel::Notice,
                false,
                *server as *const ffi::server_rec,
                &format!("mod_jk request: {text}"),
            ),
        }
    }
}

/// A `JkLogFile "|program"` sink: httpd's piped log, whose write end the child processes
/// inherit. Each line is one write(2) of at most 1024 bytes, below PIPE_BUF, so lines from
/// several processes never interleave.
pub struct PipeSink {
    fd: c_int,
}

impl PipeSink {
    /// Opens `program` through httpd's reliable piped log support.
    ///
    /// # Safety
    /// `pool` must be the configuration pool (the pipe lives as long as it).
    pub unsafe fn open(pool: *mut ffi::apr_pool_t, program: &str) -> Result<PipeSink, String> {
        let c = std::ffi::CString::new(program).map_err(|_| "invalid program".to_string())?;
        // SAFETY: live pool, NUL-terminated command line.
        let pl = unsafe { ffi::ap_open_piped_log(pool, c.as_ptr()) };
        if pl.is_null() {
            return Err(format!("could not open reliable pipe to jk log {program}"));
        }
        // SAFETY: pl is a live piped_log; its write end is an apr_file_t.
        let file = unsafe { ffi::ap_piped_log_write_fd(pl) };
        let mut fd: ffi::apr_os_file_t = -1;
        // SAFETY: file is live; apr_os_file_get stores its descriptor.
        let rv = unsafe { ffi::apr_os_file_get(&mut fd, file) };
        if rv != 0 || fd < 0 {
            return Err(format!(
                "could not get the descriptor of the pipe to {program}"
            ));
        }
        Ok(PipeSink { fd })
    }
}

impl LogSink for PipeSink {
    fn write_line(&self, line: &[u8]) {
        // SAFETY: writing a byte slice to a descriptor owned by httpd's piped log, which
        // outlives this generation's loggers. A failed write is dropped, as mod_jk does.
        unsafe {
            libc::write(self.fd, line.as_ptr().cast(), line.len());
        }
    }
}
