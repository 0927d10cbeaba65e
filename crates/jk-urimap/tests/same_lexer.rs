#![allow(clippy::unwrap_used)]
//! uriworkermap.properties and workers.properties are read by the same lexer: a `$(` reference,
//! a comment, blanks and a line's encoding mean the same in both files.

use jk_config::PropertyMap;
use jk_urimap::parse_uriworkermap;

/// What `/x` ends up as in workers.properties (the property's value) and in
/// uriworkermap.properties (the worker of rule `/x`), given the same earlier lines.
fn both(earlier: &str, line: &str) -> (Result<String, String>, Result<String, String>) {
    let text = format!("{earlier}{line}\n");
    let mut map = PropertyMap::new();
    let workers = map
        .read_str(&text, "workers.properties")
        .map(|()| map.get("/x").unwrap_or("(unset)").to_string())
        .map_err(|e| e.to_string());
    let uwm = parse_uriworkermap(&text, "uriworkermap.properties")
        .map(|(rules, _)| {
            let x = rules.iter().find(|r| r.pattern == "/x");
            x.map_or("(unset)".into(), |r| r.worker.to_string())
        })
        .map_err(|e| e.to_string());
    (workers, uwm)
}

#[test]
fn a_dollar_reference_behaves_the_same_in_both_files() {
    // A variable only this test reads.
    std::env::set_var("JK_SAME_LEXER_TEST", "fromenv");
    let defs = "/a=w1\n/u=$(/undefined)\n/undefined=w2\n";
    for (line, want) in [
        // An earlier line's value.
        ("/x=$(/a)", "w1"),
        ("/x=pre$(/a)post", "prew1post"),
        // Else the environment.
        ("/x=$(JK_SAME_LEXER_TEST)", "fromenv"),
        // Unknown and empty names stay as written.
        ("/x=$(nope)", "$(nope)"),
        ("/x=$()", "$()"),
        ("/x=$nope", "$nope"),
        // Substituted text is not scanned again ($(/u) is "$(/undefined)" as written).
        ("/x=$(/u)", "$(/undefined)"),
        // Everything from `#` is a comment, also inside a reference; blanks are trimmed.
        ("  /x = $(/a) # $(/undefined)", "w1"),
        ("/x=$(/a)#$(", "w1"),
    ] {
        let (workers, uwm) = both(defs, line);
        assert_eq!(workers.as_deref(), Ok(want), "workers.properties: {line}");
        assert_eq!(uwm.as_deref(), Ok(want), "uriworkermap.properties: {line}");
    }
}

#[test]
fn an_unterminated_reference_is_the_same_error_in_both_files() {
    let (workers, uwm) = both("", "/x=w$(/a");
    let message = r#""w$(/a" has an unterminated "$(" at byte 1 (expected $(name))"#;
    let workers = workers.unwrap_err();
    let uwm = uwm.unwrap_err();
    assert!(
        workers.contains("workers.properties:1") && workers.contains(message),
        "{workers}"
    );
    assert_eq!(uwm, format!("uriworkermap.properties:1: {message}"));
}

#[test]
fn more_than_twenty_references_stop_the_same_way_in_both_files() {
    let line = format!("/x={}", "$(/a)".repeat(21));
    let (workers, uwm) = both("/a=w\n", &line);
    let want = format!("{}$(/a)", "w".repeat(20));
    assert_eq!(workers.as_deref(), Ok(want.as_str()));
    assert_eq!(uwm.as_deref(), Ok(want.as_str()));
}

#[test]
fn lines_are_read_the_same_way_in_both_files() {
    // A BOM, CRLF line ends, a comment in Latin-1: read in both.
    let text: &[u8] = b"\xEF\xBB\xBF/a=w1\r\n/x=$(/a) # caf\xE9\r\n";
    let mut map = PropertyMap::new();
    map.read_bytes(text, "workers.properties").unwrap();
    assert_eq!(map.get("/x"), Some("w1"));
    let (rules, _) = parse_uriworkermap(text, "uriworkermap.properties").unwrap();
    assert_eq!(&*rules[1].worker, "w1");
    // Not UTF-8 before the comment: an error naming the line in both.
    let bad: &[u8] = b"/a=w1\n/caf\xE9=w1\n";
    let workers = map.read_bytes(bad, "workers.properties").unwrap_err();
    let uwm = parse_uriworkermap(bad, "uriworkermap.properties").unwrap_err();
    let message = "line is not valid UTF-8 outside its comment";
    assert!(workers.to_string().contains(message), "{workers}");
    assert_eq!(
        uwm.to_string(),
        format!("uriworkermap.properties:2: {message}")
    );
}
