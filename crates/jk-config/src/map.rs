//! The ordered property map: what workers.properties and `JkWorkerProperty` lines say, before
//! any meaning is given to it (mod_jk's `jk_map_t`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::attributes::{self, Deprecated, Merge};
use crate::diagnostic::{ConfigError, Diagnostic, Location};
use crate::lexer::{self, Line};

/// What a property name addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'a> {
    /// A name not starting with `worker.` (e.g. `ps`, `workers.tomcat_home`, `ServerRoot`).
    Free,
    /// `worker.<attr>`: the globals `worker.list`, `worker.maintain` (or a mistake).
    Global { attr: &'a str },
    /// `worker.<name>.<attr>`; the name may itself contain dots.
    Worker { name: &'a str, attr: &'a str },
}

/// Splits a property name: `worker.` prefix, worker name up to the last `.`, attribute.
pub fn worker_key(key: &str) -> Key<'_> {
    match key.strip_prefix("worker.") {
        None => Key::Free,
        Some(rest) => match rest.rsplit_once('.') {
            None => Key::Global { attr: rest },
            Some((name, attr)) => Key::Worker { name, attr },
        },
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub key: String,
    pub value: String,
    pub loc: Option<Location>,
}

/// Properties in the order their keys first appeared, each with the location of its last
/// assignment.
#[derive(Clone, Debug, Default)]
pub struct PropertyMap {
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
    warnings: Vec<Diagnostic>,
}

