//! `JkRequestLogFormat`: a per-request line written after mod_jk handled a request.

/// The codes mod_jk 1.2.48 knows (`log_item_keys` in mod_jk.c).
pub const REQUEST_LOG_CODES: &str = "bBHmpqrsTUvVwR";

/// The request's values, supplied by the glue at `log_transaction` time.
///
/// `get` returns the raw value for a code, or `None` when httpd/mod_jk has none. The glue
/// supplies, per code:
///
/// | code | value | `None` renders as |
/// |---|---|---|
/// | `b` | body bytes sent, `None` if no body was sent (`r->sent_bodyct == 0`) | `-` |
/// | `B` | body bytes sent, `None` if no body was sent | `0` |
/// | `H` | `r->protocol` | `-` |
/// | `m` | `r->method` | `-` |
/// | `p` | canonical server port (vhost port, else the scheme's default) | `-` |
/// | `q` | `r->args` **without** the `?` (rendered as `?args`; `Some("")` renders `?`) | empty |
/// | `r` | request line, with a URL password masked | `-` |
/// | `s` | `r->status` as a number (rendered `-` when ≤ 0, mod_jk's `pfmt`) | `-` |
/// | `T` | note `JK_REQUEST_DURATION` | `-` |
/// | `U` | `r->uri` | `-` |
/// | `v` | canonical ServerName | `-` |
/// | `V` | `ap_get_server_name(r)` | `-` |
/// | `w` | note `JK_WORKER_NAME` | `-` |
/// | `R` | note `JK_WORKER_ROUTE` | `-` |
pub trait RequestLogValues {
    /// The raw value of `code` (one of [`REQUEST_LOG_CODES`]).
    fn get(&self, code: char) -> Option<String>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Literal(String),
    Code(char),
}

/// A parsed `JkRequestLogFormat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLogFormat {
    items: Vec<Item>,
}

impl RequestLogFormat {
    /// Parses a format. Literal text understands `\n`, `\t` and `\\`; any other backslash is
    /// kept as is. `%` must be followed by one of [`REQUEST_LOG_CODES`] (there is no `%%`);
    /// otherwise the error is mod_jk's text, e.g. `Unrecognized JkRequestLogFormat directive %x`
    /// (with nothing after `%` when the format ends in `%`).
    pub fn parse(fmt: &str) -> Result<RequestLogFormat, String> {
        let mut items = Vec::new();
        let mut literal = String::new();
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    let code = chars.next();
                    match code {
                        Some(code) if REQUEST_LOG_CODES.contains(code) => {
                            if !literal.is_empty() {
                                items.push(Item::Literal(std::mem::take(&mut literal)));
                            }
                            items.push(Item::Code(code));
                        }
                        _ => {
                            return Err(format!(
                                "Unrecognized JkRequestLogFormat directive %{}",
                                code.map(String::from).unwrap_or_default()
                            ))
                        }
                    }
                }
                '\\' => match chars.peek() {
                    Some('n') => {
                        chars.next();
                        literal.push('\n');
                    }
                    Some('t') => {
                        chars.next();
                        literal.push('\t');
                    }
                    Some('\\') => {
                        chars.next();
                        literal.push('\\');
                    }
                    // Kept verbatim; the next character is read normally.
                    _ => literal.push('\\'),
                },
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            items.push(Item::Literal(literal));
        }
        Ok(RequestLogFormat { items })
    }

    /// Whether the format uses `code`, so the glue can skip computing unused values.
    pub fn uses(&self, code: char) -> bool {
        self.items.contains(&Item::Code(code))
    }

    /// The line text (without stamp and newline, see [`crate::Logger::request_line`]).
    pub fn render(&self, values: &dyn RequestLogValues) -> String {
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Literal(s) => out.push_str(s),
                Item::Code(code) => render_code(&mut out, *code, values.get(*code)),
            }
        }
        out
    }
}

