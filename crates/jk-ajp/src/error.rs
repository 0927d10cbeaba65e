//! Everything that can go wrong building or reading an AJP packet, with texts an operator can
//! act on, and the one mapping from failure class to the HTTP status mod_jk answers (§8.3).

use std::fmt;

use crate::codes::MessageType;

/// A packet could not be built or read. Never a panic: every malformed input ends here.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AjpError {
    /// An outgoing packet would exceed `max_packet_size` (header included). For a
    /// FORWARD_REQUEST mod_jk answers 413 without contacting the backend.
    TooLarge {
        /// Bytes the packet needed at the point it stopped fitting (a lower bound).
        size: usize,
        /// The limit in force.
        max: usize,
    },
    /// The packet header did not start with the expected magic (`41 42` from the container).
    BadMagic(u16),
    /// The packet header announced more payload than `max_packet_size` allows.
    BadLength {
        /// Announced payload length.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// A field ran past the end of the payload.
    Truncated {
        /// Which field was being read.
        field: &'static str,
        /// Offset of the field inside the payload.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the payload.
        available: usize,
    },
    /// A string's bytes were not followed by its `00` terminator.
    Unterminated {
        /// Which field was being read.
        field: &'static str,
        /// Offset of the string's length word inside the payload.
        offset: usize,
    },
    /// A null string (`FF FF`) where a value is required (header name or value).
    NullString {
        /// Which field was being read.
        field: &'static str,
    },
    /// A string that must be UTF-8 was not.
    NotUtf8 {
        /// Which field was being read.
        field: &'static str,
    },
    /// SEND_HEADERS with HTTP status 0 (mod_jk: "Null status").
    ZeroStatus,
    /// A coded header name (`A0xx`) outside the known table (mod_jk: "No such sc").
    UnknownHeaderCode(u16),
    /// SEND_BODY_CHUNK announcing more bytes than the packet holds.
    ChunkTooLong {
        /// Announced chunk length.
        len: usize,
        /// Bytes left in the packet after the length word.
        available: usize,
    },
    /// A message type that has no meaning in this direction (mod_jk: "Unknown AJP protocol
    /// code").
    UnknownType(u8),
    /// A packet that should have been of one type was of another.
    UnexpectedType {
        /// The type that was expected.
        expected: MessageType,
        /// The type byte found.
        found: u8,
    },
    /// An attribute code in a FORWARD_REQUEST that AJP13 does not define.
    UnknownAttribute(u8),
    /// Bytes left over after a complete message whose end is well defined.
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

impl AjpError {
    /// True for a FORWARD_REQUEST (or body packet) that does not fit into max_packet_size:
    /// the request is answered with 413 and no connection is made.
    pub fn is_too_large(&self) -> bool {
        matches!(self, AjpError::TooLarge { .. })
    }

    /// True for framing errors (bad magic, bad length): mod_jk calls these AJP protocol
    /// errors, closes the connection and answers 502.
    pub fn is_protocol_error(&self) -> bool {
        matches!(self, AjpError::BadMagic(_) | AjpError::BadLength { .. })
    }

    /// True for a well-framed message whose content is invalid (truncated field, status 0,
    /// unknown header code, chunk too long, unknown type): mod_jk answers 500.
    pub fn is_message_error(&self) -> bool {
        !self.is_too_large() && !self.is_protocol_error()
    }

    /// The HTTP status a standalone ajp13 worker answers for this failure (reference §8.3).
    pub fn http_status(&self) -> u16 {
        if self.is_too_large() {
            413
        } else if self.is_protocol_error() {
            502
        } else {
            500
        }
    }

    /// Names the field a reader error happened in, keeping the offsets.
    pub(crate) fn in_field(self, name: &'static str) -> AjpError {
        match self {
            AjpError::Truncated {
                offset,
                needed,
                available,
                ..
            } => AjpError::Truncated {
                field: name,
                offset,
                needed,
                available,
            },
            AjpError::Unterminated { offset, .. } => AjpError::Unterminated {
                field: name,
                offset,
            },
            AjpError::NullString { .. } => AjpError::NullString { field: name },
            AjpError::NotUtf8 { .. } => AjpError::NotUtf8 { field: name },
            other => other,
        }
    }
}

impl fmt::Display for AjpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AjpError::TooLarge { size, max } => write!(
                f,
                "AJP message of at least {size} bytes does not fit into max_packet_size {max} \
                 - check max_packet_size"
            ),
            AjpError::BadMagic(magic) => write!(
                f,
                "wrong message format 0x{magic:04x} from the backend (expected 0x4142): \
                 not an AJP13 container on this port?"
            ),
            AjpError::BadLength { len, max } => write!(
                f,
                "wrong message size {len} from the backend (max_packet_size is {max}; \
                 it must match the container's packetSize)"
            ),
            AjpError::Truncated {
                field,
                offset,
                needed,
                available,
            } => write!(
                f,
                "AJP message truncated in {field} at offset {offset}: {needed} bytes needed, \
                 {available} left"
            ),
            AjpError::Unterminated { field, offset } => {
                write!(
                    f,
                    "AJP string {field} at offset {offset} lacks its NUL terminator"
                )
            }
            AjpError::NullString { field } => write!(f, "AJP {field} is a null string"),
            AjpError::NotUtf8 { field } => write!(f, "AJP {field} is not valid UTF-8"),
            AjpError::ZeroStatus => write!(f, "AJP SEND_HEADERS with null status (0)"),
            AjpError::UnknownHeaderCode(code) => {
                write!(f, "No such sc (0x{code:04x}) as AJP response header name")
            }
            AjpError::ChunkTooLong { len, available } => write!(
                f,
                "AJP SEND_BODY_CHUNK of {len} bytes, but only {available} bytes in the packet"
            ),
            AjpError::UnknownType(t) => write!(f, "Unknown AJP protocol code: {t:02X}"),
            AjpError::UnexpectedType { expected, found } => {
                write!(f, "expected AJP {expected} message, got type {found:02X}")
            }
            AjpError::UnknownAttribute(code) => {
                write!(f, "unknown AJP request attribute code 0x{code:02X}")
            }
            AjpError::TrailingBytes { count } => {
                write!(
                    f,
                    "{count} unexpected bytes after the end of the AJP message"
                )
            }
        }
    }
}