impl PropertyMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// A property mod_jk adds itself (`ServerRoot`); not validated, no location.
    pub fn set_builtin(&mut self, key: &str, value: &str) {
        match self.index.get(key) {
            Some(&i) => {
                self.entries[i].value = value.to_owned();
                self.entries[i].loc = None;
            }
            None => self.push(key, value.to_owned(), None),
        }
    }

    /// One `JkWorkerProperty` argument; `loc` is the httpd configuration line.
    pub fn add_line(&mut self, line: &str, loc: Location) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        self.read_line(line, &loc, &mut errors);
        finish(errors)
    }

    /// A whole workers.properties text; `file` names it in messages.
    pub fn read_str(&mut self, text: &str, file: &str) -> Result<(), ConfigError> {
        self.read_bytes(text.as_bytes(), file)
    }

    pub fn read_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        match std::fs::read(path) {
            Ok(bytes) => self.read_bytes(&bytes, &path.display().to_string()),
            Err(e) => Err(ConfigError::single(Diagnostic::error(
                None,
                None,
                format!("cannot read workers file '{}': {e}", path.display()),
            ))),
        }
    }

    /// Reads line by line (see [`lexer::lines`]).
    pub fn read_bytes(&mut self, bytes: &[u8], file: &str) -> Result<(), ConfigError> {
        let file: Arc<str> = Arc::from(file);
        let mut errors = Vec::new();
        for (line, content) in lexer::lines(bytes) {
            let loc = Location {
                file: file.clone(),
                line,
            };
            match content {
                Ok(text) => self.read_line(text, &loc, &mut errors),
                Err(e) => errors.push(Diagnostic::error(Some(&loc), None, e.to_string())),
            }
        }
        finish(errors)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.index.get(key).map(|&i| self.entries[i].value.as_str())
    }

    pub fn location(&self, key: &str) -> Option<&Location> {
        self.index
            .get(key)
            .and_then(|&i| self.entries[i].loc.as_ref())
    }

    /// In insertion order (what the status worker's `cmd=dump` shows).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, Option<&Location>)> {
        self.entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.loc.as_ref()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    fn push(&mut self, key: &str, value: String, loc: Option<Location>) {
        self.index.insert(key.to_owned(), self.entries.len());
        self.entries.push(Entry {
            key: key.to_owned(),
            value,
            loc,
        });
    }

    fn read_line(&mut self, text: &str, loc: &Location, errors: &mut Vec<Diagnostic>) {
        let (key, value) = match lexer::line(text) {
            Line::Blank => return,
            Line::Property { key, value } => (key, value),
            Line::MissingEquals { text } => {
                errors.push(Diagnostic::error(
                    Some(loc),
                    None,
                    format!("\"{text}\" is not a property (expected name=value)"),
                ));
                return;
            }
            Line::MissingKey { text } => {
                errors.push(Diagnostic::error(
                    Some(loc),
                    None,
                    format!("\"{text}\" has no property name before '='"),
                ));
                return;
            }
        };
        let attr = match self.check_key(key, loc) {
            Ok(attr) => attr,
            Err(d) => {
                errors.push(d);
                return;
            }
        };
        // mod_jk skips assignments of an empty value (the seed's `workers.java_home=`).
        if value.is_empty() {
            return;
        }
        let expanded = lexer::substitute(value, |name| {
            self.get(name)
                .map(str::to_owned)
                .or_else(|| std::env::var(name).ok())
        });
        let value = match expanded {
            Ok(e) => {
                if e.truncated {
                    self.warnings.push(Diagnostic::warning(
                        Some(loc),
                        Some(key),
                        lexer::truncated_warning(),
                    ));
                }
                e.value
            }
            Err(u) => {
                errors.push(Diagnostic::error(Some(loc), Some(key), u.message(value)));
                return;
            }
        };
        self.assign(key, attr, value, loc);
    }

    /// mod_jk accepts a `worker.` key only when it ends in a known attribute.
    fn check_key<'k>(
        &mut self,
        key: &'k str,
        loc: &Location,
    ) -> Result<Option<&'k str>, Diagnostic> {
        let (name, attr) = match worker_key(key) {
            Key::Free => return Ok(None),
            Key::Global { attr } => (None, attr),
            Key::Worker { name, attr } => (Some(name), attr),
        };
        if !attributes::is_known(attr) {
            let hint = attributes::nearest_attribute(attr)
                .map(|n| format!(" (did you mean '{n}'?)"))
                .unwrap_or_default();
            return Err(Diagnostic::error(
                Some(loc),
                Some(key),
                format!("unknown attribute '{attr}'{hint}"),
            ));
        }
        match name {
            None if attr != "list" && attr != "maintain" => {
                return Err(Diagnostic::error(
                    Some(loc),
                    Some(key),
                    format!("names no worker (expected worker.<name>.{attr})"),
                ))
            }
            Some("") => {
                return Err(Diagnostic::error(
                    Some(loc),
                    Some(key),
                    "the worker name is empty",
                ))
            }
            Some(_) if attr == "list" || attr == "maintain" => {
                self.warnings.push(Diagnostic::warning(
                    Some(loc),
                    Some(key),
                    format!("'{attr}' only has a meaning as worker.{attr}; ignored"),
                ));
            }
            _ => {}
        }
        match attributes::deprecated(attr) {
            Some(Deprecated::Alias(new)) => self.warnings.push(Diagnostic::warning(
                Some(loc),
                Some(key),
                format!("attribute '{attr}' is deprecated, use '{new}'"),
            )),
            Some(Deprecated::Activation) => self.warnings.push(Diagnostic::warning(
                Some(loc),
                Some(key),
                format!("attribute '{attr}' is deprecated, use 'activation'"),
            )),
            Some(Deprecated::Ignored) => self.warnings.push(Diagnostic::warning(
                Some(loc),
                Some(key),
                format!("attribute '{attr}' is deprecated and has no effect"),
            )),
            None => {}
        }
        Ok(Some(attr))
    }

    /// mod_jk's duplicate-key rules (`jk_map.c`): lists join with `,`, `*_path` with `:`,
    /// `cmd_line` with a space, unique attributes are replaced, anything else joins with `*`.
    fn assign(&mut self, key: &str, attr: Option<&str>, value: String, loc: &Location) {
        let Some(&i) = self.index.get(key) else {
            self.push(key, value, Some(loc.clone()));
            return;
        };
        let rule = attributes::merge_rule(attr);
        let entry = &mut self.entries[i];
        let previous = entry
            .loc
            .as_ref()
            .map(|l| format!(" (from {l})"))
            .unwrap_or_default();
        match rule.separator() {
            None => {
                self.warnings.push(Diagnostic::warning(
                    Some(loc),
                    Some(key),
                    format!(
                        "set again: previous value \"{}\"{previous} is replaced by \"{value}\"",
                        entry.value
                    ),
                ));
                entry.value = value;
            }
            Some(sep) => {
                entry.value.push_str(sep);
                entry.value.push_str(&value);
                if rule != Merge::List {
                    self.warnings.push(Diagnostic::warning(
                        Some(loc),
                        Some(key),
                        format!(
                            "set again{previous}: values are joined with '{sep}' as in mod_jk, \
                             giving \"{}\"",
                            entry.value
                        ),
                    ));
                }
            }
        }
        entry.loc = Some(loc.clone());
    }

    pub(crate) fn raw_entries(&self) -> &[Entry] {
        &self.entries
    }
}

