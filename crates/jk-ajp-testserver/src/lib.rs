//! A fake Tomcat (AJP13 container) for mod_jk-rs integration tests.
//!
//! [`TestServer`] listens on a real TCP socket, records every FORWARD_REQUEST with its body
//! ([`RecordedRequest`]), answers CPINGs, replies like Tomcat does and misbehaves on demand
//! ([`Behaviour`]). Its AJP code ([`decode_forward_request`] and the packet builders) is written
//! independently from the connector's codec (from the compatibility reference §7), so tests do
//! not check the client against itself.
//!
//! ```
//! use jk_ajp_testserver::{Behaviour, TestServer};
//! let server = TestServer::start("127.0.0.1:0", Behaviour::Echo)?;
//! assert_ne!(server.port(), 0);
//! assert!(server.requests().is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]

mod server;
pub mod wire;

pub use server::{
    pattern, pattern_byte, Behaviour, RecordedRequest, Response, TestServer, STOPPING_PAGE,
};
pub use wire::{
    decode_forward_request, encode_forward_request, AttributeKey, AttributeValue, ForwardRequest,
    HeaderName,
};

#[cfg(test)]
mod tests;
