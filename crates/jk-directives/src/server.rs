//! Per-server configuration (main server and each `<VirtualHost>`), its setters (one per
//! directive that needs parsing) and the main → vhost merge.

use crate::indicators::{Indicator, Indicators};
use crate::options::{JkOptions, OptionBits};
use crate::parse_count;
use jk_log::{Level, RequestLogFormat, StampFormat};
use std::path::Path;

/// `JkMountFileReload` when absent (`JK_URIMAP_DEF_RELOAD`).
pub const DEFAULT_MOUNT_FILE_RELOAD: u32 = 60;

/// `JkStripSession` identifier when none is given (`JK_PATH_SESSION_IDENTIFIER`).
pub const DEFAULT_STRIP_SESSION_IDENTIFIER: &str = ";jsessionid";

/// `JkMountCopy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MountCopy {
    /// Copy the main server's mounts into this vhost.
    On,
    /// Do not (the default).
    Off,
    /// Main server only: every vhost that does not say `Off` behaves as `On`.
    All,
}

/// One `JkMount` / `JkUnMount`, in configuration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountDirective {
    /// The URI pattern (the `<Location>` path verbatim when given inside one).
    pub pattern: String,
    /// `worker[;ext=value…]`, or `*` for an unmount of any worker.
    pub worker_spec: String,
    /// `JkUnMount` (mod_jk stores it as the rule `!<pattern>`).
    pub unmount: bool,
    /// Where it was configured, `file:line`.
    pub loc: String,
}

/// One `JkEnvVar`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// The variable, also the AJP attribute name.
    pub name: String,
    /// `None`: sent only when set at request time. `Some` (even empty): always sent, this
    /// value used when the variable is unset.
    pub default: Option<String>,
}

/// What the `Jk*` directives of one server set. `None` / empty = not set in this server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerConf {
    /// A `<VirtualHost>` (as opposed to the main server).
    pub is_virtual: bool,
    /// `JkLogFile`, a path (resolved by the glue) or `|command`. `Some("")` is kept as given:
    /// post_config reports it and falls back to the main log.
    pub log_file: Option<String>,
    /// `JkLogLevel`.
    pub log_level: Option<Level>,
    /// `JkLogStampFormat`, validated.
    pub stamp_format: Option<String>,
    /// `JkRequestLogFormat`, validated.
    pub request_log_format: Option<String>,
    /// `JkMountFile` (resolved path that existed at directive time).
    pub mount_file: Option<String>,
    /// `JkMountFileReload` in seconds, 0 = never.
    pub mount_file_reload: Option<u32>,
    /// `JkMountCopy`.
    pub mount_copy: Option<MountCopy>,
    /// `JkAutoAlias` directory.
    pub auto_alias: Option<String>,
    /// `JkMount` / `JkUnMount` in order.
    pub mounts: Vec<MountDirective>,
    /// `JkOptions`.
    pub options: JkOptions,
    /// `JkStripSession` (on, identifier).
    pub strip_session: Option<(bool, String)>,
    /// `JkEnvVar`s in order (`None`: no `JkEnvVar` in this server).
    pub env_vars: Option<Vec<EnvVar>>,
    /// The `*Indicator` directives and `JkCERTCHAINPrefix`.
    pub indicators: Indicators,
    /// `JkExtractSSL`.
    pub extract_ssl: Option<bool>,
}

fn on_off(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("on") {
        Some(true)
    } else if value.eq_ignore_ascii_case("off") {
        Some(false)
    } else {
        None
    }
}

impl ServerConf {
    /// An empty configuration for the main server (`false`) or a vhost (`true`).
    pub fn new(is_virtual: bool) -> ServerConf {
        ServerConf {
            is_virtual,
            ..ServerConf::default()
        }
    }

    /// `JkLogFile`: stored as given (the glue resolves non-pipe paths against ServerRoot).
    pub fn set_log_file(&mut self, path: &str) {
        self.log_file = Some(path.to_string());
    }