fn finish(errors: Vec<Diagnostic>) -> Result<(), ConfigError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigError { errors })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::lexer::MAX_LINE_BYTES;

    fn read(text: &str) -> PropertyMap {
        let mut m = PropertyMap::new();
        m.read_str(text, "w.properties").unwrap();
        m
    }

    fn read_err(text: &str) -> String {
        let mut m = PropertyMap::new();
        m.read_str(text, "w.properties").unwrap_err().to_string()
    }

    #[test]
    fn worker_key_splits() {
        assert_eq!(worker_key("ps"), Key::Free);
        assert_eq!(worker_key("workers.java_home"), Key::Free);
        assert_eq!(worker_key("worker.list"), Key::Global { attr: "list" });
        assert_eq!(
            worker_key("worker.a.port"),
            Key::Worker {
                name: "a",
                attr: "port"
            }
        );
        assert_eq!(
            worker_key("worker.a.b.port"),
            Key::Worker {
                name: "a.b",
                attr: "port"
            }
        );
    }

    #[test]
    fn keeps_order_and_locations() {
        let m = read("b=1\n\na=2\n# c=3\nb=4\n");
        let e: Vec<_> = m
            .entries()
            .map(|(k, v, l)| (k, v, l.map(|l| l.line)))
            .collect();
        assert_eq!(e, [("b", "1*4", Some(5)), ("a", "2", Some(3))]);
        assert_eq!(m.get("a"), Some("2"));
        assert_eq!(m.location("b").unwrap().to_string(), "w.properties:5");
    }

    #[test]
    fn list_attributes_concatenate() {
        let m = read(
            "worker.list=a\nworker.list=b, c\nworker.l.balance_workers=x\n\
                      worker.l.balance_workers=y\nworker.s.user=u1\nworker.s.user=u2\n",
        );
        assert_eq!(m.get("worker.list"), Some("a,b, c"));
        assert_eq!(m.get("worker.l.balance_workers"), Some("x,y"));
        assert_eq!(m.get("worker.s.user"), Some("u1,u2"));
        assert!(m.warnings().is_empty());
    }

    #[test]
    fn path_cmd_line_and_star_join() {
        let m = read(
            "worker.l.session_path=;a\nworker.l.session_path=;b\nworker.j.cmd_line=-x\n\
                      worker.j.cmd_line=-y\nworker.a.distance=1\nworker.a.distance=2\n",
        );
        assert_eq!(m.get("worker.l.session_path"), Some(";a:;b"));
        assert_eq!(m.get("worker.j.cmd_line"), Some("-x -y"));
        assert_eq!(m.get("worker.a.distance"), Some("1*2"));
        let w: Vec<_> = m.warnings().iter().map(|d| d.to_string()).collect();
        assert!(w.contains(
            &"w.properties:6: worker.a.distance: set again (from w.properties:5): values are \
              joined with '*' as in mod_jk, giving \"1*2\""
                .to_owned()
        ));
    }

    #[test]
    fn unique_attributes_replace_with_warning() {
        let m = read("worker.a.port=1\nworker.a.port=2\n");
        assert_eq!(m.get("worker.a.port"), Some("2"));
        assert_eq!(
            m.warnings()[0].to_string(),
            "w.properties:2: worker.a.port: set again: previous value \"1\" (from \
             w.properties:1) is replaced by \"2\""
        );
    }

    #[test]
    fn substitution_uses_earlier_properties_then_env() {
        let path = std::env::var("PATH").unwrap_or_default();
        let m = read("ps=/\nhome=$(ps)opt$(ps)\nx=$(PATH)\ny=$(later)\nlater=1\n");
        assert_eq!(m.get("home"), Some("/opt/"));
        if !path.is_empty() {
            assert_eq!(m.get("x"), Some(path.as_str()));
        }
        assert_eq!(m.get("y"), Some("$(later)"));
    }

    #[test]
    fn substitution_sees_builtin() {
        let mut m = PropertyMap::new();
        m.set_builtin("ServerRoot", "/etc/apache2");
        m.read_str("worker.a.host=$(ServerRoot)", "f").unwrap();
        assert_eq!(m.get("worker.a.host"), Some("/etc/apache2"));
        assert!(m.entries().next().unwrap().2.is_none());
    }

    #[test]
    fn empty_values_are_skipped() {
        let m = read("workers.tomcat_home=\nworker.a.port=\n");
        assert!(m.is_empty());
    }

    #[test]
    fn errors_are_all_collected() {
        let e = read_err("bogus line\nworker.a.prot=1\nx=$(y\nworker.port=1\n=3\nworker..port=1");
        assert_eq!(
            e,
            "w.properties:1: \"bogus line\" is not a property (expected name=value)\n\
             w.properties:2: worker.a.prot: unknown attribute 'prot' (did you mean 'port'?)\n\
             w.properties:3: x: \"$(y\" has an unterminated \"$(\" at byte 0 (expected $(name))\n\
             w.properties:4: worker.port: names no worker (expected worker.<name>.port)\n\
             w.properties:5: \"=3\" has no property name before '='\n\
             w.properties:6: worker..port: the worker name is empty"
        );
    }

    #[test]
    fn deprecated_attributes_warn() {
        let m = read("worker.a.cachesize=5\nworker.a.mx=1\nworker.a.stopped=1\n");
        let w: Vec<_> = m.warnings().iter().map(|d| d.to_string()).collect();
        assert_eq!(
            w,
            [
                "w.properties:1: worker.a.cachesize: attribute 'cachesize' is deprecated, use \
                 'connection_pool_size'",
                "w.properties:2: worker.a.mx: attribute 'mx' is deprecated and has no effect",
                "w.properties:3: worker.a.stopped: attribute 'stopped' is deprecated, use \
                 'activation'",
            ]
        );
    }

    #[test]
    fn jk_worker_property_line() {
        let mut m = PropertyMap::new();
        m.add_line(
            "worker.a.port=8010",
            Location::new("/etc/apache2/jk.conf", 3),
        )
        .unwrap();
        assert_eq!(
            m.location("worker.a.port").unwrap().to_string(),
            "/etc/apache2/jk.conf:3"
        );
        let e = m
            .add_line("worker.a.port", Location::new("/etc/apache2/jk.conf", 4))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/apache2/jk.conf:4: \"worker.a.port\" is not a property (expected name=value)"
        );
    }

    #[test]
    fn bytes_outside_utf8_only_in_comments() {
        let mut m = PropertyMap::new();
        m.read_bytes(b"\xEF\xBB\xBFa=1 # \xC9\xF9\xC3\xF7\r\nb=2\r\n", "f")
            .unwrap();
        assert_eq!(m.get("a"), Some("1"));
        assert_eq!(m.get("b"), Some("2"));
        let e = m.read_bytes(b"c=\xC9\xF9\n", "f").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:1: line is not valid UTF-8 outside its comment"
        );
    }

    #[test]
    fn overlong_lines_are_rejected() {
        let e = read_err(&format!("a={}\n", "x".repeat(MAX_LINE_BYTES)));
        assert_eq!(
            e,
            "w.properties:1: line is 8194 bytes long, mod_jk reads at most 8192 bytes per line"
        );
    }

    #[test]
    fn read_file_names_the_path() {
        let mut m = PropertyMap::new();
        let e = m
            .read_file(Path::new("/nonexistent/workers.properties"))
            .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("cannot read workers file '/nonexistent/workers.properties': "));
    }
}
