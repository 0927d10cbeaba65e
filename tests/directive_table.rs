#![allow(clippy::unwrap_used)]
//! httpd's command table is generated from jk-directives' table: every directive of the table
//! is registered in the real httpd (`apache2 -L`) with the contexts mod_jk allows and the
//! table's help text, nothing else is; README.md documents each one with its argument kind
//! and its true state.

mod support;

use jk_directives::{Contexts, DIRECTIVES};
use support::*;

#[test]
fn httpd_lists_every_directive_of_mod_jk() {
    let dir = TestDir::new("dash-l");
    let conf = dir.write("httpd.conf", &httpd_conf(dir.path(), 1, Mpm::Event, ""));
    let out = std::process::Command::new(apache2())
        .arg("-L")
        .arg("-f")
        .arg(&conf)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for d in DIRECTIVES {
        let head = format!("{} (mod_jk.c)", d.name);
        let pos = text
            .find(&head)
            .unwrap_or_else(|| panic!("{} not registered:\n{text}", d.name));
        // The entry's description ends at the next directive.
        let entry: String = text[pos..].lines().take(3).collect::<Vec<_>>().join("\n");
        let in_dirs = entry.contains("Allowed in *.conf anywhere");
        assert_eq!(
            in_dirs,
            d.contexts == Contexts::ServerAndDirectory,
            "{}: wrong context\n{entry}",
            d.name
        );
        assert!(
            entry.lines().nth(1).is_some_and(|l| l.trim() == d.summary),
            "{}: help text is not the table's summary\n{entry}",
            d.name
        );
    }
    let ours = text.matches("(mod_jk.c)").count();
    assert_eq!(
        ours,
        DIRECTIVES.len(),
        "httpd lists {ours} mod_jk directives"
    );
}

#[test]
fn readme_documents_every_directive_with_its_state() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for d in DIRECTIVES {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", d.name)))
            .unwrap_or_else(|| panic!("README.md has no row for {}", d.name));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(
            cells.get(2).copied(),
            Some(d.args.as_str()),
            "README argument kind of {} is wrong: {row}",
            d.name
        );
        let says_done = cells.get(5).is_some_and(|c| *c == "yes");
        assert_eq!(
            says_done, d.implemented_now,
            "README state of {} is wrong: {row}",
            d.name
        );
    }
}
