//! Splitting a raw directive argument into words like httpd's `ap_getword_conf`.

/// Takes the next word off `line` as `ap_getword_conf` does: leading blanks are skipped; a word
/// starting with `"` or `'` runs to the matching quote (a backslash before that quote keeps it
/// in the word); otherwise it runs to the next blank. Blanks after the word are consumed.
/// Returns `None` when `line` holds no more words.
pub fn getword_conf(line: &mut &str) -> Option<String> {
    let rest = line.trim_start();
    if rest.is_empty() {
        *line = rest;
        return None;
    }
    let mut chars = rest.char_indices();
    let word;
    let after;
    match chars.next() {
        Some((_, quote @ ('"' | '\''))) => {
            let body = &rest[1..];
            let mut out = String::new();
            let mut end = body.len();
            let mut it = body.char_indices().peekable();
            while let Some((i, c)) = it.next() {
                if c == quote {
                    end = i;
                    break;
                }
                if c == '\\' && it.peek().map(|&(_, n)| n) == Some(quote) {
                    out.push(quote);
                    it.next();
                    continue;
                }
                out.push(c);
            }
            word = out;
            // Skip the closing quote if there is one.
            after = body.get(end + 1..).unwrap_or("");
        }
        _ => {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            word = rest[..end].to_string();
            after = &rest[end..];
        }
    }
    *line = after.trim_start();
    Some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(mut line: &str) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(w) = getword_conf(&mut line) {
            out.push(w);
        }
        out
    }

    #[test]
    fn splits_on_blanks() {
        assert_eq!(words("  +A  -B\tC "), vec!["+A", "-B", "C"]);
        assert!(words("").is_empty());
        assert!(words("   ").is_empty());
    }

    #[test]
    fn quoted_words() {
        assert_eq!(words(r#""a b" 'c d' e"#), vec!["a b", "c d", "e"]);
        assert_eq!(words(r#""say \"hi\"" x"#), vec![r#"say "hi""#, "x"]);
        assert_eq!(words(r#""" x"#), vec!["", "x"]);
        assert_eq!(words(r#""unterminated"#), vec!["unterminated"]);
        assert_eq!(words(r#""a\b""#), vec![r"a\b"]);
    }
}
