//! One mount rule and how a directive or file line becomes rules (prefixes, `|` expansion).

use std::cmp::Reverse;
use std::fmt;
use std::sync::Arc;

use crate::map::MapError;
use crate::pattern::RuleKind;
use jk_config::{parse_worker_spec, RuleExtensions};

/// Where a rule came from; also the last tie-break of the precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleSource {
    /// A line of a `JkMountFile` (uriworkermap.properties); wins ties.
    UriWorkerMap,
    /// `JkMount` / `JkUnMount`, also inside `<Location>`.
    JkMount,
    /// `worker.<name>.mount` in workers.properties; loses ties.
    WorkerDefinition,
}

impl fmt::Display for RuleSource {
    /// The status worker's spelling of the source.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleSource::UriWorkerMap => "uriworkermap",
            RuleSource::JkMount => "JkMount",
            RuleSource::WorkerDefinition => "worker definition",
        })
    }
}

/// A mount rule: `pattern → worker` with its extensions and flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The URI pattern without the `-`/`!` prefixes; always starts with `/`.
    pub pattern: String,
    /// Worker name (extensions removed); `*` only on exclusion rules.
    pub worker: Arc<str>,
    /// Per-rule extensions, shared with every [`crate::MatchResult`] of this rule.
    pub ext: Arc<RuleExtensions>,
    /// Exact or wildcard comparison, decided by `*`/`?` in the pattern.
    pub kind: RuleKind,
    /// An unmount (`!pattern` or `JkUnMount`): a match vetoes the mapping.
    pub exclusion: bool,
    /// A `-pattern` rule: kept for display but never used.
    pub disabled: bool,
    /// Which configuration mechanism produced the rule.
    pub source: RuleSource,
    /// Where it was configured, e.g. `httpd.conf:12` or `uriworkermap.properties:3`.
    pub loc: Option<String>,
}

impl Rule {
    /// The status worker's `type` column: `Exact`/`Wildchar` after `Disabled ` and `Unmount `.
    pub fn type_text(&self) -> String {
        let mut text = String::new();
        if self.disabled {
            text.push_str("Disabled ");
        }
        if self.exclusion {
            text.push_str("Unmount ");
        }
        text.push_str(match self.kind {
            RuleKind::Exact => "Exact",
            RuleKind::Wildchar => "Wildchar",
        });
        text
    }

    /// True if `uri` matches this rule's pattern (flags are not consulted); bytes, as
    /// [`RuleKind::matches`].
    pub fn matches(&self, uri: impl AsRef<[u8]>) -> bool {
        self.kind.matches(&self.pattern, uri)
    }

    /// Precedence (mod_jk `worker_compare`): more `/` first, then longer pattern, then source.
    pub(crate) fn sort_key(&self) -> (Reverse<usize>, Reverse<usize>, RuleSource) {
        let slashes = memchr::memchr_iter(b'/', self.pattern.as_bytes()).count();
        (Reverse(slashes), Reverse(self.pattern.len()), self.source)
    }

    /// Identity inside one source: a later rule with the same key replaces the earlier one.
    pub(crate) fn same_key(&self, other: &Rule) -> bool {
        self.source == other.source
            && self.exclusion == other.exclusion
            && self.disabled == other.disabled
            && self.pattern == other.pattern
    }
}