    /// `JkLogLevel`. Stricter than mod_jk, which silently uses `info` for an unknown word.
    pub fn set_log_level(&mut self, value: &str) -> Result<(), String> {
        match Level::parse(value) {
            Some(level) => {
                self.log_level = Some(level);
                Ok(())
            }
            None => Err(format!(
                "JkLogLevel: unknown level '{value}', use one of trace, debug, info, warn, \
                 error or emerg"
            )),
        }
    }

    /// `JkLogStampFormat`: at most 63 bytes (see [`StampFormat::parse`]).
    pub fn set_stamp_format(&mut self, format: &str) -> Result<(), String> {
        StampFormat::parse(format)?;
        self.stamp_format = Some(format.to_string());
        Ok(())
    }

    /// `JkRequestLogFormat`. mod_jk accepts any text here and disables request logging at
    /// startup when it does not parse; we reject it with mod_jk's parse message, e.g.
    /// `Unrecognized JkRequestLogFormat directive %x`.
    pub fn set_request_log_format(&mut self, format: &str) -> Result<(), String> {
        RequestLogFormat::parse(format)?;
        self.request_log_format = Some(format.to_string());
        Ok(())
    }

    /// `JkMountFile`, with the path already resolved against ServerRoot; the file must exist
    /// now, as in mod_jk.
    pub fn set_mount_file(&mut self, resolved_path: &str) -> Result<(), String> {
        if !Path::new(resolved_path).exists() {
            return Err("JkMountFile: Can't find the mount file specified".to_string());
        }
        self.mount_file = Some(resolved_path.to_string());
        Ok(())
    }

    /// `JkMountFileReload`: seconds, negative → 0. mod_jk's `atoi` also accepts garbage (as 0);
    /// we reject it.
    pub fn set_mount_file_reload(&mut self, value: &str) -> Result<(), String> {
        let secs = parse_count(value)
            .ok_or_else(|| format!("JkMountFileReload: '{value}' is not a number of seconds"))?;
        self.mount_file_reload = Some(secs);
        Ok(())
    }

    /// `JkMountCopy On|Off|All` (case-insensitive); `All` only in the main server, with httpd's
    /// `GLOBAL_ONLY` message. See also [`crate::GlobalConf::set_mount_copy`].
    pub fn set_mount_copy(&mut self, value: &str) -> Result<(), String> {
        let copy = if value.eq_ignore_ascii_case("all") {
            crate::global_only("JkMountCopy", self.is_virtual)?;
            MountCopy::All
        } else {
            match on_off(value) {
                Some(true) => MountCopy::On,
                Some(false) => MountCopy::Off,
                None => return Err("JkMountCopy must be All, On or Off".to_string()),
            }
        };
        self.mount_copy = Some(copy);
        Ok(())
    }

    /// `JkAutoAlias`.
    pub fn set_auto_alias(&mut self, directory: &str) {
        self.auto_alias = Some(directory.to_string());
    }

    /// `JkMount` (`unmount == false`) or `JkUnMount`. `location` is the enclosing
    /// `<Location>`/`<Directory>`/`<Files>` path (httpd's `cmd->path`), if any: there the single
    /// argument is the worker and the path is the pattern, verbatim. `loc` is `file:line`.
    pub fn add_mount(
        &mut self,
        unmount: bool,
        location: Option<&str>,
        arg1: &str,
        arg2: Option<&str>,
        loc: &str,
    ) -> Result<(), String> {
        let directive = if unmount { "JkUnMount" } else { "JkMount" };
        let (pattern, worker) = match (location, arg2) {
            (None, Some(worker)) => (arg1, worker),
            (Some(path), None) => (path, arg1),
            (None, None) => {
                return Err(format!(
                    "{directive} needs a path when not defined in a location"
                ))
            }
            (Some(_), Some(_)) => {
                return Err(format!(
                    "{directive} can not have a path when defined in a location"
                ))
            }
        };
        if !pattern.starts_with('/') {
            return Err(format!("{directive} context should start with /"));
        }
        self.mounts.push(MountDirective {
            pattern: pattern.to_string(),
            worker_spec: worker.to_string(),
            unmount,
            loc: loc.to_string(),
        });
        Ok(())
    }

