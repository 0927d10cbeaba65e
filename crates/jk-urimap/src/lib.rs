//! URI → worker mapping of mod_jk: `JkMount`, `JkUnMount`, `JkMountFile`
//! (uriworkermap.properties with reload), `worker.X.mount`, `JkMountCopy`, plus the
//! translate-hook helpers `JkAutoAlias` and `JkStripSession`.
//!
//! Pure logic, no httpd: the glue normalises `r->uri` with [`normalize`] (400 on error),
//! asks the server's [`UriMap`] with [`UriMap::map_with_reload`], and for unmapped requests
//! consults [`auto_alias_decision`] and [`strip_session`].
//!
//! Layout: `normalize` (servlet normalisation), `pattern` (exact/glob
//! matching), `rule` (one rule, its `worker;name=value` extensions parsed by jk-config, and
//! its type/source), `uriworkermap` (the mount file), `map` (precedence, lookup, reload),
//! `vhost` (per-server builder and `JkMountCopy`), `alias` (JkAutoAlias, JkStripSession).
#![forbid(unsafe_code)]

mod alias;
mod forward;
mod map;
mod normalize;
mod pattern;
mod rule;
mod uriworkermap;
mod vhost;

pub use alias::{auto_alias_decision, strip_session, AutoAlias};
pub use forward::{escape_proxy, escape_uri, forward_uri, ForwardUriMode};
pub use jk_config::{parse_worker_spec, RuleExtensions, WorkerSpecError};
pub use map::{
    unix_now, MapError, MatchResult, NoMatch, ReloadOutcome, UriMap, DEFAULT_RELOAD_SECS,
    MAX_URI_LEN,
};
pub use normalize::{normalize, NormalizeError};
pub use pattern::RuleKind;
pub use rule::{Rule, RuleSource};
pub use uriworkermap::{parse_uriworkermap, parse_uriworkermap_with_env};
pub use vhost::{mount_copy_enabled, MapBuilder, MountCopy};
