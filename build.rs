//! Finds httpd's and APR's headers by asking the installed tools, generates Rust bindings for
//! the part of the httpd API the glue uses, and compiles the small C shim for the APIs that
//! exist only as C macros.
//!
//! Overrides: `APXS` (default `apxs`, then `apxs2`) and `APR_CONFIG` (default `apr-1-config`).
//! Works against Debian's `apache2-dev` and against the official `httpd:2.4` image
//! (`/usr/local/apache2/bin/apxs`).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn query(tool: &str, args: &[&str], package_hint: &str) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "mod_jk build: cannot run `{tool} {}` ({e}). Install the httpd development \
             files ({package_hint}), or point the APXS / APR_CONFIG environment variables \
             at the tools.",
            args.join(" ")
        )
    });
    if !out.status.success() {
        panic!(
            "mod_jk build: `{tool} {}` failed: {}. Install {package_hint}.",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn find_apxs() -> String {
    if let Ok(v) = env::var("APXS") {
        return v;
    }
    for cand in ["apxs", "apxs2", "/usr/local/apache2/bin/apxs"] {
        if Command::new(cand)
            .arg("-q")
            .arg("INCLUDEDIR")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return cand.to_string();
        }
    }
    panic!(
        "mod_jk build: no `apxs` found. On Debian/Ubuntu: `apt-get install apache2-dev`; \
         in the httpd:2.4 image it is /usr/local/apache2/bin/apxs. Or set APXS=/path/to/apxs."
    );
}

fn main() {
    println!("cargo:rerun-if-env-changed=APXS");
    println!("cargo:rerun-if-env-changed=APR_CONFIG");
    println!("cargo:rerun-if-changed=src/httpd/wrapper.h");
    println!("cargo:rerun-if-changed=src/httpd/shim.c");
    // The files mod_jk uses when httpd.conf sets no JkLogFile / JkShmFile (what Debian's
    // build compiles in with its patch 0002: /var/log/apache2/...; `make` and `make deb` pass
    // Debian's). Empty JkLogFile default: httpd's ErrorLog. A relative path is ServerRoot's.
    for (var, default) in [
        ("MOD_JK_DEFAULT_LOG_FILE", ""),
        ("MOD_JK_DEFAULT_SHM_FILE", "logs/jk-runtime-status"),
    ] {
        println!("cargo:rerun-if-env-changed={var}");
        let v = env::var(var).unwrap_or_else(|_| default.to_string());
        println!("cargo:rustc-env={var}={v}");
    }

    let apxs = find_apxs();
    let httpd_include = query(&apxs, &["-q", "INCLUDEDIR"], "apache2-dev");
    let apr_config = env::var("APR_CONFIG").unwrap_or_else(|_| {
        // apxs knows where APR lives (the httpd:2.4 image has no apr-1-config on PATH).
        let bindir = query(&apxs, &["-q", "APR_BINDIR"], "apache2-dev");
        let cand = PathBuf::from(&bindir).join("apr-1-config");
        if !bindir.is_empty() && cand.exists() {
            cand.to_string_lossy().into_owned()
        } else {
            "apr-1-config".to_string()
        }
    });
    let mut clang_args: Vec<String> = vec![format!("-I{httpd_include}")];
    let apr_flags = query(
        &apr_config,
        &["--includes", "--cppflags"],
        "libapr1-dev (apache2-dev)",
    );
    clang_args.extend(apr_flags.split_whitespace().map(str::to_string));
    // apr-util headers (apr_uri.h etc.) may live in their own directory.
    if let Ok(o) = Command::new(&apxs).args(["-q", "APU_INCLUDEDIR"]).output() {
        let d = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if !d.is_empty() {
            clang_args.push(format!("-I{d}"));
        }
    }

    let bindings = bindgen::Builder::default()
        .header("src/httpd/wrapper.h")
        .clang_args(&clang_args)
        .allowlist_function("ap_.*|apr_.*|jk_shim_.*")
        .allowlist_type("request_rec|server_rec|conn_rec|cmd_parms|command_rec|module|process_rec")
        .allowlist_type("ap_.*|apr_.*|cmd_how|cmd_func|piped_log|ap_directive_t")
        .allowlist_var("OK|DECLINED|DONE|HTTP_.*|M_.*|RSRC_CONF|ACCESS_CONF|OR_.*|GLOBAL_ONLY")
        .allowlist_var("NOT_IN_.*|MODULE_MAGIC_.*|APLOG_.*|APR_HOOK_.*|AP_MPMQ_.*|APR_SUCCESS")
        .allowlist_var(
            "REQUEST_CHUNKED_.*|AP_SQ_.*|APR_FINFO_.*|DIR_MAGIC_TYPE|ap_server_root|REMOTE_.*\
             |ap_unixd_config",
        )
        .default_enum_style(bindgen::EnumVariation::Consts)
        .derive_default(true)
        .layout_tests(false)
        .wrap_unsafe_ops(true)
        .generate_comments(false)
        .generate()
        .unwrap_or_else(|e| {
            panic!(
                "mod_jk build: bindgen failed on httpd headers in {httpd_include}: {e}. \
                 bindgen needs libclang: `apt-get install libclang-dev`."
            )
        });
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR set by cargo"));
    bindings
        .write_to_file(out.join("httpd_bindings.rs"))
        .expect("write bindings");

    let mut build = cc::Build::new();
    build.file("src/httpd/shim.c").warnings(true);
    build.include(&httpd_include);
    for f in apr_flags.split_whitespace() {
        if let Some(dir) = f.strip_prefix("-I") {
            build.include(dir);
        } else if let Some(def) = f.strip_prefix("-D") {
            let mut it = def.splitn(2, '=');
            let k = it.next().unwrap_or_default();
            build.define(k, it.next());
        }
    }
    build.compile("jk_shim");
}
