//! The `Jk*Indicator` directives (and `JkCERTCHAINPrefix`): which request environment variable
//! mod_jk reads for each piece of information.

use crate::table::{Directive, DirectiveInfo, DIRECTIVES};

/// One renamable environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Indicator {
    /// `JkWorkerIndicator`, default `JK_WORKER_NAME`.
    Worker,
    /// `JkRemoteAddrIndicator`, default `JK_REMOTE_ADDR`.
    RemoteAddr,
    /// `JkRemotePortIndicator`, default `JK_REMOTE_PORT`.
    RemotePort,
    /// `JkRemoteHostIndicator`, default `JK_REMOTE_HOST`.
    RemoteHost,
    /// `JkRemoteUserIndicator`, default `JK_REMOTE_USER`.
    RemoteUser,
    /// `JkAuthTypeIndicator`, default `JK_AUTH_TYPE`.
    AuthType,
    /// `JkLocalNameIndicator`, default `JK_LOCAL_NAME`.
    LocalName,
    /// `JkLocalAddrIndicator`, default `JK_LOCAL_ADDR`. Not inherited by vhosts (mod_jk bug).
    LocalAddr,
    /// `JkLocalPortIndicator`, default `JK_LOCAL_PORT`.
    LocalPort,
    /// `JkIgnoreCLIndicator`, default `JK_IGNORE_CL`.
    IgnoreCl,
    /// `JkHTTPSIndicator`, default `HTTPS`.
    Https,
    /// `JkSSLPROTOCOLIndicator`, default `SSL_PROTOCOL`.
    SslProtocol,
    /// `JkCERTSIndicator`, default `SSL_CLIENT_CERT`.
    Certs,
    /// `JkCIPHERIndicator`, default `SSL_CIPHER`.
    Cipher,
    /// `JkSESSIONIndicator`, default `SSL_SESSION_ID`.
    Session,
    /// `JkKEYSIZEIndicator`, default `SSL_CIPHER_USEKEYSIZE`.
    KeySize,
    /// `JkCERTCHAINPrefix`, default `SSL_CLIENT_CERT_CHAIN_` (a name prefix).
    CertChainPrefix,
    /// `JkRequestIdIndicator` (mod_jk 1.2.49+, accepted for forward compatibility), default
    /// `UNIQUE_ID`.
    RequestId,
}

impl Indicator {
    /// Every indicator.
    pub const ALL: [Indicator; 18] = [
        Indicator::Worker,
        Indicator::RemoteAddr,
        Indicator::RemotePort,
        Indicator::RemoteHost,
        Indicator::RemoteUser,
        Indicator::AuthType,
        Indicator::LocalName,
        Indicator::LocalAddr,
        Indicator::LocalPort,
        Indicator::IgnoreCl,
        Indicator::Https,
        Indicator::SslProtocol,
        Indicator::Certs,
        Indicator::Cipher,
        Indicator::Session,
        Indicator::KeySize,
        Indicator::CertChainPrefix,
        Indicator::RequestId,
    ];

    /// The directive that renames it.
    pub fn directive(self) -> &'static str {
        self.entry().map_or("", |d| d.name)
    }

    /// The environment variable read when the directive is absent.
    pub fn default_name(self) -> &'static str {
        self.entry().map_or("", |d| d.default)
    }

    /// Its row of the directive table (names and defaults are written there once).
    fn entry(self) -> Option<&'static DirectiveInfo> {
        DIRECTIVES
            .iter()
            .find(|d| d.id == Directive::Indicator(self))
    }

    /// The indicator a directive name sets (case-insensitive, as httpd matches directives).
    pub fn from_directive(name: &str) -> Option<Indicator> {
        Indicator::ALL
            .into_iter()
            .find(|i| i.directive().eq_ignore_ascii_case(name))
    }

    /// Whether a vhost inherits the main server's value. mod_jk 1.2.48 forgets
    /// `JkLocalAddrIndicator` in its merge; `JkRequestIdIndicator` is inherited like the rest.
    pub fn inherited(self) -> bool {
        self != Indicator::LocalAddr
    }
}

/// The indicator values a server set; `None` = not set here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Indicators {
    values: [Option<String>; Indicator::ALL.len()],
}

impl Indicators {
    /// The value this server set, if any.
    pub fn get(&self, which: Indicator) -> Option<&str> {
        self.values[which as usize].as_deref()
    }