impl std::error::Error for AjpError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_map_to_the_statuses_of_section_8_3() {
        assert_eq!(
            AjpError::TooLarge {
                size: 9000,
                max: 8192
            }
            .http_status(),
            413
        );
        assert_eq!(AjpError::BadMagic(0x1234).http_status(), 502);
        assert_eq!(
            AjpError::BadLength {
                len: 9000,
                max: 8192
            }
            .http_status(),
            502
        );
        assert_eq!(AjpError::ZeroStatus.http_status(), 500);
        assert_eq!(AjpError::UnknownHeaderCode(0xA00C).http_status(), 500);
        assert_eq!(AjpError::UnknownType(0x0A).http_status(), 500);
        assert_eq!(
            AjpError::ChunkTooLong {
                len: 5,
                available: 2
            }
            .http_status(),
            500
        );
        assert!(AjpError::BadMagic(0).is_protocol_error());
        assert!(!AjpError::BadMagic(0).is_message_error());
        assert!(AjpError::ZeroStatus.is_message_error());
        assert!(AjpError::TooLarge { size: 1, max: 0 }.is_too_large());
    }

    #[test]
    fn texts_name_what_an_operator_needs() {
        assert_eq!(
            AjpError::BadMagic(0x4854).to_string(),
            "wrong message format 0x4854 from the backend (expected 0x4142): \
             not an AJP13 container on this port?"
        );
        assert_eq!(
            AjpError::UnknownType(0x0A).to_string(),
            "Unknown AJP protocol code: 0A"
        );
        assert_eq!(
            AjpError::UnknownHeaderCode(0xA00C).to_string(),
            "No such sc (0xa00c) as AJP response header name"
        );
        assert!(AjpError::TooLarge {
            size: 9000,
            max: 8192
        }
        .to_string()
        .contains("check max_packet_size"));
        let e = AjpError::Truncated {
            field: "",
            offset: 3,
            needed: 2,
            available: 1,
        };
        assert_eq!(
            e.in_field("status").to_string(),
            "AJP message truncated in status at offset 3: 2 bytes needed, 1 left"
        );
    }
}
