//! workers.properties text, from arbitrary bytes, through the property map and the worker
//! model: must never panic. Run with `cargo +nightly fuzz run workers_properties`
//! (corpus/workers_properties/seed is the user's own file).
//!
//! Asserted, beyond "no panic":
//! * every key of the map reads back; a failed read or build says why;
//! * the map written back as `key=value` lines reads to the same entries in the same order
//!   (when no value holds `$(`, which would be expanded again, or text the line syntax
//!   cannot carry: `#`, a line break, surrounding white space, more than a line's bytes);
//! * every listed worker exists in the built model.
#![no_main]

use jk_config::lexer::{trim, MAX_LINE_BYTES};
use jk_config::{build, BuildOptions, Location, PropertyMap};
use libfuzzer_sys::fuzz_target;

fn writable(value: &str) -> bool {
    !value.is_empty()
        && trim(value) == value
        && !value.contains("$(")
        && !value.contains(['#', '\n'])
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut map = PropertyMap::new();
    map.set_builtin("ServerRoot", "/etc/apache2");
    let read = map.read_str(&text, "workers.properties");
    if let Err(e) = &read {
        assert!(!e.errors.is_empty());
        let _ = e.to_string();
    }
    // The first line again, as a JkWorkerProperty directive.
    if let Some(first) = text.lines().next() {
        let _ = map.add_line(first, Location::new("httpd.conf", 1));
    }
    // Raw bytes too: non-UTF-8 is allowed in comments.
    let _ = PropertyMap::new().read_bytes(data, "raw.properties");
    for (key, value, _) in map.entries() {
        assert_eq!(map.get(key), Some(value));
    }

    // Written back and read again.
    let entries: Vec<(&str, &str)> = map.entries().map(|(k, v, _)| (k, v)).collect();
    if entries
        .iter()
        .all(|(k, v)| writable(v) && k.len() + v.len() < MAX_LINE_BYTES)
    {
        let mut written = String::new();
        for (k, v) in &entries {
            written.push_str(&format!("{k}={v}\n"));
        }
        let mut again = PropertyMap::new();
        match again.read_str(&written, "again.properties") {
            Ok(()) => {
                let got: Vec<(&str, &str)> = again.entries().map(|(k, v, _)| (k, v)).collect();
                assert_eq!(got, entries, "written back:\n{written}");
            }
            Err(e) => panic!("written back map does not read: {e}\n{written}"),
        }
    }

    match build(
        &map,
        &BuildOptions {
            default_pool_size: 25,
        },
    ) {
        Ok(cfg) => {
            for name in &cfg.list {
                assert!(cfg.worker(name).is_some(), "listed worker {name} missing");
            }
            for w in &cfg.warnings {
                let _ = w.to_string();
            }
        }
        Err(e) => {
            assert!(!e.errors.is_empty());
            let _ = e.to_string();
        }
    }
});
