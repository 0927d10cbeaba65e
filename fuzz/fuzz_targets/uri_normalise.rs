//! A request URI, from arbitrary bytes (as httpd holds `r->uri` after %-decoding: not
//! necessarily UTF-8), through the servlet normalisation mod_jk applies before mapping, the
//! forwarded-URI escaping of every `JkOptions ForwardURI*` mode and `JkStripSession`.
//! Run with `cargo +nightly fuzz run uri_normalise`.
//!
//! Asserted, beyond "no panic":
//! * normalize: a result starts with `/` (or is `*`), has no `//`, no `;`, no `.`/`..`
//!   segment, is never longer than its input, and normalising it again gives it back;
//!   `NotAbsolute` exactly for input not starting with `/` (other than `*`).
//! * escape_proxy / escape_uri: ASCII, only their kept bytes or `%XX` (upper / lower-case
//!   hex), and %-decoding gives back the input byte for byte.
//! * forward_uri: Compat is the decoded URI, CompatUnparsed the unparsed one up to `?`.
//! * strip_session: removes one run starting at the identifier; nothing else changes.
#![no_main]

use jk_urimap::{
    escape_proxy, escape_uri, forward_uri, normalize, strip_session, ForwardUriMode, NormalizeError,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|uri: &[u8]| {
    check_normalize(uri);
    check_escape(uri, &escape_proxy(uri), b"/~$-_.+!*'(),;:@&=", true);
    check_escape(uri, &escape_uri(uri), b"$-_.+!*'(),:;@&=/~", false);
    check_forward(uri);
    for ident in [";jsessionid", "jsessionid", ";", "/"] {
        check_strip(uri, ident);
    }
});

fn check_normalize(uri: &[u8]) {
    match normalize(uri) {
        Ok(out) if uri == b"*" => assert_eq!(out, b"*"),
        Ok(out) => {
            assert_eq!(out.first(), Some(&b'/'), "{uri:?} -> {out:?}");
            assert!(out.len() <= uri.len(), "{uri:?} -> {out:?} grew");
            assert!(
                !out.contains(&b';'),
                "{uri:?} -> {out:?} kept a path parameter"
            );
            assert!(!out.windows(2).any(|w| w == b"//"), "{uri:?} -> {out:?}");
            for segment in out[1..].split(|&b| b == b'/') {
                assert!(
                    segment != b"." && segment != b"..",
                    "{uri:?} -> {out:?} kept a dot segment"
                );
            }
            assert_eq!(
                normalize(&out).as_deref(),
                Ok(&out[..]),
                "not stable: {uri:?}"
            );
        }
        Err(NormalizeError::NotAbsolute(text)) => {
            assert!(uri.first() != Some(&b'/'));
            assert_eq!(text, String::from_utf8_lossy(uri));
        }
        Err(NormalizeError::TraversalAboveRoot(text)) => {
            assert_eq!(uri.first(), Some(&b'/'));
            assert!(uri.windows(2).any(|w| w == b".."));
            let _ = NormalizeError::TraversalAboveRoot(text).to_string();
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn check_escape(input: &[u8], escaped: &str, keep: &[u8], upper: bool) {
    assert!(escaped.is_ascii());
    let e = escaped.as_bytes();
    let mut decoded = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < e.len() {
        if e[i] == b'%' {
            let (h, l) = (e[i + 1], e[i + 2]);
            let case_ok = |c: u8| c.is_ascii_digit() || c.is_ascii_uppercase() == upper;
            assert!(case_ok(h) && case_ok(l), "{escaped}: hex case");
            let byte = hex(h).and_then(|h| hex(l).map(|l| h * 16 + l));
            let byte = byte.unwrap_or_else(|| panic!("{escaped}: bad %-escape at {i}"));
            assert!(
                !(byte.is_ascii_alphanumeric() || keep.contains(&byte)),
                "{escaped}: escaped a byte it keeps"
            );
            decoded.push(byte);
            i += 3;
        } else {
            assert!(e[i].is_ascii_alphanumeric() || keep.contains(&e[i]));
            decoded.push(e[i]);
            i += 1;
        }
    }
    assert_eq!(decoded, input, "escaping is not reversible: {escaped}");
}

fn check_forward(uri: &[u8]) {
    assert_eq!(&*forward_uri(ForwardUriMode::Compat, uri, b""), uri);
    let unparsed = &*forward_uri(ForwardUriMode::CompatUnparsed, b"", uri);
    assert!(uri.starts_with(unparsed) && !unparsed.contains(&b'?'));
    assert!(unparsed.len() == uri.len() || uri[unparsed.len()] == b'?');
    assert_eq!(
        &*forward_uri(ForwardUriMode::Proxy, uri, b""),
        escape_proxy(uri).as_bytes()
    );
    assert_eq!(
        &*forward_uri(ForwardUriMode::Escaped, uri, b""),
        escape_uri(uri).as_bytes()
    );
}

fn check_strip(uri: &[u8], ident: &str) {
    let Some(out) = strip_session(uri, ident) else {
        return;
    };
    let id = ident.as_bytes();
    assert!(out.len() + id.len() <= uri.len());
    // `out` is `uri` with one run [start, end) removed, and that run starts with `ident`.
    let start = uri
        .windows(id.len())
        .position(|w| w == id)
        .expect("stripped without the identifier");
    let removed = uri.len() - out.len();
    assert_eq!(&out[..start], &uri[..start]);
    assert_eq!(&out[start..], &uri[start + removed..]);
    let tail = &uri[start + id.len()..start + removed];
    assert!(!tail.contains(&b';') && !tail.contains(&b'/'));
}
