//! uriworkermap.properties (`JkMountFile`): read with the lexer of workers.properties
//! ([`jk_config::lexer`]: the same lines, comments, trimming and `$(name)` rules, as mod_jk reads
//! both with `jk_map.c`), one mount rule per line.
//!
//! Stricter than mod_jk: a line whose pattern does not start with `/`, whose worker spec
//! cannot mean anything, that is too long or not UTF-8 outside its comment, or that has an
//! unterminated `$(`, is an error with `FILE:LINE:` instead of a logged-and-skipped line.

use std::collections::HashMap;

use jk_config::lexer::{self, Line};

use crate::map::MapError;
use crate::rule::{make_rules, Rule, RuleSource};

/// Parses uriworkermap.properties; `file_name` is used in messages (`FILE:LINE: …`).
///
/// `$(name)` in a value is replaced by the value of an earlier line with key `name`, else
/// by the process environment variable `name`. See [`parse_uriworkermap_with_env`].
pub fn parse_uriworkermap(
    text: impl AsRef<[u8]>,
    file_name: &str,
) -> Result<(Vec<Rule>, Vec<String>), MapError> {
    parse_uriworkermap_with_env(text, file_name, &|name| std::env::var(name).ok())
}

/// [`parse_uriworkermap`] with an injectable environment lookup.
///
/// Lines as in workers.properties ([`lexer::lines`], [`lexer::line`]); a line without `=` or
/// with an empty side is skipped with a warning (mod_jk skips it); `$(name)` as in
/// workers.properties ([`lexer::substitute`]); the first `=` splits
/// `<pattern>=<worker>[;extensions]`; `-`, `!`, `-!` prefixes and `X|Y` are understood.
/// The same pattern (with the same prefixes) twice: the last line wins, with a warning.
pub fn parse_uriworkermap_with_env(
    text: impl AsRef<[u8]>,
    file_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<Rule>, Vec<String>), MapError> {
    let mut rules: Vec<Rule> = Vec::new();
    let mut warnings = Vec::new();
    let mut vars: HashMap<String, String> = HashMap::new();

    for (number, content) in lexer::lines(text.as_ref()) {
        let loc = format!("{file_name}:{number}");
        let error = |message: String| MapError::Rule {
            loc: Some(loc.clone()),
            message,
        };
        let content = content.map_err(|e| error(e.to_string()))?;
        let (name, value) = match lexer::line(content) {
            Line::Blank => continue,
            Line::Property { key, value } if !value.is_empty() => (key, value),
            Line::Property { .. } | Line::MissingKey { .. } | Line::MissingEquals { .. } => {
                warnings.push(format!(
                    "{loc}: ignoring line without '<pattern>=<worker>': '{}'",
                    lexer::trim(content)
                ));
                continue;
            }
        };
        let expanded = lexer::substitute(value, |n| vars.get(n).cloned().or_else(|| env(n)))
            .map_err(|u| error(u.message(value)))?;
        if expanded.truncated {
            warnings.push(format!("{loc}: {}", lexer::truncated_warning()));
        }
        let value = expanded.value;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(text: impl AsRef<[u8]>) -> Result<(Vec<Rule>, Vec<String>), MapError> {
        parse_uriworkermap_with_env(text, "uwm.properties", &no_env)
    }

    #[test]
    fn lines_without_a_pattern_or_worker_are_skipped_with_a_warning() {
        let (rules, warnings) = parse("  /a = w  # c\n# /b=w\n/c\n/d=\n=w\n\n").unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!((rules[0].pattern.as_str(), &*rules[0].worker), ("/a", "w"));
        assert_eq!(
            warnings,
            [
                "uwm.properties:3: ignoring line without '<pattern>=<worker>': '/c'",
                "uwm.properties:4: ignoring line without '<pattern>=<worker>': '/d='",
                "uwm.properties:5: ignoring line without '<pattern>=<worker>': '=w'",
            ]
        );
        let (rules, _) = parse("/a=w;x=1=2").unwrap();
        assert_eq!(&*rules[0].worker, "w");
    }

    #[test]
    fn substitution() {
        let env = |n: &str| (n == "HOME_W").then(|| "envw".to_owned());
        let text = "/lb=balancer\n/a=$(/lb)\n/b=x$(HOME_W)y\n/c=$(nope)\n/d=$(/c)\n";
        let (rules, _) = parse_uriworkermap_with_env(text, "f", &env).unwrap();
        let workers: Vec<&str> = rules.iter().map(|r| &*r.worker).collect();
        assert_eq!(
            workers,
            ["balancer", "balancer", "xenvwy", "$(nope)", "$(nope)"]
        );
        let err = parse("/a=$(unclosed").unwrap_err().to_string();
        assert_eq!(
            err,
            "uwm.properties:1: \"$(unclosed\" has an unterminated \"$(\" at byte 0 \
             (expected $(name))"
        );
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
        let long = format!("/a={}", "w".repeat(lexer::MAX_LINE_BYTES));
        let err = parse(&long).unwrap_err().to_string();
        assert!(
            err.starts_with("uwm.properties:1: line is 8195 bytes long"),
            "{err}"
        );
        let err = parse(b"/ok=w\n/caf\xE9=w # \xE9\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "uwm.properties:2: line is not valid UTF-8 outside its comment"
        );
        assert!(parse(b"/ok=w # caf\xE9\n").is_ok(), "a comment in Latin-1");
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
