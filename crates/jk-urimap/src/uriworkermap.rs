//! uriworkermap.properties (`JkMountFile`): line syntax shared with workers.properties
//! (mod_jk `jk_map_read_properties`) and one mount rule per line.
//!
//! Stricter than mod_jk: a line whose pattern does not start with `/`, or whose worker spec
//! cannot mean anything, is an error with `FILE:LINE:` instead of a logged-and-skipped line.

use std::collections::HashMap;

use crate::map::MapError;
use crate::rule::{make_rules, Rule, RuleSource};

/// Longest line mod_jk reads in one piece (its `fgets` buffer).
pub const MAX_LINE_LEN: usize = 8192;

/// Most `$(name)` references replaced in one value (mod_jk `JK_MAP_RECURSION`-like bound).
const MAX_SUBSTITUTIONS: usize = 20;

/// Parses uriworkermap.properties text; `file_name` is used in messages (`FILE:LINE: …`).
///
/// `$(name)` in a value is replaced by the value of an earlier line with key `name`, else
/// by the process environment variable `name`. See [`parse_uriworkermap_with_env`].
pub fn parse_uriworkermap(
    text: &str,
    file_name: &str,
) -> Result<(Vec<Rule>, Vec<String>), MapError> {
    parse_uriworkermap_with_env(text, file_name, &|name| std::env::var(name).ok())
}

/// [`parse_uriworkermap`] with an injectable environment lookup.
///
/// Per line: everything from the first `#` is a comment; the line is trimmed; lines without
/// `=` or with an empty side are skipped with a warning; the first `=` splits
/// `<pattern>=<worker>[;extensions]`; `-`, `!`, `-!` prefixes and `X|Y` are understood.
/// The same pattern (with the same prefixes) twice: the last line wins, with a warning.
pub fn parse_uriworkermap_with_env(
    text: &str,
    file_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<Rule>, Vec<String>), MapError> {
    let mut rules: Vec<Rule> = Vec::new();
    let mut warnings = Vec::new();
    let mut vars: HashMap<String, String> = HashMap::new();

    for (index, raw) in text.lines().enumerate() {
        let loc = format!("{file_name}:{}", index + 1);
        if raw.len() > MAX_LINE_LEN {
            return Err(MapError::Rule {
                loc: Some(loc),
                message: format!("line longer than {MAX_LINE_LEN} bytes"),
            });
        }
        let Some((name, value)) = key_value(raw) else {
            let line = strip_comment(raw).trim();
            if !line.is_empty() {
                warnings.push(format!(
                    "{loc}: ignoring line without '<pattern>=<worker>': '{line}'"
                ));
            }
            continue;
        };
        let value = substitute(value, &vars, env);
        vars.insert(name.to_owned(), value.clone());

        let (new_rules, rule_warnings) =
            make_rules(name, &value, false, RuleSource::UriWorkerMap, Some(&loc))?;
        warnings.extend(rule_warnings);
        for rule in new_rules {
            match rules.iter_mut().find(|r| r.same_key(&rule)) {
                Some(old) => {
                    warnings.push(format!(
                        "{loc}: duplicate mapping '{}' (also at {}, worker '{}'); \
                         the last one wins",
                        rule.pattern,
                        old.loc.as_deref().unwrap_or("?"),
                        old.worker
                    ));
                    *old = rule;
                }
                None => rules.push(rule),
            }
        }
    }
    Ok((rules, warnings))
}

/// Everything before the first `#`; a value cannot contain `#`.
fn strip_comment(line: &str) -> &str {
    match memchr::memchr(b'#', line.as_bytes()) {
        Some(hash) => &line[..hash],
        None => line,
    }
}

/// `name = value` with both sides trimmed; `None` for blank, comment-only and `=`-less lines
/// and for lines with an empty name or value.
fn key_value(line: &str) -> Option<(&str, &str)> {
    let (name, value) = strip_comment(line).trim().split_once('=')?;
    let (name, value) = (name.trim(), value.trim());
    (!name.is_empty() && !value.is_empty()).then_some((name, value))
}

