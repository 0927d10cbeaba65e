//! Every `Jk*` directive of mod_jk 1.2.48 (plus `JkRequestIdIndicator` from 1.2.49): the one
//! table from which the glue builds httpd's command table (name, argument kind, context, help
//! text) and against which README.md is checked.

use std::ffi::CStr;

use crate::Indicator;

/// Which directive an entry is: the glue picks the handler by it, at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    WorkersFile,
    WorkerProperty,
    Mount,
    UnMount,
    MountFile,
    MountFileReload,
    MountCopy,
    AutoAlias,
    LogFile,
    LogLevel,
    LogStampFormat,
    RequestLogFormat,
    ShmFile,
    ShmSize,
    WatchdogInterval,
    Options,
    EnvVar,
    StripSession,
    ExtractSsl,
    /// A `Jk*Indicator` directive or `JkCERTCHAINPrefix`.
    Indicator(Indicator),
}

/// httpd's argument kind (`cmd_how`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Args {
    /// One argument.
    Take1,
    /// One or two arguments.
    Take12,
    /// The rest of the line, unparsed.
    RawArgs,
    /// `On` or `Off`.
    Flag,
}

impl Args {
    /// httpd's name: `TAKE1`, `TAKE12`, `RAW_ARGS`, `FLAG`.
    pub fn as_str(self) -> &'static str {
        match self {
            Args::Take1 => "TAKE1",
            Args::Take12 => "TAKE12",
            Args::RawArgs => "RAW_ARGS",
            Args::Flag => "FLAG",
        }
    }
}

/// Where a directive is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contexts {
    /// Main server only (registered for server contexts; the handler rejects `<VirtualHost>`).
    Global,
    /// Main server or `<VirtualHost>`.
    Server,
    /// Also in `<Location>`/`<Directory>`/`<Files>`.
    ServerAndDirectory,
}

/// One directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectiveInfo {
    /// Which directive.
    pub id: Directive,
    /// Directive name as documented (httpd matches it case-insensitively).
    pub name: &'static str,
    /// The same, NUL-terminated for httpd's command table.
    pub c_name: &'static CStr,
    /// httpd argument kind.
    pub args: Args,
    /// Where it is allowed.
    pub contexts: Contexts,
    /// Value when absent (`-` when there is none).
    pub default: &'static str,
    /// Whether its effect is there in this build (false: parsed, validated and merged, but
    /// it has no effect yet; a startup warning names it when used).
    pub implemented_now: bool,
    /// One line for the operator: README.md and httpd's help text (`apache2 -L`, argument
    /// errors).
    pub summary: &'static str,
    /// The same, NUL-terminated for httpd's command table.
    pub c_summary: &'static CStr,
}

const fn c(text: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(text.as_bytes()) {
        Ok(c) => c,
        Err(_) => panic!("a directive text contains a NUL byte"),
    }
}

/// One row: each text is written once, its C string is derived at compile time.
macro_rules! d {
    ($id:expr, $name:literal, $args:ident, $ctx:ident, $default:literal, $now:literal,
     $summary:literal) => {
        DirectiveInfo {
            id: $id,
            name: $name,
            c_name: c(concat!($name, "\0")),
            args: Args::$args,
            contexts: $ctx,
            default: $default,
            implemented_now: $now,
            summary: $summary,
            c_summary: c(concat!($summary, "\0")),
        }
    };
}

use Contexts::{Global as G, Server as S, ServerAndDirectory as SD};
use Directive as D;
use Indicator as I;