    /// `JkOptions` (raw arguments). Returns the warnings for the httpd error log
    /// (`Deprecated CollapseSlashes setting ignored`); errors are mod_jk's texts.
    pub fn set_options(&mut self, raw_args: &str) -> Result<Vec<String>, String> {
        self.options.apply(raw_args)
    }

    /// `JkStripSession On|Off [identifier]`; the identifier defaults to `;jsessionid` (also
    /// when a later directive omits it, as in mod_jk).
    pub fn set_strip_session(&mut self, flag: &str, ident: Option<&str>) -> Result<(), String> {
        let on = on_off(flag).ok_or_else(|| "JkStripSession must be On or Off".to_string())?;
        let ident = ident.unwrap_or(DEFAULT_STRIP_SESSION_IDENTIFIER);
        self.strip_session = Some((on, ident.to_string()));
        Ok(())
    }

    /// `JkEnvVar NAME [default]`. Names compare case-insensitively (an APR table in mod_jk):
    /// repeating a name replaces its default and keeps its first position.
    pub fn add_env_var(&mut self, name: &str, default: Option<&str>) {
        let vars = self.env_vars.get_or_insert_with(Vec::new);
        let var = EnvVar {
            name: name.to_string(),
            default: default.map(str::to_string),
        };
        match vars.iter_mut().find(|v| v.name.eq_ignore_ascii_case(name)) {
            Some(existing) => existing.default = var.default,
            None => vars.push(var),
        }
    }

    /// Any `*Indicator` directive or `JkCERTCHAINPrefix`, by directive name.
    pub fn set_indicator(&mut self, directive: &str, value: &str) -> Result<(), String> {
        let which = Indicator::from_directive(directive)
            .ok_or_else(|| format!("{directive} is not an indicator directive"))?;
        self.indicators.set(which, value);
        Ok(())
    }

    /// `JkExtractSSL On|Off` (a FLAG directive: httpd parses the word).
    pub fn set_extract_ssl(&mut self, on: bool) {
        self.extract_ssl = Some(on);
    }

    /// The vhost's effective configuration, as mod_jk's merge in post_config leaves it:
    /// inherited values unless the vhost set its own, except `JkLocalAddrIndicator`; env vars
    /// merged (the vhost's first, then main names it lacks); options by the `JkOptions` rule.
    /// `JkMountCopy`, when the vhost did not set it, becomes `On` if the main server said
    /// `All`. Mounts, `JkMountFile` and `JkAutoAlias` stay the vhost's own: copying them
    /// depends on `JkMountCopy` and on the URI map, which is jk-urimap's business.
    pub fn merged(main: &ServerConf, vhost: &ServerConf) -> ServerConf {
        let env_vars = match (&main.env_vars, &vhost.env_vars) {
            (main_vars, None) => main_vars.clone(),
            (None, Some(own)) => Some(own.clone()),
            (Some(main_vars), Some(own)) => {
                let mut vars = own.clone();
                for var in main_vars {
                    if !vars.iter().any(|v| v.name.eq_ignore_ascii_case(&var.name)) {
                        vars.push(var.clone());
                    }
                }
                Some(vars)
            }
        };
        let mount_copy = vhost.mount_copy.or(match main.mount_copy {
            Some(MountCopy::All) => Some(MountCopy::On),
            _ => None,
        });
        ServerConf {
            is_virtual: vhost.is_virtual,
            log_file: vhost.log_file.clone().or_else(|| main.log_file.clone()),
            log_level: vhost.log_level.or(main.log_level),
            stamp_format: vhost
                .stamp_format
                .clone()
                .or_else(|| main.stamp_format.clone()),
            request_log_format: vhost
                .request_log_format
                .clone()
                .or_else(|| main.request_log_format.clone()),
            mount_file: vhost.mount_file.clone(),
            mount_file_reload: vhost.mount_file_reload.or(main.mount_file_reload),
            mount_copy,
            auto_alias: vhost.auto_alias.clone(),
            mounts: vhost.mounts.clone(),
            options: JkOptions::merged(&main.options, &vhost.options),
            strip_session: vhost
                .strip_session
                .clone()
                .or_else(|| main.strip_session.clone()),
            env_vars,
            indicators: Indicators::merged(&main.indicators, &vhost.indicators),
            extract_ssl: vhost.extract_ssl.or(main.extract_ssl),
        }
    }