    /// Sets a value (the directive's argument, kept as given).
    pub fn set(&mut self, which: Indicator, value: &str) {
        self.values[which as usize] = Some(value.to_string());
    }

    /// The variable name to read: the configured one or mod_jk's default.
    pub fn effective(&self, which: Indicator) -> &str {
        self.get(which).unwrap_or(which.default_name())
    }

    /// The vhost's indicators: its own values, else the main server's for inherited ones.
    pub fn merged(main: &Indicators, vhost: &Indicators) -> Indicators {
        let mut out = vhost.clone();
        for which in Indicator::ALL {
            if out.get(which).is_none() && which.inherited() {
                out.values[which as usize] = main.values[which as usize].clone();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let i = Indicators::default();
        let want = [
            (Indicator::Worker, "JK_WORKER_NAME"),
            (Indicator::RemoteAddr, "JK_REMOTE_ADDR"),
            (Indicator::RemotePort, "JK_REMOTE_PORT"),
            (Indicator::RemoteHost, "JK_REMOTE_HOST"),
            (Indicator::RemoteUser, "JK_REMOTE_USER"),
            (Indicator::AuthType, "JK_AUTH_TYPE"),
            (Indicator::LocalName, "JK_LOCAL_NAME"),
            (Indicator::LocalAddr, "JK_LOCAL_ADDR"),
            (Indicator::LocalPort, "JK_LOCAL_PORT"),
            (Indicator::IgnoreCl, "JK_IGNORE_CL"),
            (Indicator::Https, "HTTPS"),
            (Indicator::SslProtocol, "SSL_PROTOCOL"),
            (Indicator::Certs, "SSL_CLIENT_CERT"),
            (Indicator::Cipher, "SSL_CIPHER"),
            (Indicator::Session, "SSL_SESSION_ID"),
            (Indicator::KeySize, "SSL_CIPHER_USEKEYSIZE"),
            (Indicator::CertChainPrefix, "SSL_CLIENT_CERT_CHAIN_"),
            (Indicator::RequestId, "UNIQUE_ID"),
        ];
        assert_eq!(want.len(), Indicator::ALL.len());
        for (which, name) in want {
            assert_eq!(i.effective(which), name);
            assert_eq!(i.get(which), None);
        }
    }

    #[test]
    fn directive_names_round_trip() {
        for which in Indicator::ALL {
            assert_eq!(Indicator::from_directive(which.directive()), Some(which));
            let lower = which.directive().to_lowercase();
            assert_eq!(Indicator::from_directive(&lower), Some(which));
        }
        assert_eq!(
            Indicator::from_directive("JkHTTPSIndicator"),
            Some(Indicator::Https)
        );
        assert_eq!(Indicator::from_directive("JkLogFile"), None);
    }

    #[test]
    fn set_and_effective() {
        let mut i = Indicators::default();
        i.set(Indicator::Https, "MY_HTTPS");
        assert_eq!(i.get(Indicator::Https), Some("MY_HTTPS"));
        assert_eq!(i.effective(Indicator::Https), "MY_HTTPS");
        assert_eq!(i.effective(Indicator::Cipher), "SSL_CIPHER");
    }

    #[test]
    fn merge_inherits_all_but_local_addr() {
        let mut main = Indicators::default();
        for which in Indicator::ALL {
            main.set(which, &format!("MAIN_{}", which.default_name()));
        }
        let mut vhost = Indicators::default();
        vhost.set(Indicator::Worker, "VHOST_WORKER");
        let m = Indicators::merged(&main, &vhost);
        assert_eq!(m.effective(Indicator::Worker), "VHOST_WORKER");
        assert_eq!(m.effective(Indicator::RemoteAddr), "MAIN_JK_REMOTE_ADDR");
        assert_eq!(m.effective(Indicator::Https), "MAIN_HTTPS");
        assert_eq!(m.effective(Indicator::RequestId), "MAIN_UNIQUE_ID");
        // Not inherited: the vhost falls back to the default name.
        assert_eq!(m.get(Indicator::LocalAddr), None);
        assert_eq!(m.effective(Indicator::LocalAddr), "JK_LOCAL_ADDR");
        // …unless the vhost sets it itself.
        vhost.set(Indicator::LocalAddr, "V_LOCAL");
        let m = Indicators::merged(&main, &vhost);
        assert_eq!(m.effective(Indicator::LocalAddr), "V_LOCAL");
    }
}
