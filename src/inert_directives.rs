//! Directives that are accepted but have no effect in this build get one startup warning
//! each, so nothing is silently ignored.

use std::collections::BTreeSet;

use jk_directives::Indicator;

use crate::ffi;
use crate::server_conf::state_of;

/// The warnings for this configuration (one per directive, whichever servers use it).
pub fn startup_warnings(main: *mut ffi::server_rec) -> Vec<String> {
    let mut used: BTreeSet<&'static str> = BTreeSet::new();
    let mut s = main;
    while !s.is_null() {
        // SAFETY: httpd's live server list during post_config.
        if let Some(st) = unsafe { state_of(s) } {
            if st.conf.indicators.get(Indicator::RequestId).is_some() {
                used.insert(Indicator::RequestId.directive());
            }
        }
        // SAFETY: as above.
        s = unsafe { (*s).next };
    }
    used.into_iter()
        .map(|d| {
            format!(
                "{d} is accepted for compatibility with mod_jk 1.2.49 configurations; \
                 it has no effect in this build"
            )
        })
        .collect()
}
