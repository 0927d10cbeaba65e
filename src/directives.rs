//! Directive handlers: each one converts httpd's arguments to Rust strings, checks the
//! context the way mod_jk does, and hands the value to jk-directives, whose error text goes
//! back to httpd (which prefixes it with the configuration file and line).

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use jk_directives::{Args, Directive, DIRECTIVES};

use crate::boundary::guard;
use crate::cstr::{opt_str, pstrdup, str_or_empty};
use crate::ffi;
use crate::server_conf::state_of;

type Take1 = unsafe extern "C" fn(*mut ffi::cmd_parms, *mut c_void, *const c_char) -> *const c_char;
type Take2 = unsafe extern "C" fn(
    *mut ffi::cmd_parms,
    *mut c_void,
    *const c_char,
    *const c_char,
) -> *const c_char;
type Flag = unsafe extern "C" fn(*mut ffi::cmd_parms, *mut c_void, c_int) -> *const c_char;

const fn take1(f: Take1) -> ffi::cmd_func {
    ffi::cmd_func { take1: Some(f) }
}

const fn take2(f: Take2) -> ffi::cmd_func {
    ffi::cmd_func { take2: Some(f) }
}

const fn raw(f: Take1) -> ffi::cmd_func {
    ffi::cmd_func { raw_args: Some(f) }
}

const fn flag(f: Flag) -> ffi::cmd_func {
    ffi::cmd_func { flag: Some(f) }
}

/// The handler of a directive and the argument kind its signature takes (the module's command
/// table checks it against the directive table at compile time).
pub const fn handler(id: Directive) -> (Args, ffi::cmd_func) {
    use Directive as D;
    match id {
        D::WorkersFile | D::ShmFile | D::ShmSize | D::WatchdogInterval => {
            (Args::Take1, take1(set_global))
        }
        D::WorkerProperty => (Args::RawArgs, raw(worker_property)),
        D::Mount => (Args::Take12, take2(mount)),
        D::UnMount => (Args::Take12, take2(unmount)),
        D::MountFile
        | D::MountFileReload
        | D::MountCopy
        | D::AutoAlias
        | D::LogFile
        | D::LogLevel
        | D::LogStampFormat
        | D::RequestLogFormat => (Args::Take1, take1(set_server)),
        D::Options => (Args::RawArgs, raw(options)),
        D::EnvVar => (Args::Take12, take2(env_var)),
        D::StripSession => (Args::Take12, take2(strip_session)),
        D::ExtractSsl => (Args::Flag, flag(extract_ssl)),
        D::Indicator(_) => (Args::Take1, take1(set_indicator)),
    }
}

/// The directive being processed: its command's `cmd_data` is its row in the table.
///
/// # Safety
/// `cmd` must be live.
unsafe fn directive_of(cmd: *const ffi::cmd_parms) -> Option<Directive> {
    // SAFETY: live cmd; `info` is the command's cmd_data.
    let row = unsafe { (*cmd).info } as usize;
    DIRECTIVES.get(row).map(|d| d.id)
}

/// What a handler returns: `Ok(())` or the message httpd shows.
type DirResult = Result<(), String>;

/// Runs a directive body behind the panic boundary and converts its result for httpd.
///
/// # Safety
/// `cmd` must be the live cmd_parms httpd passed to the handler.
unsafe fn finish(
    cmd: *mut ffi::cmd_parms,
    name: &'static str,
    body: impl FnOnce() -> DirResult,
) -> *const c_char {
    let res = guard(
        name,
        Err(format!("{name}: internal error (see the error log)")),
        body,
    );
    match res {
        Ok(()) => ptr::null(),
        // SAFETY: cmd->pool lives at least as long as httpd needs the message.
        Err(msg) => unsafe { pstrdup((*cmd).pool, &msg) },
    }
}

/// "file:line" of the directive being processed.
///
/// # Safety
/// `cmd` must be live.
pub unsafe fn directive_location(cmd: *const ffi::cmd_parms) -> String {
    // SAFETY: cmd and its directive (when set) are live during directive processing.
    unsafe {
        let d = (*cmd).directive;
        if d.is_null() {
            return "(unknown)".to_string();
        }
        format!("{}:{}", str_or_empty((*d).filename), (*d).line_num)
    }
}

/// mod_jk's check for main-server-only directives (its text: "… cannot occur within
/// <VirtualHost> section"; httpd builds it).
///
/// # Safety
/// `cmd` must be live.
unsafe fn global_only(cmd: *mut ffi::cmd_parms) -> DirResult {
    // SAFETY: live cmd.
    let err = unsafe { ffi::ap_check_cmd_context(cmd, ffi::GLOBAL_ONLY) };
    if err.is_null() {
        Ok(())
    } else {
        // SAFETY: httpd returns a NUL-terminated message from its pool.
        Err(unsafe { str_or_empty(err) }.into_owned())
    }
}

