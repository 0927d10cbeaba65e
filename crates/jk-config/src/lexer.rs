//! One line of workers.properties (or one `JkWorkerProperty` argument), and `$(name)`
//! references inside a value.
//!
//! The rules are those of mod_jk's `jk_map.c`: everything from the first `#` is a comment (also
//! inside a value), ASCII whitespace around the line, the name and the value is trimmed, the
//! first `=` separates name and value. Unlike mod_jk, a line that has text but no `=` is
//! reported instead of silently skipped.

use nom::bytes::complete::{tag, take_till};
use nom::character::complete::char;
use nom::combinator::{cut, rest};
use nom::sequence::{preceded, separated_pair, terminated};
use nom::IResult;

/// mod_jk reads lines into an 8192-byte buffer; a longer line is cut into pieces there.
pub const MAX_LINE_BYTES: usize = 8192;

/// mod_jk stops expanding `$(name)` references after this many per value.
pub const MAX_SUBSTITUTIONS: usize = 20;

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

/// Result of expanding a value.
#[derive(Debug, PartialEq, Eq)]
pub struct Expanded {
    pub value: String,
    /// More than [`MAX_SUBSTITUTIONS`] references: the rest was left as written.
    pub truncated: bool,
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
