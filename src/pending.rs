//! Directives that are accepted and parsed but whose effect lands with a later milestone
//! (AJP13 forwarding). Each one used gets one startup warning naming it, so nothing is
//! silently ignored.

use std::collections::BTreeSet;

use jk_directives::{Indicator, JkOptions};

use crate::ffi;
use crate::server_conf::state_of;

/// The warnings for this configuration (one per directive, whichever servers use it).
pub fn startup_warnings(main: *mut ffi::server_rec) -> Vec<String> {
    let mut used: BTreeSet<&'static str> = BTreeSet::new();
    let mut s = main;
    while !s.is_null() {
        // SAFETY: httpd's live server list during post_config.
        if let Some(st) = unsafe { state_of(s) } {
            let c = &st.conf;
            if c.options != JkOptions::default() {
                used.insert("JkOptions");
            }
            if c.env_vars.is_some() {
                used.insert("JkEnvVar");
            }
            if c.extract_ssl.is_some() {
                used.insert("JkExtractSSL");
            }
            for i in Indicator::ALL {
                if i != Indicator::Worker && c.indicators.get(i).is_some() {
                    used.insert(i.directive());
                }
            }
        }
        // SAFETY: as above.
        s = unsafe { (*s).next };
    }
    used.into_iter()
        .map(|d| {
            let what = if d == "JkOptions" {
                "is parsed and checked; its forwarding options take effect with AJP13 \
                 forwarding (RejectUnsafeURI and ForwardDirectories already apply)"
            } else {
                "is parsed and checked; it takes effect with AJP13 forwarding"
            };
            format!("{d} {what}, which this build does not have yet")
        })
        .collect()
}