    /// The options in force (defaults `ForwardURIProxy` and `ForwardKeySize` applied, then the
    /// exclusions). For a vhost call it on [`ServerConf::merged`].
    pub fn effective_options(&self) -> OptionBits {
        self.options.effective()
    }

    /// `JkLogLevel`, default `info`.
    pub fn effective_log_level(&self) -> Level {
        self.log_level.unwrap_or_default()
    }

    /// `JkLogStampFormat` text, default [`jk_log::DEFAULT_STAMP_FORMAT`].
    pub fn effective_stamp_format(&self) -> &str {
        self.stamp_format
            .as_deref()
            .unwrap_or(jk_log::DEFAULT_STAMP_FORMAT)
    }

    /// `JkMountFileReload`, default 60 s.
    pub fn effective_mount_file_reload(&self) -> u32 {
        self.mount_file_reload.unwrap_or(DEFAULT_MOUNT_FILE_RELOAD)
    }

    /// `JkMountCopy`, default `Off` (for a vhost, call it on [`ServerConf::merged`]).
    pub fn effective_mount_copy(&self) -> MountCopy {
        self.mount_copy.unwrap_or(MountCopy::Off)
    }

    /// `JkStripSession`, default off with `;jsessionid`.
    pub fn effective_strip_session(&self) -> (bool, &str) {
        match &self.strip_session {
            Some((on, ident)) => (*on, ident.as_str()),
            None => (false, DEFAULT_STRIP_SESSION_IDENTIFIER),
        }
    }

    /// `JkExtractSSL`, default on.
    pub fn effective_extract_ssl(&self) -> bool {
        self.extract_ssl.unwrap_or(true)
    }

