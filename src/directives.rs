//! Directive handlers: each one converts httpd's arguments to Rust strings, checks the
//! context the way mod_jk does, and hands the value to jk-directives, whose error text goes
//! back to httpd (which prefixes it with the configuration file and line).

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use crate::boundary::guard;
use crate::cstr::{opt_str, pstrdup, str_or_empty};
use crate::ffi;
use crate::server_conf::state_of;

/// Number of entries in the directive table (without the terminator).
pub const COMMAND_COUNT: usize = 37;

/// Which setting a shared TAKE1 handler changes (passed as the command's `cmd_data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Setting {
    WorkersFile,
    ShmFile,
    ShmSize,
    WatchdogInterval,
    MountFile,
    MountFileReload,
    MountCopy,
    AutoAlias,
    LogFile,
    LogLevel,
    LogStampFormat,
    RequestLogFormat,
    WorkerIndicator,
    RemoteAddrIndicator,
    RemotePortIndicator,
    RemoteHostIndicator,
    RemoteUserIndicator,
    AuthTypeIndicator,
    LocalNameIndicator,
    LocalAddrIndicator,
    LocalPortIndicator,
    IgnoreClIndicator,
    HttpsIndicator,
    SslProtocolIndicator,
    CertsIndicator,
    CipherIndicator,
    SessionIndicator,
    KeySizeIndicator,
    CertChainPrefix,
    RequestIdIndicator,
}

const ALL_SETTINGS: [Setting; 30] = [
    Setting::WorkersFile,
    Setting::ShmFile,
    Setting::ShmSize,
    Setting::WatchdogInterval,
    Setting::MountFile,
    Setting::MountFileReload,
    Setting::MountCopy,
    Setting::AutoAlias,
    Setting::LogFile,
    Setting::LogLevel,
    Setting::LogStampFormat,
    Setting::RequestLogFormat,
    Setting::WorkerIndicator,
    Setting::RemoteAddrIndicator,
    Setting::RemotePortIndicator,
    Setting::RemoteHostIndicator,
    Setting::RemoteUserIndicator,
    Setting::AuthTypeIndicator,
    Setting::LocalNameIndicator,
    Setting::LocalAddrIndicator,
    Setting::LocalPortIndicator,
    Setting::IgnoreClIndicator,
    Setting::HttpsIndicator,
    Setting::SslProtocolIndicator,
    Setting::CertsIndicator,
    Setting::CipherIndicator,
    Setting::SessionIndicator,
    Setting::KeySizeIndicator,
    Setting::CertChainPrefix,
    Setting::RequestIdIndicator,
];

impl Setting {
    fn from_data(p: *mut c_void) -> Option<Setting> {
        ALL_SETTINGS.get(p as usize).copied()
    }
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
            let setting = Setting::from_data((*cmd).info).ok_or("unknown directive")?;
            let st = state_of((*cmd).server).ok_or("mod_jk: no server configuration")?;
            let value = arg(value);
            match setting {
                Setting::WorkersFile => {
                    let path = server_root_relative(cmd, &value)?;
                    if !std::path::Path::new(&path).exists() {
                        return Err(format!(
                            "JkWorkersFile: Can't find the workers file specified: {path}"
                        ));
                    }
                    st.global.set_workers_file(&path)
                }
                Setting::ShmFile => {
                    st.global.set_shm_file(&server_root_relative(cmd, &value)?);
                    Ok(())
                }
                Setting::ShmSize => st.global.set_shm_size(&value),
                Setting::WatchdogInterval => st.global.set_watchdog_interval(&value),
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
            let setting = Setting::from_data((*cmd).info).ok_or("unknown directive")?;
            let st = state_of((*cmd).server).ok_or("mod_jk: no server configuration")?;
            let value = arg(value);
            let c = &mut st.conf;
            match setting {
                Setting::MountFile => {
                    let path = server_root_relative(cmd, &value)?;
                    if !std::path::Path::new(&path).exists() {
                        return Err(format!(
                            "JkMountFile: Can't find the mount file specified: {path}"
                        ));
                    }
                    c.set_mount_file(&path)
                }
                Setting::MountFileReload => c.set_mount_file_reload(&value),
                Setting::MountCopy => {
                    let in_vhost = (*(*cmd).server).is_virtual != 0;
                    if in_vhost && value.eq_ignore_ascii_case("all") {
                        return Err("JkMountCopy All is only allowed in the main server".into());
                    }
                    let g = &mut st.global;
                    g.set_mount_copy(&mut st.conf, &value)
                }
                Setting::AutoAlias => {
                    c.set_auto_alias(&server_root_relative(cmd, &value)?);
                    Ok(())
                }
                Setting::LogFile => {
                    // Piped logs keep their command; files are ServerRoot-relative.
                    if value.starts_with('|') || value.is_empty() {
                        c.set_log_file(&value);
                    } else {
                        c.set_log_file(&server_root_relative(cmd, &value)?);
                    }
                    Ok(())
                }
                Setting::LogLevel => c.set_log_level(&value),
                Setting::LogStampFormat => c.set_stamp_format(&value),
                Setting::RequestLogFormat => c.set_request_log_format(&value),
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