/// A path made absolute against ServerRoot (as httpd and mod_jk do for file directives).
///
/// # Safety
/// `cmd` must be live.
unsafe fn server_root_relative(cmd: *mut ffi::cmd_parms, path: &str) -> Result<String, String> {
    if path.starts_with('/') {
        return Ok(path.to_string());
    }
    let c = std::ffi::CString::new(path).map_err(|_| format!("invalid path '{path}'"))?;
    // SAFETY: live pool; ap_server_root_relative returns NULL on a bad path.
    let p = unsafe { ffi::ap_server_root_relative((*cmd).pool, c.as_ptr()) };
    // SAFETY: NULL or a pool string.
    unsafe { opt_str(p) }
        .map(|s| s.into_owned())
        .ok_or_else(|| format!("invalid path '{path}'"))
}

fn arg(p: *const c_char) -> String {
    // SAFETY: httpd passes NUL-terminated argument words (or NULL for an absent optional one).
    unsafe { str_or_empty(p) }.into_owned()
}

pub unsafe extern "C" fn set_global(
    cmd: *mut ffi::cmd_parms,
    _: *mut c_void,
    value: *const c_char,
) -> *const c_char {
    // SAFETY: httpd passes a live cmd for the duration of the call.
    unsafe {
        finish(cmd, "global directive", || {
            global_only(cmd)?;
            let directive = directive_of(cmd).ok_or("unknown directive")?;
            let st = state_of((*cmd).server).ok_or("mod_jk: no server configuration")?;
            let value = arg(value);
            match directive {
                Directive::WorkersFile => {
                    let path = server_root_relative(cmd, &value)?;
                    if !std::path::Path::new(&path).exists() {
                        return Err(format!(
                            "JkWorkersFile: Can't find the workers file specified: {path}"
                        ));
                    }
                    st.global.set_workers_file(&path)
                }
                Directive::ShmFile => {
                    st.global.set_shm_file(&server_root_relative(cmd, &value)?);
                    Ok(())
                }
                Directive::ShmSize => st.global.set_shm_size(&value),
                Directive::WatchdogInterval => st.global.set_watchdog_interval(&value),
                _ => Err("unknown directive".to_string()),
            }
        })
    }
}

pub unsafe extern "C" fn worker_property(
    cmd: *mut ffi::cmd_parms,
    _: *mut c_void,
    line: *const c_char,
) -> *const c_char {
    // SAFETY: live cmd.
    unsafe {
        finish(cmd, "JkWorkerProperty", || {
            global_only(cmd)?;
            let st = state_of((*cmd).server).ok_or("mod_jk: no server configuration")?;
            let line = arg(line);
            // The line is checked now for its shape, and again with all other properties in
            // check_config (it may use $(vars) defined by later lines).
            let mut probe = jk_config::PropertyMap::new();
            probe
                .add_line(&line, location_of(cmd))
                .map_err(|e| format!("Invalid JkWorkerProperty {line}: {e}"))?;
            st.global
                .add_worker_property(&line, &directive_location(cmd));
            Ok(())
        })
    }
}

/// jk-config Location of the current directive.
///
/// # Safety
/// `cmd` must be live.
unsafe fn location_of(cmd: *const ffi::cmd_parms) -> jk_config::Location {
    // SAFETY: live cmd and directive.
    unsafe {
        let d = (*cmd).directive;
        if d.is_null() {
            return jk_config::Location {
                file: "(httpd config)".into(),
                line: 0,
            };
        }
        jk_config::Location {
            file: str_or_empty((*d).filename).into_owned().into(),
            line: (*d).line_num as u32,
        }
    }
}

unsafe fn mount_impl(
    cmd: *mut ffi::cmd_parms,
    a1: *const c_char,
    a2: *const c_char,
    unmount: bool,
) -> DirResult {
    // SAFETY: live cmd; `path` is the enclosing <Location>/<Directory> argument or NULL.
    let location = unsafe { opt_str((*cmd).path).map(|s| s.into_owned()) };
    // SAFETY: live cmd.
    let loc = unsafe { directive_location(cmd) };
    let a2 = if a2.is_null() { None } else { Some(arg(a2)) };
    // SAFETY: live cmd.
    let st = unsafe { state_of((*cmd).server) }.ok_or("mod_jk: no server configuration")?;
    st.conf
        .add_mount(unmount, location.as_deref(), &arg(a1), a2.as_deref(), &loc)
}

pub unsafe extern "C" fn mount(
    cmd: *mut ffi::cmd_parms,
    _: *mut c_void,
    a1: *const c_char,
    a2: *const c_char,
) -> *const c_char {
    // SAFETY: live cmd.
    unsafe { finish(cmd, "JkMount", || mount_impl(cmd, a1, a2, false)) }
}

pub unsafe extern "C" fn unmount(
    cmd: *mut ffi::cmd_parms,
    _: *mut c_void,
    a1: *const c_char,
    a2: *const c_char,
) -> *const c_char {
    // SAFETY: live cmd.
    unsafe { finish(cmd, "JkUnMount", || mount_impl(cmd, a1, a2, true)) }
}

