//! The lexer of mod_jk's properties files, workers.properties (and `JkWorkerProperty`
//! arguments) and uriworkermap.properties alike (mod_jk reads both with `jk_map.c`): the
//! lines of a file, one `name=value` line, and `$(name)` references inside a value.
//!
//! The rules are those of `jk_map.c`: lines end at `\n` (no continuation lines), everything
//! from the first `#` is a comment (also inside a value), ASCII whitespace around the line,
//! the name and the value is trimmed, the first `=` separates name and value, `$(name)` is
//! replaced by the value of an earlier `name` or else the environment variable `name`.
//! Stricter than mod_jk: a line longer than mod_jk's buffer, a line that is not UTF-8 outside
//! its comment and an unterminated `$(` are errors; what a file does with a line without
//! `=` is up to its reader.

use std::fmt;

use nom::bytes::complete::{tag, take_till};
use nom::character::complete::char;
use nom::combinator::{cut, rest};
use nom::sequence::{preceded, separated_pair, terminated};
use nom::IResult;

/// mod_jk reads lines into an 8192-byte buffer; a longer line is cut into pieces there.
pub const MAX_LINE_BYTES: usize = 8192;

/// mod_jk stops expanding `$(name)` references after this many per value.
pub const MAX_SUBSTITUTIONS: usize = 20;

/// Why a line of a file cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// Longer than [`MAX_LINE_BYTES`] before its comment.
    TooLong {
        /// Its length before the comment.
        len: usize,
    },
    /// Not UTF-8 before its comment.
    NotUtf8,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::TooLong { len } => write!(
                f,
                "line is {len} bytes long, mod_jk reads at most {MAX_LINE_BYTES} bytes per line"
            ),
            LineError::NotUtf8 => f.write_str("line is not valid UTF-8 outside its comment"),
        }
    }
}

/// The lines of a file with their 1-based numbers, each cut at its comment. A UTF-8 BOM is
/// skipped. Only the part before the comment must be UTF-8, so a file whose comments are in
/// another encoding (GBK, Latin-1) reads as in mod_jk.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = (u32, Result<&str, LineError>)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.split(|&b| b == b'\n').enumerate().map(|(n, raw)| {
        let number = u32::try_from(n + 1).unwrap_or(u32::MAX);
        let content = match memchr::memchr(b'#', raw) {
            Some(i) => &raw[..i],
            None => raw,
        };
        let text = if content.len() > MAX_LINE_BYTES {
            Err(LineError::TooLong { len: content.len() })
        } else {
            std::str::from_utf8(content).map_err(|_| LineError::NotUtf8)
        };
        (number, text)
    })
}

