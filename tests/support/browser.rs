//! Headless Chromium (Debian package `chromium`) driven over the DevTools protocol: a tiny
//! std-only WebSocket client, page evaluation and screenshots (tests/status_browser.rs,
//! tests/prometheus.rs).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TestDir;

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium in its own process group; closed (then killed) on drop.
pub struct Browser {
    child: Child,
    pub dir: TestDir,
    cdp: Option<Cdp>,
}

impl Browser {
    pub fn launch() -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} missing: `make test` installs it (apt-get install chromium); this test \
             fails rather than skips without a browser"
        );
        let dir = TestDir::new("chromium");
        let child = Command::new(CHROMIUM)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", dir.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("chromium.log")).unwrap(),
            ))
            .process_group(0)
            .spawn()
            .unwrap();
        let mut b = Browser {
            child,
            dir,
            cdp: None,
        };
        // Chromium writes the DevTools port it picked into the profile directory.
        let port_file = b.dir.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        let port: u16 = loop {
            if let Some(p) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()))
            {
                break p;
            }
            if let Ok(Some(st)) = b.child.try_wait() {
                panic!("chromium exited ({st}): {}", b.dir.read("chromium.log"));
            }
            assert!(
                Instant::now() < deadline,
                "chromium did not open its DevTools port: {}",
                b.dir.read("chromium.log")
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        // The page target of about:blank.
        let list = http_get_close(port, "/json/list");
        let ws = list
            .split('{')
            .filter(|o| o.contains("\"type\": \"page\"") || o.contains("\"type\":\"page\""))
            .find_map(|o| {
                let i = o.find("\"webSocketDebuggerUrl\"")?;
                let rest = &o[i + "\"webSocketDebuggerUrl\"".len()..];
                let start = rest.find("ws://")?;
                let end = rest[start..].find('"')? + start;
                Some(rest[start..end].to_string())
            })
            .unwrap_or_else(|| panic!("no page target in {list}"));
        let path = ws.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
        b.cdp = Some(Cdp::connect(port, &path));
        b
    }

    pub fn cdp(&mut self) -> &mut Cdp {
        self.cdp.as_mut().unwrap()
    }

    /// Evaluates `expr` (which must produce a string) in the page.
    pub fn eval(&mut self, expr: &str) -> Result<String, String> {
        let params = format!(
            "{{\"expression\":{},\"returnByValue\":true}}",
            json_str(expr)
        );
        let r = self.cdp().call("Runtime.evaluate", &params)?;
        if r.contains("\"exceptionDetails\"") {
            return Err(r);
        }
        json_field_str(&r, "value").ok_or(r)
    }

    /// Polls `expr` until it yields a string for which `ok` holds.
    pub fn wait_eval(&mut self, what: &str, expr: &str, ok: impl Fn(&str) -> bool) -> String {
        self.try_wait_eval(expr, ok)
            .unwrap_or_else(|last| panic!("timed out waiting for {what}; last: {last}"))
    }

    /// Polls `expr` for up to 20 s until it yields a string for which `ok` holds; the last
    /// value (or error) when it never does.
    pub fn try_wait_eval(
        &mut self,
        expr: &str,
        ok: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.eval(expr) {
                Ok(v) if ok(&v) => return Ok(v),
                Ok(v) => last = v,
                Err(e) => last = e, // e.g. the context is being replaced by a navigation
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.cdp.as_mut() {
            let _ = c.call("Browser.close", "{}");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // The group this test created (chromium's helpers included), by its id.
        let pgid = self.child.id() as i32;
        // SAFETY: signals only the process group this test spawned.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// A GET with `Connection: close` to the DevTools HTTP endpoint.
pub fn http_get_close(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut len = None;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = Vec::new();
    match len {
        Some(n) => {
            body.resize(n, 0);
            r.read_exact(&mut body).unwrap();
        }
        None => {
            r.read_to_end(&mut body).unwrap();
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// A minimal DevTools protocol client: RFC 6455 WebSocket (masked text frames out, frames of
/// any length in) carrying JSON commands; events are skipped.
pub struct Cdp {
    s: TcpStream,
    next_id: u64,
}

impl Cdp {
    fn connect(port: u16, path: &str) -> Cdp {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: bW9kX2prLXJzIHN0YXR1cw==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(
            head.starts_with("HTTP/1.1 101"),
            "WebSocket upgrade refused: {head}"
        );
        Cdp { s, next_id: 1 }
    }

    fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        let mut f = vec![0x80 | opcode];
        let n = payload.len();
        if n < 126 {
            f.push(0x80 | n as u8);
        } else if n < 65536 {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
        let mask = [0x6d, 0x6a, 0x6b, 0x21];
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.s.write_all(&f).unwrap();
    }

    /// The next complete text message.
    fn read_message(&mut self) -> String {
        let mut msg = Vec::new();
        loop {
            let mut h = [0u8; 2];
            self.s.read_exact(&mut h).unwrap();
            let fin = h[0] & 0x80 != 0;
            let opcode = h[0] & 0x0f;
            let masked = h[1] & 0x80 != 0;
            let mut len = u64::from(h[1] & 0x7f);
            if len == 126 {
                let mut b = [0u8; 2];
                self.s.read_exact(&mut b).unwrap();
                len = u64::from(u16::from_be_bytes(b));
            } else if len == 127 {
                let mut b = [0u8; 8];
                self.s.read_exact(&mut b).unwrap();
                len = u64::from_be_bytes(b);
            }
            let mut mask = [0u8; 4];
            if masked {
                self.s.read_exact(&mut mask).unwrap();
            }
            let mut payload = vec![0u8; len as usize];
            self.s.read_exact(&mut payload).unwrap();
            if masked {
                for (i, b) in payload.iter_mut().enumerate() {
                    *b ^= mask[i % 4];
                }
            }
            match opcode {
                0x8 => panic!("DevTools closed the WebSocket"),
                0x9 => self.send_frame(0xA, &payload),
                0xA => {}
                _ => {
                    msg.extend_from_slice(&payload);
                    if fin {
                        return String::from_utf8_lossy(&msg).into_owned();
                    }
                }
            }
        }
    }

    /// Sends one command and returns its response (`Err` for a protocol error).
    pub fn call(&mut self, method: &str, params: &str) -> Result<String, String> {
        let id = self.next_id;
        self.next_id += 1;
        let m = format!("{{\"id\":{id},\"method\":\"{method}\",\"params\":{params}}}");
        self.send_frame(0x1, m.as_bytes());
        let prefix = format!("{{\"id\":{id},");
        loop {
            let r = self.read_message();
            if r.starts_with(&prefix) {
                return if r[prefix.len()..].starts_with("\"error\"") {
                    Err(r)
                } else {
                    Ok(r)
                };
            }
        }
    }
}

/// `s` as a JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The first string value of `"key":"…"` in `json`, unescaped.
pub fn json_field_str(json: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let start = json.find(&pat)? + pat.len();
    let mut out = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
    None
}

/// A number field `"key":N` of `json`.
pub fn json_field_num(json: &str, key: &str) -> Option<f64> {
    let pat = format!("\"{key}\":");
    let start = json.find(&pat)? + pat.len();
    let v: String = json[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+'))
        .collect();
    v.parse().ok()
}

pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

impl Browser {
    /// Opens `url` in the page.
    pub fn navigate(&mut self, url: &str) {
        self.cdp()
            .call("Page.navigate", &format!("{{\"url\":{}}}", json_str(url)))
            .unwrap();
    }

    /// A PNG of the page's viewport, written to `path`.
    pub fn screenshot(&mut self, path: &Path) {
        let r = self
            .cdp()
            .call("Page.captureScreenshot", "{\"format\":\"png\"}")
            .unwrap();
        let png = base64_decode(&json_field_str(&r, "data").unwrap());
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, &png).unwrap();
        eprintln!("screenshot: {} ({} bytes)", path.display(), png.len());
    }
}
