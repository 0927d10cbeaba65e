//! The configuration the `Jk*` httpd directives fill, one [`ServerConf`] per server (main server
//! and each `<VirtualHost>`) plus one [`GlobalConf`], and the vhost merge mod_jk performs in
//! post_config.
//!
//! Each directive handler in the glue calls one setter here and hands its `Err(String)` back to
//! httpd as the directive's error message. Nothing here touches httpd; paths arrive already
//! resolved against ServerRoot.
#![forbid(unsafe_code)]

mod global;
mod indicators;
mod options;
mod server;
mod table;
mod words;

pub use global::{global_only, GlobalConf, MIN_SHM_SIZE_BYTES};
pub use indicators::{Indicator, Indicators};
pub use options::{ForwardAddress, ForwardUri, JkOptions, OptionBits, DEPRECATED_COLLAPSE_WARNING};
pub use server::{
    EnvVar, MountCopy, MountDirective, ServerConf, DEFAULT_MOUNT_FILE_RELOAD,
    DEFAULT_STRIP_SESSION_IDENTIFIER,
};
pub use table::{directive, Args, Contexts, Directive, DirectiveInfo, DIRECTIVES};
pub use words::getword_conf;

/// Parses a number the way mod_jk's `atoi` calls are meant to be used, but strictly: optional
/// sign, decimal digits, nothing else. Negative values become 0 (mod_jk clamps them).
fn parse_count(value: &str) -> Option<u32> {
    let v = value.trim();
    let (negative, digits) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    Some(if negative { 0 } else { n })
}

#[cfg(test)]
mod tests {
    use super::parse_count;

    #[test]
    fn counts() {
        assert_eq!(parse_count("60"), Some(60));
        assert_eq!(parse_count("+5"), Some(5));
        assert_eq!(parse_count("-5"), Some(0));
        assert_eq!(parse_count(" 7 "), Some(7));
        assert_eq!(parse_count("0"), Some(0));
        assert_eq!(parse_count(""), None);
        assert_eq!(parse_count("-"), None);
        assert_eq!(parse_count("10s"), None);
        assert_eq!(parse_count("abc"), None);
        assert_eq!(parse_count("99999999999"), None);
    }
}