fn render_code(out: &mut String, code: char, value: Option<String>) {
    match (code, value) {
        ('q', Some(args)) => {
            out.push('?');
            out.push_str(&args);
        }
        ('q', None) => {}
        ('B', None) => out.push('0'),
        ('s', Some(status)) if status.trim().parse::<i64>().is_ok_and(|s| s <= 0) => out.push('-'),
        (_, Some(v)) => out.push_str(&v),
        (_, None) => out.push('-'),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    struct Values(HashMap<char, String>);

    impl RequestLogValues for Values {
        fn get(&self, code: char) -> Option<String> {
            self.0.get(&code).cloned()
        }
    }

    fn values(pairs: &[(char, &str)]) -> Values {
        Values(pairs.iter().map(|(c, v)| (*c, v.to_string())).collect())
    }

    #[test]
    fn reference_example() {
        let f = RequestLogFormat::parse("%w %V %T %R %s %U%q").unwrap();
        let v = values(&[
            ('w', "lb"),
            ('V', "127.0.0.1"),
            ('T', "0.002500"),
            ('R', "m1"),
            ('s', "200"),
            ('U', "/lb/a"),
        ]);
        assert_eq!(f.render(&v), "lb 127.0.0.1 0.002500 m1 200 /lb/a");
    }

    #[test]
    fn every_code_is_accepted() {
        for code in REQUEST_LOG_CODES.chars() {
            let f = RequestLogFormat::parse(&format!("<%{code}>")).unwrap();
            assert!(f.uses(code));
            let v = values(&[(code, "v")]);
            let want = if code == 'q' { "<?v>" } else { "<v>" };
            assert_eq!(f.render(&v), want);
        }
    }

    #[test]
    fn missing_values() {
        let f = RequestLogFormat::parse("%b|%B|%q|%s|%T|%R|%w|%H").unwrap();
        assert_eq!(f.render(&values(&[])), "-|0||-|-|-|-|-");
    }

    #[test]
    fn status_and_query_rules() {
        let f = RequestLogFormat::parse("%s%q").unwrap();
        assert_eq!(f.render(&values(&[('s', "0"), ('q', "")])), "-?");
        assert_eq!(f.render(&values(&[('s', "-1"), ('q', "a=1&b")])), "-?a=1&b");
        assert_eq!(f.render(&values(&[('s', "404")])), "404");
        // %b prints what it is given, "0" included (a body of zero bytes was sent).
        let f = RequestLogFormat::parse("%b %B").unwrap();
        assert_eq!(f.render(&values(&[('b', "0"), ('B', "0")])), "0 0");
        assert_eq!(f.render(&values(&[('b', "123"), ('B', "123")])), "123 123");
    }

    #[test]
    fn escapes_in_literal_text() {
        let f = RequestLogFormat::parse(r"a\tb\nc\\d\xe\").unwrap();
        assert_eq!(f.render(&values(&[])), "a\tb\nc\\d\\xe\\");
        assert!(!f.uses('s'));
        let f = RequestLogFormat::parse(r"\%s").unwrap();
        assert_eq!(f.render(&values(&[('s', "200")])), "\\200");
        assert_eq!(
            RequestLogFormat::parse("").unwrap().render(&values(&[])),
            ""
        );
    }

    #[test]
    fn unknown_codes_are_errors() {
        let err = |f: &str| RequestLogFormat::parse(f).unwrap_err();
        assert_eq!(err("%x"), "Unrecognized JkRequestLogFormat directive %x");
        assert_eq!(
            err("ok %% no"),
            "Unrecognized JkRequestLogFormat directive %%"
        );
        assert_eq!(
            err("%{Host}i"),
            "Unrecognized JkRequestLogFormat directive %{"
        );
        assert_eq!(err("%S"), "Unrecognized JkRequestLogFormat directive %S");
        assert_eq!(err("end %"), "Unrecognized JkRequestLogFormat directive %");
    }
}