/// Turns one mount directive or file line into its rules (one, or two with `X|Y`).
///
/// `-` and `!` prefixes are honoured for the file and worker-definition sources only;
/// `JkMount` patterns must start with `/` as written (mod_jk checks the directive argument).
pub(crate) fn make_rules(
    raw_pattern: &str,
    worker_spec: &str,
    unmount: bool,
    source: RuleSource,
    loc: Option<&str>,
) -> Result<(Vec<Rule>, Vec<String>), MapError> {
    let fail = |message: String| MapError::Rule {
        loc: loc.map(str::to_owned),
        message,
    };
    let mut pattern = raw_pattern.trim();
    let mut disabled = false;
    let mut exclusion = unmount;
    if source != RuleSource::JkMount {
        if let Some(rest) = pattern.strip_prefix('-') {
            disabled = true;
            pattern = rest;
        }
        if let Some(rest) = pattern.strip_prefix('!') {
            exclusion = true;
            pattern = rest;
        }
    }
    if !pattern.starts_with('/') {
        return Err(fail(match source {
            RuleSource::JkMount if unmount => {
                format!("JkUnMount context should start with / (got '{pattern}')")
            }
            RuleSource::JkMount => format!("JkMount context should start with / (got '{pattern}')"),
            _ => format!("invalid context '{pattern}': does not begin with '/'"),
        }));
    }

    let (worker, ext, warnings) =
        parse_worker_spec(worker_spec).map_err(|e| fail(format!("{pattern}: {e}")))?;
    if worker == "*" && !exclusion {
        return Err(fail(format!(
            "{pattern}: worker '*' is only allowed for unmount (exclusion) rules"
        )));
    }
    let warnings = warnings
        .into_iter()
        .map(|w| match loc {
            Some(loc) => format!("{loc}: {pattern}: {w}"),
            None => format!("{pattern}: {w}"),
        })
        .collect();

    // `X|Y` is shorthand for the two rules `X` and `XY`; only the first '|' counts.
    let patterns = match pattern.split_once('|') {
        Some((head, tail)) => vec![head.to_owned(), format!("{head}{tail}")],
        None => vec![pattern.to_owned()],
    };
    let worker: Arc<str> = Arc::from(worker);
    let ext = Arc::new(ext);
    let mut rules: Vec<Rule> = Vec::with_capacity(patterns.len());
    for pattern in patterns {
        let rule = Rule {
            kind: RuleKind::of(&pattern),
            pattern,
            worker: Arc::clone(&worker),
            ext: Arc::clone(&ext),
            exclusion,
            disabled,
            source,
            loc: loc.map(str::to_owned),
        };
        // `/a|` expands to `/a` twice; keep one.
        if !rules.iter().any(|r| r.same_key(&rule)) {
            rules.push(rule);
        }
    }
    Ok((rules, warnings))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn one(pattern: &str, source: RuleSource) -> Rule {
        make_rules(pattern, "w", false, source, None)
            .unwrap()
            .0
            .remove(0)
    }

    #[test]
    fn type_texts() {
        assert_eq!(one("/a", RuleSource::JkMount).type_text(), "Exact");
        assert_eq!(one("/a/*", RuleSource::JkMount).type_text(), "Wildchar");
        assert_eq!(
            one("-/a", RuleSource::UriWorkerMap).type_text(),
            "Disabled Exact"
        );
        assert_eq!(
            one("!/a*", RuleSource::UriWorkerMap).type_text(),
            "Unmount Wildchar"
        );
        assert_eq!(
            one("-!/a", RuleSource::UriWorkerMap).type_text(),
            "Disabled Unmount Exact"
        );
        let r = make_rules("/x", "w", true, RuleSource::JkMount, None)
            .unwrap()
            .0;
        assert_eq!(r[0].type_text(), "Unmount Exact");
    }

    #[test]
    fn sources_display() {
        assert_eq!(RuleSource::UriWorkerMap.to_string(), "uriworkermap");
        assert_eq!(RuleSource::JkMount.to_string(), "JkMount");
        assert_eq!(
            RuleSource::WorkerDefinition.to_string(),
            "worker definition"
        );
    }

    #[test]
    fn pipe_expansion() {
        let (rules, _) = make_rules("/ctx|/*", "w", false, RuleSource::JkMount, None).unwrap();
        let pats: Vec<_> = rules.iter().map(|r| r.pattern.as_str()).collect();
        assert_eq!(pats, ["/ctx", "/ctx/*"]);
        let (rules, _) = make_rules("/a|b|c", "w", false, RuleSource::JkMount, None).unwrap();
        let pats: Vec<_> = rules.iter().map(|r| r.pattern.as_str()).collect();
        assert_eq!(pats, ["/a", "/ab|c"]);
        let (rules, _) = make_rules("/a|", "w", false, RuleSource::JkMount, None).unwrap();
        assert_eq!(rules.len(), 1);
    }

    #[test]
    fn jkmount_takes_prefixes_literally() {
        let err = make_rules("-/a", "w", false, RuleSource::JkMount, Some("httpd.conf:3"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("JkMount context should start with /"), "{err}");
        assert!(err.starts_with("httpd.conf:3: "), "{err}");
        let err = make_rules("a", "w", true, RuleSource::JkMount, None).unwrap_err();
        assert!(err
            .to_string()
            .contains("JkUnMount context should start with /"));
    }

    #[test]
    fn star_worker_only_for_exclusions() {
        assert!(make_rules("/a", "*", true, RuleSource::JkMount, None).is_ok());
        assert!(make_rules("!/a", "*", false, RuleSource::UriWorkerMap, None).is_ok());
        assert!(make_rules("/a", "*", false, RuleSource::JkMount, None).is_err());
    }

    #[test]
    fn extension_warnings_carry_location() {
        let (_, warnings) = make_rules(
            "/a",
            "w;bogus=1",
            false,
            RuleSource::JkMount,
            Some("x.conf:9"),
        )
        .unwrap();
        assert_eq!(warnings, ["x.conf:9: /a: unknown rule extension 'bogus=1'"]);
    }
}
