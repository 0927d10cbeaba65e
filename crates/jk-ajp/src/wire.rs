//! Framing and primitive types (§7.1): a bounded packet [`Writer`] and a checked [`Reader`].
//! All integers are big-endian; a string is a u16 length, the bytes and a `00`, and the null
//! string is the length `FF FF` alone.

use crate::error::AjpError;

/// Bytes of the packet header: two magic bytes and the u16 payload length.
pub const HEADER_LEN: usize = 4;
/// Magic of packets from the web server to the container.
pub const REQUEST_MAGIC: [u8; 2] = [0x12, 0x34];
/// Magic of packets from the container to the web server (`"AB"`).
pub const REPLY_MAGIC: [u8; 2] = [0x41, 0x42];
/// mod_jk's default `max_packet_size`.
pub const DEFAULT_MAX_PACKET_SIZE: usize = 8192;
/// The largest `max_packet_size` mod_jk accepts.
pub const MAX_PACKET_SIZE_LIMIT: usize = 65536;

/// A header plus the largest payload a u16 length can announce: the hard ceiling of any
/// packet, whatever `max_packet_size` says.
const WIRE_LIMIT: usize = HEADER_LEN + u16::MAX as usize;
/// Length word of the null string.
const NULL_STRING: u16 = 0xFFFF;
/// First allocation of a writer; grows by doubling, never beyond its limit.
const INITIAL_CAPACITY: usize = 512;

/// Builds one packet: header, then the payload appended with the `put_*` methods. Every put
/// first checks that header + payload stays within `max_packet_size` and fails with
/// [`AjpError::TooLarge`] instead of growing past it; a failed put writes nothing.
#[derive(Debug)]
pub struct Writer {
    buf: Vec<u8>,
    max: usize,
}

impl Writer {
    /// A packet from the web server (`12 34`), at most `max_packet_size` bytes in all.
    pub fn new(max_packet_size: usize) -> Writer {
        Writer::with_magic(REQUEST_MAGIC, max_packet_size)
    }

    /// A packet from the container (`41 42`), at most `max_packet_size` bytes in all. Used by
    /// the test server.
    pub fn new_reply(max_packet_size: usize) -> Writer {
        Writer::with_magic(REPLY_MAGIC, max_packet_size)
    }

    fn with_magic(magic: [u8; 2], max_packet_size: usize) -> Writer {
        let max = max_packet_size.min(WIRE_LIMIT);
        let mut buf = Vec::with_capacity(max.clamp(HEADER_LEN, INITIAL_CAPACITY));
        buf.extend_from_slice(&magic);
        buf.extend_from_slice(&[0, 0]);
        Writer { buf, max }
    }

    /// Bytes written so far, header included.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing but the header has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.len() <= HEADER_LEN
    }

    /// The effective limit: `max_packet_size`, capped at what a u16 length can announce.
    pub fn max_packet_size(&self) -> usize {
        self.max
    }

    /// Bytes that may still be appended.
    pub fn remaining(&self) -> usize {
        self.max.saturating_sub(self.buf.len())
    }

    /// Makes room for `n` more bytes, or says the packet would be too large.
    fn reserve(&mut self, n: usize) -> Result<(), AjpError> {
        let needed = self.buf.len().saturating_add(n);
        if needed > self.max {
            return Err(AjpError::TooLarge {
                size: needed,
                max: self.max,
            });
        }
        if needed > self.buf.capacity() {
            let target = needed
                .max(self.buf.capacity().saturating_mul(2))
                .min(self.max);
            self.buf.reserve_exact(target - self.buf.len());
        }
        Ok(())
    }

    /// Appends one byte.
    pub fn put_byte(&mut self, b: u8) -> Result<(), AjpError> {
        self.reserve(1)?;
        self.buf.push(b);
        Ok(())
    }

    /// Appends a boolean as `00`/`01`.
    pub fn put_bool(&mut self, b: bool) -> Result<(), AjpError> {
        self.put_byte(u8::from(b))
    }

    /// Appends an AJP int (u16, big-endian).
    pub fn put_u16(&mut self, v: u16) -> Result<(), AjpError> {
        self.reserve(2)?;
        self.buf.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }

    /// Appends raw bytes (body data).
    pub fn put_bytes(&mut self, data: &[u8]) -> Result<(), AjpError> {
        self.reserve(data.len())?;
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Appends an AJP string: u16 length, bytes, `00`; `None` is the null string `FF FF`.
    pub fn put_string(&mut self, s: Option<&[u8]>) -> Result<(), AjpError> {
        let Some(s) = s else {
            return self.put_u16(NULL_STRING);
        };
        // A length of 0xFFFF would read as the null string.
        let len = u16::try_from(s.len())
            .ok()
            .filter(|&l| l != NULL_STRING)
            .ok_or(AjpError::TooLarge {
                size: self.buf.len().saturating_add(s.len() + 3),
                max: self.max,
            })?;
        self.reserve(s.len() + 3)?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(s);
        self.buf.push(0);
        Ok(())
    }

    /// Appends a non-null AJP string.
    pub fn put_str(&mut self, s: &[u8]) -> Result<(), AjpError> {
        self.put_string(Some(s))
    }

    /// Writes the payload length into the header and returns the packet.
    pub fn finish(mut self) -> Result<Vec<u8>, AjpError> {
        let total = self.buf.len();
        if total > self.max {
            // Only possible when max_packet_size is smaller than a header.
            return Err(AjpError::TooLarge {
                size: total,
                max: self.max,
            });
        }
        let payload = u16::try_from(total - HEADER_LEN).map_err(|_| AjpError::TooLarge {
            size: total,
            max: self.max,
        })?;
        self.buf[2..HEADER_LEN].copy_from_slice(&payload.to_be_bytes());
        Ok(self.buf)
    }
}