    /// The `JkEnvVar`s in force (empty when none).
    pub fn effective_env_vars(&self) -> &[EnvVar] {
        self.env_vars.as_deref().unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{ForwardAddress, ForwardUri};

    fn main_conf() -> ServerConf {
        ServerConf::new(false)
    }

    fn vhost() -> ServerConf {
        ServerConf::new(true)
    }

    #[test]
    fn new_is_empty() {
        let c = vhost();
        assert!(c.is_virtual);
        assert_eq!(
            c,
            ServerConf {
                is_virtual: true,
                ..ServerConf::default()
            }
        );
        assert!(!main_conf().is_virtual);
    }

    #[test]
    fn defaults() {
        let c = main_conf();
        assert_eq!(c.effective_log_level(), Level::Info);
        assert_eq!(c.effective_stamp_format(), "[%a %b %d %H:%M:%S.%Q %Y] ");
        assert_eq!(c.effective_mount_file_reload(), 60);
        assert_eq!(c.effective_mount_copy(), MountCopy::Off);
        assert_eq!(c.effective_strip_session(), (false, ";jsessionid"));
        assert!(c.effective_extract_ssl());
        assert!(c.effective_env_vars().is_empty());
        assert_eq!(c.effective_options(), OptionBits::DEFAULT);
        assert_eq!(c.indicators.effective(Indicator::Worker), "JK_WORKER_NAME");
    }

    #[test]
    fn log_level() {
        let mut c = main_conf();
        c.set_log_level("DEBUG").unwrap();
        assert_eq!(c.log_level, Some(Level::Debug));
        c.set_log_level("warn").unwrap();
        assert_eq!(c.effective_log_level(), Level::Warn);
        assert_eq!(
            c.set_log_level("warning").unwrap_err(),
            "JkLogLevel: unknown level 'warning', use one of trace, debug, info, warn, error \
             or emerg"
        );
        assert_eq!(c.log_level, Some(Level::Warn));
    }

    #[test]
    fn log_file_kept_as_given() {
        let mut c = main_conf();
        c.set_log_file("|/usr/bin/rotatelogs /var/log/jk.%Y 86400");
        assert_eq!(
            c.log_file.as_deref(),
            Some("|/usr/bin/rotatelogs /var/log/jk.%Y 86400")
        );
        c.set_log_file("");
        assert_eq!(c.log_file.as_deref(), Some(""));
    }

    #[test]
    fn stamp_format() {
        let mut c = main_conf();
        c.set_stamp_format("[%H:%M:%S.%q] ").unwrap();
        assert_eq!(c.effective_stamp_format(), "[%H:%M:%S.%q] ");
        let err = c.set_stamp_format(&"%Y".repeat(32)).unwrap_err();
        assert_eq!(
            err,
            "JkLogStampFormat: the format is 64 bytes long, at most 63 are allowed"
        );
        assert_eq!(c.stamp_format.as_deref(), Some("[%H:%M:%S.%q] "));
    }

    #[test]
    fn request_log_format() {
        let mut c = main_conf();
        c.set_request_log_format("%w %V %T %R %s %U%q").unwrap();
        assert_eq!(c.request_log_format.as_deref(), Some("%w %V %T %R %s %U%q"));
        assert_eq!(
            c.set_request_log_format("%w %x").unwrap_err(),
            "Unrecognized JkRequestLogFormat directive %x"
        );
    }

    #[test]
    fn mount_file_must_exist() {
        let mut c = main_conf();
        let dir = std::env::temp_dir();
        let path = dir.join(format!("jk-directives-{}-uriworkermap", std::process::id()));
        std::fs::write(&path, "/a=w\n").unwrap();
        let p = path.to_str().unwrap();
        c.set_mount_file(p).unwrap();
        assert_eq!(c.mount_file.as_deref(), Some(p));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            c.set_mount_file(p).unwrap_err(),
            "JkMountFile: Can't find the mount file specified"
        );
    }

    #[test]
    fn mount_file_reload() {
        let mut c = main_conf();
        c.set_mount_file_reload("120").unwrap();
        assert_eq!(c.effective_mount_file_reload(), 120);
        c.set_mount_file_reload("-3").unwrap();
        assert_eq!(c.mount_file_reload, Some(0));
        c.set_mount_file_reload("0").unwrap();
        assert_eq!(c.mount_file_reload, Some(0));
        for bad in ["", "soon", "10s", "1.5"] {
            assert_eq!(
                c.set_mount_file_reload(bad).unwrap_err(),
                format!("JkMountFileReload: '{bad}' is not a number of seconds")
            );
        }
    }

    #[test]
    fn mount_copy() {
        let mut c = vhost();
        c.set_mount_copy("on").unwrap();
        assert_eq!(c.mount_copy, Some(MountCopy::On));
        c.set_mount_copy("OFF").unwrap();
        assert_eq!(c.mount_copy, Some(MountCopy::Off));
        assert_eq!(
            c.set_mount_copy("yes").unwrap_err(),
            "JkMountCopy must be All, On or Off"
        );
        assert_eq!(
            c.set_mount_copy("All").unwrap_err(),
            "JkMountCopy cannot occur within <VirtualHost> section"
        );
        assert_eq!(c.mount_copy, Some(MountCopy::Off));
        let mut m = main_conf();
        m.set_mount_copy("ALL").unwrap();
        assert_eq!(m.mount_copy, Some(MountCopy::All));
    }