/// What one line holds once the comment is gone.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// Empty, whitespace or comment only.
    Blank,
    /// `name=value`, both trimmed. `value` may be empty (mod_jk ignores such lines).
    Property { key: &'a str, value: &'a str },
    /// `=value`: no name before the `=`.
    MissingKey { text: &'a str },
    /// Text without any `=`.
    MissingEquals { text: &'a str },
}

/// Bytes mod_jk treats as white space (C `isspace` in the C locale).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

pub fn trim(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// The part of a line before its comment: everything from the first `#` goes.
pub fn before_comment(input: &str) -> IResult<&str, &str> {
    take_till(|c| c == '#')(input)
}

/// `name=value` split at the first `=`; neither side trimmed yet.
pub fn key_value(input: &str) -> IResult<&str, (&str, &str)> {
    separated_pair(take_till(|c| c == '='), char('='), rest)(input)
}

/// Classifies one line (without its line terminator).
pub fn line(input: &str) -> Line<'_> {
    let content = match before_comment(input) {
        Ok((_, content)) => trim(content),
        Err(_) => trim(input),
    };
    if content.is_empty() {
        return Line::Blank;
    }
    match key_value(content) {
        Ok((_, (key, value))) => {
            let key = trim(key);
            if key.is_empty() {
                Line::MissingKey { text: content }
            } else {
                Line::Property {
                    key,
                    value: trim(value),
                }
            }
        }
        Err(_) => Line::MissingEquals { text: content },
    }
}

/// `$(name)`: after the recognised `$(`, a missing `)` is a hard failure (`cut`).
pub fn var_ref(input: &str) -> IResult<&str, &str> {
    preceded(
        tag("$("),
        cut(terminated(take_till(|c| c == ')'), char(')'))),
    )(input)
}

/// Why a value could not be expanded.
#[derive(Debug, PartialEq, Eq)]
pub struct Unterminated {
    /// Byte offset of the `$(` that has no `)`.
    pub at: usize,
}

impl Unterminated {
    /// The message for `value` (the value as written).
    pub fn message(&self, value: &str) -> String {
        format!(
            "\"{value}\" has an unterminated \"$(\" at byte {} (expected $(name))",
            self.at
        )
    }
}

/// Result of expanding a value.
#[derive(Debug, PartialEq, Eq)]
pub struct Expanded {
    pub value: String,
    /// More than [`MAX_SUBSTITUTIONS`] references: the rest was left as written.
    pub truncated: bool,
}

/// The warning for a value with more than [`MAX_SUBSTITUTIONS`] references.
pub fn truncated_warning() -> String {
    format!("more than {MAX_SUBSTITUTIONS} $(name) references, the rest are left as written")
}

/// Replaces each `$(name)` by `lookup(name)`; an unresolved reference stays as written.
/// Substituted text is not scanned again (as in mod_jk).
pub fn substitute(
    value: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Expanded, Unterminated> {
    let mut out = String::with_capacity(value.len());
    let mut pos = 0;
    let mut count = 0;
    let mut truncated = false;
    while let Some(found) = memchr::memmem::find(&value.as_bytes()[pos..], b"$(") {
        let start = pos + found;
        out.push_str(&value[pos..start]);
        let (remaining, name) = match var_ref(&value[start..]) {
            Ok(ok) => ok,
            Err(_) => return Err(Unterminated { at: start }),
        };
        let end = value.len() - remaining.len();
        if count >= MAX_SUBSTITUTIONS {
            truncated = true;
            out.push_str(&value[start..end]);
        } else {
            match lookup(name).filter(|_| !name.is_empty()) {
                Some(v) => {
                    count += 1;
                    out.push_str(&v);
                }
                None => out.push_str(&value[start..end]),
            }
        }
        pos = end;
    }
    out.push_str(&value[pos..]);
    Ok(Expanded {
        value: out,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lines_are_numbered_and_cut_at_their_comment() {
        let text = b"\xEF\xBB\xBFa=1 # caf\xE9\r\n\n\xE9=2\nb=3";
        let got: Vec<_> = lines(text).collect();
        assert_eq!(
            got,
            [
                (1, Ok("a=1 ")),
                (2, Ok("")),
                (3, Err(LineError::NotUtf8)),
                (4, Ok("b=3")),
            ]
        );
        let long = format!("a={}#{}", "x".repeat(MAX_LINE_BYTES), "c".repeat(10));
        assert_eq!(
            lines(long.as_bytes()).next(),
            Some((
                1,
                Err(LineError::TooLong {
                    len: MAX_LINE_BYTES + 2
                })
            ))
        );
        let ok = format!("a={}# a long comment", "x".repeat(MAX_LINE_BYTES - 2));
        assert!(lines(ok.as_bytes()).all(|(_, l)| l.is_ok()));
    }

    #[test]
    fn before_comment_cuts_at_first_hash() {
        assert_eq!(before_comment("a=b # c").unwrap().1, "a=b ");
        assert_eq!(before_comment("a=b#c#d").unwrap().1, "a=b");
        assert_eq!(before_comment("# all").unwrap().1, "");
        assert_eq!(before_comment("plain").unwrap().1, "plain");
    }

    #[test]
    fn key_value_splits_at_first_equals() {
        assert_eq!(key_value("a=b=c").unwrap().1, ("a", "b=c"));
        assert_eq!(key_value("a=").unwrap().1, ("a", ""));
        assert!(key_value("no equals").is_err());
    }

    #[test]
    fn line_accepts_properties() {
        assert_eq!(
            line("  worker.a.port = 8009  # the port\r"),
            Line::Property {
                key: "worker.a.port",
                value: "8009"
            }
        );
        assert_eq!(
            line("workers.java_home="),
            Line::Property {
                key: "workers.java_home",
                value: ""
            }
        );
        assert_eq!(
            line("x=a#b=c"),
            Line::Property {
                key: "x",
                value: "a"
            }
        );
    }

    #[test]
    fn line_blank_and_comment() {
        assert_eq!(line(""), Line::Blank);
        assert_eq!(line(" \t\r"), Line::Blank);
        assert_eq!(line("# 声明四个worker"), Line::Blank);
        assert_eq!(line("   # x=y"), Line::Blank);
    }

    #[test]
    fn line_rejects_text_without_equals() {
        assert_eq!(
            line("worker.a.port 8009"),
            Line::MissingEquals {
                text: "worker.a.port 8009"
            }
        );
        assert_eq!(line(" = 5 "), Line::MissingKey { text: "= 5" });
    }

    #[test]
    fn trim_is_ascii_only() {
        assert_eq!(trim("\u{3000}a\u{3000}"), "\u{3000}a\u{3000}");
        assert_eq!(trim("\x0b a \x0c"), "a");
    }

    #[test]
    fn var_ref_parses_and_cuts() {
        assert_eq!(var_ref("$(ps)rest").unwrap(), ("rest", "ps"));
        assert!(matches!(var_ref("$(ps"), Err(nom::Err::Failure(_))));
        assert!(matches!(var_ref("ps"), Err(nom::Err::Error(_))));
    }

    fn lookup(name: &str) -> Option<String> {
        match name {
            "ps" => Some("/".into()),
            "home" => Some("/opt/$(ps)".into()),
            _ => None,
        }
    }

    #[test]
    fn substitute_replaces_known_names() {
        let e = substitute("$(home)$(ps)lib", lookup).unwrap();
        assert_eq!(e.value, "/opt/$(ps)/lib");
        assert!(!e.truncated);
    }

    #[test]
    fn substitute_keeps_unknown_and_empty() {
        assert_eq!(
            substitute("a$(nope)b$()c", lookup).unwrap().value,
            "a$(nope)b$()c"
        );
        assert_eq!(substitute("$ps $x", lookup).unwrap().value, "$ps $x");
    }

    #[test]
    fn substitute_rejects_unterminated() {
        assert_eq!(
            substitute("x$(ps)y$(home", lookup),
            Err(Unterminated { at: 7 })
        );
    }

    #[test]
    fn substitute_stops_after_limit() {
        let v = "$(ps)".repeat(MAX_SUBSTITUTIONS + 2);
        let e = substitute(&v, lookup).unwrap();
        assert!(e.truncated);
        assert_eq!(
            e.value,
            format!("{}$(ps)$(ps)", "/".repeat(MAX_SUBSTITUTIONS))
        );
    }
}
