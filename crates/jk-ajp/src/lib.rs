//! AJP13 as spoken by mod_jk 1.2.48 (reference §7): packet framing, the FORWARD_REQUEST the
//! web server sends, request body packets, CPing, and the container's replies.
//!
//! This crate is pure: no sockets, no clock. The client (`jk-ajp-client`) reads a 4-byte
//! header, asks [`read_header`] how many payload bytes follow, reads them, and hands them to
//! [`decode_reply`]. Every length on the wire is checked against a maximum and against the
//! bytes actually present before anything is read; decoded strings borrow from the packet.
//!
//! The server side ([`decode_forward_request`], [`decode_body_chunk`] and the `encode_*`
//! reply builders) exists for tests and the recording test server, so they can compare what
//! mod_jk-rs sends with what mod_jk sends, field by field.
#![forbid(unsafe_code)]

mod codes;
mod error;
mod reply;
mod request;
mod wire;

pub use codes::{AttributeCode, MessageType, Method, RequestHeaderCode, ResponseHeaderCode};
pub use error::AjpError;
pub use reply::{
    decode_reply, encode_end_response, encode_get_body_chunk, encode_send_body_chunk,
    encode_send_headers, read_header, HeaderName, Reply, CPONG,
};
pub use request::{
    decode_body_chunk, decode_forward_request, encode_body_chunk, encode_body_chunk_header,
    read_request_header, Attribute, DecodedForwardRequest, ForwardRequest, RequestHeaderName,
    CPING, EMPTY_BODY_PACKET, REQ_ATTR_LB_ACTIVATION, REQ_ATTR_LOCAL_ADDR, REQ_ATTR_REMOTE_PORT,
    REQ_ATTR_SSL_PROTOCOL,
};
pub use wire::{
    Reader, Writer, DEFAULT_MAX_PACKET_SIZE, HEADER_LEN, MAX_PACKET_SIZE_LIMIT, REPLY_MAGIC,
    REQUEST_MAGIC,
};