    #[test]
    fn mounts() {
        let mut c = main_conf();
        c.add_mount(
            false,
            None,
            "/app/*",
            Some("w1;reply_timeout=5"),
            "jk.conf:3",
        )
        .unwrap();
        c.add_mount(true, None, "/app/*.gif", Some("*"), "jk.conf:4")
            .unwrap();
        c.add_mount(false, Some("/jk-status"), "jk-status", None, "jk.conf:9")
            .unwrap();
        assert_eq!(
            c.mounts,
            vec![
                MountDirective {
                    pattern: "/app/*".into(),
                    worker_spec: "w1;reply_timeout=5".into(),
                    unmount: false,
                    loc: "jk.conf:3".into()
                },
                MountDirective {
                    pattern: "/app/*.gif".into(),
                    worker_spec: "*".into(),
                    unmount: true,
                    loc: "jk.conf:4".into()
                },
                MountDirective {
                    pattern: "/jk-status".into(),
                    worker_spec: "jk-status".into(),
                    unmount: false,
                    loc: "jk.conf:9".into()
                },
            ]
        );
    }

    #[test]
    fn mount_errors() {
        let mut c = main_conf();
        let err = |c: &mut ServerConf, u, l, a, b| c.add_mount(u, l, a, b, "x:1").unwrap_err();
        assert_eq!(
            err(&mut c, false, None, "w1", None),
            "JkMount needs a path when not defined in a location"
        );
        assert_eq!(
            err(&mut c, true, None, "w1", None),
            "JkUnMount needs a path when not defined in a location"
        );
        assert_eq!(
            err(&mut c, false, Some("/x"), "/x", Some("w1")),
            "JkMount can not have a path when defined in a location"
        );
        assert_eq!(
            err(&mut c, true, Some("/x"), "/x", Some("w1")),
            "JkUnMount can not have a path when defined in a location"
        );
        assert_eq!(
            err(&mut c, false, None, "*.jsp", Some("w1")),
            "JkMount context should start with /"
        );
        assert_eq!(
            err(&mut c, true, Some("~ \\.gif$"), "w1", None),
            "JkUnMount context should start with /"
        );
        assert!(c.mounts.is_empty());
    }

    #[test]
    fn options_and_warnings() {
        let mut c = main_conf();
        assert!(c
            .set_options("+FlushPackets ForwardURICompat")
            .unwrap()
            .is_empty());
        let bits = c.effective_options();
        assert!(bits.flush_packets());
        assert_eq!(bits.forward_uri_mode(), ForwardUri::Compat);
        assert_eq!(
            c.set_options("CollapseSlashesAll").unwrap(),
            vec!["Deprecated CollapseSlashes setting ignored"]
        );
        assert_eq!(
            c.set_options("-ForwardURICompat").unwrap_err(),
            "JkOptions: Illegal option '-ForwardURICompat': option can not be disabled"
        );
        assert_eq!(
            c.set_options("Foo").unwrap_err(),
            "JkOptions: Illegal option 'Foo'"
        );
    }

    #[test]
    fn strip_session() {
        let mut c = main_conf();
        c.set_strip_session("On", None).unwrap();
        assert_eq!(c.effective_strip_session(), (true, ";jsessionid"));
        c.set_strip_session("on", Some(";sid")).unwrap();
        assert_eq!(c.effective_strip_session(), (true, ";sid"));
        c.set_strip_session("OFF", None).unwrap();
        assert_eq!(c.effective_strip_session(), (false, ";jsessionid"));
        assert_eq!(
            c.set_strip_session("true", None).unwrap_err(),
            "JkStripSession must be On or Off"
        );
    }

    #[test]
    fn env_vars() {
        let mut c = main_conf();
        c.add_env_var("SSL_CLIENT_S_DN", None);
        c.add_env_var("REMOTE_GROUP", Some(""));
        c.add_env_var("ssl_client_s_dn", Some("none"));
        assert_eq!(
            c.effective_env_vars(),
            &[
                EnvVar {
                    name: "SSL_CLIENT_S_DN".into(),
                    default: Some("none".into())
                },
                EnvVar {
                    name: "REMOTE_GROUP".into(),
                    default: Some(String::new())
                },
            ]
        );
    }

