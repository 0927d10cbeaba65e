//! The ZooKeeper side of mod_jk-rs (README "ZooKeeper"): a gateway follows the ephemeral
//! znodes of a path (Apache Curator service-discovery records, [`record`]) with a
//! [`follower::Follower`] thread; `jkctl announce` registers a Tomcat there.
//!
//! The client is `zookeeper-client` (async, runtime-agnostic), driven by `spawns`' one-thread
//! executor on a thread of our own: no async runtime is started inside httpd, and nothing of
//! this runs on a request thread.
#![forbid(unsafe_code)]

pub mod desired;
pub mod follower;
pub mod record;
pub mod session;

pub use follower::{ConnState, FollowConfig, Follower, Log, Snapshot};
pub use record::Instance;
pub use session::Session;
pub use zookeeper_client as client;