pub unsafe extern "C" fn set_server(
    cmd: *mut ffi::cmd_parms,
    _: *mut c_void,
    value: *const c_char,
) -> *const c_char {
    // SAFETY: live cmd.
    unsafe {
        finish(cmd, "server directive", || {
            let directive = directive_of(cmd).ok_or("unknown directive")?;
            let st = state_of((*cmd).server).ok_or("mod_jk: no server configuration")?;
            let value = arg(value);
            let c = &mut st.conf;
            match directive {
                Directive::MountFile => {
                    let path = server_root_relative(cmd, &value)?;
                    if !std::path::Path::new(&path).exists() {
                        return Err(format!(
                            "JkMountFile: Can't find the mount file specified: {path}"
                        ));
                    }
                    c.set_mount_file(&path)
                }
                Directive::MountFileReload => c.set_mount_file_reload(&value),
                Directive::MountCopy => {
                    let in_vhost = (*(*cmd).server).is_virtual != 0;
                    if in_vhost && value.eq_ignore_ascii_case("all") {
                        return Err("JkMountCopy All is only allowed in the main server".into());
                    }
                    let g = &mut st.global;
                    g.set_mount_copy(&mut st.conf, &value)
                }
                Directive::AutoAlias => {
                    c.set_auto_alias(&server_root_relative(cmd, &value)?);
                    Ok(())
                }
                Directive::LogFile => {
                    // Piped logs keep their command; files are ServerRoot-relative.
                    if value.starts_with('|') || value.is_empty() {
                        c.set_log_file(&value);
                    } else {
                        c.set_log_file(&server_root_relative(cmd, &value)?);
                    }
                    Ok(())
                }
                Directive::LogLevel => c.set_log_level(&value),
                Directive::LogStampFormat => c.set_stamp_format(&value),
                Directive::RequestLogFormat => c.set_request_log_format(&value),
                _ => Err("unknown directive".to_string()),
            }
        })
    }
}

pub unsafe extern "C" fn set_indicator(
    cmd: *mut ffi::cmd_parms,
    _: *mut c_void,
    value: *const c_char,
) -> *const c_char {
    // SAFETY: live cmd.
    unsafe {
        finish(cmd, "indicator directive", || {
            // The directive's own name selects the indicator.
            let name = str_or_empty((*(*cmd).cmd).name).into_owned();
            let st = state_of((*cmd).server).ok_or("mod_jk: no server configuration")?;
            st.conf.set_indicator(&name, &arg(value))
        })
    }
}

pub unsafe extern "C" fn options(
    cmd: *mut ffi::cmd_parms,
    _: *mut c_void,
    raw: *const c_char,
) -> *const c_char {
    // SAFETY: live cmd.
    unsafe {
        finish(cmd, "JkOptions", || {
            let st = state_of((*cmd).server).ok_or("mod_jk: no server configuration")?;
            let warnings = st.conf.set_options(&arg(raw))?;
            for w in warnings {
                crate::httpd_log::log_server(
                    crate::httpd_log::HttpdLevel::Warning,
                    true,
                    (*cmd).server,
                    &format!("{}: {w}", directive_location(cmd)),
                );
            }
            Ok(())
        })
    }
}

pub unsafe extern "C" fn env_var(
    cmd: *mut ffi::cmd_parms,
    _: *mut c_void,
    name: *const c_char,
    default: *const c_char,
) -> *const c_char {
    // SAFETY: live cmd.
    unsafe {
        finish(cmd, "JkEnvVar", || {
            let st = state_of((*cmd).server).ok_or("mod_jk: no server configuration")?;
            let default = opt_str(default).map(|s| s.into_owned());
            st.conf.add_env_var(&arg(name), default.as_deref());
            Ok(())
        })
    }
}

pub unsafe extern "C" fn strip_session(
    cmd: *mut ffi::cmd_parms,
    _: *mut c_void,
    flag: *const c_char,
    ident: *const c_char,
) -> *const c_char {
    // SAFETY: live cmd.
    unsafe {
        finish(cmd, "JkStripSession", || {
            let st = state_of((*cmd).server).ok_or("mod_jk: no server configuration")?;
            let ident = opt_str(ident).map(|s| s.into_owned());
            st.conf.set_strip_session(&arg(flag), ident.as_deref())
        })
    }
}

pub unsafe extern "C" fn extract_ssl(
    cmd: *mut ffi::cmd_parms,
    _: *mut c_void,
    on: c_int,
) -> *const c_char {
    // SAFETY: live cmd.
    unsafe {
        finish(cmd, "JkExtractSSL", || {
            let st = state_of((*cmd).server).ok_or("mod_jk: no server configuration")?;
            st.conf.set_extract_ssl(on != 0);
            Ok(())
        })
    }
}