    #[test]
    fn indicators_and_ssl() {
        let mut c = main_conf();
        c.set_indicator("JkWorkerIndicator", "MY_WORKER").unwrap();
        c.set_indicator("jkcertchainprefix", "CHAIN_").unwrap();
        c.set_indicator("JkRequestIdIndicator", "REQ_ID").unwrap();
        assert_eq!(c.indicators.effective(Indicator::Worker), "MY_WORKER");
        assert_eq!(c.indicators.effective(Indicator::CertChainPrefix), "CHAIN_");
        assert_eq!(c.indicators.effective(Indicator::RequestId), "REQ_ID");
        assert_eq!(
            c.set_indicator("JkLogFile", "x").unwrap_err(),
            "JkLogFile is not an indicator directive"
        );
        c.set_extract_ssl(false);
        assert!(!c.effective_extract_ssl());
    }

    fn configured_main() -> ServerConf {
        let mut m = main_conf();
        m.set_log_file("/var/log/apache2/mod_jk.log");
        m.set_log_level("debug").unwrap();
        m.set_stamp_format("[%F %T] ").unwrap();
        m.set_request_log_format("%w %s").unwrap();
        m.set_mount_file_reload("10").unwrap();
        m.set_auto_alias("/srv/webapps");
        m.add_mount(false, None, "/main/*", Some("w1"), "m:1")
            .unwrap();
        m.set_strip_session("On", Some(";sid")).unwrap();
        m.set_extract_ssl(false);
        m.set_indicator("JkLocalAddrIndicator", "MAIN_LOCAL")
            .unwrap();
        m.set_indicator("JkHTTPSIndicator", "MAIN_HTTPS").unwrap();
        m.set_options("FlushPackets ForwardURICompat -ForwardKeySize")
            .unwrap();
        m
    }

    #[test]
    fn merge_of_an_empty_vhost_inherits() {
        let m = configured_main();
        let v = ServerConf::merged(&m, &vhost());
        assert!(v.is_virtual);
        assert_eq!(v.log_file.as_deref(), Some("/var/log/apache2/mod_jk.log"));
        assert_eq!(v.effective_log_level(), Level::Debug);
        assert_eq!(v.effective_stamp_format(), "[%F %T] ");
        assert_eq!(v.request_log_format.as_deref(), Some("%w %s"));
        assert_eq!(v.effective_mount_file_reload(), 10);
        assert_eq!(v.effective_strip_session(), (true, ";sid"));
        assert!(!v.effective_extract_ssl());
        assert_eq!(v.indicators.effective(Indicator::Https), "MAIN_HTTPS");
        // The documented exception.
        assert_eq!(
            v.indicators.effective(Indicator::LocalAddr),
            "JK_LOCAL_ADDR"
        );
        let bits = v.effective_options();
        assert!(bits.flush_packets());
        assert!(!bits.forward_key_size());
        assert_eq!(bits.forward_uri_mode(), ForwardUri::Compat);
        // Not merged here.
        assert!(v.mounts.is_empty());
        assert_eq!(v.auto_alias, None);
        assert_eq!(v.mount_file, None);
        assert_eq!(v.effective_mount_copy(), MountCopy::Off);
    }