/// All directives, in the reference's order.
#[rustfmt::skip]
pub const DIRECTIVES: &[DirectiveInfo] = &[
    d!(D::WorkersFile, "JkWorkersFile", Take1, G, "-", true,
      "workers.properties file (ServerRoot-relative, once only, must exist)"),
    d!(D::WorkerProperty, "JkWorkerProperty", RawArgs, G, "-", true,
      "one workers.properties line; read before JkWorkersFile"),
    d!(D::Mount, "JkMount", Take12, SD, "-", true,
      "map a URI pattern to a worker[;extensions] (in <Location>: the location path)"),
    d!(D::UnMount, "JkUnMount", Take12, SD, "-", true,
      "exclude a URI pattern from a worker (* = any worker)"),
    d!(D::MountFile, "JkMountFile", Take1, S, "-", true,
      "uriworkermap.properties file (ServerRoot-relative, must exist)"),
    d!(D::MountFileReload, "JkMountFileReload", Take1, S, "60", true,
      "seconds between mount file reload checks, 0 = never"),
    d!(D::MountCopy, "JkMountCopy", Take1, S, "Off", true,
      "On/Off: copy the main server's mounts into this vhost; All (main server): for every vhost"),
    d!(D::AutoAlias, "JkAutoAlias", Take1, S, "-", true,
      "serve unmapped webapp contexts statically from this directory"),
    d!(D::LogFile, "JkLogFile", Take1, S, "built in", true,
      "mod_jk log file, or \"|program\""),
    d!(D::LogLevel, "JkLogLevel", Take1, S, "info", true,
      "trace, debug, info, warn, error or emerg"),
    d!(D::LogStampFormat, "JkLogStampFormat", Take1, S, "[%a %b %d %H:%M:%S.%Q %Y] ", true,
      "strftime time stamp for log lines, %Q = ms, %q = µs, at most 63 bytes"),
    d!(D::RequestLogFormat, "JkRequestLogFormat", Take1, S, "-", true,
      "per-request log line (%b %B %H %m %p %q %r %s %T %U %v %V %w %R)"),
    d!(D::ShmFile, "JkShmFile", Take1, G, "built in", true,
      "shared memory file (ServerRoot-relative)"),
    d!(D::ShmSize, "JkShmSize", Take1, G, "computed", true,
      "shared memory size in KB (no longer needed)"),
    d!(D::WatchdogInterval, "JkWatchdogInterval", Take1, G, "0", true,
      "seconds between maintenance runs by a watchdog thread, 0 = on requests"),
    d!(D::Options, "JkOptions", RawArgs, S, "ForwardURIProxy ForwardKeySize", true,
      "[+|-]option list (ForwardURI*, FlushPackets, DisableReuse, …)"),
    d!(D::EnvVar, "JkEnvVar", Take12, S, "-", true,
      "forward an environment variable as a request attribute, with optional default"),
    d!(D::StripSession, "JkStripSession", Take12, S, "Off ;jsessionid", true,
      "On|Off [identifier]: strip the session path parameter from unmapped URLs"),
    d!(D::Indicator(I::Worker), "JkWorkerIndicator", Take1, S, "JK_WORKER_NAME", true,
      "environment variable naming the worker"),
    d!(D::Indicator(I::RemoteAddr), "JkRemoteAddrIndicator", Take1, S, "JK_REMOTE_ADDR", true,
      "environment variable overriding the client address"),
    d!(D::Indicator(I::RemotePort), "JkRemotePortIndicator", Take1, S, "JK_REMOTE_PORT", true,
      "environment variable overriding the client port"),
    d!(D::Indicator(I::RemoteHost), "JkRemoteHostIndicator", Take1, S, "JK_REMOTE_HOST", true,
      "environment variable overriding the client host name"),
    d!(D::Indicator(I::RemoteUser), "JkRemoteUserIndicator", Take1, S, "JK_REMOTE_USER", true,
      "environment variable overriding the remote user"),
    d!(D::Indicator(I::AuthType), "JkAuthTypeIndicator", Take1, S, "JK_AUTH_TYPE", true,
      "environment variable overriding the auth type"),
    d!(D::Indicator(I::LocalName), "JkLocalNameIndicator", Take1, S, "JK_LOCAL_NAME", true,
      "environment variable overriding the server name"),
    d!(D::Indicator(I::LocalAddr), "JkLocalAddrIndicator", Take1, S, "JK_LOCAL_ADDR", true,
      "environment variable overriding the local address (not inherited by vhosts)"),
    d!(D::Indicator(I::LocalPort), "JkLocalPortIndicator", Take1, S, "JK_LOCAL_PORT", true,
      "environment variable overriding the server port"),
    d!(D::Indicator(I::IgnoreCl), "JkIgnoreCLIndicator", Take1, S, "JK_IGNORE_CL", true,
      "environment variable: if set, drop Content-Length and stream the body"),
    d!(D::ExtractSsl, "JkExtractSSL", Flag, S, "On", true,
      "forward SSL information"),
    d!(D::Indicator(I::Https), "JkHTTPSIndicator", Take1, S, "HTTPS", true,
      "environment variable telling the request is SSL (value on)"),
    d!(D::Indicator(I::SslProtocol), "JkSSLPROTOCOLIndicator", Take1, S, "SSL_PROTOCOL", true,
      "environment variable with the SSL protocol"),
    d!(D::Indicator(I::Certs), "JkCERTSIndicator", Take1, S, "SSL_CLIENT_CERT", true,
      "environment variable with the client certificate"),
    d!(D::Indicator(I::Cipher), "JkCIPHERIndicator", Take1, S, "SSL_CIPHER", true,
      "environment variable with the SSL cipher"),
    d!(D::Indicator(I::Session), "JkSESSIONIndicator", Take1, S, "SSL_SESSION_ID", true,
      "environment variable with the SSL session id"),
    d!(D::Indicator(I::KeySize), "JkKEYSIZEIndicator", Take1, S, "SSL_CIPHER_USEKEYSIZE", true,
      "environment variable with the SSL key size"),
    d!(D::Indicator(I::CertChainPrefix), "JkCERTCHAINPrefix", Take1, S, "SSL_CLIENT_CERT_CHAIN_", true,
      "prefix of the environment variables with the client certificate chain"),
    d!(D::Indicator(I::RequestId), "JkRequestIdIndicator", Take1, S, "UNIQUE_ID", false,
      "mod_jk 1.2.49 extension, accepted for forward compatibility: request id variable"),
];

