//! workers.properties text, from arbitrary bytes, through the property map and the worker
//! model: must never panic. Run with `cargo +nightly fuzz run workers_properties`
//! (corpus/workers_properties/seed is the user's own file).
#![no_main]

use jk_config::{build, BuildOptions, Location, PropertyMap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut map = PropertyMap::new();
    map.set_builtin("ServerRoot", "/etc/apache2");
    if let Err(e) = map.read_str(&text, "workers.properties") {
        let _ = e.to_string();
    }
    // The first line again, as a JkWorkerProperty directive.
    if let Some(first) = text.lines().next() {
        let _ = map.add_line(first, Location::new("httpd.conf", 1));
    }
    // Raw bytes too: non-UTF-8 is allowed in comments.
    let _ = PropertyMap::new().read_bytes(data, "raw.properties");
    for (key, _, _) in map.entries() {
        assert!(map.get(key).is_some());
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