    #[test]
    fn merge_prefers_vhost_values() {
        let m = configured_main();
        let mut v = vhost();
        v.set_log_file("/var/log/jk-v.log");
        v.set_log_level("error").unwrap();
        v.set_stamp_format("%s ").unwrap();
        v.set_request_log_format("%U").unwrap();
        v.set_mount_file_reload("0").unwrap();
        v.set_strip_session("Off", None).unwrap();
        v.set_extract_ssl(true);
        v.set_indicator("JkHTTPSIndicator", "V_HTTPS").unwrap();
        v.set_auto_alias("/srv/v");
        v.add_mount(false, None, "/v/*", Some("w2"), "v:1").unwrap();
        v.set_options("ForwardURIProxy +ForwardKeySize ForwardPhysicalAddress")
            .unwrap();
        let r = ServerConf::merged(&m, &v);
        assert_eq!(r.log_file.as_deref(), Some("/var/log/jk-v.log"));
        assert_eq!(r.effective_log_level(), Level::Error);
        assert_eq!(r.effective_stamp_format(), "%s ");
        assert_eq!(r.request_log_format.as_deref(), Some("%U"));
        assert_eq!(r.effective_mount_file_reload(), 0);
        assert_eq!(r.effective_strip_session(), (false, ";jsessionid"));
        assert!(r.effective_extract_ssl());
        assert_eq!(r.indicators.effective(Indicator::Https), "V_HTTPS");
        assert_eq!(r.auto_alias.as_deref(), Some("/srv/v"));
        assert_eq!(r.mounts.len(), 1);
        assert_eq!(r.mounts[0].pattern, "/v/*");
        let bits = r.effective_options();
        assert!(bits.flush_packets(), "inherited");
        assert!(bits.forward_key_size(), "re-enabled by the vhost");
        assert_eq!(bits.forward_uri_mode(), ForwardUri::Proxy);
        assert_eq!(bits.forward_address(), ForwardAddress::Physical);
    }

    #[test]
    fn merge_mount_copy() {
        let mut m = main_conf();
        let mut v = vhost();
        assert_eq!(ServerConf::merged(&m, &v).mount_copy, None);
        m.set_mount_copy("On").unwrap();
        assert_eq!(
            ServerConf::merged(&m, &v).mount_copy,
            None,
            "On is not inherited"
        );
        m.set_mount_copy("All").unwrap();
        assert_eq!(
            ServerConf::merged(&m, &v).effective_mount_copy(),
            MountCopy::On
        );
        v.set_mount_copy("Off").unwrap();
        assert_eq!(
            ServerConf::merged(&m, &v).effective_mount_copy(),
            MountCopy::Off
        );
    }

    #[test]
    fn merge_env_vars() {
        let mut m = main_conf();
        let mut v = vhost();
        assert_eq!(ServerConf::merged(&m, &v).env_vars, None);
        m.add_env_var("A", Some("main-a"));
        m.add_env_var("B", None);
        // Vhost without JkEnvVar: the main list.
        let r = ServerConf::merged(&m, &v);
        let names: Vec<_> = r
            .effective_env_vars()
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["A", "B"]);
        // Vhost names first, overriding; main names it lacks after.
        v.add_env_var("C", None);
        v.add_env_var("a", Some("vhost-a"));
        let r = ServerConf::merged(&m, &v);
        assert_eq!(
            r.effective_env_vars(),
            &[
                EnvVar {
                    name: "C".into(),
                    default: None
                },
                EnvVar {
                    name: "a".into(),
                    default: Some("vhost-a".into())
                },
                EnvVar {
                    name: "B".into(),
                    default: None
                },
            ]
        );
        // Main without JkEnvVar: the vhost's own.
        let r = ServerConf::merged(&main_conf(), &v);
        assert_eq!(r.effective_env_vars().len(), 2);
    }

    #[test]
    fn merge_options_scenarios() {
        let merged = |main: &str, vh: &str| {
            let mut m = main_conf();
            m.set_options(main).unwrap();
            let mut v = vhost();
            v.set_options(vh).unwrap();
            ServerConf::merged(&m, &v).effective_options()
        };
        assert_eq!(merged("", ""), OptionBits::DEFAULT);
        assert_eq!(
            merged("ForwardURICompatUnparsed", "").forward_uri_mode(),
            ForwardUri::CompatUnparsed
        );
        assert_eq!(
            merged("ForwardURICompatUnparsed", "ForwardURIEscaped").forward_uri_mode(),
            ForwardUri::Escaped
        );
        assert!(!merged("+DisableReuse", "-DisableReuse").disable_reuse());
        assert!(merged("-DisableReuse", "+DisableReuse").disable_reuse());
        assert!(merged("RejectUnsafeURI", "FlushHeader").reject_unsafe_uri());
        assert_eq!(
            merged("", "ForwardLocalAddress").forward_address(),
            ForwardAddress::Local
        );
    }
}