/// Reads primitive values from one payload. Every length is checked against the bytes left
/// before anything is taken; strings are returned as slices of the payload.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `payload` (the bytes after the 4-byte header).
    pub fn new(payload: &'a [u8]) -> Reader<'a> {
        Reader {
            buf: payload,
            pos: 0,
        }
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when everything has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes not read yet, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Takes exactly `n` bytes.
    pub fn get_bytes(&mut self, n: usize) -> Result<&'a [u8], AjpError> {
        let truncated = AjpError::Truncated {
            field: "data",
            offset: self.pos,
            needed: n,
            available: self.remaining(),
        };
        let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
        let bytes = self.buf.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    /// Reads one byte.
    pub fn get_byte(&mut self) -> Result<u8, AjpError> {
        let b = self.get_bytes(1)?;
        Ok(b[0])
    }

    /// Reads a boolean: any non-zero byte is true.
    pub fn get_bool(&mut self) -> Result<bool, AjpError> {
        Ok(self.get_byte()? != 0)
    }

    /// Reads an AJP int (u16, big-endian).
    pub fn get_u16(&mut self) -> Result<u16, AjpError> {
        let b = self.get_bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// The next u16 without consuming it (a header name is a code or a string length).
    pub fn peek_u16(&self) -> Result<u16, AjpError> {
        self.clone().get_u16()
    }

    /// Reads an AJP string: `None` for the null string, else the bytes without the
    /// terminator, which must be present and `00`.
    pub fn get_string(&mut self) -> Result<Option<&'a [u8]>, AjpError> {
        let start = self.pos;
        let len = self.get_u16()?;
        if len == NULL_STRING {
            return Ok(None);
        }
        let len = usize::from(len);
        let with_nul = self.get_bytes(len + 1).map_err(|_| {
            self.pos = start;
            AjpError::Truncated {
                field: "string",
                offset: start,
                needed: len + 3,
                available: self.buf.len() - start,
            }
        })?;
        match with_nul.split_last() {
            Some((0, s)) => Ok(Some(s)),
            _ => {
                self.pos = start;
                Err(AjpError::Unterminated {
                    field: "string",
                    offset: start,
                })
            }
        }
    }

    /// Reads a string that must not be null.
    pub fn get_str(&mut self) -> Result<&'a [u8], AjpError> {
        self.get_string()?
            .ok_or(AjpError::NullString { field: "string" })
    }

    /// Reads a string that must be UTF-8 (`None` for the null string).
    pub fn get_utf8(&mut self) -> Result<Option<&'a str>, AjpError> {
        match self.get_string()? {
            None => Ok(None),
            Some(s) => std::str::from_utf8(s)
                .map(Some)
                .map_err(|_| AjpError::NotUtf8 { field: "string" }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn writer_builds_header_and_primitives() {
        let mut w = Writer::new(DEFAULT_MAX_PACKET_SIZE);
        assert!(w.is_empty());
        w.put_byte(0x02).unwrap();
        w.put_bool(true).unwrap();
        w.put_bool(false).unwrap();
        w.put_u16(0x6DB0).unwrap();
        w.put_str(b"ab").unwrap();
        w.put_string(None).unwrap();
        w.put_str(b"").unwrap();
        w.put_bytes(b"xy").unwrap();
        assert_eq!(
            w.finish().unwrap(),
            [
                0x12, 0x34, 0x00, 0x11, 0x02, 0x01, 0x00, 0x6D, 0xB0, 0x00, 0x02, b'a', b'b', 0x00,
                0xFF, 0xFF, 0x00, 0x00, 0x00, b'x', b'y'
            ]
        );
    }

    #[test]
    fn reply_writer_uses_the_container_magic() {
        let mut w = Writer::new_reply(16);
        w.put_byte(9).unwrap();
        assert_eq!(w.finish().unwrap(), [0x41, 0x42, 0x00, 0x01, 0x09]);
    }

    #[test]
    fn too_large_at_exactly_max_plus_one() {
        let max = 16;
        let mut w = Writer::new(max);
        w.put_bytes(&[7; 12]).unwrap(); // 4 + 12 = 16 = max: fits
        assert_eq!(w.remaining(), 0);
        assert_eq!(w.put_byte(0), Err(AjpError::TooLarge { size: 17, max }));
        assert_eq!(w.put_u16(0), Err(AjpError::TooLarge { size: 18, max }));
        assert_eq!(w.put_str(b""), Err(AjpError::TooLarge { size: 19, max }));
        let p = w.finish().unwrap();
        assert_eq!(p.len(), max);
        assert_eq!(&p[..4], &[0x12, 0x34, 0x00, 0x0C]);
        assert!(p.capacity() <= max);
    }

    #[test]
    fn failed_put_writes_nothing() {
        let mut w = Writer::new(10);
        w.put_u16(1).unwrap();
        assert!(w.put_str(b"abcd").is_err()); // needs 7, 4 left
        assert_eq!(w.len(), 6);
        w.put_str(b"a").unwrap();
        assert_eq!(w.finish().unwrap(), [0x12, 0x34, 0, 6, 0, 1, 0, 1, b'a', 0]);
    }

    #[test]
    fn writer_never_allocates_beyond_max() {
        for max in [4, 5, 100, 511, 512, 513, 8192, 65536, 1 << 20] {
            let mut w = Writer::new(max);
            while w.put_bytes(&[1; 37]).is_ok() {}
            while w.put_byte(1).is_ok() {}
            let cap_limit = max.min(WIRE_LIMIT);
            assert_eq!(w.len(), cap_limit, "max {max}");
            let p = w.finish().unwrap();
            assert!(
                p.capacity() <= cap_limit,
                "max {max}: capacity {}",
                p.capacity()
            );
        }
    }

    #[test]
    fn max_smaller_than_a_header_fails_cleanly() {
        let w = Writer::new(3);
        assert_eq!(w.finish(), Err(AjpError::TooLarge { size: 4, max: 3 }));
        let mut w = Writer::new(0);
        assert!(w.put_byte(1).is_err());
    }

    #[test]
    fn string_of_length_ffff_cannot_be_written() {
        let big = vec![b'a'; 0xFFFF];
        let mut w = Writer::new(1 << 20);
        assert!(matches!(w.put_str(&big), Err(AjpError::TooLarge { .. })));
        let mut w = Writer::new(1 << 20);
        w.put_str(&big[..0xFFFF - 4]).unwrap(); // 4 + 2 + 65531 + 1 = 65538 ≤ 65539
        assert_eq!(w.finish().unwrap().len(), 65538);
    }

    #[test]
    fn reader_reads_primitives_and_borrowed_strings() {
        let payload = [
            0x04, 0x01, 0x00, 0xC8, 0x00, 0x02, b'O', b'K', 0x00, 0xFF, 0xFF, 0x07,
        ];
        let mut r = Reader::new(&payload);
        assert_eq!(r.get_byte().unwrap(), 4);
        assert!(r.get_bool().unwrap());
        assert_eq!(r.peek_u16().unwrap(), 200);
        assert_eq!(r.get_u16().unwrap(), 200);
        let s = r.get_string().unwrap().unwrap();
        assert_eq!(s, b"OK");
        assert!(std::ptr::eq(s.as_ptr(), payload[6..].as_ptr()), "zero-copy");
        assert_eq!(r.get_string().unwrap(), None);
        assert_eq!(r.rest(), &[0x07]);
        assert_eq!(r.get_bytes(1).unwrap(), &[0x07]);
        assert!(r.is_empty());
        assert!(matches!(
            r.get_byte(),
            Err(AjpError::Truncated { offset: 12, .. })
        ));
    }

    #[test]
    fn reader_rejects_strings_running_past_the_end() {
        let mut r = Reader::new(&[0x00, 0x03, b'a', b'b', b'c']); // terminator missing
        assert_eq!(
            r.get_string(),
            Err(AjpError::Truncated {
                field: "string",
                offset: 0,
                needed: 6,
                available: 5
            })
        );
        assert_eq!(r.position(), 0);
        let mut r = Reader::new(&[0x00]);
        assert!(matches!(r.get_string(), Err(AjpError::Truncated { .. })));
        let mut r = Reader::new(&[0xFF, 0xFE]);
        assert!(matches!(
            r.get_string(),
            Err(AjpError::Truncated { needed: 65537, .. })
        ));
    }

    #[test]
    fn reader_verifies_the_nul_terminator() {
        let mut r = Reader::new(&[0x00, 0x01, b'a', b'b']);
        assert_eq!(
            r.get_string(),
            Err(AjpError::Unterminated {
                field: "string",
                offset: 0
            })
        );
        let mut r = Reader::new(&[0x00, 0x00, 0x00]);
        assert_eq!(r.get_string().unwrap(), Some(&b""[..]));
    }

    #[test]
    fn reader_str_and_utf8() {
        let mut r = Reader::new(&[0xFF, 0xFF]);
        assert_eq!(r.get_str(), Err(AjpError::NullString { field: "string" }));
        let mut r = Reader::new(&[0x00, 0x02, 0xC3, 0xA9, 0x00, 0x00, 0x01, 0xFF, 0x00]);
        assert_eq!(r.get_utf8().unwrap(), Some("é"));
        assert_eq!(r.get_utf8(), Err(AjpError::NotUtf8 { field: "string" }));
    }
}
