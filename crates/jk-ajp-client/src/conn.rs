//! One TCP connection to a backend, with packet-level reads bounded by timeouts.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, TcpKeepalive, Type};

use crate::config::EndpointConfig;
use crate::meter::{ConnectionCounter, OpenMark, Traffic};

/// Why a packet could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Nothing arrived within the wait.
    Timeout,
    /// The peer closed the connection or the read failed.
    Closed(io::Error),
    /// The header was not an AJP packet from a container, or too long.
    Framing(String),
}

/// What [`Conn::cping_after_reply`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingAnswer {
    /// A CPONG: the connection (and the connector) is fine.
    Pong,
    /// The backend closed the connection.
    Closed,
    /// Nothing usable within the wait (or something other than a CPONG).
    NoAnswer,
}

pub struct Conn {
    stream: TcpStream,
    /// Bytes read from the socket but not yet consumed (`rbuf[rpos..rend]`): one read usually
    /// brings a whole packet (header and payload) or several, instead of one system call per
    /// part. The buffer is initialised once per connection and only grows for packets larger
    /// than it.
    rbuf: Vec<u8>,
    /// The backend address this connection was opened to (a pooled connection to an address
    /// the endpoint has since moved away from is not reused).
    pub(crate) addr: SocketAddr,
    rpos: usize,
    rend: usize,
    /// The payload buffer of the exchange on this connection, kept with it between requests
    /// so a pooled connection serves without allocating one.
    pub(crate) payload: Vec<u8>,
    pub(crate) last_used: Instant,
    socket_timeout: Option<Duration>,
    current_read_timeout: Option<Option<Duration>>,
    /// Reports the close of this connection to the endpoint's connection counter.
    _open: Option<OpenMark>,
}

impl Conn {
    /// Opens a connection with the worker's socket options; `counter` (the endpoint's) counts
    /// it as open from the moment the socket is connected until it is closed or dropped.
    pub fn connect(
        cfg: &EndpointConfig,
        addr: SocketAddr,
        counter: Option<&Arc<dyn ConnectionCounter>>,
    ) -> io::Result<Conn> {
        let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        sock.set_nodelay(true)?;
        if cfg.keepalive {
            sock.set_tcp_keepalive(&TcpKeepalive::new())?;
        }
        if cfg.socket_buffer > 0 {
            // mod_jk raises a buffer smaller than a packet to the packet size.
            let size = cfg.socket_buffer.max(cfg.max_packet_size);
            sock.set_send_buffer_size(size)?;
            sock.set_recv_buffer_size(size)?;
        }
        if let Some(src) = cfg.source {
            sock.bind(&SockAddr::from(SocketAddr::new(src, 0)))?;
        }
        match cfg.connect_timeout {
            Some(t) if !t.is_zero() => sock.connect_timeout(&SockAddr::from(addr), t)?,
            _ => sock.connect(&SockAddr::from(addr))?,
        }
        let stream: TcpStream = sock.into();
        stream.set_write_timeout(cfg.socket_timeout)?;
        Ok(Conn {
            stream,
            rbuf: vec![0; READ_CHUNK],
            addr,
            rpos: 0,
            rend: 0,
            payload: Vec::new(),
            last_used: Instant::now(),
            socket_timeout: cfg.socket_timeout,
            current_read_timeout: None,
            _open: counter.map(OpenMark::new),
        })
    }

    fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        // A zero duration means "no timeout" here (std rejects zero).
        let t = t.filter(|d| !d.is_zero());
        if self.current_read_timeout != Some(t) {
            self.stream.set_read_timeout(t)?;
            self.current_read_timeout = Some(t);
        }
        Ok(())
    }

    /// Sends a packet; a packet sent whole counts in `t.sent` (mod_jk
    /// `ajp_connection_tcp_send_message`: nothing of a failed send counts).
    pub fn send(&mut self, bytes: &[u8], t: &mut Traffic) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        t.sent = t.sent.saturating_add(bytes.len() as u64);
        Ok(())
    }

    /// Reads one packet from the backend into `buf` (payload only), waiting at most `wait`
    /// (None: forever) for its first byte and socket_timeout for the rest. As mod_jk's
    /// `ajp_connection_tcp_get_message` counts: the 4-byte header in `t.received` once it
    /// arrived (even when it turns out not to be an AJP header), the payload once complete.
    pub fn read_packet(
        &mut self,
        buf: &mut Vec<u8>,
        wait: Option<Duration>,
        max_packet_size: usize,
        t: &mut Traffic,
    ) -> Result<(), ReadError> {
        // The first byte of the packet is the one reply_timeout bounds.
        while self.rend - self.rpos < 4 {
            let first = self.rend == self.rpos;
            self.fill(if first { wait } else { self.socket_timeout }, 4)?;
        }
        t.received = t.received.saturating_add(4);
        let mut head = [0u8; 4];
        head.copy_from_slice(&self.rbuf[self.rpos..self.rpos + 4]);
        let len = jk_ajp::read_header(&head, max_packet_size)
            .map_err(|e| ReadError::Framing(e.to_string()))?;
        while self.rend - self.rpos < 4 + len {
            self.fill(self.socket_timeout, 4 + len)?;
        }
        t.received = t.received.saturating_add(len as u64);
        buf.clear();
        buf.extend_from_slice(&self.rbuf[self.rpos + 4..self.rpos + 4 + len]);
        self.rpos += 4 + len;
        if self.rpos == self.rend {
            self.rpos = 0;
            self.rend = 0;
        }
        self.last_used = Instant::now();
        Ok(())
    }

    /// One read from the socket into the buffer, waiting at most `wait`; `need` is the size
    /// of the packet being read (room is made for it).
    fn fill(&mut self, wait: Option<Duration>, need: usize) -> Result<(), ReadError> {
        // Unread bytes move to the front when little room is left behind them or when the
        // packet would not fit from where they are; the buffer grows only for a packet larger
        // than it, so it stays within max(READ_CHUNK, largest packet + READ_CHUNK / 4).
        if self.rpos > 0
            && (self.rbuf.len() - self.rend < READ_CHUNK / 4 || self.rbuf.len() - self.rpos < need)
        {
            self.rbuf.copy_within(self.rpos..self.rend, 0);
            self.rend -= self.rpos;
            self.rpos = 0;
        }
        if self.rbuf.len() - self.rpos < need || self.rbuf.len() == self.rend {
            let size = (self.rpos + need).max(self.rend + READ_CHUNK / 4);
            self.rbuf.resize(size, 0);
        }
        self.set_read_timeout(wait).map_err(ReadError::Closed)?;
        let r = loop {
            match self.stream.read(&mut self.rbuf[self.rend..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match r {
            Ok(0) => Err(ReadError::Closed(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by the backend",
            ))),
            Ok(n) => {
                self.rend += n;
                Ok(())
            }
            Err(e) if is_timeout(&e) => Err(ReadError::Timeout),
            Err(e) => Err(ReadError::Closed(e)),
        }
    }

    /// True if the backend has not closed this idle connection: no unread bytes, and one
    /// non-blocking peek (MSG_PEEK | MSG_DONTWAIT) sees neither EOF nor stray data.
    pub fn is_alive(&self) -> bool {
        if self.rpos != self.rend {
            return false;
        }
        let mut b = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        let sock = socket2::SockRef::from(&self.stream);
        matches!(
            sock.recv_with_flags(&mut b, libc::MSG_PEEK | libc::MSG_DONTWAIT),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        )
    }

    /// Sends a CPING and waits up to `wait` for the CPONG (both counted in `t`).
    pub fn cping(&mut self, wait: Duration, max_packet_size: usize, t: &mut Traffic) -> bool {
        if self.send(&jk_ajp::CPING, t).is_err() {
            return false;
        }
        let mut buf = Vec::with_capacity(8);
        match self.read_packet(&mut buf, Some(wait), max_packet_size, t) {
            Ok(()) => matches!(jk_ajp::decode_reply(&buf), Ok(jk_ajp::Reply::CPong)),
            Err(_) => false,
        }
    }

    /// Sends a CPING on a connection whose reply just ended and tells what came back: a CPONG,
    /// the connection closed by the backend (a Tomcat whose connector is paused for shutdown
    /// closes every connection after its reply and answers no CPING), or nothing in `wait`.
    pub fn cping_after_reply(
        &mut self,
        wait: Duration,
        max_packet_size: usize,
        t: &mut Traffic,
    ) -> PingAnswer {
        if self.send(&jk_ajp::CPING, t).is_err() {
            return PingAnswer::Closed;
        }
        let mut buf = Vec::with_capacity(8);
        match self.read_packet(&mut buf, Some(wait), max_packet_size, t) {
            Ok(()) if matches!(jk_ajp::decode_reply(&buf), Ok(jk_ajp::Reply::CPong)) => {
                PingAnswer::Pong
            }
            Ok(()) | Err(ReadError::Framing(_)) | Err(ReadError::Timeout) => PingAnswer::NoAnswer,
            Err(ReadError::Closed(_)) => PingAnswer::Closed,
        }
    }

    /// Closes hard (RST instead of FIN is not needed; dropping closes).
    pub fn shutdown(self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// Bytes asked for per read: a few packets of the default size.
const READ_CHUNK: usize = 16 * 1024;

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn the_read_buffer_stays_bounded_whatever_the_reads_return() {
        // 20,000 packets of up to 8 KiB written in pieces of 1..3000 bytes: partial reads
        // leave unread bytes anywhere in the buffer; it must not ratchet up.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let n_packets = 20_000u32;
        let writer = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            c.set_nodelay(true).unwrap();
            let mut x: u32 = 0x1234_5678;
            let mut rnd = move || {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x
            };
            let mut out = Vec::new();
            for _ in 0..n_packets {
                let len = (rnd() % 8190) as usize + 1;
                out.extend_from_slice(b"AB");
                out.extend_from_slice(&(len as u16).to_be_bytes());
                out.extend(std::iter::repeat_n(3u8, len));
            }
            let mut at = 0;
            while at < out.len() {
                let n = ((rnd() % 3000) as usize + 1).min(out.len() - at);
                c.write_all(&out[at..at + n]).unwrap();
                at += n;
            }
        });
        let cfg = EndpointConfig::new("t", Some(addr));
        let mut conn = Conn::connect(&cfg, addr, None).unwrap();
        let mut buf = Vec::new();
        let mut largest = 0;
        let mut t = Traffic::default();
        let mut payload = 0u64;
        for _ in 0..n_packets {
            conn.read_packet(&mut buf, Some(Duration::from_secs(5)), 8192, &mut t)
                .unwrap();
            payload += buf.len() as u64;
            assert!(buf.iter().all(|&b| b == 3));
            largest = largest.max(conn.rbuf.len());
        }
        writer.join().unwrap();
        assert!(
            largest <= READ_CHUNK.max(8194 + READ_CHUNK / 4),
            "read buffer grew to {largest} bytes"
        );
        // Every packet counted whole (header and payload), however the reads split it.
        assert_eq!(t.received, payload + 4 * u64::from(n_packets));
        assert_eq!(t.sent, 0);
    }
}
