//! `ajp-test-server --listen 127.0.0.1:8009 [--mode echo|download:N|status:CODE]`
//!
//! A fake AJP13 container for manual checks and benchmarks. Prints one line per request:
//! `conn=ID METHOD URI[?QUERY] body=N cpings=N` (or `decode-error=…`). Runs until killed.
#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use jk_ajp_testserver::{Behaviour, Response, TestServer};

const USAGE: &str = "usage: ajp-test-server [--listen ADDR] [--mode echo|download:N|status:CODE]\n\
     defaults: --listen 127.0.0.1:8009 --mode status:200";

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn parse_mode(mode: &str) -> Result<Behaviour, String> {
    if mode == "echo" {
        return Ok(Behaviour::Echo);
    }
    if let Some(n) = mode.strip_prefix("download:") {
        let bytes = n
            .parse()
            .map_err(|e| format!("bad download size {n:?}: {e}"))?;
        return Ok(Behaviour::Download {
            bytes,
            chunk_size: 0,
        });
    }
    if let Some(c) = mode.strip_prefix("status:") {
        let code: u16 = c.parse().map_err(|e| format!("bad status {c:?}: {e}"))?;
        if !(100..=999).contains(&code) {
            return Err(format!("bad status {code}"));
        }
        let body = format!("status {code}\n");
        return Ok(Behaviour::Respond(Response::text(
            code,
            reason(code),
            &body,
        )));
    }
    Err(format!("unknown mode {mode:?}"))
}

fn parse_args() -> Result<(String, Behaviour), String> {
    let mut listen = "127.0.0.1:8009".to_owned();
    let mut behaviour = parse_mode("status:200")?;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match key.as_str() {
            "--listen" | "-l" => listen = value("--listen")?,
            "--mode" | "-m" => behaviour = parse_mode(&value("--mode")?)?,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((listen, behaviour))
}

fn run(listen: &str, behaviour: Behaviour) -> io::Result<()> {
    let server = TestServer::start(listen, behaviour)?;
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {}", server.addr())?;
    out.flush()?;
    loop {
        if !server.wait_for_requests(1, Duration::from_millis(500)) {
            continue;
        }
        for r in server.take_requests() {
            let d = &r.decoded;
            match &r.decode_error {
                Some(e) => writeln!(out, "conn={} decode-error={e}", r.connection_id)?,
                None => writeln!(
                    out,
                    "conn={} {} {}{}{} body={} cpings={}",
                    r.connection_id,
                    d.method,
                    d.uri,
                    if d.query().is_some() { "?" } else { "" },
                    d.query().unwrap_or(""),
                    r.body.len(),
                    r.cpings_before
                )?,
            }
        }
        out.flush()?;
    }
}

fn main() -> ExitCode {
    let (listen, behaviour) = match parse_args() {
        Ok(v) => v,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ajp-test-server: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&listen, behaviour) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ajp-test-server: {e}");
            ExitCode::FAILURE
        }
    }
}
