#![forbid(unsafe_code)]
//! workers.properties for mod_jk-rs: the ordered property map (with `JkWorkerProperty` lines,
//! `$(name)` substitution, duplicate-key rules), then the typed worker model with mod_jk 1.2.48's
//! defaults, where every value that cannot mean anything is an error naming file, line and key.
//!
//! ```
//! use jk_config::{build, BuildOptions, PropertyMap};
//! let mut map = PropertyMap::new();
//! map.read_str("worker.list=w\nworker.w.host=app\n", "workers.properties").unwrap();
//! let cfg = build(&map, &BuildOptions { default_pool_size: 25 }).unwrap();
//! let w = cfg.worker("w").and_then(|w| w.as_ajp()).unwrap();
//! assert_eq!((w.host.as_str(), w.port, w.connection_pool_minsize), ("app", 8009, 13));
//! ```

pub mod attributes;
pub mod diagnostic;
pub mod extensions;
pub mod lb;
pub mod lexer;
pub mod map;
pub mod model;
pub mod values;
pub mod workers;

pub use diagnostic::{ConfigError, Diagnostic, Location, Severity};
pub use extensions::{parse_worker_spec, RuleExtensions, WorkerSpecError};
pub use lb::{Activation, LbLock, LbMethod, MemberState};
pub use map::PropertyMap;
pub use model::{
    AjpProtocol, AjpWorker, DnsDiscovery, LbWorker, PingMode, RecoveryOptions, StatusWorker,
    Worker, WorkerKind, WorkerMount, WorkerType, WorkersConfig, ZkDiscovery, DEFAULT_DNS_GROWTH,
    DEFAULT_GROWTH, MAX_GROWTH,
};
pub use workers::{build, BuildOptions};