/// Replaces `$(name)` references; unresolved ones stay literally, replaced text is not
/// scanned again.
fn substitute(
    value: &str,
    vars: &HashMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut done = 0;
    while done < MAX_SUBSTITUTIONS {
        let Some(start) = rest.find("$(") else { break };
        let Some(len) = rest[start + 2..].find(')') else {
            break;
        };
        let name = &rest[start + 2..start + 2 + len];
        let end = start + 2 + len + 1;
        out.push_str(&rest[..start]);
        match vars.get(name).cloned().or_else(|| env(name)) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..end]),
        }
        rest = &rest[end..];
        done += 1;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(text: &str) -> Result<(Vec<Rule>, Vec<String>), MapError> {
        parse_uriworkermap_with_env(text, "uwm.properties", &no_env)
    }

    #[test]
    fn key_value_lines() {
        assert_eq!(key_value("  /a = w  "), Some(("/a", "w")));
        assert_eq!(key_value("/a=w # comment"), Some(("/a", "w")));
        assert_eq!(key_value("/a=w;x=1=2"), Some(("/a", "w;x=1=2")));
        assert_eq!(key_value("# /a=w"), None);
        assert_eq!(key_value("/a"), None);
        assert_eq!(key_value("/a="), None);
        assert_eq!(key_value("=w"), None);
        assert_eq!(key_value(""), None);
    }

    #[test]
    fn substitution() {
        let mut vars = HashMap::new();
        vars.insert("lb".to_owned(), "balancer".to_owned());
        let env = |n: &str| (n == "HOME_W").then(|| "envw".to_owned());
        assert_eq!(substitute("$(lb)", &vars, &env), "balancer");
        assert_eq!(substitute("x$(HOME_W)y", &vars, &env), "xenvwy");
        assert_eq!(substitute("$(nope)", &vars, &env), "$(nope)");
        assert_eq!(substitute("$(unclosed", &vars, &env), "$(unclosed");
        vars.insert("loop".to_owned(), "$(loop)".to_owned());
        assert_eq!(substitute("$(loop)", &vars, &env), "$(loop)");
    }

    #[test]
    fn full_file() {
        let text = "\
# comment line
/app/*=lb1 # trailing comment
!/app/static/*=lb1
-/old/*=lb1
-!/x=*
/ctx|/*=w2;reply_timeout=100
/ref=$(/ctx|/*)

garbage line
";
        let (rules, warnings) = parse(text).unwrap();
        let shown: Vec<_> = rules
            .iter()
            .map(|r| {
                (
                    r.pattern.as_str(),
                    &*r.worker,
                    r.type_text(),
                    r.loc.clone().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "/app/*",
                    "lb1",
                    "Wildchar".to_owned(),
                    "uwm.properties:2".to_owned()
                ),
                (
                    "/app/static/*",
                    "lb1",
                    "Unmount Wildchar".into(),
                    "uwm.properties:3".into()
                ),
                (
                    "/old/*",
                    "lb1",
                    "Disabled Wildchar".into(),
                    "uwm.properties:4".into()
                ),
                (
                    "/x",
                    "*",
                    "Disabled Unmount Exact".into(),
                    "uwm.properties:5".into()
                ),
                ("/ctx", "w2", "Exact".into(), "uwm.properties:6".into()),
                ("/ctx/*", "w2", "Wildchar".into(), "uwm.properties:6".into()),
                ("/ref", "w2", "Exact".into(), "uwm.properties:7".into()),
            ]
        );
        assert_eq!(rules[4].ext.reply_timeout, 100);
        assert_eq!(rules[6].ext.reply_timeout, 100);
        assert!(rules.iter().all(|r| r.source == RuleSource::UriWorkerMap));
        assert_eq!(
            warnings,
            ["uwm.properties:9: ignoring line without '<pattern>=<worker>': 'garbage line'"]
        );
    }

    #[test]
    fn env_substitution_from_process_environment() {
        let env = |n: &str| (n == "JK_TEST_WORKER").then(|| "fromenv".to_owned());
        let (rules, _) = parse_uriworkermap_with_env("/e=$(JK_TEST_WORKER)", "f", &env).unwrap();
        assert_eq!(&*rules[0].worker, "fromenv");
    }

    #[test]
    fn duplicates_last_wins_with_warning() {
        let (rules, warnings) = parse("/a=w1\n/a=w2\n!/a=w1\n").unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(&*rules[0].worker, "w2");
        assert_eq!(rules[0].loc.as_deref(), Some("uwm.properties:2"));
        assert!(rules[1].exclusion);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("uwm.properties:2: duplicate mapping '/a'"),
            "{warnings:?}"
        );
    }

    #[test]
    fn invalid_lines_are_errors_with_location() {
        let err = parse("/ok=w\n\n*.jsp=w\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "uwm.properties:3: invalid context '*.jsp': does not begin with '/'"
        );
        let err = parse("/a=w;reply_timeout=x").unwrap_err().to_string();
        assert!(
            err.starts_with("uwm.properties:1: /a: rule extension reply_timeout"),
            "{err}"
        );
        let err = parse("/a=*").unwrap_err().to_string();
        assert!(err.starts_with("uwm.properties:1: "), "{err}");
        let long = format!("/a={}", "w".repeat(MAX_LINE_LEN));
        let err = parse(&long).unwrap_err().to_string();
        assert!(err.starts_with("uwm.properties:1: line longer"), "{err}");
        // A variable definition line is not a mapping: rejected like mod_jk's log-and-skip.
        assert!(parse("mylb=lb1\n").is_err());
    }

    #[test]
    fn extension_warnings_carry_file_and_line() {
        let (_, warnings) = parse("\n/a=w;nope=1").unwrap();
        assert_eq!(
            warnings,
            ["uwm.properties:2: /a: unknown rule extension 'nope=1'"]
        );
    }
}
