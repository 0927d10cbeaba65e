//! The AJP13 client of mod_jk-rs: one [`Endpoint`] per ajp13 worker and httpd child, with a
//! pool of backend connections shared by the child's threads, mod_jk's timeouts and CPing
//! modes, retries on fresh connections, and failures classified into the HTTP status mod_jk
//! answers (reference §3.4, §7.6–7.8, §8.3).
//!
//! Blocking I/O on the caller's thread, every wait bounded (ARCHITECTURE.md rule 6). The HTTP
//! side of a request is reached through the [`Peer`] trait, which the httpd glue implements.
#![forbid(unsafe_code)]

mod config;
mod conn;
mod error;
mod meter;
mod pool;
mod service;
pub mod worker;

pub use config::{recovery, EndpointConfig, PingModes};
pub use error::{ErrorKind, ServiceError};
pub use meter::{ConnectionCounter, Traffic};
pub use pool::PoolStats;
pub use service::{
    Body, Endpoint, Peer, RequestBody, ResponseSummary, ServiceRequest, HELD_ANSWER_BODY,
};
