//! Every `Jk*` directive of mod_jk 1.2.48 (plus `JkRequestIdIndicator` from 1.2.49), for the
//! glue's command table and the README.

/// One directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectiveInfo {
    /// Directive name as documented (httpd matches it case-insensitively).
    pub name: &'static str,
    /// httpd argument kind: `TAKE1`, `TAKE12`, `RAW_ARGS` or `FLAG`.
    pub args: &'static str,
    /// Where it is allowed: `G` main server only, `S` server or vhost, `S,D` also in
    /// `<Location>`/`<Directory>`/`<Files>`.
    pub contexts: &'static str,
    /// Value when absent (`-` when there is none).
    pub default: &'static str,
    /// Whether its effect is there in this build (false: parsed, validated and merged, but
    /// it only acts once AJP13 forwarding lands; a startup warning names it when used).
    pub implemented_now: bool,
    /// One line for the operator.
    pub summary: &'static str,
}

const fn d(
    name: &'static str,
    args: &'static str,
    contexts: &'static str,
    default: &'static str,
    implemented_now: bool,
    summary: &'static str,
) -> DirectiveInfo {
    DirectiveInfo {
        name,
        args,
        contexts,
        default,
        implemented_now,
        summary,
    }
}

/// All directives, in the reference's order.
#[rustfmt::skip]
pub const DIRECTIVES: &[DirectiveInfo] = &[
    d("JkWorkersFile", "TAKE1", "G", "-", true,
      "workers.properties file (ServerRoot-relative, once only, must exist)"),
    d("JkWorkerProperty", "RAW_ARGS", "G", "-", true,
      "one workers.properties line; read before JkWorkersFile"),
    d("JkMount", "TAKE12", "S,D", "-", true,
      "map a URI pattern to a worker[;extensions] (in <Location>: the location path)"),
    d("JkUnMount", "TAKE12", "S,D", "-", true,
      "exclude a URI pattern from a worker (* = any worker)"),
    d("JkMountFile", "TAKE1", "S", "-", true,
      "uriworkermap.properties file (ServerRoot-relative, must exist)"),
    d("JkMountFileReload", "TAKE1", "S", "60", true,
      "seconds between mount file reload checks, 0 = never"),
    d("JkMountCopy", "TAKE1", "S", "Off", true,
      "On/Off: copy the main server's mounts into this vhost; All (main server): for every vhost"),
    d("JkAutoAlias", "TAKE1", "S", "-", true,
      "serve unmapped webapp contexts statically from this directory"),
    d("JkLogFile", "TAKE1", "S", "httpd ErrorLog", true,
      "mod_jk log file, or \"|program\""),
    d("JkLogLevel", "TAKE1", "S", "info", true,
      "trace, debug, info, warn, error or emerg"),
    d("JkLogStampFormat", "TAKE1", "S", "[%a %b %d %H:%M:%S.%Q %Y] ", true,
      "strftime time stamp for log lines, %Q = ms, %q = µs, at most 63 bytes"),
    d("JkRequestLogFormat", "TAKE1", "S", "-", true,
      "per-request log line (%b %B %H %m %p %q %r %s %T %U %v %V %w %R)"),
    d("JkShmFile", "TAKE1", "G", "logs/jk-runtime-status", true,
      "shared memory file (ServerRoot-relative)"),
    d("JkShmSize", "TAKE1", "G", "computed", true,
      "shared memory size in KB (no longer needed)"),
    d("JkWatchdogInterval", "TAKE1", "G", "0", true,
      "seconds between maintenance runs by a watchdog thread, 0 = on requests"),
    d("JkOptions", "RAW_ARGS", "S", "ForwardURIProxy ForwardKeySize", true,
      "[+|-]option list (ForwardURI*, FlushPackets, DisableReuse, …)"),
    d("JkEnvVar", "TAKE12", "S", "-", true,
      "forward an environment variable as a request attribute, with optional default"),
    d("JkStripSession", "TAKE12", "S", "Off ;jsessionid", true,
      "On|Off [identifier]: strip the session path parameter from unmapped URLs"),
    d("JkWorkerIndicator", "TAKE1", "S", "JK_WORKER_NAME", true,
      "environment variable naming the worker"),
    d("JkRemoteAddrIndicator", "TAKE1", "S", "JK_REMOTE_ADDR", true,
      "environment variable overriding the client address"),
    d("JkRemotePortIndicator", "TAKE1", "S", "JK_REMOTE_PORT", true,
      "environment variable overriding the client port"),
    d("JkRemoteHostIndicator", "TAKE1", "S", "JK_REMOTE_HOST", true,
      "environment variable overriding the client host name"),
    d("JkRemoteUserIndicator", "TAKE1", "S", "JK_REMOTE_USER", true,
      "environment variable overriding the remote user"),
    d("JkAuthTypeIndicator", "TAKE1", "S", "JK_AUTH_TYPE", true,
      "environment variable overriding the auth type"),
    d("JkLocalNameIndicator", "TAKE1", "S", "JK_LOCAL_NAME", true,
      "environment variable overriding the server name"),
    d("JkLocalAddrIndicator", "TAKE1", "S", "JK_LOCAL_ADDR", true,
      "environment variable overriding the local address (not inherited by vhosts)"),
    d("JkLocalPortIndicator", "TAKE1", "S", "JK_LOCAL_PORT", true,
      "environment variable overriding the server port"),
    d("JkIgnoreCLIndicator", "TAKE1", "S", "JK_IGNORE_CL", true,
      "environment variable: if set, drop Content-Length and stream the body"),
    d("JkExtractSSL", "FLAG", "S", "On", true,
      "forward SSL information"),
    d("JkHTTPSIndicator", "TAKE1", "S", "HTTPS", true,
      "environment variable telling the request is SSL (value on)"),
    d("JkSSLPROTOCOLIndicator", "TAKE1", "S", "SSL_PROTOCOL", true,
      "environment variable with the SSL protocol"),
    d("JkCERTSIndicator", "TAKE1", "S", "SSL_CLIENT_CERT", true,
      "environment variable with the client certificate"),
    d("JkCIPHERIndicator", "TAKE1", "S", "SSL_CIPHER", true,
      "environment variable with the SSL cipher"),
    d("JkSESSIONIndicator", "TAKE1", "S", "SSL_SESSION_ID", true,
      "environment variable with the SSL session id"),
    d("JkKEYSIZEIndicator", "TAKE1", "S", "SSL_CIPHER_USEKEYSIZE", true,
      "environment variable with the SSL key size"),
    d("JkCERTCHAINPrefix", "TAKE1", "S", "SSL_CLIENT_CERT_CHAIN_", true,
      "prefix of the environment variables with the client certificate chain"),
    d("JkRequestIdIndicator", "TAKE1", "S", "UNIQUE_ID", false,
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
            assert!(
                ["TAKE1", "TAKE12", "RAW_ARGS", "FLAG"].contains(&a.args),
                "{}",
                a.name
            );
            assert!(["G", "S", "S,D"].contains(&a.contexts), "{}", a.name);
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
        assert_eq!(directive("jkmount").map(|d| d.contexts), Some("S,D"));
        assert_eq!(directive("JkShmSize").map(|d| d.contexts), Some("G"));
        assert_eq!(
            directive("JkRequestIdIndicator").map(|d| d.implemented_now),
            Some(false)
        );
        assert!(directive("JkLbWorker").is_none());
    }
}