/// The entry for a directive name (case-insensitive).
pub fn directive(name: &str) -> Option<&'static DirectiveInfo> {
    DIRECTIVES
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Indicator;

    #[test]
    fn names_are_unique_and_kinds_valid() {
        for (i, a) in DIRECTIVES.iter().enumerate() {
            assert!(a.name.starts_with("Jk"), "{}", a.name);
            assert_eq!(a.c_name.to_str(), Ok(a.name));
            assert_eq!(a.c_summary.to_str(), Ok(a.summary));
            assert!(!a.summary.is_empty());
            for b in &DIRECTIVES[i + 1..] {
                assert!(!a.name.eq_ignore_ascii_case(b.name), "{}", a.name);
            }
        }
        assert_eq!(DIRECTIVES.len(), 37);
    }

    #[test]
    fn every_indicator_is_listed_with_its_default() {
        for which in Indicator::ALL {
            let info = directive(which.directive()).map(|d| d.default);
            assert_eq!(info, Some(which.default_name()), "{:?}", which);
        }
    }

    #[test]
    fn lookup() {
        assert_eq!(directive("jkmount").map(|d| d.contexts), Some(SD));
        assert_eq!(directive("JkShmSize").map(|d| d.contexts), Some(G));
        assert_eq!(
            directive("JkOptions").map(|d| d.args.as_str()),
            Some("RAW_ARGS")
        );
        assert_eq!(
            directive("JkHTTPSIndicator").map(|d| d.id),
            Some(D::Indicator(I::Https))
        );
        assert_eq!(
            directive("JkRequestIdIndicator").map(|d| d.implemented_now),
            Some(false)
        );
        assert!(directive("JkLbWorker").is_none());
    }
}
